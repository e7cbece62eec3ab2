/* test_text.c - UTF-8 measures, tokens, and SQuAD/HotpotQA answer normalisation with EM/F1. */
#include "helpers.h"

#include <jansson.h>
#include <ctype.h>
#include <math.h>
#include <utf8proc.h>
#include <xxhash.h>

#include "common/text.h"

static void test_utf8_chars(void **state)
{
    (void)state;
    size_t bad = 99;
    assert_int_equal(text_utf8_chars("abc", 3, &bad), 3);
    assert_int_equal(text_utf8_chars("\xc3\xa9t\xc3\xa9", 5, &bad), 3); /* ete with accents */
    assert_int_equal(text_utf8_chars("\xe2\x80\x93", 3, &bad), 1);      /* en dash */
    assert_int_equal(text_utf8_chars("ab\xff", 3, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(text_utf8_chars("\xc3", 1, &bad), -1); /* cut sequence */
    assert_int_equal(bad, 0);
    assert_int_equal(text_utf8_chars("", 0, NULL), 0);
}

/*
 * Expected values produced by the official HotpotQA evaluation functions (normalize_answer,
 * exact_match_score, f1_score of hotpot_evaluate_v1.py) on each pair: prediction, gold,
 * normalised prediction, EM, F1.
 */
static const struct {
    const char *pred, *gold, *norm;
    int em;
    double f1;
} squad[] = {
    {"The Eiffel Tower", "Eiffel Tower", "eiffel tower", 1, 1.000000},
    {"eiffel tower!", "The Eiffel Tower", "eiffel tower", 1, 1.000000},
    {"An apple", "apple", "apple", 1, 1.000000},
    {"a", "", "", 1, 0.000000},
    {"the the the", "", "", 1, 0.000000},
    {"Yes", "yes", "yes", 1, 1.000000},
    {"yes", "no", "yes", 0, 0.000000},
    {"no", "No.", "no", 1, 1.000000},
    {"yes", "yes, it is", "yes", 0, 0.000000},
    {"noanswer", "noanswer", "noanswer", 1, 1.000000},
    {"noanswer", "nothing", "noanswer", 0, 0.000000},
    {"Chief of Protocol", "chief of protocol", "chief of protocol", 1, 1.000000},
    {"U.S.A.", "USA", "usa", 1, 1.000000},
    {"U.S. Army", "US army", "us army", 1, 1.000000},
    {"New York City", "New York", "new york city", 0, 0.800000},
    {"New York", "New York City", "new york", 0, 0.800000},
    {"1 August 1973", "August 1, 1973", "1 august 1973", 0, 1.000000},
    {"$10.5 million", "10.5 million", "105 million", 1, 1.000000},
    {"10,000", "10000", "10000", 1, 1.000000},
    {"Theodore Roosevelt", "Roosevelt", "theodore roosevelt", 0, 0.666667},
    {"the Beatles", "Beatles, The", "beatles", 1, 1.000000},
    {"rock and roll", "rock & roll", "rock and roll", 0, 0.800000},
    {"  lots   of   space ", "lots of space", "lots of space", 1, 1.000000},
    {"Café", "café", "café", 1, 1.000000},
    {"CAFÉ", "café", "café", 1, 1.000000},
    {"École Normale", "école normale", "école normale", 1, 1.000000},
    {"the-end", "theend", "theend", 1, 1.000000},
    {"the – end", "end", "– end", 0, 0.666667},
    {"anthem", "an them", "anthem", 0, 0.000000},
    {"theory", "the ory", "theory", 0, 0.000000},
    {"a.b.c", "abc", "abc", 1, 1.000000},
    {"x y z", "z y x", "x y z", 0, 1.000000},
    {"red red blue", "red blue blue", "red red blue", 0, 0.666667},
    {"Paris", "London", "paris", 0, 0.000000},
    {"", "", "", 1, 0.000000},
    {"", "something", "", 0, 0.000000},
    {"G. Stanley Hall", "Stanley Hall", "g stanley hall", 0, 0.800000},
    {"Stanley Hall", "G. Stanley Hall", "stanley hall", 0, 0.800000},
    {"12th", "12", "12th", 0, 0.000000},
    {"Walt Disney Pictures", "Walt Disney Productions", "walt disney pictures", 0, 0.666667},
    {"(born 1966)", "born 1966", "born 1966", 1, 1.000000},
    {"The University of Oxford", "Oxford University", "university of oxford", 0, 0.800000},
    {"München", "Munchen", "münchen", 0, 0.000000},
    {"O'Neill", "ONeill", "oneill", 1, 1.000000},
    {"1,430", "1430 people", "1430", 0, 0.666667},
};

static void test_squad_official_table(void **state)
{
    (void)state;
    assert_true(ARRAY_SIZE(squad) >= 40);
    struct sbuf n = {0};
    for (size_t i = 0; i < ARRAY_SIZE(squad); i++) {
        text_squad_normalize(squad[i].pred, &n);
        if (strcmp(n.p, squad[i].norm) != 0)
            fail_msg("normalize(\"%s\") = \"%s\", expected \"%s\"", squad[i].pred, n.p,
                     squad[i].norm);
        if (text_em(squad[i].pred, squad[i].gold) != squad[i].em)
            fail_msg("EM(\"%s\", \"%s\") != %d", squad[i].pred, squad[i].gold, squad[i].em);
        double f1 = text_f1(squad[i].pred, squad[i].gold);
        if (fabs(f1 - squad[i].f1) > 1e-6)
            fail_msg("F1(\"%s\", \"%s\") = %f, expected %f", squad[i].pred, squad[i].gold, f1,
                     squad[i].f1);
    }
    sbuf_free(&n);
}

static void test_aliases_and_containment(void **state)
{
    (void)state;
    json_t *golds = json_pack("[s, s]", "G. Stanley Hall", "Stanley Hall");
    assert_int_equal(text_em_any("stanley hall", golds), 1);
    assert_int_equal(text_em_any("Hall", golds), 0);
    assert_true(fabs(text_f1_any("Hall", golds) - 2.0 / 3.0) < 1e-9);
    json_decref(golds);
    assert_int_equal(text_contains_answer("born in new york city in 1950", "new york"), 1);
    assert_int_equal(text_contains_answer("born in new yorkshire", "new york"), 0);
    assert_int_equal(text_contains_answer("anything", ""), 0);
}

static void test_tokens(void **state)
{
    (void)state;
    struct tokens t = {0};
    text_tokenize("The Caf\xc3\xa9 of PARIS, and the cafe!", 33, &t);
    /* stop words dropped; accents and case folded: cafe twice, paris once */
    assert_int_equal(t.n, 3);
    assert_true(t.h[0] == t.h[2]);
    assert_true(t.h[0] == text_token_hash("cafe"));
    assert_true(t.h[1] == text_token_hash("paris"));
    tokens_reset(&t);
    text_words("Kiss and Tell by Shirley Temple in LA", 37, TEXT_CAPITALIZED | TEXT_MIN3, &t);
    assert_int_equal(t.n, 4); /* kiss, tell, shirley, temple: "and", "by", "in" are not capitalised,
                                 LA is too short */
    tokens_free(&t);
}

/* Every stop word is one (the look-up finds each where the table put it), in both tokenisers,
 * and words next to them (a longer form, a prefix, another word of the same length) are not. */
static void test_stop_words(void **state)
{
    (void)state;
    static const char *const stops =
        "a about after also an and any are as at be been before being between both but by can "
        "could did do does during each for from had has have he her hers him his how i if in into "
        "is it its me my no nor not of on or our over she so such than that the their them then "
        "there these they this those to under until up was we were what when where which while "
        "who whom whose why will with would you your";
    static const char *const others = "ab abouts aft als ant andy anything art ask ate bee "
                                      "befores born bot buts first herself hi hows yours yo zz";
    struct tokens t = {0};
    text_words(stops, strlen(stops), 0, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.n_words, 88);
    tokens_reset(&t);
    text_words(stops, strlen(stops), TEXT_KEEP_STOP | TEXT_ATTRS, &t);
    assert_int_equal(t.n, 88);
    for (size_t i = 0; i < t.n; i++) assert_true(t.attr[i] & TOKEN_STOP);
    tokens_reset(&t);
    text_words(others, strlen(others), 0, &t);
    assert_int_equal(t.n, t.n_words);
    assert_int_equal(t.n, 22);
    tokens_reset(&t);
    text_words(others, strlen(others), TEXT_KEEP_STOP | TEXT_ATTRS, &t);
    for (size_t i = 0; i < t.n; i++) assert_false(t.attr[i] & TOKEN_STOP);
    tokens_free(&t);
}

/*
 * Differential tests of the one-pass normaliser and tokeniser against the plain code they
 * replaced (kept here, verbatim in substance): the official normalisation steps over decoded
 * code points, and a tokeniser that collects words then filters them.
 */
static int ref_punct(utf8proc_int32_t c)
{
    return c < 0x80 && c > 0x20 && c != 0x7f &&
           !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static int ref_space(utf8proc_int32_t c)
{
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 ||
        c == 0x2028 || c == 0x2029)
        return 1;
    return c > 0x7f && utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static int ref_word(utf8proc_int32_t c)
{
    if (c == '_') return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* lower, drop punctuation; \b(a|an|the)\b -> ' '; split and join */
static void ref_normalize(const char *s, struct sbuf *out)
{
    size_t n = strlen(s), m = 0;
    utf8proc_int32_t *cp = calloc(n + 1, sizeof *cp);
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) {
            i++;
            continue;
        }
        i += (size_t)k;
        c = utf8proc_tolower(c);
        if (!ref_punct(c)) cp[m++] = c;
    }
    for (size_t i = 0; i < m;) {
        if (!ref_word(cp[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < m && ref_word(cp[j])) j++;
        size_t len = j - i;
        if ((len == 1 && cp[i] == 'a') || (len == 2 && cp[i] == 'a' && cp[i + 1] == 'n') ||
            (len == 3 && cp[i] == 't' && cp[i + 1] == 'h' && cp[i + 2] == 'e')) {
            cp[i] = ' ';
            for (size_t k = i + 1; k < j; k++) cp[k] = 0;
        }
        i = j;
    }
    sbuf_reset(out);
    sbuf_add(out, "", 0);
    int pending = 0;
    for (size_t i = 0; i < m; i++) {
        if (cp[i] == 0) continue;
        if (ref_space(cp[i])) {
            pending = out->len > 0;
            continue;
        }
        if (pending) sbuf_addc(out, ' ');
        pending = 0;
        utf8proc_uint8_t b[4];
        sbuf_add(out, b, (size_t)utf8proc_encode_char(cp[i], b));
    }
    free(cp);
}

static const char *const ref_stops[] = {
    "a",    "about", "after",  "also",   "an",      "and",   "any",   "are",   "as",    "at",
    "be",   "been",  "before", "being",  "between", "both",  "but",   "by",    "can",   "could",
    "did",  "do",    "does",   "during", "each",    "for",   "from",  "had",   "has",   "have",
    "he",   "her",   "hers",   "him",    "his",     "how",   "i",     "if",    "in",    "into",
    "is",   "it",    "its",    "me",     "my",      "no",    "nor",   "not",   "of",    "on",
    "or",   "our",   "over",   "she",    "so",      "such",  "than",  "that",  "the",   "their",
    "them", "then",  "there",  "these",  "they",    "this",  "those", "to",    "under", "until",
    "up",   "was",   "we",     "were",   "what",    "when",  "where", "which", "while", "who",
    "whom", "whose", "why",    "will",   "with",    "would", "you",   "your"};

/* Folds one code point into word; 1 if it was a letter or digit. */
static int ref_fold(utf8proc_int32_t cp, char *word, size_t *len, size_t cap)
{
    utf8proc_int32_t out[8];
    utf8proc_ssize_t k = utf8proc_decompose_char(
        cp, out, 8, UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE,
        NULL);
    if (k < 0 || k > 8) return 0;
    int any = 0;
    for (utf8proc_ssize_t i = 0; i < k; i++) {
        utf8proc_category_t c = utf8proc_category(out[i]);
        if (!((c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
              (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO)))
            continue;
        if (*len + 4 > cap) return 1;
        *len += (size_t)utf8proc_encode_char(out[i], (utf8proc_uint8_t *)word + *len);
        any = 1;
    }
    return any;
}

/* The words of s as the plain tokeniser saw them, with each word's byte span for the spacing
 * attribute: a word is spaced when the bytes between it and the word before are all ' '. */
struct ref_state {
    const unsigned char *p;
    char word[256];
    size_t wl, chars, start, prev_end;
    int cap, have_prev;
};

static void ref_flush(struct ref_state *r, struct tokens *t, int flags, size_t end)
{
    if (!r->wl) return;
    int stop = 0, spaced = r->have_prev;
    for (size_t i = 0; i < ARRAY_SIZE(ref_stops); i++)
        if (strlen(ref_stops[i]) == r->wl && memcmp(ref_stops[i], r->word, r->wl) == 0) stop = 1;
    for (size_t i = r->prev_end; spaced && i < r->start; i++) spaced = r->p[i] == ' ';
    r->have_prev = 1;
    r->prev_end = end;
    unsigned attr = (stop ? TOKEN_STOP : 0) | (r->cap ? TOKEN_CAP : 0) |
                    (r->chars >= 3 ? TOKEN_MIN3 : 0) | (spaced ? TOKEN_SPACED : 0);
    size_t wl = r->wl;
    r->wl = r->chars = 0;
    t->n_words++;
    if ((!(flags & TEXT_KEEP_STOP) && stop) ||
        ((flags & TEXT_CAPITALIZED) && !(attr & TOKEN_CAP)) ||
        ((flags & TEXT_MIN3) && !(attr & TOKEN_MIN3)))
        return;
    t->h = realloc(t->h, (t->n + 1) * sizeof *t->h);
    t->attr = realloc(t->attr, t->n + 1);
    t->attr[t->n] = (unsigned char)attr;
    t->h[t->n++] = XXH3_64bits(r->word, wl);
}

static void ref_words(const char *s, size_t n, int flags, struct tokens *t)
{
    struct ref_state r = {(const unsigned char *)s};
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        utf8proc_int32_t cp = r.p[i];
        utf8proc_ssize_t k = 1;
        if (r.p[i] >= 0x80) k = utf8proc_iterate(r.p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) {
            i++;
            ref_flush(&r, t, flags, at);
            continue;
        }
        i += (size_t)k;
        int first = r.chars == 0;
        if (cp < 0x80 && !isalnum(cp)) {
            ref_flush(&r, t, flags, at);
        } else if (cp < 0x80) {
            if (first) {
                r.cap = cp >= 'A' && cp <= 'Z';
                r.start = at;
            }
            if (r.wl < sizeof r.word) r.word[r.wl++] = (char)tolower(cp);
            r.chars++;
        } else if (!ref_fold(cp, r.word, &r.wl, sizeof r.word)) {
            ref_flush(&r, t, flags, at);
        } else {
            if (first) {
                utf8proc_category_t c = utf8proc_category(cp);
                r.cap = c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT;
                r.start = at;
            }
            r.chars++;
        }
    }
    ref_flush(&r, t, flags, n);
}

/* Pieces that exercise every branch: articles, punctuation inside words, ASCII and Unicode
 * white space, control characters, letters whose lower case changes length or is ASCII,
 * accents, digits of other scripts, an en dash, invalid and cut UTF-8. */
static const char *const pieces[] = {
    "a",
    "an",
    "the",
    "The",
    "THE",
    "ant",
    " ",
    "  ",
    "\t",
    "\n",
    "\x1c",
    "\x01",
    "\x7f",
    ".",
    ",",
    "'",
    "_",
    "-",
    "U.S.",
    "x",
    "Q",
    "42",
    "caf\xc3\xa9",
    "\xc3\x89",     /* E acute */
    "\xc4\xb0",     /* I with dot: lower case is ASCII i */
    "\xe2\x84\xaa", /* Kelvin sign: lower case is ASCII k */
    "\xc8\xba",     /* A with stroke: lower case takes 3 bytes */
    "\xc2\xa0",     /* no-break space */
    "\xe2\x80\xa8", /* line separator */
    "\xc2\x85",     /* next line */
    "\xe2\x80\x93", /* en dash */
    "\xd9\xa3",     /* Arabic-Indic digit three */
    "\xef\xac\x81", /* fi ligature */
    "Wikipedia",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "@[`{/:",
    "Zz09Aa",
    "\xff",
    "\xc3",
    "Stra\xc3\x9f"
    "e",
    "\xe6\x9d\xb1\xe4\xba\xac",
};

static void random_text(char *buf, size_t cap, unsigned *seed)
{
    size_t len = 0, k = (size_t)(rand_r(seed) % 12);
    buf[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[(size_t)rand_r(seed) % ARRAY_SIZE(pieces)];
        size_t pl = strlen(p);
        if (len + pl + 1 >= cap) break;
        memcpy(buf + len, p, pl + 1);
        len += pl;
    }
}

static void test_normalize_differential(void **state)
{
    (void)state;
    unsigned seed = 12345;
    char buf[256];
    struct sbuf a = {0}, b = {0};
    for (int it = 0; it < 200000; it++) {
        random_text(buf, sizeof buf, &seed);
        text_squad_normalize(buf, &a);
        ref_normalize(buf, &b);
        if (strcmp(a.p, b.p) != 0 || a.len != strlen(a.p))
            fail_msg("normalize(\"%s\") = \"%s\", plain code gives \"%s\"", buf, a.p, b.p);
    }
    sbuf_free(&a);
    sbuf_free(&b);
}

/* a and b hold the same tokens (and attributes, when flags asked for them). */
static void assert_same_tokens(const struct tokens *a, const struct tokens *b, const char *s,
                               int flags)
{
    if (a->n != b->n || a->n_words != b->n_words ||
        (a->n && memcmp(a->h, b->h, a->n * sizeof *a->h) != 0))
        fail_msg("tokens of \"%s\" differ (%zu/%zu words, %zu/%zu kept)", s, a->n_words, b->n_words,
                 a->n, b->n);
    if ((flags & TEXT_ATTRS) && a->n && memcmp(a->attr, b->attr, a->n) != 0)
        fail_msg("token attributes of \"%s\" differ", s);
}

/* text_words without attributes takes a path of its own for ASCII words (words_fast); with
 * TEXT_ATTRS it takes the general scan. Both give the same hashes, also for words longer than
 * the 256 bytes a word keeps, runs of every length around the 16-byte steps, and non-ASCII
 * letters right after, inside or before a long ASCII run. */
static void test_tokens_fast_long_words(void **state)
{
    (void)state;
    static const char *const tails[] = {"",      " x",           "\xc3\xa9", "\xc3\xa9tude",
                                        ", Bob", "\xe2\x80\x93y"};
    char buf[1200];
    struct tokens a = {0}, b = {0};
    for (size_t len = 1; len < 700; len += len < 40 ? 1 : 37) {
        for (size_t t = 0; t < ARRAY_SIZE(tails); t++) {
            for (int lead = 0; lead < 2; lead++) {
                size_t n = 0;
                if (lead) n += (size_t)snprintf(buf, sizeof buf, "Caf\xc3\xa9 ");
                for (size_t i = 0; i < len; i++) buf[n++] = (char)("AbcdEfgh0123"[i % 12]);
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%s the end", tails[t]);
                tokens_reset(&a);
                tokens_reset(&b);
                text_words(buf, n, 0, &a);
                text_words(buf, n, TEXT_ATTRS, &b);
                assert_int_equal(a.n, b.n);
                assert_int_equal(a.n_words, b.n_words);
                assert_memory_equal(a.h, b.h, a.n * sizeof *a.h);
            }
        }
    }
    tokens_free(&a);
    tokens_free(&b);
}

/* A mostly ASCII text of up to cap - 1 bytes, as passages are: words of 1 to 40 letters and
 * digits between separators, and now and then a piece of another script (the 64-byte blocks of
 * words_fast see every case: words inside one, across two, and blocks with another script). */
static void random_passage(char *buf, size_t cap, unsigned *seed)
{
    static const char *const seps[] = {" ", " ", " ", ", ", ". ", "-", "  ", "\n", "'", " ("};
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t len = 0, want = (size_t)rand_r(seed) % cap;
    while (len + 64 < cap && len < want) {
        if (rand_r(seed) % 30 == 0) {
            const char *p = pieces[(size_t)rand_r(seed) % ARRAY_SIZE(pieces)];
            size_t pl = strlen(p);
            memcpy(buf + len, p, pl);
            len += pl;
        } else {
            int wl = 1 + (rand_r(seed) % 4 == 0 ? rand_r(seed) % 40 : rand_r(seed) % 9);
            for (int k = 0; k < wl; k++)
                buf[len++] = alnum[(size_t)rand_r(seed) % (sizeof alnum - 1)];
        }
        const char *sp = seps[(size_t)rand_r(seed) % ARRAY_SIZE(seps)];
        memcpy(buf + len, sp, strlen(sp));
        len += strlen(sp);
    }
    buf[len] = '\0';
}

/* text_words gives the plain tokeniser's words on passage-like texts of up to 2 KB, with and
 * without flags (words_fast's blocks and its byte-by-byte steps). */
static void test_tokens_passages(void **state)
{
    (void)state;
    static const int flags[] = {0, TEXT_CAPITALIZED | TEXT_MIN3, TEXT_KEEP_STOP, TEXT_MIN3};
    unsigned seed = 4242;
    char buf[2048];
    struct tokens a = {0}, b = {0};
    for (int it = 0; it < 20000; it++) {
        random_passage(buf, sizeof buf, &seed);
        size_t n = strlen(buf);
        int f = flags[it % ARRAY_SIZE(flags)];
        tokens_reset(&a);
        tokens_reset(&b);
        text_words(buf, n, f, &a);
        ref_words(buf, n, f, &b);
        assert_same_tokens(&a, &b, buf, f);
    }
    tokens_free(&a);
    free(b.h);
    free(b.attr);
}

static void test_tokens_differential(void **state)
{
    (void)state;
    static const int flags[] = {0,
                                TEXT_KEEP_STOP | TEXT_ATTRS,
                                TEXT_CAPITALIZED | TEXT_MIN3,
                                TEXT_KEEP_STOP | TEXT_CAPITALIZED | TEXT_ATTRS,
                                TEXT_MIN3 | TEXT_ATTRS,
                                TEXT_ATTRS};
    unsigned seed = 777;
    char buf[256];
    struct tokens a = {0}, b = {0}, c = {0};
    struct sbuf norm = {0}, ref = {0};
    for (int it = 0; it < 100000; it++) {
        random_text(buf, sizeof buf, &seed);
        size_t n = strlen(buf);
        int f = flags[it % ARRAY_SIZE(flags)], g = flags[(it / 5) % ARRAY_SIZE(flags)];
        tokens_reset(&a);
        tokens_reset(&b);
        tokens_reset(&c);
        text_words(buf, n, f, &a);
        ref_words(buf, n, f, &b);
        assert_same_tokens(&a, &b, buf, f);
        /* the pair gives what two separate passes give */
        tokens_reset(&a);
        text_words_pair(buf, n, f, &a, g, &c);
        assert_same_tokens(&a, &b, buf, f);
        tokens_reset(&b);
        ref_words(buf, n, g, &b);
        assert_same_tokens(&c, &b, buf, g);
        /* one pass for the normalisation and both lists */
        tokens_reset(&a);
        tokens_reset(&c);
        text_scan(buf, n, &norm, f, &a, g, &c);
        ref_normalize(buf, &ref);
        assert_string_equal(norm.p, ref.p);
        assert_same_tokens(&c, &b, buf, g);
        tokens_reset(&b);
        ref_words(buf, n, f, &b);
        assert_same_tokens(&a, &b, buf, f);
        /* one list that keeps every word with its attributes (the lexical judge's passages:
         * its own path through the scan) */
        const int all = TEXT_KEEP_STOP | TEXT_ATTRS;
        tokens_reset(&a);
        text_scan(buf, n, &norm, all, &a, 0, NULL);
        assert_string_equal(norm.p, ref.p);
        tokens_reset(&b);
        ref_words(buf, n, all, &b);
        assert_same_tokens(&a, &b, buf, all);
    }
    /* words longer than a token keeps (256 bytes), ending in ASCII or in another script */
    static const char *const tails[] = {" Dog", "\xc3\xa9 the Cat", "", ", an"};
    char big[600];
    for (size_t k = 0; k < ARRAY_SIZE(tails); k++) {
        memset(big, 'Q', 300);
        snprintf(big + 300, sizeof big - 300, "%s", tails[k]);
        size_t n = strlen(big);
        const int all = TEXT_KEEP_STOP | TEXT_ATTRS;
        tokens_reset(&a);
        text_scan(big, n, &norm, all, &a, 0, NULL);
        ref_normalize(big, &ref);
        assert_string_equal(norm.p, ref.p);
        tokens_reset(&b);
        ref_words(big, n, all, &b);
        assert_same_tokens(&a, &b, big, all);
    }
    /* a NUL inside: the normalisation stops there, the tokens go on */
    tokens_reset(&a);
    text_scan("The Cat\0 Dog", 12, &norm, 0, &a, 0, NULL);
    assert_string_equal(norm.p, "cat");
    assert_int_equal(a.n, 2);
    sbuf_free(&norm);
    sbuf_free(&ref);
    tokens_free(&a);
    free(b.h);
    free(b.attr);
    tokens_free(&c);
}

/* Whether h is one of t's hashes. */
static int has_hash(const struct tokens *t, uint64_t h)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->h[i] == h) return 1;
    return 0;
}

/* text_scan_some gives text_scan's words, but may leave out the hash of a word that is neither
 * capitalised nor one of the filter's words; the filter never misses one of its words. */
static void test_scan_some(void **state)
{
    (void)state;
    const int all = TEXT_KEEP_STOP | TEXT_ATTRS;
    unsigned seed = 4242;
    char buf[256], other[256];
    struct tokens a = {0}, b = {0}, c = {0};
    struct sbuf norm = {0}, ref = {0};
    size_t skipped = 0;
    for (int it = 0; it < 50000; it++) {
        random_text(buf, sizeof buf, &seed);
        random_text(other, sizeof other, &seed);
        const char *src = it % 3 ? other : buf; /* a third: the filter of the text itself */
        struct text_filter f = {{0}};
        tokens_reset(&c);
        text_words_filter(src, strlen(src), 0, &c, 0, NULL, &f); /* c: the filter's words */
        tokens_reset(&b);
        ref_words(src, strlen(src), 0, &b); /* the pass gives text_tokenize's words too */
        assert_same_tokens(&c, &b, src, 0);
        size_t n = strlen(buf);
        tokens_reset(&a);
        tokens_reset(&b);
        text_scan_some(buf, n, &norm, &f, &a);
        ref_normalize(buf, &ref);
        assert_string_equal(norm.p, ref.p);
        ref_words(buf, n, all, &b);
        if (a.n != b.n || a.n_words != b.n_words) fail_msg("words of \"%s\" differ", buf);
        for (size_t k = 0; k < a.n; k++) {
            if (!(a.attr[k] & TOKEN_NOHASH)) {
                if (a.h[k] != b.h[k] || a.attr[k] != b.attr[k])
                    fail_msg("word %zu of \"%s\" differs", k, buf);
                continue;
            }
            skipped++;
            if (a.h[k] != 0 || (b.attr[k] & TOKEN_CAP) || has_hash(&c, b.h[k]) ||
                (a.attr[k] & ~TOKEN_NOHASH) != (b.attr[k] & ~TOKEN_STOP))
                fail_msg("word %zu of \"%s\" was wrongly left without its hash", k, buf);
        }
    }
    assert_true(skipped > 1000); /* the path that skips hashes was taken */
    sbuf_free(&norm);
    sbuf_free(&ref);
    tokens_free(&a);
    free(b.h);
    free(b.attr);
    tokens_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_squad_official_table),
        cmocka_unit_test(test_aliases_and_containment),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_stop_words),
        cmocka_unit_test(test_normalize_differential),
        cmocka_unit_test(test_tokens_differential),
        cmocka_unit_test(test_tokens_passages),
        cmocka_unit_test(test_tokens_fast_long_words),
        cmocka_unit_test(test_scan_some),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
