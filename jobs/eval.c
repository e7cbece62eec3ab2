/*
 * eval.c - `pare eval`: how good the mined sets and the candidates are, measured against the
 * datasets' gold passages (the figures are pipeline/metrics.h's).
 *
 *   (default)  per judge, method, dataset (and question type with --by-type): precision,
 *              recall and F1 of the mined sets, judge calls per question, the top-K baselines
 *              (K = 1..5) on the same questions, and how many sets the cached verdicts prove
 *              1-minimal.
 *   --recall   recall@K of gold passages (the share of gold passages found in the top K,
 *              summed over questions) and the share of questions with all their gold passages
 *              in the top K, per dataset.
 * Both use the candidates of --retrieval ID (0: the newest retrieval).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/jobs.h"
#include "pipeline/jcache.h"
#include "pipeline/metrics.h"
#include "stores/store.h"

/* Up to max passage ids of a query's rows (parameters ?1 = a, ?2 = b); -1 on error. */
static int load_ids(struct store *st, const char *sql, int64_t a, int64_t b, int64_t *out, int max)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s || sqlite3_bind_int64(s, 1, a) || sqlite3_bind_int64(s, 2, b)) return -1;
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (n < max) out[n++] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? n : -1;
}

/* ---- recall@K ---- */

/* The cut-offs reported for candidates ranked up to maxk. */
static int recall_cuts(int64_t maxk, int64_t *cuts)
{
    static const int64_t fixed[] = {1, 2, 5, 10, 20, 50, 100};
    int n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        if (fixed[i] <= maxk) cuts[n++] = fixed[i];
    if (maxk > 5 && maxk != 10 && maxk != 20 && maxk != 50 && maxk != 100) cuts[n++] = maxk;
    return n;
}

#define MAX_CUTS 8

/* recall@K sums of one dataset. */
struct ds_recall {
    int64_t id;
    char *name;
    struct recall_sums at[MAX_CUTS];
};

/* Growable arrays of one question's gold passages and ranked candidates. */
struct qbuf {
    int64_t *gold, *cand, *rank;
    size_t n_gold, n_cand, cap_gold, cap_cand, cap_rank;
};

/* Loads question qid's distinct gold passages and its candidates of retrieval rid into b. */
static int load_question(struct store *st, int64_t rid, int64_t qid, struct qbuf *b)
{
    b->n_gold = b->n_cand = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT DISTINCT passage_id FROM question_passages WHERE "
                                     "question_id = ?1 AND is_gold");
    if (!s || sqlite3_bind_int64(s, 1, qid)) return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&b->gold, &b->cap_gold, b->n_gold + 1, sizeof *b->gold);
        b->gold[b->n_gold++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return -1;
    s = store_stmt(st, "SELECT passage_id, rank FROM candidates WHERE retrieval_id = ?1 AND "
                       "question_id = ?2 ORDER BY rank");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int64(s, 2, qid)) return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&b->cand, &b->cap_cand, b->n_cand + 1, sizeof *b->cand);
        xgrow((void **)&b->rank, &b->cap_rank, b->n_cand + 1, sizeof *b->rank);
        b->cand[b->n_cand] = sqlite3_column_int64(s, 0);
        b->rank[b->n_cand++] = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Adds the question in b to the sums of its dataset d at each cut. */
static void recall_question(const struct qbuf *b, const int64_t *cuts, int ncuts,
                            struct ds_recall *d)
{
    for (int c = 0; c < ncuts; c++) {
        size_t within = 0; /* candidates ranked at most cuts[c] */
        while (within < b->n_cand && b->rank[within] <= cuts[c]) within++;
        metrics_recall_add(&d->at[c], b->cand, (int)within, b->gold, (int)b->n_gold, (int)within);
    }
}

/* Appends dataset (id, name) to *d unless it is the last one there. */
static void add_dataset(struct ds_recall **d, int *nd, int64_t id, const char *name)
{
    if (*nd > 0 && (*d)[*nd - 1].id == id) return;
    *d = xrealloc(*d, (size_t)(*nd + 1) * sizeof **d);
    memset(&(*d)[*nd], 0, sizeof **d);
    (*d)[*nd].id = id;
    (*d)[(*nd)++].name = xstrdup(name);
}

