/*
 * report.c - gathering the figures of `pare report` (see report.h): the overview, the datasets,
 * recall@K of every retrieval, and per mining run and dataset the set sizes, judge calls and the
 * agreement with gold beside fixed top-K. Every table is read in one pass in key order (no query
 * per question), so a report of 10,000 questions takes a fraction of a second.
 *
 * Every figure of mined sets and retrievals comes from the functions pare eval uses
 * (pipeline/metrics.h), fed from these bulk reads instead of eval's per-question queries.
 */
#include "pipeline/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- helpers shared with report_train.c ---- */

char *report_col_dup(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return xstrdup(t ? t : "");
}

int report_intern(char ***names, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0) return i;
    *names = xrealloc(*names, (size_t)(*n + 1) * sizeof **names);
    (*names)[*n] = xstrdup(name);
    return (*n)++;
}

int report_has_column(struct store *st, const char *table, const char *column)
{
    int64_t n = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2");
    if (!s || sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, column, -1, SQLITE_STATIC) || store_int(st, s, &n) != 1)
        return -1;
    return n > 0;
}

int report_dense(struct gather *g, const char *table, int64_t *max_id, int64_t rows)
{
    if (*max_id < 0) *max_id = 0;
    if (*max_id <= 16 * rows + (1 << 20)) return PARE_OK;
    sbuf_setf(g->err, "%s: ids up to %lld for %lld rows are too sparse to report on", table,
              (long long)*max_id, (long long)rows);
    return PARE_EFAIL;
}

int report_has_id(const int64_t *list, int64_t n, int64_t id)
{
    for (int64_t i = 0; i < n; i++)
        if (list[i] == id) return 1;
    return 0;
}

/*
 * Loads (key, id) rows, ordered by key, into l (keys 0..max_key). With dedupe an id already
 * listed under its key is skipped (count(DISTINCT ...)).
 */
static int idlist_load(sqlite3_stmt *s, int64_t max_key, int dedupe, struct idlist *l)
{
    l->n_keys = max_key + 1;
    l->off = xcalloc((size_t)l->n_keys + 1, sizeof *l->off);
    size_t cap = 0;
    int64_t cur = -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t key = sqlite3_column_int64(s, 0), id = sqlite3_column_int64(s, 1);
        if (key < 0 || key > max_key || key < cur) continue;
        for (; cur < key; cur++) l->off[cur + 1] = l->n_ids;
        if (dedupe && report_has_id(l->ids + l->off[key], l->n_ids - l->off[key], id)) continue;
        xgrow((void **)&l->ids, &cap, (size_t)l->n_ids + 1, sizeof *l->ids);
        l->ids[l->n_ids++] = id;
    }
    for (; cur < l->n_keys; cur++) l->off[cur + 1] = l->n_ids;
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

static void idlist_free(struct idlist *l)
{
    free(l->off);
    free(l->ids);
    memset(l, 0, sizeof *l);
}

/* ---- overview and datasets ---- */

static int overview(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(
        g->st, "SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM questions), "
               "(SELECT count(*) FROM judge_calls), (SELECT count(*) FROM evidence_sets), "
               "(SELECT count(*) FROM trajectories), (SELECT count(cp1) + count(cp2) + "
               "count(laser) + count(laser_d) + count(decs) + count(rubric) FROM "
               "trajectory_rewards) + (SELECT count(*) FROM rewards_extra), " /* rewards' rows */
               "(SELECT count(*) FROM negatives), (SELECT coalesce(max(id), 0) FROM questions)");
    if (!s || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(g->st, g->err, "counting rows");
    }
    r->passages = sqlite3_column_int64(s, 0);
    r->questions = sqlite3_column_int64(s, 1);
    r->judge_calls = sqlite3_column_int64(s, 2);
    r->sets = sqlite3_column_int64(s, 3);
    r->trajectories = sqlite3_column_int64(s, 4);
    r->rewards_n = sqlite3_column_int64(s, 5);
    r->negatives_n = sqlite3_column_int64(s, 6);
    g->max_qid = sqlite3_column_int64(s, 7);
    sqlite3_reset(s);
    r->db_path = xstrdup(store_path(g->st));
    r->schema = store_schema_version(g->st);
    char now[24];
    now_iso8601(now);
    r->generated_at = xstrdup(now);
    return PARE_OK;
}

