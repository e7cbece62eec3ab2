/*
 * trajectory.h - policy trajectories: checking a trajectory line, measuring it against its
 * question, and the rewards of every scheme (DESIGN.md, "Trajectories, rewards, curriculum").
 *
 * A line: {"question_id" (the dataset's id), "trajectory_id"?, "policy"?, "step"?,
 * "selected": [passage ids], "response", "answer"?, "n_tokens"?}. The answer defaults to the
 * text inside the last <answer>...</answer>; the length L is n_tokens, else the whitespace
 * tokens of the response. A trajectory is valid when it has an answer and its selected ids are
 * distinct candidates of the question; correct when valid with EM 1 against a gold answer or
 * alias. A policy's malformed answer is an invalid format (reward -1), not bad input; bad input
 * is a line pare cannot read as a trajectory (a missing or wrongly typed field, an unknown
 * question or passage, a passage listed twice).
 *
 * A scorer (struct traj_scorer) does this for a run: it takes lines one by one, storing each
 * trajectory, and at the end computes every requested scheme's reward, since LASER-D's target
 * lengths depend on the difficulty of all the run's rollouts. It writes through the caller's
 * store, inside the caller's transaction.
 */
#ifndef PARE_TRAJECTORY_H
#define PARE_TRAJECTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "pipeline/reward.h"
#include "stores/store.h"

enum traj_scheme {
    SCHEME_CP1,
    SCHEME_CP2,
    SCHEME_LASER,
    SCHEME_LASER_D,
    SCHEME_DECS,
    SCHEME_RUBRIC,
    N_SCHEMES
};

/* The schemes' names as stored in `rewards` ("cp1", "cp2", "laser", "laser-d", ...). */
extern const char *const traj_scheme_names[N_SCHEMES];

/* Looks up a scheme by name. Returns 0, or -1 when unknown. */
int traj_scheme_from_name(const char *name, enum traj_scheme *out);

/* The schemes' parameters (defaults in `pare score --help`). */
struct traj_params {
    double red1, gamma1; /* cp1 */
    double red2, gamma2; /* cp2 */
    double target_len;   /* laser: L_T */
    double alpha;        /* laser, laser-d: length bonus */
    double max_len;      /* decs: L_max */
};

/* A rubric item as scoring reads it (rubric_items rows). */
enum rubric_kind { RUBRIC_ANSWER, RUBRIC_EVIDENCE, RUBRIC_NO_EXTRA, RUBRIC_GROUNDED };
struct traj_rubric_item {
    enum rubric_kind kind;
    double points;
    int64_t pid;  /* evidence: the passage to use */
    int64_t *ids; /* no_extra: the allowed passages; grounded: the answer passages */
    size_t n_ids;
};

/* What scoring needs of a question: looked up once per question and run. */
struct traj_question {
    char *ext; /* the dataset's id */
    int64_t qid;
    int64_t *cand, *mem; /* candidates; the members of its minimal set */
    int nc, nm;
    json_t *golds;   /* the answer and its aliases (array of strings), or NULL */
    char *norm_gold; /* SQuAD-normalised first answer, for DECS */
    struct traj_rubric_item *rubric;
    int n_rubric;
};

/*
 * A line's fields, checked for type; strings point into the JSON record. The selected ids are
 * checked later, against the question (traj_check_selected).
 */
struct traj_line {
    struct sbuf question; /* question_id as text */
    struct sbuf ext;      /* trajectory_id as text, else "h" + xxh64 of the raw line in hex */
    json_t *selected;     /* an array */
    const char *response;
    const char *answer; /* the "answer" field, or NULL when absent or null */
    const char *policy; /* or NULL */
    int has_step, has_n_tokens;
    int64_t step, n_tokens;
};

/*
 * Checks the fields of one line (raw: its bytes, for the default trajectory id) into *out.
 * Returns PARE_OK, or PARE_EINPUT with what is wrong in err. Free with traj_line_free.
 */
int traj_parse_line(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                    struct sbuf *err);
/* Frees what a traj_line owns (its id texts). */
void traj_line_free(struct traj_line *l);

