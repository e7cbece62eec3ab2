/*
 * report_train.c - the training-side figures of `pare report` (see report.h): negatives by
 * kind, rewards per scheme and policy, difficulty buckets, the batches of each curriculum plan,
 * the calls, tokens and errors of every judge, and the example questions chosen while the
 * mined sets were measured (report.c).
 */
#include "pipeline/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/reward.h"

/* The index of dataset id in r->datasets, or -1. */
static int ds_index(const struct report *r, int64_t id)
{
    for (int i = 0; i < r->n_datasets; i++)
        if (r->datasets[i].id == id) return i;
    return -1;
}

static int cmp_negative(const void *a, const void *b)
{
    const struct report_negative *x = a, *y = b;
    int c = x->ds - y->ds;
    if (!c) c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->label, y->label);
}

/* The count of dataset ds, kind and label in r->negatives, added when new. */
static struct report_negative *negative_of(struct report *r, size_t *cap, int ds, const char *kind,
                                           const char *label)
{
    for (int i = r->n_negatives - 1; i >= 0; i--) {
        struct report_negative *n = &r->negatives[i];
        if (n->ds == ds && strcmp(n->kind, kind) == 0 && strcmp(n->label, label) == 0) return n;
    }
    xgrow((void **)&r->negatives, cap, (size_t)r->n_negatives + 1, sizeof *r->negatives);
    struct report_negative *n = &r->negatives[r->n_negatives++];
    *n = (struct report_negative){ds, xstrdup(kind), xstrdup(label), 0, 0};
    return n;
}

/* Negatives by dataset, kind and label, counted in one pass (no sort of the table). */
int report_negatives(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT question_id, kind, label, verified != 0 "
                                        "FROM negatives");
    if (!s) return store_fail(g->st, g->err, "reading negatives");
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t q = sqlite3_column_int64(s, 0);
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        const char *label = (const char *)sqlite3_column_text(s, 2);
        if (q < 0 || q > g->max_qid || g->q_ds[q] < 0 || !kind || !label) continue;
        struct report_negative *n = negative_of(r, &cap, g->q_ds[q], kind, label);
        n->count++;
        n->verified += sqlite3_column_int(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(g->st, g->err, "reading negatives");
    if (r->n_negatives)
        qsort(r->negatives, (size_t)r->n_negatives, sizeof *r->negatives, cmp_negative);
    return PARE_OK;
}

/* ---- rewards ---- */

/* Every reward value of one (dataset, scheme, policy), kept until the scheme's range is known. */
struct rgroup {
    int ds, scheme, policy;
    double *v;
    size_t n, cap;
};

/* Dataset and policy of every trajectory id (ds -1: unknown). */
struct trajmap {
    int64_t max_id;
    int *ds, *policy;
};

static int load_trajectories(struct gather *g, struct trajmap *m)
{
    int64_t max_id = 0;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT coalesce(max(id), 0) FROM trajectories");
    if (!s || store_int(g->st, s, &max_id) < 0) return store_fail(g->st, g->err, "trajectories");
    if (report_dense(g, "trajectories", &max_id, g->r->trajectories) != PARE_OK) return PARE_EFAIL;
    m->max_id = max_id;
    m->ds = xmalloc(((size_t)max_id + 1) * sizeof *m->ds);
    m->policy = xcalloc((size_t)max_id + 1, sizeof *m->policy);
    for (int64_t i = 0; i <= max_id; i++) m->ds[i] = -1;
    s = store_stmt(g->st, "SELECT t.id, q.dataset_id, coalesce(t.policy, '(no policy)') "
                          "FROM trajectories t JOIN questions q ON q.id = t.question_id");
    if (!s) return store_fail(g->st, g->err, "reading trajectories");
    int rc, last = -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *pol = (const char *)sqlite3_column_text(s, 2);
        if (id < 0 || id > max_id || !pol) continue;
        m->ds[id] = ds_index(g->r, sqlite3_column_int64(s, 1));
        /* rows of one policy tend to come together: try the last one first */
        if (last < 0 || strcmp(g->r->policies[last], pol) != 0)
            last = report_intern(&g->r->policies, &g->r->n_policies, pol);
        m->policy[id] = last;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading trajectories");
}

