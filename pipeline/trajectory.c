/* trajectory.c - see trajectory.h. */
#include "pipeline/trajectory.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct reward_truth traj_truth(const struct traj_question *q)
{
    struct reward_truth t = {q->cand,  q->nc,        q->mem,    q->nm,
                             q->golds, q->norm_gold, q->rubric, q->n_rubric};
    return t;
}

/* ---- one line ---- */

/* An id field (a string or an integer) as text into out. Returns 0, or -1 when v is neither. */
static int id_text(json_t *v, struct sbuf *out)
{
    if (json_is_string(v))
        sbuf_adds(out, json_string_value(v));
    else if (json_is_integer(v))
        sbuf_addf(out, "%lld", (long long)json_integer_value(v));
    else
        return -1;
    return 0;
}

/* A trainer's line: the exported ground truth (an object, or JSON text) names the question. */
static int parse_truth(json_t *gt, const char *key, struct traj_line *out, struct sbuf *err)
{
    if (json_is_string(gt)) {
        json_error_t je;
        out->truth = json_loads(json_string_value(gt), 0, &je);
        gt = out->truth;
    }
    if (!json_is_object(gt)) {
        sbuf_setf(err,
                  "field '%s' must be the ground truth of an exported row (an object or its "
                  "JSON text)",
                  key);
        return PARE_EINPUT;
    }
    json_t *ds = json_object_get(gt, "dataset");
    if (id_text(json_object_get(gt, "question_id"), &out->question) != 0 ||
        (ds && !json_is_null(ds) && !json_is_string(ds))) {
        sbuf_setf(err,
                  "the ground truth in '%s' names no question ('question_id' and "
                  "'dataset'): export the rows again with this pare",
                  key);
        return PARE_EINPUT;
    }
    out->dataset = json_string_value(ds);
    return PARE_OK;
}

/* The id fields: the question (question_id, or a trainer's ground truth) and trajectory_id
 * (else the hash of the line). */
static int parse_ids(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                     struct sbuf *err)
{
    static const char *const truth_keys[] = {"gts", "ground_truth", "label"};
    json_t *qv = json_object_get(rec, "question_id"), *tid = json_object_get(rec, "trajectory_id");
    int rc = PARE_OK;
    if (qv) {
        if (id_text(qv, &out->question) != 0) {
            sbuf_setf(err, "field 'question_id' must be a string or an integer");
            return PARE_EINPUT;
        }
    } else {
        size_t k = 0;
        while (k < ARRAY_SIZE(truth_keys) && !json_object_get(rec, truth_keys[k])) k++;
        if (k == ARRAY_SIZE(truth_keys)) {
            sbuf_setf(err, "missing required field 'question_id' (or the exported ground truth: "
                           "'gts', 'ground_truth' or 'label')");
            return PARE_EINPUT;
        }
        rc = parse_truth(json_object_get(rec, truth_keys[k]), truth_keys[k], out, err);
    }
    /* stable across reruns: a line without an id is the same trajectory when it is the same */
    if (tid && !json_is_null(tid) && id_text(tid, &out->ext) != 0) {
        sbuf_setf(err, "field 'trajectory_id' must be a string or an integer");
        return PARE_EINPUT;
    }
    if (!out->ext.len) {
        sbuf_addf(&out->ext, "h%016llx", (unsigned long long)XXH3_64bits(raw, raw_len));
        out->default_ext = 1;
    }
    return rc;
}

/* What is wrong with the typed fields of a line, or NULL. */
static const char *check_fields(json_t *rec, json_t *resp, const char *resp_key)
{
    json_t *sel = json_object_get(rec, "selected"), *ans = json_object_get(rec, "answer");
    json_t *ntok = json_object_get(rec, "n_tokens"), *step = json_object_get(rec, "step");
    json_t *policy = json_object_get(rec, "policy");
    if (!json_is_string(resp))
        return strcmp(resp_key, "output") == 0 ? "field 'output' must be a string"
                                               : "missing required field 'response' (a string)";
    if (sel && !json_is_null(sel) && !json_is_array(sel))
        return "field 'selected' must be an array of passage ids";
    if (ans && !json_is_string(ans) && !json_is_null(ans)) return "field 'answer' must be a string";
    if (ntok && !json_is_null(ntok) &&
        (!json_is_integer(ntok) || json_integer_value(ntok) < 0 ||
         json_integer_value(ntok) > 10000000))
        return "field 'n_tokens' must be a whole number from 0 to 10000000";
    if (step && !json_is_null(step) && !json_is_integer(step))
        return "field 'step' must be a whole number";
    if (policy && !json_is_null(policy) && !json_is_string(policy))
        return "field 'policy' must be a string";
    return NULL;
}

