/*
 * export.c - `pare export`: JSON Lines for trainers and for people.
 *
 *   sets       one row per evidence set: question, answers, status, evidence passages
 *   rubrics    one row per question: its rubric items (10 points)
 *   negatives  one row per negative: kind, label, verified, passages, answer
 *   verl       verl RL rows: data_source, prompt (chat messages with the numbered candidate
 *              passages), ability, reward_model{style: rule, ground_truth{answers,
 *              evidence_ids}}, extra_info{split, index, question_id, evidence_ids, difficulty}
 *   openrlhf   the same prompt with OpenRLHF's `datasource` key and the ground truth as label
 *   rrm        Rubric Reward Model rows: problem, answer, criteria
 *
 * Rows come in question-id order and carry no timestamps, so the same database and seed give
 * byte-identical files. --split R sends a question to train when xxh64(seed, question id) falls
 * below R, and writes NAME.train.EXT and NAME.val.EXT. verl reads .json names as JSON Lines.
 * Every format has a JSON Schema in schemas/export_*.schema.json.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "stores/store.h"

struct out {
    char *path, *tmp;
    FILE *f;
    int64_t rows;
};

struct ex {
    struct store *st;
    struct job job;
    struct blob_codec *codec;
    const char *what, *judge, *method;
    int64_t retrieval, seed;
    double split;
    const char *plan;        /* --what schedule */
    int64_t batch, position; /* of the row being written (0: not a schedule) */
    struct out train, val;
    struct sbuf err;
};

