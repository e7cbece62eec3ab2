/* build.c - see build.h. */
#include "index/build.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/catalog.h"
#include "index/corpus.h"
#include "index/vectors.h"

void index_build_free(struct index_build *b)
{
    vindex_free(b->vx);
    embedder_free(b->emb);
    feat_writer_free(b->feat);
    post_writer_free(b->post);
    b->post = NULL;
    sbuf_free(&b->err);
    b->vx = NULL;
    b->emb = NULL;
    b->feat = NULL;
}

int64_t build_train_size(const char *factory, int64_t n)
{
    const char *ivf = strstr(factory, "IVF");
    int64_t want = 32768;
    if (ivf) { /* k-means costs lists x training vectors x dim: 32 a list (FAISS asks 39+) */
        long long lists = strtoll(ivf + 3, NULL, 10);
        if (lists > 0 && lists < (1LL << 24)) want = 32 * lists;
    }
    return want < n ? want : n;
}

void build_auto_factory(int64_t n, int hash, struct sbuf *factory, struct sbuf *params)
{
    sbuf_reset(factory);
    sbuf_reset(params);
    if (hash) {
        sbuf_adds(factory, POSTINGS_FACTORY);
        return;
    }
    if (n <= BUILD_AUTO_EXHAUSTIVE) {
        sbuf_adds(factory, "SQ8");
        return;
    }
    /* assigning every vector to a list costs nlist x dim multiply-adds, and training k-means
     * nlist x dim x (training vectors) per iteration: nlist = n / 2000 (256 to 1024) keeps a
     * million passages within a minute (lists of 2000 codes) */
    int64_t nlist = 256;
    while (nlist < 1024 && nlist * 2000 < n) nlist *= 2;
    sbuf_addf(factory, "IVF%lld,SQ8", (long long)nlist);
    sbuf_addf(params, "nprobe=%d", 16);
}

/* Every how many vectors one is kept for training. */
static int64_t train_stride(const struct index_build *b, int64_t n)
{
    int64_t want = b->train_size > 0 ? b->train_size : build_train_size(b->factory, n);
    return n / (want > 0 ? want : 1) + (n % (want > 0 ? want : 1) != 0);
}

static void progress(const struct index_build *b, const char *unit, int64_t done, int64_t total)
{
    if (b->progress) b->progress(b->ud, unit, done, total);
}

/* Every `stride`-th of n vectors, for training: the sample and its count. */
static float *sample_every(const float *v, int64_t n, int dim, int64_t stride, int64_t *kept)
{
    float *sample = xmalloc(sizeof *sample * (size_t)(n / stride + 1) * (size_t)dim);
    *kept = 0;
    for (int64_t i = 0; i < n; i += stride)
        memcpy(sample + (size_t)(*kept)++ * (size_t)dim, v + (size_t)i * (size_t)dim,
               sizeof *v * (size_t)dim);
    return sample;
}

/* Adds n vectors as rows first.. of the index, mapped to passages pids[0..n). */
static int add_rows(struct index_build *b, int64_t first, int64_t n, const float *v,
                    const int64_t *pids)
{
    int rc = vindex_add(b->vx, n, v, &b->err);
    if (rc == PARE_OK) rc = catalog_add_rows(b->st, b->index_id, first, pids, n, &b->err);
    return rc;
}

/* --- hash embedder --- */

/* What the passes of build_hash share: per-thread scratch, batches of rows and vectors. */
struct hash_pass {
    int n_threads, dim;
    struct hfeats *scratch; /* one per thread */
    uint32_t **df;          /* one document-frequency array per thread (vectors) */
    uint64_t **parts;       /* or one post_count array per thread (postings) */
    uint64_t *counts;       /* postings: their sum */
    int postings;           /* POSTINGS_FACTORY: the df comes from post_build */
    int64_t n_docs;         /* passages tokenised */
    double total_len;       /* and their length */
    struct sbuf *rows[2];   /* encoded features of two batches of passages */
    int64_t *ids[2];        /* their passages */
    float *vec;             /* vectors of a batch */
    struct feat_file *ff;   /* the features file, once written */
};

