/* test_trajectory.c - trajectory lines, their measurements, rubric points, LASER-D buckets and
 * the reward of every scheme on hand-computed cases; then a scoring run over a small store. */
#include "helpers.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "common/jsonfast.h"
#include "pipeline/trajectory.h"
#include "pipeline/trajectory_impl.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    return j;
}

/* Parses text as a line; returns its rc with the message in err. */
static int line_rc(const char *text, struct traj_line *l, struct sbuf *err)
{
    json_t *j = parse(text);
    int rc = traj_parse_line(j, text, strlen(text), l, err);
    json_decref(j);
    return rc;
}

/* As line_rc, keeping the record (which the line points into) in *keep for the caller to free. */
static int line_keep(const char *text, struct traj_line *l, struct sbuf *err, json_t **keep)
{
    *keep = parse(text);
    return traj_parse_line(*keep, text, strlen(text), l, err);
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
    assert_false(l.default_ext);
    traj_line_free(&l);
    json_decref(j);
    /* no trajectory id: "h" and the line's 64-bit hash in hex, the same for the same line */
    const char *a =
        "{\"question_id\": \"q\", \"selected\": [], \"response\": \"x\", \"answer\": null}";
    assert_int_equal(line_rc(a, &l, &err), PARE_OK);
    assert_int_equal(l.ext.len, 17);
    assert_int_equal(l.ext.p[0], 'h');
    assert_true(l.default_ext);
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
         "missing required field 'question_id' (or the exported ground truth: 'gts', "
         "'ground_truth' or 'label')"},
        {"{\"gts\": {\"answers\": []}, \"output\": \"x\"}",
         "the ground truth in 'gts' names no question ('question_id' and 'dataset'): export the "
         "rows again with this pare"},
        {"{\"label\": \"not json\", \"response\": \"x\"}",
         "field 'label' must be the ground truth of an exported row (an object or its JSON text)"},
        {"{\"gts\": {\"question_id\": \"q\"}, \"output\": 3}", "field 'output' must be a string"},
        {"{\"question_id\": \"q\", \"trajectory_id\": [1], \"response\": \"x\"}",
         "field 'trajectory_id' must be a string or an integer"},
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

static void test_trainer_lines(void **state)
{
    (void)state;
    struct sbuf err = {0};
    struct traj_line l;
    /* verl's rollout dump: the ground truth under gts, the response under output */
    const char *verl = "{\"input\": \"p\", \"output\": \"<answer>a</answer>\", \"gts\": "
                       "{\"question_id\": \"q7\", \"dataset\": \"d\", \"answers\": [\"a\"]}, "
                       "\"score\": 0.5, \"step\": 4}";
    json_t *j;
    assert_int_equal(line_keep(verl, &l, &err, &j), PARE_OK);
    assert_string_equal(l.question.p, "q7");
    assert_string_equal(l.dataset, "d");
    assert_string_equal(l.response, "<answer>a</answer>");
    assert_null(l.selected);
    assert_true(l.has_step && l.step == 4);
    assert_true(l.has_score && l.score == 0.5);
    assert_true(l.default_ext);
    traj_line_free(&l);
    json_decref(j);
    /* OpenRLHF's label is JSON text; an integer question id reads as text */
    const char *orl = "{\"label\": \"{\\\"question_id\\\": 12, \\\"dataset\\\": null}\", "
                      "\"response\": \"r\", \"trajectory_id\": 5}";
    assert_int_equal(line_keep(orl, &l, &err, &j), PARE_OK);
    assert_string_equal(l.question.p, "12");
    assert_null(l.dataset);
    assert_string_equal(l.ext.p, "5");
    traj_line_free(&l);
    json_decref(j);
    sbuf_free(&err);
}

