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

/* The selections of the four policies on one question: m is its minimal set, c its ranked
 * candidates. */
struct selections {
    json_t *oracle; /* the minimal set */
    json_t *wordy;  /* the minimal set and the best-ranked candidate outside it */
    json_t *top2;   /* the two best-ranked candidates */
};

static void selections_make(struct selections *sel, json_t *m, json_t *c)
{
    json_t *extra = json_array();
    sel->top2 = json_array();
    size_t k;
    json_t *v;
    json_array_foreach(c, k, v)
    {
        int in_m = 0;
        size_t j;
        json_t *w;
        json_array_foreach(m, j, w) in_m |= json_equal(v, w);
        if (!in_m && json_array_size(extra) == 0) json_array_append(extra, v);
        if (k < 2) json_array_append(sel->top2, v);
    }
    sel->oracle = json_incref(m);
    sel->wordy = json_copy(m);
    json_array_extend(sel->wordy, extra);
    json_decref(extra);
}

static void selections_free(struct selections *sel)
{
    json_decref(sel->oracle);
    json_decref(sel->wordy);
    json_decref(sel->top2);
}

/*
 * Writes the four policies' rollouts of question number i (external id ext, gold answer gold)
 * at one training step. The policies do better on some questions than others, so that the
 * difficulty buckets fill: the oracle fails every fifth question, the guesser is right on every
 * third only.
 */
static int write_step(FILE *f, const char *ext, const char *gold, const struct selections *sel,
                      int i, int step)
{
    struct sbuf r1 = {0}, r2 = {0}, r3 = {0};
    sbuf_addf(&r1, "The passages say so. <answer>%s</answer>", i % 5 == 4 ? "unknown" : gold);
    sbuf_addf(&r3, "I just know. <answer>%s</answer>", i % 3 == 0 ? gold : "somebody");
    sbuf_addf(&r2,
              "Let me read the passages. Hmm, the first says %s. Wait, check the other one "
              "again. Therefore the answer stands. <answer>%s</answer>",
              gold, step >= 2 || i % 2 ? gold : "unknown");
    json_t *rows[4] = {
        json_pack("{s:s, s:s, s:i, s:O, s:s}", "question_id", ext, "policy", "oracle", "step", step,
                  "selected", sel->oracle, "response", r1.p),
        json_pack("{s:s, s:s, s:i, s:O, s:s, s:i}", "question_id", ext, "policy", "wordy", "step",
                  step, "selected", sel->wordy, "response", r2.p, "n_tokens", 400 * step),
        json_pack("{s:s, s:s, s:i, s:[], s:s}", "question_id", ext, "policy", "guess", "step", step,
                  "selected", "response", r3.p),
        json_pack("{s:s, s:s, s:i, s:O, s:s}", "question_id", ext, "policy", "wrong", "step", step,
                  "selected", sel->top2, "response", "<answer>nobody</answer>"),
    };
    int rc = PARE_OK;
    for (int r = 0; r < 4 && rc == PARE_OK; r++) {
        /* one trajectory id per policy and step; the key order of the line is kept as before */
        struct sbuf id = {0};
        sbuf_addf(&id, "%s-%d", json_string_value(json_object_get(rows[r], "policy")), step);
        json_t *line =
            rows[r] ? json_pack("{s:O, s:s}", "question_id",
                                json_object_get(rows[r], "question_id"), "trajectory_id", id.p)
                    : NULL;
        sbuf_free(&id);
        if (!line || json_object_update(line, rows[r]) != 0 ||
            json_dumpf(line, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF)
            rc = PARE_EFAIL;
        json_decref(line);
    }
    for (int r = 0; r < 4; r++) json_decref(rows[r]);
    sbuf_free(&r1);
    sbuf_free(&r2);
    sbuf_free(&r3);
    return rc;
}

/*
 * Rollouts of four synthetic policies over three training steps, as a trainer would hand them
 * to pare score: "oracle" cites the minimal set and answers right; "wordy" adds a distractor and
 * rambles ("Wait ... Therefore"), right from step 2 on; "guess" answers right with no evidence
 * (a miracle step); "wrong" cites the top two candidates and answers wrong.
 */
static int write_rollouts(struct store *st, FILE *f)
{
    sqlite3_stmt *s = store_stmt(
        st, "SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT json_group_array("
            "passage_id) FROM (SELECT passage_id FROM evidence_members WHERE set_id = e.id ORDER "
            "BY rank)), (SELECT json_group_array(passage_id) FROM (SELECT passage_id FROM "
            "candidates WHERE question_id = q.id AND retrieval_id = 1 ORDER BY rank)) FROM "
            "questions q JOIN evidence_sets e ON e.question_id = q.id WHERE e.status = 'minimal' "
            "ORDER BY q.id");
    int rc = s ? PARE_OK : PARE_EFAIL;
    int i = 0, src = SQLITE_DONE;
    while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *ext = (const char *)sqlite3_column_text(s, 0);
        const char *gold = (const char *)sqlite3_column_text(s, 1);
        json_t *m = json_loads((const char *)sqlite3_column_text(s, 2), 0, NULL);
        json_t *c = json_loads((const char *)sqlite3_column_text(s, 3), 0, NULL);
        if (!m || !c) rc = PARE_EFAIL;
        struct selections sel;
        selections_make(&sel, m, c);
        for (int step = 1; step <= 3 && rc == PARE_OK; step++)
            rc = write_step(f, ext, gold, &sel, i, step);
        selections_free(&sel);
        json_decref(m);
        json_decref(c);
        i++;
    }
    if (s) sqlite3_reset(s);
    return src == SQLITE_DONE ? rc : PARE_EFAIL;
}

