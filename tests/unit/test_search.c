/* test_search.c - candidates of questions: context scope (own passages, a repeat once, ranked),
 * corpus scope with and without re-ranking, the file embedder's query vectors; and the
 * retrievals and candidates tables (resume, k, query with answer). */
#include "index_fixture.h"

#include "index/build.h"
#include "index/candidates.h"
#include "index/search.h"
#include "index/vectors.h"

static const struct hash_params P = {64, 0.5, 2, 0.9, 0.4, HASH_VERSION};

/* A hash Flat index of the fixture's passages, loaded; its file is removed by the caller. */
static struct pare_index *hash_index(struct fixture *f, char **path)
{
    struct index_build b = {.st = f->st,
                            .codec = f->codec,
                            .factory = "Flat",
                            .batch = 4,
                            .train_size = 100,
                            .n_passages = 8};
    struct sbuf p = {0};
    char sum[33];
    assert_int_equal(store_begin(f->st), PARE_OK);
    assert_int_equal(catalog_begin(f->st, "Flat", &b.index_id, &b.err), PARE_OK);
    struct sbuf fp = {0};
    sbuf_addf(&p, "%s.index%lld.faiss", f->path, (long long)b.index_id);
    sbuf_addf(&fp, "%s.feat", p.p);
    assert_int_equal(build_hash(&b, &P, fp.p, NULL, NULL), PARE_OK);
    assert_int_equal(vindex_write(b.vx, p.p, sum, &b.err), PARE_OK);
    assert_int_equal(catalog_save_stats(f->st, b.index_id, b.emb, &b.err), PARE_OK);
    assert_int_equal(feat_commit(b.feat, &b.err), PARE_OK);
    json_t *d = embedder_describe(b.emb);
    json_object_set_new(d, "features",
                        json_pack("{s:s, s:s}", "path", fp.p, "checksum", b.feat_sum));
    sbuf_free(&fp);
    assert_int_equal(catalog_finish(f->st, b.index_id, p.p, 64, d, 8, sum, &b.err), PARE_OK);
    json_decref(d);
    assert_int_equal(store_commit(f->st), PARE_OK);
    index_build_free(&b);
    struct pare_index *ix;
    assert_int_equal(catalog_load(f->st, 0, CATALOG_SEARCH | CATALOG_FEATURES, &ix, &b.err),
                     PARE_OK);
    sbuf_free(&b.err);
    *path = sbuf_detach(&p);
    return ix;
}

static void test_context_and_corpus(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "s1.db");
    fx_world(&f, pid);
    int64_t ctx[5] = {pid[0], pid[3], pid[2], pid[0], pid[6]};
    int64_t qid = fx_question(&f, "Who directed The Glass Harbour?", "Ada Brenn", ctx, NULL, 5);
    char *path;
    struct searcher s = {.st = f.st, .k = 3, .rerank = 5};
    s.ix = hash_index(&f, &path);
    searcher_init(&s);
    struct sbuf err = {0};
    struct ranked q = {.qid = qid, .text = xstrdup("Who directed The Glass Harbour?")};
    assert_int_equal(search_context(&s, &q, 1, &err), PARE_OK);
    assert_int_equal(q.n_cand, 4); /* the repeated passage once */
    assert_int_equal(q.cand[0], pid[3]);
    for (int i = 1; i < q.n_cand; i++) assert_true(q.score[i - 1] >= q.score[i]);
    free(q.cand);
    free(q.score);
    q.cand = NULL;
    q.score = NULL;
    q.n_cand = 0;
    assert_int_equal(search_corpus(&s, &q, 1, &err), PARE_OK);
    assert_int_equal(q.n_cand, 5); /* the re-rank depth; the caller keeps k */
    assert_int_equal(q.cand[0], pid[3]);
    ranked_free(&q, 1);
    /* without re-ranking: FAISS's k best by inner product */
    s.rerank = 0;
    q.text = xstrdup("Who directed The Glass Harbour?");
    assert_int_equal(search_corpus(&s, &q, 1, &err), PARE_OK);
    assert_int_equal(q.n_cand, 3);
    assert_true(q.score[0] <= 1.0001 && q.score[0] >= q.score[1]);
    ranked_free(&q, 1);
    searcher_free(&s);
    catalog_free(s.ix);
    struct sbuf fp = {0};
    sbuf_addf(&fp, "%s.feat", path);
    remove(fp.p);
    sbuf_free(&fp);
    remove(path);
    free(path);
    sbuf_free(&err);
    fx_close(&f);
}

