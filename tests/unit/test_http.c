/* test_http.c - the HTTP client against a small server in a thread of this process: success,
 * retries of 503 and 429 (retry-after honoured), giving up, errors that are never retried,
 * the concurrency limit, and the key kept out of error messages. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "common/http.h"

/* The server: one thread per connection, "Connection: close" after each response. */
struct server {
    int fd, fd2; /* two listening sockets, for pools of two endpoints */
    int port, port2;
    pthread_mutex_t mu;
    int flaky_seen;    /* requests to /flaky so far */
    int limited_seen;  /* requests to /limited so far */
    int in_flight;     /* connections being answered now */
    int max_in_flight; /* the most at once */
    int requests;
};

static struct server srv;

static void reply(int fd, int status, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, strlen(body), extra);
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0) return;
}

/* Reads one request (headers and a Content-Length body) into buf; returns its path. */
static char *read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (len + 1 < cap && !(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) return NULL;
        len += (size_t)r;
        buf[len] = 0;
    }
    if (!end) return NULL;
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = (size_t)(end + 4 - buf) + (cl ? (size_t)atol(cl + 16) : 0);
    while (len < want && len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = 0;
    }
    char *path = strchr(buf, ' ');
    if (!path) return NULL;
    path++;
    char *sp = strchr(path, ' ');
    if (sp) *sp = 0;
    return path;
}

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    char *path = read_request(fd, buf, sizeof buf);
    pthread_mutex_lock(&srv.mu);
    srv.requests++;
    int flaky = path && strcmp(path, "/flaky") == 0 ? ++srv.flaky_seen : 0;
    int limited = path && strcmp(path, "/limited") == 0 ? ++srv.limited_seen : 0;
    if (++srv.in_flight > srv.max_in_flight) srv.max_in_flight = srv.in_flight;
    pthread_mutex_unlock(&srv.mu);
    if (path && strcmp(path, "/slow") == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* no longer "in flight" before the reply goes out: the client may start the next request
     * as soon as it has read this one */
    pthread_mutex_lock(&srv.mu);
    srv.in_flight--;
    pthread_mutex_unlock(&srv.mu);
    if (!path)
        ;
    else if (strcmp(path, "/ok") == 0)
        reply(fd, 200, "", "{\"ok\":true}");
    else if (strcmp(path, "/slow") == 0)
        reply(fd, 200, "", "{}");
    else if (flaky)
        reply(fd, flaky <= 2 ? 503 : 200, "", flaky <= 2 ? "{\"error\":\"busy\"}" : "{}");
    else if (limited)
        reply(fd, limited == 1 ? 429 : 200, limited == 1 ? "Retry-After: 0\r\n" : "", "{}");
    else
        reply(fd, strcmp(path, "/bad") == 0 ? 400 : 500, "", "{\"error\":\"no\"}");
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}

static int listen_on(int *fd, int *port)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(*fd, 128) != 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)*fd) != 0) return -1;
    pthread_detach(t);
    return 0;
}

static int server_start(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.mu, NULL);
    return listen_on(&srv.fd, &srv.port) || listen_on(&srv.fd2, &srv.port2) ? -1 : 0;
}

/* A client of a pool of n endpoints (urls), or of the test server alone when urls is NULL. */
static struct http_client *pool(int concurrency, int retries, const char *key,
                                const char *const *urls, int n)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    const char *one[] = {url};
    struct http_opts o = {.max_concurrency = concurrency,
                          .timeout_s = 10,
                          .max_retries = retries,
                          .backoff_base_s = 0.01,
                          .backoff_max_s = 0.05,
                          .endpoints = {urls ? urls : one, urls ? n : 1, key}};
    struct http_client *c;
    struct sbuf err = {0};
    assert_int_equal(http_client_new(&o, &c, &err), PARE_OK);
    sbuf_free(&err);
    return c;
}

static struct http_client *client(int concurrency, int retries, const char *key)
{
    return pool(concurrency, retries, key, NULL, 0);
}

static struct http_req *req(const char *path)
{
    return http_req_new(path, "{\"q\":1}", 10, NULL);
}

