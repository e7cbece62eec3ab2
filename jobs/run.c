/*
 * run.c - `pare run FILE`: the stages of a pipeline file (jobs/recipe.h), in order, through the
 * same job functions a user calls, skipping work already done.
 *
 * Done means: the database holds a run of the same command with the same arguments that ended
 * 'ok'. Once one stage runs, every later stage runs too (its input may have changed; the jobs
 * themselves skip the items they already hold, so that costs little). --stage, --from and
 * --until choose stages; --shard I/N and --shard-db FILE are passed to each chosen stage, which
 * must then be one that shards (retrieve, mine, augment, score): that is what a Slurm array task
 * or a Kubernetes Indexed Job runs, so one recipe serves a laptop and a cluster.
 *
 * `pare run` works in the pipeline file's folder, so relative paths in the file are relative to
 * it; --db and --shard-db given on the command line are taken relative to where pare started.
 * It records no run of its own: a shard worker must not write the main database.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "jobs/jobs.h"
#include "jobs/recipe.h"
#include "stores/store.h"

struct stage_cmd {
    const char *name;
    int (*fn)(struct pare_ctx *ctx, int argc, char **argv);
    int shards; /* takes --shard I/N --shard-db FILE */
};

static const struct stage_cmd stage_cmds[] = {
    {"init", job_init, 0},         {"ingest", job_ingest, 0}, {"index", job_index, 0},
    {"retrieve", job_retrieve, 1}, {"mine", job_mine, 1},     {"eval", job_eval, 0},
    {"augment", job_augment, 1},   {"export", job_export, 0}, {"score", job_score, 1},
    {"schedule", job_schedule, 0}, {"status", job_status, 0},
};

static const struct stage_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(stage_cmds); i++)
        if (strcmp(stage_cmds[i].name, name) == 0) return &stage_cmds[i];
    return NULL;
}

struct runner {
    struct pare_ctx ctx; /* the stages' context: db_path absolute or relative to the file */
    const char *shard, *shard_db;
    int dry_run, force;
    const char *check_db; /* where a stage's earlier runs are recorded */
    int ran, skipped;
};

/* The path as seen from another working directory: absolute. Caller frees. */
static char *absolute(const char *path)
{
    if (path[0] == '/') return xstrdup(path);
    char *cwd = getcwd(NULL, 0);
    if (!cwd) return xstrdup(path);
    char *p = path_join(cwd, path);
    free(cwd);
    return p;
}

/* The arguments as job_begin records them in runs.args: a JSON array of argv[1..]. */
static char *args_json(int argc, char **argv)
{
    json_t *a = json_array();
    for (int i = 1; a && i < argc; i++) json_array_append_new(a, json_string(argv[i]));
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!s) abort(); /* out of memory */
    return s;
}

/* The id of an earlier 'ok' run of exactly this step, 0 when none, -1 on a database error. */
static int64_t done_before(struct runner *rn, int argc, char **argv, struct sbuf *err)
{
    if (access(rn->check_db, F_OK) != 0) return 0; /* no database yet: nothing done */
    struct store *st;
    if (store_open(rn->check_db, 0, &st, err) != PARE_OK) return -1;
    char *args = args_json(argc, argv);
    sqlite3_stmt *s = store_stmt(st, "SELECT max(id) FROM runs WHERE command = ?1 AND "
                                     "args = ?2 AND status = 'ok'");
    int64_t id = 0;
    if (!s || sqlite3_bind_text(s, 1, argv[0], -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, args, -1, SQLITE_STATIC) || store_int(st, s, &id) < 0) {
        store_fail(st, err, "reading earlier runs");
        id = -1;
    }
    free(args);
    store_close(st);
    return id;
}

static void say_step(const struct runner *rn, const char *stage, int argc, char **argv,
                     const char *what)
{
    FILE *out = rn->dry_run ? stdout : stderr;
    if (!rn->dry_run && rn->ctx.quiet) return;
    fprintf(out, "%s%s: pare", rn->dry_run ? "" : "run: ", stage);
    for (int i = 0; i < argc; i++) fprintf(out, " %s", argv[i]);
    fprintf(out, "%s\n", what);
    fflush(out);
}

