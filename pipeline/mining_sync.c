/*
 * mining_sync.c - the synchronous driver of pare mine (mining_impl.h), for a cheap judge
 * (lexical) without a prior: DESIGN's "synchronous driver (lexical judge, OpenMP across
 * questions)".
 *
 * Questions go in batches through three steps: the store thread (OpenMP's master, the only
 * thread that touches the database) reads batch t+1 and stores batch t-1 while every thread,
 * the store thread too once it is done, solves the questions of batch t: decodes the bodies,
 * prepares the judge, runs the minimiser, judges. Solving a question reads nothing but the
 * question and its cached verdicts, and batches are stored in question order, so the database
 * is the one a serial run writes, whatever the number of threads.
 *
 * A cheap judge's verdicts cost nothing to ask again, so only the calls that prove the result
 * are stored in judge_calls: the full set's verdict, the final set's and each single-member
 * removal of the final set (what pare eval's proof of 1-minimality and augment's drop_one
 * labels read), and any failed call. A rerun after a kill finds the same verdicts by asking
 * again. A costly judge's every call is stored before it is used: mining.c's driver does that.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/jcache.h"
#include "pipeline/mining_impl.h"
#include "pipeline/question.h"

/* Questions per batch: enough that the store thread's share of a batch (reading and storing)
 * keeps the others busy, few enough that the first batch starts the threads early. */
#define BATCH 256

/* Seconds of mining between commits. A commit writes every page dirtied since the last one and
 * syncs: with a commit per 500 sets (40 ms of the lexical judge's work), most leaves of the
 * judge_calls key index (its keys are hashes) were written again at each, 31 MB and 16 fsyncs
 * for 7.5 MB of rows on 10k HotpotQA questions. A kill loses at most this much work, which a
 * rerun mines again. */
#define COMMIT_SECONDS 1.0

/* A call whose row is stored. */
struct kept {
    uint64_t mask;
    unsigned char key[16];
    struct jdone d; /* verdict, answer (owned), latency */
};

/* One question of a batch: what the store thread reads, then what a worker finds. */
struct item {
    struct question qs;
    struct jcache_entry *cache; /* this judge's stored verdicts on the question */
    size_t n_cache, cap_cache;
    int rc; /* PARE_OK, or PARE_EFAIL with err (the run stops at this question) */
    struct sbuf err;
    enum evidence_status status;
    uint64_t set;
    int calls, cached; /* distinct subsets judged; those answered from the cache */
    int asked;         /* calls made (a failed one included) */
    int failed;        /* the last call failed: the question's status is error */
    struct kept *keep; /* the calls to store, in the order they were asked */
    size_t n_keep, cap_keep;
};

struct batch {
    struct item *it;
    int n, cap;
};

/* The zstd dictionaries of the database, read once so that workers decode without it. */
struct dicts {
    uint32_t *id;
    struct sbuf *dict;
    int n;
};

struct sync {
    struct mine_run *r;
    struct dicts dicts;
    struct blob_codec **codec; /* one per thread */
    int n_threads;
    int64_t after, started; /* the last question read; questions read */
    int64_t cached_max;     /* judge_calls' largest question id when the run began (0: none) */
    int more;               /* questions may be left to read */
    /* what store_batch stores: the calls kept and the sets of a batch (pointing into it) */
    struct jcache_row *rows;
    size_t n_rows, cap_rows;
    struct mine_set *sets;
    size_t n_sets, cap_sets;
    double committed; /* now_monotonic() at the last commit (or the start) */
};

/* ---- dictionaries ---- */

