/*
 * score.c - `pare score`: reward policy trajectories.
 *
 * A trajectory line: {"question_id" (the dataset's id), "trajectory_id"?, "policy"?, "step"?,
 * "selected": [passage ids], "response", "answer"?, "n_tokens"?}. The answer defaults to the
 * text inside the last <answer>...</answer>; the length L is n_tokens, else the whitespace
 * tokens of the response. A trajectory is valid when it has an answer and its selected ids are
 * distinct candidates of the question; correct when valid with EM 1 against a gold answer or
 * alias. Components (validity, EM, F1, coverage and precision against the minimal set,
 * redundancy, length, rubric points, DECS prefix fraction) are kept as JSON with every reward.
 *
 * LASER-D's target lengths depend on the difficulty buckets of all the run's rollouts (pass
 * rate per question), so rewards are computed once every file is read. The command is one
 * transaction: a bad line stops it with `file:line: what is wrong` and nothing stored (or, with
 * --skip-bad, goes to `rejects`). Trajectories are keyed by (question, trajectory id) and
 * rewards by (trajectory, scheme): rerunning a file adds nothing twice.
 */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "common/reader.h"
#include "pipeline/reward.h"
#include "common/text.h"
#include "stores/store.h"

enum scheme { S_CP1, S_CP2, S_LASER, S_LASERD, S_DECS, S_RUBRIC, N_SCHEMES };
static const char *const scheme_names[N_SCHEMES] = {"cp1",     "cp2",  "laser",
                                                    "laser-d", "decs", "rubric"};

struct item {
    int64_t traj_id, qid;
    struct traj_facts f;
    double em, rubric; /* rubric: points out of 10, or -1 without a rubric */
    int has_rubric;
};

/* What scoring needs of a question, looked up once per question. */
struct qcache {
    char *ext;
    int64_t qid;
    int64_t *cand, *mem;
    int nc, nm;
    json_t *golds;
    char *norm_gold; /* SQuAD-normalised first answer, for DECS */
    struct rubric_item *rubric;
    int n_rubric;
};

struct rubric_item {
    int kind; /* 0 answer, 1 evidence, 2 no_extra, 3 grounded */
    double points;
    int64_t pid;
    json_t *ids; /* no_extra: allowed; grounded: answer passages */
};

struct sc {
    struct qcache *qc; /* open addressing on xxh64(ext) */
    size_t qc_cap, qc_n;
    struct store *st;
    struct job job;
    struct blob_codec *codec;
    const char *judge, *method, *dataset;
    int64_t retrieval;
    int schemes[N_SCHEMES];
    int skip_bad;
    double red1, gamma1, red2, gamma2, target_len, alpha, max_len;
    struct item *items;
    size_t n, cap;
    int64_t rejected, new_traj;
    struct sbuf err, body;
};

static int64_t *ids_of(struct sc *s, const char *sql, int64_t a, int64_t b, int *n)
{
    sqlite3_stmt *st = store_stmt(s->st, sql);
    *n = 0;
    if (!st || sqlite3_bind_int64(st, 1, a) || sqlite3_bind_int64(st, 2, b)) return NULL;
    int64_t *out = NULL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        xgrow((void **)&out, &cap, (size_t)*n + 1, sizeof *out);
        out[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(out);
        *n = -1;
        return NULL;
    }
    return out;
}