/* Submits one request and waits for it. */
static struct http_req *roundtrip(struct http_client *c, const char *path)
{
    http_submit(c, req(path));
    struct http_req *done = NULL;
    for (int i = 0; i < 2000 && !done; i++) done = http_poll(c, 0.05);
    assert_non_null(done);
    assert_null(done->next);
    assert_int_equal(http_pending(c), 0);
    return done;
}

static void test_ok(void **state)
{
    (void)state;
    struct http_client *c = client(2, 3, NULL);
    struct http_req *r = roundtrip(c, "/ok");
    assert_true(r->ok);
    assert_int_equal(r->status, 200);
    assert_string_equal(sbuf_str(&r->resp), "{\"ok\":true}");
    assert_int_equal(r->attempts, 1);
    http_req_free(r);
    http_client_free(c);
}

static void test_503_and_429_are_retried(void **state)
{
    (void)state;
    struct http_client *c = client(2, 3, NULL);
    struct http_req *r = roundtrip(c, "/flaky");
    assert_true(r->ok);
    assert_int_equal(r->attempts, 3);
    http_req_free(r);
    r = roundtrip(c, "/limited");
    assert_true(r->ok);
    assert_int_equal(r->attempts, 2);
    assert_int_equal(http_retries(c), 3);
    http_req_free(r);
    http_client_free(c);
}

static void test_gives_up_and_never_retries_400(void **state)
{
    (void)state;
    struct http_client *c = client(2, 2, NULL);
    struct http_req *r = roundtrip(c, "/fail");
    assert_false(r->ok);
    assert_int_equal(r->status, 500);
    assert_int_equal(r->attempts, 3);
    assert_contains(r->error, "HTTP 500");
    http_req_free(r);
    r = roundtrip(c, "/bad");
    assert_false(r->ok);
    assert_int_equal(r->attempts, 1);
    assert_contains(r->error, "HTTP 400");
    http_req_free(r);
    http_client_free(c);
}

static void test_connection_refused_is_an_error(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, learn it, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    const char *urls[] = {url};
    struct http_client *c = pool(1, 1, NULL, urls, 1);
    http_submit(c, http_req_new("/x", "{}", 1, NULL));
    struct http_req *r = NULL;
    for (int i = 0; i < 2000 && !r; i++) r = http_poll(c, 0.05);
    assert_non_null(r);
    assert_false(r->ok);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->attempts, 2);
    assert_non_null(r->error);
    http_req_free(r);
    http_client_free(c);
}

static void test_concurrency_limit(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv.mu);
    srv.max_in_flight = 0;
    pthread_mutex_unlock(&srv.mu);
    struct http_client *c = client(4, 0, NULL);
    for (int i = 0; i < 24; i++) http_submit(c, req("/slow"));
    int done = 0;
    for (int i = 0; i < 4000 && done < 24; i++) {
        for (struct http_req *r = http_poll(c, 0.05), *next; r; r = next) {
            next = r->next;
            assert_true(r->ok);
            http_req_free(r);
            done++;
        }
    }
    assert_int_equal(done, 24);
    pthread_mutex_lock(&srv.mu);
    int most = srv.max_in_flight;
    pthread_mutex_unlock(&srv.mu);
    if (most > 4) fail_msg("%d requests were in flight at once, the limit is 4", most);
    assert_true(most >= 2);
    http_client_free(c);
}

static void test_key_in_header_only(void **state)
{
    (void)state;
    struct http_client *c = client(1, 0, "sk-test-SECRET");
    struct http_req *r = roundtrip(c, "/fail");
    assert_false(r->ok);
    assert_null(strstr(r->error, "sk-test-SECRET"));
    http_req_free(r);
    http_client_free(c);
}

/* A port nobody listens on: bind one, learn it, close it. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* The figures http_endpoints_json gives for url (asserts it is there). */
static json_int_t figure(const char *url, const char *key)
{
    json_t *all = http_endpoints_json();
    size_t i;
    json_t *e;
    json_int_t v = -1;
    json_array_foreach(all, i, e) if (strcmp(json_string_value(json_object_get(e, "url")), url) ==
                                      0) v = json_integer_value(json_object_get(e, key));
    json_decref(all);
    if (v < 0) fail_msg("no figures for %s", url);
    return v;
}

/* Drives c until n requests completed; every one must have succeeded on endpoint `only` (-1:
 * any). Returns the most attempts a request took. */
