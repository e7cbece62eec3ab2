/*
 * eval.c - `pare eval`: how good the candidates and the mined sets are, measured against the
 * datasets' gold passages.
 *
 *   --retrieval  recall@K of gold passages (the share of gold passages found in the top K,
 *                summed over questions) and the share of questions with all their gold
 *                passages in the top K, per dataset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobs/jobs.h"
#include "pipeline/judge.h"
#include "stores/store.h"

/* Recall of one retrieval at cut-off k, per dataset, appended to rows. */
static int recall_at(struct store *st, int64_t rid, int64_t k, json_t *rows)
{
    sqlite3_stmt *s = store_stmt(
        st, "WITH per_q AS ("
            "  SELECT q.dataset_id AS ds, q.id AS qid,"
            "    (SELECT count(DISTINCT qp.passage_id) FROM question_passages qp"
            "      WHERE qp.question_id = q.id AND qp.is_gold) AS n_gold,"
            "    (SELECT count(DISTINCT c.passage_id) FROM candidates c"
            "      JOIN question_passages qp ON qp.question_id = c.question_id"
            "       AND qp.passage_id = c.passage_id AND qp.is_gold"
            "      WHERE c.retrieval_id = ?1 AND c.question_id = q.id AND c.rank <= ?2) AS n_hit"
            "  FROM questions q WHERE EXISTS (SELECT 1 FROM candidates c"
            "    WHERE c.retrieval_id = ?1 AND c.question_id = q.id))"
            "SELECT d.name, count(*), sum(n_gold), sum(n_hit),"
            "  avg(CASE WHEN n_hit = n_gold THEN 1.0 ELSE 0.0 END)"
            " FROM per_q JOIN datasets d ON d.id = per_q.ds WHERE n_gold > 0"
            " GROUP BY d.id ORDER BY d.id");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int64(s, 2, k)) return PARE_EFAIL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        double gold = (double)sqlite3_column_int64(s, 2), hit = (double)sqlite3_column_int64(s, 3);
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "dataset",
                              (const char *)sqlite3_column_text(s, 0), "k", (json_int_t)k,
                              "questions", (json_int_t)sqlite3_column_int64(s, 1), "gold_passages",
                              (json_int_t)gold, "gold_found", (json_int_t)hit, "recall",
                              gold > 0 ? hit / gold : 0.0, "all_gold", sqlite3_column_double(s, 4));
        if (!o || json_array_append_new(rows, o)) abort();
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : PARE_EFAIL;
}

