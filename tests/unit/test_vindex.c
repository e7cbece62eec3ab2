/* test_vindex.c - the FAISS wrapper: factories, exact search, training, parameters, atomic
 * checksummed files and every way reading one can fail. */
#include "helpers.h"

#include <dirent.h>
#include <math.h>

#include "index/vindex.h"

/* n unit vectors of dimension d, vector i pointing mostly along axis i % d. */
static float *axes(int n, int d)
{
    float *v = calloc((size_t)n * (size_t)d, sizeof *v);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < d; k++) v[i * d + k] = 0.01f * (float)((i + k) % 3);
        v[i * d + i % d] = 1.0f;
        double s = 0;
        for (int k = 0; k < d; k++) s += v[i * d + k] * v[i * d + k];
        for (int k = 0; k < d; k++) v[i * d + k] /= (float)sqrt(s);
    }
    return v;
}

static void test_flat_exact_search(void **state)
{
    (void)state;
    struct vindex *v;
    struct sbuf err = {0};
    assert_int_equal(vindex_create("Flat", 8, &v, &err), PARE_OK);
    assert_int_equal(vindex_dim(v), 8);
    assert_true(vindex_is_trained(v));
    float *x = axes(8, 8);
    assert_int_equal(vindex_add(v, 8, x, &err), PARE_OK);
    assert_int_equal(vindex_ntotal(v), 8);
    float sc[3];
    int64_t lab[3];
    assert_int_equal(vindex_search(v, 1, x + 5 * 8, 3, sc, lab, &err), PARE_OK);
    assert_int_equal(lab[0], 5);
    assert_true(fabsf(sc[0] - 1.0f) < 1e-5 && sc[1] <= sc[0] && sc[2] <= sc[1]);
    /* more hits asked than rows: the rest are -1 */
    float sc9[9];
    int64_t lab9[9];
    assert_int_equal(vindex_search(v, 1, x, 9, sc9, lab9, &err), PARE_OK);
    assert_int_equal(lab9[8], -1);
    float back[8];
    assert_int_equal(vindex_reconstruct(v, 3, back, &err), PARE_OK);
    assert_memory_equal(back, x + 3 * 8, sizeof back);
    free(x);
    vindex_free(v);
    sbuf_free(&err);
}

static void test_bad_factory_and_dim(void **state)
{
    (void)state;
    struct vindex *v;
    struct sbuf err = {0};
    assert_int_equal(vindex_create("NoSuchIndex42", 8, &v, &err), PARE_EUSAGE);
    assert_null(v);
    assert_contains(err.p, "factory string 'NoSuchIndex42'");
    assert_null(strchr(err.p, '\n')); /* FAISS's source location is cut off */
    assert_int_equal(vindex_create("Flat", 0, &v, &err), PARE_EUSAGE);
    assert_contains(err.p, "must be positive");
    sbuf_free(&err);
}

static void test_ivf_training_and_params(void **state)
{
    (void)state;
    struct vindex *v;
    struct sbuf err = {0};
    int n = 256, d = 8;
    float *x = axes(n, d);
    assert_int_equal(vindex_create("IVF4,Flat", d, &v, &err), PARE_OK);
    assert_false(vindex_is_trained(v));
    assert_int_equal(vindex_add(v, n, x, &err), PARE_EFAIL); /* untrained */
    assert_contains(err.p, "FAISS add failed");
    assert_int_equal(vindex_train(v, n, x, &err), PARE_OK);
    assert_true(vindex_is_trained(v));
    assert_int_equal(vindex_add(v, n, x, &err), PARE_OK);
    assert_int_equal(vindex_set_params(v, "nprobe=4", &err), PARE_OK);
    assert_int_equal(vindex_set_params(v, "", &err), PARE_OK);
    float sc[1];
    int64_t lab[1];
    assert_int_equal(vindex_search(v, 1, x + 17 * d, 1, sc, lab, &err), PARE_OK);
    assert_true(fabsf(sc[0] - 1.0f) < 1e-5); /* all lists probed: an exact hit */
    assert_int_equal(vindex_set_params(v, "nosuchparam=3", &err), PARE_EUSAGE);
    assert_contains(err.p, "'nosuchparam=3'");
    free(x);
    vindex_free(v);
    sbuf_free(&err);
}

