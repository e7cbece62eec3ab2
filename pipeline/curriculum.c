/* curriculum.c - see curriculum.h. */
#include "pipeline/curriculum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/reward.h"

static const char *const strategy_names[] = {"sorted", "buckets", "decs", "dapo"};

int curriculum_strategy_from_name(const char *name, enum curriculum_strategy *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(strategy_names); i++) {
        if (strcmp(name, strategy_names[i]) == 0) {
            *out = (enum curriculum_strategy)i;
            return 0;
        }
    }
    return -1;
}

struct cur_prompt curriculum_from_rollouts(int64_t qid, int n, int64_t correct)
{
    struct cur_prompt p = {0};
    p.qid = qid;
    p.n = n;
    p.pass = (double)correct / n;
    p.bucket = difficulty_bucket(p.pass);
    p.score = 1.0 - p.pass;
    return p;
}

struct cur_prompt curriculum_from_set(int64_t qid, int size, int judge_calls)
{
    struct cur_prompt p = {0};
    p.qid = qid;
    p.score = size + 0.01 * judge_calls;
    p.bucket = size <= 2 ? 0 : size == 3 ? 1 : 2;
    p.pass = -1;
    return p;
}

static int cmp_prompt(const void *a, const void *b)
{
    const struct cur_prompt *x = a, *y = b;
    if (x->bucket != y->bucket) return x->bucket - y->bucket;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->qid < y->qid ? -1 : x->qid > y->qid;
}

void curriculum_sort(struct cur_prompt *p, size_t n)
{
    if (n) qsort(p, n, sizeof *p, cmp_prompt);
}

int dapo_all_equal(double lo, double hi)
{
    return fabs(hi - lo) < 1e-12;
}

void decs_kappa(const double *R, const double *kappa0, size_t n, double beta, double *kappa)
{
    double k = 0.0, prev = 0.5;
    for (size_t m = 0; m < n; m++) {
        k = k + beta * (R[m] - prev);
        if (k < 0) k = 0;
        if (k > kappa0[m]) k = kappa0[m];
        kappa[m] = k;
        prev = R[m];
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The question ids of the easy prompts, sorted for bsearch. */
static int64_t *easy_ids(const struct cur_prompt *p, size_t np, size_t *n)
{
    int64_t *ids = xmalloc(sizeof *ids * (np + 1));
    *n = 0;
    for (size_t i = 0; i < np; i++)
        if (p[i].bucket == 0) ids[(*n)++] = p[i].qid;
    if (*n) qsort(ids, *n, sizeof *ids, cmp_i64);
    return ids;
}

size_t curriculum_decs_steps(const struct cur_rollout *r, size_t n, const struct cur_prompt *p,
                             size_t np, double beta, struct cur_step **out)
{
    size_t n_easy, n_steps = 0, cap = 0;
    int64_t *easy = easy_ids(p, np, &n_easy);
    struct cur_step *s = NULL;
    for (size_t i = 0; i < n;) { /* one step: rows i .. e */
        double psum = 0;
        int pn = 0, n_easy_prompts = 0, prompts = 0;
        size_t e = i;
        for (; e < n && r[e].step == r[i].step; e++) {
            if (e == i || r[e].qid != r[e - 1].qid) { /* a prompt of this step */
                prompts++;
                n_easy_prompts +=
                    n_easy && bsearch(&r[e].qid, easy, n_easy, sizeof *easy, cmp_i64) != NULL;
            }
            if (r[e].correct) {
                psum += r[e].prefix;
                pn++;
            }
        }
        xgrow((void **)&s, &cap, n_steps + 1, sizeof *s);
        s[n_steps].step = r[i].step;
        s[n_steps].R = pn ? psum / pn : 0.5;
        s[n_steps].kappa0 = (double)n_easy_prompts / prompts;
        n_steps++;
        i = e;
    }
    free(easy);
    double *R = xcalloc(n_steps + 1, sizeof *R), *k0 = xcalloc(n_steps + 1, sizeof *k0);
    double *k = xcalloc(n_steps + 1, sizeof *k);
    for (size_t m = 0; m < n_steps; m++) {
        R[m] = s[m].R;
        k0[m] = s[m].kappa0;
    }
    decs_kappa(R, k0, n_steps, beta, k);
    for (size_t m = 0; m < n_steps; m++) s[m].kappa = k[m];
    free(R);
    free(k0);
    free(k);
    *out = s;
    return n_steps;
}

static void add_row(struct cur_plan *pl, int64_t batch, int64_t pos, int64_t qid)
{
    xgrow((void **)&pl->rows, &pl->cap, pl->n + 1, sizeof *pl->rows);
    pl->rows[pl->n++] = (struct cur_row){batch, pos, qid};
}

/* sorted and dapo: the kept prompts in order, cut into batches. */
static void plan_sorted(const struct cur_prompt *p, size_t n, int64_t bsize, struct cur_plan *out)
{
    int64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].dropped) continue;
        add_row(out, pos / bsize + 1, pos % bsize, p[i].qid);
        pos++;
    }
    out->batches += (pos + bsize - 1) / bsize;
}