/* Decompresses and tokenises a batch once, on every thread (tasks of the caller's team): counts
 * its features' document frequencies (for postings, only their partitions: post_build counts
 * the df from its lists, in order, where hash_count's increments land all over 4 MB) and encodes
 * its rows. Decompressing here rather than where the batch is read spreads it over the team:
 * the reading task did all of it, and the text pass waited for that thread. Returns the batch's
 * length in features; a body that could not be decompressed is left in pb->bad. */
static double feature_batch(const struct embedder *e, struct hash_pass *h, struct corpus_batch *pb,
                            struct sbuf *rows)
{
    double len = 0;
    /* A bounded number of tasks: past 64 a thread queued, libgomp runs a taskloop's tasks at
     * once on the thread that makes them (4096 passages in tasks of 32 were 128: the whole
     * text pass ran on one thread while the other only read). */
    int tasks = 16 * omp_get_num_threads();
#pragma omp taskloop num_tasks(tasks) reduction(+ : len)
    for (size_t i = 0; i < pb->n; i++) {
        int t = omp_get_thread_num();
        struct hfeats *f = &h->scratch[t];
        if (corpus_decode(pb, i, t) != PARE_OK) continue;
        hash_features(e, pb->titles[i], pb->texts[i].p, pb->texts[i].len, f);
        if (h->postings) {
            if (!h->parts[t]) h->parts[t] = xcalloc(POST_PARTS, sizeof *h->parts[t]);
            post_count(h->parts[t], f);
        } else {
            if (!h->df[t]) h->df[t] = xcalloc(HASH_DF_BUCKETS, sizeof *h->df[t]);
            hash_count(e, h->df[t], f);
        }
        feat_encode(f, &rows[i]);
        len += f->len;
    }
    return len;
}

/* The rows of a tokenised batch into the features file. */
static int append_batch(struct feat_writer *w, const int64_t *ids, const struct sbuf *rows,
                        int64_t n, struct sbuf *err)
{
    int rc = PARE_OK;
    for (int64_t i = 0; i < n && rc == PARE_OK; i++) rc = feat_append(w, ids[i], &rows[i], err);
    return rc;
}

/* What the steps of text_pass carry: two batches of passages, read and tokenised in turn. */
struct text_steps {
    struct corpus_batch pb[2];
    int64_t n[2];      /* passages in each (-1: read error) */
    int64_t appending; /* passages of the batch tokenised before, to append */
    double total_len;
    int64_t done;
    struct sbuf read_err, append_err;
    int append_rc;
    const struct corpus_batch *bad; /* a batch with a body that could not be decompressed */
};

/* Step i of text_pass: batch i (in pb[cur]) is tokenised on every thread while one reads batch
 * i + 1 from the store and one appends batch i - 1's rows to the features file. Reading and
 * appending are serial (one connection, one file), tokenising is not: overlapping them keeps
 * the cores busy. Returns the passages of batch i + 1 (0 past the last, -1 on error). */
static int64_t text_step(struct index_build *b, struct hash_pass *h, struct text_steps *x, int cur)
{
    int nxt = cur ^ 1;
    int64_t after = x->pb[cur].ids[x->n[cur] - 1];
#pragma omp task shared(b, x) firstprivate(after, nxt)
    x->n[nxt] = corpus_read(b->st, after, (size_t)b->batch, &x->pb[nxt], &x->read_err);
#pragma omp task shared(b, h, x) firstprivate(nxt)
    if (x->appending > 0 && x->append_rc == PARE_OK)
        x->append_rc =
            append_batch(b->feat, h->ids[nxt], h->rows[nxt], x->appending, &x->append_err);
    x->total_len += feature_batch(b->emb, h, &x->pb[cur], h->rows[cur]);
#pragma omp taskwait
    if (x->pb[cur].bad >= 0) x->bad = &x->pb[cur];
    memcpy(h->ids[cur], x->pb[cur].ids, sizeof *h->ids[cur] * (size_t)x->n[cur]);
    x->appending = x->n[cur];
    x->done += x->n[cur];
    return x->n[nxt];
}

