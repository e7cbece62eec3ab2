/* judge.c - see judge.h: the common part of every judge. */
#include "pipeline/judge_impl.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int judge_new(const struct judge_opts *o, struct judge **out, struct sbuf *err)
{
    *out = NULL;
    struct judge *j = xcalloc(1, sizeof *j);
    j->o = *o;
    if (strcmp(o->spec, "lexical") == 0) {
        j->ops = &judge_lexical_ops;
    } else if (strcmp(o->spec, "openai") == 0) {
        j->ops = &judge_openai_ops;
    } else if (strncmp(o->spec, "exec:", 5) == 0 && o->spec[5]) {
        j->ops = &judge_exec_ops;
        j->cmd = xstrdup(o->spec + 5);
    } else {
        sbuf_setf(err, "unknown judge '%s' (lexical, openai or exec:COMMAND)", o->spec);
        free(j);
        return PARE_EUSAGE;
    }
    int rc = j->ops->init(j, err);
    if (rc != PARE_OK) {
        free(j->cmd);
        sbuf_free(&j->fingerprint);
        free(j);
        return rc;
    }
    *out = j;
    return PARE_OK;
}

void jdone_free(struct jdone *d)
{
    while (d) {
        struct jdone *n = d->next;
        free(d->answer);
        free(d->error);
        free(d);
        d = n;
    }
}

void judge_free(struct judge *j)
{
    if (!j) return;
    j->ops->fini(j);
    jdone_free(j->ready);
    free(j->cmd);
    sbuf_free(&j->fingerprint);
    free(j);
}

const char *judge_fingerprint(const struct judge *j)
{
    return sbuf_str(&j->fingerprint);
}

const char *judge_kind(const struct judge *j)
{
    return j->ops->name;
}

int judge_is_cheap(const struct judge *j)
{
    return j->ops == &judge_lexical_ops;
}

int judge_prepare(struct judge *j, struct jquestion *q, struct sbuf *err)
{
    if (q->n > JUDGE_MAX_CANDIDATES) {
        sbuf_setf(err, "question %lld has %d candidates; at most %d can be judged",
                  (long long)q->id, q->n, JUDGE_MAX_CANDIDATES);
        return PARE_EUSAGE;
    }
    return j->ops->prepare ? j->ops->prepare(j, q, err) : PARE_OK;
}

void judge_release(struct judge *j, struct jquestion *q)
{
    if (j->ops->release) j->ops->release(j, q);
    q->prep = NULL;
}

void judge_decide(struct judge *j, struct jquestion *q, uint64_t mask, struct jdone *d)
{
    d->prompt_tokens = d->completion_tokens = -1; /* synchronous judges count no tokens */
    double t0 = now_monotonic();
    j->ops->decide(j, q, mask, d);
    d->latency_ms = (now_monotonic() - t0) * 1000.0;
}

void judge_submit(struct judge *j, struct jquestion *q, uint64_t mask, void *tag)
{
    if (j->ops->submit) {
        j->ops->submit(j, q, mask, tag);
        return;
    }
    struct jdone *d = xcalloc(1, sizeof *d);
    d->tag = tag;
    d->prompt_tokens = d->completion_tokens = -1; /* synchronous judges count no tokens */
    double t0 = now_monotonic();
    j->ops->decide(j, q, mask, d);
    d->latency_ms = (now_monotonic() - t0) * 1000.0;
    d->next = j->ready; /* order does not matter: each carries its tag */
    j->ready = d;
    j->n_ready++;
}

struct jdone *judge_poll(struct judge *j, double wait_s)
{
    if (j->ops->poll) return j->ops->poll(j, wait_s);
    struct jdone *d = j->ready;
    j->ready = NULL;
    j->n_ready = 0;
    return d;
}

int64_t judge_estimate_tokens(struct judge *j, const struct jquestion *q, uint64_t mask)
{
    return j->ops->estimate ? j->ops->estimate(j, q, mask) : 0;
}

int judge_pending(const struct judge *j)
{
    return j->ops->pending ? j->ops->pending(j) : j->n_ready;
}

/* Room for the bytes judge_key hashes in one call: a fingerprint of up to 500 bytes with the
 * largest subset (a longer one is hashed in steps: the same value). */
#define KEY_BYTES (512 + sizeof(int64_t) * (1 + JUDGE_MAX_CANDIDATES))

void judge_key(const char *fingerprint, int64_t question_id, const int64_t *ids, int n,
               unsigned char key[16])
{
    int64_t sorted[JUDGE_MAX_CANDIDATES];
    if (n > JUDGE_MAX_CANDIDATES) n = JUDGE_MAX_CANDIDATES; /* judge_prepare refuses more */
    for (int i = 0; i < n; i++) { /* insertion sort: a subset has a few ids */
        int64_t x = ids[i];
        int k = i;
        for (; k > 0 && sorted[k - 1] > x; k--) sorted[k] = sorted[k - 1];
        sorted[k] = x;
    }
    size_t lf = strlen(fingerprint) + 1, ls = sizeof *sorted * (size_t)n;
    XXH128_hash_t h;
    if (lf + sizeof question_id + ls <= KEY_BYTES) {
        /* one call over the bytes the steps below hash (XXH3's streaming gives the same
         * value): the steps allocate a state, five times the cost of the hash for a key */
        unsigned char buf[KEY_BYTES];
        memcpy(buf, fingerprint, lf);
        memcpy(buf + lf, &question_id, sizeof question_id);
        memcpy(buf + lf + sizeof question_id, sorted, ls);
        h = XXH3_128bits(buf, lf + sizeof question_id + ls);
    } else {
        XXH3_state_t *s = XXH3_createState();
        if (!s) abort();
        XXH3_128bits_reset(s);
        XXH3_128bits_update(s, fingerprint, lf);
        XXH3_128bits_update(s, &question_id, sizeof question_id);
        XXH3_128bits_update(s, sorted, ls);
        h = XXH3_128bits_digest(s);
        XXH3_freeState(s);
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(key, c.digest, 16);
}