/* The selection of a line (JSON text): rc, the ids, whether it was stated. */
static void expect_selection(const char *text, int rc, const char *msg, int stated,
                             const int64_t *want, int nwant)
{
    struct sbuf err = {0};
    struct traj_line l;
    json_t *j;
    assert_int_equal(line_keep(text, &l, &err, &j), PARE_OK);
    int64_t *ids;
    int n = -1, st = -1;
    assert_int_equal(traj_selection(&l, &ids, &n, &st, &err), rc);
    if (msg) assert_string_equal(err.p, msg);
    if (rc == PARE_OK) {
        assert_int_equal(st, stated);
        assert_int_equal(n, nwant);
        for (int i = 0; i < n; i++) assert_int_equal(ids[i], want[i]);
    }
    free(ids);
    traj_line_free(&l);
    json_decref(j);
    sbuf_free(&err);
}

static void test_selection(void **state)
{
    (void)state;
    const int64_t a[] = {1, 2}, b[] = {3, 1, 3}, c[] = {7, 12};
    expect_selection("{\"question_id\": 1, \"selected\": [1, 2], \"response\": \"x\"}", PARE_OK,
                     NULL, 1, a, 2);
    /* a passage listed twice is the policy's mistake, read as it is */
    expect_selection("{\"question_id\": 1, \"selected\": [3, 1, 3], \"response\": \"x\"}", PARE_OK,
                     NULL, 1, b, 3);
    expect_selection("{\"question_id\": 1, \"selected\": [], \"response\": \"x\"}", PARE_OK, NULL,
                     1, NULL, 0);
    expect_selection("{\"question_id\": 1, \"selected\": [1, \"2\"], \"response\": \"x\"}",
                     PARE_EINPUT, "selected[1] must be a passage id (an integer)", 0, NULL, 0);
    /* no "selected": the response's <evidence> tag, or nothing stated */
    expect_selection("{\"question_id\": 1, \"response\": \"<evidence>[7], 12</evidence> "
                     "<answer>x</answer>\"}",
                     PARE_OK, NULL, 1, c, 2);
    expect_selection("{\"question_id\": 1, \"response\": \"<answer>x</answer>\"}", PARE_OK, NULL, 0,
                     NULL, 0);
    expect_selection("{\"question_id\": 1, \"response\": \"<evidence>the first</evidence>\"}",
                     PARE_OK, NULL, 0, NULL, 0);
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

/* Measures a line (JSON text) against paris(), its selection as traj_selection reads it. */
static struct traj_item measure(const char *text)
{
    struct traj_question q = paris();
    struct sbuf err = {0};
    struct traj_line l;
    json_t *j = parse(text);
    assert_int_equal(traj_parse_line(j, text, strlen(text), &l, &err), PARE_OK);
    int64_t *ids;
    int n, stated;
    assert_int_equal(traj_selection(&l, &ids, &n, &stated, &err), PARE_OK);
    char *answer = traj_answer(&l);
    struct traj_item it;
    traj_measure(&q, &l, answer, ids, n, stated, &it);
    free(ids);
    free(answer);
    traj_line_free(&l);
    json_decref(j);
    json_decref(q.golds);
    sbuf_free(&err);
    return it;
}

/* A string field of two lines' readings: both NULL or equal. */
static void same_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/*
 * The cJSON path (trajectory_fast.c) takes a line only when the jansson path accepts it, and then
 * reads the same fields and selection; `fast` says whether it must take the line (ordinary lines
 * must not all fall back to jansson).
 */
static void check_tree_line(const char *text, int fast)
{
    size_t len = strlen(text);
    struct traj_line want, got;
    struct sbuf err = {0};
    int64_t *wids = NULL, *gids = NULL;
    int wn = 0, gn = 0, wstated = 0, gstated = 0;
    json_t *j = parse(text);
    int wrc = traj_parse_line(j, text, len, &want, &err);
    if (wrc == PARE_OK) wrc = traj_selection(&want, &wids, &wn, &wstated, &err);
    struct jsonfast_arena a = {0};
    const cJSON *t = traj_numbers_exact(text, len) ? jsonfast_tree_in(&a, text, len) : NULL;
    int took = t && traj_tree_line(t, text, len, &got, &gids, &gn, &gstated) == 0;
    if (took != fast) fail_msg("fast path %s: %s", took ? "took" : "left", text);
    if (took) {
        assert_int_equal(wrc, PARE_OK);
        assert_string_equal(sbuf_str(&got.question), sbuf_str(&want.question));
        assert_string_equal(sbuf_str(&got.ext), sbuf_str(&want.ext));
        assert_int_equal(got.default_ext, want.default_ext);
        assert_null(got.dataset);
        same_str(got.response, want.response);
        same_str(got.answer, want.answer);
        same_str(got.policy, want.policy);
        assert_int_equal(got.has_step, want.has_step);
        assert_int_equal(got.step, want.step);
        assert_int_equal(got.has_n_tokens, want.has_n_tokens);
        assert_int_equal(got.n_tokens, want.n_tokens);
        assert_int_equal(got.has_score, want.has_score);
        assert_true(got.score == want.score);
        assert_int_equal(gn, wn);
        assert_int_equal(gstated, wstated);
        for (int i = 0; i < gn; i++) assert_int_equal(gids[i], wids[i]);
        traj_line_free(&got);
    }
    traj_line_free(&want);
    free(wids);
    free(gids);
    json_decref(j);
    jsonfast_arena_free(&a);
    sbuf_free(&err);
}

static void test_tree_line(void **state)
{
    (void)state;
    /* taken: pare's own lines, every field, integers only */
    check_tree_line("{\"question_id\": \"q1\", \"trajectory_id\": \"t1\", \"step\": 3, "
                    "\"selected\": [7, -8, 123456789012345], \"response\": \"a. b e1.5 <answer>x"
                    "</answer>\", \"policy\": \"p\", \"n_tokens\": 10000000, \"score\": -2}",
                    1);
    check_tree_line("{\"question_id\": 42, \"trajectory_id\": -0, \"response\": \"r\", "
                    "\"answer\": \"y\\\"1.5\", \"selected\": []}",
                    1);
    check_tree_line("{\"question_id\": \"q\", \"trajectory_id\": null, \"selected\": null, "
                    "\"response\": \"<evidence>[3, 4]</evidence><answer>z</answer>\", "
                    "\"answer\": null, \"policy\": null, \"step\": null, \"n_tokens\": null}",
                    1);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"<evidence>3,,4</evidence>\"}", 1);
    check_tree_line("{\"question_id\": \"q\", \"output\": \"o\", \"extra\": [true, false, {}]}", 1);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"output\": 5}", 1);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"score\": \"high\"}", 1);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"x\\\" 1.5 \\\\\\\" 2e3\"}", 1);
    /* left to jansson: a real or a long integer anywhere, a trainer's line, a wrong type */
    check_tree_line("{\"question_id\": \"q\", \"response\": \"x\\\\\", \"s\": 1.5}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"score\": 0.5}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"step\": 1e2}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"step\": 1.0}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"x\": [1E0]}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"selected\": "
                    "[1234567890123456]}",
                    0);
    check_tree_line("{\"question_id\": 9007199254740993, \"response\": \"r\"}", 0);
    check_tree_line("{\"gts\": {\"question_id\": \"q\"}, \"output\": \"o\"}", 0);
    check_tree_line("{\"question_id\": null, \"response\": \"r\"}", 0);
    check_tree_line("{\"question_id\": [1], \"response\": \"r\"}", 0);
    check_tree_line("{\"question_id\": \"q\", \"trajectory_id\": true, \"response\": \"r\"}", 0);
    check_tree_line("{\"question_id\": \"q\"}", 0);
    check_tree_line("{\"question_id\": \"q\", \"output\": 5}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"selected\": [\"x\"]}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"selected\": {}}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"answer\": 1}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"policy\": 1}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"step\": \"1\"}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"n_tokens\": -1}", 0);
    check_tree_line("{\"question_id\": \"q\", \"response\": \"r\", \"n_tokens\": 10000001}", 0);
    check_tree_line("{\"Question_id\": \"q\", \"question_id\": \"q\", \"Response\": 1, "
                    "\"response\": \"r\"}",
                    1);
}

