/*
 * negatives.h - rubrics and negatives built from a question's minimal evidence set
 * (DESIGN.md, "Rubrics and negatives"), for `pare augment`.
 *
 * For a question with minimal set M (ranked candidates C, gold answers A):
 *   rubric, 10 points in the style of the Rubric Reward Model, as criteria text and as
 *   machine-checkable items: the final answer matches A (4); each passage of M is used (4,
 *   shared); no passage beyond M is cited (1); the answer is stated in a cited passage rather
 *   than reached by a miracle step (1).
 *   negatives, each with a label and whether a judge verified it:
 *     drop_one          M minus one member: insufficient, verified by the mining verdicts
 *                       already cached (no judge call is made);
 *     add_distractor    M plus the best-ranked non-member: sufficient but redundant (judged);
 *     distractors_only  the |M| best-ranked non-members (judged);
 *     wrong_answer      M with an answer of the same kind (yes/no, number, date, entity) taken
 *                       from another question of the dataset, never a gold answer or alias;
 *     ungrounded        the right answer with no cited evidence: a miracle step.
 *
 * Building is pure (verdicts come from a function the caller gives); storing replaces what an
 * earlier run stored for the question, keeping the ids of negatives that did not change.
 */
#ifndef PARE_NEGATIVES_H
#define PARE_NEGATIVES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/judge.h"
#include "stores/store.h"

/* ---- answers of the same kind ---- */

enum answer_kind { AK_YESNO, AK_NUMBER, AK_DATE, AK_ENTITY };

/*
 * The kind of an answer after SQuAD normalisation: yes/no; a date (a month name, or a 4-digit
 * year with words); a number (digits with at most 8 letters: "10.5 million", "1,430", "12th");
 * else an entity.
 */
enum answer_kind answer_kind(const char *answer);

/* Answers of many questions, to draw wrong answers from. Zero-initialised is empty. */
struct pooled_answer {
    char *text;
    enum answer_kind kind;
    int64_t dataset, qid;
};

struct answer_pool {
    struct pooled_answer *a;
    size_t n, cap;
};

/* Adds question qid's (of dataset `dataset`) first answer. */
void answer_pool_add(struct answer_pool *p, int64_t qid, int64_t dataset, const char *answer);
void answer_pool_free(struct answer_pool *p);

/*
 * An answer from another question of the same dataset, of the same kind as golds[0], that
 * matches none of `golds` after normalisation; chosen from a start given by a hash of qid, so
 * the same pool gives the same answer. NULL when there is none. Points into the pool.
 */
const char *answer_pool_wrong(const struct answer_pool *p, int64_t qid, int64_t dataset,
                              json_t *golds);

/* ---- rubrics ---- */

/* At most this many items: answer, one per member, no_extra, grounded. */
#define RUBRIC_MAX_ITEMS (JUDGE_MAX_CANDIDATES + 3)

struct rubric_item {
    int item_no;      /* 1, 2, ... */
    const char *kind; /* "answer", "evidence", "no_extra", "grounded" (static) */
    char *criterion;  /* owned */
    double points;
    int64_t passage_id; /* the member an evidence item is about (0: none) */
    json_t *expected;   /* what a checker compares with (owned) */
};

/*
 * The rubric of question q (candidates q->p, gold answers q->answers) with minimal set m (bit i:
 * candidate ranked i+1; at least one member) into items. Returns the number of items. Points
 * sum to 10.
 */
int rubric_build(const struct jquestion *q, uint64_t m, struct rubric_item *items);
void rubric_free(struct rubric_item *items, int n);

/* ---- negatives ---- */

enum negative_kind {
    NEG_DROP_ONE,
    NEG_ADD_DISTRACTOR,
    NEG_DISTRACTORS_ONLY,
    NEG_WRONG_ANSWER,
    NEG_UNGROUNDED,
};
#define NEG_KINDS 5

/* "drop_one", "add_distractor", ... (the names the database stores). */
const char *negative_kind_name(enum negative_kind k);

/* At most this many negatives per question: drop_one per member, then one of each other kind. */
#define NEGATIVES_MAX (JUDGE_MAX_CANDIDATES + 4)

struct negative {
    enum negative_kind kind;
    uint64_t mask;      /* the passages it cites (bit i: candidate ranked i+1) */
    const char *answer; /* NULL: none (points into the question or the pool) */
    const char *label;  /* static */
    int verified;       /* a judge verdict backs the label */
};

/*
 * A verdict on subset `mask` of the question being built: *verdict JUDGE_SUFFICIENT,
 * JUDGE_INSUFFICIENT or JUDGE_ERROR (a failed call, or none cached when ask is 0). With ask 0
 * only cached verdicts may be used; with ask 1 the judge may be called. Returns PARE_OK or
 * PARE_EFAIL (a database error: building stops).
 */
typedef int (*negative_verdict_fn)(void *ctx, uint64_t mask, int ask, int *verdict);

/*
 * The negatives of question q with minimal set m (at least one member), in this order: drop_one
 * for each member in rank order (when |m| > 1), add_distractor, distractors_only (when q has
 * non-members; left out when the judge call fails), wrong_answer (when `wrong` is not NULL),
 * ungrounded. Fills out (room for NEGATIVES_MAX) and *n. Returns PARE_OK or the verdict
 * function's error.
 */
int negatives_build(const struct jquestion *q, uint64_t m, const char *wrong,
                    negative_verdict_fn verdict, void *ctx, struct negative *out, int *n);

/* ---- storing ---- */

/*
 * Replaces question qid's rubric_items with items (none: the question has no rubric). Returns
 * PARE_OK, or PARE_EFAIL with err set.
 */
int rubric_store(struct store *st, int64_t qid, const struct rubric_item *items, int n,
                 struct sbuf *err);

/*
 * Makes negs question qid's negatives (from evidence set set_id; passage ids from q). A negative
 * an earlier run stored too (same kind, passages and answer) keeps its row and id, its label
 * and verification updated; new ones are added; stored ones not in negs are deleted. Returns
 * PARE_OK, or PARE_EFAIL with err set.
 */
int negatives_store(struct store *st, int64_t qid, int64_t set_id, const struct jquestion *q,
                    const struct negative *negs, int n, struct sbuf *err);

#endif