static int eval_retrieval(struct store *st, int64_t rid, int json_out)
{
    struct sbuf err = {0};
    if (store_retrieval(st, &rid, 1, &err) != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    sqlite3_stmt *s = store_stmt(st, "SELECT r.k, r.scope, r.with_answer, r.rerank, i.factory, "
                                     "json_extract(i.embedder, '$.kind'), i.id, "
                                     "(SELECT max(rank) FROM candidates c WHERE "
                                     " c.retrieval_id = r.id) "
                                     "FROM retrievals r JOIN indexes i ON i.id = r.index_id "
                                     "WHERE r.id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        fprintf(stderr, "pare eval: no retrieval %lld\n", (long long)rid);
        return PARE_EUSAGE;
    }
    int64_t maxk = sqlite3_column_int64(s, 7);
    json_t *info = json_pack(
        "{s:I, s:I, s:s, s:b, s:I, s:s, s:s}", "retrieval", (json_int_t)rid, "index",
        (json_int_t)sqlite3_column_int64(s, 6), "scope", (const char *)sqlite3_column_text(s, 1),
        "with_answer", sqlite3_column_int(s, 2), "rerank", (json_int_t)sqlite3_column_int64(s, 3),
        "factory", (const char *)sqlite3_column_text(s, 4), "embedder",
        (const char *)sqlite3_column_text(s, 5));
    sqlite3_reset(s);
    if (!info) abort();
    json_t *rows = json_array();
    static const int64_t cuts[] = {1, 2, 5, 10, 20, 50, 100};
    int rc = PARE_OK;
    for (size_t i = 0; i < ARRAY_SIZE(cuts) && rc == PARE_OK; i++)
        if (cuts[i] <= maxk) rc = recall_at(st, rid, cuts[i], rows);
    if (rc == PARE_OK && maxk > 0 && maxk != 100 && maxk != 50 && maxk != 20 && maxk != 10 &&
        maxk > 5)
        rc = recall_at(st, rid, maxk, rows);
    if (rc != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", store_errmsg(st));
        json_decref(info);
        json_decref(rows);
        return PARE_EFAIL;
    }
    json_object_set_new(info, "recall", rows);
    if (json_out) {
        if (json_dumpf(info, stdout, JSON_INDENT(2)) != 0) rc = PARE_EFAIL;
        printf("\n");
    } else {
        printf("retrieval %lld: index %lld (%s, %s embedder), %s scope%s\n\n", (long long)rid,
               (long long)json_integer_value(json_object_get(info, "index")),
               json_string_value(json_object_get(info, "factory")),
               json_string_value(json_object_get(info, "embedder")),
               json_string_value(json_object_get(info, "scope")),
               json_is_true(json_object_get(info, "with_answer")) ? ", query with answer" : "");
        printf("%-28s %5s %9s %8s %9s\n", "dataset", "k", "questions", "recall", "all gold");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            printf("%-28s %5lld %9lld %8.3f %9.3f\n",
                   json_string_value(json_object_get(r, "dataset")),
                   (long long)json_integer_value(json_object_get(r, "k")),
                   (long long)json_integer_value(json_object_get(r, "questions")),
                   json_real_value(json_object_get(r, "recall")),
                   json_real_value(json_object_get(r, "all_gold")));
        }
    }
    json_decref(info);
    return rc;
}

/* Per dataset and question type: sums for precision, recall, F1 of sets and top-K baselines. */
struct agg {
    char *dataset, *qtype;
    int64_t n, minimal, full_insufficient, errors, calls, cached;
    double p, r, f1;
    double kp[5], kr[5], kf[5];
    int64_t proven, unproven;
};

static void prf(const int64_t *a, int na, const int64_t *g, int ng, double *p, double *r, double *f)
{
    int hit = 0;
    for (int i = 0; i < na; i++)
        for (int k = 0; k < ng; k++)
            if (a[i] == g[k]) {
                hit++;
                break;
            }
    *p = na ? (double)hit / na : 0;
    *r = ng ? (double)hit / ng : 0;
    *f = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

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

/* Whether the cache proves set m (n members) 1-minimal for question q under judge fp: a
 * sufficient verdict on m and an insufficient one on every m minus one member. */
static int proven_minimal(struct store *st, const char *fp, int64_t q, const int64_t *m, int n)
{
    int64_t sub[64];
    unsigned char key[16];
    for (int drop = -1; drop < n; drop++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (i != drop) sub[k++] = m[i];
        if (k == 0) continue; /* the empty set is insufficient by definition */
        judge_key(fp, q, sub, k, key);
        sqlite3_stmt *s = store_stmt(st, "SELECT verdict FROM judge_calls WHERE key = ?1");
        int64_t v = -1;
        if (!s || sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC) || store_int(st, s, &v) != 1)
            return 0;
        if (v != (drop < 0 ? 1 : 0)) return 0;
    }
    return 1;
}