static void test_measure(void **state)
{
    (void)state;
    /* 7 whitespace tokens; the reasoning before the tag has 6, and its first chunk (4 tokens,
     * up to "Wait,") states the answer: prefix 4/6 */
    struct traj_item it = measure("{\"question_id\": \"q\", \"selected\": [1, 2, 3], \"response\": "
                                  "\"The capital is Paris. Wait, check. <answer>Paris</answer>\"}");
    assert_int_equal(it.qid, 5);
    assert_true(it.m.f.valid && it.m.f.correct);
    NEAR(it.m.em, 1);
    NEAR(it.m.f.f1, 1);
    assert_int_equal(it.m.f.n_selected, 3);
    assert_int_equal(it.m.f.n_minimal, 2);
    assert_int_equal(it.m.f.n_overlap, 2);
    NEAR(it.m.f.length, 7);
    NEAR(it.m.f.prefix, 4.0 / 6.0);
    assert_false(it.m.has_rubric);
    /* the answer field wins over the tag, n_tokens over the count; an alias is correct */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1], \"response\": \"<answer>Lyon</answer>\","
        " \"answer\": \"the City of Light\", \"n_tokens\": 50}");
    assert_true(it.m.f.valid && it.m.f.correct);
    NEAR(it.m.f.length, 50);
    assert_int_equal(it.m.f.n_overlap, 1);
    NEAR(it.m.f.prefix, 1.0); /* no reasoning at all */
    /* a wrong answer: valid, not correct, F1 0 */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1, 2], \"response\": \"<answer>Lyon</answer>\"}");
    assert_true(it.m.f.valid);
    assert_false(it.m.f.correct);
    NEAR(it.m.f.f1, 0);
    /* a passage that is no candidate: invalid format, so not correct, though its F1 is 1 */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1, 9], \"response\": \"<answer>Paris</answer>\"}");
    assert_false(it.m.f.valid || it.m.f.correct);
    NEAR(it.m.f.f1, 1);
    NEAR(it.m.em, 0);
    /* a passage listed twice: invalid; the member counts once towards coverage */
    it = measure(
        "{\"question_id\": \"q\", \"selected\": [1, 1], \"response\": \"<answer>Paris</answer>\"}");
    assert_false(it.m.f.valid);
    assert_int_equal(it.m.f.n_selected, 2);
    assert_int_equal(it.m.f.n_overlap, 1);
    /* the selection from the evidence tag; no tag at all is an invalid format */
    it = measure("{\"question_id\": \"q\", \"response\": \"<evidence>2, 1</evidence> "
                 "<answer>Paris</answer>\"}");
    assert_true(it.m.f.valid && it.m.f.correct);
    assert_int_equal(it.m.f.n_overlap, 2);
    it = measure("{\"question_id\": \"q\", \"response\": \"<answer>Paris</answer>\"}");
    assert_false(it.m.f.valid);
    /* no answer: invalid */
    it = measure("{\"question_id\": \"q\", \"selected\": [], \"response\": \"Paris, surely.\"}");
    assert_false(it.m.f.valid);
    NEAR(it.m.f.f1, 0);
    NEAR(it.m.f.length, 2);
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
        it[i].m.f.correct = ok[i];
        it[i].m.f.length = len[i];
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