static void test_query_vectors(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "s2.db");
    fx_world(&f, pid);
    int64_t q1 = fx_question(&f, "one", "a", pid, NULL, 2);
    int64_t q2 = fx_question(&f, "two", "b", pid + 2, NULL, 2);
    struct pare_index ix = {.id = 3, .n_rows = 8, .row_passage = pid};
    struct sbuf err = {0};
    json_t *d = json_pack("{s:s, s:i}", "kind", "file", "dim", 8);
    assert_int_equal(embedder_from_json(d, &ix.emb, &err), PARE_OK);
    json_decref(d);
    assert_int_equal(vindex_create("Flat", 8, &ix.vx, &err), PARE_OK);
    float v[8][8] = {{0}};
    for (int i = 0; i < 8; i++) v[i][i] = 1;
    assert_int_equal(vindex_add(ix.vx, 8, &v[0][0], &err), PARE_OK);
    char *npy = tmp_path("s2.npy"), *ids = tmp_path("s2.ids");
    FILE *fv = fopen(npy, "wb"), *fi = fopen(ids, "w");
    assert_int_equal(npy_write_header(fv, 1, 8), 0);
    fwrite(v[5], sizeof v[5], 1, fv); /* question q2 asks for passage 5's direction */
    fprintf(fi, "%lld\n", (long long)q2);
    fclose(fv);
    fclose(fi);
    struct searcher s = {.st = f.st, .ix = &ix, .k = 2};
    searcher_init(&s);
    assert_int_equal(searcher_query_vectors(&s, npy, ids, 0, &err), PARE_OK);
    struct ranked qs[2] = {{.qid = q2, .text = xstrdup("two")},
                           {.qid = q1, .text = xstrdup("one")}};
    assert_int_equal(search_corpus(&s, qs, 1, &err), PARE_OK);
    assert_int_equal(qs[0].cand[0], pid[5]);
    /* context scope ranks q2's own passages by their stored vectors */
    free(qs[0].cand);
    free(qs[0].score);
    qs[0].cand = NULL;
    qs[0].score = NULL;
    qs[0].n_cand = 0;
    assert_int_equal(search_context(&s, qs, 1, &err), PARE_OK);
    assert_int_equal(qs[0].n_cand, 2);
    /* a question without a vector */
    assert_int_equal(search_corpus(&s, qs + 1, 1, &err), PARE_EINPUT);
    assert_contains(err.p, "no query vector");
    ranked_free(qs, 2);
    searcher_free(&s);
    /* ids that name no question */
    fi = fopen(ids, "w");
    fprintf(fi, "q-none\n");
    fclose(fi);
    assert_int_equal(searcher_query_vectors(&s, npy, ids, 1, &err), PARE_EINPUT);
    assert_contains(err.p, ":1: no question with id 'q-none'");
    searcher_free(&s);
    remove(npy);
    remove(ids);
    free(npy);
    free(ids);
    ix.row_passage = NULL;
    vindex_free(ix.vx);
    embedder_free(ix.emb);
    free(ix.passage_row);
    sbuf_free(&err);
    fx_close(&f);
}

