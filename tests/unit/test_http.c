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
    int fd;
    int port;
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
    (void)arg;
    for (;;) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0) return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}

static int server_start(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.mu, NULL);
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(srv.fd, 128) != 0 || getsockname(srv.fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, NULL) != 0) return -1;
    pthread_detach(t);
    return 0;
}

static struct http_client *client(int concurrency, int retries, const char *key)
{
    struct http_opts o = {.max_concurrency = concurrency,
                          .timeout_s = 10,
                          .max_retries = retries,
                          .backoff_base_s = 0.01,
                          .backoff_max_s = 0.05,
                          .api_key = key};
    struct http_client *c;
    struct sbuf err = {0};
    assert_int_equal(http_client_new(&o, &c, &err), PARE_OK);
    sbuf_free(&err);
    return c;
}

static struct http_req *req(const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, path);
    return http_req_new(url, "{\"q\":1}", 10, NULL);
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
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    struct http_client *c = client(1, 1, NULL);
    http_submit(c, http_req_new(url, "{}", 1, NULL));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_503_and_429_are_retried),
        cmocka_unit_test(test_gives_up_and_never_retries_400),
        cmocka_unit_test(test_connection_refused_is_an_error),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_key_in_header_only),
    };
    return cmocka_run_group_tests(tests, server_start, NULL);
}
