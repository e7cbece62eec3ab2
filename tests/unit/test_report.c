/* test_report.c - the report's figures on a hand-made database, checked against figures
 * computed by hand with pare eval's definitions; the page's sections and escaping. */
#include "helpers.h"

#include <math.h>

#include "pipeline/report.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

/*
 * One dataset, three questions. Gold: q1 {1, 2}, q2 {4}, q3 {6}. Retrieval 1 ranks q1: 1 3 2 9,
 * q2: 5 4, and has nothing for q3. Run lexical/loo: q1 minimal {1, 3}, q2 full_insufficient,
 * q3 minimal {6}; run lexical/ddmin: q1 failed. The mine run of loo read retrieval 1; a newer
 * retrieval 2 ranks q1: 2 1, and retrieval 3 (made after the mine run) q1: 9 at 1, 2 at 100.
 */
static const char fixture[] =
    "INSERT INTO datasets VALUES (1, 'd<b>', 'generic', 'src', 't');"
    "INSERT INTO passages(id, title, body, n_chars, n_bytes, content_hash) VALUES"
    " (1, 'a', x'', 0, 0, x'01'), (2, 'b', x'', 0, 0, x'02'), (3, 'c', x'', 0, 0, x'03'),"
    " (4, 'd', x'', 0, 0, x'04'), (5, 'e', x'', 0, 0, x'05'), (6, 'f', x'', 0, 0, x'06'),"
    " (9, 'g', x'', 0, 0, x'09');"
    "INSERT INTO questions VALUES (1, 1, 'q1', 'Q1?', '[\"a\"]', NULL, NULL),"
    " (2, 1, 'q2', 'Q2?', '[\"b\"]', NULL, NULL), (3, 1, 'q3', 'Q3?', '[\"c\"]', NULL, NULL);"
    "INSERT INTO question_passages VALUES (1, 1, 0, 1), (1, 2, 1, 1), (1, 3, 2, 0),"
    " (1, 9, 3, 0), (2, 4, 0, 1), (2, 5, 1, 0), (3, 6, 0, 1);"
    "INSERT INTO indexes VALUES (1, 'i', 'Flat', 'ip', 8, '{\"kind\":\"hash\"}', 7, 't', 'c');"
    "INSERT INTO retrievals VALUES (1, 1, 'context', 0, 0, 100, '2020'),"
    " (2, 1, 'corpus', 10, 1, 100, '2030'), (3, 1, 'corpus', 100, 0, 100, '2050');"
    "INSERT INTO candidates VALUES (1, 1, 1, 1, 0.9), (1, 1, 3, 2, 0.8), (1, 1, 2, 3, 0.7),"
    " (1, 1, 9, 4, 0.6), (1, 2, 5, 1, 0.9), (1, 2, 4, 2, 0.8),"
    " (2, 1, 2, 1, 0.9), (2, 1, 1, 2, 0.8), (3, 1, 9, 1, 0.9), (3, 1, 2, 100, 0.1);"
    "INSERT INTO evidence_sets(id, question_id, judge, method, status, size, judge_calls,"
    " cached_calls, created_at) VALUES (1, 1, 'lex', 'loo', 'minimal', 2, 5, 1, 't'),"
    " (2, 2, 'lex', 'loo', 'full_insufficient', 0, 1, 0, 't'),"
    " (3, 3, 'lex', 'loo', 'minimal', 1, 3, 0, 't'),"
    " (4, 1, 'lex', 'ddmin', 'error', 0, 2, 0, 't');"
    "INSERT INTO evidence_members VALUES (1, 1, 1), (1, 3, 2), (3, 6, 1);"
    "INSERT INTO runs(id, command, args, started_at, status, summary) VALUES"
    " (1, 'mine', '[\"--retrieval\",\"1\"]', '2040', 'ok', "
    "  '{\"judge\":\"lex\",\"method\":\"loo\"}');"
    "INSERT INTO judge_calls(key, judge, question_id, subset, verdict, answer, error, latency_ms,"
    " created_at) VALUES (x'01', 'lex', 1, '[1]', 1, NULL, NULL, 0, 't'),"
    " (x'02', 'lex', 1, '[3]', NULL, NULL, 'boom', 12, 't'),"
    " (x'03', 'lex', 2, '[5]', 0, NULL, NULL, 3, 't');";

