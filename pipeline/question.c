/* question.c - see question.h. */
#include "pipeline/question.h"

#include <stdlib.h>
#include <string.h>

void question_clear(struct question *qs)
{
    json_decref(qs->q.answers);
    free(qs->text);
    free(qs->answers);
    /* only the candidates read since the last clear hold anything (a question has ten where
     * there is room for JUDGE_MAX_CANDIDATES: resetting every buffer was 2% of pare mine) */
    for (int i = 0; i < qs->q.n; i++) {
        sbuf_reset(&qs->title[i]);
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
        sbuf_free(&qs->title[i]);
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

/* The text and answers of questions ids[0..n) (ascending) into qs[0..n), from one scan of
 * the id range. Returns PARE_OK, or PARE_EFAIL with err set (a database error, or a question
 * that is not there). */
static int read_texts(struct store *st, const int64_t *ids, struct question *const *qs, int n,
                      struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, question, answers FROM questions WHERE id "
                                     "BETWEEN ?1 AND ?2 ORDER BY id");
    if (!s || sqlite3_bind_int64(s, 1, ids[0]) || sqlite3_bind_int64(s, 2, ids[n - 1]))
        return store_fail(st, err, "reading questions");
    int i = 0, rc = SQLITE_DONE;
    while (i < n && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_int64(s, 0) != ids[i]) continue; /* not asked for */
        struct question *q = qs[i++];
        q->q.id = sqlite3_column_int64(s, 0);
        q->text = xstrdup((const char *)sqlite3_column_text(s, 1));
        q->q.question = q->text;
        const char *answers = (const char *)sqlite3_column_text(s, 2);
        q->answers = xstrdup(answers ? answers : "");
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_fail(st, err, "reading questions");
    if (i < n) {
        sbuf_setf(err, "question %lld is not in the database", (long long)ids[i]);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Candidate qs->q.n from columns col, col+1 and col+2 of the current row of s (id, title,
 * compressed body), copied into qs's buffers. */
static void add_candidate(sqlite3_stmt *s, int col, struct question *qs)
{
    int n = qs->q.n++;
    qs->p[n].id = sqlite3_column_int64(s, col);
    sbuf_reset(&qs->title[n]);
    sbuf_add(&qs->title[n], sqlite3_column_text(s, col + 1),
             (size_t)sqlite3_column_bytes(s, col + 1));
    qs->p[n].title = sbuf_str(&qs->title[n]);
    sbuf_reset(&qs->zbody[n]);
    sbuf_add(&qs->zbody[n], sqlite3_column_blob(s, col + 2),
             (size_t)sqlite3_column_bytes(s, col + 2));
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
    if (read_texts(st, &qid, &qs, 1, err) != PARE_OK) return PARE_EFAIL;
    sqlite3_stmt *s = candidates_stmt(st, qid, rid, set_id);
    if (!s) return store_fail(st, err, "reading candidates");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (qs->q.n == JUDGE_MAX_CANDIDATES) {
            qs->more++;
            continue;
        }
        if (set_id > 0 && sqlite3_column_int(s, 3)) qs->members |= 1ULL << qs->q.n;
        add_candidate(s, 0, qs);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(st, err, "reading candidates");
    qs->q.p = qs->p;
    return PARE_OK;
}

int question_read_many(struct store *st, int64_t rid, const int64_t *ids,
                       struct question *const *qs, int n, struct sbuf *err)
{
    if (n <= 0) return PARE_OK;
    for (int i = 0; i < n; i++) question_clear(qs[i]);
    if (read_texts(st, ids, qs, n, err) != PARE_OK) return PARE_EFAIL;
    sqlite3_stmt *s = store_stmt(st, "SELECT c.question_id, p.id, p.title, p.body FROM candidates "
                                     "c JOIN passages p ON p.id = c.passage_id WHERE "
                                     "c.retrieval_id = ?1 AND c.question_id BETWEEN ?2 AND ?3 "
                                     "ORDER BY c.question_id, c.rank");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int64(s, 2, ids[0]) ||
        sqlite3_bind_int64(s, 3, ids[n - 1]))
        return store_fail(st, err, "reading candidates");
    int i = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t qid = sqlite3_column_int64(s, 0);
        while (i < n && ids[i] < qid) i++;
        if (i == n) break;
        if (ids[i] != qid) continue; /* a question of the range not asked for */
        struct question *q = qs[i];
        if (q->q.n == JUDGE_MAX_CANDIDATES) {
            q->more++;
            continue;
        }
        add_candidate(s, 1, q);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_fail(st, err, "reading candidates");
    for (int k = 0; k < n; k++) qs[k]->q.p = qs[k]->p;
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
