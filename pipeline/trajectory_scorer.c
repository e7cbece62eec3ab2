/*
 * trajectory_scorer.c - a scoring run over the store (trajectory.h, "a scoring run"): the
 * per-question facts looked up once, the trajectories stored as they are taken, the rewards at
 * the end.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/text.h"
#include "pipeline/trajectory.h"
#include "stores/blob.h"

struct traj_scorer {
    struct store *st;
    struct traj_scope scope;
    struct traj_params params;
    int schemes[N_SCHEMES];
    struct blob_codec *codec; /* responses: frames without a dictionary */
    struct traj_question *qc; /* open addressing on xxh3 of the dataset's id */
    size_t qc_cap, qc_n;
    struct traj_item *items;
    size_t n, cap;
    int64_t new_traj;
    int seen_ready; /* temp.score_seen exists */
    struct sbuf body;
};

/* ---- questions ---- */

/* The integer column 0 of a statement's rows (a and b bound to ?1 and ?2 when the SQL has them).
 * Returns the number of rows, or -1 on error (*out freed). */
static int ids_of(struct store *st, const char *sql, int64_t a, int64_t b, int64_t **out)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    *out = NULL;
    int np = s ? sqlite3_bind_parameter_count(s) : 0;
    if (!s || sqlite3_bind_int64(s, 1, a) || (np > 1 && sqlite3_bind_int64(s, 2, b))) return -1;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)out, &cap, n + 1, sizeof **out);
        (*out)[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return (int)n;
}

/* Candidates: the retrieval's, else the question's own context. */
static int load_candidates(struct traj_scorer *s, struct traj_question *q)
{
    int n = ids_of(s->st,
                   "SELECT passage_id FROM candidates WHERE retrieval_id = ?1 AND "
                   "question_id = ?2",
                   s->scope.retrieval, q->qid, &q->cand);
    if (n == 0) {
        free(q->cand);
        n = ids_of(s->st, "SELECT passage_id FROM question_passages WHERE question_id = ?1", q->qid,
                   0, &q->cand);
    }
    q->nc = n > 0 ? n : 0;
    return n < 0 ? PARE_EFAIL : PARE_OK;
}

/* The minimal set under the scope's minimiser (the newest, if several judges). */
static int load_members(struct traj_scorer *s, struct traj_question *q)
{
    sqlite3_stmt *ms = store_stmt(s->st, "SELECT m.passage_id FROM evidence_sets e JOIN "
                                         "evidence_members m ON m.set_id = e.id WHERE "
                                         "e.question_id = ?1 AND e.method = ?2 AND e.status = "
                                         "'minimal' ORDER BY e.id DESC, m.rank");
    if (!ms || sqlite3_bind_int64(ms, 1, q->qid) ||
        sqlite3_bind_text(ms, 2, s->scope.method, -1, SQLITE_STATIC))
        return PARE_EFAIL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(ms)) == SQLITE_ROW) {
        xgrow((void **)&q->mem, &cap, (size_t)q->nm + 1, sizeof *q->mem);
        q->mem[q->nm++] = sqlite3_column_int64(ms, 0);
    }
    sqlite3_reset(ms);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

static enum rubric_kind rubric_kind(const char *kind)
{
    if (!kind) return RUBRIC_GROUNDED;
    return strcmp(kind, "answer") == 0     ? RUBRIC_ANSWER
           : strcmp(kind, "evidence") == 0 ? RUBRIC_EVIDENCE
           : strcmp(kind, "no_extra") == 0 ? RUBRIC_NO_EXTRA
                                           : RUBRIC_GROUNDED;
}

/* The passage ids a rubric item lists in its `expected` JSON (no_extra: "allowed", grounded:
 * "answer_passages"); entries that are not integers count as 0, as the rubric job wrote none. */
static void rubric_ids(struct traj_rubric_item *it, const char *expected)
{
    json_error_t je;
    json_t *exp = expected ? json_loads(expected, 0, &je) : NULL;
    json_t *arr = json_object_get(exp, it->kind == RUBRIC_NO_EXTRA ? "allowed" : "answer_passages");
    it->n_ids = json_array_size(arr);
    it->ids = xcalloc(it->n_ids + 1, sizeof *it->ids);
    for (size_t i = 0; i < it->n_ids; i++) it->ids[i] = json_integer_value(json_array_get(arr, i));
    json_decref(exp);
}

