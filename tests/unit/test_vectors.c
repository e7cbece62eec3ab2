/* test_vectors.c - vector files: .npy written by pare and read back, .fvecs, and every way an
 * input file can be wrong (each reported as file:row). */
#include "helpers.h"

#include <math.h>

#include "index/vectors.h"

/* A .npy file with a hand-made header and n floats. */
static char *npy_with(const char *name, const char *header, const float *v, size_t n)
{
    char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    size_t hl = strlen(header);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hl, 0};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, hl, f);
    fwrite(v, sizeof *v, n, f);
    fclose(f);
    return p;
}

static char *ids_with(const char *name, const char *text)
{
    return tmp_file(name, text, strlen(text));
}

/* Loads and expects failure with `msg` in the error. */
static void expect_bad(const char *vec, const char *ids, const char *msg)
{
    float *v;
    int dim;
    int64_t rows;
    char **idl;
    struct sbuf err = {0};
    assert_int_equal(vectors_load(vec, ids, &v, &dim, &rows, &idl, &err), PARE_EINPUT);
    assert_null(v);
    assert_null(idl);
    assert_contains(err.p, msg);
    sbuf_free(&err);
}

static void test_npy_roundtrip(void **state)
{
    (void)state;
    char *p = tmp_path("v1.npy");
    FILE *f = fopen(p, "w+b");
    assert_int_equal(npy_write_header(f, 2, 3), 0);
    float rows[6] = {3, 0, 4, 0, 0, 2};
    fwrite(rows, sizeof rows, 1, f);
    /* pare reads its own files back from the first row */
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(npy_skip_header(f), 0);
    assert_int_equal(ftell(f) % 64, 0); /* the header is padded to 64 bytes */
    float first;
    assert_int_equal(fread(&first, sizeof first, 1, f), 1);
    assert_true(first == 3);
    fclose(f);
    char *ids = ids_with("v1.ids", "a\nb\n");
    float *v;
    int dim;
    int64_t n;
    char **idl;
    struct sbuf err = {0};
    assert_int_equal(vectors_load(p, ids, &v, &dim, &n, &idl, &err), PARE_OK);
    assert_int_equal(dim, 3);
    assert_int_equal(n, 2);
    assert_string_equal(idl[1], "b");
    assert_true(fabsf(v[0] - 0.6f) < 1e-6 && fabsf(v[2] - 0.8f) < 1e-6 && v[5] == 1.0f);
    free(v);
    vectors_free_ids(idl, n);
    remove(p);
    remove(ids);
    free(p);
    free(ids);
    sbuf_free(&err);
}

static void test_fvecs(void **state)
{
    (void)state;
    char *p = tmp_path("v2.fvecs");
    FILE *f = fopen(p, "wb");
    int32_t d = 2;
    float r[2] = {1, 1};
    for (int i = 0; i < 3; i++) {
        fwrite(&d, sizeof d, 1, f);
        fwrite(r, sizeof r, 1, f);
    }
    fclose(f);
    char *ids = ids_with("v2.ids", "1\n2\n3\n");
    float *v;
    int dim;
    int64_t n;
    char **idl;
    struct sbuf err = {0};
    assert_int_equal(vectors_load(p, ids, &v, &dim, &n, &idl, &err), PARE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(dim, 2);
    free(v);
    vectors_free_ids(idl, n);
    /* a row of another dimension */
    f = fopen(p, "ab");
    d = 3;
    fwrite(&d, sizeof d, 1, f);
    fclose(f);
    expect_bad(p, ids, ":4: bad dimension 3 (rows must all have the same)");
    remove(p);
    remove(ids);
    free(p);
    free(ids);
    sbuf_free(&err);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    float ok[4] = {1, 0, 0, 1}, nan4[4] = {1, 0, NAN, 1}, inf4[4] = {1, 0, 0, INFINITY};
    char *ids = ids_with("b.ids", "1\n2\n"), *ids3 = ids_with("b3.ids", "1\n2\n3\n");
    char *p = npy_with("b1.npy", good, ok, 4);
    expect_bad(p, ids3, "2 vectors but");
    remove(p);
    free(p);
    p = npy_with("b2.npy", good, nan4, 4);
    expect_bad(p, ids, "b2.npy:2: value 0 is NaN");
    remove(p);
    free(p);
    p = npy_with("b3.npy", good, inf4, 4);
    expect_bad(p, ids, "b3.npy:2: value 1 is infinite");
    remove(p);
    free(p);
    p = npy_with("b4.npy", good, ok, 3);
    expect_bad(p, ids, "truncated");
    remove(p);
    free(p);
    float five[5] = {1, 0, 0, 1, 7};
    p = npy_with("b5.npy", good, five, 5);
    expect_bad(p, ids, "more data than its header's shape");
    remove(p);
    free(p);
    p = npy_with("b6.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", ok, 4);
    expect_bad(p, ids, "little-endian float32");
    remove(p);
    free(p);
    p = npy_with("b7.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", ok, 4);
    expect_bad(p, ids, "C order");
    remove(p);
    free(p);
    p = npy_with("b8.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", ok, 4);
    expect_bad(p, ids, "2-D array");
    remove(p);
    free(p);
    p = tmp_file("b9.npy", "GARBAGE!!!!!!", 13);
    expect_bad(p, ids, "not a .npy file");
    remove(p);
    free(p);
    p = tmp_file("b10.txt", "x", 1);
    expect_bad(p, ids, "must be a .npy or .fvecs file");
    remove(p);
    free(p);
    char *empty = ids_with("e.ids", ""), *blank = ids_with("bl.ids", "1\n\n");
    expect_bad("whatever.npy", empty, "empty file: no ids");
    expect_bad("whatever.npy", blank, "bl.ids:2: empty id");
    expect_bad("/nonexistent/v.npy", ids, "cannot open");
    int64_t id;
    assert_int_equal(vectors_numeric_id("42", &id), 0);
    assert_int_equal(id, 42);
    assert_int_equal(vectors_numeric_id("42x", &id), -1);
    assert_int_equal(vectors_numeric_id("", &id), -1);
    assert_int_equal(vectors_numeric_id("99999999999999999999", &id), -1);
    const char *tmp[4] = {ids, ids3, empty, blank};
    for (int i = 0; i < 4; i++) {
        remove(tmp[i]);
        free((char *)tmp[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_roundtrip),
        cmocka_unit_test(test_fvecs),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
