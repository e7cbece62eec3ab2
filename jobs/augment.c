/*
 * augment.c - `pare augment`: a rubric and negatives for every minimal set of a judge and
 * method (pipeline/negatives.h says what they are). Negatives that need a verdict get it
 * through the judge-call cache, asking the judge only for subsets it has not answered.
 * A question's rubric and negatives are replaced as a whole, so a rerun adds nothing twice.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/jcache.h"
#include "pipeline/judge.h"
#include "pipeline/negatives.h"
#include "pipeline/question.h"
#include "pipeline/rows.h"
#include "stores/store.h"

struct aug {
    struct store *st;
    struct job job;
    struct judge *judge;
    const char *fp;
    const char *method;
    int64_t retrieval;
    struct blob_codec *codec;
    struct answer_pool pool;
    struct question qs;
    int64_t rubrics, by_kind[NEG_KINDS], calls, cached;
    struct sbuf err;
};

/* Every question's first answer, for wrong_answer negatives. */
static int load_pool(struct aug *a)
{
    sqlite3_stmt *s = store_stmt(a->st, "SELECT id, dataset_id, json_extract(answers, '$[0]') "
                                        "FROM questions ORDER BY id");
    if (!s) return store_fail(a->st, &a->err, "reading answers");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 2);
        if (t) answer_pool_add(&a->pool, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), t);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(a->st, &a->err, "reading answers");
}

/* negative_verdict_fn: verdicts through judge_calls, asking the judge when ask is 1. */
static int verdict(void *ctx, uint64_t mask, int ask, int *v)
{
    struct aug *a = ctx;
    struct jquestion *q = &a->qs.q;
    if (ask) {
        int asked = 0;
        if (jcache_ask(a->st, a->judge, q, mask, v, &asked, &a->err) != PARE_OK) return PARE_EFAIL;
        if (asked)
            a->calls++;
        else
            a->cached++;
        return PARE_OK;
    }
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n = question_ids(&a->qs, mask, ids);
    int found = jcache_lookup(a->st, a->fp, q->id, ids, n, v);
    if (found < 0) return store_fail(a->st, &a->err, "reading judge_calls");
    if (!found) *v = JUDGE_ERROR;
    return PARE_OK;
}

/* The rubric and negatives of the question loaded into a->qs, with minimal set m. */
static int build_and_store(struct aug *a, int64_t set_id, uint64_t m, int64_t dataset)
{
    struct jquestion *q = &a->qs.q;
    struct rubric_item items[RUBRIC_MAX_ITEMS];
    struct negative negs[NEGATIVES_MAX];
    int ni = 0, nn = 0;
    int rc = judge_prepare(a->judge, q, &a->err);
    if (rc == PARE_OK) {
        ni = rubric_build(q, m, items);
        rc = rubric_store(a->st, q->id, items, ni, &a->err);
        rubric_free(items, ni);
    }
    if (rc == PARE_OK) a->rubrics++;
    const char *wrong = answer_pool_wrong(&a->pool, q->id, dataset, q->answers);
    if (rc == PARE_OK) rc = negatives_build(q, m, wrong, verdict, a, negs, &nn);
    if (rc == PARE_OK) rc = negatives_store(a->st, q->id, set_id, q, negs, nn, &a->err);
    for (int i = 0; rc == PARE_OK && i < nn; i++) a->by_kind[negs[i].kind]++;
    if (q->prep) judge_release(a->judge, q);
    return rc;
}

/* Rubric and negatives of one question. */
static int augment_one(struct aug *a, int64_t set_id, int64_t qid, int64_t dataset)
{
    if (question_load(a->st, a->codec, qid, a->retrieval, set_id, &a->qs, &a->err) != PARE_OK)
        return PARE_EFAIL;
    uint64_t m = a->qs.members;
    if (m) return build_and_store(a, set_id, m, dataset);
    /* no member among the candidates: nothing to build, and nothing old kept */
    if (rubric_store(a->st, qid, NULL, 0, &a->err) != PARE_OK ||
        negatives_store(a->st, qid, set_id, &a->qs.q, NULL, 0, &a->err) != PARE_OK)
        return PARE_EFAIL;
    return PARE_OK;
}

