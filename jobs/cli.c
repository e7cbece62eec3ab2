/* cli.c - see cli.h. */
#include "jobs/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/util.h"
#include "stores/shard.h"

static const char *g_db_default = "./pare.db (or $PARE_DB)";

int cli_parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || errno || *end) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static void print_opt(const char *name, const char *meta, const char *def, const char *help)
{
    struct sbuf b = {0};
    sbuf_addf(&b, "  --%s", name);
    if (meta) sbuf_addf(&b, " %s", meta);
    printf("%-28s %s", sbuf_str(&b), help);
    if (def) printf(" (default: %s)", def);
    printf("\n");
    sbuf_free(&b);
}

void cli_help(const struct cli *c)
{
    printf("usage: pare %s [options]%s%s\n\n%s\n\noptions:\n", c->command, c->args ? " " : "",
           c->args ? c->args : "", c->summary);
    for (const struct opt *o = c->opts; o && o->name; o++)
        print_opt(o->name, o->kind == OPT_FLAG ? NULL : (o->meta ? o->meta : "VALUE"),
                  o->kind == OPT_FLAG ? NULL
                  : o->def            ? o->def
                                      : "none",
                  o->help);
    print_opt("db", "PATH", g_db_default, "database file");
    print_opt("quiet", NULL, NULL, "no progress or summary on stderr");
    print_opt("help", NULL, NULL, "show this help");
    if (c->details) printf("\n%s\n", c->details);
    printf("\nexit codes: 0 ok, 1 failure, 2 usage, 3 bad input\n");
}

static int set_value(const struct cli *c, const struct opt *o, const char *v)
{
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->dst = 1;
        return 0;
    case OPT_STRING:
        *(const char **)o->dst = v;
        return 0;
    case OPT_INT:
        if (cli_parse_int(v, (int64_t *)o->dst) == 0) return 0;
        fprintf(stderr, "pare %s: --%s: expected a whole number, got '%s'\n", c->command, o->name,
                v);
        return -1;
    case OPT_DOUBLE:
        if (cli_parse_double(v, (double *)o->dst) == 0) return 0;
        fprintf(stderr, "pare %s: --%s: expected a number, got '%s'\n", c->command, o->name, v);
        return -1;
    case OPT_ENDPOINT:
        endpoint_flag_add(v);
        return 0;
    case OPT_SHARD:
    case OPT_SHARD_DB:
        return 0; /* cli_parse keeps them in the context */
    }
    return -1;
}

/* --shard I/N (checked here, so that a bad one is a usage error) and --shard-db FILE. */
static int set_shard(const struct cli *c, struct pare_ctx *ctx, const struct opt *o, const char *v)
{
    if (o->kind == OPT_SHARD_DB) {
        ctx->shard_db = v;
        return 0;
    }
    struct shard_spec sp;
    struct sbuf err = {0};
    int bad = shard_parse(v, &sp, &err) != PARE_OK;
    if (bad) fprintf(stderr, "pare %s: %s\n", c->command, sbuf_str(&err));
    sbuf_free(&err);
    ctx->shard = v;
    return bad ? -1 : 0;
}

/* The option table's entry named name[0..nlen), or NULL. */
static const struct opt *find_opt(const struct cli *c, const char *name, size_t nlen)
{
    for (const struct opt *o = c->opts; o && o->name; o++)
        if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) return o;
    return NULL;
}

/*
 * Parses the long option argv[*i] ("--name", "--name=value" or "--name value", which advances
 * *i). Returns 0, or -1 after printing what is wrong.
 */
static int parse_long(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const char *value = eq ? eq + 1 : NULL;
    if (nlen == 5 && strncmp(name, "quiet", 5) == 0 && !value) {
        ctx->quiet = 1;
        return 0;
    }
    int is_db = nlen == 2 && strncmp(name, "db", 2) == 0; /* --db, which every command takes */
    const struct opt *o = is_db ? NULL : find_opt(c, name, nlen);
    if (!o && !is_db) {
        fprintf(stderr, "pare %s: unknown option '--%.*s' (see pare %s --help)\n", c->command,
                (int)nlen, name, c->command);
        return -1;
    }
    if (o && o->kind == OPT_FLAG) {
        if (!value) return set_value(c, o, NULL);
        fprintf(stderr, "pare %s: --%s takes no value\n", c->command, o->name);
        return -1;
    }
    if (!value) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "pare %s: option '%s' needs a value\n", c->command, a);
            return -1;
        }
        value = argv[++*i];
    }
    if (is_db) {
        ctx->db_path = value;
        return 0;
    }
    if (o->kind == OPT_SHARD || o->kind == OPT_SHARD_DB) return set_shard(c, ctx, o, value);
    return set_value(c, o, value);
}

/* What must hold once every argument is read. Returns PARE_OK or PARE_EUSAGE (printed). */
static int check_parsed(const struct cli *c, const struct pare_ctx *ctx, int nargs)
{
    if (!ctx->shard != !ctx->shard_db) {
        fprintf(stderr, "pare %s: --shard and --shard-db go together\n", c->command);
        return PARE_EUSAGE;
    }
    if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args)) {
        fprintf(stderr, "usage: pare %s [options]%s%s\n(see pare %s --help)\n", c->command,
                c->args ? " " : "", c->args ? c->args : "", c->command);
        return PARE_EUSAGE;
    }
    return PARE_OK;
}

int cli_parse(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, char ***args,
              int *nargs)
{
    *args = xcalloc((size_t)argc + 1, sizeof(char *));
    *nargs = 0;
    endpoint_flags_reset(); /* a command's endpoints are its own command line's */
    for (const struct opt *o = c->opts; o && o->name; o++)
        if (o->def && o->kind != OPT_ENDPOINT && set_value(c, o, o->def) != 0) return PARE_EUSAGE;
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            (*args)[(*nargs)++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_help(c);
            return CLI_HELP;
        } else if (a[1] != '-') {
            fprintf(stderr, "pare %s: unknown option '%s' (see pare %s --help)\n", c->command, a,
                    c->command);
            return PARE_EUSAGE;
        } else if (parse_long(c, ctx, argc, argv, &i) != 0) {
            return PARE_EUSAGE;
        }
    }
    return check_parsed(c, ctx, *nargs);
}

const char *pare_db_path(const struct pare_ctx *ctx)
{
    return ctx->db_path ? ctx->db_path : "pare.db";
}

int cli_options(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, int *rc)
{
    char **args;
    int nargs;
    *rc = cli_parse(c, ctx, argc, argv, &args, &nargs);
    free(args);
    if (*rc == PARE_OK) return 0;
    if (*rc == CLI_HELP) *rc = PARE_OK;
    return 1;
}

int cli_files(const struct cli *c, struct pare_ctx *ctx, int argc, char **argv, char ***files,
              int *nfiles, int *rc)
{
    *rc = cli_parse(c, ctx, argc, argv, files, nfiles);
    if (*rc == PARE_OK) return 0;
    free(*files);
    *files = NULL;
    if (*rc == CLI_HELP) *rc = PARE_OK;
    return 1;
}
