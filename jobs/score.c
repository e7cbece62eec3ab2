/*
 * score.c - `pare score`: reward policy trajectories.
 *
 * Options, then one transaction: every line of every file goes to the scorer
 * (pipeline/trajectory.h), which checks, measures and stores it; the rewards of every scheme are
 * computed once all files are read (LASER-D's targets depend on all the run's rollouts). A bad
 * line stops the command with `file:line: what is wrong` and nothing stored, or with --skip-bad
 * goes to `rejects`. Trajectories are keyed by (question, trajectory id) and rewards by
 * (trajectory, scheme): rerunning a file adds nothing twice. With --shard I/N every worker reads
 * every file and keeps the lines of its shard's questions (pare merge joins them); laser-d is
 * refused there (check_shard).
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "common/reader.h"
#include "pipeline/rows.h"
#include "pipeline/trajectory.h"
#include "stores/store.h"

struct score_opts {
    const char *schemes;
    int on[N_SCHEMES];
    double red, gamma;
    struct reward_params params;
    struct traj_scope scope;
    char *method, *judge; /* the scope's, defaulted to the newest sets' (owned) */
    int skip_bad;
};

struct score {
    struct job job;
    struct store *st;
    struct traj_scorer *scorer;
    int skip_bad;
    const char *source; /* the file being read, as rejects name it */
    int64_t rejected;
    struct sbuf err, other; /* other: ", N of other shards" under --shard */
};

/* Parses --schemes. An unknown name is a usage error (PARE_EUSAGE, printed with the valid
 * names), as is a list naming none. */
static int parse_schemes(struct score_opts *o)
{
    char *list = xstrdup(o->schemes);
    int rc = PARE_OK, any = 0;
    for (char *tok = strtok(list, ", "); tok && rc == PARE_OK; tok = strtok(NULL, ", ")) {
        enum reward_scheme k;
        if (reward_scheme_from_name(tok, &k) == 0) {
            o->on[k] = any = 1;
            continue;
        }
        fprintf(stderr,
                "pare score: unknown scheme '%s' in --schemes (valid: " REWARD_SCHEME_LIST ")\n",
                tok);
        rc = PARE_EUSAGE;
    }
    free(list);
    if (rc == PARE_OK && !any) {
        fprintf(stderr, "pare score: --schemes names no scheme (valid: " REWARD_SCHEME_LIST ")\n");
        rc = PARE_EUSAGE;
    }
    return rc;
}

/*
 * LASER-D's target lengths are quantiles over every trajectory of the run in a difficulty
 * bucket, across questions, so a shard, which sees only its questions' trajectories, cannot
 * compute them; recomputing them at merge would mean storing every shard's lengths and
 * rescoring at merge. Refused instead: the other schemes shard, and one unsharded
 * `pare score --schemes laser-d` after the merge adds LASER-D (its trajectories are already
 * stored, measured the same).
 */
static int check_shard(const struct pare_ctx *ctx, const struct score_opts *o)
{
    if (!ctx->shard || !o->on[SCHEME_LASER_D]) return PARE_OK;
    fprintf(stderr, "pare score: laser-d cannot be scored in shards (its target lengths depend "
                    "on every trajectory of the run): give --schemes without it (e.g. "
                    "cp1,cp2,laser,decs,rubric), then after pare merge run pare score "
                    "--schemes laser-d on the same files without --shard\n");
    return PARE_EUSAGE;
}

/* Checks the option values and fills in the schemes' defaults. Prints what is wrong. */
static int check_options(struct score_opts *o)
{
    int rc = parse_schemes(o);
    if (rc != PARE_OK) return rc;
    o->params.red1 = o->red >= 0 ? o->red : reward_defaults.red1;
    o->params.red2 = o->red >= 0 ? o->red : reward_defaults.red2;
    o->params.gamma1 = o->gamma >= 0 ? o->gamma : reward_defaults.gamma1;
    o->params.gamma2 = o->gamma >= 0 ? o->gamma : reward_defaults.gamma2;
    const char *why = NULL;
    if (o->params.max_len <= 0)
        why = "--max-len must be positive";
    else if (o->params.target_len < 0)
        why = "--target-len must not be negative";
    if (!why) return PARE_OK;
    fprintf(stderr, "pare score: %s\n", why);
    return PARE_EUSAGE;
}

