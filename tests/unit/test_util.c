/* test_util.c - string buffers, growth, paths. */
#include "helpers.h"

#include "common/util.h"

static void test_sbuf(void **state)
{
    (void)state;
    struct sbuf b = {0};
    assert_string_equal(sbuf_str(&b), "");
    sbuf_adds(&b, "ab");
    sbuf_addc(&b, 'c');
    sbuf_addf(&b, "%d-%s", 12, "x");
    assert_string_equal(b.p, "abc12-x");
    assert_int_equal(b.len, 7);
    /* long formatted text: no fixed buffer anywhere */
    struct sbuf big = {0};
    for (int i = 0; i < 100000; i++) sbuf_addc(&big, 'y');
    sbuf_setf(&b, "<%s>", big.p);
    assert_int_equal(b.len, 100002);
    sbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    char *d = sbuf_detach(&big);
    assert_null(big.p);
    assert_int_equal(strlen(d), 100000);
    free(d);
    sbuf_free(&b);
    /* context goes in front of an error, on an empty buffer too */
    struct sbuf e = {0};
    sbuf_prependf(&e, "passage %d: ", 7);
    assert_string_equal(e.p, "passage 7: ");
    sbuf_setf(&e, "corrupt");
    sbuf_prependf(&e, "passage %d: ", 8);
    assert_string_equal(e.p, "passage 8: corrupt");
    assert_int_equal(e.len, 18);
    sbuf_free(&e);
}

static void test_grow(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 1000; i++) {
        xgrow((void **)&a, &cap, i + 1, sizeof *a);
        a[i] = (int)i;
    }
    assert_true(cap >= 1000);
    assert_int_equal(a[999], 999);
    free(a);
}

static void test_paths(void **state)
{
    (void)state;
    char *s = path_stem("/data/hotpotqa/dev500_ircot.jsonl.gz");
    assert_string_equal(s, "dev500_ircot");
    free(s);
    s = path_stem("train.json");
    assert_string_equal(s, "train");
    free(s);
    s = path_join("a/", "b");
    assert_string_equal(s, "a/b");
    free(s);
    s = path_join("a", "b");
    assert_string_equal(s, "a/b");
    free(s);
    s = exe_dir();
    assert_true(strlen(s) > 0);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
