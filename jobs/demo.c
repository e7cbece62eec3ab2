/*
 * demo.c - `pare demo`: the whole pipeline on a generated multi-hop world, in a folder of its
 * own. It writes the world as generic JSON Lines, then runs each stage as a user would, through
 * the same job functions, and ends with a summary and the database path.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobs/jobs.h"
#include "pipeline/synth.h"

/* Runs a job with a fixed argv (argv[0] is the command). */
static int run(struct pare_ctx *ctx, int (*fn)(struct pare_ctx *, int, char **), int argc,
               char **argv)
{
    fflush(stdout);
    if (!ctx->quiet) {
        fprintf(stderr, "\n== pare");
        for (int i = 0; i < argc; i++) fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
    }
    int rc = fn(ctx, argc, argv);
    fflush(stdout);
    return rc;
}

int job_demo(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *dir = NULL;
    int64_t n_questions = 300, seed = 42;
    const struct opt opts[] = {
        {"dir", OPT_STRING, &dir, "pare-demo", "DIR", "folder for the demo's data and database"},
        {"questions", OPT_INT, &n_questions, "300", "N", "questions to generate"},
        {"seed", OPT_INT, &seed, "42", "N", "seed of the generated world"},
        {NULL},
    };
    const struct cli cli = {
        "demo",
        NULL,
        "Generate a synthetic multi-hop corpus with known gold evidence and run the pipeline on "
        "it.",
        "The demo starts afresh each time: it replaces the database in DIR (or --db).",
        opts,
        0,
        0};
    char **args;
    int nargs;
    int rc = cli_parse(&cli, ctx, argc, argv, &args, &nargs);
    free(args);
    if (rc != PARE_OK) return rc == CLI_HELP ? PARE_OK : rc;
    if (n_questions < 1 || n_questions > 1000000) {
        fprintf(stderr, "pare demo: --questions must be between 1 and 1000000\n");
        return PARE_EUSAGE;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "pare demo: cannot create %s: %s\n", dir, strerror(errno));
        return PARE_EFAIL;
    }
    char *data = path_join(dir, "questions.jsonl");
    char *dbdef = path_join(dir, "pare.db");
    struct pare_ctx dctx = *ctx;
    dctx.nested = 1;
    if (!dctx.db_path) dctx.db_path = dbdef;
    /* a fresh database each time, so that the demo shows the same thing on every run */
    struct sbuf side = {0};
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
        sbuf_setf(&side, "%s%s", dctx.db_path, sfx[i]);
        if (remove(side.p) != 0 && errno != ENOENT) {
            fprintf(stderr, "pare demo: cannot remove %s: %s\n", side.p, strerror(errno));
            rc = PARE_EFAIL;
        }
    }
    sbuf_free(&side);

    FILE *f = rc == PARE_OK ? fopen(data, "w") : NULL;
    if (rc == PARE_OK && !f) {
        fprintf(stderr, "pare demo: cannot write %s: %s\n", data, strerror(errno));
        rc = PARE_EFAIL;
    }
    if (f) {
        struct synth_opts so = {(uint64_t)seed, (int)n_questions, 10};
        rc = synth_questions(f, &so);
        if (fclose(f) != 0 || rc != PARE_OK) {
            fprintf(stderr, "pare demo: cannot write %s\n", data);
            rc = PARE_EFAIL;
        } else if (!ctx->quiet) {
            fprintf(stderr, "pare demo: generated %lld questions in %s\n", (long long)n_questions,
                    data);
        }
    }
    if (rc == PARE_OK) {
        char *a[] = {"ingest", "--format", "generic", "--dataset", "demo", data};
        rc = run(&dctx, job_ingest, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"index", "--factory", "Flat"};
        rc = run(&dctx, job_index, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) { /* the distractor setting: each question's own passages, ranked */
        char *a[] = {"retrieve", "--scope", "context"};
        rc = run(&dctx, job_retrieve, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"retrieve", "--k", "10", "--with-answer"};
        rc = run(&dctx, job_retrieve, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"eval", "--retrieval"};
        rc = run(&dctx, job_eval, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"mine", "--retrieval", "1", "--method", "ddmin"};
        rc = run(&dctx, job_mine, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"eval", "--id", "1"};
        rc = run(&dctx, job_eval, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"augment", "--retrieval", "1", "--method", "ddmin"};
        rc = run(&dctx, job_augment, (int)ARRAY_SIZE(a), a);
    }
    char *verl = path_join(dir, "verl.json");
    if (rc == PARE_OK) {
        char *a[] = {"export", "--what",  "verl", "--method", "ddmin", "--retrieval",
                     "1",      "--split", "0.9",  "--out",    verl};
        rc = run(&dctx, job_export, (int)ARRAY_SIZE(a), a);
    }
    free(verl);
    if (rc == PARE_OK) {
        char *a[] = {"status"};
        rc = run(&dctx, job_status, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        printf("\ndemo database: %s\n", dctx.db_path);
        printf("try: sqlite3 %s \"SELECT status, count(*), avg(size) FROM evidence_sets GROUP BY "
               "status\"\n",
               dctx.db_path);
    }
    free(data);
    free(dbdef);
    return rc;
}
