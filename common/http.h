/*
 * http.h - many HTTP POST requests in flight to a pool of OpenAI-compatible endpoints (vLLM,
 * SGLang or TEI replicas, a hosted API), over libcurl's multi interface driven by epoll.
 *
 * Dispatch: a request goes to the endpoint with the fewest requests in flight, among those that
 * are up and below max_concurrency (which is per endpoint), preferring one other than the
 * endpoint its last attempt failed on.
 *
 * Failures: an attempt that fails with a connection error, a timeout or HTTP 408, 409, 429 or
 * 5xx is retried. When another endpoint is up, the retry goes there at once and is not charged
 * to the request (an endpoint's fault is not the request's; at most twice the pool's size such
 * free retries per request); otherwise it waits for the server's retry-after or a jittered
 * exponential backoff and counts against max_retries, after which the request completes with an
 * error. Never is a failure turned into a response.
 *
 * Back-off of endpoints: an endpoint that refuses connections, or fails three attempts in a row,
 * is taken out for down_base_s (doubling at each consecutive take-out, up to down_max_s); then
 * it gets one request at a time until one succeeds. Failures of attempts that started before it
 * was taken out do not count again. Endpoint health and figures (calls, errors, latency) are
 * kept per API root for the whole process, so that clients made one after another (the embedder
 * makes one per batch) share what they learnt, and a run can report them (http_endpoints_json).
 *
 * The API key is sent in the Authorization header and is never logged, stored or copied into an
 * error message; URLs in reports leave out any user:password@ part.
 */
#ifndef PARE_HTTP_H
#define PARE_HTTP_H

#include <jansson.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "common/util.h"

struct http_opts {
    int max_concurrency;   /* requests on the wire at once, per endpoint */
    double rpm;            /* requests per minute, whole client (0: no limit) */
    double tpm;            /* estimated tokens per minute, whole client (0: no limit) */
    double timeout_s;      /* whole-request timeout */
    int max_retries;       /* charged retries after the first attempt */
    double backoff_base_s; /* first backoff; doubles each retry, jittered +-50% */
    double backoff_max_s;
    struct endpoint_cfg endpoints; /* where requests go, and the key (endpoint.h) */
    double down_base_s;            /* first take-out of a failing endpoint (0: 1 s) */
    double down_max_s;             /* longest take-out (0: 60 s) */
};

/* One request. The caller fills path, body, tokens and ud; the client fills the rest. */
struct http_req {
    char *path;     /* under the endpoint's API root, e.g. "/chat/completions" (owned) */
    char *body;     /* owned */
    int64_t tokens; /* estimated tokens, for the tpm budget */
    void *ud;       /* the caller's */
    /* results */
    long status;       /* last HTTP status (0: no response) */
    struct sbuf resp;  /* body of the final response */
    int ok;            /* 1: a 2xx response arrived */
    char *error;       /* when !ok: what went wrong (owned) */
    int attempts;      /* all attempts, charged or not */
    double latency_ms; /* of the final attempt */
    int endpoint;      /* pool index of the final attempt's endpoint (-1: none) */
    /* internal */
    int charged;        /* attempts counted against max_retries */
    int free_left;      /* retries elsewhere still free of charge */
    int avoid;          /* endpoint of the last failed attempt (-1: none) */
    int slot;           /* index among the client's active requests */
    double not_before;  /* monotonic time before which it must not start */
    double retry_after; /* seconds the server asked to wait (-1: none) */
    double started;
    void *easy;
    struct http_req *next;
};

struct http_client;

/*
 * Resolves o->endpoints into a pool and creates a client. Returns PARE_OK, PARE_EUSAGE when the
 * endpoints do not resolve (message in err), or PARE_EFAIL when libcurl or epoll cannot be set
 * up.
 */
int http_client_new(const struct http_opts *o, struct http_client **out, struct sbuf *err);
/* Frees the client; requests it still holds are dropped. NULL is a no-op. */
void http_client_free(struct http_client *c);

/* Queues a request (the client takes it until it comes back from http_poll). */
void http_submit(struct http_client *c, struct http_req *r);

/*
 * Drives transfers for at most wait_s seconds or until at least one request completes, and
 * returns the completed ones as a list linked by `next` (NULL when none did yet).
 */
struct http_req *http_poll(struct http_client *c, double wait_s);

/* Requests queued, waiting for a retry, or on the wire. */
int http_pending(const struct http_client *c);

/* Requests the client can have on the wire at once: endpoints x max_concurrency. */
int http_capacity(const struct http_client *c);

/* Total retries made so far, charged or not (for reports). */
int64_t http_retries(const struct http_client *c);

/* A request for path under the API root (e.g. "/embeddings"); copies path and body. */
struct http_req *http_req_new(const char *path, const char *body, int64_t tokens, void *ud);
void http_req_free(struct http_req *r);

/* Sets every endpoint's figures to zero (not its health): a job's figures start at its begin. */
void http_endpoints_reset(void);

/*
 * Every endpoint that was sent a request since the process started or the last reset, with its
 * figures since then:
 * [{"url", "calls", "ok", "errors", "taken_out", "state" ("up", "out", "probing"),
 *   "mean_ms", "p50_ms", "p95_ms"}], latencies of successful calls only, quantiles within 10%.
 * NULL when there is none. The caller owns the reference.
 */
json_t *http_endpoints_json(void);

#endif
