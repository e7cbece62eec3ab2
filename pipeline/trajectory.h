/*
 * trajectory.h - policy trajectories as `pare score` reads them: checking a line, finding its
 * question, measuring it (pipeline/reward.h) and storing it with the rewards of every scheme
 * (DESIGN.md, "Trajectories, rewards, curriculum").
 *
 * A line names its question in one of two ways:
 *   - pare's own: {"question_id" (the dataset's id), "trajectory_id"?, "policy"?, "step"?,
 *     "selected"?: [passage ids], "response", "answer"?, "n_tokens"?};
 *   - a trainer's: the ground truth of an exported row under "gts" (verl's rollout dumps,
 *     written by RayPPOTrainer._dump_generations as {input, output, gts, score, step}),
 *     "ground_truth" or "label" (an object, or the JSON text OpenRLHF's label is), whose
 *     "question_id" and "dataset" name the question; the response under "output" or "response";
 *     the other fields as in pare's lines.
 * The answer defaults to the text inside the last <answer>...</answer>; the selection, when the
 * line has no "selected", to the ids inside the last <evidence>...</evidence>; the length L is
 * n_tokens, else the whitespace tokens of the response. A policy's malformed response (no answer,
 * no or a malformed selection, a passage listed twice or not among the candidates) is an invalid
 * format (reward -1), not bad input; bad input is a line pare cannot read as a trajectory (not
 * JSON, a missing or wrongly typed field, an unknown question).
 *
 * A scorer (struct traj_scorer) does this for a run: it takes lines in batches (read and measured
 * on every thread, stored in file order by one), storing each trajectory, and at the end computes
 * every requested scheme's reward, since LASER-D's target lengths depend on the difficulty of all
 * the run's rollouts. It writes through the caller's store, inside the caller's transaction.
 */
#ifndef PARE_TRAJECTORY_H
#define PARE_TRAJECTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "pipeline/reward.h"
#include "stores/store.h"

/* What scoring needs of a question: looked up once per question and run. Owns its arrays. */
struct traj_question {
    char *key; /* the cache key: dataset (or "") and the dataset's id */
    int64_t qid;
    int64_t *cand, *mem; /* candidates; the members of its minimal set */
    int nc, nm;
    json_t *golds;   /* the answer and its aliases (array of strings), or NULL */
    char *norm_gold; /* SQuAD-normalised first answer, for DECS */
    struct reward_rubric_item *rubric;
    int n_rubric;
    int in_shard;      /* pare_in_shard(qid): 1 unless a shard's store leaves it to another shard */
    int stored_before; /* some trajectory of it was stored before the run (when it was loaded) */
};

/* The question's ground truth as the reward functions read it (borrowing q's arrays). */
struct reward_truth traj_truth(const struct traj_question *q);

/*
 * A line's fields, checked for type; strings point into the JSON record (or into `truth`).
 * The selection is read later (traj_selection).
 */
struct traj_line {
    struct sbuf question; /* question_id as text */
    const char *dataset;  /* the ground truth's "dataset", or NULL */
    struct sbuf ext;      /* trajectory_id as text, else "h" + xxh3 of the raw line in hex */
    int default_ext;      /* 1 when ext is the hash: a repeat of the line gets "-2", "-3" ... */
    json_t *truth;        /* the ground truth parsed from a JSON text (owned), or NULL */
    json_t *selected;     /* an array, or NULL when the line has none */
    const char *response;
    const char *answer; /* the "answer" field, or NULL when absent or null */
    const char *policy; /* or NULL */
    int has_step, has_n_tokens, has_score;
    int64_t step, n_tokens;
    double score; /* a trainer's own reward ("score"), kept in trajectories.meta */
};

/*
 * Checks the fields of one line (raw: its bytes, for the default trajectory id) into *out.
 * Returns PARE_OK, or PARE_EINPUT with what is wrong in err. Free with traj_line_free (also
 * after an error).
 */
int traj_parse_line(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                    struct sbuf *err);
/* Frees what a traj_line owns. */
void traj_line_free(struct traj_line *l);

/*
 * The selection of a line: its "selected" ids (each must be an integer: else PARE_EINPUT with
 * err saying which entry), else the ids of the response's <evidence> tag. *stated is 0 when the
 * line states no selection or a malformed one (an invalid format, not bad input). Fills
 * *ids[0..*n) (caller frees). Returns PARE_OK or PARE_EINPUT.
 */
int traj_selection(const struct traj_line *l, int64_t **ids, int *n, int *stated, struct sbuf *err);

