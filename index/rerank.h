/*
 * rerank.h - ranking the candidate passages of questions.
 *
 * With the hash embedder a candidate's score is the exact BM25 of the embedder's features
 * (hash_bm25): it re-ranks FAISS's best hits in corpus scope, which removes the collision
 * noise of hashing, and ranks a question's own passages in context scope. With other embedders,
 * context scope ranks by the inner product of the query vector with each passage's stored
 * vector.
 */
#ifndef PARE_RERANK_H
#define PARE_RERANK_H

#include <stdint.h>

#include "index/catalog.h"
#include "index/corpus.h"
#include "index/embed.h"
#include "stores/store.h"

/* One question's query and candidates. */
struct ranked {
    int64_t qid;
    char *text;    /* the query */
    int64_t *cand; /* passage ids; best first once ranked */
    double *score;
    int n_cand;
};

/* Frees the query texts and candidates of qs[0..n) (not qs itself). */
void ranked_free(struct ranked *qs, int n);

/* Sorts a question's candidates by score, best first; ties by ascending passage id. */
void ranked_sort(struct ranked *q);

/*
 * Scores every candidate of qs[0..nq) by the exact BM25 of hash embedder e, then sorts each
 * question's candidates. A candidate's features come from the index's features file `ff` when
 * it has them (no text is read), else from its title and text in the store (read with codec):
 * both give the same score. scratch holds two hfeats per OpenMP thread. Returns PARE_OK, or
 * PARE_EFAIL with err set when a passage cannot be read.
 */
int rerank_bm25(struct store *st, struct blob_codec *codec, const struct embedder *e,
                const struct feat_file *ff, struct ranked *qs, int nq, struct hfeats *scratch,
                struct sbuf *err);

/*
 * rerank_bm25 in two steps, so that a caller can use the store for something else while the
 * scores are computed. rerank_bm25_load reads from the store the titles and texts of the
 * candidates `ff` lacks (all of them when ff is NULL) into t (zero-initialised; corpus_free it
 * after rerank_bm25_score). Returns PARE_OK, or PARE_EFAIL with err set.
 */
int rerank_bm25_load(struct store *st, struct blob_codec *codec, const struct feat_file *ff,
                     const struct ranked *qs, int nq, struct corpus_batch *t, struct sbuf *err);

/*
 * rerank_bm25's scoring and sort, from ff and the texts t that rerank_bm25_load read for the
 * same qs: reads neither the store nor the network, so it may run beside another thread that
 * uses the store. Returns PARE_OK, or PARE_EFAIL when a row of ff is malformed.
 */
int rerank_bm25_score(const struct embedder *e, const struct feat_file *ff,
                      const struct corpus_batch *t, struct ranked *qs, int nq,
                      struct hfeats *scratch, struct sbuf *err);

/*
 * Scores every candidate of qs[0..nq) by the inner product of the question's query vector
 * (row i of qv, ix's dimension) with the candidate's vector stored in ix, then sorts. ix must
 * have its passage map (catalog_map_passages). Returns PARE_OK, or PARE_EFAIL when a candidate
 * is not in the index or FAISS cannot reconstruct its vector.
 */
int rank_dense(const struct pare_index *ix, const float *qv, struct ranked *qs, int nq,
               struct sbuf *err);

#endif
