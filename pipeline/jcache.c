/* jcache.c - see jcache.h. */
#include "pipeline/jcache.h"

#include <stdlib.h>
#include <string.h>

int jcache_get(struct store *st, const unsigned char key[16], int *verdict)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT verdict FROM judge_calls WHERE key = ?1 AND "
                                     "verdict IS NOT NULL");
    int64_t v = 0;
    if (!s || sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC)) return -1;
    int found = store_int(st, s, &v);
    if (found == 1) *verdict = v ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
    return found;
}

int jcache_lookup(struct store *st, const char *fp, int64_t qid, const int64_t *ids, int n,
                  int *verdict)
{
    unsigned char key[16];
    judge_key(fp, qid, ids, n, key);
    return jcache_get(st, key, verdict);
}

int jcache_load(struct store *st, const char *fp, int64_t qid, struct jcache_entry **arr, size_t *n,
                size_t *cap, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT key, verdict, coalesce(prompt_tokens, -1), "
                                     "coalesce(completion_tokens, -1) FROM judge_calls WHERE "
                                     "question_id = ?1 AND judge = ?2 AND verdict IS NOT NULL");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_bind_text(s, 2, fp, -1, SQLITE_STATIC))
        return store_fail(st, err, "reading cached verdicts");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 0) != 16) continue;
        xgrow((void **)arr, cap, *n + 1, sizeof **arr);
        memcpy((*arr)[*n].key, sqlite3_column_blob(s, 0), 16);
        (*arr)[*n].verdict = sqlite3_column_int(s, 1) ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
        (*arr)[*n].prompt_tokens = sqlite3_column_int64(s, 2);
        (*arr)[*n].completion_tokens = sqlite3_column_int64(s, 3);
        (*n)++;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(st, err, "reading cached verdicts");
}

/* Room for the JSON array of up to JUDGE_MAX_CANDIDATES int64 ids: '[', ']', the NUL, and for
 * each id at most 20 characters and a comma. */
#define SUBSET_JSON_MAX (3 + 21 * JUDGE_MAX_CANDIDATES)

/* The subset (n <= JUDGE_MAX_CANDIDATES ids) as a JSON array of passage ids, as
 * json_dumps(JSON_COMPACT) writes it ("[3,17]"), written directly into out: jansson's tree and
 * dump cost more than the row insert. */
static void subset_json(const int64_t *ids, int n, char out[SUBSET_JSON_MAX])
{
    size_t m = 0;
    out[m++] = '[';
    for (int i = 0; i < n; i++) {
        char d[20]; /* the decimal digits of an int64, last first */
        size_t k = 0;
        uint64_t u = ids[i] < 0 ? 0 - (uint64_t)ids[i] : (uint64_t)ids[i];
        do d[k++] = (char)('0' + u % 10);
        while ((u /= 10) != 0);
        if (i) out[m++] = ',';
        if (ids[i] < 0) out[m++] = '-';
        while (k) out[m++] = d[--k];
    }
    out[m++] = ']';
    out[m] = '\0';
}

/* A token count, or NULL when it was not counted (< 0). */
static int bind_count(sqlite3_stmt *s, int i, int64_t n)
{
    return n < 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, n);
}

/* The columns of a judge_calls row, and what an existing row of the key keeps of a new one. */
#define PUT_HEAD                                                                                   \
    "INSERT INTO judge_calls(key, judge, question_id, subset, verdict, answer, error, "            \
    "latency_ms, created_at, prompt_tokens, completion_tokens) VALUES "
#define PUT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define PUT_COLUMNS 11
#define PUT_TAIL                                                                                   \
    " ON CONFLICT(key) DO UPDATE SET verdict = excluded.verdict, answer = excluded.answer, "       \
    "error = excluded.error, latency_ms = excluded.latency_ms, created_at = excluded.created_at, " \
    "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens"

/* Rows per statement of jcache_put_many: 1, 2, 4, ... 2^PUT_LOG, each statement prepared once
 * (store_stmt_rows). A multi-row upsert into judge_calls
 * (random keys, so a page per row) keeps a statement journal, which SQLite's default wrote to a
 * temporary file beyond 64 KiB; store_open raises that limit (SQLITE_CONFIG_STMTJRNL_SPILL), so
 * 16 rows a statement cost 5% fewer instructions than one on the mining benchmark. */
