/* test_blob.c - dictionary training, round trips, dictionary lookup by frame id, corruption. */
#include "helpers.h"

#include <zstd.h>

#include "stores/blob.h"

struct dicts {
    uint32_t id;
    struct sbuf dict;
    int loads;
};

static int loader(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err)
{
    struct dicts *d = ud;
    d->loads++;
    if (id != d->id) {
        sbuf_setf(err, "no dictionary %u", id);
        return PARE_EFAIL;
    }
    sbuf_add(out, d->dict.p, d->dict.len);
    return PARE_OK;
}

static void make_samples(struct sbuf *s, size_t *sizes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t before = s->len;
        sbuf_addf(s,
                  "Passage %zu: The city of Vorlen%zu lies on the river Dra and was founded in "
                  "%zu by settlers from Kamira. It is known for its markets.",
                  i, i % 37, 900 + i % 500);
        sizes[i] = s->len - before;
    }
}

static void test_train_roundtrip_and_ratio(void **state)
{
    (void)state;
    enum { N = 2000 };
    static size_t sizes[N];
    struct sbuf samples = {0}, out = {0}, back = {0}, err = {0};
    struct dicts d = {0};
    make_samples(&samples, sizes, N);
    assert_int_equal(blob_train_dict(samples.p, sizes, N, BLOB_DICT_CAPACITY, &d.dict, &d.id, &err),
                     PARE_OK);
    assert_true(d.id != 0);

    struct blob_codec *c = blob_codec_new(loader, &d);
    assert_int_equal(blob_set_dict(c, d.dict.p, d.dict.len, 3, &err), PARE_OK);
    size_t total_in = 0, total_out = 0, off = 0;
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(blob_compress(c, samples.p + off, sizes[i], &out, &err), PARE_OK);
        assert_int_equal(ZSTD_getDictID_fromFrame(out.p, out.len), d.id);
        assert_int_equal(blob_decompress(c, out.p, out.len, &back, &err), PARE_OK);
        assert_int_equal(back.len, sizes[i]);
        assert_memory_equal(back.p, samples.p + off, sizes[i]);
        total_in += sizes[i];
        total_out += out.len;
        off += sizes[i];
    }
    /* the dictionary is fetched once, then cached */
    assert_int_equal(d.loads, 1);
    assert_true((double)total_in / (double)total_out > 2.0);
    blob_codec_free(c);
    sbuf_free(&samples);
    sbuf_free(&out);
    sbuf_free(&back);
    sbuf_free(&err);
    sbuf_free(&d.dict);
}

