/*
 * mine.c - `pare mine`: a minimal sufficient evidence set for every question, from its
 * retrieved candidates, with a judge and a minimiser (Context-Picker's offline evidence
 * distillation).
 *
 * Questions run in slots, as many at once as the judge has requests in flight. Each slot's
 * minimiser asks for subsets; a subset already answered for this question and judge (in
 * judge_calls, under its key) is answered from there; the rest goes to the judge. Every new
 * call is stored under its key before its verdict is used: for judges that cost something
 * (openai, exec) each round of finished calls is committed first, so that after kill -9 a
 * rerun asks nothing already answered. A failed call is stored with verdict NULL, ends its
 * question with status 'error', and is asked again on the next run. The lexical judge costs
 * nothing to repeat, so its work is committed in batches.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/judge.h"
#include "pipeline/minimize.h"
#include "stores/store.h"

struct cached {
    unsigned char key[16];
    int verdict;
};

struct slot {
    int used;
    struct jquestion q;
    char *question;
    struct jpassage p[JUDGE_MAX_CANDIDATES];
    struct sbuf text[JUDGE_MAX_CANDIDATES];
    char *title[JUDGE_MAX_CANDIDATES];
    struct minimizer *m;
    struct cached *cache;
    size_t n_cache, cap_cache;
    uint64_t mask; /* the subset being judged */
    unsigned char key[16];
    int new_calls, cached_calls, error;
};

struct mine {
    struct store *st;
    struct job job;
    struct judge *judge;
    const char *fp;
    enum mz_method method;
    struct blob_codec *codec;
    int64_t retrieval_id;
    const char *dataset;
    int cheap;
    struct slot *slots;
    int n_slots;
    /* counts */
    int64_t done, minimal, full_insufficient, errors, calls, cached, call_errors;
    int64_t uncommitted;
    struct sbuf err;
};

static void slot_clear(struct mine *mn, struct slot *s)
{
    if (s->q.prep) judge_release(mn->judge, &s->q);
    json_decref(s->q.answers);
    free(s->question);
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) {
        free(s->title[i]);
        s->title[i] = NULL;
        sbuf_reset(&s->text[i]);
    }
    minimizer_free(s->m);
    s->m = NULL;
    s->n_cache = 0;
    s->q.answers = NULL;
    s->question = NULL;
    s->used = 0;
}

/* Loads question qid with its candidates and cached verdicts into slot s. */
static int slot_load(struct mine *mn, struct slot *s, int64_t qid, struct sbuf *warn)
{
    sqlite3_stmt *st = store_stmt(mn->st, "SELECT question, answers FROM questions WHERE id = ?1");
    if (!st || sqlite3_bind_int64(st, 1, qid) || sqlite3_step(st) != SQLITE_ROW) {
        if (st) sqlite3_reset(st);
        return store_fail(mn->st, &mn->err, "reading a question");
    }
    memset(&s->q, 0, sizeof s->q);
    s->q.id = qid;
    s->question = xstrdup((const char *)sqlite3_column_text(st, 0));
    s->q.question = s->question;
    json_error_t je;
    s->q.answers = json_loads((const char *)sqlite3_column_text(st, 1), 0, &je);
    sqlite3_reset(st);
    if (!json_is_array(s->q.answers)) {
        sbuf_setf(&mn->err, "question %lld: answers are not a JSON array", (long long)qid);
        return PARE_EFAIL;
    }
    st = store_stmt(mn->st, "SELECT p.id, p.title, p.body FROM candidates c "
                            "JOIN passages p ON p.id = c.passage_id "
                            "WHERE c.retrieval_id = ?1 AND c.question_id = ?2 ORDER BY c.rank");
    if (!st || sqlite3_bind_int64(st, 1, mn->retrieval_id) || sqlite3_bind_int64(st, 2, qid))
        return store_fail(mn->st, &mn->err, "reading candidates");
    int n = 0, rc, extra = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == JUDGE_MAX_CANDIDATES) {
            extra++;
            continue;
        }
        s->p[n].id = sqlite3_column_int64(st, 0);
        s->title[n] = xstrdup((const char *)sqlite3_column_text(st, 1));
        if (blob_decompress(mn->codec, sqlite3_column_blob(st, 2),
                            (size_t)sqlite3_column_bytes(st, 2), &s->text[n],
                            &mn->err) != PARE_OK) {
            sqlite3_reset(st);
            return PARE_EFAIL;
        }
        s->p[n].title = s->title[n];
        s->p[n].text = s->text[n].p;
        s->p[n].len = s->text[n].len;
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return store_fail(mn->st, &mn->err, "reading candidates");
    if (extra && !warn->len)
        sbuf_setf(warn, "questions have more than %d candidates; the best %d are used",
                  JUDGE_MAX_CANDIDATES, JUDGE_MAX_CANDIDATES);
    s->q.p = s->p;
    s->q.n = n;
    /* verdicts this judge already gave for this question */
    st = store_stmt(mn->st, "SELECT key, verdict FROM judge_calls WHERE question_id = ?1 AND "
                            "judge = ?2 AND verdict IS NOT NULL");
    if (!st || sqlite3_bind_int64(st, 1, qid) ||
        sqlite3_bind_text(st, 2, mn->fp, -1, SQLITE_STATIC))
        return store_fail(mn->st, &mn->err, "reading cached verdicts");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16) continue;
        xgrow((void **)&s->cache, &s->cap_cache, s->n_cache + 1, sizeof *s->cache);
        memcpy(s->cache[s->n_cache].key, sqlite3_column_blob(st, 0), 16);
        s->cache[s->n_cache].verdict = sqlite3_column_int(st, 1);
        s->n_cache++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return store_fail(mn->st, &mn->err, "reading cached verdicts");
    s->m = minimizer_new(mn->method, n > 0 ? n : 1);
    s->new_calls = s->cached_calls = s->error = 0;
    s->used = 1;
    if (n == 0) return PARE_OK;
    return judge_prepare(mn->judge, &s->q, &mn->err);
}

