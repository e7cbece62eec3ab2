/*
 * corpus.h - passages' titles and texts read from the store in batches: in id order to build an
 * index (memory is one batch, whatever the corpus size), or by id to re-rank candidates.
 */
#ifndef PARE_CORPUS_H
#define PARE_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "stores/store.h"

/* A batch of passages, ascending by id. Zero-initialise; reuse across calls; corpus_free. */
struct corpus_batch {
    int64_t *ids;
    char **titles;
    struct sbuf *texts;
    size_t n, cap;
    /* corpus_next's: compressed bodies, and a codec per thread to decompress them with */
    struct sbuf *raw;
    size_t cap_raw;
    struct blob_codec **codecs;
    int n_codecs;
    uint32_t *warm; /* dictionaries every codec has loaded */
    size_t n_warm;
    int64_t bad;         /* corpus_decode's first row (lowest) that failed, or -1 */
    struct sbuf bad_err; /* and why */
};

void corpus_free(struct corpus_batch *b);

/* The number of passages in the store, or -1 on a database error. */
int64_t corpus_count(struct store *st);
/* The largest passage id (0 when there is none), or -1 on a database error. With the count it
 * tells one set of passages from another: passages are only ever added, with new ids. */
int64_t corpus_max_id(struct store *st);

/*
 * Reads up to `limit` passages with id > after, in id order, into b (replacing what it held),
 * bodies decompressed on every core (with codecs of the store's dictionaries; `codec` loads
 * them). Returns how many (0 past the last passage), or -1 with err set (database error, corrupt
 * body).
 */
int64_t corpus_next(struct store *st, struct blob_codec *codec, int64_t after, size_t limit,
                    struct corpus_batch *b, struct sbuf *err);

/*
 * corpus_next without the decompression: reads the ids, titles and compressed bodies, and
 * loads the dictionaries their frames need into every thread's codec. The caller then
 * decompresses each body with corpus_decode inside its own parallel loop over the batch, so
 * that decompressing overlaps whatever else runs (a batch read while another is tokenised
 * left the reading thread the whole decompression, serial: the text pass's slower half).
 * Returns how many passages (0 past the last), or -1 with err set.
 */
int64_t corpus_read(struct store *st, int64_t after, size_t limit, struct corpus_batch *b,
                    struct sbuf *err);

/*
 * Decompresses body i of a batch from corpus_read into b->texts[i], with the codec of thread
 * `thread` (omp_get_thread_num() of a team no larger than omp_get_max_threads() when the batch
 * was read). Bodies of different rows may be decompressed at once on different threads.
 * Returns PARE_OK, or PARE_EFAIL (a corrupt body): the lowest such row of the batch is kept in
 * b->bad, with the message naming its passage in b->bad_err.
 */
int corpus_decode(struct corpus_batch *b, size_t i, int thread);

/*
 * Reads the passages whose ids are ids[0..n) (any order, repeats allowed) into b. Sorts and
 * deduplicates ids in place. Returns PARE_OK, or PARE_EFAIL with err set (no such passage,
 * database error, corrupt body).
 */
int corpus_load(struct store *st, struct blob_codec *codec, int64_t *ids, size_t n,
                struct corpus_batch *b, struct sbuf *err);

/* The position of passage `id` in b, or -1 when b does not hold it. */
int64_t corpus_find(const struct corpus_batch *b, int64_t id);

#endif
