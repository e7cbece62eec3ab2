/*
 * mining.h - the mining driver behind `pare mine` (Context-Picker's offline evidence
 * distillation): a minimal sufficient evidence set for every question that has candidates of a
 * retrieval and no set yet for this judge and method.
 *
 * Questions run in slots, as many at once as the judge has requests in flight. Each slot's
 * minimiser asks for subsets; a subset already answered for this question and judge (in
 * judge_calls, see jcache.h) is answered from there; the rest goes to the judge. Every new call
 * is stored under its key before its verdict is used: for judges that cost something (openai,
 * exec) each round of finished calls is committed first, so that after kill -9 a rerun asks
 * nothing already answered. A failed call is stored with verdict NULL, ends its question with
 * status 'error', and is asked again on the next run.
 *
 * A cheap judge (lexical) without a prior goes through the synchronous driver instead
 * (mining_impl.h): questions in batches, judged on every core, stored in question order, so the
 * database is the one a serial run writes. Its verdicts cost nothing to ask again, so judge_calls
 * keeps only the calls that prove each result, not every call: the full set's verdict, the final
 * set's, each single-member removal from the final set (the calls that failed without each kept
 * passage: eval's proof of 1-minimality and augment's drop_one labels), and any failed call.
 * evidence_sets.judge_calls and the run's counts still count every call. A rerun after kill finds
 * the sets stored so far and asks the judge again for the rest. Costly judges (openai, exec) keep
 * every call: they are the cache that spares asking again.
 *
 * With a prior judge (pare mine --prior P) each question starts from P's minimal set: the set
 * P stored for the question and method (pare mine --judge P), else one mined at once through
 * P's own cache (P should answer at once: lexical, or exec). The judge then runs the cascade of
 * minimize.h from it; the sets are stored under method "loo+prior" / "ddmin+prior" with P's
 * fingerprint and call count in evidence_sets.prior and prior_calls.
 *
 * Tokens: each set records the tokens of the judge calls its search asked (cached ones too). A
 * token budget stops the run before a call whose estimate (judge_estimate_tokens) would take
 * this run's tokens past it: calls in flight finish and are stored, questions in progress stay
 * without a set, and the next run goes on from the cache, as after kill.
 */
#ifndef PARE_MINING_H
#define PARE_MINING_H

#include <stdint.h>

#include "pipeline/judge.h"
#include "pipeline/minimize.h"
#include "stores/store.h"

struct mining_opts {
    struct judge *judge;
    struct judge *prior; /* the cheap judge that proposes (NULL: none) */
    enum mz_method method;
    int64_t retrieval_id;  /* an existing retrieval */
    const char *dataset;   /* only this dataset's questions (NULL: all) */
    int64_t limit;         /* at most this many questions (0: all) */
    int slots;             /* questions in progress at once (>= 1) */
    int64_t budget_tokens; /* the judge's tokens this run may spend (0: no limit) */
    int slot_driver;       /* the slot driver even for a cheap judge (every call stored): the
                              tests compare the two drivers' sets (PARE_MINE_DRIVER=slots) */
};

/* What a run did. */
struct mining_stats {
    int64_t done; /* questions finished (any status) */
    int64_t minimal, full_insufficient, errors;
    int64_t calls, call_errors; /* judge calls made, and those that failed */
    int64_t cached;             /* subsets answered from judge_calls */
    int64_t prior_calls;        /* the prior's calls made ... */
    int64_t prior_cached;       /* ... and its subsets answered from judge_calls */
    int64_t prompt_tokens;      /* the judge's tokens this run, as counted (estimates for */
    int64_t completion_tokens;  /* calls the server sent no usage for are not included) */
    int budget_reached;         /* the token budget stopped the run */
    int64_t left;               /* questions left in progress by that stop */
    char first_error[160];      /* the first failed call's error, cut to fit ("" when none) */
};

/* Called after each round of judge answers (for a progress line); total: questions to do.
 * NULL: no progress line (and the questions to do are not counted). */
typedef void (*mining_progress_fn)(void *ctx, const struct mining_stats *s, int64_t total);

/*
 * Mines the pending questions of st (a store without an open transaction) and commits them.
 * Fills *stats (also on failure: what was done). A note for people (more than
 * JUDGE_MAX_CANDIDATES candidates) goes to warn. Returns PARE_OK, or PARE_EFAIL with err set
 * (database or judge set-up error; what was committed stays).
 */
int mining_run(struct store *st, const struct mining_opts *o, mining_progress_fn progress,
               void *ctx, struct mining_stats *stats, struct sbuf *warn, struct sbuf *err);

#endif
