/* test_text.c - UTF-8 measures. */
#include "helpers.h"

#include "pipeline/text.h"

static void test_utf8_chars(void **state)
{
    (void)state;
    size_t bad = 99;
    assert_int_equal(text_utf8_chars("abc", 3, &bad), 3);
    assert_int_equal(text_utf8_chars("\xc3\xa9t\xc3\xa9", 5, &bad), 3); /* été */
    assert_int_equal(text_utf8_chars("\xe2\x80\x93", 3, &bad), 1);      /* en dash */
    assert_int_equal(text_utf8_chars("ab\xff", 3, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(text_utf8_chars("\xc3", 1, &bad), -1); /* cut sequence */
    assert_int_equal(bad, 0);
    assert_int_equal(text_utf8_chars("", 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
