/* corpus.c - see corpus.h. */
#include "index/corpus.h"

#include <stdlib.h>
#include <string.h>

void corpus_free(struct corpus_batch *b)
{
    for (size_t i = 0; i < b->cap; i++) {
        free(b->titles[i]);
        sbuf_free(&b->texts[i]);
    }
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

int64_t corpus_next(struct store *st, struct blob_codec *codec, int64_t after, size_t limit,
                    struct corpus_batch *b, struct sbuf *err)
{
    reserve(b, limit);
    b->n = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT id, title, body FROM passages WHERE id > ?1 "
                                     "ORDER BY id LIMIT ?2");
    if (!s || sqlite3_bind_int64(s, 1, after) || sqlite3_bind_int64(s, 2, (int64_t)limit)) {
        sbuf_setf(err, "reading passages: %s", store_errmsg(st));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t i = b->n;
        b->ids[i] = sqlite3_column_int64(s, 0);
        free(b->titles[i]);
        b->titles[i] = xstrdup((const char *)sqlite3_column_text(s, 1));
        if (blob_decompress(codec, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                            &b->texts[i], err) != PARE_OK) {
            sqlite3_reset(s);
            sbuf_addf(err, " (passage %lld)", (long long)b->ids[i]);
            return -1;
        }
        b->n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        sbuf_setf(err, "reading passages: %s", store_errmsg(st));
        return -1;
    }
    return (int64_t)b->n;
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
    const int64_t *p = bsearch(&id, b->ids, b->n, sizeof id, cmp_i64);
    return p ? (int64_t)(p - b->ids) : -1;
}