/* The line's answer: its "answer" field, else the response's <answer> text, else NULL
 * (caller frees). */
char *traj_answer(const struct traj_line *l);

/* A trajectory measured against its question. */
struct traj_item {
    int64_t traj_id, qid;
    int fresh; /* stored by this run: its rewards cannot exist yet */
    struct reward_item m;
};

/*
 * Measures a line with the given answer (traj_answer) and selection ids[0..n) (stated as
 * traj_selection says) against q: reward_measure with L = n_tokens, else whitespace tokens.
 */
void traj_measure(const struct traj_question *q, const struct traj_line *l, const char *answer,
                  const int64_t *ids, int n, int stated, struct traj_item *out);

/* LASER-D buckets of a run: for every item, the bucket of its question's pass rate over the
 * run's items (difficulty_bucket). Fills bucket[0..n). */
void traj_buckets(const struct traj_item *items, size_t n, int *bucket);

/* LASER-D target length per bucket over the run's items (laser_d_target). */
void traj_laser_d_targets(const struct traj_item *items, size_t n, const int *bucket,
                          double target[3]);

/* ---- a scoring run over the store ---- */

struct traj_scorer;

/* What a scorer reads: minimal sets of `method` and `judge` (NULL: the newest set of the
 * method), candidates of `retrieval` (0: the questions' own context), question ids within
 * `dataset` (NULL: the line's ground truth's dataset, else any). */
struct traj_scope {
    const char *method, *dataset, *judge;
    int64_t retrieval;
};

/* Creates a scorer writing through st. Strings in scope must outlive it. */
struct traj_scorer *traj_scorer_new(struct store *st, const struct traj_scope *scope,
                                    const struct reward_params *params,
                                    const int schemes[N_SCHEMES]);
void traj_scorer_free(struct traj_scorer *s);

/*
 * Takes one trajectory line: checks it, measures it and stores the trajectory (its response
 * compressed); a line of another shard's question is checked, then left alone. A trajectory already
 * stored by an earlier run is kept as it was and scored again; the same trajectory id twice in this
 * run is bad input. Returns PARE_OK, PARE_EINPUT (err says what is wrong with the line) or
 * PARE_EFAIL. The same as traj_scorer_add, one line at a time on the calling thread (the
 * scorer must have nothing in flight: traj_scorer_drain first).
 */
int traj_scorer_take(struct traj_scorer *s, json_t *rec, const char *raw, size_t raw_len,
                     struct sbuf *err);

/*
 * What the caller does with a bad line: fn gets the line, "path:line: what is wrong" and the
 * line's text, and returns PARE_OK to go on without it (--skip-bad) or the code to stop with.
 */
struct traj_bad {
    int (*fn)(void *ud, long line, const char *msg, const char *raw, size_t raw_len);
    void *ud;
};

/*
 * Takes one line of file `path` as it was read (raw[0..raw_len), copied; line: where it starts),
 * as traj_scorer_take does, but in batches: lines are parsed, checked, compressed and measured on
 * every thread (OpenMP; OMP_NUM_THREADS=1: one), resolved and stored in file order on the
 * calling thread, so the rows are those of a serial run. Bad lines go to bad->fn in file order.
 * A line is stored some batches after it is added; traj_scorer_drain stores every line added,
 * and must be called at the end of every file (the batches hold lines of one path). Returns
 * PARE_OK, the code bad->fn stopped with, or PARE_EFAIL (err set).
 */
int traj_scorer_add(struct traj_scorer *s, const char *path, const char *raw, size_t raw_len,
                    long line, const struct traj_bad *bad, struct sbuf *err);
int traj_scorer_drain(struct traj_scorer *s, const struct traj_bad *bad, struct sbuf *err);

/* Computes and stores (replaces) the rewards of every taken trajectory for every requested
 * scheme (after traj_scorer_drain), formatting them on every thread and storing them in order.
 * Returns PARE_OK or PARE_EFAIL with err set. */
int traj_scorer_rewards(struct traj_scorer *s, struct sbuf *err);

/* Trajectories stored so far, and how many of them were new to the database. */
size_t traj_scorer_count(const struct traj_scorer *s);
int64_t traj_scorer_new_count(const struct traj_scorer *s);
/* Lines checked but left alone because their question is another shard's (pare_in_shard, see
 * stores/shard.h): every shard checks every line, so bad input stops every shard alike. */
int64_t traj_scorer_other_count(const struct traj_scorer *s);

#endif