static struct rgroup *rgroup_of(struct rgroup **gs, size_t *n, size_t *cap, int ds, int scheme,
                                int policy)
{
    for (size_t i = 0; i < *n; i++)
        if ((*gs)[i].ds == ds && (*gs)[i].scheme == scheme && (*gs)[i].policy == policy)
            return &(*gs)[i];
    xgrow((void **)gs, cap, *n + 1, sizeof **gs);
    struct rgroup *x = &(*gs)[(*n)++];
    memset(x, 0, sizeof *x);
    x->ds = ds;
    x->scheme = scheme;
    x->policy = policy;
    return x;
}

/* Reads every reward into its group. */
static int load_rewards(struct gather *g, const struct trajmap *m, struct rgroup **gs, size_t *n)
{
    sqlite3_stmt *s = store_stmt(g->st, "SELECT trajectory_id, scheme, value FROM rewards");
    if (!s) return store_fail(g->st, g->err, "reading rewards");
    size_t cap = 0;
    int rc;
    struct rgroup *last = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(s, 0);
        const char *scheme = (const char *)sqlite3_column_text(s, 1);
        double v = sqlite3_column_double(s, 2);
        if (t < 0 || t > m->max_id || m->ds[t] < 0 || !scheme || !isfinite(v)) continue;
        /* schemes come round in the same order for every trajectory: try the next one first */
        int sc = last && g->r->n_schemes ? (last->scheme + 1) % g->r->n_schemes : 0;
        if (sc >= g->r->n_schemes || strcmp(g->r->schemes[sc], scheme) != 0)
            sc = report_intern(&g->r->schemes, &g->r->n_schemes, scheme);
        if (!last || last->ds != m->ds[t] || last->scheme != sc || last->policy != m->policy[t])
            last = rgroup_of(gs, n, &cap, m->ds[t], sc, m->policy[t]);
        xgrow((void **)&last->v, &last->cap, last->n + 1, sizeof *last->v);
        last->v[last->n++] = v;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading rewards");
}

/* Each scheme's range over all its groups, then each group's histogram on it. */
static void bin_rewards(struct report *r, struct rgroup *gs, size_t n)
{
    r->scheme_lo = xcalloc((size_t)r->n_schemes + 1, sizeof *r->scheme_lo);
    r->scheme_hi = xcalloc((size_t)r->n_schemes + 1, sizeof *r->scheme_hi);
    for (int sc = 0; sc < r->n_schemes; sc++) r->scheme_lo[sc] = INFINITY;
    for (int sc = 0; sc < r->n_schemes; sc++) r->scheme_hi[sc] = -INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < gs[i].n; k++) {
            r->scheme_lo[gs[i].scheme] = fmin(r->scheme_lo[gs[i].scheme], gs[i].v[k]);
            r->scheme_hi[gs[i].scheme] = fmax(r->scheme_hi[gs[i].scheme], gs[i].v[k]);
        }
    r->rewards = xcalloc(n + 1, sizeof *r->rewards);
    r->n_rewards = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct report_reward *w = &r->rewards[i];
        double lo = r->scheme_lo[gs[i].scheme], hi = r->scheme_hi[gs[i].scheme];
        double width = hi > lo ? (hi - lo) / REPORT_BINS : 1;
        *w = (struct report_reward){gs[i].ds, gs[i].scheme, gs[i].policy, (int64_t)gs[i].n,
                                    0,        INFINITY,     -INFINITY,    {0}};
        for (size_t k = 0; k < gs[i].n; k++) {
            double v = gs[i].v[k];
            int b = (int)floor((v - lo) / width);
            w->hist[b < 0 ? 0 : b >= REPORT_BINS ? REPORT_BINS - 1 : b]++;
            w->sum += v;
            w->min = fmin(w->min, v);
            w->max = fmax(w->max, v);
        }
    }
}

