/* catalog.c - see catalog.h. */
#include "index/catalog.h"

#include <stdlib.h>
#include <string.h>

void catalog_free(struct pare_index *ix)
{
    if (!ix) return;
    free(ix->path);
    free(ix->factory);
    vindex_free(ix->vx);
    embedder_free(ix->emb);
    free(ix->row_passage);
    free(ix);
}

char *catalog_resolve(struct store *st, const char *path)
{
    if (path[0] == '/') return xstrdup(path);
    const char *db = store_path(st);
    const char *slash = strrchr(db, '/');
    if (!slash) return xstrdup(path);
    struct sbuf b = {0};
    sbuf_add(&b, db, (size_t)(slash - db) + 1);
    sbuf_adds(&b, path);
    return sbuf_detach(&b);
}

int catalog_save_stats(struct store *st, int64_t index_id, const struct embedder *e,
                       struct sbuf *err)
{
    int64_t n_docs;
    double avg;
    const uint32_t *df = hash_df(e, &n_docs, &avg);
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    struct sbuf z = {0};
    /* little-endian uint32 on disk; pare builds on little-endian machines only (x86, arm64) */
    int rc = blob_compress(c, df, sizeof *df * HASH_DF_BUCKETS, &z, err);
    blob_codec_free(c);
    if (rc == PARE_OK) {
        sqlite3_stmt *s = store_stmt(st, "INSERT INTO index_stats(index_id, n_docs, avg_len, "
                                         "buckets, df) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s || sqlite3_bind_int64(s, 1, index_id) || sqlite3_bind_int64(s, 2, n_docs) ||
            sqlite3_bind_double(s, 3, avg) || sqlite3_bind_int64(s, 4, HASH_DF_BUCKETS) ||
            sqlite3_bind_blob(s, 5, z.p, (int)z.len, SQLITE_STATIC) || store_done(st, s)) {
            sbuf_setf(err, "storing index statistics: %s", store_errmsg(st));
            rc = PARE_EFAIL;
        }
    }
    sbuf_free(&z);
    return rc;
}

static int load_stats(struct store *st, struct pare_index *ix, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT n_docs, avg_len, df FROM index_stats "
                                     "WHERE index_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, ix->id)) goto dberr;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) goto dberr;
        sbuf_setf(err, "index %lld has no embedder statistics; rebuild it with pare index",
                  (long long)ix->id);
        return PARE_EFAIL;
    }
    int64_t n_docs = sqlite3_column_int64(s, 0);
    double avg = sqlite3_column_double(s, 1);
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    struct sbuf raw = {0};
    int out = blob_decompress(c, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                              &raw, err);
    sqlite3_reset(s);
    blob_codec_free(c);
    if (out == PARE_OK)
        out = hash_set_stats(ix->emb, (const uint32_t *)(const void *)raw.p,
                             raw.len / sizeof(uint32_t), n_docs, avg, err);
    sbuf_free(&raw);
    return out;
dberr:
    sbuf_setf(err, "reading index statistics: %s", store_errmsg(st));
    return PARE_EFAIL;
}

int catalog_load(struct store *st, int64_t id, struct pare_index **out, struct sbuf *err)
{
    *out = NULL;
    sqlite3_stmt *s =
        id > 0 ? store_stmt(st, "SELECT id, path, factory, dim, embedder, n_vectors, checksum "
                                "FROM indexes WHERE id = ?1")
               : store_stmt(st, "SELECT id, path, factory, dim, embedder, n_vectors, checksum "
                                "FROM indexes ORDER BY id DESC LIMIT 1");
    if (!s || (id > 0 && sqlite3_bind_int64(s, 1, id))) {
        sbuf_setf(err, "reading indexes: %s", store_errmsg(st));
        return PARE_EFAIL;
    }
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            sbuf_setf(err, "reading indexes: %s", store_errmsg(st));
        else if (id > 0)
            sbuf_setf(err, "no index %lld in the database", (long long)id);
        else
            sbuf_setf(err, "the database has no index yet: run pare index first");
        return rc == SQLITE_DONE ? PARE_EUSAGE : PARE_EFAIL;
    }
    struct pare_index *ix = xcalloc(1, sizeof *ix);
    ix->id = sqlite3_column_int64(s, 0);
    ix->path = catalog_resolve(st, (const char *)sqlite3_column_text(s, 1));
    ix->factory = xstrdup((const char *)sqlite3_column_text(s, 2));
    int dim = sqlite3_column_int(s, 3);
    json_error_t je;
    json_t *desc = json_loads((const char *)sqlite3_column_text(s, 4), 0, &je);
    int64_t n_vectors = sqlite3_column_int64(s, 5);
    char *checksum = xstrdup((const char *)sqlite3_column_text(s, 6));
    sqlite3_reset(s);
    int res = PARE_EFAIL;
    if (!desc) {
        sbuf_setf(err, "index %lld: embedder description is not JSON: %s", (long long)ix->id,
                  je.text);
        goto out;
    }
    if (embedder_from_json(desc, &ix->emb, err) != PARE_OK) goto out;
    if (embedder_kind(ix->emb) == EMBED_HASH && load_stats(st, ix, err) != PARE_OK) goto out;
    if (vindex_read(ix->path, checksum, &ix->vx, err) != PARE_OK) goto out;
    if (vindex_dim(ix->vx) != dim || embedder_dim(ix->emb) != dim) {
        sbuf_setf(err, "%s: index dimension %d does not match the database (%d)", ix->path,
                  vindex_dim(ix->vx), dim);
        goto out;
    }
    if (vindex_ntotal(ix->vx) != n_vectors) {
        sbuf_setf(err, "%s: index holds %lld vectors, the database expects %lld", ix->path,
                  (long long)vindex_ntotal(ix->vx), (long long)n_vectors);
        goto out;
    }
    ix->n_rows = n_vectors;
    ix->row_passage = xcalloc((size_t)n_vectors + 1, sizeof *ix->row_passage);
    s = store_stmt(st, "SELECT row, passage_id FROM index_rows WHERE index_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, ix->id)) goto dberr;
    int64_t seen = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(s, 0);
        if (row < 0 || row >= n_vectors) continue;
        ix->row_passage[row] = sqlite3_column_int64(s, 1);
        seen++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) goto dberr;
    if (seen != n_vectors) {
        sbuf_setf(err, "index %lld: %lld rows mapped to passages, expected %lld", (long long)ix->id,
                  (long long)seen, (long long)n_vectors);
        goto out;
    }
    res = PARE_OK;
    goto out;
dberr:
    sbuf_setf(err, "reading index rows: %s", store_errmsg(st));
out:
    json_decref(desc);
    free(checksum);
    if (res != PARE_OK)
        catalog_free(ix);
    else
        *out = ix;
    return res;
}
