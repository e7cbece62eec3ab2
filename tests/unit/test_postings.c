/* test_postings.c - the postings of a features file: on random small corpora (common words,
 * repeated passages, so ties) the top k from the postings equals the brute force over every
 * row (hash_bm25_doc, sorted by score then row) to the last bit, for k below, at and above the
 * number of matching rows; and every way a postings file can be wrong is an error naming it. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <sys/stat.h>

#include "index/features.h"
#include "index/postings.h"

static const struct hash_params P2 = {64, 0.5, 2, 0.9, 0.4, HASH_VERSION};

/* A small random generator (xorshift), seeded per test for reproducibility. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* A word: small indexes much more often (a few very common words, a long tail). */
static void add_word(struct sbuf *t, int vocab)
{
    int w = (int)(rnd() % (uint64_t)vocab);
    if (rnd() % 2) w = w % 4; /* half the words are one of four stop words */
    sbuf_addf(t, "%sw%d", t->len ? " " : "", w);
}

static void random_text(struct sbuf *t, int words, int vocab)
{
    sbuf_reset(t);
    for (int i = 0; i < words; i++) add_word(t, vocab);
}

/* n random passages (every fifth a copy of an earlier one: ties) as a features file of ids
 * 3, 6, 9 ...; fits e on them. Returns the path. */
static char *make_corpus(struct embedder *e, int n, int vocab, struct feat_file **ff)
{
    char *path = tmp_path("p.feat");
    struct feat_writer *w;
    struct sbuf err = {0}, row = {0}, *texts = xcalloc((size_t)n, sizeof *texts);
    struct hfeats f = {0};
    double total = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && i % 5 == 0)
            sbuf_adds(&texts[i], texts[rnd() % (uint64_t)i].p);
        else
            random_text(&texts[i], 1 + (int)(rnd() % 30), vocab);
        hash_features(e, NULL, texts[i].p, texts[i].len, &f);
        hash_fit_add(e, &f);
        total += f.len;
    }
    hash_fit_done(e, n, total);
    char sum[33];
    assert_int_equal(feat_create(path, &w, &err), PARE_OK);
    for (int i = 0; i < n; i++) {
        hash_features(e, NULL, texts[i].p, texts[i].len, &f);
        feat_encode(&f, &row);
        assert_int_equal(feat_append(w, 3 * (i + 1), &row, &err), PARE_OK);
        sbuf_free(&texts[i]);
    }
    assert_int_equal(feat_finish(w, sum, &err), PARE_OK);
    assert_int_equal(feat_commit(w, &err), PARE_OK);
    feat_writer_free(w);
    assert_int_equal(feat_open(path, sum, ff, &err), PARE_OK);
    free(texts);
    hfeats_free(&f);
    sbuf_free(&row);
    sbuf_free(&err);
    return path;
}

/* Builds and commits the postings of ff; the path and checksum. */
static char *make_postings(const struct feat_file *ff, const struct embedder *e, char sum[33])
{
    char *path = tmp_path("p.post");
    struct post_writer *w;
    struct sbuf err = {0};
    int rc = post_build(ff, e, NULL, NULL, path, &w, sum, &err);
    if (rc != PARE_OK) fail_msg("%s", err.p);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0); /* not under its name before the commit */
    assert_int_equal(post_commit(w, &err), PARE_OK);
    assert_int_equal(stat(path, &sb), 0);
    post_writer_free(w);
    sbuf_free(&err);
    return path;
}

/* The brute force: every row scored, sorted by score (descending) then row. */
static void brute(const struct feat_file *ff, const struct embedder *e, const struct hquery *q,
                  int64_t *rows, double *scores)
{
    int64_t n = feat_rows(ff);
    struct sbuf err = {0};
    for (int64_t r = 0; r < n; r++) {
        struct hdoc d;
        assert_int_equal(feat_doc(ff, r, &d, &err), PARE_OK);
        double s = hash_bm25_doc(e, q, &d);
        int64_t j = r;
        for (; j > 0 && (scores[j - 1] < s); j--) { /* insertion: stable, so rows ascend */
            scores[j] = scores[j - 1];
            rows[j] = rows[j - 1];
        }
        scores[j] = s;
        rows[j] = r;
    }
    sbuf_free(&err);
}