static void test_candidates_tables(void **state)
{
    (void)state;
    struct fixture f;
    int64_t pid[8];
    fx_open(&f, "s3.db");
    fx_world(&f, pid);
    int64_t q[3];
    for (int i = 0; i < 3; i++) {
        char text[16];
        snprintf(text, sizeof text, "question %d", i);
        q[i] = fx_question(&f, text, "the answer", pid + i, NULL, 3);
    }
    assert_int_equal(store_exec(f.st, "INSERT INTO indexes(path, factory, metric, dim, embedder, "
                                      "n_vectors, built_at, checksum) VALUES ('x', 'Flat', "
                                      "'inner_product', 2, '{}', 0, 'now', '')"),
                     PARE_OK);
    struct retrieval_cfg c = {1, 1, 2, 1, 100};
    int64_t id, again, other;
    struct sbuf err = {0};
    assert_int_equal(candidates_retrieval(f.st, &c, &id, &err), PARE_OK);
    assert_int_equal(candidates_retrieval(f.st, &c, &again, &err), PARE_OK);
    assert_int_equal(id, again);
    c.corpus = 0;
    assert_int_equal(candidates_retrieval(f.st, &c, &other, &err), PARE_OK);
    assert_true(other != id);
    struct ranked qs[3];
    int nq;
    assert_int_equal(candidates_next(f.st, id, 1, NULL, 0, 2, qs, &nq, &err), PARE_OK);
    assert_int_equal(nq, 2);
    assert_int_equal(qs[0].qid, q[0]);
    assert_string_equal(qs[0].text, "question 0 the answer");
    for (int i = 0; i < 2; i++) {
        qs[i].cand = xmalloc(3 * sizeof *qs[i].cand);
        qs[i].score = xmalloc(3 * sizeof *qs[i].score);
        for (int k = 0; k < 3; k++) {
            qs[i].cand[k] = pid[k];
            qs[i].score[k] = 3 - k;
        }
        qs[i].n_cand = 3;
    }
    assert_int_equal(candidates_store(f.st, id, 2, qs, 2, &err), PARE_OK);
    ranked_free(qs, 2);
    sqlite3_stmt *s = store_stmt(f.st, "SELECT count(*) FROM candidates");
    int64_t n;
    assert_int_equal(store_int(f.st, s, &n), 1);
    assert_int_equal(n, 4); /* k = 2 of 3, two questions */
    /* the next call skips questions that have candidates; another dataset has none */
    assert_int_equal(candidates_next(f.st, id, 0, NULL, 0, 5, qs, &nq, &err), PARE_OK);
    assert_int_equal(nq, 1);
    assert_int_equal(qs[0].qid, q[2]);
    assert_string_equal(qs[0].text, "question 2");
    ranked_free(qs, 1);
    assert_int_equal(candidates_next(f.st, id, 0, "nope", 0, 5, qs, &nq, &err), PARE_OK);
    assert_int_equal(nq, 0);
    /* a failed batch stores nothing: question 2 is new, question 0 has its candidates */
    int64_t cand[2] = {pid[0], pid[1]};
    double score[2] = {1, 0};
    qs[0] = (struct ranked){.qid = q[2], .n_cand = 2, .cand = cand, .score = score};
    qs[1] = (struct ranked){.qid = q[0], .n_cand = 2, .cand = cand, .score = score};
    assert_int_equal(candidates_store(f.st, id, 0, qs, 2, &err), PARE_EFAIL);
    assert_contains(err.p, "storing candidates");
    s = store_stmt(f.st, "SELECT count(*) FROM candidates");
    assert_int_equal(store_int(f.st, s, &n), 1);
    assert_int_equal(n, 4);
    /* and the connection checks foreign keys again */
    s = store_stmt(f.st, "PRAGMA foreign_keys");
    assert_int_equal(store_int(f.st, s, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(candidates_store(f.st, id, 0, qs, 1, &err), PARE_OK);
    sbuf_free(&err);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_and_corpus),
        cmocka_unit_test(test_query_vectors),
        cmocka_unit_test(test_candidates_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
