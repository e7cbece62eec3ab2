/* store.c - see store.h. */
#define _POSIX_C_SOURCE 200809L
#include "stores/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>

#include "common/embedded.h"
#include "stores/shard.h"
#include "stores/sqlfuncs.h"

/* How long a statement waits for another process's lock before it fails with "locked". */
#define BUSY_TIMEOUT_MS 30000

struct cached_stmt {
    const char *sql;
    sqlite3_stmt *stmt;
};

/* The text of a multi-row statement made by store_stmt_rows: head's address, 2^k rows. */
struct rows_text {
    const char *head;
    int k;
    char *sql;
};

struct store {
    sqlite3 *db;
    char *path;
    char *home;        /* store_home: set by a shard, else computed from path when first asked */
    struct sbuf shown; /* the path as messages show it (terminal escapes escaped) */
    struct cached_stmt *stmts;
    size_t n_stmts, cap_stmts;
    struct sbuf err; /* the store's own errors (migration ...) */
    int own_err;     /* err holds the latest error rather than sqlite3_errmsg */
    int fk_off;      /* store_fk_suspend's depth: foreign keys are off while it is > 0 */
    int bulk;        /* store_begin_bulk left WAL for a rollback journal: go back at the end */
    struct rows_text *rows; /* store_stmt_rows' texts (store_stmt keeps their statements) */
    size_t n_rows, cap_rows;
};

/* Migration number from a file name "NNN_name.sql", or -1 for other embedded files. */
static int migration_number(const char *name)
{
    int n = 0, digits = 0;
    for (; name[digits] >= '0' && name[digits] <= '9'; digits++) n = n * 10 + (name[digits] - '0');
    size_t len = strlen(name);
    if (digits == 0 || name[digits] != '_' || len < 4 || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    return n;
}

int store_latest_schema(void)
{
    int latest = 0;
    for (size_t i = 0; i < pare_embedded_count; i++) {
        int n = migration_number(pare_embedded_files[i].name);
        if (n > latest) latest = n;
    }
    return latest;
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

const char *store_path(const struct store *st)
{
    return st->path;
}

const char *store_home(const struct store *st)
{
    return st->home;
}

void store_set_home(struct store *st, const char *dir)
{
    free(st->home);
    st->home = xstrdup(dir);
}

const char *store_errmsg(struct store *st)
{
    return st->own_err ? sbuf_str(&st->err) : sqlite3_errmsg(st->db);
}

static int fail(struct store *st, const char *what)
{
    sbuf_setf(&st->err, "%s: %s", what, sqlite3_errmsg(st->db));
    st->own_err = 1;
    return PARE_EFAIL;
}

int store_exec(struct store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sbuf_setf(&st->err, "%s", msg ? msg : sqlite3_errmsg(st->db));
        st->own_err = 1;
        sqlite3_free(msg);
        return PARE_EFAIL;
    }
    st->own_err = 0;
    return PARE_OK;
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql)
{
    for (size_t i = 0; i < st->n_stmts; i++) {
        if (st->stmts[i].sql == sql) {
            sqlite3_stmt *s = st->stmts[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        sbuf_setf(&st->err, "cannot prepare SQL (%s): %s", sqlite3_errmsg(st->db), sql);
        st->own_err = 1;
        return NULL;
    }
    xgrow((void **)&st->stmts, &st->cap_stmts, st->n_stmts + 1, sizeof *st->stmts);
    st->stmts[st->n_stmts].sql = sql;
    st->stmts[st->n_stmts].stmt = s;
    st->n_stmts++;
    return s;
}

sqlite3_stmt *store_stmt_rows(struct store *st, const char *head, const char *row, const char *tail,
                              int k)
{
    for (size_t i = 0; i < st->n_rows; i++)
        if (st->rows[i].head == head && st->rows[i].k == k) return store_stmt(st, st->rows[i].sql);
    struct sbuf b = {0};
    sbuf_adds(&b, head);
    for (int i = 0; i < 1 << k; i++) {
        if (i) sbuf_adds(&b, ", ");
        sbuf_adds(&b, row);
    }
    sbuf_adds(&b, tail);
    xgrow((void **)&st->rows, &st->cap_rows, st->n_rows + 1, sizeof *st->rows);
    st->rows[st->n_rows] = (struct rows_text){head, k, sbuf_detach(&b)};
    return store_stmt(st, st->rows[st->n_rows++].sql);
}

int store_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        sbuf_setf(&st->err, "%s", sqlite3_errmsg(st->db));
        st->own_err = 1;
        sqlite3_reset(s);
        return PARE_EFAIL;
    }
    sqlite3_reset(s);
    st->own_err = 0;
    return PARE_OK;
}

int store_int(struct store *st, sqlite3_stmt *s, int64_t *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return 1;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    sbuf_setf(&st->err, "%s", sqlite3_errmsg(st->db));
    st->own_err = 1;
    sqlite3_reset(s);
    return -1;
}

int store_begin(struct store *st)
{
    return store_exec(st, "BEGIN IMMEDIATE");
}

int store_commit(struct store *st)
{
    return store_exec(st, "COMMIT");
}

int store_rollback(struct store *st)
{
    if (sqlite3_get_autocommit(st->db)) return PARE_OK;
    return store_exec(st, "ROLLBACK");
}

static int exec_when_free(struct store *st, const char *sql);

/*
 * Leaves WAL for a rollback journal when this is the database's only connection, trying once
 * (busy timeout 0 for the PRAGMA): with any other connection open, SQLite refuses and the
 * transaction simply runs in WAL. Returns 1 when the mode changed.
 */
static int leave_wal(struct store *st)
{
    sqlite3_busy_timeout(st->db, 0);
    sqlite3_stmt *s = NULL;
    int changed = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = DELETE", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);
        changed = mode && strcmp((const char *)mode, "delete") == 0;
    }
    sqlite3_finalize(s);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    return changed;
}

