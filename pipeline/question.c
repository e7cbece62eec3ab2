/* question.c - see question.h. */
#include "pipeline/question.h"

#include <stdlib.h>
#include <string.h>

void question_clear(struct question *qs)
{
    json_decref(qs->q.answers);
    free(qs->text);
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) {
        free(qs->title[i]);
        qs->title[i] = NULL;
        sbuf_reset(&qs->body[i]);
    }
    memset(&qs->q, 0, sizeof qs->q);
    qs->text = NULL;
    qs->more = 0;
    qs->members = 0;
}

void question_free(struct question *qs)
{
    question_clear(qs);
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) sbuf_free(&qs->body[i]);
}

int question_ids(const struct question *qs, uint64_t mask, int64_t *ids)
{
    int n = 0;
    for (int i = 0; i < qs->q.n; i++)
        if (mask >> i & 1) ids[n++] = qs->p[i].id;
    return n;
}

/* The question's text and answers. */
static int load_text(struct store *st, int64_t qid, struct question *qs, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT question, answers FROM questions WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(st, err, "reading a question");
    }
    qs->q.id = qid;
    qs->text = xstrdup((const char *)sqlite3_column_text(s, 0));
    qs->q.question = qs->text;
    json_error_t je;
    qs->q.answers = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
    sqlite3_reset(s);
    if (!json_is_array(qs->q.answers)) {
        sbuf_setf(err, "question %lld: answers are not a JSON array", (long long)qid);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Candidate n of the current row of s: id, title, decompressed text, membership. */
static int load_candidate(sqlite3_stmt *s, struct blob_codec *codec, struct question *qs, int n,
                          struct sbuf *err)
{
    qs->p[n].id = sqlite3_column_int64(s, 0);
    qs->title[n] = xstrdup((const char *)sqlite3_column_text(s, 1));
    if (blob_decompress(codec, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                        &qs->body[n], err) != PARE_OK)
        return sbuf_prependf(err, "passage %lld: ", (long long)qs->p[n].id), PARE_EFAIL;
    qs->p[n].title = qs->title[n];
    qs->p[n].text = qs->body[n].p;
    qs->p[n].len = qs->body[n].len;
    if (sqlite3_column_int(s, 3)) qs->members |= 1ULL << n;
    return PARE_OK;
}

int question_load(struct store *st, struct blob_codec *codec, int64_t qid, int64_t rid,
                  int64_t set_id, struct question *qs, struct sbuf *err)
{
    question_clear(qs);
    if (load_text(st, qid, qs, err) != PARE_OK) return PARE_EFAIL;
    sqlite3_stmt *s = store_stmt(
        st, "SELECT p.id, p.title, p.body, EXISTS (SELECT 1 FROM evidence_members em WHERE "
            "em.set_id = ?3 AND em.passage_id = c.passage_id) FROM candidates c "
            "JOIN passages p ON p.id = c.passage_id "
            "WHERE c.retrieval_id = ?1 AND c.question_id = ?2 ORDER BY c.rank");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int64(s, 2, qid) ||
        sqlite3_bind_int64(s, 3, set_id))
        return store_fail(st, err, "reading candidates");
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == JUDGE_MAX_CANDIDATES) {
            qs->more++;
            continue;
        }
        if (load_candidate(s, codec, qs, n, err) != PARE_OK) {
            sqlite3_reset(s);
            return PARE_EFAIL;
        }
        n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(st, err, "reading candidates");
    qs->q.p = qs->p;
    qs->q.n = n;
    return PARE_OK;
}
