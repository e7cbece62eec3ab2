/* test_trajectory.c - trajectory lines, their measurements, rubric points, LASER-D buckets and
 * the reward of every scheme on hand-computed cases; then a scoring run over a small store. */
#include "helpers.h"

#include <math.h>

#include "pipeline/trajectory.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    return j;
}

static void test_scheme_names(void **state)
{
    (void)state;
    enum traj_scheme k;
    assert_int_equal(traj_scheme_from_name("laser-d", &k), 0);
    assert_int_equal(k, SCHEME_LASER_D);
    assert_int_equal(traj_scheme_from_name("rubric", &k), 0);
    assert_int_equal(k, SCHEME_RUBRIC);
    assert_int_equal(traj_scheme_from_name("grpo", &k), -1);
    for (int i = 0; i < N_SCHEMES; i++) {
        assert_int_equal(traj_scheme_from_name(traj_scheme_names[i], &k), 0);
        assert_int_equal(k, i);
    }
}

/* Parses text as a line; returns its rc with the message in err. */
static int line_rc(const char *text, struct traj_line *l, struct sbuf *err)
{
    json_t *j = parse(text);
    int rc = traj_parse_line(j, text, strlen(text), l, err);
    json_decref(j);
    return rc;
}

static void test_parse_line(void **state)
{
    (void)state;
    struct sbuf err = {0};
    struct traj_line l;
    const char *full = "{\"question_id\": 42, \"trajectory_id\": \"t1\", \"policy\": \"p\", "
                       "\"step\": 3, \"selected\": [1, 2], \"response\": \"r\", \"answer\": "
                       "\"a\", \"n_tokens\": 7}";
    json_t *j = parse(full);
    assert_int_equal(traj_parse_line(j, full, strlen(full), &l, &err), PARE_OK);
    assert_string_equal(l.question.p, "42");
    assert_string_equal(l.ext.p, "t1");
    assert_string_equal(l.policy, "p");
    assert_string_equal(l.response, "r");
    assert_string_equal(l.answer, "a");
    assert_true(l.has_step && l.step == 3);
    assert_true(l.has_n_tokens && l.n_tokens == 7);
    assert_int_equal(json_array_size(l.selected), 2);
    traj_line_free(&l);
    json_decref(j);
    /* no trajectory id: "h" and the line's 64-bit hash in hex, the same for the same line */
    const char *a =
        "{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"answer\": null}";
    assert_int_equal(line_rc(a, &l, &err), PARE_OK);
    assert_int_equal(l.ext.len, 17);
    assert_int_equal(l.ext.p[0], 'h');
    char first[18];
    memcpy(first, l.ext.p, 18);
    assert_null(l.answer);
    assert_false(l.has_step || l.has_n_tokens);
    traj_line_free(&l);
    assert_int_equal(line_rc(a, &l, &err), PARE_OK);
    assert_string_equal(l.ext.p, first);
    traj_line_free(&l);
    const char *b = "{\"question_id\": \"q\", \"selected\": [], \"response\": \"y\"}";
    assert_int_equal(line_rc(b, &l, &err), PARE_OK);
    assert_string_not_equal(l.ext.p, first);
    traj_line_free(&l);
    sbuf_free(&err);
}

static void test_parse_line_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"question_id\": 1.5, \"selected\": [], \"response\": \"x\"}",
         "field 'question_id' must be a string or an integer"},
        {"{\"selected\": [], \"response\": \"x\"}",
         "field 'question_id' must be a string or an integer"},
        {"{\"question_id\": \"q\", \"selected\": []}",
         "missing required field 'response' (a string)"},
        {"{\"question_id\": \"q\", \"selected\": 3, \"response\": \"x\"}",
         "field 'selected' must be an array of passage ids"},
        {"{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"answer\": 3}",
         "field 'answer' must be a string"},
        {"{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"n_tokens\": -1}",
         "field 'n_tokens' must be a whole number from 0 to 10000000"},
        {"{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"n_tokens\": 10000001}",
         "field 'n_tokens' must be a whole number from 0 to 10000000"},
        {"{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"step\": \"2\"}",
         "field 'step' must be a whole number"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct sbuf err = {0};
        struct traj_line l;
        assert_int_equal(line_rc(bad[i][0], &l, &err), PARE_EINPUT);
        assert_string_equal(err.p, bad[i][1]);
        traj_line_free(&l);
        sbuf_free(&err);
    }
}