/* Runs (or skips) one step of a stage: argv plus the shard options. */
static int run_step(struct runner *rn, const struct recipe_stage *s, const struct recipe_step *step,
                    int *must_run)
{
    int argc = step->argc;
    char **argv = xcalloc((size_t)argc + 5, sizeof *argv);
    memcpy(argv, step->argv, (size_t)argc * sizeof *argv);
    if (rn->shard) {
        argv[argc++] = "--shard";
        argv[argc++] = (char *)rn->shard;
        argv[argc++] = "--shard-db";
        argv[argc++] = (char *)rn->shard_db;
    }
    struct sbuf err = {0};
    int rc = PARE_OK;
    int64_t prior = *must_run || rn->force ? 0 : done_before(rn, argc, argv, &err);
    if (prior < 0) {
        fprintf(stderr, "pare run: %s\n", sbuf_str(&err));
        rc = PARE_EFAIL;
    } else if (prior > 0) {
        struct sbuf what = {0};
        sbuf_addf(&what, "  (done by run %lld: skipped)", (long long)prior);
        say_step(rn, s->name, argc, argv, what.p);
        sbuf_free(&what);
        rn->skipped++;
    } else {
        say_step(rn, s->name, argc, argv, "");
        *must_run = 1;
        rn->ran++;
        if (!rn->dry_run) {
            fflush(stdout);
            rc = find_cmd(s->command)->fn(&rn->ctx, argc, argv);
            fflush(stdout);
            if (rc != PARE_OK)
                fprintf(stderr, "pare run: stage '%s' (line %d) failed with exit code %d\n",
                        s->name, s->line, rc);
        }
    }
    sbuf_free(&err);
    free(argv);
    return rc;
}

/* The index of stage name, or -1 with a message. */
static int stage_index(const struct recipe *r, const char *name, const char *opt)
{
    const struct recipe_stage *s = recipe_stage(r, name);
    if (s) return (int)(s - r->stages);
    fprintf(stderr, "pare run: %s: no stage named '%s' in %s (stages:", opt, name, r->path);
    for (int i = 0; i < r->n_stages; i++) fprintf(stderr, " %s", r->stages[i].name);
    fprintf(stderr, ")\n");
    return -1;
}

/* The chosen stages [*first, *last]; a shard may only run stages that shard. */
static int choose(const struct runner *rn, const struct recipe *r, const char *stage,
                  const char *from, const char *until, const char *before, int *first, int *last)
{
    *first = 0;
    *last = r->n_stages - 1;
    if ((stage && (from || until || before)) || (until && before)) {
        fprintf(stderr, "pare run: --stage goes alone, and --until and --before exclude each "
                        "other\n");
        return PARE_EUSAGE;
    }
    if (before) {
        int b = stage_index(r, before, "--before");
        if (b < 0) return PARE_EUSAGE;
        if (b == 0) {
            fprintf(stderr, "pare run: --before %s: no stage comes before it\n", before);
            return PARE_EUSAGE;
        }
        until = r->stages[b - 1].name;
    }
    if (stage && (*first = *last = stage_index(r, stage, "--stage")) < 0) return PARE_EUSAGE;
    if (from && (*first = stage_index(r, from, "--from")) < 0) return PARE_EUSAGE;
    if (until && (*last = stage_index(r, until, "--until")) < 0) return PARE_EUSAGE;
    if (*first > *last) {
        fprintf(stderr, "pare run: stage '%s' comes after '%s'\n", from, until);
        return PARE_EUSAGE;
    }
    for (int i = *first; rn->shard && i <= *last; i++) {
        if (!find_cmd(r->stages[i].command)->shards) {
            fprintf(stderr,
                    "pare run: --shard: stage '%s' (%s) does not shard; shard workers run "
                    "retrieve, mine, augment and score (choose them with --stage or "
                    "--from/--until)\n",
                    r->stages[i].name, r->stages[i].command);
            return PARE_EUSAGE;
        }
    }
    return PARE_OK;
}

/* Creates the folders of path (a file's) as mkdir -p would; 0, or -1 with errno. */
static int make_parents(const char *path)
{
    char *dir = xstrdup(path);
    int rc = 0;
    for (char *p = dir + 1; *p && rc == 0; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) rc = -1;
        *p = '/';
    }
    free(dir);
    return rc;
}

