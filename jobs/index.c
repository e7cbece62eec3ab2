/*
 * index.c - `pare index`: index every passage, by default postings of the hash embedder's
 * features (exact BM25), or a FAISS index of embedded vectors.
 *
 * The work is index/build.h's; this file reads the options, records the index (catalog.h) and
 * reports. The index row, its row map and statistics are written in one transaction and the
 * index's files atomically: an interrupted run leaves no half index behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/build.h"
#include "index/catalog.h"
#include "index/corpus.h"
#include "jobs/jobs.h"
#include "jobs/job.h"

struct index_args {
    const char *kind, *factory, *out, *vectors, *ids, *ids_kind;
    int64_t dim, title_repeat, train_size, batch, from;
    double bigram_w, k1, bm25_b;
    int keep;
    struct openai_opts oa;
    enum embed_kind ek;
};

/* Parses the options into a. Returns 1 when the command must return *rc at once. */
static int parse_args(struct index_args *a, struct pare_ctx *ctx, int argc, char **argv, int *rc)
{
    const struct opt opts[] = {
        {"embedder", OPT_STRING, &a->kind, "hash", "KIND", "hash, file or openai"},
        {"factory", OPT_STRING, &a->factory, "auto", "SPEC",
         "FAISS index_factory string (Flat, SQ8, IVF1024,SQ8, HNSW32, IVF4096,PQ32, ...), "
         "postings (hash embedder: exact BM25 from an inverted index, no vectors), or auto: "
         "postings with the hash embedder (SQ8 with --keep-vectors), else SQ8 up to 200000 "
         "passages and IVF{n/2000},SQ8 probing 16 lists above"},
        {"dim", OPT_INT, &a->dim, "2048", "D", "hash: dimensions"},
        {"bigram-weight", OPT_DOUBLE, &a->bigram_w, "0.5", "W", "hash: weight of bigram features"},
        {"title-repeat", OPT_INT, &a->title_repeat, "2", "N", "hash: times the title is counted"},
        {"k1", OPT_DOUBLE, &a->k1, "0.9", "X", "hash: BM25 k1 of the exact re-ranking score"},
        {"b", OPT_DOUBLE, &a->bm25_b, "0.4", "X", "hash: BM25 b of the exact re-ranking score"},
        {"vectors", OPT_STRING, &a->vectors, NULL, "FILE",
         "file: .npy (float32) or .fvecs vectors"},
        {"ids", OPT_STRING, &a->ids, NULL, "FILE", "file: one passage id per line, row by row"},
        {"ids-kind", OPT_STRING, &a->ids_kind, "id", "KIND",
         "file: ids are pare's passage ids (id) or the source's (ext)"},
        {"model", OPT_STRING, &a->oa.model, "text-embedding-3-small", "NAME", "openai: model"},
        {"request-size", OPT_INT, &a->oa.request_size, "64", "N", "openai: texts per request"},
        {"max-concurrency", OPT_INT, &a->oa.max_concurrency, "8", "N",
         "openai: requests in flight per endpoint"},
        {"timeout", OPT_DOUBLE, &a->oa.timeout_s, "60", "S", "openai: seconds per request"},
        {"max-retries", OPT_INT, &a->oa.max_retries, "5", "N",
         "openai: retries of a failed request"},
        {"rpm", OPT_DOUBLE, &a->oa.rpm, "0", "N", "openai: requests per minute (0: no limit)"},
        {"tpm", OPT_DOUBLE, &a->oa.tpm, "0", "N", "openai: tokens per minute (0: no limit)"},
        {"train-size", OPT_INT, &a->train_size, "0", "N",
         "vectors to train IVF/PQ/SQ indexes on (0: 32 per IVF list, else 32768)"},
        {"batch", OPT_INT, &a->batch, "4096", "N", "passages embedded and added at a time"},
        {"keep-vectors", OPT_FLAG, &a->keep, NULL, NULL,
         "also write the vectors (.npy) and row ids, to re-index without embedding again"},
        {"from-index", OPT_INT, &a->from, "0", "ID",
         "build from the vectors kept by index ID (--keep-vectors), with a new --factory"},
        {"out", OPT_STRING, &a->out, NULL, "PATH", "index file (default: DB.indexN.faiss)"},
        CLI_OPT_ENDPOINT,
        {NULL},
    };
    const struct cli cli = {"index",
                            NULL,
                            "Index every passage: with the hash embedder, postings of its features "
                            "(exact BM25); else a FAISS index of the embedded vectors (inner "
                            "product on L2-normalised vectors).",
                            NULL,
                            opts,
                            0,
                            0};
    return cli_options(&cli, ctx, argc, argv, rc);
}

