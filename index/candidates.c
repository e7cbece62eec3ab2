/* candidates.c - see candidates.h. */
#include "index/candidates.h"

#include <stdlib.h>
#include <string.h>

/* Binds configuration c to the five parameters of s, from ?1. */
static int bind_cfg(sqlite3_stmt *s, const struct retrieval_cfg *c)
{
    return sqlite3_bind_int64(s, 1, c->index_id) ||
           sqlite3_bind_text(s, 2, c->corpus ? "corpus" : "context", -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(s, 3, c->k) || sqlite3_bind_int(s, 4, c->with_answer) ||
           sqlite3_bind_int64(s, 5, c->rerank);
}

int candidates_retrieval(struct store *st, const struct retrieval_cfg *c, int64_t *id,
                         struct sbuf *err)
{
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO retrievals(index_id, scope, k, with_answer, "
                                     "rerank, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                     "ON CONFLICT DO NOTHING");
    if (!s || bind_cfg(s, c) || sqlite3_bind_text(s, 6, ts, -1, SQLITE_TRANSIENT) ||
        store_done(st, s))
        return store_fail(st, err, "recording the retrieval");
    s = store_stmt(st, "SELECT id FROM retrievals WHERE index_id = ?1 AND scope = ?2 AND "
                       "k = ?3 AND with_answer = ?4 AND rerank = ?5");
    if (!s || bind_cfg(s, c) || store_int(st, s, id) != 1)
        return store_fail(st, err, "recording the retrieval");
    return PARE_OK;
}

int candidates_next(struct store *st, int64_t id, int with_answer, const char *dataset,
                    int64_t after, int64_t n, struct ranked *qs, int *nq, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(
        st, "SELECT q.id, q.question, json_extract(q.answers, '$[0]') FROM questions q "
            "JOIN datasets d ON d.id = q.dataset_id "
            "WHERE q.id > ?1 AND (?2 IS NULL OR d.name = ?2) AND pare_in_shard(q.id) AND NOT "
            "EXISTS (SELECT 1 FROM candidates c WHERE c.retrieval_id = ?3 AND c.question_id = "
            "q.id) ORDER BY q.id LIMIT ?4");
    *nq = 0;
    if (!s || sqlite3_bind_int64(s, 1, after) ||
        sqlite3_bind_text(s, 2, dataset, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 3, id) ||
        sqlite3_bind_int64(s, 4, n))
        return store_fail(st, err, "reading questions");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ranked *q = &qs[(*nq)++];
        memset(q, 0, sizeof *q);
        q->qid = sqlite3_column_int64(s, 0);
        struct sbuf t = {0};
        sbuf_adds(&t, (const char *)sqlite3_column_text(s, 1));
        if (with_answer && sqlite3_column_text(s, 2)) {
            sbuf_addc(&t, ' ');
            sbuf_adds(&t, (const char *)sqlite3_column_text(s, 2));
        }
        q->text = sbuf_detach(&t);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(st, err, "reading questions");
    return PARE_OK;
}

/* Rows per INSERT of candidates_store: 1, 2, 4, ... 2^ROWS_LOG (store_stmt_rows). A statement's
 * fixed cost (step, halt, reset) was a third of a row's. */
#define ROWS_LOG 5
#define ROWS_HEAD                                                                                  \
    "INSERT INTO candidates(retrieval_id, question_id, passage_id, rank, score) VALUES "
#define ROWS_ROW "(?, ?, ?, ?, ?)"

/* A candidate row waiting to be stored. */
struct cand_row {
    int64_t qid, pid;
    int rank;
    double score;
};

/* Stores rows[0..n) (n <= 2^ROWS_LOG) under retrieval id, in statements of 2^k rows. */
static int insert_rows(struct store *st, int64_t id, const struct cand_row *rows, int n)
{
    while (n) {
        int k = ROWS_LOG;
        while (1 << k > n) k--;
        sqlite3_stmt *s = store_stmt_rows(st, ROWS_HEAD, ROWS_ROW, "", k);
        if (!s) return PARE_EFAIL;
        for (int r = 0; r < 1 << k; r++)
            if (sqlite3_bind_int64(s, 1 + 5 * r, id) ||
                sqlite3_bind_int64(s, 2 + 5 * r, rows[r].qid) ||
                sqlite3_bind_int64(s, 3 + 5 * r, rows[r].pid) ||
                sqlite3_bind_int(s, 4 + 5 * r, rows[r].rank) ||
                sqlite3_bind_double(s, 5 + 5 * r, rows[r].score))
                return PARE_EFAIL;
        if (store_done(st, s) != PARE_OK) return PARE_EFAIL;
        rows += 1 << k;
        n -= 1 << k;
    }
    return PARE_OK;
}

/* The rows of qs[0..nq), best k of each (0: all), stored 2^ROWS_LOG at a time. */
static int insert_all(struct store *st, int64_t id, int64_t k, const struct ranked *qs, int nq)
{
    struct cand_row rows[1 << ROWS_LOG];
    int waiting = 0;
    for (int i = 0; i < nq; i++) {
        int n = qs[i].n_cand;
        if (k > 0 && n > k) n = (int)k;
        for (int c = 0; c < n; c++) {
            rows[waiting++] = (struct cand_row){qs[i].qid, qs[i].cand[c], c + 1, qs[i].score[c]};
            if (waiting == 1 << ROWS_LOG) {
                if (insert_rows(st, id, rows, waiting) != PARE_OK) return PARE_EFAIL;
                waiting = 0;
            }
        }
    }
    return insert_rows(st, id, rows, waiting);
}

int candidates_store(struct store *st, int64_t id, int64_t k, const struct ranked *qs, int nq,
                     struct sbuf *err)
{
    /* The rows refer to questions and passages this command read from this database (pare
     * never deletes either); checking three parent keys per row made storing them twice as
     * dear, and context scope stores every passage of every question. (A job storing many
     * batches suspends the checks once for all of them: see store_fk_suspend.) */
    if (store_fk_suspend(st) != PARE_OK) goto fail;
    if (store_begin(st) != PARE_OK) goto fail_resume;
    if (insert_all(st, id, k, qs, nq) != PARE_OK) goto fail_resume;
    if (store_commit(st) != PARE_OK) goto fail_resume;
    return store_fk_resume(st) == PARE_OK ? PARE_OK : store_fail(st, err, "storing candidates");
fail_resume:
    store_fail(st, err, "storing candidates");
    if (store_in_tx(st)) store_rollback(st);
    store_fk_resume(st);
    return PARE_EFAIL;
fail:
    return store_fail(st, err, "storing candidates");
}