/* recall@K per dataset (in dataset id order) of retrieval rid into *d (*nd datasets). */
static int recall_sums(struct store *st, int64_t rid, const int64_t *cuts, int ncuts,
                       struct ds_recall **d, int *nd)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT q.id, d.id, d.name FROM questions q JOIN datasets d "
                                     "ON d.id = q.dataset_id WHERE EXISTS (SELECT 1 FROM "
                                     "candidates c WHERE c.retrieval_id = ?1 AND c.question_id = "
                                     "q.id) ORDER BY d.id, q.id");
    if (!s || sqlite3_bind_int64(s, 1, rid)) return PARE_EFAIL;
    int64_t *qs = NULL, *ds = NULL; /* rows first: the statements below reuse the connection */
    size_t n = 0, cap = 0, cap2 = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&qs, &cap, n + 1, sizeof *qs);
        xgrow((void **)&ds, &cap2, n + 1, sizeof *ds);
        qs[n] = sqlite3_column_int64(s, 0);
        ds[n] = sqlite3_column_int64(s, 1);
        add_dataset(d, nd, ds[n++], (const char *)sqlite3_column_text(s, 2));
    }
    sqlite3_reset(s);
    int bad = rc != SQLITE_DONE;
    struct qbuf b = {0};
    for (size_t i = 0, k = 0; i < n && !bad; i++) {
        while ((*d)[k].id != ds[i]) k++;
        bad = load_question(st, rid, qs[i], &b) != 0;
        if (!bad) recall_question(&b, cuts, ncuts, &(*d)[k]);
    }
    free(b.gold);
    free(b.cand);
    free(b.rank);
    free(qs);
    free(ds);
    return bad ? PARE_EFAIL : PARE_OK;
}

/* The rows of the recall report: for each cut, each dataset with gold passages. */
static json_t *recall_rows(const struct ds_recall *d, int nd, const int64_t *cuts, int ncuts)
{
    json_t *rows = json_array();
    for (int c = 0; c < ncuts; c++) {
        for (int i = 0; i < nd; i++) {
            const struct recall_sums *r = &d[i].at[c];
            if (r->questions == 0) continue;
            json_t *o =
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "dataset", d[i].name, "k",
                          (json_int_t)cuts[c], "questions", (json_int_t)r->questions,
                          "gold_passages", (json_int_t)r->gold, "gold_found", (json_int_t)r->found,
                          "recall", r->gold > 0 ? (double)r->found / (double)r->gold : 0.0,
                          "all_gold", (double)r->all_found / (double)r->questions);
            if (!o || json_array_append_new(rows, o)) abort();
        }
    }
    return rows;
}

/* What retrieval rid is: its index, scope, embedder; the highest rank into *maxk. */
static json_t *retrieval_info(struct store *st, int64_t rid, int64_t *maxk)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT r.k, r.scope, r.with_answer, r.rerank, i.factory, "
                                     "json_extract(i.embedder, '$.kind'), i.id, "
                                     "(SELECT max(rank) FROM candidates c WHERE "
                                     " c.retrieval_id = r.id) "
                                     "FROM retrievals r JOIN indexes i ON i.id = r.index_id "
                                     "WHERE r.id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return NULL;
    }
    *maxk = sqlite3_column_int64(s, 7);
    json_t *info = json_pack(
        "{s:I, s:I, s:s, s:b, s:I, s:s, s:s}", "retrieval", (json_int_t)rid, "index",
        (json_int_t)sqlite3_column_int64(s, 6), "scope", (const char *)sqlite3_column_text(s, 1),
        "with_answer", sqlite3_column_int(s, 2), "rerank", (json_int_t)sqlite3_column_int64(s, 3),
        "factory", (const char *)sqlite3_column_text(s, 4), "embedder",
        (const char *)sqlite3_column_text(s, 5));
    sqlite3_reset(s);
    if (!info) abort();
    return info;
}

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long int_of(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static double real_of(json_t *o, const char *key)
{
    return json_real_value(json_object_get(o, key));
}

static void print_recall(json_t *info, json_t *rows)
{
    printf("retrieval %lld: index %lld (%s, %s embedder), %s scope%s\n\n",
           int_of(info, "retrieval"), int_of(info, "index"), str_of(info, "factory"),
           str_of(info, "embedder"), str_of(info, "scope"),
           json_is_true(json_object_get(info, "with_answer")) ? ", query with answer" : "");
    printf("%-28s %5s %9s %8s %9s\n", "dataset", "k", "questions", "recall", "all gold");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        printf("%-28s %5lld %9lld %8.3f %9.3f\n", str_of(r, "dataset"), int_of(r, "k"),
               int_of(r, "questions"), real_of(r, "recall"), real_of(r, "all_gold"));
    }
}

