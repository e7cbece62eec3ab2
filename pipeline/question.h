/*
 * question.h - a question and its ranked candidates, loaded from the store as judges see them
 * (struct jquestion): the question text, its gold answers, and the title and decompressed text
 * of each candidate of one retrieval, best-ranked first, at most JUDGE_MAX_CANDIDATES of them.
 *
 * mine and augment load questions this way; a loaded question is reused for the next one
 * (question_clear keeps the text buffers' memory). Loading is two steps that question_load
 * runs one after the other: question_read takes the rows from the store, question_decode
 * parses the answers and decompresses the bodies without touching the store, so mine's
 * synchronous driver reads on one thread and decodes on the others.
 */
#ifndef PARE_QUESTION_H
#define PARE_QUESTION_H

#include <stdint.h>

#include "pipeline/judge.h"
#include "stores/store.h"

struct question {
    struct jquestion q; /* q.p points at p below; q.answers is owned */
    char *text;         /* the question (q.question points here) */
    char *answers;      /* the answers as stored (JSON), until question_decode parses them */
    struct jpassage p[JUDGE_MAX_CANDIDATES];
    struct sbuf title[JUDGE_MAX_CANDIDATES]; /* the titles (memory kept across questions) */
    struct sbuf zbody[JUDGE_MAX_CANDIDATES]; /* the stored (compressed) bodies */
    struct sbuf body[JUDGE_MAX_CANDIDATES];  /* the texts, once decoded */
    int more;                                /* candidates beyond JUDGE_MAX_CANDIDATES, left out */
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

/*
 * question_load's first step: the rows of question qid (text, answers, candidates of retrieval
 * rid with their compressed bodies, the members of set_id when > 0) copied into qs (cleared
 * first). Returns PARE_OK, or PARE_EFAIL with err set (database error).
 */
int question_read(struct store *st, int64_t qid, int64_t rid, int64_t set_id, struct question *qs,
                  struct sbuf *err);

/*
 * question_read for many questions at once: questions ids[0..n) (ascending, each stored, each
 * with candidates of retrieval rid or none) into qs[0..n), without members. Two statements for
 * all of them, each a scan of the id range (mine's store thread read a question in two
 * statements of its own, a tenth of its work). Returns PARE_OK, or PARE_EFAIL with err set.
 */
int question_read_many(struct store *st, int64_t rid, const int64_t *ids,
                       struct question *const *qs, int n, struct sbuf *err);

/*
 * question_load's second step, on what question_read copied: the answers parsed, the bodies
 * decompressed with codec. Reads nothing from the store (codec's dictionary loader aside), so
 * it may run on any thread with a codec of its own. Returns PARE_OK, or PARE_EFAIL with err set
 * (a corrupt body, naming its passage; answers that are not a JSON array).
 */
int question_decode(struct question *qs, struct blob_codec *codec, struct sbuf *err);

/* Empties qs for the next question (keeps buffer memory). q.prep must be released first. */
void question_clear(struct question *qs);

/* Frees everything qs holds. */
void question_free(struct question *qs);

/* The passage ids of subset `mask` of qs's candidates, in rank order, into ids; returns how many.
 */
int question_ids(const struct question *qs, uint64_t mask, int64_t *ids);

#endif
