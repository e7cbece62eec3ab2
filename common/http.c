/*
 * http.c - see http.h.
 *
 * The loop is libcurl's socket interface over epoll rather than curl_multi_perform: with 1,024
 * transfers on the wire, perform and curl_multi_poll visit every transfer at every wake-up, so
 * the CPU per call grows with the number in flight; with socket actions a wake-up costs only
 * the sockets that are ready.
 */
#define _GNU_SOURCE
#include "common/http.h"

#include "common/curl_api.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Consecutive failed attempts that take an endpoint out. */
#define FAIL_THRESHOLD 3
/* Latency histogram: quarter-octave buckets of milliseconds, from 1 ms to about 2^24 ms. */
#define HIST_PER_OCTAVE 4
#define HIST_BUCKETS (24 * HIST_PER_OCTAVE)

/* An endpoint's health and figures, shared by every client of the process (see http.h). */
struct ep_state {
    char *url;
    int fails;         /* consecutive failed attempts */
    int downs;         /* consecutive take-outs; > 0 until a request succeeds again */
    double down_until; /* monotonic time it is out until */
    double down_since; /* when it was last taken out */
    int64_t calls, ok, errors, taken_out;
    double lat_sum_ms;
    int64_t hist[HIST_BUCKETS];
};

/* The registry lives as long as the process: its figures are what a run reports at the end. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ep_state **g_eps;
static size_t g_n, g_cap;

/* A client's view of one endpoint. */
struct cep {
    struct ep_state *s;
    char *url;
    int in_flight;
};

/* A token bucket: `rate` per second, holding at most `cap`. rate 0 means unlimited. */
struct bucket {
    double rate, cap, level, last;
};

/* A FIFO of requests linked by next. */
struct queue {
    struct http_req *head, *tail;
    int n;
};

struct http_client {
    struct http_opts o;
    CURLM *multi;
    int epfd;
    double timer_at;      /* when libcurl wants a timeout action (-1: never) */
    struct queue ready;   /* may start as soon as an endpoint and the budgets allow */
    struct queue delayed; /* waiting for their not_before */
    struct http_req **active;
    int n_active, cap_active;
    struct cep *ep;
    int n_ep, rr;
    void **spare; /* easy handles to reuse */
    int n_spare;
    struct bucket req_bucket, tok_bucket;
    uint64_t rng;
    int64_t retries;
    struct curl_slist *headers;
    struct http_req *done; /* completed during the current poll */
};

/* libcurl's functions (common/curl_api.h: loaded on first use). http_client_new checks that
 * they loaded; every other call below works on a client or a request that one made. */
#define CU (curl_api(NULL))

/* ---- the registry -------------------------------------------------------------------- */

static struct ep_state *registry_get(const char *url)
{
    pthread_mutex_lock(&g_lock);
    struct ep_state *s = NULL;
    for (size_t i = 0; i < g_n && !s; i++)
        if (strcmp(g_eps[i]->url, url) == 0) s = g_eps[i];
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->url = xstrdup(url);
        s->down_since = -1;
        xgrow((void **)&g_eps, &g_cap, g_n + 1, sizeof *g_eps);
        g_eps[g_n++] = s;
    }
    pthread_mutex_unlock(&g_lock);
    return s;
}

static int hist_bucket(double ms)
{
    if (ms < 1) return 0;
    int b = (int)(log2(ms) * HIST_PER_OCTAVE);
    return b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b;
}

/* The q-quantile of a histogram, as the geometric middle of its bucket. */
static double hist_quantile(const int64_t *h, int64_t n, double q)
{
    if (n == 0) return 0;
    int64_t want = (int64_t)ceil(q * (double)n), seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += h[b];
        if (seen >= want) return exp2(((double)b + 0.5) / HIST_PER_OCTAVE);
    }
    return exp2((double)HIST_BUCKETS / HIST_PER_OCTAVE);
}

static const char *ep_state_name(const struct ep_state *s, double now)
{
    if (now < s->down_until) return "out";
    return s->downs > 0 ? "probing" : "up";
}

