/*
 * retrieve.c - `pare retrieve`: the candidate passages of every question.
 *
 * Scope corpus searches the whole index; scope context ranks each question's own passages (the
 * distractor setting). The query is the question, or the question and its first gold answer
 * (--with-answer, as Context-Picker builds its candidate pool). With the hash embedder, the
 * best --rerank FAISS hits are re-scored by the exact BM25 of the same features, which removes
 * hashing's collision noise; context scope uses that exact score for all its passages.
 *
 * Candidates are stored per retrieval configuration, one transaction per batch of questions;
 * a rerun skips questions that already have candidates.
 */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/catalog.h"
#include "index/vectors.h"
#include "jobs/jobs.h"
#include "jobs/job.h"

struct query {
    int64_t qid;
    char *text;
    int64_t *cand; /* passage ids, best first */
    double *score;
    int n_cand;
};

/* Passage texts needed by one batch, sorted by id for lookup. */
struct texts {
    int64_t *ids;
    char **titles;
    struct sbuf *bodies;
    size_t n, cap;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void texts_free(struct texts *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->titles[i]);
        sbuf_free(&t->bodies[i]);
    }
    free(t->ids);
    free(t->titles);
    free(t->bodies);
}

/* Loads the texts of the given passage ids (any order, repeats allowed). */
static int texts_load(struct store *st, struct blob_codec *codec, int64_t *ids, size_t n,
                      struct texts *t, struct sbuf *err)
{
    qsort(ids, n, sizeof *ids, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ids[i] != ids[u - 1]) ids[u++] = ids[i];
    if (u > t->cap) {
        t->ids = xrealloc(t->ids, u * sizeof *t->ids);
        t->titles = xrealloc(t->titles, u * sizeof *t->titles);
        t->bodies = xrealloc(t->bodies, u * sizeof *t->bodies);
        for (size_t i = t->cap; i < u; i++) {
            t->titles[i] = NULL;
            memset(&t->bodies[i], 0, sizeof t->bodies[i]);
        }
        t->cap = u;
    }
    t->n = u;
    for (size_t i = 0; i < u; i++) {
        t->ids[i] = ids[i];
        struct sbuf title = {0};
        int rc = store_text(st, codec, ids[i], &title, &t->bodies[i], err);
        free(t->titles[i]);
        t->titles[i] = sbuf_detach(&title);
        if (rc != PARE_OK) return rc;
    }
    return PARE_OK;
}

static size_t texts_find(const struct texts *t, int64_t id)
{
    const int64_t *p = bsearch(&id, t->ids, t->n, sizeof id, cmp_i64);
    return p ? (size_t)(p - t->ids) : (size_t)-1;
}

/* Sorts a question's candidates by score, best first (stable on passage id for ties). */
static void sort_cands(struct query *q)
{
    for (int i = 1; i < q->n_cand; i++) { /* n is small (k or rerank depth): insertion sort */
        int64_t c = q->cand[i];
        double s = q->score[i];
        int j = i - 1;
        while (j >= 0 && (q->score[j] < s || (q->score[j] == s && q->cand[j] > c))) {
            q->cand[j + 1] = q->cand[j];
            q->score[j + 1] = q->score[j];
            j--;
        }
        q->cand[j + 1] = c;
        q->score[j + 1] = s;
    }
}

/* Exact BM25 of every candidate of every query (hash embedder), then sorted. */
static void rescore_exact(const struct embedder *e, struct query *qs, int nq, const struct texts *t,
                          struct hfeats *scratch)
{
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < nq; i++) {
        struct hfeats *qf = &scratch[2 * omp_get_thread_num()];
        struct hfeats *df = &scratch[2 * omp_get_thread_num() + 1];
        hash_features(e, NULL, qs[i].text, strlen(qs[i].text), qf);
        for (int c = 0; c < qs[i].n_cand; c++) {
            size_t k = texts_find(t, qs[i].cand[c]);
            if (k == (size_t)-1) continue; /* loaded above: cannot happen */
            hash_features(e, t->titles[k], t->bodies[k].p, t->bodies[k].len, df);
            qs[i].score[c] = hash_bm25(e, qf, df);
        }
        sort_cands(&qs[i]);
    }
}

