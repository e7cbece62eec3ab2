/* test_text.c - UTF-8 measures, tokens, and SQuAD/HotpotQA answer normalisation with EM/F1. */
#include "helpers.h"

#include <jansson.h>
#include <math.h>

#include "common/text.h"

static void test_utf8_chars(void **state)
{
    (void)state;
    size_t bad = 99;
    assert_int_equal(text_utf8_chars("abc", 3, &bad), 3);
    assert_int_equal(text_utf8_chars("\xc3\xa9t\xc3\xa9", 5, &bad), 3); /* ete with accents */
    assert_int_equal(text_utf8_chars("\xe2\x80\x93", 3, &bad), 1);      /* en dash */
    assert_int_equal(text_utf8_chars("ab\xff", 3, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(text_utf8_chars("\xc3", 1, &bad), -1); /* cut sequence */
    assert_int_equal(bad, 0);
    assert_int_equal(text_utf8_chars("", 0, NULL), 0);
}

/*
 * Expected values produced by the official HotpotQA evaluation functions (normalize_answer,
 * exact_match_score, f1_score of hotpot_evaluate_v1.py) on each pair: prediction, gold,
 * normalised prediction, EM, F1.
 */
static const struct {
    const char *pred, *gold, *norm;
    int em;
    double f1;
} squad[] = {
    {"The Eiffel Tower", "Eiffel Tower", "eiffel tower", 1, 1.000000},
    {"eiffel tower!", "The Eiffel Tower", "eiffel tower", 1, 1.000000},
    {"An apple", "apple", "apple", 1, 1.000000},
    {"a", "", "", 1, 0.000000},
    {"the the the", "", "", 1, 0.000000},
    {"Yes", "yes", "yes", 1, 1.000000},
    {"yes", "no", "yes", 0, 0.000000},
    {"no", "No.", "no", 1, 1.000000},
    {"yes", "yes, it is", "yes", 0, 0.000000},
    {"noanswer", "noanswer", "noanswer", 1, 1.000000},
    {"noanswer", "nothing", "noanswer", 0, 0.000000},
    {"Chief of Protocol", "chief of protocol", "chief of protocol", 1, 1.000000},
    {"U.S.A.", "USA", "usa", 1, 1.000000},
    {"U.S. Army", "US army", "us army", 1, 1.000000},
    {"New York City", "New York", "new york city", 0, 0.800000},
    {"New York", "New York City", "new york", 0, 0.800000},
    {"1 August 1973", "August 1, 1973", "1 august 1973", 0, 1.000000},
    {"$10.5 million", "10.5 million", "105 million", 1, 1.000000},
    {"10,000", "10000", "10000", 1, 1.000000},
    {"Theodore Roosevelt", "Roosevelt", "theodore roosevelt", 0, 0.666667},
    {"the Beatles", "Beatles, The", "beatles", 1, 1.000000},
    {"rock and roll", "rock & roll", "rock and roll", 0, 0.800000},
    {"  lots   of   space ", "lots of space", "lots of space", 1, 1.000000},
    {"Café", "café", "café", 1, 1.000000},
    {"CAFÉ", "café", "café", 1, 1.000000},
    {"École Normale", "école normale", "école normale", 1, 1.000000},
    {"the-end", "theend", "theend", 1, 1.000000},
    {"the – end", "end", "– end", 0, 0.666667},
    {"anthem", "an them", "anthem", 0, 0.000000},
    {"theory", "the ory", "theory", 0, 0.000000},
    {"a.b.c", "abc", "abc", 1, 1.000000},
    {"x y z", "z y x", "x y z", 0, 1.000000},
    {"red red blue", "red blue blue", "red red blue", 0, 0.666667},
    {"Paris", "London", "paris", 0, 0.000000},
    {"", "", "", 1, 0.000000},
    {"", "something", "", 0, 0.000000},
    {"G. Stanley Hall", "Stanley Hall", "g stanley hall", 0, 0.800000},
    {"Stanley Hall", "G. Stanley Hall", "stanley hall", 0, 0.800000},
    {"12th", "12", "12th", 0, 0.000000},
    {"Walt Disney Pictures", "Walt Disney Productions", "walt disney pictures", 0, 0.666667},
    {"(born 1966)", "born 1966", "born 1966", 1, 1.000000},
    {"The University of Oxford", "Oxford University", "university of oxford", 0, 0.800000},
    {"München", "Munchen", "münchen", 0, 0.000000},
    {"O'Neill", "ONeill", "oneill", 1, 1.000000},
    {"1,430", "1430 people", "1430", 0, 0.666667},
};

static void test_squad_official_table(void **state)
{
    (void)state;
    assert_true(ARRAY_SIZE(squad) >= 40);
    struct sbuf n = {0};
    for (size_t i = 0; i < ARRAY_SIZE(squad); i++) {
        text_squad_normalize(squad[i].pred, &n);
        if (strcmp(n.p, squad[i].norm) != 0)
            fail_msg("normalize(\"%s\") = \"%s\", expected \"%s\"", squad[i].pred, n.p,
                     squad[i].norm);
        if (text_em(squad[i].pred, squad[i].gold) != squad[i].em)
            fail_msg("EM(\"%s\", \"%s\") != %d", squad[i].pred, squad[i].gold, squad[i].em);
        double f1 = text_f1(squad[i].pred, squad[i].gold);
        if (fabs(f1 - squad[i].f1) > 1e-6)
            fail_msg("F1(\"%s\", \"%s\") = %f, expected %f", squad[i].pred, squad[i].gold, f1,
                     squad[i].f1);
    }
    sbuf_free(&n);
}

static void test_aliases_and_containment(void **state)
{
    (void)state;
    json_t *golds = json_pack("[s, s]", "G. Stanley Hall", "Stanley Hall");
    assert_int_equal(text_em_any("stanley hall", golds), 1);
    assert_int_equal(text_em_any("Hall", golds), 0);
    assert_true(fabs(text_f1_any("Hall", golds) - 2.0 / 3.0) < 1e-9);
    json_decref(golds);
    assert_int_equal(text_contains_answer("born in new york city in 1950", "new york"), 1);
    assert_int_equal(text_contains_answer("born in new yorkshire", "new york"), 0);
    assert_int_equal(text_contains_answer("anything", ""), 0);
}

static void test_tokens(void **state)
{
    (void)state;
    struct tokens t = {0};
    text_tokenize("The Caf\xc3\xa9 of PARIS, and the cafe!", 33, &t);
    /* stop words dropped; accents and case folded: cafe twice, paris once */
    assert_int_equal(t.n, 3);
    assert_true(t.h[0] == t.h[2]);
    assert_true(t.h[0] == text_token_hash("cafe"));
    assert_true(t.h[1] == text_token_hash("paris"));
    tokens_reset(&t);
    text_words("Kiss and Tell by Shirley Temple in LA", 37, TEXT_CAPITALIZED | TEXT_MIN3, &t);
    assert_int_equal(t.n, 4); /* kiss, tell, shirley, temple: "and", "by", "in" are not capitalised,
                                 LA is too short */
    tokens_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_squad_official_table),
        cmocka_unit_test(test_aliases_and_containment),
        cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
