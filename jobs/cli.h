/*
 * cli.h - option parsing for pare's commands.
 *
 * Each command describes its options in a table; cli_parse fills them in, adds the options every
 * command shares (--db, --quiet, --help) and prints a --help generated from the same table, so
 * the help always lists every option with its default.
 */
#ifndef PARE_CLI_H
#define PARE_CLI_H

#include <stdint.h>

#include "common/endpoint.h"

/* What every job receives from main(). */
struct pare_ctx {
    const char *db_path;  /* --db, else $PARE_DB, else ./pare.db */
    int quiet;            /* --quiet: no progress or summaries on stderr */
    int nested;           /* run by another job (demo): no ids printed for scripts */
    const char *shard;    /* --shard I/N (OPT_SHARD): work on shard I of N (stores/shard.h) */
    const char *shard_db; /* --shard-db FILE (OPT_SHARD_DB): the shard's database */
};

enum opt_kind {
    OPT_FLAG,   /* int *: set to 1 when given */
    OPT_STRING, /* const char **: the argument (points into argv or def) */
    OPT_INT,    /* int64_t *: a whole number */
    OPT_DOUBLE, /* double *: a number */
    /* no dst: each value (a URL or a comma list) joins the endpoint pool of the openai judge and
     * embedder (common/endpoint.h); repeatable */
    OPT_ENDPOINT,
    /* no dst: --shard I/N and --shard-db FILE go to ctx->shard and ctx->shard_db (checked: both
     * or neither), and job_open then opens the shard database (stores/shard.h) */
    OPT_SHARD,
    OPT_SHARD_DB,
};

struct opt {
    const char *name; /* long name without dashes; NULL ends the table */
    enum opt_kind kind;
    void *dst;
    const char *def;  /* default as text, applied before parsing (NULL: none, dst untouched) */
    const char *meta; /* argument name in the help, e.g. "FILE" */
    const char *help; /* one line */
};

/* The option-table lines of the openai endpoint pool and of shards, the same in every command. */
#define CLI_OPT_ENDPOINT                                                                           \
    {                                                                                              \
        "endpoint", OPT_ENDPOINT, NULL, "$OPENAI_BASE_URL, else " ENDPOINT_DEFAULT_URL, "URL",     \
            "openai: an endpoint of the pool (repeatable, or a comma list)"                        \
    }
#define CLI_OPT_SHARD                                                                              \
    {"shard", OPT_SHARD, NULL, NULL, "I/N", "work on shard I of N of the questions"},              \
    {                                                                                              \
        "shard-db", OPT_SHARD_DB, NULL, NULL, "FILE",                                              \
            "with --shard: write here, only read the main database"                                \
    }

struct cli {
    const char *command; /* "ingest" */
    const char *args;    /* positional part of the synopsis, e.g. "FILE..." */
    const char *summary; /* one line */
    const char *details; /* optional paragraph printed after the options */
    const struct opt *opts;
    int min_args; /* positional arguments accepted */
    int max_args; /* -1: no limit */
};

/* The database path a command uses: --db, else $PARE_DB, else ./pare.db. */
const char *pare_db_path(const struct pare_ctx *ctx);

/* cli_parse's result when --help was printed: the command should exit 0. */
#define CLI_HELP (-1)

/*
 * Parses argv (argv[0] is the command name). Fills the options, ctx's shared options, and the
 * positional arguments into *args / *nargs (pointers into argv; caller frees the array).
 * Returns PARE_OK, CLI_HELP, or PARE_EUSAGE after printing what is wrong to stderr.
 */
int cli_parse(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, char ***args,
              int *nargs);

/*
 * cli_parse for commands that take no positional arguments. Returns 0 when the command goes on,
 * or 1 when it must return *rc at once (help printed: 0; usage error: PARE_EUSAGE).
 */
int cli_options(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, int *rc);

/*
 * cli_parse for commands that take file arguments: *files / *nfiles receive them (caller frees
 * *files). Returns 0 when the command goes on, or 1 when it must return *rc at once (help
 * printed: 0; usage error: PARE_EUSAGE), *files then freed and NULL.
 */
int cli_files(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, char ***files,
              int *nfiles, int *rc);

/* Prints the generated help of c to stdout. */
void cli_help(const struct cli *c);

/* Strict number parsers: the whole string must be a finite number. Return 0 or -1. */
int cli_parse_int(const char *s, int64_t *out);
int cli_parse_double(const char *s, double *out);

#endif