/* A demo step with a job's signature: writes the rollouts to argv[1] from ctx's database. */
static int step_rollouts(struct pare_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    struct store *st;
    struct sbuf err = {0};
    if (store_open(pare_db_path(ctx), 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare demo: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    FILE *f = fopen(argv[1], "w");
    int rc = f ? write_rollouts(st, f) : PARE_EFAIL;
    if (f && fclose(f) != 0) rc = PARE_EFAIL;
    if (rc != PARE_OK) fprintf(stderr, "pare demo: cannot write rollouts to %s\n", argv[1]);
    store_close(st);
    return rc;
}

/*
 * The pipeline the demo runs, in order, as a user would type it. An argument that starts with
 * '@' names a file in the demo's folder. Steps marked `silent` are the demo's own (not a pare
 * command) and are not echoed.
 */
struct step {
    int (*fn)(struct pare_ctx *ctx, int argc, char **argv);
    int silent;
    const char *argv[12];
};

static const struct step steps[] = {
    {job_ingest, 0, {"ingest", "--format", "generic", "--dataset", "demo", "@questions.jsonl"}},
    {job_index, 0, {"index", "--factory", "Flat"}},
    /* the distractor setting: each question's own passages, ranked */
    {job_retrieve, 0, {"retrieve", "--scope", "context"}},
    {job_retrieve, 0, {"retrieve", "--k", "10", "--with-answer"}},
    {job_eval, 0, {"eval", "--recall"}},
    {job_mine, 0, {"mine", "--retrieval", "1", "--method", "ddmin"}},
    {job_eval, 0, {"eval", "--retrieval", "1"}},
    {job_augment, 0, {"augment", "--retrieval", "1", "--method", "ddmin"}},
    {job_export,
     0,
     {"export", "--what", "verl", "--method", "ddmin", "--retrieval", "1", "--split", "0.9",
      "--out", "@verl.json"}},
    {step_rollouts, 1, {"rollouts", "@rollouts.jsonl"}},
    {job_score, 0, {"score", "--method", "ddmin", "--retrieval", "1", "@rollouts.jsonl"}},
    {job_schedule, 0, {"schedule", "--strategy", "decs", "--plan", "demo", "--batch-size", "16"}},
    {job_export,
     0,
     {"export", "--what", "schedule", "--plan", "demo", "--method", "ddmin", "--retrieval", "1",
      "--out", "@curriculum.json"}},
    {job_status, 0, {"status"}},
};

/* Runs one step, with its '@' arguments made paths in dir. */
static int run_step(struct pare_ctx *ctx, const struct step *s, const char *dir)
{
    char *argv[ARRAY_SIZE(s->argv)];
    char *owned[ARRAY_SIZE(s->argv)] = {0};
    int argc = 0;
    for (; argc < (int)ARRAY_SIZE(s->argv) && s->argv[argc]; argc++) {
        const char *a = s->argv[argc];
        argv[argc] = a[0] == '@' ? (owned[argc] = path_join(dir, a + 1)) : (char *)a;
    }
    fflush(stdout);
    if (!ctx->quiet && !s->silent) {
        fprintf(stderr, "\n== pare");
        for (int i = 0; i < argc; i++) fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
    }
    int rc = s->fn(ctx, argc, argv);
    fflush(stdout);
    for (int i = 0; i < argc; i++) free(owned[i]);
    return rc;
}

/* Removes the database and its WAL files, so that the demo shows the same thing on every run. */
static int fresh_database(const char *path)
{
    struct sbuf side = {0};
    static const char *const sfx[] = {"", "-wal", "-shm"};
    int rc = PARE_OK;
    for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
        sbuf_setf(&side, "%s%s", path, sfx[i]);
        if (remove(side.p) != 0 && errno != ENOENT) {
            fprintf(stderr, "pare demo: cannot remove %s: %s\n", side.p, strerror(errno));
            rc = PARE_EFAIL;
        }
    }
    sbuf_free(&side);
    return rc;
}

/* Writes the generated world to dir/questions.jsonl. */
static int generate(const struct pare_ctx *ctx, const char *dir, int64_t n, int64_t seed)
{
    char *data = path_join(dir, "questions.jsonl");
    FILE *f = fopen(data, "w");
    int rc = PARE_OK;
    if (!f) {
        fprintf(stderr, "pare demo: cannot write %s: %s\n", data, strerror(errno));
        rc = PARE_EFAIL;
    } else {
        struct synth_opts so = {(uint64_t)seed, (int)n, 10};
        rc = synth_questions(f, &so);
        if (fclose(f) != 0 || rc != PARE_OK) {
            fprintf(stderr, "pare demo: cannot write %s\n", data);
            rc = PARE_EFAIL;
        } else if (!ctx->quiet) {
            fprintf(stderr, "pare demo: generated %lld questions in %s\n", (long long)n, data);
        }
    }
    free(data);
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
    char *dbdef = path_join(dir, "pare.db");
    struct pare_ctx dctx = *ctx;
    dctx.nested = 1;
    if (!dctx.db_path) dctx.db_path = dbdef;
    rc = fresh_database(dctx.db_path);
    if (rc == PARE_OK) rc = generate(ctx, dir, n_questions, seed);
    for (size_t i = 0; i < ARRAY_SIZE(steps) && rc == PARE_OK; i++)
        rc = run_step(&dctx, &steps[i], dir);
    if (rc == PARE_OK) {
        printf("\ndemo database: %s\n", dctx.db_path);
        printf("try: sqlite3 %s \"SELECT status, count(*), avg(size) FROM evidence_sets GROUP BY "
               "status\"\n",
               dctx.db_path);
    }
    free(dbdef);
    return rc;
}
