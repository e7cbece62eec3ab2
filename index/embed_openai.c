/* embed_openai.c - the openai embedder: POST {endpoint}/embeddings over the endpoint pool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/embed.h"

int openai_cfg_init(struct openai_cfg *c, const struct openai_opts *o, struct sbuf *err)
{
    memset(c, 0, sizeof *c);
    int rc = endpoint_cfg_load(&c->http.endpoints, NULL, 0, err);
    if (rc != PARE_OK) return rc;
    c->model = o->model;
    c->request_size = (int)o->request_size;
    c->http.max_concurrency = (int)o->max_concurrency;
    c->http.timeout_s = o->timeout_s;
    c->http.max_retries = (int)o->max_retries;
    c->http.rpm = o->rpm;
    c->http.tpm = o->tpm;
    c->http.backoff_base_s = OPENAI_BACKOFF_BASE_S;
    c->http.backoff_max_s = OPENAI_BACKOFF_MAX_S;
    return PARE_OK;
}

struct embedder *embedder_openai_new(const char *model, int dim)
{
    return embedder_from_own_json(
        json_pack("{s:s, s:s, s:i}", "kind", "openai", "model", model, "dim", dim));
}

struct part {
    size_t first, n;
};

/* Checks one response and copies its vectors into out (allocating it once dim is known). */
static int take_response(const struct http_req *r, const struct part *p, size_t total, float **out,
                         int *dim, struct sbuf *err)
{
    json_error_t je;
    json_t *root = json_loadb(r->resp.p, r->resp.len, 0, &je);
    json_t *data = root ? json_object_get(root, "data") : NULL;
    int rc = PARE_EFAIL;
    if (!root) {
        sbuf_setf(err, "embeddings server answered malformed JSON: %s", je.text);
        goto out;
    }
    if (!json_is_array(data) || json_array_size(data) != p->n) {
        sbuf_setf(err, "embeddings server answered %zu vectors for %zu texts",
                  json_is_array(data) ? json_array_size(data) : 0, p->n);
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        json_t *item = json_array_get(data, i);
        json_t *emb = json_object_get(item, "embedding");
        json_t *idx = json_object_get(item, "index");
        size_t at = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;
        if (!json_is_array(emb) || json_array_size(emb) == 0 || at >= p->n) {
            sbuf_setf(err, "embeddings server answered an item without a vector (item %zu)", i);
            goto out;
        }
        int d = (int)json_array_size(emb);
        if (*dim == 0) *dim = d;
        if (d != *dim) {
            sbuf_setf(err, "embeddings server answered a vector of dimension %d, expected %d", d,
                      *dim);
            goto out;
        }
        if (!*out) *out = xcalloc(total * (size_t)*dim, sizeof **out);
        float *row = *out + (p->first + at) * (size_t)*dim;
        for (int k = 0; k < d; k++) {
            json_t *v = json_array_get(emb, (size_t)k);
            double x = json_number_value(v);
            if (!json_is_number(v) || !isfinite(x)) {
                sbuf_setf(err,
                          "embeddings server answered a value that is not a finite number "
                          "(item %zu, component %d)",
                          i, k);
                goto out;
            }
            row[k] = (float)x;
        }
        l2_normalize(row, d);
    }
    rc = PARE_OK;
out:
    json_decref(root);
    return rc;
}

int openai_embed(const struct openai_cfg *c, size_t n, const char *const *texts, float **out,
                 int *dim, struct sbuf *err)
{
    *out = NULL;
    struct http_client *cl;
    int rc = http_client_new(&c->http, &cl, err);
    if (rc != PARE_OK) return rc;
    size_t per = c->request_size > 0 ? (size_t)c->request_size : 64;
    size_t n_parts = (n + per - 1) / per;
    struct part *parts = xcalloc(n_parts + 1, sizeof *parts);
    for (size_t i = 0; i < n_parts; i++) {
        parts[i].first = i * per;
        parts[i].n = n - parts[i].first < per ? n - parts[i].first : per;
        json_t *input = json_array();
        int64_t tokens = 0;
        for (size_t k = 0; k < parts[i].n; k++) {
            const char *t = texts[parts[i].first + k];
            json_array_append_new(input, json_string(t));
            tokens += (int64_t)strlen(t) / 4 + 1; /* ~4 characters a token */
        }
        json_t *body = json_pack("{s:s, s:o}", "model", c->model, "input", input);
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (!text) abort();
        json_decref(body);
        http_submit(cl, http_req_new("/embeddings", text, tokens, &parts[i]));
        free(text);
    }
    while (http_pending(cl) > 0) {
        struct http_req *r = http_poll(cl, 1.0);
        while (r) {
            struct http_req *next = r->next;
            if (rc == PARE_OK) {
                if (!r->ok) {
                    sbuf_setf(err, "embeddings request failed: %s", r->error ? r->error : "?");
                    rc = PARE_EFAIL;
                } else {
                    rc = take_response(r, r->ud, n, out, dim, err);
                }
            }
            http_req_free(r);
            r = next;
        }
        if (rc != PARE_OK) break; /* the rest is dropped with the client */
    }
    http_client_free(cl);
    free(parts);
    if (rc != PARE_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
