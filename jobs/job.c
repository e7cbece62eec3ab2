/* job.c - see job.h. */
#define _POSIX_C_SOURCE 200809L
#include "jobs/job.h"

#include "common/http.h"
#include "stores/shard.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/reader.h"

/* Seconds between progress lines when stderr is not a terminal (logs, CI). */
#define LOG_INTERVAL 10.0
#define TTY_INTERVAL 0.2

static int mark_interrupted(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, pid FROM runs WHERE status = 'running'");
    if (!s) return PARE_EFAIL;
    int64_t *dead = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(s, 1);
        if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
            xgrow((void **)&dead, &cap, n + 1, sizeof *dead);
            dead[n++] = sqlite3_column_int64(s, 0);
        }
    }
    sqlite3_reset(s);
    int out = rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
    for (size_t i = 0; i < n && out == PARE_OK; i++) {
        sqlite3_stmt *u = store_stmt(st, "UPDATE runs SET status = 'interrupted' WHERE id = ?1");
        if (!u || sqlite3_bind_int64(u, 1, dead[i]) != SQLITE_OK)
            out = PARE_EFAIL;
        else
            out = store_done(st, u);
    }
    free(dead);
    return out;
}

int job_begin(struct job *j, const struct pare_ctx *ctx, struct store *st, const char *command,
              int argc, char **argv)
{
    memset(j, 0, sizeof *j);
    j->st = st;
    j->ctx = ctx;
    j->command = command;
    j->t0 = j->last_print = now_monotonic();
    j->tty = isatty(STDERR_FILENO);
    http_endpoints_reset(); /* the run reports its own calls (pare run makes several jobs) */
    if (mark_interrupted(st) != PARE_OK) {
        fprintf(stderr, "pare %s: %s\n", command, store_errmsg(st));
        return PARE_EFAIL;
    }
    json_t *args = json_array();
    if (!args) {
        fprintf(stderr, "pare: out of memory\n");
        abort();
    }
    for (int i = 1; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
    char *args_text = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO runs(command, args, started_at, status, pid) "
                                     "VALUES (?1, ?2, ?3, 'running', ?4)");
    int rc = PARE_EFAIL;
    if (s && args_text && sqlite3_bind_text(s, 1, command, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(s, 2, args_text, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_text(s, 3, ts, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_int64(s, 4, (int64_t)getpid()) == SQLITE_OK)
        rc = store_done(st, s);
    free(args_text);
    if (rc != PARE_OK) {
        fprintf(stderr, "pare %s: cannot record the run: %s\n", command, store_errmsg(st));
        return PARE_EFAIL;
    }
    j->run_id = sqlite3_last_insert_rowid(store_db(st));
    return PARE_OK;
}

static void fmt_duration(struct sbuf *b, double s)
{
    if (s < 0 || s > 1e7) {
        sbuf_adds(b, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        sbuf_addf(b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        sbuf_addf(b, "%ld:%02ld", t / 60, t % 60);
}

void job_progress(struct job *j, const char *unit, uint64_t done, uint64_t total, uint64_t done_w,
                  uint64_t total_w)
{
    if (j->ctx->quiet) return;
    double now = now_monotonic();
    if (now - j->last_print < (j->tty ? TTY_INTERVAL : LOG_INTERVAL)) return;
    j->last_print = now;
    double el = now - j->t0;
    double rate = el > 0 ? (double)done / el : 0;
    struct sbuf b = {0};
    sbuf_addf(&b, "%s: %llu", j->command, (unsigned long long)done);
    if (total) sbuf_addf(&b, "/%llu", (unsigned long long)total);
    sbuf_addf(&b, " %s, %.0f/s", unit, rate);
    double frac =
        total_w ? (double)done_w / (double)total_w : (total ? (double)done / (double)total : -1);
    if (frac > 0 && frac <= 1) {
        sbuf_addf(&b, ", %.0f%%, ETA ", frac * 100);
        fmt_duration(&b, el / frac - el);
    }
    if (j->tty) {
        fprintf(stderr, "\r%s\033[K", sbuf_str(&b));
        j->line_open = 1;
    } else {
        fprintf(stderr, "%s\n", sbuf_str(&b));
    }
    sbuf_free(&b);
}

void job_say(struct job *j, const char *fmt, ...)
{
    if (j->ctx->quiet) return;
    if (j->line_open) {
        fprintf(stderr, "\r\033[K");
        j->line_open = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/*
 * Adds the figures of the OpenAI-compatible endpoints this process used (calls, errors, latency;
 * see http.h) to the run's summary and says them, one line per endpoint: the one place every
 * command that talks to a pool reports it.
 */
static json_t *add_endpoints(struct job *j, json_t *summary)
{
    json_t *eps = http_endpoints_json();
    if (!eps) return summary;
    size_t i;
    json_t *e;
    json_array_foreach(eps, i, e)
    {
        job_say(j,
                "%s: endpoint %s: %lld calls, %lld errors, taken out %lld times, latency "
                "mean %.0f ms, p50 %.0f ms, p95 %.0f ms (%s)",
                j->command, json_string_value(json_object_get(e, "url")),
                (long long)json_integer_value(json_object_get(e, "calls")),
                (long long)json_integer_value(json_object_get(e, "errors")),
                (long long)json_integer_value(json_object_get(e, "taken_out")),
                json_real_value(json_object_get(e, "mean_ms")),
                json_real_value(json_object_get(e, "p50_ms")),
                json_real_value(json_object_get(e, "p95_ms")),
                json_string_value(json_object_get(e, "state")));
    }
    if (!summary) summary = json_object();
    if (!json_is_object(summary) || json_object_set_new(summary, "endpoints", eps) != 0)
        json_decref(eps); /* a summary that is not an object keeps its shape */
    return summary;
}

int job_end(struct job *j, int rc, int64_t done, int64_t failed, const char *error, json_t *summary)
{
    if (j->line_open) {
        fprintf(stderr, "\r\033[K");
        j->line_open = 0;
    }
    if (store_in_tx(j->st)) store_rollback(j->st);
    summary = add_endpoints(j, summary);
    char *sum = summary ? json_dumps(summary, JSON_COMPACT) : NULL;
    json_decref(summary);
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(j->st, "UPDATE runs SET finished_at = ?1, status = ?2, "
                                        "items_done = ?3, items_failed = ?4, error = ?5, "
                                        "summary = ?6 WHERE id = ?7");
    int w = PARE_EFAIL;
    if (s && sqlite3_bind_text(s, 1, ts, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_text(s, 2, rc == PARE_OK ? "ok" : "failed", -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(s, 3, done) == SQLITE_OK &&
        sqlite3_bind_int64(s, 4, failed) == SQLITE_OK &&
        sqlite3_bind_text(s, 5, error, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        (sum ? sqlite3_bind_text(s, 6, sum, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, 6)) ==
            SQLITE_OK &&
        sqlite3_bind_int64(s, 7, j->run_id) == SQLITE_OK)
        w = store_done(j->st, s);
    free(sum);
    if (w != PARE_OK) {
        fprintf(stderr, "pare %s: cannot record the end of the run: %s\n", j->command,
                store_errmsg(j->st));
        return rc == PARE_OK ? PARE_EFAIL : rc;
    }
    return rc;
}

/*
 * The command's store: the database, or with --shard the shard database beside the main one
 * read-only (stores/shard.h), where pare_in_shard() selects the shard's questions.
 */
static int open_store(const struct pare_ctx *ctx, const char *db, int create, struct store **st,
                      struct sbuf *err)
{
    if (ctx->shard) {
        struct shard_spec sp;
        if (shard_parse(ctx->shard, &sp, err) != PARE_OK) return PARE_EFAIL; /* cli checked it */
        return shard_open(ctx->shard_db, db, &sp, st, err);
    }
    return store_open(db, create ? STORE_CREATE : 0, st, err);
}

int job_open(struct job *j, const struct pare_ctx *ctx, const char *command, int create, int argc,
             char **argv, struct store **st)
{
    struct sbuf err = {0};
    const char *db = pare_db_path(ctx);
    *st = NULL;
    if (open_store(ctx, db, create, st, &err) != PARE_OK) {
        fprintf(stderr, "pare %s: %s\n", command, sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    if (job_begin(j, ctx, *st, command, argc, argv) != PARE_OK) {
        store_close(*st);
        *st = NULL;
        return PARE_EFAIL;
    }
    return PARE_OK;
}

int job_reject(struct job *j, const char *source, long line, const char *error, const char *raw,
               size_t raw_len, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(j->st, "INSERT INTO rejects(run_id, source, line, error, raw) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(source, line) "
                                        "DO UPDATE SET run_id = excluded.run_id, "
                                        "error = excluded.error, raw = excluded.raw");
    if (!s || sqlite3_bind_int64(s, 1, j->run_id) ||
        sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 3, line) ||
        sqlite3_bind_text(s, 4, error, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_blob(s, 5, raw, (int)raw_len, SQLITE_STATIC) || store_done(j->st, s)) {
        sbuf_setf(err, "storing a rejected record: %s", store_errmsg(j->st));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

int job_check_files(char **files, int nfiles)
{
    struct sbuf err = {0};
    int rc = reader_check_all(files, nfiles, &err);
    if (rc != PARE_OK) {
        fprintf(stderr, "%s\n", sbuf_str(&err));
        rc = PARE_EINPUT;
    }
    sbuf_free(&err);
    return rc;
}