static int has_id(const int64_t *a, int n, int64_t x)
{
    for (int i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

static int in_json(json_t *arr, int64_t x)
{
    size_t k;
    json_t *v;
    json_array_foreach(arr, k, v) if (json_integer_value(v) == x) return 1;
    return 0;
}

/* Rubric points out of 10 for selection sel with correctness em. */
static double rubric_points(const struct qcache *q, const int64_t *sel, int ns, int em)
{
    double pts = 0;
    for (int r = 0; r < q->n_rubric; r++) {
        const struct rubric_item *it = &q->rubric[r];
        int ok = 0;
        if (it->kind == 0)
            ok = em;
        else if (it->kind == 1)
            ok = has_id(sel, ns, it->pid);
        else if (it->kind == 2) {
            ok = 1;
            for (int i = 0; i < ns; i++) ok &= in_json(it->ids, sel[i]);
        } else {
            for (int i = 0; i < ns; i++) ok |= in_json(it->ids, sel[i]);
            ok &= em;
        }
        if (ok) pts += it->points;
    }
    return pts;
}

/* Loads question `ext` into the cache (or finds it there). NULL with err on an unknown or
 * ambiguous id; *fail set on a database error. */
static struct qcache *question(struct sc *s, const char *ext, int *fail)
{
    *fail = 0;
    if (s->qc_n * 2 >= s->qc_cap) { /* grow and rehash */
        size_t cap = s->qc_cap ? s->qc_cap * 2 : 1024;
        struct qcache *t = xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < s->qc_cap; i++) {
            if (!s->qc[i].ext) continue;
            size_t h = XXH3_64bits(s->qc[i].ext, strlen(s->qc[i].ext)) & (cap - 1);
            while (t[h].ext) h = (h + 1) & (cap - 1);
            t[h] = s->qc[i];
        }
        free(s->qc);
        s->qc = t;
        s->qc_cap = cap;
    }
    size_t h = XXH3_64bits(ext, strlen(ext)) & (s->qc_cap - 1);
    while (s->qc[h].ext) {
        if (strcmp(s->qc[h].ext, ext) == 0) return &s->qc[h];
        h = (h + 1) & (s->qc_cap - 1);
    }
    sqlite3_stmt *st = store_stmt(s->st, "SELECT q.id, q.answers FROM questions q JOIN datasets d "
                                         "ON d.id = q.dataset_id WHERE q.ext_id = ?1 AND "
                                         "(?2 IS NULL OR d.name = ?2) LIMIT 2");
    if (!st || sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 2, s->dataset, -1, SQLITE_STATIC)) {
        *fail = 1;
        return NULL;
    }
    int found = 0, src;
    int64_t qid = 0;
    json_t *golds = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        qid = sqlite3_column_int64(st, 0);
        json_error_t je;
        json_decref(golds);
        golds = json_loads((const char *)sqlite3_column_text(st, 1), 0, &je);
        found++;
    }
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        json_decref(golds);
        *fail = 1;
        return NULL;
    }
    if (found != 1) {
        json_decref(golds);
        if (found == 0)
            sbuf_setf(&s->err, "unknown question id '%s'", ext);
        else
            sbuf_setf(&s->err, "question id '%s' is in several datasets: name one with --dataset",
                      ext);
        return NULL;
    }
    struct qcache *q = &s->qc[h];
    q->ext = xstrdup(ext);
    q->qid = qid;
    q->golds = golds;
    s->qc_n++;
    struct sbuf norm = {0};
    text_squad_normalize(golds ? json_string_value(json_array_get(golds, 0))
                                     ? json_string_value(json_array_get(golds, 0))
                                     : ""
                               : "",
                         &norm);
    q->norm_gold = sbuf_detach(&norm);
    /* candidates: the retrieval's, else the question's own context */
    q->cand = ids_of(s,
                     "SELECT passage_id FROM candidates WHERE retrieval_id = ?1 AND "
                     "question_id = ?2",
                     s->retrieval, qid, &q->nc);
    if (q->nc == 0) {
        free(q->cand);
        q->cand = ids_of(s,
                         "SELECT passage_id FROM question_passages WHERE question_id = ?1 "
                         "AND ?2 = ?2",
                         qid, 0, &q->nc);
    }
    /* the minimal set under this minimiser (the newest, if several judges) */
    sqlite3_stmt *ms = store_stmt(s->st, "SELECT m.passage_id FROM evidence_sets e JOIN "
                                         "evidence_members m ON m.set_id = e.id WHERE "
                                         "e.question_id = ?1 AND e.method = ?2 AND e.status = "
                                         "'minimal' ORDER BY e.id DESC, m.rank");
    size_t cap = 0;
    if (ms && !sqlite3_bind_int64(ms, 1, qid) &&
        !sqlite3_bind_text(ms, 2, s->method, -1, SQLITE_STATIC)) {
        while (sqlite3_step(ms) == SQLITE_ROW) {
            xgrow((void **)&q->mem, &cap, (size_t)q->nm + 1, sizeof *q->mem);
            q->mem[q->nm++] = sqlite3_column_int64(ms, 0);
        }
        sqlite3_reset(ms);
    }
    st = store_stmt(s->st, "SELECT kind, points, passage_id, expected FROM rubric_items WHERE "
                           "question_id = ?1 ORDER BY item_no");
    cap = 0;
    if (st && !sqlite3_bind_int64(st, 1, qid)) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            xgrow((void **)&q->rubric, &cap, (size_t)q->n_rubric + 1, sizeof *q->rubric);
            struct rubric_item *it = &q->rubric[q->n_rubric++];
            const char *kind = (const char *)sqlite3_column_text(st, 0);
            it->kind = strcmp(kind, "answer") == 0     ? 0
                       : strcmp(kind, "evidence") == 0 ? 1
                       : strcmp(kind, "no_extra") == 0 ? 2
                                                       : 3;
            it->points = sqlite3_column_double(st, 1);
            it->pid = sqlite3_column_int64(st, 2);
            json_error_t je;
            json_t *exp = json_loads((const char *)sqlite3_column_text(st, 3), 0, &je);
            it->ids =
                json_incref(json_object_get(exp, it->kind == 2 ? "allowed" : "answer_passages"));
            json_decref(exp);
        }
        sqlite3_reset(st);
    }
    if (q->nc < 0) *fail = 1;
    return q;
}