void http_endpoints_reset(void)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n; i++) {
        struct ep_state *s = g_eps[i];
        s->calls = s->ok = s->errors = s->taken_out = 0;
        s->lat_sum_ms = 0;
        memset(s->hist, 0, sizeof s->hist);
    }
    pthread_mutex_unlock(&g_lock);
}

json_t *http_endpoints_json(void)
{
    pthread_mutex_lock(&g_lock);
    json_t *a = NULL;
    double now = now_monotonic();
    for (size_t i = 0; i < g_n; i++) {
        const struct ep_state *s = g_eps[i];
        if (s->calls == 0) continue;
        if (!a) a = json_array();
        char *url = endpoint_display(s->url);
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:f, s:f, s:f}", "url", url, "calls",
                              (json_int_t)s->calls, "ok", (json_int_t)s->ok, "errors",
                              (json_int_t)s->errors, "taken_out", (json_int_t)s->taken_out, "state",
                              ep_state_name(s, now), "mean_ms",
                              s->ok ? round(s->lat_sum_ms / (double)s->ok * 10) / 10 : 0.0,
                              "p50_ms", round(hist_quantile(s->hist, s->ok, 0.5) * 10) / 10,
                              "p95_ms", round(hist_quantile(s->hist, s->ok, 0.95) * 10) / 10);
        free(url);
        if (!a || !o || json_array_append_new(a, o) != 0) abort(); /* out of memory */
    }
    pthread_mutex_unlock(&g_lock);
    return a;
}

/* A successful attempt: the endpoint is healthy again (unless it was taken out meanwhile). */
static void health_ok(struct ep_state *s, double started, double latency_ms)
{
    pthread_mutex_lock(&g_lock);
    s->ok++;
    s->lat_sum_ms += latency_ms;
    s->hist[hist_bucket(latency_ms)]++;
    s->fails = 0;
    if (started >= s->down_since) { /* it answered since it was taken out: it is back */
        s->downs = 0;
        s->down_until = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

/*
 * A failed attempt. `hard` means no connection could be made at all: that takes the endpoint
 * out at once. A failure with started before the last take-out is already accounted for.
 */
static void health_fail(const struct http_opts *o, struct ep_state *s, double started, int hard)
{
    pthread_mutex_lock(&g_lock);
    s->errors++;
    /* news only when the attempt began after the last take-out and it is not out now (when
     * every endpoint is out, requests still go to them: see pick_endpoint) */
    if (started >= s->down_since && now_monotonic() >= s->down_until) {
        s->fails++;
        if (hard || s->fails >= FAIL_THRESHOLD || s->downs > 0) {
            double base = o->down_base_s > 0 ? o->down_base_s : 1.0;
            double max = o->down_max_s > 0 ? o->down_max_s : 60.0;
            double period = base * pow(2.0, s->downs < 30 ? s->downs : 30);
            double now = now_monotonic();
            s->downs++;
            s->taken_out++;
            s->fails = 0;
            s->down_since = now;
            s->down_until = now + (period < max ? period : max);
        }
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- budgets and queues ------------------------------------------------------------------ */

static void bucket_init(struct bucket *b, double per_minute, double min_cap)
{
    b->rate = per_minute / 60.0;
    b->cap = b->rate > min_cap ? b->rate : min_cap; /* a second's worth, at least one request */
    b->level = b->cap;
    b->last = now_monotonic();
}

/* Seconds until `amount` is available (0: now). */
static double bucket_wait(struct bucket *b, double amount, double now)
{
    if (b->rate <= 0) return 0;
    b->level += (now - b->last) * b->rate;
    if (b->level > b->cap) b->level = b->cap;
    b->last = now;
    if (amount > b->cap)
        amount = b->cap; /* a request larger than the bucket waits for a full one */
    return b->level >= amount ? 0 : (amount - b->level) / b->rate;
}

static void bucket_take(struct bucket *b, double amount)
{
    if (b->rate > 0) b->level -= amount > b->cap ? b->cap : amount;
}

static void q_push(struct queue *q, struct http_req *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->n++;
}

static struct http_req *q_pop(struct queue *q)
{
    struct http_req *r = q->head;
    if (!r) return NULL;
    q->head = r->next;
    if (!q->head) q->tail = NULL;
    q->n--;
    r->next = NULL;
    return r;
}

static void q_free(struct queue *q)
{
    struct http_req *r;
    while ((r = q_pop(q))) http_req_free(r);
}

/* Moves delayed requests whose time has come to the ready queue; returns seconds to the next. */
static double promote_delayed(struct http_client *c, double now)
{
    double next = 1.0;
    struct queue keep = {0};
    struct http_req *r;
    while ((r = q_pop(&c->delayed))) {
        if (r->not_before <= now) {
            q_push(&c->ready, r);
        } else {
            if (r->not_before - now < next) next = r->not_before - now;
            q_push(&keep, r);
        }
    }
    c->delayed = keep;
    return next;
}

/* ---- libcurl's socket interface ------------------------------------------------------ */

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)socketp;
    struct http_client *c = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL); /* may already be gone with the socket */
        return 0;
    }
    struct epoll_event ev = {0};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
    if (errno == ENOENT && epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev) == 0) return 0;
    return -1; /* libcurl fails the transfer */
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    struct http_client *c = userp;
    c->timer_at = timeout_ms < 0 ? -1 : now_monotonic() + (double)timeout_ms / 1000.0;
    return 0;
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

