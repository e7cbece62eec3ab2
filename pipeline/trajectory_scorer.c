/*
 * trajectory_scorer.c - a scoring run over the store (trajectory.h, "a scoring run"): the
 * per-question facts looked up once, the trajectories stored as they are taken, the rewards at
 * the end.
 */
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/jsonfast.h"
#include "common/text.h"
#include "pipeline/trajectory_impl.h"

uint32_t idset_bump(struct idset *s, uint64_t key)
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

void idset_free(struct idset *s)
{
    free(s->key);
    free(s->count);
}

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

/* Members by rank (then passage id, the order of their rows). */
static int cmp_member(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[1] != y[1]) return x[1] < y[1] ? -1 : 1;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * The minimal set of the scope's method and judge (the newest, when no judge is named), its
 * members by rank. max() and a sort here rather than ORDER BY in SQL: SQLite sorted both in
 * temporary B-trees, and building them was most of loading a question.
 */
static int load_members(struct traj_scorer *s, struct traj_question *q)
{
    sqlite3_stmt *ms = store_stmt(s->st, "SELECT m.passage_id, m.rank FROM evidence_members m "
                                         "WHERE m.set_id = (SELECT max(e.id) FROM evidence_sets e "
                                         "WHERE e.question_id = ?1 AND e.method = ?2 AND (?3 IS "
                                         "NULL OR e.judge = ?3) AND e.status = 'minimal')");
    if (!ms || sqlite3_bind_int64(ms, 1, q->qid) ||
        sqlite3_bind_text(ms, 2, s->scope.method, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(ms, 3, s->scope.judge, -1, SQLITE_STATIC))
        return PARE_EFAIL;
    int64_t(*row)[2] = NULL;
    size_t cap = 0, n = 0;
    int rc;
    while ((rc = sqlite3_step(ms)) == SQLITE_ROW) {
        xgrow((void **)&row, &cap, n + 1, sizeof *row);
        row[n][0] = sqlite3_column_int64(ms, 0);
        row[n++][1] = sqlite3_column_int64(ms, 1);
    }
    sqlite3_reset(ms);
    if (n > 1) qsort(row, n, sizeof *row, cmp_member);
    q->mem = xcalloc(n + 1, sizeof *q->mem);
    for (size_t i = 0; i < n; i++) q->mem[i] = row[i][0];
    q->nm = (int)n;
    free(row);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

/* A stored JSON text as json_loads(text, 0) reads it (an array or an object, else NULL), by the
 * faster parser when it can vouch for the value: a run loads thousands of questions. */
static json_t *load_json(const char *text)
{
    if (!text) return NULL;
    json_t *v = jsonfast_loadb(text, strlen(text));
    if (!v) {
        json_error_t je;
        return json_loads(text, 0, &je);
    }
    if (json_is_array(v) || json_is_object(v)) return v;
    json_decref(v);
    return NULL;
}

/* The kind of a stored rubric item; an unknown kind reads as grounded, as augment wrote it. */
static enum rubric_kind rubric_kind(const char *kind)
{
    int k = reward_rubric_kind(kind);
    return k < 0 ? RUBRIC_GROUNDED : (enum rubric_kind)k;
}

/* The ids of the array under key in the object expected[0..len) through its cJSON tree (as
 * rubric_ids reads them), when every number in it is an exact integer (traj_numbers_exact).
 * Returns -1 when the text must go through load_json (nothing filled). */
static int rubric_ids_tree(struct jsonfast_arena *a, struct reward_rubric_item *it,
                           const char *expected, size_t len, const char *key)
{
    if (!traj_numbers_exact(expected, len)) return -1;
    jsonfast_arena_reset(a);
    const cJSON *t = jsonfast_tree_in(a, expected, len);
    if (!cJSON_IsObject(t)) return -1;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(t, key);
    it->n_ids = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    it->ids = xcalloc(it->n_ids + 1, sizeof *it->ids);
    size_t i = 0;
    for (const cJSON *v = it->n_ids ? arr->child : NULL; v; v = v->next, i++)
        it->ids[i] = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
    return 0;
}

/* The passage ids a rubric item lists in its `expected` JSON (no_extra: "allowed", grounded:
 * "answer_passages"); entries that are not integers count as 0, as the rubric job wrote none.
 * Most items' JSON lists none ({"passage_id":7}): without the key's name in the text (nor an
 * escape that could spell it) the object has no such member, and is not parsed; the others are
 * read from their cJSON tree when exact. Parsing every one into jansson values was a third of
 * loading a question. */
static void rubric_ids(struct jsonfast_arena *a, struct reward_rubric_item *it,
                       const char *expected)
{
    const char *key = it->kind == RUBRIC_NO_EXTRA ? "allowed" : "answer_passages";
    if (!expected || (!strchr(expected, '\\') && !strstr(expected, key))) {
        it->n_ids = 0;
        it->ids = xcalloc(1, sizeof *it->ids);
        return;
    }
    if (rubric_ids_tree(a, it, expected, strlen(expected), key) == 0) return;
    json_t *exp = load_json(expected);
    json_t *arr = json_object_get(exp, key);
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
        rubric_ids(&s->qarena, it, (const char *)sqlite3_column_text(st, 3));
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
        *qid = sqlite3_column_int64(st, 0);
        json_decref(*golds);
        *golds = load_json((const char *)sqlite3_column_text(st, 1));
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
    struct traj_question **t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < s->qc_cap; i++) {
        if (!s->qc[i]) continue;
        size_t h = XXH3_64bits(s->qc[i]->key, strlen(s->qc[i]->key)) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = s->qc[i];
    }
    free(s->qc);
    s->qc = t;
    s->qc_cap = cap;
}

/* Loads question ext (of dataset, or NULL) into a new question, *out, which the caller puts in
 * the cache whether or not the rest of it loads (a failure ends the run). */
static int load_question(struct traj_scorer *s, const char *ext, const char *dataset,
                         struct traj_question **out, struct sbuf *err)
{
    int64_t qid = 0;
    json_t *golds;
    int found = find_question(s, ext, dataset, &qid, &golds, err);
    if (found < 0) return store_fail(s->st, err, "looking up questions");
    if (!found) return PARE_EINPUT;
    struct traj_question *q = *out = xcalloc(1, sizeof *q);
    q->key = xstrdup(s->key.p);
    q->qid = qid;
    q->golds = golds;
    const char *first = json_string_value(json_array_get(golds, 0));
    struct sbuf norm = {0};
    text_squad_normalize(first ? first : "", &norm);
    q->norm_gold = sbuf_detach(&norm);
    sqlite3_stmt *st = store_stmt(s->st, "SELECT pare_in_shard(?1)");
    int64_t in = 0;
    if (!st || sqlite3_bind_int64(st, 1, qid) || store_int(s->st, st, &in) != 1)
        return store_fail(s->st, err, "looking up questions");
    q->in_shard = in != 0;
    st = store_stmt(s->st, "SELECT EXISTS (SELECT 1 FROM trajectories WHERE question_id = ?1)");
    if (!st || sqlite3_bind_int64(st, 1, qid) || store_int(s->st, st, &in) != 1)
        return store_fail(s->st, err, "looking up questions");
    q->stored_before = in != 0;
    if (load_candidates(s, q) != PARE_OK || load_members(s, q) != PARE_OK ||
        load_rubric(s, q) != PARE_OK)
        return store_fail(s->st, err, "looking up questions");
    return PARE_OK;
}

int traj_question_of(struct traj_scorer *s, const struct traj_line *l, struct traj_question **out,
                     struct sbuf *err)
{
    const char *dataset = s->scope.dataset ? s->scope.dataset : l->dataset;
    sbuf_reset(&s->key);
    sbuf_adds(&s->key, dataset ? dataset : "");
    sbuf_addc(&s->key, '\x1f');
    sbuf_add(&s->key, l->question.p, l->question.len);
    qc_grow(s);
    size_t h = XXH3_64bits(s->key.p, s->key.len) & (s->qc_cap - 1);
    for (; s->qc[h]; h = (h + 1) & (s->qc_cap - 1)) {
        if (strcmp(s->qc[h]->key, s->key.p) == 0) {
            *out = s->qc[h];
            return PARE_OK;
        }
    }
    *out = NULL;
    int rc = load_question(s, l->question.p, dataset, out, err);
    if (*out) {
        s->qc[h] = *out;
        s->qc_n++;
    }
    return rc;
}

static void qcache_free(struct traj_scorer *s)
{
    for (size_t i = 0; i < s->qc_cap; i++) {
        struct traj_question *q = s->qc[i];
        if (!q) continue;
        free(q->key);
        free(q->cand);
        free(q->mem);
        json_decref(q->golds);
        free(q->norm_gold);
        for (int r = 0; r < q->n_rubric; r++) free(q->rubric[r].ids);
        free(q->rubric);
        free(q);
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
    s->n_threads = omp_get_max_threads();
    if (s->n_threads < 1) s->n_threads = 1;
    s->codec = xcalloc((size_t)s->n_threads, sizeof *s->codec);
    for (int t = 0; t < s->n_threads; t++) s->codec[t] = blob_codec_new(NULL, NULL);
    s->arena = xcalloc((size_t)s->n_threads, sizeof *s->arena);
    s->fill = 0;
    s->parsed = 1;
    s->measure = 2;
    s->store = 3;
    json_object_seed(0); /* jansson's one global, set before threads parse lines */
    return s;
}

void traj_scorer_free(struct traj_scorer *s)
{
    if (!s) return;
    qcache_free(s);
    traj_batches_free(s);
    free(s->items);
    for (int t = 0; t < s->n_threads; t++) blob_codec_free(s->codec[t]);
    free(s->codec);
    for (int t = 0; t < s->n_threads; t++) jsonfast_arena_free(&s->arena[t]);
    jsonfast_arena_free(&s->qarena);
    free(s->arena);
    idset_free(&s->repeats);
    sbuf_free(&s->meta);
    sbuf_free(&s->key);
    sbuf_free(&s->why);
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

int64_t traj_scorer_other_count(const struct traj_scorer *s)
{
    return s->other;
}

/*
 * A trajectory's rewards are one trajectory_rewards row (schemas/004): its components once, and
 * per scheme the value and the id of the parameters it was computed with; `rewards` is a view
 * giving the old (trajectory, scheme, value, components) rows. A scheme this run gives no value
 * (not requested, or rubric without a rubric) is NULL in the new row and keeps its old value
 * when the trajectory is measured as before; an earlier reward whose components are no longer
 * the row's is moved to rewards_extra whole (reward_keep_old), so the view's rows are what the
 * old table held.
 */
#define REWARD_INSERT                                                                              \
    "INSERT INTO trajectory_rewards(trajectory_id, components, cp1, cp1_params, cp2, cp2_params, " \
    "laser, laser_params, laser_d, laser_d_params, decs, decs_params, rubric, rubric_params) "     \
    "VALUES "
#define REWARD_UPSERT                                                                              \
    " "                                                                                            \
    "ON CONFLICT(trajectory_id) DO UPDATE SET components = excluded.components, "                  \
    "cp1 = CASE WHEN excluded.cp1 IS NOT NULL THEN excluded.cp1 "                                  \
    "WHEN components IS excluded.components THEN cp1 END, "                                        \
    "cp1_params = CASE WHEN excluded.cp1 IS NOT NULL THEN excluded.cp1_params "                    \
    "WHEN components IS excluded.components THEN cp1_params END, "                                 \
    "cp2 = CASE WHEN excluded.cp2 IS NOT NULL THEN excluded.cp2 "                                  \
    "WHEN components IS excluded.components THEN cp2 END, "                                        \
    "cp2_params = CASE WHEN excluded.cp2 IS NOT NULL THEN excluded.cp2_params "                    \
    "WHEN components IS excluded.components THEN cp2_params END, "                                 \
    "laser = CASE WHEN excluded.laser IS NOT NULL THEN excluded.laser "                            \
    "WHEN components IS excluded.components THEN laser END, "                                      \
    "laser_params = CASE WHEN excluded.laser IS NOT NULL THEN excluded.laser_params "              \
    "WHEN components IS excluded.components THEN laser_params END, "                               \
    "laser_d = CASE WHEN excluded.laser_d IS NOT NULL THEN excluded.laser_d "                      \
    "WHEN components IS excluded.components THEN laser_d END, "                                    \
    "laser_d_params = CASE WHEN excluded.laser_d IS NOT NULL THEN excluded.laser_d_params "        \
    "WHEN components IS excluded.components THEN laser_d_params END, "                             \
    "decs = CASE WHEN excluded.decs IS NOT NULL THEN excluded.decs "                               \
    "WHEN components IS excluded.components THEN decs END, "                                       \
    "decs_params = CASE WHEN excluded.decs IS NOT NULL THEN excluded.decs_params "                 \
    "WHEN components IS excluded.components THEN decs_params END, "                                \
    "rubric = CASE WHEN excluded.rubric IS NOT NULL THEN excluded.rubric "                         \
    "WHEN components IS excluded.components THEN rubric END, "                                     \
    "rubric_params = CASE WHEN excluded.rubric IS NOT NULL THEN excluded.rubric_params "           \
    "WHEN components IS excluded.components THEN rubric_params END"
static const char upsert_sql[] =
    REWARD_INSERT "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)" REWARD_UPSERT;

/* The rows of RGROUP trajectories new to this run in one statement: its end (SQLite's
 * sqlite3VdbeHalt) cost a fifth of storing one row (32 rather than 16: 3% fewer instructions per
 * row). Parameters 14 r + 1 .. 14 r + 14 are row r's
 * as ?1 .. ?14 are upsert_sql's. */
#define RGROUP 32
#define REWARD_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define REWARD_ROWS4 REWARD_ROW ", " REWARD_ROW ", " REWARD_ROW ", " REWARD_ROW
#define REWARD_ROWS16 REWARD_ROWS4 ", " REWARD_ROWS4 ", " REWARD_ROWS4 ", " REWARD_ROWS4
static const char upsert_group_sql[] =
    REWARD_INSERT REWARD_ROWS16 ", " REWARD_ROWS16 REWARD_UPSERT; /* RGROUP rows */

/* What a run's rewards share: the parameters' ids per scheme and LASER-D bucket. */
struct reward_texts {
    int64_t params[N_SCHEMES][3];
    double target[3];
};

/* The id of a scheme's parameters (given as the JSON members reward_value appends), added to
 * reward_params when new. */
static int params_id(struct traj_scorer *s, enum reward_scheme k, const struct sbuf *members,
                     int64_t *id, struct sbuf *err)
{
    struct sbuf obj = {0};
    sbuf_addc(&obj, '{');
    if (members->len > 1) sbuf_add(&obj, members->p + 1, members->len - 1); /* after the ',' */
    sbuf_addc(&obj, '}');
    const char *name = reward_scheme_names[k];
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO reward_params(scheme, params) VALUES (?1, "
                                         "?2) ON CONFLICT(scheme, params) DO NOTHING");
    int bad = !st || sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 2, obj.p, (int)obj.len, SQLITE_STATIC) || store_done(s->st, st);
    if (!bad) {
        st = store_stmt(s->st, "SELECT id FROM reward_params WHERE scheme = ?1 AND params = ?2");
        bad = !st || sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 2, obj.p, (int)obj.len, SQLITE_STATIC) ||
              store_int(s->st, st, id) != 1;
    }
    sbuf_free(&obj);
    return bad ? store_fail(s->st, err, "storing reward parameters") : PARE_OK;
}

/* The parameters of every requested scheme, per bucket (only LASER-D's differ by bucket). */
static int texts_init(struct traj_scorer *s, struct reward_texts *t, struct sbuf *err)
{
    struct reward_item any = {.has_rubric = 1};
    struct sbuf members = {0};
    int rc = PARE_OK;
    for (int k = 0; k < N_SCHEMES && rc == PARE_OK; k++) {
        for (int b = 0; b < 3 && rc == PARE_OK && s->schemes[k]; b++) {
            double v;
            sbuf_reset(&members);
            reward_value((enum reward_scheme)k, &any, &s->params, t->target[b], &v, &members);
            rc = params_id(s, (enum reward_scheme)k, &members, &t->params[k][b], err);
        }
    }
    sbuf_free(&members);
    return rc;
}

/*
 * Before a trajectory stored by an earlier run is scored again: the rewards this run replaces
 * leave rewards_extra, and when its components changed (other minimal sets), the schemes this
 * run does not give keep their old rows there, whole. written: ",cp1,laser," and so on.
 */
static int reward_keep_old(struct traj_scorer *s, int64_t tid, const char *written,
                           const struct sbuf *comp, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "DELETE FROM rewards_extra WHERE trajectory_id = ?1 AND "
                                         "instr(?2, ',' || scheme || ',') > 0");
    if (!st || sqlite3_bind_int64(st, 1, tid) ||
        sqlite3_bind_text(st, 2, written, -1, SQLITE_STATIC) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a reward");
    st = store_stmt(s->st, "INSERT INTO rewards_extra(trajectory_id, scheme, value, components) "
                           "SELECT v.trajectory_id, v.scheme, v.value, v.components FROM rewards v "
                           "WHERE v.trajectory_id = ?1 AND instr(?2, ',' || v.scheme || ',') = 0 "
                           "AND EXISTS (SELECT 1 FROM trajectory_rewards r WHERE "
                           "r.trajectory_id = ?1 AND r.components IS NOT ?3) "
                           "ON CONFLICT(trajectory_id, scheme) DO NOTHING");
    if (!st || sqlite3_bind_int64(st, 1, tid) ||
        sqlite3_bind_text(st, 2, written, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, comp->p, (int)comp->len, SQLITE_STATIC) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a reward");
    return PARE_OK;
}

/* Items per block of rewards formatted by one thread, and blocks per chunk: thread 0 stores a
 * chunk while all threads format the next. */
#define RBLOCK 256
#define RCHUNK 32

/* An item's rewards, formatted: the components (in its block's text) and every scheme's value. */
struct reward_row {
    double v[N_SCHEMES];
    int has[N_SCHEMES];
    size_t at, len;
};

/* Items first .. first + n of the run, formatted. */
struct reward_block {
    struct reward_row row[RBLOCK];
    struct sbuf text;
    size_t first;
    int n;
};

/* What formatting and storing the rewards of a run read. */
struct reward_run {
    struct traj_scorer *s;
    const int *bucket;
    struct reward_texts t;
    size_t n_blocks;
};

/* Formats block number b of the run into blk (any thread). */
static void format_block(const struct reward_run *r, size_t b, struct reward_block *blk)
{
    const struct traj_scorer *s = r->s;
    blk->first = b * RBLOCK;
    blk->n = (int)(s->n - blk->first < RBLOCK ? s->n - blk->first : RBLOCK);
    sbuf_reset(&blk->text);
    for (int i = 0; i < blk->n; i++) {
        const struct traj_item *it = &s->items[blk->first + (size_t)i];
        struct reward_row *row = &blk->row[i];
        int bucket = r->bucket[blk->first + (size_t)i];
        row->at = blk->text.len;
        reward_components(&it->m, bucket, &blk->text);
        sbuf_addc(&blk->text, '}');
        row->len = blk->text.len - row->at;
        for (int k = 0; k < N_SCHEMES; k++)
            row->has[k] = s->schemes[k] && reward_value((enum reward_scheme)k, &it->m, &s->params,
                                                        r->t.target[bucket], &row->v[k], NULL) == 0;
    }
}

/* A formatted row on its way to the store. */
struct pending_row {
    const struct traj_item *it;
    int bucket;
    const struct reward_row *row;
    const char *text; /* its block's */
};

/* Binds row p as parameters base + 1 .. base + 14 of st (as ?1 .. ?14 of upsert_sql); the
 * parameters of the schemes it has no value of stay NULL. Returns nonzero on error. */
static int bind_row(const struct reward_run *r, sqlite3_stmt *st, int base,
                    const struct pending_row *p)
{
    int bad =
        sqlite3_bind_int64(st, base + 1, p->it->traj_id) ||
        sqlite3_bind_text(st, base + 2, p->text + p->row->at, (int)p->row->len, SQLITE_STATIC);
    for (int k = 0; k < N_SCHEMES && !bad; k++)
        bad =
            p->row->has[k] && (sqlite3_bind_double(st, base + 3 + 2 * k, p->row->v[k]) ||
                               sqlite3_bind_int64(st, base + 4 + 2 * k, r->t.params[k][p->bucket]));
    return bad;
}

/* The names of the schemes a row has a value of, as ",cp1,laser," (empty: none). */
static void written_names(const struct reward_row *row, char written[64])
{
    strcpy(written, ","); /* the names of all N_SCHEMES schemes fit */
    for (int k = 0; k < N_SCHEMES; k++)
        if (row->has[k]) strcat(strcat(written, reward_scheme_names[k]), ",");
}

/* Whether a row has a value of some scheme. */
static int has_any(const struct reward_row *row)
{
    for (int k = 0; k < N_SCHEMES; k++)
        if (row->has[k]) return 1;
    return 0;
}

/* Every requested scheme's reward of one item, on its row (thread 0, in order). */
static int store_row(const struct reward_run *r, const struct pending_row *p, struct sbuf *err)
{
    struct traj_scorer *s = r->s;
    char written[64];
    written_names(p->row, written);
    const struct sbuf comp = {(char *)p->text + p->row->at, p->row->len, p->row->len};
    if (!p->it->fresh && reward_keep_old(s, p->it->traj_id, written, &comp, err) != PARE_OK)
        return PARE_EFAIL;
    sqlite3_stmt *st = store_stmt(s->st, upsert_sql);
    if (!st || bind_row(r, st, 0, p) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a reward");
    return PARE_OK;
}

/* The rows of RGROUP trajectories new to this run, in one statement. */
static int store_group(const struct reward_run *r, const struct pending_row *g, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(r->s->st, upsert_group_sql);
    int bad = !st;
    for (int i = 0; i < RGROUP && !bad; i++) bad = bind_row(r, st, 14 * i, &g[i]);
    if (bad || store_done(r->s->st, st)) return store_fail(r->s->st, err, "storing a reward");
    return PARE_OK;
}

/* Stores the rows of nb blocks in order: those of trajectories new to this run RGROUP at a time
 * (what is left over, and the rows of trajectories scored before, one by one). A row with no
 * value from this run changes nothing. */
static int store_blocks(const struct reward_run *r, const struct reward_block *blk, int nb,
                        struct sbuf *err)
{
    struct pending_row g[RGROUP];
    int ng = 0, rc = PARE_OK;
    for (int b = 0; b < nb && rc == PARE_OK; b++) {
        for (int i = 0; i < blk[b].n && rc == PARE_OK; i++) {
            size_t k = blk[b].first + (size_t)i;
            const struct pending_row p = {&r->s->items[k], r->bucket[k], &blk[b].row[i],
                                          blk[b].text.p};
            if (!has_any(p.row)) continue;
            if (!p.it->fresh) {
                for (int j = 0; j < ng && rc == PARE_OK; j++) rc = store_row(r, &g[j], err);
                ng = 0;
                if (rc == PARE_OK) rc = store_row(r, &p, err);
                continue;
            }
            g[ng++] = p;
            if (ng == RGROUP) {
                rc = store_group(r, g, err);
                ng = 0;
            }
        }
    }
    for (int j = 0; j < ng && rc == PARE_OK; j++) rc = store_row(r, &g[j], err);
    return rc;
}

/* Formats blocks first .. first + nb into blk, claimed by the team's threads from *claimed. */
static void format_claimed(const struct reward_run *r, size_t first, int nb,
                           struct reward_block *blk, int *claimed)
{
    for (;;) {
        int c;
#pragma omp atomic capture
        c = (*claimed)++;
        if (c >= nb) break;
        format_block(r, first + (size_t)c, &blk[c]);
    }
}

/* Blocks in chunk c of the run. */
static int chunk_blocks(const struct reward_run *r, size_t c)
{
    size_t first = c * RCHUNK;
    if (first >= r->n_blocks) return 0;
    return (int)(r->n_blocks - first < RCHUNK ? r->n_blocks - first : RCHUNK);
}

/* Stores chunk after chunk while the next is formatted. */
static int store_chunks(struct reward_run *r, struct reward_block *blk, struct sbuf *err)
{
    int rc = PARE_OK, claimed = 0;
    int ncur = chunk_blocks(r, 0);
    struct reward_block *cur = blk, *next = blk + RCHUNK;
#pragma omp parallel num_threads(r->s->n_threads)
    format_claimed(r, 0, ncur, cur, &claimed);
    for (size_t c = 0; ncur > 0 && rc == PARE_OK; c++) {
        int nnext = chunk_blocks(r, c + 1);
        claimed = 0;
#pragma omp parallel num_threads(r->s->n_threads)
        {
            if (omp_get_thread_num() == 0) rc = store_blocks(r, cur, ncur, err);
            format_claimed(r, (c + 1) * RCHUNK, nnext, next, &claimed);
        }
        struct reward_block *t = cur;
        cur = next;
        next = t;
        ncur = nnext;
    }
    return rc;
}

int traj_scorer_rewards(struct traj_scorer *s, struct sbuf *err)
{
    int *bucket = xcalloc(s->n + 1, sizeof *bucket);
    struct reward_run r = {s, bucket, {{{0}}}, (s->n + RBLOCK - 1) / RBLOCK};
    traj_buckets(s->items, s->n, bucket);
    traj_laser_d_targets(s->items, s->n, bucket, r.t.target);
    int rc = texts_init(s, &r.t, err);
    struct reward_block *blk = xcalloc(2 * RCHUNK, sizeof *blk);
    if (rc == PARE_OK) rc = store_chunks(&r, blk, err);
    for (int b = 0; b < 2 * RCHUNK; b++) sbuf_free(&blk[b].text);
    free(blk);
    free(bucket);
    return rc;
}
