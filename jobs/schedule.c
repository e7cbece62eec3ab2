/*
 * schedule.c - `pare schedule`: difficulty per question and a curriculum of batches.
 *
 * Difficulty is the pass rate over a question's rollouts (the `correct` component of its
 * rewards), bucketed as LASER-D does: easy >= 2/3, medium [1/3, 2/3), hard < 1/3. Without
 * rollouts it comes from the mined set: a set of 1-2 passages is easy, 3 medium, 4 or more (or
 * none sufficient) hard, ordered within a bucket by size and judge calls.
 *   sorted   easy to hard, for trainers that read in order (verl with data.shuffle=False)
 *   buckets  every batch holds fixed shares of easy, medium and hard (--shares)
 *   decs     DECS: kappa_m = clip(kappa_{m-1} + beta (R_m - R_{m-1}), 0, kappa0_m), kappa_0 = 0,
 *            R_0 = 0.5, R_m the mean prefix fraction of step m's correct rollouts and kappa0_m
 *            its share of easy prompts; batch m takes `kept` non-easy prompts and appends
 *            int(kappa_m * kept / (1 - kappa_m)) easy ones
 *   dapo     drops the prompts whose rollouts all earn the same reward (--scheme), keeps the
 *            rest in sorted order
 * The plan's rows in `schedule` are replaced as a whole; `pare export --what schedule` writes
 * them in order as verl rows.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/reward.h"
#include "stores/store.h"

struct qd {
    int64_t qid;
    double pass, score;
    int n, bucket, dropped;
};

struct sch {
    struct store *st;
    struct job job;
    struct qd *q;
    size_t n, cap;
    struct sbuf err;
};

static int cmp_q(const void *a, const void *b)
{
    const struct qd *x = a, *y = b;
    if (x->bucket != y->bucket) return x->bucket - y->bucket;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->qid < y->qid ? -1 : x->qid > y->qid;
}

/* Difficulty from rollouts, else from the mined sets of `method`. */
static int difficulty(struct sch *s, const char *method, int *from_rollouts)
{
    sqlite3_stmt *st = store_stmt(
        s->st, "SELECT t.question_id, count(*), sum(json_extract(r.components, '$.correct')) "
               "FROM trajectories t JOIN rewards r ON r.trajectory_id = t.id AND r.rowid = "
               "(SELECT min(rowid) FROM rewards WHERE trajectory_id = t.id) "
               "GROUP BY t.question_id ORDER BY t.question_id");
    if (!st) return store_fail(s->st, &s->err, "reading rollouts");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        xgrow((void **)&s->q, &s->cap, s->n + 1, sizeof *s->q);
        struct qd *d = &s->q[s->n++];
        memset(d, 0, sizeof *d);
        d->qid = sqlite3_column_int64(st, 0);
        d->n = sqlite3_column_int(st, 1);
        d->pass = (double)sqlite3_column_int64(st, 2) / d->n;
        d->bucket = difficulty_bucket(d->pass);
        d->score = 1.0 - d->pass;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return store_fail(s->st, &s->err, "reading rollouts");
    *from_rollouts = s->n > 0;
    if (s->n) return PARE_OK;
    st = store_stmt(s->st, "SELECT question_id, max(CASE WHEN status = 'minimal' THEN size ELSE "
                           "99 END), max(judge_calls) FROM evidence_sets WHERE method = ?1 "
                           "GROUP BY question_id ORDER BY question_id");
    if (!st || sqlite3_bind_text(st, 1, method, -1, SQLITE_STATIC))
        return store_fail(s->st, &s->err, "reading evidence sets");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        xgrow((void **)&s->q, &s->cap, s->n + 1, sizeof *s->q);
        struct qd *d = &s->q[s->n++];
        memset(d, 0, sizeof *d);
        d->qid = sqlite3_column_int64(st, 0);
        int size = sqlite3_column_int(st, 1);
        d->score = size + 0.01 * sqlite3_column_int(st, 2);
        d->bucket = size <= 2 ? 0 : size == 3 ? 1 : 2;
        d->pass = -1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(s->st, &s->err, "reading evidence sets");
}

