/*
 * status.c - `pare status`: what the database holds, what ran and how it ended.
 * A table for people on stdout, or the same facts as one JSON object with --json.
 *
 * The facts are gathered into one JSON object first (gather_*), so the table and --json can never
 * disagree; print_* only lay that object out for people.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "jobs/jobs.h"
#include "stores/store.h"

/* The value of column i of s's current row as JSON (integer, real, text or null). */
static json_t *column_json(sqlite3_stmt *s, int i)
{
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(s, i));
    case SQLITE_NULL:
        return json_null();
    default:
        return json_string((const char *)sqlite3_column_text(s, i));
    }
}

/*
 * Runs sql (with ?1 bound to `arg` when arg >= 0) and returns its rows as an array of objects
 * keyed by names[0..n), or NULL on a database error.
 */
static json_t *query_rows(struct store *st, const char *sql, const char *const *names, int n,
                          int64_t arg)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s || (arg >= 0 && sqlite3_bind_int64(s, 1, arg) != SQLITE_OK)) return NULL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < n; i++) json_object_set_new(o, names[i], column_json(s, i));
        json_array_append_new(arr, o);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* query_rows for a query of exactly one row: that row's object, or NULL. */
static json_t *query_row(struct store *st, const char *sql, const char *const *names, int n)
{
    json_t *rows = query_rows(st, sql, names, n, -1);
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return row;
}

