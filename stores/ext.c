/*
 * ext.c - the loadable sqlite3 extension. In the sqlite3 shell:
 *
 *     .load build/pare_ext
 *     SELECT title, text FROM passage_text LIMIT 3;
 *
 * SQLite derives the entry point sqlite3_pareext_init from the file name pare_ext.so.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "stores/sqlfuncs.h"

/* The one exported symbol: the module is built with hidden visibility (see CMakeLists.txt). */
#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
    int sqlite3_pareext_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

int sqlite3_pareext_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi)
{
    SQLITE_EXTENSION_INIT2(pApi);
    struct sbuf err = {0};
    if (sqlfuncs_register(db, &err) != PARE_OK) {
        *pzErrMsg = sqlite3_mprintf("%s", sbuf_str(&err));
        sbuf_free(&err);
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}