/* Back to WAL after a bulk transaction. Waits for readers that came meanwhile (they hold a
 * shared lock that the change must outwait); if it still cannot, the database stays in
 * rollback mode, which is consistent, and the next store_open switches it back. */
static void back_to_wal(struct store *st)
{
    if (!st->bulk) return;
    st->bulk = 0;
    (void)exec_when_free(st, "PRAGMA journal_mode = WAL");
}

int store_begin_bulk(struct store *st)
{
    st->bulk = !store_in_tx(st) && leave_wal(st);
    if (store_begin(st) == PARE_OK) return PARE_OK;
    back_to_wal(st);
    return PARE_EFAIL;
}

int store_end_bulk(struct store *st, int commit)
{
    int rc = commit ? store_commit(st) : store_rollback(st);
    if (rc != PARE_OK && commit) {
        /* keep COMMIT's message: the rollback and the switch would replace it */
        struct sbuf keep = {0};
        sbuf_adds(&keep, sqlite3_errmsg(st->db));
        store_rollback(st);
        back_to_wal(st);
        sbuf_setf(&st->err, "%s", sbuf_str(&keep));
        st->own_err = 1;
        sbuf_free(&keep);
        return PARE_EFAIL;
    }
    back_to_wal(st);
    return rc;
}

int store_in_tx(struct store *st)
{
    return !sqlite3_get_autocommit(st->db);
}

int store_schema_version(struct store *st)
{
    sqlite3_stmt *s = store_stmt(st, "PRAGMA user_version");
    int64_t v = 0;
    if (!s || store_int(st, s, &v) < 0) return -1;
    return (int)v;
}

int store_meta_get(struct store *st, const char *key, struct sbuf *out)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT value FROM meta WHERE key = ?1");
    if (!s) return -1;
    if (sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return fail(st, "bind"), -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sbuf_reset(out);
        const unsigned char *v = sqlite3_column_text(s, 0);
        if (v) sbuf_add(out, v, (size_t)sqlite3_column_bytes(s, 0));
        sqlite3_reset(s);
        return 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return fail(st, "reading meta"), -1;
    return 0;
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!s) return PARE_EFAIL;
    if (sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT))
        return fail(st, "bind");
    return store_done(st, s);
}

