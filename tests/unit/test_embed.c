/* test_embed.c - the hash embedder: features and their counts, the dense vector, the exact BM25
 * against a hand computation, descriptions and statistics, kind names, openai configuration. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <math.h>

#include "index/embed.h"

static const struct hash_params P = {64, 0.5, 2, 0.9, 0.4};

/* The tf of feature h in f, 0 when absent. */
static uint32_t tf_of(const struct hfeats *f, uint64_t h)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->f[i].h == h) return f->f[i].tf;
    return 0;
}

static uint64_t uni(const char *w)
{
    return text_token_hash(w) & ~1ULL;
}

static uint64_t bi(const char *a, const char *b)
{
    return text_bigram_hash(text_token_hash(a), text_token_hash(b)) | 1ULL;
}

static void test_features_counts(void **state)
{
    (void)state;
    struct embedder *e = embedder_hash_new(&P);
    struct hfeats f = {0};
    hash_features(e, "Gamma", "alpha beta alpha", 16, &f);
    /* title counted twice, text once; unigrams and bigrams of each stream */
    assert_int_equal(tf_of(&f, uni("gamma")), 2);
    assert_int_equal(tf_of(&f, uni("alpha")), 2);
    assert_int_equal(tf_of(&f, uni("beta")), 1);
    assert_int_equal(tf_of(&f, bi("alpha", "beta")), 1);
    assert_int_equal(tf_of(&f, bi("beta", "alpha")), 1);
    assert_int_equal(f.n, 5);
    assert_int_equal(f.len, 2 + 3 + 2); /* 2 title unigrams, 3 text unigrams, 2 bigrams */
    for (size_t i = 1; i < f.n; i++) assert_true(f.f[i - 1].h < f.f[i].h); /* sorted, distinct */
    /* a query has no title; without bigram weight there are no bigrams */
    struct hash_params p = P;
    p.bigram_weight = 0;
    struct embedder *u = embedder_hash_new(&p);
    hash_features(u, NULL, "alpha beta alpha", 16, &f);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.len, 3);
    hfeats_free(&f);
    embedder_free(e);
    embedder_free(u);
}

static double norm2(const float *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
    return sqrt(s);
}

static void test_vector_normalised_and_deterministic(void **state)
{
    (void)state;
    struct embedder *e = embedder_hash_new(&P);
    struct hfeats f = {0};
    hash_features(e, "Vorlen", "Vorlen is a city on the river Dra.", 35, &f);
    hash_fit_add(e, &f);
    hash_fit_done(e, 1, f.len);
    float a[64], b[64];
    hash_vector(e, &f, a);
    hash_vector(e, &f, b);
    assert_memory_equal(a, b, sizeof a);
    assert_true(fabs(norm2(a, 64) - 1.0) < 1e-5);
    /* nothing to hash: the zero vector, not NaN */
    hash_features(e, NULL, "the of a", 8, &f);
    assert_int_equal(f.n, 0);
    hash_vector(e, &f, a);
    assert_true(norm2(a, 64) == 0.0);
    hfeats_free(&f);
    embedder_free(e);
}

static double bm25_term(double n, double df, double qtf, double tf, double len, double avg,
                        double w)
{
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    return qtf * idf * tf * (0.9 + 1.0) / (tf + 0.9 * (1.0 - 0.4 + 0.4 * len / avg)) * w;
}