static int load_dicts(struct sync *y)
{
    struct mine_run *r = y->r;
    sqlite3_stmt *s = store_stmt(r->st, "SELECT id, dict FROM zstd_dicts ORDER BY id");
    if (!s) return store_fail(r->st, r->err, "reading zstd_dicts");
    int rc;
    size_t cap_id = 0, cap_dict = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&y->dicts.id, &cap_id, (size_t)y->dicts.n + 1, sizeof *y->dicts.id);
        xgrow((void **)&y->dicts.dict, &cap_dict, (size_t)y->dicts.n + 1, sizeof *y->dicts.dict);
        struct sbuf *d = &y->dicts.dict[y->dicts.n];
        memset(d, 0, sizeof *d);
        sbuf_add(d, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
        y->dicts.id[y->dicts.n++] = (uint32_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(r->st, r->err, "reading zstd_dicts");
}

/* blob_dict_loader over the dictionaries read at the start (read-only: any thread). */
static int dict_loader(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err)
{
    const struct dicts *d = ud;
    for (int i = 0; i < d->n; i++) {
        if (d->id[i] == id) {
            sbuf_add(out, d->dict[i].p, d->dict[i].len);
            return PARE_OK;
        }
    }
    sbuf_setf(err, "zstd dictionary %u is not in zstd_dicts", id);
    return PARE_EFAIL;
}

/* ---- reading (store thread) ---- */

/* Empties an item for the next question (keeps its buffers' memory). */
static void item_clear(struct item *it)
{
    question_clear(&it->qs);
    for (size_t k = 0; k < it->n_keep; k++) {
        free(it->keep[k].d.answer);
        free(it->keep[k].d.error);
    }
    it->n_keep = it->n_cache = 0;
    it->rc = PARE_OK;
    sbuf_reset(&it->err);
    it->status = EV_ERROR;
    it->set = 0;
    it->calls = it->cached = it->asked = it->failed = 0;
}

static void item_free(struct item *it)
{
    item_clear(it);
    question_free(&it->qs);
    free(it->cache);
    free(it->keep);
    sbuf_free(&it->err);
}

/* The largest question id of judge_calls, read once: a question above it has no cached
 * verdict (this run's rows are of questions it has read already), so its cache is not looked
 * up: on a first run, no question's (1% of the benchmark's instructions). */
static int load_cached_max(struct sync *y)
{
    struct mine_run *r = y->r;
    sqlite3_stmt *s = store_stmt(r->st, "SELECT coalesce(max(question_id), 0) FROM judge_calls");
    if (!s || store_int(r->st, s, &y->cached_max) != 1)
        return store_fail(r->st, r->err, "reading judge_calls");
    return PARE_OK;
}

/* Reads the next questions to mine (at most BATCH, within --limit) into b. */
static int read_batch(struct sync *y, struct batch *b)
{
    struct mine_run *r = y->r;
    int64_t ids[BATCH];
    int max = BATCH, n = 0;
    b->n = 0;
    if (r->o->limit && r->o->limit - y->started < max) max = (int)(r->o->limit - y->started);
    if (!y->more || max <= 0) return y->more = 0, PARE_OK;
    if (mine_pending(r, y->after, max, ids, &n) != PARE_OK) return PARE_EFAIL;
    if (n < max) y->more = 0;
    if (b->cap < n) {
        b->it = xrealloc(b->it, sizeof *b->it * (size_t)n);
        memset(b->it + b->cap, 0, sizeof *b->it * (size_t)(n - b->cap));
        b->cap = n;
    }
    struct question *qs[BATCH];
    for (int i = 0; i < n; i++) {
        item_clear(&b->it[i]);
        qs[i] = &b->it[i].qs;
    }
    if (question_read_many(r->st, r->o->retrieval_id, ids, qs, n, r->err) != PARE_OK)
        return PARE_EFAIL;
    for (int i = 0; i < n; i++) {
        struct item *it = &b->it[i];
        if (ids[i] <= y->cached_max && jcache_load(r->st, r->fp, ids[i], &it->cache, &it->n_cache,
                                                   &it->cap_cache, r->err) != PARE_OK)
            return PARE_EFAIL;
        if (it->qs.more && !r->warn->len)
            sbuf_setf(r->warn, "questions have more than %d candidates; the best %d are used",
                      JUDGE_MAX_CANDIDATES, JUDGE_MAX_CANDIDATES);
        b->n++;
    }
    if (n) y->after = ids[n - 1];
    y->started += n;
    return PARE_OK;
}

/* ---- solving (any thread) ---- */

/* The cached verdict on subset mask, or -1 (keys are made only when something is cached). */
static int cached_verdict(const struct sync *y, const struct item *it, uint64_t mask)
{
    if (!it->n_cache) return -1;
    int64_t ids[JUDGE_MAX_CANDIDATES];
    unsigned char key[16];
    judge_key(y->r->fp, it->qs.q.id, ids, question_ids(&it->qs, mask, ids), key);
    for (size_t i = 0; i < it->n_cache; i++)
        if (memcmp(it->cache[i].key, key, 16) == 0) return it->cache[i].verdict;
    return -1;
}

/* Whether the call on mask proves the result: the full set, the final set, or the final set
 * less one member (a failed call is stored too: it is asked again on the next run). */
static int proves(const struct item *it, const struct kept *k, uint64_t all)
{
    if (k->d.verdict == JUDGE_ERROR || k->mask == all) return 1;
    if (it->status != EV_MINIMAL) return 0;
    uint64_t gone = it->set & ~k->mask;
    return (k->mask & ~it->set) == 0 && (gone & (gone - 1)) == 0;
}

/* Keeps the calls that prove the result, with their keys; frees the others' answers. */
static void keep_proof(const struct sync *y, struct item *it)
{
    int n = it->qs.q.n;
    uint64_t all = n == 64 ? ~0ULL : (1ULL << n) - 1;
    size_t m = 0;
    for (size_t k = 0; k < it->n_keep; k++) {
        struct kept *c = &it->keep[k];
        if (!proves(it, c, all)) {
            free(c->d.answer);
            free(c->d.error);
            continue;
        }
        int64_t ids[JUDGE_MAX_CANDIDATES];
        judge_key(y->r->fp, it->qs.q.id, ids, question_ids(&it->qs, c->mask, ids), c->key);
        it->keep[m++] = *c;
    }
    it->n_keep = m;
}

/* Asks the judge about mask; returns the verdict (the call is kept until keep_proof). */
static int ask(struct sync *y, struct item *it, uint64_t mask)
{
    xgrow((void **)&it->keep, &it->cap_keep, it->n_keep + 1, sizeof *it->keep);
    struct kept *c = &it->keep[it->n_keep++];
    memset(c, 0, sizeof *c);
    c->mask = mask;
    judge_decide(y->r->o->judge, &it->qs.q, mask, &c->d);
    it->asked++;
    return c->d.verdict;
}

/* A question's search and what its verdicts need (minimizer_run's oracle context). */
struct solving {
    struct sync *y;
    struct item *it;
};

/* The verdict on subset mask: cached, or asked of the judge; -1 when the judge failed. */
static int verdict_of(void *ctx, uint64_t mask)
{
    struct solving *s = ctx;
    int v = cached_verdict(s->y, s->it, mask);
    if (v >= 0) {
        s->it->cached++;
        return v;
    }
    if ((v = ask(s->y, s->it, mask)) == JUDGE_ERROR) {
        s->it->failed = 1;
        return -1;
    }
    return v;
}

/* Runs the minimiser of question `it` to its end (in one go: every verdict is at hand). */
static void minimize(struct sync *y, struct item *it)
{
    struct minimizer *m = minimizer_new(y->r->o->method, it->qs.q.n);
    struct solving s = {y, it};
    minimizer_run(m, verdict_of, &s);
    enum mz_status st = minimizer_status(m);
    it->status = it->failed ? EV_ERROR : st == MZ_MINIMAL ? EV_MINIMAL : EV_FULL_INSUFFICIENT;
    it->set = it->status == EV_MINIMAL ? minimizer_result(m) : 0;
    it->calls = minimizer_calls(m);
    minimizer_free(m);
}

/* Decodes, prepares and mines one question (any thread; codec is the thread's own). */
static void solve(struct sync *y, struct item *it, struct blob_codec *codec)
{
    struct judge *j = y->r->o->judge;
    if (question_decode(&it->qs, codec, &it->err) != PARE_OK) {
        it->rc = PARE_EFAIL;
        return;
    }
    if (it->qs.q.n == 0) return; /* status error: no candidate to judge */
    if (judge_prepare(j, &it->qs.q, &it->err) != PARE_OK) {
        it->rc = PARE_EFAIL;
        return;
    }
    minimize(y, it);
    judge_release(j, &it->qs.q);
    keep_proof(y, it);
}

/* ---- storing (store thread) ---- */

/* Adds the calls and the set of question `it` to what the batch stores. */
static void take_item(struct sync *y, struct item *it)
{
    struct mine_run *r = y->r;
    struct jquestion *q = &it->qs.q;
    xgrow((void **)&y->rows, &y->cap_rows, y->n_rows + it->n_keep, sizeof *y->rows);
    for (size_t k = 0; k < it->n_keep; k++) {
        struct jcache_row *row = &y->rows[y->n_rows++];
        memcpy(row->key, it->keep[k].key, 16);
        row->qid = q->id;
        row->n = question_ids(&it->qs, it->keep[k].mask, row->ids);
        row->d = &it->keep[k].d;
        if (it->keep[k].d.verdict == JUDGE_ERROR) mine_count_call(r, &it->keep[k].d);
    }
    r->stats->calls += it->asked - it->failed; /* the failed call was counted above */
    r->stats->cached += it->cached;
    xgrow((void **)&y->sets, &y->cap_sets, y->n_sets + 1, sizeof *y->sets);
    y->sets[y->n_sets++] = (struct mine_set){
        .question_id = q->id,
        .status = it->status,
        .members = it->set,
        .cand = it->qs.p,
        .calls = it->calls,
        .cached = it->cached,
    };
}

/* Stores the calls and sets taken from the batch, calls first. */
static int store_taken(struct sync *y)
{
    struct mine_run *r = y->r;
    int rc = jcache_put_many(r->st, r->fp, y->rows, y->n_rows, r->ts, r->err);
    if (rc == PARE_OK) rc = mine_store_sets(r, y->sets, y->n_sets);
    y->n_rows = y->n_sets = 0;
    return rc;
}

/* Stores batch b's questions in order, a few statements for all of them; the run stops at a
 * question that failed (the ones before it are stored). */
static int store_batch(struct sync *y, struct batch *b)
{
    now_iso8601(y->r->ts); /* one clock reading per batch: the rows are stored within it */
    int i = 0;
    for (; i < b->n && b->it[i].rc == PARE_OK; i++) take_item(y, &b->it[i]);
    if (store_taken(y) != PARE_OK) return PARE_EFAIL;
    if (i < b->n) {
        sbuf_setf(y->r->err, "%s", sbuf_str(&b->it[i].err));
        return PARE_EFAIL;
    }
    double now = now_monotonic();
    if (y->r->uncommitted && now - y->committed >= COMMIT_SECONDS) {
        y->committed = now;
        return mine_commit(y->r);
    }
    return PARE_OK;
}

/* ---- the run ---- */

/*
 * Round t: the store thread stores batch t-1 and reads batch t+1, while every thread solves
 * batch t (the store thread joins when its share is done: dynamic schedule). Three batches
 * turn round: the one read in round t is solved in round t+1 and stored in round t+2.
 */
static int rounds(struct sync *y, mining_progress_fn progress, void *ctx, struct batch *b)
{
    int64_t total = progress ? mine_count_pending(y->r) : 0;
    int rc = read_batch(y, &b[0]);
    for (int t = 0; rc == PARE_OK && (b[t % 3].n || b[(t + 2) % 3].n); t++) {
        struct batch *cur = &b[t % 3], *next = &b[(t + 1) % 3], *prev = &b[(t + 2) % 3];
        int master_rc = PARE_OK;
#pragma omp parallel num_threads(y->n_threads)
        {
#pragma omp master
            {
                master_rc = store_batch(y, prev);
                if (master_rc == PARE_OK) master_rc = read_batch(y, next);
                if (master_rc == PARE_OK && progress) progress(ctx, y->r->stats, total);
            }
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < cur->n; i++) solve(y, &cur->it[i], y->codec[omp_get_thread_num()]);
        }
        prev->n = 0;
        rc = master_rc;
    }
    return rc;
}