struct retr {
    struct store *st;
    struct job job;
    struct pare_index *ix;
    struct blob_codec *codec;
    struct hfeats *scratch;
    int64_t retrieval_id, k, rerank;
    int corpus, with_answer;
    /* file embedder queries */
    float *qvec;
    int64_t *qvec_qid; /* sorted question ids, and the row of each */
    int64_t *qvec_row;
    int64_t n_qvec;
    struct openai_cfg oc; /* openai embedder queries */
    int64_t *passage_row; /* sorted (passage id, row) pairs for context scope with vectors */
    size_t n_prow;
    struct sbuf err;
};

static int find_row(const int64_t *keys, const int64_t *vals, int64_t n, int64_t key, int64_t *out)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (keys[mid] == key) {
            *out = vals[mid];
            return 1;
        }
        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* The query vector of question i of the batch into out. */
static int query_vector(struct retr *r, struct query *q, float *out, struct hfeats *f)
{
    int dim = embedder_dim(r->ix->emb);
    if (embedder_kind(r->ix->emb) == EMBED_HASH) {
        hash_features(r->ix->emb, NULL, q->text, strlen(q->text), f);
        hash_vector(r->ix->emb, f, out);
        return PARE_OK;
    }
    int64_t row;
    if (!r->qvec || !find_row(r->qvec_qid, r->qvec_row, r->n_qvec, q->qid, &row)) return -1;
    memcpy(out, r->qvec + (size_t)row * (size_t)dim, sizeof *out * (size_t)dim);
    return PARE_OK;
}

/* openai embedder: the batch's query texts through the embeddings server. */
static int embed_queries(struct retr *r, struct query *qs, int nq, float *out)
{
    const char **texts = xmalloc(sizeof *texts * (size_t)nq);
    for (int i = 0; i < nq; i++) texts[i] = qs[i].text;
    float *v = NULL;
    int dim = embedder_dim(r->ix->emb);
    int rc = openai_embed(&r->oc, (size_t)nq, texts, &v, &dim, &r->err);
    if (rc == PARE_OK) memcpy(out, v, sizeof *v * (size_t)nq * (size_t)dim);
    free(v);
    free(texts);
    return rc;
}

static int corpus_batch(struct retr *r, struct query *qs, int nq)
{
    int dim = embedder_dim(r->ix->emb);
    int is_hash = embedder_kind(r->ix->emb) == EMBED_HASH;
    int64_t depth = is_hash && r->rerank > r->k ? r->rerank : r->k;
    if (depth > r->ix->n_rows) depth = r->ix->n_rows;
    float *qv = xmalloc(sizeof *qv * (size_t)nq * (size_t)dim);
    float *sc = xmalloc(sizeof *sc * (size_t)nq * (size_t)depth);
    int64_t *lab = xmalloc(sizeof *lab * (size_t)nq * (size_t)depth);
    int missing = -1, rc = PARE_OK;
    if (embedder_kind(r->ix->emb) == EMBED_OPENAI) {
        rc = embed_queries(r, qs, nq, qv);
    } else {
#pragma omp parallel for schedule(dynamic, 8)
        for (int i = 0; i < nq; i++)
            if (query_vector(r, &qs[i], qv + (size_t)i * (size_t)dim,
                             &r->scratch[2 * omp_get_thread_num()]) != PARE_OK)
#pragma omp critical(retrieve_missing)
                missing = i;
    }
    if (missing >= 0) {
        sbuf_setf(&r->err, "question %lld has no query vector in --query-vectors",
                  (long long)qs[missing].qid);
        rc = PARE_EINPUT;
    }
    if (rc == PARE_OK) rc = vindex_search(r->ix->vx, nq, qv, depth, sc, lab, &r->err);
    int64_t *all = xmalloc(sizeof *all * ((size_t)nq * (size_t)depth + 1));
    size_t n_all = 0;
    for (int i = 0; i < nq && rc == PARE_OK; i++) {
        qs[i].cand = xmalloc(sizeof *qs[i].cand * (size_t)depth);
        qs[i].score = xmalloc(sizeof *qs[i].score * (size_t)depth);
        qs[i].n_cand = 0;
        for (int64_t j = 0; j < depth; j++) {
            int64_t row = lab[(size_t)i * (size_t)depth + (size_t)j];
            if (row < 0 || row >= r->ix->n_rows) continue;
            qs[i].cand[qs[i].n_cand] = r->ix->row_passage[row];
            qs[i].score[qs[i].n_cand++] = sc[(size_t)i * (size_t)depth + (size_t)j];
            all[n_all++] = r->ix->row_passage[row];
        }
    }
    if (rc == PARE_OK && is_hash && r->rerank > 0) {
        struct texts t = {0};
        rc = texts_load(r->st, r->codec, all, n_all, &t, &r->err);
        if (rc == PARE_OK) rescore_exact(r->ix->emb, qs, nq, &t, r->scratch);
        texts_free(&t);
    }
    free(all);
    free(qv);
    free(sc);
    free(lab);
    return rc;
}

