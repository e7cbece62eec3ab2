/* test_ckfile.c - checksummed files: the checksum is the content's xxh128, the final name
 * appears only at commit, and an uncommitted file is removed. */
#include "helpers.h"

#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/ckfile.h"

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_commit_and_checksum(void **state)
{
    (void)state;
    char *p = tmp_path("ck.bin");
    remove(p);
    struct ckfile *c;
    struct sbuf err = {0};
    assert_int_equal(ckfile_create(p, &c, &err), PARE_OK);
    assert_int_equal(ckfile_put(c, "abc", 3, &err), PARE_OK);
    assert_int_equal(ckfile_put_aligned(c, "de", 2, 8, &err), PARE_OK); /* 5 bytes, then 3 zeros */
    assert_int_equal(ckfile_bytes(c), 8);
    assert_int_equal(ckfile_put_aligned(c, NULL, 0, 8, &err), PARE_OK); /* aligned: nothing */
    assert_int_equal(ckfile_bytes(c), 8);
    char sum[33];
    assert_int_equal(ckfile_finish(c, sum, &err), PARE_OK);
    assert_true(exists(ckfile_tmp_path(c)));
    assert_false(exists(p));
    static const char want[8] = {'a', 'b', 'c', 'd', 'e', 0, 0, 0};
    XXH128_hash_t h = XXH3_128bits(want, sizeof want);
    char expect[33];
    snprintf(expect, sizeof expect, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    assert_string_equal(sum, expect);
    /* reading: the same bytes verify, one byte changed does not, and the error says which file */
    assert_int_equal(ckfile_verify(p, "test", want, sizeof want, sum, &err), PARE_OK);
    char changed[8];
    memcpy(changed, want, 8);
    changed[7] = 1;
    assert_int_equal(ckfile_verify(p, "test", changed, sizeof changed, sum, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "test file does not match the database");
    assert_contains(sbuf_str(&err), p);
    char *tmp = xstrdup(ckfile_tmp_path(c));
    assert_int_equal(ckfile_commit(c, &err), PARE_OK);
    ckfile_free(c);
    assert_true(exists(p));
    assert_false(exists(tmp));
    FILE *f = fopen(p, "rb");
    char got[16];
    assert_int_equal(fread(got, 1, sizeof got, f), 8);
    fclose(f);
    assert_memory_equal(got, want, 8);
    remove(p);
    free(tmp);
    free(p);
    sbuf_free(&err);
}

static void test_uncommitted_is_removed(void **state)
{
    (void)state;
    char *p = tmp_path("ck2.bin");
    remove(p);
    struct ckfile *c;
    struct sbuf err = {0};
    assert_int_equal(ckfile_create(p, &c, &err), PARE_OK);
    assert_int_equal(ckfile_put(c, "x", 1, &err), PARE_OK);
    /* committing before finishing is refused */
    assert_int_equal(ckfile_commit(c, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "not finished");
    char *tmp = xstrdup(ckfile_tmp_path(c));
    assert_true(exists(tmp));
    ckfile_free(c);
    assert_false(exists(tmp));
    assert_false(exists(p));
    /* a folder that does not exist: the error names the temporary file */
    sbuf_reset(&err);
    assert_int_equal(ckfile_create("/nonexistent-dir/x.bin", &c, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "/nonexistent-dir/x.bin.tmp.");
    ckfile_free(c);
    free(tmp);
    free(p);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_checksum),
        cmocka_unit_test(test_uncommitted_is_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