static int store_difficulty(struct sch *s, int from_rollouts)
{
    for (size_t i = 0; i < s->n; i++) {
        struct qd *d = &s->q[i];
        sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO difficulty(question_id, pass_rate, "
                                             "n_rollouts, bucket, score, source) VALUES (?1, ?2, "
                                             "?3, ?4, ?5, ?6) ON CONFLICT(question_id) DO UPDATE "
                                             "SET pass_rate = excluded.pass_rate, n_rollouts = "
                                             "excluded.n_rollouts, bucket = excluded.bucket, "
                                             "score = excluded.score, source = excluded.source");
        if (!st || sqlite3_bind_int64(st, 1, d->qid) ||
            (d->pass >= 0 ? sqlite3_bind_double(st, 2, d->pass) : sqlite3_bind_null(st, 2)) ||
            sqlite3_bind_int(st, 3, d->n) ||
            sqlite3_bind_text(st, 4, bucket_names[d->bucket], -1, SQLITE_STATIC) ||
            sqlite3_bind_double(st, 5, d->score) ||
            sqlite3_bind_text(st, 6, from_rollouts ? "rollouts" : "evidence_set", -1,
                              SQLITE_STATIC) ||
            store_done(s->st, st))
            return store_fail(s->st, &s->err, "storing difficulty");
    }
    return PARE_OK;
}

static int put(struct sch *s, const char *plan, int64_t batch, int64_t pos, int64_t qid)
{
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO schedule(plan, epoch, batch, position, "
                                         "question_id) VALUES (?1, 1, ?2, ?3, ?4)");
    if (!st || sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 2, batch) || sqlite3_bind_int64(st, 3, pos) ||
        sqlite3_bind_int64(st, 4, qid) || store_done(s->st, st))
        return store_fail(s->st, &s->err, "storing the schedule");
    return PARE_OK;
}

/* DAPO: marks prompts whose rollouts all earned the same `scheme` reward. */
static int dapo(struct sch *s, const char *scheme, int64_t *dropped)
{
    for (size_t i = 0; i < s->n; i++) {
        sqlite3_stmt *st = store_stmt(s->st, "SELECT count(*), min(r.value), max(r.value) FROM "
                                             "trajectories t JOIN rewards r ON r.trajectory_id = "
                                             "t.id AND r.scheme = ?2 WHERE t.question_id = ?1");
        if (!st || sqlite3_bind_int64(st, 1, s->q[i].qid) ||
            sqlite3_bind_text(st, 2, scheme, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_ROW) {
            if (st) sqlite3_reset(st);
            return store_fail(s->st, &s->err, "reading rewards");
        }
        int n = sqlite3_column_int(st, 0);
        double lo = sqlite3_column_double(st, 1), hi = sqlite3_column_double(st, 2);
        sqlite3_reset(st);
        if (n == 0) {
            sbuf_setf(&s->err, "no '%s' rewards: run pare score with that scheme first", scheme);
            return PARE_EUSAGE;
        }
        if (fabs(hi - lo) < 1e-12) {
            s->q[i].dropped = 1;
            (*dropped)++;
        }
    }
    return PARE_OK;
}

/* DECS: R_m and kappa0_m per training step, then kappa_m. */
static int decs_steps(struct sch *s, double beta, double **kappa, int64_t **steps, size_t *n)
{
    sqlite3_stmt *st = store_stmt(
        s->st, "SELECT t.step, t.question_id, json_extract(r.components, '$.correct'), "
               "json_extract(r.components, '$.prefix_fraction') FROM trajectories t JOIN rewards "
               "r ON r.trajectory_id = t.id AND r.rowid = (SELECT min(rowid) FROM rewards WHERE "
               "trajectory_id = t.id) WHERE t.step IS NOT NULL ORDER BY t.step, t.question_id");
    if (!st) return store_fail(s->st, &s->err, "reading rollouts");
    double *R = NULL, *k0 = NULL;
    size_t cap = 0, cap2 = 0, cap3 = 0;
    *n = 0;
    int rc;
    int64_t cur = INT64_MIN, last_q = -1;
    double psum = 0;
    int pn = 0, easy = 0, prompts = 0;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        xgrow((void **)&R, &cap, *n + 1, sizeof *R);                                               \
        xgrow((void **)&k0, &cap2, *n + 1, sizeof *k0);                                            \
        xgrow((void **)steps, &cap3, *n + 1, sizeof **steps);                                      \
        R[*n] = pn ? psum / pn : 0.5;                                                              \
        k0[*n] = prompts ? (double)easy / prompts : 0;                                             \
        (*steps)[*n] = cur;                                                                        \
        (*n)++;                                                                                    \
    } while (0)
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t step = sqlite3_column_int64(st, 0), q = sqlite3_column_int64(st, 1);
        if (step != cur) {
            if (cur != INT64_MIN) FLUSH();
            cur = step;
            psum = 0;
            pn = easy = prompts = 0;
            last_q = -1;
        }
        if (q != last_q) { /* a prompt of this step: easy by its difficulty bucket */
            prompts++;
            for (size_t i = 0; i < s->n; i++)
                if (s->q[i].qid == q && s->q[i].bucket == 0) easy++;
            last_q = q;
        }
        if (sqlite3_column_int(st, 2)) {
            psum += sqlite3_column_double(st, 3);
            pn++;
        }
    }
    if (cur != INT64_MIN) FLUSH();
