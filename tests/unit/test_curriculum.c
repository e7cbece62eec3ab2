/* test_curriculum.c - difficulty, the DECS kappa rule and every plan strategy on hand-computed
 * cases. */
#include "helpers.h"

#include <math.h>

#include "pipeline/curriculum.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_strategy_names(void **state)
{
    (void)state;
    enum curriculum_strategy s;
    assert_int_equal(curriculum_strategy_from_name("sorted", &s), 0);
    assert_int_equal(s, CUR_SORTED);
    assert_int_equal(curriculum_strategy_from_name("buckets", &s), 0);
    assert_int_equal(s, CUR_BUCKETS);
    assert_int_equal(curriculum_strategy_from_name("decs", &s), 0);
    assert_int_equal(s, CUR_DECS);
    assert_int_equal(curriculum_strategy_from_name("dapo", &s), 0);
    assert_int_equal(s, CUR_DAPO);
    assert_int_equal(curriculum_strategy_from_name("grpo", &s), -1);
    assert_int_equal(curriculum_strategy_from_name("", &s), -1);
}

static void test_difficulty(void **state)
{
    (void)state;
    struct cur_prompt p = curriculum_from_rollouts(7, 3, 2); /* 2/3: easy, at the edge */
    assert_int_equal(p.qid, 7);
    assert_int_equal(p.n, 3);
    NEAR(p.pass, 2.0 / 3.0);
    NEAR(p.score, 1.0 / 3.0);
    assert_int_equal(p.bucket, 0);
    p = curriculum_from_rollouts(7, 3, 1); /* 1/3: medium, at the edge */
    assert_int_equal(p.bucket, 1);
    p = curriculum_from_rollouts(7, 4, 1); /* 1/4: hard */
    assert_int_equal(p.bucket, 2);
    NEAR(p.score, 0.75);
    p = curriculum_from_set(9, 2, 5);
    assert_int_equal(p.bucket, 0);
    NEAR(p.score, 2.05);
    NEAR(p.pass, -1);
    assert_int_equal(p.n, 0);
    assert_int_equal(curriculum_from_set(9, 1, 0).bucket, 0);
    assert_int_equal(curriculum_from_set(9, 3, 0).bucket, 1);
    assert_int_equal(curriculum_from_set(9, 4, 0).bucket, 2);
    assert_int_equal(curriculum_from_set(9, 99, 0).bucket, 2); /* no minimal set */
}

static void test_sort(void **state)
{
    (void)state;
    struct cur_prompt p[] = {
        {.qid = 5, .bucket = 2, .score = 0.9}, {.qid = 4, .bucket = 0, .score = 0.2},
        {.qid = 3, .bucket = 0, .score = 0.1}, {.qid = 2, .bucket = 0, .score = 0.2},
        {.qid = 1, .bucket = 1, .score = 0.0},
    };
    curriculum_sort(p, 5);
    const int64_t want[] = {3, 2, 4, 1, 5}; /* bucket, then score, then id */
    for (int i = 0; i < 5; i++) assert_int_equal(p[i].qid, want[i]);
    curriculum_sort(NULL, 0);
}

static void test_dapo(void **state)
{
    (void)state;
    assert_true(dapo_all_equal(1.5, 1.5));
    assert_true(dapo_all_equal(-1.0, -1.0 + 1e-13));
    assert_false(dapo_all_equal(-0.5, 1.5));
}

static void test_decs_kappa_worked_example(void **state)
{
    (void)state;
    /* beta 0.2, kappa_0 = 0, R_0 = 0.5:
     *   m1: 0 + 0.2 (0.6 - 0.5) = 0.02
     *   m2: 0.02 + 0.2 (0.8 - 0.6) = 0.06
     *   m3: 0.06 + 0.2 (0.7 - 0.8) = 0.04 (under kappa0 = 0.1)
     *   m4: 0.04 + 0.2 (0.9 - 0.7) = 0.08
     *   m5: 0.08 + 0.2 (0.4 - 0.9) = -0.02 -> 0
     *   m6: 0 + 0.2 (1.0 - 0.4) = 0.12 -> clipped to kappa0 = 0.05 */
    const double R[] = {0.6, 0.8, 0.7, 0.9, 0.4, 1.0};
    const double k0[] = {0.5, 0.5, 0.1, 0.5, 0.5, 0.05};
    const double want[] = {0.02, 0.06, 0.04, 0.08, 0.0, 0.05};
    double k[6];
    decs_kappa(R, k0, 6, 0.2, k);
    for (int i = 0; i < 6; i++) NEAR(k[i], want[i]);
}