/*
 * buckets: each batch takes its share of every bucket (rounded), then tops up from the buckets
 * in order. next[b] is the first prompt not yet looked at for bucket b.
 */
static void plan_buckets(const struct cur_prompt *p, size_t n, const struct cur_params *pa,
                         struct cur_plan *out)
{
    size_t next[3] = {0, 0, 0}, left[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) left[p[i].bucket]++;
    double tot = pa->shares[0] + pa->shares[1] + pa->shares[2];
    int64_t bsize = pa->batch_size;
    while (left[0] + left[1] + left[2] > 0) {
        int64_t batch = ++out->batches, pos = 0;
        for (int b = 0; b < 3; b++) { /* each bucket's share */
            int64_t want = (int64_t)floor(pa->shares[b] / tot * (double)bsize + 0.5);
            for (size_t i = next[b]; i < n && want > 0 && pos < bsize; i++) {
                next[b] = i + 1;
                if (p[i].bucket != b) continue;
                add_row(out, batch, pos++, p[i].qid);
                left[b]--;
                want--;
            }
        }
        for (int b = 0; b < 3; b++) { /* then top up */
            for (size_t i = next[b]; i < n && pos < bsize; i++) {
                next[b] = i + 1;
                if (p[i].bucket != b) continue;
                add_row(out, batch, pos++, p[i].qid);
                left[b]--;
            }
        }
    }
}

/* decs: batch m holds up to batch_size non-easy prompts, then int(k kept / (1 - k)) easy ones
 * with k the kappa of step m (the last step's for later batches, 0 without steps). */
static void plan_decs(const struct cur_prompt *p, size_t n, const struct cur_params *pa,
                      struct cur_plan *out)
{
    size_t ne = 0, e = 0; /* cursors into the non-easy and the easy prompts */
    for (size_t m = 0;; m++) {
        while (ne < n && p[ne].bucket == 0) ne++;
        if (ne >= n) break;
        double k = 0;
        if (pa->n_steps) k = pa->steps[m < pa->n_steps ? m : pa->n_steps - 1].kappa;
        int64_t batch = ++out->batches, pos = 0, kept = 0;
        for (; ne < n && kept < pa->batch_size; ne++) {
            if (p[ne].bucket == 0) continue;
            add_row(out, batch, pos++, p[ne].qid);
            kept++;
        }
        int64_t add = k < 1 ? (int64_t)(k * (double)kept / (1.0 - k)) : 0;
        for (; add > 0; add--) {
            while (e < n && p[e].bucket != 0) e++;
            if (e >= n) break;
            add_row(out, batch, pos++, p[e++].qid);
        }
    }
}

