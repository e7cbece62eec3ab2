/*
 * judge.h - sufficiency judges: given a question, its gold answers and a subset of its
 * candidate passages, is the answer derivable from the subset?
 *
 *   lexical    (default) decides from the text alone (see judge_lexical.c for the criterion)
 *   openai     Context-Picker's generator-plus-check against an OpenAI-compatible server
 *   exec:CMD   a long-running child process speaking JSON Lines on stdin/stdout
 *
 * Every judge is driven the same way: submit(question, subset) and later poll() for verdicts,
 * so one driver serves a judge that answers at once (lexical, exec) and one with many requests
 * in flight (openai). A judge has a fingerprint (kind, model, prompt hash, parameters) that
 * goes into the cache key of judge_calls. A failed call is JUDGE_ERROR with a message: never a
 * verdict.
 */
#ifndef PARE_JUDGE_H
#define PARE_JUDGE_H

#include <jansson.h>
#include <stdint.h>

#include "common/util.h"

/* At most this many candidates per question: subsets are 64-bit masks over them. */
#define JUDGE_MAX_CANDIDATES 64

enum verdict { JUDGE_ERROR = -1, JUDGE_INSUFFICIENT = 0, JUDGE_SUFFICIENT = 1 };

struct jpassage {
    int64_t id;
    const char *title;
    const char *text;
    size_t len;
};

/* A question as judges see it; `prep` is the judge's own per-question state. */
struct jquestion {
    int64_t id;
    const char *question;
    json_t *answers;          /* array of strings */
    const struct jpassage *p; /* candidates, best-ranked first */
    int n;
    void *prep;
};

/* A finished call. */
struct jdone {
    void *tag;    /* what the caller passed to judge_submit */
    int verdict;  /* enum verdict */
    char *answer; /* the answer the judge produced, or NULL (owned) */
    char *error;  /* when verdict is JUDGE_ERROR (owned) */
    double latency_ms;
    /* tokens the server counted for the call (the verifier's call included): -1 for judges
     * that count none (lexical, exec) and when the server sent no usage */
    int64_t prompt_tokens, completion_tokens;
    struct jdone *next;
};

struct judge;

struct judge_opts {
    const char *spec; /* "lexical", "openai" or "exec:CMD" */
    /* openai */
    const char *model;
    const char *verify; /* "f1" (default) or "llm" */
    const char *verify_model;
    double f1_threshold; /* answer counts as right at or above this SQuAD F1 */
    int max_concurrency;
    double rpm, tpm, timeout_s;
    int max_retries;
    int max_tokens;
    /* lexical */
    double coverage; /* share of the full set's question coverage a subset must keep */
};

/* Creates a judge. Returns PARE_OK, PARE_EUSAGE (bad spec or settings) or PARE_EFAIL. */
int judge_new(const struct judge_opts *o, struct judge **out, struct sbuf *err);
void judge_free(struct judge *j);

/* "lexical:v2:cov=0.80", "openai:MODEL:prompt=HASH:verify=f1@0.80" ... */
const char *judge_fingerprint(const struct judge *j);
const char *judge_kind(const struct judge *j);

/* Prepares / releases a question's state (call once each, before and after its subsets). */
int judge_prepare(struct judge *j, struct jquestion *q, struct sbuf *err);
void judge_release(struct judge *j, struct jquestion *q);

/* Asks about subset `mask` of q's candidates; the answer comes back from judge_poll. */
void judge_submit(struct judge *j, struct jquestion *q, uint64_t mask, void *tag);

/* Finished calls (a list linked by next), waiting up to wait_s for at least one. */
struct jdone *judge_poll(struct judge *j, double wait_s);
int judge_pending(const struct judge *j);
void jdone_free(struct jdone *d);

/*
 * An estimate of the tokens (prompt and completion, the verifier's call included) a call on
 * subset `mask` of q would cost, meant not to fall short: for budgets (pare mine
 * --budget-tokens). 0 for judges that count no tokens.
 */
int64_t judge_estimate_tokens(struct judge *j, const struct jquestion *q, uint64_t mask);

/* 1 for judges whose calls cost nothing to repeat (lexical): the driver may batch commits, and
 * judge_decide answers at once. */
int judge_is_cheap(const struct judge *j);

/*
 * A cheap judge's verdict on subset `mask` of q (prepared for j) at once, into d (verdict,
 * answer, latency; tag and next untouched), without judge_submit's queue: several threads may
 * decide at the same time, each on questions of its own. Only for judge_is_cheap judges.
 */
void judge_decide(struct judge *j, struct jquestion *q, uint64_t mask, struct jdone *d);

/* The cache key of a call: xxh128(fingerprint, question id, sorted passage ids), 16 bytes. */
void judge_key(const char *fingerprint, int64_t question_id, const int64_t *ids, int n,
               unsigned char key[16]);

#endif