static json_int_t geti(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *gets(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_t *gather_database(struct store *st, const char *db)
{
    struct stat sb;
    json_t *d = json_pack("{s:s, s:i, s:I}", "path", db, "schema", store_schema_version(st),
                          "bytes", (json_int_t)(stat(db, &sb) == 0 ? sb.st_size : 0));
    return d;
}

/* The sqlite3 extension beside the binary, or NULL when it is not there. */
static json_t *gather_extension(void)
{
    char *dir = exe_dir();
    char *ext = path_join(dir, "pare_ext.so");
    json_t *v = access(ext, R_OK) == 0 ? json_string(ext) : NULL;
    free(ext);
    free(dir);
    return v;
}

static json_t *gather_passages(struct store *st)
{
    static const char *const cols[] = {"count", "text_bytes", "body_bytes", "dict_bytes"};
    json_t *p = query_row(st,
                          "SELECT count(*), coalesce(sum(n_bytes), 0), "
                          "coalesce(sum(length(body)), 0), "
                          "(SELECT coalesce(sum(length(dict)), 0) FROM zstd_dicts) FROM passages",
                          cols, 4);
    if (!p) return NULL;
    double text = (double)geti(p, "text_bytes"), body = (double)geti(p, "body_bytes"),
           dict = (double)geti(p, "dict_bytes");
    json_object_set_new(p, "compression_ratio", json_real(body > 0 ? text / body : 0));
    json_object_set_new(p, "compression_ratio_with_dict",
                        json_real(body > 0 ? text / (body + dict) : 0));
    return p;
}

static json_t *gather_tables(struct store *st)
{
    static const char *const cols[] = {
        "questions", "candidates",   "judge_calls", "evidence_sets", "rubric_items",
        "negatives", "trajectories", "rewards",     "schedule",      "rejects"};
    return query_row(st,
                     "SELECT (SELECT count(*) FROM questions), "
                     "(SELECT count(*) FROM candidates), (SELECT count(*) FROM judge_calls), "
                     "(SELECT count(*) FROM evidence_sets), (SELECT count(*) FROM rubric_items), "
                     "(SELECT count(*) FROM negatives), (SELECT count(*) FROM trajectories), "
                     /* the rows of the rewards view, counted without building them */
                     "(SELECT count(cp1) + count(cp2) + count(laser) + count(laser_d) + "
                     "count(decs) + count(rubric) FROM trajectory_rewards) + (SELECT count(*) "
                     "FROM rewards_extra), (SELECT count(*) FROM schedule), "
                     "(SELECT count(*) FROM rejects)",
                     cols, 10);
}

/* The sections that are lists of rows: the JSON key, the query and its column names. */
struct section {
    const char *key;
    const char *sql;
    const char *const *cols;
    int n_cols;
};

static const char *const ds_cols[] = {"name", "format", "questions", "context_passages",
                                      "gold_passages"};
static const char *const set_cols[] = {"judge", "method", "status", "count", "avg_size"};
static const char *const neg_cols[] = {"kind", "count", "verified"};
static const char *const diff_cols[] = {"bucket", "count", "source"};
static const char *const cost_cols[] = {"judge",
                                        "method",
                                        "questions",
                                        "calls_per_question",
                                        "prior_calls_per_question",
                                        "tokens_per_question",
                                        "tokens_per_minimal_set"};
static const char *const ep_cols[] = {"run",    "command",   "url",     "calls",
                                      "errors", "taken_out", "mean_ms", "p95_ms"};

static const struct section sections[] = {
    {"datasets",
     "SELECT d.name, d.format, (SELECT count(*) FROM questions q WHERE q.dataset_id = d.id), "
     "(SELECT count(*) FROM question_passages qp JOIN questions q ON q.id = qp.question_id "
     " WHERE q.dataset_id = d.id), "
     "(SELECT count(*) FROM question_passages qp JOIN questions q ON q.id = qp.question_id "
     " WHERE q.dataset_id = d.id AND qp.is_gold) FROM datasets d ORDER BY d.id",
     ds_cols, 5},
    {"evidence_sets",
     "SELECT judge, method, status, count(*), avg(size) FROM evidence_sets "
     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
     set_cols, 5},
    /* what the sets cost: the judge's calls and tokens (pare mine --prior, openai judge) */
    {"judge_cost",
     "SELECT judge, method, count(*), avg(judge_calls), avg(prior_calls), "
     "sum(prompt_tokens + completion_tokens) * 1.0 / count(*), "
     "sum(prompt_tokens + completion_tokens) * 1.0 / nullif(sum(status = 'minimal'), 0) "
     "FROM evidence_sets GROUP BY 1, 2 ORDER BY 1, 2",
     cost_cols, 7},
    {"negatives", "SELECT kind, count(*), sum(verified) FROM negatives GROUP BY kind ORDER BY kind",
     neg_cols, 3},
    {"difficulty",
     "SELECT bucket, count(*), min(source) FROM difficulty GROUP BY bucket "
     "ORDER BY CASE bucket WHEN 'easy' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END",
     diff_cols, 3},
    /* the inference endpoints of the newest run that used any (http.h keeps their figures) */
    {"endpoints",
     "SELECT r.id, r.command, json_extract(e.value, '$.url'), json_extract(e.value, '$.calls'), "
     "json_extract(e.value, '$.errors'), json_extract(e.value, '$.taken_out'), "
     "json_extract(e.value, '$.mean_ms'), json_extract(e.value, '$.p95_ms') "
     "FROM runs r, json_each(r.summary, '$.endpoints') e WHERE r.id = (SELECT max(id) FROM runs "
     "WHERE json_valid(summary) AND json_type(summary, '$.endpoints') = 'array') ORDER BY e.key",
     ep_cols, 8},
};

static json_t *gather_runs(struct store *st, int64_t n_runs)
{
    static const char *const cols[] = {"id",          "command",    "status",       "started_at",
                                       "finished_at", "items_done", "items_failed", "error"};
    return query_rows(st,
                      "SELECT id, command, status, started_at, finished_at, items_done, "
                      "items_failed, error FROM runs ORDER BY id DESC LIMIT ?1",
                      cols, 8, n_runs);
}

/* Everything status reports, as one object; NULL (message on stderr) on a database error. */
static json_t *gather(struct store *st, const char *db, int64_t n_runs)
{
    json_t *r = json_object();
    json_object_set_new(r, "database", gather_database(st, db));
    json_t *ext = gather_extension();
    if (ext) json_object_set_new(r, "extension", ext);
    int ok = 1;
    for (size_t i = 0; i < ARRAY_SIZE(sections) && ok; i++) {
        const struct section *s = &sections[i];
        json_t *rows = query_rows(st, s->sql, s->cols, s->n_cols, -1);
        ok = rows && json_object_set_new(r, s->key, rows) == 0;
    }
    json_t *p = ok ? gather_passages(st) : NULL;
    ok = ok && p && json_object_set_new(r, "passages", p) == 0;
    json_t *t = ok ? gather_tables(st) : NULL;
    ok = ok && t && json_object_set_new(r, "tables", t) == 0;
    json_t *runs = ok ? gather_runs(st, n_runs) : NULL;
    ok = ok && runs && json_object_set_new(r, "runs", runs) == 0;
    if (!ok) {
        fprintf(stderr, "pare status: %s\n", store_errmsg(st));
        json_decref(r);
        return NULL;
    }
    return r;
}

static void print_database(json_t *r)
{
    json_t *db = json_object_get(r, "database");
    printf("database    %s (schema %lld, %.1f MiB)\n", gets(db, "path"),
           (long long)geti(db, "schema"), (double)geti(db, "bytes") / 1048576.0);
    const char *ext = gets(r, "extension");
    if (*ext)
        printf("extension   %s\n            sqlite3 %s -cmd '.load %s'\n", ext, gets(db, "path"),
               ext);
    printf("report      pare --db %s report --out report.html\n", gets(db, "path"));
}

static void print_datasets(json_t *r)
{
    json_t *ds = json_object_get(r, "datasets");
    printf("\n%-28s %-16s %10s %10s %8s\n", "dataset", "format", "questions", "contexts", "gold");
    size_t i;
    json_t *d;
    json_array_foreach(ds, i, d)
    {
        printf("%-28s %-16s %10lld %10lld %8lld\n", gets(d, "name"), gets(d, "format"),
               (long long)geti(d, "questions"), (long long)geti(d, "context_passages"),
               (long long)geti(d, "gold_passages"));
    }
    if (json_array_size(ds) == 0) printf("(none: load data with pare ingest)\n");
}

static void print_passages(json_t *r)
{
    json_t *p = json_object_get(r, "passages");
    printf("\npassages    %lld distinct", (long long)geti(p, "count"));
    if (geti(p, "count") > 0) {
        printf(", text %.1f MiB, stored %.1f MiB: compression ratio %.2f",
               (double)geti(p, "text_bytes") / 1048576.0, (double)geti(p, "body_bytes") / 1048576.0,
               json_real_value(json_object_get(p, "compression_ratio")));
        if (geti(p, "dict_bytes") > 0)
            printf(" (%.2f counting the %lld KiB dictionary)",
                   json_real_value(json_object_get(p, "compression_ratio_with_dict")),
                   (long long)geti(p, "dict_bytes") / 1024);
    }
    printf("\ntables     ");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "tables"), k, v)
        printf(" %s %lld", k, (long long)json_integer_value(v));
    printf("\n");
}