#define PUT_LOG 4

/* Binds row r as the row at parameter base+1 (its columns in PUT_HEAD's order). */
static int bind_put(sqlite3_stmt *s, int base, const struct jcache_row *r, const char *fp,
                    const char *ts)
{
    char sub[SUBSET_JSON_MAX];
    const struct jdone *d = r->d;
    subset_json(r->ids, r->n < JUDGE_MAX_CANDIDATES ? r->n : JUDGE_MAX_CANDIDATES, sub);
    return sqlite3_bind_blob(s, base + 1, r->key, 16, SQLITE_STATIC) ||
           sqlite3_bind_text(s, base + 2, fp, -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(s, base + 3, r->qid) ||
           sqlite3_bind_text(s, base + 4, sub, -1, SQLITE_TRANSIENT) ||
           (d->verdict == JUDGE_ERROR ? sqlite3_bind_null(s, base + 5)
                                      : sqlite3_bind_int(s, base + 5, d->verdict)) ||
           sqlite3_bind_text(s, base + 6, d->answer, -1, SQLITE_STATIC) ||
           sqlite3_bind_text(s, base + 7, d->error, -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(s, base + 8, (int64_t)(d->latency_ms + 0.5)) ||
           sqlite3_bind_text(s, base + 9, ts, -1, SQLITE_STATIC) ||
           bind_count(s, base + 10, d->prompt_tokens) ||
           bind_count(s, base + 11, d->completion_tokens);
}

int jcache_put_many(struct store *st, const char *fp, const struct jcache_row *rows, size_t n,
                    const char *ts, struct sbuf *err)
{
    while (n) {
        int k = PUT_LOG;
        while ((size_t)1 << k > n) k--;
        sqlite3_stmt *s = store_stmt_rows(st, PUT_HEAD, PUT_ROW, PUT_TAIL, k);
        if (!s) return store_fail(st, err, "storing judge calls");
        for (int i = 0; i < 1 << k; i++)
            if (bind_put(s, i * PUT_COLUMNS, &rows[i], fp, ts))
                return store_fail(st, err, "storing judge calls");
        if (store_done(st, s)) return store_fail(st, err, "storing judge calls");
        rows += (size_t)1 << k;
        n -= (size_t)1 << k;
    }
    return PARE_OK;
}

int jcache_put(struct store *st, const unsigned char key[16], const char *fp, int64_t qid,
               const int64_t *ids, int n, const struct jdone *d, const char *ts, struct sbuf *err)
{
    struct jcache_row r = {
        .qid = qid, .n = n < JUDGE_MAX_CANDIDATES ? n : JUDGE_MAX_CANDIDATES, .d = d};
    memcpy(r.key, key, 16);
    memcpy(r.ids, ids, sizeof *ids * (size_t)r.n);
    char now[24];
    if (!ts) {
        now_iso8601(now);
        ts = now;
    }
    return jcache_put_many(st, fp, &r, 1, ts, err);
}

int jcache_ask(struct store *st, struct judge *j, struct jquestion *q, uint64_t mask, int *verdict,
               int *asked, struct sbuf *err)
{
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n = 0;
    for (int i = 0; i < q->n; i++)
        if (mask >> i & 1) ids[n++] = q->p[i].id;
    const char *fp = judge_fingerprint(j);
    unsigned char key[16];
    judge_key(fp, q->id, ids, n, key);
    *asked = 0;
    int found = jcache_get(st, key, verdict);
    if (found < 0) return store_fail(st, err, "reading judge_calls");
    if (found) return PARE_OK;
    judge_submit(j, q, mask, q);
    struct jdone *d = NULL;
    while (!d) d = judge_poll(j, 1.0);
    *asked = 1;
    *verdict = d->verdict;
    int rc = jcache_put(st, key, fp, q->id, ids, n, d, NULL, err);
    jdone_free(d);
    return rc;
}