/* Files in the folder of path whose names start with path's base name plus ".tmp". */
static int temporaries(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096], prefix[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    snprintf(prefix, sizeof prefix, "%s.tmp", slash + 1);
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(dh);
    return n;
}

static void test_write_read_checksum(void **state)
{
    (void)state;
    char *p = tmp_path("v.faiss");
    struct vindex *v, *r;
    struct sbuf err = {0};
    float *x = axes(16, 8);
    assert_int_equal(vindex_create("Flat", 8, &v, &err), PARE_OK);
    assert_int_equal(vindex_add(v, 16, x, &err), PARE_OK);
    char sum[33], again[33];
    assert_int_equal(vindex_write(v, p, sum, &err), PARE_OK);
    assert_int_equal(strlen(sum), 32);
    assert_int_equal(temporaries(p), 0);
    assert_int_equal(file_checksum(p, again, &err), PARE_OK);
    assert_string_equal(sum, again);
    assert_int_equal(vindex_read(p, sum, &r, &err), PARE_OK);
    assert_int_equal(vindex_ntotal(r), 16);
    vindex_free(r);
    /* the same index written again has the same checksum; another one does not */
    assert_int_equal(vindex_write(v, p, again, &err), PARE_OK);
    assert_string_equal(sum, again);
    assert_int_equal(vindex_add(v, 1, x, &err), PARE_OK);
    assert_int_equal(vindex_write(v, p, again, &err), PARE_OK);
    assert_string_not_equal(sum, again);
    /* the file no longer matches the first checksum */
    assert_int_equal(vindex_read(p, sum, &r, &err), PARE_EFAIL);
    assert_contains(err.p, "truncated, corrupt or replaced");
    assert_null(r);
    /* not an index at all, with no checksum to catch it: FAISS's own error */
    FILE *f = fopen(p, "wb");
    fputs("not an index", f);
    fclose(f);
    assert_int_equal(vindex_read(p, NULL, &r, &err), PARE_EFAIL);
    assert_contains(err.p, "read_index");
    remove(p);
    assert_int_equal(vindex_read(p, sum, &r, &err), PARE_EFAIL);
    assert_contains(err.p, "index file is missing");
    assert_int_equal(file_checksum(p, again, &err), PARE_EFAIL);
    /* a folder that does not exist: nothing is left behind */
    char *bad = tmp_path("no-such-dir/v.faiss");
    assert_int_equal(vindex_write(v, bad, again, &err), PARE_EFAIL);
    free(bad);
    free(x);
    free(p);
    vindex_free(v);
    sbuf_free(&err);
}

static void test_decode_for_search(void **state)
{
    (void)state;
    int n = 300, d = 16;
    float *x = axes(n, d);
    struct vindex *sq, *ivf;
    struct sbuf err = {0};
    assert_int_equal(vindex_create("SQ8", d, &sq, &err), PARE_OK);
    assert_int_equal(vindex_train(sq, n, x, &err), PARE_OK);
    assert_int_equal(vindex_add(sq, n, x, &err), PARE_OK);
    float sc[2][5];
    int64_t lab[2][5];
    assert_int_equal(vindex_search(sq, 1, x + 7 * d, 5, sc[0], lab[0], &err), PARE_OK);
    /* too big for the budget: left alone */
    assert_int_equal(vindex_decode_for_search(sq, 16, &err), 0);
    assert_int_equal(vindex_decode_for_search(sq, 1 << 20, &err), 1);
    assert_int_equal(vindex_ntotal(sq), n);
    assert_int_equal(vindex_search(sq, 1, x + 7 * d, 5, sc[1], lab[1], &err), PARE_OK);
    /* the same hits and scores (up to the order floats are summed in) */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(lab[0][i], lab[1][i]);
        assert_true(fabsf(sc[0][i] - sc[1][i]) < 1e-5);
    }
    /* other indexes stay as they are */
    assert_int_equal(vindex_create("IVF2,SQ8", d, &ivf, &err), PARE_OK);
    assert_int_equal(vindex_train(ivf, n, x, &err), PARE_OK);
    assert_int_equal(vindex_decode_for_search(ivf, 1 << 20, &err), 0);
    vindex_free(ivf);
    vindex_free(sq);
    free(x);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_exact_search),       cmocka_unit_test(test_bad_factory_and_dim),
        cmocka_unit_test(test_ivf_training_and_params), cmocka_unit_test(test_write_read_checksum),
        cmocka_unit_test(test_decode_for_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
