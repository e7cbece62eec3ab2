/* rows.c - see rows.h. */
#include "pipeline/rows.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/reward.h"

static const char *const format_names[] = {"sets",     "rubrics", "negatives", "verl",
                                           "openrlhf", "rrm",     "schedule"};

int rows_format(const char *name, enum rows_format *out)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(format_names); i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (enum rows_format)i;
            return 0;
        }
    }
    return -1;
}

int rows_is_train(int64_t qid, int64_t seed, double share)
{
    uint64_t h = XXH64(&qid, sizeof qid, (uint64_t)seed);
    return (double)h / 18446744073709551616.0 < share;
}

char *rows_latest_judge(struct store *st, const char *method)
{
    char *fp = NULL;
    sqlite3_stmt *s = store_stmt(st, "SELECT judge FROM evidence_sets WHERE method = ?1 "
                                     "ORDER BY created_at DESC, id DESC LIMIT 1");
    if (s && !sqlite3_bind_text(s, 1, method, -1, SQLITE_STATIC) && sqlite3_step(s) == SQLITE_ROW)
        fp = xstrdup((const char *)sqlite3_column_text(s, 0));
    if (s) sqlite3_reset(s);
    return fp;
}

int rows_newest_sets(struct store *st, const char *judge, const char *method, char **method_out,
                     char **judge_out, struct sbuf *err)
{
    *method_out = method ? xstrdup(method) : NULL;
    *judge_out = judge ? xstrdup(judge) : NULL;
    if (method && judge) return PARE_OK;
    sqlite3_stmt *s = store_stmt(st, "SELECT method, judge FROM evidence_sets WHERE (?1 IS NULL "
                                     "OR judge = ?1) AND (?2 IS NULL OR method = ?2) ORDER BY "
                                     "created_at DESC, id DESC LIMIT 1");
    if (!s || sqlite3_bind_text(s, 1, judge, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC))
        return store_fail(st, err, "reading evidence sets");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (!method) *method_out = xstrdup((const char *)sqlite3_column_text(s, 0));
        if (!judge) *judge_out = xstrdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PARE_OK
                                                 : store_fail(st, err, "reading evidence sets");
}

/* A passage object {id, title, text}, or NULL with err set. */
static json_t *passage(const struct rows_src *src, int64_t pid, struct sbuf *err)
{
    struct sbuf title = {0}, t = {0};
    json_t *o = NULL;
    if (store_text(src->st, src->codec, pid, &title, &t, err) == PARE_OK)
        o = json_pack("{s:I, s:s, s:s%}", "id", (json_int_t)pid, "title", sbuf_str(&title), "text",
                      sbuf_str(&t), t.len);
    sbuf_free(&title);
    sbuf_free(&t);
    return o;
}

/* The integers in column 0 of a query's rows (parameters ?1 = a, ?2 = b), or NULL. */
static json_t *id_list(const struct rows_src *src, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *s = store_stmt(src->st, sql);
    if (!s || sqlite3_bind_int64(s, 1, a) || sqlite3_bind_int64(s, 2, b)) return NULL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(arr, json_integer(sqlite3_column_int64(s, 0)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static const char *const instruction =
    "You are given a question and numbered candidate passages. Select the smallest set of "
    "passages needed to answer the question, then answer it. Reply as <evidence>id, id"
    "</evidence> <answer>short answer</answer>.";

/* The chat prompt: instruction, numbered candidates with ids, the question. */
static json_t *prompt(const struct rows_src *src, const char *question, json_t *cands,
                      struct sbuf *err)
{
    struct sbuf u = {0};
    sbuf_adds(&u, "Passages:\n");
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c)
    {
        json_t *p = passage(src, json_integer_value(c), err);
        if (!p) {
            sbuf_free(&u);
            return NULL;
        }
        sbuf_addf(&u, "[%lld] %s: %s\n", (long long)json_integer_value(c),
                  json_string_value(json_object_get(p, "title")),
                  json_string_value(json_object_get(p, "text")));
        json_decref(p);
    }
    sbuf_addf(&u, "\nQuestion: %s", question);
    json_t *msgs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", instruction,
                             "role", "user", "content", u.p);
    sbuf_free(&u);
    return msgs;
}

/* ---- rows of evidence sets: sets, verl, openrlhf, schedule ---- */

/* What a set's rows are made of. */
struct setq {
    int64_t qid, set_id;
    const char *status;
    int64_t batch, position; /* schedule rows: where it stands in the plan */
    char *question, *ext, *ds;
    json_t *answers, *bucket, *members, *cands;
};

static void setq_free(struct setq *q)
{
    free(q->question);
    free(q->ext);
    free(q->ds);
    json_decref(q->answers);
    json_decref(q->bucket);
    json_decref(q->members);
    json_decref(q->cands);
}

static int setq_load(const struct rows_src *src, struct setq *q, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT q.question, q.answers, q.ext_id, d.name, "
                                          "(SELECT bucket FROM difficulty WHERE question_id = "
                                          "q.id) FROM questions q JOIN datasets d ON d.id = "
                                          "q.dataset_id WHERE q.id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, q->qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(src->st, err, "reading a question");
    }
    q->question = xstrdup((const char *)sqlite3_column_text(s, 0));
    json_error_t je;
    q->answers = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
    q->ext = xstrdup((const char *)sqlite3_column_text(s, 2));
    q->ds = xstrdup((const char *)sqlite3_column_text(s, 3));
    const char *b = (const char *)sqlite3_column_text(s, 4);
    q->bucket = b ? json_string(b) : json_null();
    sqlite3_reset(s);
    q->members = id_list(src,
                         "SELECT passage_id FROM evidence_members WHERE set_id = ?1 AND "
                         "?2 = ?2 ORDER BY rank",
                         q->set_id, 0);
    q->cands = id_list(src,
                       "SELECT passage_id FROM candidates WHERE retrieval_id = ?1 AND "
                       "question_id = ?2 ORDER BY rank",
                       src->retrieval, q->qid);
    if (!q->members || !q->cands || !q->answers) return store_fail(src->st, err, "reading a set");
    return PARE_OK;
}

