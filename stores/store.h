/*
 * store.h - the SQLite store: opening, migrations, cached statements, transactions.
 *
 * One struct store wraps one connection. Opening applies the migrations embedded from
 * schemas/NNN_*.sql that the database has not seen (PRAGMA user_version holds the number of the
 * last one) and refuses a database written by a newer pare. Connections use WAL, a busy timeout
 * and foreign keys, and have pare's SQL functions (pare_text ...) registered.
 *
 * Data always goes in through bound parameters: callers prepare a constant SQL string with
 * store_stmt() and bind values; no function here formats data into SQL.
 */
#ifndef PARE_STORE_H
#define PARE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/util.h"
#include "stores/blob.h"

struct store;

enum store_flags {
    STORE_CREATE = 1, /* create the file when missing */
};

/*
 * Opens (and with STORE_CREATE creates) the database at path and brings its schema up to date.
 * Only STORE_CREATE may put pare's schema into an empty database (commands that create
 * databases: init, ingest); a database holding another program's tables is refused and left
 * untouched, whatever the flags. Several processes may open one new database at once: one
 * creates the schema, the others wait for it.
 * Returns PARE_OK and *out, or PARE_EFAIL with a message in err (missing file, newer schema,
 * not a database, not pare's database, migration failure). A failed migration leaves the file
 * as it was.
 */
int store_open(const char *path, int flags, struct store **out, struct sbuf *err);
/* Finalizes cached statements and closes the connection. NULL is a no-op. */
void store_close(struct store *st);

/* The raw connection, for sqlite3_* calls that this header does not wrap. */
sqlite3 *store_db(struct store *st);
/* The path the database was opened with. */
const char *store_path(const struct store *st);
/*
 * The folder that relative file names recorded in the database (index, features and vector
 * files) are relative to: the database's own folder, except for a shard, whose files are the
 * main database's (shard_open sets it with store_set_home). Never NULL.
 */
const char *store_home(const struct store *st);
/* Makes dir (copied) the folder relative file names resolve against; see store_home. */
void store_set_home(struct store *st, const char *dir);
/* The last error of this connection: the text sqlite3_errmsg gives, or the store's own. */
const char *store_errmsg(struct store *st);

/* The schema version of the open database, and the newest this binary knows. */
int store_schema_version(struct store *st);
int store_latest_schema(void);

/*
 * Returns a prepared statement for `sql`, compiled once per connection and cached under the
 * string's address (so pass string literals). The statement is reset and its bindings cleared.
 * Returns NULL on a compile error (see store_errmsg).
 */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);

/*
 * store_stmt for a statement of 2^k rows (0 <= k <= 10): the text `head`, then `row` 2^k
 * times separated by ", ", then `tail` ("" for none), e.g. an INSERT's column list, "(?, ?)"
 * and an ON CONFLICT clause. The text is made once per (head, k), keyed by head's address (a
 * string constant), and kept by the store, so the statement is prepared once. A row's
 * parameters are numbered in order: row r's first is 1 + r * (parameters in `row`). Returns
 * the reset statement, or NULL (see store_errmsg).
 */
sqlite3_stmt *store_stmt_rows(struct store *st, const char *head, const char *row, const char *tail,
                              int k);

/* Runs SQL text without parameters (schema, pragmas). Returns PARE_OK or PARE_EFAIL. */
int store_exec(struct store *st, const char *sql);

/*
 * Steps a statement that returns no rows and resets it. Returns PARE_OK, or PARE_EFAIL
 * (constraint, I/O ...) with the error kept for store_errmsg.
 */
int store_done(struct store *st, sqlite3_stmt *s);

/*
 * Steps a statement expected to return at most one row with an integer in column 0.
 * Returns 1 and *out when a row came, 0 when none, -1 on error. Resets it.
 */
int store_int(struct store *st, sqlite3_stmt *s, int64_t *out);

/*
 * Sets err to "what: <this connection's last error>" and returns PARE_EFAIL: the one way a
 * failed statement becomes a message, e.g. `return store_fail(st, err, "reading candidates");`.
 */
int store_fail(struct store *st, struct sbuf *err, const char *what);

/*
 * Resolves a --retrieval option: *id 0 means the newest retrieval. Returns PARE_OK with *id set
 * to an existing retrieval, or PARE_EFAIL with err set ("no retrieval yet: run pare retrieve
 * first", "no retrieval N", or a database error). When the database has no retrieval at all and
 * `required` is 0, *id 0 is accepted and stays 0 (commands that can do without candidates).
 */
int store_retrieval(struct store *st, int64_t *id, int required, struct sbuf *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Return PARE_OK or PARE_EFAIL. */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);
/* 1 while a transaction is open. */
int store_in_tx(struct store *st);

/*
 * A transaction for a bulk write (ingest, score: hundreds of MB in one transaction). In WAL
 * mode every page is written twice, to the WAL and then by the checkpoint at commit, which at
 * a million rows took 0.5 to 1.25 s on one thread after everything else. When this is the
 * database's only connection, store_begin_bulk switches it to a rollback journal for the
 * transaction: pages past the database's end when it began are written once, straight to the
 * file, and only pages that already existed are copied to the journal first. Atomicity and
 * crash safety are SQLite's either way (a hot journal is rolled back by the next opener).
 * With another connection open, the switch is refused at once and the transaction runs in
 * WAL as store_begin's would. Meanwhile other processes that open the database wait for the
 * end (store_open's busy timeout) instead of reading beside the writer.
 * store_end_bulk commits (commit 1) or rolls back, then returns to WAL; a failed COMMIT is
 * rolled back and its message kept for store_errmsg. Return PARE_OK or PARE_EFAIL.
 */
int store_begin_bulk(struct store *st);
int store_end_bulk(struct store *st, int commit);

/*
 * Foreign keys off for a bulk insert of rows whose parents the command itself read or stored
 * (pare deletes no parent, and no table of pare's cascades), on again at the matching
 * store_fk_resume. Calls nest: only the outermost pair runs the PRAGMA, which matters because
 * each change of the setting expires every prepared statement (the next use prepares it
 * again). Call both outside a transaction (SQLite ignores the setting inside one). Return
 * PARE_OK or PARE_EFAIL.
 */
int store_fk_suspend(struct store *st);
int store_fk_resume(struct store *st);

/* meta table: value of key into out (returns 1 found, 0 not, -1 error); set replaces. */
int store_meta_get(struct store *st, const char *key, struct sbuf *out);
int store_meta_set(struct store *st, const char *key, const char *value);

/*
 * The title and text of passage `id` into title and text (replacing their contents), the body
 * decompressed with codec (from store_codec). Returns PARE_OK, or PARE_EFAIL with err set (no
 * such passage, database error, corrupt body: "passage ID: ...").
 */
int store_text(struct store *st, struct blob_codec *codec, int64_t id, struct sbuf *title,
               struct sbuf *text, struct sbuf *err);

/*
 * A zstd codec whose dictionaries come from this database's zstd_dicts, for reading passage
 * bodies and responses. Use it on the thread that uses the store (it queries the connection
 * the first time it meets a dictionary). Free with blob_codec_free.
 */
struct blob_codec *store_codec(struct store *st);

#endif
