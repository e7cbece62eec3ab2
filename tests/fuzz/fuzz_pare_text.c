/*
 * fuzz_pare_text.c - the SQL function pare_text(blob), as the sqlite3 shell runs it after
 * `.load pare_ext`, on any blob, in a database whose zstd_dicts holds one dictionary
 * (fuzz_dict.h). The statement gives a row or an SQL error; the host never ends.
 */
#include <sqlite3.h>
#include <zdict.h>

#include "fuzz.h"
#include "fuzz_dict.h"
#include "stores/sqlfuncs.h"

static sqlite3 *db;
static sqlite3_stmt *text_of;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct sbuf dict = {0}, err = {0};
    uint32_t id;
    fuzz_dict(&dict, &id);
    sqlite3_stmt *ins;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE zstd_dicts(id INTEGER PRIMARY KEY, dict BLOB)", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO zstd_dicts VALUES (?1, ?2)", -1, &ins, NULL) ||
        sqlite3_bind_int64(ins, 1, id) || sqlite3_bind_blob(ins, 2, dict.p, (int)dict.len, NULL) ||
        sqlite3_step(ins) != SQLITE_DONE || sqlite3_finalize(ins) ||
        sqlfuncs_register(db, &err) != PARE_OK ||
        sqlite3_prepare_v2(db, "SELECT pare_text(?1)", -1, &text_of, NULL) != SQLITE_OK)
        abort();
    sbuf_free(&dict);
    sbuf_free(&err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sqlite3_bind_blob(text_of, 1, size ? data : (const void *)"", (int)size, SQLITE_STATIC);
    int rc = sqlite3_step(text_of);
    CHECK(rc == SQLITE_ROW || rc == SQLITE_ERROR);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(text_of, 0);
        CHECK(t && (size_t)sqlite3_column_bytes(text_of, 0) <= PARE_MAX_RECORD);
    }
    sqlite3_reset(text_of);
    sqlite3_clear_bindings(text_of);
    return 0;
}
