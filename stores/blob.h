/*
 * blob.h - zstd codec for large text (passage bodies, responses).
 *
 * Every blob is one zstd frame. When a dictionary was used its id is in the frame header
 * (ZSTD_getDictID_fromFrame), so a reader needs nothing but the frame and a way to fetch the
 * dictionary by id: the codec asks a loader callback and caches what it gets. Dictionaries are
 * trained with ZDICT on a sample of the first passages a database ingests and kept in zstd_dicts.
 *
 * A codec is not thread-safe; use one per thread.
 */
#ifndef PARE_BLOB_H
#define PARE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/*
 * Fetches dictionary `id` into out. Returns PARE_OK, or PARE_EFAIL with a message in err
 * (unknown id, database error).
 */
typedef int (*blob_dict_loader)(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err);

struct blob_codec;

/* Default dictionary capacity and compression level (measured on HotpotQA passages). */
#define BLOB_DICT_CAPACITY (64 * 1024)
#define BLOB_DEFAULT_LEVEL 3

/* Creates a codec. loader may be NULL when only dictionary-less frames will be read. */
struct blob_codec *blob_codec_new(blob_dict_loader loader, void *ud);
void blob_codec_free(struct blob_codec *c);

/*
 * Sets the dictionary used by blob_compress (dict NULL: none) and the level.
 * Returns PARE_OK or PARE_EFAIL (zstd rejected the dictionary) with a message in err.
 */
int blob_set_dict(struct blob_codec *c, const void *dict, size_t n, int level, struct sbuf *err);

/* Compresses src into out (replacing its contents). */
int blob_compress(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                  struct sbuf *err);

/*
 * Texts shorter than this go into their frame as they are (blob_compress_or_raw): zstd saves a
 * few bytes at most on them, and compressing one costs more than everything else `pare score`
 * does with a short response (ZSTD_compressCCtx took 11,000 instructions for 64 bytes).
 */
#define BLOB_RAW_MAX 128

/*
 * As blob_compress, but a text shorter than BLOB_RAW_MAX bytes is put in a frame as one raw
 * (uncompressed) block, as zstd itself does for a text it cannot shrink: the frame decodes as
 * any other (blob_decompress, ZSTD_decompress).
 */
int blob_compress_or_raw(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                         struct sbuf *err);

/*
 * Decompresses one frame into out (replacing its contents; NUL-terminated as every sbuf).
 * Returns PARE_OK, or PARE_EFAIL for a corrupt frame, a dictionary that cannot be loaded, a text
 * longer than PARE_MAX_RECORD or memory that cannot be had. Never aborts: the bytes may be
 * anything a user put in a BLOB column, and the sqlite3 extension runs inside the user's shell.
 * Memory is bounded by what the frame's blocks can really produce, not by the size its header
 * declares.
 */
int blob_decompress(struct blob_codec *c, const void *src, size_t n, struct sbuf *out,
                    struct sbuf *err);

/*
 * Trains a dictionary of at most `capacity` bytes on n samples laid end to end in `samples`
 * with lengths `sizes`. On success fills dict and *id (the id zstd writes into frames).
 * Returns PARE_OK, or PARE_EFAIL when zstd cannot train on these samples (too few or too
 * small); callers then store frames without a dictionary.
 */
int blob_train_dict(const void *samples, const size_t *sizes, size_t n, size_t capacity,
                    struct sbuf *dict, uint32_t *id, struct sbuf *err);

#endif
