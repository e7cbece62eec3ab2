/*
 * reward.h - the rewards of a policy's response (DESIGN.md, "Trajectories, rewards,
 * curriculum"): what a response is measured against (a question's ground truth), the
 * measuring, and the formula of every scheme. Pure functions, no store: `pare score`
 * (pipeline/trajectory.h) and the trainer-side library (pipeline/reward_api.h, built as
 * libpare_reward.so) both call this code, so a reward in training equals the reward pare stores.
 * Nothing here keeps global mutable state, so trainers may call it from several threads.
 *
 * Papers: Context-Picker (cp1, cp2, Eq. 8), LASER / LASER-D (length-based reward shaping), DECS
 * (necessary-reasoning-prefix rewards), Rubric Reward Model (rubric).
 */
#ifndef PARE_REWARD_H
#define PARE_REWARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* What a trajectory is, measured against its question. */
struct traj_facts {
    int valid;      /* an answer, and a stated selection of distinct candidates */
    int correct;    /* valid and EM = 1 against a gold answer or alias */
    double f1;      /* best SQuAD F1 over the aliases */
    int n_selected; /* |S|, as listed */
    int n_minimal;  /* |M|, 0 when the question has no minimal set */
    int n_overlap;  /* |S intersect M|, each member counted once */
    double length;  /* L: n_tokens, or whitespace tokens of the response */
    double prefix;  /* DECS necessary-reasoning-prefix fraction in [0, 1] */
};

/*
 * Context-Picker Eq. 8, as pare reads it: -1 for an invalid format; 0 when |S| > |M| + red;
 * otherwise Cov - gamma * max(0, |S| - |M|) / (|M| + red), with Cov = |S n M| / |M|. (The
 * printed formula's penalty can never fire; this reading makes it fire for redundant picks.)
 * cp1: red 3, gamma 0.3; cp2: red 1, gamma 0.6.
 */
double reward_cp(const struct traj_facts *f, int red, double gamma);

/* LASER: C + alpha [correct] [L <= L_T]; C = 1 correct, -0.5 wrong, -1 invalid. */
double reward_laser(const struct traj_facts *f, double target_len, double alpha);

/*
 * LASER-D's target length of a difficulty bucket: the smallest l on the ladder 64, 128, ...,
 * 2^20 such that at least 1/n_b of the bucket's n lengths are <= l (n_b = 5 easy, 2 medium,
 * 1 hard). bucket: 0 easy, 1 medium, 2 hard.
 */
double laser_d_target(const double *lengths, size_t n, int bucket);

/*
 * DECS: prefix tokens earn r+ = 1.1 when correct; the tokens after it earn
 * r0 - (r+ - r0) * L / L_max (r0 = 1.0). The value is the mean per-token reward. An incorrect
 * valid trajectory earns 0, an invalid one -1.
 */
double reward_decs(const struct traj_facts *f, double max_len);

/*
 * DECS's necessary reasoning prefix: the reasoning is split into chunks at the words "Wait",
 * "But", "Alternatively", "Hmm", "Let", "Therefore"; the prefix ends with the first chunk that
 * states the answer (normalised containment). Returns the prefix's share of the whitespace
 * tokens; 1.0 when the answer is never stated. norm_answer is SQuAD-normalised.
 */
double decs_prefix_fraction(const char *reasoning, const char *norm_answer);

/* The text inside the last <answer>...</answer>, trimmed, or NULL (caller frees). */
char *extract_answer(const char *response);

/*
 * The passage ids inside the last <evidence>...</evidence> of a response, as pare's export
 * instruction asks ("<evidence>id, id</evidence>"): decimal ids separated by commas and/or
 * white space, each possibly in square brackets ("[12]", as the prompt numbers them). Returns
 * 1 with the ids in *ids[0..*n) (caller frees *ids), 0 when the response has no closed tag, -1
 * when the tag holds anything else (a malformed selection). *ids is NULL unless 1 is returned.
 */
int reward_parse_evidence(const char *response, int64_t **ids, int *n);

/* Whitespace-separated tokens of s. */
int64_t whitespace_tokens(const char *s);

/* LASER-D difficulty bucket of a pass rate: 0 easy (>= 2/3), 1 medium ([1/3, 2/3)), 2 hard. */
int difficulty_bucket(double pass_rate);
/* The buckets' names as stored: "easy", "medium", "hard". */
extern const char *const bucket_names[3];
/* The bucket of a name, or -1. */
int difficulty_bucket_from_name(const char *name);

