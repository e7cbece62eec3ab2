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

/* A set of 64-bit keys with a count each: open addressing, doubled when half full. Key 0 is
 * kept apart (slots hold key + 1 ... no: a flag), so every key can be stored. */
struct idset {
    uint64_t *key;
    uint32_t *count; /* 0: empty slot */
    size_t n, cap;
};

/* Adds one to key's count and returns the new count. */
static uint32_t idset_bump(struct idset *s, uint64_t key)
{
    if (s->n * 2 >= s->cap) {
        struct idset t = {0};
        t.cap = s->cap ? s->cap * 2 : 4096;
        t.key = xcalloc(t.cap, sizeof *t.key);
        t.count = xcalloc(t.cap, sizeof *t.count);
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->count[i]) continue;
            size_t h = XXH3_64bits(&s->key[i], sizeof s->key[i]) & (t.cap - 1);
            while (t.count[h]) h = (h + 1) & (t.cap - 1);
            t.key[h] = s->key[i];
            t.count[h] = s->count[i];
        }
        t.n = s->n;
        free(s->key);
        free(s->count);
        *s = t;
    }
    size_t h = XXH3_64bits(&key, sizeof key) & (s->cap - 1);
    while (s->count[h] && s->key[h] != key) h = (h + 1) & (s->cap - 1);
    if (!s->count[h]) {
        s->key[h] = key;
        s->n++;
    }
    return ++s->count[h];
}

static void idset_free(struct idset *s)
{
    free(s->key);
    free(s->count);
}