/* Scores the line with the given schemes in one transaction; the scorer's count of lines of
 * other shards' questions goes to *other. */
static void score_once(struct store *st, const int on[N_SCHEMES], const char *line, int64_t *other)
{
    const struct traj_scope scope = {"loo", NULL, NULL, 0};
    struct sbuf err = {0};
    struct traj_scorer *s = traj_scorer_new(st, &scope, &reward_defaults, on);
    assert_int_equal(store_begin(st), PARE_OK);
    assert_int_equal(take(s, line, &err), PARE_OK);
    assert_int_equal(traj_scorer_rewards(s, &err), PARE_OK);
    assert_int_equal(store_commit(st), PARE_OK);
    *other = traj_scorer_other_count(s);
    traj_scorer_free(s);
    sbuf_free(&err);
}

static int64_t count_of(struct store *st, const char *sql)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    int64_t n = -1;
    assert_non_null(s);
    assert_int_equal(store_int(st, s, &n), 1);
    return n;
}

static void no_shard(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 0);
}

/* A trajectory scored again after its minimal set changed: the schemes scored again take the
 * new measure on the row, the others keep their old rows whole in rewards_extra until they are
 * scored again. A line of another shard's question is checked and left alone. */
static void test_scorer_rescore_and_shard(void **state)
{
    (void)state;
    char *path = tmp_path("rescore.db");
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(path, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, world), PARE_OK);
    const char *line = "{\"question_id\": \"q1\", \"trajectory_id\": \"a\", \"selected\": [1, 2],"
                       " \"response\": \"<answer>Paris</answer>\"}";
    const int all[N_SCHEMES] = {1, 1, 1, 1, 1, 1}, cp1[N_SCHEMES] = {1};
    int64_t other;
    score_once(st, all, line, &other);
    assert_int_equal(other, 0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards"), 5); /* no rubric */
    assert_int_equal(count_of(st, "SELECT count(*) FROM trajectory_rewards"), 1);
    NEAR(reward_of(st, "a", "cp1"), 1.0);
    /* the minimal set loses passage 2: a redundant pick now */
    assert_int_equal(store_exec(st, "DELETE FROM evidence_members WHERE passage_id = 2"), PARE_OK);
    score_once(st, cp1, line, &other);
    NEAR(reward_of(st, "a", "cp1"), 1.0 - 0.3 * 1 / 4.0);
    NEAR(reward_of(st, "a", "cp2"), 1.0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards_extra"), 4);
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards WHERE scheme = 'cp2' AND "
                                  "json_extract(components, '$.minimal') = 2"),
                     1);
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards WHERE scheme = 'cp1' AND "
                                  "json_extract(components, '$.minimal') = 1 AND "
                                  "json_extract(components, '$.red') = 3"),
                     1);
    score_once(st, all, line, &other); /* every scheme again: all on the row */
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards_extra"), 0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM rewards"), 5);
    NEAR(reward_of(st, "a", "cp2"), 1.0 - 0.6 * 1 / 2.0);
    /* under a shard that does not hold q1: checked, counted, not stored */
    assert_int_equal(sqlite3_create_function(store_db(st), "pare_in_shard", 1, SQLITE_UTF8, NULL,
                                             no_shard, NULL, NULL),
                     SQLITE_OK);
    score_once(st, all,
               "{\"question_id\": \"q1\", \"trajectory_id\": \"z\", \"selected\": [1],"
               " \"response\": \"<answer>Paris</answer>\"}",
               &other);
    assert_int_equal(other, 1);
    assert_int_equal(count_of(st, "SELECT count(*) FROM trajectories WHERE ext_id = 'z'"), 0);
    store_close(st);
    sbuf_free(&err);
    const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        struct sbuf f = {0};
        sbuf_addf(&f, "%s%s", path, suffix[i]);
        unlink(f.p);
        sbuf_free(&f);
    }
    free(path);
}