/* ---- the client ---------------------------------------------------------------------- */

/* With many requests on the wire a process may need more descriptors than its soft limit. */
static void raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    rlim_t want = (rlim_t)need + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl); /* best effort: connections beyond it fail as errors */
}

static int make_headers(struct http_client *c)
{
    /* "Expect:" turns off curl's 100-continue round trip for bodies over 1 KB */
    struct curl_slist *h = CU->slist_append(NULL, "Content-Type: application/json");
    if (h) h = CU->slist_append(h, "Expect:");
    if (h && c->o.endpoints.api_key) {
        struct sbuf auth = {0};
        sbuf_addf(&auth, "Authorization: Bearer %s", c->o.endpoints.api_key);
        struct curl_slist *h2 = CU->slist_append(h, auth.p);
        memset(auth.p, 0, auth.len); /* the key is overwritten before the memory goes back */
        sbuf_free(&auth);
        if (!h2) CU->slist_free_all(h);
        h = h2;
    }
    c->headers = h;
    return h ? PARE_OK : PARE_EFAIL;
}

static int setup_multi(struct http_client *c, struct sbuf *err)
{
    c->multi = CU->multi_init();
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!c->multi || c->epfd < 0 || make_headers(c) != PARE_OK) {
        sbuf_setf(err, "libcurl: cannot set up the HTTP client");
        return PARE_EFAIL;
    }
    long total = (long)c->n_ep * c->o.max_concurrency;
    int bad = CU->multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
              CU->multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
              CU->multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
              CU->multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
              CU->multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total) != CURLM_OK ||
              CU->multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, total) != CURLM_OK;
    if (bad) {
        sbuf_setf(err, "libcurl: cannot set up the HTTP client");
        return PARE_EFAIL;
    }
    raise_fd_limit((int)total);
    return PARE_OK;
}

int http_client_new(const struct http_opts *o, struct http_client **out, struct sbuf *err)
{
    *out = NULL;
    if (!curl_api(err)) return PARE_EFAIL;
    struct endpoint_list l;
    int rc = endpoint_resolve(&o->endpoints, &l, err);
    if (rc != PARE_OK) return rc;
    struct http_client *c = xcalloc(1, sizeof *c);
    c->o = *o;
    c->epfd = -1;
    c->timer_at = -1;
    if (c->o.max_concurrency < 1) c->o.max_concurrency = 1;
    c->n_ep = l.n;
    c->ep = xcalloc((size_t)l.n, sizeof *c->ep);
    for (int i = 0; i < l.n; i++) {
        c->ep[i].url = l.url[i]; /* the client takes the strings */
        c->ep[i].s = registry_get(l.url[i]);
    }
    free(l.url);
    c->cap_active = c->n_ep * c->o.max_concurrency;
    c->active = xcalloc((size_t)c->cap_active, sizeof *c->active);
    c->spare = xcalloc((size_t)c->cap_active, sizeof *c->spare);
    bucket_init(&c->req_bucket, o->rpm, 1);
    bucket_init(&c->tok_bucket, o->tpm, 1);
    c->rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL | 1;
    if (setup_multi(c, err) != PARE_OK) {
        http_client_free(c);
        return PARE_EFAIL;
    }
    *out = c;
    return PARE_OK;
}