struct traj_scorer {
    struct store *st;
    struct traj_scope scope;
    struct reward_params params;
    int schemes[N_SCHEMES];
    struct blob_codec *codec; /* responses: frames without a dictionary */
    struct traj_question *qc; /* open addressing on xxh3 of the dataset's id */
    size_t qc_cap, qc_n;
    struct traj_item *items;
    size_t n, cap;
    int64_t new_traj;
    struct idset seen;    /* trajectory rows taken in this run */
    struct idset repeats; /* hashes of lines without an id, with how often each came */
    struct sbuf body, meta, key;
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

/* The minimal set of the scope's method and judge (the newest, when no judge is named). */
static int load_members(struct traj_scorer *s, struct traj_question *q)
{
    sqlite3_stmt *ms = store_stmt(s->st, "SELECT m.passage_id FROM evidence_members m WHERE "
                                         "m.set_id = (SELECT e.id FROM evidence_sets e WHERE "
                                         "e.question_id = ?1 AND e.method = ?2 AND (?3 IS NULL "
                                         "OR e.judge = ?3) AND e.status = 'minimal' ORDER BY "
                                         "e.id DESC LIMIT 1) ORDER BY m.rank");
    if (!ms || sqlite3_bind_int64(ms, 1, q->qid) ||
        sqlite3_bind_text(ms, 2, s->scope.method, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(ms, 3, s->scope.judge, -1, SQLITE_STATIC))
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

/* The kind of a stored rubric item; an unknown kind reads as grounded, as augment wrote it. */
static enum rubric_kind rubric_kind(const char *kind)
{
    int k = reward_rubric_kind(kind);
    return k < 0 ? RUBRIC_GROUNDED : (enum rubric_kind)k;
}

/* The passage ids a rubric item lists in its `expected` JSON (no_extra: "allowed", grounded:
 * "answer_passages"); entries that are not integers count as 0, as the rubric job wrote none. */
static void rubric_ids(struct reward_rubric_item *it, const char *expected)
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
        struct reward_rubric_item *it = &q->rubric[q->n_rubric++];
        it->kind = rubric_kind((const char *)sqlite3_column_text(st, 0));
        it->points = sqlite3_column_double(st, 1);
        it->pid = sqlite3_column_int64(st, 2);
        rubric_ids(it, (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

/*
 * The question's row: its id and gold answers, by the dataset's id within dataset (NULL: any).
 * Returns 1 found, 0 unknown or ambiguous (err says which), -1 on a database error.
 */
static int find_question(struct traj_scorer *s, const char *ext, const char *dataset, int64_t *qid,
                         json_t **golds, struct sbuf *err)
{
    /* datasets first: the questions' (dataset_id, ext_id) index then finds the row (a join
     * from questions scanned every question for every lookup) */
    sqlite3_stmt *st = store_stmt(s->st, "SELECT q.id, q.answers FROM datasets d CROSS JOIN "
                                         "questions q ON q.dataset_id = d.id AND q.ext_id = ?1 "
                                         "WHERE ?2 IS NULL OR d.name = ?2 LIMIT 2");
    if (!st || sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 2, dataset, -1, SQLITE_STATIC))
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
    if (found == 0 && dataset)
        sbuf_setf(err, "unknown question id '%s' in dataset '%s'", ext, dataset);
    else if (found == 0)
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
        if (!s->qc[i].key) continue;
        size_t h = XXH3_64bits(s->qc[i].key, strlen(s->qc[i].key)) & (cap - 1);
        while (t[h].key) h = (h + 1) & (cap - 1);
        t[h] = s->qc[i];
    }
    free(s->qc);
    s->qc = t;
    s->qc_cap = cap;
}

/* Loads question ext (of dataset, or NULL) into the empty cache slot q. */
static int load_question(struct traj_scorer *s, struct traj_question *q, const char *ext,
                         const char *dataset, struct sbuf *err)
{
    int64_t qid = 0;
    json_t *golds;
    int found = find_question(s, ext, dataset, &qid, &golds, err);
    if (found < 0) return store_fail(s->st, err, "looking up questions");
    if (!found) return PARE_EINPUT;
    q->key = xstrdup(s->key.p);
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
    return PARE_OK;
}

/*
 * The question of a line from the cache, loaded on first use: its id within --dataset, else
 * within the dataset its ground truth names, else in any. Returns PARE_OK with *out,
 * PARE_EINPUT (unknown or ambiguous id: err says which) or PARE_EFAIL (err set).
 */
static int question(struct traj_scorer *s, const struct traj_line *l, struct traj_question **out,
                    struct sbuf *err)
{
    const char *dataset = s->scope.dataset ? s->scope.dataset : l->dataset;
    sbuf_reset(&s->key);
    sbuf_adds(&s->key, dataset ? dataset : "");
    sbuf_addc(&s->key, '\x1f');
    sbuf_add(&s->key, l->question.p, l->question.len);
    qc_grow(s);
    size_t h = XXH3_64bits(s->key.p, s->key.len) & (s->qc_cap - 1);
    for (; s->qc[h].key; h = (h + 1) & (s->qc_cap - 1)) {
        if (strcmp(s->qc[h].key, s->key.p) == 0) {
            *out = &s->qc[h];
            return PARE_OK;
        }
    }
    int rc = load_question(s, &s->qc[h], l->question.p, dataset, err);
    *out = &s->qc[h];
    return rc;
}

static void qcache_free(struct traj_scorer *s)
{
    for (size_t i = 0; i < s->qc_cap; i++) {
        struct traj_question *q = &s->qc[i];
        if (!q->key) continue;
        free(q->key);
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
                                    const struct reward_params *params,
                                    const int schemes[N_SCHEMES])
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
    idset_free(&s->seen);
    idset_free(&s->repeats);
    sbuf_free(&s->body);
    sbuf_free(&s->meta);
    sbuf_free(&s->key);
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

/* Binds the columns of a trajectory row to the INSERT statement st. Returns nonzero on error. */
static int bind_trajectory(struct traj_scorer *s, sqlite3_stmt *st, const struct traj_line *l,
                           const char *seltext, const char *answer, const struct traj_item *it)
{
    sbuf_reset(&s->meta);
    if (l->has_score) sbuf_addf(&s->meta, "{\"score\":%.17g}", l->score);
    return sqlite3_bind_int64(st, 1, it->qid) ||
           sqlite3_bind_text(st, 2, l->ext.p, (int)l->ext.len, SQLITE_STATIC) ||
           sqlite3_bind_text(st, 3, l->policy, -1, SQLITE_STATIC) ||
           (l->has_step ? sqlite3_bind_int64(st, 4, l->step) : sqlite3_bind_null(st, 4)) ||
           sqlite3_bind_text(st, 5, seltext, -1, SQLITE_STATIC) ||
           sqlite3_bind_blob(st, 6, s->body.p, (int)s->body.len, SQLITE_STATIC) ||
           sqlite3_bind_text(st, 7, answer, -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(st, 8, (int64_t)it->m.f.length) ||
           (l->has_score ? sqlite3_bind_text(st, 9, s->meta.p, (int)s->meta.len, SQLITE_STATIC)
                         : sqlite3_bind_null(st, 9));
}

/* The selection as stored, a JSON array: the line's "selected", else the ids its response's
 * evidence tag lists. Written by hand: printf per id cost more than the rest of a line. */
static char *selection_text(const int64_t *ids, int n)
{
    struct sbuf b = {0};
    char num[24];
    sbuf_addc(&b, '[');
    for (int i = 0; i < n; i++) {
        char *p = num + sizeof num;
        uint64_t u = ids[i] < 0 ? 0 - (uint64_t)ids[i] : (uint64_t)ids[i];
        do *--p = (char)('0' + u % 10);
        while (u /= 10);
        if (ids[i] < 0) *--p = '-';
        if (i) sbuf_addc(&b, ',');
        sbuf_add(&b, p, (size_t)(num + sizeof num - p));
    }
    sbuf_addc(&b, ']');
    return sbuf_detach(&b);
}

/* Inserts the trajectory unless stored before; *id and *fresh (1 when inserted now). */
static int store_trajectory(struct traj_scorer *s, const struct traj_line *l, const char *answer,
                            const int64_t *ids, int n, const struct traj_item *it, int64_t *id,
                            int *fresh, struct sbuf *err)
{
    char *seltext = selection_text(ids, n);
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO trajectories(question_id, ext_id, policy, "
                                         "step, selected, response, answer, n_tokens, meta) "
                                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                                         "ON CONFLICT(question_id, ext_id) DO NOTHING");
    int bad =
        !seltext || !st || bind_trajectory(s, st, l, seltext, answer, it) || store_done(s->st, st);
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

/*
 * A line without a trajectory id is named by its hash; the k-th identical line of a run gets
 * "-k" (a trainer's group of rollouts can hold the same response twice), so a rerun of the
 * same files names every line as before.
 */
static void name_repeat(struct traj_scorer *s, struct traj_line *l)
{
    if (!l->default_ext) return;
    uint64_t h = strtoull(l->ext.p + 1, NULL, 16);
    uint32_t k = idset_bump(&s->repeats, h);
    if (k > 1) sbuf_addf(&l->ext, "-%u", k);
}

/* Measures and stores a checked line of question q. */
static int keep(struct traj_scorer *s, const struct traj_question *q, const struct traj_line *l,
                const int64_t *ids, int ns, int stated, struct sbuf *err)
{
    struct traj_item it;
    char *answer = traj_answer(l);
    traj_measure(q, l, answer, ids, ns, stated, &it);
    int fresh, rc = blob_compress(s->codec, l->response, strlen(l->response), &s->body, err);
    if (rc == PARE_OK) rc = store_trajectory(s, l, answer, ids, ns, &it, &it.traj_id, &fresh, err);
    free(answer);
    if (rc != PARE_OK) return rc;
    if (idset_bump(&s->seen, (uint64_t)it.traj_id) > 1) {
        sbuf_setf(err, "duplicate trajectory '%s' of question '%s'", l->ext.p, l->question.p);
        return PARE_EINPUT;
    }
    s->new_traj += fresh;
    it.fresh = fresh;
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
    int ns = 0, stated = 0;
    int rc = traj_parse_line(rec, raw, raw_len, &l, err);
    if (rc == PARE_OK) rc = question(s, &l, &q, err);
    if (rc == PARE_OK) rc = traj_selection(&l, &ids, &ns, &stated, err);
    if (rc == PARE_OK) {
        name_repeat(s, &l);
        rc = keep(s, q, &l, ids, ns, stated, err);
    }
    free(ids);
    traj_line_free(&l);
    return rc;
}

/* Stores one reward: a plain INSERT for a trajectory this run stored (nothing to replace),
 * else replacing the row an earlier run left. */
static int store_reward(struct traj_scorer *s, const struct traj_item *it, enum reward_scheme k,
                        double v, const struct sbuf *comp, struct sbuf *err)
{
    sqlite3_stmt *st = it->fresh
                           ? store_stmt(s->st, "INSERT INTO rewards(trajectory_id, scheme, value, "
                                               "components) VALUES (?1, ?2, ?3, ?4)")
                           : store_stmt(s->st, "INSERT INTO rewards(trajectory_id, scheme, value, "
                                               "components) VALUES (?1, ?2, ?3, ?4) ON "
                                               "CONFLICT(trajectory_id, scheme) DO UPDATE SET "
                                               "value = excluded.value, "
                                               "components = excluded.components");
    if (!st || sqlite3_bind_int64(st, 1, it->traj_id) ||
        sqlite3_bind_text(st, 2, reward_scheme_names[k], -1, SQLITE_STATIC) ||
        sqlite3_bind_double(st, 3, v) ||
        sqlite3_bind_text(st, 4, comp->p, (int)comp->len, SQLITE_STATIC) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a reward");
    return PARE_OK;
}

/* What a run's rewards share: each scheme's parameters as JSON members, per LASER-D bucket. */
struct reward_texts {
    struct sbuf params[N_SCHEMES][3];
    double target[3];
};

static void texts_init(struct traj_scorer *s, struct reward_texts *t)
{
    struct reward_item any = {.has_rubric = 1};
    for (int k = 0; k < N_SCHEMES; k++) {
        for (int b = 0; b < 3; b++) {
            double v;
            reward_value((enum reward_scheme)k, &any, &s->params, t->target[b], &v,
                         &t->params[k][b]);
        }
    }
}

static void texts_free(struct reward_texts *t)
{
    for (int k = 0; k < N_SCHEMES; k++)
        for (int b = 0; b < 3; b++) sbuf_free(&t->params[k][b]);
}

/* Every requested scheme's reward of one item. */
static int item_rewards(struct traj_scorer *s, const struct traj_item *it, int bucket,
                        const struct reward_texts *t, struct sbuf *base, struct sbuf *ct,
                        struct sbuf *err)
{
    sbuf_reset(base);
    reward_components(&it->m, bucket, base);
    for (int k = 0; k < N_SCHEMES; k++) {
        double v;
        if (!s->schemes[k] ||
            reward_value((enum reward_scheme)k, &it->m, &s->params, t->target[bucket], &v, NULL))
            continue;
        const struct sbuf *p = &t->params[k][bucket];
        sbuf_reset(ct);
        sbuf_add(ct, base->p, base->len);
        sbuf_add(ct, p->p, p->len);
        sbuf_addc(ct, '}');
        if (store_reward(s, it, (enum reward_scheme)k, v, ct, err) != PARE_OK) return PARE_EFAIL;
    }
    return PARE_OK;
}

int traj_scorer_rewards(struct traj_scorer *s, struct sbuf *err)
{
    int *bucket = xcalloc(s->n + 1, sizeof *bucket);
    struct reward_texts t = {0};
    traj_buckets(s->items, s->n, bucket);
    traj_laser_d_targets(s->items, s->n, bucket, t.target);
    texts_init(s, &t);
    struct sbuf base = {0}, ct = {0};
    int rc = PARE_OK;
    for (size_t i = 0; i < s->n && rc == PARE_OK; i++)
        rc = item_rewards(s, &s->items[i], bucket[i], &t, &base, &ct, err);
    sbuf_free(&base);
    sbuf_free(&ct);
    texts_free(&t);
    free(bucket);
    return rc;
}