static void test_scorer_run(void **state)
{
    (void)state;
    char *path = tmp_path("traj.db");
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(path, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, world), PARE_OK);
    const struct traj_scope scope = {"loo", NULL, NULL, 0};
    const struct reward_params p = {3, 0.3, 1, 0.6, 1024, 0.5, 8192};
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
    /* a policy's mistakes are invalid formats, not bad input: a passage twice, one that does
     * not exist; the same line twice without an id is two rollouts (a group may repeat one) */
    const char *twice = "{\"question_id\": \"q1\", \"selected\": [1, 1], \"response\": "
                        "\"<answer>Paris</answer>\"}";
    assert_int_equal(take(s, twice, &err), PARE_OK);
    assert_int_equal(take(s, twice, &err), PARE_OK);
    assert_int_equal(take(s,
                          "{\"question_id\": \"q1\", \"trajectory_id\": \"e\", \"selected\": [99],"
                          " \"response\": \"<answer>Paris</answer>\"}",
                          &err),
                     PARE_OK);
    /* a verl rollout dump line: the question from gts, the selection from the evidence tag */
    const char *dump = "{\"input\": \"p\", \"output\": \"<evidence>1, 2</evidence> "
                       "<answer>Paris</answer>\", \"gts\": {\"question_id\": \"q1\", \"dataset\": "
                       "\"d\"}, \"score\": 1.0, \"step\": 2}";
    assert_int_equal(take(s, dump, &err), PARE_OK);
    assert_int_equal(take(s,
                          "{\"output\": \"x\", \"gts\": {\"question_id\": \"q1\", \"dataset\": "
                          "\"zz\"}}",
                          &err),
                     PARE_EINPUT);
    assert_string_equal(err.p, "unknown question id 'q1' in dataset 'zz'");
    assert_int_equal(traj_scorer_count(s), 7);
    assert_int_equal(traj_scorer_new_count(s), 7);
    assert_int_equal(traj_scorer_rewards(s, &err), PARE_OK);
    assert_int_equal(store_commit(st), PARE_OK);
    NEAR(reward_of(st, "a", "cp1"), 1.0);
    NEAR(reward_of(st, "b", "cp1"), 1.0 - 0.3 * 1 / 5.0); /* one extra of |M| + red = 5 */
    NEAR(reward_of(st, "b", "cp2"), 1.0 - 0.6 * 1 / 3.0);
    NEAR(reward_of(st, "c", "cp1"), -1.0);
    NEAR(reward_of(st, "e", "cp1"), -1.0);
    NEAR(reward_of(st, "a", "laser"), 1.5);
    /* 3 of 7 correct: medium; its target fits 4 of 7 lengths (1 or 2 tokens): 64 */
    NEAR(reward_of(st, "a", "laser-d"), 1.5);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT t.ext_id, r.value, t.selected, t.step, t.meta "
                                        "FROM trajectories t JOIN rewards r ON r.trajectory_id "
                                        "= t.id AND r.scheme = 'cp1' WHERE t.ext_id LIKE 'h%' "
                                        "ORDER BY t.id",
                                        -1, &q, NULL),
                     SQLITE_OK);
    const char *const want_sel[] = {"[1,1]", "[1,1]", "[1,2]"};
    const double want_v[] = {-1, -1, 1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        const char *ext = (const char *)sqlite3_column_text(q, 0);
        assert_int_equal(strlen(ext), i == 1 ? 19 : 17); /* the repeat is "h<hash>-2" */
        if (i == 1) assert_string_equal(ext + 17, "-2");
        NEAR(sqlite3_column_double(q, 1), want_v[i]);
        assert_string_equal((const char *)sqlite3_column_text(q, 2), want_sel[i]);
    }
    assert_int_equal(sqlite3_column_int(q, 3), 2);
    assert_string_equal((const char *)sqlite3_column_text(q, 4), "{\"score\":1}");
    sqlite3_finalize(q);
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
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_parse_line_errors),
        cmocka_unit_test(test_trainer_lines),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_tree_line),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_buckets_and_targets),
        cmocka_unit_test(test_scorer_run),
        cmocka_unit_test(test_scorer_rescore_and_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