/* Why the options cannot go together, or NULL. */
static const char *conflict(const struct index_args *a)
{
    if (strcmp(a->factory, POSTINGS_FACTORY) == 0 && (a->ek != EMBED_HASH || a->from > 0))
        return "--factory postings indexes the hash embedder's features: not with --embedder "
               "file or openai, nor --from-index";
    if (strcmp(a->factory, POSTINGS_FACTORY) == 0 && a->keep)
        return "--factory postings makes no vectors to keep: no --keep-vectors";
    if (a->from > 0 && a->keep) return "--from-index builds from kept vectors: no --keep-vectors";
    if (a->from > 0 && a->ek != EMBED_HASH)
        return "--from-index reuses that index's embedder: no --embedder";
    if (a->from > 0 && a->vectors) return "--from-index reuses that index's vectors: no --vectors";
    if (a->keep && a->ek == EMBED_FILE)
        return "--keep-vectors is for embedders that compute vectors, not --embedder file";
    if (a->ek == EMBED_FILE && (!a->vectors || !a->ids))
        return "--embedder file needs --vectors FILE and --ids FILE";
    if (a->dim < 1 || a->dim > HASH_MAX_DIM) return "--dim must be between 1 and 65536";
    if (a->batch < 1) return "--batch must be positive";
    if (a->train_size < 0) return "--train-size must not be negative";
    if (a->title_repeat < 0) return "--title-repeat must not be negative";
    if (!(a->k1 >= 0 && a->k1 < 1e6)) return "--k1 must be between 0 and 1000000";
    if (!(a->bm25_b >= 0 && a->bm25_b <= 1)) return "--b must be between 0 and 1";
    if (a->bigram_w < 0) return "--bigram-weight must not be negative";
    if (strcmp(a->ids_kind, "id") != 0 && strcmp(a->ids_kind, "ext") != 0)
        return "--ids-kind must be id or ext";
    return NULL;
}

/* Checks the options (message on stderr). Returns PARE_OK or PARE_EUSAGE. */
static int check_args(struct index_args *a, struct openai_cfg *oc)
{
    const char *why = NULL;
    if (embed_kind_parse(a->kind, &a->ek) != 0) {
        fprintf(stderr, "pare index: unknown --embedder '%s' (hash, file or openai)\n", a->kind);
        return PARE_EUSAGE;
    }
    if ((why = conflict(a)) != NULL) {
        fprintf(stderr, "pare index: %s\n", why);
        return PARE_EUSAGE;
    }
    if (a->ek == EMBED_OPENAI) {
        struct sbuf e = {0};
        int rc = openai_cfg_init(oc, &a->oa, &e);
        if (rc != PARE_OK) fprintf(stderr, "pare index: %s\n", sbuf_str(&e));
        sbuf_free(&e);
        return rc;
    }
    return PARE_OK;
}

/* One run of the command: the build and where its files go. */
struct index_run {
    struct job job;
    struct index_build b;
    struct sbuf path;      /* the FAISS file */
    struct sbuf keep_path; /* kept vectors (.npy), also the openai embedder's scratch */
    struct sbuf feat_path; /* hash embedder: the features file */
    int beside_db;         /* default file names: recorded relative to the database */
    FILE *keep;
    char checksum[33];
    struct sbuf factory; /* --factory, or the one auto chose */
    struct sbuf params;  /* the chosen factory's search parameters */
    json_t *settings;    /* what makes two builds the same */
    int64_t same;        /* an index built with these settings on these passages, or 0 */
};

