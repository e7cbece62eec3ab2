/*
 * embed.h - turning passages and questions into vectors.
 *
 *   hash    (built in, the default) feature hashing of normalised unigrams and bigrams into D
 *           dimensions with signed hashing; weights are sublinear TF times IDF from the corpus
 *           (kept in the database, so queries use the passages' statistics); L2-normalised.
 *           The same features also give an exact BM25 score (no hashing into D dimensions),
 *           which retrieval uses to re-rank FAISS's best hits and so removes the collision
 *           noise of hashing.
 *
 *           Version 2 (new indexes) names each feature by a 32-bit key (31 bits of its hash and
 *           the bigram flag) from which the IDF bucket, dense dimension and sign all follow, so
 *           that an index can keep every passage's features compactly (features.h) and rebuild
 *           its vectors or score BM25 without the text; term frequencies are capped at 255.
 *           Version 1 (indexes built before) used the 64-bit hash; both stay readable.
 *   openai  POST {OPENAI_BASE_URL}/embeddings, batches of texts, several requests in flight.
 *   file    precomputed float32 vectors (.npy or .fvecs) with a matching id list.
 *
 * Vectors are L2-normalised so that FAISS's inner product is the cosine.
 */
#ifndef PARE_EMBED_H
#define PARE_EMBED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/text.h"
#include "common/util.h"

enum embed_kind { EMBED_HASH, EMBED_OPENAI, EMBED_FILE };

/* The name of an embedder kind ("hash", "openai", "file"). */
const char *embed_kind_name(enum embed_kind k);
/* The kind named `name`: 0 and *out, or -1 when no kind has that name. */
int embed_kind_parse(const char *name, enum embed_kind *out);

/* Parameters of the hash embedder. */
struct hash_params {
    int dim;              /* D, dimensions of the dense vector */
    double bigram_weight; /* weight of bigram features relative to unigrams */
    int title_repeat;     /* the title counts this many times (titles name entities) */
    double k1, b;         /* BM25 parameters of the exact score */
    int version;          /* HASH_VERSION for new indexes; 1 for those built before it */
};

#define HASH_VERSION 2

#define HASH_DEFAULT_DIM 2048
#define HASH_MAX_DIM 65536
#define HASH_DF_BUCKETS (1u << 20)

/* Distinct features of one text with their term frequencies, sorted by hash. */
struct hfeat {
    uint64_t h; /* feature: version 1 its hash, version 2 its key (< 2^32); bit 0: bigram */
    uint32_t tf;
};
struct hfeats {
    struct hfeat *f;
    size_t n, cap;
    uint32_t len;      /* features counted, with repeats (the document length) */
    struct tokens tok; /* scratch */
    uint64_t *all;     /* scratch */
    size_t cap_all;
    uint32_t *keys, *keys2; /* scratch of version 2 */
    size_t cap_keys;
    uint32_t *hist; /* scratch of version 2: counts of the keys' top bits */
    size_t cap_hist;
};
void hfeats_free(struct hfeats *f);

struct embedder;

/* A hash embedder with the given parameters, not yet fitted. */
struct embedder *embedder_hash_new(const struct hash_params *p);
/* Rebuilds an embedder from its description (embedder_describe) and, for hash, statistics. */
int embedder_from_json(json_t *desc, struct embedder **out, struct sbuf *err);

/* The embedder of a description pare made itself (desc, stolen; NULL when json_pack failed):
 * aborts if it is not valid, which is a bug, not bad input. */
struct embedder *embedder_from_own_json(json_t *desc);
json_t *embedder_describe(const struct embedder *e);
void embedder_free(struct embedder *e);
enum embed_kind embedder_kind(const struct embedder *e);
int embedder_dim(const struct embedder *e);

/* --- hash embedder --- */

/* The features of a passage (title, text) or of a query (title NULL). Thread-safe. */
void hash_features(const struct embedder *e, const char *title, const char *text, size_t n,
                   struct hfeats *out);
/* Fitting: counts the document frequencies of f's features. Thread-safe (atomic counts). */
void hash_fit_add(struct embedder *e, const struct hfeats *f);
/* Fitting on many threads without atomics: each thread counts into its own zeroed array of
 * HASH_DF_BUCKETS (hash_count), and hash_fit_merge adds such an array to e's counts. */
