/*
 * status.c - `pare status`: what the database holds, what ran and how it ended.
 * A table for people on stdout, or the same facts as one JSON object with --json.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "jobs/jobs.h"
#include "stores/store.h"

/* Runs one query returning one row of integers/reals into a JSON object under the given names. */
static int query_row(struct store *st, const char *sql, const char *const *names, int n,
                     json_t *into)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s) return PARE_EFAIL;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            json_t *v = sqlite3_column_type(s, i) == SQLITE_FLOAT
                            ? json_real(sqlite3_column_double(s, i))
                        : sqlite3_column_type(s, i) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(s, i));
            json_object_set_new(into, names[i], v);
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

static json_t *query_rows(struct store *st, const char *sql, const char *const *names, int n)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s) return NULL;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < n; i++) {
            json_t *v;
            switch (sqlite3_column_type(s, i)) {
            case SQLITE_INTEGER:
                v = json_integer(sqlite3_column_int64(s, i));
                break;
            case SQLITE_FLOAT:
                v = json_real(sqlite3_column_double(s, i));
                break;
            case SQLITE_NULL:
                v = json_null();
                break;
            default:
                v = json_string((const char *)sqlite3_column_text(s, i));
                break;
            }
            json_object_set_new(o, names[i], v);
        }
        json_array_append_new(arr, o);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
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