static int drain(struct http_client *c, int n, int only)
{
    int done = 0, most = 0;
    for (int i = 0; i < 4000 && done < n; i++) {
        for (struct http_req *r = http_poll(c, 0.05), *next; r; r = next) {
            next = r->next;
            if (!r->ok) fail_msg("a request failed: %s", r->error);
            if (only >= 0) assert_int_equal(r->endpoint, only);
            if (r->attempts > most) most = r->attempts;
            http_req_free(r);
            done++;
        }
    }
    assert_int_equal(done, n);
    return most;
}

/* A pool with a dead endpoint: it is taken out at its first refusal, and the requests it
 * refused go to the live one without being charged (max_retries is 0). */
static void test_pool_dead_endpoint_is_taken_out(void **state)
{
    (void)state;
    char dead[64], live[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/v1", dead_port());
    snprintf(live, sizeof live, "http://127.0.0.1:%d", srv.port2);
    const char *urls[] = {dead, live};
    struct http_client *c = pool(2, 0, NULL, urls, 2);
    assert_int_equal(http_capacity(c), 4);
    for (int i = 0; i < 20; i++) http_submit(c, req("/ok"));
    int most = drain(c, 20, 1);
    assert_true(most <= 2); /* one refusal at most, then the live endpoint */
    assert_true(figure(dead, "taken_out") >= 1);
    assert_int_equal(figure(dead, "ok"), 0);
    assert_true(figure(dead, "errors") <= 2); /* only what was on its way when it was refused */
    assert_true(figure(live, "ok") >= 20);
    http_client_free(c);
}

/* --max-concurrency is per endpoint: two endpoints of 3 have up to 6 on the wire, and the least
 * busy endpoint gets each request, so both take a share. */
static void test_pool_concurrency_is_per_endpoint(void **state)
{
    (void)state;
    char a[64], b[64];
    snprintf(a, sizeof a, "http://127.0.0.1:%d", srv.port);
    snprintf(b, sizeof b, "http://127.0.0.1:%d/", srv.port2); /* normalised: no double slash */
    const char *urls[] = {a, b};
    json_int_t a0 = figure(a, "calls");
    pthread_mutex_lock(&srv.mu);
    srv.max_in_flight = 0;
    pthread_mutex_unlock(&srv.mu);
    struct http_client *c = pool(3, 0, NULL, urls, 2);
    for (int i = 0; i < 36; i++) http_submit(c, req("/slow"));
    drain(c, 36, -1);
    pthread_mutex_lock(&srv.mu);
    int most = srv.max_in_flight;
    pthread_mutex_unlock(&srv.mu);
    if (most > 6) fail_msg("%d requests were in flight at once, the limit is 2 x 3", most);
    assert_true(most > 3);
    assert_true(figure(a, "calls") - a0 >= 12);
    http_client_free(c);
}

/* When every endpoint fails, taking them out must not queue all requests behind one probe each
 * back-off period: each request fails after its own retries, in about its own backoff time. */
static void test_all_failing_fails_fast(void **state)
{
    (void)state;
    struct http_client *c = client(2, 1, NULL);
    for (int i = 0; i < 30; i++) http_submit(c, req("/fail"));
    double t0 = now_monotonic();
    int done = 0;
    for (int i = 0; i < 400 && done < 30; i++) {
        for (struct http_req *r = http_poll(c, 0.05), *next; r; r = next) {
            next = r->next;
            assert_false(r->ok);
            assert_int_equal(r->attempts, 2);
            http_req_free(r);
            done++;
        }
    }
    assert_int_equal(done, 30);
    double took = now_monotonic() - t0;
    if (took > 5) fail_msg("30 failing requests took %.1f s", took);
    http_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_503_and_429_are_retried),
        cmocka_unit_test(test_gives_up_and_never_retries_400),
        cmocka_unit_test(test_connection_refused_is_an_error),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_key_in_header_only),
        cmocka_unit_test(test_pool_dead_endpoint_is_taken_out),
        cmocka_unit_test(test_pool_concurrency_is_per_endpoint),
        cmocka_unit_test(test_all_failing_fails_fast),
    };
    return cmocka_run_group_tests(tests, server_start, NULL);
}
