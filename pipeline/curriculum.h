/*
 * curriculum.h - question difficulty and curriculum plans (DESIGN.md, "Trajectories, rewards,
 * curriculum").
 *
 * Difficulty is the pass rate over a question's rollouts, bucketed as LASER-D does (easy >= 2/3,
 * medium [1/3, 2/3), hard < 1/3: difficulty_bucket in reward.h); without rollouts it comes from
 * the mined set. A plan is a list of (batch, position, question) rows made by one strategy:
 *   sorted   easy to hard, for trainers that read in order (verl with data.shuffle=False)
 *   buckets  every batch holds fixed shares of easy, medium and hard prompts
 *   decs     DECS (Overthinking Reduction with Decoupled Rewards and Curriculum Data
 *            Scheduling): batch m takes `kept` non-easy prompts and appends
 *            int(kappa_m * kept / (1 - kappa_m)) easy ones, kappa_m following the kappa rule
 *   dapo     DAPO-style group filtering: drops the prompts whose rollouts all earn the same
 *            reward, keeps the rest in sorted order
 *
 * The planning functions are pure; the curriculum_* functions that take a store read and write
 * the `difficulty` and `schedule` tables inside the caller's transaction.
 */
#ifndef PARE_CURRICULUM_H
#define PARE_CURRICULUM_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "stores/store.h"

enum curriculum_strategy { CUR_SORTED, CUR_BUCKETS, CUR_DECS, CUR_DAPO };

/* Looks up a --strategy name ("sorted", "buckets", "decs", "dapo"). Returns 0, or -1. */
int curriculum_strategy_from_name(const char *name, enum curriculum_strategy *out);

/* A prompt (question) to schedule, with its difficulty. */
struct cur_prompt {
    int64_t qid;
    double pass;  /* pass rate over its rollouts; -1 when rated from the mined set */
    double score; /* order within a bucket, easiest first */
    int n;        /* rollouts */
    int bucket;   /* 0 easy, 1 medium, 2 hard */
    int dropped;  /* dapo: its rollouts all earned the same reward */
};

/* Rates a prompt from n > 0 rollouts of which `correct` were correct: pass = correct / n,
 * the LASER-D bucket of the pass rate, score 1 - pass. */
struct cur_prompt curriculum_from_rollouts(int64_t qid, int n, int64_t correct);

/* Rates a prompt from its mined set of `size` passages (99 when no set is minimal) found with
 * `judge_calls` calls: 1-2 passages easy, 3 medium, more hard; score size + 0.01 calls. */
struct cur_prompt curriculum_from_set(int64_t qid, int size, int judge_calls);

/* Sorts easy to hard: by bucket, then score, then question id. */
void curriculum_sort(struct cur_prompt *p, size_t n);

/* DAPO: 1 when a group's rewards (lowest lo, highest hi) are all the same. */
int dapo_all_equal(double lo, double hi);

/*
 * DECS kappa rule: kappa_m = clip(kappa_{m-1} + beta (R_m - R_{m-1}), 0, kappa0_m), with
 * kappa_0 = 0 and R_0 = 0.5. Given per-step R_m and kappa0_m (m = 1..n), fills kappa[0..n).
 */
void decs_kappa(const double *R, const double *kappa0, size_t n, double beta, double *kappa);

/* One rollout as DECS reads it. */
struct cur_rollout {
    int64_t step, qid;
    int correct;
    double prefix; /* necessary-reasoning-prefix fraction */
};

/* One training step of DECS: R_m, kappa0_m and kappa_m. */
struct cur_step {
    int64_t step;
    double R;      /* mean prefix fraction of the step's correct rollouts (0.5 when none) */
    double kappa0; /* share of the step's prompts that are easy */
    double kappa;
};

/*
 * DECS statistics of rollouts r[0..n) sorted by step then question: one cur_step per step, in
 * order, with kappa from decs_kappa. A prompt is easy when it is in bucket 0 among p[0..np).
 * Returns the number of steps; *out (caller frees) is NULL when there are none.
 */
size_t curriculum_decs_steps(const struct cur_rollout *r, size_t n, const struct cur_prompt *p,
                             size_t np, double beta, struct cur_step **out);

/* A row of a plan: batch from 1, position within the batch from 0. */
struct cur_row {
    int64_t batch, position, qid;
};

struct cur_plan {
    struct cur_row *rows;
    size_t n, cap;
    int64_t batches;
};

/* How to cut a plan into batches. */
struct cur_params {
    int64_t batch_size; /* > 0 */
    double shares[3];   /* buckets: share of easy, medium, hard (non-negative, positive sum) */
    const struct cur_step *steps; /* decs: kappa per batch; the last one repeats; none: 0 */
    size_t n_steps;
};

/*
 * Plans prompts p[0..n), sorted by curriculum_sort, with `strategy`: appends the rows to *out
 * and counts its batches. Dropped prompts (dapo) are left out.
 */
void curriculum_plan(enum curriculum_strategy strategy, const struct cur_prompt *p, size_t n,
                     const struct cur_params *params, struct cur_plan *out);
/* Frees a plan's rows and empties it. */
void cur_plan_free(struct cur_plan *pl);

/*
 * Rates every question: from rollouts (the `correct` component of each trajectory's first
 * reward) when any trajectory is scored, else from the mined sets of `method`. *p (caller
 * frees) and *n receive the prompts in question order; *from_rollouts says which. Returns
 * PARE_OK or PARE_EFAIL with err set.
 */
int curriculum_load(struct store *st, const char *method, struct cur_prompt **p, size_t *n,
                    int *from_rollouts, struct sbuf *err);

/* Stores (replaces) the difficulty rows of p[0..n). Returns PARE_OK or PARE_EFAIL. */
int curriculum_store_difficulty(struct store *st, const struct cur_prompt *p, size_t n,
                                int from_rollouts, struct sbuf *err);

/*
 * DAPO: marks as dropped the prompts whose `scheme` rewards are all equal, counting them in
 * *dropped. Returns PARE_OK, or PARE_EFAIL with err set: a prompt has no such reward ("run pare
 * score with that scheme first") or a database error.
 */
int curriculum_dapo(struct store *st, const char *scheme, struct cur_prompt *p, size_t n,
                    int64_t *dropped, struct sbuf *err);

/*
 * Reads the scored rollouts that have a step and computes DECS's steps (curriculum_decs_steps).
 * Returns PARE_OK or PARE_EFAIL with err set.
 */
int curriculum_load_decs(struct store *st, const struct cur_prompt *p, size_t np, double beta,
                         struct cur_step **steps, size_t *n_steps, struct sbuf *err);

/* Replaces the rows of plan `name` in `schedule` with pl's (epoch 1). PARE_OK or PARE_EFAIL. */
int curriculum_store_plan(struct store *st, const char *name, const struct cur_plan *pl,
                          struct sbuf *err);

#endif
