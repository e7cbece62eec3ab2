/* test_reward_api.c - the C API of libpare_reward.so: values against an exported ground truth,
 * the options, and every error with its code and message. */
#include "helpers.h"

#include <math.h>

#include "pipeline/reward_api.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* Candidates 1-5, minimal set {1, 2}, answer Paris; a rubric of 10 points. */
static const char *const truth =
    "{\"question_id\": \"q1\", \"dataset\": \"d\", \"answers\": [\"Paris\", \"City of Light\"],"
    " \"evidence_ids\": [1, 2], \"candidate_ids\": [1, 2, 3, 4, 5], \"rubric\": ["
    "{\"kind\": \"answer\", \"points\": 4, \"passage_id\": null, \"ids\": []},"
    "{\"kind\": \"evidence\", \"points\": 2, \"passage_id\": 1, \"ids\": null},"
    "{\"kind\": \"evidence\", \"points\": 2, \"passage_id\": 2, \"ids\": []},"
    "{\"kind\": \"no_extra\", \"points\": 1, \"passage_id\": null, \"ids\": [1, 2]},"
    "{\"kind\": \"grounded\", \"points\": 1, \"passage_id\": null, \"ids\": [2]}]}";

static double score(const char *scheme, const char *response, const char *opts)
{
    double v = -99;
    char info[1024];
    int rc = pare_reward_score(scheme, response, truth, opts, &v, info, sizeof info);
    if (rc != 0) fail_msg("rc %d: %s", rc, info);
    return v;
}

static void test_values(void **state)
{
    (void)state;
    assert_int_equal(pare_reward_api_version(), PARE_REWARD_API_VERSION);
    const char *exact = "Found. <evidence>1, 2</evidence> <answer>Paris</answer>";
    NEAR(score("cp1", exact, NULL), 1.0);
    NEAR(score("cp2", exact, NULL), 1.0);
    NEAR(score("laser", exact, NULL), 1.5);
    NEAR(score("laser-d", exact, "{\"target_len\": 2}"), 1.0); /* 4 tokens over a target of 2 */
    NEAR(score("rubric", exact, NULL), 1.0);
    NEAR(score("decs", exact, NULL), 1.1); /* the answer never stated before the tag: prefix 1 */
    /* stated in the first chunk: 3 of the 7 tokens before the answer tag; 8 in all */
    const char *early = "Paris it is. Wait, sure. <evidence>1, 2</evidence> <answer>Paris</answer>";
    NEAR(score("decs", early, NULL), 3.0 / 7 * 1.1 + 4.0 / 7 * (1.0 - 0.1 * 8 / 8192.0));
    const char *extra = "<evidence>1, 2, 3</evidence> <answer>Paris</answer>";
    NEAR(score("cp1", extra, NULL), 1.0 - 0.3 / 5);
    NEAR(score("cp2", extra, NULL), 1.0 - 0.6 / 3);
    NEAR(score("cp1", extra, "{\"red\": 1, \"gamma\": 0.6}"), 1.0 - 0.6 / 3);
    NEAR(score("rubric", extra, NULL), 0.9); /* a passage beyond the set */
    NEAR(score("cp1", "<evidence>1</evidence> <answer>Paris</answer>", NULL), 0.5);
    NEAR(score("cp1", "<evidence>1, 1</evidence> <answer>Paris</answer>", NULL), -1.0);
    NEAR(score("laser", "<evidence>1, 9</evidence> <answer>Paris</answer>", NULL), -1.0);
    NEAR(score("laser", "<evidence>1, 2</evidence> <answer>Lyon</answer>", NULL), -0.5);
    NEAR(score("laser", "<evidence>1, 2</evidence> Paris", NULL), -1.0); /* no answer tag */
    NEAR(score("laser", "<answer>Paris</answer>", NULL), -1.0);          /* no evidence tag */
    /* options override the tags and the length */
    NEAR(score("laser", "<answer>Lyon</answer>", "{\"selected\": [2, 1], \"answer\": \"Paris\"}"),
         1.5);
    NEAR(score("laser", exact, "{\"n_tokens\": 1025}"), 1.0);
    NEAR(score("laser", exact, "{\"n_tokens\": 1024}"), 1.5);
    NEAR(score("laser", exact, "{\"n_tokens\": 100, \"target_len\": 99, \"alpha\": 0.2}"), 1.0);
    NEAR(score("decs", early, "{\"n_tokens\": 20000, \"max_len\": 100}"),
         3.0 / 7 * 1.1 + 4.0 / 7 * 0.9); /* L beyond L_max counts as L_max */
}

