/* search.c - see search.h. */
#include "index/search.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "index/vectors.h"

void searcher_init(struct searcher *s)
{
    s->n_scratch = 2 * omp_get_max_threads();
    s->scratch = xcalloc((size_t)s->n_scratch, sizeof *s->scratch);
    s->post = xcalloc((size_t)s->n_scratch, sizeof *s->post);
    s->hq = xcalloc((size_t)s->n_scratch, sizeof *s->hq);
    s->codec = store_codec(s->st);
}

void searcher_free(struct searcher *s)
{
    for (int i = 0; i < s->n_scratch; i++) {
        hfeats_free(&s->scratch[i]);
        if (s->post) post_scratch_free(s->post[i]);
        if (s->hq) hquery_free(&s->hq[i]);
    }
    free(s->scratch);
    free(s->post);
    free(s->hq);
    s->post = NULL;
    s->hq = NULL;
    free(s->qvec);
    free(s->qvec_qid);
    free(s->qvec_row);
    blob_codec_free(s->codec);
    s->scratch = NULL;
    s->n_scratch = 0;
    s->qvec = NULL;
    s->qvec_qid = s->qvec_row = NULL;
    s->n_qvec = 0;
    s->codec = NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The question of line i (1-based) of the ids file: its id, or -1 when there is none. */
static int64_t question_of(struct searcher *s, const char *name, int by_ext)
{
    int64_t qid = -1;
    if (by_ext) {
        sqlite3_stmt *q = store_stmt(s->st, "SELECT id FROM questions WHERE ext_id = ?1 "
                                            "ORDER BY id LIMIT 1");
        if (!q || sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC) ||
            store_int(s->st, q, &qid) != 1)
            qid = -1;
    } else if (vectors_numeric_id(name, &qid) != 0) {
        qid = -1;
    }
    return qid;
}

int searcher_query_vectors(struct searcher *s, const char *vectors, const char *ids, int by_ext,
                           struct sbuf *err)
{
    int dim;
    int64_t rows;
    char **idl;
    int rc = vectors_load(vectors, ids, &s->qvec, &dim, &rows, &idl, err);
    if (rc != PARE_OK) return rc;
    if (dim != embedder_dim(s->ix->emb)) {
        sbuf_setf(err, "%s: query vectors have dimension %d, index %lld has %d", vectors, dim,
                  (long long)s->ix->id, embedder_dim(s->ix->emb));
        rc = PARE_EINPUT;
    }
    int64_t *pairs = xmalloc(sizeof *pairs * 2 * (size_t)(rows + 1));
    int64_t n = 0;
    for (int64_t i = 0; i < rows && rc == PARE_OK; i++, n++) {
        pairs[2 * n] = question_of(s, idl[i], by_ext);
        pairs[2 * n + 1] = i;
        if (pairs[2 * n] < 0) {
            sbuf_setf(err, "%s:%lld: no question with id '%s'", ids, (long long)i + 1, idl[i]);
            rc = PARE_EINPUT;
        }
    }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_i64); /* (qid, row) pairs by qid */
    s->qvec_qid = xmalloc(sizeof *s->qvec_qid * (size_t)(n + 1));
    s->qvec_row = xmalloc(sizeof *s->qvec_row * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        s->qvec_qid[i] = pairs[2 * i];
        s->qvec_row[i] = pairs[2 * i + 1];
    }
    s->n_qvec = n;
    free(pairs);
    vectors_free_ids(idl, rows);
    return rc;
}

/* The row of question qid's vector in --query-vectors: 1 and *row, or 0 when none. */
static int qvec_row(const struct searcher *s, int64_t qid, int64_t *row)
{
    const int64_t *p =
        s->qvec_qid ? bsearch(&qid, s->qvec_qid, (size_t)s->n_qvec, sizeof qid, cmp_i64) : NULL;
    if (!p) return 0;
    *row = s->qvec_row[p - s->qvec_qid];
    return 1;
}

/* The query vector of one question into out: hashed, or from --query-vectors. */
static int query_vector(const struct searcher *s, const struct ranked *q, float *out,
                        struct hfeats *f)
{
    int dim = embedder_dim(s->ix->emb);
    if (embedder_kind(s->ix->emb) == EMBED_HASH) {
        hash_features(s->ix->emb, NULL, q->text, strlen(q->text), f);
        hash_vector(s->ix->emb, f, out);
        return PARE_OK;
    }
    int64_t row;
    if (!s->qvec || !qvec_row(s, q->qid, &row)) return -1;
    memcpy(out, s->qvec + (size_t)row * (size_t)dim, sizeof *out * (size_t)dim);
    return PARE_OK;
}

