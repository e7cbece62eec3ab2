/*
 * mine.c - `pare mine`: a minimal sufficient evidence set for every question, from its
 * retrieved candidates, with a judge and a minimiser (Context-Picker's offline evidence
 * distillation). The driver is pipeline/mining.c; this file reads the options, opens the
 * store and the judge, and reports.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/judge.h"
#include "pipeline/minimize.h"
#include "pipeline/mining.h"
#include "stores/store.h"

/* The command line of pare mine. */
struct mine_args {
    const char *judge, *prior, *method, *dataset, *verify;
    int64_t retrieval, limit, concurrency, retries, max_tokens, budget;
    int json;
    struct judge_opts jo;
};

/* Checks the numbers; each message names the option it is about. Returns 0 or PARE_EUSAGE. */
static int check_args(const struct mine_args *a, enum mz_method *method)
{
    const char *bad = NULL;
    if (minimizer_method(a->method, method) != 0) {
        fprintf(stderr, "pare mine: unknown --method '%s' (loo or ddmin)\n", a->method);
        return PARE_EUSAGE;
    }
    if (a->concurrency < 1)
        bad = "--max-concurrency must be at least 1";
    else if (a->max_tokens < 1)
        bad = "--max-tokens must be at least 1";
    else if (a->limit < 0)
        bad = "--limit must be 0 (all) or more";
    else if (a->retries < 0)
        bad = "--max-retries must be 0 or more";
    else if (a->budget < 0)
        bad = "--budget-tokens must be 0 (no limit) or more";
    if (bad) fprintf(stderr, "pare mine: %s\n", bad);
    return bad ? PARE_EUSAGE : PARE_OK;
}

/* The judge `spec` with the command line's settings. Returns PARE_OK, or after saying why
 * (what: "--judge" or "--prior") PARE_EFAIL when the judge could not be set up (libcurl cannot
 * be loaded) or PARE_EUSAGE (a bad spec or option). */
static int open_judge(struct mine_args *a, const char *spec, const char *what, struct judge **j)
{
    struct sbuf err = {0};
    a->jo.spec = spec;
    a->jo.verify = a->verify;
    a->jo.max_concurrency = (int)a->concurrency;
    a->jo.max_retries = (int)a->retries;
    a->jo.max_tokens = (int)a->max_tokens;
    int rc = judge_new(&a->jo, j, &err);
    if (rc != PARE_OK) fprintf(stderr, "pare mine: %s: %s\n", what, sbuf_str(&err));
    sbuf_free(&err);
    return rc == PARE_OK || rc == PARE_EFAIL ? rc : PARE_EUSAGE;
}

static void progress(void *ctx, const struct mining_stats *s, int64_t total)
{
    struct job *job = ctx;
    /* called after every judge call: format only when job_progress may print (never more
     * often than every 0.2 s) */
    if (job->ctx->quiet || now_monotonic() - job->last_print < 0.2) return;
    char unit[160];
    snprintf(unit, sizeof unit, "questions (%lld judge calls, %lld cache hits, %lld errors)",
             (long long)s->calls, (long long)s->cached, (long long)s->call_errors);
    job_progress(job, unit, (uint64_t)s->done, (uint64_t)total, 0, 0);
}

/* The lines for people: the counts, then the prior's calls, tokens and a budget stop. */
static void say(struct job *job, const struct mining_opts *mo, const struct mining_stats *s,
                double dt)
{
    job_say(job,
            "mine: %lld questions (%lld minimal, %lld full_insufficient, %lld error), %lld judge "
            "calls (%lld failed), %lld cache hits, %.0f questions/s",
            (long long)s->done, (long long)s->minimal, (long long)s->full_insufficient,
            (long long)s->errors, (long long)s->calls, (long long)s->call_errors,
            (long long)s->cached, dt > 0 ? (double)s->done / dt : 0);
    if (mo->prior)
        job_say(job, "mine: prior %s: %lld calls, %lld cache hits", judge_fingerprint(mo->prior),
                (long long)s->prior_calls, (long long)s->prior_cached);
    if (s->prompt_tokens + s->completion_tokens > 0)
        job_say(job, "mine: %lld judge tokens (%lld prompt, %lld completion)",
                (long long)(s->prompt_tokens + s->completion_tokens), (long long)s->prompt_tokens,
                (long long)s->completion_tokens);
    if (s->budget_reached)
        job_say(job,
                "mine: stopped at the token budget of %lld; %lld questions left in progress; run "
                "pare mine again to go on from the cache",
                (long long)mo->budget_tokens, (long long)s->left);
}