static int out_open(struct out *o, const char *path, struct sbuf *err)
{
    o->path = xstrdup(path);
    struct sbuf t = {0};
    sbuf_addf(&t, "%s.tmp", path);
    o->tmp = sbuf_detach(&t);
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        sbuf_setf(err, "%s: cannot create: %s", o->tmp, strerror(errno));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Closes and renames into place (keep) or removes the temporary file. */
static int out_close(struct out *o, int keep, struct sbuf *err)
{
    int rc = PARE_OK;
    if (o->f && fclose(o->f) != 0 && keep) {
        sbuf_setf(err, "%s: write error", o->tmp);
        rc = PARE_EFAIL;
    }
    if (o->tmp) {
        if (keep && rc == PARE_OK && rename(o->tmp, o->path) != 0) {
            sbuf_setf(err, "%s: cannot write: %s", o->path, strerror(errno));
            rc = PARE_EFAIL;
        }
        if (!keep || rc != PARE_OK) remove(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return rc;
}

static int emit(struct ex *e, int64_t qid, json_t *row, json_t *extra)
{
    int train = 1;
    if (e->val.f) {
        uint64_t h = XXH64(&qid, sizeof qid, (uint64_t)e->seed);
        train = (double)h / 18446744073709551616.0 < e->split;
    }
    if (extra) json_object_set_new(extra, "split", json_string(train ? "train" : "val"));
    struct out *o = train ? &e->train : &e->val;
    if (extra) json_object_set_new(extra, "index", json_integer(o->rows)); /* within its file */
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    if (!text || fputs(text, o->f) == EOF || fputc('\n', o->f) == EOF) {
        free(text);
        sbuf_setf(&e->err, "%s: write error", o->tmp);
        return PARE_EFAIL;
    }
    free(text);
    o->rows++;
    return PARE_OK;
}

/* Passage objects {id, title, text} for the ids in a JSON array, or for a SQL query's rows. */
static json_t *passage(struct ex *e, int64_t pid)
{
    struct sbuf title = {0}, t = {0};
    json_t *o = NULL;
    if (store_text(e->st, e->codec, pid, &title, &t, &e->err) == PARE_OK)
        o = json_pack("{s:I, s:s, s:s%}", "id", (json_int_t)pid, "title", sbuf_str(&title), "text",
                      sbuf_str(&t), t.len);
    sbuf_free(&title);
    sbuf_free(&t);
    return o;
}

static json_t *id_list(struct ex *e, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *s = store_stmt(e->st, sql);
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
static json_t *prompt(struct ex *e, const char *question, json_t *cands)
{
    struct sbuf u = {0};
    sbuf_adds(&u, "Passages:\n");
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c)
    {
        json_t *p = passage(e, json_integer_value(c));
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

/* One question's export rows for the formats built on minimal sets. */
static int export_set(struct ex *e, int64_t set_id, int64_t qid, const char *status)
{
    sqlite3_stmt *s = store_stmt(e->st, "SELECT q.question, q.answers, q.ext_id, d.name, "
                                        "(SELECT bucket FROM difficulty WHERE question_id = q.id) "
                                        "FROM questions q JOIN datasets d ON d.id = q.dataset_id "
                                        "WHERE q.id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(e->st, &e->err, "reading a question");
    }
    char *question = xstrdup((const char *)sqlite3_column_text(s, 0));
    json_error_t je;
    json_t *answers = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
    char *ext = xstrdup((const char *)sqlite3_column_text(s, 2));
    char *ds = xstrdup((const char *)sqlite3_column_text(s, 3));
    const char *b = (const char *)sqlite3_column_text(s, 4);
    json_t *bucket = b ? json_string(b) : json_null();
    sqlite3_reset(s);
    json_t *members = id_list(e,
                              "SELECT passage_id FROM evidence_members WHERE set_id = ?1 AND "
                              "?2 = ?2 ORDER BY rank",
                              set_id, 0);
    json_t *cands = id_list(e,
                            "SELECT passage_id FROM candidates WHERE retrieval_id = ?1 AND "
                            "question_id = ?2 ORDER BY rank",
                            e->retrieval, qid);
    int rc = members && cands && answers ? PARE_OK : store_fail(e->st, &e->err, "reading a set");
    json_t *row = NULL, *extra = NULL;
    if (rc == PARE_OK && strcmp(e->what, "sets") == 0) {
        json_t *ev = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(members, i, m)
        {
            json_t *p = passage(e, json_integer_value(m));
            if (!p)
                rc = store_fail(e->st, &e->err, "reading a passage");
            else {
                json_object_set_new(p, "rank", json_integer((json_int_t)i + 1));
                json_array_append_new(ev, p);
            }
        }
        row = json_pack("{s:I, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:o, s:O}", "question_id",
                        (json_int_t)qid, "ext_id", ext, "dataset", ds, "question", question,
                        "answers", answers, "status", status, "judge", e->judge, "method",
                        e->method, "evidence", ev, "candidates", cands);
    } else if (rc == PARE_OK && (strcmp(e->what, "verl") == 0 || strcmp(e->what, "schedule") == 0 ||
                                 strcmp(e->what, "openrlhf") == 0)) {
        json_t *msgs = prompt(e, question, cands);
        json_t *truth = json_pack("{s:O, s:O}", "answers", answers, "evidence_ids", members);
        if (!msgs || !truth)
            rc = store_fail(e->st, &e->err, "building a prompt");
        else if (e->what[0] != 'o') { /* verl, schedule */
            extra = json_pack("{s:I, s:s, s:O, s:O}", "question_id", (json_int_t)qid, "ext_id", ext,
                              "evidence_ids", members, "difficulty", bucket);
            if (e->batch) { /* a curriculum row: where it stands in the plan */
                json_object_set_new(extra, "plan", json_string(e->plan));
                json_object_set_new(extra, "batch", json_integer(e->batch));
                json_object_set_new(extra, "position", json_integer(e->position));
            }
            row = json_pack("{s:s, s:o, s:s, s:{s:s, s:o}, s:o}", "data_source", ds, "prompt", msgs,
                            "ability", "multi-hop-qa", "reward_model", "style", "rule",
                            "ground_truth", truth, "extra_info", extra);
        } else {
            char *label = json_dumps(truth, JSON_COMPACT);
            json_decref(truth);
            row = json_pack("{s:s, s:o, s:s, s:I}", "datasource", ds, "prompt", msgs, "label",
                            label ? label : "{}", "question_id", (json_int_t)qid);
            free(label);
        }
    }
    if (rc == PARE_OK && row) rc = emit(e, qid, row, extra);
    json_decref(bucket);
    json_decref(members);
    json_decref(cands);
    json_decref(answers);
    free(question);
    free(ext);
    free(ds);
    return rc;
}

static int export_rubrics(struct ex *e, int rrm)
{
    json_t *qids = id_list(e,
                           "SELECT DISTINCT question_id FROM rubric_items WHERE ?1 = ?1 AND "
                           "?2 = ?2 ORDER BY question_id",
                           0, 0);
    if (!qids) return store_fail(e->st, &e->err, "reading rubrics");
    int rc = PARE_OK;
    size_t i;
    json_t *q;
    json_array_foreach(qids, i, q)
    {
        if (rc != PARE_OK) break;
        int64_t qid = json_integer_value(q);
        sqlite3_stmt *s = store_stmt(e->st, "SELECT question, answers, ext_id FROM questions "
                                            "WHERE id = ?1");
        if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
            if (s) sqlite3_reset(s);
            rc = store_fail(e->st, &e->err, "reading a question");
            break;
        }
        json_error_t je;
        json_t *answers = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
        char *question = xstrdup((const char *)sqlite3_column_text(s, 0));
        char *ext = xstrdup((const char *)sqlite3_column_text(s, 2));
        sqlite3_reset(s);
        json_t *items = json_array();
        double total = 0;
        s = store_stmt(e->st, "SELECT item_no, kind, criterion, points, passage_id, expected "
                              "FROM rubric_items WHERE question_id = ?1 ORDER BY item_no");
        int src = SQLITE_ERROR;
        if (s && !sqlite3_bind_int64(s, 1, qid)) {
            while ((src = sqlite3_step(s)) == SQLITE_ROW) {
                json_error_t je2;
                json_t *exp = json_loads((const char *)sqlite3_column_text(s, 5), 0, &je2);
                double pts = sqlite3_column_double(s, 3);
                total += pts;
                json_t *it = rrm ? json_pack("{s:s, s:f}", "criterion",
                                             (const char *)sqlite3_column_text(s, 2), "points", pts)
                                 : json_pack("{s:i, s:s, s:s, s:f, s:o, s:o}", "item_no",
                                             sqlite3_column_int(s, 0), "kind",
                                             (const char *)sqlite3_column_text(s, 1), "criterion",
                                             (const char *)sqlite3_column_text(s, 2), "points", pts,
                                             "passage_id",
                                             sqlite3_column_type(s, 4) == SQLITE_NULL
                                                 ? json_null()
                                                 : json_integer(sqlite3_column_int64(s, 4)),
                                             "expected", exp ? exp : json_null());
                if (rrm) json_decref(exp);
                json_array_append_new(items, it);
            }
            sqlite3_reset(s);
        }
        if (src != SQLITE_DONE) rc = store_fail(e->st, &e->err, "reading rubric items");
        json_t *row =
            rrm ? json_pack("{s:s, s:s, s:o}", "problem", question, "answer",
                            json_string_value(json_array_get(answers, 0)), "criteria", items)
                : json_pack("{s:I, s:s, s:s, s:O, s:o, s:f}", "question_id", (json_int_t)qid,
                            "ext_id", ext, "question", question, "answers", answers, "items", items,
                            "total_points", total);
        if (rc == PARE_OK)
            rc = emit(e, qid, row, NULL);
        else
            json_decref(row);
        json_decref(answers);
        free(question);
        free(ext);
    }
    json_decref(qids);
    return rc;
}

static int export_negatives(struct ex *e)
{
    sqlite3_stmt *s = store_stmt(e->st, "SELECT n.id, n.question_id, q.ext_id, q.question, "
                                        "n.kind, n.label, n.verified, n.answer, n.passages "
                                        "FROM negatives n JOIN questions q ON q.id = n.question_id "
                                        "ORDER BY n.question_id, n.id");
    if (!s) return store_fail(e->st, &e->err, "reading negatives");
    /* rows first: passage() reuses the connection */
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_error_t je;
        json_t *ids = json_loads((const char *)sqlite3_column_text(s, 8), 0, &je);
        json_array_append_new(rows,
                              json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "question_id",
                                        (json_int_t)sqlite3_column_int64(s, 1), "ext_id",
                                        (const char *)sqlite3_column_text(s, 2), "question",
                                        (const char *)sqlite3_column_text(s, 3), "kind",
                                        (const char *)sqlite3_column_text(s, 4), "label",
                                        (const char *)sqlite3_column_text(s, 5), "verified",
                                        sqlite3_column_int(s, 6), "answer",
                                        sqlite3_column_type(s, 7) == SQLITE_NULL
                                            ? json_null()
                                            : json_string((const char *)sqlite3_column_text(s, 7)),
                                        "passages", ids ? ids : json_array()));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return store_fail(e->st, &e->err, "reading negatives");
    }
    rc = PARE_OK;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        if (rc != PARE_OK) break;
        json_t *ps = json_array();
        size_t k;
        json_t *id;
        json_array_foreach(json_object_get(r, "passages"), k, id)
        {
            json_t *p = passage(e, json_integer_value(id));
            if (!p)
                rc = store_fail(e->st, &e->err, "reading a passage");
            else
                json_array_append_new(ps, p);
        }
        json_object_set_new(r, "passages", ps);
        rc = rc == PARE_OK ? emit(e, json_integer_value(json_object_get(r, "question_id")),
                                  json_incref(r), NULL)
                           : rc;
    }
    json_decref(rows);
    return rc;
}

static char *split_name(const char *path, const char *part)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    struct sbuf b = {0};
    if (dot && (!slash || dot > slash)) {
        sbuf_add(&b, path, (size_t)(dot - path));
        sbuf_addf(&b, ".%s%s", part, dot);
    } else {
        sbuf_addf(&b, "%s.%s", path, part);
    }
    return sbuf_detach(&b);
}