static struct store *open_fixture(char **path)
{
    *path = tmp_path("report.db");
    remove(*path);
    struct store *st;
    struct sbuf err = {0};
    assert_int_equal(store_open(*path, STORE_CREATE, &st, &err), PARE_OK);
    assert_int_equal(store_exec(st, fixture), PARE_OK);
    sbuf_free(&err);
    return st;
}

static void close_fixture(struct store *st, char *path)
{
    store_close(st);
    struct sbuf side = {0};
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
        sbuf_setf(&side, "%s%s", path, sfx[i]);
        remove(side.p);
    }
    sbuf_free(&side);
    free(path);
}

static void test_mining_figures(void **state)
{
    (void)state;
    char *path;
    struct store *st = open_fixture(&path);
    struct report r;
    struct sbuf err = {0};
    struct report_opts o = {0, 0};
    assert_int_equal(report_gather(st, &o, &r, &err), PARE_OK);
    assert_int_equal(r.n_datasets, 1);
    assert_int_equal(r.n_runs, 2); /* ordered by judge, method: ddmin, loo */
    assert_string_equal(r.runs[1].method, "loo");
    assert_int_equal(r.runs[1].retrieval, 1); /* from the mine run, not the newest */
    assert_int_equal(r.runs[1].retrieval_from_run, 1);
    assert_int_equal(r.runs[0].retrieval, 3); /* no mine run of ddmin: the newest */
    const struct report_cell *c = &r.runs[1].cells[0];
    assert_int_equal(c->sets, 3);
    assert_int_equal(c->minimal, 2);
    assert_int_equal(c->full_insufficient, 1);
    assert_int_equal(c->size_hist[1], 1);
    assert_int_equal(c->size_hist[2], 1);
    assert_int_equal(c->calls, 9);
    assert_int_equal(c->cached, 1);
    assert_int_equal(c->calls_hist[5], 1);
    /* against gold: q1 and q2 have candidates; q3 does not and is not measured */
    const struct set_sums *g = &c->gold;
    assert_int_equal(g->questions, 2);
    assert_int_equal(g->minimal, 1);
    assert_int_equal(g->full_insufficient, 1);
    struct prf m = metrics_mean(g, &g->set);
    assert_true(NEAR(m.p, 0.25) && NEAR(m.r, 0.25) && NEAR(m.f1, 0.25));
    /* top-1: q1 {1} P 1 R .5 F 2/3; q2 {5} 0 */
    m = metrics_mean(g, &g->topk[0]);
    assert_true(NEAR(m.p, 0.5) && NEAR(m.r, 0.25) && NEAR(m.f1, 1.0 / 3));
    /* top-2: q1 {1,3} .5 .5 .5; q2 {5,4} .5 1 2/3 */
    m = metrics_mean(g, &g->topk[1]);
    assert_true(NEAR(m.p, 0.5) && NEAR(m.r, 0.75) && NEAR(m.f1, (0.5 + 2.0 / 3) / 2));
    /* top-3: q1 {1,3,2} 2/3 1 .8; q2 keeps its two */
    assert_true(NEAR(metrics_mean(g, &g->topk[2]).f1, (0.8 + 2.0 / 3) / 2));
    assert_int_equal(metrics_best_k(g), 3);
    const struct report_cell *e = &r.runs[0].cells[0];
    assert_int_equal(e->errors, 1);
    assert_int_equal(e->gold.errors, 1);
    assert_true(NEAR(metrics_mean(&e->gold, &e->gold.set).f1, 0));
    report_free(&r);
    sbuf_free(&err);
    close_fixture(st, path);
}

