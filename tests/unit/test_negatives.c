/* test_negatives.c - answer kinds, wrong answers that are never gold, the 10-point rubric and
 * the five kinds of negatives on a small hand-made question. */
#include "helpers.h"

#include <math.h>

#include "pipeline/negatives.h"

static void test_answer_kind(void **state)
{
    (void)state;
    assert_int_equal(answer_kind("yes"), AK_YESNO);
    assert_int_equal(answer_kind("No."), AK_YESNO);
    assert_int_equal(answer_kind("July 4, 1776"), AK_DATE); /* a month */
    assert_int_equal(answer_kind("in 1939 war"), AK_DATE);  /* a year with words */
    assert_int_equal(answer_kind("1998"), AK_NUMBER);       /* a year alone is a number */
    assert_int_equal(answer_kind("12th"), AK_NUMBER);
    assert_int_equal(answer_kind("10.5 million"), AK_NUMBER);
    assert_int_equal(answer_kind("Paris"), AK_ENTITY);
    assert_int_equal(answer_kind(""), AK_ENTITY);
    assert_int_equal(answer_kind(NULL), AK_ENTITY);
}

static void test_wrong_answer_never_gold(void **state)
{
    (void)state;
    struct answer_pool p = {0};
    answer_pool_add(&p, 1, 1, "Paris");
    answer_pool_add(&p, 2, 1, "London");
    answer_pool_add(&p, 3, 1, "yes");
    answer_pool_add(&p, 4, 2, "Berlin");    /* another dataset */
    answer_pool_add(&p, 5, 1, "the paris"); /* an alias of question 1's answer */
    answer_pool_add(&p, 6, 1, "1998");
    json_t *paris = json_pack("[s]", "Paris");
    /* same dataset and kind, not its own, not gold after normalisation: only London */
    for (int i = 0; i < 3; i++) assert_string_equal(answer_pool_wrong(&p, 1, 1, paris), "London");
    json_t *yes = json_pack("[s]", "yes"), *no = json_pack("[s]", "no");
    assert_null(answer_pool_wrong(&p, 3, 1, yes)); /* no other yes/no answer */
    assert_string_equal(answer_pool_wrong(&p, 9, 1, no), "yes");
    json_t *num = json_pack("[s]", "2001");
    assert_string_equal(answer_pool_wrong(&p, 9, 1, num), "1998");
    assert_null(answer_pool_wrong(&p, 9, 3, paris)); /* a dataset with no answers */
    json_decref(paris);
    json_decref(yes);
    json_decref(no);
    json_decref(num);
    answer_pool_free(&p);
    assert_int_equal(p.n, 0);
}

#define P(i, t, x)                                                                                 \
    {                                                                                              \
        i, t, x, sizeof(x) - 1                                                                     \
    }

static const struct jpassage cands[] = {
    P(11, "Shirley Temple", "She served as Chief of Protocol of the United States."),
    P(12, "Corliss Archer", "A radio program."),
    P(13, "Kiss and Tell", "A 1945 film starring Shirley Temple."),
    P(14, "Radio", "Radio is a technology."),
    P(15, "Film", "Film is an art."),
};

static void test_rubric(void **state)
{
    (void)state;
    json_t *answers = json_pack("[s, s]", "Chief of Protocol", "chief of protocol of the US");
    struct jquestion q = {7, "What position?", answers, cands, 5, NULL};
    struct rubric_item it[RUBRIC_MAX_ITEMS];
    int n = rubric_build(&q, (1u << 0) | (1u << 2), it); /* M = {11, 13} */
    assert_int_equal(n, 5);
    const char *kinds[] = {"answer", "evidence", "evidence", "no_extra", "grounded"};
    const double points[] = {4, 2, 2, 1, 1};
    const int64_t pids[] = {0, 11, 13, 0, 0};
    double total = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(it[i].item_no, i + 1);
        assert_string_equal(it[i].kind, kinds[i]);
        assert_true(fabs(it[i].points - points[i]) < 1e-12);
        assert_int_equal(it[i].passage_id, pids[i]);
        total += it[i].points;
    }
    assert_true(fabs(total - 10) < 1e-12);
    assert_contains(it[0].criterion, "Chief of Protocol");
    assert_contains(it[2].criterion, "passage 13 (\"Kiss and Tell\")");
    char *s = json_dumps(it[3].expected, JSON_COMPACT);
    assert_string_equal(s, "{\"allowed\":[11,13]}");
    free(s);
    s = json_dumps(it[4].expected, JSON_COMPACT); /* only passage 11 states the answer */
    assert_string_equal(s, "{\"answer_passages\":[11]}");
    free(s);
    rubric_free(it, n);
    /* a yes/no answer is stated nowhere: every member grounds it */
    json_t *yes = json_pack("[s]", "yes");
    q.answers = yes;
    n = rubric_build(&q, (1u << 1) | (1u << 3), it);
    s = json_dumps(it[n - 1].expected, JSON_COMPACT);
    assert_string_equal(s, "{\"answer_passages\":[12,14]}");
    free(s);
    rubric_free(it, n);
    json_decref(yes);
    json_decref(answers);
}