int report_rewards(struct gather *g)
{
    struct trajmap m = {0};
    struct rgroup *gs = NULL;
    size_t n = 0;
    int rc = load_trajectories(g, &m);
    if (rc == PARE_OK) rc = load_rewards(g, &m, &gs, &n);
    if (rc == PARE_OK) bin_rewards(g->r, gs, n);
    for (size_t i = 0; i < n; i++) free(gs[i].v);
    free(gs);
    free(m.ds);
    free(m.policy);
    return rc;
}

/* ---- difficulty and curricula ---- */

/* 0 easy, 1 medium, 2 hard (schedule's bucket_names), 3 anything else or not rated. */
static int bucket_index(const char *b)
{
    for (int i = 0; b && i < 3; i++)
        if (strcmp(b, bucket_names[i]) == 0) return i;
    return 3;
}

int report_difficulty(struct gather *g)
{
    struct report *r = g->r;
    r->difficulty = xcalloc((size_t)r->n_datasets + 1, sizeof *r->difficulty);
    sqlite3_stmt *s =
        store_stmt(g->st, "SELECT q.dataset_id, d.bucket, d.pass_rate, d.source "
                          "FROM difficulty d JOIN questions q ON q.id = d.question_id");
    if (!s) return store_fail(g->st, g->err, "reading difficulty");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int ds = ds_index(r, sqlite3_column_int64(s, 0));
        if (ds < 0) continue;
        struct report_difficulty *d = &r->difficulty[ds];
        d->bucket[bucket_index((const char *)sqlite3_column_text(s, 1))]++;
        if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
            double p = sqlite3_column_double(s, 2);
            int b = isfinite(p) ? (int)floor(p * 10) : 0;
            d->pass_hist[b < 0 ? 0 : b > 9 ? 9 : b]++;
            d->with_rollouts++;
        }
        const char *src = (const char *)sqlite3_column_text(s, 3);
        if (!r->difficulty_source)
            r->difficulty_source = xstrdup(src ? src : "");
        else if (strcmp(r->difficulty_source, src ? src : "") != 0) {
            free(r->difficulty_source);
            r->difficulty_source = xstrdup("mixed");
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading difficulty");
}

int report_curricula(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(
        g->st, "SELECT s.plan, s.epoch, s.batch, d.bucket, count(*) FROM schedule s "
               "LEFT JOIN difficulty d ON d.question_id = s.question_id "
               "GROUP BY s.plan, s.epoch, s.batch, d.bucket ORDER BY s.plan, s.epoch, s.batch");
    if (!s) return store_fail(g->st, g->err, "reading the schedule");
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *plan = (const char *)sqlite3_column_text(s, 0);
        int p = report_intern(&r->plans, &r->n_plans, plan ? plan : "");
        int64_t epoch = sqlite3_column_int64(s, 1), batch = sqlite3_column_int64(s, 2);
        struct report_batch *b = r->n_batches ? &r->batches[r->n_batches - 1] : NULL;
        if (!b || b->plan != p || b->epoch != epoch || b->batch != batch) {
            xgrow((void **)&r->batches, &cap, (size_t)r->n_batches + 1, sizeof *r->batches);
            b = &r->batches[r->n_batches++];
            *b = (struct report_batch){p, epoch, batch, {0}};
        }
        b->bucket[bucket_index((const char *)sqlite3_column_text(s, 3))] +=
            sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading the schedule");
}

/* ---- judges ---- */

static int cmp_judge(const void *a, const void *b)
{
    return strcmp(((const struct report_judge *)a)->judge, ((const struct report_judge *)b)->judge);
}

static int judge_index(const struct report *r, const char *judge)
{
    for (int i = 0; judge && i < r->n_judges; i++)
        if (strcmp(r->judges[i].judge, judge) == 0) return i;
    return -1;
}