static void qcache_free(struct sc *s)
{
    for (size_t i = 0; i < s->qc_cap; i++) {
        struct qcache *q = &s->qc[i];
        if (!q->ext) continue;
        free(q->ext);
        free(q->cand);
        free(q->mem);
        json_decref(q->golds);
        free(q->norm_gold);
        for (int r = 0; r < q->n_rubric; r++) json_decref(q->rubric[r].ids);
        free(q->rubric);
    }
    free(s->qc);
}

/* Checks and stores one trajectory line. PARE_EINPUT: bad line (err says why). */
static int take(struct sc *s, json_t *rec, const char *raw, size_t raw_len, const char *source)
{
    (void)source;
    json_t *qv = json_object_get(rec, "question_id"), *sel = json_object_get(rec, "selected");
    json_t *resp = json_object_get(rec, "response"), *ans = json_object_get(rec, "answer");
    json_t *ntok = json_object_get(rec, "n_tokens"), *tid = json_object_get(rec, "trajectory_id");
    json_t *policy = json_object_get(rec, "policy"), *step = json_object_get(rec, "step");
    struct sbuf qext = {0}, ext = {0};
    int rc = PARE_EINPUT;
    int64_t *ids = NULL;
    if (json_is_string(qv))
        sbuf_adds(&qext, json_string_value(qv));
    else if (json_is_integer(qv))
        sbuf_addf(&qext, "%lld", (long long)json_integer_value(qv));
    else {
        sbuf_setf(&s->err, "field 'question_id' must be a string or an integer");
        goto out;
    }
    if (!json_is_string(resp)) {
        sbuf_setf(&s->err, "missing required field 'response' (a string)");
        goto out;
    }
    if (!json_is_array(sel)) {
        sbuf_setf(&s->err, "field 'selected' must be an array of passage ids");
        goto out;
    }
    if (ans && !json_is_string(ans) && !json_is_null(ans)) {
        sbuf_setf(&s->err, "field 'answer' must be a string");
        goto out;
    }
    if (ntok && !json_is_null(ntok) &&
        (!json_is_integer(ntok) || json_integer_value(ntok) < 0 ||
         json_integer_value(ntok) > 10000000)) {
        sbuf_setf(&s->err, "field 'n_tokens' must be a whole number from 0 to 10000000");
        goto out;
    }
    if (step && !json_is_null(step) && !json_is_integer(step)) {
        sbuf_setf(&s->err, "field 'step' must be a whole number");
        goto out;
    }
    /* the question: by the dataset's id */
    int fail;
    struct qcache *qc = question(s, qext.p, &fail);
    if (fail) {
        rc = store_fail(s->st, &s->err, "looking up questions");
        goto out;
    }
    if (!qc) goto out;
    int64_t qid = qc->qid;
    sqlite3_stmt *st;
    int found;
    /* selected ids: integers, distinct, existing */
    int ns = (int)json_array_size(sel);
    ids = xcalloc((size_t)ns + 1, sizeof *ids);
    for (int i = 0; i < ns; i++) {
        json_t *v = json_array_get(sel, (size_t)i);
        if (!json_is_integer(v)) {
            sbuf_setf(&s->err, "selected[%d] must be a passage id (an integer)", i);
            goto out;
        }
        ids[i] = json_integer_value(v);
        if (has_id(ids, i, ids[i])) {
            sbuf_setf(&s->err, "selected passage %lld appears twice", (long long)ids[i]);
            goto out;
        }
        if (has_id(qc->cand, qc->nc, ids[i])) continue; /* candidates exist */
        int64_t x;
        st = store_stmt(s->st, "SELECT 1 FROM passages WHERE id = ?1");
        if (!st || sqlite3_bind_int64(st, 1, ids[i]) || (found = store_int(s->st, st, &x)) < 0) {
            rc = store_fail(s->st, &s->err, "looking up passages");
            goto out;
        }
        if (!found) {
            sbuf_setf(&s->err, "selected passage %lld does not exist", (long long)ids[i]);
            goto out;
        }
    }
    /* the trajectory's id: given, else the hash of its line (stable across reruns) */
    if (json_is_string(tid))
        sbuf_adds(&ext, json_string_value(tid));
    else if (json_is_integer(tid))
        sbuf_addf(&ext, "%lld", (long long)json_integer_value(tid));
    else
        sbuf_addf(&ext, "h%016llx", (unsigned long long)XXH3_64bits(raw, raw_len));
    const char *response = json_string_value(resp);
    char *answer =
        ans && json_is_string(ans) ? xstrdup(json_string_value(ans)) : extract_answer(response);
    struct item it = {0};
    it.qid = qid;
    it.f.length = ntok && json_is_integer(ntok) ? (double)json_integer_value(ntok)
                                                : (double)whitespace_tokens(response);
    int valid = answer != NULL && *answer;
    for (int i = 0; i < ns && valid; i++) valid = has_id(qc->cand, qc->nc, ids[i]);
    int em = valid && qc->golds ? text_em_any(answer, qc->golds) : 0;
    it.f.valid = valid;
    it.f.correct = em;
    it.f.f1 = answer && qc->golds ? text_f1_any(answer, qc->golds) : 0;
    it.em = em;
    it.f.n_selected = ns;
    it.f.n_minimal = qc->nm;
    for (int i = 0; i < ns; i++) it.f.n_overlap += has_id(qc->mem, qc->nm, ids[i]);
    /* DECS prefix: the reasoning before the answer tag, against the first gold answer */
    const char *tag = strstr(response, "<answer>");
    char *reasoning = tag ? xstrndup(response, (size_t)(tag - response)) : xstrdup(response);
    it.f.prefix = decs_prefix_fraction(reasoning, qc->norm_gold);
    free(reasoning);
    it.has_rubric = qc->n_rubric > 0;
    it.rubric = rubric_points(qc, ids, ns, em);
    /* store the trajectory (the response compressed) */
    if (blob_compress(s->codec, response, strlen(response), &s->body, &s->err) != PARE_OK) {
        free(answer);
        rc = PARE_EFAIL;
        goto out;
    }
    char *seltext = json_dumps(sel, JSON_COMPACT);
    st = store_stmt(s->st, "INSERT INTO trajectories(question_id, ext_id, policy, step, selected, "
                           "response, answer, n_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                           "ON CONFLICT(question_id, ext_id) DO NOTHING");
    if (!seltext || !st || sqlite3_bind_int64(st, 1, qid) ||
        sqlite3_bind_text(st, 2, ext.p, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, json_string_value(policy), -1, SQLITE_STATIC) ||
        (json_is_integer(step) ? sqlite3_bind_int64(st, 4, json_integer_value(step))
                               : sqlite3_bind_null(st, 4)) ||
        sqlite3_bind_text(st, 5, seltext, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_blob(st, 6, s->body.p, (int)s->body.len, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 7, answer, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_int64(st, 8, (int64_t)it.f.length) || store_done(s->st, st)) {
        free(seltext);
        free(answer);
        rc = store_fail(s->st, &s->err, "storing a trajectory");
        goto out;
    }
    free(seltext);
    free(answer);
    int fresh = sqlite3_changes(store_db(s->st)) == 1;
    if (fresh)
        it.traj_id = sqlite3_last_insert_rowid(store_db(s->st));
    else if (!(st = store_stmt(s->st, "SELECT id FROM trajectories WHERE question_id = ?1 AND "
                                      "ext_id = ?2")) ||
             sqlite3_bind_int64(st, 1, qid) || sqlite3_bind_text(st, 2, ext.p, -1, SQLITE_STATIC) ||
             store_int(s->st, st, &it.traj_id) != 1) {
        rc = store_fail(s->st, &s->err, "reading a trajectory");
        goto out;
    }
    /* the same trajectory twice in this run is a duplicate line */
    st = store_stmt(s->st, "INSERT INTO temp.score_seen(id) VALUES (?1) ON CONFLICT DO NOTHING");
    if (!st || sqlite3_bind_int64(st, 1, it.traj_id) || store_done(s->st, st)) {
        rc = store_fail(s->st, &s->err, "checking trajectory ids");
        goto out;
    }
    if (sqlite3_changes(store_db(s->st)) == 0) {
        sbuf_setf(&s->err, "duplicate trajectory '%s' of question '%s'", ext.p, qext.p);
        goto out;
    }
    s->new_traj += fresh;
    xgrow((void **)&s->items, &s->cap, s->n + 1, sizeof *s->items);
    s->items[s->n++] = it;
    rc = PARE_OK;
out:
    free(ids);
    sbuf_free(&qext);
    sbuf_free(&ext);
    return rc;
}

static int read_trajectories(struct sc *s, const char *path)
{
    struct reader *r;
    int rc = reader_open(path, &r, &s->err);
    if (rc != PARE_OK) return rc;
    char *source = realpath(path, NULL);
    struct sbuf msg = {0};
    for (;;) {
        long line;
        int res = reader_next_raw(r, &line, &s->err);
        if (res == READ_EOF) break;
        if (res == READ_FATAL) {
            rc = PARE_EINPUT;
            break;
        }
        size_t raw_len;
        const char *raw = reader_raw(r, &raw_len);
        json_t *rec = NULL;
        res = reader_parse(path, raw, raw_len, line, &rec, &msg);
        if (res == READ_RECORD) {
            rc = take(s, rec, raw, raw_len, source);
            json_decref(rec);
            if (rc == PARE_EINPUT)
                sbuf_setf(&msg, "%s:%ld: %s", path, line, sbuf_str(&s->err));
            else if (rc != PARE_OK)
                break;
        } else {
            rc = PARE_EINPUT;
        }
        if (rc == PARE_EINPUT) {
            if (!s->skip_bad) {
                sbuf_setf(&s->err, "%s", msg.p);
                break;
            }
            job_say(&s->job, "%s (skipped)", msg.p);
            if ((rc = job_reject(&s->job, source ? source : path, line, msg.p, raw, raw_len,
                                 &s->err)) != PARE_OK)
                break;
            s->rejected++;
        }
        rc = PARE_OK;
        job_progress(&s->job, "trajectories", (uint64_t)s->n, 0, reader_pos(r), reader_size(r));
    }
    free(source);
    sbuf_free(&msg);
    reader_close(r);
    return rc;
}

static const struct item *sort_items; /* qsort has no context argument */

static int cmp_by_question(const void *a, const void *b)
{
    int64_t x = sort_items[*(const size_t *)a].qid, y = sort_items[*(const size_t *)b].qid;
    return x < y ? -1 : x > y;
}

/* Rewards of every item for every requested scheme. */
static int rewards(struct sc *s)
{
    /* pass rate per question over this run's rollouts, for LASER-D's buckets: sort the items'
     * indices by question, then one pass per group */
    size_t *ord = xmalloc(sizeof *ord * (s->n + 1));
    for (size_t i = 0; i < s->n; i++) ord[i] = i;
    sort_items = s->items;
    qsort(ord, s->n, sizeof *ord, cmp_by_question);
    int *bucket = xcalloc(s->n + 1, sizeof *bucket);
    for (size_t g = 0; g < s->n;) {
        size_t e = g;
        int64_t ok = 0;
        while (e < s->n && s->items[ord[e]].qid == s->items[ord[g]].qid)
            ok += s->items[ord[e++]].f.correct;
        int b = difficulty_bucket((double)ok / (double)(e - g));
        for (size_t k = g; k < e; k++) bucket[ord[k]] = b;
        g = e;
    }
    free(ord);
    double target[3];
    for (int b = 0; b < 3; b++) {
        double *len = xmalloc(sizeof *len * (s->n + 1));
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (bucket[i] == b) len[m++] = s->items[i].f.length;
        target[b] = laser_d_target(len, m, b);
        free(len);
    }
    int rc = PARE_OK;
    for (size_t i = 0; i < s->n && rc == PARE_OK; i++) {
        struct item *it = &s->items[i];
        json_t *comp = json_pack(
            "{s:b, s:b, s:f, s:f, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:i, "
            "s:s}",
            "valid", it->f.valid, "correct", it->f.correct, "em", it->em, "f1", it->f.f1,
            "selected", it->f.n_selected, "minimal", it->f.n_minimal, "overlap", it->f.n_overlap,
            "coverage", it->f.n_minimal ? (double)it->f.n_overlap / it->f.n_minimal : 0.0,
            "precision", it->f.n_selected ? (double)it->f.n_overlap / it->f.n_selected : 0.0,
            "length", it->f.length, "prefix_fraction", it->f.prefix, "redundancy",
            it->f.n_selected - it->f.n_minimal, "bucket", bucket_names[bucket[i]]);
        if (it->has_rubric) json_object_set_new(comp, "rubric", json_real(it->rubric));
        /* the components are serialised once; each scheme appends its own parameters */
        char *base = json_dumps(comp, JSON_COMPACT);
        if (!base) abort();
        size_t blen = strlen(base) - 1; /* without the closing brace */
        struct sbuf ct = {0};
        for (int k = 0; k < N_SCHEMES && rc == PARE_OK; k++) {
            if (!s->schemes[k]) continue;
            double v;
            sbuf_reset(&ct);
            sbuf_add(&ct, base, blen);
            switch (k) {
            case S_CP1:
                v = reward_cp(&it->f, (int)s->red1, s->gamma1);
                sbuf_addf(&ct, ",\"red\":%g,\"gamma\":%g}", s->red1, s->gamma1);
                break;
            case S_CP2:
                v = reward_cp(&it->f, (int)s->red2, s->gamma2);
                sbuf_addf(&ct, ",\"red\":%g,\"gamma\":%g}", s->red2, s->gamma2);
                break;
            case S_LASER:
                v = reward_laser(&it->f, s->target_len, s->alpha);
                sbuf_addf(&ct, ",\"target_len\":%g}", s->target_len);
                break;
            case S_LASERD:
                v = reward_laser(&it->f, target[bucket[i]], s->alpha);
                sbuf_addf(&ct, ",\"target_len\":%g}", target[bucket[i]]);
                break;
            case S_DECS:
                v = reward_decs(&it->f, s->max_len);
                sbuf_addf(&ct, ",\"max_len\":%g}", s->max_len);
                break;
            default:
                if (!it->has_rubric) continue; /* no rubric for this question: no reward */
                v = it->rubric / 10.0;
                sbuf_addc(&ct, '}');
                break;
            }
            sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO rewards(trajectory_id, scheme, "
                                                 "value, components) VALUES (?1, ?2, ?3, ?4) ON "
                                                 "CONFLICT(trajectory_id, scheme) DO UPDATE SET "
                                                 "value = excluded.value, "
                                                 "components = excluded.components");
            if (!st || sqlite3_bind_int64(st, 1, it->traj_id) ||
                sqlite3_bind_text(st, 2, scheme_names[k], -1, SQLITE_STATIC) ||
                sqlite3_bind_double(st, 3, v) ||
                sqlite3_bind_text(st, 4, ct.p, (int)ct.len, SQLITE_STATIC) || store_done(s->st, st))
                rc = store_fail(s->st, &s->err, "storing a reward");
        }
        sbuf_free(&ct);
        free(base);
        json_decref(comp);
    }
    free(bucket);
    return rc;
}

int job_score(struct pare_ctx *ctx, int argc, char **argv)
{
    struct sc s = {0};
    const char *schemes = NULL;
    double red = -1, gamma = -1;
    const struct opt opts[] = {
        {"schemes", OPT_STRING, &schemes, "cp1,cp2,laser,laser-d,decs,rubric", "LIST",
         "reward schemes to compute"},
        {"red", OPT_DOUBLE, &red, "-1", "N",
         "cp1/cp2 redundancy allowance (-1: 3 for cp1, 1 for cp2)"},
        {"gamma", OPT_DOUBLE, &gamma, "-1", "X", "cp1/cp2 penalty (-1: 0.3 for cp1, 0.6 for cp2)"},
        {"target-len", OPT_DOUBLE, &s.target_len, "1024", "L", "laser: target length L_T"},
        {"alpha", OPT_DOUBLE, &s.alpha, "0.5", "X", "laser, laser-d: length bonus"},
        {"max-len", OPT_DOUBLE, &s.max_len, "8192", "L", "decs: L_max"},
        {"method", OPT_STRING, &s.method, "loo", "M", "minimal sets of this minimiser"},
        {"retrieval", OPT_INT, &s.retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {"dataset", OPT_STRING, &s.dataset, NULL, "NAME", "the dataset of the question ids"},
        {"skip-bad", OPT_FLAG, &s.skip_bad, NULL, NULL, "store bad lines in `rejects` and go on"},
        {NULL},
    };
    const struct cli cli = {
        "score", "FILE...", "Score policy trajectories (JSON Lines) with the reward schemes.",
        NULL,    opts,      1,
        -1};
    char **files;
    int nfiles;
    int rc = cli_parse(&cli, ctx, argc, argv, &files, &nfiles);
    if (rc != PARE_OK) {
        free(files);
        return rc == CLI_HELP ? PARE_OK : rc;
    }
    /* schemes */
    char *list = xstrdup(schemes);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < N_SCHEMES && strcmp(scheme_names[k], tok) != 0) k++;
        if (k == N_SCHEMES) {
            fprintf(stderr,
                    "pare score: unknown scheme '%s' (cp1, cp2, laser, laser-d, decs, "
                    "rubric)\n",
                    tok);
            free(list);
            free(files);
            return PARE_EINPUT;
        }
        s.schemes[k] = 1;
    }
    free(list);
    s.red1 = red >= 0 ? red : 3;
    s.red2 = red >= 0 ? red : 1;
    s.gamma1 = gamma >= 0 ? gamma : 0.3;
    s.gamma2 = gamma >= 0 ? gamma : 0.6;
    if (s.max_len <= 0 || s.target_len < 0) {
        fprintf(stderr, "pare score: --max-len must be positive\n");
        free(files);
        return PARE_EUSAGE;
    }
    if (reader_check_all(files, nfiles, &s.err) != PARE_OK) { /* before anything is written */
        fprintf(stderr, "%s\n", sbuf_str(&s.err));
        sbuf_free(&s.err);
        free(files);
        return PARE_EINPUT;
    }
    if (job_open(&s.job, ctx, "score", 0, argc, argv, &s.st) != PARE_OK) {
        free(files);
        return PARE_EFAIL;
    }
    s.codec = blob_codec_new(NULL, NULL);
    rc = store_retrieval(s.st, &s.retrieval, 0, &s.err);
    if (rc == PARE_OK && (store_exec(s.st, "CREATE TEMP TABLE IF NOT EXISTS score_seen(id "
                                           "INTEGER PRIMARY KEY)") != PARE_OK ||
                          store_begin(s.st) != PARE_OK))
        rc = store_fail(s.st, &s.err, "BEGIN");
    for (int i = 0; i < nfiles && rc == PARE_OK; i++) rc = read_trajectories(&s, files[i]);
    if (rc == PARE_OK) rc = rewards(&s);
    if (rc == PARE_OK && store_commit(s.st) != PARE_OK) rc = store_fail(s.st, &s.err, "COMMIT");
    if (rc != PARE_OK) {
        store_rollback(s.st);
        fprintf(stderr, "%s\n", sbuf_str(&s.err));
        if (rc == PARE_EINPUT) fprintf(stderr, "pare score: nothing was stored\n");
    } else {
        job_say(&s.job, "score: %zu trajectories (%lld new), %lld rejected", s.n,
                (long long)s.new_traj, (long long)s.rejected);
    }
    rc = job_end(&s.job, rc, (int64_t)s.n, s.rejected, rc == PARE_OK ? NULL : sbuf_str(&s.err),
                 NULL);
    free(s.items);
    qcache_free(&s);
    blob_codec_free(s.codec);
    sbuf_free(&s.body);
    sbuf_free(&s.err);
    store_close(s.st);
    free(files);
    return rc;
}