/* A number right-aligned in width, or "-" when it is null. */
static void print_num(json_t *v, int width, int decimals)
{
    if (json_is_number(v))
        printf(" %*.*f", width, decimals, json_number_value(v));
    else
        printf(" %*s", width, "-");
}

static void print_sets(json_t *r)
{
    json_t *sets = json_object_get(r, "evidence_sets");
    size_t i;
    json_t *d;
    if (json_array_size(sets)) {
        printf("\n%-28s %-11s %-18s %8s %9s\n", "evidence sets: judge", "method", "status", "count",
               "avg size");
        json_array_foreach(sets, i, d)
        {
            printf("%-28.28s %-11s %-18s %8lld %9.2f\n", gets(d, "judge"), gets(d, "method"),
                   gets(d, "status"), (long long)geti(d, "count"),
                   json_number_value(json_object_get(d, "avg_size")));
        }
    }
    int head = 0;
    json_array_foreach(json_object_get(r, "judge_cost"), i, d)
    {
        json_t *tq = json_object_get(d, "tokens_per_question");
        json_t *pc = json_object_get(d, "prior_calls_per_question");
        if (json_is_null(tq) && json_is_null(pc)) continue; /* lexical and exec: nothing to add */
        if (!head++)
            printf("\n%-28s %-11s %9s %9s %9s %12s\n", "judge cost: judge", "method", "calls/q",
                   "prior/q", "tokens/q", "tokens/set");
        printf("%-28.28s %-11s %9.2f", gets(d, "judge"), gets(d, "method"),
               json_number_value(json_object_get(d, "calls_per_question")));
        print_num(pc, 9, 2);
        print_num(tq, 9, 0);
        print_num(json_object_get(d, "tokens_per_minimal_set"), 12, 0);
        printf("\n");
    }
    json_t *negs = json_object_get(r, "negatives");
    if (json_array_size(negs)) {
        printf("\nnegatives  ");
        json_array_foreach(negs, i, d)
        {
            printf(" %s %lld (%lld verified)", gets(d, "kind"), (long long)geti(d, "count"),
                   (long long)geti(d, "verified"));
        }
        printf("\n");
    }
    json_t *diff = json_object_get(r, "difficulty");
    if (json_array_size(diff)) {
        printf("difficulty ");
        json_array_foreach(diff, i, d)
            printf(" %s %lld", gets(d, "bucket"), (long long)geti(d, "count"));
        printf(" (from %s)\n", gets(json_array_get(diff, 0), "source"));
    }
}