static int eval_recall(struct store *st, int64_t rid, int json_out, struct sbuf *err)
{
    int64_t maxk = 0, cuts[MAX_CUTS];
    json_t *info = retrieval_info(st, rid, &maxk);
    if (!info) { /* it exists (store_retrieval said so), but not with its index */
        sbuf_setf(err, "retrieval %lld: its index is missing", (long long)rid);
        return PARE_EFAIL;
    }
    int ncuts = recall_cuts(maxk, cuts);
    struct ds_recall *d = NULL;
    int nd = 0, rc = recall_sums(st, rid, cuts, ncuts, &d, &nd);
    json_t *rows = rc == PARE_OK ? recall_rows(d, nd, cuts, ncuts) : NULL;
    for (int i = 0; i < nd; i++) free(d[i].name);
    free(d);
    if (rc != PARE_OK) {
        json_decref(info);
        return rc; /* job_eval prints the store's error */
    }
    if (json_out) {
        json_object_set(info, "recall", rows);
        if (json_dumpf(info, stdout, JSON_INDENT(2)) != 0) rc = PARE_EFAIL;
        printf("\n");
    } else {
        print_recall(info, rows);
    }
    json_decref(rows);
    json_decref(info);
    return rc;
}

/* ---- mined sets ---- */

/* One evidence set to evaluate. */
struct set_row {
    int64_t set, q, calls, cached, prior_calls, tokens; /* -1: no prior / no token count */
    char *judge, *method, *status, *ds, *qt;
};

static void free_set_rows(struct set_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].judge);
        free(rows[i].method);
        free(rows[i].status);
        free(rows[i].ds);
        free(rows[i].qt);
    }
    free(rows);
}

/* The evidence sets of questions with candidates of rid, in group order. */
static int load_set_rows(struct store *st, int64_t rid, int by_type, struct set_row **rows,
                         size_t *n)
{
    sqlite3_stmt *s = store_stmt(
        st, "SELECT e.id, e.question_id, e.judge, e.method, e.status, e.judge_calls, "
            "e.cached_calls, d.name, CASE WHEN ?2 THEN coalesce(q.qtype, '') ELSE 'all' END, "
            "coalesce(e.prior_calls, -1), coalesce(e.prompt_tokens + e.completion_tokens, -1) "
            "FROM evidence_sets e "
            "JOIN questions q ON q.id = e.question_id JOIN datasets d ON d.id = q.dataset_id "
            "WHERE EXISTS (SELECT 1 FROM candidates c WHERE c.retrieval_id = ?1 AND "
            "c.question_id = e.question_id) ORDER BY e.judge, e.method, d.id, q.qtype, e.id");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int(s, 2, by_type)) return PARE_EFAIL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)rows, &cap, *n + 1, sizeof **rows);
        struct set_row *r = &(*rows)[(*n)++];
        r->set = sqlite3_column_int64(s, 0);
        r->q = sqlite3_column_int64(s, 1);
        r->judge = xstrdup((const char *)sqlite3_column_text(s, 2));
        r->method = xstrdup((const char *)sqlite3_column_text(s, 3));
        r->status = xstrdup((const char *)sqlite3_column_text(s, 4));
        r->calls = sqlite3_column_int64(s, 5);
        r->cached = sqlite3_column_int64(s, 6);
        r->ds = xstrdup((const char *)sqlite3_column_text(s, 7));
        r->qt = xstrdup((const char *)sqlite3_column_text(s, 8));
        r->prior_calls = sqlite3_column_int64(s, 9);
        r->tokens = sqlite3_column_int64(s, 10);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

static int same_group(const struct set_row *a, const struct set_row *b)
{
    return strcmp(a->judge, b->judge) == 0 && strcmp(a->method, b->method) == 0 &&
           strcmp(a->ds, b->ds) == 0 && strcmp(a->qt, b->qt) == 0;
}

/* Verdicts of one judge on one question, from judge_calls (metrics_verdict_fn). */
struct cache_ctx {
    struct store *st;
    const char *fp;
    int64_t q;
};

