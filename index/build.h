/*
 * build.h - building an index of the passages in batches: embed them, train the FAISS index on
 * an evenly spread sample when it learns from data (IVF, PQ), add every vector, and map each
 * FAISS row to its passage (index_rows, in the caller's transaction). Memory is the index plus
 * a batch or two of passages and vectors (the file embedder holds its input file's vectors).
 *
 * Four sources of vectors:
 *   build_hash    the hash embedder: one pass over the text tokenises every passage once
 *                 (reading the next batch and writing the last while a batch is tokenised),
 *                 counting document frequencies (the statistics stored with the index, so that
 *                 queries are weighted like the passages) and writing its features to the
 *                 index's features file (features.h); the vectors are then made from that file
 *                 (a sample to train on, then all of them); optionally they are kept (.npy).
 *                 With the postings factory (the default) no vectors are made: the postings
 *                 are built from the features file instead (postings.h), and the document
 *                 frequencies are their lists' lengths
 *   build_file    precomputed vectors with one passage id per row (--embedder file)
 *   build_openai  an embeddings server, batch by batch into a .npy file, then from that file
 *   build_from    the vectors another index kept, with a new factory (re-indexing)
 */
#ifndef PARE_BUILD_H
#define PARE_BUILD_H

#include <stdint.h>
#include <stdio.h>

#include "index/embed.h"
#include "index/features.h"
#include "index/postings.h"
#include "index/vindex.h"
#include "stores/store.h"

struct index_build {
    /* set by the caller */
    struct store *st;
    struct blob_codec *codec; /* store_codec(st) */
    int64_t index_id;         /* the indexes row (catalog_begin) the rows belong to */
    const char *factory;      /* FAISS index_factory string, or POSTINGS_FACTORY (hash) */
    const char *post_path;    /* POSTINGS_FACTORY: the postings file (written by post_build) */
    int64_t n_passages;       /* corpus_count(st) */
    int64_t batch;            /* passages embedded and added at a time */
    int64_t train_size;       /* vectors to train on, at most (0: build_train_size) */
    /* progress: `done` of `total` items named `unit`; a line for people. Both may be NULL. */
    void (*progress)(void *ud, const char *unit, int64_t done, int64_t total);
    void (*say)(void *ud, const char *line);
    void *ud;
    /* results: the filled index and its embedder (freed by index_build_free), or the error */
    struct vindex *vx;
    struct embedder *emb;
    struct feat_writer *feat; /* hash: the features file, to commit (feat_commit) with the index */
    char feat_sum[33];        /* its checksum */
    struct post_writer *post; /* POSTINGS_FACTORY: the postings file, to commit with the index */
    char post_sum[33];        /* its checksum */
    int64_t n_rows;           /* rows indexed (vectors, or the postings' passages) */
    struct sbuf err;
};

/*
 * How many vectors an index of `factory` trains on by default: 32 per inverted list of an IVF
 * index (FAISS asks for 39 to 256, but k-means at 2048 dimensions is dear), else 32768 (enough
 * for a scalar quantiser's ranges or a product quantiser's 256 centroids), never more than the
 * n vectors there are.
 */
int64_t build_train_size(const char *factory, int64_t n);

/*
 * The factory pare index chooses for n passages when it is given none (--factory auto), with
 * the search parameters that go with it (empty when none). With the hash embedder (`hash`
 * true), at every size: postings (postings.h), the exact BM25 top k from an inverted index of
 * the features, which needs no vectors at all (hash vectors are sparse: a question's rare keys
 * have short lists) and is what an SQ8 search re-ranked by the exact BM25 approximates (as
 * FlashRAG searches an inverted BM25 index for sparse retrieval and FAISS for dense). Otherwise
 * (dense vectors, or hash vectors asked for with --keep-vectors) an 8-bit scalar quantiser
 * (SQ8, 1 byte a dimension) searched exhaustively up to BUILD_AUTO_EXHAUSTIVE passages; above,
 * an inverted file of SQ8 codes (IVF{nlist},SQ8) that probes some of its lists, since an
 * exhaustive scan of a million codes takes seconds a query.
 */
#define BUILD_AUTO_EXHAUSTIVE 200000
void build_auto_factory(int64_t n, int hash, struct sbuf *factory, struct sbuf *params);

/* Frees the results of a build. */
void index_build_free(struct index_build *b);

/*
 * Builds with the hash embedder of parameters p (version HASH_VERSION), its features file at
 * `feat_path` (written under a temporary name; b->feat) and, for POSTINGS_FACTORY, its postings
 * at b->post_path (b->post; no FAISS index, b->vx stays NULL, and `keep` must be NULL). When `keep`
 * is not NULL, the vectors are also written to it as a .npy file (named keep_name in messages).
 * Returns PARE_OK, or PARE_EFAIL / PARE_EUSAGE (bad factory) with b->err set.
 */
int build_hash(struct index_build *b, const struct hash_params *p, const char *feat_path,
               FILE *keep, const char *keep_name);

/*
 * Builds from the vectors in `vectors` (.npy or .fvecs) whose rows belong to the passages named
 * in `ids`, one per line: pare's passage ids, or the source's (ext_id) when `by_ext`. Every
 * passage must have exactly one row. Returns PARE_OK, PARE_EINPUT ("file:line: what is
 * wrong"), PARE_EFAIL or PARE_EUSAGE.
 */
int build_file(struct index_build *b, const char *vectors, const char *ids, int by_ext);

/*
 * Builds with the embeddings server of oc, writing the vectors to the .npy file `npy` (which
 * the caller removes unless it keeps it). Returns PARE_OK or PARE_EFAIL / PARE_EUSAGE.
 */
int build_openai(struct index_build *b, const struct openai_cfg *oc, const char *npy);

/*
 * Builds from the vectors kept by index `from` (--keep-vectors), with its embedder and
 * statistics. Returns PARE_OK, PARE_EUSAGE (no such index, no kept vectors) or PARE_EFAIL.
 */
int build_from(struct index_build *b, int64_t from);

#endif