/* One query at several k: postings, exhaustive and brute force agree exactly. */
static void check_query(const struct post_file *p, const struct feat_file *ff,
                        const struct embedder *e, struct post_scratch *s, const char *text)
{
    int64_t n = feat_rows(ff), got, got2;
    int64_t *br = xmalloc(sizeof *br * (size_t)n), *pr = xmalloc(sizeof *pr * (size_t)(n + 9));
    int64_t *xr = xmalloc(sizeof *xr * (size_t)(n + 9));
    double *bs = xmalloc(sizeof *bs * (size_t)n), *ps = xmalloc(sizeof *ps * (size_t)(n + 9));
    double *xs = xmalloc(sizeof *xs * (size_t)(n + 9));
    struct hfeats f = {0};
    struct hquery q = {0};
    struct sbuf err = {0};
    hash_features(e, NULL, text, strlen(text), &f);
    hash_query(e, &f, &q);
    brute(ff, e, &q, br, bs);
    const int64_t ks[] = {1, 2, 3, 10, 25, n, n + 9};
    for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
        assert_int_equal(post_search(p, ff, e, &q, ks[t], s, pr, ps, &got, &err), PARE_OK);
        assert_int_equal(post_search_exhaustive(ff, e, &q, ks[t], xr, xs, &got2, &err), PARE_OK);
        int64_t want = ks[t] < n ? ks[t] : n;
        assert_int_equal(got, want);
        assert_int_equal(got2, want);
        for (int64_t i = 0; i < want; i++) {
            if (pr[i] != br[i] || ps[i] != bs[i] || xr[i] != br[i] || xs[i] != bs[i])
                fail_msg("query '%s' k %lld rank %lld: postings row %lld (%.17g), exhaustive "
                         "%lld (%.17g), brute force %lld (%.17g)",
                         text, (long long)ks[t], (long long)i, (long long)pr[i], ps[i],
                         (long long)xr[i], xs[i], (long long)br[i], bs[i]);
        }
    }
    hfeats_free(&f);
    hquery_free(&q);
    sbuf_free(&err);
    free(br);
    free(pr);
    free(xr);
    free(bs);
    free(ps);
    free(xs);
}

static void test_random_corpora_equal_brute_force(void **state)
{
    (void)state;
    const int sizes[] = {1, 2, 7, 40, 300, 1500};
    rnd_state = 0x9e3779b97f4a7c15ULL;
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        struct embedder *e = embedder_hash_new(&P2);
        struct feat_file *ff;
        char sum[33];
        char *fpath = make_corpus(e, sizes[c], 12 + sizes[c] / 4, &ff);
        char *ppath = make_postings(ff, e, sum);
        struct post_file *p;
        struct sbuf err = {0}, text = {0};
        assert_int_equal(post_open(ppath, sum, &p, &err), PARE_OK);
        assert_int_equal(post_check_match(p, ff, e, &err), PARE_OK);
        assert_int_equal(post_rows(p), sizes[c]);
        struct post_scratch *s = post_scratch_new(p);
        for (int qi = 0; qi < 30; qi++) {
            random_text(&text, 1 + (int)(rnd() % 12), 12 + sizes[c] / 3);
            check_query(p, ff, e, s, text.p);
        }
        check_query(p, ff, e, s, "nothing matches this");
        check_query(p, ff, e, s, "w0 w1 w2 w3"); /* only stop words: long lists */
        post_scratch_free(s);
        post_close(p);
        feat_close(ff);
        embedder_free(e);
        remove(fpath);
        remove(ppath);
        free(fpath);
        free(ppath);
        sbuf_free(&err);
        sbuf_free(&text);
    }
}

/* Writes bytes to path. */
static void put_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Opening `bytes` as a postings file fails with a message naming it and saying `what`. */
static void open_fails(const char *path, const unsigned char *bytes, size_t n, const char *sum,
                       const char *what)
{
    struct post_file *p = (struct post_file *)1;
    struct sbuf err = {0};
    put_file(path, bytes, n);
    assert_int_equal(post_open(path, sum, &p, &err), PARE_EFAIL);
    assert_null(p);
    if (!strstr(err.p, path) || !strstr(err.p, what))
        fail_msg("expected '%s' about %s, got: %s", what, path, err.p);
    sbuf_free(&err);
}