/* The JSON summary of a run (also kept in the runs row). */
static json_t *summary(const struct mining_opts *mo, const char *method,
                       const struct mining_stats *s, double dt)
{
    json_t *sum = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:b, s:I}", "judge",
        judge_fingerprint(mo->judge), "method", method, "questions", (json_int_t)s->done, "minimal",
        (json_int_t)s->minimal, "full_insufficient", (json_int_t)s->full_insufficient, "error",
        (json_int_t)s->errors, "judge_calls", (json_int_t)s->calls, "failed_calls",
        (json_int_t)s->call_errors, "cache_hits", (json_int_t)s->cached, "seconds", dt,
        "prompt_tokens", (json_int_t)s->prompt_tokens, "completion_tokens",
        (json_int_t)s->completion_tokens, "budget_reached", s->budget_reached, "left_in_progress",
        (json_int_t)s->left);
    if (sum && mo->prior) {
        json_object_set_new(sum, "prior", json_string(judge_fingerprint(mo->prior)));
        json_object_set_new(sum, "prior_calls", json_integer(s->prior_calls));
        json_object_set_new(sum, "prior_cache_hits", json_integer(s->prior_cached));
    }
    return sum;
}

/* Opens the store, mines, reports. */
static int mine(struct pare_ctx *ctx, int argc, char **argv, struct mine_args *a,
                struct mining_opts *mo)
{
    struct job job;
    struct store *st;
    struct sbuf err = {0}, warn = {0};
    if (job_open(&job, ctx, "mine", 0, argc, argv, &st) != PARE_OK) return PARE_EFAIL;
    struct mining_stats s = {0};
    mo->retrieval_id = a->retrieval;
    int rc = store_retrieval(st, &mo->retrieval_id, 1, &err);
    double t0 = now_monotonic();
    /* no progress line when quiet: the drivers then skip counting what is pending */
    if (rc == PARE_OK)
        rc = mining_run(st, mo, job.ctx->quiet ? NULL : progress, &job, &s, &warn, &err);
    double dt = now_monotonic() - t0;
    if (rc == PARE_OK && s.call_errors > 0 && s.minimal + s.full_insufficient == 0) {
        /* judge errors decided nothing: that is a failure, not a run with nothing to do */
        sbuf_setf(&err,
                  "no question could be decided: judge errors ended all %lld questions (%lld "
                  "failed calls; first: %s)",
                  (long long)s.errors, (long long)s.call_errors, s.first_error);
        rc = PARE_EFAIL;
    }
    if (warn.len) job_say(&job, "pare mine: %s", warn.p);
    if (rc != PARE_OK) fprintf(stderr, "pare mine: %s\n", sbuf_str(&err));
    say(&job, mo, &s, dt);
    const char *method =
        mo->prior ? minimizer_prior_method_name(mo->method) : minimizer_method_name(mo->method);
    json_t *sum = summary(mo, method, &s, dt);
    if (a->json && sum) {
        json_dumpf(sum, stdout, JSON_COMPACT);
        printf("\n");
    }
    rc = job_end(&job, rc, s.done - s.errors, s.errors, rc == PARE_OK ? NULL : sbuf_str(&err), sum);
    sbuf_free(&err);
    sbuf_free(&warn);
    store_close(st);
    return rc;
}

