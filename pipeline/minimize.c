/*
 * minimize.c - see minimize.h.
 *
 * Each algorithm is ordinary sequential code over ask(). To make it a state machine it is
 * replayed from the start against the verdicts received so far: ask() answers from that log
 * and, at the first subset not answered yet, records it as the probe and makes the algorithm
 * return. Replays cost O(calls^2) steps of bit arithmetic (calls are a few dozen), and keep the
 * algorithms as readable as their papers.
 */
#include "pipeline/minimize.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct minimizer {
    enum mz_method method;
    int n;
    uint64_t prior;  /* the prior judge's proposal (minimizer_new_prior), 0: none */
    uint64_t *asked; /* subsets asked, in order */
    int *verdict;    /* their verdicts */
    int n_asked, n_fed;
    size_t cap;
    uint64_t probe;
    minimizer_oracle oracle; /* minimizer_run: asked at once instead of suspending */
    void *oracle_ctx;
    int stopped; /* the oracle stopped the search */
    enum mz_status status;
    uint64_t result;
};

#define SUSPEND (-1)

int minimizer_method(const char *name, enum mz_method *out)
{
    if (strcmp(name, "loo") == 0)
        *out = MZ_LOO;
    else if (strcmp(name, "ddmin") == 0)
        *out = MZ_DDMIN;
    else
        return -1;
    return 0;
}

const char *minimizer_method_name(enum mz_method m)
{
    return m == MZ_LOO ? "loo" : "ddmin";
}

const char *minimizer_prior_method_name(enum mz_method m)
{
    return m == MZ_LOO ? "loo+prior" : "ddmin+prior";
}

static const char *const status_names[] = {"minimal", "full_insufficient", "error"};

const char *evidence_status_name(enum evidence_status s)
{
    return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "error";
}

int evidence_status_parse(const char *name, enum evidence_status *out)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(status_names); i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum evidence_status)i;
            return 0;
        }
    }
    return -1;
}

struct minimizer *minimizer_new(enum mz_method method, int n)
{
    struct minimizer *m = xcalloc(1, sizeof *m);
    m->method = method;
    m->n = n < 1 ? 1 : n > 64 ? 64 : n;
    return m;
}

struct minimizer *minimizer_new_prior(enum mz_method method, int n, uint64_t prior)
{
    struct minimizer *m = minimizer_new(method, n);
    m->prior = prior;
    return m;
}

void minimizer_free(struct minimizer *m)
{
    if (!m) return;
    free(m->asked);
    free(m->verdict);
    free(m);
}

/* Adds x to the log of subsets asked (its verdict follows with minimizer_feed). */
static void log_asked(struct minimizer *m, uint64_t x)
{
    if ((size_t)m->n_asked == m->cap) {
        xgrow((void **)&m->asked, &m->cap, (size_t)m->n_asked + 1, sizeof *m->asked);
        m->verdict = xrealloc(m->verdict, m->cap * sizeof *m->verdict);
    }
    m->asked[m->n_asked++] = x;
}

/* The verdict on x from the log; else, with an oracle, its verdict (logged), and without one
 * SUSPEND after making x the probe. SUSPEND too when the oracle stops the search. */
static int ask(struct minimizer *m, uint64_t x)
{
    for (int i = 0; i < m->n_fed; i++)
        if (m->asked[i] == x) return m->verdict[i];
    m->probe = x;
    if (!m->oracle) return SUSPEND;
    log_asked(m, x);
    int v = m->oracle(m->oracle_ctx, x);
    if (v < 0) {
        m->stopped = 1;
        return SUSPEND;
    }
    m->verdict[m->n_fed++] = v ? 1 : 0;
    return v ? 1 : 0;
}

#define ASK(x, v)                                                                                  \
    do {                                                                                           \
        (v) = ask(m, (x));                                                                         \
        if ((v) == SUSPEND) return SUSPEND;                                                        \
    } while (0)