/* Verdicts from a table of masks; records what was asked and how. */
struct fake {
    uint64_t cached[8];
    int cached_v[8], n_cached;
    uint64_t judged[8];
    int judged_v[8], n_judged;
    uint64_t asked[16];
    int ask[16], n_asked;
};

static int fake_verdict(void *ctx, uint64_t mask, int ask, int *v)
{
    struct fake *f = ctx;
    f->asked[f->n_asked] = mask;
    f->ask[f->n_asked++] = ask;
    *v = JUDGE_ERROR;
    for (int i = 0; i < f->n_cached; i++)
        if (f->cached[i] == mask) *v = f->cached_v[i];
    for (int i = 0; ask && *v == JUDGE_ERROR && i < f->n_judged; i++)
        if (f->judged[i] == mask) *v = f->judged_v[i];
    return PARE_OK;
}

static void test_negatives(void **state)
{
    (void)state;
    json_t *answers = json_pack("[s]", "Chief of Protocol");
    struct jquestion q = {7, "What position?", answers, cands, 5, NULL};
    uint64_t m = (1u << 0) | (1u << 2);
    /* mining cached {13} insufficient; nothing on {11}; the judge finds {11,12,13} sufficient
     * and {12,14} insufficient */
    struct fake f = {{1u << 2},
                     {JUDGE_INSUFFICIENT},
                     1,
                     {0x7, (1u << 1) | (1u << 3)},
                     {JUDGE_SUFFICIENT, JUDGE_INSUFFICIENT},
                     2,
                     {0},
                     {0},
                     0};
    struct negative negs[NEGATIVES_MAX];
    int n = -1;
    assert_int_equal(negatives_build(&q, m, "Mayor", fake_verdict, &f, negs, &n), PARE_OK);
    assert_int_equal(n, 6);
    const enum negative_kind kinds[] = {NEG_DROP_ONE,         NEG_DROP_ONE,     NEG_ADD_DISTRACTOR,
                                        NEG_DISTRACTORS_ONLY, NEG_WRONG_ANSWER, NEG_UNGROUNDED};
    const uint64_t masks[] = {1u << 2, 1u << 0, 0x7, (1u << 1) | (1u << 3), m, 0};
    const char *labels[] = {"insufficient", "insufficient", "sufficient_redundant",
                            "insufficient", "wrong_answer", "miracle_step"};
    const int verified[] = {1, 0, 1, 1, 1, 1};
    const char *ans[] = {NULL, NULL, "Chief of Protocol", NULL, "Mayor", "Chief of Protocol"};
    for (int i = 0; i < n; i++) {
        assert_int_equal(negs[i].kind, kinds[i]);
        assert_int_equal(negs[i].mask, masks[i]);
        assert_string_equal(negs[i].label, labels[i]);
        assert_int_equal(negs[i].verified, verified[i]);
        if (ans[i])
            assert_string_equal(negs[i].answer, ans[i]);
        else
            assert_null(negs[i].answer);
    }
    /* drop_one looks in the cache only; the distractors may ask the judge */
    assert_int_equal(f.n_asked, 4);
    assert_int_equal(f.ask[0] + f.ask[1], 0);
    assert_int_equal(f.ask[2] + f.ask[3], 2);
    /* a failed judge call leaves its negative out; one member: no drop_one; no wrong answer */
    struct fake g = {{0}, {0}, 0, {0}, {0}, 0, {0}, {0}, 0};
    assert_int_equal(negatives_build(&q, 1u << 0, NULL, fake_verdict, &g, negs, &n), PARE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(negs[0].kind, NEG_UNGROUNDED);
    /* every candidate a member: no distractor to add */
    assert_int_equal(negatives_build(&q, 0x1f, NULL, fake_verdict, &g, negs, &n), PARE_OK);
    assert_int_equal(n, 6);
    for (int i = 0; i < 5; i++) assert_int_equal(negs[i].kind, NEG_DROP_ONE);
    assert_string_equal(negative_kind_name(NEG_DISTRACTORS_ONLY), "distractors_only");
    json_decref(answers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_kind),
        cmocka_unit_test(test_wrong_answer_never_gold),
        cmocka_unit_test(test_rubric),
        cmocka_unit_test(test_negatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
