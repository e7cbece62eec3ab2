/*
 * schedule.c - `pare schedule`: difficulty per question and a curriculum of batches.
 *
 * Options, then one transaction: rate every question (pipeline/curriculum.h: from rollouts, else
 * from the mined sets), store the difficulty, plan with the chosen strategy and replace the
 * plan's rows in `schedule`. `pare export --what schedule` writes them in order as verl rows.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/curriculum.h"
#include "pipeline/reward.h"
#include "pipeline/rows.h"
#include "stores/store.h"

struct sched_opts {
    const char *strategy, *plan, *shares, *scheme, *method;
    enum curriculum_strategy strat;
    struct cur_params params;
    double beta;
    int json;
};

/* What a run found and made. */
struct sched {
    struct store *st;
    struct job job;
    struct cur_prompt *q;
    size_t n;
    int from_rollouts;
    int64_t dropped;
    struct cur_step *steps;
    size_t n_steps;
    struct cur_plan plan;
    struct sbuf err;
};

/* Parses --shares E,M,H: three finite non-negative numbers with a positive sum. */
static int parse_shares(const char *text, double sh[3])
{
    if (sscanf(text, "%lf,%lf,%lf", &sh[0], &sh[1], &sh[2]) != 3) return -1;
    for (int b = 0; b < 3; b++)
        if (!isfinite(sh[b]) || sh[b] < 0) return -1;
    return sh[0] + sh[1] + sh[2] > 0 ? 0 : -1;
}

/* Checks the option values; prints what is wrong. PARE_OK or PARE_EUSAGE. */
static int check_options(struct sched_opts *o)
{
    const char *why = NULL;
    if (curriculum_strategy_from_name(o->strategy, &o->strat) != 0)
        why = "--strategy must be sorted, buckets, decs or dapo";
    else if (o->params.batch_size < 1)
        why = "--batch-size must be at least 1";
    else if (o->beta < 0)
        why = "--beta must not be negative";
    else if (parse_shares(o->shares, o->params.shares) != 0)
        why = "--shares must be E,M,H: three numbers, none negative, not all zero";
    if (why) {
        fprintf(stderr, "pare schedule: %s\n", why);
        return PARE_EUSAGE;
    }
    if (!o->plan) o->plan = o->strategy;
    return PARE_OK;
}

/* The strategy's own inputs: DAPO's all-equal groups, DECS's steps. */
static int strategy_inputs(struct sched *s, const struct sched_opts *o)
{
    if (o->strat == CUR_DAPO)
        return curriculum_dapo(s->st, o->scheme, s->q, s->n, &s->dropped, &s->err);
    if (o->strat != CUR_DECS) return PARE_OK;
    if (!s->from_rollouts) {
        sbuf_setf(&s->err, "decs needs scored rollouts: run pare score first");
        return PARE_EFAIL;
    }
    return curriculum_load_decs(s->st, s->q, s->n, o->beta, &s->steps, &s->n_steps, &s->err);
}

/* Rates, plans and stores, in one transaction. */
static int plan(struct sched *s, struct sched_opts *o)
{
    if (store_begin(s->st) != PARE_OK) return store_fail(s->st, &s->err, "BEGIN");
    int rc = curriculum_load(s->st, o->method, &s->q, &s->n, &s->from_rollouts, &s->err);
    if (rc == PARE_OK && s->n == 0) {
        sbuf_setf(&s->err, "no rollouts and no evidence sets: run pare score or pare mine first");
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK)
        rc = curriculum_store_difficulty(s->st, s->q, s->n, s->from_rollouts, &s->err);
    curriculum_sort(s->q, s->n);
    if (rc == PARE_OK) rc = strategy_inputs(s, o);
    if (rc == PARE_OK) {
        o->params.steps = s->steps;
        o->params.n_steps = s->n_steps;
        curriculum_plan(o->strat, s->q, s->n, &o->params, &s->plan);
        rc = curriculum_store_plan(s->st, o->plan, &s->plan, &s->err);
    }
    if (rc == PARE_OK && store_commit(s->st) != PARE_OK) rc = store_fail(s->st, &s->err, "COMMIT");
    if (rc != PARE_OK) store_rollback(s->st);
    return rc;
}

