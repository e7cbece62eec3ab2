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
 * Reads the passages whose ids are ids[0..n) (any order, repeats allowed) into b. Sorts and
 * deduplicates ids in place. Returns PARE_OK, or PARE_EFAIL with err set (no such passage,
 * database error, corrupt body).
 */
int corpus_load(struct store *st, struct blob_codec *codec, int64_t *ids, size_t n,
                struct corpus_batch *b, struct sbuf *err);

/* The position of passage `id` in b, or -1 when b does not hold it. */
int64_t corpus_find(const struct corpus_batch *b, int64_t id);

#endif
