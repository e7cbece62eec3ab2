/* test_job.c - the job runner: the runs row of a command from start to end, runs left behind by
 * dead processes, kept rejects, and the database a job opens. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <sys/wait.h>

#include "jobs/job.h"

/* Text of column 0 of the one row sql returns, copied into out. */
static void one_text(struct store *st, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(s, 0);
    snprintf(out, n, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(s);
}

static void test_run_row_from_begin_to_end(void **state)
{
    (void)state;
    char *p = tmp_path("j1.db");
    rm_db(p);
    struct pare_ctx ctx = {.db_path = p, .quiet = 1};
    struct job j;
    struct store *st;
    char *argv[] = {"mine", "--method", "ddmin"};
    /* a job that may not create the database refuses a missing file */
    assert_int_equal(job_open(&j, &ctx, "mine", 0, 3, argv, &st), PARE_EFAIL);
    assert_null(st);
    assert_int_equal(job_open(&j, &ctx, "mine", 1, 3, argv, &st), PARE_OK);
    char buf[256];
    one_text(st, "SELECT command || ' ' || args || ' ' || status FROM runs", buf, sizeof buf);
    assert_string_equal(buf, "mine [\"--method\",\"ddmin\"] running");
    int64_t pid = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT pid FROM runs WHERE id = 1");
    assert_int_equal(store_int(st, s, &pid), 1);
    assert_int_equal(pid, (int64_t)getpid());
    /* an open transaction is rolled back by job_end, which still records the end */
    assert_int_equal(store_begin(st), PARE_OK);
    assert_int_equal(store_exec(st, "INSERT INTO meta(key, value) VALUES ('x', 'y')"), PARE_OK);
    json_t *sum = json_pack("{s:i}", "sets", 7);
    assert_int_equal(job_end(&j, PARE_EINPUT, 5, 2, "bad line", sum), PARE_EINPUT);
    one_text(st,
             "SELECT status || ' ' || items_done || ' ' || items_failed || ' ' || error || ' ' || "
             "summary || ' ' || (finished_at IS NOT NULL) FROM runs",
             buf, sizeof buf);
    assert_string_equal(buf, "failed 5 2 bad line {\"sets\":7} 1");
    one_text(st, "SELECT count(*) FROM meta WHERE key = 'x'", buf, sizeof buf);
    assert_string_equal(buf, "0");
    /* a second run of the same store ends ok */
    assert_int_equal(job_begin(&j, &ctx, st, "status", 1, argv), PARE_OK);
    assert_int_equal(job_end(&j, PARE_OK, 1, 0, NULL, NULL), PARE_OK);
    one_text(st, "SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)", buf,
             sizeof buf);
    assert_string_equal(buf, "failed,ok");
    store_close(st);
    rm_db(p);
    free(p);
}

static void test_dead_runs_become_interrupted(void **state)
{
    (void)state;
    char *p = tmp_path("j2.db");
    rm_db(p);
    struct pare_ctx ctx = {.db_path = p, .quiet = 1};
    struct job j;
    struct store *st;
    char *argv[] = {"index"};
    assert_int_equal(job_open(&j, &ctx, "index", 1, 1, argv, &st), PARE_OK);
    /* a child that exits at once leaves a pid that no process holds any more */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO runs(command, args, started_at, status, pid) "
                                     "VALUES ('mine', '[]', 'then', 'running', ?1)");
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_int64(s, 1, child), SQLITE_OK);
    assert_int_equal(store_done(st, s), PARE_OK);
    store_close(st);
    /* the next job marks it, and leaves its own (live) run running */
    assert_int_equal(job_open(&j, &ctx, "status", 0, 1, argv, &st), PARE_OK);
    char buf[256];
    one_text(st, "SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)", buf,
             sizeof buf);
    assert_string_equal(buf, "running,interrupted,running");
    assert_int_equal(job_end(&j, PARE_OK, 0, 0, NULL, NULL), PARE_OK);
    store_close(st);
    rm_db(p);
    free(p);
}

static void test_rejects_replace_their_line(void **state)
{
    (void)state;
    char *p = tmp_path("j3.db");
    rm_db(p);
    struct pare_ctx ctx = {.db_path = p, .quiet = 1};
    struct job j;
    struct store *st;
    char *argv[] = {"ingest"};
    struct sbuf err = {0};
    assert_int_equal(job_open(&j, &ctx, "ingest", 1, 1, argv, &st), PARE_OK);
    assert_int_equal(job_reject(&j, "a.jsonl", 3, "invalid JSON", "{x", 2, &err), PARE_OK);
    assert_int_equal(job_reject(&j, "a.jsonl", 4, "no id", "{}", 2, &err), PARE_OK);
    assert_int_equal(job_end(&j, PARE_OK, 0, 2, NULL, NULL), PARE_OK);
    /* the same line rejected by a later run replaces its row under the new run */
    assert_int_equal(job_begin(&j, &ctx, st, "ingest", 1, argv), PARE_OK);
    assert_int_equal(job_reject(&j, "a.jsonl", 3, "still invalid", "{y", 2, &err), PARE_OK);
    char buf[256];
    one_text(st,
             "SELECT group_concat(run_id || ':' || line || ':' || error, ',') FROM "
             "(SELECT * FROM rejects ORDER BY line)",
             buf, sizeof buf);
    assert_string_equal(buf, "2:3:still invalid,1:4:no id");
    assert_int_equal(job_end(&j, PARE_OK, 0, 1, NULL, NULL), PARE_OK);
    store_close(st);
    sbuf_free(&err);
    rm_db(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_row_from_begin_to_end),
        cmocka_unit_test(test_dead_runs_become_interrupted),
        cmocka_unit_test(test_rejects_replace_their_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