/* Reads, tokenises and appends every batch (text_step), with the first read before. */
static int text_steps_run(struct index_build *b, struct hash_pass *h, struct text_steps *x)
{
    int cur = 0;
    x->n[0] = corpus_read(b->st, 0, (size_t)b->batch, &x->pb[0], &x->read_err);
#pragma omp parallel
#pragma omp single
    while (x->n[cur] > 0 && x->append_rc == PARE_OK && !x->bad) {
        text_step(b, h, x, cur);
        progress(b, "passages tokenised", x->done, b->n_passages);
        cur ^= 1;
    }
    if (x->bad) { /* the rows of that batch are incomplete: none is appended */
        sbuf_setf(&b->err, "%s", sbuf_str(&x->bad->bad_err));
        return PARE_EFAIL;
    }
    if (x->append_rc == PARE_OK && x->appending > 0)
        x->append_rc =
            append_batch(b->feat, h->ids[cur ^ 1], h->rows[cur ^ 1], x->appending, &x->append_err);
    if (x->append_rc != PARE_OK) {
        sbuf_setf(&b->err, "%s", sbuf_str(&x->append_err));
        return x->append_rc;
    }
    if (x->n[cur] < 0) {
        sbuf_setf(&b->err, "%s", sbuf_str(&x->read_err));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Ends fitting the embedder on the text pass's counts; for postings, only its mean length
 * (postings_pass merges the df). */
static void fit_text(struct index_build *b, struct hash_pass *h)
{
    if (h->postings) {
        h->counts = xcalloc(POST_PARTS, sizeof *h->counts);
        for (int t = 0; t < h->n_threads; t++)
            for (size_t p = 0; h->parts[t] && p < POST_PARTS; p++) h->counts[p] += h->parts[t][p];
        hash_fit_len(b->emb, h->n_docs, h->total_len);
        return;
    }
    for (int t = 0; t < h->n_threads; t++)
        if (h->df[t]) hash_fit_merge(b->emb, h->df[t]);
    hash_fit_done(b->emb, h->n_docs, h->total_len);
}

/* Pass 1 over the text: document frequencies, mean length, and the features file. */
static int text_pass(struct index_build *b, struct hash_pass *h, const char *feat_path)
{
    struct text_steps x = {0};
    int rc = feat_create(feat_path, &b->feat, &b->err);
    if (rc == PARE_OK) rc = text_steps_run(b, h, &x);
    for (int i = 0; i < 2; i++) corpus_free(&x.pb[i]);
    sbuf_free(&x.read_err);
    sbuf_free(&x.append_err);
    h->n_docs = x.done;
    h->total_len = x.total_len;
    fit_text(b, h);
    if (rc == PARE_OK) rc = feat_finish(b->feat, b->feat_sum, &b->err);
    if (rc == PARE_OK) rc = feat_open(feat_tmp_path(b->feat), NULL, &h->ff, &b->err);
    if (rc == PARE_OK && feat_rows(h->ff) != b->n_passages) {
        sbuf_setf(&b->err, "passages changed while indexing (%lld read, %lld expected)",
                  (long long)feat_rows(h->ff), (long long)b->n_passages);
        rc = PARE_EFAIL;
    }
    return rc;
}

/* The vector of features-file row `row` into out. */
static int row_vector(const struct embedder *e, const struct feat_file *ff, int64_t row,
                      struct hfeats *f, float *out, struct sbuf *err)
{
    struct hdoc d;
    if (feat_doc(ff, row, &d, err) != PARE_OK) return PARE_EFAIL;
    feat_hfeats(&d, f);
    hash_vector(e, f, out);
    return PARE_OK;
}

/* The vectors of rows first .. first + n - 1 into h->vec, on every core. */
static int vector_batch(struct index_build *b, struct hash_pass *h, int64_t first, int64_t n)
{
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 32) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        struct sbuf e = {0};
        bad |= row_vector(b->emb, h->ff, first + i, &h->scratch[omp_get_thread_num()],
                          h->vec + (size_t)i * (size_t)h->dim, &e) != PARE_OK;
        sbuf_free(&e);
    }
    if (!bad) return PARE_OK;
    sbuf_setf(&b->err, "%s: malformed rows", feat_tmp_path(b->feat));
    return PARE_EFAIL;
}