static void on_progress(void *ud, const char *unit, int64_t done, int64_t total)
{
    job_progress(ud, unit, (uint64_t)done, (uint64_t)total, 0, 0);
}

static void on_say(void *ud, const char *line)
{
    job_say(ud, "%s", line);
}

/* The embedder's part of the settings: its parameters, or its input files' checksums. */
static json_t *source_settings(const struct index_args *a, struct sbuf *err)
{
    char v[33], i[33];
    if (a->from > 0) return json_pack("{s:I}", "from_index", (json_int_t)a->from);
    if (a->ek == EMBED_OPENAI)
        return json_pack("{s:s, s:s}", "kind", "openai", "model", a->oa.model);
    if (a->ek == EMBED_HASH)
        return json_pack("{s:s, s:I, s:f, s:I, s:f, s:f, s:i}", "kind", "hash", "dim",
                         (json_int_t)a->dim, "bigram_weight", a->bigram_w, "title_repeat",
                         (json_int_t)a->title_repeat, "k1", a->k1, "b", a->bm25_b, "version",
                         HASH_VERSION);
    if (file_checksum(a->vectors, v, err) != PARE_OK || file_checksum(a->ids, i, err) != PARE_OK)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s}", "kind", "file", "vectors", v, "ids", i, "ids_kind",
                     a->ids_kind);
}

/* Everything a build depends on: source, factory, training, passages (count and largest id),
 * the file asked for and whether vectors are kept. */
static int make_settings(struct index_run *r, const struct index_args *a)
{
    struct index_build *b = &r->b;
    int64_t max_id = corpus_max_id(b->st);
    if (max_id < 0) return store_fail(b->st, &b->err, "reading passages");
    json_t *src = source_settings(a, &b->err);
    if (!src) return PARE_EINPUT;
    int64_t train = a->train_size ? a->train_size : build_train_size(b->factory, b->n_passages);
    r->settings =
        json_pack("{s:o, s:s, s:I, s:[I,I], s:s?, s:b}", "source", src, "factory", b->factory,
                  "train_size", (json_int_t)train, "passages", (json_int_t)b->n_passages,
                  (json_int_t)max_id, "out", a->out, "keep_vectors", a->keep);
    if (!r->settings) abort();
    return PARE_OK;
}

/* Names the index's files: beside the database (recorded relative to it) or --out. */
static void name_files(struct index_run *r, const struct index_args *a)
{
    struct index_build *b = &r->b;
    int postings = strcmp(b->factory, POSTINGS_FACTORY) == 0;
    r->beside_db = a->out == NULL;
    if (a->out)
        sbuf_adds(&r->path, a->out);
    else
        sbuf_addf(&r->path, "%s.index%lld.%s", store_path(b->st), (long long)b->index_id,
                  postings ? "post" : "faiss");
    if (postings) b->post_path = r->path.p;
    if (a->keep || a->ek == EMBED_OPENAI) sbuf_addf(&r->keep_path, "%s.vectors.npy", r->path.p);
    size_t stem = r->path.len;
    if (stem > 6 && strcmp(r->path.p + stem - 6, ".faiss") == 0) stem -= 6;
    if (stem > 5 && strcmp(r->path.p + stem - 5, ".post") == 0) stem -= 5;
    sbuf_addf(&r->feat_path, "%.*s.feat", (int)stem, r->path.p);
}

/* Opens the transaction, counts the passages, looks for the same index built before; if there
 * is none, records the new index's row, names its files and clears what killed runs left. */
