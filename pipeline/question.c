/* question.c - see question.h. */
#include "pipeline/question.h"

#include <stdlib.h>
#include <string.h>

void question_clear(struct question *qs)
{
    json_decref(qs->q.answers);
    free(qs->text);
    free(qs->answers);
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) {
        free(qs->title[i]);
        qs->title[i] = NULL;
        sbuf_reset(&qs->zbody[i]);
        sbuf_reset(&qs->body[i]);
    }
    memset(&qs->q, 0, sizeof qs->q);
    qs->text = qs->answers = NULL;
    qs->more = 0;
    qs->members = 0;
}

void question_free(struct question *qs)
{
    question_clear(qs);
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) {
        sbuf_free(&qs->zbody[i]);
        sbuf_free(&qs->body[i]);
    }
}

int question_ids(const struct question *qs, uint64_t mask, int64_t *ids)
{
    int n = 0;
    for (int i = 0; i < qs->q.n; i++)
        if (mask >> i & 1) ids[n++] = qs->p[i].id;
    return n;
}

/* The question's text and answers (as stored). */
static int read_text(struct store *st, int64_t qid, struct question *qs, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT question, answers FROM questions WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(st, err, "reading a question");
    }
    qs->q.id = qid;
    qs->text = xstrdup((const char *)sqlite3_column_text(s, 0));
    qs->q.question = qs->text;
    const char *answers = (const char *)sqlite3_column_text(s, 1);
    qs->answers = xstrdup(answers ? answers : "");
    sqlite3_reset(s);
    return PARE_OK;
}

/* Candidate n of the current row of s: id, title, compressed body, membership. */
static void read_candidate(sqlite3_stmt *s, struct question *qs, int n, int with_members)
{
    qs->p[n].id = sqlite3_column_int64(s, 0);
    const char *title = (const char *)sqlite3_column_text(s, 1);
    qs->title[n] = xstrdup(title ? title : "");
    sbuf_reset(&qs->zbody[n]);
    sbuf_add(&qs->zbody[n], sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
    qs->p[n].title = qs->title[n];
    if (with_members && sqlite3_column_int(s, 3)) qs->members |= 1ULL << n;
}

/* The candidates of retrieval rid; with set_id > 0 each says whether it is a member (a query of
 * its own: mine asks for no set, and the membership test per row costs a search). */
static sqlite3_stmt *candidates_stmt(struct store *st, int64_t qid, int64_t rid, int64_t set_id)
{
    sqlite3_stmt *s =
        set_id > 0
            ? store_stmt(st, "SELECT p.id, p.title, p.body, EXISTS (SELECT 1 FROM "
                             "evidence_members em WHERE em.set_id = ?3 AND em.passage_id = "
                             "c.passage_id) FROM candidates c JOIN passages p ON p.id = "
                             "c.passage_id WHERE c.retrieval_id = ?1 AND c.question_id = ?2 "
                             "ORDER BY c.rank")
            : store_stmt(st, "SELECT p.id, p.title, p.body FROM candidates c JOIN passages p "
                             "ON p.id = c.passage_id WHERE c.retrieval_id = ?1 AND "
                             "c.question_id = ?2 ORDER BY c.rank");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int64(s, 2, qid) ||
        (set_id > 0 && sqlite3_bind_int64(s, 3, set_id)))
        return NULL;
    return s;
}

int question_read(struct store *st, int64_t qid, int64_t rid, int64_t set_id, struct question *qs,
                  struct sbuf *err)
{
    question_clear(qs);
    if (read_text(st, qid, qs, err) != PARE_OK) return PARE_EFAIL;
    sqlite3_stmt *s = candidates_stmt(st, qid, rid, set_id);
    if (!s) return store_fail(st, err, "reading candidates");
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == JUDGE_MAX_CANDIDATES) {
            qs->more++;
            continue;
        }
        read_candidate(s, qs, n++, set_id > 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(st, err, "reading candidates");
    qs->q.p = qs->p;
    qs->q.n = n;
    return PARE_OK;
}

int question_decode(struct question *qs, struct blob_codec *codec, struct sbuf *err)
{
    json_error_t je;
    json_decref(qs->q.answers);
    qs->q.answers = json_loads(qs->answers, 0, &je);
    if (!json_is_array(qs->q.answers)) {
        sbuf_setf(err, "question %lld: answers are not a JSON array", (long long)qs->q.id);
        return PARE_EFAIL;
    }
    for (int i = 0; i < qs->q.n; i++) {
        struct sbuf why = {0};
        if (blob_decompress(codec, qs->zbody[i].p, qs->zbody[i].len, &qs->body[i], &why) !=
            PARE_OK) {
            sbuf_setf(err, "passage %lld: %s", (long long)qs->p[i].id, sbuf_str(&why));
            sbuf_free(&why);
            return PARE_EFAIL;
        }
        qs->p[i].text = qs->body[i].p;
        qs->p[i].len = qs->body[i].len;
    }
    return PARE_OK;
}

int question_load(struct store *st, struct blob_codec *codec, int64_t qid, int64_t rid,
                  int64_t set_id, struct question *qs, struct sbuf *err)
{
    if (question_read(st, qid, rid, set_id, qs, err) != PARE_OK) return PARE_EFAIL;
    return question_decode(qs, codec, err);
}
