/* corpus.c - see corpus.h. */
#include "index/corpus.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

void corpus_free(struct corpus_batch *b)
{
    for (size_t i = 0; i < b->cap; i++) {
        free(b->titles[i]);
        sbuf_free(&b->texts[i]);
    }
    for (size_t i = 0; i < b->cap_raw; i++) sbuf_free(&b->raw[i]);
    sbuf_free(&b->bad_err);
    for (int t = 0; t < b->n_codecs; t++) blob_codec_free(b->codecs[t]);
    free(b->codecs);
    free(b->warm);
    free(b->raw);
    free(b->ids);
    free(b->titles);
    free(b->texts);
    memset(b, 0, sizeof *b);
}

/* Room for n passages, keeping the buffers of those already there. */
static void reserve(struct corpus_batch *b, size_t n)
{
    if (b->cap >= n) return;
    b->ids = xrealloc(b->ids, n * sizeof *b->ids);
    b->titles = xrealloc(b->titles, n * sizeof *b->titles);
    b->texts = xrealloc(b->texts, n * sizeof *b->texts);
    for (size_t i = b->cap; i < n; i++) {
        b->titles[i] = NULL;
        memset(&b->texts[i], 0, sizeof b->texts[i]);
    }
    b->cap = n;
}

int64_t corpus_count(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM passages");
    int64_t n = -1;
    if (!s || store_int(st, s, &n) != 1) return -1;
    return n;
}

int64_t corpus_max_id(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT coalesce(max(id), 0) FROM passages");
    int64_t n = -1;
    if (!s || store_int(st, s, &n) != 1) return -1;
    return n;
}

/* Makes sure every thread's codec has the dictionary of each frame in the batch, loading it on
 * this thread: a codec loads a dictionary through the store, which one thread uses at a time.
 * Returns the row whose frame could not be read, or -1. */
static int64_t warm_codecs(struct store *st, struct corpus_batch *b, struct sbuf *err)
{
    if (!b->codecs) {
        b->n_codecs = omp_get_max_threads();
        b->codecs = xcalloc((size_t)b->n_codecs, sizeof *b->codecs);
        for (int t = 0; t < b->n_codecs; t++) b->codecs[t] = store_codec(st);
    }
    for (size_t i = 0; i < b->n; i++) {
        uint32_t id = ZSTD_getDictID_fromFrame(b->raw[i].p, b->raw[i].len);
        size_t w = 0;
        while (w < b->n_warm && b->warm[w] != id) w++;
        if (id == 0 || w < b->n_warm) continue;
        for (int t = 0; t < b->n_codecs; t++)
            if (blob_decompress(b->codecs[t], b->raw[i].p, b->raw[i].len, &b->texts[i], err) !=
                PARE_OK)
                return (int64_t)i;
        size_t cap = b->n_warm;
        xgrow((void **)&b->warm, &cap, b->n_warm + 1, sizeof *b->warm);
        b->warm[b->n_warm++] = id;
    }
    return -1;
}

int corpus_decode(struct corpus_batch *b, size_t i, int thread)
{
    struct sbuf e = {0};
    int rc = blob_decompress(b->codecs[thread], b->raw[i].p, b->raw[i].len, &b->texts[i], &e);
    if (rc != PARE_OK) {
#pragma omp critical(corpus_bad)
        if (b->bad < 0 || (int64_t)i < b->bad) {
            b->bad = (int64_t)i;
            sbuf_setf(&b->bad_err, "%s (passage %lld)", sbuf_str(&e), (long long)b->ids[i]);
        }
    }
    sbuf_free(&e);
    return rc == PARE_OK ? PARE_OK : PARE_EFAIL;
}

int64_t corpus_read(struct store *st, int64_t after, size_t limit, struct corpus_batch *b,
                    struct sbuf *err)
{
    reserve(b, limit);
    if (b->cap_raw < limit) {
        b->raw = xrealloc(b->raw, sizeof *b->raw * limit);
        memset(b->raw + b->cap_raw, 0, sizeof *b->raw * (limit - b->cap_raw));
        b->cap_raw = limit;
    }
    b->n = 0;
    b->bad = -1;
    sqlite3_stmt *s = store_stmt(st, "SELECT id, title, body FROM passages WHERE id > ?1 "
                                     "ORDER BY id LIMIT ?2");
    if (!s || sqlite3_bind_int64(s, 1, after) || sqlite3_bind_int64(s, 2, (int64_t)limit)) {
        sbuf_setf(err, "reading passages: %s", store_errmsg(st));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t i = b->n++;
        b->ids[i] = sqlite3_column_int64(s, 0);
        free(b->titles[i]);
        b->titles[i] = xstrdup((const char *)sqlite3_column_text(s, 1));
        sbuf_reset(&b->raw[i]);
        sbuf_add(&b->raw[i], sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        sbuf_setf(err, "reading passages: %s", store_errmsg(st));
        return -1;
    }
    int64_t bad = warm_codecs(st, b, err);
    if (bad >= 0) {
        sbuf_addf(err, " (passage %lld)", (long long)b->ids[bad]);
        return -1;
    }
    return (int64_t)b->n;
}

int64_t corpus_next(struct store *st, struct blob_codec *codec, int64_t after, size_t limit,
                    struct corpus_batch *b, struct sbuf *err)
{
    (void)codec; /* each thread has its own, loaded from the store like it */
    int64_t n = corpus_read(st, after, limit, b, err);
    if (n <= 0) return n;
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = 0; i < b->n; i++) (void)corpus_decode(b, i, omp_get_thread_num());
    if (b->bad < 0) return n;
    sbuf_setf(err, "%s", sbuf_str(&b->bad_err));
    return -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int corpus_load(struct store *st, struct blob_codec *codec, int64_t *ids, size_t n,
                struct corpus_batch *b, struct sbuf *err)
{
    qsort(ids, n, sizeof *ids, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ids[i] != ids[u - 1]) ids[u++] = ids[i];
    reserve(b, u);
    b->n = u;
    for (size_t i = 0; i < u; i++) {
        b->ids[i] = ids[i];
        struct sbuf title = {0};
        int rc = store_text(st, codec, ids[i], &title, &b->texts[i], err);
        free(b->titles[i]);
        b->titles[i] = sbuf_detach(&title);
        if (rc != PARE_OK) return rc;
    }
    return PARE_OK;
}

int64_t corpus_find(const struct corpus_batch *b, int64_t id)
{
    const int64_t *p = b->n ? bsearch(&id, b->ids, b->n, sizeof id, cmp_i64) : NULL;
    return p ? (int64_t)(p - b->ids) : -1;
}