/* A `sets` row: the question with its evidence passages in rank order. */
static json_t *sets_row(const struct rows_src *src, const struct setq *q, struct sbuf *err)
{
    json_t *ev = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(q->members, i, m)
    {
        json_t *p = passage(src, json_integer_value(m), err);
        if (!p) {
            json_decref(ev);
            return NULL;
        }
        json_object_set_new(p, "rank", json_integer((json_int_t)i + 1));
        json_array_append_new(ev, p);
    }
    return json_pack("{s:I, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:o, s:O}", "question_id",
                     (json_int_t)q->qid, "ext_id", q->ext, "dataset", q->ds, "question",
                     q->question, "answers", q->answers, "status", q->status, "judge", src->judge,
                     "method", src->method, "evidence", ev, "candidates", q->cands);
}

/* One rubric item as the reward reads it: {kind, points, passage_id, ids}, the ids being the
 * passages allowed (no_extra) or stating the answer (grounded), as pare score reads them. */
static json_t *truth_rubric_item(sqlite3_stmt *s)
{
    int k = reward_rubric_kind((const char *)sqlite3_column_text(s, 0));
    enum rubric_kind kind = k < 0 ? RUBRIC_GROUNDED : (enum rubric_kind)k; /* as pare score */
    json_error_t je;
    const char *exp_text = (const char *)sqlite3_column_text(s, 3);
    json_t *exp = exp_text ? json_loads(exp_text, 0, &je) : NULL, *ids = json_array();
    const char *key = kind == RUBRIC_NO_EXTRA ? "allowed" : "answer_passages";
    size_t i;
    json_t *v;
    if (kind == RUBRIC_NO_EXTRA || kind == RUBRIC_GROUNDED)
        json_array_foreach(json_object_get(exp, key), i, v)
            json_array_append_new(ids, json_integer(json_integer_value(v)));
    json_decref(exp);
    return json_pack("{s:s, s:f, s:o, s:o}", "kind", reward_rubric_kind_name(kind), "points",
                     sqlite3_column_double(s, 1), "passage_id",
                     sqlite3_column_type(s, 2) == SQLITE_NULL
                         ? json_null()
                         : json_integer(sqlite3_column_int64(s, 2)),
                     "ids", ids);
}

/* Question qid's rubric for the ground truth into *out: an array, or NULL when it has none. */
static int truth_rubric(const struct rows_src *src, int64_t qid, json_t **out, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT kind, points, passage_id, expected FROM "
                                          "rubric_items WHERE question_id = ?1 ORDER BY item_no");
    *out = NULL;
    if (!s || sqlite3_bind_int64(s, 1, qid)) return store_fail(src->st, err, "reading rubrics");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!*out) *out = json_array();
        json_array_append_new(*out, truth_rubric_item(s));
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return PARE_OK;
    json_decref(*out);
    *out = NULL;
    return store_fail(src->st, err, "reading rubrics");
}