/* A bad line (traj_bad): stops the run, or with --skip-bad is reported and kept in `rejects`. */
static int bad_line(void *ud, long line, const char *msg, const char *raw, size_t raw_len)
{
    struct score *s = ud;
    if (!s->skip_bad) {
        sbuf_setf(&s->err, "%s", msg);
        return PARE_EINPUT;
    }
    job_say(&s->job, "%s (skipped)", msg);
    int rc = job_reject(&s->job, s->source, line, msg, raw, raw_len, &s->err);
    if (rc == PARE_OK) s->rejected++;
    return rc;
}

/* Every line of a file to the scorer, which parses and measures them in batches on every
 * thread and stores them in order; bad lines come back to bad_line in file order. */
static int read_trajectories(struct score *s, const char *path)
{
    struct reader *r;
    int rc = reader_open(path, &r, &s->err);
    if (rc != PARE_OK) return rc;
    char *source = realpath(path, NULL);
    s->source = source ? source : path;
    const struct traj_bad bad = {bad_line, s};
    int fatal = 0; /* the file cannot be read further: s->err says why */
    while (rc == PARE_OK) {
        long line;
        int res = reader_next_raw(r, &line, &s->err);
        if (res == READ_EOF) break;
        if (res == READ_FATAL) {
            fatal = 1;
            break;
        }
        size_t raw_len;
        const char *raw = reader_raw(r, &raw_len);
        rc = traj_scorer_add(s->scorer, path, raw, raw_len, line, &bad, &s->err);
        job_progress(&s->job, "trajectories", (uint64_t)traj_scorer_count(s->scorer), 0,
                     reader_pos(r), reader_size(r));
    }
    /* the lines before a fatal read are taken first: a bad one among them is reported */
    if (rc == PARE_OK) rc = traj_scorer_drain(s->scorer, &bad, &s->err);
    if (rc == PARE_OK && fatal) rc = PARE_EINPUT;
    free(source);
    s->source = NULL;
    reader_close(r);
    return rc;
}

/* Reads every file and stores the rewards, in one transaction. */
static int score_files(struct score *s, struct score_opts *o, char **files, int nfiles)
{
    int rc = store_retrieval(s->st, &o->scope.retrieval, 0, &s->err);
    if (rc == PARE_OK) /* the minimal sets: the newest sets' method and judge by default */
        rc = rows_newest_sets(s->st, o->scope.judge, o->scope.method, &o->method, &o->judge,
                              &s->err);
    if (rc != PARE_OK) return rc;
    o->scope.method = o->method ? o->method : "loo"; /* no sets yet: no minimal set to cover */
    o->scope.judge = o->judge;
    s->scorer = traj_scorer_new(s->st, &o->scope, &o->params, o->on);
    /* Foreign key checks off for the transaction (store_fk_suspend): every row written refers
     * to a question just read, a trajectory just written or reward parameters just found or
     * written, under the write lock, and the checks (a lookup for each of the eight references
     * of a trajectory and its rewards) cost a quarter of storing them. */
    if (store_fk_suspend(s->st) != PARE_OK)
        return store_fail(s->st, &s->err, "setting foreign key checks");
    /* a bulk transaction: see store_begin_bulk (the WAL checkpoint wrote 470 MB at 1M) */
    if (store_begin_bulk(s->st) != PARE_OK) rc = store_fail(s->st, &s->err, "BEGIN");
    for (int i = 0; i < nfiles && rc == PARE_OK; i++) rc = read_trajectories(s, files[i]);
    if (rc == PARE_OK) rc = traj_scorer_rewards(s->scorer, &s->err);
    if (rc == PARE_OK && s->job.ctx->shard)
        sbuf_addf(&s->other, ", %lld of other shards' questions left to them",
                  (long long)traj_scorer_other_count(s->scorer));
    if (store_in_tx(s->st) && store_end_bulk(s->st, rc == PARE_OK) != PARE_OK && rc == PARE_OK)
        rc = store_fail(s->st, &s->err, "cannot commit");
    if (store_fk_resume(s->st) != PARE_OK && rc == PARE_OK)
        rc = store_fail(s->st, &s->err, "setting foreign key checks");
    return rc;
}

