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

/* Issue 15: ids, names and titles with terminal escapes were printed raw. */
static void test_visible(void **state)
{
    (void)state;
    struct sbuf t = {0};
    assert_string_equal(visible(&t, "plain title, caf\xc3\xa9 \xe6\x9d\xb1 C:\\x"),
                        "plain title, caf\xc3\xa9 \xe6\x9d\xb1 C:\\x");
    /* ESC sequences (colour, window title), newline, tab, DEL */
    assert_string_equal(visible(&t, "\x1b[31mred\x1b]0;pwned\x07\nnext\tcol\x7f"),
                        "\\x1b[31mred\\x1b]0;pwned\\x07\\nnext\\tcol\\x7f");
    /* C1 CSI (U+009B) as UTF-8, a raw 0x9b byte (not UTF-8), a bidi override, overlong '/' */
    assert_string_equal(visible(&t, "a\xc2\x9b"
                                    "2Jb\x9b"
                                    "c\xe2\x80\xae"
                                    "d\xc0\xaf"),
                        "a\\u009b2Jb\\x9bc\\u202ed\\xc0\\xaf");
    /* a sequence cut short at the end, a surrogate, NULL */
    assert_string_equal(visible(&t, "x\xe6\x9d"), "x\\xe6\\x9d");
    assert_string_equal(visible(&t, "\xed\xa0\x80"), "\\xed\\xa0\\x80");
    assert_string_equal(visible(&t, NULL), "");
    /* an excerpt: at most max bytes, then "..." */
    sbuf_reset(&t);
    sbuf_add_visible(&t, "abcdef\x1b", 7, 3);
    assert_string_equal(t.p, "abc...");
    sbuf_reset(&t);
    sbuf_add_visible(&t, "a\0b", 3, 10); /* NUL inside counted text */
    assert_string_equal(t.p, "a\\x00b");
    sbuf_free(&t);
}

/* Issue 15: a server echoing the API key in an error body got it stored in judge_calls. */
static void test_redact(void **state)
{
    (void)state;
    struct sbuf b = {0};
    sbuf_adds(&b, "bad key sk-abc123 (sk-abc123)sk-abc12");
    sbuf_redact(&b, "sk-abc123");
    assert_string_equal(b.p, "bad key [redacted] ([redacted])sk-abc12");
    sbuf_setf(&b, "sk-abc123");
    sbuf_redact(&b, "sk-abc123");
    assert_string_equal(b.p, "[redacted]");
    sbuf_setf(&b, "nothing here");
    sbuf_redact(&b, "sk-abc123");
    sbuf_redact(&b, NULL);
    sbuf_redact(&b, "");
    assert_string_equal(b.p, "nothing here");
    sbuf_setf(&b, "sss");
    sbuf_redact(&b, "ss");
    assert_string_equal(b.p, "[redacted]s");
    sbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visible), cmocka_unit_test(test_redact), cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_grow),    cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
