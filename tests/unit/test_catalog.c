/* test_catalog.c - recording indexes built by index/build.h and loading them back: the row map,
 * the embedder and its statistics, paths, every mismatch between file and database; the file
 * embedder's input checks and re-indexing from kept vectors. */
#include "index_fixture.h"

#include <math.h>

#include "index/build.h"
#include "index/catalog.h"
#include "index/vectors.h"

static const struct hash_params P = {32, 0.5, 2, 0.9, 0.4, HASH_VERSION};
#define ALL (CATALOG_SEARCH | CATALOG_FEATURES)

/* The features file of index file `path`. */
static char *feat_name(const char *path)
{
    struct sbuf p = {0};
    sbuf_addf(&p, "%s.feat", path);
    return sbuf_detach(&p);
}

/* Records the build b as index b->index_id in `path`, the steps of pare index. */
static void record(struct fixture *f, struct index_build *b, const char *path, const char *kept)
{
    char sum[33];
    assert_int_equal(vindex_write(b->vx, path, sum, &b->err), PARE_OK);
    if (embedder_kind(b->emb) == EMBED_HASH)
        assert_int_equal(catalog_save_stats(f->st, b->index_id, b->emb, &b->err), PARE_OK);
    json_t *d = embedder_describe(b->emb);
    if (kept) json_object_set_new(d, "kept_vectors", json_string(kept));
    if (b->feat) {
        char *fp = feat_name(path), *rec = catalog_record_path(f->st, fp, 1);
        assert_int_equal(feat_commit(b->feat, &b->err), PARE_OK);
        json_object_set_new(d, "features",
                            json_pack("{s:s, s:s}", "path", rec, "checksum", b->feat_sum));
        free(fp);
        free(rec);
    }
    char *rec = catalog_record_path(f->st, path, 1);
    assert_int_equal(catalog_finish(f->st, b->index_id, rec, vindex_dim(b->vx), d,
                                    vindex_ntotal(b->vx), sum, &b->err),
                     PARE_OK);
    free(rec);
    json_decref(d);
    assert_int_equal(store_commit(f->st), PARE_OK);
}

/* A build of the fixture's passages in batches of 3, begun in a transaction. */
static void begin(struct fixture *f, struct index_build *b, const char *factory)
{
    memset(b, 0, sizeof *b);
    b->st = f->st;
    b->codec = f->codec;
    b->factory = factory;
    b->batch = 3;
    b->train_size = 100;
    b->n_passages = 8;
    assert_int_equal(store_begin(f->st), PARE_OK);
    assert_int_equal(catalog_begin(f->st, factory, &b->index_id, &b->err), PARE_OK);
}

static char *index_path(struct fixture *f, int64_t id)
{
    struct sbuf p = {0};
    sbuf_addf(&p, "%s.index%lld.faiss", f->path, (long long)id);
    return sbuf_detach(&p);
}

/* build_hash with the features file beside the index file of b's index. */
static int hash_build(struct fixture *f, struct index_build *b, FILE *keep, const char *keep_name)
{
    char *path = index_path(f, b->index_id), *fp = feat_name(path);
    int rc = build_hash(b, &P, fp, keep, keep_name);
    free(fp);
    free(path);
    return rc;
}

/* Removes an index file and its features file. */
static void remove_index(const char *path)
{
    char *fp = feat_name(path);
    remove(path);
    remove(fp);
    free(fp);
}