static void test_decs_steps(void **state)
{
    (void)state;
    const struct cur_prompt p[] = {
        {.qid = 1, .bucket = 0}, {.qid = 2, .bucket = 1}, {.qid = 3, .bucket = 2}};
    /* step 1: prompts 1 (easy), 2, 3: kappa0 1/3; R = mean(0.4, 0.6, 0.8) = 0.6 (the wrong
     *         rollout's prefix does not count); kappa = 0 + 0.2 (0.6 - 0.5) = 0.02
     * step 2: no correct rollout: R = 0.5; kappa0 0; kappa = clip(0.02 - 0.02, 0, 0) = 0
     * step 4: prompt 1 only: kappa0 1; R = 1.0; kappa = 0 + 0.2 (1.0 - 0.5) = 0.1 */
    const struct cur_rollout r[] = {
        {1, 1, 1, 0.4}, {1, 1, 1, 0.6}, {1, 2, 0, 0.9}, {1, 3, 1, 0.8},
        {2, 2, 0, 0.3}, {2, 3, 0, 0.2}, {4, 1, 1, 1.0},
    };
    struct cur_step *s;
    assert_int_equal(curriculum_decs_steps(r, 7, p, 3, 0.2, &s), 3);
    assert_int_equal(s[0].step, 1);
    NEAR(s[0].R, 0.6);
    NEAR(s[0].kappa0, 1.0 / 3.0);
    NEAR(s[0].kappa, 0.02);
    assert_int_equal(s[1].step, 2);
    NEAR(s[1].R, 0.5);
    NEAR(s[1].kappa0, 0.0);
    NEAR(s[1].kappa, 0.0);
    assert_int_equal(s[2].step, 4);
    NEAR(s[2].R, 1.0);
    NEAR(s[2].kappa0, 1.0);
    NEAR(s[2].kappa, 0.1);
    free(s);
    assert_int_equal(curriculum_decs_steps(NULL, 0, p, 3, 0.2, &s), 0);
    assert_null(s);
}

/* Six prompts in sorted order: easy 10, 11, 12; medium 20; hard 30, 31. */
static const struct cur_prompt six[] = {
    {.qid = 10, .bucket = 0}, {.qid = 11, .bucket = 0}, {.qid = 12, .bucket = 0},
    {.qid = 20, .bucket = 1}, {.qid = 30, .bucket = 2}, {.qid = 31, .bucket = 2},
};

static void expect_rows(const struct cur_plan *pl, const int64_t (*want)[3], size_t n)
{
    assert_int_equal(pl->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pl->rows[i].batch, want[i][0]);
        assert_int_equal(pl->rows[i].position, want[i][1]);
        assert_int_equal(pl->rows[i].qid, want[i][2]);
    }
}

static void test_plan_sorted_and_dapo(void **state)
{
    (void)state;
    struct cur_prompt p[6];
    memcpy(p, six, sizeof p);
    struct cur_params pa = {.batch_size = 4};
    struct cur_plan pl = {0};
    curriculum_plan(CUR_SORTED, p, 6, &pa, &pl);
    const int64_t all[][3] = {{1, 0, 10}, {1, 1, 11}, {1, 2, 12},
                              {1, 3, 20}, {2, 0, 30}, {2, 1, 31}};
    expect_rows(&pl, all, 6);
    assert_int_equal(pl.batches, 2);
    cur_plan_free(&pl);
    p[1].dropped = p[4].dropped = 1; /* dapo leaves the dropped out: 4 rows, one batch */
    curriculum_plan(CUR_DAPO, p, 6, &pa, &pl);
    const int64_t kept[][3] = {{1, 0, 10}, {1, 1, 12}, {1, 2, 20}, {1, 3, 31}};
    expect_rows(&pl, kept, 4);
    assert_int_equal(pl.batches, 1);
    cur_plan_free(&pl);
}

