/* http.c - see http.h. */
#define _POSIX_C_SOURCE 200809L
#include "common/http.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A token bucket: `rate` per second, holding at most `cap`. rate 0 means unlimited. */
struct bucket {
    double rate, cap, level, last;
};

struct http_client {
    struct http_opts o;
    CURLM *multi;
    struct http_req *waiting; /* not started yet, or waiting for a retry */
    int n_waiting, n_active;
    struct http_req **active; /* on the wire, max_concurrency slots */
    struct bucket req_bucket, tok_bucket;
    uint64_t rng;
    int64_t retries;
    struct sbuf auth;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void bucket_init(struct bucket *b, double per_minute, double min_cap)
{
    b->rate = per_minute / 60.0;
    b->cap = b->rate > min_cap ? b->rate : min_cap; /* a second's worth, at least one request */
    b->level = b->cap;
    b->last = now_monotonic();
}

static void bucket_fill(struct bucket *b, double now)
{
    if (b->rate <= 0) return;
    b->level += (now - b->last) * b->rate;
    if (b->level > b->cap) b->level = b->cap;
    b->last = now;
}

/* Seconds until `amount` is available (0: now). */
static double bucket_wait(struct bucket *b, double amount, double now)
{
    if (b->rate <= 0) return 0;
    bucket_fill(b, now);
    if (amount > b->cap)
        amount = b->cap; /* a request larger than the bucket waits for a full one */
    return b->level >= amount ? 0 : (amount - b->level) / b->rate;
}

static void bucket_take(struct bucket *b, double amount)
{
    if (b->rate > 0) b->level -= amount > b->cap ? b->cap : amount;
}

int http_client_new(const struct http_opts *o, struct http_client **out, struct sbuf *err)
{
    *out = NULL;
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        sbuf_setf(err, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return PARE_EFAIL;
    }
    struct http_client *c = xcalloc(1, sizeof *c);
    c->o = *o;
    if (c->o.max_concurrency < 1) c->o.max_concurrency = 1;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        sbuf_setf(err, "libcurl: cannot create a multi handle");
        return PARE_EFAIL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.max_concurrency);
    c->active = xcalloc((size_t)c->o.max_concurrency, sizeof *c->active);
    bucket_init(&c->req_bucket, o->rpm, 1);
    bucket_init(&c->tok_bucket, o->tpm, 1);
    c->rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL | 1;
    if (o->api_key && *o->api_key) sbuf_addf(&c->auth, "Authorization: Bearer %s", o->api_key);
    *out = c;
    return PARE_OK;
}

struct http_req *http_req_new(const char *url, const char *body, int64_t tokens, void *ud)
{
    struct http_req *r = xcalloc(1, sizeof *r);
    r->url = xstrdup(url);
    r->body = xstrdup(body);
    r->tokens = tokens;
    r->ud = ud;
    r->retry_after = -1;
    return r;
}

static void release_easy(struct http_req *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    if (r->headers) curl_slist_free_all(r->headers);
    r->easy = NULL;
    r->headers = NULL;
}

void http_req_free(struct http_req *r)
{
    if (!r) return;
    release_easy(r);
    free(r->url);
    free(r->body);
    free(r->error);
    sbuf_free(&r->resp);
    free(r);
}

void http_client_free(struct http_client *c)
{
    if (!c) return;
    /* requests still owned by the client are dropped */
    struct http_req *r = c->waiting;
    while (r) {
        struct http_req *n = r->next;
        http_req_free(r);
        r = n;
    }
    for (int i = 0; i < c->n_active; i++) {
        curl_multi_remove_handle(c->multi, c->active[i]->easy);
        http_req_free(c->active[i]);
    }
    free(c->active);
    if (c->multi) curl_multi_cleanup(c->multi);
    /* the key is overwritten before the memory goes back */
    if (c->auth.p) memset(c->auth.p, 0, c->auth.len);
    sbuf_free(&c->auth);
    free(c);
}

void http_submit(struct http_client *c, struct http_req *r)
{
    r->next = c->waiting;
    c->waiting = r;
    c->n_waiting++;
}

int http_pending(const struct http_client *c)
{
    return c->n_waiting + c->n_active;
}

int64_t http_retries(const struct http_client *c)
{
    return c->retries;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct http_req *r = ud;
    sbuf_add(&r->resp, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct http_req *r = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char tmp[64];
        size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, k);
        tmp[k] = '\0';
        char *end;
        double v = strtod(tmp, &end);
        if (end != tmp && isfinite(v) && v >= 0) r->retry_after = v; /* seconds form only */
    }
    return len;
}

static int start(struct http_client *c, struct http_req *r)
{
    CURL *e = curl_easy_init();
    if (!e) return -1;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && c->auth.len) h = curl_slist_append(h, c->auth.p);
    if (!h) {
        curl_easy_cleanup(e);
        return -1;
    }
    r->easy = e;
    r->headers = h;
    sbuf_reset(&r->resp);
    r->retry_after = -1;
    long timeout_ms = (long)(c->o.timeout_s * 1000);
    int bad = curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
              curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                               timeout_ms < 10000 ? timeout_ms : 10000L) != CURLE_OK ||
              curl_multi_add_handle(c->multi, e) != CURLM_OK;
    if (bad) {
        release_easy(r);
        return -1;
    }
    r->attempts++;
    r->started = now_monotonic();
    c->active[c->n_active++] = r;
    return 0;
}