/* The ground truth of a trainer row: the question's names, what every reward scheme needs. */
static json_t *ground_truth(const struct rows_src *src, const struct setq *q, struct sbuf *err)
{
    json_t *rubric;
    if (truth_rubric(src, q->qid, &rubric, err) != PARE_OK) return NULL;
    json_t *t =
        json_pack("{s:s, s:s, s:O, s:O, s:O}", "question_id", q->ext, "dataset", q->ds, "answers",
                  q->answers, "evidence_ids", q->members, "candidate_ids", q->cands);
    if (t && rubric)
        json_object_set_new(t, "rubric", rubric);
    else
        json_decref(rubric);
    return t;
}

/* A verl, schedule or openrlhf row: the chat prompt over the candidates and the ground truth.
 * *extra: the verl/schedule row's extra_info (borrowed), else NULL. */
static json_t *prompt_row(const struct rows_src *src, enum rows_format f, const struct setq *q,
                          json_t **extra, struct sbuf *err)
{
    *extra = NULL;
    json_t *msgs = prompt(src, q->question, q->cands, err);
    json_t *truth = msgs ? ground_truth(src, q, err) : NULL;
    if (!truth) {
        json_decref(msgs);
        return NULL;
    }
    if (f == ROWS_OPENRLHF) {
        char *label = truth ? json_dumps(truth, JSON_COMPACT) : NULL;
        json_decref(truth);
        json_t *row = json_pack("{s:s, s:o, s:s, s:I}", "datasource", q->ds, "prompt", msgs,
                                "label", label ? label : "{}", "question_id", (json_int_t)q->qid);
        free(label);
        return row;
    }
    json_t *x = json_pack("{s:I, s:s, s:O, s:O}", "question_id", (json_int_t)q->qid, "ext_id",
                          q->ext, "evidence_ids", q->members, "difficulty", q->bucket);
    if (x && f == ROWS_SCHEDULE) { /* a curriculum row: where it stands in the plan */
        json_object_set_new(x, "plan", json_string(src->plan));
        json_object_set_new(x, "batch", json_integer(q->batch));
        json_object_set_new(x, "position", json_integer(q->position));
    }
    *extra = x;
    return json_pack("{s:s, s:o, s:s, s:{s:s, s:o}, s:o}", "data_source", q->ds, "prompt", msgs,
                     "ability", "multi-hop-qa", "reward_model", "style", "rule", "ground_truth",
                     truth, "extra_info", x);
}

/* The row of one evidence set in format f, handed to emit. */
static int export_set(const struct rows_src *src, enum rows_format f, struct setq *q,
                      rows_emit_fn emit, void *ctx, struct sbuf *err)
{
    int rc = setq_load(src, q, err);
    json_t *row = NULL, *extra = NULL;
    if (rc == PARE_OK) {
        row = f == ROWS_SETS ? sets_row(src, q, err) : prompt_row(src, f, q, &extra, err);
        if (!row && !err->len)
            sbuf_setf(err, "cannot build the row of question %lld", (long long)q->qid);
        if (!row) rc = PARE_EFAIL;
    }
    if (rc == PARE_OK) rc = emit(ctx, q->qid, row, extra);
    setq_free(q);
    return rc;
}

/* The sets of src's judge and method (all statuses for `sets`, else minimal ones). */
static int export_sets(const struct rows_src *src, enum rows_format f, rows_emit_fn emit, void *ctx,
                       struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT id, question_id, status FROM evidence_sets "
                                          "WHERE judge = ?1 AND method = ?2 AND (?3 OR status = "
                                          "'minimal') ORDER BY question_id");
    json_t *sets = json_array(); /* rows first: the statements below reuse the connection */
    if (!s || sqlite3_bind_text(s, 1, src->judge, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, src->method, -1, SQLITE_STATIC) ||
        sqlite3_bind_int(s, 3, f == ROWS_SETS)) {
        json_decref(sets);
        return store_fail(src->st, err, "reading evidence sets");
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(sets, json_pack("[I, I, s]", (json_int_t)sqlite3_column_int64(s, 0),
                                              (json_int_t)sqlite3_column_int64(s, 1),
                                              (const char *)sqlite3_column_text(s, 2)));
    sqlite3_reset(s);
    rc = rc == SQLITE_DONE ? PARE_OK : store_fail(src->st, err, "reading evidence sets");
    size_t i;
    json_t *r;
    json_array_foreach(sets, i, r)
    {
        if (rc != PARE_OK) break;
        struct setq q = {json_integer_value(json_array_get(r, 1)),
                         json_integer_value(json_array_get(r, 0)),
                         json_string_value(json_array_get(r, 2))};
        rc = export_set(src, f, &q, emit, ctx, err);
    }
    if (rc == PARE_OK && json_array_size(sets) == 0) {
        if (*src->judge)
            sbuf_setf(err, "no evidence sets for judge '%s' and method %s: run pare mine first",
                      src->judge, src->method);
        else
            sbuf_setf(err, "no evidence sets of method %s: run pare mine first", src->method);
        rc = PARE_EFAIL;
    }
    json_decref(sets);
    return rc;
}