static void print_human(json_t *r)
{
    json_t *db = json_object_get(r, "database");
    printf("database    %s (schema %lld, %.1f MiB)\n", gets(db, "path"),
           (long long)geti(db, "schema"), (double)geti(db, "bytes") / 1048576.0);
    const char *ext = gets(r, "extension");
    if (*ext)
        printf("extension   %s\n            sqlite3 %s -cmd '.load %s'\n", ext, gets(db, "path"),
               ext);
    printf("report      pare --db %s report --out report.html\n", gets(db, "path"));

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
    printf("\n");

    json_t *t = json_object_get(r, "tables");
    printf("tables     ");
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) printf(" %s %lld", k, (long long)json_integer_value(v));
    printf("\n");

    json_t *sets = json_object_get(r, "evidence_sets");
    if (json_array_size(sets)) {
        printf("\n%-28s %-6s %-18s %8s %9s\n", "evidence sets: judge", "method", "status", "count",
               "avg size");
        json_array_foreach(sets, i, d)
        {
            printf("%-28.28s %-6s %-18s %8lld %9.2f\n", gets(d, "judge"), gets(d, "method"),
                   gets(d, "status"), (long long)geti(d, "count"),
                   json_number_value(json_object_get(d, "avg_size")));
        }
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
        {
            printf(" %s %lld", gets(d, "bucket"), (long long)geti(d, "count"));
        }
        printf(" (from %s)\n", gets(json_array_get(diff, 0), "source"));
    }

    json_t *runs = json_object_get(r, "runs");
    printf("\n%-5s %-10s %-12s %-21s %10s %8s  %s\n", "run", "command", "status", "started", "done",
           "failed", "error");
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
    json_t *r = json_object();
    struct stat sb;
    json_object_set_new(r, "database",
                        json_pack("{s:s, s:i, s:I}", "path", db, "schema", store_schema_version(st),
                                  "bytes", (json_int_t)(stat(db, &sb) == 0 ? sb.st_size : 0)));
    char *dir = exe_dir();
    char *ext = path_join(dir, "pare_ext.so");
    if (access(ext, R_OK) == 0) json_object_set_new(r, "extension", json_string(ext));
    free(ext);
    free(dir);

    static const char *const ds_cols[] = {"name", "format", "questions", "context_passages",
                                          "gold_passages"};
    json_t *ds = query_rows(st,
                            "SELECT d.name, d.format, "
                            "(SELECT count(*) FROM questions q WHERE q.dataset_id = d.id), "
                            "(SELECT count(*) FROM question_passages qp JOIN questions q "
                            "   ON q.id = qp.question_id WHERE q.dataset_id = d.id), "
                            "(SELECT count(*) FROM question_passages qp JOIN questions q "
                            "   ON q.id = qp.question_id WHERE q.dataset_id = d.id AND qp.is_gold) "
                            "FROM datasets d ORDER BY d.id",
                            ds_cols, 5);
    static const char *const p_cols[] = {"count", "text_bytes", "body_bytes", "dict_bytes"};
    json_t *p = json_object();
    int ok = ds && query_row(st,
                             "SELECT count(*), coalesce(sum(n_bytes), 0), "
                             "coalesce(sum(length(body)), 0), "
                             "(SELECT coalesce(sum(length(dict)), 0) FROM zstd_dicts) "
                             "FROM passages",
                             p_cols, 4, p) == PARE_OK;
    if (ok) {
        double text = (double)geti(p, "text_bytes"), body = (double)geti(p, "body_bytes"),
               dict = (double)geti(p, "dict_bytes");
        json_object_set_new(p, "compression_ratio", json_real(body > 0 ? text / body : 0));
        json_object_set_new(p, "compression_ratio_with_dict",
                            json_real(body > 0 ? text / (body + dict) : 0));
    }
    static const char *const t_cols[] = {
        "questions", "candidates",   "judge_calls", "evidence_sets", "rubric_items",
        "negatives", "trajectories", "rewards",     "schedule",      "rejects"};
    json_t *t = json_object();
    ok = ok && query_row(st,
                         "SELECT (SELECT count(*) FROM questions), "
                         "(SELECT count(*) FROM candidates), (SELECT count(*) FROM judge_calls), "
                         "(SELECT count(*) FROM evidence_sets), "
                         "(SELECT count(*) FROM rubric_items), (SELECT count(*) FROM negatives), "
                         "(SELECT count(*) FROM trajectories), (SELECT count(*) FROM rewards), "
                         "(SELECT count(*) FROM schedule), (SELECT count(*) FROM rejects)",
                         t_cols, 10, t) == PARE_OK;
    static const char *const r_cols[] = {"id",          "command",    "status",       "started_at",
                                         "finished_at", "items_done", "items_failed", "error"};
    sqlite3_stmt *lim = NULL;
    json_t *runs = NULL;
    if (ok) {
        /* the limit is bound, like every value */
        static const char *const runs_sql =
            "SELECT id, command, status, started_at, finished_at, items_done, items_failed, "
            "error FROM runs ORDER BY id DESC LIMIT ?1";
        lim = store_stmt(st, runs_sql);
        if (lim && sqlite3_bind_int64(lim, 1, n_runs) == SQLITE_OK) {
            /* store_stmt resets bindings: query_rows must not fetch it again, so step here */
            runs = json_array();
            int src;
            while ((src = sqlite3_step(lim)) == SQLITE_ROW) {
                json_t *o = json_object();
                for (int i = 0; i < 8; i++) {
                    json_t *v = sqlite3_column_type(lim, i) == SQLITE_NULL ? json_null()
                                : sqlite3_column_type(lim, i) == SQLITE_INTEGER
                                    ? json_integer(sqlite3_column_int64(lim, i))
                                    : json_string((const char *)sqlite3_column_text(lim, i));
                    json_object_set_new(o, r_cols[i], v);
                }
                json_array_append_new(runs, o);
            }
            sqlite3_reset(lim);
            if (src != SQLITE_DONE) ok = 0;
        } else
            ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "pare status: %s\n", store_errmsg(st));
        json_decref(r);
        json_decref(ds);
        json_decref(p);
        json_decref(t);
        json_decref(runs);
        store_close(st);
        return PARE_EFAIL;
    }
    static const char *const n_cols[] = {"kind", "count", "verified"};
    json_t *negs = query_rows(st,
                              "SELECT kind, count(*), sum(verified) FROM negatives "
                              "GROUP BY kind ORDER BY kind",
                              n_cols, 3);
    static const char *const e_cols[] = {"judge", "method", "status", "count", "avg_size"};
    json_t *sets = query_rows(st,
                              "SELECT judge, method, status, count(*), avg(size) FROM "
                              "evidence_sets GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                              e_cols, 5);
    if (!negs || !sets) {
        fprintf(stderr, "pare status: %s\n", store_errmsg(st));
        json_decref(negs);
        json_decref(sets);
        json_decref(r);
        json_decref(ds);
        json_decref(p);
        json_decref(t);
        json_decref(runs);
        store_close(st);
        return PARE_EFAIL;
    }
    static const char *const d_cols[] = {"bucket", "count", "source"};
    json_t *diff = query_rows(st,
                              "SELECT bucket, count(*), min(source) FROM difficulty "
                              "GROUP BY bucket ORDER BY CASE bucket WHEN 'easy' THEN 0 "
                              "WHEN 'medium' THEN 1 ELSE 2 END",
                              d_cols, 3);
    json_object_set_new(r, "difficulty", diff ? diff : json_array());
    json_object_set_new(r, "negatives", negs);
    json_object_set_new(r, "evidence_sets", sets);
    json_object_set_new(r, "datasets", ds);
    json_object_set_new(r, "passages", p);
    json_object_set_new(r, "tables", t);
    json_object_set_new(r, "runs", runs);
    if (json_out) {
        if (json_dumpf(r, stdout, JSON_INDENT(2)) != 0) rc = PARE_EFAIL;
        printf("\n");
    } else {
        print_human(r);
    }
    json_decref(r);
    store_close(st);
    return fflush(stdout) == 0 ? rc : PARE_EFAIL;
}