static void test_bm25_by_hand(void **state)
{
    (void)state;
    struct hash_params p = P;
    p.title_repeat = 0;
    struct embedder *e = embedder_hash_new(&p);
    const char *docs[3] = {"copper mines", "copper copper markets", "river sea"};
    struct hfeats d[3] = {{0}}, q = {0};
    double total = 0;
    for (int i = 0; i < 3; i++) {
        hash_features(e, NULL, docs[i], strlen(docs[i]), &d[i]);
        hash_fit_add(e, &d[i]);
        total += d[i].len;
    }
    hash_fit_done(e, 3, total);
    int64_t n_docs;
    double avg;
    hash_df(e, &n_docs, &avg);
    assert_int_equal(n_docs, 3);
    assert_true(fabs(avg - total / 3) < 1e-12);
    hash_features(e, NULL, "copper markets", 14, &q);
    /* doc 1 "copper copper markets": unigrams copper (tf 2, df 2) and markets (tf 1, df 1), the
     * bigram "copper markets" (tf 1, df 1, weight 0.5); its length is 3 + 2 bigrams = 5 */
    double want = bm25_term(3, 2, 1, 2, 5, avg, 1) + bm25_term(3, 1, 1, 1, 5, avg, 1) +
                  bm25_term(3, 1, 1, 1, 5, avg, 0.5);
    assert_true(fabs(hash_bm25(e, &q, &d[1]) - want) < 1e-9);
    /* doc 0 shares only "copper" (tf 1, length 3) */
    assert_true(fabs(hash_bm25(e, &q, &d[0]) - bm25_term(3, 2, 1, 1, 3, avg, 1)) < 1e-9);
    assert_true(hash_bm25(e, &q, &d[2]) == 0.0);
    for (int i = 0; i < 3; i++) hfeats_free(&d[i]);
    hfeats_free(&q);
    embedder_free(e);
}

static void test_describe_and_stats(void **state)
{
    (void)state;
    struct embedder *e = embedder_hash_new(&P), *back = NULL;
    struct sbuf err = {0};
    json_t *d = embedder_describe(e);
    assert_int_equal(embedder_from_json(d, &back, &err), PARE_OK);
    assert_int_equal(embedder_kind(back), EMBED_HASH);
    assert_int_equal(embedder_dim(back), 64);
    json_t *d2 = embedder_describe(back);
    assert_true(json_equal(d, d2));
    json_decref(d2);
    /* statistics: the exact bucket count, or an error */
    uint32_t *df = calloc(HASH_DF_BUCKETS, sizeof *df);
    df[7] = 3;
    assert_int_equal(hash_set_stats(back, df, HASH_DF_BUCKETS, 10, 4.5, &err), PARE_OK);
    int64_t n;
    double avg;
    assert_int_equal(hash_df(back, &n, &avg)[7], 3);
    assert_int_equal(n, 10);
    assert_true(avg == 4.5);
    assert_int_equal(hash_set_stats(back, df, 12, 10, 4.5, &err), PARE_EFAIL);
    assert_contains(err.p, "12 buckets");
    free(df);
    embedder_free(back);
    /* other kinds and bad descriptions */
    json_t *f = json_pack("{s:s, s:i}", "kind", "file", "dim", 3);
    assert_int_equal(embedder_from_json(f, &back, &err), PARE_OK);
    assert_int_equal(embedder_kind(back), EMBED_FILE);
    assert_int_equal(embedder_dim(back), 3);
    embedder_free(back);
    json_object_set_new(f, "kind", json_string("magic"));
    assert_int_equal(embedder_from_json(f, &back, &err), PARE_EFAIL);
    assert_contains(err.p, "unknown embedder kind 'magic'");
    json_object_del(f, "kind");
    assert_int_equal(embedder_from_json(f, &back, &err), PARE_EFAIL);
    assert_contains(err.p, "no kind");
    json_t *h = json_pack("{s:s}", "kind", "hash");
    assert_int_equal(embedder_from_json(h, &back, &err), PARE_EFAIL);
    assert_contains(err.p, "no valid dim");
    json_decref(h);
    json_decref(f);
    json_decref(d);
    embedder_free(e);
    sbuf_free(&err);
}