/* Starts what the concurrency and rate budgets allow; returns seconds until more could start. */
static double start_eligible(struct http_client *c)
{
    double now = now_monotonic(), next = 1.0;
    struct http_req **pp = &c->waiting;
    while (*pp && c->n_active < c->o.max_concurrency) {
        struct http_req *r = *pp;
        if (r->not_before > now) {
            if (r->not_before - now < next) next = r->not_before - now;
            pp = &r->next;
            continue;
        }
        double w = bucket_wait(&c->req_bucket, 1, now);
        double wt = bucket_wait(&c->tok_bucket, (double)r->tokens, now);
        if (wt > w) w = wt;
        if (w > 0) {
            if (w < next) next = w;
            break;
        }
        *pp = r->next;
        c->n_waiting--;
        r->next = NULL;
        if (start(c, r) != 0) { /* out of resources: complete it as failed below */
            free(r->error);
            r->error = xstrdup("cannot start the HTTP request (libcurl)");
            r->not_before = -1; /* marker: failed to start */
            r->next = c->waiting;
            c->waiting = r;
            c->n_waiting++;
            return 0;
        }
        bucket_take(&c->req_bucket, 1);
        bucket_take(&c->tok_bucket, (double)r->tokens);
    }
    return next;
}

static double jitter(struct http_client *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return 0.5 + (double)(c->rng % 1000000) / 1000000.0; /* [0.5, 1.5) */
}

static int retryable_status(long s)
{
    return s == 408 || s == 409 || s == 429 || s >= 500;
}

/* Decides the fate of a finished attempt: done (returns 1) or queued again (returns 0). */
static int finish(struct http_client *c, struct http_req *r, CURLcode res)
{
    for (int i = 0; i < c->n_active; i++) {
        if (c->active[i] == r) {
            c->active[i] = c->active[--c->n_active];
            break;
        }
    }
    r->latency_ms = (now_monotonic() - r->started) * 1000.0;
    r->status = 0;
    if (res == CURLE_OK) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    release_easy(r);
    free(r->error);
    r->error = NULL;
    /* A server or proxy may echo the Authorization header: what it sent back never holds the
     * key, so neither error messages nor anything parsed from the reply can store it. */
    sbuf_redact(&r->resp, c->o.api_key);
    if (res == CURLE_OK && r->status >= 200 && r->status < 300) {
        r->ok = 1;
        return 1;
    }
    struct sbuf m = {0};
    int retry;
    if (res != CURLE_OK) {
        sbuf_addf(&m, "%s", curl_easy_strerror(res));
        retry = res != CURLE_URL_MALFORMAT && res != CURLE_UNSUPPORTED_PROTOCOL;
    } else {
        /* the start of the server's message (redacted above), never our request */
        sbuf_addf(&m, "HTTP %ld: %.200s", r->status, sbuf_str(&r->resp));
        retry = retryable_status(r->status);
    }
    if (r->attempts > c->o.max_retries || !retry) {
        if (retry) sbuf_addf(&m, " (gave up after %d attempts)", r->attempts);
        r->error = sbuf_detach(&m);
        r->ok = 0;
        return 1;
    }
    sbuf_free(&m);
    double delay = c->o.backoff_base_s * pow(2.0, r->attempts - 1);
    if (delay > c->o.backoff_max_s) delay = c->o.backoff_max_s;
    delay *= jitter(c);
    if (r->retry_after >= 0) delay = r->retry_after > 300 ? 300 : r->retry_after;
    r->not_before = now_monotonic() + delay;
    c->retries++;
    http_submit(c, r);
    return 0;
}

struct http_req *http_poll(struct http_client *c, double wait_s)
{
    double deadline = now_monotonic() + wait_s;
    struct http_req *done = NULL;
    for (;;) {
        double next = start_eligible(c);
        /* requests that could not even start complete at once, as failures */
        struct http_req **pp = &c->waiting;
        while (*pp) {
            if ((*pp)->not_before == -1) {
                struct http_req *r = *pp;
                *pp = r->next;
                c->n_waiting--;
                r->not_before = 0;
                r->ok = 0;
                r->next = done;
                done = r;
            } else {
                pp = &(*pp)->next;
            }
        }
        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct http_req *r = NULL;
            CURLcode res = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            curl_multi_remove_handle(c->multi, msg->easy_handle);
            if (r && finish(c, r, res)) {
                r->next = done;
                done = r;
            }
        }
        double now = now_monotonic();
        if (done || now >= deadline || http_pending(c) == 0) break;
        double t = deadline - now;
        if (c->n_waiting && next < t) t = next;
        if (t < 0.001) t = 0.001;
        int nfds;
        curl_multi_poll(c->multi, NULL, 0, (int)(t * 1000) + 1, &nfds);
    }
    return done;
}