static int cached_verdict(void *ctx, const int64_t *ids, int n)
{
    struct cache_ctx *c = ctx;
    int v;
    return jcache_lookup(c->st, c->fp, c->q, ids, n, &v) == 1 ? v : -1;
}

/* Adds set r (gold and candidates loaded into b) to the sums s. */
static int eval_set(struct store *st, const struct set_row *r, const struct qbuf *b,
                    struct set_sums *s)
{
    struct set_eval e = {0};
    int64_t mem[64];
    if (evidence_status_parse(r->status, &e.status) != 0) e.status = EV_ERROR;
    e.calls = r->calls;
    e.cached = r->cached;
    e.has_prior = r->prior_calls >= 0;
    e.prior_calls = r->prior_calls;
    e.has_tokens = r->tokens >= 0;
    e.tokens = r->tokens;
    if (e.status != EV_ERROR) {
        e.n_members = load_ids(st,
                               "SELECT passage_id FROM evidence_members WHERE set_id = ?1 AND "
                               "?2 = ?2 ORDER BY rank",
                               r->set, 0, mem, 64);
        if (e.n_members < 0) return PARE_EFAIL;
    }
    e.members = mem;
    e.gold = b->gold;
    e.n_gold = (int)b->n_gold;
    e.cand = b->cand;
    e.n_cand = (int)b->n_cand;
    if (e.status == EV_MINIMAL) {
        struct cache_ctx c = {st, r->judge, r->q};
        e.proven = metrics_proven_minimal(mem, e.n_members, cached_verdict, &c);
    }
    metrics_add(s, &e);
    return PARE_OK;
}

static json_t *prf_json(int k, struct prf m)
{
    return k ? json_pack("{s:i, s:f, s:f, s:f}", "k", k, "precision", m.p, "recall", m.r, "f1",
                         m.f1)
             : json_pack("{s:f, s:f, s:f}", "precision", m.p, "recall", m.r, "f1", m.f1);
}

/* What a group's sets cost: the prior's calls per question (when mined with one), judge tokens
 * per question and per minimal set (null when the judge counts none). */
static void cost_json(json_t *g, const struct set_sums *s)
{
    double n = s->questions ? (double)s->questions : 1, per_q, per_set;
    int counted = metrics_tokens(s, &per_q, &per_set) == 0;
    json_object_set_new(g, "prior_calls_per_question",
                        s->with_prior ? json_real((double)s->prior_calls / n) : json_null());
    json_object_set_new(g, "tokens_per_question", counted ? json_real(per_q) : json_null());
    json_object_set_new(g, "tokens_per_minimal_set",
                        counted && s->minimal ? json_real(per_set) : json_null());
}

/* The report of one group: its first row r names it, s holds its sums. */
static json_t *group_json(const struct set_row *r, const struct set_sums *s)
{
    struct prf m = metrics_mean(s, &s->set);
    double n = s->questions ? (double)s->questions : 1;
    json_t *g = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I}", "judge",
        r->judge, "method", r->method, "dataset", r->ds, "qtype", r->qt, "questions",
        (json_int_t)s->questions, "minimal", (json_int_t)s->minimal, "full_insufficient",
        (json_int_t)s->full_insufficient, "error", (json_int_t)s->errors, "precision", m.p,
        "recall", m.r, "f1", m.f1, "calls_per_question", (double)s->calls / n,
        "cached_per_question", (double)s->cached / n, "proven_minimal", (json_int_t)s->proven,
        "unproven", (json_int_t)s->unproven);
    json_t *top = json_array();
    for (int k = 0; k < METRICS_TOPK; k++)
        json_array_append_new(top, prf_json(k + 1, metrics_mean(s, &s->topk[k])));
    json_object_set_new(g, "top_k", top);
    int best = metrics_best_k(s);
    json_object_set_new(g, "best_top_k", prf_json(best, metrics_mean(s, &s->topk[best - 1])));
    cost_json(g, s);
    return g;
}