/* openai embedder: the batch's query texts through the embeddings server. */
static int embed_queries(struct searcher *s, struct ranked *qs, int nq, float *out,
                         struct sbuf *err)
{
    const char **texts = xmalloc(sizeof *texts * (size_t)nq);
    for (int i = 0; i < nq; i++) texts[i] = qs[i].text;
    float *v = NULL;
    int dim = embedder_dim(s->ix->emb);
    int rc = openai_embed(&s->oc, (size_t)nq, texts, &v, &dim, err);
    if (rc == PARE_OK) memcpy(out, v, sizeof *v * (size_t)nq * (size_t)dim);
    free(v);
    free(texts);
    return rc;
}

/* The query vectors of qs[0..nq) into qv (nq x dim). */
static int query_vectors(struct searcher *s, struct ranked *qs, int nq, float *qv, struct sbuf *err)
{
    int dim = embedder_dim(s->ix->emb);
    if (embedder_kind(s->ix->emb) == EMBED_OPENAI) return embed_queries(s, qs, nq, qv, err);
    int missing = -1;
#pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < nq; i++)
        if (query_vector(s, &qs[i], qv + (size_t)i * (size_t)dim,
                         &s->scratch[2 * omp_get_thread_num()]) != PARE_OK)
#pragma omp critical(search_missing)
            missing = i;
    if (missing >= 0) {
        sbuf_setf(err, "question %lld has no query vector in --query-vectors",
                  (long long)qs[missing].qid);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* The hits of question i of a FAISS search (depth per question) as its candidates. */
static void take_hits(const struct pare_index *ix, struct ranked *q, const float *sc,
                      const int64_t *lab, int64_t depth)
{
    q->cand = xmalloc(sizeof *q->cand * (size_t)(depth + 1));
    q->score = xmalloc(sizeof *q->score * (size_t)(depth + 1));
    q->n_cand = 0;
    for (int64_t j = 0; j < depth; j++) {
        int64_t row = lab[j];
        if (row < 0 || row >= ix->n_rows) continue;
        q->cand[q->n_cand] = ix->row_passage[row];
        q->score[q->n_cand++] = sc[j];
    }
}

/* One question's exact BM25 top k from a postings index (every passage scored when
 * `exhaustive`) as its candidates, best first. Thread t's scratch. */
static int postings_one(struct searcher *s, struct ranked *q, int t, int exhaustive,
                        struct sbuf *err)
{
    const struct pare_index *ix = s->ix;
    int64_t k = s->k < ix->n_rows ? s->k : ix->n_rows, n = 0;
    int64_t *rows = xmalloc(sizeof *rows * (size_t)(k + 1));
    q->cand = xmalloc(sizeof *q->cand * (size_t)(k + 1));
    q->score = xmalloc(sizeof *q->score * (size_t)(k + 1));
    hash_features(ix->emb, NULL, q->text, strlen(q->text), &s->scratch[2 * t]);
    hash_query(ix->emb, &s->scratch[2 * t], &s->hq[t]);
    if (!exhaustive && !s->post[t]) s->post[t] = post_scratch_new(ix->post);
    int rc = exhaustive
                 ? post_search_exhaustive(ix->feat, ix->emb, &s->hq[t], k, rows, q->score, &n, err)
                 : post_search(ix->post, ix->feat, ix->emb, &s->hq[t], k, s->post[t], rows,
                               q->score, &n, err);
    for (int64_t i = 0; i < n; i++) q->cand[i] = feat_passage(ix->feat, rows[i]);
    q->n_cand = (int)n;
    free(rows);
    return rc;
}

/* The candidates of qs[0..nq) from a postings index, questions spread over the threads. */
static int search_postings(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err)
{
    int exhaustive = s->rerank >= s->ix->n_rows, bad = -1;
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < nq; i++) {
        struct sbuf e = {0};
        if (postings_one(s, &qs[i], omp_get_thread_num(), exhaustive, &e) != PARE_OK)
#pragma omp critical(search_postings_err)
        {
            if (bad < 0) sbuf_setf(err, "%s", sbuf_str(&e));
            bad = i;
        }
        sbuf_free(&e);
    }
    return bad < 0 ? PARE_OK : PARE_EFAIL;
}

int search_corpus(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err)
{
    const struct pare_index *ix = s->ix;
    if (ix->post) return search_postings(s, qs, nq, err);
    int dim = embedder_dim(ix->emb);
    int is_hash = embedder_kind(ix->emb) == EMBED_HASH;
    int64_t depth = is_hash && s->rerank > s->k ? s->rerank : s->k;
    if (depth > ix->n_rows) depth = ix->n_rows;
    float *qv = xmalloc(sizeof *qv * (size_t)nq * (size_t)dim);
    float *sc = xmalloc(sizeof *sc * (size_t)nq * (size_t)depth);
    int64_t *lab = xmalloc(sizeof *lab * (size_t)nq * (size_t)depth);
    int rc = query_vectors(s, qs, nq, qv, err);
    if (rc == PARE_OK) rc = vindex_search(ix->vx, nq, qv, depth, sc, lab, err);
    for (int i = 0; i < nq && rc == PARE_OK; i++)
        take_hits(ix, &qs[i], sc + (size_t)i * (size_t)depth, lab + (size_t)i * (size_t)depth,
                  depth);
    if (rc == PARE_OK && is_hash && s->rerank > 0)
        rc = rerank_bm25(s->st, s->codec, ix->emb, ix->feat, qs, nq, s->scratch, err);
    free(qv);
    free(sc);
    free(lab);
    return rc;
}

/* Appends passage pid to q's candidates unless it has it: a context may hold the same
 * passage twice (2Wiki does), ranked once. */
static void add_own(struct ranked *q, size_t *cap, int64_t pid)
{
    for (int k = 0; k < q->n_cand; k++)
        if (q->cand[k] == pid) return;
    xgrow((void **)&q->cand, cap, (size_t)q->n_cand + 1, sizeof *q->cand);
    q->cand[q->n_cand++] = pid;
}

/* The own passages of qs[0..nq) (ascending ids) as their candidates, in context order: one
 * statement for the batch's range of ids. */
static int own_passages(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "SELECT question_id, passage_id FROM question_passages "
                                         "WHERE question_id BETWEEN ?1 AND ?2 "
                                         "ORDER BY question_id, position");
    if (!st || sqlite3_bind_int64(st, 1, qs[0].qid) || sqlite3_bind_int64(st, 2, qs[nq - 1].qid))
        return store_fail(s->st, err, "reading contexts");
    size_t *caps = xcalloc((size_t)nq, sizeof *caps);
    int i = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t qid = sqlite3_column_int64(st, 0);
        while (i < nq && qs[i].qid < qid) i++;
        if (i < nq && qs[i].qid == qid) add_own(&qs[i], &caps[i], sqlite3_column_int64(st, 1));
    }
    sqlite3_reset(st);
    free(caps);
    for (int k = 0; k < nq; k++)
        qs[k].score = xcalloc((size_t)qs[k].n_cand + 1, sizeof *qs[k].score);
    if (src != SQLITE_DONE) return store_fail(s->st, err, "reading contexts");
    return PARE_OK;
}