/* Prints the outcome and ends the run. */
static int finish(struct score *s, int rc)
{
    size_t n = s->scorer ? traj_scorer_count(s->scorer) : 0;
    if (rc == PARE_EINPUT) /* file:line: what is wrong */
        fprintf(stderr, "%s\npare score: nothing was stored\n", sbuf_str(&s->err));
    else if (rc != PARE_OK)
        fprintf(stderr, "pare score: %s%s\n", sbuf_str(&s->err),
                s->scorer ? "; nothing was stored" : "");
    else
        job_say(&s->job, "score: %zu trajectories (%lld new), %lld rejected%s", n,
                (long long)traj_scorer_new_count(s->scorer), (long long)s->rejected,
                sbuf_str(&s->other));
    return job_end(&s->job, rc, (int64_t)n, s->rejected, rc == PARE_OK ? NULL : sbuf_str(&s->err),
                   NULL);
}

int job_score(struct pare_ctx *ctx, int argc, char **argv)
{
    struct score_opts o = {0};
    const struct opt opts[] = {
        {"schemes", OPT_STRING, &o.schemes, "cp1,cp2,laser,laser-d,decs,rubric", "LIST",
         "reward schemes to compute"},
        {"red", OPT_DOUBLE, &o.red, "-1", "N",
         "cp1/cp2 redundancy allowance (-1: 3 for cp1, 1 for cp2)"},
        {"gamma", OPT_DOUBLE, &o.gamma, "-1", "X",
         "cp1/cp2 penalty (-1: 0.3 for cp1, 0.6 for cp2)"},
        {"target-len", OPT_DOUBLE, &o.params.target_len, "1024", "L", "laser: target length L_T"},
        {"alpha", OPT_DOUBLE, &o.params.alpha, "0.5", "X", "laser, laser-d: length bonus"},
        {"max-len", OPT_DOUBLE, &o.params.max_len, "8192", "L", "decs: L_max"},
        {"method", OPT_STRING, &o.scope.method, NULL, "M",
         "minimal sets of this minimiser (default: the newest sets')"},
        {"judge", OPT_STRING, &o.scope.judge, NULL, "FP",
         "minimal sets of this judge fingerprint (default: the newest sets')"},
        {"retrieval", OPT_INT, &o.scope.retrieval, "0", "ID",
         "candidates of this retrieval (0: newest)"},
        {"dataset", OPT_STRING, &o.scope.dataset, NULL, "NAME", "the dataset of the question ids"},
        {"skip-bad", OPT_FLAG, &o.skip_bad, NULL, NULL, "store bad lines in `rejects` and go on"},
        CLI_OPT_SHARD,
        {NULL},
    };
    const struct cli cli = {
        "score",
        "FILE...",
        "Score policy trajectories (JSON Lines: pare's lines, verl's rollout dumps, or lines "
        "carrying an exported row's ground truth) with the reward schemes.",
        NULL,
        opts,
        1,
        -1};
    char **files;
    int nfiles, rc;
    if (cli_files(&cli, ctx, argc, argv, &files, &nfiles, &rc)) return rc;
    struct score s = {.skip_bad = o.skip_bad};
    if ((rc = check_options(&o)) != PARE_OK || (rc = check_shard(ctx, &o)) != PARE_OK ||
        (rc = job_check_files(files, nfiles)) != PARE_OK) {
        free(files);
        return rc;
    }
    if (job_open(&s.job, ctx, "score", 0, argc, argv, &s.st) != PARE_OK) {
        free(files);
        return PARE_EFAIL;
    }
    rc = finish(&s, score_files(&s, &o, files, nfiles));
    traj_scorer_free(s.scorer);
    free(o.method);
    free(o.judge);
    sbuf_free(&s.err);
    sbuf_free(&s.other);
    store_close(s.st);
    free(files);
    return rc;
}