static int eval_sets(struct store *st, int64_t rid, int json_out, int by_type)
{
    struct sbuf err = {0};
    if (store_retrieval(st, &rid, 1, &err) != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    sqlite3_stmt *s = store_stmt(
        st, "SELECT e.id, e.question_id, e.judge, e.method, e.status, e.judge_calls, "
            "e.cached_calls, d.name, CASE WHEN ?2 THEN coalesce(q.qtype, '') ELSE 'all' END "
            "FROM evidence_sets e "
            "JOIN questions q ON q.id = e.question_id JOIN datasets d ON d.id = q.dataset_id "
            "WHERE EXISTS (SELECT 1 FROM candidates c WHERE c.retrieval_id = ?1 AND "
            "c.question_id = e.question_id) ORDER BY e.judge, e.method, d.id, q.qtype, e.id");
    if (!s || sqlite3_bind_int64(s, 1, rid) || sqlite3_bind_int(s, 2, by_type)) return PARE_EFAIL;
    /* rows first (statements below reuse the connection) */
    struct row {
        int64_t set, q, calls, cached;
        char *judge, *method, *status, *ds, *qt;
    } *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)&rows, &cap, n + 1, sizeof *rows);
        struct row *r = &rows[n++];
        r->set = sqlite3_column_int64(s, 0);
        r->q = sqlite3_column_int64(s, 1);
        r->judge = xstrdup((const char *)sqlite3_column_text(s, 2));
        r->method = xstrdup((const char *)sqlite3_column_text(s, 3));
        r->status = xstrdup((const char *)sqlite3_column_text(s, 4));
        r->calls = sqlite3_column_int64(s, 5);
        r->cached = sqlite3_column_int64(s, 6);
        r->ds = xstrdup((const char *)sqlite3_column_text(s, 7));
        r->qt = xstrdup((const char *)sqlite3_column_text(s, 8));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return PARE_EFAIL;
    json_t *groups = json_array();
    struct agg a = {0}, tot = {0};
    const char *cur_judge = NULL, *cur_method = NULL;
    int out = PARE_OK;
    for (size_t i = 0; i <= n && out == PARE_OK; i++) {
        struct row *r = i < n ? &rows[i] : NULL;
        int boundary = !r || !a.dataset || strcmp(r->ds, a.dataset) != 0 ||
                       strcmp(r->qt, a.qtype) != 0 || strcmp(r->judge, cur_judge) != 0 ||
                       strcmp(r->method, cur_method) != 0;
        if (boundary && a.dataset) {
            double m = (double)(a.minimal + a.full_insufficient);
            json_t *g = json_pack(
                "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I}",
                "judge", cur_judge, "method", cur_method, "dataset", a.dataset, "qtype", a.qtype,
                "questions", (json_int_t)a.n, "minimal", (json_int_t)a.minimal, "full_insufficient",
                (json_int_t)a.full_insufficient, "error", (json_int_t)a.errors, "precision",
                m ? a.p / m : 0, "recall", m ? a.r / m : 0, "f1", m ? a.f1 / m : 0,
                "calls_per_question", a.n ? (double)a.calls / a.n : 0, "cached_per_question",
                a.n ? (double)a.cached / a.n : 0, "proven_minimal", (json_int_t)a.proven,
                "unproven", (json_int_t)a.unproven);
            json_t *top = json_array();
            for (int k = 0; k < 5; k++)
                json_array_append_new(top,
                                      json_pack("{s:i, s:f, s:f, s:f}", "k", k + 1, "precision",
                                                m ? a.kp[k] / m : 0, "recall", m ? a.kr[k] / m : 0,
                                                "f1", m ? a.kf[k] / m : 0));
            json_object_set_new(g, "top_k", top);
            json_array_append_new(groups, g);
            free(a.dataset);
            free(a.qtype);
            memset(&a, 0, sizeof a);
        }
        if (!r) break;
        if (!a.dataset) {
            a.dataset = xstrdup(r->ds);
            a.qtype = xstrdup(r->qt);
            cur_judge = r->judge;
            cur_method = r->method;
        }
        a.n++;
        a.calls += r->calls;
        a.cached += r->cached;
        if (r->status[0] == 'e') {
            a.errors++;
            continue;
        }
        int64_t gold[64], mem[64], cand[64];
        int ng = load_ids(st,
                          "SELECT DISTINCT passage_id FROM question_passages WHERE "
                          "question_id = ?1 AND is_gold AND ?2 = ?2",
                          r->q, 0, gold, 64);
        int nm = load_ids(st,
                          "SELECT passage_id FROM evidence_members WHERE set_id = ?1 AND "
                          "?2 = ?2 ORDER BY rank",
                          r->set, 0, mem, 64);
        int nc = load_ids(st,
                          "SELECT passage_id FROM candidates WHERE retrieval_id = ?1 AND "
                          "question_id = ?2 ORDER BY rank",
                          rid, r->q, cand, 64);
        if (ng < 0 || nm < 0 || nc < 0) {
            out = PARE_EFAIL;
            break;
        }
        double p, rr, f;
        if (r->status[0] == 'm') {
            a.minimal++;
            prf(mem, nm, gold, ng, &p, &rr, &f);
            a.p += p;
            a.r += rr;
            a.f1 += f;
            if (proven_minimal(st, r->judge, r->q, mem, nm))
                a.proven++;
            else
                a.unproven++;
        } else {
            a.full_insufficient++;
        }
        for (int k = 0; k < 5; k++) {
            prf(cand, nc < k + 1 ? nc : k + 1, gold, ng, &p, &rr, &f);
            a.kp[k] += p;
            a.kr[k] += rr;
            a.kf[k] += f;
        }
    }
    (void)tot;
    if (out == PARE_OK && json_out) {
        json_t *o = json_pack("{s:I, s:o}", "retrieval", (json_int_t)rid, "sets", groups);
        if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) out = PARE_EFAIL;
        printf("\n");
        json_decref(o);
        groups = NULL;
    } else if (out == PARE_OK) {
        printf("%-22s %-5s %-24s %-11s %5s %6s %6s %6s %6s %7s  %s\n", "judge", "meth", "dataset",
               "type", "n", "P", "R", "F1", "calls", "1-min", "top-K F1 (K=1..5)");
        size_t gi;
        json_t *g;
        json_array_foreach(groups, gi, g)
        {
            json_t *top = json_object_get(g, "top_k");
            printf("%-22.22s %-5s %-24.24s %-11.11s %5lld %6.3f %6.3f %6.3f %6.1f %3lld/%-3lld ",
                   json_string_value(json_object_get(g, "judge")),
                   json_string_value(json_object_get(g, "method")),
                   json_string_value(json_object_get(g, "dataset")),
                   json_string_value(json_object_get(g, "qtype")),
                   (long long)json_integer_value(json_object_get(g, "questions")),
                   json_real_value(json_object_get(g, "precision")),
                   json_real_value(json_object_get(g, "recall")),
                   json_real_value(json_object_get(g, "f1")),
                   json_real_value(json_object_get(g, "calls_per_question")),
                   (long long)json_integer_value(json_object_get(g, "proven_minimal")),
                   (long long)json_integer_value(json_object_get(g, "minimal")));
            for (int k = 0; k < 5; k++)
                printf(" %.3f",
                       json_real_value(json_object_get(json_array_get(top, (size_t)k), "f1")));
            printf("\n");
        }
    }
    json_decref(groups);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].judge);
        free(rows[i].method);
        free(rows[i].status);
        free(rows[i].ds);
        free(rows[i].qt);
    }
    free(rows);
    free(a.dataset);
    free(a.qtype);
    return out;
}

int job_eval(struct pare_ctx *ctx, int argc, char **argv)
{
    int retrieval = 0, json_out = 0, by_type = 0;
    int64_t rid = 0;
    const struct opt opts[] = {
        {"retrieval", OPT_FLAG, &retrieval, NULL, NULL,
         "evaluate retrieved candidates (default: evaluate mined evidence sets)"},
        {"id", OPT_INT, &rid, "0", "ID", "the retrieval whose candidates to use (0: the newest)"},
        {"by-type", OPT_FLAG, &by_type, NULL, NULL, "sets: one row per question type"},
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print one JSON object on stdout"},
        {NULL},
    };
    const struct cli cli = {"eval",
                            NULL,
                            "Measure candidates (and mined evidence sets) against the gold "
                            "passages.",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct store *st;
    struct sbuf err = {0};
    if (store_open(pare_db_path(ctx), 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    rc = retrieval ? eval_retrieval(st, rid, json_out) : eval_sets(st, rid, json_out, by_type);
    if (rc == PARE_EFAIL) fprintf(stderr, "pare eval: %s\n", store_errmsg(st));
    store_close(st);
    return rc;
}
