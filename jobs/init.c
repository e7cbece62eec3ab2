/* init.c - `pare init`: create a database (or bring an existing one to the current schema). */
#include <stdio.h>
#include <stdlib.h>

#include "jobs/jobs.h"
#include "stores/store.h"

int job_init(struct pare_ctx *ctx, int argc, char **argv)
{
    const struct opt opts[] = {{NULL}};
    const struct cli cli = {"init",
                            NULL,
                            "Create the database, or migrate an existing one to this pare's "
                            "schema.",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct store *st;
    struct sbuf err = {0};
    const char *db = pare_db_path(ctx);
    if (store_open(db, STORE_CREATE, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare init: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    if (!ctx->quiet)
        fprintf(stderr, "pare init: %s is ready (schema version %d)\n", db,
                store_schema_version(st));
    store_close(st);
    return PARE_OK;
}
