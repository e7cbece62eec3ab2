/* test_judge_exec.c - the exec judge's reply parser: what it accepts and how it says what not. */
#include "helpers.h"

#include "pipeline/judge_exec.h"

static int parse(const char *line, struct jdone *d, struct sbuf *err)
{
    memset(d, 0, sizeof *d);
    d->verdict = JUDGE_ERROR;
    return exec_parse_reply(line, strlen(line), "7:0003:1", d, err);
}

static void test_replies(void **state)
{
    (void)state;
    struct jdone d;
    struct sbuf err = {0};
    assert_int_equal(
        parse("{\"id\":\"7:0003:1\",\"sufficient\":true,\"answer\":\"Ann\"}", &d, &err), PARE_OK);
    assert_int_equal(d.verdict, JUDGE_SUFFICIENT);
    assert_string_equal(d.answer, "Ann");
    free(d.answer);
    assert_int_equal(parse("{\"id\":\"7:0003:1\",\"sufficient\":false}", &d, &err), PARE_OK);
    assert_int_equal(d.verdict, JUDGE_INSUFFICIENT);
    assert_null(d.answer);
    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"", "not a JSON object"},
        {"[true]", "not a JSON object"},
        {"{\"id\":\"7:0003:1\",\"sufficient\":\"yes\"}", "without a boolean 'sufficient'"},
        {"{\"id\":\"7:0003:2\",\"sufficient\":true}", "for another id"},
        {"{\"id\":7,\"sufficient\":true}", "for another id"},
        {"{\"id\":\"7:0003:1\",\"sufficient\":true,\"answer\":3}", "not a string"},
        /* a repeated key is out of protocol, whichever value would have won */
        {"{\"id\":\"7:0003:1\",\"sufficient\":true,\"sufficient\":false}", "not a JSON object"},
        /* what the judge said is quoted, escaped for the terminal */
        {"\x1b]0;owned\x07 garbage", ": \\x1b]0;owned\\x07 garbage"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(parse(bad[i].line, &d, &err), PARE_EINPUT);
        assert_int_equal(d.verdict, JUDGE_ERROR);
        assert_contains(sbuf_str(&err), bad[i].msg);
    }
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