static int datasets(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s =
        store_stmt(g->st, "SELECT d.id, d.name, d.format, "
                          "(SELECT count(*) FROM questions q WHERE q.dataset_id = d.id), "
                          "(SELECT count(*) FROM question_passages qp JOIN questions q "
                          "   ON q.id = qp.question_id WHERE q.dataset_id = d.id), "
                          "(SELECT count(*) FROM question_passages qp JOIN questions q "
                          "   ON q.id = qp.question_id WHERE q.dataset_id = d.id AND qp.is_gold) "
                          "FROM datasets d ORDER BY d.id");
    if (!s) return store_fail(g->st, g->err, "reading datasets");
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&r->datasets, &cap, (size_t)r->n_datasets + 1, sizeof *r->datasets);
        struct report_dataset *d = &r->datasets[r->n_datasets++];
        d->id = sqlite3_column_int64(s, 0);
        d->name = report_col_dup(s, 1);
        d->format = report_col_dup(s, 2);
        d->questions = sqlite3_column_int64(s, 3);
        d->contexts = sqlite3_column_int64(s, 4);
        d->gold = sqlite3_column_int64(s, 5);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading datasets");
}

/* The dataset index of every question, and every question's distinct gold passages. */
static int questions(struct gather *g)
{
    if (report_dense(g, "questions", &g->max_qid, g->r->questions) != PARE_OK) return PARE_EFAIL;
    g->q_ds = xmalloc(((size_t)g->max_qid + 1) * sizeof *g->q_ds);
    for (int64_t i = 0; i <= g->max_qid; i++) g->q_ds[i] = -1;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT id, dataset_id FROM questions");
    if (!s) return store_fail(g->st, g->err, "reading questions");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t q = sqlite3_column_int64(s, 0), ds = sqlite3_column_int64(s, 1);
        for (int i = 0; i < g->r->n_datasets && q >= 0 && q <= g->max_qid; i++)
            if (g->r->datasets[i].id == ds) g->q_ds[q] = i;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(g->st, g->err, "reading questions");
    s = store_stmt(g->st, "SELECT question_id, passage_id FROM question_passages WHERE is_gold "
                          "ORDER BY question_id");
    if (!s || idlist_load(s, g->max_qid, 1, &g->gold) != PARE_OK)
        return store_fail(g->st, g->err, "reading gold passages");
    return PARE_OK;
}

/* ---- retrievals: recall@K, and each question's top candidates ---- */

/* What one pass over a retrieval's candidates keeps for the mining runs that use it. */
struct cands {
    int64_t id;           /* retrieval id */
    unsigned char *has;   /* per question: has candidates in this retrieval */
    int64_t *top;         /* per question: first METRICS_TOPK candidates by rank */
    unsigned char *n_top; /* how many of them there are */
};

/*
 * The cut-offs of a curve up to maxk: every K to 20, then about ten per decade (1, 1.5, 2, 2.5,
 * 3, 4, 5, 6, 7, 8 times a power of ten), and maxk; eval's 1, 2, 5, 10, 20, 50, 100 among them.
 */
static void recall_ks(struct report_retrieval *rt)
{
    static const int steps[] = {10, 15, 20, 25, 30, 40, 50, 60, 70, 80};
    rt->ks = xmalloc(64 * sizeof *rt->ks);
    rt->n_ks = 0;
    for (int64_t k = 1; k <= 20 && k <= rt->max_rank; k++) rt->ks[rt->n_ks++] = k;
    for (int64_t dec = 1; rt->n_ks < 60 && dec <= rt->max_rank; dec *= 10)
        for (size_t i = 0; i < ARRAY_SIZE(steps) && rt->n_ks < 60; i++) {
            int64_t k = steps[i] * dec;
            if (k > rt->ks[rt->n_ks - 1] && k < rt->max_rank) rt->ks[rt->n_ks++] = k;
        }
    if (rt->max_rank > 0 && rt->ks[rt->n_ks - 1] != rt->max_rank) rt->ks[rt->n_ks++] = rt->max_rank;
}