void curriculum_plan(enum curriculum_strategy strategy, const struct cur_prompt *p, size_t n,
                     const struct cur_params *params, struct cur_plan *out)
{
    switch (strategy) {
    case CUR_SORTED:
    case CUR_DAPO:
        plan_sorted(p, n, params->batch_size, out);
        break;
    case CUR_BUCKETS:
        plan_buckets(p, n, params, out);
        break;
    case CUR_DECS:
        plan_decs(p, n, params, out);
        break;
    }
}

void cur_plan_free(struct cur_plan *pl)
{
    free(pl->rows);
    memset(pl, 0, sizeof *pl);
}

/* ---- the store ---- */

/*
 * What a scored trajectory measured (its components) as a table (trajectory_id, components):
 * its trajectory_rewards row (schemas/004), else, for a trajectory whose rewards are all kept
 * whole in rewards_extra, the first of them.
 */
#define TRAJ_COMPONENTS                                                                            \
    "(SELECT trajectory_id, components FROM trajectory_rewards UNION ALL SELECT e.trajectory_id, " \
    "e.components FROM rewards_extra e WHERE e.rowid = (SELECT min(x.rowid) FROM rewards_extra x " \
    "WHERE x.trajectory_id = e.trajectory_id) AND NOT EXISTS (SELECT 1 FROM trajectory_rewards r " \
    "WHERE r.trajectory_id = e.trajectory_id))"

/* Appends one prompt to *p. */
static void push(struct cur_prompt **p, size_t *n, size_t *cap, struct cur_prompt x)
{
    xgrow((void **)p, cap, *n + 1, sizeof **p);
    (*p)[(*n)++] = x;
}

static int load_rollouts(struct store *st, struct cur_prompt **p, size_t *n, size_t *cap,
                         struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(
        st, "SELECT t.question_id, count(*), sum(json_extract(r.components, '$.correct')) "
            "FROM trajectories t JOIN " TRAJ_COMPONENTS " r ON r.trajectory_id = t.id "
            "GROUP BY t.question_id ORDER BY t.question_id");
    if (!s) return store_fail(st, err, "reading rollouts");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        push(p, n, cap,
             curriculum_from_rollouts(sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1),
                                      sqlite3_column_int64(s, 2)));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(st, err, "reading rollouts");
}

static int load_sets(struct store *st, const char *method, struct cur_prompt **p, size_t *n,
                     size_t *cap, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT question_id, max(CASE WHEN status = 'minimal' THEN "
                                     "size ELSE 99 END), max(judge_calls) FROM evidence_sets "
                                     "WHERE method = ?1 GROUP BY question_id ORDER BY question_id");
    if (!s || sqlite3_bind_text(s, 1, method, -1, SQLITE_STATIC))
        return store_fail(st, err, "reading evidence sets");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        push(p, n, cap,
             curriculum_from_set(sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1),
                                 sqlite3_column_int(s, 2)));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(st, err, "reading evidence sets");
}

int curriculum_load(struct store *st, const char *method, struct cur_prompt **p, size_t *n,
                    int *from_rollouts, struct sbuf *err)
{
    size_t cap = 0;
    *p = NULL;
    *n = 0;
    *from_rollouts = 0;
    int rc = load_rollouts(st, p, n, &cap, err);
    if (rc != PARE_OK) return rc;
    *from_rollouts = *n > 0;
    if (*n) return PARE_OK;
    return load_sets(st, method, p, n, &cap, err);
}

