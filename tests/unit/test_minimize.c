/* test_minimize.c - loo and ddmin against synthetic judges, monotone and not. */
#include "helpers.h"

#include "pipeline/minimize.h"

/* sufficient iff the subset contains every member of need */
static int superset_judge(uint64_t s, uint64_t need)
{
    return (s & need) == need;
}

/* A deterministic non-monotone judge: sufficient iff it holds need and its size is not 4. */
static int odd_judge(uint64_t s, uint64_t need)
{
    return (s & need) == need && __builtin_popcountll(s) != 4;
}

struct trace {
    uint64_t asked[4096];
    int verdict[4096];
    int n;
};

/* A deterministic judge that is neither monotone nor exact: the superset rule with about one
 * verdict in ten flipped by a hash of the subset and the need. */
static int flip_judge(uint64_t s, uint64_t need)
{
    uint64_t h = (s ^ (need * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return ((s & need) == need) ^ ((h >> 40) % 10 == 0);
}

/* Runs a minimiser (the cascade from `prior` when it is not 0) against judge; every probe is
 * checked to be new and not empty. */
static uint64_t run_from(enum mz_method m, int n, uint64_t need, uint64_t prior,
                         int (*judge)(uint64_t, uint64_t), struct trace *t, enum mz_status *st)
{
    struct minimizer *mz = prior ? minimizer_new_prior(m, n, prior) : minimizer_new(m, n);
    uint64_t probe;
    t->n = 0;
    while (minimizer_next(mz, &probe)) {
        for (int i = 0; i < t->n; i++) assert_true(t->asked[i] != probe); /* never twice */
        assert_true(probe != 0);                                          /* never empty */
        int v = judge(probe, need);
        t->asked[t->n] = probe;
        t->verdict[t->n++] = v;
        minimizer_feed(mz, v);
    }
    *st = minimizer_status(mz);
    uint64_t r = minimizer_result(mz);
    assert_int_equal(minimizer_calls(mz), t->n);
    minimizer_free(mz);
    return r;
}

static uint64_t run(enum mz_method m, int n, uint64_t need, int (*judge)(uint64_t, uint64_t),
                    struct trace *t, enum mz_status *st)
{
    return run_from(m, n, need, 0, judge, t, st);
}

static int verdict_of(const struct trace *t, uint64_t s)
{
    for (int i = 0; i < t->n; i++)
        if (t->asked[i] == s) return t->verdict[i];
    return -1;
}

/* 1-minimal by verdicts on the final set itself. */
static void assert_proven(const struct trace *t, uint64_t r)
{
    assert_int_equal(verdict_of(t, r), 1);
    for (uint64_t b = r; b; b &= b - 1) {
        uint64_t sub = r & ~(b & -b);
        if (sub) assert_int_equal(verdict_of(t, sub), 0);
    }
}

static void test_loo_finds_the_needed_set(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    uint64_t need = (1u << 0) | (1u << 7);
    uint64_t r = run(MZ_LOO, 10, need, superset_judge, &t, &st);
    assert_int_equal(st, MZ_MINIMAL);
    assert_int_equal(r, need);
    assert_proven(&t, r);
    /* Algorithm 1: the full set; a pass over all 10 (8 removals); a second pass over {1, 8}
     * re-asks {1} only ({8} was asked in the first pass with the same set) */
    assert_int_equal(t.n, 1 + 10 + 1);
    /* lowest-ranked first: the first removal tried drops candidate 10 */
    assert_int_equal(t.asked[1], ((1u << 10) - 1) & ~(1u << 9));
}

static void test_full_insufficient(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    run(MZ_LOO, 5, 1u << 6, superset_judge, &t, &st); /* needs a candidate that is not there */
    assert_int_equal(st, MZ_FULL_INSUFFICIENT);
    assert_int_equal(t.n, 1);
    run(MZ_DDMIN, 5, 1u << 6, superset_judge, &t, &st);
    assert_int_equal(st, MZ_FULL_INSUFFICIENT);
}

/* Average calls of loo and ddmin over every gold pair among the best `top` of n candidates;
 * both must find exactly the pair, ddmin's proven 1-minimal by its own verdicts. */
static void pair_calls(int n, int top, long *loo_calls, long *dd_calls)
{
    *loo_calls = *dd_calls = 0;
    for (int a = 0; a < top; a++) {
        for (int b = a + 1; b < top; b++) {
            uint64_t need = (1ULL << a) | (1ULL << b);
            struct trace t1, t2;
            enum mz_status s1, s2;
            uint64_t r1 = run(MZ_LOO, n, need, superset_judge, &t1, &s1);
            uint64_t r2 = run(MZ_DDMIN, n, need, superset_judge, &t2, &s2);
            assert_int_equal(r1, need);
            assert_int_equal(r2, need);
            assert_proven(&t2, r2);
            *loo_calls += t1.n;
            *dd_calls += t2.n;
        }
    }
}

static void test_ddmin_same_result_fewer_calls(void **state)
{
    (void)state;
    long l, d;
    /* gold anywhere among 10 (no help from the ranks): still fewer calls */
    pair_calls(10, 10, &l, &d);
    assert_true(d * 100 < l * 90);
    /* gold in the better half, as retrievers make it likely: far fewer */
    pair_calls(10, 5, &l, &d);
    assert_true(d * 100 < l * 85);
    /* 20 candidates (MuSiQue): under 0.70 of loo's calls even without the ranks' help */
    pair_calls(20, 20, &l, &d);
    assert_true(d * 100 < l * 70);
}

static void test_non_monotone_judge_still_one_minimal(void **state)
{
    (void)state;
    for (uint64_t need = 1; need < (1u << 8); need += 7) {
        for (int m = 0; m < 2; m++) {
            struct trace t;
            enum mz_status st;
            uint64_t r = run(m ? MZ_DDMIN : MZ_LOO, 8, need, odd_judge, &t, &st);
            if (st == MZ_MINIMAL) assert_proven(&t, r);
        }
    }
}

static void test_single_candidate(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    uint64_t r = run(MZ_DDMIN, 1, 1, superset_judge, &t, &st);
    assert_int_equal(st, MZ_MINIMAL);
    assert_int_equal(r, 1);
    assert_int_equal(t.n, 1);
    enum mz_method m;
    assert_int_equal(minimizer_method("ddmin", &m), 0);
    assert_int_equal(minimizer_method("bisect", &m), -1);
}

static void test_prior_exact_proposal(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    uint64_t need = (1u << 0) | (1u << 7);
    for (int m = 0; m < 2; m++) {
        uint64_t r = run_from(m ? MZ_DDMIN : MZ_LOO, 10, need, need, superset_judge, &t, &st);
        assert_int_equal(st, MZ_MINIMAL);
        assert_int_equal(r, need);
        assert_proven(&t, r);
        /* the proposal, then each member's necessity, lowest-ranked first: 3 calls, not 12 */
        assert_int_equal(t.n, 3);
        assert_int_equal(t.asked[0], need);
        assert_int_equal(t.asked[1], 1u << 0);
        assert_int_equal(t.asked[2], 1u << 7);
    }
}

static void test_prior_with_an_extra_member(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    uint64_t need = (1u << 0) | (1u << 7);
    uint64_t r = run_from(MZ_LOO, 10, need, need | (1u << 3), superset_judge, &t, &st);
    assert_int_equal(st, MZ_MINIMAL);
    assert_int_equal(r, need);
    assert_proven(&t, r);
    /* {0,3,7}; the pass asks {0,3} no, {0,7} yes, {7} no; loo on {0,7} adds {0} only */
    assert_int_equal(t.n, 5);
}

static void test_prior_missing_a_member(void **state)
{
    (void)state;
    struct trace t;
    enum mz_status st;
    /* the lowest-ranked candidate is missing: bisection, the lower-ranked half first, finds it
     * in log2(9) steps: {0,5..9} {0,7..9} {0,8,9} {0,9}, then only {9} is new to prove it */
    uint64_t need = (1u << 0) | (1u << 9);
    uint64_t r = run_from(MZ_LOO, 10, need, 0x1, superset_judge, &t, &st);
    assert_int_equal(r, need);
    assert_proven(&t, r);
    const uint64_t seq[] = {0x1, 0x3e1, 0x381, 0x301, 0x201, 0x200};
    assert_int_equal(t.n, 6);
    for (int i = 0; i < 6; i++) assert_int_equal(t.asked[i], seq[i]);
    /* in the better-ranked half: each step asks both halves */
    r = run_from(MZ_LOO, 10, 0x3, 0x1, superset_judge, &t, &st);
    assert_int_equal(r, 0x3);
    assert_proven(&t, r);
    assert_int_equal(t.n, 8);
    /* two missing, one in each half: neither half alone; the full set, then ddmin over them */
    need = (1u << 0) | (1u << 2) | (1u << 8);
    for (int m = 0; m < 2; m++) {
        r = run_from(m ? MZ_DDMIN : MZ_LOO, 10, need, 0x1, superset_judge, &t, &st);
        assert_int_equal(r, need);
        assert_proven(&t, r);
        assert_int_equal(verdict_of(&t, 0x3ff), 1);
    }
    /* a needed candidate that is not there: both halves, then the full set settle it */
    run_from(MZ_DDMIN, 10, (1u << 0) | (1u << 12), 0x1, superset_judge, &t, &st);
    assert_int_equal(st, MZ_FULL_INSUFFICIENT);
    assert_int_equal(t.n, 4);
    assert_int_equal(verdict_of(&t, 0x3ff), 0);
}

static void test_prior_never_twice_always_proven(void **state)
{
    (void)state;
    int (*judges[])(uint64_t, uint64_t) = {superset_judge, odd_judge, flip_judge};
    uint64_t x = 88172645463325252ULL; /* xorshift: proposals of every shape */
    for (int j = 0; j < 3; j++) {
        for (uint64_t need = 1; need < (1u << 9); need += 5) {
            for (int k = 0; k < 4; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                uint64_t prior = x & 0x3ff;
                for (int m = 0; m < 2; m++) {
                    struct trace t;
                    enum mz_status st;
                    uint64_t r =
                        run_from(m ? MZ_DDMIN : MZ_LOO, 10, need, prior, judges[j], &t, &st);
                    if (st == MZ_MINIMAL)
                        assert_proven(&t, r);
                    else
                        assert_int_equal(verdict_of(&t, 0x3ff), 0);
                }
            }
        }
    }
}

static void test_prior_saves_calls(void **state)
{
    (void)state;
    /* every gold pair among the best 5 of 10: exact proposals cost 3 calls, loo about 12 */
    long loo = 0, cas = 0;
    for (int a = 0; a < 5; a++) {
        for (int b = a + 1; b < 5; b++) {
            uint64_t need = (1ULL << a) | (1ULL << b);
            struct trace t;
            enum mz_status st;
            run(MZ_LOO, 10, need, superset_judge, &t, &st);
            loo += t.n;
            assert_int_equal(run_from(MZ_LOO, 10, need, need, superset_judge, &t, &st), need);
            cas += t.n;
        }
    }
    assert_true(cas * 100 <= loo * 30);
}

/* minimizer_run's oracle: the judge of `need`, recording what it is asked; stops (-1) at the
 * call numbered stop_at (0: never). */
struct oracle_ctx {
    int (*judge)(uint64_t, uint64_t);
    uint64_t need;
    struct trace t;
    int stop_at;
};

static int oracle(void *ctx, uint64_t s)
{
    struct oracle_ctx *o = ctx;
    o->t.asked[o->t.n] = s;
    if (o->stop_at && o->t.n + 1 == o->stop_at) return o->t.n++, -1;
    return o->t.verdict[o->t.n++] = o->judge(s, o->need);
}

static void test_run_asks_what_the_loop_asks(void **state)
{
    (void)state;
    int (*judges[])(uint64_t, uint64_t) = {superset_judge, odd_judge, flip_judge};
    uint64_t x = 2463534242ULL;
    for (int j = 0; j < 3; j++) {
        for (uint64_t need = 1; need < (1u << 10); need += 7) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            for (int m = 0; m < 4; m++) {
                enum mz_method meth = m & 1 ? MZ_DDMIN : MZ_LOO;
                uint64_t prior = m & 2 ? x & 0x3ff : 0;
                struct trace t;
                enum mz_status st;
                uint64_t r = run_from(meth, 10, need, prior, judges[j], &t, &st);
                struct oracle_ctx o = {.judge = judges[j], .need = need};
                struct minimizer *mz =
                    prior ? minimizer_new_prior(meth, 10, prior) : minimizer_new(meth, 10);
                assert_int_equal(minimizer_run(mz, oracle, &o), 0);
                assert_int_equal(o.t.n, t.n);
                for (int i = 0; i < t.n; i++) assert_true(o.t.asked[i] == t.asked[i]);
                assert_int_equal(minimizer_status(mz), st);
                if (st == MZ_MINIMAL) assert_true(minimizer_result(mz) == r);
                assert_int_equal(minimizer_calls(mz), t.n);
                minimizer_free(mz);
                if (t.n < 2) continue;
                /* stopped at the second call: the same two subsets, the run says so */
                struct oracle_ctx s = {.judge = judges[j], .need = need, .stop_at = 2};
                mz = prior ? minimizer_new_prior(meth, 10, prior) : minimizer_new(meth, 10);
                assert_int_equal(minimizer_run(mz, oracle, &s), -1);
                assert_int_equal(s.t.n, 2);
                assert_true(s.t.asked[1] == t.asked[1]);
                assert_int_equal(minimizer_status(mz), MZ_RUNNING);
                assert_int_equal(minimizer_calls(mz), 2);
                minimizer_free(mz);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loo_finds_the_needed_set),
        cmocka_unit_test(test_full_insufficient),
        cmocka_unit_test(test_ddmin_same_result_fewer_calls),
        cmocka_unit_test(test_non_monotone_judge_still_one_minimal),
        cmocka_unit_test(test_single_candidate),
        cmocka_unit_test(test_prior_exact_proposal),
        cmocka_unit_test(test_prior_with_an_extra_member),
        cmocka_unit_test(test_prior_missing_a_member),
        cmocka_unit_test(test_prior_never_twice_always_proven),
        cmocka_unit_test(test_prior_saves_calls),
        cmocka_unit_test(test_run_asks_what_the_loop_asks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