/* The plan in batch order: each prompt as a verl row of its minimal set. */
static int export_schedule(const struct rows_src *src, rows_emit_fn emit, void *ctx,
                           struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT sc.batch, sc.position, sc.question_id, "
                                          "(SELECT id FROM evidence_sets es WHERE es.question_id "
                                          "= sc.question_id AND es.judge = ?2 AND es.method = ?3 "
                                          "AND es.status = 'minimal') FROM schedule sc WHERE "
                                          "sc.plan = ?1 ORDER BY sc.epoch, sc.batch, sc.position");
    json_t *rows = json_array();
    if (!s || sqlite3_bind_text(s, 1, src->plan, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, src->judge, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 3, src->method, -1, SQLITE_STATIC)) {
        json_decref(rows);
        return store_fail(src->st, err, "reading the schedule");
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(rows,
                              json_pack("[I, I, I, I]", (json_int_t)sqlite3_column_int64(s, 0),
                                        (json_int_t)sqlite3_column_int64(s, 1),
                                        (json_int_t)sqlite3_column_int64(s, 2),
                                        (json_int_t)sqlite3_column_int64(s, 3)));
    sqlite3_reset(s);
    rc = rc == SQLITE_DONE ? PARE_OK : store_fail(src->st, err, "reading the schedule");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        if (rc != PARE_OK) break;
        struct setq q = {json_integer_value(json_array_get(r, 2)),
                         json_integer_value(json_array_get(r, 3)), "minimal",
                         json_integer_value(json_array_get(r, 0)),
                         json_integer_value(json_array_get(r, 1))};
        if (!q.set_id) continue; /* no minimal set: no ground truth to train on */
        rc = export_set(src, ROWS_SCHEDULE, &q, emit, ctx, err);
    }
    if (rc == PARE_OK && json_array_size(rows) == 0) {
        sbuf_setf(err, "no plan '%s': run pare schedule first", src->plan);
        rc = PARE_EFAIL;
    }
    json_decref(rows);
    return rc;
}

/* ---- rubrics and negatives ---- */

/* One rubric item: in full, or as RRM's {criterion, points}. */
static json_t *rubric_item(sqlite3_stmt *s, int rrm)
{
    const char *crit = (const char *)sqlite3_column_text(s, 2);
    double pts = sqlite3_column_double(s, 3);
    if (rrm) return json_pack("{s:s, s:f}", "criterion", crit, "points", pts);
    json_error_t je;
    json_t *exp = json_loads((const char *)sqlite3_column_text(s, 5), 0, &je);
    return json_pack(
        "{s:i, s:s, s:s, s:f, s:o, s:o}", "item_no", sqlite3_column_int(s, 0), "kind",
        (const char *)sqlite3_column_text(s, 1), "criterion", crit, "points", pts, "passage_id",
        sqlite3_column_type(s, 4) == SQLITE_NULL ? json_null()
                                                 : json_integer(sqlite3_column_int64(s, 4)),
        "expected", exp ? exp : json_null());
}

/* Question qid's rubric items in order into items; their points into *total. */
static int rubric_items(const struct rows_src *src, int64_t qid, int rrm, json_t *items,
                        double *total, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT item_no, kind, criterion, points, passage_id, "
                                          "expected FROM rubric_items WHERE question_id = ?1 "
                                          "ORDER BY item_no");
    int rc = SQLITE_ERROR;
    *total = 0;
    if (s && !sqlite3_bind_int64(s, 1, qid)) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            *total += sqlite3_column_double(s, 3);
            json_array_append_new(items, rubric_item(s, rrm));
        }
        sqlite3_reset(s);
    }
    return rc == SQLITE_DONE ? PARE_OK : store_fail(src->st, err, "reading rubric items");
}