/* One question's candidates while they stream by. */
struct qbuf {
    int64_t q, *cand, *rank;
    int n;
    size_t cap, cap2;
};

/* Adds question b to the recall sums of its dataset at every K of rt, as eval does. */
static void recall_question(struct gather *g, struct report_retrieval *rt, const struct qbuf *b)
{
    if (b->q < 0 || g->q_ds[b->q] < 0) return;
    const int64_t *gold = g->gold.ids + g->gold.off[b->q];
    int ng = (int)(g->gold.off[b->q + 1] - g->gold.off[b->q]);
    struct recall_sums *at = rt->per_ds[g->q_ds[b->q]].at;
    int within = 0; /* candidates ranked at most K */
    for (int i = 0; i < rt->n_ks; i++) {
        while (within < b->n && b->rank[within] <= rt->ks[i]) within++;
        metrics_recall_add(&at[i], b->cand, within, gold, ng, within);
    }
}

/* The deepest rank of retrieval rt, its cut-offs and the sums they need. */
static int recall_setup(struct gather *g, struct report_retrieval *rt)
{
    sqlite3_stmt *s =
        store_stmt(g->st, "SELECT coalesce(max(rank), 0) FROM candidates WHERE retrieval_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, rt->id) || store_int(g->st, s, &rt->max_rank) < 0)
        return store_fail(g->st, g->err, "reading candidates");
    recall_ks(rt);
    for (int d = 0; d < g->r->n_datasets; d++)
        rt->per_ds[d].at = xcalloc((size_t)rt->n_ks + 1, sizeof *rt->per_ds[d].at);
    return PARE_OK;
}

/* Streams the candidates of retrieval rt once: recall sums, and into c (if not NULL) tops. */
static int scan_candidates(struct gather *g, struct report_retrieval *rt, struct cands *c)
{
    if (recall_setup(g, rt) != PARE_OK) return PARE_EFAIL;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT question_id, passage_id, rank FROM candidates "
                                        "WHERE retrieval_id = ?1 ORDER BY question_id, rank");
    if (!s || sqlite3_bind_int64(s, 1, rt->id)) return store_fail(g->st, g->err, "candidates");
    struct qbuf b = {-1, NULL, NULL, 0, 0, 0};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t q = sqlite3_column_int64(s, 0), pid = sqlite3_column_int64(s, 1);
        if (q < 0 || q > g->max_qid) continue;
        if (q != b.q) {
            recall_question(g, rt, &b);
            b.q = q;
            b.n = 0;
            if (c) c->has[q] = 1;
        }
        xgrow((void **)&b.cand, &b.cap, (size_t)b.n + 1, sizeof *b.cand);
        xgrow((void **)&b.rank, &b.cap2, (size_t)b.n + 1, sizeof *b.rank);
        b.rank[b.n] = sqlite3_column_int64(s, 2);
        b.cand[b.n++] = pid;
        if (c && c->n_top[q] < METRICS_TOPK) c->top[q * METRICS_TOPK + c->n_top[q]++] = pid;
    }
    recall_question(g, rt, &b);
    sqlite3_reset(s);
    free(b.cand);
    free(b.rank);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading candidates");
}

static int retrievals(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT r.id, r.index_id, r.scope, r.k, r.with_answer, "
                                        "r.rerank, i.factory, json_extract(i.embedder, '$.kind') "
                                        "FROM retrievals r JOIN indexes i ON i.id = r.index_id "
                                        "ORDER BY r.id");
    if (!s) return store_fail(g->st, g->err, "reading retrievals");
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&r->retrievals, &cap, (size_t)r->n_retrievals + 1, sizeof *r->retrievals);
        struct report_retrieval *rt = &r->retrievals[r->n_retrievals++];
        memset(rt, 0, sizeof *rt);
        rt->id = sqlite3_column_int64(s, 0);
        rt->index_id = sqlite3_column_int64(s, 1);
        rt->scope = report_col_dup(s, 2);
        rt->k = sqlite3_column_int64(s, 3);
        rt->with_answer = sqlite3_column_int(s, 4);
        rt->rerank = sqlite3_column_int64(s, 5);
        rt->factory = report_col_dup(s, 6);
        rt->embedder = report_col_dup(s, 7);
        rt->per_ds = xcalloc((size_t)r->n_datasets + 1, sizeof *rt->per_ds);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading retrievals");
}

