/* test_rerank.c - ranking candidates: the order (score, then passage id), exact BM25 scores of
 * passages read from the store, inner products with stored vectors, and their errors. */
#include "index_fixture.h"

#include <math.h>
#include <omp.h>

#include "index/rerank.h"

static const struct hash_params P = {32, 0.5, 2, 0.9, 0.4};

/* A question with text q and candidates c[0..n). */
static struct ranked question(const char *q, const int64_t *c, int n)
{
    struct ranked r = {0};
    r.text = xstrdup(q);
    r.cand = malloc(sizeof *r.cand * (size_t)(n + 1));
    r.score = calloc((size_t)n + 1, sizeof *r.score);
    memcpy(r.cand, c, sizeof *c * (size_t)n);
    r.n_cand = n;
    return r;
}

static void test_sort_order(void **state)
{
    (void)state;
    int64_t c[6] = {9, 4, 7, 2, 5, 1};
    struct ranked r = question("x", c, 6);
    double s[6] = {0.5, 2.0, 0.5, -1.0, 2.0, 0.5};
    memcpy(r.score, s, sizeof s);
    ranked_sort(&r);
    int64_t want[6] = {4, 5, 1, 7, 9, 2}; /* by score, ties by ascending id */
    assert_memory_equal(r.cand, want, sizeof want);
    for (int i = 1; i < 6; i++) assert_true(r.score[i - 1] >= r.score[i]);
    ranked_free(&r, 1);
    assert_null(r.cand);
    assert_int_equal(r.n_cand, 0);
}

/* Fits a hash embedder on the fixture's passages. */
static struct embedder *fitted(struct fixture *f, const int64_t *pid, int n)
{
    struct embedder *e = embedder_hash_new(&P);
    struct hfeats h = {0};
    struct sbuf title = {0}, text = {0}, err = {0};
    double total = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(store_text(f->st, f->codec, pid[i], &title, &text, &err), PARE_OK);
        hash_features(e, title.p, text.p, text.len, &h);
        hash_fit_add(e, &h);
        total += h.len;
    }
    hash_fit_done(e, n, total);
    hfeats_free(&h);
    sbuf_free(&title);
    sbuf_free(&text);
    sbuf_free(&err);
    return e;
}

static void test_bm25_scores(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "r1.db");
    fx_world(&f, pid);
    struct embedder *e = fitted(&f, pid, 8);
    int64_t c1[4] = {pid[0], pid[3], pid[2], pid[0]}, c2[3] = {pid[1], pid[4], pid[7]};
    struct ranked qs[2] = {question("Who directed The Glass Harbour?", c1, 4),
                           question("copper mines of Kamira", c2, 3)};
    int n_scratch = 2 * omp_get_max_threads();
    struct hfeats *scratch = calloc((size_t)n_scratch, sizeof *scratch);
    struct sbuf err = {0};
    assert_int_equal(rerank_bm25(f.st, f.codec, e, NULL, qs, 2, scratch, &err), PARE_OK);
    assert_int_equal(qs[0].cand[0], pid[3]);
    assert_int_equal(qs[1].cand[0], pid[1]);
    /* each score is hash_bm25 of the passage's title and text */
    struct hfeats q = {0}, d = {0};
    struct sbuf title = {0}, text = {0};
    for (int i = 0; i < 2; i++) {
        hash_features(e, NULL, qs[i].text, strlen(qs[i].text), &q);
        for (int c = 0; c < qs[i].n_cand; c++) {
            assert_int_equal(store_text(f.st, f.codec, qs[i].cand[c], &title, &text, &err),
                             PARE_OK);
            hash_features(e, title.p, text.p, text.len, &d);
            assert_true(qs[i].score[c] == hash_bm25(e, &q, &d));
        }
    }
    /* a candidate the store does not have */
    int64_t gone[1] = {pid[7] + 100};
    struct ranked bad = question("copper", gone, 1);
    assert_int_equal(rerank_bm25(f.st, f.codec, e, NULL, &bad, 1, scratch, &err), PARE_EFAIL);
    assert_true(err.len > 0);
    ranked_free(&bad, 1);
    ranked_free(qs, 2);
    for (int i = 0; i < n_scratch; i++) hfeats_free(&scratch[i]);
    free(scratch);
    hfeats_free(&q);
    hfeats_free(&d);
    sbuf_free(&title);
    sbuf_free(&text);
    sbuf_free(&err);
    embedder_free(e);
    fx_close(&f);
}

static void test_dense(void **state)
{
    (void)state;
    struct pare_index ix = {0};
    struct sbuf err = {0};
    int64_t rows[4] = {40, 10, 30, 20}; /* passage of each row */
    float v[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0.6f, 0.8f, 0, 0}, {0, 0, 0, 1}};
    ix.id = 1;
    ix.n_rows = 4;
    ix.row_passage = rows;
    assert_int_equal(vindex_create("Flat", 4, &ix.vx, &err), PARE_OK);
    assert_int_equal(vindex_add(ix.vx, 4, &v[0][0], &err), PARE_OK);
    catalog_map_passages(&ix);
    int64_t c[4] = {10, 20, 30, 40};
    struct ranked q = question("ignored", c, 4);
    float qv[4] = {0.8f, 0.6f, 0, 0};
    assert_int_equal(rank_dense(&ix, qv, &q, 1, &err), PARE_OK);
    int64_t want[4] = {30, 40, 10, 20}; /* 0.96, 0.8, 0.6, 0 */
    assert_memory_equal(q.cand, want, sizeof want);
    assert_true(fabs(q.score[0] - 0.96) < 1e-6);
    ranked_free(&q, 1);
    int64_t stray[1] = {50};
    q = question("ignored", stray, 1);
    assert_int_equal(rank_dense(&ix, qv, &q, 1, &err), PARE_EFAIL);
    assert_contains(err.p, "passage 50 is not in index 1");
    ranked_free(&q, 1);
    ix.row_passage = NULL;
    free(ix.passage_row);
    vindex_free(ix.vx);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_order),
        cmocka_unit_test(test_bm25_scores),
        cmocka_unit_test(test_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
