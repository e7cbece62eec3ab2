/*
 * metrics.h - how mined evidence sets and retrieved candidates compare with the gold passages
 * (what `pare eval` reports).
 *
 * Pure functions over arrays of passage ids, so each figure can be checked by hand:
 *   precision/recall/F1 of a set against the gold set;
 *   the fixed top-K baseline (the K best-ranked candidates taken as the set, K = 1..5) and the
 *   best K of a group of questions;
 *   recall@K of ranked candidates;
 *   1-minimality proven from cached verdicts: a sufficient verdict on the set and an
 *   insufficient one on the set minus each member, looked up through a function the caller
 *   gives (eval reads judge_calls; the tests use a table).
 * The ids within a set, a gold set or a ranking are distinct.
 */
#ifndef PARE_METRICS_H
#define PARE_METRICS_H

#include <stdint.h>

#include "pipeline/minimize.h"

/* The top-K baselines reported: K = 1 .. METRICS_TOPK. */
#define METRICS_TOPK 5

struct prf {
    double p, r, f1;
};

/*
 * Precision |S ∩ G| / |S|, recall |S ∩ G| / |G| and their harmonic mean F1 of set S (n ids)
 * against gold G (ng distinct ids). An empty S has precision 0, an empty G recall 0, and F1 is 0
 * when P + R is 0.
 */
struct prf metrics_prf(const int64_t *set, int n, const int64_t *gold, int ng);

/* Gold passages among the first k of `ranked` (n ids, best first), each counted once. */
int metrics_hits_at(const int64_t *ranked, int n, const int64_t *gold, int ng, int k);

/*
 * Sums over a group of questions (one judge, method, dataset and question type). Precision,
 * recall and F1 are summed over decided questions (minimal or full_insufficient; a
 * full_insufficient question has an empty set and scores 0), errors are only counted.
 */
struct set_sums {
    int64_t questions, minimal, full_insufficient, errors;
    int64_t calls, cached;    /* judge calls of the sets (cached: answered from the cache) */
    int64_t prior_calls;      /* the prior judge's calls (pare mine --prior) */
    int64_t with_prior;       /* sets mined with a prior */
    int64_t tokens;           /* judge tokens of the sets (prompt and completion) ... */
    int64_t with_tokens;      /* ... summed over the sets that have a count */
    int64_t proven, unproven; /* minimal sets whose 1-minimality the cache proves, or not */
    struct prf set;
    struct prf topk[METRICS_TOPK];
};

/* One question's evidence set. */
struct set_eval {
    enum evidence_status status;
    const int64_t *members, *gold, *cand; /* mined set, gold passages, candidates best first */
    int n_members, n_gold, n_cand;
    int proven; /* minimal and proven 1-minimal */
    int64_t calls, cached;
    /* what it cost beyond calls; zero-initialised: no prior, no token count */
    int has_prior, has_tokens;
    int64_t prior_calls; /* the prior judge's calls, when has_prior */
    int64_t tokens;      /* prompt + completion tokens, when has_tokens */
};

/* Adds one question to s. */
void metrics_add(struct set_sums *s, const struct set_eval *e);

/* The mean over the decided questions of a sum in s (s->set, s->topk[k]); zeros when none. */
struct prf metrics_mean(const struct set_sums *s, const struct prf *sum);

/*
 * What the sets cost: judge tokens per question (over all questions of s) and per minimal set.
 * Returns 0 with the two figures, or -1 when no set has a token count (or, for the second,
 * there is no minimal set: then *per_set is 0).
 */
int metrics_tokens(const struct set_sums *s, double *per_question, double *per_set);

/* The K (1 .. METRICS_TOPK) whose top-K baseline has the best mean F1; ties go to the smaller K. */
int metrics_best_k(const struct set_sums *s);

/* recall@K over a group of questions that have gold passages. */
struct recall_sums {
    int64_t questions; /* questions with at least one gold passage */
    int64_t gold;      /* their gold passages */
    int64_t found;     /* gold passages among the first k candidates */
    int64_t all_found; /* questions with every gold passage among the first k */
};

/* Adds one question (skipped when it has no gold passage). */
void metrics_recall_add(struct recall_sums *r, const int64_t *ranked, int n, const int64_t *gold,
                        int ng, int k);

/*
 * A cached verdict on the subset `ids` (n >= 1 ids) of the question being checked: 1
 * sufficient, 0 insufficient, -1 when there is none (never asked, failed, or unreadable).
 */
typedef int (*metrics_verdict_fn)(void *ctx, const int64_t *ids, int n);

/*
 * 1 when the verdicts prove set m (n >= 1 distinct ids) 1-minimal: sufficient on m and
 * insufficient on m minus each member (the empty set is insufficient by definition and needs
 * no verdict). 0 otherwise, including when a verdict is missing.
 */
int metrics_proven_minimal(const int64_t *m, int n, metrics_verdict_fn verdict, void *ctx);

#endif
