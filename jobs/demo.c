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

#include <jansson.h>

#include "jobs/jobs.h"
#include "pipeline/synth.h"
#include "stores/store.h"

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

/*
 * Rollouts of four synthetic policies over three training steps, as a trainer would hand them
 * to pare score: "oracle" cites the minimal set and answers right; "wordy" adds a distractor and
 * rambles ("Wait ... Therefore"), right from step 2 on; "guess" answers right with no evidence
 * (a miracle step); "wrong" cites the top two candidates and answers wrong.
 */
static int write_rollouts(const char *db, const char *path)
{
    struct store *st;
    struct sbuf err = {0};
    if (store_open(db, 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare demo: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    FILE *f = fopen(path, "w");
    sqlite3_stmt *s = store_stmt(
        st, "SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT json_group_array("
            "passage_id) FROM (SELECT passage_id FROM evidence_members WHERE set_id = e.id ORDER "
            "BY rank)), (SELECT json_group_array(passage_id) FROM (SELECT passage_id FROM "
            "candidates WHERE question_id = q.id AND retrieval_id = 1 ORDER BY rank)) FROM "
            "questions q JOIN evidence_sets e ON e.question_id = q.id WHERE e.status = 'minimal' "
            "ORDER BY q.id");
    int rc = f && s ? PARE_OK : PARE_EFAIL;
    int i = 0, src = SQLITE_DONE;
    while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *ext = (const char *)sqlite3_column_text(s, 0);
        const char *gold = (const char *)sqlite3_column_text(s, 1);
        json_error_t je;
        json_t *m = json_loads((const char *)sqlite3_column_text(s, 2), 0, &je);
        json_t *c = json_loads((const char *)sqlite3_column_text(s, 3), 0, &je);
        if (!m || !c) rc = PARE_EFAIL;
        json_t *extra = json_array(), *top2 = json_array();
        size_t k;
        json_t *v;
        json_array_foreach(c, k, v)
        {
            int in_m = 0;
            size_t j;
            json_t *w;
            json_array_foreach(m, j, w) in_m |= json_equal(v, w);
            if (!in_m && json_array_size(extra) == 0) json_array_append(extra, v);
            if (k < 2) json_array_append(top2, v);
        }
        json_t *wordy_sel = json_copy(m);
        json_array_extend(wordy_sel, extra);
        for (int step = 1; step <= 3 && rc == PARE_OK; step++) {
            /* the policies do better on some questions than others, so that the difficulty
             * buckets fill: the oracle fails every fifth question, the guesser is right on
             * every third only */
            struct sbuf r1 = {0}, r2 = {0}, r3 = {0};
            sbuf_addf(&r1, "The passages say so. <answer>%s</answer>",
                      i % 5 == 4 ? "unknown" : gold);
            sbuf_addf(&r3, "I just know. <answer>%s</answer>", i % 3 == 0 ? gold : "somebody");
            sbuf_addf(&r2,
                      "Let me read the passages. Hmm, the first says %s. Wait, check the "
                      "other one again. Therefore the answer stands. <answer>%s</answer>",
                      gold, step >= 2 || i % 2 ? gold : "unknown");
            json_t *rows[4] = {
                json_pack("{s:s, s:s, s:s, s:i, s:O, s:s}", "question_id", ext, "trajectory_id",
                          "oracle", "policy", "oracle", "step", step, "selected", m, "response",
                          r1.p),
                json_pack("{s:s, s:s, s:s, s:i, s:O, s:s, s:i}", "question_id", ext,
                          "trajectory_id", "wordy", "policy", "wordy", "step", step, "selected",
                          wordy_sel, "response", r2.p, "n_tokens", 400 * step),
                json_pack("{s:s, s:s, s:s, s:i, s:[], s:s}", "question_id", ext, "trajectory_id",
                          "guess", "policy", "guess", "step", step, "selected", "response", r3.p),
                json_pack("{s:s, s:s, s:s, s:i, s:O, s:s}", "question_id", ext, "trajectory_id",
                          "wrong", "policy", "wrong", "step", step, "selected", top2, "response",
                          "<answer>nobody</answer>"),
            };
            for (int r = 0; r < 4 && rc == PARE_OK; r++) {
                /* one trajectory id per policy and step */
                struct sbuf id = {0};
                sbuf_addf(&id, "%s-%d", json_string_value(json_object_get(rows[r], "policy")),
                          step);
                json_object_set_new(rows[r], "trajectory_id", json_string(id.p));
                sbuf_free(&id);
                if (!rows[r] || json_dumpf(rows[r], f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF)
                    rc = PARE_EFAIL;
            }
            for (int r = 0; r < 4; r++) json_decref(rows[r]);
            sbuf_free(&r1);
            sbuf_free(&r2);
            sbuf_free(&r3);
        }
        json_decref(m);
        json_decref(c);
        json_decref(extra);
        json_decref(top2);
        json_decref(wordy_sel);
        i++;
    }
    if (s) sqlite3_reset(s);
    if (src != SQLITE_DONE) rc = PARE_EFAIL;
    if (f && fclose(f) != 0) rc = PARE_EFAIL;
    if (rc != PARE_OK) fprintf(stderr, "pare demo: cannot write rollouts to %s\n", path);
    store_close(st);
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
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
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
        char *a[] = {"eval", "--recall"};
        rc = run(&dctx, job_eval, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"mine", "--retrieval", "1", "--method", "ddmin"};
        rc = run(&dctx, job_mine, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"eval", "--retrieval", "1"};
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
    char *roll = path_join(dir, "rollouts.jsonl");
    char *curr = path_join(dir, "curriculum.json");
    if (rc == PARE_OK) rc = write_rollouts(dctx.db_path, roll);
    if (rc == PARE_OK) {
        char *a[] = {"score", "--method", "ddmin", "--retrieval", "1", roll};
        rc = run(&dctx, job_score, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"schedule", "--strategy", "decs", "--plan", "demo", "--batch-size", "16"};
        rc = run(&dctx, job_schedule, (int)ARRAY_SIZE(a), a);
    }
    if (rc == PARE_OK) {
        char *a[] = {"export", "--what",      "schedule", "--plan", "demo", "--method",
                     "ddmin",  "--retrieval", "1",        "--out",  curr};
        rc = run(&dctx, job_export, (int)ARRAY_SIZE(a), a);
    }
    free(roll);
    free(curr);
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
