/*
 * mining_impl.h - what the two drivers of pare mine share (mining.c and mining_sync.c only; the
 * public header is mining.h).
 *
 *   mining.c       questions in slots, calls submitted and polled: judges with requests in
 *                  flight (openai), judges that cost something (exec), and every run with a
 *                  prior; each call is stored before its verdict is used.
 *   mining_sync.c  a cheap judge (lexical) without a prior: questions in batches, read and
 *                  stored in order by one thread while all threads decode, prepare and judge
 *                  (OpenMP), so the stored rows are those of a serial run.
 */
#ifndef PARE_MINING_IMPL_H
#define PARE_MINING_IMPL_H

#include "pipeline/mining.h"

/* What both drivers know of a run. */
struct mine_run {
    struct store *st;
    const struct mining_opts *o;
    const char *fp;     /* the judge's fingerprint */
    const char *method; /* as evidence_sets.method stores it */
    struct mining_stats *stats;
    int64_t uncommitted; /* sets stored since the last commit */
    char ts[24];         /* created_at of the rows stored next (now_iso8601) */
    struct sbuf *warn, *err;
};

/* The evidence set found for one question, as evidence_sets and evidence_members store it. */
struct mine_set {
    int64_t question_id;
    enum evidence_status status;
    uint64_t members;            /* bits over cand */
    const struct jpassage *cand; /* the candidates, best-ranked first */
    int calls, cached;           /* distinct subsets judged; those answered from judge_calls */
    int prior_calls;             /* subsets the prior judged (stored only with a prior) */
    int counted;                 /* tokens were counted: ptok and ctok are stored (else NULL) */
    int64_t ptok, ctok;
};

/*
 * Up to `max` questions still to mine with ids above `after`, in id order, into ids[]; *n gets
 * how many. Returns PARE_OK, or PARE_EFAIL with the run's err set.
 */
int mine_pending(struct mine_run *r, int64_t after, int max, int64_t *ids, int *n);

/* Questions the run will mine (at most --limit), for the progress line's ETA (0 if unknown). */
int64_t mine_count_pending(struct mine_run *r);

/* Stores (or replaces: a set in 'error' is mined again) one question's set and members, made
 * at r->ts, and counts it in the run's stats. Returns PARE_OK, or PARE_EFAIL with the run's err
 * set. */
int mine_store_set(struct mine_run *r, const struct mine_set *s);

/*
 * mine_store_set for sets s[0..n), in that order, with the ids, rows and stats it gives them:
 * up to 64 sets and their members in one statement each (a statement's fixed cost, and the
 * status CHECK's temporary table SQLite builds for every execution, were most of a set's). A
 * group with a question that already has a set (one in 'error', mined again) is stored one by
 * one instead. Returns PARE_OK, or PARE_EFAIL with the run's err set.
 */
int mine_store_sets(struct mine_run *r, const struct mine_set *s, size_t n);

/* Commits what is stored and begins the next transaction. PARE_OK or PARE_EFAIL. */
int mine_commit(struct mine_run *r);

/* Counts one finished call in the run's stats (and keeps the first error's message). */
void mine_count_call(struct mine_run *r, const struct jdone *d);

/* The synchronous driver (see the top of this file). Returns as mining_run does. */
int mining_run_sync(struct mine_run *r, mining_progress_fn progress, void *ctx);

#endif