/* The rubric row of question qid (RRM's row when rrm). */
static json_t *rubric_row(const struct rows_src *src, int64_t qid, int rrm, struct sbuf *err)
{
    sqlite3_stmt *s =
        store_stmt(src->st, "SELECT question, answers, ext_id FROM questions WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        store_fail(src->st, err, "reading a question");
        return NULL;
    }
    json_error_t je;
    json_t *answers = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
    char *question = xstrdup((const char *)sqlite3_column_text(s, 0));
    char *ext = xstrdup((const char *)sqlite3_column_text(s, 2));
    sqlite3_reset(s);
    json_t *items = json_array(), *row = NULL;
    double total = 0;
    if (rubric_items(src, qid, rrm, items, &total, err) != PARE_OK)
        json_decref(items);
    else if (rrm)
        row = json_pack("{s:s, s:s, s:o}", "problem", question, "answer",
                        json_string_value(json_array_get(answers, 0)), "criteria", items);
    else
        row = json_pack("{s:I, s:s, s:s, s:O, s:o, s:f}", "question_id", (json_int_t)qid, "ext_id",
                        ext, "question", question, "answers", answers, "items", items,
                        "total_points", total);
    json_decref(answers);
    free(question);
    free(ext);
    return row;
}

static int export_rubrics(const struct rows_src *src, int rrm, rows_emit_fn emit, void *ctx,
                          struct sbuf *err)
{
    json_t *qids = id_list(src,
                           "SELECT DISTINCT question_id FROM rubric_items WHERE ?1 = ?1 AND "
                           "?2 = ?2 ORDER BY question_id",
                           0, 0);
    if (!qids) return store_fail(src->st, err, "reading rubrics");
    int rc = PARE_OK;
    size_t i;
    json_t *q;
    json_array_foreach(qids, i, q)
    {
        int64_t qid = json_integer_value(q);
        json_t *row = rubric_row(src, qid, rrm, err);
        rc = row ? emit(ctx, qid, row, NULL) : PARE_EFAIL;
        if (rc != PARE_OK) break;
    }
    json_decref(qids);
    return rc;
}

/* The negatives, each with the ids of its passages (replaced by passage objects later). */
static json_t *negative_rows(const struct rows_src *src, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(src->st, "SELECT n.id, n.question_id, q.ext_id, q.question, "
                                          "n.kind, n.label, n.verified, n.answer, n.passages FROM "
                                          "negatives n JOIN questions q ON q.id = n.question_id "
                                          "ORDER BY n.question_id, n.id");
    if (!s) {
        store_fail(src->st, err, "reading negatives");
        return NULL;
    }
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_error_t je;
        json_t *ids = json_loads((const char *)sqlite3_column_text(s, 8), 0, &je);
        json_t *answer = sqlite3_column_type(s, 7) == SQLITE_NULL
                             ? json_null()
                             : json_string((const char *)sqlite3_column_text(s, 7));
        json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:o}",
                                              "question_id", (json_int_t)sqlite3_column_int64(s, 1),
                                              "ext_id", (const char *)sqlite3_column_text(s, 2),
                                              "question", (const char *)sqlite3_column_text(s, 3),
                                              "kind", (const char *)sqlite3_column_text(s, 4),
                                              "label", (const char *)sqlite3_column_text(s, 5),
                                              "verified", sqlite3_column_int(s, 6), "answer",
                                              answer, "passages", ids ? ids : json_array()));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        store_fail(src->st, err, "reading negatives");
        return NULL;
    }
    return rows;
}

static int export_negatives(const struct rows_src *src, rows_emit_fn emit, void *ctx,
                            struct sbuf *err)
{
    json_t *rows = negative_rows(src, err); /* rows first: passage() reuses the connection */
    if (!rows) return PARE_EFAIL;
    int rc = PARE_OK;
    size_t i, k;
    json_t *r, *id;
    json_array_foreach(rows, i, r)
    {
        json_t *ps = json_array();
        json_array_foreach(json_object_get(r, "passages"), k, id)
        {
            json_t *p = rc == PARE_OK ? passage(src, json_integer_value(id), err) : NULL;
            if (!p) rc = PARE_EFAIL;
            if (p) json_array_append_new(ps, p);
        }
        json_object_set_new(r, "passages", ps);
        if (rc == PARE_OK)
            rc = emit(ctx, json_integer_value(json_object_get(r, "question_id")), json_incref(r),
                      NULL);
        if (rc != PARE_OK) break;
    }
    json_decref(rows);
    return rc;
}

int rows_export(const struct rows_src *src, enum rows_format f, rows_emit_fn emit, void *ctx,
                struct sbuf *err)
{
    switch (f) {
    case ROWS_RUBRICS:
    case ROWS_RRM:
        return export_rubrics(src, f == ROWS_RRM, emit, ctx, err);
    case ROWS_NEGATIVES:
        return export_negatives(src, emit, ctx, err);
    case ROWS_SCHEDULE:
        return export_schedule(src, emit, ctx, err);
    default:
        return export_sets(src, f, emit, ctx, err);
    }
}
