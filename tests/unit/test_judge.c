/* test_judge.c - the lexical judge on small bridge and comparison questions, and cache keys. */
#include "helpers.h"

#include "pipeline/judge.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static struct judge *lexical(void)
{
    struct judge_opts o = {.spec = "lexical", .coverage = 0.8};
    struct judge *j;
    struct sbuf err = {0};
    assert_int_equal(judge_new(&o, &j, &err), PARE_OK);
    sbuf_free(&err);
    return j;
}

static int ask(struct judge *j, struct jquestion *q, uint64_t mask)
{
    judge_submit(j, q, mask, q);
    struct jdone *d = judge_poll(j, 0);
    assert_non_null(d);
    assert_ptr_equal(d->tag, q);
    int v = d->verdict;
    jdone_free(d);
    return v;
}

#define P(i, t, x)                                                                                 \
    {                                                                                              \
        i, t, x, sizeof(x) - 1                                                                     \
    }

static void test_bridge(void **state)
{
    (void)state;
    /* film -> actress -> her office: both gold passages needed, the distractor not */
    const struct jpassage p[] = {
        P(1, "Kiss and Tell (1945 film)",
          "Kiss and Tell is a 1945 American comedy film starring Shirley Temple as Corliss "
          "Archer."),
        P(2, "Shirley Temple",
          "Shirley Temple Black was an American actress who later served as Chief of Protocol of "
          "the United States."),
        P(3, "Meet Corliss Archer",
          "Meet Corliss Archer was a radio program from the Golden Age of radio."),
    };
    struct jquestion q = {10,
                          "What government position was held by the woman who portrayed "
                          "Corliss Archer in the film Kiss and Tell?",
                          json_pack("[s]", "Chief of Protocol"),
                          p,
                          3,
                          NULL};
    struct judge *j = lexical();
    struct sbuf err = {0};
    assert_int_equal(judge_prepare(j, &q, &err), PARE_OK);
    assert_int_equal(ask(j, &q, 0x7), JUDGE_SUFFICIENT);
    assert_int_equal(ask(j, &q, 0x3), JUDGE_SUFFICIENT);   /* the chain */
    assert_int_equal(ask(j, &q, 0x2), JUDGE_INSUFFICIENT); /* answer without the film */
    assert_int_equal(ask(j, &q, 0x1), JUDGE_INSUFFICIENT); /* film without the answer */
    assert_int_equal(ask(j, &q, 0x6), JUDGE_INSUFFICIENT); /* the film named is missing */
    judge_release(j, &q);
    json_decref(q.answers);
    judge_free(j);
    sbuf_free(&err);
}

static void test_comparison_yes_no(void **state)
{
    (void)state;
    const struct jpassage p[] = {
        P(1, "Ed Wood", "Ed Wood was an American filmmaker."),
        P(2, "Scott Derrickson", "Scott Derrickson is an American director."),
        P(3, "Ed Wood (film)", "Ed Wood is a 1994 biographical film by Tim Burton."),
    };
    struct jquestion q = {11,
                          "Were Scott Derrickson and Ed Wood of the same nationality?",
                          json_pack("[s]", "yes"),
                          p,
                          3,
                          NULL};
    struct judge *j = lexical();
    struct sbuf err = {0};
    assert_int_equal(judge_prepare(j, &q, &err), PARE_OK);
    assert_int_equal(ask(j, &q, 0x3), JUDGE_SUFFICIENT); /* both named people */
    assert_int_equal(ask(j, &q, 0x2), JUDGE_INSUFFICIENT);
    assert_int_equal(ask(j, &q, 0x1), JUDGE_INSUFFICIENT);
    judge_release(j, &q);
    json_decref(q.answers);
    judge_free(j);
    sbuf_free(&err);
}

static void test_comparison_needs_both_bridges(void **state)
{
    (void)state;
    /* a comparison through a related entity: both films and both directors' pages */
    const struct jpassage p[] = {
        P(1, "Heinz in the Moon",
          "Heinz in the Moon is a 1934 German comedy film directed by Robert A. Stemmle."),
        P(2, "Gold for the Caesars",
          "Gold for the Caesars is a 1963 peplum film directed by Andre DeToth."),
        P(3, "Robert A. Stemmle",
          "Robert Adolf Stemmle (10 June 1903 - 24 February 1974) was a German film director."),
        P(4, "Andre DeToth",
          "Andre DeToth (May 15, 1913 - October 27, 2002) was a Hungarian-American film director."),
        P(5, "Moon", "The Moon is an astronomical body orbiting Earth."),
    };
    struct jquestion q = {12,
                          "Which film has the director who died earlier, Gold For The Caesars or "
                          "Heinz In The Moon?",
                          json_pack("[s]", "Heinz In The Moon"),
                          p,
                          5,
                          NULL};
    struct judge *j = lexical();
    struct sbuf err = {0};
    assert_int_equal(judge_prepare(j, &q, &err), PARE_OK);
    assert_int_equal(ask(j, &q, 0xf), JUDGE_SUFFICIENT);   /* films and directors */
    assert_int_equal(ask(j, &q, 0x7), JUDGE_INSUFFICIENT); /* one director missing */
    assert_int_equal(ask(j, &q, 0xb), JUDGE_INSUFFICIENT); /* the other one missing */
    assert_int_equal(ask(j, &q, 0xd), JUDGE_INSUFFICIENT); /* a film missing */
    judge_release(j, &q);
    json_decref(q.answers);
    judge_free(j);
    sbuf_free(&err);
}