static void test_no_dict_and_errors(void **state)
{
    (void)state;
    struct sbuf out = {0}, back = {0}, err = {0};
    struct dicts d = {.id = 12345};
    struct blob_codec *c = blob_codec_new(loader, &d);
    assert_int_equal(blob_compress(c, "hello", 5, &out, &err), PARE_OK);
    assert_int_equal(blob_decompress(c, out.p, out.len, &back, &err), PARE_OK);
    assert_string_equal(back.p, "hello");
    assert_int_equal(blob_compress(c, "", 0, &out, &err), PARE_OK);
    assert_int_equal(blob_decompress(c, out.p, out.len, &back, &err), PARE_OK);
    assert_int_equal(back.len, 0);
    /* corrupt: not a frame at all */
    assert_int_equal(blob_decompress(c, "garbage!", 8, &back, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "not a pare text blob");
    /* too few samples to train */
    size_t sizes[2] = {3, 3};
    struct sbuf dict = {0};
    uint32_t id;
    assert_int_equal(blob_train_dict("abcdef", sizes, 2, 1024, &dict, &id, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "too few samples");
    blob_codec_free(c);
    sbuf_free(&out);
    sbuf_free(&back);
    sbuf_free(&err);
    sbuf_free(&dict);
}

static void test_missing_dictionary(void **state)
{
    (void)state;
    enum { N = 500 };
    static size_t sizes[N];
    struct sbuf samples = {0}, out = {0}, back = {0}, err = {0}, dict = {0};
    uint32_t id;
    make_samples(&samples, sizes, N);
    assert_int_equal(blob_train_dict(samples.p, sizes, N, 8192, &dict, &id, &err), PARE_OK);
    struct blob_codec *w = blob_codec_new(NULL, NULL);
    assert_int_equal(blob_set_dict(w, dict.p, dict.len, 3, &err), PARE_OK);
    assert_int_equal(blob_compress(w, samples.p, sizes[0], &out, &err), PARE_OK);
    struct dicts other = {.id = id + 1};
    struct blob_codec *r = blob_codec_new(loader, &other);
    assert_int_equal(blob_decompress(r, out.p, out.len, &back, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "no dictionary");
    blob_codec_free(w);
    blob_codec_free(r);
    sbuf_free(&samples);
    sbuf_free(&out);
    sbuf_free(&back);
    sbuf_free(&err);
    sbuf_free(&dict);
}

/*
 * Frames whose header declares more text than their blocks can produce: the codec must say so
 * without allocating what they declare (the first one, from issue 15, asked for 2^50 bytes and
 * aborted the sqlite3 shell that had loaded the extension).
 */
static void test_crafted_sizes(void **state)
{
    (void)state;
    struct sbuf back = {0}, err = {0}, out = {0};
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    static const unsigned char huge[] = {0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0,
                                         0,    0,    0,    4,    0,    1, 0, 0};
    assert_int_equal(blob_decompress(c, huge, sizeof huge, &back, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "corrupt zstd frame");
    assert_int_equal(back.len, 0);
    /* 60 MiB declared (under the record limit) by a frame with one empty raw block */
    static const unsigned char lie[] = {0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0xc0, 0x03, 0x01, 0, 0};
    assert_int_equal(blob_decompress(c, lie, sizeof lie, &back, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "more than its 12 bytes can hold");
    /* a text over the record limit is refused even when its frame is honest */
    static const unsigned char over[] = {0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x01,
                                         0,    0,    0x04, 0x01, 0,    0};
    assert_int_equal(blob_decompress(c, over, sizeof over, &back, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "more than the");
    /* the bound is not too tight: 8 MiB of one byte compresses to a few hundred bytes (RLE
     * blocks) and still decompresses */
    size_t n = (size_t)8 << 20;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    assert_int_equal(blob_compress(c, a, n, &out, &err), PARE_OK);
    assert_true(out.len < 4096);
    assert_int_equal(blob_decompress(c, out.p, out.len, &back, &err), PARE_OK);
    assert_int_equal(back.len, n);
    assert_memory_equal(back.p, a, n);
    /* random bytes behind the magic number never abort */
    srand(15);
    unsigned char blob[24] = {0x28, 0xb5, 0x2f, 0xfd};
    for (int i = 0; i < 20000; i++) {
        size_t len = 5 + (size_t)(rand() % 19);
        for (size_t k = 4; k < len; k++) blob[k] = (unsigned char)rand();
        if (blob_decompress(c, blob, len, &back, &err) == PARE_OK)
            assert_true(back.len <= (len / 3 + 1) * ZSTD_BLOCKSIZE_MAX);
    }
    free(a);
    blob_codec_free(c);
    sbuf_free(&out);
    sbuf_free(&back);
    sbuf_free(&err);
}

/* Texts under BLOB_RAW_MAX go in a frame as they are, which blob_decompress and zstd itself read
 * back; longer ones are compressed. Zero bytes and BLOB_RAW_MAX - 1 bytes are the edges. */
static void test_raw_frames(void **state)
{
    (void)state;
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    struct sbuf text = {0}, frame = {0}, back = {0}, err = {0};
    char plain[BLOB_RAW_MAX * 2];
    for (size_t n = 0; n <= BLOB_RAW_MAX; n++) {
        sbuf_reset(&text);
        for (size_t i = 0; i < n; i++) sbuf_addc(&text, (char)('a' + i % 3)); /* compressible */
        assert_int_equal(blob_compress_or_raw(c, text.p, n, &frame, &err), PARE_OK);
        if (n < BLOB_RAW_MAX)
            assert_int_equal(frame.len, n + 9); /* stored as it is */
        else
            assert_true(frame.len < n);
        assert_int_equal(blob_decompress(c, frame.p, frame.len, &back, &err), PARE_OK);
        assert_int_equal(back.len, n);
        assert_memory_equal(back.p, n ? text.p : "", n);
        size_t z = ZSTD_decompress(plain, sizeof plain, frame.p, frame.len);
        assert_false(ZSTD_isError(z));
        assert_int_equal(z, n);
        assert_memory_equal(plain, n ? text.p : "", n);
    }
    sbuf_free(&text);
    sbuf_free(&frame);
    sbuf_free(&back);
    sbuf_free(&err);
    blob_codec_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_roundtrip_and_ratio),
        cmocka_unit_test(test_no_dict_and_errors),
        cmocka_unit_test(test_missing_dictionary),
        cmocka_unit_test(test_crafted_sizes),
        cmocka_unit_test(test_raw_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