/* For indexes that learn from data: training on an evenly spread sample of the vectors. */
static int train_pass(struct index_build *b, struct hash_pass *h)
{
    int64_t stride = train_stride(b, b->n_passages), kept = 0;
    float *sample = xmalloc(sizeof *sample * (size_t)(b->n_passages / stride + 1) * (size_t)h->dim);
    int rc = PARE_OK;
    for (int64_t row = 0; row < b->n_passages && rc == PARE_OK; row += stride)
        rc = row_vector(b->emb, h->ff, row, &h->scratch[0],
                        sample + (size_t)kept++ * (size_t)h->dim, &b->err);
    if (b->say) {
        struct sbuf line = {0};
        sbuf_addf(&line, "index: training on %lld of %lld passages", (long long)kept,
                  (long long)b->n_passages);
        b->say(b->ud, line.p);
        sbuf_free(&line);
    }
    feat_release(h->ff, 0, b->n_passages); /* the sample touched pages all over the file */
    if (rc == PARE_OK) rc = vindex_train(b->vx, kept, sample, &b->err);
    free(sample);
    return rc;
}

/* Makes and adds every vector, batch by batch (and keeps them when asked). */
static int add_pass(struct index_build *b, struct hash_pass *h, FILE *keep)
{
    int rc = PARE_OK; /* the row map is the features file's ids: no index_rows */
    for (int64_t row = 0; row < b->n_passages && rc == PARE_OK; row += b->batch) {
        int64_t n = b->n_passages - row < b->batch ? b->n_passages - row : b->batch;
        rc = vector_batch(b, h, row, n);
        if (rc == PARE_OK) rc = vindex_add(b->vx, n, h->vec, &b->err);
        if (rc == PARE_OK && keep &&
            fwrite(h->vec, sizeof *h->vec * (size_t)h->dim, (size_t)n, keep) != (size_t)n) {
            sbuf_setf(&b->err, "writing kept vectors: %s", strerror(errno));
            rc = PARE_EFAIL;
        }
        feat_release(h->ff, row, row + n);
        progress(b, "passages embedded", row + n, b->n_passages);
    }
    return rc;
}

static void hash_pass_free(struct hash_pass *h)
{
    for (int t = 0; t < h->n_threads; t++) {
        hfeats_free(&h->scratch[t]);
        free(h->df[t]);
        free(h->parts[t]);
    }
    free(h->scratch);
    free(h->df);
    free(h->parts);
    free(h->counts);
    feat_close(h->ff);
    free(h->vec);
}