/* ---- mining runs ---- */

/* The --retrieval argument of a `pare mine` argv stored as JSON; 0 when absent. */
static int64_t retrieval_arg(const char *args)
{
    json_error_t je;
    json_t *a = json_loads(args ? args : "[]", 0, &je);
    int64_t id = 0;
    size_t n = json_array_size(a);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) continue;
        const char *v = NULL;
        if (strcmp(s, "--retrieval") == 0 && i + 1 < n)
            v = json_string_value(json_array_get(a, i + 1));
        else if (strncmp(s, "--retrieval=", 12) == 0)
            v = s + 12;
        if (v) id = strtoll(v, NULL, 10);
    }
    json_decref(a);
    return id > 0 ? id : 0;
}

/* Which retrieval run u mined: from its latest `pare mine` run, else the newest retrieval. */
static int run_retrieval(struct gather *g, struct report_run *u)
{
    sqlite3_stmt *s = store_stmt(
        g->st, "SELECT args, (SELECT max(id) FROM retrievals WHERE created_at <= runs.started_at) "
               "FROM runs WHERE command = 'mine' AND status = 'ok' AND json_valid(summary) AND "
               "json_extract(summary, '$.judge') = ?1 AND json_extract(summary, '$.method') = ?2 "
               "ORDER BY id DESC LIMIT 1");
    if (!s || sqlite3_bind_text(s, 1, u->judge, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, u->method, -1, SQLITE_STATIC))
        return store_fail(g->st, g->err, "reading runs");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        u->retrieval = retrieval_arg((const char *)sqlite3_column_text(s, 0));
        if (!u->retrieval) u->retrieval = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_fail(g->st, g->err, "reading runs");
    for (int i = 0; i < g->r->n_retrievals; i++)
        if (g->r->retrievals[i].id == u->retrieval) {
            u->retrieval_from_run = 1;
            return PARE_OK;
        }
    u->retrieval = g->r->n_retrievals ? g->r->retrievals[g->r->n_retrievals - 1].id : 0;
    return PARE_OK;
}

static int list_runs(struct gather *g)
{
    struct report *r = g->r;
    sqlite3_stmt *s =
        store_stmt(g->st, r->has_prior_columns ? "SELECT judge, method, coalesce(prior, '') FROM "
                                                 "evidence_sets GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                                               : "SELECT judge, method, '' FROM evidence_sets "
                                                 "GROUP BY 1, 2 ORDER BY 1, 2");
    if (!s) return store_fail(g->st, g->err, "reading evidence sets");
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&r->runs, &cap, (size_t)r->n_runs + 1, sizeof *r->runs);
        struct report_run *u = &r->runs[r->n_runs++];
        memset(u, 0, sizeof *u);
        u->judge = report_col_dup(s, 0);
        u->method = report_col_dup(s, 1);
        u->prior = report_col_dup(s, 2);
        u->cells = xcalloc((size_t)r->n_datasets + 1, sizeof *u->cells);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(g->st, g->err, "reading evidence sets");
    for (int i = 0; i < r->n_runs; i++) {
        if (g->opts->retrieval)
            r->runs[i].retrieval = g->opts->retrieval;
        else if (run_retrieval(g, &r->runs[i]) != PARE_OK)
            return PARE_EFAIL;
    }
    return PARE_OK;
}

/* A set as the sets query returns it. */
struct set_row {
    int64_t id, q, size, calls, cached, prior_calls;
    enum evidence_status status;
};

