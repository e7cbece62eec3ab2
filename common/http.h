/*
 * http.h - many HTTP POST requests in flight over libcurl's multi interface, for OpenAI-
 * compatible servers (embeddings, chat completions).
 *
 * The client keeps at most max_concurrency requests on the wire and starts new ones only within
 * the requests-per-minute and tokens-per-minute budgets. A request that fails with a connection
 * error, a timeout or HTTP 408, 409, 429 or 5xx is retried after the server's retry-after or a
 * jittered exponential backoff, up to max_retries times; then it completes with an error. The
 * API key is sent in the Authorization header and is never logged, stored or copied into an
 * error message.
 */
#ifndef PARE_HTTP_H
#define PARE_HTTP_H

#include <stdint.h>

#include "common/util.h"

struct http_opts {
    int max_concurrency;   /* requests on the wire at once */
    double rpm;            /* requests per minute (0: no limit) */
    double tpm;            /* estimated tokens per minute (0: no limit) */
    double timeout_s;      /* whole-request timeout */
    int max_retries;       /* retries after the first attempt */
    double backoff_base_s; /* first backoff; doubles each retry, jittered +-50% */
    double backoff_max_s;
    const char *api_key; /* NULL: no Authorization header */
};

/* One request. The caller fills url, body, tokens and ud; the client fills the rest. */
struct http_req {
    char *url;      /* owned by the request (freed by http_req_free) */
    char *body;     /* owned */
    int64_t tokens; /* estimated tokens, for the tpm budget */
    void *ud;       /* the caller's */
    /* results */
    long status;      /* last HTTP status (0: no response) */
    struct sbuf resp; /* body of the final response */
    int ok;           /* 1: a 2xx response arrived */
    char *error;      /* when !ok: what went wrong (owned) */
    int attempts;
    double latency_ms; /* of the final attempt */
    /* internal */
    double not_before;  /* monotonic time before which it must not start */
    double retry_after; /* seconds the server asked to wait (-1: none) */
    double started;
    void *easy;
    void *headers;
    struct http_req *next;
};

struct http_client;

/* Returns PARE_OK, or PARE_EFAIL when libcurl cannot be initialised. */
int http_client_new(const struct http_opts *o, struct http_client **out, struct sbuf *err);
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

/* Total retries made so far (for reports). */
int64_t http_retries(const struct http_client *c);

struct http_req *http_req_new(const char *url, const char *body, int64_t tokens, void *ud);
void http_req_free(struct http_req *r);

#endif
