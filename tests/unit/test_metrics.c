/* test_metrics.c - eval's figures on small hand-computed cases: set P/R/F1, top-K baselines and
 * the best K, recall@K, and 1-minimality proven from a table of cached verdicts. */
#include "helpers.h"

#include <math.h>

#include "pipeline/metrics.h"

/* doubles equal within eps (this cmocka has float comparisons only) */
#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_prf(void **state)
{
    (void)state;
    const int64_t set[] = {1, 2, 3}, gold[] = {2, 3, 4, 5};
    /* 2 hits: P 2/3, R 2/4, F1 2PR/(P+R) = (2/3)/(7/6) = 4/7 */
    struct prf m = metrics_prf(set, N(set), gold, N(gold));
    assert_double_equal(m.p, 2.0 / 3, 1e-12);
    assert_double_equal(m.r, 0.5, 1e-12);
    assert_double_equal(m.f1, 4.0 / 7, 1e-12);
    m = metrics_prf(set, 0, gold, N(gold)); /* empty set */
    assert_double_equal(m.p + m.r + m.f1, 0, 0);
    m = metrics_prf(set, N(set), gold, 0); /* no gold */
    assert_double_equal(m.p + m.r + m.f1, 0, 0);
    const int64_t miss[] = {7, 8};
    m = metrics_prf(miss, N(miss), gold, N(gold)); /* P + R = 0: F1 0, not NaN */
    assert_double_equal(m.f1, 0, 0);
    m = metrics_prf(gold, N(gold), gold, N(gold));
    assert_double_equal(m.f1, 1, 1e-12);
}

static void test_hits_and_recall(void **state)
{
    (void)state;
    const int64_t ranked[] = {9, 2, 7, 3}, gold[] = {2, 3};
    assert_int_equal(metrics_hits_at(ranked, N(ranked), gold, N(gold), 1), 0);
    assert_int_equal(metrics_hits_at(ranked, N(ranked), gold, N(gold), 2), 1);
    assert_int_equal(metrics_hits_at(ranked, N(ranked), gold, N(gold), 4), 2);
    assert_int_equal(metrics_hits_at(ranked, N(ranked), gold, N(gold), 10), 2);
    struct recall_sums r = {0};
    metrics_recall_add(&r, ranked, N(ranked), gold, N(gold), 2); /* 1 of 2 */
    metrics_recall_add(&r, ranked, N(ranked), gold, 0, 2);       /* no gold: not counted */
    const int64_t one[] = {5};
    metrics_recall_add(&r, one, 1, one, 1, 2); /* 1 of 1: all found */
    assert_int_equal(r.questions, 2);
    assert_int_equal(r.gold, 3);
    assert_int_equal(r.found, 2);
    assert_int_equal(r.all_found, 1);
}