int job_mine(struct pare_ctx *ctx, int argc, char **argv)
{
    struct mine_args a = {0};
    const struct opt opts[] = {
        {"judge", OPT_STRING, &a.judge, "lexical", "J", "lexical, openai or exec:COMMAND"},
        {"method", OPT_STRING, &a.method, "loo", "M", "loo (Context-Picker) or ddmin"},
        {"prior", OPT_STRING, &a.prior, NULL, "P",
         "a cheap judge whose minimal set J checks first (normally lexical; stored as "
         "method M+prior)"},
        {"retrieval", OPT_INT, &a.retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {"dataset", OPT_STRING, &a.dataset, NULL, "NAME", "only this dataset's questions"},
        {"limit", OPT_INT, &a.limit, "0", "N", "at most N questions this run (0: all)"},
        {"budget-tokens", OPT_INT, &a.budget, "0", "N",
         "stop before the judge's tokens this run would pass N; rerun to go on (0: no limit)"},
        {"coverage", OPT_DOUBLE, &a.jo.coverage, "0.8", "X",
         "lexical: share of question coverage a subset must keep"},
        {"model", OPT_STRING, &a.jo.model, NULL, "NAME", "openai: generator model (required)"},
        {"verify", OPT_STRING, &a.verify, "f1", "HOW", "openai: f1 (SQuAD F1 threshold) or llm"},
        {"verify-model", OPT_STRING, &a.jo.verify_model, NULL, "NAME",
         "openai: model of the llm check (default: --model)"},
        {"f1-threshold", OPT_DOUBLE, &a.jo.f1_threshold, "0.8", "X",
         "openai: an answer with SQuAD F1 >= X is right"},
        {"max-concurrency", OPT_INT, &a.concurrency, "64", "N",
         "openai: requests in flight per endpoint"},
        {"rpm", OPT_DOUBLE, &a.jo.rpm, "0", "N", "openai: requests per minute (0: no limit)"},
        {"tpm", OPT_DOUBLE, &a.jo.tpm, "0", "N", "openai: tokens per minute (0: no limit)"},
        {"timeout", OPT_DOUBLE, &a.jo.timeout_s, "60", "S", "openai, exec: seconds per call"},
        {"max-retries", OPT_INT, &a.retries, "5", "N", "openai: retries of a failed request"},
        {"max-tokens", OPT_INT, &a.max_tokens, "64", "N", "openai: answer length limit"},
        {"json", OPT_FLAG, &a.json, NULL, NULL, "print a JSON summary on stdout"},
        CLI_OPT_ENDPOINT,
        CLI_OPT_SHARD,
        {NULL},
    };
    const struct cli cli = {"mine",
                            NULL,
                            "Mine a minimal sufficient evidence set for every question from its "
                            "retrieved candidates.",
                            "The openai judge reads OPENAI_BASE_URL (with /v1) and OPENAI_API_KEY "
                            "from the environment;\nthe key is never logged or stored. Tokens "
                            "are counted for the openai judge only.",
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct mining_opts mo = {0};
    if ((rc = check_args(&a, &mo.method)) != PARE_OK) return rc;
    if ((rc = open_judge(&a, a.judge, "--judge", &mo.judge)) != PARE_OK) return rc;
    if (a.prior && (rc = open_judge(&a, a.prior, "--prior", &mo.prior)) != PARE_OK) {
        judge_free(mo.judge);
        return rc;
    }
    mo.dataset = a.dataset;
    mo.limit = a.limit;
    mo.budget_tokens = a.budget;
    /* not an option: how the tests check that the synchronous driver finds the slot driver's sets
     */
    const char *driver = getenv("PARE_MINE_DRIVER");
    mo.slot_driver = driver && strcmp(driver, "slots") == 0;
    /* one slot per request the judge can have in flight: --max-concurrency per endpoint */
    mo.slots =
        strcmp(judge_kind(mo.judge), "openai") == 0 ? (int)a.concurrency * endpoint_pool_size() : 1;
    rc = mine(ctx, argc, argv, &a, &mo);
    judge_free(mo.prior);
    judge_free(mo.judge);
    return rc;
}
