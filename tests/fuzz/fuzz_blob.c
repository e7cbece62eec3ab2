/*
 * fuzz_blob.c - blob_decompress on any bytes, with a dictionary source that knows one
 * dictionary (fuzz_dict.h). A frame either decompresses to at most PARE_MAX_RECORD bytes that
 * compress and decompress back to themselves, or is an error with a message; it never aborts
 * and never allocates what a header merely declares (libFuzzer's -malloc_limit_mb catches that).
 */
#include <string.h>
#include <zdict.h>

#include "fuzz.h"
#include "fuzz_dict.h"

static struct sbuf dict;
static uint32_t dict_id;
static struct blob_codec *codec;

static int loader(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err)
{
    (void)ud;
    if (id != dict_id) {
        sbuf_setf(err, "zstd dictionary %u is not in zstd_dicts", id);
        return PARE_EFAIL;
    }
    sbuf_add(out, dict.p, dict.len);
    return PARE_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_dict(&dict, &dict_id);
    codec = blob_codec_new(loader, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbuf out = {0}, again = {0}, back = {0}, err = {0};
    if (blob_decompress(codec, data, size, &out, &err) == PARE_OK) {
        CHECK(out.len <= PARE_MAX_RECORD);
        CHECK(blob_compress(codec, out.p, out.len, &again, &err) == PARE_OK);
        CHECK(blob_decompress(codec, again.p, again.len, &back, &err) == PARE_OK);
        CHECK(back.len == out.len && memcmp(back.p, out.p, out.len) == 0);
    } else {
        CHECK(err.len > 0 && out.len == 0);
    }
    sbuf_free(&out);
    sbuf_free(&again);
    sbuf_free(&back);
    sbuf_free(&err);
    return 0;
}