static void test_sums_top_k_and_best_k(void **state)
{
    (void)state;
    struct set_sums s = {0};
    /* q1: minimal {2,3} = gold; candidates 9 2 3 7 8 */
    const int64_t m1[] = {2, 3}, g1[] = {2, 3}, c1[] = {9, 2, 3, 7, 8};
    struct set_eval e = {EV_MINIMAL, m1, g1, c1, 2, 2, 5, 1, 12, 2, 1, 1, 4, 1000};
    metrics_add(&s, &e);
    /* q2: full_insufficient, gold {5}, candidates 5 6 */
    const int64_t g2[] = {5}, c2[] = {5, 6};
    struct set_eval f = {EV_FULL_INSUFFICIENT, NULL, g2, c2, 0, 1, 2, 0, 1, 0, 1, 1, 2, 500};
    metrics_add(&s, &f);
    /* q3: error: counted, not scored */
    struct set_eval x = {EV_ERROR, NULL, g2, c2, 0, 1, 2, 0, 3, 1, 0, 0, 7, 9}; /* no counts */
    metrics_add(&s, &x);
    assert_int_equal(s.questions, 3);
    assert_int_equal(s.minimal, 1);
    assert_int_equal(s.full_insufficient, 1);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.calls, 16);
    assert_int_equal(s.cached, 3);
    assert_int_equal(s.proven, 1);
    assert_int_equal(s.unproven, 0);
    /* cost: the prior's calls and tokens of the sets that have them */
    assert_int_equal(s.prior_calls, 6);
    assert_int_equal(s.with_prior, 2);
    assert_int_equal(s.tokens, 1500);
    assert_int_equal(s.with_tokens, 2);
    double per_q, per_set;
    assert_int_equal(metrics_tokens(&s, &per_q, &per_set), 0);
    assert_double_equal(per_q, 500, 1e-12);    /* 1500 tokens over 3 questions */
    assert_double_equal(per_set, 1500, 1e-12); /* over the 1 minimal set */
    /* the mean is over the 2 decided questions: (1 + 0) / 2 */
    struct prf m = metrics_mean(&s, &s.set);
    assert_double_equal(m.p, 0.5, 1e-12);
    assert_double_equal(m.r, 0.5, 1e-12);
    assert_double_equal(m.f1, 0.5, 1e-12);
    /* top-K F1, q1 and q2: K1 0 and 1; K2 1/2 and 2/3; K3 4/5 and 2/3; K4 2/3 and 2/3;
     * K5 4/7 and 2/3 */
    const double want[] = {0.5, (0.5 + 2.0 / 3) / 2, (0.8 + 2.0 / 3) / 2, 2.0 / 3,
                           (4.0 / 7 + 2.0 / 3) / 2};
    for (int k = 0; k < METRICS_TOPK; k++)
        assert_double_equal(metrics_mean(&s, &s.topk[k]).f1, want[k], 1e-12);
    assert_int_equal(metrics_best_k(&s), 3);
    /* no decided question: zeros, and ties go to the smaller K */
    struct set_sums z = {0};
    assert_double_equal(metrics_mean(&z, &z.set).f1, 0, 0);
    assert_int_equal(metrics_best_k(&z), 1);
    assert_int_equal(metrics_tokens(&z, &per_q, &per_set), -1);
}

/* A table of cached verdicts: subsets written as sorted ids. */
struct table {
    const int64_t (*sets)[3];
    const int *verdict;
    int n;
};

static int table_verdict(void *ctx, const int64_t *ids, int n)
{
    const struct table *t = ctx;
    int64_t s[3] = {0, 0, 0};
    assert_true(n >= 1 && n <= 3);
    for (int i = 0; i < n; i++) s[i] = ids[i];
    for (int i = 0; i < n; i++) /* sort: the lookup must not depend on the order asked */
        for (int j = i + 1; j < n; j++)
            if (s[j] < s[i]) {
                int64_t x = s[i];
                s[i] = s[j];
                s[j] = x;
            }
    for (int i = 0; i < t->n; i++)
        if (memcmp(t->sets[i], s, sizeof s) == 0) return t->verdict[i];
    return -1;
}

static void test_proven_minimal(void **state)
{
    (void)state;
    const int64_t sets[][3] = {{1, 2, 0}, {1, 0, 0}, {2, 0, 0}, {7, 0, 0}, {3, 4, 0}, {3, 0, 0}};
    const int verdicts[] = {1, 0, 0, 1, 1, 1};
    struct table t = {sets, verdicts, N(verdicts)};
    const int64_t a[] = {2, 1};
    assert_int_equal(metrics_proven_minimal(a, 2, table_verdict, &t), 1);
    const int64_t single[] = {7}; /* the empty set needs no verdict */
    assert_int_equal(metrics_proven_minimal(single, 1, table_verdict, &t), 1);
    const int64_t b[] = {3, 4}; /* {3} is sufficient too: not 1-minimal */
    assert_int_equal(metrics_proven_minimal(b, 2, table_verdict, &t), 0);
    const int64_t c[] = {1, 2, 5}; /* no verdict on the set itself */
    assert_int_equal(metrics_proven_minimal(c, 3, table_verdict, &t), 0);
    const int64_t d[] = {4}; /* no verdict at all */
    assert_int_equal(metrics_proven_minimal(d, 1, table_verdict, &t), 0);
    assert_int_equal(metrics_proven_minimal(d, 0, table_verdict, &t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prf),
        cmocka_unit_test(test_hits_and_recall),
        cmocka_unit_test(test_sums_top_k_and_best_k),
        cmocka_unit_test(test_proven_minimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
