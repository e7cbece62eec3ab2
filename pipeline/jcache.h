/*
 * jcache.h - the judge-call cache: every judge call pare makes is stored in judge_calls under
 * its key (judge_key: the judge's fingerprint, the question and the sorted passage ids), with
 * its verdict, or with verdict NULL and the error when the call failed. A failed call is never
 * a verdict: the lookups here see only stored verdicts, and a failed call is asked again.
 *
 * mine, augment and eval read and write the cache only through this module.
 */
#ifndef PARE_JCACHE_H
#define PARE_JCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/judge.h"
#include "stores/store.h"

/* A cached verdict of one judge on one subset of one question. */
struct jcache_entry {
    unsigned char key[16];
    int verdict;                              /* JUDGE_SUFFICIENT or JUDGE_INSUFFICIENT */
    int64_t prompt_tokens, completion_tokens; /* -1: not counted */
};

/*
 * The verdict stored under key into *verdict. Returns 1 when there is one, 0 when there is none
 * (no row, or only a failed call), -1 on a database error (see store_errmsg).
 */
int jcache_get(struct store *st, const unsigned char key[16], int *verdict);

/* jcache_get for judge fp's call on question qid's subset `ids` (n ids, any order). */
int jcache_lookup(struct store *st, const char *fp, int64_t qid, const int64_t *ids, int n,
                  int *verdict);

/*
 * Appends to *arr (n entries, capacity *cap) every verdict judge fp gave on question qid.
 * Returns PARE_OK, or PARE_EFAIL with err set.
 */
int jcache_load(struct store *st, const char *fp, int64_t qid, struct jcache_entry **arr, size_t *n,
                size_t *cap, struct sbuf *err);

/*
 * Stores finished call d of judge fp on question qid's subset `ids` (n ids in rank order) under
 * key, with its tokens (NULL when not counted), made at ts (now_iso8601's text; NULL: now),
 * replacing an earlier row of the same key (a failed call asked again). Returns PARE_OK, or
 * PARE_EFAIL with err set.
 */
int jcache_put(struct store *st, const unsigned char key[16], const char *fp, int64_t qid,
               const int64_t *ids, int n, const struct jdone *d, const char *ts, struct sbuf *err);

/* One row for jcache_put_many: call d on question qid's subset ids[0..n) (rank order), under key.
 */
struct jcache_row {
    unsigned char key[16];
    int64_t qid;
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n;
    const struct jdone *d;
};

/*
 * jcache_put for rows[0..n) of judge fp, all made at ts, in that order (a statement may store
 * several rows: see PUT_LOG in jcache.c). Returns PARE_OK, or PARE_EFAIL with err set (the rows
 * of the failing statement are not stored).
 */
int jcache_put_many(struct store *st, const char *fp, const struct jcache_row *rows, size_t n,
                    const char *ts, struct sbuf *err);

/*
 * Judge j's verdict on subset `mask` of question q (prepared for j) through the cache: the
 * stored verdict when there is one (*asked 0), else j's answer, waited for and stored (*asked
 * 1). *verdict is JUDGE_ERROR when that call failed. For one question at a time, with nothing
 * else submitted to j. Returns PARE_OK, or PARE_EFAIL with err set (database error).
 */
int jcache_ask(struct store *st, struct judge *j, struct jquestion *q, uint64_t mask, int *verdict,
               int *asked, struct sbuf *err);

#endif
