/* test_endpoint.c - where OpenAI-compatible requests go: --endpoint, OPENAI_BASE_URL, default. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include "common/endpoint.h"
#include "common/http.h"

static void set_env(const char *base, const char *key)
{
    if (base)
        setenv("OPENAI_BASE_URL", base, 1);
    else
        unsetenv("OPENAI_BASE_URL");
    if (key)
        setenv("OPENAI_API_KEY", key, 1);
    else
        unsetenv("OPENAI_API_KEY");
}

/* Resolves flags (or the environment) and returns the URLs joined by spaces, or "ERR: msg". */
static char *resolve(const char *const *flags, int n)
{
    struct endpoint_cfg c = {flags, n, NULL};
    struct endpoint_list l;
    struct sbuf err = {0}, out = {0};
    if (endpoint_resolve(&c, &l, &err) != PARE_OK) {
        assert_int_equal(l.n, 0);
        sbuf_addf(&out, "ERR: %s", err.p);
    } else {
        for (int i = 0; i < l.n; i++) sbuf_addf(&out, "%s%s", i ? " " : "", l.url[i]);
        endpoint_list_free(&l);
    }
    sbuf_free(&err);
    return sbuf_detach(&out);
}

static void expect(const char *const *flags, int n, const char *want)
{
    char *got = resolve(flags, n);
    if (strncmp(want, "ERR:", 4) == 0)
        assert_contains(got, want + 5);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_environment(void **state)
{
    (void)state;
    /* issue 11: a trailing slash is not doubled into .../v1//chat/completions */
    set_env("http://127.0.0.1:8000/v1/", NULL);
    expect(NULL, 0, "http://127.0.0.1:8000/v1");
    set_env(" http://a:1/v1// , https://b:2/v1,http://c/v1 ", NULL);
    expect(NULL, 0, "http://a:1/v1 https://b:2/v1 http://c/v1");
    /* unset or blank: the hosted API, as openai-python defaults */
    set_env(NULL, NULL);
    expect(NULL, 0, ENDPOINT_DEFAULT_URL);
    set_env("  ", NULL);
    expect(NULL, 0, ENDPOINT_DEFAULT_URL);
    set_env("http://a/v1,,http://b/v1", NULL);
    expect(NULL, 0, "ERR: OPENAI_BASE_URL: an empty endpoint");
    set_env("localhost:8000/v1", NULL);
    expect(NULL, 0, "ERR: is not an http:// or https:// URL");
    set_env("http://a/v1,http://a/v1/", NULL);
    expect(NULL, 0, "ERR: listed twice");
}

static void test_flags_win(void **state)
{
    (void)state;
    set_env("http://env/v1", NULL);
    const char *flags[] = {"http://x:1/v1/", "http://y:2/v1,http://z:3/v1"};
    expect(flags, 2, "http://x:1/v1 http://y:2/v1 http://z:3/v1");
    const char *bad[] = {"ftp://x/v1"};
    expect(bad, 1, "ERR: --endpoint: 'ftp://x/v1' is not an http:// or https:// URL");
}

/* --endpoint values met by the option parser win over the environment until the next reset. */
static void test_command_line_flags(void **state)
{
    (void)state;
    set_env("http://env:1/v1,http://env:2/v1", NULL);
    assert_int_equal(endpoint_pool_size(), 2);
    endpoint_flag_add("http://f:1/v1/");
    endpoint_flag_add("http://f:2/v1,http://f:3/v1");
    assert_int_equal(endpoint_pool_size(), 3);
    struct endpoint_cfg c;
    struct sbuf err = {0};
    assert_int_equal(endpoint_cfg_load(&c, NULL, 0, &err), PARE_OK);
    char *got = resolve(c.flags, c.n_flags);
    assert_string_equal(got, "http://f:1/v1 http://f:2/v1 http://f:3/v1");
    free(got);
    endpoint_flags_reset();
    assert_int_equal(endpoint_pool_size(), 2);
    set_env("http://a/v1,,", NULL); /* does not resolve: the pool counts as one */
    assert_int_equal(endpoint_pool_size(), 1);
    sbuf_free(&err);
}

static void test_key_rules(void **state)
{
    (void)state;
    struct endpoint_cfg c;
    struct sbuf err = {0};
    /* the hosted default cannot work without a key: a usage error naming both variables */
    set_env(NULL, NULL);
    assert_int_equal(endpoint_cfg_load(&c, NULL, 0, &err), PARE_EUSAGE);
    assert_contains(err.p, "OPENAI_API_KEY");
    assert_contains(err.p, "OPENAI_BASE_URL");
    set_env(NULL, "sk-1");
    assert_int_equal(endpoint_cfg_load(&c, NULL, 0, &err), PARE_OK);
    assert_string_equal(c.api_key, "sk-1");
    /* a server of one's own needs none; an empty key is no key */
    set_env("http://127.0.0.1:9/v1", "");
    assert_int_equal(endpoint_cfg_load(&c, NULL, 0, &err), PARE_OK);
    assert_null(c.api_key);
    sbuf_free(&err);
}

static void test_display_hides_credentials(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"http://user:p@ss@host:8000/v1", "http://host:8000/v1"},
        {"https://host/v1", "https://host/v1"},
        {"http://host/v1?x=a@b", "http://host/v1?x=a@b"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *d = endpoint_display(cases[i][0]);
        assert_string_equal(d, cases[i][1]);
        free(d);
    }
}

/* A pool that does not resolve is refused when the client is made; the registry stays empty. */
static void test_client_refuses_bad_pool(void **state)
{
    (void)state;
    const char *bad[] = {"http://a/v1,"};
    struct http_opts o = {0};
    o.endpoints.flags = bad;
    o.endpoints.n_flags = 1;
    struct http_client *c = NULL;
    struct sbuf err = {0};
    assert_int_equal(http_client_new(&o, &c, &err), PARE_EUSAGE);
    assert_null(c);
    assert_null(http_endpoints_json());
    const char *good[] = {"http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"};
    o.endpoints.flags = good;
    o.endpoints.n_flags = 2;
    o.max_concurrency = 3;
    assert_int_equal(http_client_new(&o, &c, &err), PARE_OK);
    assert_int_equal(http_capacity(c), 6);
    assert_null(http_endpoints_json()); /* only endpoints that were sent something are listed */
    http_client_free(c);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_flags_win),
        cmocka_unit_test(test_command_line_flags),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_display_hides_credentials),
        cmocka_unit_test(test_client_refuses_bad_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