#undef FLUSH
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(R);
        free(k0);
        return store_fail(s->st, &s->err, "reading rollouts");
    }
    *kappa = xcalloc(*n + 1, sizeof **kappa);
    decs_kappa(R, k0, *n, beta, *kappa);
    free(R);
    free(k0);
    return PARE_OK;
}

int job_schedule(struct pare_ctx *ctx, int argc, char **argv)
{
    struct sch s = {0};
    const char *strategy = NULL, *plan = NULL, *shares = NULL, *scheme = NULL, *method = NULL;
    int64_t bsize = 32;
    double beta = 0.2;
    int json_out = 0;
    const struct opt opts[] = {
        {"strategy", OPT_STRING, &strategy, "sorted", "S", "sorted, buckets, decs or dapo"},
        {"plan", OPT_STRING, &plan, NULL, "NAME", "name of the plan (default: the strategy)"},
        {"batch-size", OPT_INT, &bsize, "32", "N", "prompts per batch"},
        {"shares", OPT_STRING, &shares, "0.34,0.33,0.33", "E,M,H",
         "buckets: share of easy, medium and hard prompts in a batch"},
        {"beta", OPT_DOUBLE, &beta, "0.2", "X", "decs: step size of kappa"},
        {"scheme", OPT_STRING, &scheme, "laser", "S", "dapo: the reward compared within a group"},
        {"method", OPT_STRING, &method, "loo", "M",
         "difficulty without rollouts: sets of this minimiser"},
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print a JSON summary on stdout"},
        {NULL},
    };
    const struct cli cli = {
        "schedule", NULL, "Rate question difficulty and plan a curriculum of batches.", NULL, opts,
        0,          0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    int strat = strcmp(strategy, "sorted") == 0    ? 0
                : strcmp(strategy, "buckets") == 0 ? 1
                : strcmp(strategy, "decs") == 0    ? 2
                : strcmp(strategy, "dapo") == 0    ? 3
                                                   : -1;
    double sh[3];
    if (strat < 0 || bsize < 1 || beta < 0 ||
        sscanf(shares, "%lf,%lf,%lf", &sh[0], &sh[1], &sh[2]) != 3 || sh[0] < 0 || sh[1] < 0 ||
        sh[2] < 0 || sh[0] + sh[1] + sh[2] <= 0) {
        fprintf(stderr, "pare schedule: --strategy sorted|buckets|decs|dapo, --batch-size > 0, "
                        "--shares E,M,H\n");
        return PARE_EUSAGE;
    }
    if (!plan) plan = strategy;
    if (job_open(&s.job, ctx, "schedule", 0, argc, argv, &s.st) != PARE_OK) {
        return PARE_EFAIL;
    }
    int from_rollouts = 0;
    int64_t dropped = 0, batches = 0, rows = 0;
    double *kappa = NULL;
    int64_t *steps = NULL;
    size_t n_steps = 0;
    if (store_begin(s.st) != PARE_OK) rc = store_fail(s.st, &s.err, "BEGIN");
    if (rc == PARE_OK) rc = difficulty(&s, method, &from_rollouts);
    if (rc == PARE_OK && s.n == 0) {
        sbuf_setf(&s.err, "no rollouts and no evidence sets: run pare score or pare mine first");
        rc = PARE_EUSAGE;
    }
    if (rc == PARE_OK) rc = store_difficulty(&s, from_rollouts);
    qsort(s.q, s.n, sizeof *s.q, cmp_q);
    if (rc == PARE_OK) {
        sqlite3_stmt *st = store_stmt(s.st, "DELETE FROM schedule WHERE plan = ?1");
        if (!st || sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC) || store_done(s.st, st))
            rc = store_fail(s.st, &s.err, "replacing the plan");
    }
    if (rc == PARE_OK && strat == 3) rc = dapo(&s, scheme, &dropped);
    if (rc == PARE_OK && strat == 2) {
        if (!from_rollouts) {
            sbuf_setf(&s.err, "decs needs rollouts with steps: run pare score first");
            rc = PARE_EUSAGE;
        } else {
            rc = decs_steps(&s, beta, &kappa, &steps, &n_steps);
        }
    }
    if (rc == PARE_OK && (strat == 0 || strat == 3)) {
        int64_t pos = 0;
        for (size_t i = 0; i < s.n && rc == PARE_OK; i++) {
            if (s.q[i].dropped) continue;
            rc = put(&s, plan, pos / bsize + 1, pos % bsize, s.q[i].qid);
            pos++;
        }
        rows = pos;
        batches = (pos + bsize - 1) / bsize;
    } else if (rc == PARE_OK && strat == 1) {
        size_t next[3] = {0, 0, 0}, left[3] = {0, 0, 0};
        for (size_t i = 0; i < s.n; i++) left[s.q[i].bucket]++;
        double tot = sh[0] + sh[1] + sh[2];
        while (rc == PARE_OK && left[0] + left[1] + left[2] > 0) {
            batches++;
            int64_t pos = 0;
            for (int b = 0; b < 3 && rc == PARE_OK; b++) { /* each bucket's share, then top up */
                int64_t want = (int64_t)floor(sh[b] / tot * (double)bsize + 0.5);
                for (size_t i = next[b]; i < s.n && want > 0 && pos < bsize && rc == PARE_OK; i++) {
                    next[b] = i + 1;
                    if (s.q[i].bucket != b) continue;
                    rc = put(&s, plan, batches, pos++, s.q[i].qid);
                    left[b]--;
                    want--;
                }
            }
            for (int b = 0; b < 3 && rc == PARE_OK; b++) {
                for (size_t i = next[b]; i < s.n && pos < bsize && rc == PARE_OK; i++) {
                    next[b] = i + 1;
                    if (s.q[i].bucket != b) continue;
                    rc = put(&s, plan, batches, pos++, s.q[i].qid);
                    left[b]--;
                }
            }
            rows += pos;
        }
    } else if (rc == PARE_OK && strat == 2) {
        size_t ne = 0, e = 0; /* cursors into the non-easy and the easy prompts (sorted order) */
        size_t m = 0;
        while (rc == PARE_OK) {
            while (ne < s.n && s.q[ne].bucket == 0) ne++;
            if (ne >= s.n) break;
            double k = n_steps ? kappa[m < n_steps ? m : n_steps - 1] : 0;
            batches++;
            int64_t pos = 0, kept = 0;
            while (ne < s.n && kept < bsize && rc == PARE_OK) {
                if (s.q[ne].bucket != 0) {
                    rc = put(&s, plan, batches, pos++, s.q[ne].qid);
                    kept++;
                }
                ne++;
            }
            int64_t add = k < 1 ? (int64_t)(k * (double)kept / (1.0 - k)) : 0;
            while (add > 0 && rc == PARE_OK) {
                while (e < s.n && s.q[e].bucket != 0) e++;
                if (e >= s.n) break;
                rc = put(&s, plan, batches, pos++, s.q[e++].qid);
                add--;
            }
            rows += pos;
            m++;
        }
    }
    if (rc == PARE_OK && store_commit(s.st) != PARE_OK) rc = store_fail(s.st, &s.err, "COMMIT");
    if (rc != PARE_OK) {
        store_rollback(s.st);
        fprintf(stderr, "pare schedule: %s\n", sbuf_str(&s.err));
    }
    int64_t nb[3] = {0, 0, 0};
    for (size_t i = 0; i < s.n; i++) nb[s.q[i].bucket]++;
    json_t *kj = json_array();
    for (size_t i = 0; i < n_steps; i++)
        json_array_append_new(
            kj, json_pack("{s:I, s:f}", "step", (json_int_t)steps[i], "kappa", kappa[i]));
    json_t *sum = json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:I, s:I, s:I, s:o}", "plan", plan,
                            "strategy", strategy, "difficulty_from",
                            from_rollouts ? "rollouts" : "evidence_set", "buckets", "easy",
                            (json_int_t)nb[0], "medium", (json_int_t)nb[1], "hard",
                            (json_int_t)nb[2], "batches", (json_int_t)batches, "prompts",
                            (json_int_t)rows, "dropped", (json_int_t)dropped, "kappa", kj);
    if (rc == PARE_OK) {
        job_say(&s.job,
                "schedule %s: %lld prompts in %lld batches (easy %lld, medium %lld, hard "
                "%lld by %s%s)",
                plan, (long long)rows, (long long)batches, (long long)nb[0], (long long)nb[1],
                (long long)nb[2], from_rollouts ? "rollouts" : "evidence sets",
                strat == 3 ? "; dapo dropped the all-equal groups" : "");
        if (json_out && sum) {
            json_dumpf(sum, stdout, JSON_COMPACT);
            printf("\n");
        }
    }
    rc = job_end(&s.job, rc, rows, dropped, rc == PARE_OK ? NULL : sbuf_str(&s.err), sum);
    free(kappa);
    free(steps);
    free(s.q);
    sbuf_free(&s.err);
    store_close(s.st);
    return rc;
}