/* The postings of the features file (POSTINGS_FACTORY), instead of vectors. */
static int postings_pass(struct index_build *b, struct hash_pass *h)
{
    if (b->say) b->say(b->ud, "index: building the postings of every feature");
    uint32_t *df = xmalloc(sizeof *df * HASH_DF_BUCKETS);
    int rc = post_build(h->ff, b->emb, h->counts, df, b->post_path, &b->post, b->post_sum, &b->err);
    feat_release(h->ff, 0, b->n_passages);
    if (rc == PARE_OK) { /* the statistics stored with the index, for queries */
        hash_fit_merge(b->emb, df);
        hash_fit_done(b->emb, h->n_docs, h->total_len);
    }
    free(df);
    if (rc == PARE_OK) b->n_rows = feat_rows(h->ff);
    if (rc == PARE_OK && b->say) {
        int64_t keys, postings;
        struct sbuf line = {0};
        post_writer_counts(b->post, &keys, &postings);
        sbuf_addf(&line, "index: postings of %lld keys, %lld postings (%.1f a passage)",
                  (long long)keys, (long long)postings,
                  b->n_rows ? (double)postings / (double)b->n_rows : 0.0);
        b->say(b->ud, line.p);
        sbuf_free(&line);
    }
    return rc;
}

int build_hash(struct index_build *b, const struct hash_params *p, const char *feat_path,
               FILE *keep, const char *keep_name)
{
    struct hash_params v = *p;
    v.version = HASH_VERSION; /* the features file holds version 2 keys */
    b->emb = embedder_hash_new(&v);
    int postings = strcmp(b->factory, POSTINGS_FACTORY) == 0;
    int rc = postings ? PARE_OK : vindex_create(b->factory, p->dim, &b->vx, &b->err);
    if (rc == PARE_OK && keep && npy_write_header(keep, b->n_passages, p->dim) != 0) {
        sbuf_setf(&b->err, "%s: write error", keep_name);
        rc = PARE_EFAIL;
    }
    if (rc != PARE_OK) return rc;
    struct hash_pass h = {.dim = p->dim, .n_threads = omp_get_max_threads()};
    h.scratch = xcalloc((size_t)h.n_threads, sizeof *h.scratch);
    h.df = xcalloc((size_t)h.n_threads, sizeof *h.df);
    h.parts = xcalloc((size_t)h.n_threads, sizeof *h.parts);
    h.postings = postings;
    for (int i = 0; i < 2; i++) {
        h.rows[i] = xcalloc((size_t)b->batch, sizeof *h.rows[i]);
        h.ids[i] = xcalloc((size_t)b->batch, sizeof *h.ids[i]);
    }
    rc = text_pass(b, &h, feat_path);
    for (int i = 0; i < 2; i++) {
        for (int64_t j = 0; j < b->batch; j++) sbuf_free(&h.rows[i][j]);
        free(h.rows[i]);
        free(h.ids[i]);
    }
    if (rc == PARE_OK && postings) {
        rc = postings_pass(b, &h);
        hash_pass_free(&h);
        return rc;
    }
    if (rc == PARE_OK) h.vec = xmalloc(sizeof *h.vec * (size_t)b->batch * (size_t)h.dim);
    if (rc == PARE_OK && !vindex_is_trained(b->vx)) rc = train_pass(b, &h);
    if (rc == PARE_OK) rc = add_pass(b, &h, keep);
    if (rc == PARE_OK) b->n_rows = vindex_ntotal(b->vx);
    hash_pass_free(&h);
    return rc;
}

/* --- file embedder --- */

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return a < c ? -1 : a > c;
}

/* The passage named on line `line` of the ids file: PARE_OK and *pid, PARE_EINPUT when there
 * is none, PARE_EFAIL on a database error. */