static void test_hash_build_and_load(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "c1.db");
    fx_world(&f, pid);
    struct index_build b;
    struct pare_index *ix;
    struct sbuf err = {0};
    assert_int_equal(catalog_load(f.st, 0, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "no index yet: run pare index first");
    begin(&f, &b, "Flat");
    assert_int_equal(hash_build(&f, &b, NULL, NULL), PARE_OK);
    char *path = index_path(&f, b.index_id);
    record(&f, &b, path, NULL);
    assert_int_equal(catalog_load(f.st, 0, ALL, &ix, &err), PARE_OK);
    assert_int_equal(ix->id, b.index_id);
    assert_string_equal(ix->path, path); /* recorded relative, resolved beside the database */
    assert_string_equal(ix->factory, "Flat");
    assert_int_equal(ix->n_rows, 8);
    for (int i = 0; i < 8; i++) assert_int_equal(ix->row_passage[i], pid[i]); /* id order */
    assert_int_equal(embedder_kind(ix->emb), EMBED_HASH);
    int64_t n_docs;
    double avg;
    const uint32_t *df = hash_df(ix->emb, &n_docs, &avg);
    assert_int_equal(n_docs, 8);
    assert_true(avg > 10);
    assert_memory_equal(df, hash_df(b.emb, &n_docs, &avg), HASH_DF_BUCKETS * sizeof *df);
    /* a passage's own text finds it first */
    struct hfeats q = {0};
    float v[32], sc[1];
    int64_t lab[1];
    hash_features(ix->emb, "Salt Roads", "Salt Roads is a novel by Tomas Ilk about copper traders.",
                  57, &q);
    hash_vector(ix->emb, &q, v);
    assert_int_equal(vindex_search(ix->vx, 1, v, 1, sc, lab, &err), PARE_OK);
    assert_int_equal(ix->row_passage[lab[0]], pid[5]);
    /* passage -> row */
    int64_t row;
    catalog_map_passages(ix);
    assert_int_equal(catalog_row_of(ix, pid[6], &row), 1);
    assert_int_equal(row, 6);
    assert_int_equal(catalog_row_of(ix, 999, &row), 0);
    catalog_free(ix);
    assert_int_equal(catalog_load(f.st, 42, ALL, &ix, &err), PARE_EUSAGE);
    assert_contains(err.p, "no index 42");
    hfeats_free(&q);
    index_build_free(&b);
    remove_index(path);
    free(path);
    sbuf_free(&err);
    fx_close(&f);
}

static void test_mismatches(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "c2.db");
    fx_world(&f, pid);
    struct index_build b;
    struct pare_index *ix;
    struct sbuf err = {0};
    begin(&f, &b, "Flat");
    assert_int_equal(hash_build(&f, &b, NULL, NULL), PARE_OK);
    char *path = index_path(&f, b.index_id);
    record(&f, &b, path, NULL);
    /* a hash index's row map is its features file's: nothing in index_rows */
    sqlite3_stmt *s = store_stmt(f.st, "SELECT count(*) FROM index_rows");
    int64_t n_rows = -1;
    assert_int_equal(store_int(f.st, s, &n_rows), 1);
    assert_int_equal(n_rows, 0);
    /* a row count that differs from the file's */
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET n_vectors = 9"), PARE_OK);
    for (int parts = CATALOG_SEARCH; parts <= ALL; parts++) {
        assert_int_equal(catalog_load(f.st, b.index_id, parts, &ix, &err), PARE_EFAIL);
        assert_contains(err.p, ".feat: 8 rows, the database expects 9");
    }
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET dim = 16"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "index dimension 32 does not match the database (16)");
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET dim = 32, n_vectors = 8"), PARE_OK);
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET checksum = 'x'"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "does not match the database");
    assert_int_equal(store_exec(f.st, "DELETE FROM index_stats"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "no embedder statistics");
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET embedder = '{oops'"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "embedder description is not JSON");
    index_build_free(&b);
    remove_index(path);
    free(path);
    sbuf_free(&err);
    fx_close(&f);
}

static void test_paths(void **state)
{
    (void)state;
    struct fixture f;
    fx_open(&f, "c3.db");
    struct sbuf beside = {0};
    sbuf_addf(&beside, "%s.index3.faiss", f.path);
    char *rec = catalog_record_path(f.st, beside.p, 1);
    assert_null(strchr(rec, '/')); /* relative to the database's folder */
    char *back = catalog_resolve(f.st, rec);
    assert_string_equal(back, beside.p);
    free(back);
    free(rec);
    rec = catalog_record_path(f.st, "/nonexistent/x.faiss", 0);
    assert_string_equal(rec, "/nonexistent/x.faiss");
    back = catalog_resolve(f.st, rec);
    assert_string_equal(back, rec);
    free(back);
    free(rec);
    sbuf_free(&beside);
    fx_close(&f);
}

/* Writes vectors for the fixture's passages (row i: axis i) with the given id lines. */
static void write_vectors(const char *npy, const char *ids, const char *const *id_lines, int n)
{
    FILE *v = fopen(npy, "wb"), *i = fopen(ids, "w");
    assert_int_equal(npy_write_header(v, n, 8), 0);
    for (int r = 0; r < n; r++) {
        float row[8] = {0};
        row[r % 8] = 2.0f; /* normalised on loading */
        fwrite(row, sizeof row, 1, v);
        fprintf(i, "%s\n", id_lines[r]);
    }
    fclose(v);
    fclose(i);
}