static void ids_of(const struct slot *s, uint64_t mask, int64_t *ids, int *n)
{
    *n = 0;
    for (int i = 0; i < s->q.n; i++)
        if (mask >> i & 1) ids[(*n)++] = s->p[i].id;
}

/* Writes the evidence set of a finished slot and frees the slot. */
static int finalize(struct mine *mn, struct slot *s)
{
    enum mz_status ms = minimizer_status(s->m);
    const char *status = s->error || s->q.n == 0 ? "error"
                         : ms == MZ_MINIMAL      ? "minimal"
                                                 : "full_insufficient";
    uint64_t set = strcmp(status, "minimal") == 0 ? minimizer_result(s->m) : 0;
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *st = store_stmt(
        mn->st, "INSERT INTO evidence_sets(question_id, judge, method, status, size, judge_calls, "
                "cached_calls, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                "ON CONFLICT(question_id, judge, method) DO UPDATE SET status = excluded.status, "
                "size = excluded.size, judge_calls = excluded.judge_calls, "
                "cached_calls = excluded.cached_calls, created_at = excluded.created_at "
                "RETURNING id");
    int64_t set_id = 0;
    if (!st || sqlite3_bind_int64(st, 1, s->q.id) ||
        sqlite3_bind_text(st, 2, mn->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, minimizer_method_name(mn->method), -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC) ||
        sqlite3_bind_int(st, 5, __builtin_popcountll(set)) ||
        sqlite3_bind_int(st, 6, minimizer_calls(s->m)) ||
        sqlite3_bind_int(st, 7, s->cached_calls) ||
        sqlite3_bind_text(st, 8, ts, -1, SQLITE_TRANSIENT) || store_int(mn->st, st, &set_id) != 1)
        return store_fail(mn->st, &mn->err, "storing an evidence set");
    st = store_stmt(mn->st, "DELETE FROM evidence_members WHERE set_id = ?1");
    if (!st || sqlite3_bind_int64(st, 1, set_id) || store_done(mn->st, st))
        return store_fail(mn->st, &mn->err, "storing an evidence set");
    for (int i = 0; i < s->q.n; i++) {
        if (!(set >> i & 1)) continue;
        st = store_stmt(mn->st, "INSERT INTO evidence_members(set_id, passage_id, rank) "
                                "VALUES (?1, ?2, ?3)");
        if (!st || sqlite3_bind_int64(st, 1, set_id) || sqlite3_bind_int64(st, 2, s->p[i].id) ||
            sqlite3_bind_int(st, 3, i + 1) || store_done(mn->st, st))
            return store_fail(mn->st, &mn->err, "storing evidence members");
    }
    mn->done++;
    if (status[0] == 'm')
        mn->minimal++;
    else if (status[0] == 'f')
        mn->full_insufficient++;
    else
        mn->errors++;
    mn->uncommitted++;
    slot_clear(mn, s);
    return PARE_OK;
}

