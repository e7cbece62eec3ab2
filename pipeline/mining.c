/* mining.c - see mining.h: the slot driver, and what both drivers share (mining_impl.h). */
#include "pipeline/mining_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/jcache.h"
#include "pipeline/question.h"

struct slot {
    int used;
    struct question qs;
    struct minimizer *m;
    struct jcache_entry *cache; /* this judge's verdicts on this question */
    size_t n_cache, cap_cache;
    uint64_t mask; /* the subset being judged */
    unsigned char key[16];
    int cached_calls, error;
    int64_t ptok, ctok; /* tokens of the calls asked, cached or not ... */
    int counted;        /* ... when at least one was counted */
    int prior_calls;    /* subsets the prior judged for its proposal */
    int64_t est;        /* tokens reserved for the call in flight (budget) */
    int parked;         /* stopped by the budget: left for the next run */
};

struct mine {
    struct mine_run r;
    struct store *st;
    const struct mining_opts *o;
    struct blob_codec *codec;
    const char *fp;
    int cheap;
    struct slot *slots;
    int n_slots;
    struct mining_stats *stats;
    int64_t spent, reserved; /* budget: tokens of finished calls, estimates of those in flight */
    int budget_hit;
    struct sbuf *warn, *err;
};

static void slot_clear(struct mine *mn, struct slot *s)
{
    if (s->qs.q.prep) judge_release(mn->o->judge, &s->qs.q);
    question_clear(&s->qs);
    minimizer_free(s->m);
    s->m = NULL;
    s->n_cache = 0;
    s->used = s->parked = 0;
}

/* The index of passage pid among s's candidates, or -1. */
static int candidate_of(const struct slot *s, int64_t pid)
{
    for (int i = 0; i < s->qs.q.n; i++)
        if (s->qs.p[i].id == pid) return i;
    return -1;
}