static int load_rubric(struct traj_scorer *s, struct traj_question *q)
{
    sqlite3_stmt *st = store_stmt(s->st, "SELECT kind, points, passage_id, expected FROM "
                                         "rubric_items WHERE question_id = ?1 ORDER BY item_no");
    if (!st || sqlite3_bind_int64(st, 1, q->qid)) return PARE_EFAIL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        xgrow((void **)&q->rubric, &cap, (size_t)q->n_rubric + 1, sizeof *q->rubric);
        struct traj_rubric_item *it = &q->rubric[q->n_rubric++];
        it->kind = rubric_kind((const char *)sqlite3_column_text(st, 0));
        it->points = sqlite3_column_double(st, 1);
        it->pid = sqlite3_column_int64(st, 2);
        rubric_ids(it, (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

/*
 * The question's row: its id and gold answers. Returns 1 found, 0 unknown or ambiguous (err
 * says which), -1 on a database error.
 */
static int find_question(struct traj_scorer *s, const char *ext, int64_t *qid, json_t **golds,
                         struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "SELECT q.id, q.answers FROM questions q JOIN datasets d "
                                         "ON d.id = q.dataset_id WHERE q.ext_id = ?1 AND "
                                         "(?2 IS NULL OR d.name = ?2) LIMIT 2");
    if (!st || sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 2, s->scope.dataset, -1, SQLITE_STATIC))
        return -1;
    int found = 0, rc;
    *golds = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_error_t je;
        *qid = sqlite3_column_int64(st, 0);
        json_decref(*golds);
        *golds = json_loads((const char *)sqlite3_column_text(st, 1), 0, &je);
        found++;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE && found == 1) return 1;
    json_decref(*golds);
    *golds = NULL;
    if (rc != SQLITE_DONE) return -1;
    if (found == 0)
        sbuf_setf(err, "unknown question id '%s'", ext);
    else
        sbuf_setf(err, "question id '%s' is in several datasets: name one with --dataset", ext);
    return 0;
}

