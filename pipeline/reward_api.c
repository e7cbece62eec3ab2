/* reward_api.c - see reward_api.h. The ground truth is read into pipeline/reward.h's structures
 * and measured by the same functions `pare score` calls. */
#include "pipeline/reward_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "pipeline/reward.h"

/* A ground truth read from its JSON, owning what reward_truth borrows. */
struct truth {
    json_t *root;
    int64_t *cand, *mem;
    struct reward_rubric_item *rubric;
    struct sbuf norm_gold;
    struct reward_truth t;
};

/* What the options say, resolved against the response. */
struct options {
    struct reward_params p;
    int has_target;
    double n_tokens; /* < 0: whitespace tokens */
    json_t *selected, *answer;
};

/* The integers of array v into a new array (*n of them). Returns 0, or -1 when v is not an
 * array of integers. */
static int int_array(json_t *v, int64_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(v) || json_array_size(v) > 1000000) return -1;
    size_t k = json_array_size(v);
    *out = xcalloc(k + 1, sizeof **out);
    for (size_t i = 0; i < k; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x)) return -1;
        (*out)[i] = json_integer_value(x);
    }
    *n = (int)k;
    return 0;
}

/* One rubric item {kind, points, passage_id, ids}; null passage_id or ids count as none. */
static int rubric_item(json_t *o, struct reward_rubric_item *it)
{
    int kind = reward_rubric_kind(json_string_value(json_object_get(o, "kind")));
    json_t *pts = json_object_get(o, "points"), *pid = json_object_get(o, "passage_id");
    json_t *ids = json_object_get(o, "ids");
    if (kind < 0 || !json_is_number(pts) || (pid && !json_is_null(pid) && !json_is_integer(pid)))
        return -1;
    it->kind = (enum rubric_kind)kind;
    it->points = json_number_value(pts);
    it->pid = json_integer_value(pid);
    int n = 0;
    if (ids && !json_is_null(ids) && int_array(ids, &it->ids, &n) != 0) return -1;
    it->n_ids = (size_t)n;
    return 0;
}

static int rubric(json_t *v, struct truth *t)
{
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v) || json_array_size(v) > 64) return -1;
    size_t n = json_array_size(v);
    t->rubric = xcalloc(n + 1, sizeof *t->rubric);
    t->t.rubric = t->rubric;
    for (size_t i = 0; i < n; i++) {
        t->t.n_rubric = (int)i + 1;
        if (!json_is_object(json_array_get(v, i)) ||
            rubric_item(json_array_get(v, i), &t->rubric[i]) != 0)
            return -1;
    }
    return 0;
}

static void truth_free(struct truth *t)
{
    for (int i = 0; i < t->t.n_rubric; i++) free(t->rubric[i].ids);
    free(t->rubric);
    free(t->cand);
    free(t->mem);
    sbuf_free(&t->norm_gold);
    json_decref(t->root);
}

/* Reads the ground truth; what is wrong into err. Returns 0 or 3. */
static int truth_read(const char *text, struct truth *t, struct sbuf *err)
{
    json_error_t je;
    t->root = text ? json_loads(text, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!t->root) {
        sbuf_setf(err, "ground truth: %s", text ? je.text : "missing");
        return 3;
    }
    json_t *answers = json_object_get(t->root, "answers");
    const char *bad = NULL;
    if (!json_is_object(t->root))
        bad = "ground truth: not an object";
    else if (!json_is_array(answers))
        bad = "ground truth: 'answers' must be an array of strings";
    else if (int_array(json_object_get(t->root, "evidence_ids"), &t->mem, &t->t.nm) != 0)
        bad = "ground truth: 'evidence_ids' must be an array of passage ids";
    else if (int_array(json_object_get(t->root, "candidate_ids"), &t->cand, &t->t.nc) != 0)
        bad = "ground truth: 'candidate_ids' must be an array of passage ids (export the rows "
              "again with this pare)";
    else if (rubric(json_object_get(t->root, "rubric"), t) != 0)
        bad = "ground truth: 'rubric' must be an array of {kind, points, passage_id, ids}";
    if (bad) {
        sbuf_setf(err, "%s", bad);
        return 3;
    }
    t->t.cand = t->cand;
    t->t.mem = t->mem;
    t->t.golds = answers;
    const char *first = json_string_value(json_array_get(answers, 0));
    text_squad_normalize(first ? first : "", &t->norm_gold);
    t->t.norm_gold = t->norm_gold.p;
    return 0;
}

/* A numeric option into *dst when present. Returns 0, or -1 when it is not a number. */
static int number(json_t *o, const char *key, double *dst, int *seen)
{
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_number(v)) return -1;
    *dst = json_number_value(v);
    if (seen) *seen = 1;
    return 0;
}

