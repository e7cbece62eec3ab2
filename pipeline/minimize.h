/*
 * minimize.h - minimal sufficient subsets of a question's ranked candidates, as state machines
 * over 64-bit masks (bit i = the candidate ranked i+1).
 *
 *   loo    Context-Picker's Algorithm 1: if the full set is insufficient the question is
 *          full_insufficient; else remove candidates one at a time, lowest-ranked first,
 *          keeping each removal that leaves the set sufficient; repeat passes until one
 *          removes nothing.
 *   ddmin  delta debugging by binary splitting: remove the lowest-ranked half of the undecided
 *          candidates at once; when that fails, halve the group until one necessary candidate
 *          is isolated. Then, as loo's last pass, every member of the final set is removed in
 *          turn: the result is 1-minimal by verdicts on the final set itself, whether the judge
 *          is monotone or not.
 *
 *   prior  (minimizer_new_prior, for pare mine --prior) a cheap judge's minimal set P is asked
 *          first. If it is insufficient, what it misses is found by bisection over the other
 *          candidates (of two halves, the one that with P is sufficient is kept, the
 *          lower-ranked half asked first; when neither is, the full set is asked and ddmin
 *          reduces what was added); if even the full set is insufficient the question is
 *          full_insufficient. Then each member's necessity is checked once, lowest-ranked
 *          first; when a member turns out unnecessary the search goes on with the method (loo
 *          or ddmin) from the set reached. Same guarantee: 1-minimal by verdicts on the final
 *          set itself, for any judge; with a good proposal |P| + 1 calls instead of loo's ~n.
 *
 * Use: while (minimizer_next(m, &probe)) { verdict = ask(probe); minimizer_feed(m, verdict); }
 * A subset already answered for this question is never asked twice.
 */
#ifndef PARE_MINIMIZE_H
#define PARE_MINIMIZE_H

#include <stdint.h>

enum mz_method { MZ_LOO, MZ_DDMIN };
enum mz_status { MZ_RUNNING, MZ_MINIMAL, MZ_FULL_INSUFFICIENT };

/*
 * The status of a stored evidence set (evidence_sets.status): a 1-minimal set, a question whose
 * full candidate set the judge found insufficient, or a question a judge error left undecided.
 */
enum evidence_status { EV_MINIMAL, EV_FULL_INSUFFICIENT, EV_ERROR };

/* "minimal", "full_insufficient", "error": the names the database stores. */
const char *evidence_status_name(enum evidence_status s);
/* Looks up a stored name. Returns 0, or -1 when it is none of the three. */
int evidence_status_parse(const char *name, enum evidence_status *out);

struct minimizer;

/* Looks up "loo" / "ddmin". Returns 0, or -1 when unknown. */
int minimizer_method(const char *name, enum mz_method *out);
const char *minimizer_method_name(enum mz_method m);

/* The name stored in evidence_sets.method for sets mined with a prior: "loo+prior" ... */
const char *minimizer_prior_method_name(enum mz_method m);

/* A minimiser over n candidates (1 <= n <= 64). */
struct minimizer *minimizer_new(enum mz_method method, int n);
/* The cascade over n candidates from the prior's proposal `prior` (a mask; 0: none, then it is
 * minimizer_new's search). */
struct minimizer *minimizer_new_prior(enum mz_method method, int n, uint64_t prior);
void minimizer_free(struct minimizer *m);

/* 1: *probe is the next subset to judge; 0: finished (see minimizer_status). */
int minimizer_next(struct minimizer *m, uint64_t *probe);
/* The verdict on the last probe: 1 sufficient, 0 insufficient. */
void minimizer_feed(struct minimizer *m, int sufficient);

/*
 * A verdict asked of the caller while the search runs (minimizer_run): 1 sufficient, 0
 * insufficient, or -1 to stop the search (the judge failed).
 */
typedef int (*minimizer_oracle)(void *ctx, uint64_t subset);

/*
 * Runs the search to its end in one go, asking `oracle` each subset as it comes: the same
 * subsets, in the same order, as the minimizer_next/minimizer_feed loop asks, without replaying
 * the search once per verdict. For a judge whose verdict is at hand (lexical). Returns 0 when
 * the search ended (see minimizer_status), -1 when the oracle stopped it (the status stays
 * MZ_RUNNING; the minimiser is then only good for minimizer_calls and minimizer_free).
 */
int minimizer_run(struct minimizer *m, minimizer_oracle oracle, void *ctx);

enum mz_status minimizer_status(const struct minimizer *m);
/* The minimal set (valid when the status is MZ_MINIMAL). */
uint64_t minimizer_result(const struct minimizer *m);
/* Distinct subsets judged. */
int minimizer_calls(const struct minimizer *m);

#endif