static void print_endpoints(json_t *r)
{
    json_t *eps = json_object_get(r, "endpoints");
    if (json_array_size(eps) == 0) return;
    json_t *first = json_array_get(eps, 0);
    printf("\nendpoints of run %lld (%s)\n%-40s %9s %8s %9s %9s %9s\n",
           (long long)geti(first, "run"), gets(first, "command"), "url", "calls", "errors",
           "taken out", "mean ms", "p95 ms");
    size_t i;
    json_t *e;
    json_array_foreach(eps, i, e)
    {
        printf("%-40.40s %9lld %8lld %9lld %9.0f %9.0f\n", gets(e, "url"),
               (long long)geti(e, "calls"), (long long)geti(e, "errors"),
               (long long)geti(e, "taken_out"), json_number_value(json_object_get(e, "mean_ms")),
               json_number_value(json_object_get(e, "p95_ms")));
    }
}

static void print_runs(json_t *r)
{
    json_t *runs = json_object_get(r, "runs");
    printf("\n%-5s %-10s %-12s %-21s %10s %8s  %s\n", "run", "command", "status", "started", "done",
           "failed", "error");
    size_t i;
    json_t *d;
    json_array_foreach(runs, i, d)
    {
        printf("%-5lld %-10s %-12s %-21s %10lld %8lld  %.60s\n", (long long)geti(d, "id"),
               gets(d, "command"), gets(d, "status"), gets(d, "started_at"),
               (long long)geti(d, "items_done"), (long long)geti(d, "items_failed"),
               gets(d, "error"));
    }
    if (json_array_size(runs) == 0) printf("(no runs yet)\n");
}

int job_status(struct pare_ctx *ctx, int argc, char **argv)
{
    int json_out = 0;
    int64_t n_runs = 10;
    const struct opt opts[] = {
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print one JSON object on stdout"},
        {"runs", OPT_INT, &n_runs, "10", "N", "how many recent runs to list"},
        {NULL},
    };
    const struct cli cli = {
        "status", NULL, "Show what the database holds, what ran and how it ended.", NULL, opts,
        0,        0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;

    struct store *st;
    struct sbuf err = {0};
    const char *db = pare_db_path(ctx);
    if (store_open(db, 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare status: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    json_t *r = gather(st, db, n_runs);
    store_close(st);
    if (!r) return PARE_EFAIL;
    if (json_out) {
        if (json_dumpf(r, stdout, JSON_INDENT(2)) != 0) rc = PARE_EFAIL;
        printf("\n");
    } else {
        print_database(r);
        print_datasets(r);
        print_passages(r);
        print_sets(r);
        print_endpoints(r);
        print_runs(r);
    }
    json_decref(r);
    return fflush(stdout) == 0 ? rc : PARE_EFAIL;
}
