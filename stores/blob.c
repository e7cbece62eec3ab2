/* blob.c - see blob.h. */
#include "stores/blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZDICT_STATIC_LINKING_ONLY /* ZDICT_trainFromBuffer_fastCover and its parameters */
#include <zdict.h>
#include <zstd.h>

struct ddict_entry {
    uint32_t id;
    ZSTD_DDict *dd;
};

struct blob_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    ZSTD_CDict *cdict; /* NULL: compress without a dictionary */
    int level;
    blob_dict_loader loader;
    void *ud;
    struct ddict_entry *dd; /* dictionaries seen so far; few, so a linear scan */
    size_t n_dd, cap_dd;
};

struct blob_codec *blob_codec_new(blob_dict_loader loader, void *ud)
{
    struct blob_codec *c = xcalloc(1, sizeof *c);
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (!c->cctx || !c->dctx) {
        fprintf(stderr, "pare: out of memory (zstd context)\n");
        abort();
    }
    c->level = BLOB_DEFAULT_LEVEL;
    c->loader = loader;
    c->ud = ud;
    return c;
}

void blob_codec_free(struct blob_codec *c)
{
    if (!c) return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    ZSTD_freeCDict(c->cdict);
    for (size_t i = 0; i < c->n_dd; i++) ZSTD_freeDDict(c->dd[i].dd);
    free(c->dd);
    free(c);
}

int blob_set_dict(struct blob_codec *c, const void *dict, size_t n, int level, struct sbuf *err)
{
    ZSTD_freeCDict(c->cdict);
    c->cdict = NULL;
    c->level = level;
    if (!dict) return PARE_OK;
    c->cdict = ZSTD_createCDict(dict, n, level);
    if (!c->cdict) {
        sbuf_setf(err, "zstd rejected the compression dictionary");
        return PARE_EFAIL;
    }
    return PARE_OK;
}

int blob_compress(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                  struct sbuf *err)
{
    size_t bound = ZSTD_compressBound(n);
    sbuf_reset(out);
    sbuf_grow(out, bound);
    size_t r = c->cdict ? ZSTD_compress_usingCDict(c->cctx, out->p, bound, src, n, c->cdict)
                        : ZSTD_compressCCtx(c->cctx, out->p, bound, src, n, c->level);
    if (ZSTD_isError(r)) {
        sbuf_setf(err, "zstd compression failed: %s", ZSTD_getErrorName(r));
        return PARE_EFAIL;
    }
    out->len = r;
    out->p[r] = '\0';
    return PARE_OK;
}

/* the frame below has a 1-byte content size */
_Static_assert(BLOB_RAW_MAX <= 256, "BLOB_RAW_MAX must fit a 1-byte frame content size");

int blob_compress_or_raw(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                         struct sbuf *err)
{
    if (n >= BLOB_RAW_MAX) return blob_compress(c, src, n, out, err);
    /* RFC 8878: the magic number; a frame header of a single segment whose 1-byte content size
     * follows (descriptor 0x20); one block, last (bit 0), raw (type 0), of n bytes */
    const unsigned char head[] = {0x28,
                                  0xb5,
                                  0x2f,
                                  0xfd,
                                  0x20,
                                  (unsigned char)n,
                                  (unsigned char)((n << 3 | 1) & 0xff),
                                  (unsigned char)((n << 3) >> 8),
                                  0};
    sbuf_reset(out);
    sbuf_add(out, head, sizeof head);
    sbuf_add(out, src, n);
    return PARE_OK;
}

static ZSTD_DDict *find_ddict(struct blob_codec *c, uint32_t id, struct sbuf *err)
{
    for (size_t i = 0; i < c->n_dd; i++)
        if (c->dd[i].id == id) return c->dd[i].dd;
    if (!c->loader) {
        sbuf_setf(err, "frame needs zstd dictionary %u and no dictionary source is set", id);
        return NULL;
    }
    struct sbuf d = {0};
    if (c->loader(c->ud, id, &d, err) != PARE_OK) {
        sbuf_free(&d);
        return NULL;
    }
    ZSTD_DDict *dd = ZSTD_createDDict(d.p, d.len);
    sbuf_free(&d);
    if (!dd) {
        sbuf_setf(err, "zstd dictionary %u is corrupt", id);
        return NULL;
    }
    xgrow((void **)&c->dd, &c->cap_dd, c->n_dd + 1, sizeof *c->dd);
    c->dd[c->n_dd].id = id;
    c->dd[c->n_dd].dd = dd;
    c->n_dd++;
    return dd;
}

/*
 * The text size a frame declares, checked before anything is allocated for it: the header must
 * state it, within PARE_MAX_RECORD, and within what the frame's blocks can hold. Every block
 * spends at least a 3-byte header on at most ZSTD_BLOCKSIZE_MAX bytes of output, so an n-byte
 * frame yields at most (n / 3 + 1) blocks' worth; a header claiming more is corrupt (16 crafted
 * bytes once asked for 2^50 bytes).
 */