/* ---- schemes ---- */

enum reward_scheme {
    SCHEME_CP1,
    SCHEME_CP2,
    SCHEME_LASER,
    SCHEME_LASER_D,
    SCHEME_DECS,
    SCHEME_RUBRIC,
    N_SCHEMES
};

/* The schemes' names as stored in `rewards` ("cp1", "cp2", "laser", "laser-d", ...). */
extern const char *const reward_scheme_names[N_SCHEMES];
#define REWARD_SCHEME_LIST "cp1, cp2, laser, laser-d, decs, rubric"

/* Looks up a scheme by name. Returns 0, or -1 when unknown. */
int reward_scheme_from_name(const char *name, enum reward_scheme *out);

/* The schemes' parameters. */
struct reward_params {
    double red1, gamma1; /* cp1 */
    double red2, gamma2; /* cp2 */
    double target_len;   /* laser: L_T */
    double alpha;        /* laser, laser-d: length bonus */
    double max_len;      /* decs: L_max */
};

/* pare's defaults: cp1 red 3, gamma 0.3; cp2 red 1, gamma 0.6; L_T 1024; alpha 0.5; L_max 8192. */
extern const struct reward_params reward_defaults;

/* ---- ground truth and measuring ---- */

/* A rubric item as scoring reads it (rubric_items rows, or the exported ground truth). */
enum rubric_kind { RUBRIC_ANSWER, RUBRIC_EVIDENCE, RUBRIC_NO_EXTRA, RUBRIC_GROUNDED };
struct reward_rubric_item {
    enum rubric_kind kind;
    double points;
    int64_t pid;  /* evidence: the passage to use */
    int64_t *ids; /* no_extra: the allowed passages; grounded: the answer passages */
    size_t n_ids;
};

/* The kind of a rubric item's stored name ("answer", "evidence", "no_extra", "grounded"), or
 * -1 for another name. */
int reward_rubric_kind(const char *name);
/* The stored name of a kind. */
const char *reward_rubric_kind_name(enum rubric_kind kind);

/* What the rewards need of a question. Borrowed pointers; nothing here owns them. */
struct reward_truth {
    const int64_t *cand; /* the candidate passages the policy chose from */
    int nc;
    const int64_t *mem; /* the minimal sufficient set */
    int nm;
    const json_t *golds;   /* the answer and its aliases (array of strings), or NULL */
    const char *norm_gold; /* SQuAD-normalised first answer, for DECS */
    const struct reward_rubric_item *rubric;
    int n_rubric;
};

/* A response, its parts already resolved (the answer field or tag, the selection). */
struct reward_input {
    const char *response;
    const char *answer; /* the answer, or NULL when the response gives none */
    const int64_t *ids; /* the selection as listed */
    int n;
    int stated; /* 1 when a selection was given and well formed (selected, or <evidence>) */
    double length;
};

/* A response measured against its question: what every scheme needs. */
struct reward_item {
    struct traj_facts f;
    double em;
    double rubric; /* points out of 10 */
    int has_rubric;
};

/*
 * Measures a response: the format is valid when there is an answer and a stated selection of
 * distinct candidates; EM and F1 against the golds, coverage of the minimal set, the DECS prefix
 * fraction of the reasoning before the first <answer> tag, and the rubric points.
 */
void reward_measure(const struct reward_truth *t, const struct reward_input *in,
                    struct reward_item *out);

/* Rubric points out of 10 earned by the selection ids[0..n) with correctness em. */
double reward_rubric_points(const struct reward_truth *t, const int64_t *ids, int n, int em);

/*
 * The reward of `scheme` for a measured item; laser_d_target is L_T of the item's LASER-D
 * bucket. When params is not NULL the scheme's parameters are appended to it as JSON members
 * (",\"red\":3,\"gamma\":0.3"). Returns 0, or -1 when the scheme gives this item no reward
 * (rubric for a question without a rubric).
 */
int reward_value(enum reward_scheme scheme, const struct reward_item *it,
                 const struct reward_params *p, double laser_d_target, double *value,
                 struct sbuf *params);

/*
 * The components of an item as a JSON object text without its closing brace (valid, correct,
 * em, f1, selected, minimal, overlap, coverage, precision, length, prefix_fraction, redundancy,
 * then "bucket" when bucket >= 0, then rubric when it has one), so that a scheme's parameters
 * can follow. Numbers are written as jansson writes them. Appends to out.
 */
void reward_components(const struct reward_item *it, int bucket, struct sbuf *out);

#endif