/*
 * store_exec, tried again while the database is busy, for up to the busy timeout. Switching a
 * new database to WAL takes an exclusive lock, and SQLite returns SQLITE_BUSY there without
 * calling the busy handler when another process is doing the same; processes that start on one
 * new database at once must wait for each other rather than fail.
 */
static int exec_when_free(struct store *st, const char *sql)
{
    double give_up = now_monotonic() + BUSY_TIMEOUT_MS / 1000.0;
    for (int i = 1;; i++) {
        if (store_exec(st, sql) == PARE_OK) return PARE_OK;
        if ((sqlite3_extended_errcode(st->db) & 0xff) != SQLITE_BUSY || now_monotonic() > give_up)
            return PARE_EFAIL;
        sqlite3_sleep(i < 10 ? i : 10); /* ms */
    }
}

/* The embedded migration number v, or NULL. */
static const struct pare_embedded *find_migration(int v)
{
    for (size_t i = 0; i < pare_embedded_count; i++)
        if (migration_number(pare_embedded_files[i].name) == v) return &pare_embedded_files[i];
    return NULL;
}

/*
 * The schema version and the number of schema objects (tables, indexes ...), read in one
 * statement so that both come from one snapshot even while another process migrates.
 * Returns PARE_OK, or PARE_EFAIL (see store_errmsg).
 */
static int schema_state(struct store *st, int *version, int64_t *objects)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT (SELECT user_version FROM pragma_user_version), "
                                     "(SELECT count(*) FROM sqlite_master)");
    if (!s) return PARE_EFAIL;
    if (sqlite3_step(s) != SQLITE_ROW) {
        fail(st, "reading the schema");
        sqlite3_reset(s);
        return PARE_EFAIL;
    }
    *version = sqlite3_column_int(s, 0);
    *objects = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    return PARE_OK;
}

/*
 * Whether pare may use (flags & STORE_CREATE: create its schema in) this database: one that holds
 * pare's schema (user_version > 0), or, for commands that create databases, one that holds
 * nothing at all. Another program's database is never touched, not even its journal mode.
 */