static int prepare(struct index_run *r, const struct index_args *a)
{
    struct index_build *b = &r->b;
    if (store_begin(b->st) != PARE_OK) return store_fail(b->st, &b->err, "starting");
    b->n_passages = corpus_count(b->st);
    if (b->n_passages < 0) return store_fail(b->st, &b->err, "counting passages");
    if (b->n_passages == 0) {
        sbuf_setf(&b->err, "the database has no passages: run pare ingest first");
        return PARE_EFAIL;
    }
    if (strcmp(a->factory, "auto") == 0) {
        /* --keep-vectors asks for vectors: those are FAISS's */
        build_auto_factory(b->n_passages, a->ek == EMBED_HASH && !a->from && !a->keep, &r->factory,
                           &r->params);
        job_say(&r->job,
                "index: factory auto -> %s%s%s for %lld passages (--factory to choose "
                "another)",
                strcmp(r->factory.p, POSTINGS_FACTORY) == 0
                    ? "postings (exact BM25 from an inverted index of the features)"
                    : r->factory.p,
                r->params.len ? ", search " : "", sbuf_str(&r->params), (long long)b->n_passages);
    } else {
        sbuf_adds(&r->factory, a->factory);
    }
    b->factory = r->factory.p;
    int rc = make_settings(r, a);
    int found = rc == PARE_OK ? catalog_find_same(b->st, r->settings, &r->same, &b->err) : -1;
    if (found != 0) return found > 0 ? PARE_OK : rc != PARE_OK ? rc : PARE_EFAIL;
    /* the row first, for its id, which names the files */
    if (catalog_begin(b->st, b->factory, &b->index_id, &b->err) != PARE_OK) return PARE_EFAIL;
    name_files(r, a);
    const char *also[2] = {a->out ? r->path.p : NULL, a->out ? r->feat_path.p : NULL};
    int removed = catalog_remove_leftovers(b->st, also, 2);
    if (removed > 0)
        job_say(&r->job, "index: removed %d files that an interrupted pare index left", removed);
    if (a->keep && a->ek == EMBED_HASH && !(r->keep = fopen(r->keep_path.p, "wb"))) {
        sbuf_setf(&b->err, "%s: cannot create: %s", r->keep_path.p, strerror(errno));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Builds the index from the chosen source of vectors. */
static int build(struct index_run *r, const struct index_args *a, const struct openai_cfg *oc)
{
    struct index_build *b = &r->b;
    int rc;
    if (a->from > 0) {
        rc = build_from(b, a->from);
    } else if (a->ek == EMBED_HASH) {
        struct hash_params hp = {(int)a->dim, a->bigram_w, (int)a->title_repeat,
                                 a->k1,       a->bm25_b,   HASH_VERSION};
        rc = build_hash(b, &hp, r->feat_path.p, r->keep, r->keep_path.p);
    } else if (a->ek == EMBED_OPENAI) {
        rc = build_openai(b, oc, r->keep_path.p);
        if (!a->keep) {
            remove(r->keep_path.p);
            sbuf_reset(&r->keep_path);
        }
    } else {
        rc = build_file(b, a->vectors, a->ids, strcmp(a->ids_kind, "ext") == 0);
    }
    if (r->keep && fclose(r->keep) != 0 && rc == PARE_OK) {
        sbuf_setf(&b->err, "%s: write error", r->keep_path.p);
        rc = PARE_EFAIL;
    }
    r->keep = NULL;
    return rc;
}

/* The rows and dimension of the built index. */
static int64_t built_rows(const struct index_build *b)
{
    return b->vx ? vindex_ntotal(b->vx) : b->n_rows;
}

static int built_dim(const struct index_build *b)
{
    return b->vx ? vindex_dim(b->vx) : embedder_dim(b->emb);
}

/* Writes the FAISS file (or commits the postings file) as the index's file. */
static int write_index_file(struct index_run *r)
{
    struct index_build *b = &r->b;
    if (!b->post) return vindex_write(b->vx, r->path.p, r->checksum, &b->err);
    int rc = post_commit(b->post, &b->err);
    if (rc == PARE_OK) memcpy(r->checksum, b->post_sum, sizeof r->checksum);
    return rc;
}

/* Writes the index file and completes the index's row, statistics included, and commits. */
static int record(struct index_run *r, const struct index_args *a)
{
    struct index_build *b = &r->b;
    int rc = write_index_file(r);
    if (rc == PARE_OK && embedder_kind(b->emb) == EMBED_HASH)
        rc = catalog_save_stats(b->st, b->index_id, b->emb, &b->err);
    if (rc != PARE_OK) return rc;
    if (b->feat && (rc = feat_commit(b->feat, &b->err)) != PARE_OK) return rc;
    json_t *desc = embedder_describe(b->emb);
    if (a->keep) {
        char *kept = catalog_record_path(b->st, r->keep_path.p, r->beside_db);
        json_object_set_new(desc, "kept_vectors", json_string(kept));
        free(kept);
    }
    json_object_set(desc, "settings", r->settings);
    json_object_del(desc, "search_params"); /* --from-index: the old factory's */
    if (r->params.len) json_object_set_new(desc, "search_params", json_string(r->params.p));
    if (b->feat) {
        char *feat = catalog_record_path(b->st, r->feat_path.p, r->beside_db);
        json_object_set_new(desc, "features",
                            json_pack("{s:s, s:s}", "path", feat, "checksum", b->feat_sum));
        free(feat);
    }
    char *path = catalog_record_path(b->st, r->path.p, r->beside_db);
    rc = catalog_finish(b->st, b->index_id, path, built_dim(b), desc, built_rows(b), r->checksum,
                        &b->err);
    free(path);
    json_decref(desc);
    if (rc == PARE_OK && store_commit(b->st) != PARE_OK) {
        sbuf_setf(&b->err, "%s", store_errmsg(b->st));
        rc = PARE_EFAIL;
    }
    return rc;
}

/* Reports the outcome; on failure undoes everything (the row, the files). */
static int finish(struct index_run *r, const struct index_args *a, const struct pare_ctx *ctx,
                  int rc)
{
    struct index_build *b = &r->b;
    if (r->keep) fclose(r->keep);
    if (rc == PARE_OK && r->same) {
        store_rollback(b->st); /* nothing was written */
        job_say(&r->job,
                "index %lld: already built with these settings on these passages: nothing to do",
                (long long)r->same);
        if (!ctx->nested) printf("%lld\n", (long long)r->same);
    } else if (rc != PARE_OK) {
        store_rollback(b->st);
        if (r->path.len && r->checksum[0]) remove(r->path.p);
        if (r->keep_path.len) remove(r->keep_path.p);
        if (r->checksum[0] && b->feat) remove(r->feat_path.p); /* committed with the index */
        fprintf(stderr, "pare index: %s\n", sbuf_str(&b->err));
    } else {
        job_say(&r->job, "index %lld: %lld passages, %s, dim %d, %s embedder -> %s",
                (long long)b->index_id, (long long)built_rows(b), b->factory, built_dim(b), a->kind,
                r->path.p);
        if (!ctx->nested) printf("%lld\n", (long long)b->index_id);
    }
    int64_t done = rc == PARE_OK && !r->same ? built_rows(b) : 0;
    rc = job_end(&r->job, rc, done, 0, rc == PARE_OK ? NULL : sbuf_str(&b->err), NULL);
    blob_codec_free(b->codec);
    store_close(b->st);
    index_build_free(b);
    sbuf_free(&r->path);
    sbuf_free(&r->keep_path);
    sbuf_free(&r->feat_path);
    sbuf_free(&r->factory);
    sbuf_free(&r->params);
    json_decref(r->settings);
    return rc;
}

int job_index(struct pare_ctx *ctx, int argc, char **argv)
{
    struct index_args a = {0};
    struct openai_cfg oc = {0};
    int rc;
    if (parse_args(&a, ctx, argc, argv, &rc)) return rc;
    if ((rc = check_args(&a, &oc)) != PARE_OK) return rc;
    struct index_run r = {0};
    struct index_build *b = &r.b;
    if (job_open(&r.job, ctx, "index", 0, argc, argv, &b->st) != PARE_OK) return PARE_EFAIL;
    b->codec = store_codec(b->st);
    b->batch = a.batch;
    b->train_size = a.train_size;
    b->progress = on_progress;
    b->say = on_say;
    b->ud = &r.job;
    rc = prepare(&r, &a);
    if (rc == PARE_OK && !r.same) rc = build(&r, &a, &oc);
    if (rc == PARE_OK && !r.same) rc = record(&r, &a);
    return finish(&r, &a, ctx, rc);
}