/* The judge of name, added when new. */
static struct report_judge *judge_of(struct report *r, size_t *cap, const char *name, int *last)
{
    if (*last >= 0 && strcmp(r->judges[*last].judge, name) == 0) return &r->judges[*last];
    *last = judge_index(r, name);
    if (*last >= 0) return &r->judges[*last];
    xgrow((void **)&r->judges, cap, (size_t)r->n_judges + 1, sizeof *r->judges);
    struct report_judge *j = &r->judges[r->n_judges];
    memset(j, 0, sizeof *j);
    j->judge = xstrdup(name);
    *last = r->n_judges++;
    return j;
}

/* One call: its outcome, latency (log2 buckets of ms) and tokens when counted. */
static void judge_call(struct report_judge *j, sqlite3_stmt *s)
{
    j->calls++;
    if (sqlite3_column_type(s, 1) != SQLITE_NULL)
        sqlite3_column_int(s, 1) ? j->sufficient++ : j->insufficient++;
    else
        sqlite3_column_int(s, 2) ? j->errors++ : j->pending++;
    int64_t ms = sqlite3_column_int64(s, 3);
    if (ms > 0) {
        int b = 0;
        while (b < REPORT_BINS - 1 && (ms >> (b + 1)) > 0) b++;
        j->latency_hist[b]++;
        j->latency_n++;
        j->latency_ms_sum += ms;
        if (ms > j->latency_ms_max) j->latency_ms_max = ms;
    }
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
        j->tokens_n++;
        j->prompt_tokens += sqlite3_column_int64(s, 4);
        j->completion_tokens += sqlite3_column_int64(s, 5);
    }
}

/* Every judge call in one pass; judges in name order. */
static int judge_calls(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(
        g->st, r->has_token_columns
                   ? "SELECT judge, verdict, error IS NOT NULL, latency_ms, prompt_tokens, "
                     "completion_tokens FROM judge_calls"
                   : "SELECT judge, verdict, error IS NOT NULL, latency_ms, NULL, NULL "
                     "FROM judge_calls");
    if (!s) return store_fail(g->st, g->err, "reading judge calls");
    int rc, last = -1;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        if (name) judge_call(judge_of(r, &cap, name, &last), s);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(g->st, g->err, "reading judge calls");
    if (r->n_judges) qsort(r->judges, (size_t)r->n_judges, sizeof *r->judges, cmp_judge);
    return PARE_OK;
}

static int judge_errors(struct gather *g)
{
    sqlite3_stmt *s = store_stmt(g->st, "SELECT judge, substr(error, 1, 300), count(*) FROM "
                                        "judge_calls WHERE verdict IS NULL AND error IS NOT NULL "
                                        "GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2");
    if (!s) return store_fail(g->st, g->err, "reading judge errors");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int j = judge_index(g->r, (const char *)sqlite3_column_text(s, 0));
        if (j < 0) continue;
        struct report_judge *x = &g->r->judges[j];
        if (x->n_top_errors >= (int)ARRAY_SIZE(x->top_errors)) continue;
        x->top_errors[x->n_top_errors].text = report_col_dup(s, 1);
        x->top_errors[x->n_top_errors++].count = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading judge errors");
}

int report_judges(struct gather *g)
{
    int rc = judge_calls(g);
    int64_t errors = 0;
    for (int i = 0; i < g->r->n_judges; i++) errors += g->r->judges[i].errors;
    if (rc == PARE_OK && errors) rc = judge_errors(g); /* a full scan: only when worth it */
    return rc;
}

/* ---- examples ---- */

#define EXAMPLE_TOP 10    /* candidates listed by rank; lower ones only when marked */
#define EXAMPLE_TEXT 1200 /* bytes of passage text kept (the page shows less) */

/* Appends a passage row to x (rank 0: not among the listed candidates). */
static struct report_example_passage *add_passage(struct report_example *x, size_t *cap,
                                                  int64_t rank, int64_t pid, double score)
{
    xgrow((void **)&x->passages, cap, (size_t)x->n_passages + 1, sizeof *x->passages);
    struct report_example_passage *p = &x->passages[x->n_passages++];
    memset(p, 0, sizeof *p);
    p->rank = rank;
    p->passage_id = pid;
    p->score = score;
    return p;
}