/* Counts every set in its cell: status, size, calls. */
static void count_set(struct report_cell *c, const struct set_row *e)
{
    c->sets++;
    c->calls += e->calls;
    c->cached += e->cached;
    c->prior_calls += e->prior_calls;
    if (e->status == EV_MINIMAL) {
        c->minimal++;
        c->size_sum += e->size;
        c->size_hist[e->size < REPORT_SIZE_MAX ? (e->size > 0 ? e->size : 0) : REPORT_SIZE_MAX]++;
    } else if (e->status == EV_FULL_INSUFFICIENT) {
        c->full_insufficient++;
    } else {
        c->errors++;
    }
    int64_t k = e->calls > 0 ? (e->calls < 100000 ? e->calls : 100000) : 0;
    if (k >= c->n_calls_hist) {
        c->calls_hist = xrealloc(c->calls_hist, (size_t)(k + 1) * sizeof *c->calls_hist);
        memset(c->calls_hist + c->n_calls_hist, 0,
               (size_t)(k + 1 - c->n_calls_hist) * sizeof *c->calls_hist);
        c->n_calls_hist = k + 1;
    }
    c->calls_hist[k]++;
}

/* Remembers question q as an example of its dataset for run `run` (the first run there). */
static void pick(struct report_picks *p, int run, const struct set_row *e, double f1)
{
    if (p->run < 0) p->run = run;
    if (p->run != run) return;
    if (e->status == EV_FULL_INSUFFICIENT) {
        if (!p->full_q) p->full_q = e->q;
        return;
    }
    if (e->status != EV_MINIMAL || f1 < 0) return;
    if (f1 >= 1 - 1e-12 && !p->agree_q) {
        p->agree_q = e->q;
        p->f1_agree = f1;
    } else if (f1 < 1 - 1e-12 && f1 < p->worst_f1) {
        p->worst_q = e->q;
        p->worst_f1 = f1;
    } else if (p->n_other < (int)ARRAY_SIZE(p->other_q)) {
        p->f1_other[p->n_other] = f1;
        p->other_q[p->n_other++] = e->q;
    }
}

/*
 * Adds a set to its cell's sums against gold, as pare eval does, when its question has
 * candidates in cd; *f1_out receives a minimal set's F1 (else -1).
 */
static void measure_set(struct gather *g, struct report_cell *c, const struct cands *cd,
                        const struct idlist *mem, const struct set_row *e, double *f1_out)
{
    *f1_out = -1;
    if (!cd || !cd->has[e->q]) return;
    struct set_eval x = {.status = e->status, .calls = e->calls, .cached = e->cached};
    x.gold = g->gold.ids + g->gold.off[e->q];
    x.n_gold = (int)(g->gold.off[e->q + 1] - g->gold.off[e->q]);
    x.cand = cd->top + e->q * METRICS_TOPK;
    x.n_cand = cd->n_top[e->q];
    if (e->status == EV_MINIMAL && e->id < mem->n_keys) {
        x.members = mem->ids + mem->off[e->id];
        x.n_members = (int)(mem->off[e->id + 1] - mem->off[e->id]);
        *f1_out = metrics_prf(x.members, x.n_members, x.gold, x.n_gold).f1;
    }
    metrics_add(&c->gold, &x);
}

static const char sets_sql_prior[] =
    "SELECT id, question_id, judge, method, coalesce(prior, ''), status, size, judge_calls, "
    "cached_calls, coalesce(prior_calls, 0) FROM evidence_sets "
    "ORDER BY judge, method, coalesce(prior, ''), id";
static const char sets_sql[] =
    "SELECT id, question_id, judge, method, '', status, size, judge_calls, cached_calls, 0 "
    "FROM evidence_sets ORDER BY judge, method, id";

/* The run of a set row: runs and rows come in the same order, so the search only moves on. */
static int run_of(const struct report *r, int from, sqlite3_stmt *s)
{
    for (int u = from < 0 ? 0 : from; u < r->n_runs; u++) {
        const struct report_run *x = &r->runs[u];
        if (strcmp(x->judge, (const char *)sqlite3_column_text(s, 2)) == 0 &&
            strcmp(x->method, (const char *)sqlite3_column_text(s, 3)) == 0 &&
            strcmp(x->prior, (const char *)sqlite3_column_text(s, 4)) == 0)
            return u;
    }
    return -1;
}