/* Resolves the database paths and moves to the file's folder (saved in *back). */
static int enter(struct runner *rn, const struct recipe *r, char **own_db, char **own_shard,
                 int *back)
{
    if (rn->ctx.db_path) rn->ctx.db_path = *own_db = absolute(rn->ctx.db_path);
    if (rn->shard_db) rn->shard_db = *own_shard = absolute(rn->shard_db);
    *back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *dir = xstrdup(r->path);
    char *slash = strrchr(dir, '/');
    int rc = PARE_OK;
    if (slash) {
        slash[slash == dir] = '\0';
        if (chdir(dir) != 0) {
            fprintf(stderr, "pare run: cannot enter %s: %s\n", dir, strerror(errno));
            rc = PARE_EFAIL;
        }
    }
    free(dir);
    if (!rn->ctx.db_path) rn->ctx.db_path = r->db ? r->db : "pare.db";
    rn->check_db = rn->shard_db ? rn->shard_db : rn->ctx.db_path;
    /* a recipe may keep its database in a folder of its own (db: work/pare.db) */
    const char *const made[] = {rn->ctx.db_path, rn->shard_db};
    for (size_t i = 0; i < ARRAY_SIZE(made) && rc == PARE_OK && !rn->dry_run; i++) {
        if (made[i] && make_parents(made[i]) != 0) {
            fprintf(stderr, "pare run: cannot create the folder of %s: %s\n", made[i],
                    strerror(errno));
            rc = PARE_EFAIL;
        }
    }
    return rc;
}

static int run_stages(struct runner *rn, const struct recipe *r, int first, int last)
{
    int must_run = 0, rc = PARE_OK;
    for (int i = first; i <= last && rc == PARE_OK; i++)
        for (int k = 0; k < r->stages[i].n_steps && rc == PARE_OK; k++)
            rc = run_step(rn, &r->stages[i], &r->stages[i].steps[k], &must_run);
    return rc;
}

int job_run(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *stage = NULL, *from = NULL, *until = NULL, *before = NULL;
    struct runner rn = {0};
    const struct opt opts[] = {
        {"stage", OPT_STRING, &stage, NULL, "NAME", "run only this stage"},
        {"from", OPT_STRING, &from, NULL, "NAME", "start at this stage"},
        {"until", OPT_STRING, &until, NULL, "NAME", "stop after this stage"},
        {"before", OPT_STRING, &before, NULL, "NAME", "stop before this stage"},
        {"shard", OPT_STRING, &rn.shard, NULL, "I/N", "pass --shard I/N to the stages"},
        {"shard-db", OPT_STRING, &rn.shard_db, NULL, "FILE", "pass --shard-db FILE to the stages"},
        {"force", OPT_FLAG, &rn.force, NULL, NULL, "run stages even when done before"},
        {"dry-run", OPT_FLAG, &rn.dry_run, NULL, NULL,
         "print the commands (stdout) and what is done, run nothing"},
        {NULL},
    };
    static const char details[] =
        "A stage is done when the database holds an 'ok' run of the same command with the same\n"
        "arguments; once one stage runs, every later one runs too. Paths in FILE are relative to\n"
        "its folder. The pipeline file format is described in the README (Pipelines).";
    const struct cli cli = {"run",
                            "FILE",
                            "Run the stages of a pipeline file, skipping work "
                            "already done.",
                            details,
                            opts,
                            1,
                            1};
    char **args = NULL;
    int nargs = 0;
    int rc = cli_parse(&cli, ctx, argc, argv, &args, &nargs);
    if (rc != PARE_OK) return rc == CLI_HELP ? PARE_OK : rc;
    if (!rn.shard != !rn.shard_db) {
        fprintf(stderr, "pare run: --shard and --shard-db go together\n");
        free(args);
        return PARE_EUSAGE;
    }
    const char *names[ARRAY_SIZE(stage_cmds) + 1] = {0};
    for (size_t i = 0; i < ARRAY_SIZE(stage_cmds); i++) names[i] = stage_cmds[i].name;
    struct recipe r;
    struct sbuf err = {0};
    rc = recipe_load(args[0], names, &r, &err);
    free(args);
    if (rc != PARE_OK) {
        fprintf(stderr, "pare run: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return rc;
    }
    rn.ctx = *ctx;
    rn.ctx.nested = 1;
    int first, last, back = -1;
    char *own_db = NULL, *own_shard = NULL;
    rc = choose(&rn, &r, stage, from, until, before, &first, &last);
    if (rc == PARE_OK) rc = enter(&rn, &r, &own_db, &own_shard, &back);
    if (rc == PARE_OK) rc = run_stages(&rn, &r, first, last);
    if (!ctx->quiet && !rn.dry_run)
        fprintf(stderr, "run: %s: %d steps ran, %d done before%s\n", r.path, rn.ran, rn.skipped,
                rc == PARE_OK ? "" : " (stopped at a failure)");
    if (back >= 0) {
        if (fchdir(back) != 0) rc = rc ? rc : PARE_EFAIL;
        close(back);
    }
    free(own_db);
    free(own_shard);
    recipe_free(&r);
    sbuf_free(&err);
    return rc;
}