static void test_plan_buckets(void **state)
{
    (void)state;
    /* batch size 3, equal shares: each bucket wants floor(1/3 * 3 + 0.5) = 1 per batch.
     * batch 1: 10 (easy), 20 (medium), 30 (hard);
     * batch 2: 11 (easy), no medium left, 31 (hard), then topped up from easy: 12 */
    struct cur_params pa = {.batch_size = 3, .shares = {1, 1, 1}};
    struct cur_plan pl = {0};
    curriculum_plan(CUR_BUCKETS, six, 6, &pa, &pl);
    const int64_t want[][3] = {{1, 0, 10}, {1, 1, 20}, {1, 2, 30},
                               {2, 0, 11}, {2, 1, 31}, {2, 2, 12}};
    expect_rows(&pl, want, 6);
    assert_int_equal(pl.batches, 2);
    cur_plan_free(&pl);
    /* shares 2,0,0 of 2: two easy, then one easy and a top-up from medium, then hard */
    struct cur_params pb = {.batch_size = 2, .shares = {2, 0, 0}};
    curriculum_plan(CUR_BUCKETS, six, 6, &pb, &pl);
    const int64_t want2[][3] = {{1, 0, 10}, {1, 1, 11}, {2, 0, 12},
                                {2, 1, 20}, {3, 0, 30}, {3, 1, 31}};
    expect_rows(&pl, want2, 6);
    assert_int_equal(pl.batches, 3);
    cur_plan_free(&pl);
}

static void test_plan_decs(void **state)
{
    (void)state;
    /* batch size 2; kappa 0.5 then 0. Batch 1: non-easy 20, 30 (kept 2), then
     * int(0.5 * 2 / 0.5) = 2 easy: 10, 11. Batch 2: 31 (kept 1), kappa 0: nothing added. */
    const struct cur_step steps[] = {{.step = 1, .kappa = 0.5}, {.step = 2, .kappa = 0.0}};
    struct cur_params pa = {.batch_size = 2, .steps = steps, .n_steps = 2};
    struct cur_plan pl = {0};
    curriculum_plan(CUR_DECS, six, 6, &pa, &pl);
    const int64_t want[][3] = {{1, 0, 20}, {1, 1, 30}, {1, 2, 10}, {1, 3, 11}, {2, 0, 31}};
    expect_rows(&pl, want, 5);
    assert_int_equal(pl.batches, 2);
    cur_plan_free(&pl);
    /* batch size 1, one step of kappa 0.6 repeated: int(0.6 * 1 / 0.4) = 1 easy per batch
     * until the easy prompts run out */
    const struct cur_step one[] = {{.step = 1, .kappa = 0.6}};
    struct cur_params pb = {.batch_size = 1, .steps = one, .n_steps = 1};
    curriculum_plan(CUR_DECS, six, 6, &pb, &pl);
    const int64_t want2[][3] = {{1, 0, 20}, {1, 1, 10}, {2, 0, 30},
                                {2, 1, 11}, {3, 0, 31}, {3, 1, 12}};
    expect_rows(&pl, want2, 6);
    cur_plan_free(&pl);
    /* no steps: kappa 0, only the non-easy prompts; kappa 1 adds nothing either */
    struct cur_params pc = {.batch_size = 8};
    curriculum_plan(CUR_DECS, six, 6, &pc, &pl);
    assert_int_equal(pl.n, 3);
    assert_int_equal(pl.batches, 1);
    cur_plan_free(&pl);
    const struct cur_step full[] = {{.step = 1, .kappa = 1.0}};
    struct cur_params pd = {.batch_size = 8, .steps = full, .n_steps = 1};
    curriculum_plan(CUR_DECS, six, 6, &pd, &pl);
    assert_int_equal(pl.n, 3);
    cur_plan_free(&pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategy_names),
        cmocka_unit_test(test_difficulty),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_dapo),
        cmocka_unit_test(test_decs_kappa_worked_example),
        cmocka_unit_test(test_decs_steps),
        cmocka_unit_test(test_plan_sorted_and_dapo),
        cmocka_unit_test(test_plan_buckets),
        cmocka_unit_test(test_plan_decs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