struct http_req *http_req_new(const char *path, const char *body, int64_t tokens, void *ud)
{
    struct http_req *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->body = xstrdup(body);
    r->tokens = tokens;
    r->ud = ud;
    r->retry_after = -1;
    r->endpoint = -1;
    r->avoid = -1;
    r->free_left = -1; /* set when first submitted */
    return r;
}

void http_req_free(struct http_req *r)
{
    if (!r) return;
    if (r->easy) CU->easy_cleanup(r->easy);
    free(r->path);
    free(r->body);
    free(r->error);
    sbuf_free(&r->resp);
    free(r);
}

void http_client_free(struct http_client *c)
{
    if (!c) return;
    /* requests still owned by the client are dropped */
    q_free(&c->ready);
    q_free(&c->delayed);
    for (int i = 0; i < c->n_active; i++) {
        CU->multi_remove_handle(c->multi, c->active[i]->easy);
        http_req_free(c->active[i]);
    }
    struct http_req *d = c->done;
    while (d) {
        struct http_req *n = d->next;
        http_req_free(d);
        d = n;
    }
    for (int i = 0; i < c->n_spare; i++) CU->easy_cleanup(c->spare[i]);
    if (c->multi) CU->multi_cleanup(c->multi);
    if (c->epfd >= 0) close(c->epfd);
    /* the key is overwritten before the memory goes back */
    for (struct curl_slist *h = c->headers; h; h = h->next) memset(h->data, 0, strlen(h->data));
    CU->slist_free_all(c->headers);
    for (int i = 0; i < c->n_ep; i++) free(c->ep[i].url);
    free(c->ep);
    free(c->active);
    free(c->spare);
    free(c);
}

void http_submit(struct http_client *c, struct http_req *r)
{
    if (r->free_left < 0) r->free_left = 2 * c->n_ep;
    q_push(&c->ready, r);
}

int http_pending(const struct http_client *c)
{
    return c->ready.n + c->delayed.n + c->n_active;
}

int http_capacity(const struct http_client *c)
{
    return c->cap_active;
}

int64_t http_retries(const struct http_client *c)
{
    return c->retries;
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* 1 when endpoint e is up for dispatch: not taken out, and not probing with one on the wire. */
static int ep_up(const struct cep *e, double now)
{
    return now >= e->s->down_until && !(e->s->downs > 0 && e->in_flight > 0);
}

/*
 * The endpoint for the next attempt: the least busy of those up with room, avoiding the one the
 * request last failed on; -1 when none has room now. When no endpoint is up at all, taking them
 * out would only serialise every request behind one probe, so then each request goes to the
 * least busy endpoint anyway and its own backoff and retry limit decide (as with one endpoint).
 */
static int pick_endpoint(struct http_client *c, const struct http_req *r, double now)
{
    int best = -1, best_any = -1, score_best = 0, score_any = 0, any_up = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < c->n_ep; i++) {
        int k = (c->rr + i) % c->n_ep;
        const struct cep *e = &c->ep[k];
        int up = ep_up(e, now);
        any_up |= up;
        if (e->in_flight >= c->o.max_concurrency) continue;
        int score = e->in_flight + (k == r->avoid ? c->o.max_concurrency + 1 : 0);
        if (up && (best < 0 || score < score_best)) {
            best = k;
            score_best = score;
        }
        if (best_any < 0 || score < score_any) {
            best_any = k;
            score_any = score;
        }
    }
    pthread_mutex_unlock(&g_lock);
    c->rr = c->n_ep ? (c->rr + 1) % c->n_ep : 0;
    return any_up ? best : best_any;
}

