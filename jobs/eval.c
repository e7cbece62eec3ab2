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
#include "stores/store.h"

static int latest_retrieval(struct store *st, int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT max(id) FROM retrievals");
    return s && store_int(st, s, id) == 1 && *id > 0 ? PARE_OK : PARE_EFAIL;
}

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
    if (rid == 0 && latest_retrieval(st, &rid) != PARE_OK) {
        fprintf(stderr, "pare eval: the database has no retrieval yet: run pare retrieve\n");
        return PARE_EUSAGE;
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

int job_eval(struct pare_ctx *ctx, int argc, char **argv)
{
    int retrieval = 0, json_out = 0;
    int64_t rid = 0;
    const struct opt opts[] = {
        {"retrieval", OPT_FLAG, &retrieval, NULL, NULL, "evaluate retrieved candidates"},
        {"id", OPT_INT, &rid, "0", "ID", "the retrieval to evaluate (0: the newest)"},
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
    char **args;
    int nargs;
    int rc = cli_parse(&cli, ctx, argc, argv, &args, &nargs);
    free(args);
    if (rc != PARE_OK) return rc == CLI_HELP ? PARE_OK : rc;
    struct store *st;
    struct sbuf err = {0};
    if (store_open(pare_db_path(ctx), 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare eval: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    if (!retrieval) {
        fprintf(stderr, "pare eval: say what to evaluate: --retrieval\n");
        rc = PARE_EUSAGE;
    } else {
        rc = eval_retrieval(st, rid, json_out);
    }
    store_close(st);
    return rc;
}