static void test_bad_files(void **state)
{
    (void)state;
    rnd_state = 42;
    struct embedder *e = embedder_hash_new(&P2);
    struct feat_file *ff;
    char sum[33];
    char *fpath = make_corpus(e, 50, 20, &ff);
    char *ppath = make_postings(ff, e, sum);
    FILE *f = fopen(ppath, "rb");
    unsigned char *good = xmalloc(1 << 20);
    size_t n = fread(good, 1, 1 << 20, f);
    fclose(f);
    unsigned char *b = xmalloc(n);
    struct sbuf err = {0};
    struct post_file *p;
    char *bad = tmp_path("bad.post");
    /* a missing file; a truncated one; one byte changed (checksum, then layout checks) */
    assert_int_equal(post_open("/nonexistent/x.post", NULL, &p, &err), PARE_EFAIL);
    assert_non_null(strstr(err.p, "/nonexistent/x.post"));
    open_fails(bad, good, n - 8, NULL, "truncated");
    open_fails(bad, good, 10, NULL, "not a postings file");
    memcpy(b, good, n);
    b[n - 1] ^= 1;
    open_fails(bad, b, n, sum, "does not match the database");
    memcpy(b, good, n);
    b[0] = 'X';
    open_fails(bad, b, n, NULL, "not a postings file");
    memcpy(b, good, n);
    uint64_t huge = UINT64_MAX / 2;
    memcpy(b + 16, &huge, 8); /* rows */
    open_fails(bad, b, n, NULL, "not a postings file");
    /* every single-byte change anywhere is caught or harmless (never a crash under ASan) */
    for (size_t i = 0; i < n; i += 1 + n / 1000) {
        memcpy(b, good, n);
        b[i] ^= (unsigned char)(1 + rnd() % 255);
        put_file(bad, b, n);
        if (post_open(bad, NULL, &p, &err) == PARE_OK) {
            struct post_scratch *s = post_scratch_new(p);
            struct hfeats qf = {0};
            struct hquery q = {0};
            int64_t rows[5], got;
            double sc[5];
            hash_features(e, NULL, "w0 w1 w5 w7", 11, &qf);
            hash_query(e, &qf, &q);
            if (post_rows(p) == feat_rows(ff))
                assert_int_equal(post_search(p, ff, e, &q, 5, s, rows, sc, &got, &err), PARE_OK);
            hfeats_free(&qf);
            hquery_free(&q);
            post_scratch_free(s);
            post_close(p);
        }
    }
    /* postings of another corpus do not match these features */
    struct embedder *e2 = embedder_hash_new(&P2);
    struct feat_file *ff2;
    char *fpath2 = make_corpus(e2, 51, 20, &ff2);
    assert_int_equal(post_open(ppath, sum, &p, &err), PARE_OK);
    assert_int_equal(post_check_match(p, ff2, e2, &err), PARE_EFAIL);
    assert_non_null(strstr(err.p, ppath));
    post_close(p);
    feat_close(ff2);
    embedder_free(e2);
    remove(fpath2);
    free(fpath2);
    remove(bad);
    free(bad);
    free(b);
    free(good);
    feat_close(ff);
    embedder_free(e);
    remove(fpath);
    remove(ppath);
    free(fpath);
    free(ppath);
    sbuf_free(&err);
}

/* The postings built with the partition counts of the rows (post_count; every thread filling
 * its own partitions: more than a million postings) equal, byte for byte, those counted from
 * the rows (no counts, or counts off in two partitions, or in one), and the document
 * frequencies they give are the embedder's (hash_count's). */
static void test_counts_and_counted_rows_agree(void **state)
{
    (void)state;
    rnd_state = 0x2545f4914f6cdd1dULL;
    struct embedder *e = embedder_hash_new(&P2);
    struct feat_file *ff;
    char sum[33], sum_other[33];
    char *fpath = make_corpus(e, 60000, 200000, &ff);
    struct sbuf err = {0};
    struct hfeats f = {0};
    uint64_t *counts = xcalloc(POST_PARTS, sizeof *counts);
    for (int64_t r = 0; r < feat_rows(ff); r++) {
        struct hdoc d;
        assert_int_equal(feat_doc(ff, r, &d, &err), PARE_OK);
        feat_hfeats(&d, &f);
        post_count(counts, &f);
    }
    uint32_t *df = xmalloc(sizeof *df * HASH_DF_BUCKETS);
    struct post_writer *w;
    char *ppath = tmp_path("p.post");
    assert_int_equal(post_build(ff, e, counts, df, ppath, &w, sum, &err), PARE_OK);
    int64_t keys, postings, nd;
    double avg;
    post_writer_counts(w, &keys, &postings);
    assert_true(postings > (1 << 20)); /* built on every thread */
    post_writer_free(w);
    assert_memory_equal(df, hash_df(e, &nd, &avg), sizeof *df * HASH_DF_BUCKETS);
    size_t a = 0, b;
    while (counts[a] == 0) a++;
    for (b = a + 1; counts[b] == 0; b++)
        ;
    for (int c = 0; c < 3; c++) { /* no counts; two off (same sum); one off */
        if (c > 0) counts[a]--;
        if (c == 1) counts[b]++;
        if (c == 2) counts[b]--;
        memset(df, 0xff, sizeof *df * HASH_DF_BUCKETS);
        assert_int_equal(post_build(ff, e, c ? counts : NULL, df, ppath, &w, sum_other, &err),
                         PARE_OK);
        assert_string_equal(sum_other, sum);
        assert_memory_equal(df, hash_df(e, &nd, &avg), sizeof *df * HASH_DF_BUCKETS);
        post_writer_free(w);
    }
    free(df);
    free(counts);
    hfeats_free(&f);
    feat_close(ff);
    embedder_free(e);
    remove(fpath);
    free(fpath);
    free(ppath);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_corpora_equal_brute_force),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_counts_and_counted_rows_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
