/* test_store.c - creation, migration, refusal of newer schemas, statements, transactions. */
#include "helpers.h"

#include "stores/store.h"

static void test_create_and_migrate(void **state)
{
    (void)state;
    char *p = tmp_path("s1.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    /* without STORE_CREATE a missing file is an error that says what to do */
    assert_int_equal(store_open(p, 0, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "pare init");
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    assert_true(store_latest_schema() >= 1);
    assert_int_equal(store_schema_version(st), store_latest_schema());
    /* the views compile and pare_text is registered */
    assert_int_equal(store_exec(st, "SELECT * FROM passage_text LIMIT 1"), PARE_OK);
    assert_int_equal(store_meta_set(st, "k", "v1"), PARE_OK);
    assert_int_equal(store_meta_set(st, "k", "v2"), PARE_OK);
    struct sbuf v = {0};
    assert_int_equal(store_meta_get(st, "k", &v), 1);
    assert_string_equal(v.p, "v2");
    assert_int_equal(store_meta_get(st, "absent", &v), 0);
    store_close(st);
    /* reopening applies nothing new */
    assert_int_equal(store_open(p, 0, &st, &err), PARE_OK);
    assert_int_equal(store_schema_version(st), store_latest_schema());
    store_close(st);
    rm_db(p);
    free(p);
    sbuf_free(&err);
    sbuf_free(&v);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char *p = tmp_path("s2.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, "PRAGMA user_version = 999"), PARE_OK);
    store_close(st);
    assert_int_equal(store_open(p, 0, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "schema version 999 is newer");
    rm_db(p);
    free(p);
    sbuf_free(&err);
}

static void test_not_a_database(void **state)
{
    (void)state;
    char *p =
        tmp_file("s3.db", "this is not sqlite at all, just some text padding it out......", 63);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, 0, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "not a database");
    remove(p);
    free(p);
    sbuf_free(&err);
}

static void test_statements_and_rollback(void **state)
{
    (void)state;
    char *p = tmp_path("s4.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    static const char *const ins = "INSERT INTO meta(key, value) VALUES (?1, ?2)";
    sqlite3_stmt *a = store_stmt(st, ins);
    assert_non_null(a);
    assert_ptr_equal(store_stmt(st, ins), a); /* cached */
    assert_int_equal(store_begin(st), PARE_OK);
    assert_true(store_in_tx(st));
    assert_int_equal(sqlite3_bind_text(a, 1, "x", -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(a, 2, "'; DROP TABLE meta; --", -1, SQLITE_STATIC),
                     SQLITE_OK);
    assert_int_equal(store_done(st, a), PARE_OK);
    assert_int_equal(store_rollback(st), PARE_OK);
    struct sbuf v = {0};
    assert_int_equal(store_meta_get(st, "x", &v), 0);
    /* a constraint violation is an error with a message, not a crash */
    a = store_stmt(st, ins);
    assert_int_equal(sqlite3_bind_text(a, 1, "k", -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(store_done(st, a), PARE_OK);
    a = store_stmt(st, ins);
    assert_int_equal(sqlite3_bind_text(a, 1, "k", -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(store_done(st, a), PARE_EFAIL);
    assert_contains(store_errmsg(st), "UNIQUE");
    assert_null(store_stmt(st, "SELECT nope FROM nowhere"));
    assert_contains(store_errmsg(st), "no such");
    store_close(st);
    rm_db(p);
    free(p);
    sbuf_free(&err);
    sbuf_free(&v);
}

static char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

/* Another program's SQLite file: refused whatever the flags, and not one byte of it changes
 * (issue 15: `pare status` used to create 22 tables in it). An empty file is pare's to create
 * only with STORE_CREATE. */
static void test_foreign_database_untouched(void **state)
{
    (void)state;
    char *p = tmp_path("s5.db");
    rm_db(p);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
                                  "INSERT INTO notes(body) VALUES ('mine')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    size_t n0, n1;
    char *before = slurp(p, &n0);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, 0, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "not a pare database");
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "another program");
    char *after = slurp(p, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    char side[4096];
    snprintf(side, sizeof side, "%s-wal", p);
    assert_int_not_equal(access(side, F_OK), 0);
    free(before);
    free(after);
    rm_db(p);
    /* an empty file: only a creating command may make it a pare database */
    fclose(fopen(p, "wb"));
    assert_int_equal(store_open(p, 0, &st, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "pare init");
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    store_close(st);
    assert_int_equal(store_open(p, 0, &st, &err), PARE_OK);
    store_close(st);
    rm_db(p);
    free(p);
    sbuf_free(&err);
}

/* foreign keys: off between the outermost suspend and its resume, nested pairs change nothing */
static void test_fk_suspend_nests(void **state)
{
    (void)state;
    char *p = tmp_path("fk.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    /* evidence_sets.question_id refers to questions: question 999 does not exist */
#define ORPHAN                                                                                     \
    "INSERT INTO evidence_sets(question_id, judge, method, status, size, judge_calls, "            \
    "cached_calls, created_at) VALUES (999, 'j%d', 'loo', 'minimal', 0, 0, 0, 'now')"
    char sql[512];
    snprintf(sql, sizeof sql, ORPHAN, 0);
    assert_int_equal(store_exec(st, sql), PARE_EFAIL);
    assert_int_equal(store_fk_suspend(st), PARE_OK);
    assert_int_equal(store_fk_suspend(st), PARE_OK);
    snprintf(sql, sizeof sql, ORPHAN, 1);
    assert_int_equal(store_exec(st, sql), PARE_OK);
    assert_int_equal(store_fk_resume(st), PARE_OK); /* the inner pair: still off */
    snprintf(sql, sizeof sql, ORPHAN, 2);
    assert_int_equal(store_exec(st, sql), PARE_OK);
    assert_int_equal(store_fk_resume(st), PARE_OK); /* the outer pair: on again */
    snprintf(sql, sizeof sql, ORPHAN, 3);
    assert_int_equal(store_exec(st, sql), PARE_EFAIL);
    assert_int_equal(store_fk_resume(st), PARE_OK); /* an extra resume is harmless */
    assert_int_equal(store_exec(st, sql), PARE_EFAIL);
    store_close(st);
    rm_db(p);
    sbuf_free(&err);
    free(p);
}

/* store_stmt_rows: 2^k rows a statement, the text made once per (head, k) */
static void test_stmt_rows(void **state)
{
    (void)state;
    char *p = tmp_path("rows.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)"), PARE_OK);
    static const char head[] = "INSERT INTO t(a, b) VALUES ";
    sqlite3_stmt *s = store_stmt_rows(st, head, "(?, ?)", " ON CONFLICT(a) DO NOTHING", 2);
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_parameter_count(s), 8);
    for (int r = 0; r < 4; r++) {
        assert_int_equal(sqlite3_bind_int(s, 1 + 2 * r, r + 1), SQLITE_OK);
        assert_int_equal(sqlite3_bind_text(s, 2 + 2 * r, "x", -1, SQLITE_STATIC), SQLITE_OK);
    }
    assert_int_equal(store_done(st, s), PARE_OK);
    assert_int_equal(sqlite3_changes(store_db(st)), 4);
    /* the same (head, k): the same prepared statement; another k: another */
    assert_ptr_equal(store_stmt_rows(st, head, "(?, ?)", " ON CONFLICT(a) DO NOTHING", 2), s);
    sqlite3_stmt *one = store_stmt_rows(st, head, "(?, ?)", " ON CONFLICT(a) DO NOTHING", 0);
    assert_true(one != s);
    assert_int_equal(sqlite3_bind_parameter_count(one), 2);
    assert_int_equal(sqlite3_bind_int(one, 1, 4), SQLITE_OK); /* a conflict: nothing */
    assert_int_equal(store_done(st, one), PARE_OK);
    assert_int_equal(sqlite3_changes(store_db(st)), 0);
    store_close(st);
    rm_db(p);
    sbuf_free(&err);
    free(p);
}

/* the journal mode of db, as "wal" or "delete" */
static void expect_mode(sqlite3 *db, const char *want)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
    sqlite3_finalize(s);
}

static int64_t count_rows(struct store *st)
{
    int64_t n = -1;
    assert_int_equal(store_int(st, store_stmt(st, "SELECT count(*) FROM t"), &n), 1);
    return n;
}

/* store_begin_bulk: a rollback journal when alone, WAL with company; WAL again at the end;
 * commit keeps the rows, rollback drops them */
static void test_bulk_journal(void **state)
{
    (void)state;
    char *p = tmp_path("bulk.db");
    rm_db(p);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(p, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, "CREATE TABLE t(a INTEGER PRIMARY KEY)"), PARE_OK);
    expect_mode(store_db(st), "wal");
    /* alone: the transaction runs with a rollback journal */
    assert_int_equal(store_begin_bulk(st), PARE_OK);
    expect_mode(store_db(st), "delete");
    assert_int_equal(store_exec(st, "INSERT INTO t VALUES (1), (2)"), PARE_OK);
    assert_int_equal(store_end_bulk(st, 1), PARE_OK);
    expect_mode(store_db(st), "wal");
    assert_int_equal(count_rows(st), 2);
    /* rolled back: nothing of it stays, and the mode is back */
    assert_int_equal(store_begin_bulk(st), PARE_OK);
    assert_int_equal(store_exec(st, "INSERT INTO t VALUES (3)"), PARE_OK);
    assert_int_equal(store_end_bulk(st, 0), PARE_OK);
    expect_mode(store_db(st), "wal");
    assert_int_equal(count_rows(st), 2);
    /* another connection open (a reader, say): no switch, a WAL transaction as usual */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(p, &other), SQLITE_OK);
    expect_mode(other, "wal");
    assert_int_equal(store_begin_bulk(st), PARE_OK);
    expect_mode(store_db(st), "wal");
    assert_int_equal(store_exec(st, "INSERT INTO t VALUES (4)"), PARE_OK);
    assert_int_equal(store_end_bulk(st, 1), PARE_OK);
    assert_int_equal(count_rows(st), 3);
    sqlite3_close(other);
    store_close(st);
    /* what was committed in either mode is there when opened again */
    assert_int_equal(store_open(p, 0, &st, &err), PARE_OK);
    assert_int_equal(count_rows(st), 3);
    store_close(st);
    rm_db(p);
    sbuf_free(&err);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_migrate),
        cmocka_unit_test(test_fk_suspend_nests),
        cmocka_unit_test(test_stmt_rows),
        cmocka_unit_test(test_bulk_journal),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_statements_and_rollback),
        cmocka_unit_test(test_foreign_database_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