static void test_file_embedder_inputs(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "c4.db");
    fx_world(&f, pid);
    char *npy = tmp_path("c4.npy"), *ids = tmp_path("c4.ids");
    char lines[8][24];
    const char *l[8];
    for (int i = 0; i < 8; i++) {
        snprintf(lines[i], sizeof lines[i], "%lld", (long long)pid[7 - i]); /* reversed */
        l[i] = lines[i];
    }
    struct index_build b;
    write_vectors(npy, ids, l, 7);
    begin(&f, &b, "Flat");
    assert_int_equal(build_file(&b, npy, ids, 0), PARE_EINPUT);
    assert_contains(b.err.p, "7 vectors, but the database has 8 passages");
    store_rollback(f.st);
    index_build_free(&b);
    l[3] = l[2];
    write_vectors(npy, ids, l, 8);
    begin(&f, &b, "Flat");
    assert_int_equal(build_file(&b, npy, ids, 0), PARE_EINPUT);
    assert_contains(b.err.p, "appears twice");
    store_rollback(f.st);
    index_build_free(&b);
    l[3] = "p-x";
    write_vectors(npy, ids, l, 8);
    begin(&f, &b, "Flat");
    assert_int_equal(build_file(&b, npy, ids, 0), PARE_EINPUT);
    assert_contains(b.err.p, ":4: 'p-x' is not a passage id");
    store_rollback(f.st);
    index_build_free(&b);
    l[3] = lines[3];
    write_vectors(npy, ids, l, 8);
    begin(&f, &b, "Flat");
    assert_int_equal(build_file(&b, npy, ids, 0), PARE_OK);
    char *path = index_path(&f, b.index_id);
    record(&f, &b, path, NULL);
    struct pare_index *ix;
    struct sbuf err = {0};
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_OK);
    assert_int_equal(embedder_kind(ix->emb), EMBED_FILE);
    for (int i = 0; i < 8; i++) assert_int_equal(ix->row_passage[i], pid[7 - i]);
    float v[8];
    assert_int_equal(vindex_reconstruct(ix->vx, 2, v, &err), PARE_OK);
    assert_true(fabsf(v[2] - 1.0f) < 1e-6); /* normalised */
    catalog_free(ix);
    /* a row map that lost a row */
    assert_int_equal(store_exec(f.st, "DELETE FROM index_rows WHERE row = 3"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "7 rows mapped to passages, expected 8");
    assert_int_equal(store_exec(f.st, "UPDATE indexes SET n_vectors = 9"), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &ix, &err), PARE_EFAIL);
    assert_contains(err.p, "index holds 8 vectors, the database expects 9");
    sbuf_free(&err);
    index_build_free(&b);
    remove_index(path);
    remove(npy);
    remove(ids);
    free(path);
    free(npy);
    free(ids);
    fx_close(&f);
}

