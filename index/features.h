/*
 * features.h - an index's features file: every passage's hash features (version 2 keys and
 * term frequencies), so that vectors can be rebuilt and the exact BM25 scored without reading
 * and tokenising text again. A hash index keeps one beside its FAISS file; context-scope
 * retrieval reads only this file, corpus scope re-ranks FAISS's hits from it.
 *
 * The file is written once, in row order (FAISS's), under a temporary name, its xxh128 computed
 * on the way, and renamed when the index is recorded. Readers map it. Layout, little-endian:
 *   rows, one after another, each 4-byte aligned:
 *     u32 len, u32 n_one, u32 n_more, u32 one[n_one], u32 more[n_more], u8 tf[n_more], padding
 *   padding to a multiple of 8 bytes
 *   u64 passage id of each row (ascending)
 *   u64 byte offset of each row, and of the end of the rows and their padding
 *   trailer: "PAREFEAT", u32 format (1), u32 0, u64 rows, u64 ids offset, u64 offsets offset
 * A row costs 12 + 4 n + n_more bytes (n distinct features, n_more of them with tf > 1) and
 * 16 more in the two arrays: about 440 bytes for a HotpotQA passage.
 */
#ifndef PARE_FEATURES_H
#define PARE_FEATURES_H

#include <stdint.h>

#include "common/util.h"
#include "index/embed.h"

/* Encodes f (features of a version 2 hash embedder) as a row into `row` (replacing it).
 * Thread-safe. */
void feat_encode(const struct hfeats *f, struct sbuf *row);

struct feat_writer;

/* Starts writing the features file `path` (under the temporary name path.tmp.PID). Returns
 * PARE_OK or PARE_EFAIL. */
int feat_create(const char *path, struct feat_writer **out, struct sbuf *err);
/* Appends the row of passage `pid` (ids must ascend), encoded by feat_encode. */
int feat_append(struct feat_writer *w, int64_t pid, const struct sbuf *row, struct sbuf *err);
/* Completes the file under its temporary name (feat_tmp_path) and gives its checksum (32 hex
 * digits). Returns PARE_OK or PARE_EFAIL. */
int feat_finish(struct feat_writer *w, char checksum[static 33], struct sbuf *err);
/* The temporary name, readable with feat_open once feat_finish succeeded. */
const char *feat_tmp_path(const struct feat_writer *w);
/* Renames the finished file to its final name. Returns PARE_OK or PARE_EFAIL. */
int feat_commit(struct feat_writer *w, struct sbuf *err);
/* Frees the writer, removing the temporary file unless it was committed. NULL is a no-op. */
void feat_writer_free(struct feat_writer *w);

struct feat_file;

/*
 * Maps the features file `path`, checking its checksum when `checksum` is not NULL and its
 * layout always. Returns PARE_OK, or PARE_EFAIL with "path: what is wrong".
 */
int feat_open(const char *path, const char *checksum, struct feat_file **out, struct sbuf *err);
void feat_close(struct feat_file *f);

int64_t feat_rows(const struct feat_file *f);
/* The passage ids of all rows, ascending. */
const int64_t *feat_ids(const struct feat_file *f);
/* The passage of a row, and the row of a passage (-1 when the file has none). */
int64_t feat_passage(const struct feat_file *f, int64_t row);
int64_t feat_row_of(const struct feat_file *f, int64_t pid);
/* The features of row `row` (0 <= row < feat_rows), pointing into the mapping. Returns PARE_OK,
 * or PARE_EFAIL when the row is malformed. */
int feat_doc(const struct feat_file *f, int64_t row, struct hdoc *d, struct sbuf *err);
/* The features of d as hfeats, ascending by key (what hash_features gives for its text). */
void feat_hfeats(const struct hdoc *d, struct hfeats *out);
/* Lets the system drop rows [from, to) from memory (they stay in the file): for one pass over
 * a large file without holding all of it. */
void feat_release(const struct feat_file *f, int64_t from, int64_t to);

#endif