int search_context_load(struct searcher *s, struct ranked *qs, int nq, struct context_load *l,
                        struct sbuf *err)
{
    int rc = nq > 0 ? own_passages(s, qs, nq, err) : PARE_OK;
    if (rc != PARE_OK || nq == 0) return rc;
    if (embedder_kind(s->ix->emb) == EMBED_HASH)
        return rerank_bm25_load(s->st, s->codec, s->ix->feat, qs, nq, &l->texts, err);
    /* dense: query . stored passage vector */
    if (!s->ix->passage_row) catalog_map_passages(s->ix);
    l->qv = xmalloc(sizeof *l->qv * (size_t)nq * (size_t)embedder_dim(s->ix->emb));
    return query_vectors(s, qs, nq, l->qv, err);
}

int search_context_rank(struct searcher *s, struct ranked *qs, int nq, struct context_load *l,
                        struct sbuf *err)
{
    int rc = PARE_OK;
    if (nq > 0 && embedder_kind(s->ix->emb) == EMBED_HASH)
        rc = rerank_bm25_score(s->ix->emb, s->ix->feat, &l->texts, qs, nq, s->scratch, err);
    else if (nq > 0)
        rc = rank_dense(s->ix, l->qv, qs, nq, err);
    search_context_release(l);
    return rc;
}

void search_context_release(struct context_load *l)
{
    corpus_free(&l->texts);
    free(l->qv);
    memset(l, 0, sizeof *l);
}

int search_context(struct searcher *s, struct ranked *qs, int nq, struct sbuf *err)
{
    struct context_load l = {0};
    int rc = search_context_load(s, qs, nq, &l, err);
    if (rc == PARE_OK) return search_context_rank(s, qs, nq, &l, err);
    search_context_release(&l);
    return rc;
}