int job_export(struct pare_ctx *ctx, int argc, char **argv)
{
    struct ex e = {0};
    const char *outp = NULL, *judge = NULL;
    const struct opt opts[] = {
        {"what", OPT_STRING, &e.what, NULL, "W",
         "sets, rubrics, negatives, verl, openrlhf, rrm or schedule (required)"},
        {"plan", OPT_STRING, &e.plan, "sorted", "NAME", "schedule: the plan to write, in order"},
        {"out", OPT_STRING, &outp, NULL, "FILE", "output file (required; verl wants a .json name)"},
        {"split", OPT_DOUBLE, &e.split, "0", "R",
         "share of questions for training; writes NAME.train.EXT and NAME.val.EXT (0: one file)"},
        {"seed", OPT_INT, &e.seed, "42", "N", "seed of the split"},
        {"judge", OPT_STRING, &judge, NULL, "FP",
         "evidence sets of this judge fingerprint (default: the most recent sets' judge)"},
        {"method", OPT_STRING, &e.method, "loo", "M", "evidence sets of this minimiser"},
        {"retrieval", OPT_INT, &e.retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {NULL},
    };
    const struct cli cli = {"export",
                            NULL,
                            "Write sets, rubrics, negatives and trainer datasets "
                            "as JSON Lines.",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    static const char *const whats[] = {"sets",     "rubrics", "negatives", "verl",
                                        "openrlhf", "rrm",     "schedule"};
    int known = 0;
    for (size_t i = 0; e.what && i < ARRAY_SIZE(whats); i++) known |= strcmp(e.what, whats[i]) == 0;
    if (!known || !outp) {
        fprintf(stderr, "pare export: --what (sets, rubrics, negatives, verl, openrlhf, rrm, "
                        "schedule) and --out are required\n");
        return PARE_EUSAGE;
    }
    if (e.split < 0 || e.split >= 1) {
        fprintf(stderr, "pare export: --split must be in [0, 1)\n");
        return PARE_EUSAGE;
    }
    if (job_open(&e.job, ctx, "export", 0, argc, argv, &e.st) != PARE_OK) {
        return PARE_EFAIL;
    }
    e.codec = store_codec(e.st);
    char *fp = NULL;
    if (judge)
        fp = xstrdup(judge);
    else {
        sqlite3_stmt *s = store_stmt(e.st, "SELECT judge FROM evidence_sets WHERE method = ?1 "
                                           "ORDER BY created_at DESC, id DESC LIMIT 1");
        if (s && !sqlite3_bind_text(s, 1, e.method, -1, SQLITE_STATIC) &&
            sqlite3_step(s) == SQLITE_ROW)
            fp = xstrdup((const char *)sqlite3_column_text(s, 0));
        if (s) sqlite3_reset(s);
    }
    e.judge = fp ? fp : "";
    if (rc == PARE_OK) rc = store_retrieval(e.st, &e.retrieval, 0, &e.err);
    char *tp = e.split > 0 ? split_name(outp, "train") : xstrdup(outp);
    char *vp = e.split > 0 ? split_name(outp, "val") : NULL;
    if (rc == PARE_OK) rc = out_open(&e.train, tp, &e.err);
    if (rc == PARE_OK && vp) rc = out_open(&e.val, vp, &e.err);
    if (rc == PARE_OK && (strcmp(e.what, "rubrics") == 0 || strcmp(e.what, "rrm") == 0)) {
        rc = export_rubrics(&e, e.what[1] == 'r');
    } else if (rc == PARE_OK && strcmp(e.what, "negatives") == 0) {
        rc = export_negatives(&e);
    } else if (rc == PARE_OK && strcmp(e.what, "schedule") == 0) {
        /* the plan in batch order: each prompt as a verl row of its minimal set */
        sqlite3_stmt *s = store_stmt(e.st, "SELECT sc.batch, sc.position, sc.question_id, "
                                           "(SELECT id FROM evidence_sets es WHERE es.question_id "
                                           "= sc.question_id AND es.judge = ?2 AND es.method = ?3 "
                                           "AND es.status = 'minimal') FROM schedule sc WHERE "
                                           "sc.plan = ?1 ORDER BY sc.epoch, sc.batch, sc.position");
        json_t *rows = json_array();
        if (!s || sqlite3_bind_text(s, 1, e.plan, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 2, e.judge, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 3, e.method, -1, SQLITE_STATIC))
            rc = store_fail(e.st, &e.err, "reading the schedule");
        int src;
        while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW)
            json_array_append_new(rows,
                                  json_pack("[I, I, I, I]", (json_int_t)sqlite3_column_int64(s, 0),
                                            (json_int_t)sqlite3_column_int64(s, 1),
                                            (json_int_t)sqlite3_column_int64(s, 2),
                                            (json_int_t)sqlite3_column_int64(s, 3)));
        if (s) sqlite3_reset(s);
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            if (rc != PARE_OK) break;
            int64_t set = json_integer_value(json_array_get(r, 3));
            if (!set) continue; /* no minimal set: no ground truth to train on */
            e.batch = json_integer_value(json_array_get(r, 0));
            e.position = json_integer_value(json_array_get(r, 1));
            rc = export_set(&e, set, json_integer_value(json_array_get(r, 2)), "minimal");
        }
        if (rc == PARE_OK && json_array_size(rows) == 0) {
            sbuf_setf(&e.err, "no plan '%s': run pare schedule first", e.plan);
            rc = PARE_EUSAGE;
        }
        json_decref(rows);
    } else if (rc == PARE_OK) {
        /* one row per question with a set (verl/openrlhf: minimal sets only) */
        int all = strcmp(e.what, "sets") == 0;
        sqlite3_stmt *s = store_stmt(e.st, "SELECT id, question_id, status FROM evidence_sets "
                                           "WHERE judge = ?1 AND method = ?2 AND (?3 OR status = "
                                           "'minimal') ORDER BY question_id");
        json_t *sets = json_array();
        if (!s || sqlite3_bind_text(s, 1, e.judge, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 2, e.method, -1, SQLITE_STATIC) || sqlite3_bind_int(s, 3, all))
            rc = store_fail(e.st, &e.err, "reading evidence sets");
        int src;
        while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW)
            json_array_append_new(sets,
                                  json_pack("[I, I, s]", (json_int_t)sqlite3_column_int64(s, 0),
                                            (json_int_t)sqlite3_column_int64(s, 1),
                                            (const char *)sqlite3_column_text(s, 2)));
        if (s) sqlite3_reset(s);
        size_t i;
        json_t *r;
        json_array_foreach(sets, i, r)
        {
            if (rc != PARE_OK) break;
            rc = export_set(&e, json_integer_value(json_array_get(r, 0)),
                            json_integer_value(json_array_get(r, 1)),
                            json_string_value(json_array_get(r, 2)));
        }
        if (rc == PARE_OK && json_array_size(sets) == 0) {
            sbuf_setf(&e.err, "no evidence sets for judge '%s' and method %s: run pare mine first",
                      e.judge, e.method);
            rc = PARE_EUSAGE;
        }
        json_decref(sets);
    }
    int64_t rows = e.train.rows + e.val.rows;
    int keep = rc == PARE_OK;
    int c1 = out_close(&e.train, keep, &e.err), c2 = out_close(&e.val, keep, &e.err);
    if (rc == PARE_OK) rc = c1 != PARE_OK ? c1 : c2;
    if (rc != PARE_OK)
        fprintf(stderr, "pare export: %s\n", sbuf_str(&e.err));
    else
        job_say(&e.job, "export: %lld %s rows -> %s%s%s", (long long)rows, e.what, tp,
                vp ? " and " : "", vp ? vp : "");
    rc = job_end(&e.job, rc, rows, 0, rc == PARE_OK ? NULL : sbuf_str(&e.err), NULL);
    free(tp);
    free(vp);
    free(fp);
    blob_codec_free(e.codec);
    sbuf_free(&e.err);
    store_close(e.st);
    return rc;
}