/* Options that change with each attempt (the rest were set when the handle was made). */
static int set_attempt_opts(struct http_client *c, struct http_req *r, CURL *e, const char *url)
{
    long timeout_ms = (long)(c->o.timeout_s * 1000);
    return CU->easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
           CU->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           timeout_ms < 10000 ? timeout_ms : 10000L) != CURLE_OK;
}

static CURL *get_easy(struct http_client *c)
{
    if (c->n_spare) return c->spare[--c->n_spare];
    CURL *e = CU->easy_init();
    if (!e) return NULL;
    if (CU->easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
        CU->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        CU->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        CU->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK) {
        CU->easy_cleanup(e);
        return NULL;
    }
    return e;
}

static void put_easy(struct http_client *c, CURL *e)
{
    if (c->n_spare < c->cap_active)
        c->spare[c->n_spare++] = e;
    else
        CU->easy_cleanup(e);
}

/* Puts r on the wire to endpoint k. Returns 0, or -1 when libcurl cannot start it. */
static int start(struct http_client *c, struct http_req *r, int k)
{
    CURL *e = get_easy(c);
    if (!e) return -1;
    struct sbuf url = {0};
    sbuf_addf(&url, "%s%s", c->ep[k].url, r->path); /* curl copies the URL */
    int bad = set_attempt_opts(c, r, e, url.p);
    sbuf_free(&url);
    sbuf_reset(&r->resp);
    r->retry_after = -1;
    r->easy = e;
    if (bad || CU->multi_add_handle(c->multi, e) != CURLM_OK) {
        r->easy = NULL;
        CU->easy_cleanup(e);
        return -1;
    }
    r->attempts++;
    r->endpoint = k;
    r->started = now_monotonic();
    r->slot = c->n_active;
    c->active[c->n_active++] = r;
    c->ep[k].in_flight++;
    pthread_mutex_lock(&g_lock);
    c->ep[k].s->calls++;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void complete(struct http_client *c, struct http_req *r)
{
    r->next = c->done;
    c->done = r;
}

/* Starts what the endpoints and the budgets allow; returns seconds until more could start. */
static double start_eligible(struct http_client *c, double now)
{
    double next = promote_delayed(c, now);
    while (c->ready.head && c->n_active < c->cap_active) {
        struct http_req *r = c->ready.head;
        double w = bucket_wait(&c->req_bucket, 1, now);
        double wt = bucket_wait(&c->tok_bucket, (double)r->tokens, now);
        if (wt > w) w = wt;
        if (w > 0) {
            if (w < next) next = w;
            break;
        }
        int k = pick_endpoint(c, r, now);
        if (k < 0) break;
        q_pop(&c->ready);
        if (start(c, r, k) != 0) { /* out of resources: the request fails */
            free(r->error);
            r->error = xstrdup("cannot start the HTTP request (libcurl)");
            r->ok = 0;
            complete(c, r);
            continue;
        }
        bucket_take(&c->req_bucket, 1);
        bucket_take(&c->tok_bucket, (double)r->tokens);
    }
    return next;
}

/* ---- completion ---------------------------------------------------------------------- */

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

/* 1 when another endpoint than k is up now (a retry there need not wait). */
static int other_up(struct http_client *c, int k, double now)
{
    int up = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < c->n_ep && !up; i++) up = i != k && now >= c->ep[i].s->down_until;
    pthread_mutex_unlock(&g_lock);
    return up;
}

/* Queues a failed attempt again, elsewhere at once or after a backoff; 0, or 1 if it gave up. */
static int retry_or_give_up(struct http_client *c, struct http_req *r, struct sbuf *m)
{
    double now = now_monotonic();
    r->avoid = r->endpoint;
    if (r->free_left > 0 && other_up(c, r->endpoint, now)) {
        r->free_left--;
        r->not_before = now;
    } else {
        if (++r->charged > c->o.max_retries) {
            sbuf_addf(m, " (gave up after %d attempts)", r->attempts);
            return 1;
        }
        double delay = c->o.backoff_base_s * pow(2.0, r->charged - 1);
        if (delay > c->o.backoff_max_s) delay = c->o.backoff_max_s;
        delay *= jitter(c);
        if (r->retry_after >= 0) delay = r->retry_after > 300 ? 300 : r->retry_after;
        r->not_before = now + delay;
    }
    c->retries++;
    q_push(r->not_before > now ? &c->delayed : &c->ready, r);
    return 0;
}