static int context_batch(struct retr *r, struct query *qs, int nq)
{
    int rc = PARE_OK;
    int64_t *all = NULL;
    size_t n_all = 0, cap_all = 0;
    for (int i = 0; i < nq && rc == PARE_OK; i++) {
        sqlite3_stmt *s = store_stmt(r->st, "SELECT passage_id FROM question_passages "
                                            "WHERE question_id = ?1 ORDER BY position");
        if (!s || sqlite3_bind_int64(s, 1, qs[i].qid)) {
            sbuf_setf(&r->err, "%s", store_errmsg(r->st));
            return PARE_EFAIL;
        }
        size_t cap = 0;
        int src;
        while ((src = sqlite3_step(s)) == SQLITE_ROW) {
            /* a context may hold the same passage twice (2Wiki does): rank it once */
            int64_t pid = sqlite3_column_int64(s, 0), dup = 0;
            for (int k = 0; k < qs[i].n_cand; k++) dup |= qs[i].cand[k] == pid;
            if (dup) continue;
            xgrow((void **)&qs[i].cand, &cap, (size_t)qs[i].n_cand + 1, sizeof *qs[i].cand);
            qs[i].cand[qs[i].n_cand++] = pid;
            xgrow((void **)&all, &cap_all, n_all + 1, sizeof *all);
            all[n_all++] = sqlite3_column_int64(s, 0);
        }
        sqlite3_reset(s);
        if (src != SQLITE_DONE) {
            sbuf_setf(&r->err, "%s", store_errmsg(r->st));
            rc = PARE_EFAIL;
        }
        qs[i].score = xcalloc((size_t)qs[i].n_cand + 1, sizeof *qs[i].score);
    }
    if (rc == PARE_OK && embedder_kind(r->ix->emb) == EMBED_HASH) {
        struct texts t = {0};
        rc = texts_load(r->st, r->codec, all, n_all, &t, &r->err);
        if (rc == PARE_OK) rescore_exact(r->ix->emb, qs, nq, &t, r->scratch);
        texts_free(&t);
    } else if (rc == PARE_OK) { /* dense: query . stored passage vector */
        int dim = embedder_dim(r->ix->emb);
        float *qv = xmalloc(sizeof *qv * (size_t)dim), *pv = xmalloc(sizeof *pv * (size_t)dim);
        float *oq = NULL;
        if (embedder_kind(r->ix->emb) == EMBED_OPENAI) {
            oq = xmalloc(sizeof *oq * (size_t)nq * (size_t)dim);
            rc = embed_queries(r, qs, nq, oq);
        }
        for (int i = 0; i < nq && rc == PARE_OK; i++) {
            if (oq)
                memcpy(qv, oq + (size_t)i * (size_t)dim, sizeof *qv * (size_t)dim);
            else if (query_vector(r, &qs[i], qv, NULL) != PARE_OK) {
                sbuf_setf(&r->err, "question %lld has no query vector in --query-vectors",
                          (long long)qs[i].qid);
                rc = PARE_EINPUT;
                break;
            }
            for (int c = 0; c < qs[i].n_cand && rc == PARE_OK; c++) {
                int64_t row;
                if (!find_row(r->passage_row, r->passage_row + r->n_prow, (int64_t)r->n_prow,
                              qs[i].cand[c], &row)) {
                    sbuf_setf(&r->err,
                              "passage %lld is not in index %lld (ingested after it "
                              "was built? run pare index again)",
                              (long long)qs[i].cand[c], (long long)r->ix->id);
                    rc = PARE_EFAIL;
                    break;
                }
                rc = vindex_reconstruct(r->ix->vx, row, pv, &r->err);
                double d = 0;
                for (int k = 0; k < dim; k++) d += (double)qv[k] * pv[k];
                qs[i].score[c] = d;
            }
            sort_cands(&qs[i]);
        }
        free(qv);
        free(pv);
        free(oq);
    }
    free(all);
    return rc;
}

