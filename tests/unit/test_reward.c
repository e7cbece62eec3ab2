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
    const double big[] = {65, 1048576, 1048577, 3e6};
    NEAR(laser_d_target(big, 4, 0), 128);     /* 1 of 4: 65 -> 128 */
    NEAR(laser_d_target(big, 4, 1), 1048576); /* 2 of 4: on the last rung */
    NEAR(laser_d_target(big, 4, 2), 1048576); /* all: beyond the ladder, its top */
}

static int cmp_len(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The target is the first rung at or above the ceil(n / n_b)-th smallest length, as sorting
 * finds it, on lengths around every rung. */
static void test_laser_d_against_sorting(void **state)
{
    (void)state;
    double len[301], sorted[301];
    unsigned x = 12345;
    for (size_t n = 1; n <= 301; n += 50) {
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            double rung = 64.0 * (double)(1u << (x >> 8) % 16);
            len[i] = rung + (double)((int)(x >> 20) % 3 - 1); /* just under, on, just over */
        }
        memcpy(sorted, len, n * sizeof *len);
        qsort(sorted, n, sizeof *sorted, cmp_len);
        for (int b = 0; b < 3; b++) {
            size_t nb = b == 0 ? 5 : b == 1 ? 2 : 1, need = (n + nb - 1) / nb;
            double want = 64;
            while (want < sorted[need - 1] && want < 1048576) want *= 2;
            NEAR(laser_d_target(len, n, b), want);
        }
    }
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

static void test_scheme_names(void **state)
{
    (void)state;
    enum reward_scheme k;
    assert_int_equal(reward_scheme_from_name("laser-d", &k), 0);
    assert_int_equal(k, SCHEME_LASER_D);
    assert_int_equal(reward_scheme_from_name("rubric", &k), 0);
    assert_int_equal(k, SCHEME_RUBRIC);
    assert_int_equal(reward_scheme_from_name("grpo", &k), -1);
    for (int i = 0; i < N_SCHEMES; i++) {
        assert_int_equal(reward_scheme_from_name(reward_scheme_names[i], &k), 0);
        assert_int_equal(k, i);
    }
    assert_int_equal(difficulty_bucket_from_name("medium"), 1);
    assert_int_equal(difficulty_bucket_from_name("hardest"), -1);
    assert_int_equal(reward_rubric_kind("no_extra"), RUBRIC_NO_EXTRA);
    assert_string_equal(reward_rubric_kind_name(RUBRIC_GROUNDED), "grounded");
    assert_int_equal(reward_rubric_kind("other"), -1);
}

/* The ids of a response's evidence tag: rc, then the ids. */
static void expect_evidence(const char *response, int rc, const int64_t *want, int nwant)
{
    int64_t *ids;
    int n;
    assert_int_equal(reward_parse_evidence(response, &ids, &n), rc);
    if (rc != 1) {
        assert_null(ids);
        assert_int_equal(n, 0);
        return;
    }
    assert_non_null(ids);
    assert_int_equal(n, nwant);
    for (int i = 0; i < n; i++) assert_int_equal(ids[i], want[i]);
    free(ids);
}

static void test_evidence(void **state)
{
    (void)state;
    const int64_t a[] = {3, 17}, b[] = {5}, c[] = {4, 4, 9};
    expect_evidence("<evidence>3, 17</evidence> <answer>x</answer>", 1, a, 2);
    expect_evidence("<evidence>[3] [17]</evidence>", 1, a, 2);
    expect_evidence("<evidence>[3, 17]</evidence>", 1, a, 2);
    expect_evidence("<evidence>\n 3,\n17 \n</evidence>", 1, a, 2);
    expect_evidence("<evidence>1</evidence> no wait <evidence>5</evidence>", 1, b, 1); /* last */
    expect_evidence("<evidence>4, 4, 9</evidence>", 1, c, 3); /* twice: read as it is */
    expect_evidence("<evidence></evidence>", 1, NULL, 0);
    expect_evidence("<evidence> , </evidence>", 1, NULL, 0);
    expect_evidence("no tag at all", 0, NULL, 0);
    expect_evidence("<evidence>3, 17", 0, NULL, 0); /* never closed */
    expect_evidence("<evidence>passage three</evidence>", -1, NULL, 0);
    expect_evidence("<evidence>3a</evidence>", -1, NULL, 0);
    expect_evidence("<evidence>-3</evidence>", -1, NULL, 0);
    expect_evidence("<evidence>3; 4</evidence>", -1, NULL, 0);
    expect_evidence("<evidence>99999999999999999999999</evidence>", -1, NULL, 0); /* overflows */
}

static void test_rubric_points(void **state)
{
    (void)state;
    int64_t allowed[] = {1, 2}, answer_passages[] = {2};
    struct reward_rubric_item r[] = {
        {RUBRIC_ANSWER, 4, 0, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 1, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 2, NULL, 0},
        {RUBRIC_NO_EXTRA, 1, 0, allowed, 2},
        {RUBRIC_GROUNDED, 1, 0, answer_passages, 1},
    };
    struct reward_truth t = {.rubric = r, .n_rubric = 5};
    const int64_t s12[] = {1, 2}, s13[] = {1, 3}, s2[] = {2};
    NEAR(reward_rubric_points(&t, s12, 2, 1), 10); /* everything */
    NEAR(reward_rubric_points(&t, s13, 2, 1), 6);  /* answer 4 + evidence 1: 2 */
    NEAR(reward_rubric_points(&t, s2, 1, 0), 3);   /* evidence 2: 2 + no extra 1; grounded: em */
    NEAR(reward_rubric_points(&t, NULL, 0, 1), 5); /* answer 4 + no extra 1: a miracle step */
    t.n_rubric = 0;
    NEAR(reward_rubric_points(&t, s12, 2, 1), 0);
}

static void test_measure(void **state)
{
    (void)state;
    json_error_t je;
    json_t *golds = json_loads("[\"Paris\"]", 0, &je);
    const int64_t cand[] = {1, 2, 3, 4}, mem[] = {1, 2}, dup[] = {1, 2, 2}, out[] = {1, 7};
    struct reward_truth t = {cand, 4, mem, 2, golds, "paris", NULL, 0};
    struct reward_item it;
    struct reward_input in = {"<answer>Paris</answer>", "Paris", mem, 2, 1, 1};
    reward_measure(&t, &in, &it);
    assert_true(it.f.valid && it.f.correct);
    in.stated = 0; /* no selection stated: invalid, still scored for F1 */
    reward_measure(&t, &in, &it);
    assert_false(it.f.valid || it.f.correct);
    NEAR(it.f.f1, 1);
    in = (struct reward_input){"r", "Paris", dup, 3, 1, 1};
    reward_measure(&t, &in, &it);
    assert_false(it.f.valid);
    assert_int_equal(it.f.n_overlap, 2);
    in = (struct reward_input){"r", "Paris", out, 2, 1, 1};
    reward_measure(&t, &in, &it);
    assert_false(it.f.valid);
    in = (struct reward_input){"r", "", mem, 2, 1, 1}; /* an empty answer */
    reward_measure(&t, &in, &it);
    assert_false(it.f.valid);
    json_decref(golds);
}

/* Components plus one scheme: the stored text and the value. */
static int reward_text(enum reward_scheme k, const struct reward_item *it, double target, double *v,
                       struct sbuf *out)
{
    const struct reward_params p = {3, 0.3, 1, 0.6, 1024, 0.5, 8192};
    sbuf_reset(out);
    reward_components(it, 2, out);
    int rc = reward_value(k, it, &p, target, v, out);
    sbuf_addc(out, '}');
    return rc;
}

static void test_components_and_rewards(void **state)
{
    (void)state;
    struct reward_item it = {.f = {1, 0, 0.5, 4, 2, 1, 12, 1.0}};
    struct sbuf t = {0};
    double v;
    const char *base = "{\"valid\":true,\"correct\":false,\"em\":0.0,\"f1\":0.5,\"selected\":4,"
                       "\"minimal\":2,\"overlap\":1,\"coverage\":0.5,\"precision\":0.25,"
                       "\"length\":12.0,\"prefix_fraction\":1.0,\"redundancy\":2,\"bucket\":"
                       "\"hard\"";
    char want[512];
    assert_int_equal(reward_text(SCHEME_CP1, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"red\":3,\"gamma\":0.3}", base);
    assert_string_equal(t.p, want);
    NEAR(v, 0.5 - 0.3 * 2 / 5.0); /* coverage 1/2, 2 extra of |M| + red = 5: 0.38 */
    assert_int_equal(reward_text(SCHEME_CP2, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"red\":1,\"gamma\":0.6}", base);
    assert_string_equal(t.p, want);
    NEAR(v, 0.0); /* 4 > |M| + red = 3 */
    assert_int_equal(reward_text(SCHEME_LASER, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"target_len\":1024}", base);
    assert_string_equal(t.p, want);
    NEAR(v, -0.5); /* wrong */
    assert_int_equal(reward_text(SCHEME_LASER_D, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"target_len\":128}", base);
    assert_string_equal(t.p, want);
    assert_int_equal(reward_text(SCHEME_DECS, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"max_len\":8192}", base);
    assert_string_equal(t.p, want);
    NEAR(v, 0.0);                                                       /* valid but wrong */
    assert_int_equal(reward_text(SCHEME_RUBRIC, &it, 128, &v, &t), -1); /* no rubric */
    it.has_rubric = 1;
    it.rubric = 7;
    assert_int_equal(reward_text(SCHEME_RUBRIC, &it, 128, &v, &t), 0);
    snprintf(want, sizeof want, "%s,\"rubric\":7.0}", base);
    assert_string_equal(t.p, want);
    NEAR(v, 0.7);
    /* correct and short: laser 1 + 0.5; laser-d against its own target */
    it.f.correct = 1;
    assert_int_equal(reward_text(SCHEME_LASER, &it, 8, &v, &t), 0);
    NEAR(v, 1.5);
    assert_int_equal(reward_text(SCHEME_LASER_D, &it, 8, &v, &t), 0);
    NEAR(v, 1.0); /* 12 tokens over a target of 8 */
    /* numbers as jansson writes them: 17 digits, exponents without padding */
    it = (struct reward_item){.f = {1, 1, 2.0 / 3.0, 3, 3, 1, 5, 1e-5}};
    sbuf_reset(&t);
    reward_components(&it, -1, &t);
    assert_string_equal(t.p, "{\"valid\":true,\"correct\":true,\"em\":0.0,\"f1\":"
                             "0.66666666666666663,\"selected\":3,\"minimal\":3,\"overlap\":1,"
                             "\"coverage\":0.33333333333333331,\"precision\":0.33333333333333331,"
                             "\"length\":5.0,\"prefix_fraction\":1.0000000000000001e-5,"
                             "\"redundancy\":0");
    sbuf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cp),
        cmocka_unit_test(test_laser),
        cmocka_unit_test(test_laser_d_targets),
        cmocka_unit_test(test_laser_d_against_sorting),
        cmocka_unit_test(test_decs),
        cmocka_unit_test(test_answers_and_tokens),
        cmocka_unit_test(test_scheme_names),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_rubric_points),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_components_and_rewards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