/* An attempt ended: the request completes (ok, or failed for good) or is queued again. */
static void finish(struct http_client *c, struct http_req *r, CURLcode res)
{
    struct http_req *last = c->active[--c->n_active];
    c->active[r->slot] = last;
    last->slot = r->slot;
    struct cep *e = &c->ep[r->endpoint];
    e->in_flight--;
    r->latency_ms = (now_monotonic() - r->started) * 1000.0;
    r->status = 0;
    if (res == CURLE_OK) CU->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    CU->multi_remove_handle(c->multi, r->easy);
    put_easy(c, r->easy);
    r->easy = NULL;
    free(r->error);
    r->error = NULL;
    /* A server or proxy may echo the Authorization header: what it sent back never holds the
     * key, so neither error messages nor anything parsed from the reply can store it. */
    sbuf_redact(&r->resp, c->o.endpoints.api_key);
    if (res == CURLE_OK && r->status >= 200 && r->status < 300) {
        health_ok(e->s, r->started, r->latency_ms);
        r->ok = 1;
        complete(c, r);
        return;
    }
    struct sbuf m = {0};
    int retry, hard = 0;
    char *shown = endpoint_display(e->url);
    if (res != CURLE_OK) {
        sbuf_addf(&m, "%s: %s", shown, CU->easy_strerror(res));
        retry = res != CURLE_URL_MALFORMAT && res != CURLE_UNSUPPORTED_PROTOCOL;
        hard = res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST;
    } else {
        /* the start of the server's message (redacted above), never our request */
        sbuf_addf(&m, "%s: HTTP %ld: %.200s", shown, r->status, sbuf_str(&r->resp));
        retry = retryable_status(r->status);
    }
    free(shown);
    if (retry)
        health_fail(&c->o, e->s, r->started, hard);
    else
        health_ok(e->s, r->started, r->latency_ms); /* it answered: alive, the request is bad */
    if (!retry || retry_or_give_up(c, r, &m)) {
        r->error = sbuf_detach(&m);
        r->ok = 0;
        complete(c, r);
    }
    sbuf_free(&m);
}

static void collect(struct http_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = CU->multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct http_req *r = NULL;
        CURLcode res = msg->data.result;
        CU->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r) finish(c, r, res);
    }
}

/* Waits up to t seconds for socket events and hands them, and due timeouts, to libcurl. */
static void wait_events(struct http_client *c, double t)
{
    struct epoll_event ev[256];
    int ms = t <= 0 ? 0 : (int)ceil(t * 1000);
    int n = epoll_wait(c->epfd, ev, (int)ARRAY_SIZE(ev), ms);
    int running;
    for (int i = 0; i < n; i++) {
        int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        CU->multi_socket_action(c->multi, ev[i].data.fd, flags, &running);
    }
    if (c->timer_at >= 0 && now_monotonic() >= c->timer_at) {
        c->timer_at = -1;
        CU->multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

struct http_req *http_poll(struct http_client *c, double wait_s)
{
    double deadline = now_monotonic() + wait_s;
    for (;;) {
        double now = now_monotonic();
        double next = start_eligible(c, now);
        if (c->timer_at >= 0 && c->timer_at <= now) wait_events(c, 0); /* kick new transfers */
        collect(c);
        now = now_monotonic();
        if (c->done || now >= deadline || http_pending(c) == 0) break;
        double t = deadline - now;
        if ((c->ready.n || c->delayed.n) && next < t) t = next;
        if (c->timer_at >= 0 && c->timer_at - now < t) t = c->timer_at - now;
        if (t < 0.0005) t = 0.0005;
        wait_events(c, t);
        collect(c);
        if (c->done) break;
    }
    struct http_req *done = c->done;
    c->done = NULL;
    return done;
}