static void test_keep_and_reindex(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "c5.db");
    fx_world(&f, pid);
    struct index_build b;
    struct sbuf err = {0};
    begin(&f, &b, "Flat");
    char *path = index_path(&f, b.index_id);
    struct sbuf kept = {0};
    sbuf_addf(&kept, "%s.vectors.npy", path);
    FILE *k = fopen(kept.p, "wb");
    assert_int_equal(hash_build(&f, &b, k, kept.p), PARE_OK);
    assert_int_equal(fclose(k), 0);
    char *rec = catalog_record_path(f.st, kept.p, 1);
    record(&f, &b, path, rec);
    free(rec);
    int64_t flat = b.index_id;
    index_build_free(&b);
    /* re-index with another factory: the same vectors, rows and statistics */
    begin(&f, &b, "HNSW8");
    assert_int_equal(build_from(&b, flat), PARE_OK);
    char *path2 = index_path(&f, b.index_id);
    record(&f, &b, path2, NULL);
    struct pare_index *a, *c;
    assert_int_equal(catalog_load(f.st, flat, ALL, &a, &err), PARE_OK);
    assert_int_equal(catalog_load(f.st, b.index_id, ALL, &c, &err), PARE_OK);
    assert_int_equal(c->n_rows, 8);
    assert_memory_equal(a->row_passage, c->row_passage, 8 * sizeof *a->row_passage);
    float va[32], vc[32];
    for (int64_t r = 0; r < 8; r++) {
        assert_int_equal(vindex_reconstruct(a->vx, r, va, &err), PARE_OK);
        assert_int_equal(vindex_reconstruct(c->vx, r, vc, &err), PARE_OK);
        assert_memory_equal(va, vc, sizeof va);
    }
    int64_t na, nc;
    double avga, avgc;
    assert_memory_equal(hash_df(a->emb, &na, &avga), hash_df(c->emb, &nc, &avgc),
                        HASH_DF_BUCKETS * sizeof(uint32_t));
    assert_true(na == nc && avga == avgc);
    json_t *d = embedder_describe(c->emb);
    assert_null(json_object_get(d, "kept_vectors")); /* the new index keeps none */
    json_decref(d);
    catalog_free(a);
    catalog_free(c);
    index_build_free(&b);
    /* an index that kept nothing cannot be re-indexed */
    begin(&f, &b, "Flat");
    assert_int_equal(build_from(&b, flat + 1), PARE_EUSAGE);
    assert_contains(b.err.p, "kept no vectors");
    store_rollback(f.st);
    index_build_free(&b);
    remove_index(path);
    remove_index(path2);
    remove(kept.p);
    free(path);
    free(path2);
    sbuf_free(&kept);
    sbuf_free(&err);
    fx_close(&f);
}

struct heard {
    struct sbuf said;
    int64_t last_done, calls;
};

static void hear_progress(void *ud, const char *unit, int64_t done, int64_t total)
{
    struct heard *h = ud;
    assert_int_equal(total, 8);
    assert_non_null(unit);
    h->last_done = done;
    h->calls++;
}

static void hear_say(void *ud, const char *line)
{
    sbuf_adds(&((struct heard *)ud)->said, line);
}

static void test_trained_factory(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "c6.db");
    fx_world(&f, pid);
    struct index_build b;
    struct heard h = {0};
    begin(&f, &b, "IVF2,Flat");
    b.progress = hear_progress;
    b.say = hear_say;
    b.ud = &h;
    assert_int_equal(hash_build(&f, &b, NULL, NULL), PARE_OK);
    assert_true(vindex_is_trained(b.vx));
    assert_int_equal(vindex_ntotal(b.vx), 8);
    assert_contains(h.said.p, "training on 8 of 8 passages");
    assert_int_equal(h.last_done, 8);
    assert_int_equal(h.calls, 6); /* batches of 3: three counted, three embedded */
    store_rollback(f.st);
    index_build_free(&b);
    /* a factory FAISS does not know is a usage error */
    begin(&f, &b, "NoSuch7");
    assert_int_equal(hash_build(&f, &b, NULL, NULL), PARE_EUSAGE);
    store_rollback(f.st);
    index_build_free(&b);
    sbuf_free(&h.said);
    fx_close(&f);
}

/* --factory auto: postings for the hash embedder at every size, SQ8 or IVF,SQ8 otherwise. */
static void test_auto_factory(void **state)
{
    (void)state;
    struct sbuf fac = {0}, par = {0};
    const int64_t sizes[] = {1, 4858, BUILD_AUTO_EXHAUSTIVE, BUILD_AUTO_EXHAUSTIVE + 1, 2000000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        build_auto_factory(sizes[i], 1, &fac, &par);
        assert_string_equal(fac.p, POSTINGS_FACTORY);
        assert_int_equal(par.len, 0);
    }
    build_auto_factory(4858, 0, &fac, &par);
    assert_string_equal(fac.p, "SQ8");
    assert_int_equal(par.len, 0);
    build_auto_factory(BUILD_AUTO_EXHAUSTIVE, 0, &fac, &par);
    assert_string_equal(fac.p, "SQ8");
    build_auto_factory(1000000, 0, &fac, &par);
    assert_string_equal(fac.p, "IVF512,SQ8");
    assert_string_equal(par.p, "nprobe=16");
    sbuf_free(&fac);
    sbuf_free(&par);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_factory),         cmocka_unit_test(test_hash_build_and_load),
        cmocka_unit_test(test_mismatches),           cmocka_unit_test(test_paths),
        cmocka_unit_test(test_file_embedder_inputs), cmocka_unit_test(test_keep_and_reindex),
        cmocka_unit_test(test_trained_factory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
