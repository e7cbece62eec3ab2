/*
 * rows.h - the rows `pare export` writes, one JSON object per row:
 *
 *   sets       one row per evidence set: question, answers, status, evidence passages
 *   rubrics    one row per question: its rubric items (10 points)
 *   negatives  one row per negative: kind, label, verified, passages, answer
 *   verl       verl RL rows: data_source, prompt (chat messages with the numbered candidate
 *              passages), ability, reward_model{style: rule, ground_truth{answers,
 *              evidence_ids}}, extra_info{split, index, question_id, evidence_ids, difficulty}
 *   openrlhf   the same prompt with OpenRLHF's `datasource` key and the ground truth as label
 *   rrm        Rubric Reward Model rows: problem, answer, criteria
 *   schedule   a curriculum plan in batch order, each prompt as a verl row of its minimal set
 *              with extra_info{plan, batch, position}
 *
 * Rows come in question-id order (schedule: plan order) and carry no timestamps, so the same
 * database gives the same rows. Every format has a JSON Schema in schemas/export_*.schema.json.
 */
#ifndef PARE_ROWS_H
#define PARE_ROWS_H

#include <jansson.h>
#include <stdint.h>

#include "stores/store.h"

enum rows_format {
    ROWS_SETS,
    ROWS_RUBRICS,
    ROWS_NEGATIVES,
    ROWS_VERL,
    ROWS_OPENRLHF,
    ROWS_RRM,
    ROWS_SCHEDULE,
};

/* The formats' names, comma-separated, for messages. */
#define ROWS_FORMAT_NAMES "sets, rubrics, negatives, verl, openrlhf, rrm, schedule"

/* Looks up a format by name. Returns 0, or -1 when unknown. */
int rows_format(const char *name, enum rows_format *out);

/* Where the rows come from. */
struct rows_src {
    struct store *st;
    struct blob_codec *codec; /* from store_codec(st) */
    int64_t retrieval;        /* candidates of this retrieval (0: none in the database) */
    const char *judge;        /* evidence sets of this judge fingerprint ... */
    const char *method;       /* ... and this minimiser */
    const char *plan;         /* schedule: the plan */
};

/*
 * Receives each row in order: the question it is about, the row (a reference the receiver
 * takes), and for verl and schedule rows its extra_info object (borrowed; the receiver may add
 * its split and index), else NULL. Returns PARE_OK, or PARE_EFAIL to stop.
 */
typedef int (*rows_emit_fn)(void *ctx, int64_t qid, json_t *row, json_t *extra);

/*
 * Builds every row of format f from src and hands it to emit. Returns PARE_OK; PARE_EFAIL with
 * err set on a database error, when emit fails (err as emit left it), or when there is nothing
 * to export ("run pare mine first", "run pare schedule first").
 */
int rows_export(const struct rows_src *src, enum rows_format f, rows_emit_fn emit, void *ctx,
                struct sbuf *err);

/*
 * The judge fingerprint of the most recent evidence sets of `method` (owned by the caller), or
 * NULL when there are none.
 */
char *rows_latest_judge(struct store *st, const char *method);

/*
 * What augment, export, score and schedule use by default: the method and judge of the most
 * recent evidence sets (created last) among those of `judge` and `method` (NULL: any). *method
 * and *judge receive copies (caller frees) of the given values, or of the newest set's when
 * NULL was given; they stay NULL when no set matches. Returns PARE_OK, or PARE_EFAIL with err
 * set on a database error.
 */
int rows_newest_sets(struct store *st, const char *judge, const char *method, char **method_out,
                     char **judge_out, struct sbuf *err);

/* 1 when question qid goes to the training part of a split: xxh64(qid, seed) / 2^64 < share. */
int rows_is_train(int64_t qid, int64_t seed, double share);

#endif
