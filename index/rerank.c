/* rerank.c - see rerank.h. */
#include "index/rerank.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void ranked_free(struct ranked *qs, int n)
{
    for (int i = 0; i < n; i++) {
        free(qs[i].text);
        free(qs[i].cand);
        free(qs[i].score);
        qs[i].text = NULL;
        qs[i].cand = NULL;
        qs[i].score = NULL;
        qs[i].n_cand = 0;
    }
}

void ranked_sort(struct ranked *q)
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

/* Exact BM25 of the candidates of every query against the loaded texts t (only those scored
 * NaN when `only_nan`), then sorted. */
static void score_exact(const struct embedder *e, struct ranked *qs, int nq,
                        const struct corpus_batch *t, int only_nan, struct hfeats *scratch)
{
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < nq; i++) {
        struct hfeats *qf = &scratch[2 * omp_get_thread_num()];
        struct hfeats *df = &scratch[2 * omp_get_thread_num() + 1];
        int queried = 0;
        for (int c = 0; c < qs[i].n_cand; c++) {
            int64_t k = corpus_find(t, qs[i].cand[c]);
            if (k < 0 || (only_nan && !isnan(qs[i].score[c]))) continue;
            if (!queried++) hash_features(e, NULL, qs[i].text, strlen(qs[i].text), qf);
            hash_features(e, t->titles[k], t->texts[k].p, t->texts[k].len, df);
            qs[i].score[c] = hash_bm25(e, qf, df);
        }
        ranked_sort(&qs[i]);
    }
}

/* Scores from the features file what it holds; a candidate it lacks (a passage ingested after
 * the index was built) gets NaN, for score_exact. Returns 0, or -1 on a malformed row. */
static int score_features(const struct embedder *e, const struct feat_file *ff, struct ranked *qs,
                          int nq, struct hfeats *scratch)
{
    int nt = omp_get_max_threads(), bad = 0;
    struct hquery *hq = xcalloc((size_t)nt, sizeof *hq);
#pragma omp parallel for schedule(dynamic, 4) reduction(| : bad)
    for (int i = 0; i < nq; i++) {
        int t = omp_get_thread_num();
        struct sbuf err = {0};
        hash_features(e, NULL, qs[i].text, strlen(qs[i].text), &scratch[2 * t]);
        hash_query(e, &scratch[2 * t], &hq[t]);
        for (int c = 0; c < qs[i].n_cand; c++) {
            int64_t row = feat_row_of(ff, qs[i].cand[c]);
            struct hdoc d;
            if (row < 0)
                qs[i].score[c] = NAN;
            else if (feat_doc(ff, row, &d, &err) != PARE_OK)
                bad = 1;
            else
                qs[i].score[c] = hash_bm25_doc(e, &hq[t], &d);
        }
        sbuf_free(&err);
    }
    for (int t = 0; t < nt; t++) hquery_free(&hq[t]);
    free(hq);
    return bad ? -1 : 0;
}

int rerank_bm25_load(struct store *st, struct blob_codec *codec, const struct feat_file *ff,
                     const struct ranked *qs, int nq, struct corpus_batch *t, struct sbuf *err)
{
    size_t n_all = 0;
    for (int i = 0; i < nq; i++) n_all += (size_t)qs[i].n_cand;
    int64_t *all = xmalloc(sizeof *all * (n_all + 1));
    n_all = 0;
    for (int i = 0; i < nq; i++)
        for (int c = 0; c < qs[i].n_cand; c++)
            if (!ff || feat_row_of(ff, qs[i].cand[c]) < 0) all[n_all++] = qs[i].cand[c];
    int rc = n_all ? corpus_load(st, codec, all, n_all, t, err) : PARE_OK;
    free(all);
    return rc;
}

int rerank_bm25_score(const struct embedder *e, const struct feat_file *ff,
                      const struct corpus_batch *t, struct ranked *qs, int nq,
                      struct hfeats *scratch, struct sbuf *err)
{
    if (ff && score_features(e, ff, qs, nq, scratch) != 0) {
        sbuf_setf(err, "the index's features file has a malformed row: rebuild it with pare index");
        return PARE_EFAIL;
    }
    score_exact(e, qs, nq, t, ff != NULL, scratch);
    return PARE_OK;
}

int rerank_bm25(struct store *st, struct blob_codec *codec, const struct embedder *e,
                const struct feat_file *ff, struct ranked *qs, int nq, struct hfeats *scratch,
                struct sbuf *err)
{
    struct corpus_batch t = {0};
    int rc = rerank_bm25_load(st, codec, ff, qs, nq, &t, err);
    if (rc == PARE_OK) rc = rerank_bm25_score(e, ff, &t, qs, nq, scratch, err);
    corpus_free(&t);
    return rc;
}

int rank_dense(const struct pare_index *ix, const float *qv, struct ranked *qs, int nq,
               struct sbuf *err)
{
    int dim = vindex_dim(ix->vx);
    float *pv = xmalloc(sizeof *pv * (size_t)dim);
    int rc = PARE_OK;
    for (int i = 0; i < nq && rc == PARE_OK; i++) {
        const float *q = qv + (size_t)i * (size_t)dim;
        for (int c = 0; c < qs[i].n_cand && rc == PARE_OK; c++) {
            int64_t row;
            if (!catalog_row_of(ix, qs[i].cand[c], &row)) {
                sbuf_setf(err,
                          "passage %lld is not in index %lld (ingested after it was built? run "
                          "pare index again)",
                          (long long)qs[i].cand[c], (long long)ix->id);
                rc = PARE_EFAIL;
                break;
            }
            rc = vindex_reconstruct(ix->vx, row, pv, err);
            double d = 0;
            for (int k = 0; k < dim; k++) d += (double)q[k] * pv[k];
            qs[i].score[c] = d;
        }
        ranked_sort(&qs[i]);
    }
    free(pv);
    return rc;
}
