/*
 * report.h - the figures of `pare report`, gathered from the database, and the HTML page that
 * shows them.
 *
 * report_gather reads every table once, in bulk (no query per question), into a struct report
 * of plain arrays: per dataset and per mining run the minimal-set sizes, precision/recall/F1
 * against the gold passages beside fixed top-K, judge calls per question; recall@K of every
 * retrieval; negatives, rewards, difficulty, curricula, judge calls, tokens and errors; and a few
 * example questions. report_html turns that into one self-contained page (pipeline/report_html.c)
 * with charts drawn by common/svg.h.
 *
 * The figures of mined sets and retrievals are pare eval's, computed by the same functions
 * (pipeline/metrics.h): a run's sums against gold cover the sets whose question has candidates
 * in the run's retrieval; recall@K counts the gold passages among the candidates ranked at most K.
 * A run's retrieval is the one its latest `pare mine` run read (--retrieval, else the newest
 * retrieval at that time), unless the caller names one.
 */
#ifndef PARE_REPORT_H
#define PARE_REPORT_H

#include <stdint.h>

#include "common/util.h"
#include "pipeline/metrics.h"
#include "stores/store.h"

#define REPORT_SIZE_MAX 16 /* minimal-set sizes above this share the last bar */
#define REPORT_BINS 20     /* histogram bins of continuous values (rewards, latency) */

struct report_dataset {
    int64_t id;
    char *name, *format;
    int64_t questions, contexts, gold; /* questions, context passages, gold passages */
};

/* One mining run in one dataset: the figures pare eval prints, and two distributions. */
struct report_cell {
    int64_t sets;                               /* evidence sets of the run in the dataset */
    int64_t minimal, full_insufficient, errors; /* by status, over all sets */
    int64_t size_hist[REPORT_SIZE_MAX + 1];     /* minimal sets by size; [MAX]: MAX or more */
    int64_t size_sum;                           /* of the minimal sets' sizes */
    int64_t *calls_hist, n_calls_hist;          /* sets by judge calls (index = calls) */
    int64_t calls, cached, prior_calls;         /* sums over all sets */
    /* against gold, over the sets whose question has candidates in the run's retrieval: what
     * pare eval sums (1-minimality is not checked here: proven and unproven stay 0) */
    struct set_sums gold;
};

/* A mining run: the evidence sets of one judge, method and prior. */
struct report_run {
    char *judge, *method, *prior; /* prior "" when none (or not recorded) */
    int64_t retrieval;            /* whose candidates the run mined; 0: none found */
    int retrieval_from_run;       /* 1: read from the `pare mine` run, 0: the newest */
    struct report_cell *cells;    /* one per dataset */
};

/* Recall@K of one retrieval in one dataset: pare eval's sums at each K of the retrieval's ks. */
struct report_recall {
    struct recall_sums *at; /* n_ks of them; questions 0: no question with gold and candidates */
};

struct report_retrieval {
    int64_t id, index_id, k, rerank, max_rank;
    int with_answer;
    char *scope, *factory, *embedder;
    int64_t *ks; /* the cut-offs measured: 1..20, then about ten per decade, and max_rank */
    int n_ks;
    struct report_recall *per_ds; /* one per dataset */
};

/* Negatives of one kind and label in one dataset. */
struct report_negative {
    int ds;
    char *kind, *label;
    int64_t count, verified;
};

/* Rewards of one scheme earned by one policy in one dataset, binned on the scheme's range. */
struct report_reward {
    int ds, scheme, policy;
    int64_t n;
    double sum, min, max;
    int64_t hist[REPORT_BINS];
};

/* Difficulty buckets of one dataset (easy, medium, hard, other) and pass rates in tenths. */
struct report_difficulty {
    int64_t bucket[4];
    int64_t pass_hist[10];
    int64_t with_rollouts;
};

/* One batch of a curriculum plan and its prompts by difficulty bucket. */
struct report_batch {
    int plan;
    int64_t epoch, batch;
    int64_t bucket[4]; /* easy, medium, hard, not rated */
};

struct report_error {
    char *text;
    int64_t count;
};

/* Judge calls of one judge fingerprint. */
struct report_judge {
    char *judge;
    int64_t calls, sufficient, insufficient, errors, pending; /* pending: no verdict, no error */
    int64_t latency_n, latency_ms_sum, latency_ms_max;
    int64_t latency_hist[REPORT_BINS]; /* log2 buckets of ms: [b] holds [2^b, 2^(b+1)) */
    int64_t tokens_n, prompt_tokens, completion_tokens; /* calls with token counts and sums */
    struct report_error top_errors[5];
    int n_top_errors;
};

/* A candidate of an example question, with what marks it. */
struct report_example_passage {
    int64_t rank, passage_id;
    double score;
    int is_gold;
    uint64_t in_runs; /* bit r: a member of run r's set (runs beyond 64 are not marked) */
    char *title, *text;
};

struct report_example {
    int ds;
    int64_t question_id;
    char *ext_id, *question, *answers, *qtype; /* answers: the JSON array as stored */
    const char *why;    /* why it was chosen: "agrees with gold", ... (static text) */
    int run;            /* the run it illustrates */
    double f1;          /* of that run's set against gold; -1 when it has none */
    const char *status; /* of that run's set (static text) */
    int64_t retrieval;  /* whose candidates are listed; 0: the question's own context */
    struct report_example_passage *passages;
    int n_passages;
};

struct report {
    char *db_path, *generated_at;
    int schema;
    int64_t passages, questions, judge_calls, sets, trajectories, rewards_n, negatives_n;
    struct report_dataset *datasets;
    int n_datasets;
    struct report_run *runs;
    int n_runs;
    struct report_retrieval *retrievals;
    int n_retrievals;
    struct report_negative *negatives;
    int n_negatives;
    char **schemes, **policies; /* names of rewards' schemes and trajectories' policies */
    int n_schemes, n_policies;
    double *scheme_lo, *scheme_hi; /* value range of each scheme (the bins span it) */
    struct report_reward *rewards;
    int n_rewards;
    struct report_difficulty *difficulty; /* one per dataset */
    char *difficulty_source;              /* "rollouts", "evidence_set", or NULL: none */
    char **plans;
    int n_plans;
    struct report_batch *batches;
    int n_batches;
    int has_token_columns; /* judge_calls has prompt_tokens and completion_tokens */
    int has_prior_columns; /* evidence_sets has prior and prior_calls */
    struct report_judge *judges;
    int n_judges;
    struct report_example *examples;
    int n_examples;
};

struct report_opts {
    int64_t retrieval; /* candidates of this retrieval for every run's top-K; 0: each run's own */
    int examples;      /* example questions per dataset (0..20) */
};

/*
 * Fills *r from the database (r is zeroed first; free with report_free even on failure).
 * Returns PARE_OK, or PARE_EFAIL with a message in err (database error, no retrieval
 * opts->retrieval).
 */
int report_gather(struct store *st, const struct report_opts *opts, struct report *r,
                  struct sbuf *err);

/*
 * Appends the page: one self-contained HTML document (inline CSS and SVG, no script, a content
 * security policy that forbids loading anything) with one <section> per topic, whose ids are
 * listed in report_sections. Every string from the database is escaped.
 */
void report_html(const struct report *r, struct sbuf *out);

/* The ids of the page's sections, in order, NULL-terminated. */
extern const char *const report_sections[];

/* Frees everything r holds and zeroes it. */
void report_free(struct report *r);

#endif