static void test_components(void **state)
{
    (void)state;
    double v;
    char info[1024];
    assert_int_equal(pare_reward_score("cp1", "<evidence>1, 3</evidence> <answer>Paris</answer>",
                                       truth, NULL, &v, info, sizeof info),
                     0);
    assert_string_equal(info, "{\"valid\":true,\"correct\":true,\"em\":1.0,\"f1\":1.0,"
                              "\"selected\":2,\"minimal\":2,\"overlap\":1,\"coverage\":0.5,"
                              "\"precision\":0.5,\"length\":3.0,\"prefix_fraction\":1.0,"
                              "\"redundancy\":0,\"rubric\":6.0,\"red\":3,\"gamma\":0.3}");
    /* truncated to the room given, always terminated */
    char small[8];
    assert_int_equal(pare_reward_score("cp1", "x", truth, NULL, &v, small, sizeof small), 0);
    assert_string_equal(small, "{\"valid");
    assert_int_equal(pare_reward_score("cp1", "x", truth, NULL, &v, NULL, 0), 0);
}

/* The code and message of a failing call. */
static void expect_error(const char *scheme, const char *t, const char *opts, int rc,
                         const char *msg)
{
    double v = 7;
    char info[512];
    assert_int_equal(
        pare_reward_score(scheme, "<answer>x</answer>", t, opts, &v, info, sizeof info), rc);
    assert_string_equal(info, msg);
    NEAR(v, 7); /* untouched */
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("grpo", truth, NULL, 2,
                 "unknown scheme 'grpo' (cp1, cp2, laser, laser-d, decs, rubric)");
    expect_error(NULL, truth, NULL, 2,
                 "unknown scheme '' (cp1, cp2, laser, laser-d, decs, rubric)");
    expect_error("cp1", truth, "{\"gama\": 1}", 2, "unknown option 'gama'");
    expect_error("cp1", truth, "[1]", 2, "options: not a JSON object");
    expect_error("cp1", truth, "{\"red\": \"3\"}", 2,
                 "options: numbers expected (max_len > 0), 'selected' an array, 'answer' a "
                 "string");
    expect_error("cp1", truth, "{\"selected\": [1, \"2\"]}", 2,
                 "options: 'selected' must be an array of passage ids");
    expect_error("laser-d", truth, NULL, 2,
                 "laser-d needs target_len: the LASER-D target of the question's difficulty "
                 "bucket");
    expect_error("cp1", "{\"answers\": [\"a\"]", NULL, 3,
                 "ground truth: '}' expected near end of file");
    expect_error("cp1", NULL, NULL, 3, "ground truth: missing");
    expect_error("cp1", "[]", NULL, 3, "ground truth: not an object");
    expect_error("cp1", "{\"answers\": \"a\"}", NULL, 3,
                 "ground truth: 'answers' must be an array of strings");
    expect_error("cp1", "{\"answers\": [\"a\"], \"evidence_ids\": [1, 2.5]}", NULL, 3,
                 "ground truth: 'evidence_ids' must be an array of passage ids");
    expect_error("cp1", "{\"answers\": [\"a\"], \"evidence_ids\": [1]}", NULL, 3,
                 "ground truth: 'candidate_ids' must be an array of passage ids (export the rows "
                 "again with this pare)");
    expect_error("rubric",
                 "{\"answers\": [\"a\"], \"evidence_ids\": [1], \"candidate_ids\": [1], "
                 "\"rubric\": [{\"kind\": \"magic\", \"points\": 1}]}",
                 NULL, 3,
                 "ground truth: 'rubric' must be an array of {kind, points, passage_id, ids}");
    expect_error("rubric", "{\"answers\": [\"a\"], \"evidence_ids\": [1], \"candidate_ids\": [1]}",
                 NULL, 1, "no rubric in the ground truth: run pare augment before pare export");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_components),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