/*
 * The selected ids of a line: integers, none twice, each a candidate of q or, failing that, an
 * existing passage (`exists` answers: 1 yes, 0 no, -1 error). Fills ids[0..n) (caller frees).
 * Returns PARE_OK, PARE_EINPUT (err says which entry) or PARE_EFAIL (exists failed).
 */
int traj_check_selected(json_t *selected, const struct traj_question *q,
                        int (*exists)(void *ud, int64_t id), void *ud, int64_t **ids, int *n,
                        struct sbuf *err);

/* A trajectory measured against its question: what every scheme needs. */
struct traj_item {
    int64_t traj_id, qid;
    struct traj_facts f;
    double em;
    double rubric; /* points out of 10 */
    int has_rubric;
};

/* The line's answer: its "answer" field, else the response's <answer> text, else NULL
 * (caller frees). */
char *traj_answer(const struct traj_line *l);

/*
 * Measures a trajectory with the given answer (traj_answer) and selection ids[0..n):
 * validity, EM and F1 against the golds, coverage of the minimal set, length, the DECS prefix
 * fraction of the reasoning before the first <answer> tag, and the rubric points.
 */
void traj_measure(const struct traj_question *q, const struct traj_line *l, const char *answer,
                  const int64_t *ids, int n, struct traj_item *out);

/* Rubric points out of 10 earned by the selection ids[0..n) with correctness em. */
double traj_rubric_points(const struct traj_question *q, const int64_t *ids, int n, int em);

/* LASER-D buckets of a run: for every item, the bucket of its question's pass rate over the
 * run's items (difficulty_bucket). Fills bucket[0..n). */
void traj_buckets(const struct traj_item *items, size_t n, int *bucket);

/* LASER-D target length per bucket over the run's items (laser_d_target). */
void traj_laser_d_targets(const struct traj_item *items, size_t n, const int *bucket,
                          double target[3]);

/*
 * The components of an item as a JSON object text without its closing brace, so that each
 * scheme can append its own parameters (traj_reward). Appends to out.
 */
void traj_components(const struct traj_item *it, int bucket, struct sbuf *out);

/*
 * The reward of `scheme` for an item, with its parameters appended to the components text in
 * out (closing the object). laser_d_target is the target of the item's bucket. Returns 0, or
 * -1 when the scheme gives this item no reward (rubric without a rubric).
 */
int traj_reward(enum traj_scheme scheme, const struct traj_item *it, const struct traj_params *p,
                double laser_d_target, double *value, struct sbuf *out);

/* ---- a scoring run over the store ---- */

struct traj_scorer;

/* What a scorer reads: minimal sets of `method`, candidates of `retrieval` (0: the questions'
 * own context), question ids within `dataset` (NULL: any). */
struct traj_scope {
    const char *method, *dataset;
    int64_t retrieval;
};

/* Creates a scorer writing through st. Strings in scope must outlive it. */
struct traj_scorer *traj_scorer_new(struct store *st, const struct traj_scope *scope,
                                    const struct traj_params *params, const int schemes[N_SCHEMES]);
void traj_scorer_free(struct traj_scorer *s);

/*
 * Takes one trajectory line: checks it, measures it and stores the trajectory (its response
 * compressed). A trajectory already stored by an earlier run is kept as it was and scored
 * again; the same trajectory twice in this run is bad input. Returns PARE_OK, PARE_EINPUT (err
 * says what is wrong with the line) or PARE_EFAIL.
 */
int traj_scorer_take(struct traj_scorer *s, json_t *rec, const char *raw, size_t raw_len,
                     struct sbuf *err);

/* Computes and stores (replaces) the rewards of every taken trajectory for every requested
 * scheme. Returns PARE_OK or PARE_EFAIL with err set. */
int traj_scorer_rewards(struct traj_scorer *s, struct sbuf *err);

/* Trajectories taken so far, and how many of them were new to the database. */
size_t traj_scorer_count(const struct traj_scorer *s);
int64_t traj_scorer_new_count(const struct traj_scorer *s);

#endif
