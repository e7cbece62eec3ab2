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
 * status 'error', and is asked again on the next run. The lexical judge costs nothing to
 * repeat, so its work is committed in batches.
 */
#ifndef PARE_MINING_H
#define PARE_MINING_H

#include <stdint.h>

#include "pipeline/judge.h"
#include "pipeline/minimize.h"
#include "stores/store.h"

struct mining_opts {
    struct judge *judge;
    enum mz_method method;
    int64_t retrieval_id; /* an existing retrieval */
    const char *dataset;  /* only this dataset's questions (NULL: all) */
    int64_t limit;        /* at most this many questions (0: all) */
    int slots;            /* questions in progress at once (>= 1) */
};

/* What a run did. */
struct mining_stats {
    int64_t done; /* questions finished (any status) */
    int64_t minimal, full_insufficient, errors;
    int64_t calls, call_errors; /* judge calls made, and those that failed */
    int64_t cached;             /* subsets answered from judge_calls */
};

/* Called after each round of judge answers (for a progress line); total: questions to do. */
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
