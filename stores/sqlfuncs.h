/*
 * sqlfuncs.h - pare's SQL functions, registered on every connection the pare binary opens and
 * by the loadable extension (stores/ext.c) in the sqlite3 shell:
 *
 *   pare_text(blob)  the text of a zstd frame written by pare (passage bodies, responses);
 *                    NULL for NULL. The dictionary is read from the connection's zstd_dicts.
 */
#ifndef PARE_SQLFUNCS_H
#define PARE_SQLFUNCS_H

#ifdef PARE_EXTENSION
#include <sqlite3ext.h>
#else
#include <sqlite3.h>
#endif

#include "common/util.h"

/* Registers the functions on db. Returns PARE_OK or PARE_EFAIL with a message in err. */
int sqlfuncs_register(sqlite3 *db, struct sbuf *err);

#endif