static int declared_size(const void *src, size_t n, size_t *size, struct sbuf *err)
{
    unsigned long long s = ZSTD_getFrameContentSize(src, n);
    if (s == ZSTD_CONTENTSIZE_ERROR || s == ZSTD_CONTENTSIZE_UNKNOWN) {
        sbuf_setf(err, "not a pare text blob (bad zstd frame header)");
        return PARE_EFAIL;
    }
    if (s > PARE_MAX_RECORD) {
        sbuf_setf(err,
                  "corrupt zstd frame: it declares %llu bytes of text, more than the %zu pare "
                  "stores",
                  s, PARE_MAX_RECORD);
        return PARE_EFAIL;
    }
    if (s > (unsigned long long)(n / 3 + 1) * ZSTD_BLOCKSIZE_MAX) {
        sbuf_setf(err,
                  "corrupt zstd frame: it declares %llu bytes of text, more than its %zu "
                  "bytes can hold",
                  s, n);
        return PARE_EFAIL;
    }
    *size = (size_t)s;
    return PARE_OK;
}

int blob_decompress(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                    struct sbuf *err)
{
    size_t size;
    sbuf_reset(out);
    if (declared_size(src, n, &size, err) != PARE_OK) return PARE_EFAIL;
    if (sbuf_try_grow(out, size) != PARE_OK) {
        sbuf_setf(err, "out of memory decompressing %zu bytes of text", size);
        return PARE_EFAIL;
    }
    uint32_t id = ZSTD_getDictID_fromFrame(src, n);
    size_t r;
    if (id) {
        ZSTD_DDict *dd = find_ddict(c, id, err);
        if (!dd) return PARE_EFAIL;
        r = ZSTD_decompress_usingDDict(c->dctx, out->p, size, src, n, dd);
    } else {
        r = ZSTD_decompressDCtx(c->dctx, out->p, size, src, n);
    }
    if (ZSTD_isError(r) || r != size) {
        sbuf_setf(err, "corrupt zstd frame: %s", ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size");
        sbuf_reset(out);
        return PARE_EFAIL;
    }
    out->len = r;
    out->p[r] = '\0';
    return PARE_OK;
}

int blob_train_dict(const void *samples, const size_t *sizes, size_t n, size_t capacity,
                    struct sbuf *dict, uint32_t *id, struct sbuf *err)
{
    /* zstd 1.5 refuses fewer than ~8 samples, and a sample set much smaller than the
     * dictionary gives a useless one; ask for a smaller dictionary on small samples. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += sizes[i];
    if (n < 16 || total < 4096) {
        sbuf_setf(err, "too few samples to train a dictionary (%zu samples, %zu bytes)", n, total);
        return PARE_EFAIL;
    }
    if (capacity > total / 4) capacity = total / 4 < 1024 ? 1024 : total / 4;
    sbuf_reset(dict);
    sbuf_grow(dict, capacity);
    /* fastCover with fixed parameters rather than ZDICT_trainFromBuffer, which tries several
     * segment sizes k and keeps the best: on the first 4000 HotpotQA passages that search took
     * 0.9 s, a third of a 10,000-question ingest, and k = 200 (d = 8, 2^18 table entries) took
     * 0.2 s for a database of the same size (40.01 MB against 40.01 MB; on generated passages
     * 34.2 MB against 34.6 MB). Frames decode as before: only the dictionary's content differs.
     * accel = 6 counts every sixth position and computes the entropy tables on a sixth of the
     * samples. Chosen on the first 250 questions of dev500_ircot: training 220 M instructions ->
     * 86 M, bodies 601,950 -> 601,931 bytes (accel = 10, 74 M and +0.10% there, was +2.4% on
     * generated passages). Checked elsewhere, bodies against accel = 1: the last 250 +0.07%,
     * 2Wiki dev500 +0.13%, MuSiQue train100 +0.07%, HotpotQA dev100 +0.34%, 100k generated
     * passages +0.22%. */
    ZDICT_fastCover_params_t fp = {0};
    fp.k = 200;
    fp.d = 8;
    fp.f = 18;
    fp.accel = 6;
    fp.zParams.compressionLevel = BLOB_DEFAULT_LEVEL;
    size_t r = ZDICT_trainFromBuffer_fastCover(dict->p, capacity, samples, sizes, (unsigned)n, fp);
    if (ZDICT_isError(r)) {
        sbuf_setf(err, "zstd dictionary training failed: %s", ZDICT_getErrorName(r));
        return PARE_EFAIL;
    }
    dict->len = r;
    *id = ZDICT_getDictID(dict->p, r);
    if (*id == 0) {
        sbuf_setf(err, "zstd produced a dictionary without an id");
        return PARE_EFAIL;
    }
    return PARE_OK;
}
