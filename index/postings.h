/*
 * postings.h - an inverted index of a hash index's features (factory "postings"): for every
 * version 2 feature key, the rows holding it and their tf, so that corpus-scope retrieval finds
 * the exact BM25 top k (hash_bm25_doc) by reading only the lists of the question's keys instead
 * of scanning a vector per passage. Hash vectors are sparse (about a hundred features a
 * passage), so the lists of a question's rare keys are short; the lists of its very common keys
 * (stop words) are long but weigh little, and MaxScore skips most of them without losing
 * exactness (post_search).
 *
 * The file is built from the index's features file (features.h), written once under a
 * temporary name with its xxh128 computed on the way and renamed when the index is recorded,
 * as the features file is. Readers map it and check every size and offset against its length
 * (it is untrusted bytes). Layout, little-endian, every section 8-byte aligned:
 *   header (64 bytes): "PAREPOST", u32 format (1), u32 B (bucket bits, 1..24), u64 rows,
 *                      u64 keys, u64 postings, f64 avg_len, f64 k1, f64 b
 *   u32 bucket[2^B + 1]  the first key of each bucket (a key's bucket is its top B bits)
 *   u32 key[keys]        ascending
 *   u64 off[keys + 1]    the first posting of each key's list
 *   f32 ub[keys]         max over the list of tf / (tf + norm(len)), rounded up
 *   u32 len[rows]        each row's length (features counted with repeats)
 *   u32 row[postings]    each list's rows, ascending
 *   u8  tf[postings]
 * A passage costs 5 bytes a distinct feature and 4 for its length, a distinct key 16: about
 * 500 to 600 bytes a passage, a quarter of an SQ8 vector at 2048 dimensions.
 */
#ifndef PARE_POSTINGS_H
#define PARE_POSTINGS_H

#include <stdint.h>

#include "common/util.h"
#include "index/embed.h"
#include "index/features.h"

/* The factory name of a postings index (indexes.factory). */
#define POSTINGS_FACTORY "postings"

struct post_writer;

/* Building sorts the postings into 2^POST_PART_BITS partitions by the top bits of their key. */
#define POST_PART_BITS 14
#define POST_PARTS (1u << POST_PART_BITS)

/*
 * Counts the distinct keys of f (version 2 features) into counts[key >> (32 - POST_PART_BITS)]
 * (POST_PARTS of them): summed over every row of a features file, where post_build places its
 * postings, counted while the features are made instead of in a pass of its own. Thread-safe
 * for distinct counts.
 */
void post_count(uint64_t *counts, const struct hfeats *f);

/*
 * Builds the postings of every row of the features file ff (of hash embedder e, with its k1, b
 * and mean length: they bound the lists' contributions; its df is not used) and writes them to
 * `path` under the temporary name path.tmp.PID; *checksum gets the file's xxh128 (32 hex
 * digits). `counts` is NULL, or post_count summed over every row of ff (checked: counted again
 * from the rows when they do not hold). `df`, when not NULL, gets the HASH_DF_BUCKETS document
 * frequencies of ff's rows (what hash_count counts). *out is set even on failure (free it with
 * post_writer_free, which removes the temporary file). Memory is about 8 bytes a posting and
 * 16 a distinct key while building. Returns PARE_OK or PARE_EFAIL with "path: what went wrong".
 */
int post_build(const struct feat_file *ff, const struct embedder *e, const uint64_t *counts,
               uint32_t *df, const char *path, struct post_writer **out, char checksum[static 33],
               struct sbuf *err);
/* Renames the written file to its final name. Returns PARE_OK or PARE_EFAIL. */
int post_commit(struct post_writer *w, struct sbuf *err);
/* The number of distinct keys and postings written (for messages). */
void post_writer_counts(const struct post_writer *w, int64_t *keys, int64_t *postings);
/* Frees the writer, removing the temporary file unless it was committed. NULL is a no-op. */
void post_writer_free(struct post_writer *w);

struct post_file;

/*
 * Maps the postings file `path`, checking its checksum when `checksum` is not NULL and its whole
 * layout always (sizes against the file's length, keys ascending, lists ascending and within the
 * rows). Returns PARE_OK, or PARE_EFAIL with "path: what is wrong".
 */
int post_open(const char *path, const char *checksum, struct post_file **out, struct sbuf *err);
/* Unmaps and frees. NULL is a no-op. */
void post_close(struct post_file *p);
/* The number of rows (passages) the postings cover. */
int64_t post_rows(const struct post_file *p);
/* The number of distinct keys and postings. */
void post_counts(const struct post_file *p, int64_t *keys, int64_t *postings);
/*
 * Checks that p was built for the features file ff and embedder e (same rows and lengths, the
 * same BM25 parameters and mean length): the bounds of its lists hold only then. Returns PARE_OK,
 * or PARE_EFAIL with "path: what differs".
 */
int post_check_match(const struct post_file *p, const struct feat_file *ff,
                     const struct embedder *e, struct sbuf *err);

/* Per-thread working memory of post_search: 12 bytes a row, and what a search touches. */
struct post_scratch;
struct post_scratch *post_scratch_new(const struct post_file *p);
/* Frees s. NULL is a no-op. */
void post_scratch_free(struct post_scratch *s);

/*
 * The exact BM25 top k of query q over all rows: rows[0..*n) and their scores, *n = min(k,
 * rows), best first, ties by ascending row (rows are in passage id order, so by passage id, as
 * ranked_sort breaks them). Equal to scoring every row of ff with hash_bm25_doc and sorting:
 * the scores are hash_bm25_doc's, to the last bit, and rows no key matches score 0 (they fill
 * the k when fewer rows match). rows and scores hold k entries. p must match ff and e
 * (post_check_match). Returns PARE_OK, or PARE_EFAIL when a row of ff is malformed.
 */
int post_search(const struct post_file *p, const struct feat_file *ff, const struct embedder *e,
                const struct hquery *q, int64_t k, struct post_scratch *s, int64_t *rows,
                double *scores, int64_t *n, struct sbuf *err);

/*
 * The same result by scoring every row of ff with hash_bm25_doc (no postings): the exhaustive
 * search post_search must equal, for tests and for checking an index (retrieve --rerank with
 * at least the index's rows). Thread-safe. Returns PARE_OK, or PARE_EFAIL on a malformed row.
 */
int post_search_exhaustive(const struct feat_file *ff, const struct embedder *e,
                           const struct hquery *q, int64_t k, int64_t *rows, double *scores,
                           int64_t *n, struct sbuf *err);

#endif
