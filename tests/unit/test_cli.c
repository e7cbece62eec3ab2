/* test_cli.c - option tables: defaults, values, errors, help, positional arguments. */
#include "helpers.h"

#include "jobs/cli.h"
#include "common/util.h"

static const char *fmt;
static int flag;
static int64_t num;
static double real;

static const struct opt opts[] = {
    {"format", OPT_STRING, &fmt, "jsonl", "F", "format"},
    {"flag", OPT_FLAG, &flag, NULL, NULL, "a flag"},
    {"num", OPT_INT, &num, "7", "N", "a number"},
    {"real", OPT_DOUBLE, &real, "0.5", "X", "a real"},
    {NULL},
};
static const struct cli cli = {"t", "FILE...", "test", NULL, opts, 1, 2};

static int run(int argc, char **argv, struct pare_ctx *ctx, int *nargs)
{
    char **args;
    flag = 0;
    int rc = cli_parse(&cli, ctx, argc, argv, &args, nargs);
    free(args);
    return rc;
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    struct pare_ctx ctx = {0};
    int n;
    char *a1[] = {"t", "f1"};
    assert_int_equal(run(2, a1, &ctx, &n), PARE_OK);
    assert_string_equal(fmt, "jsonl");
    assert_int_equal(num, 7);
    assert_true(real == 0.5);
    assert_int_equal(n, 1);
    char *a2[] = {"t",    "--format=x", "--num", "-3", "--flag", "--db",
                  "d.db", "--quiet",    "f1",    "--", "--f2"};
    assert_int_equal(run(11, a2, &ctx, &n), PARE_OK);
    assert_string_equal(fmt, "x");
    assert_int_equal(num, -3);
    assert_int_equal(flag, 1);
    assert_string_equal(ctx.db_path, "d.db");
    assert_int_equal(ctx.quiet, 1);
    assert_int_equal(n, 2);
}

static void test_errors(void **state)
{
    (void)state;
    struct pare_ctx ctx = {0};
    int n;
    char *a1[] = {"t", "--num", "abc", "f"};
    assert_int_equal(run(4, a1, &ctx, &n), PARE_EUSAGE);
    char *a2[] = {"t", "--bogus", "f"};
    assert_int_equal(run(3, a2, &ctx, &n), PARE_EUSAGE);
    char *a3[] = {"t"};
    assert_int_equal(run(1, a3, &ctx, &n), PARE_EUSAGE); /* needs a FILE */
    char *a4[] = {"t", "a", "b", "c"};
    assert_int_equal(run(4, a4, &ctx, &n), PARE_EUSAGE); /* at most two */
    char *a5[] = {"t", "f", "--format"};
    assert_int_equal(run(3, a5, &ctx, &n), PARE_EUSAGE); /* value missing */
    char *a6[] = {"t", "f", "--flag=1"};
    assert_int_equal(run(3, a6, &ctx, &n), PARE_EUSAGE);
    char *a7[] = {"t", "--real", "nan", "f"};
    assert_int_equal(run(4, a7, &ctx, &n), PARE_EUSAGE);
    char *a8[] = {"t", "--help"};
    assert_int_equal(run(2, a8, &ctx, &n), CLI_HELP);
}

static void test_number_parsers(void **state)
{
    (void)state;
    int64_t v;
    double d;
    assert_int_equal(cli_parse_int("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(cli_parse_int("", &v), -1);
    assert_int_equal(cli_parse_int("4x", &v), -1);
    assert_int_equal(cli_parse_int("99999999999999999999", &v), -1);
    assert_int_equal(cli_parse_double("1e-3", &d), 0);
    assert_int_equal(cli_parse_double("inf", &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_number_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