static int check_identity(struct store *st, int flags, struct sbuf *err)
{
    int version;
    int64_t objects;
    if (schema_state(st, &version, &objects) != PARE_OK) {
        sbuf_setf(err, "%s: %s", sbuf_str(&st->shown), store_errmsg(st));
        if (strstr(sbuf_str(err), "not a database")) sbuf_addf(err, " (is this a pare database?)");
        return PARE_EFAIL;
    }
    if (version > 0) return PARE_OK;
    if (objects > 0) {
        sbuf_setf(err,
                  "%s: not a pare database (it holds %lld tables or indexes of another "
                  "program); pare leaves it alone",
                  sbuf_str(&st->shown), (long long)objects);
        return PARE_EFAIL;
    }
    if (!(flags & STORE_CREATE)) {
        sbuf_setf(err, "%s: not a pare database yet (create it with `pare init` or `pare ingest`)",
                  sbuf_str(&st->shown));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/*
 * Applies migration have+1 unless another process did first: the version is read again inside
 * BEGIN IMMEDIATE, so of several processes starting on one new database exactly one creates
 * each version and the others see it done. user_version is set in the same transaction, so a
 * crash leaves the old schema or the new one, never half of one.
 */
static int migrate_step(struct store *st, int latest, struct sbuf *err)
{
    if (store_begin(st) != PARE_OK) {
        sbuf_setf(err, "%s: cannot begin a migration: %s", sbuf_str(&st->shown), store_errmsg(st));
        return PARE_EFAIL;
    }
    int have;
    int64_t objects;
    if (schema_state(st, &have, &objects) != PARE_OK) {
        sbuf_setf(err, "%s: cannot read schema version: %s", sbuf_str(&st->shown),
                  store_errmsg(st));
    } else if (have == 0 && objects > 0) {
        sbuf_setf(err, "%s: not a pare database (another program created tables in it)",
                  sbuf_str(&st->shown));
    } else if (have >= latest) {
        return store_commit(st) == PARE_OK ? PARE_OK : store_fail(st, err, sbuf_str(&st->shown));
    } else {
        const struct pare_embedded *m = find_migration(have + 1);
        if (!m) {
            sbuf_setf(err, "internal error: migration %03d is missing from the binary", have + 1);
        } else {
            struct sbuf sql = {0};
            sbuf_addf(&sql, "%s\n;PRAGMA user_version = %d;", m->data, have + 1);
            int rc = store_exec(st, sql.p);
            sbuf_free(&sql);
            if (rc == PARE_OK && store_commit(st) == PARE_OK) return PARE_OK;
            sbuf_setf(err, "%s: migration %s failed: %s", sbuf_str(&st->shown), m->name,
                      store_errmsg(st));
        }
    }
    store_rollback(st);
    return PARE_EFAIL;
}

/* Applies every embedded migration newer than the database, each in its own transaction. */
static int migrate(struct store *st, struct sbuf *err)
{
    int latest = store_latest_schema();
    for (;;) {
        int have = store_schema_version(st);
        if (have < 0) {
            sbuf_setf(err, "%s: cannot read schema version: %s", sbuf_str(&st->shown),
                      store_errmsg(st));
            return PARE_EFAIL;
        }
        if (have > latest) {
            sbuf_setf(err,
                      "%s: database schema version %d is newer than this pare supports (%d); "
                      "use a newer pare",
                      sbuf_str(&st->shown), have, latest);
            return PARE_EFAIL;
        }
        if (have == latest) return PARE_OK;
        if (migrate_step(st, latest, err) != PARE_OK) return PARE_EFAIL;
    }
}

/* SQLite's process-wide settings, made once before the first connection (sqlite3_config is
 * refused after sqlite3_initialize). A statement that writes several rows and may abort keeps
 * a statement journal; SQLite writes it to a temporary file beyond 64 KiB, and a multi-row
 * insert of random keys (judge_calls) touches a page a row, so the journal of one statement
 * went to disk every time. 16 MiB keeps it in memory. Debian's SQLite counts every allocation
 * under a global mutex (memory statistics, which pare never reads) and has no lookaside
 * allocator, so every small allocation of every statement took that mutex: off, 1.4% fewer
 * instructions in ingest and 2% less CPU in pare mine. */
static void configure_sqlite(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 16 << 20);
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t configure_once = PTHREAD_ONCE_INIT;

int store_open(const char *path, int flags, struct store **out, struct sbuf *err)
{
    pthread_once(&configure_once, configure_sqlite);
    struct stat sb;
    *out = NULL;
    if (!(flags & STORE_CREATE) && stat(path, &sb) != 0) {
        struct sbuf shown = {0};
        sbuf_setf(err, "%s: no such database (create it with `pare init` or `pare ingest`)",
                  visible(&shown, path));
        sbuf_free(&shown);
        return PARE_EFAIL;
    }
    struct store *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    const char *slash = strrchr(path, '/');
    st->home = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    visible(&st->shown, path);
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (flags & STORE_CREATE) oflags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        sbuf_setf(err, "%s: cannot open database: %s", sbuf_str(&st->shown),
                  st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return PARE_EFAIL;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
        check_identity(st, flags, err)) {
        if (!err->len) sbuf_setf(err, "%s: %s", sbuf_str(&st->shown), store_errmsg(st));
        store_close(st);
        return PARE_EFAIL;
    }
    if (exec_when_free(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                           "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536") != PARE_OK) {
        sbuf_setf(err, "%s: %s", sbuf_str(&st->shown), store_errmsg(st));
        store_close(st);
        return PARE_EFAIL;
    }
    /* Pages read through a shared mapping instead of a pread into SQLite's cache: the stages
     * that read every passage (index, mine) spent 6% of their CPU copying pages from the
     * kernel's cache (97k HotpotQA). Up to 1 GiB of the file; writes still go through the
     * journal or the WAL. A failure leaves the usual reads. */
    (void)store_exec(st, "PRAGMA mmap_size = 1073741824");
    /* pare_in_shard() is 1 for every question here; shard_open narrows it (stores/shard.h) */
    if (sqlfuncs_register(st->db, err) != PARE_OK || shard_register_all(st, err) != PARE_OK ||
        migrate(st, err) != PARE_OK) {
        store_close(st);
        return PARE_EFAIL;
    }
    *out = st;
    return PARE_OK;
}

void store_close(struct store *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_stmts; i++) sqlite3_finalize(st->stmts[i].stmt);
    free(st->stmts);
    for (size_t i = 0; i < st->n_rows; i++) free(st->rows[i].sql);
    free(st->rows);
    if (st->db) sqlite3_close(st->db);
    sbuf_free(&st->err);
    free(st->path);
    free(st->home);
    sbuf_free(&st->shown);
    free(st);
}

static int store_dict_loader(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err)
{
    struct store *st = ud;
    sqlite3_stmt *s = store_stmt(st, "SELECT dict FROM zstd_dicts WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
        sbuf_setf(err, "reading zstd_dicts: %s", store_errmsg(st));
        return PARE_EFAIL;
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        sbuf_add(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
        sqlite3_reset(s);
        return PARE_OK;
    }
    sqlite3_reset(s);
    sbuf_setf(err,
              rc == SQLITE_DONE ? "zstd dictionary %u is not in zstd_dicts"
                                : "reading zstd dictionary %u failed",
              id);
    return PARE_EFAIL;
}

struct blob_codec *store_codec(struct store *st)
{
    return blob_codec_new(store_dict_loader, st);
}

int store_text(struct store *st, struct blob_codec *codec, int64_t id, struct sbuf *title,
               struct sbuf *text, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT title, body FROM passages WHERE id = ?1");
    int step = s && !sqlite3_bind_int64(s, 1, id) ? sqlite3_step(s) : SQLITE_ERROR;
    if (step != SQLITE_ROW) {
        sbuf_setf(err, "reading passage %lld: %s", (long long)id,
                  step == SQLITE_DONE ? "no such passage" : store_errmsg(st));
        if (s) sqlite3_reset(s);
        return PARE_EFAIL;
    }
    sbuf_reset(title);
    const unsigned char *t = sqlite3_column_text(s, 0);
    if (t) sbuf_add(title, t, (size_t)sqlite3_column_bytes(s, 0));
    int rc = blob_decompress(codec, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1),
                             text, err);
    sqlite3_reset(s);
    if (rc != PARE_OK) sbuf_prependf(err, "passage %lld: ", (long long)id);
    return rc;
}

int store_fail(struct store *st, struct sbuf *err, const char *what)
{
    sbuf_setf(err, "%s: %s", what, store_errmsg(st));
    return PARE_EFAIL;
}

int store_retrieval(struct store *st, int64_t *id, int required, struct sbuf *err)
{
    sqlite3_stmt *s = *id == 0 ? store_stmt(st, "SELECT max(id) FROM retrievals")
                               : store_stmt(st, "SELECT id FROM retrievals WHERE id = ?1");
    if (!s || (*id != 0 && sqlite3_bind_int64(s, 1, *id) != SQLITE_OK))
        return store_fail(st, err, "reading retrievals");
    int64_t found = 0;
    int r = store_int(st, s, &found);
    if (r < 0) return store_fail(st, err, "reading retrievals");
    if (r == 0 || found <= 0) {
        if (*id == 0 && !required) return PARE_OK;
        if (*id == 0)
            sbuf_setf(err, "the database has no retrieval yet: run pare retrieve first");
        else
            sbuf_setf(err, "there is no retrieval %lld (pare status lists them)", (long long)*id);
        return PARE_EFAIL;
    }
    *id = found;
    return PARE_OK;
}

int store_fk_suspend(struct store *st)
{
    if (st->fk_off++ > 0) return PARE_OK;
    if (store_exec(st, "PRAGMA foreign_keys = OFF") == PARE_OK) return PARE_OK;
    st->fk_off--;
    return PARE_EFAIL;
}

int store_fk_resume(struct store *st)
{
    if (st->fk_off == 0 || --st->fk_off > 0) return PARE_OK;
    return store_exec(st, "PRAGMA foreign_keys = ON");
}
