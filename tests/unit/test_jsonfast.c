/* test_jsonfast.c - the fast parser gives jansson's value or leaves the input to jansson. */
#include "helpers.h"

#include <jansson.h>

#include "common/jsonfast.h"
#include "common/util.h"

static json_t *ref(const char *s)
{
    json_error_t je;
    return json_loadb(s, strlen(s), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
}

/* Inputs the fast parser must take, giving exactly jansson's value. */
static void test_takes_what_records_hold(void **state)
{
    (void)state;
    const char *ok[] = {
        "{\"id\":\"p1\",\"title\":\"T\",\"text\":\"Ann built it.\"}",
        "{\"a\":[1,-0,2.5,1e3,-1E-2,9223372036854775807,-9223372036854775808]}",
        "{\"s\":\"\\u00e9 \\ud83d\\ude00 \\\" \\\\ \\/ "
        "\\b\\f\\n\\r\\t\",\"k\\u00e9\":\"\xc3\xa9\"}",
        "  [true, false, null, {}, [], \"\"]\r\n",
        "\"a string\"",
        "12",
        "{\"context\":[[\"T\",[\"s1\",\"s2\"]]],\"supporting_facts\":[[\"T\",0]]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        json_t *f = jsonfast_loadb(ok[i], strlen(ok[i])), *r = ref(ok[i]);
        if (!f) fail_msg("left to jansson: %s", ok[i]);
        assert_non_null(r);
        if (!json_equal(f, r)) fail_msg("differs from jansson: %s", ok[i]);
        json_decref(f);
        json_decref(r);
    }
    /* integers and reals stay apart, as in jansson */
    json_t *v = jsonfast_loadb("[1,1.0]", 7);
    assert_non_null(v);
    assert_true(json_is_integer(json_array_get(v, 0)));
    assert_true(json_is_real(json_array_get(v, 1)));
    json_decref(v);
}

/* Inputs cJSON alone would accept or misread: the fast parser must leave them to jansson. */
static void test_leaves_the_rest_to_jansson(void **state)
{
    (void)state;
    const char *no[] = {
        "{\"a\":1,\"a\":2}",     /* repeated key */
        "\xef\xbb\xbf{\"a\":1}", /* BOM */
        "{\"a\":\"\\u0000\"}",   /* NUL in a string */
        "[01]",
        "[+1]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",                         /* not JSON numbers */
        "{\"a\":\"tab\there\"}",       /* control character in a string */
        " \x01{\"a\":1}",              /* control character as a blank */
        "{\"a\":9223372036854775808}", /* beyond 64 bits */
        "{\"a\":1e999}",               /* real overflow */
        "{\"a\":\"\\uZZZZ\"}",         /* bad escape */
        "\"\\ud800\"",                 /* lone surrogate */
        "{\"a\":\"\xed\xa0\x80\"}",    /* encoded surrogate */
        "{\"a\":\"\xc3\"}",            /* truncated UTF-8 */
        "{\"a\":1} x",                 /* trailing garbage */
        "",
        "   ",
        "{\"a\":tru}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        json_t *f = jsonfast_loadb(no[i], strlen(no[i]));
        if (f) fail_msg("took: %s", no[i]);
    }
    /* a length, not a terminator, ends the text */
    json_t *v = jsonfast_loadb("{\"a\":1}garbage", 7);
    assert_non_null(v);
    json_decref(v);
}

/* Strings long enough for the scan's 16- and 8-byte steps, with what needs a look of its own
 * (an escape, UTF-8, a control character, broken UTF-8) at every place around the steps: the
 * same value as jansson's, or left to jansson where JSON forbids it. */
static void test_long_strings(void **state)
{
    (void)state;
    static const struct {
        const char *piece;
        int ok;
    } pieces[] = {{"\\\"", 1}, {"\\\\", 1}, {"\\u00e9", 1}, {"\xc3\xa9", 1}, {"\xe2\x80\x93", 1},
                  {"\t", 0},   {"\x01", 0}, {"\xc3", 0},    {"\xff", 0},     {"\\q", 0}};
    char buf[256];
    for (size_t p = 0; p < ARRAY_SIZE(pieces); p++) {
        for (int k = 0; k < 40; k++) {
            int n = snprintf(buf, sizeof buf, "{\"a\":\"%.*s%s%.*s\"}", k,
                             "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", pieces[p].piece, 40 - k,
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop");
            json_t *f = jsonfast_loadb(buf, (size_t)n);
            if (!pieces[p].ok) {
                if (f) fail_msg("took: %s", buf);
                continue;
            }
            json_t *r = ref(buf);
            assert_non_null(r);
            if (!f) fail_msg("left to jansson: %s", buf);
            if (!json_equal(f, r)) fail_msg("differs from jansson: %s", buf);
            json_decref(f);
            json_decref(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_what_records_hold),
        cmocka_unit_test(test_leaves_the_rest_to_jansson),
        cmocka_unit_test(test_long_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