/* The candidates of the retrievals that runs use, one pass each (recall counted as well). */
static int scan_retrievals(struct gather *g, struct cands *cd)
{
    struct report *r = g->r;
    size_t nq = (size_t)g->max_qid + 1;
    for (int i = 0; i < r->n_retrievals; i++) {
        int used = 0;
        for (int u = 0; u < r->n_runs; u++) used |= r->runs[u].retrieval == r->retrievals[i].id;
        if (used) {
            cd[i].id = r->retrievals[i].id;
            cd[i].has = xcalloc(nq, 1);
            cd[i].n_top = xcalloc(nq, 1);
            cd[i].top = xcalloc(nq * METRICS_TOPK, sizeof *cd[i].top);
        }
        if (scan_candidates(g, &r->retrievals[i], used ? &cd[i] : NULL) != PARE_OK)
            return PARE_EFAIL;
    }
    return PARE_OK;
}

static const struct cands *cands_of(const struct report *r, const struct cands *cd, int64_t id)
{
    for (int i = 0; i < r->n_retrievals; i++)
        if (cd[i].id == id && cd[i].has) return &cd[i];
    return NULL;
}

/* One pass over the evidence sets: every cell's counts, means and the example picks. */
static int measure_sets(struct gather *g, const struct cands *cd, const struct idlist *mem)
{
    struct report *r = g->r;
    sqlite3_stmt *s = store_stmt(g->st, r->has_prior_columns ? sets_sql_prior : sets_sql);
    if (!s) return store_fail(g->st, g->err, "reading evidence sets");
    int rc, u = -1;
    const struct cands *c = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct set_row e = {sqlite3_column_int64(s, 0),
                            sqlite3_column_int64(s, 1),
                            sqlite3_column_int64(s, 6),
                            sqlite3_column_int64(s, 7),
                            sqlite3_column_int64(s, 8),
                            sqlite3_column_int64(s, 9),
                            EV_ERROR};
        const char *status = (const char *)sqlite3_column_text(s, 5);
        if (!status || evidence_status_parse(status, &e.status) != 0) e.status = EV_ERROR;
        if (u < 0 || run_of(r, u, s) != u) {
            u = run_of(r, u, s);
            c = u >= 0 ? cands_of(r, cd, r->runs[u].retrieval) : NULL;
        }
        if (u < 0 || e.q < 0 || e.q > g->max_qid || g->q_ds[e.q] < 0) continue;
        struct report_cell *cell = &r->runs[u].cells[g->q_ds[e.q]];
        double f1;
        count_set(cell, &e);
        measure_set(g, cell, c, mem, &e, &f1);
        pick(&g->picks[g->q_ds[e.q]], u, &e, f1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(g->st, g->err, "reading evidence sets");
}

static int mining(struct gather *g)
{
    struct report *r = g->r;
    if (list_runs(g) != PARE_OK) return PARE_EFAIL;
    struct cands *cd = xcalloc((size_t)r->n_retrievals + 1, sizeof *cd);
    struct idlist mem = {0};
    int64_t max_set = 0;
    sqlite3_stmt *s = store_stmt(g->st, "SELECT coalesce(max(id), 0) FROM evidence_sets");
    int rc = scan_retrievals(g, cd);
    if (rc == PARE_OK && (!s || store_int(g->st, s, &max_set) < 0))
        rc = store_fail(g->st, g->err, "reading evidence sets");
    if (rc == PARE_OK) rc = report_dense(g, "evidence_sets", &max_set, r->sets);
    s = rc == PARE_OK ? store_stmt(g->st, "SELECT set_id, passage_id FROM evidence_members "
                                          "ORDER BY set_id")
                      : NULL;
    if (rc == PARE_OK && (!s || idlist_load(s, max_set, 0, &mem) != PARE_OK))
        rc = store_fail(g->st, g->err, "reading evidence members");
    if (rc == PARE_OK) rc = measure_sets(g, cd, &mem);
    for (int i = 0; i < r->n_retrievals; i++) {
        free(cd[i].has);
        free(cd[i].top);
        free(cd[i].n_top);
    }
    free(cd);
    idlist_free(&mem);
    return rc;
}

/* ---- the whole ---- */

static int check_retrieval(struct gather *g)
{
    if (!g->opts->retrieval) return PARE_OK;
    for (int i = 0; i < g->r->n_retrievals; i++)
        if (g->r->retrievals[i].id == g->opts->retrieval) return PARE_OK;
    sbuf_setf(g->err, "no retrieval %lld", (long long)g->opts->retrieval);
    return PARE_EFAIL;
}

int report_gather(struct store *st, const struct report_opts *opts, struct report *r,
                  struct sbuf *err)
{
    memset(r, 0, sizeof *r);
    struct gather g = {st, r, opts, err, 0, NULL, {0}, NULL};
    int tok = report_has_column(st, "judge_calls", "prompt_tokens");
    int tok2 = report_has_column(st, "judge_calls", "completion_tokens");
    int pri = report_has_column(st, "evidence_sets", "prior");
    int pri2 = report_has_column(st, "evidence_sets", "prior_calls");
    if (tok < 0 || tok2 < 0 || pri < 0 || pri2 < 0) return store_fail(st, err, "reading schema");
    r->has_token_columns = tok && tok2;
    r->has_prior_columns = pri && pri2;
    int rc = overview(&g);
    if (rc == PARE_OK) rc = datasets(&g);
    if (rc == PARE_OK) rc = questions(&g);
    if (rc == PARE_OK) rc = retrievals(&g);
    if (rc == PARE_OK) rc = check_retrieval(&g);
    if (rc == PARE_OK) {
        g.picks = xcalloc((size_t)r->n_datasets + 1, sizeof *g.picks);
        for (int d = 0; d < r->n_datasets; d++) g.picks[d] = (struct report_picks){-1, 0, 0, 2};
    }
    if (rc == PARE_OK) rc = mining(&g);
    if (rc == PARE_OK) rc = report_negatives(&g);
    if (rc == PARE_OK) rc = report_rewards(&g);
    if (rc == PARE_OK) rc = report_difficulty(&g);
    if (rc == PARE_OK) rc = report_curricula(&g);
    if (rc == PARE_OK) rc = report_judges(&g);
    if (rc == PARE_OK) rc = report_examples(&g);
    free(g.q_ds);
    free(g.picks);
    idlist_free(&g.gold);
    return rc;
}

static void free_mining(struct report *r)
{
    for (int i = 0; i < r->n_runs; i++) {
        struct report_run *u = &r->runs[i];
        for (int d = 0; u->cells && d < r->n_datasets; d++) free(u->cells[d].calls_hist);
        free(u->cells);
        free(u->judge);
        free(u->method);
        free(u->prior);
    }
    free(r->runs);
    for (int i = 0; i < r->n_retrievals; i++) {
        struct report_retrieval *t = &r->retrievals[i];
        for (int d = 0; t->per_ds && d < r->n_datasets; d++) free(t->per_ds[d].at);
        free(t->per_ds);
        free(t->ks);
        free(t->scope);
        free(t->factory);
        free(t->embedder);
    }
    free(r->retrievals);
}

static void free_examples(struct report *r)
{
    for (int i = 0; i < r->n_examples; i++) {
        struct report_example *x = &r->examples[i];
        for (int k = 0; k < x->n_passages; k++) {
            free(x->passages[k].title);
            free(x->passages[k].text);
        }
        free(x->passages);
        free(x->ext_id);
        free(x->question);
        free(x->answers);
        free(x->qtype);
    }
    free(r->examples);
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void report_free(struct report *r)
{
    free(r->db_path);
    free(r->generated_at);
    for (int i = 0; i < r->n_datasets; i++) {
        free(r->datasets[i].name);
        free(r->datasets[i].format);
    }
    free_mining(r);
    free(r->datasets);
    for (int i = 0; i < r->n_negatives; i++) {
        free(r->negatives[i].kind);
        free(r->negatives[i].label);
    }
    free(r->negatives);
    free_names(r->schemes, r->n_schemes);
    free_names(r->policies, r->n_policies);
    free(r->scheme_lo);
    free(r->scheme_hi);
    free(r->rewards);
    free(r->difficulty);
    free(r->difficulty_source);
    free_names(r->plans, r->n_plans);
    free(r->batches);
    for (int i = 0; i < r->n_judges; i++) {
        free(r->judges[i].judge);
        for (int k = 0; k < r->judges[i].n_top_errors; k++) free(r->judges[i].top_errors[k].text);
    }
    free(r->judges);
    free_examples(r);
    memset(r, 0, sizeof *r);
}