static int store_batch(struct retr *r, struct query *qs, int nq)
{
    if (store_begin(r->st) != PARE_OK) goto fail;
    for (int i = 0; i < nq; i++) {
        int n = qs[i].n_cand;
        if (r->k > 0 && n > r->k) n = (int)r->k;
        for (int c = 0; c < n; c++) {
            sqlite3_stmt *s = store_stmt(r->st, "INSERT INTO candidates(retrieval_id, "
                                                "question_id, passage_id, rank, score) "
                                                "VALUES (?1, ?2, ?3, ?4, ?5)");
            if (!s || sqlite3_bind_int64(s, 1, r->retrieval_id) ||
                sqlite3_bind_int64(s, 2, qs[i].qid) || sqlite3_bind_int64(s, 3, qs[i].cand[c]) ||
                sqlite3_bind_int(s, 4, c + 1) || sqlite3_bind_double(s, 5, qs[i].score[c]) ||
                store_done(r->st, s))
                goto fail;
        }
    }
    if (store_commit(r->st) != PARE_OK) goto fail;
    return PARE_OK;
fail:
    sbuf_setf(&r->err, "storing candidates: %s", store_errmsg(r->st));
    store_rollback(r->st);
    return PARE_EFAIL;
}

/* Loads --query-vectors for a file-embedder index: rows keyed by question id. */
static int load_query_vectors(struct retr *r, const char *vectors, const char *ids,
                              const char *kind)
{
    int dim;
    int64_t rows;
    char **idl;
    int rc = vectors_load(vectors, ids, &r->qvec, &dim, &rows, &idl, &r->err);
    if (rc != PARE_OK) return rc;
    if (dim != embedder_dim(r->ix->emb)) {
        sbuf_setf(&r->err, "%s: query vectors have dimension %d, index %lld has %d", vectors, dim,
                  (long long)r->ix->id, embedder_dim(r->ix->emb));
        rc = PARE_EINPUT;
    }
    int64_t *pairs = xmalloc(sizeof *pairs * 2 * (size_t)(rows + 1));
    int64_t n = 0;
    for (int64_t i = 0; i < rows && rc == PARE_OK; i++) {
        int64_t qid = 0;
        if (strcmp(kind, "ext") == 0) {
            sqlite3_stmt *s = store_stmt(r->st, "SELECT id FROM questions WHERE ext_id = ?1 "
                                                "ORDER BY id LIMIT 1");
            if (!s || sqlite3_bind_text(s, 1, idl[i], -1, SQLITE_STATIC) ||
                store_int(r->st, s, &qid) != 1)
                qid = -1;
        } else if (vectors_numeric_id(idl[i], &qid) != 0) {
            qid = -1;
        }
        if (qid < 0) {
            sbuf_setf(&r->err, "%s:%lld: no question with id '%s'", ids, (long long)i + 1, idl[i]);
            rc = PARE_EINPUT;
        }
        pairs[2 * n] = qid;
        pairs[2 * n + 1] = i;
        n++;
    }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_i64); /* (qid, row) pairs by qid */
    r->qvec_qid = xmalloc(sizeof *r->qvec_qid * (size_t)(n + 1));
    r->qvec_row = xmalloc(sizeof *r->qvec_row * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        r->qvec_qid[i] = pairs[2 * i];
        r->qvec_row[i] = pairs[2 * i + 1];
    }
    r->n_qvec = n;
    free(pairs);
    vectors_free_ids(idl, rows);
    return rc;
}

