/*
 * index.c - `pare index`: embed every passage and build a FAISS index of them.
 *
 * Passages are read in id order in batches, so memory is the index plus one batch. The hash
 * embedder first counts document frequencies in one pass over the corpus (its statistics are
 * stored with the index, so that queries are weighted like the passages). Indexes that need
 * training (IVF, PQ) are trained on an evenly spread sample. The index row, its row map and
 * statistics are written in one transaction and the FAISS file atomically: an interrupted run
 * leaves no half index behind.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/catalog.h"
#include "index/embed.h"
#include "index/vectors.h"
#include "index/vindex.h"
#include "jobs/jobs.h"
#include "jobs/job.h"

struct pbatch {
    int64_t *ids;
    char **titles;
    struct sbuf *texts;
    size_t n, cap;
};

static void pbatch_free(struct pbatch *b)
{
    for (size_t i = 0; i < b->cap; i++) {
        free(b->titles[i]);
        sbuf_free(&b->texts[i]);
    }
    free(b->ids);
    free(b->titles);
    free(b->texts);
}

/* Reads up to `limit` passages with id > after, in id order. Returns the count, -1 on error. */
static int64_t read_passages(struct store *st, struct blob_codec *codec, int64_t after,
                             size_t limit, struct pbatch *b, struct sbuf *err)
{
    if (b->cap < limit) {
        b->ids = xrealloc(b->ids, limit * sizeof *b->ids);
        b->titles = xrealloc(b->titles, limit * sizeof *b->titles);
        b->texts = xrealloc(b->texts, limit * sizeof *b->texts);
        for (size_t i = b->cap; i < limit; i++) {
            b->titles[i] = NULL;
            memset(&b->texts[i], 0, sizeof b->texts[i]);
        }
        b->cap = limit;
    }
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

/* Embeds a batch with the hash embedder on every core. */
static void embed_batch(const struct embedder *e, const struct pbatch *b, float *out,
                        struct hfeats *scratch)
{
    int dim = embedder_dim(e);
#pragma omp parallel for schedule(dynamic, 32)
    for (size_t i = 0; i < b->n; i++) {
        struct hfeats *f = &scratch[omp_get_thread_num()];
        hash_features(e, b->titles[i], b->texts[i].p, b->texts[i].len, f);
        hash_vector(e, f, out + i * (size_t)dim);
    }
}

struct build {
    struct store *st;
    struct job job;
    struct embedder *emb;
    struct vindex *vx;
    struct blob_codec *codec;
    struct hfeats *scratch;
    int n_threads;
    const char *factory;
    int64_t n_passages, index_id, batch;
    FILE *keep;
    struct sbuf err;
};

static int add_row(struct build *b, int64_t row, int64_t pid)
{
    sqlite3_stmt *s = store_stmt(b->st, "INSERT INTO index_rows(index_id, row, passage_id) "
                                        "VALUES (?1, ?2, ?3)");
    if (!s || sqlite3_bind_int64(s, 1, b->index_id) || sqlite3_bind_int64(s, 2, row) ||
        sqlite3_bind_int64(s, 3, pid) || store_done(b->st, s)) {
        sbuf_setf(&b->err, "storing index rows: %s", store_errmsg(b->st));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Hash embedder: fit, train on a sample if needed, add everything. */
static int build_hash(struct build *b, int64_t train_size)
{
    struct pbatch pb = {0};
    int dim = embedder_dim(b->emb);
    float *vec = xmalloc(sizeof *vec * (size_t)b->batch * (size_t)dim);
    int rc = PARE_OK;
    double total_len = 0;
    int64_t done = 0, n;
    /* pass 1: document frequencies */
    for (int64_t after = 0;
         (n = read_passages(b->st, b->codec, after, (size_t)b->batch, &pb, &b->err)) > 0;
         after = pb.ids[n - 1]) {
        double len = 0;
#pragma omp parallel for schedule(dynamic, 32) reduction(+ : len)
        for (int64_t i = 0; i < n; i++) {
            struct hfeats *f = &b->scratch[omp_get_thread_num()];
            hash_features(b->emb, pb.titles[i], pb.texts[i].p, pb.texts[i].len, f);
            hash_fit_add(b->emb, f);
            len += f->len;
        }
        total_len += len;
        done += n;
        job_progress(&b->job, "passages counted", (uint64_t)done, (uint64_t)b->n_passages, 0, 0);
    }
    if (n < 0) rc = PARE_EFAIL;
    hash_fit_done(b->emb, done, total_len);

    /* pass 2 (only for indexes that learn from data): train on an evenly spread sample */
    if (rc == PARE_OK && !vindex_is_trained(b->vx)) {
        int64_t stride = b->n_passages / train_size + 1, kept = 0, seen = 0;
        float *sample =
            xmalloc(sizeof *sample * (size_t)(b->n_passages / stride + 1) * (size_t)dim);
        for (int64_t after = 0;
             rc == PARE_OK &&
             (n = read_passages(b->st, b->codec, after, (size_t)b->batch, &pb, &b->err)) > 0;
             after = pb.ids[n - 1]) {
            embed_batch(b->emb, &pb, vec, b->scratch);
            for (int64_t i = 0; i < n; i++, seen++)
                if (seen % stride == 0)
                    memcpy(sample + (size_t)kept++ * (size_t)dim, vec + (size_t)i * (size_t)dim,
                           sizeof *vec * (size_t)dim);
        }
        if (n < 0) rc = PARE_EFAIL;
        job_say(&b->job, "index: training on %lld of %lld passages", (long long)kept,
                (long long)b->n_passages);
        if (rc == PARE_OK) rc = vindex_train(b->vx, kept, sample, &b->err);
        free(sample);
    }

    /* pass 3: add */
    int64_t row = 0;
    for (int64_t after = 0;
         rc == PARE_OK &&
         (n = read_passages(b->st, b->codec, after, (size_t)b->batch, &pb, &b->err)) > 0;
         after = pb.ids[n - 1]) {
        embed_batch(b->emb, &pb, vec, b->scratch);
        rc = vindex_add(b->vx, n, vec, &b->err);
        if (rc == PARE_OK && b->keep &&
            fwrite(vec, sizeof *vec * (size_t)dim, (size_t)n, b->keep) != (size_t)n) {
            sbuf_setf(&b->err, "writing kept vectors: %s", strerror(errno));
            rc = PARE_EFAIL;
        }
        for (int64_t i = 0; i < n && rc == PARE_OK; i++) rc = add_row(b, row++, pb.ids[i]);
        job_progress(&b->job, "passages embedded", (uint64_t)row, (uint64_t)b->n_passages, 0, 0);
    }
    if (n < 0) rc = PARE_EFAIL;
    free(vec);
    pbatch_free(&pb);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static struct embedder *file_embedder(int dim, const char *vectors)
{
    json_t *d = json_pack("{s:s, s:i, s:s}", "kind", "file", "dim", dim, "vectors", vectors);
    struct embedder *e = NULL;
    struct sbuf err = {0};
    if (!d || embedder_from_json(d, &e, &err) != PARE_OK) abort(); /* a description we made */
    json_decref(d);
    sbuf_free(&err);
    return e;
}

/* File embedder: vectors given with passage ids. */
static int build_file(struct build *b, const char *vectors, const char *ids, const char *ids_kind,
                      int64_t train_size)
{
    float *v = NULL;
    int dim = 0;
    int64_t rows = 0;
    char **idl = NULL;
    int rc = vectors_load(vectors, ids, &v, &dim, &rows, &idl, &b->err);
    if (rc != PARE_OK) return rc;
    int64_t *pids = xcalloc((size_t)rows + 1, sizeof *pids);
    if (rows != b->n_passages) {
        sbuf_setf(&b->err, "%s: %lld vectors, but the database has %lld passages", vectors,
                  (long long)rows, (long long)b->n_passages);
        rc = PARE_EINPUT;
    }
    int by_ext = strcmp(ids_kind, "ext") == 0;
    for (int64_t i = 0; i < rows && rc == PARE_OK; i++) {
        sqlite3_stmt *s;
        int64_t pid = 0;
        if (by_ext) {
            s = store_stmt(b->st, "SELECT id FROM passages WHERE ext_id = ?1 ORDER BY id LIMIT 1");
            if (!s || sqlite3_bind_text(s, 1, idl[i], -1, SQLITE_STATIC)) s = NULL;
        } else {
            int64_t want;
            s = store_stmt(b->st, "SELECT id FROM passages WHERE id = ?1");
            if (vectors_numeric_id(idl[i], &want) != 0) {
                sbuf_setf(&b->err,
                          "%s:%lld: '%s' is not a passage id (use --ids-kind ext for "
                          "the source's ids)",
                          ids, (long long)i + 1, idl[i]);
                rc = PARE_EINPUT;
                break;
            }
            if (!s || sqlite3_bind_int64(s, 1, want)) s = NULL;
        }
        int found = s ? store_int(b->st, s, &pid) : -1;
        if (found < 0) {
            sbuf_setf(&b->err, "looking up passages: %s", store_errmsg(b->st));
            rc = PARE_EFAIL;
        } else if (!found) {
            sbuf_setf(&b->err, "%s:%lld: no passage with id '%s'", ids, (long long)i + 1, idl[i]);
            rc = PARE_EINPUT;
        } else {
            pids[i] = pid;
        }
    }
    if (rc == PARE_OK) { /* rows == passages and all exist: no duplicate means all covered */
        int64_t *sorted = xmalloc(sizeof *sorted * (size_t)rows);
        memcpy(sorted, pids, sizeof *sorted * (size_t)rows);
        qsort(sorted, (size_t)rows, sizeof *sorted, cmp_i64);
        for (int64_t i = 1; i < rows && rc == PARE_OK; i++) {
            if (sorted[i] == sorted[i - 1]) {
                sbuf_setf(&b->err, "%s: passage %lld appears twice", ids, (long long)sorted[i]);
                rc = PARE_EINPUT;
            }
        }
        free(sorted);
    }
    if (rc == PARE_OK) rc = vindex_create(b->factory, dim, &b->vx, &b->err);
    if (rc == PARE_OK) b->emb = file_embedder(dim, vectors);
    if (rc == PARE_OK && !vindex_is_trained(b->vx)) {
        int64_t stride = rows / train_size + 1, kept = 0;
        float *sample = xmalloc(sizeof *sample * (size_t)(rows / stride + 1) * (size_t)dim);
        for (int64_t i = 0; i < rows; i += stride)
            memcpy(sample + (size_t)kept++ * (size_t)dim, v + (size_t)i * (size_t)dim,
                   sizeof *v * (size_t)dim);
        rc = vindex_train(b->vx, kept, sample, &b->err);
        free(sample);
    }
    for (int64_t i = 0; i < rows && rc == PARE_OK; i += b->batch) {
        int64_t n = rows - i < b->batch ? rows - i : b->batch;
        rc = vindex_add(b->vx, n, v + (size_t)i * (size_t)dim, &b->err);
        for (int64_t k = 0; k < n && rc == PARE_OK; k++) rc = add_row(b, i + k, pids[i + k]);
    }
    vectors_free_ids(idl, rows);
    free(pids);
    free(v);
    return rc;
}

/*
 * Trains (if needed) and fills b->vx from `rows` vectors of `dim` floats in an open .npy file,
 * streaming them in batches; row i belongs to passage pids[i].
 */
static int add_from_npy(struct build *b, FILE *f, const char *name, int64_t rows, int dim,
                        const int64_t *pids, int64_t train_size)
{
    long data = 0;
    if (fseek(f, 0, SEEK_SET) != 0 || npy_skip_header(f) != 0 || (data = ftell(f)) < 0) {
        sbuf_setf(&b->err, "%s: not a vectors file written by pare index", name);
        return PARE_EFAIL;
    }
    size_t row_bytes = sizeof(float) * (size_t)dim;
    float *v = xmalloc(row_bytes * (size_t)b->batch);
    int rc = PARE_OK;
    if (!vindex_is_trained(b->vx)) {
        int64_t stride = rows / train_size + 1, k = 0;
        float *sample = xmalloc(row_bytes * (size_t)(rows / stride + 1));
        for (int64_t i = 0; i < rows && rc == PARE_OK; i += stride, k++) {
            if (fseek(f, data + (long)(i * (int64_t)row_bytes), SEEK_SET) != 0 ||
                fread(sample + (size_t)k * (size_t)dim, row_bytes, 1, f) != 1) {
                sbuf_setf(&b->err, "%s: truncated at row %lld", name, (long long)i);
                rc = PARE_EFAIL;
            }
        }
        if (rc == PARE_OK) rc = vindex_train(b->vx, k, sample, &b->err);
        free(sample);
    }
    if (rc == PARE_OK && fseek(f, data, SEEK_SET) != 0) rc = PARE_EFAIL;
    for (int64_t i = 0; i < rows && rc == PARE_OK; i += b->batch) {
        int64_t n = rows - i < b->batch ? rows - i : b->batch;
        if (fread(v, row_bytes, (size_t)n, f) != (size_t)n) {
            sbuf_setf(&b->err, "%s: truncated: fewer than %lld vectors", name, (long long)rows);
            rc = PARE_EFAIL;
            break;
        }
        rc = vindex_add(b->vx, n, v, &b->err);
        for (int64_t k = 0; k < n && rc == PARE_OK; k++) rc = add_row(b, i + k, pids[i + k]);
        job_progress(&b->job, "vectors added", (uint64_t)(i + n), (uint64_t)rows, 0, 0);
    }
    free(v);
    return rc;
}

/* Re-index: the embedder, statistics and kept vectors of another index, a new factory. */
static int build_from(struct build *b, int64_t from, int64_t train_size)
{
    struct pare_index *old = NULL;
    int rc = catalog_load(b->st, from, &old, &b->err);
    if (rc != PARE_OK) return rc;
    json_t *desc = embedder_describe(old->emb);
    const char *kept = json_string_value(json_object_get(desc, "kept_vectors"));
    char *kept_path = kept ? catalog_resolve(b->st, kept) : NULL;
    FILE *f = kept_path ? fopen(kept_path, "rb") : NULL;
    int dim = embedder_dim(old->emb);
    if (!kept) {
        sbuf_setf(&b->err, "index %lld kept no vectors (build it with --keep-vectors)",
                  (long long)from);
        rc = PARE_EUSAGE;
    } else if (!f) {
        sbuf_setf(&b->err, "%s: cannot open: %s", kept_path, strerror(errno));
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK) rc = vindex_create(b->factory, dim, &b->vx, &b->err);
    if (rc == PARE_OK)
        rc = add_from_npy(b, f, kept_path, old->n_rows, dim, old->row_passage, train_size);
    if (rc == PARE_OK) {
        json_object_del(desc, "kept_vectors");
        rc = embedder_from_json(desc, &b->emb, &b->err);
        if (rc == PARE_OK && embedder_kind(b->emb) == EMBED_HASH) {
            int64_t nd;
            double avg;
            const uint32_t *df = hash_df(old->emb, &nd, &avg);
            rc = hash_set_stats(b->emb, df, HASH_DF_BUCKETS, nd, avg, &b->err);
        }
    }
    if (f) fclose(f);
    free(kept_path);
    json_decref(desc);
    catalog_free(old);
    return rc;
}

/* openai embedder: embed batch by batch into a .npy beside the index, then build from it. */
static int build_openai(struct build *b, const struct openai_cfg *oc, const char *npy,
                        int64_t train_size)
{
    FILE *f = fopen(npy, "w+b");
    if (!f) {
        sbuf_setf(&b->err, "%s: cannot create: %s", npy, strerror(errno));
        return PARE_EFAIL;
    }
    struct pbatch pb = {0};
    int64_t *pids = xmalloc(sizeof *pids * (size_t)(b->n_passages + 1));
    int64_t rows = 0, n;
    int dim = 0, rc = PARE_OK;
    const char **texts = xmalloc(sizeof *texts * (size_t)b->batch);
    char **joined = xcalloc((size_t)b->batch, sizeof *joined);
    for (int64_t after = 0;
         rc == PARE_OK &&
         (n = read_passages(b->st, b->codec, after, (size_t)b->batch, &pb, &b->err)) > 0;
         after = pb.ids[n - 1]) {
        for (int64_t i = 0; i < n; i++) {
            struct sbuf t = {0};
            sbuf_addf(&t, "%s\n%s", pb.titles[i], pb.texts[i].p);
            free(joined[i]);
            joined[i] = sbuf_detach(&t);
            texts[i] = joined[i];
        }
        float *v = NULL;
        rc = openai_embed(oc, (size_t)n, texts, &v, &dim, &b->err);
        if (rc == PARE_OK && rows == 0 && npy_write_header(f, b->n_passages, dim) != 0) rc = -1;
        if (rc == PARE_OK && fwrite(v, sizeof *v * (size_t)dim, (size_t)n, f) != (size_t)n) rc = -1;
        if (rc == -1) {
            sbuf_setf(&b->err, "%s: write error", npy);
            rc = PARE_EFAIL;
        }
        free(v);
        for (int64_t i = 0; i < n && rc == PARE_OK; i++) pids[rows++] = pb.ids[i];
        job_progress(&b->job, "passages embedded", (uint64_t)rows, (uint64_t)b->n_passages, 0, 0);
    }
    if (rc == PARE_OK && n < 0) rc = PARE_EFAIL;
    if (rc == PARE_OK && rows != b->n_passages) {
        sbuf_setf(&b->err, "passages changed while indexing (%lld read, %lld expected)",
                  (long long)rows, (long long)b->n_passages);
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK && fflush(f) != 0) rc = PARE_EFAIL;
    if (rc == PARE_OK) rc = vindex_create(b->factory, dim, &b->vx, &b->err);
    if (rc == PARE_OK) rc = add_from_npy(b, f, npy, rows, dim, pids, train_size);
    if (rc == PARE_OK) b->emb = embedder_openai_new(oc->model, dim);
    for (int64_t i = 0; i < b->batch; i++) free(joined[i]);
    free(joined);
    free(texts);
    free(pids);
    pbatch_free(&pb);
    fclose(f);
    return rc;
}

static int64_t count_passages(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM passages");
    int64_t n = -1;
    if (!s || store_int(st, s, &n) != 1) return -1;
    return n;
}

int job_index(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *kind = NULL, *factory = NULL, *out = NULL, *vectors = NULL, *ids = NULL,
               *ids_kind = NULL;
    int64_t dim = HASH_DEFAULT_DIM, title_repeat = 2, train_size = 100000, batch = 4096;
    double bigram_w = 0.5, k1 = 0.9, bm25_b = 0.4;
    int keep = 0;
    int64_t from = 0;
    struct openai_opts oa = {0};
    const struct opt opts[] = {
        {"embedder", OPT_STRING, &kind, "hash", "KIND", "hash, file or openai"},
        {"factory", OPT_STRING, &factory, "Flat", "SPEC",
         "FAISS index_factory string: Flat, IVF1024,Flat, HNSW32, IVF4096,PQ32, ..."},
        {"dim", OPT_INT, &dim, "2048", "D", "hash: dimensions"},
        {"bigram-weight", OPT_DOUBLE, &bigram_w, "0.5", "W", "hash: weight of bigram features"},
        {"title-repeat", OPT_INT, &title_repeat, "2", "N", "hash: times the title is counted"},
        {"k1", OPT_DOUBLE, &k1, "0.9", "X", "hash: BM25 k1 of the exact re-ranking score"},
        {"b", OPT_DOUBLE, &bm25_b, "0.4", "X", "hash: BM25 b of the exact re-ranking score"},
        {"vectors", OPT_STRING, &vectors, NULL, "FILE", "file: .npy (float32) or .fvecs vectors"},
        {"ids", OPT_STRING, &ids, NULL, "FILE", "file: one passage id per line, row by row"},
        {"ids-kind", OPT_STRING, &ids_kind, "id", "KIND",
         "file: ids are pare's passage ids (id) or the source's (ext)"},
        {"model", OPT_STRING, &oa.model, "text-embedding-3-small", "NAME", "openai: model"},
        {"request-size", OPT_INT, &oa.request_size, "64", "N", "openai: texts per request"},
        {"max-concurrency", OPT_INT, &oa.max_concurrency, "8", "N", "openai: requests in flight"},
        {"timeout", OPT_DOUBLE, &oa.timeout_s, "60", "S", "openai: seconds per request"},
        {"max-retries", OPT_INT, &oa.max_retries, "5", "N", "openai: retries of a failed request"},
        {"rpm", OPT_DOUBLE, &oa.rpm, "0", "N", "openai: requests per minute (0: no limit)"},
        {"tpm", OPT_DOUBLE, &oa.tpm, "0", "N", "openai: tokens per minute (0: no limit)"},
        {"train-size", OPT_INT, &train_size, "100000", "N", "vectors to train IVF/PQ indexes on"},
        {"batch", OPT_INT, &batch, "4096", "N", "passages embedded and added at a time"},
        {"keep-vectors", OPT_FLAG, &keep, NULL, NULL,
         "also write the vectors (.npy) and row ids, to re-index without embedding again"},
        {"from-index", OPT_INT, &from, "0", "ID",
         "build from the vectors kept by index ID (--keep-vectors), with a new --factory"},
        {"out", OPT_STRING, &out, NULL, "PATH", "index file (default: DB.indexN.faiss)"},
        {NULL},
    };
    const struct cli cli = {"index",
                            NULL,
                            "Embed every passage and build a FAISS index (inner product on "
                            "L2-normalised vectors).",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    enum embed_kind ek;
    const char *why = NULL;
    if (embed_kind_parse(kind, &ek) != 0) {
        fprintf(stderr, "pare index: unknown --embedder '%s' (hash, file or openai)\n", kind);
        return PARE_EUSAGE;
    }
    if (from > 0 && keep)
        why = "--from-index builds from kept vectors: no --keep-vectors";
    else if (from > 0 && ek != EMBED_HASH)
        why = "--from-index reuses that index's embedder: no --embedder";
    else if (from > 0 && vectors)
        why = "--from-index reuses that index's vectors: no --vectors";
    else if (keep && ek == EMBED_FILE)
        why = "--keep-vectors is for embedders that compute vectors, not --embedder file";
    else if (ek == EMBED_FILE && (!vectors || !ids))
        why = "--embedder file needs --vectors FILE and --ids FILE";
    else if (dim < 1 || dim > 65536)
        why = "--dim must be between 1 and 65536";
    else if (batch < 1)
        why = "--batch must be positive";
    else if (train_size < 1)
        why = "--train-size must be positive";
    else if (title_repeat < 0)
        why = "--title-repeat must not be negative";
    else if (bigram_w < 0)
        why = "--bigram-weight must not be negative";
    else if (strcmp(ids_kind, "id") != 0 && strcmp(ids_kind, "ext") != 0)
        why = "--ids-kind must be id or ext";
    if (why) {
        fprintf(stderr, "pare index: %s\n", why);
        return PARE_EUSAGE;
    }
    struct openai_cfg oc = {0};
    if (ek == EMBED_OPENAI) {
        struct sbuf e = {0};
        if (openai_cfg_init(&oc, &oa, &e) != PARE_OK) {
            fprintf(stderr, "pare index: %s\n", sbuf_str(&e));
            sbuf_free(&e);
            return PARE_EUSAGE;
        }
    }

    struct build b = {0};
    b.factory = factory;
    b.batch = batch;
    const char *db = pare_db_path(ctx);
    if (job_open(&b.job, ctx, "index", 0, argc, argv, &b.st) != PARE_OK) {
        return PARE_EFAIL;
    }
    b.n_threads = omp_get_max_threads();
    b.scratch = xcalloc((size_t)b.n_threads, sizeof *b.scratch);
    b.codec = store_codec(b.st);
    struct sbuf path = {0}, keep_path = {0};
    char checksum[33] = "";
    const char *stored = NULL; /* the path as recorded, when it differs from path */
    b.n_passages = count_passages(b.st);
    if (b.n_passages < 0) {
        sbuf_setf(&b.err, "counting passages: %s", store_errmsg(b.st));
        rc = PARE_EFAIL;
    } else if (b.n_passages == 0) {
        sbuf_setf(&b.err, "the database has no passages: run pare ingest first");
        rc = PARE_EUSAGE;
    }
    if (rc == PARE_OK && store_begin(b.st) != PARE_OK) {
        sbuf_setf(&b.err, "%s", store_errmsg(b.st));
        rc = PARE_EFAIL;
    }
    /* the row first, for its id, which names the file */
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = NULL;
    if (rc == PARE_OK) {
        s = store_stmt(b.st, "INSERT INTO indexes(path, factory, metric, dim, embedder, "
                             "n_vectors, built_at, checksum) VALUES ('', ?1, 'inner_product', 0, "
                             "'{}', 0, ?2, '')");
        if (!s || sqlite3_bind_text(s, 1, factory, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT) || store_done(b.st, s)) {
            sbuf_setf(&b.err, "%s", store_errmsg(b.st));
            rc = PARE_EFAIL;
        }
        b.index_id = sqlite3_last_insert_rowid(store_db(b.st));
        /* the default file sits beside the database and is recorded relative to it */
        if (out)
            sbuf_adds(&path, out);
        else
            sbuf_addf(&path, "%s.index%lld.faiss", db, (long long)b.index_id);
        const char *slash = strrchr(db, '/');
        stored = out ? NULL : path.p + (slash ? (size_t)(slash - db) + 1 : 0);
    }
    if (rc == PARE_OK && (keep || ek == EMBED_OPENAI))
        sbuf_addf(&keep_path, "%s.vectors.npy", path.p);
    if (rc == PARE_OK && keep && ek == EMBED_HASH) {
        b.keep = fopen(keep_path.p, "wb");
        if (!b.keep) {
            sbuf_setf(&b.err, "%s: cannot create: %s", keep_path.p, strerror(errno));
            rc = PARE_EFAIL;
        }
    }
    if (rc == PARE_OK && ek == EMBED_HASH && from == 0) {
        struct hash_params hp = {(int)dim, bigram_w, (int)title_repeat, k1, bm25_b};
        b.emb = embedder_hash_new(&hp);
        rc = vindex_create(factory, (int)dim, &b.vx, &b.err);
        if (rc == PARE_OK && b.keep && npy_write_header(b.keep, b.n_passages, (int)dim) != 0) {
            sbuf_setf(&b.err, "%s: write error", keep_path.p);
            rc = PARE_EFAIL;
        }
        if (rc == PARE_OK) rc = build_hash(&b, train_size);
    } else if (rc == PARE_OK && ek == EMBED_OPENAI) {
        rc = build_openai(&b, &oc, keep_path.p, train_size);
        if (!keep && keep_path.len) {
            remove(keep_path.p);
            sbuf_reset(&keep_path);
        }
    } else if (rc == PARE_OK && from > 0) {
        rc = build_from(&b, from, train_size);
    } else if (rc == PARE_OK) {
        rc = build_file(&b, vectors, ids, ids_kind, train_size);
    }
    if (b.keep && fclose(b.keep) != 0 && rc == PARE_OK) {
        sbuf_setf(&b.err, "%s: write error", keep_path.p);
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK) rc = vindex_write(b.vx, path.p, checksum, &b.err);
    if (rc == PARE_OK && embedder_kind(b.emb) == EMBED_HASH)
        rc = catalog_save_stats(b.st, b.index_id, b.emb, &b.err);
    if (rc == PARE_OK) {
        json_t *desc = embedder_describe(b.emb);
        if (keep) {
            const char *slash = strrchr(db, '/');
            json_object_set_new(
                desc, "kept_vectors",
                json_string(stored ? keep_path.p + (slash ? (size_t)(slash - db) + 1 : 0)
                                   : keep_path.p));
        }
        char *dtext = json_dumps(desc, JSON_COMPACT);
        json_decref(desc);
        s = store_stmt(b.st, "UPDATE indexes SET path = ?1, dim = ?2, embedder = ?3, "
                             "n_vectors = ?4, checksum = ?5 WHERE id = ?6");
        char *abs = stored ? NULL : realpath(path.p, NULL);
        const char *rec = stored ? stored : abs ? abs : path.p;
        if (!dtext || !s || sqlite3_bind_text(s, 1, rec, -1, SQLITE_TRANSIENT) ||
            sqlite3_bind_int(s, 2, vindex_dim(b.vx)) ||
            sqlite3_bind_text(s, 3, dtext, -1, SQLITE_TRANSIENT) ||
            sqlite3_bind_int64(s, 4, vindex_ntotal(b.vx)) ||
            sqlite3_bind_text(s, 5, checksum, -1, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 6, b.index_id) || store_done(b.st, s) ||
            store_commit(b.st) != PARE_OK) {
            sbuf_setf(&b.err, "%s", store_errmsg(b.st));
            rc = PARE_EFAIL;
        }
        free(dtext);
        free(abs);
    }
    if (rc != PARE_OK) {
        store_rollback(b.st);
        if (path.len && checksum[0]) remove(path.p);
        if (keep_path.len) remove(keep_path.p);
        fprintf(stderr, "pare index: %s\n", sbuf_str(&b.err));
    } else {
        job_say(&b.job, "index %lld: %lld passages, %s, dim %d, %s embedder -> %s",
                (long long)b.index_id, (long long)vindex_ntotal(b.vx), factory, vindex_dim(b.vx),
                kind, path.p);
        if (!ctx->nested) printf("%lld\n", (long long)b.index_id);
    }
    int64_t done = rc == PARE_OK ? vindex_ntotal(b.vx) : 0;
    rc = job_end(&b.job, rc, done, 0, rc == PARE_OK ? NULL : sbuf_str(&b.err), NULL);
    for (int i = 0; i < b.n_threads; i++) hfeats_free(&b.scratch[i]);
    free(b.scratch);
    blob_codec_free(b.codec);
    embedder_free(b.emb);
    vindex_free(b.vx);
    sbuf_free(&path);
    sbuf_free(&keep_path);
    sbuf_free(&b.err);
    store_close(b.st);
    return rc;
}