/* Runs a slot's minimiser until it needs the judge or finishes. */
static int advance(struct mine *mn, struct slot *s)
{
    while (s->used) {
        uint64_t mask;
        if (s->error || s->q.n == 0 || !minimizer_next(s->m, &mask)) return finalize(mn, s);
        int64_t ids[JUDGE_MAX_CANDIDATES];
        int n;
        ids_of(s, mask, ids, &n);
        judge_key(mn->fp, s->q.id, ids, n, s->key);
        int hit = -1;
        for (size_t i = 0; i < s->n_cache && hit < 0; i++)
            if (memcmp(s->cache[i].key, s->key, 16) == 0) hit = s->cache[i].verdict;
        if (hit >= 0) {
            s->cached_calls++;
            mn->cached++;
            minimizer_feed(s->m, hit);
            continue;
        }
        s->mask = mask;
        judge_submit(mn->judge, &s->q, mask, s);
        return PARE_OK;
    }
    return PARE_OK;
}

static int store_call(struct mine *mn, struct slot *s, const struct jdone *d)
{
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n;
    ids_of(s, s->mask, ids, &n);
    json_t *subset = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(subset, json_integer(ids[i]));
    char *sub = json_dumps(subset, JSON_COMPACT);
    json_decref(subset);
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *st = store_stmt(
        mn->st, "INSERT INTO judge_calls(key, judge, question_id, subset, verdict, answer, error, "
                "latency_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                "ON CONFLICT(key) DO UPDATE SET verdict = excluded.verdict, "
                "answer = excluded.answer, error = excluded.error, "
                "latency_ms = excluded.latency_ms, created_at = excluded.created_at");
    int rc = PARE_OK;
    if (!sub || !st || sqlite3_bind_blob(st, 1, s->key, 16, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(st, 2, mn->fp, -1, SQLITE_STATIC) || sqlite3_bind_int64(st, 3, s->q.id) ||
        sqlite3_bind_text(st, 4, sub, -1, SQLITE_TRANSIENT) ||
        (d->verdict == JUDGE_ERROR ? sqlite3_bind_null(st, 5)
                                   : sqlite3_bind_int(st, 5, d->verdict)) ||
        sqlite3_bind_text(st, 6, d->answer, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 7, d->error, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 8, (int64_t)(d->latency_ms + 0.5)) ||
        sqlite3_bind_text(st, 9, ts, -1, SQLITE_TRANSIENT) || store_done(mn->st, st))
        rc = store_fail(mn->st, &mn->err, "storing a judge call");
    free(sub);
    return rc;
}

static int next_question(struct mine *mn, int64_t after, int64_t *qid)
{
    sqlite3_stmt *st = store_stmt(
        mn->st, "SELECT q.id FROM questions q JOIN datasets d ON d.id = q.dataset_id "
                "WHERE q.id > ?1 AND (?2 IS NULL OR d.name = ?2) AND EXISTS (SELECT 1 FROM "
                "candidates c WHERE c.retrieval_id = ?3 AND c.question_id = q.id) AND NOT EXISTS "
                "(SELECT 1 FROM evidence_sets e WHERE e.question_id = q.id AND e.judge = ?4 AND "
                "e.method = ?5 AND e.status != 'error') ORDER BY q.id LIMIT 1");
    if (!st || sqlite3_bind_int64(st, 1, after) ||
        sqlite3_bind_text(st, 2, mn->dataset, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 3, mn->retrieval_id) ||
        sqlite3_bind_text(st, 4, mn->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 5, minimizer_method_name(mn->method), -1, SQLITE_STATIC))
        return -1;
    int r = store_int(mn->st, st, qid);
    return r;
}

static int commit_and_begin(struct mine *mn)
{
    if (store_commit(mn->st) != PARE_OK || store_begin(mn->st) != PARE_OK)
        return store_fail(mn->st, &mn->err, "committing");
    mn->uncommitted = 0;
    return PARE_OK;
}

/* Questions this run will mine, for the progress line's ETA. */
static int64_t count_pending(struct mine *mn, int64_t limit)
{
    sqlite3_stmt *st = store_stmt(
        mn->st, "SELECT count(*) FROM questions q JOIN datasets d ON d.id = q.dataset_id "
                "WHERE (?1 IS NULL OR d.name = ?1) AND EXISTS (SELECT 1 FROM candidates c WHERE "
                "c.retrieval_id = ?2 AND c.question_id = q.id) AND NOT EXISTS (SELECT 1 FROM "
                "evidence_sets e WHERE e.question_id = q.id AND e.judge = ?3 AND e.method = ?4 "
                "AND e.status != 'error')");
    int64_t n = 0;
    if (!st || sqlite3_bind_text(st, 1, mn->dataset, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 2, mn->retrieval_id) ||
        sqlite3_bind_text(st, 3, mn->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 4, minimizer_method_name(mn->method), -1, SQLITE_STATIC) ||
        store_int(mn->st, st, &n) != 1)
        return 0; /* only the ETA is lost */
    return limit && limit < n ? limit : n;
}

static int run(struct mine *mn, int64_t limit)
{
    struct sbuf warn = {0}, unit = {0};
    int64_t total = count_pending(mn, limit);
    int64_t after = 0, started = 0;
    int more = 1, rc = store_begin(mn->st);
    if (rc != PARE_OK) return store_fail(mn->st, &mn->err, "BEGIN");
    for (;;) {
        /* fill free slots */
        for (int i = 0; i < mn->n_slots && more && rc == PARE_OK; i++) {
            if (mn->slots[i].used) continue;
            if (limit && started >= limit) {
                more = 0;
                break;
            }
            int64_t qid;
            int r = next_question(mn, after, &qid);
            if (r < 0) {
                rc = store_fail(mn->st, &mn->err, "finding questions");
                break;
            }
            if (r == 0) {
                more = 0;
                break;
            }
            after = qid;
            started++;
            rc = slot_load(mn, &mn->slots[i], qid, &warn);
            if (rc == PARE_OK) rc = advance(mn, &mn->slots[i]);
        }
        if (rc != PARE_OK) break;
        if (!more && judge_pending(mn->judge) == 0) break;
        /* finished calls: store, commit (unless the judge is cheap), then feed */
        struct jdone *d = judge_poll(mn->judge, 0.2);
        for (struct jdone *x = d; x && rc == PARE_OK; x = x->next) {
            rc = store_call(mn, x->tag, x);
            mn->calls++;
            if (x->verdict == JUDGE_ERROR) mn->call_errors++;
        }
        if (rc == PARE_OK && d && !mn->cheap) rc = commit_and_begin(mn);
        for (struct jdone *x = d; x && rc == PARE_OK; x = x->next) {
            struct slot *s = x->tag;
            s->new_calls++;
            if (x->verdict == JUDGE_ERROR)
                s->error = 1;
            else
                minimizer_feed(s->m, x->verdict);
            rc = advance(mn, s);
        }
        jdone_free(d);
        if (rc == PARE_OK && mn->uncommitted >= 500) rc = commit_and_begin(mn);
        sbuf_setf(&unit, "questions (%lld judge calls, %lld cache hits, %lld errors)",
                  (long long)mn->calls, (long long)mn->cached, (long long)mn->call_errors);
        job_progress(&mn->job, unit.p, (uint64_t)mn->done, (uint64_t)total, 0, 0);
    }
    if (rc == PARE_OK && store_commit(mn->st) != PARE_OK)
        rc = store_fail(mn->st, &mn->err, "COMMIT");
    if (warn.len) job_say(&mn->job, "pare mine: %s", warn.p);
    sbuf_free(&warn);
    sbuf_free(&unit);
    return rc;
}

int job_mine(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *judge_spec = NULL, *method = NULL, *dataset = NULL;
    int64_t retrieval = 0, limit = 0, concurrency = 64, retries = 5, max_tokens = 64;
    int json_out = 0;
    struct judge_opts jo = {0};
    const char *verify = NULL;
    const struct opt opts[] = {
        {"judge", OPT_STRING, &judge_spec, "lexical", "J", "lexical, openai or exec:COMMAND"},
        {"method", OPT_STRING, &method, "loo", "M", "loo (Context-Picker) or ddmin"},
        {"retrieval", OPT_INT, &retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {"dataset", OPT_STRING, &dataset, NULL, "NAME", "only this dataset's questions"},
        {"limit", OPT_INT, &limit, "0", "N", "at most N questions this run (0: all)"},
        {"coverage", OPT_DOUBLE, &jo.coverage, "0.8", "X",
         "lexical: share of question coverage a subset must keep"},
        {"model", OPT_STRING, &jo.model, NULL, "NAME", "openai: generator model (required)"},
        {"verify", OPT_STRING, &verify, "f1", "HOW", "openai: f1 (SQuAD F1 threshold) or llm"},
        {"verify-model", OPT_STRING, &jo.verify_model, NULL, "NAME",
         "openai: model of the llm check (default: --model)"},
        {"f1-threshold", OPT_DOUBLE, &jo.f1_threshold, "0.8", "X",
         "openai: an answer with SQuAD F1 >= X is right"},
        {"max-concurrency", OPT_INT, &concurrency, "64", "N", "openai: requests in flight"},
        {"rpm", OPT_DOUBLE, &jo.rpm, "0", "N", "openai: requests per minute (0: no limit)"},
        {"tpm", OPT_DOUBLE, &jo.tpm, "0", "N", "openai: tokens per minute (0: no limit)"},
        {"timeout", OPT_DOUBLE, &jo.timeout_s, "60", "S", "openai, exec: seconds per call"},
        {"max-retries", OPT_INT, &retries, "5", "N", "openai: retries of a failed request"},
        {"max-tokens", OPT_INT, &max_tokens, "64", "N", "openai: answer length limit"},
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print a JSON summary on stdout"},
        {NULL},
    };
    const struct cli cli = {"mine",
                            NULL,
                            "Mine a minimal sufficient evidence set for every question from its "
                            "retrieved candidates.",
                            "The openai judge reads OPENAI_BASE_URL (with /v1) and OPENAI_API_KEY "
                            "from the environment;\nthe key is never logged or stored.",
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct mine mn = {0};
    if (minimizer_method(method, &mn.method) != 0) {
        fprintf(stderr, "pare mine: unknown --method '%s' (loo or ddmin)\n", method);
        return PARE_EUSAGE;
    }
    if (concurrency < 1 || limit < 0 || max_tokens < 1 || retries < 0) {
        fprintf(stderr, "pare mine: --max-concurrency and --max-tokens must be positive\n");
        return PARE_EUSAGE;
    }
    jo.spec = judge_spec;
    jo.verify = verify;
    jo.max_concurrency = (int)concurrency;
    jo.max_retries = (int)retries;
    jo.max_tokens = (int)max_tokens;
    mn.dataset = dataset;
    if (judge_new(&jo, &mn.judge, &mn.err) != PARE_OK) {
        fprintf(stderr, "pare mine: %s\n", sbuf_str(&mn.err));
        sbuf_free(&mn.err);
        return PARE_EUSAGE;
    }
    mn.fp = judge_fingerprint(mn.judge);
    mn.cheap = judge_is_cheap(mn.judge);
    if (job_open(&mn.job, ctx, "mine", 0, argc, argv, &mn.st) != PARE_OK) {
        judge_free(mn.judge);
        return PARE_EFAIL;
    }
    mn.retrieval_id = retrieval;
    rc = store_retrieval(mn.st, &mn.retrieval_id, 1, &mn.err);
    /* one slot per request the judge can have in flight */
    mn.n_slots = strcmp(judge_kind(mn.judge), "openai") == 0 ? (int)concurrency : 1;
    mn.slots = xcalloc((size_t)mn.n_slots, sizeof *mn.slots);
    mn.codec = store_codec(mn.st);
    double t0 = now_monotonic();
    if (rc == PARE_OK) rc = run(&mn, limit);
    double dt = now_monotonic() - t0;
    if (rc != PARE_OK) {
        store_rollback(mn.st);
        fprintf(stderr, "pare mine: %s\n", sbuf_str(&mn.err));
    }
    job_say(&mn.job,
            "mine: %lld questions (%lld minimal, %lld full_insufficient, %lld error), %lld judge "
            "calls (%lld failed), %lld cache hits, %.0f questions/s",
            (long long)mn.done, (long long)mn.minimal, (long long)mn.full_insufficient,
            (long long)mn.errors, (long long)mn.calls, (long long)mn.call_errors,
            (long long)mn.cached, dt > 0 ? (double)mn.done / dt : 0);
    json_t *sum =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "judge", mn.fp, "method",
                  method, "questions", (json_int_t)mn.done, "minimal", (json_int_t)mn.minimal,
                  "full_insufficient", (json_int_t)mn.full_insufficient, "error",
                  (json_int_t)mn.errors, "judge_calls", (json_int_t)mn.calls, "failed_calls",
                  (json_int_t)mn.call_errors, "cache_hits", (json_int_t)mn.cached, "seconds", dt);
    if (json_out && sum) {
        json_dumpf(sum, stdout, JSON_COMPACT);
        printf("\n");
    }
    rc = job_end(&mn.job, rc, mn.done - mn.errors, mn.errors,
                 rc == PARE_OK ? NULL : sbuf_str(&mn.err), sum);
    for (int i = 0; i < mn.n_slots; i++) {
        slot_clear(&mn, &mn.slots[i]);
        for (int k = 0; k < JUDGE_MAX_CANDIDATES; k++) sbuf_free(&mn.slots[i].text[k]);
        free(mn.slots[i].cache);
    }
    free(mn.slots);
    blob_codec_free(mn.codec);
    judge_free(mn.judge);
    sbuf_free(&mn.err);
    store_close(mn.st);
    return rc;
}