/* The groups' reports, in row order. */
static int set_groups(struct store *st, int64_t rid, const struct set_row *rows, size_t n,
                      json_t *groups)
{
    struct set_sums s = {0};
    struct qbuf b = {0};
    int rc = PARE_OK;
    for (size_t i = 0; i < n && rc == PARE_OK; i++) {
        if (i > 0 && !same_group(&rows[i - 1], &rows[i])) {
            json_array_append_new(groups, group_json(&rows[i - 1], &s));
            memset(&s, 0, sizeof s);
        }
        rc = load_question(st, rid, rows[i].q, &b) == 0 ? PARE_OK : PARE_EFAIL;
        if (rc == PARE_OK) rc = eval_set(st, &rows[i], &b, &s);
    }
    if (rc == PARE_OK && n > 0) json_array_append_new(groups, group_json(&rows[n - 1], &s));
    free(b.gold);
    free(b.cand);
    free(b.rank);
    return rc;
}

/* A figure of the table, or "-" when it is null. */
static void print_figure(json_t *g, const char *key, int width, int decimals)
{
    json_t *v = json_object_get(g, key);
    if (json_is_number(v))
        printf(" %*.*f", width, decimals, json_number_value(v));
    else
        printf(" %*s", width, "-");
}

static void print_sets(json_t *groups)
{
    printf("%-22s %-11s %-24s %-11s %5s %6s %6s %6s %6s %6s %8s %8s %7s  %s\n", "judge", "method",
           "dataset", "type", "n", "P", "R", "F1", "calls", "prior", "tok/q", "tok/set", "1-min",
           "top-K F1 (K=1..5)");
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g)
    {
        json_t *top = json_object_get(g, "top_k");
        printf("%-22.22s %-11.11s %-24.24s %-11.11s %5lld %6.3f %6.3f %6.3f %6.1f",
               str_of(g, "judge"), str_of(g, "method"), str_of(g, "dataset"), str_of(g, "qtype"),
               int_of(g, "questions"), real_of(g, "precision"), real_of(g, "recall"),
               real_of(g, "f1"), real_of(g, "calls_per_question"));
        print_figure(g, "prior_calls_per_question", 6, 1);
        print_figure(g, "tokens_per_question", 8, 0);
        print_figure(g, "tokens_per_minimal_set", 8, 0);
        printf(" %3lld/%-3lld ", int_of(g, "proven_minimal"), int_of(g, "minimal"));
        for (int k = 0; k < METRICS_TOPK; k++)
            printf(" %.3f", real_of(json_array_get(top, (size_t)k), "f1"));
        printf("\n");
    }
}

static int eval_sets(struct store *st, int64_t rid, int json_out, int by_type)
{
    struct set_row *rows = NULL;
    size_t n = 0;
    int rc = load_set_rows(st, rid, by_type, &rows, &n);
    json_t *groups = json_array();
    if (rc == PARE_OK) rc = set_groups(st, rid, rows, n, groups);
    free_set_rows(rows, n);
    if (rc == PARE_OK && json_out) {
        json_t *o = json_pack("{s:I, s:O}", "retrieval", (json_int_t)rid, "sets", groups);
        if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) rc = PARE_EFAIL;
        printf("\n");
        json_decref(o);
    } else if (rc == PARE_OK) {
        print_sets(groups);
    }
    json_decref(groups);
    return rc;
}

int job_eval(struct pare_ctx *ctx, int argc, char **argv)
{
    int recall = 0, json_out = 0, by_type = 0;
    int64_t rid = 0;
    const struct opt opts[] = {
        {"retrieval", OPT_INT, &rid, "0", "ID",
         "the retrieval whose candidates to use (0: the newest)"},
        {"recall", OPT_FLAG, &recall, NULL, NULL,
         "report recall@K of the candidates (default: evaluate mined evidence sets)"},
        {"by-type", OPT_FLAG, &by_type, NULL, NULL, "sets: one row per question type"},
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print one JSON object on stdout"},
        {NULL},
    };
    const struct cli cli = {"eval",
                            NULL,
                            "Measure mined evidence sets (or, with --recall, candidates) against "
                            "the gold passages.",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct store *st;
    struct sbuf err = {0};
    if (store_open(pare_db_path(ctx), 0, &st, &err) != PARE_OK ||
        store_retrieval(st, &rid, 1, &err) != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        store_close(st);
        return PARE_EFAIL;
    }
    rc = recall ? eval_recall(st, rid, json_out, &err) : eval_sets(st, rid, json_out, by_type);
    if (rc == PARE_EFAIL) fprintf(stderr, "pare eval: %s\n", err.len ? err.p : store_errmsg(st));
    sbuf_free(&err);
    store_close(st);
    return rc;
}