/* The minimal sets to augment: (set id, question id, dataset id) triples into *sets. */
static int list_sets(struct aug *a, int64_t **sets, size_t *n)
{
    sqlite3_stmt *s = store_stmt(a->st, "SELECT e.id, e.question_id, q.dataset_id FROM "
                                        "evidence_sets e JOIN questions q ON q.id = "
                                        "e.question_id WHERE e.judge = ?1 AND e.method = ?2 "
                                        "AND e.status = 'minimal' AND EXISTS (SELECT 1 FROM "
                                        "candidates c WHERE c.retrieval_id = ?3 AND "
                                        "c.question_id = e.question_id) ORDER BY e.question_id");
    if (!s || sqlite3_bind_text(s, 1, a->fp, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, a->method, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(s, 3, a->retrieval))
        return store_fail(a->st, &a->err, "reading evidence sets");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)sets, &cap, 3 * (*n + 1), sizeof **sets);
        for (int k = 0; k < 3; k++) (*sets)[3 * *n + (size_t)k] = sqlite3_column_int64(s, k);
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(a->st, &a->err, "reading evidence sets");
    if (*n == 0) {
        sbuf_setf(&a->err, "no minimal sets for judge %s and method %s: run pare mine first", a->fp,
                  a->method);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Augments every minimal set in one transaction. */
static int augment_all(struct aug *a)
{
    int rc = store_retrieval(a->st, &a->retrieval, 1, &a->err);
    if (rc == PARE_OK) rc = load_pool(a);
    if (rc == PARE_OK && store_begin(a->st) != PARE_OK) rc = store_fail(a->st, &a->err, "BEGIN");
    int64_t *sets = NULL; /* the sets first: statements below reuse the connection */
    size_t n = 0;
    if (rc == PARE_OK) rc = list_sets(a, &sets, &n);
    for (size_t i = 0; i < n && rc == PARE_OK; i++) {
        rc = augment_one(a, sets[3 * i], sets[3 * i + 1], sets[3 * i + 2]);
        job_progress(&a->job, "questions", (uint64_t)i + 1, (uint64_t)n, 0, 0);
    }
    free(sets);
    if (rc == PARE_OK && store_commit(a->st) != PARE_OK) rc = store_fail(a->st, &a->err, "COMMIT");
    if (rc != PARE_OK) store_rollback(a->st);
    return rc;
}

/* The summary: a line for people unless rc failed, and the JSON kept with the run. */
static json_t *report(struct aug *a, int rc)
{
    const int64_t *k = a->by_kind;
    if (rc != PARE_OK)
        fprintf(stderr, "pare augment: %s\n", sbuf_str(&a->err));
    else
        job_say(&a->job,
                "augment: %lld rubrics; negatives: %lld drop_one, %lld add_distractor, %lld "
                "distractors_only, %lld wrong_answer, %lld ungrounded; %lld judge calls, %lld "
                "cache hits",
                (long long)a->rubrics, (long long)k[0], (long long)k[1], (long long)k[2],
                (long long)k[3], (long long)k[4], (long long)a->calls, (long long)a->cached);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rubrics", (json_int_t)a->rubrics,
                     "drop_one", (json_int_t)k[0], "add_distractor", (json_int_t)k[1],
                     "distractors_only", (json_int_t)k[2], "wrong_answer", (json_int_t)k[3],
                     "ungrounded", (json_int_t)k[4], "judge_calls", (json_int_t)a->calls,
                     "cache_hits", (json_int_t)a->cached);
}

int job_augment(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *judge_spec = NULL, *method = NULL;
    struct aug a = {0};
    struct judge_opts jo = {0};
    const struct opt opts[] = {
        {"judge", OPT_STRING, &judge_spec, "lexical", "J",
         "the judge whose sets to use and that labels new negatives"},
        {"method", OPT_STRING, &method, NULL, "M",
         "the minimiser whose sets to use (default: the newest sets' of the judge)"},
        {"retrieval", OPT_INT, &a.retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {"coverage", OPT_DOUBLE, &jo.coverage, "0.8", "X", "lexical judge: as for pare mine"},
        {"model", OPT_STRING, &jo.model, NULL, "NAME", "openai judge: model"},
        {"timeout", OPT_DOUBLE, &jo.timeout_s, "60", "S", "openai, exec: seconds per call"},
        CLI_OPT_ENDPOINT,
        CLI_OPT_SHARD,
        {NULL},
    };
    const struct cli cli = {
        "augment", NULL, "Build rubrics and negatives from the mined minimal sets.", NULL, opts,
        0,         0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    a.method = method;
    jo = (struct judge_opts){.spec = judge_spec,
                             .model = jo.model,
                             .verify = "f1",
                             .f1_threshold = 0.8,
                             .max_concurrency = 1,
                             .max_retries = 5,
                             .max_tokens = 64,
                             .timeout_s = jo.timeout_s,
                             .coverage = jo.coverage};
    if (judge_new(&jo, &a.judge, &a.err) != PARE_OK) {
        fprintf(stderr, "pare augment: %s\n", sbuf_str(&a.err));
        sbuf_free(&a.err);
        return PARE_EUSAGE;
    }
    a.fp = judge_fingerprint(a.judge);
    if (job_open(&a.job, ctx, "augment", 0, argc, argv, &a.st) != PARE_OK) {
        judge_free(a.judge);
        return PARE_EFAIL;
    }
    a.codec = store_codec(a.st);
    char *newest = NULL, *fp = NULL; /* by default the method the judge's newest sets came from */
    if (!a.method) rows_newest_sets(a.st, a.fp, NULL, &newest, &fp, &a.err);
    a.method = a.method ? a.method : newest ? newest : "loo";
    free(fp);
    rc = augment_all(&a);
    json_t *sum = report(&a, rc);
    rc = job_end(&a.job, rc, a.rubrics, 0, rc == PARE_OK ? NULL : sbuf_str(&a.err), sum);
    free(newest);
    answer_pool_free(&a.pool);
    question_free(&a.qs);
    blob_codec_free(a.codec);
    judge_free(a.judge);
    sbuf_free(&a.err);
    store_close(a.st);
    return rc;
}