static struct report_example_passage *find_passage(struct report_example *x, int64_t pid)
{
    for (int i = 0; i < x->n_passages; i++)
        if (x->passages[i].passage_id == pid) return &x->passages[i];
    return NULL;
}

/* The run index of each member of the question's sets, marked on x's passages (added if new). */
static int mark_members(struct gather *g, struct report_example *x, size_t *cap)
{
    sqlite3_stmt *s = store_stmt(
        g->st, g->r->has_prior_columns
                   ? "SELECT e.judge, e.method, coalesce(e.prior, ''), m.passage_id FROM "
                     "evidence_sets e JOIN evidence_members m ON m.set_id = e.id WHERE "
                     "e.question_id = ?1 AND e.status = 'minimal' ORDER BY m.rank"
                   : "SELECT e.judge, e.method, '', m.passage_id FROM evidence_sets e JOIN "
                     "evidence_members m ON m.set_id = e.id WHERE e.question_id = ?1 AND "
                     "e.status = 'minimal' ORDER BY m.rank");
    if (!s || sqlite3_bind_int64(s, 1, x->question_id)) return PARE_EFAIL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int u = 0; u < g->r->n_runs && u < 64; u++) {
            const struct report_run *run = &g->r->runs[u];
            if (strcmp(run->judge, (const char *)sqlite3_column_text(s, 0)) != 0 ||
                strcmp(run->method, (const char *)sqlite3_column_text(s, 1)) != 0 ||
                strcmp(run->prior, (const char *)sqlite3_column_text(s, 2)) != 0)
                continue;
            int64_t pid = sqlite3_column_int64(s, 3);
            struct report_example_passage *p = find_passage(x, pid);
            if (!p) p = add_passage(x, cap, 0, pid, 0);
            p->in_runs |= 1ull << u;
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

/* The question's own passages in their order: an example without candidates. */
static int list_context(struct gather *g, struct report_example *x, size_t *cap)
{
    const int64_t *gold = g->gold.ids + g->gold.off[x->question_id];
    int64_t ng = g->gold.off[x->question_id + 1] - g->gold.off[x->question_id];
    sqlite3_stmt *s = store_stmt(g->st, "SELECT position, passage_id FROM question_passages "
                                        "WHERE question_id = ?1 ORDER BY position");
    if (!s || sqlite3_bind_int64(s, 1, x->question_id)) return PARE_EFAIL;
    x->retrieval = 0;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(s, 1);
        int is_gold = report_has_id(gold, ng, pid);
        if ((++n <= EXAMPLE_TOP || is_gold) && !find_passage(x, pid))
            add_passage(x, cap, n, pid, NAN)->is_gold = is_gold;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

/* The candidates (or, without any, the question's own context) of example x. */
static int list_candidates(struct gather *g, struct report_example *x, size_t *cap)
{
    const int64_t *gold = g->gold.ids + g->gold.off[x->question_id];
    int64_t ng = g->gold.off[x->question_id + 1] - g->gold.off[x->question_id];
    sqlite3_stmt *s = store_stmt(g->st, "SELECT rank, passage_id, score FROM candidates WHERE "
                                        "retrieval_id = ?1 AND question_id = ?2 ORDER BY rank");
    if (!s || sqlite3_bind_int64(s, 1, x->retrieval) || sqlite3_bind_int64(s, 2, x->question_id))
        return PARE_EFAIL;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        n++;
        int64_t rank = sqlite3_column_int64(s, 0), pid = sqlite3_column_int64(s, 1);
        int is_gold = report_has_id(gold, ng, pid);
        if ((rank <= EXAMPLE_TOP || is_gold) && !find_passage(x, pid))
            add_passage(x, cap, rank, pid, sqlite3_column_double(s, 2))->is_gold = is_gold;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return PARE_EFAIL;
    if (n == 0 && list_context(g, x, cap) != PARE_OK) return PARE_EFAIL;
    for (int64_t i = 0; i < ng; i++) { /* gold passages that were not retrieved */
        struct report_example_passage *p = find_passage(x, gold[i]);
        if (!p) p = add_passage(x, cap, 0, gold[i], 0);
        p->is_gold = 1;
    }
    return PARE_OK;
}

/* Title and the start of the text of every passage of x. */
static int load_texts(struct gather *g, struct blob_codec *codec, struct report_example *x)
{
    struct sbuf title = {0}, text = {0};
    int rc = PARE_OK;
    for (int i = 0; i < x->n_passages && rc == PARE_OK; i++) {
        rc = store_text(g->st, codec, x->passages[i].passage_id, &title, &text, g->err);
        if (rc != PARE_OK) break;
        size_t n = text.len;
        if (n > EXAMPLE_TEXT) { /* cut on a character boundary */
            n = EXAMPLE_TEXT;
            while (n > 0 && ((unsigned char)text.p[n] & 0xc0) == 0x80) n--;
        }
        x->passages[i].title = xstrdup(sbuf_str(&title));
        x->passages[i].text = xstrndup(sbuf_str(&text), n);
    }
    sbuf_free(&title);
    sbuf_free(&text);
    return rc;
}

/* Fills example x (question, dataset and run set) with its question and passages. */
static int load_example(struct gather *g, struct blob_codec *codec, struct report_example *x)
{
    sqlite3_stmt *s = store_stmt(g->st, "SELECT ext_id, question, answers, coalesce(qtype, '') "
                                        "FROM questions WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, x->question_id) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(g->st, g->err, "reading an example question");
    }
    x->ext_id = report_col_dup(s, 0);
    x->question = report_col_dup(s, 1);
    x->answers = report_col_dup(s, 2);
    x->qtype = report_col_dup(s, 3);
    sqlite3_reset(s);
    size_t cap = 0;
    x->retrieval = g->r->runs[x->run].retrieval;
    if (list_candidates(g, x, &cap) != PARE_OK || mark_members(g, x, &cap) != PARE_OK)
        return store_fail(g->st, g->err, "reading an example's passages");
    return load_texts(g, codec, x);
}

/* The questions chosen for one dataset, with why. */
struct chosen {
    int64_t q[20];
    double f1[20];
    const char *why[20], *status[20];
    int n, max;
};

static void take(struct chosen *c, int64_t q, double f1, const char *why, const char *status)
{
    if (!q || c->n >= c->max) return;
    c->q[c->n] = q;
    c->f1[c->n] = f1;
    c->why[c->n] = why;
    c->status[c->n++] = status;
}

/* The questions to show for a dataset, in the order agree, worst, full, others. */
static void choose(const struct report_picks *p, struct chosen *c)
{
    take(c, p->agree_q, p->f1_agree, "the mined set equals the gold set", "minimal");
    take(c, p->worst_q, p->worst_f1, "the mined set differs most from gold", "minimal");
    take(c, p->full_q, -1.0, "no subset of the candidates was sufficient", "full_insufficient");
    for (int i = 0; i < p->n_other; i++)
        take(c, p->other_q[i], p->f1_other[i], "another question", "minimal");
}

int report_examples(struct gather *g)
{
    struct report *r = g->r;
    int max = g->opts->examples < 0 ? 0 : g->opts->examples > 20 ? 20 : g->opts->examples;
    struct blob_codec *codec = store_codec(g->st);
    size_t cap = 0;
    int rc = PARE_OK;
    for (int d = 0; d < r->n_datasets && rc == PARE_OK && max > 0; d++) {
        if (g->picks[d].run < 0) continue;
        struct chosen c = {.n = 0, .max = max};
        choose(&g->picks[d], &c);
        for (int i = 0; i < c.n && rc == PARE_OK; i++) {
            xgrow((void **)&r->examples, &cap, (size_t)r->n_examples + 1, sizeof *r->examples);
            struct report_example *x = &r->examples[r->n_examples++];
            memset(x, 0, sizeof *x);
            x->ds = d;
            x->question_id = c.q[i];
            x->run = g->picks[d].run;
            x->f1 = c.f1[i];
            x->why = c.why[i];
            x->status = c.status[i];
            rc = load_example(g, codec, x);
        }
    }
    blob_codec_free(codec);
    return rc;
}