static int lookup_passage(struct index_build *b, const char *ids, int64_t line, const char *name,
                          int by_ext, int64_t *pid)
{
    sqlite3_stmt *s;
    if (by_ext) {
        s = store_stmt(b->st, "SELECT id FROM passages WHERE ext_id = ?1 ORDER BY id LIMIT 1");
        if (s && sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC)) s = NULL;
    } else {
        int64_t want;
        if (vectors_numeric_id(name, &want) != 0) {
            sbuf_setf(&b->err,
                      "%s:%lld: '%s' is not a passage id (use --ids-kind ext for the source's "
                      "ids)",
                      ids, (long long)line, name);
            return PARE_EINPUT;
        }
        s = store_stmt(b->st, "SELECT id FROM passages WHERE id = ?1");
        if (s && sqlite3_bind_int64(s, 1, want)) s = NULL;
    }
    int found = s ? store_int(b->st, s, pid) : -1;
    if (found < 0) {
        sbuf_setf(&b->err, "looking up passages: %s", store_errmsg(b->st));
        return PARE_EFAIL;
    }
    if (found == 0) {
        sbuf_setf(&b->err, "%s:%lld: no passage with id '%s'", ids, (long long)line, name);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* The passage of every row: all rows name a passage, no passage twice (with as many rows as
 * passages, that means every passage is covered). */
static int map_rows(struct index_build *b, const char *vectors, const char *ids, char **idl,
                    int64_t rows, int by_ext, int64_t *pids)
{
    if (rows != b->n_passages) {
        sbuf_setf(&b->err, "%s: %lld vectors, but the database has %lld passages", vectors,
                  (long long)rows, (long long)b->n_passages);
        return PARE_EINPUT;
    }
    for (int64_t i = 0; i < rows; i++) {
        int rc = lookup_passage(b, ids, i + 1, idl[i], by_ext, &pids[i]);
        if (rc != PARE_OK) return rc;
    }
    int64_t *sorted = xmalloc(sizeof *sorted * (size_t)(rows + 1));
    memcpy(sorted, pids, sizeof *sorted * (size_t)rows);
    qsort(sorted, (size_t)rows, sizeof *sorted, cmp_i64);
    int rc = PARE_OK;
    for (int64_t i = 1; i < rows && rc == PARE_OK; i++) {
        if (sorted[i] == sorted[i - 1]) {
            sbuf_setf(&b->err, "%s: passage %lld appears twice", ids, (long long)sorted[i]);
            rc = PARE_EINPUT;
        }
    }
    free(sorted);
    return rc;
}

static struct embedder *file_embedder(int dim, const char *vectors)
{
    return embedder_from_own_json(
        json_pack("{s:s, s:i, s:s}", "kind", "file", "dim", dim, "vectors", vectors));
}

/* Trains (when the index needs it) and adds rows x dim vectors in memory. */
static int fill_from_memory(struct index_build *b, const float *v, int64_t rows, int dim,
                            const int64_t *pids)
{
    int rc = PARE_OK;
    if (!vindex_is_trained(b->vx)) {
        int64_t kept;
        float *sample = sample_every(v, rows, dim, train_stride(b, rows), &kept);
        rc = vindex_train(b->vx, kept, sample, &b->err);
        free(sample);
    }
    for (int64_t i = 0; i < rows && rc == PARE_OK; i += b->batch) {
        int64_t n = rows - i < b->batch ? rows - i : b->batch;
        rc = add_rows(b, i, n, v + (size_t)i * (size_t)dim, pids + i);
    }
    return rc;
}

int build_file(struct index_build *b, const char *vectors, const char *ids, int by_ext)
{
    float *v = NULL;
    int dim = 0;
    int64_t rows = 0;
    char **idl = NULL;
    int rc = vectors_load(vectors, ids, &v, &dim, &rows, &idl, &b->err);
    if (rc != PARE_OK) return rc;
    int64_t *pids = xcalloc((size_t)rows + 1, sizeof *pids);
    rc = map_rows(b, vectors, ids, idl, rows, by_ext, pids);
    if (rc == PARE_OK) rc = vindex_create(b->factory, dim, &b->vx, &b->err);
    if (rc == PARE_OK) b->emb = file_embedder(dim, vectors);
    if (rc == PARE_OK) rc = fill_from_memory(b, v, rows, dim, pids);
    vectors_free_ids(idl, rows);
    free(pids);
    free(v);
    return rc;
}

/* --- vectors in a .npy file: kept vectors and the openai embedder's --- */

/* Training sample: every stride-th of `rows` rows of the file, whose data starts at `data`. */
static int train_from_npy(struct index_build *b, FILE *f, const char *name, long data, int64_t rows,
                          int dim)
{
    size_t row_bytes = sizeof(float) * (size_t)dim;
    int64_t stride = train_stride(b, rows), k = 0;
    float *sample = xmalloc(row_bytes * (size_t)(rows / stride + 1));
    int rc = PARE_OK;
    for (int64_t i = 0; i < rows && rc == PARE_OK; i += stride, k++) {
        if (fseek(f, data + (long)(i * (int64_t)row_bytes), SEEK_SET) != 0 ||
            fread(sample + (size_t)k * (size_t)dim, row_bytes, 1, f) != 1) {
            sbuf_setf(&b->err, "%s: truncated at row %lld", name, (long long)i);
            rc = PARE_EFAIL;
        }
    }
    if (rc == PARE_OK) rc = vindex_train(b->vx, k, sample, &b->err);
    free(sample);
    return rc;
}

/*
 * Trains (if needed) and fills b->vx from `rows` vectors of `dim` floats in an open .npy file,
 * streaming them in batches; row i belongs to passage pids[i].
 */
static int add_from_npy(struct index_build *b, FILE *f, const char *name, int64_t rows, int dim,
                        const int64_t *pids)
{
    long data = 0;
    if (fseek(f, 0, SEEK_SET) != 0 || npy_skip_header(f) != 0 || (data = ftell(f)) < 0) {
        sbuf_setf(&b->err, "%s: not a vectors file written by pare index", name);
        return PARE_EFAIL;
    }
    int rc = PARE_OK;
    if (!vindex_is_trained(b->vx)) rc = train_from_npy(b, f, name, data, rows, dim);
    if (rc == PARE_OK && fseek(f, data, SEEK_SET) != 0) {
        sbuf_setf(&b->err, "%s: cannot seek: %s", name, strerror(errno));
        rc = PARE_EFAIL;
    }
    size_t row_bytes = sizeof(float) * (size_t)dim;
    float *v = xmalloc(row_bytes * (size_t)b->batch);
    for (int64_t i = 0; i < rows && rc == PARE_OK; i += b->batch) {
        int64_t n = rows - i < b->batch ? rows - i : b->batch;
        if (fread(v, row_bytes, (size_t)n, f) != (size_t)n) {
            sbuf_setf(&b->err, "%s: truncated: fewer than %lld vectors", name, (long long)rows);
            rc = PARE_EFAIL;
            break;
        }
        rc = add_rows(b, i, n, v, pids + i);
        progress(b, "vectors added", i + n, rows);
    }
    free(v);
    return rc;
}

/* The embedder of the index the vectors came from, with its statistics, without the kept
 * vectors (the new index keeps none). */
static int copy_embedder(struct index_build *b, const struct embedder *old, json_t *desc)
{
    json_object_del(desc, "kept_vectors");
    int rc = embedder_from_json(desc, &b->emb, &b->err);
    if (rc == PARE_OK && embedder_kind(b->emb) == EMBED_HASH) {
        int64_t nd;
        double avg;
        const uint32_t *df = hash_df(old, &nd, &avg);
        rc = hash_set_stats(b->emb, df, HASH_DF_BUCKETS, nd, avg, &b->err);
    }
    return rc;
}

int build_from(struct index_build *b, int64_t from)
{
    struct pare_index *old = NULL;
    int rc = catalog_load(b->st, from, CATALOG_SEARCH, &old, &b->err);
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
    if (rc == PARE_OK) rc = add_from_npy(b, f, kept_path, old->n_rows, dim, old->row_passage);
    if (rc == PARE_OK) rc = copy_embedder(b, old->emb, desc);
    if (f) fclose(f);
    free(kept_path);
    json_decref(desc);
    catalog_free(old);
    return rc;
}

/* --- openai embedder --- */

/* What build_openai carries from batch to batch. */
struct openai_pass {
    FILE *f;
    const char *npy;
    struct corpus_batch pb;
    int64_t *pids; /* passage of each row written */
    int64_t rows;
    int dim;
    char **joined; /* "title\ntext" of the batch */
};

/* Embeds one batch and appends its vectors to the .npy file (its header before the first). */
static int embed_openai_batch(struct index_build *b, const struct openai_cfg *oc,
                              struct openai_pass *o)
{
    size_t n = o->pb.n;
    if (o->rows + (int64_t)n > b->n_passages) { /* the store is locked: cannot happen */
        sbuf_setf(&b->err, "passages changed while indexing (more than %lld)",
                  (long long)b->n_passages);
        return PARE_EFAIL;
    }
    for (size_t i = 0; i < n; i++) {
        struct sbuf t = {0};
        sbuf_addf(&t, "%s\n%s", o->pb.titles[i], o->pb.texts[i].p);
        free(o->joined[i]);
        o->joined[i] = sbuf_detach(&t);
    }
    float *v = NULL;
    int rc = openai_embed(oc, n, (const char *const *)o->joined, &v, &o->dim, &b->err);
    if (rc == PARE_OK && ((o->rows == 0 && npy_write_header(o->f, b->n_passages, o->dim) != 0) ||
                          fwrite(v, sizeof *v * (size_t)o->dim, n, o->f) != n)) {
        sbuf_setf(&b->err, "%s: write error", o->npy);
        rc = PARE_EFAIL;
    }
    free(v);
    for (size_t i = 0; i < n && rc == PARE_OK; i++) o->pids[o->rows++] = o->pb.ids[i];
    return rc;
}

/* Embeds every passage into the .npy file. */
static int embed_openai_all(struct index_build *b, const struct openai_cfg *oc,
                            struct openai_pass *o)
{
    int rc = PARE_OK;
    int64_t n;
    for (int64_t after = 0;
         rc == PARE_OK &&
         (n = corpus_next(b->st, b->codec, after, (size_t)b->batch, &o->pb, &b->err)) > 0;
         after = o->pb.ids[n - 1]) {
        rc = embed_openai_batch(b, oc, o);
        progress(b, "passages embedded", o->rows, b->n_passages);
    }
    if (rc == PARE_OK && n < 0) rc = PARE_EFAIL;
    if (rc == PARE_OK && o->rows != b->n_passages) {
        sbuf_setf(&b->err, "passages changed while indexing (%lld read, %lld expected)",
                  (long long)o->rows, (long long)b->n_passages);
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK && fflush(o->f) != 0) {
        sbuf_setf(&b->err, "%s: write error", o->npy);
        rc = PARE_EFAIL;
    }
    return rc;
}

int build_openai(struct index_build *b, const struct openai_cfg *oc, const char *npy)
{
    struct openai_pass o = {.npy = npy};
    o.f = fopen(npy, "w+b");
    if (!o.f) {
        sbuf_setf(&b->err, "%s: cannot create: %s", npy, strerror(errno));
        return PARE_EFAIL;
    }
    o.pids = xmalloc(sizeof *o.pids * (size_t)(b->n_passages + 1));
    o.joined = xcalloc((size_t)b->batch, sizeof *o.joined);
    int rc = embed_openai_all(b, oc, &o);
    if (rc == PARE_OK) rc = vindex_create(b->factory, o.dim, &b->vx, &b->err);
    if (rc == PARE_OK) rc = add_from_npy(b, o.f, npy, o.rows, o.dim, o.pids);
    if (rc == PARE_OK) b->emb = embedder_openai_new(oc->model, o.dim);
    for (int64_t i = 0; i < b->batch; i++) free(o.joined[i]);
    free(o.joined);
    free(o.pids);
    corpus_free(&o.pb);
    fclose(o.f);
    return rc;
}