int mining_run_sync(struct mine_run *r, mining_progress_fn progress, void *ctx)
{
    struct sync y = {.r = r, .more = 1, .committed = now_monotonic()};
    struct batch b[3];
    memset(b, 0, sizeof b);
    json_object_seed(0); /* jansson's one global, set before threads parse answers */
    y.n_threads = omp_get_max_threads();
    y.codec = xcalloc((size_t)y.n_threads, sizeof *y.codec);
    for (int i = 0; i < y.n_threads; i++) y.codec[i] = blob_codec_new(dict_loader, &y.dicts);
    int rc = load_dicts(&y);
    if (rc == PARE_OK) rc = load_cached_max(&y);
    /* The rows stored refer to questions, passages and sets this run read or stored in this
     * database (pare deletes none of them): their parent keys are not looked up again (3.6%
     * of the mining benchmark's instructions; no table of theirs cascades). Off for the run,
     * on again after it (store_fk_suspend). */
    if (rc == PARE_OK && store_fk_suspend(r->st) != PARE_OK)
        rc = store_fail(r->st, r->err, "PRAGMA foreign_keys");
    /* A bulk transaction (store_begin_bulk): alone on the database, the run writes its pages
     * once, at each commit, instead of to the WAL and again when the WAL is checkpointed, which
     * happened after the last batch, on one thread (10k HotpotQA questions: 14 MB of WAL for
     * 7 MB of rows, and 20 ms of a 0.5 s run). Commits stay where mine_commit puts them. */
    if (rc == PARE_OK && store_begin_bulk(r->st) != PARE_OK)
        rc = store_fail(r->st, r->err, "BEGIN");
    else if (rc == PARE_OK) {
        rc = rounds(&y, progress, ctx, b);
        if (store_end_bulk(r->st, rc == PARE_OK) != PARE_OK && rc == PARE_OK)
            rc = store_fail(r->st, r->err, "COMMIT");
    }
    if (store_fk_resume(r->st) != PARE_OK && rc == PARE_OK)
        rc = store_fail(r->st, r->err, "PRAGMA foreign_keys");
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < b[k].cap; i++) item_free(&b[k].it[i]);
        free(b[k].it);
    }
    free(y.rows);
    free(y.sets);
    for (int i = 0; i < y.n_threads; i++) blob_codec_free(y.codec[i]);
    free(y.codec);
    for (int i = 0; i < y.dicts.n; i++) sbuf_free(&y.dicts.dict[i]);
    free(y.dicts.id);
    free(y.dicts.dict);
    return rc;
}