void hash_count(const struct embedder *e, uint32_t *df, const struct hfeats *f);
void hash_fit_merge(struct embedder *e, const uint32_t *df);
/* Ends fitting (document count and mean length) and tabulates the IDF of every bucket, which
 * makes hash_vector cheaper. */
void hash_fit_done(struct embedder *e, int64_t n_docs, double total_len);
/* Sets the document count and mean length alone, without the IDF table: for a fit whose df
 * comes later (post_build's), merged with hash_fit_merge before hash_fit_done. */
void hash_fit_len(struct embedder *e, int64_t n_docs, double total_len);
/* Statistics for storage: the df array is HASH_DF_BUCKETS uint32. */
const uint32_t *hash_df(const struct embedder *e, int64_t *n_docs, double *avg_len);
/* Sets stored statistics (no IDF table: queries weigh their few features directly). */
int hash_set_stats(struct embedder *e, const uint32_t *df, size_t n, int64_t n_docs, double avg_len,
                   struct sbuf *err);
/* The hash embedder's version (1 or 2) and parameters. */
const struct hash_params *hash_params_of(const struct embedder *e);
/* Dense L2-normalised vector of features f into out[dim]. Thread-safe. */
void hash_vector(const struct embedder *e, const struct hfeats *f, float *out);
/* Exact BM25 of document d for query q (q's term counts times d's saturated, IDF-weighted tf). */
double hash_bm25(const struct embedder *e, const struct hfeats *q, const struct hfeats *d);

/* A query prepared for scoring many documents: its features' keys and weights. */
struct hquery {
    uint64_t *key; /* ascending */
    double *w;     /* query tf x IDF x bigram weight x (k1 + 1) */
    size_t n, cap;
};
void hquery_free(struct hquery *q);
/* Prepares the features of a query. Thread-safe. */
void hash_query(const struct embedder *e, const struct hfeats *f, struct hquery *q);

/* A document's features as an index keeps them (features.h): version 2 keys in ascending
 * order, those of tf 1 and the others (with their tf) in two lists. */
struct hdoc {
    uint32_t len; /* features counted with repeats */
    uint32_t n_one, n_more;
    const uint32_t *one;  /* keys of tf 1 */
    const uint32_t *more; /* keys of tf > 1 */
    const uint8_t *tf;    /* tf of more[i] */
};
/* hash_bm25 of a kept document: equal, to the last bit, to hash_bm25 of its text's features. */
double hash_bm25_doc(const struct embedder *e, const struct hquery *q, const struct hdoc *d);

/* --- openai embedder --- */

#include "common/http.h"

struct openai_cfg {
    const char *model;
    int request_size; /* texts per request */
    struct http_opts http;
};

/* Retries of a failed request wait 0.5 s, doubling (jittered) up to 30 s; retry-after wins. */
#define OPENAI_BACKOFF_BASE_S 0.5
#define OPENAI_BACKOFF_MAX_S 30.0

/* The openai embedder's options as the commands take them (--model, --request-size ...). */
struct openai_opts {
    const char *model;
    int64_t request_size;    /* texts per request */
    int64_t max_concurrency; /* requests in flight per endpoint */
    int64_t max_retries;     /* retries of a failed request */
    double timeout_s;        /* seconds per request */
    double rpm, tpm;         /* requests and tokens per minute (0: no limit) */
};

/*
 * Fills c from the options o and the endpoint pool with its key (common/endpoint.h: --endpoint,
 * else OPENAI_BASE_URL, else the default), with the backoff above: the one place commands
 * configure the embedder. c keeps pointers into o, argv and the environment. Returns PARE_OK, or
 * PARE_EUSAGE with a message in err when the pool does not resolve or lacks a key it needs.
 */
int openai_cfg_init(struct openai_cfg *c, const struct openai_opts *o, struct sbuf *err);

/*
 * Embeds n texts through POST {endpoint}/embeddings, spread over the pool. *dim is the expected
 * dimension, or 0 to take the server's (then set). On success *out holds n x dim normalised floats
 * (caller frees). A server that keeps failing or answers with anything but n finite vectors of one
 * dimension is an error (PARE_EFAIL) naming what was wrong.
 */
int openai_embed(const struct openai_cfg *c, size_t n, const char *const *texts, float **out,
                 int *dim, struct sbuf *err);

/* An embedder description for an index built through openai_embed. */
struct embedder *embedder_openai_new(const char *model, int dim);

/* Scales v[0..dim) to unit length (a zero vector stays zero). */
void l2_normalize(float *v, int dim);

#endif
