/* test_features.c - the features file: rows written and read back, BM25 from kept features equal
 * to the last bit to BM25 from the text, rows found by passage, temporaries, and every way a
 * file can be wrong. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <sys/stat.h>

#include "index/features.h"

static const struct hash_params P2 = {64, 0.5, 2, 0.9, 0.4, HASH_VERSION};

static const char *const TEXTS[4][2] = {
    {"Vorlen", "Vorlen is a city on the river Dra, founded by settlers from Kamira."},
    {"Kamira", "Kamira Kamira Kamira is a mountain town known for its copper mines."},
    {"Ada Brenn", "Ada Brenn was a film director born in Vorlen in 1931."},
    {"Copper", "Copper copper copper is a metal mined in mountain towns: copper."},
};

/* Writes the four passages (ids 10, 20, 30, 40) as a features file; its checksum in sum. */
static char *write_file(const struct embedder *e, char sum[33])
{
    char *path = tmp_path("f.feat");
    struct feat_writer *w;
    struct sbuf err = {0}, row = {0};
    struct hfeats f = {0};
    assert_int_equal(feat_create(path, &w, &err), PARE_OK);
    for (int i = 0; i < 4; i++) {
        hash_features(e, TEXTS[i][0], TEXTS[i][1], strlen(TEXTS[i][1]), &f);
        feat_encode(&f, &row);
        assert_int_equal(row.len % 4, 0);
        assert_int_equal(feat_append(w, 10 * (i + 1), &row, &err), PARE_OK);
    }
    assert_int_equal(feat_finish(w, sum, &err), PARE_OK);
    struct stat sb;
    assert_int_equal(stat(feat_tmp_path(w), &sb), 0); /* not yet under its name */
    assert_int_not_equal(stat(path, &sb), 0);
    assert_int_equal(feat_commit(w, &err), PARE_OK);
    assert_int_equal(stat(path, &sb), 0);
    feat_writer_free(w);
    hfeats_free(&f);
    sbuf_free(&row);
    sbuf_free(&err);
    return path;
}

static void test_roundtrip_and_bm25(void **state)
{
    (void)state;
    struct embedder *e = embedder_hash_new(&P2);
    struct hfeats f = {0}, back = {0}, q = {0};
    for (int i = 0; i < 4; i++) {
        hash_features(e, TEXTS[i][0], TEXTS[i][1], strlen(TEXTS[i][1]), &f);
        hash_fit_add(e, &f);
    }
    hash_fit_done(e, 4, 100);
    char sum[33];
    char *path = write_file(e, sum);
    struct feat_file *ff;
    struct sbuf err = {0};
    assert_int_equal(feat_open(path, sum, &ff, &err), PARE_OK);
    assert_int_equal(feat_rows(ff), 4);
    assert_int_equal(feat_row_of(ff, 30), 2);
    assert_int_equal(feat_row_of(ff, 35), -1);
    assert_int_equal(feat_passage(ff, 3), 40);
    struct hquery hq = {0};
    hash_features(e, NULL, "copper town of Kamira", 21, &q);
    hash_query(e, &q, &hq);
    for (int i = 0; i < 4; i++) {
        struct hdoc d;
        assert_int_equal(feat_doc(ff, i, &d, &err), PARE_OK);
        hash_features(e, TEXTS[i][0], TEXTS[i][1], strlen(TEXTS[i][1]), &f);
        feat_hfeats(&d, &back);
        /* the same features, in the same order, and the same scores to the last bit */
        assert_int_equal(back.n, f.n);
        assert_int_equal(back.len, f.len);
        for (size_t k = 0; k < f.n; k++) {
            assert_true(back.f[k].h == f.f[k].h);
            assert_int_equal(back.f[k].tf, f.f[k].tf);
        }
        assert_true(hash_bm25_doc(e, &hq, &d) == hash_bm25(e, &q, &f));
    }
    struct hdoc d;
    assert_int_equal(feat_doc(ff, 3, &d, &err), PARE_OK);
    assert_true(d.n_more >= 1); /* "copper" five times */
    assert_true(hash_bm25_doc(e, &hq, &d) > 0);
    feat_release(ff, 0, 4); /* the mapping stays readable */
    assert_int_equal(feat_doc(ff, 0, &d, &err), PARE_OK);
    feat_close(ff);
    remove(path);
    free(path);
    hquery_free(&hq);
    hfeats_free(&f);
    hfeats_free(&back);
    hfeats_free(&q);
    sbuf_free(&err);
    embedder_free(e);
}

static void test_bad_files(void **state)
{
    (void)state;
    struct embedder *e = embedder_hash_new(&P2);
    hash_fit_done(e, 1, 1);
    char sum[33];
    char *path = write_file(e, sum);
    struct feat_file *ff;
    struct sbuf err = {0};
    /* a byte changed: the checksum says so; without a checksum the layout still holds */
    FILE *f = fopen(path, "r+b");
    fseek(f, 5, SEEK_SET);
    fputc(0x7f, f);
    fclose(f);
    assert_int_equal(feat_open(path, sum, &ff, &err), PARE_EFAIL);
    assert_contains(err.p, "truncated, corrupt or replaced");
    /* a truncated file: its trailer is gone */
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(feat_open(path, NULL, &ff, &err), PARE_EFAIL);
    assert_contains(err.p, "not a features file written by pare index");
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(feat_open(path, NULL, &ff, &err), PARE_EFAIL);
    assert_contains(err.p, "(10 bytes)");
    remove(path);
    assert_int_equal(feat_open(path, NULL, &ff, &err), PARE_EFAIL);
    assert_contains(err.p, "features file is missing");
    /* an abandoned writer leaves nothing behind */
    struct feat_writer *w;
    assert_int_equal(feat_create(path, &w, &err), PARE_OK);
    char *tmp = strdup(feat_tmp_path(w));
    feat_writer_free(w);
    struct stat sb;
    assert_int_not_equal(stat(tmp, &sb), 0);
    assert_int_not_equal(stat(path, &sb), 0);
    free(tmp);
    free(path);
    sbuf_free(&err);
    embedder_free(e);
}

static void test_empty_file(void **state)
{
    (void)state;
    char *path = tmp_path("e.feat");
    struct feat_writer *w;
    struct feat_file *ff;
    struct sbuf err = {0};
    char sum[33];
    assert_int_equal(feat_create(path, &w, &err), PARE_OK);
    assert_int_equal(feat_finish(w, sum, &err), PARE_OK);
    assert_int_equal(feat_commit(w, &err), PARE_OK);
    feat_writer_free(w);
    assert_int_equal(feat_open(path, sum, &ff, &err), PARE_OK);
    assert_int_equal(feat_rows(ff), 0);
    assert_int_equal(feat_row_of(ff, 1), -1);
    feat_close(ff);
    remove(path);
    free(path);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_bm25),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_empty_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
