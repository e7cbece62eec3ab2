/* trajectory.c - see trajectory.h. */
#include "pipeline/trajectory.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/text.h"
#include "stores/blob.h"

const char *const traj_scheme_names[N_SCHEMES] = {"cp1",     "cp2",  "laser",
                                                  "laser-d", "decs", "rubric"};

int traj_scheme_from_name(const char *name, enum traj_scheme *out)
{
    for (int k = 0; k < N_SCHEMES; k++) {
        if (strcmp(traj_scheme_names[k], name) == 0) {
            *out = (enum traj_scheme)k;
            return 0;
        }
    }
    return -1;
}

static int has_id(const int64_t *a, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

/* ---- one line ---- */

/* The id fields: question_id (required) and trajectory_id (else the hash of the line). */
static int parse_ids(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                     struct sbuf *err)
{
    json_t *qv = json_object_get(rec, "question_id"), *tid = json_object_get(rec, "trajectory_id");
    if (json_is_string(qv))
        sbuf_adds(&out->question, json_string_value(qv));
    else if (json_is_integer(qv))
        sbuf_addf(&out->question, "%lld", (long long)json_integer_value(qv));
    else {
        sbuf_setf(err, "field 'question_id' must be a string or an integer");
        return PARE_EINPUT;
    }
    /* stable across reruns: a line without an id is the same trajectory when it is the same */
    if (json_is_string(tid))
        sbuf_adds(&out->ext, json_string_value(tid));
    else if (json_is_integer(tid))
        sbuf_addf(&out->ext, "%lld", (long long)json_integer_value(tid));
    else
        sbuf_addf(&out->ext, "h%016llx", (unsigned long long)XXH3_64bits(raw, raw_len));
    return PARE_OK;
}

int traj_parse_line(json_t *rec, const char *raw, size_t raw_len, struct traj_line *out,
                    struct sbuf *err)
{
    memset(out, 0, sizeof *out);
    json_t *sel = json_object_get(rec, "selected"), *resp = json_object_get(rec, "response");
    json_t *ans = json_object_get(rec, "answer"), *ntok = json_object_get(rec, "n_tokens");
    json_t *policy = json_object_get(rec, "policy"), *step = json_object_get(rec, "step");
    if (parse_ids(rec, raw, raw_len, out, err) != PARE_OK) return PARE_EINPUT;
    const char *why = NULL;
    if (!json_is_string(resp))
        why = "missing required field 'response' (a string)";
    else if (!json_is_array(sel))
        why = "field 'selected' must be an array of passage ids";
    else if (ans && !json_is_string(ans) && !json_is_null(ans))
        why = "field 'answer' must be a string";
    else if (ntok && !json_is_null(ntok) &&
             (!json_is_integer(ntok) || json_integer_value(ntok) < 0 ||
              json_integer_value(ntok) > 10000000))
        why = "field 'n_tokens' must be a whole number from 0 to 10000000";
    else if (step && !json_is_null(step) && !json_is_integer(step))
        why = "field 'step' must be a whole number";
    if (why) {
        sbuf_setf(err, "%s", why);
        return PARE_EINPUT;
    }
    out->selected = sel;
    out->response = json_string_value(resp);
    out->answer = json_string_value(ans); /* NULL unless a string */
    out->policy = json_string_value(policy);
    out->has_step = json_is_integer(step);
    out->step = json_integer_value(step);
    out->has_n_tokens = json_is_integer(ntok);
    out->n_tokens = json_integer_value(ntok);
    return PARE_OK;
}

void traj_line_free(struct traj_line *l)
{
    sbuf_free(&l->question);
    sbuf_free(&l->ext);
}

int traj_check_selected(json_t *selected, const struct traj_question *q,
                        int (*exists)(void *ud, int64_t id), void *ud, int64_t **ids, int *n,
                        struct sbuf *err)
{
    int ns = (int)json_array_size(selected);
    int64_t *out = xcalloc((size_t)ns + 1, sizeof *out);
    *ids = out;
    *n = 0;
    for (int i = 0; i < ns; i++) {
        json_t *v = json_array_get(selected, (size_t)i);
        if (!json_is_integer(v)) {
            sbuf_setf(err, "selected[%d] must be a passage id (an integer)", i);
            return PARE_EINPUT;
        }
        out[i] = json_integer_value(v);
        if (has_id(out, (size_t)i, out[i])) {
            sbuf_setf(err, "selected passage %lld appears twice", (long long)out[i]);
            return PARE_EINPUT;
        }
        if (has_id(q->cand, (size_t)q->nc, out[i])) continue; /* candidates exist */
        int found = exists(ud, out[i]);
        if (found < 0) return PARE_EFAIL;
        if (!found) {
            sbuf_setf(err, "selected passage %lld does not exist", (long long)out[i]);
            return PARE_EINPUT;
        }
    }
    *n = ns;
    return PARE_OK;
}

/* ---- measuring ---- */

double traj_rubric_points(const struct traj_question *q, const int64_t *ids, int n, int em)
{
    double pts = 0;
    for (int r = 0; r < q->n_rubric; r++) {
        const struct traj_rubric_item *it = &q->rubric[r];
        int ok = 0;
        switch (it->kind) {
        case RUBRIC_ANSWER:
            ok = em;
            break;
        case RUBRIC_EVIDENCE:
            ok = has_id(ids, (size_t)n, it->pid);
            break;
        case RUBRIC_NO_EXTRA: /* every selected passage is allowed */
            ok = 1;
            for (int i = 0; i < n; i++) ok &= has_id(it->ids, it->n_ids, ids[i]);
            break;
        case RUBRIC_GROUNDED: /* correct, and some answer passage selected */
            for (int i = 0; i < n; i++) ok |= has_id(it->ids, it->n_ids, ids[i]);
            ok &= em;
            break;
        }
        if (ok) pts += it->points;
    }
    return pts;
}

/* DECS prefix fraction of the reasoning: the response before its first answer tag. */
static double prefix_fraction(const char *response, const char *norm_gold)
{
    const char *tag = strstr(response, "<answer>");
    char *reasoning = tag ? xstrndup(response, (size_t)(tag - response)) : xstrdup(response);
    double f = decs_prefix_fraction(reasoning, norm_gold);
    free(reasoning);
    return f;
}

char *traj_answer(const struct traj_line *l)
{
    return l->answer ? xstrdup(l->answer) : extract_answer(l->response);
}

void traj_measure(const struct traj_question *q, const struct traj_line *l, const char *answer,
                  const int64_t *ids, int n, struct traj_item *out)
{
    memset(out, 0, sizeof *out);
    out->qid = q->qid;
    out->f.length = l->has_n_tokens ? (double)l->n_tokens : (double)whitespace_tokens(l->response);
    int valid = answer != NULL && *answer;
    for (int i = 0; i < n && valid; i++) valid = has_id(q->cand, (size_t)q->nc, ids[i]);
    int em = valid && q->golds ? text_em_any(answer, q->golds) : 0;
    out->f.valid = valid;
    out->f.correct = em;
    out->f.f1 = answer && q->golds ? text_f1_any(answer, q->golds) : 0;
    out->em = em;
    out->f.n_selected = n;
    out->f.n_minimal = q->nm;
    for (int i = 0; i < n; i++) out->f.n_overlap += has_id(q->mem, (size_t)q->nm, ids[i]);
    out->f.prefix = prefix_fraction(l->response, q->norm_gold);
    out->has_rubric = q->n_rubric > 0;
    out->rubric = traj_rubric_points(q, ids, n, em);
}

/* ---- rewards ---- */

static const struct traj_item *sort_items; /* qsort has no context argument */

static int cmp_by_question(const void *a, const void *b)
{
    int64_t x = sort_items[*(const size_t *)a].qid, y = sort_items[*(const size_t *)b].qid;
    return x < y ? -1 : x > y;
}

void traj_buckets(const struct traj_item *items, size_t n, int *bucket)
{
    /* sort the items' indices by question, then one pass per group */
    size_t *ord = xmalloc(sizeof *ord * (n + 1));
    for (size_t i = 0; i < n; i++) ord[i] = i;
    sort_items = items;
    qsort(ord, n, sizeof *ord, cmp_by_question);
    for (size_t g = 0; g < n;) {
        size_t e = g;
        int64_t ok = 0;
        while (e < n && items[ord[e]].qid == items[ord[g]].qid) ok += items[ord[e++]].f.correct;
        int b = difficulty_bucket((double)ok / (double)(e - g));
        for (size_t k = g; k < e; k++) bucket[ord[k]] = b;
        g = e;
    }
    free(ord);
}

void traj_laser_d_targets(const struct traj_item *items, size_t n, const int *bucket,
                          double target[3])
{
    double *len = xmalloc(sizeof *len * (n + 1));
    for (int b = 0; b < 3; b++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (bucket[i] == b) len[m++] = items[i].f.length;
        target[b] = laser_d_target(len, m, b);
    }
    free(len);
}

void traj_components(const struct traj_item *it, int bucket, struct sbuf *out)
{
    const struct traj_facts *f = &it->f;
    json_t *comp =
        json_pack("{s:b, s:b, s:f, s:f, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:i, s:s}", "valid",
                  f->valid, "correct", f->correct, "em", it->em, "f1", f->f1, "selected",
                  f->n_selected, "minimal", f->n_minimal, "overlap", f->n_overlap, "coverage",
                  f->n_minimal ? (double)f->n_overlap / f->n_minimal : 0.0, "precision",
                  f->n_selected ? (double)f->n_overlap / f->n_selected : 0.0, "length", f->length,
                  "prefix_fraction", f->prefix, "redundancy", f->n_selected - f->n_minimal,
                  "bucket", bucket_names[bucket]);
    if (comp && it->has_rubric && json_object_set_new(comp, "rubric", json_real(it->rubric)))
        abort();
    char *text = comp ? json_dumps(comp, JSON_COMPACT) : NULL;
    if (!text) abort();                    /* only out of memory */
    sbuf_add(out, text, strlen(text) - 1); /* without the closing brace */
    free(text);
    json_decref(comp);
}

int traj_reward(enum traj_scheme scheme, const struct traj_item *it, const struct traj_params *p,
                double laser_d_target, double *value, struct sbuf *out)
{
    switch (scheme) {
    case SCHEME_CP1:
        *value = reward_cp(&it->f, (int)p->red1, p->gamma1);
        sbuf_addf(out, ",\"red\":%g,\"gamma\":%g}", p->red1, p->gamma1);
        return 0;
    case SCHEME_CP2:
        *value = reward_cp(&it->f, (int)p->red2, p->gamma2);
        sbuf_addf(out, ",\"red\":%g,\"gamma\":%g}", p->red2, p->gamma2);
        return 0;
    case SCHEME_LASER:
        *value = reward_laser(&it->f, p->target_len, p->alpha);
        sbuf_addf(out, ",\"target_len\":%g}", p->target_len);
        return 0;
    case SCHEME_LASER_D:
        *value = reward_laser(&it->f, laser_d_target, p->alpha);
        sbuf_addf(out, ",\"target_len\":%g}", laser_d_target);
        return 0;
    case SCHEME_DECS:
        *value = reward_decs(&it->f, p->max_len);
        sbuf_addf(out, ",\"max_len\":%g}", p->max_len);
        return 0;
    case SCHEME_RUBRIC:
    case N_SCHEMES:
        break;
    }
    if (!it->has_rubric) return -1; /* no rubric for this question: no reward */
    *value = it->rubric / 10.0;
    sbuf_addc(out, '}');
    return 0;
}