/* The passage -> row map of the index, sorted by passage (keys then values, n each). */
static void build_passage_rows(struct retr *r)
{
    int64_t n = r->ix->n_rows;
    int64_t *pairs = xmalloc(sizeof *pairs * 2 * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        pairs[2 * i] = r->ix->row_passage[i];
        pairs[2 * i + 1] = i;
    }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_i64);
    r->passage_row = xmalloc(sizeof *r->passage_row * 2 * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        r->passage_row[i] = pairs[2 * i];
        r->passage_row[n + i] = pairs[2 * i + 1];
    }
    r->n_prow = (size_t)n;
    free(pairs);
}

static int retrieval_row(struct retr *r)
{
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(r->st, "INSERT INTO retrievals(index_id, scope, k, with_answer, "
                                        "rerank, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                        "ON CONFLICT DO NOTHING");
    const char *scope = r->corpus ? "corpus" : "context";
    if (!s || sqlite3_bind_int64(s, 1, r->ix->id) ||
        sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 3, r->k) ||
        sqlite3_bind_int(s, 4, r->with_answer) || sqlite3_bind_int64(s, 5, r->rerank) ||
        sqlite3_bind_text(s, 6, ts, -1, SQLITE_TRANSIENT) || store_done(r->st, s))
        goto fail;
    s = store_stmt(r->st, "SELECT id FROM retrievals WHERE index_id = ?1 AND scope = ?2 AND "
                          "k = ?3 AND with_answer = ?4 AND rerank = ?5");
    if (!s || sqlite3_bind_int64(s, 1, r->ix->id) ||
        sqlite3_bind_text(s, 2, scope, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 3, r->k) ||
        sqlite3_bind_int(s, 4, r->with_answer) || sqlite3_bind_int64(s, 5, r->rerank) ||
        store_int(r->st, s, &r->retrieval_id) != 1)
        goto fail;
    return PARE_OK;
fail:
    sbuf_setf(&r->err, "recording the retrieval: %s", store_errmsg(r->st));
    return PARE_EFAIL;
}