static int64_t cand4[] = {1, 2, 3, 4}, mem2[] = {1, 2};
static char norm_paris[] = "paris";

/* A question with candidates 1-4, minimal set {1, 2}, answer "Paris" (alias "City of Light"). */
static struct traj_question paris(void)
{
    struct traj_question q = {0};
    q.qid = 5;
    q.cand = cand4;
    q.nc = 4;
    q.mem = mem2;
    q.nm = 2;
    q.golds = parse("[\"Paris\", \"City of Light\"]");
    q.norm_gold = norm_paris;
    return q;
}

static int exists_9(void *ud, int64_t id)
{
    (void)ud;
    return id == 666 ? -1 : id == 9;
}

static void expect_selected(const char *sel, int rc, const char *msg)
{
    struct traj_question q = paris();
    json_t *j = parse(sel);
    struct sbuf err = {0};
    int64_t *ids;
    int n;
    assert_int_equal(traj_check_selected(j, &q, exists_9, NULL, &ids, &n, &err), rc);
    if (msg) assert_string_equal(err.p, msg);
    if (rc == PARE_OK) assert_int_equal(n, (int)json_array_size(j));
    free(ids);
    sbuf_free(&err);
    json_decref(j);
    json_decref(q.golds);
}

static void test_check_selected(void **state)
{
    (void)state;
    expect_selected("[1, 2]", PARE_OK, NULL);
    expect_selected("[]", PARE_OK, NULL);
    expect_selected("[4, 9]", PARE_OK, NULL); /* 9: no candidate, but a passage */
    expect_selected("[1, \"2\"]", PARE_EINPUT, "selected[1] must be a passage id (an integer)");
    expect_selected("[3, 1, 3]", PARE_EINPUT, "selected passage 3 appears twice");
    expect_selected("[8]", PARE_EINPUT, "selected passage 8 does not exist");
    expect_selected("[1, 666]", PARE_EFAIL, NULL);
}

/* Measures a line (JSON text) against paris(). */
static struct traj_item measure(const char *text, const int64_t *ids, int n)
{
    struct traj_question q = paris();
    struct sbuf err = {0};
    struct traj_line l;
    json_t *j = parse(text);
    assert_int_equal(traj_parse_line(j, text, strlen(text), &l, &err), PARE_OK);
    char *answer = traj_answer(&l);
    struct traj_item it;
    traj_measure(&q, &l, answer, ids, n, &it);
    free(answer);
    traj_line_free(&l);
    json_decref(j);
    json_decref(q.golds);
    sbuf_free(&err);
    return it;
}

static void test_measure(void **state)
{
    (void)state;
    const int64_t s123[] = {1, 2, 3}, s19[] = {1, 9};
    /* 7 whitespace tokens; the reasoning before the tag has 6, and its first chunk (4 tokens,
     * up to "Wait,") states the answer: prefix 4/6 */
    struct traj_item it = measure("{\"question_id\": \"q\", \"selected\": [1, 2, 3], \"response\": "
                                  "\"The capital is Paris. Wait, check. <answer>Paris</answer>\"}",
                                  s123, 3);
    assert_int_equal(it.qid, 5);
    assert_true(it.f.valid && it.f.correct);
    NEAR(it.em, 1);
    NEAR(it.f.f1, 1);
    assert_int_equal(it.f.n_selected, 3);
    assert_int_equal(it.f.n_minimal, 2);
    assert_int_equal(it.f.n_overlap, 2);
    NEAR(it.f.length, 7);
    NEAR(it.f.prefix, 4.0 / 6.0);
    assert_false(it.has_rubric);
    /* the answer field wins over the tag, n_tokens over the count; an alias is correct */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1], \"response\": \"<answer>Lyon</answer>\","
        " \"answer\": \"the City of Light\", \"n_tokens\": 50}",
        s123, 1);
    assert_true(it.f.valid && it.f.correct);
    NEAR(it.f.length, 50);
    assert_int_equal(it.f.n_overlap, 1);
    NEAR(it.f.prefix, 1.0); /* no reasoning at all */
    /* a wrong answer: valid, not correct, F1 0 */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1, 2], \"response\": \"<answer>Lyon</answer>\"}",
        s123, 2);
    assert_true(it.f.valid);
    assert_false(it.f.correct);
    NEAR(it.f.f1, 0);
    /* a passage that is no candidate: invalid format, so not correct, though its F1 is 1 */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1, 9], \"response\": \"<answer>Paris</answer>\"}",
        s19, 2);
    assert_false(it.f.valid || it.f.correct);
    NEAR(it.f.f1, 1);
    NEAR(it.em, 0);
    /* no answer: invalid */
    it = measure("{\"question_id\": \"q\", \"selected\": [], \"response\": \"Paris, surely.\"}",
                 NULL, 0);
    assert_false(it.f.valid);
    NEAR(it.f.f1, 0);
    NEAR(it.f.length, 2);
}

