/* test_lexfeat.c - the lexical judge's features: the phrase search over the passages, and a
 * build that reuses the memory of the one before it. */
#include "helpers.h"

#include "common/text.h"
#include "pipeline/lexfeat.h"

/* Words that make near misses: prefixes of each other, articles (dropped by the
 * normalisation), punctuation and a letter of another script. */
static const char *const words[] = {
    "Paris", "par",  "paris", "Parisian", "the", "a",  "an",     "of", "Kiss",        "and",
    "Tell",  "tell", "1945",  "film",     "x",   "xx", "O'Neil", "s",  "caf\xc3\xa9", "-",
};

static void random_words(char *buf, size_t cap, int k, unsigned *seed)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < k; i++) {
        const char *w = words[(size_t)rand_r(seed) % ARRAY_SIZE(words)];
        size_t wl = strlen(w);
        if (len + wl + 2 >= cap) break;
        if (len) buf[len++] = ' ';
        memcpy(buf + len, w, wl + 1);
        len += wl;
    }
}

/* The passages that hold the phrase, one text_contains_answer at a time. */
static uint64_t expected(const struct lexfeat *f, const char *phrase)
{
    uint64_t m = 0;
    for (int i = 0; i < f->n; i++)
        if (phrase[0] && text_contains_answer(f->norm[i].p, phrase)) m |= 1ULL << i;
    return m;
}

/* lexfeat_phrase finds what text_contains_answer finds, in texts of every length (the search
 * reads 32 places at a time), for phrases cut from the texts (at word ends and not) and
 * others. */
static void test_phrase_search(void **state)
{
    (void)state;
    unsigned seed = 99;
    enum { N = 8 };
    char titles[N][64], texts[N][2048], phrase[256];
    struct jpassage p[N];
    struct sbuf norm = {0};
    size_t found = 0;
    struct lexfeat f = {0}; /* one for every build: each reuses the memory of the one before */
    for (int it = 0; it < 2000; it++) {
        int n = it % 5 == 4 ? 1 + rand_r(&seed) % N : N;
        for (int i = 0; i < n; i++) {
            random_words(titles[i], sizeof titles[i], 1 + rand_r(&seed) % 3, &seed);
            random_words(texts[i], sizeof texts[i], rand_r(&seed) % 120, &seed);
            p[i] = (struct jpassage){i + 1, titles[i], texts[i], strlen(texts[i])};
        }
        lexfeat_build(&f, p, n, 0, NULL, 0, NULL);
        for (int q = 0; q < 40; q++) {
            if (q % 2) { /* a piece of a normalised text */
                const struct sbuf *t = &f.norm[rand_r(&seed) % n];
                size_t a = t->len ? (size_t)rand_r(&seed) % t->len : 0;
                size_t l = 1 + (size_t)rand_r(&seed) % 24;
                if (a + l > t->len) l = t->len - a;
                memcpy(phrase, t->p + a, l);
                phrase[l] = '\0';
            } else {
                random_words(phrase, sizeof phrase, 1 + rand_r(&seed) % 3, &seed);
                text_squad_normalize(phrase, &norm);
                snprintf(phrase, sizeof phrase, "%s", norm.p);
            }
            uint64_t want = expected(&f, phrase), got = lexfeat_phrase(&f, phrase);
            if (want != got)
                fail_msg("phrase \"%s\": passages %llx, expected %llx", phrase,
                         (unsigned long long)got, (unsigned long long)want);
            found += want != 0;
        }
    }
    lexfeat_free(&f);
    assert_true(found > 10000); /* hits as well as misses */
    sbuf_free(&norm);
}

/* A build into a lexfeat that held another (more passages or fewer, the other build, more
 * terms or fewer) answers every query as a build into a fresh one. */
static void test_reuse_matches_fresh(void **state)
{
    (void)state;
    unsigned seed = 7;
    enum { N = 12 };
    char titles[N][64], texts[N][1024];
    struct jpassage p[N];
    struct lexfeat r = {0};
    struct tokens terms = {0};
    for (int it = 0; it < 600; it++) {
        int n = 1 + rand_r(&seed) % N, plain = rand_r(&seed) % 3 == 0;
        for (int i = 0; i < n; i++) {
            random_words(titles[i], sizeof titles[i], 1 + rand_r(&seed) % 3, &seed);
            random_words(texts[i], sizeof texts[i], rand_r(&seed) % 150, &seed);
            p[i] = (struct jpassage){i + 1, titles[i], texts[i], strlen(texts[i])};
        }
        /* terms: the content words of one passage and of a few others' titles */
        tokens_reset(&terms);
        int k = rand_r(&seed) % n;
        text_tokenize(texts[k], strlen(texts[k]), &terms);
        for (int i = 0; i < n; i += 3) text_tokenize(titles[i], strlen(titles[i]), &terms);
        size_t nt = lexfeat_uniq(terms.h, terms.n);
        struct lexfeat f = {0};
        lexfeat_build(&f, p, n, plain, terms.h, nt, NULL);
        lexfeat_build(&r, p, n, plain, terms.h, nt, NULL);
        assert_int_equal(r.n, n);
        for (int i = 0; i < n; i++) {
            assert_string_equal(r.norm[i].p, f.norm[i].p);
            assert_string_equal(r.title[i].p, f.title[i].p);
            if (f.title[i].len)
                assert_true(lexfeat_phrase(&r, f.title[i].p) == lexfeat_phrase(&f, f.title[i].p));
        }
        for (size_t t = 0; t < nt; t++)
            assert_true(lexfeat_term(&r, terms.h[t]) == lexfeat_term(&f, terms.h[t]));
        uint64_t adj_r[N] = {0}, adj_f[N] = {0};
        lexfeat_pair_links(&r, 2, adj_r);
        lexfeat_pair_links(&f, 2, adj_f);
        assert_memory_equal(adj_r, adj_f, sizeof adj_r);
        lexfeat_free(&f);
    }
    lexfeat_free(&r);
    tokens_free(&terms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phrase_search),
        cmocka_unit_test(test_reuse_matches_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