static void test_kind_names(void **state)
{
    (void)state;
    enum embed_kind k;
    for (int i = EMBED_HASH; i <= EMBED_FILE; i++) {
        assert_int_equal(embed_kind_parse(embed_kind_name((enum embed_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(embed_kind_name(EMBED_OPENAI), "openai");
    assert_int_equal(embed_kind_parse("Hash", &k), -1);
}

static void test_l2_normalize(void **state)
{
    (void)state;
    float v[3] = {3, 0, 4}, z[2] = {0, 0};
    l2_normalize(v, 3);
    assert_true(fabsf(v[0] - 0.6f) < 1e-6 && fabsf(v[2] - 0.8f) < 1e-6);
    l2_normalize(z, 2);
    assert_true(z[0] == 0 && z[1] == 0);
}

static void test_openai_cfg(void **state)
{
    (void)state;
    struct openai_opts o = {"m1", 16, 4, 3, 12.5, 60, 1000};
    struct openai_cfg c;
    struct sbuf err = {0};
    /* no server named and no key: the default hosted API cannot work (common/endpoint.h) */
    unsetenv("OPENAI_BASE_URL");
    unsetenv("OPENAI_API_KEY");
    assert_int_equal(openai_cfg_init(&c, &o, &err), PARE_EUSAGE);
    assert_contains(err.p, "OPENAI_BASE_URL");
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/", 1);
    setenv("OPENAI_API_KEY", "sk-unit", 1);
    assert_int_equal(openai_cfg_init(&c, &o, &err), PARE_OK);
    struct endpoint_list l;
    assert_int_equal(endpoint_resolve(&c.http.endpoints, &l, &err), PARE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.url[0], "http://127.0.0.1:9/v1");
    endpoint_list_free(&l);
    assert_string_equal(c.http.endpoints.api_key, "sk-unit");
    assert_string_equal(c.model, "m1");
    assert_int_equal(c.request_size, 16);
    assert_int_equal(c.http.max_concurrency, 4);
    assert_int_equal(c.http.max_retries, 3);
    assert_true(c.http.timeout_s == 12.5 && c.http.rpm == 60 && c.http.tpm == 1000);
    assert_true(c.http.backoff_base_s == 0.5 && c.http.backoff_max_s == 30);
    sbuf_free(&err);
}

static void test_version_2(void **state)
{
    (void)state;
    struct hash_params p2 = P;
    p2.version = HASH_VERSION;
    struct embedder *e1 = embedder_hash_new(&P), *e2 = embedder_hash_new(&p2), *back = NULL;
    struct hfeats f1 = {0}, f2 = {0};
    const char *text = "copper copper mines of the copper town";
    hash_features(e1, "Kamira", text, strlen(text), &f1);
    hash_features(e2, "Kamira", text, strlen(text), &f2);
    /* the same features and counts; version 2 names each by its 32-bit key, ascending */
    assert_int_equal(f1.n, f2.n);
    assert_int_equal(f1.len, f2.len);
    for (size_t i = 0; i < f2.n; i++) {
        assert_true(f2.f[i].h < (1ULL << 32));
        if (i) assert_true(f2.f[i - 1].h < f2.f[i].h);
    }
    assert_int_equal(tf_of(&f2, ((uni("copper") >> 32) & ~1ULL)), 3);
    /* the same document frequencies (the df bucket is the hash's top 20 bits in both) */
    hash_fit_add(e1, &f1);
    hash_fit_add(e2, &f2);
    int64_t n;
    double avg;
    assert_memory_equal(hash_df(e1, &n, &avg), hash_df(e2, &n, &avg),
                        HASH_DF_BUCKETS * sizeof(uint32_t));
    /* version 2 vectors are unit vectors too, with at most one value per feature */
    hash_fit_done(e2, 1, f2.len);
    float v[64];
    hash_vector(e2, &f2, v);
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero += v[i] != 0;
    assert_true(nonzero > 0 && (size_t)nonzero <= f2.n);
    assert_true(fabs(norm2(v, 64) - 1.0) < 1e-5);
    /* the version is in the description and comes back; version 1 descriptions have none */
    json_t *d = embedder_describe(e2);
    assert_int_equal(json_integer_value(json_object_get(d, "version")), HASH_VERSION);
    struct sbuf err = {0};
    assert_int_equal(embedder_from_json(d, &back, &err), PARE_OK);
    assert_int_equal(hash_params_of(back)->version, HASH_VERSION);
    embedder_free(back);
    json_object_set_new(d, "version", json_integer(HASH_VERSION + 1));
    assert_int_equal(embedder_from_json(d, &back, &err), PARE_EFAIL);
    assert_contains(err.p, "newer than this pare knows");
    json_decref(d);
    d = embedder_describe(e1);
    assert_null(json_object_get(d, "version"));
    json_decref(d);
    /* term frequencies are capped at 255 in version 2 */
    struct sbuf many = {0};
    for (int i = 0; i < 300; i++) sbuf_adds(&many, "ore ");
    hash_features(e2, NULL, many.p, many.len, &f2);
    assert_int_equal(f2.n, 2); /* "ore" and the bigram "ore ore" */
    assert_int_equal(f2.f[0].tf, 255);
    assert_int_equal(f2.f[1].tf, 255);
    hfeats_free(&f1);
    hfeats_free(&f2);
    sbuf_free(&many);
    sbuf_free(&err);
    embedder_free(e1);
    embedder_free(e2);
}

static int cmp_hfeat(const void *x, const void *y)
{
    uint64_t a = ((const struct hfeat *)x)->h, b = ((const struct hfeat *)y)->h;
    return a < b ? -1 : a > b;
}

/* Version 2 features of texts of every size (sorted by insertion, by buckets of the top bits,
 * by radix passes beyond 65536 features) are version 1's named by their 32-bit keys: strictly
 * ascending, with the counts of the keys merged. */
static void test_version_2_sorts_every_size(void **state)
{
    (void)state;
    struct hash_params p2 = P;
    p2.version = HASH_VERSION;
    struct embedder *e1 = embedder_hash_new(&P), *e2 = embedder_hash_new(&p2);
    struct hfeats f1 = {0}, f2 = {0};
    struct sbuf text = {0};
    const int words[] = {3, 20, 150, 3000, 40000};
    for (size_t c = 0; c < sizeof words / sizeof *words; c++) {
        sbuf_reset(&text);
        for (int i = 0; i < words[c]; i++)
            sbuf_addf(&text, "w%d ", (i * 7919) % (words[c] / 2 + 1));
        hash_features(e1, "Title", text.p, text.len, &f1);
        hash_features(e2, "Title", text.p, text.len, &f2);
        if (words[c] == 40000) assert_true(f2.len > (1u << 16));
        for (size_t i = 0; i < f1.n; i++) {
            uint64_t h = f1.f[i].h;
            f1.f[i].h = ((h >> 32) & ~1ULL) | (h & 1);
        }
        qsort(f1.f, f1.n, sizeof *f1.f, cmp_hfeat);
        size_t m = 0;
        for (size_t i = 0; i < f1.n; i++) {
            if (m && f1.f[m - 1].h == f1.f[i].h)
                f1.f[m - 1].tf += f1.f[i].tf;
            else
                f1.f[m++] = f1.f[i];
        }
        assert_int_equal(f2.n, m);
        assert_int_equal(f2.len, f1.len);
        for (size_t i = 0; i < m; i++) {
            assert_true(f2.f[i].h == f1.f[i].h);
            assert_int_equal(f2.f[i].tf, f1.f[i].tf < 255 ? f1.f[i].tf : 255);
            if (i) assert_true(f2.f[i - 1].h < f2.f[i].h);
        }
    }
    hfeats_free(&f1);
    hfeats_free(&f2);
    sbuf_free(&text);
    embedder_free(e1);
    embedder_free(e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_counts),
        cmocka_unit_test(test_vector_normalised_and_deterministic),
        cmocka_unit_test(test_bm25_by_hand),
        cmocka_unit_test(test_describe_and_stats),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_l2_normalize),
        cmocka_unit_test(test_openai_cfg),
        cmocka_unit_test(test_version_2),
        cmocka_unit_test(test_version_2_sorts_every_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
