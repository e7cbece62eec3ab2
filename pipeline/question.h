/*
 * question.h - a question and its ranked candidates, loaded from the store as judges see them
 * (struct jquestion): the question text, its gold answers, and the title and decompressed text
 * of each candidate of one retrieval, best-ranked first, at most JUDGE_MAX_CANDIDATES of them.
 *
 * mine and augment load questions this way; a loaded question is reused for the next one
 * (question_clear keeps the text buffers' memory).
 */
#ifndef PARE_QUESTION_H
#define PARE_QUESTION_H

#include <stdint.h>

#include "pipeline/judge.h"
#include "stores/store.h"

struct question {
    struct jquestion q; /* q.p points at p below; q.answers is owned */
    char *text;         /* the question (q.question points here) */
    struct jpassage p[JUDGE_MAX_CANDIDATES];
    char *title[JUDGE_MAX_CANDIDATES];
    struct sbuf body[JUDGE_MAX_CANDIDATES];
    int more; /* candidates beyond JUDGE_MAX_CANDIDATES, left out */
    /*
     * Members of evidence set `set_id` among the candidates (bit i: candidate ranked i+1),
     * when question_load was given a set.
     */
    uint64_t members;
};

/*
 * Loads question qid with the candidates of retrieval rid into qs (cleared first), bodies
 * decompressed with codec; with set_id > 0 also marks that evidence set's members. Returns
 * PARE_OK, or PARE_EFAIL with err set (database error, corrupt body, answers that are not a
 * JSON array).
 */
int question_load(struct store *st, struct blob_codec *codec, int64_t qid, int64_t rid,
                  int64_t set_id, struct question *qs, struct sbuf *err);

/* Empties qs for the next question (keeps buffer memory). q.prep must be released first. */
void question_clear(struct question *qs);

/* Frees everything qs holds. */
void question_free(struct question *qs);

/* The passage ids of subset `mask` of qs's candidates, in rank order, into ids; returns how many.
 */
int question_ids(const struct question *qs, uint64_t mask, int64_t *ids);

#endif
