/*
 * reward.h - reward components and schemes for policy trajectories (DESIGN.md, "Trajectories,
 * rewards, curriculum"). Pure functions: the score job gathers the inputs.
 *
 * Papers: Context-Picker (cp1, cp2, Eq. 8), LASER / LASER-D (length-based reward shaping), DECS
 * (necessary-reasoning-prefix rewards), Rubric Reward Model (rubric).
 */
#ifndef PARE_REWARD_H
#define PARE_REWARD_H

#include <stddef.h>
#include <stdint.h>

/* What a trajectory is, measured against its question. */
struct traj_facts {
    int valid;      /* an answer, and distinct selected ids that are all candidates */
    int correct;    /* valid and EM = 1 against a gold answer or alias */
    double f1;      /* best SQuAD F1 over the aliases */
    int n_selected; /* |S| */
    int n_minimal;  /* |M|, 0 when the question has no minimal set */
    int n_overlap;  /* |S intersect M| */
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

/* The text inside the last <answer>...</answer>, or NULL (caller frees). */
char *extract_answer(const char *response);

/* Whitespace-separated tokens of s. */
int64_t whitespace_tokens(const char *s);

/* LASER-D difficulty bucket of a pass rate: 0 easy (>= 2/3), 1 medium ([1/3, 2/3)), 2 hard. */
int difficulty_bucket(double pass_rate);
/* The buckets' names as stored: "easy", "medium", "hard". */
extern const char *const bucket_names[3];

#endif