int curriculum_store_difficulty(struct store *st, const struct cur_prompt *p, size_t n,
                                int from_rollouts, struct sbuf *err)
{
    const char *source = from_rollouts ? "rollouts" : "evidence_set";
    for (size_t i = 0; i < n; i++) {
        const struct cur_prompt *d = &p[i];
        sqlite3_stmt *s = store_stmt(st, "INSERT INTO difficulty(question_id, pass_rate, "
                                         "n_rollouts, bucket, score, source) VALUES (?1, ?2, ?3, "
                                         "?4, ?5, ?6) ON CONFLICT(question_id) DO UPDATE SET "
                                         "pass_rate = excluded.pass_rate, n_rollouts = "
                                         "excluded.n_rollouts, bucket = excluded.bucket, "
                                         "score = excluded.score, source = excluded.source");
        if (!s || sqlite3_bind_int64(s, 1, d->qid) ||
            (d->pass >= 0 ? sqlite3_bind_double(s, 2, d->pass) : sqlite3_bind_null(s, 2)) ||
            sqlite3_bind_int(s, 3, d->n) ||
            sqlite3_bind_text(s, 4, bucket_names[d->bucket], -1, SQLITE_STATIC) ||
            sqlite3_bind_double(s, 5, d->score) ||
            sqlite3_bind_text(s, 6, source, -1, SQLITE_STATIC) || store_done(st, s))
            return store_fail(st, err, "storing difficulty");
    }
    return PARE_OK;
}

int curriculum_dapo(struct store *st, const char *scheme, struct cur_prompt *p, size_t n,
                    int64_t *dropped, struct sbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s = store_stmt(st, "SELECT count(*), min(r.value), max(r.value) FROM "
                                         "trajectories t JOIN rewards r ON r.trajectory_id = "
                                         "t.id AND r.scheme = ?2 WHERE t.question_id = ?1");
        if (!s || sqlite3_bind_int64(s, 1, p[i].qid) ||
            sqlite3_bind_text(s, 2, scheme, -1, SQLITE_STATIC) || sqlite3_step(s) != SQLITE_ROW) {
            if (s) sqlite3_reset(s);
            return store_fail(st, err, "reading rewards");
        }
        int count = sqlite3_column_int(s, 0);
        double lo = sqlite3_column_double(s, 1), hi = sqlite3_column_double(s, 2);
        sqlite3_reset(s);
        if (count == 0) {
            sbuf_setf(err, "no '%s' rewards: run pare score with that scheme first", scheme);
            return PARE_EFAIL;
        }
        if (dapo_all_equal(lo, hi)) {
            p[i].dropped = 1;
            (*dropped)++;
        }
    }
    return PARE_OK;
}

int curriculum_load_decs(struct store *st, const struct cur_prompt *p, size_t np, double beta,
                         struct cur_step **steps, size_t *n_steps, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(
        st,
        "SELECT t.step, t.question_id, json_extract(r.components, '$.correct'), "
        "json_extract(r.components, '$.prefix_fraction') FROM trajectories t JOIN " TRAJ_COMPONENTS
        " r ON r.trajectory_id = t.id WHERE t.step IS NOT NULL "
        "ORDER BY t.step, t.question_id");
    *steps = NULL;
    *n_steps = 0;
    if (!s) return store_fail(st, err, "reading rollouts");
    struct cur_rollout *r = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&r, &cap, n + 1, sizeof *r);
        r[n++] = (struct cur_rollout){sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                                      sqlite3_column_int(s, 2), sqlite3_column_double(s, 3)};
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) *n_steps = curriculum_decs_steps(r, n, p, np, beta, steps);
    free(r);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(st, err, "reading rollouts");
}

int curriculum_store_plan(struct store *st, const char *name, const struct cur_plan *pl,
                          struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM schedule WHERE plan = ?1");
    if (!s || sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) || store_done(st, s))
        return store_fail(st, err, "replacing the plan");
    for (size_t i = 0; i < pl->n; i++) {
        const struct cur_row *w = &pl->rows[i];
        s = store_stmt(st, "INSERT INTO schedule(plan, epoch, batch, position, question_id) "
                           "VALUES (?1, 1, ?2, ?3, ?4)");
        if (!s || sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 2, w->batch) || sqlite3_bind_int64(s, 3, w->position) ||
            sqlite3_bind_int64(s, 4, w->qid) || store_done(st, s))
            return store_fail(st, err, "storing the schedule");
    }
    return PARE_OK;
}
