/*
 * reward_api.h - the C API of libpare_reward.so, the reward library trainers load
 * (integrations/pare_reward.py calls it through ctypes). It scores one response against the
 * ground truth pare exports with each verl / OpenRLHF row, with the same code `pare score` runs
 * (pipeline/reward.h), so the reward in training equals the reward pare stores.
 *
 * Plain C types only, so any language with a C FFI can call it; every string is UTF-8 and
 * NUL-terminated. The functions keep no state between calls and may be called from several
 * threads at once. They return enum pare_rc values: 0 ok, 1 no reward (the scheme does not apply
 * to this question), 2 a wrong argument (unknown scheme or option), 3 a ground truth that cannot
 * be read. Out of memory aborts, as everywhere in pare.
 *
 * The ground truth (reward_model.ground_truth of a verl row; the label of an OpenRLHF row, as
 * JSON text):
 *   {"question_id", "dataset",            the question, for `pare score` (ignored here)
 *    "answers": [str],                    gold answer and aliases
 *    "evidence_ids": [int],               the minimal sufficient set
 *    "candidate_ids": [int],              the passages the prompt offered
 *    "rubric"?: [{"kind", "points", "passage_id", "ids"}]}   when pare augment ran before export
 * Options (a JSON object, or NULL for pare's defaults):
 *   "red", "gamma"   cp1 / cp2 (defaults 3, 0.3 for cp1; 1, 0.6 for cp2)
 *   "target_len"     laser: L_T (default 1024); laser-d: the target of the question's bucket
 *                    (required: LASER-D's targets come from a run's rollouts, not one response)
 *   "alpha"          laser, laser-d length bonus (0.5);  "max_len"  decs L_max (8192)
 *   "n_tokens"       the response's length (default: its whitespace tokens)
 *   "selected"       the selected ids (default: the <evidence> tag of the response)
 *   "answer"         the answer (default: the last <answer> tag of the response)
 */
#ifndef PARE_REWARD_API_H
#define PARE_REWARD_API_H

#include <stddef.h>

#if defined(__GNUC__)
#define PARE_REWARD_EXPORT __attribute__((visibility("default")))
#else
#define PARE_REWARD_EXPORT
#endif

/* The version of this API; it changes when a function or the ground truth changes. */
#define PARE_REWARD_API_VERSION 1

/* PARE_REWARD_API_VERSION of the library, to check that a caller and the library agree. */
PARE_REWARD_EXPORT int pare_reward_api_version(void);

/*
 * The reward of `scheme` ("cp1", "cp2", "laser", "laser-d", "decs", "rubric") for `response`
 * against `truth_json` with `options_json` (may be NULL). On 0, *value holds the reward and
 * info[0..info_cap) the components as a JSON object; otherwise info holds what is wrong. info is
 * always NUL-terminated when info_cap > 0 (truncated to fit). Returns 0, 1 (rubric for a
 * question without a rubric), 2 (unknown scheme, unknown or wrongly typed option) or 3 (the
 * ground truth is not valid JSON or lacks a field).
 */
PARE_REWARD_EXPORT int pare_reward_score(const char *scheme, const char *response,
                                         const char *truth_json, const char *options_json,
                                         double *value, char *info, size_t info_cap);

#endif