static void test_recall_and_judges(void **state)
{
    (void)state;
    char *path;
    struct store *st = open_fixture(&path);
    struct report r;
    struct sbuf err = {0};
    struct report_opts o = {0, 0};
    assert_int_equal(report_gather(st, &o, &r, &err), PARE_OK);
    const struct report_retrieval *t = &r.retrievals[0];
    assert_int_equal(t->max_rank, 4);
    assert_int_equal(t->n_ks, 4); /* every K to the deepest rank */
    const struct recall_sums *at = t->per_ds[0].at;
    /* gold found within k: q1's 1 at rank 1 and 2 at rank 3, q2's 4 at rank 2 */
    int64_t hit[4] = {1, 2, 3, 3}, all[4] = {0, 1, 2, 2};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(t->ks[k], k + 1);
        assert_int_equal(at[k].questions, 2);
        assert_int_equal(at[k].gold, 3);
        assert_int_equal(at[k].found, hit[k]);
        assert_int_equal(at[k].all_found, all[k]);
    }
    assert_int_equal(r.retrievals[1].per_ds[0].at[0].questions, 1);
    assert_int_equal(r.retrievals[1].per_ds[0].at[1].all_found, 1);
    /* deep rankings: every K to 20, then about ten a decade, eval's 50 and 100 among them */
    const struct report_retrieval *deep = &r.retrievals[2];
    int64_t ks[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                    15, 16, 17, 18, 19, 20, 25, 30, 40, 50, 60, 70, 80, 100};
    assert_int_equal(deep->n_ks, ARRAY_SIZE(ks));
    for (size_t i = 0; i < ARRAY_SIZE(ks); i++) assert_int_equal(deep->ks[i], ks[i]);
    assert_int_equal(deep->per_ds[0].at[26].found, 0); /* K = 80 */
    assert_int_equal(deep->per_ds[0].at[27].found, 1); /* K = 100 */
    assert_int_equal(r.n_judges, 1);
    const struct report_judge *j = &r.judges[0];
    assert_int_equal(j->calls, 3);
    assert_int_equal(j->sufficient, 1);
    assert_int_equal(j->insufficient, 1);
    assert_int_equal(j->errors, 1);
    assert_int_equal(j->latency_n, 2);
    assert_int_equal(j->latency_hist[3], 1); /* 12 ms in [8, 16) */
    assert_int_equal(j->latency_hist[1], 1); /* 3 ms in [2, 4) */
    assert_int_equal(j->n_top_errors, 1);
    assert_string_equal(j->top_errors[0].text, "boom");
    report_free(&r);
    sbuf_free(&err);
    close_fixture(st, path);
}

static void test_options_and_page(void **state)
{
    (void)state;
    char *path;
    struct store *st = open_fixture(&path);
    struct report r;
    struct sbuf err = {0}, page = {0};
    struct report_opts o = {99, 0};
    assert_int_equal(report_gather(st, &o, &r, &err), PARE_EFAIL);
    assert_string_equal(err.p, "no retrieval 99");
    report_free(&r);
    o.retrieval = 2; /* every run against retrieval 2: q1 only */
    assert_int_equal(report_gather(st, &o, &r, &err), PARE_OK);
    assert_int_equal(r.runs[1].retrieval, 2);
    const struct set_sums *g = &r.runs[1].cells[0].gold;
    assert_int_equal(g->questions, 1);
    assert_true(NEAR(metrics_mean(g, &g->topk[0]).f1, 2.0 / 3)); /* {2} against {1, 2} */
    report_html(&r, &page);
    const char *at = page.p;
    for (int i = 0; report_sections[i]; i++) { /* every section, in order */
        struct sbuf id = {0};
        sbuf_addf(&id, "<section id=\"%s\">", report_sections[i]);
        const char *next = strstr(at, id.p);
        if (!next) fail_msg("no section %s in order", report_sections[i]);
        at = next;
        sbuf_free(&id);
    }
    assert_null(strstr(page.p, "d<b>"));
    assert_contains(page.p, "d&lt;b&gt;");
    assert_contains(page.p, "</html>");
    report_free(&r);
    /* ids index arrays: a wildly sparse id is refused rather than allocated for */
    assert_int_equal(store_exec(st, "INSERT INTO questions VALUES (1000000000000, 1, 'qx', "
                                    "'Q?', '[]', NULL, NULL)"),
                     PARE_OK);
    o.retrieval = 0;
    assert_int_equal(report_gather(st, &o, &r, &err), PARE_EFAIL);
    assert_string_equal(err.p, "questions: ids up to 1000000000000 for 4 rows are too sparse to "
                               "report on");
    report_free(&r);
    sbuf_free(&page);
    sbuf_free(&err);
    close_fixture(st, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mining_figures),
        cmocka_unit_test(test_recall_and_judges),
        cmocka_unit_test(test_options_and_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