static int popcount(uint64_t x)
{
    return __builtin_popcountll(x);
}

/* The k highest-indexed (lowest-ranked) members of x. */
static uint64_t lowest_ranked(uint64_t x, int k)
{
    uint64_t g = 0;
    for (int i = 63; i >= 0 && k > 0; i--) {
        if (x >> i & 1) {
            g |= 1ULL << i;
            k--;
        }
    }
    return g;
}

/* One removal pass over the members of `which` still in *s, lowest-ranked first: a removal that
 * leaves the set sufficient is kept (never the last member). *removed: whether one was. */
static int removal_pass(struct minimizer *m, uint64_t *s, uint64_t which, int *removed)
{
    int v;
    *removed = 0;
    for (int i = 63; i >= 0; i--) {
        if (!((*s & which) >> i & 1) || popcount(*s) == 1) continue;
        uint64_t t = *s & ~(1ULL << i);
        ASK(t, v);
        if (v) {
            *s = t;
            *removed = 1;
        }
    }
    return 0;
}

/* Removal passes over the whole set until a pass removes nothing. */
static int removal_passes(struct minimizer *m, uint64_t *s)
{
    int removed;
    do {
        if (removal_pass(m, s, *s, &removed) == SUSPEND) return SUSPEND;
    } while (removed);
    return 0;
}

static int run_loo(struct minimizer *m, uint64_t all)
{
    int v;
    ASK(all, v);
    if (!v) {
        m->status = MZ_FULL_INSUFFICIENT;
        return 0;
    }
    uint64_t s = all;
    if (removal_passes(m, &s) == SUSPEND) return SUSPEND;
    m->result = s;
    m->status = MZ_MINIMAL;
    return 0;
}

/*
 * Delta debugging's reduction of *s over the candidates in `undecided` (a subset of *s, which
 * is sufficient): remove the lowest-ranked half of the undecided at once; when that fails,
 * halve the group until one necessary candidate is isolated.
 */
static int ddmin_reduce(struct minimizer *m, uint64_t *s, uint64_t undecided)
{
    int v;
    while (undecided && popcount(*s) > 1) {
        int u = popcount(undecided);
        uint64_t g = lowest_ranked(undecided, u > 1 ? u / 2 : 1);
        if (g == *s) g = lowest_ranked(undecided, popcount(*s) - 1); /* never ask the empty set */
        ASK(*s & ~g, v);
        if (v) { /* none of g was needed */
            *s &= ~g;
            undecided &= ~g;
            continue;
        }
        /* g holds a necessary candidate: halve it, lowest-ranked half first */
        int tested = popcount(g) == 1;
        while (popcount(g) > 1) {
            uint64_t g1 = lowest_ranked(g, (popcount(g) + 1) / 2);
            ASK(*s & ~g1, v);
            if (v) {
                *s &= ~g1;
                undecided &= ~g1;
                g &= ~g1;
                tested = 0;
            } else {
                g = g1;
                tested = popcount(g) == 1;
            }
        }
        if (!tested) { /* isolated by elimination: confirm it */
            ASK(*s & ~g, v);
            if (v) {
                *s &= ~g;
                undecided &= ~g;
                continue;
            }
        }
        undecided &= ~g; /* necessary (for now; the passes below check again) */
    }
    return 0;
}

static int run_ddmin(struct minimizer *m, uint64_t all)
{
    int v;
    ASK(all, v);
    if (!v) {
        m->status = MZ_FULL_INSUFFICIENT;
        return 0;
    }
    uint64_t s = all;
    if (ddmin_reduce(m, &s, all) == SUSPEND) return SUSPEND;
    /* 1-minimality on the final set itself */
    if (removal_passes(m, &s) == SUSPEND) return SUSPEND;
    m->result = s;
    m->status = MZ_MINIMAL;
    return 0;
}

static int run_method(struct minimizer *m, uint64_t all)
{
    return m->method == MZ_LOO ? run_loo(m, all) : run_ddmin(m, all);
}