static void test_answer_own_page(void **state)
{
    (void)state;
    /* the answer is a title: its own page is the answer passage */
    const struct jpassage p[] = {
        P(1, "Andrew Jaspan",
          "Andrew Jaspan is a British-Australian journalist, the co-founder of The Conversation."),
        P(2, "The Conversation (website)",
          "The Conversation is an independent, not-for-profit media outlet."),
        P(3, "Melbourne", "Melbourne is home to The Conversation and other news outlets."),
    };
    struct jquestion q = {13,
                          "Andrew Jaspan was the co-founder of what not-for-profit media outlet?",
                          json_pack("[s]", "The Conversation"),
                          p,
                          3,
                          NULL};
    struct judge *j = lexical();
    struct sbuf err = {0};
    assert_int_equal(judge_prepare(j, &q, &err), PARE_OK);
    assert_int_equal(ask(j, &q, 0x3), JUDGE_SUFFICIENT);
    assert_int_equal(ask(j, &q, 0x1), JUDGE_INSUFFICIENT); /* names it, but not its page */
    assert_int_equal(ask(j, &q, 0x5), JUDGE_INSUFFICIENT); /* another passage naming it */
    judge_release(j, &q);
    json_decref(q.answers);
    judge_free(j);
    sbuf_free(&err);
}

static void test_keys_and_specs(void **state)
{
    (void)state;
    unsigned char a[16], b[16], c[16];
    int64_t ids1[] = {5, 3, 9}, ids2[] = {9, 5, 3};
    judge_key("lexical:v2", 1, ids1, 3, a);
    judge_key("lexical:v2", 1, ids2, 3, b); /* order does not matter */
    assert_memory_equal(a, b, 16);
    judge_key("lexical:v3", 1, ids1, 3, c); /* another judge, another key */
    assert_memory_not_equal(a, c, 16);
    judge_key("lexical:v2", 2, ids1, 3, c); /* another question */
    assert_memory_not_equal(a, c, 16);
    struct judge_opts o = {.spec = "oracle"};
    struct judge *j;
    struct sbuf err = {0};
    assert_int_equal(judge_new(&o, &j, &err), PARE_EUSAGE);
    assert_contains(sbuf_str(&err), "unknown judge 'oracle'");
    sbuf_free(&err);
}

/* A key is xxh128 of the fingerprint with its NUL, the question id and the sorted ids, for a
 * short fingerprint (hashed in one call) and a long one (in steps) alike: keys stored by
 * earlier versions are found again. */
static void test_key_bytes(void **state)
{
    (void)state;
    int64_t ids[JUDGE_MAX_CANDIDATES], sorted[JUDGE_MAX_CANDIDATES];
    for (int i = 0; i < JUDGE_MAX_CANDIDATES; i++) {
        ids[i] = 1000 - 7 * i;
        sorted[JUDGE_MAX_CANDIDATES - 1 - i] = ids[i];
    }
    char longfp[700];
    memset(longfp, 'x', sizeof longfp - 1);
    longfp[sizeof longfp - 1] = '\0';
    const char *fps[] = {"lexical:v3:cov=0.80", longfp};
    int ns[] = {3, JUDGE_MAX_CANDIDATES};
    for (size_t f = 0; f < 2; f++) {
        for (size_t k = 0; k < 2; k++) {
            int n = ns[k];
            int64_t qid = 42;
            size_t lf = strlen(fps[f]) + 1, len = lf + 8 + 8 * (size_t)n;
            unsigned char *buf = malloc(len), key[16];
            assert_non_null(buf);
            memcpy(buf, fps[f], lf);
            memcpy(buf + lf, &qid, 8);
            /* the n ids of the subset, sorted: the last n of `sorted` are ids[0..n) sorted */
            memcpy(buf + lf + 8, sorted + JUDGE_MAX_CANDIDATES - n, 8 * (size_t)n);
            XXH128_canonical_t c;
            XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
            judge_key(fps[f], qid, ids, n, key);
            assert_memory_equal(key, c.digest, 16);
            free(buf);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bridge),
        cmocka_unit_test(test_comparison_yes_no),
        cmocka_unit_test(test_comparison_needs_both_bridges),
        cmocka_unit_test(test_answer_own_page),
        cmocka_unit_test(test_keys_and_specs),
        cmocka_unit_test(test_key_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