/* The run's summary: kept in `runs`, printed with --json. */
static json_t *summary(const struct sched *s, const struct sched_opts *o, const int64_t nb[3])
{
    json_t *kj = json_array();
    for (size_t i = 0; i < s->n_steps; i++)
        json_array_append_new(kj, json_pack("{s:I, s:f}", "step", (json_int_t)s->steps[i].step,
                                            "kappa", s->steps[i].kappa));
    return json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:o}", "plan", o->plan,
                     "strategy", o->strategy, "difficulty_from",
                     s->from_rollouts ? "rollouts" : "evidence_set", "buckets", "easy",
                     (json_int_t)nb[0], "medium", (json_int_t)nb[1], "hard", (json_int_t)nb[2],
                     "batches", (json_int_t)s->plan.batches, "prompts", (json_int_t)s->plan.n,
                     "dropped", (json_int_t)s->dropped, "kappa", kj);
}

/* Prints the outcome and ends the run. */
static int finish(struct sched *s, const struct sched_opts *o, int rc)
{
    if (rc != PARE_OK) fprintf(stderr, "pare schedule: %s\n", sbuf_str(&s->err));
    int64_t nb[3] = {0, 0, 0};
    for (size_t i = 0; i < s->n; i++) nb[s->q[i].bucket]++;
    json_t *sum = summary(s, o, nb);
    if (rc == PARE_OK) {
        job_say(&s->job,
                "schedule %s: %lld prompts in %lld batches (easy %lld, medium %lld, hard "
                "%lld by %s%s)",
                o->plan, (long long)s->plan.n, (long long)s->plan.batches, (long long)nb[0],
                (long long)nb[1], (long long)nb[2], s->from_rollouts ? "rollouts" : "evidence sets",
                o->strat == CUR_DAPO ? "; dapo dropped the all-equal groups" : "");
        if (o->json && sum) {
            json_dumpf(sum, stdout, JSON_COMPACT);
            printf("\n");
        }
    }
    return job_end(&s->job, rc, (int64_t)s->plan.n, s->dropped,
                   rc == PARE_OK ? NULL : sbuf_str(&s->err), sum);
}

int job_schedule(struct pare_ctx *ctx, int argc, char **argv)
{
    struct sched_opts o = {0};
    const struct opt opts[] = {
        {"strategy", OPT_STRING, &o.strategy, "sorted", "S", "sorted, buckets, decs or dapo"},
        {"plan", OPT_STRING, &o.plan, NULL, "NAME", "name of the plan (default: the strategy)"},
        {"batch-size", OPT_INT, &o.params.batch_size, "32", "N", "prompts per batch"},
        {"shares", OPT_STRING, &o.shares, "0.34,0.33,0.33", "E,M,H",
         "buckets: share of easy, medium and hard prompts in a batch"},
        {"beta", OPT_DOUBLE, &o.beta, "0.2", "X", "decs: step size of kappa"},
        {"scheme", OPT_STRING, &o.scheme, "laser", "S", "dapo: the reward compared within a group"},
        {"method", OPT_STRING, &o.method, NULL, "M",
         "difficulty without rollouts: sets of this minimiser (default: the newest sets')"},
        {"json", OPT_FLAG, &o.json, NULL, NULL, "print a JSON summary on stdout"},
        {NULL},
    };
    const struct cli cli = {
        "schedule", NULL, "Rate question difficulty and plan a curriculum of batches.", NULL, opts,
        0,          0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    if (check_options(&o) != PARE_OK) return PARE_EUSAGE;
    struct sched s = {0};
    if (job_open(&s.job, ctx, "schedule", 0, argc, argv, &s.st) != PARE_OK) return PARE_EFAIL;
    char *newest = NULL, *fp = NULL; /* by default the method of the newest sets */
    rc = rows_newest_sets(s.st, NULL, o.method, &newest, &fp, &s.err);
    o.method = newest ? newest : "loo";
    rc = finish(&s, &o, rc == PARE_OK ? plan(&s, &o) : rc);
    free(newest);
    free(fp);
    cur_plan_free(&s.plan);
    free(s.steps);
    free(s.q);
    sbuf_free(&s.err);
    store_close(s.st);
    return rc;
}