/* Doubles the cache when half full. */
static void qc_grow(struct traj_scorer *s)
{
    if (s->qc_n * 2 < s->qc_cap) return;
    size_t cap = s->qc_cap ? s->qc_cap * 2 : 1024;
    struct traj_question *t = xcalloc(cap, sizeof *t);
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

/*
 * Question `ext` from the cache, loaded on first use. Returns PARE_OK with *out, PARE_EINPUT
 * (unknown or ambiguous id: err says which) or PARE_EFAIL (err set).
 */
static int question(struct traj_scorer *s, const char *ext, struct traj_question **out,
                    struct sbuf *err)
{
    qc_grow(s);
    size_t h = XXH3_64bits(ext, strlen(ext)) & (s->qc_cap - 1);
    for (; s->qc[h].ext; h = (h + 1) & (s->qc_cap - 1)) {
        if (strcmp(s->qc[h].ext, ext) == 0) {
            *out = &s->qc[h];
            return PARE_OK;
        }
    }
    int64_t qid = 0;
    json_t *golds;
    int found = find_question(s, ext, &qid, &golds, err);
    if (found < 0) return store_fail(s->st, err, "looking up questions");
    if (!found) return PARE_EINPUT;
    struct traj_question *q = &s->qc[h];
    q->ext = xstrdup(ext);
    q->qid = qid;
    q->golds = golds;
    s->qc_n++;
    const char *first = json_string_value(json_array_get(golds, 0));
    struct sbuf norm = {0};
    text_squad_normalize(first ? first : "", &norm);
    q->norm_gold = sbuf_detach(&norm);
    if (load_candidates(s, q) != PARE_OK || load_members(s, q) != PARE_OK ||
        load_rubric(s, q) != PARE_OK)
        return store_fail(s->st, err, "looking up questions");
    *out = q;
    return PARE_OK;
}

static void qcache_free(struct traj_scorer *s)
{
    for (size_t i = 0; i < s->qc_cap; i++) {
        struct traj_question *q = &s->qc[i];
        if (!q->ext) continue;
        free(q->ext);
        free(q->cand);
        free(q->mem);
        json_decref(q->golds);
        free(q->norm_gold);
        for (int r = 0; r < q->n_rubric; r++) free(q->rubric[r].ids);
        free(q->rubric);
    }
    free(s->qc);
}

/* ---- the run ---- */

struct traj_scorer *traj_scorer_new(struct store *st, const struct traj_scope *scope,
                                    const struct traj_params *params, const int schemes[N_SCHEMES])
{
    struct traj_scorer *s = xcalloc(1, sizeof *s);
    s->st = st;
    s->scope = *scope;
    s->params = *params;
    memcpy(s->schemes, schemes, sizeof s->schemes);
    s->codec = blob_codec_new(NULL, NULL);
    return s;
}

void traj_scorer_free(struct traj_scorer *s)
{
    if (!s) return;
    qcache_free(s);
    free(s->items);
    blob_codec_free(s->codec);
    sbuf_free(&s->body);
    free(s);
}

size_t traj_scorer_count(const struct traj_scorer *s)
{
    return s->n;
}

int64_t traj_scorer_new_count(const struct traj_scorer *s)
{
    return s->new_traj;
}

static int passage_exists(void *ud, int64_t id)
{
    struct traj_scorer *s = ud;
    int64_t x;
    sqlite3_stmt *st = store_stmt(s->st, "SELECT 1 FROM passages WHERE id = ?1");
    if (!st || sqlite3_bind_int64(st, 1, id)) return -1;
    return store_int(s->st, st, &x);
}

/* Inserts the trajectory unless stored before; *id and *fresh (1 when inserted now). */
static int store_trajectory(struct traj_scorer *s, const struct traj_line *l, const char *answer,
                            const struct traj_item *it, int64_t *id, int *fresh, struct sbuf *err)
{
    char *seltext = json_dumps(l->selected, JSON_COMPACT);
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO trajectories(question_id, ext_id, policy, "
                                         "step, selected, response, answer, n_tokens) VALUES "
                                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                                         "ON CONFLICT(question_id, ext_id) DO NOTHING");
    int bad = !seltext || !st || sqlite3_bind_int64(st, 1, it->qid) ||
              sqlite3_bind_text(st, 2, l->ext.p, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 3, l->policy, -1, SQLITE_STATIC) ||
              (l->has_step ? sqlite3_bind_int64(st, 4, l->step) : sqlite3_bind_null(st, 4)) ||
              sqlite3_bind_text(st, 5, seltext, -1, SQLITE_STATIC) ||
              sqlite3_bind_blob(st, 6, s->body.p, (int)s->body.len, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 7, answer, -1, SQLITE_STATIC) ||
              sqlite3_bind_int64(st, 8, (int64_t)it->f.length) || store_done(s->st, st);
    free(seltext);
    if (bad) return store_fail(s->st, err, "storing a trajectory");
    *fresh = sqlite3_changes(store_db(s->st)) == 1;
    if (*fresh) {
        *id = sqlite3_last_insert_rowid(store_db(s->st));
        return PARE_OK;
    }
    st = store_stmt(s->st, "SELECT id FROM trajectories WHERE question_id = ?1 AND ext_id = ?2");
    if (!st || sqlite3_bind_int64(st, 1, it->qid) ||
        sqlite3_bind_text(st, 2, l->ext.p, -1, SQLITE_STATIC) || store_int(s->st, st, id) != 1)
        return store_fail(s->st, err, "reading a trajectory");
    return PARE_OK;
}

/* The same trajectory twice in this run is a duplicate line: PARE_EINPUT. */
static int check_once(struct traj_scorer *s, const struct traj_line *l, int64_t id,
                      struct sbuf *err)
{
    if (!s->seen_ready &&
        store_exec(s->st, "CREATE TEMP TABLE IF NOT EXISTS score_seen(id INTEGER PRIMARY KEY)"))
        return store_fail(s->st, err, "checking trajectory ids");
    s->seen_ready = 1;
    sqlite3_stmt *st =
        store_stmt(s->st, "INSERT INTO temp.score_seen(id) VALUES (?1) ON CONFLICT DO NOTHING");
    if (!st || sqlite3_bind_int64(st, 1, id) || store_done(s->st, st))
        return store_fail(s->st, err, "checking trajectory ids");
    if (sqlite3_changes(store_db(s->st)) == 0) {
        sbuf_setf(err, "duplicate trajectory '%s' of question '%s'", l->ext.p, l->question.p);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* Measures and stores a checked line of question q. */
static int keep(struct traj_scorer *s, const struct traj_question *q, const struct traj_line *l,
                const int64_t *ids, int ns, struct sbuf *err)
{
    struct traj_item it;
    char *answer = traj_answer(l);
    traj_measure(q, l, answer, ids, ns, &it);
    int fresh, rc = blob_compress(s->codec, l->response, strlen(l->response), &s->body, err);
    if (rc == PARE_OK) rc = store_trajectory(s, l, answer, &it, &it.traj_id, &fresh, err);
    free(answer);
    if (rc == PARE_OK) rc = check_once(s, l, it.traj_id, err);
    if (rc != PARE_OK) return rc;
    s->new_traj += fresh;
    xgrow((void **)&s->items, &s->cap, s->n + 1, sizeof *s->items);
    s->items[s->n++] = it;
    return PARE_OK;
}

int traj_scorer_take(struct traj_scorer *s, json_t *rec, const char *raw, size_t raw_len,
                     struct sbuf *err)
{
    struct traj_line l;
    struct traj_question *q = NULL;
    int64_t *ids = NULL;
    int ns = 0;
    int rc = traj_parse_line(rec, raw, raw_len, &l, err);
    if (rc == PARE_OK) rc = question(s, l.question.p, &q, err);
    if (rc == PARE_OK) {
        rc = traj_check_selected(l.selected, q, passage_exists, s, &ids, &ns, err);
        if (rc == PARE_EFAIL) store_fail(s->st, err, "looking up passages");
    }
    if (rc == PARE_OK) rc = keep(s, q, &l, ids, ns, err);
    free(ids);
    traj_line_free(&l);
    return rc;
}

static int store_reward(struct traj_scorer *s, int64_t traj_id, enum traj_scheme k, double v,
                        const struct sbuf *comp, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO rewards(trajectory_id, scheme, value, "
                                         "components) VALUES (?1, ?2, ?3, ?4) ON "
                                         "CONFLICT(trajectory_id, scheme) DO UPDATE SET "
                                         "value = excluded.value, "
                                         "components = excluded.components");
    if (!st || sqlite3_bind_int64(st, 1, traj_id) ||
        sqlite3_bind_text(st, 2, traj_scheme_names[k], -1, SQLITE_STATIC) ||
        sqlite3_bind_double(st, 3, v) ||
        sqlite3_bind_text(st, 4, comp->p, (int)comp->len, SQLITE_STATIC) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a reward");
    return PARE_OK;
}

/* Every requested scheme's reward of one item. */
static int item_rewards(struct traj_scorer *s, const struct traj_item *it, int bucket,
                        double target, struct sbuf *base, struct sbuf *ct, struct sbuf *err)
{
    sbuf_reset(base);
    traj_components(it, bucket, base);
    for (int k = 0; k < N_SCHEMES; k++) {
        if (!s->schemes[k]) continue;
        double v;
        sbuf_reset(ct);
        sbuf_add(ct, base->p, base->len);
        if (traj_reward((enum traj_scheme)k, it, &s->params, target, &v, ct) != 0) continue;
        if (store_reward(s, it->traj_id, (enum traj_scheme)k, v, ct, err) != PARE_OK)
            return PARE_EFAIL;
    }
    return PARE_OK;
}

int traj_scorer_rewards(struct traj_scorer *s, struct sbuf *err)
{
    int *bucket = xcalloc(s->n + 1, sizeof *bucket);
    double target[3];
    traj_buckets(s->items, s->n, bucket);
    traj_laser_d_targets(s->items, s->n, bucket, target);
    struct sbuf base = {0}, ct = {0};
    int rc = PARE_OK;
    for (size_t i = 0; i < s->n && rc == PARE_OK; i++)
        rc = item_rewards(s, &s->items[i], bucket[i], target[bucket[i]], &base, &ct, err);
    sbuf_free(&base);
    sbuf_free(&ct);
    free(bucket);
    return rc;
}
