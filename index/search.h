/*
 * search.h - the candidates of a batch of questions from an index.
 *
 * Scope corpus searches the whole index with each question's query vector, then, with the hash
 * embedder, re-scores the best `rerank` hits by exact BM25 (rerank.h). A postings index
 * (postings.h) gives the exact BM25 top k directly, with no vectors; with `rerank` at least its
 * number of passages it scores every passage instead (the exhaustive search, for checking). Scope
 * context ranks each question's own passages (its question_passages, a repeated passage once).
 *
 * Query vectors come from the index's embedder: the hash embedder computes them, the openai
 * embedder asks the embeddings server, and for the file embedder they are given with the
 * questions' ids (--query-vectors, searcher_query_vectors).
 */
#ifndef PARE_SEARCH_H
#define PARE_SEARCH_H

#include <stdint.h>

#include "index/catalog.h"
#include "index/embed.h"
#include "index/rerank.h"
#include "stores/store.h"

struct searcher {
    /* set by the caller */
    struct store *st;
    struct pare_index *ix;
    int64_t k;            /* candidates per question in corpus scope */
    int64_t rerank;       /* hash embedder: FAISS hits re-scored by BM25 (0: none) */
    struct openai_cfg oc; /* openai embedder: the server */
    /* private */
    struct blob_codec *codec;
    struct hfeats *scratch; /* two per thread */
    int n_scratch;
    struct post_scratch **post; /* postings index: one per thread, made when first used */
    struct hquery *hq;          /* postings index: one per thread */
    float *qvec;                /* file embedder: query vectors ... */
    int64_t *qvec_qid;          /* ... of these question ids, ascending, */
    int64_t *qvec_row;          /* ... at these rows */
    int64_t n_qvec;
};

/* Prepares s for searching s->ix (after the caller set st, ix, k, rerank and oc). */
void searcher_init(struct searcher *s);
void searcher_free(struct searcher *s);

/*
 * Loads the query vectors of a file-embedder index: `vectors` (.npy or .fvecs) with one
 * question id per line in `ids`, pare's question ids or the dataset's (ext_id) when `by_ext`.
 * Returns PARE_OK, or PARE_EINPUT with "file:line: what is wrong".
 */
int searcher_query_vectors(struct searcher *s, const char *vectors, const char *ids, int by_ext,
                           struct sbuf *err);

/* Fills the candidates of qs[0..nq) from the whole index, best first. Returns PARE_OK,
 * PARE_EINPUT (a question without a query vector) or PARE_EFAIL. */
int search_corpus(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err);

/* Fills the candidates of qs[0..nq) (ascending question ids, as candidates_next gives them)
 * with each question's own passages, ranked. Returns PARE_OK, PARE_EINPUT (a question without a
 * query vector) or PARE_EFAIL. */
int search_context(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err);

/* What search_context_load read for a batch, for search_context_rank. Zero-initialise. */
struct context_load {
    struct corpus_batch texts; /* hash embedder: the candidates the features file lacks */
    float *qv;                 /* other embedders: the query vectors, nq x dim */
};

/*
 * search_context in two steps, so that a caller can store one batch while it ranks the next:
 * search_context_load does what needs the store or the network (each question's own passages,
 * the texts of candidates the index's features file lacks, query vectors from an embeddings
 * server) into l; search_context_rank ranks from l and the index alone, so it may run on one
 * thread while another uses the store (its OpenMP loops then run in a team of their own), and
 * releases l. Both return as search_context does.
 */
int search_context_load(struct searcher *s, struct ranked *qs, int nq, struct context_load *l,
                        struct sbuf *err);
int search_context_rank(struct searcher *s, struct ranked *qs, int nq, struct context_load *l,
                        struct sbuf *err);

/* Releases what search_context_load read into l when it is not ranked (after a failed load, or
 * a batch left unranked), and zeroes l. */
void search_context_release(struct context_load *l);

#endif
