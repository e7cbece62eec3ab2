/*
 * candidates.h - the retrievals and candidates tables: one row per retrieval configuration
 * (index, scope, k, query with answer, re-rank depth), and the ranked candidates of each
 * question under it, stored one transaction per batch. Questions that already have candidates
 * in a retrieval are skipped, so an interrupted `pare retrieve` resumes where it stopped.
 */
#ifndef PARE_CANDIDATES_H
#define PARE_CANDIDATES_H

#include <stdint.h>

#include "index/rerank.h"
#include "stores/store.h"

/* A retrieval configuration. */
struct retrieval_cfg {
    int64_t index_id;
    int corpus;      /* scope corpus (1) or context (0) */
    int64_t k;       /* candidates kept per question (0: all) */
    int with_answer; /* query = question and its first gold answer */
    int64_t rerank;  /* re-rank depth (0: none) */
};

/* The id of configuration c's retrieval, recorded now unless it exists. Returns PARE_OK or
 * PARE_EFAIL. */
int candidates_retrieval(struct store *st, const struct retrieval_cfg *c, int64_t *id,
                         struct sbuf *err);

/*
 * The next (up to) n questions after question id `after`, in id order, that have no candidates
 * in retrieval `id`: only those of dataset `dataset` unless it is NULL. Each gets its qid and
 * query text (the question, plus its first answer when `with_answer`) in qs[0..*nq). Returns
 * PARE_OK or PARE_EFAIL.
 */
int candidates_next(struct store *st, int64_t id, int with_answer, const char *dataset,
                    int64_t after, int64_t n, struct ranked *qs, int *nq, struct sbuf *err);

/* Stores the best k (0: all) candidates of qs[0..nq) under retrieval `id` in one transaction.
 * Returns PARE_OK, or PARE_EFAIL with nothing stored. */
int candidates_store(struct store *st, int64_t id, int64_t k, const struct ranked *qs, int nq,
                     struct sbuf *err);

#endif