/* The options over pare's defaults; red and gamma apply to both cp schemes. Returns 0 or 2. */
static int options_read(json_t *o, struct options *op, struct sbuf *err)
{
    static const char *const known[] = {"red",     "gamma",    "target_len", "alpha",
                                        "max_len", "n_tokens", "selected",   "answer"};
    op->p = reward_defaults;
    op->n_tokens = -1;
    if (!o) return 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < ARRAY_SIZE(known) && strcmp(known[k], key) != 0) k++;
        if (k == ARRAY_SIZE(known)) {
            sbuf_setf(err, "unknown option '%s'", key);
            return 2;
        }
    }
    op->selected = json_object_get(o, "selected");
    op->answer = json_object_get(o, "answer");
    int bad =
        number(o, "red", &op->p.red1, NULL) || number(o, "red", &op->p.red2, NULL) ||
        number(o, "gamma", &op->p.gamma1, NULL) || number(o, "gamma", &op->p.gamma2, NULL) ||
        number(o, "target_len", &op->p.target_len, &op->has_target) ||
        number(o, "alpha", &op->p.alpha, NULL) || number(o, "max_len", &op->p.max_len, NULL) ||
        number(o, "n_tokens", &op->n_tokens, NULL) || (op->answer && !json_is_string(op->answer)) ||
        (op->selected && !json_is_array(op->selected));
    if (bad || op->p.max_len <= 0) {
        sbuf_setf(err, "options: numbers expected (max_len > 0), 'selected' an array, 'answer' a "
                       "string");
        return 2;
    }
    return 0;
}

/* Measures the response as `pare score` does a line: the answer and selection from the options
 * or the response's tags. Returns 0, or 2 when a selected entry is not an integer. */
static int measure(const struct truth *t, const struct options *op, const char *response,
                   struct reward_item *it, struct sbuf *err)
{
    int64_t *ids = NULL;
    int n = 0, stated;
    if (op->selected) {
        stated = 1;
        if (int_array(op->selected, &ids, &n) != 0) {
            free(ids);
            sbuf_setf(err, "options: 'selected' must be an array of passage ids");
            return 2;
        }
    } else {
        stated = reward_parse_evidence(response, &ids, &n) == 1;
    }
    char *answer = op->answer ? xstrdup(json_string_value(op->answer)) : extract_answer(response);
    struct reward_input in = {
        response, answer, ids,
        n,        stated, op->n_tokens >= 0 ? op->n_tokens : (double)whitespace_tokens(response)};
    reward_measure(&t->t, &in, it);
    free(answer);
    free(ids);
    return 0;
}

/* Copies s into info (truncated, NUL-terminated). */
static void put(char *info, size_t cap, const char *s)
{
    if (!info || !cap) return;
    snprintf(info, cap, "%s", s);
}

/* Reads the options and the truth, and measures: the steps before a value. */
static int prepare(const char *response, const char *truth_json, const char *options_json,
                   struct truth *t, struct options *op, struct reward_item *it, struct sbuf *msg)
{
    json_error_t je;
    json_t *o = options_json ? json_loads(options_json, 0, &je) : NULL;
    int rc = 0;
    if (options_json && !json_is_object(o)) {
        sbuf_setf(msg, "options: not a JSON object");
        rc = 2;
    }
    if (!rc) rc = options_read(o, op, msg);
    if (!rc) rc = truth_read(truth_json, t, msg);
    if (!rc) rc = measure(t, op, response ? response : "", it, msg);
    json_decref(o); /* nothing borrowed from it is used after measure */
    op->selected = op->answer = NULL;
    return rc;
}

int pare_reward_api_version(void)
{
    return PARE_REWARD_API_VERSION;
}

int pare_reward_score(const char *scheme, const char *response, const char *truth_json,
                      const char *options_json, double *value, char *info, size_t info_cap)
{
    enum reward_scheme k;
    struct sbuf msg = {0};
    struct truth t = {0};
    struct options op = {0};
    struct reward_item it;
    int rc = 0;
    if (reward_scheme_from_name(scheme, &k) != 0) {
        sbuf_setf(&msg, "unknown scheme '%s' (" REWARD_SCHEME_LIST ")", scheme ? scheme : "");
        rc = 2;
    }
    if (!rc) rc = prepare(response, truth_json, options_json, &t, &op, &it, &msg);
    if (!rc && k == SCHEME_LASER_D && !op.has_target) {
        sbuf_setf(&msg, "laser-d needs target_len: the LASER-D target of the question's "
                        "difficulty bucket");
        rc = 2;
    }
    if (!rc) {
        reward_components(&it, -1, &msg);
        if (reward_value(k, &it, &op.p, op.p.target_len, value, &msg) != 0) {
            sbuf_setf(&msg, "no rubric in the ground truth: run pare augment before pare export");
            rc = 1;
        } else {
            sbuf_addc(&msg, '}');
        }
    }
    put(info, info_cap, sbuf_str(&msg));
    sbuf_free(&msg);
    truth_free(&t);
    return rc;
}