/* The members of set_id as a mask over s's candidates. */
static int set_mask(struct mine *mn, const struct slot *s, int64_t set_id, uint64_t *mask)
{
    sqlite3_stmt *st = store_stmt(mn->st, "SELECT passage_id FROM evidence_members WHERE "
                                          "set_id = ?1");
    if (!st || sqlite3_bind_int64(st, 1, set_id)) return -1;
    int rc;
    *mask = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int i = candidate_of(s, sqlite3_column_int64(st, 0));
        if (i >= 0) *mask |= 1ULL << i;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The prior's stored set for s's question and method: 1 with *mask (0: it found the full set
 * insufficient), 0 when it has none, -1 on error. */
static int stored_proposal(struct mine *mn, struct slot *s, uint64_t *mask)
{
    sqlite3_stmt *st = store_stmt(mn->st, "SELECT id, status = 'minimal', judge_calls FROM "
                                          "evidence_sets WHERE question_id = ?1 AND judge = ?2 "
                                          "AND method = ?3 AND status != 'error'");
    if (!st || sqlite3_bind_int64(st, 1, s->qs.q.id) ||
        sqlite3_bind_text(st, 2, judge_fingerprint(mn->o->prior), -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, minimizer_method_name(mn->o->method), -1, SQLITE_STATIC))
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    int64_t set_id = sqlite3_column_int64(st, 0);
    int minimal = sqlite3_column_int(st, 1);
    s->prior_calls = sqlite3_column_int(st, 2);
    sqlite3_reset(st);
    *mask = 0;
    return minimal && set_mask(mn, s, set_id, mask) != 0 ? -1 : 1;
}

/* The prior's minimal set for s, mined now through its cache (0 when it finds none). */
static int mined_proposal(struct mine *mn, struct slot *s, uint64_t *mask)
{
    struct judge *p = mn->o->prior;
    struct jquestion pq = s->qs.q; /* the prior's own per-question state */
    pq.prep = NULL;
    *mask = 0;
    if (judge_prepare(p, &pq, mn->err) != PARE_OK) return PARE_EFAIL;
    struct minimizer *m = minimizer_new(mn->o->method, pq.n);
    uint64_t probe;
    int v = JUDGE_SUFFICIENT, asked, rc = PARE_OK;
    while (rc == PARE_OK && v != JUDGE_ERROR && minimizer_next(m, &probe)) {
        rc = jcache_ask(mn->st, p, &pq, probe, &v, &asked, mn->err);
        mn->stats->prior_calls += asked;
        mn->stats->prior_cached += !asked;
        if (rc == PARE_OK && v != JUDGE_ERROR) minimizer_feed(m, v);
    }
    if (rc == PARE_OK && minimizer_status(m) == MZ_MINIMAL) *mask = minimizer_result(m);
    s->prior_calls = minimizer_calls(m);
    minimizer_free(m);
    judge_release(p, &pq);
    return rc;
}

/* The cascade's minimiser for s, from the prior's proposal. */
static int prior_minimizer(struct mine *mn, struct slot *s)
{
    uint64_t mask = 0;
    int r = stored_proposal(mn, s, &mask);
    if (r < 0) return store_fail(mn->st, mn->err, "reading the prior's sets");
    if (r == 0 && mined_proposal(mn, s, &mask) != PARE_OK) return PARE_EFAIL;
    s->m = minimizer_new_prior(mn->o->method, s->qs.q.n, mask);
    return PARE_OK;
}

/* Loads question qid with its candidates and cached verdicts into slot s. */
static int slot_load(struct mine *mn, struct slot *s, int64_t qid)
{
    if (question_load(mn->st, mn->codec, qid, mn->o->retrieval_id, 0, &s->qs, mn->err) != PARE_OK)
        return PARE_EFAIL;
    if (s->qs.more && !mn->warn->len)
        sbuf_setf(mn->warn, "questions have more than %d candidates; the best %d are used",
                  JUDGE_MAX_CANDIDATES, JUDGE_MAX_CANDIDATES);
    if (jcache_load(mn->st, mn->fp, qid, &s->cache, &s->n_cache, &s->cap_cache, mn->err) != PARE_OK)
        return PARE_EFAIL;
    int n = s->qs.q.n;
    s->cached_calls = s->error = s->counted = s->prior_calls = 0;
    s->ptok = s->ctok = s->est = 0;
    s->used = 1;
    if (n > 0 && mn->o->prior) {
        if (prior_minimizer(mn, s) != PARE_OK) return PARE_EFAIL;
    } else {
        s->m = minimizer_new(mn->o->method, n > 0 ? n : 1);
    }
    if (n == 0) return PARE_OK;
    return judge_prepare(mn->o->judge, &s->qs.q, mn->err);
}

/* Writes the evidence set of a finished slot and frees the slot. */
static int finalize(struct mine *mn, struct slot *s)
{
    enum mz_status ms = minimizer_status(s->m);
    struct mine_set set = {
        .question_id = s->qs.q.id,
        .status = s->error || s->qs.q.n == 0 ? EV_ERROR
                  : ms == MZ_MINIMAL         ? EV_MINIMAL
                                             : EV_FULL_INSUFFICIENT,
        .cand = s->qs.p,
        .calls = minimizer_calls(s->m),
        .cached = s->cached_calls,
        .prior_calls = s->prior_calls,
        .counted = s->counted,
        .ptok = s->ptok,
        .ctok = s->ctok,
    };
    set.members = set.status == EV_MINIMAL ? minimizer_result(s->m) : 0;
    now_iso8601(mn->r.ts);
    if (mine_store_set(&mn->r, &set) != PARE_OK) return PARE_EFAIL;
    slot_clear(mn, s);
    return PARE_OK;
}

/* This slot's judge's cached call on the subset under key, or NULL. */
static const struct jcache_entry *cached_call(const struct slot *s, const unsigned char key[16])
{
    for (size_t i = 0; i < s->n_cache; i++)
        if (memcmp(s->cache[i].key, key, 16) == 0) return &s->cache[i];
    return NULL;
}

/* Counts a call's tokens in the slot's set (-1: not counted). */
static void add_tokens(struct slot *s, int64_t prompt, int64_t completion)
{
    if (prompt < 0 || completion < 0) return;
    s->ptok += prompt;
    s->ctok += completion;
    s->counted = 1;
}

/* Whether the call on s->mask fits in the token budget; if it does, its estimate is reserved.
 * Once one call does not fit, none is started any more. */
static int within_budget(struct mine *mn, struct slot *s)
{
    if (!mn->o->budget_tokens) return 1;
    int64_t est = judge_estimate_tokens(mn->o->judge, &s->qs.q, s->mask);
    if (mn->budget_hit || mn->spent + mn->reserved + est > mn->o->budget_tokens) {
        mn->budget_hit = 1;
        return 0;
    }
    s->est = est;
    mn->reserved += est;
    return 1;
}

/* Runs a slot's minimiser until it needs the judge or finishes. */
static int advance(struct mine *mn, struct slot *s)
{
    while (s->used) {
        uint64_t mask;
        if (s->error || s->qs.q.n == 0 || !minimizer_next(s->m, &mask)) return finalize(mn, s);
        int64_t ids[JUDGE_MAX_CANDIDATES];
        int n = question_ids(&s->qs, mask, ids);
        judge_key(mn->fp, s->qs.q.id, ids, n, s->key);
        const struct jcache_entry *hit = cached_call(s, s->key);
        if (hit) {
            s->cached_calls++;
            mn->stats->cached++;
            add_tokens(s, hit->prompt_tokens, hit->completion_tokens);
            minimizer_feed(s->m, hit->verdict);
            continue;
        }
        s->mask = mask;
        if (!within_budget(mn, s)) {
            s->parked = 1; /* its answered calls are cached: the next run goes on from there */
            return PARE_OK;
        }
        judge_submit(mn->o->judge, &s->qs.q, mask, s);
        return PARE_OK;
    }
    return PARE_OK;
}

static int store_call(struct mine *mn, struct slot *s, const struct jdone *d)
{
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n = question_ids(&s->qs, s->mask, ids);
    return jcache_put(mn->st, s->key, mn->fp, s->qs.q.id, ids, n, d, NULL, mn->err);
}

/* ---- shared by both drivers (mining_impl.h) ---- */

/* The SQL of questions still to mine, shared by the pending-questions query and the count. */
#define PENDING                                                                                    \
    "FROM questions q JOIN datasets d ON d.id = q.dataset_id WHERE q.id > ?1 AND "                 \
    "(?2 IS NULL OR d.name = ?2) AND EXISTS (SELECT 1 FROM candidates c WHERE "                    \
    "c.retrieval_id = ?3 AND c.question_id = q.id) AND NOT EXISTS (SELECT 1 FROM "                 \
    "evidence_sets e WHERE e.question_id = q.id AND e.judge = ?4 AND e.method = ?5 AND "           \
    "e.status != 'error')"

/* Binds the parameters of PENDING; after: questions after this id. */
static int bind_pending(struct mine_run *r, sqlite3_stmt *st, int64_t after)
{
    return !st || sqlite3_bind_int64(st, 1, after) ||
           sqlite3_bind_text(st, 2, r->o->dataset, -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(st, 3, r->o->retrieval_id) ||
           sqlite3_bind_text(st, 4, r->fp, -1, SQLITE_STATIC) ||
           sqlite3_bind_text(st, 5, r->method, -1, SQLITE_STATIC);
}

int mine_pending(struct mine_run *r, int64_t after, int max, int64_t *ids, int *n)
{
    sqlite3_stmt *st = store_stmt(r->st, "SELECT q.id " PENDING " ORDER BY q.id LIMIT ?6");
    *n = 0;
    if (bind_pending(r, st, after) || sqlite3_bind_int(st, 6, max))
        return store_fail(r->st, r->err, "finding questions");
    int rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    if (*n == max) rc = SQLITE_DONE;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(r->st, r->err, "finding questions");
}

int64_t mine_count_pending(struct mine_run *r)
{
    sqlite3_stmt *st = store_stmt(r->st, "SELECT count(*) " PENDING);
    int64_t n = 0;
    if (bind_pending(r, st, 0) || store_int(r->st, st, &n) != 1)
        return 0; /* only the ETA is lost */
    int64_t limit = r->o->limit;
    return limit && limit < n ? limit : n;
}

/* The evidence_sets row of s; its id into *set_id, and *replaced 1 when the question had a
 * set of this judge and method (in 'error': mined again), whose row is updated in place. */
static int store_set_row(struct mine_run *r, const struct mine_set *s, int64_t *set_id,
                         int *replaced)
{
    sqlite3_stmt *st = store_stmt(
        r->st, "INSERT INTO evidence_sets(question_id, judge, method, status, size, judge_calls, "
               "cached_calls, created_at, prior, prior_calls, prompt_tokens, completion_tokens) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
               "ON CONFLICT(question_id, judge, method) DO UPDATE SET status = excluded.status, "
               "size = excluded.size, judge_calls = excluded.judge_calls, "
               "cached_calls = excluded.cached_calls, created_at = excluded.created_at, "
               "prior = excluded.prior, prior_calls = excluded.prior_calls, prompt_tokens = "
               "excluded.prompt_tokens, completion_tokens = excluded.completion_tokens");
    const char *prior = r->o->prior ? judge_fingerprint(r->o->prior) : NULL;
    if (!st || sqlite3_bind_int64(st, 1, s->question_id) ||
        sqlite3_bind_text(st, 2, r->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, r->method, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 4, evidence_status_name(s->status), -1, SQLITE_STATIC) ||
        sqlite3_bind_int(st, 5, __builtin_popcountll(s->members)) ||
        sqlite3_bind_int(st, 6, s->calls) || sqlite3_bind_int(st, 7, s->cached) ||
        sqlite3_bind_text(st, 8, r->ts, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 9, prior, -1, SQLITE_STATIC) ||
        (prior ? sqlite3_bind_int(st, 10, s->prior_calls) : sqlite3_bind_null(st, 10)) ||
        (s->counted ? sqlite3_bind_int64(st, 11, s->ptok) : sqlite3_bind_null(st, 11)) ||
        (s->counted ? sqlite3_bind_int64(st, 12, s->ctok) : sqlite3_bind_null(st, 12)))
        return store_fail(r->st, r->err, "storing an evidence set");
    /* The new row's id without RETURNING (which builds a temporary table on every call, more
     * than the insert costs): an upsert that updates leaves the last rowid as it was. */
    sqlite3 *db = store_db(r->st);
    sqlite3_set_last_insert_rowid(db, 0);
    if (store_done(r->st, st) != PARE_OK)
        return store_fail(r->st, r->err, "storing an evidence set");
    *set_id = sqlite3_last_insert_rowid(db);
    *replaced = *set_id == 0;
    if (!*replaced) return PARE_OK;
    st = store_stmt(r->st, "SELECT id FROM evidence_sets WHERE question_id = ?1 AND judge = ?2 "
                           "AND method = ?3");
    if (!st || sqlite3_bind_int64(st, 1, s->question_id) ||
        sqlite3_bind_text(st, 2, r->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, r->method, -1, SQLITE_STATIC) || store_int(r->st, st, set_id) != 1)
        return store_fail(r->st, r->err, "storing an evidence set");
    return PARE_OK;
}

/* The members of set_id, those of an earlier set of the question replaced. */
static int store_members(struct mine_run *r, const struct mine_set *s, int64_t set_id, int replaced)
{
    sqlite3_stmt *st = store_stmt(r->st, "DELETE FROM evidence_members WHERE set_id = ?1");
    if (replaced && (!st || sqlite3_bind_int64(st, 1, set_id) || store_done(r->st, st)))
        return store_fail(r->st, r->err, "storing an evidence set");
    for (uint64_t m = s->members; m; m &= m - 1) {
        int i = __builtin_ctzll(m);
        st = store_stmt(r->st, "INSERT INTO evidence_members(set_id, passage_id, rank) "
                               "VALUES (?1, ?2, ?3)");
        if (!st || sqlite3_bind_int64(st, 1, set_id) || sqlite3_bind_int64(st, 2, s->cand[i].id) ||
            sqlite3_bind_int(st, 3, i + 1) || store_done(r->st, st))
            return store_fail(r->st, r->err, "storing evidence members");
    }
    return PARE_OK;
}

static void count_set(struct mine_run *r, const struct mine_set *s);

int mine_store_set(struct mine_run *r, const struct mine_set *s)
{
    int64_t set_id = 0;
    int replaced = 0;
    if (store_set_row(r, s, &set_id, &replaced) != PARE_OK ||
        store_members(r, s, set_id, replaced) != PARE_OK)
        return PARE_EFAIL;
    count_set(r, s);
    return PARE_OK;
}

/* Counts stored set s in the run's stats. */
static void count_set(struct mine_run *r, const struct mine_set *s)
{
    r->stats->done++;
    if (s->status == EV_MINIMAL)
        r->stats->minimal++;
    else if (s->status == EV_FULL_INSUFFICIENT)
        r->stats->full_insufficient++;
    else
        r->stats->errors++;
    r->uncommitted++;
}

/* ---- many sets at once (mine_store_sets) ---- */

/* Rows per multi-row statement: 1, 2, 4, ... 2^MULTI_LOG (a few statements, each prepared once:
 * store_stmt_rows). */
#define MULTI_LOG 6

#define SETS_HEAD                                                                                  \
    "INSERT INTO evidence_sets(id, question_id, judge, method, status, size, judge_calls, "        \
    "cached_calls, created_at, prior, prior_calls, prompt_tokens, completion_tokens) VALUES "
#define SETS_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define SETS_COLUMNS 13
#define MEMBERS_HEAD "INSERT INTO evidence_members(set_id, passage_id, rank) VALUES "
#define MEMBERS_ROW "(?, ?, ?)"
#define MEMBERS_COLUMNS 3

/* The largest k with 2^k <= n (n >= 1), at most MULTI_LOG. */
static int multi_log(size_t n)
{
    int k = MULTI_LOG;
    while ((size_t)1 << k > n) k--;
    return k;
}

/* Binds set s, whose id is id, as the row at parameter base+1 (SETS_HEAD's order). */
static int bind_set_row(struct mine_run *r, sqlite3_stmt *st, int base, const struct mine_set *s,
                        int64_t id)
{
    const char *prior = r->o->prior ? judge_fingerprint(r->o->prior) : NULL;
    return sqlite3_bind_int64(st, base + 1, id) ||
           sqlite3_bind_int64(st, base + 2, s->question_id) ||
           sqlite3_bind_text(st, base + 3, r->fp, -1, SQLITE_STATIC) ||
           sqlite3_bind_text(st, base + 4, r->method, -1, SQLITE_STATIC) ||
           sqlite3_bind_text(st, base + 5, evidence_status_name(s->status), -1, SQLITE_STATIC) ||
           sqlite3_bind_int(st, base + 6, __builtin_popcountll(s->members)) ||
           sqlite3_bind_int(st, base + 7, s->calls) || sqlite3_bind_int(st, base + 8, s->cached) ||
           sqlite3_bind_text(st, base + 9, r->ts, -1, SQLITE_STATIC) ||
           sqlite3_bind_text(st, base + 10, prior, -1, SQLITE_STATIC) ||
           (prior ? sqlite3_bind_int(st, base + 11, s->prior_calls)
                  : sqlite3_bind_null(st, base + 11)) ||
           (s->counted ? sqlite3_bind_int64(st, base + 12, s->ptok)
                       : sqlite3_bind_null(st, base + 12)) ||
           (s->counted ? sqlite3_bind_int64(st, base + 13, s->ctok)
                       : sqlite3_bind_null(st, base + 13));
}

/*
 * Inserts sets s[0..2^k) as new rows with ids first, first+1, ... (what SQLite gives a row
 * inserted alone: the largest id plus one). Returns PARE_OK; CONFLICT when a question already
 * has a set of this judge and method (nothing was stored: the statement is undone as a whole);
 * or PARE_EFAIL with the run's err set.
 */
#define CONFLICT (-1)
static int insert_sets(struct mine_run *r, const struct mine_set *s, int k, int64_t first)
{
    sqlite3_stmt *st = store_stmt_rows(r->st, SETS_HEAD, SETS_ROW, "", k);
    if (!st) return store_fail(r->st, r->err, "storing evidence sets");
    for (int i = 0; i < 1 << k; i++)
        if (bind_set_row(r, st, i * SETS_COLUMNS, &s[i], first + i))
            return store_fail(r->st, r->err, "storing evidence sets");
    int rc = sqlite3_step(st);
    int why = sqlite3_extended_errcode(store_db(r->st));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return PARE_OK;
    if (why == SQLITE_CONSTRAINT_UNIQUE) return CONFLICT;
    sbuf_setf(r->err, "storing evidence sets: %s", sqlite3_errmsg(store_db(r->st)));
    return PARE_EFAIL;
}

/* The members of sets s[0..n), whose ids are first, first+1, ... */
static int insert_members(struct mine_run *r, const struct mine_set *s, int n, int64_t first)
{
    int64_t row[3 << MULTI_LOG]; /* set id, passage id, rank of each row waiting */
    size_t waiting = 0;
    for (int i = 0; i <= n; i++) {
        uint64_t m = i < n ? s[i].members : 0;
        /* flush when the rows of set i might not fit, and after the last set */
        while (waiting && (i == n || waiting + (size_t)__builtin_popcountll(m) > 1u << MULTI_LOG)) {
            int k = multi_log(waiting);
            sqlite3_stmt *st = store_stmt_rows(r->st, MEMBERS_HEAD, MEMBERS_ROW, "", k);
            if (!st) return store_fail(r->st, r->err, "storing evidence members");
            for (int j = 0; j < 3 << k; j++)
                if (sqlite3_bind_int64(st, j + 1, row[j]))
                    return store_fail(r->st, r->err, "storing evidence members");
            if (store_done(r->st, st)) return store_fail(r->st, r->err, "storing evidence members");
            waiting -= (size_t)1 << k;
            memmove(row, row + (3 << k), sizeof *row * 3 * waiting);
        }
        for (; m; m &= m - 1) {
            int c = __builtin_ctzll(m);
            row[3 * waiting] = first + i;
            row[3 * waiting + 1] = s[i].cand[c].id;
            row[3 * waiting + 2] = c + 1;
            waiting++;
        }
    }
    return PARE_OK;
}

/* Stores sets s[0..2^k): at once when they are all new, else one by one (a set in 'error' is
 * replaced in place). */
static int store_chunk(struct mine_run *r, const struct mine_set *s, int k)
{
    int64_t last = 0;
    sqlite3_stmt *st = store_stmt(r->st, "SELECT coalesce(max(id), 0) FROM evidence_sets");
    if (!st || store_int(r->st, st, &last) < 0)
        return store_fail(r->st, r->err, "storing evidence sets");
    int rc = last < INT64_MAX - (1 << MULTI_LOG) ? insert_sets(r, s, k, last + 1) : CONFLICT;
    if (rc == CONFLICT) {
        for (int i = 0; i < 1 << k; i++)
            if (mine_store_set(r, &s[i]) != PARE_OK) return PARE_EFAIL;
        return PARE_OK;
    }
    if (rc != PARE_OK || insert_members(r, s, 1 << k, last + 1) != PARE_OK) return PARE_EFAIL;
    for (int i = 0; i < 1 << k; i++) count_set(r, &s[i]);
    return PARE_OK;
}

int mine_store_sets(struct mine_run *r, const struct mine_set *s, size_t n)
{
    while (n) {
        int k = multi_log(n);
        if (store_chunk(r, s, k) != PARE_OK) return PARE_EFAIL;
        s += (size_t)1 << k;
        n -= (size_t)1 << k;
    }
    return PARE_OK;
}

int mine_commit(struct mine_run *r)
{
    if (store_commit(r->st) != PARE_OK || store_begin(r->st) != PARE_OK)
        return store_fail(r->st, r->err, "committing");
    r->uncommitted = 0;
    return PARE_OK;
}

void mine_count_call(struct mine_run *r, const struct jdone *d)
{
    r->stats->calls++;
    if (d->verdict == JUDGE_ERROR && r->stats->call_errors++ == 0)
        snprintf(r->stats->first_error, sizeof r->stats->first_error, "%s",
                 d->error ? d->error : "no reason given");
}

/* ---- the slot driver ---- */

/* Starts questions in free slots. *more becomes 0 when no question (or no --limit) is left. */
static int fill_slots(struct mine *mn, int64_t *after, int64_t *started, int *more)
{
    if (mn->budget_hit) *more = 0;
    for (int i = 0; i < mn->n_slots && *more; i++) {
        if (mn->slots[i].used) continue;
        if (mn->o->limit && *started >= mn->o->limit) {
            *more = 0;
            break;
        }
        int64_t qid;
        int got = 0;
        if (mine_pending(&mn->r, *after, 1, &qid, &got) != PARE_OK) return PARE_EFAIL;
        if (got == 0) {
            *more = 0;
            break;
        }
        *after = qid;
        (*started)++;
        if (slot_load(mn, &mn->slots[i], qid) != PARE_OK || advance(mn, &mn->slots[i]) != PARE_OK)
            return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Counts a finished call: tokens of the run, the budget, the slot's set. */
static void count_call(struct mine *mn, struct slot *s, const struct jdone *d)
{
    int counted = d->prompt_tokens >= 0 && d->completion_tokens >= 0;
    mn->reserved -= s->est;
    mn->spent += counted ? d->prompt_tokens + d->completion_tokens : s->est;
    s->est = 0;
    if (counted) {
        mn->stats->prompt_tokens += d->prompt_tokens;
        mn->stats->completion_tokens += d->completion_tokens;
    }
    add_tokens(s, d->prompt_tokens, d->completion_tokens);
}

/* Finished calls: store them, commit (unless the judge is cheap), then feed the minimisers. */
static int take_answers(struct mine *mn, struct jdone *d)
{
    int rc = PARE_OK;
    for (struct jdone *x = d; x && rc == PARE_OK; x = x->next) {
        rc = store_call(mn, x->tag, x);
        count_call(mn, x->tag, x);
        mine_count_call(&mn->r, x);
    }
    if (rc == PARE_OK && d && !mn->cheap) rc = mine_commit(&mn->r);
    for (struct jdone *x = d; x && rc == PARE_OK; x = x->next) {
        struct slot *s = x->tag;
        if (x->verdict == JUDGE_ERROR)
            s->error = 1;
        else
            minimizer_feed(s->m, x->verdict);
        rc = advance(mn, s);
    }
    if (rc == PARE_OK && mn->r.uncommitted >= 500) rc = mine_commit(&mn->r);
    return rc;
}

static int run(struct mine *mn, mining_progress_fn progress, void *ctx)
{
    int64_t total = progress ? mine_count_pending(&mn->r) : 0, after = 0, started = 0;
    int more = 1, rc = store_begin(mn->st);
    if (rc != PARE_OK) return store_fail(mn->st, mn->err, "BEGIN");
    for (;;) {
        rc = fill_slots(mn, &after, &started, &more);
        if (rc != PARE_OK) break;
        if (!more && judge_pending(mn->o->judge) == 0) break;
        struct jdone *d = judge_poll(mn->o->judge, 0.2);
        rc = take_answers(mn, d);
        jdone_free(d);
        if (rc != PARE_OK) break;
        if (progress) progress(ctx, mn->stats, total);
    }
    if (rc == PARE_OK && store_commit(mn->st) != PARE_OK)
        rc = store_fail(mn->st, mn->err, "COMMIT");
    if (rc != PARE_OK) store_rollback(mn->st);
    mn->stats->budget_reached = mn->budget_hit;
    for (int i = 0; i < mn->n_slots; i++) mn->stats->left += mn->slots[i].parked;
    return rc;
}

int mining_run(struct store *st, const struct mining_opts *o, mining_progress_fn progress,
               void *ctx, struct mining_stats *stats, struct sbuf *warn, struct sbuf *err)
{
    struct mine mn = {0};
    mn.r.st = mn.st = st;
    mn.r.o = mn.o = o;
    mn.r.fp = mn.fp = judge_fingerprint(o->judge);
    mn.r.method =
        o->prior ? minimizer_prior_method_name(o->method) : minimizer_method_name(o->method);
    mn.r.stats = mn.stats = stats;
    mn.r.warn = mn.warn = warn;
    mn.r.err = mn.err = err;
    memset(stats, 0, sizeof *stats);
    mn.cheap = judge_is_cheap(o->judge);
    /* a cheap judge answers at once: the synchronous driver, unless a prior proposes */
    if (mn.cheap && !o->prior && !o->slot_driver) return mining_run_sync(&mn.r, progress, ctx);
    mn.n_slots = o->slots > 0 ? o->slots : 1;
    mn.slots = xcalloc((size_t)mn.n_slots, sizeof *mn.slots);
    mn.codec = store_codec(st);
    int rc = run(&mn, progress, ctx);
    for (int i = 0; i < mn.n_slots; i++) {
        slot_clear(&mn, &mn.slots[i]);
        question_free(&mn.slots[i].qs);
        free(mn.slots[i].cache);
    }
    free(mn.slots);
    blob_codec_free(mn.codec);
    return rc;
}