/* The next batch of questions without candidates in this retrieval, after question `after`. */
static int next_questions(struct retr *r, int64_t after, int64_t n, const char *dataset,
                          struct query *qs, int *nq)
{
    sqlite3_stmt *s = store_stmt(
        r->st, "SELECT q.id, q.question, json_extract(q.answers, '$[0]') FROM questions q "
               "JOIN datasets d ON d.id = q.dataset_id "
               "WHERE q.id > ?1 AND (?2 IS NULL OR d.name = ?2) AND NOT EXISTS "
               "(SELECT 1 FROM candidates c WHERE c.retrieval_id = ?3 AND c.question_id = q.id) "
               "ORDER BY q.id LIMIT ?4");
    if (!s || sqlite3_bind_int64(s, 1, after) ||
        sqlite3_bind_text(s, 2, dataset, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(s, 3, r->retrieval_id) || sqlite3_bind_int64(s, 4, n)) {
        sbuf_setf(&r->err, "%s", store_errmsg(r->st));
        return PARE_EFAIL;
    }
    *nq = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct query *q = &qs[(*nq)++];
        memset(q, 0, sizeof *q);
        q->qid = sqlite3_column_int64(s, 0);
        struct sbuf t = {0};
        sbuf_adds(&t, (const char *)sqlite3_column_text(s, 1));
        if (r->with_answer && sqlite3_column_text(s, 2)) {
            sbuf_addc(&t, ' ');
            sbuf_adds(&t, (const char *)sqlite3_column_text(s, 2));
        }
        q->text = sbuf_detach(&t);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        sbuf_setf(&r->err, "%s", store_errmsg(r->st));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

static void free_queries(struct query *qs, int n)
{
    for (int i = 0; i < n; i++) {
        free(qs[i].text);
        free(qs[i].cand);
        free(qs[i].score);
    }
}

int job_retrieve(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *want_emb = NULL;
    const char *scope = NULL, *params = NULL, *dataset = NULL, *qvec = NULL, *qids = NULL,
               *qids_kind = NULL;
    int64_t index_id = 0, k = -1, rerank = 100, limit = 0, batch = 256;
    int with_answer = 0;
    struct openai_opts oa = {.request_size = 64};
    char *model_name = NULL;
    const struct opt opts[] = {
        {"index", OPT_INT, &index_id, "0", "ID", "index to search (0: the newest)"},
        {"k", OPT_INT, &k, "-1", "K",
         "candidates per question (-1: 10 in corpus scope, all in context scope)"},
        {"scope", OPT_STRING, &scope, "corpus", "S",
         "corpus (whole index) or context (the question's own passages)"},
        {"embedder", OPT_STRING, &want_emb, NULL, "KIND",
         "fail unless the index was built with this embedder (hash, file, openai)"},
        {"with-answer", OPT_FLAG, &with_answer, NULL, NULL,
         "query with the question and its first gold answer (Context-Picker's pool)"},
        {"rerank", OPT_INT, &rerank, "100", "R",
         "hash embedder: re-score the best R hits by exact BM25 (0: off)"},
        {"params", OPT_STRING, &params, "", "P", "FAISS search parameters, e.g. nprobe=16"},
        {"dataset", OPT_STRING, &dataset, NULL, "NAME", "only this dataset's questions"},
        {"limit", OPT_INT, &limit, "0", "N", "at most N questions this run (0: all)"},
        {"batch", OPT_INT, &batch, "256", "N", "questions searched and stored at a time"},
        {"max-concurrency", OPT_INT, &oa.max_concurrency, "8", "N", "openai: requests in flight"},
        {"timeout", OPT_DOUBLE, &oa.timeout_s, "60", "S", "openai: seconds per request"},
        {"max-retries", OPT_INT, &oa.max_retries, "5", "N", "openai: retries of a failed request"},
        {"query-vectors", OPT_STRING, &qvec, NULL, "FILE",
         "file embedder: question vectors (.npy or .fvecs)"},
        {"query-ids", OPT_STRING, &qids, NULL, "FILE", "file embedder: one question id per line"},
        {"query-ids-kind", OPT_STRING, &qids_kind, "id", "KIND",
         "question ids are pare's (id) or the dataset's (ext)"},
        {NULL},
    };
    const struct cli cli = {
        "retrieve", NULL, "Find the candidate passages of every question with a FAISS index.",
        NULL,       opts, 0,
        0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct retr r = {0};
    if (strcmp(scope, "corpus") == 0)
        r.corpus = 1;
    else if (strcmp(scope, "context") != 0) {
        fprintf(stderr, "pare retrieve: --scope must be corpus or context\n");
        return PARE_EUSAGE;
    }
    enum embed_kind want_kind;
    const char *why = NULL;
    if (k == 0 || k < -1)
        why = "--k must be positive, or -1 for the scope's default";
    else if (batch < 1)
        why = "--batch must be positive";
    else if (rerank < 0)
        why = "--rerank must not be negative";
    else if (limit < 0)
        why = "--limit must not be negative";
    else if (want_emb && embed_kind_parse(want_emb, &want_kind) != 0)
        why = "--embedder must be hash, file or openai";
    else if (strcmp(qids_kind, "id") != 0 && strcmp(qids_kind, "ext") != 0)
        why = "--query-ids-kind must be id or ext";
    if (why) {
        fprintf(stderr, "pare retrieve: %s\n", why);
        return PARE_EUSAGE;
    }
    r.k = k > 0 ? k : (r.corpus ? 10 : 0);
    r.with_answer = with_answer;
    if (job_open(&r.job, ctx, "retrieve", 0, argc, argv, &r.st) != PARE_OK) {
        return PARE_EFAIL;
    }
    rc = catalog_load(r.st, index_id, &r.ix, &r.err);
    enum embed_kind ek = rc == PARE_OK ? embedder_kind(r.ix->emb) : EMBED_HASH;
    if (rc == PARE_OK && want_emb && strcmp(want_emb, embed_kind_name(ek)) != 0) {
        sbuf_setf(&r.err, "index %lld was built with the %s embedder, not %s", (long long)r.ix->id,
                  embed_kind_name(ek), want_emb);
        rc = PARE_EUSAGE;
    }
    if (rc == PARE_OK) {
        r.rerank = ek == EMBED_HASH ? rerank : 0;
        if (ek == EMBED_OPENAI) {
            json_t *d = embedder_describe(r.ix->emb);
            const char *model = json_string_value(json_object_get(d, "model"));
            model_name = xstrdup(model ? model : "");
            json_decref(d);
            oa.model = model_name;
            rc = openai_cfg_init(&r.oc, &oa, &r.err);
        } else if (ek == EMBED_FILE && !qvec) {
            sbuf_setf(&r.err,
                      "index %lld uses the file embedder: give the questions' vectors with "
                      "--query-vectors and --query-ids",
                      (long long)r.ix->id);
            rc = PARE_EUSAGE;
        } else if (qvec && !qids) {
            sbuf_setf(&r.err, "--query-vectors needs --query-ids");
            rc = PARE_EUSAGE;
        }
    }
    if (rc == PARE_OK) rc = vindex_set_params(r.ix->vx, params, &r.err);
    if (rc == PARE_OK && qvec) rc = load_query_vectors(&r, qvec, qids, qids_kind);
    if (rc == PARE_OK && !r.corpus && embedder_kind(r.ix->emb) != EMBED_HASH)
        build_passage_rows(&r);
    if (rc == PARE_OK) rc = retrieval_row(&r);
    int nt = omp_get_max_threads();
    r.scratch = xcalloc(2 * (size_t)nt, sizeof *r.scratch);
    r.codec = store_codec(r.st);
    struct query *qs = xcalloc((size_t)batch, sizeof *qs);
    int64_t done = 0, after = 0;
    while (rc == PARE_OK && (limit == 0 || done < limit)) {
        int nq = 0;
        int64_t want = limit ? (limit - done < batch ? limit - done : batch) : batch;
        rc = next_questions(&r, after, want, dataset, qs, &nq);
        if (rc != PARE_OK || nq == 0) {
            free_queries(qs, nq);
            break;
        }
        after = qs[nq - 1].qid;
        rc = r.corpus ? corpus_batch(&r, qs, nq) : context_batch(&r, qs, nq);
        if (rc == PARE_OK) rc = store_batch(&r, qs, nq);
        free_queries(qs, nq);
        if (rc == PARE_OK) done += nq;
        job_progress(&r.job, "questions", (uint64_t)done, 0, 0, 0);
    }
    if (rc == PARE_OK) {
        job_say(&r.job, "retrieve: %lld questions, retrieval %lld (index %lld, %s scope, k %lld%s)",
                (long long)done, (long long)r.retrieval_id, (long long)r.ix->id, scope,
                (long long)r.k, with_answer ? ", with answer" : "");
        if (!ctx->nested) printf("%lld\n", (long long)r.retrieval_id);
    } else {
        fprintf(stderr, "pare retrieve: %s\n", sbuf_str(&r.err));
    }
    rc = job_end(&r.job, rc, done, 0, rc == PARE_OK ? NULL : sbuf_str(&r.err), NULL);
    for (int i = 0; i < 2 * nt; i++) hfeats_free(&r.scratch[i]);
    free(r.scratch);
    free(qs);
    free(r.qvec);
    free(r.qvec_qid);
    free(r.qvec_row);
    free(r.passage_row);
    free(model_name);
    blob_codec_free(r.codec);
    catalog_free(r.ix);
    sbuf_free(&r.err);
    store_close(r.st);
    return rc;
}