int traj_parse_line(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                    struct sbuf *err)
{
    memset(out, 0, sizeof *out);
    if (parse_ids(rec, raw, raw_len, out, err) != PARE_OK) return PARE_EINPUT;
    /* verl's dumps call the response "output" */
    const char *resp_key =
        json_object_get(rec, "response") || !json_object_get(rec, "output") ? "response" : "output";
    json_t *resp = json_object_get(rec, resp_key);
    const char *why = check_fields(rec, resp, resp_key);
    if (why) {
        sbuf_setf(err, "%s", why);
        return PARE_EINPUT;
    }
    json_t *sel = json_object_get(rec, "selected"), *step = json_object_get(rec, "step");
    json_t *ntok = json_object_get(rec, "n_tokens"), *score = json_object_get(rec, "score");
    out->selected = json_is_array(sel) ? sel : NULL;
    out->response = json_string_value(resp);
    out->answer = json_string_value(json_object_get(rec, "answer")); /* NULL unless a string */
    out->policy = json_string_value(json_object_get(rec, "policy"));
    out->has_step = json_is_integer(step);
    out->step = json_integer_value(step);
    out->has_n_tokens = json_is_integer(ntok);
    out->n_tokens = json_integer_value(ntok);
    out->has_score = json_is_number(score);
    out->score = json_number_value(score);
    return PARE_OK;
}

void traj_line_free(struct traj_line *l)
{
    sbuf_free(&l->question);
    sbuf_free(&l->ext);
    json_decref(l->truth);
    l->truth = NULL;
}

int traj_selection(const struct traj_line *l, int64_t **ids, int *n, int *stated, struct sbuf *err)
{
    if (!l->selected) {
        int rc = reward_parse_evidence(l->response, ids, n);
        *stated = rc == 1;
        if (!*ids) *ids = xcalloc(1, sizeof **ids);
        return PARE_OK;
    }
    size_t ns = json_array_size(l->selected);
    int64_t *out = xcalloc(ns + 1, sizeof *out);
    *ids = out;
    *n = 0;
    *stated = 1;
    for (size_t i = 0; i < ns; i++) {
        json_t *v = json_array_get(l->selected, i);
        if (!json_is_integer(v)) {
            sbuf_setf(err, "selected[%zu] must be a passage id (an integer)", i);
            return PARE_EINPUT;
        }
        out[i] = json_integer_value(v);
    }
    *n = (int)ns;
    return PARE_OK;
}

char *traj_answer(const struct traj_line *l)
{
    return l->answer ? xstrdup(l->answer) : extract_answer(l->response);
}

void traj_measure(const struct traj_question *q, const struct traj_line *l, const char *answer,
                  const int64_t *ids, int n, int stated, struct traj_item *out)
{
    struct reward_truth t = traj_truth(q);
    struct reward_input in = {
        l->response,
        answer,
        ids,
        n,
        stated,
        l->has_n_tokens ? (double)l->n_tokens : (double)whitespace_tokens(l->response)};
    memset(out, 0, sizeof *out);
    out->qid = q->qid;
    reward_measure(&t, &in, &out->m);
}

/* ---- LASER-D over a run ---- */

/* A question's rollouts in a run: open addressing on the question id. */
struct pass_count {
    int64_t qid;
    int64_t n, ok; /* n 0: an empty slot */
};

static size_t pass_slot(const struct pass_count *t, size_t cap, int64_t qid)
{
    size_t h = XXH3_64bits(&qid, sizeof qid) & (cap - 1);
    while (t[h].n && t[h].qid != qid) h = (h + 1) & (cap - 1);
    return h;
}

/* Doubles the table of *cap slots (*used taken) when half full. */
static struct pass_count *pass_grow(struct pass_count *t, size_t *cap, size_t used)
{
    if (used * 2 < *cap) return t;
    size_t ncap = *cap * 2;
    struct pass_count *nt = xcalloc(ncap, sizeof *nt);
    for (size_t i = 0; i < *cap; i++)
        if (t[i].n) nt[pass_slot(nt, ncap, t[i].qid)] = t[i];
    free(t);
    *cap = ncap;
    return nt;
}

void traj_buckets(const struct traj_item *items, size_t n, int *bucket)
{
    /* per question, the rollouts and the correct ones, then each item's question's bucket: two
     * passes (sorting a million items by question cost as much as storing their rewards). The
     * table grows with the questions, not the items: sized for the items, a million of them
     * over thousands of questions missed the cache at every step. */
    size_t cap = 1024, used = 0;
    struct pass_count *t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t = pass_grow(t, &cap, used);
        struct pass_count *c = &t[pass_slot(t, cap, items[i].qid)];
        used += c->n == 0;
        c->qid = items[i].qid;
        c->n++;
        c->ok += items[i].m.f.correct;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pass_count *c = &t[pass_slot(t, cap, items[i].qid)];
        bucket[i] = difficulty_bucket((double)c->ok / (double)c->n);
    }
    free(t);
}

void traj_laser_d_targets(const struct traj_item *items, size_t n, const int *bucket,
                          double target[3])
{
    double *len = xmalloc(sizeof *len * (n + 1));
    for (int b = 0; b < 3; b++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (bucket[i] == b) len[m++] = items[i].m.f.length;
        target[b] = laser_d_target(len, m, b);
    }
    free(len);
}