/*
 * Adds to the insufficient proposal *s what it misses, by bisection over the candidates `a`
 * not in it: of a's two halves, the one that with *s is sufficient is kept, the lower-ranked
 * half asked first, until one candidate is left or neither half is sufficient alone (then a
 * is reduced by ddmin). Ends with *ok 1 and *s sufficient, or *ok 0 when even the full set is
 * insufficient.
 *
 * Bisection because a proposal usually misses one or two passages, found in log2 |a| calls
 * instead of |a|; the lower-ranked half first because what a lexical prior misses is what
 * shares few words with the question, which a retriever ranks low.
 */
static int grow(struct minimizer *m, uint64_t all, uint64_t *s, int *ok)
{
    uint64_t p = *s, a = all & ~p;
    int v = 0, known = 0; /* known: p | a was found sufficient */
    while (popcount(a) > 1) {
        uint64_t lo = lowest_ranked(a, (popcount(a) + 1) / 2), hi = a & ~lo;
        ASK(p | lo, v);
        if (!v) {
            ASK(p | hi, v);
            lo = hi;
        }
        if (!v) break;
        a = lo;
        known = 1;
    }
    if (!known) { /* p | a is the full set: can the question be answered at all? */
        ASK(p | a, v);
        if (!v) {
            *ok = 0;
            return 0;
        }
    }
    *s = p | a;
    *ok = 1;
    return ddmin_reduce(m, s, a); /* what of a is not needed, when more than one is left */
}

/*
 * The cascade: the prior's proposal P is asked first. When it is insufficient, what it misses
 * is added (grow). Then one pass checks each member's necessity, lowest-ranked first. If that pass
 * removes nothing, every member was found necessary on the final set itself: done. Otherwise the
 * search goes on with the method from the set reached, and the replay answers every subset asked so
 * far from the log, so nothing is asked twice.
 */
static int run_prior(struct minimizer *m, uint64_t all)
{
    uint64_t s = m->prior & all;
    int v, removed;
    if (!s) return run_method(m, all); /* no proposal: the method alone */
    ASK(s, v);
    if (!v) {
        if (grow(m, all, &s, &v) == SUSPEND) return SUSPEND;
        if (!v) {
            m->status = MZ_FULL_INSUFFICIENT;
            return 0;
        }
    }
    if (removal_pass(m, &s, s, &removed) == SUSPEND) return SUSPEND;
    if (removed) return run_method(m, s);
    m->result = s;
    m->status = MZ_MINIMAL;
    return 0;
}

int minimizer_next(struct minimizer *m, uint64_t *probe)
{
    if (m->status != MZ_RUNNING) return 0;
    uint64_t all = m->n == 64 ? ~0ULL : (1ULL << m->n) - 1;
    int r = m->prior ? run_prior(m, all) : run_method(m, all);
    if (r != SUSPEND) return 0;
    log_asked(m, m->probe);
    *probe = m->probe;
    return 1;
}

int minimizer_run(struct minimizer *m, minimizer_oracle oracle, void *ctx)
{
    if (m->status != MZ_RUNNING) return 0;
    uint64_t all = m->n == 64 ? ~0ULL : (1ULL << m->n) - 1;
    m->oracle = oracle;
    m->oracle_ctx = ctx;
    if (m->prior)
        run_prior(m, all);
    else
        run_method(m, all);
    m->oracle = NULL;
    return m->stopped ? -1 : 0;
}

void minimizer_feed(struct minimizer *m, int sufficient)
{
    if (m->n_fed < m->n_asked) m->verdict[m->n_fed++] = sufficient ? 1 : 0;
}

enum mz_status minimizer_status(const struct minimizer *m)
{
    return m->status;
}

uint64_t minimizer_result(const struct minimizer *m)
{
    return m->result;
}

int minimizer_calls(const struct minimizer *m)
{
    return m->n_asked;
}
