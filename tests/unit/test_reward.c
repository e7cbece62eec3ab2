/* test_reward.c - every reward scheme on hand-computed cases, with the edges. */
#include "helpers.h"

#include <math.h>

#include "pipeline/reward.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static struct traj_facts f(int valid, int correct, int s, int m, int overlap, double len,
                           double prefix)
{
    struct traj_facts t = {valid, correct, correct ? 1.0 : 0.0, s, m, overlap, len, prefix};
    return t;
}

static void test_cp(void **state)
{
    (void)state;
    struct traj_facts t;
    t = f(0, 0, 2, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), -1.0); /* invalid format */
    t = f(1, 0, 0, 2, 0, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), 0.0); /* empty selection: no coverage, no penalty */
    t = f(1, 1, 2, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), 1.0); /* exactly M */
    t = f(1, 1, 5, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), 1.0 - 0.3 * 3 / 5.0); /* |S| = |M| + red: 0.82 */
    t = f(1, 1, 6, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), 0.0); /* one more than |M| + red */
    t = f(1, 1, 3, 2, 1, 10, 1);
    NEAR(reward_cp(&t, 3, 0.3), 0.5 - 0.3 * 1 / 5.0); /* 0.44 */
    t = f(1, 1, 3, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 1, 0.6), 1.0 - 0.6 / 3.0); /* cp2 at |M| + red: 0.8 */
    t = f(1, 1, 4, 2, 2, 10, 1);
    NEAR(reward_cp(&t, 1, 0.6), 0.0);
    t = f(1, 1, 1, 3, 1, 10, 1);
    NEAR(reward_cp(&t, 1, 0.6), 1.0 / 3.0); /* under-selection: coverage only */
}

static void test_laser(void **state)
{
    (void)state;
    struct traj_facts t = f(1, 1, 2, 2, 2, 1024, 1);
    NEAR(reward_laser(&t, 1024, 0.5), 1.5); /* a length exactly at L_T earns the bonus */
    t.length = 1025;
    NEAR(reward_laser(&t, 1024, 0.5), 1.0);
    t = f(1, 0, 2, 2, 2, 10, 1);
    NEAR(reward_laser(&t, 1024, 0.5), -0.5); /* wrong */
    t = f(0, 0, 2, 2, 2, 10, 1);
    NEAR(reward_laser(&t, 1024, 0.5), -1.0); /* invalid */
}

static void test_laser_d_targets(void **state)
{
    (void)state;
    const double l[] = {500, 100, 300, 200, 400};
    NEAR(laser_d_target(l, 5, 0), 128); /* easy: 1/5 of them must fit: 100 -> 128 */
    NEAR(laser_d_target(l, 5, 1), 512); /* medium: 3 of 5: 300 -> 512 */
    NEAR(laser_d_target(l, 5, 2), 512); /* hard: all: 500 -> 512 */
    const double e[] = {64};
    NEAR(laser_d_target(e, 1, 2), 64); /* exactly on the ladder */
    NEAR(laser_d_target(e, 0, 0), 64);
}

static void test_decs(void **state)
{
    (void)state;
    struct traj_facts t = f(1, 1, 2, 2, 2, 1000, 0.5);
    NEAR(reward_decs(&t, 2000), 0.5 * 1.1 + 0.5 * (1.0 - 0.1 * 0.5)); /* 1.025 */
    t.prefix = 1.0;
    NEAR(reward_decs(&t, 2000), 1.1);
    t = f(1, 0, 2, 2, 2, 1000, 0.5);
    NEAR(reward_decs(&t, 2000), 0.0);
    t = f(0, 0, 2, 2, 2, 1000, 0.5);
    NEAR(reward_decs(&t, 2000), -1.0);
    /* prefix: chunks split at the marker words; the first chunk stating the answer ends it */
    NEAR(
        decs_prefix_fraction("The capital is Paris. Wait, let me check. Therefore Paris.", "paris"),
        4.0 / 10.0);
    NEAR(decs_prefix_fraction("Let me think. Hmm maybe Lyon. But no: Paris it is.", "paris"), 1.0);
    NEAR(decs_prefix_fraction("I am not sure at all.", "paris"), 1.0); /* never stated */
    NEAR(decs_prefix_fraction("", "paris"), 1.0);
}

static void test_answers_and_tokens(void **state)
{
    (void)state;
    char *a = extract_answer("think... <answer> G. Stanley Hall </answer>");
    assert_string_equal(a, "G. Stanley Hall");
    free(a);
    a = extract_answer("<answer>first</answer> then <answer>second</answer>");
    assert_string_equal(a, "second");
    free(a);
    assert_null(extract_answer("no tag here"));
    assert_null(extract_answer("<answer>unclosed"));
    assert_int_equal(whitespace_tokens("  a b\tc\n d "), 4);
    assert_int_equal(whitespace_tokens(""), 0);
    assert_int_equal(difficulty_bucket(2.0 / 3.0), 0);
    assert_int_equal(difficulty_bucket(0.5), 1);
    assert_int_equal(difficulty_bucket(1.0 / 3.0), 1);
    assert_int_equal(difficulty_bucket(0.2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cp),
        cmocka_unit_test(test_laser),
        cmocka_unit_test(test_laser_d_targets),
        cmocka_unit_test(test_decs),
        cmocka_unit_test(test_answers_and_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