static void test_rubric_points(void **state)
{
    (void)state;
    int64_t allowed[] = {1, 2}, answer_passages[] = {2};
    struct traj_rubric_item r[] = {
        {RUBRIC_ANSWER, 4, 0, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 1, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 2, NULL, 0},
        {RUBRIC_NO_EXTRA, 1, 0, allowed, 2},
        {RUBRIC_GROUNDED, 1, 0, answer_passages, 1},
    };
    struct traj_question q = {.rubric = r, .n_rubric = 5};
    const int64_t s12[] = {1, 2}, s13[] = {1, 3}, s2[] = {2};
    NEAR(traj_rubric_points(&q, s12, 2, 1), 10); /* everything */
    NEAR(traj_rubric_points(&q, s13, 2, 1), 6);  /* answer 4 + evidence 1: 2 */
    NEAR(traj_rubric_points(&q, s2, 1, 0), 3);   /* evidence 2: 2 + no extra 1; grounded needs em */
    NEAR(traj_rubric_points(&q, NULL, 0, 1), 5); /* answer 4 + no extra 1: a miracle step */
    q.n_rubric = 0;
    NEAR(traj_rubric_points(&q, s12, 2, 1), 0);
}

static void test_buckets_and_targets(void **state)
{
    (void)state;
    /* question 1: 2 of 3 correct (easy), lengths 100, 200, 300; question 2: 1 of 2 (medium),
     * lengths 500, 70; question 3: 0 of 1 (hard), length 2000 */
    struct traj_item it[6] = {0};
    const int64_t q[] = {1, 2, 1, 3, 2, 1};
    const int ok[] = {1, 0, 1, 0, 1, 0};
    const double len[] = {100, 500, 200, 2000, 70, 300};
    for (int i = 0; i < 6; i++) {
        it[i].qid = q[i];
        it[i].f.correct = ok[i];
        it[i].f.length = len[i];
    }
    int b[6];
    traj_buckets(it, 6, b);
    const int want[] = {0, 1, 0, 2, 1, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(b[i], want[i]);
    double t[3];
    traj_laser_d_targets(it, 6, b, t);
    NEAR(t[0], 128);  /* easy: 1 of 3 must fit (1/5, rounded up): 100 -> 128 */
    NEAR(t[1], 128);  /* medium: 1 of 2: 70 -> 128 */
    NEAR(t[2], 2048); /* hard: all: 2000 -> 2048 */
    traj_buckets(NULL, 0, b);
}

/* Components plus one scheme: the stored text and the value. */
static int reward_text(enum traj_scheme k, const struct traj_item *it, double target, double *v,
                       struct sbuf *out)
{
    const struct traj_params p = {3, 0.3, 1, 0.6, 1024, 0.5, 8192};
    sbuf_reset(out);
    traj_components(it, 2, out);
    return traj_reward(k, it, &p, target, v, out);
}

static void test_components_and_rewards(void **state)
{
    (void)state;
    struct traj_item it = {.f = {1, 0, 0.5, 4, 2, 1, 12, 1.0}};
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
    sbuf_free(&t);
}

/* ---- a scoring run over a small store ---- */

static const char *const world =
    "INSERT INTO datasets VALUES (1, 'd', 'generic', 'x', 't');"
    "INSERT INTO questions VALUES (1, 1, 'q1', 'Capital of France?', '[\"Paris\"]', NULL, NULL);"
    "INSERT INTO passages VALUES (1, NULL, 'France', x'00', 1, 1, x'01'),"
    "  (2, NULL, 'Paris', x'00', 1, 1, x'02'), (3, NULL, 'Lyon', x'00', 1, 1, x'03'),"
    "  (4, NULL, 'Other', x'00', 1, 1, x'04');"
    "INSERT INTO question_passages VALUES (1, 1, 0, 1), (1, 2, 1, 1), (1, 3, 2, 0);"
    "INSERT INTO evidence_sets(id, question_id, judge, method, status, size, judge_calls,"
    " cached_calls, created_at) VALUES (1, 1, 'j', 'loo', 'minimal', 2, 5, 0, 't');"
    "INSERT INTO evidence_members VALUES (1, 1, 0), (1, 2, 1);";

static int take(struct traj_scorer *s, const char *line, struct sbuf *err)
{
    json_t *j = parse(line);
    int rc = traj_scorer_take(s, j, line, strlen(line), err);
    json_decref(j);
    return rc;
}

static double reward_of(struct store *st, const char *ext, const char *scheme)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT r.value FROM rewards r JOIN trajectories t ON "
                                        "t.id = r.trajectory_id WHERE t.ext_id = ?1 AND "
                                        "r.scheme = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, ext, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, scheme, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void test_scorer_run(void **state)
{
    (void)state;
    char *path = tmp_path("traj.db");
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(path, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, world), PARE_OK);
    const struct traj_scope scope = {"loo", NULL, 0};
    const struct traj_params p = {3, 0.3, 1, 0.6, 1024, 0.5, 8192};
    const int on[N_SCHEMES] = {1, 1, 1, 1, 1, 1};
    struct traj_scorer *s = traj_scorer_new(st, &scope, &p, on);
    assert_int_equal(store_begin(st), PARE_OK);
    assert_int_equal(
        take(s,
             "{\"question_id\": \"q1\", \"trajectory_id\": \"a\", \"selected\": [1, 2],"
             " \"response\": \"<answer>Paris</answer>\"}",
             &err),
        PARE_OK);
    assert_int_equal(
        take(s,
             "{\"question_id\": \"q1\", \"trajectory_id\": \"b\", \"selected\": [1, 2, "
             "3], \"response\": \"<answer>Paris</answer>\"}",
             &err),
        PARE_OK);
    assert_int_equal(take(s,
                          "{\"question_id\": \"q1\", \"trajectory_id\": \"c\", \"selected\": [4],"
                          " \"response\": \"<answer>Paris</answer>\"}",
                          &err),
                     PARE_OK); /* passage 4 exists but is no candidate: invalid */
    assert_int_equal(
        take(s, "{\"question_id\": \"q2\", \"selected\": [], \"response\": \"x\"}", &err),
        PARE_EINPUT);
    assert_string_equal(err.p, "unknown question id 'q2'");
    assert_int_equal(take(s,
                          "{\"question_id\": \"q1\", \"trajectory_id\": \"a\", \"selected\": [],"
                          " \"response\": \"x\"}",
                          &err),
                     PARE_EINPUT);
    assert_string_equal(err.p, "duplicate trajectory 'a' of question 'q1'");
    assert_int_equal(traj_scorer_count(s), 3);
    assert_int_equal(traj_scorer_new_count(s), 3);
    assert_int_equal(traj_scorer_rewards(s, &err), PARE_OK);
    assert_int_equal(store_commit(st), PARE_OK);
    NEAR(reward_of(st, "a", "cp1"), 1.0);
    NEAR(reward_of(st, "b", "cp1"), 1.0 - 0.3 * 1 / 5.0); /* one extra of |M| + red = 5 */
    NEAR(reward_of(st, "b", "cp2"), 1.0 - 0.6 * 1 / 3.0);
    NEAR(reward_of(st, "c", "cp1"), -1.0);
    NEAR(reward_of(st, "a", "laser"), 1.5);
    /* 2 of 3 correct: easy; the easy target fits 1 of 3 lengths (1 token): 64 */
    NEAR(reward_of(st, "a", "laser-d"), 1.5);
    traj_scorer_free(s);
    store_close(st);
    sbuf_free(&err);
    unlink(path);
    free(path);
    path = tmp_path("traj.db-wal");
    unlink(path);
    free(path);
    path = tmp_path("traj.db-shm");
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_names),
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_parse_line_errors),
        cmocka_unit_test(test_check_selected),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_rubric_points),
        cmocka_unit_test(test_buckets_and_targets),
        cmocka_unit_test(test_components_and_rewards),
        cmocka_unit_test(test_scorer_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
