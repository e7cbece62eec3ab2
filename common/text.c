/* text.c - see text.h. */
#include "common/text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <jansson.h>
#include <xxhash.h>

int64_t text_utf8_chars(const char *s, size_t n, size_t *bad)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    int64_t count = 0;
    while (i < n) {
        if (p[i] < 0x80) { /* ASCII fast path */
            i++;
            count++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) {
            if (bad) *bad = i;
            return -1;
        }
        i += (size_t)k;
        count++;
    }
    return count;
}

/* English stop words: function words that carry no evidence. Kept short on purpose: "first",
 * "born", numbers and the like matter for multi-hop questions. */
static const char *const stopwords[] = {
    "a",    "about", "after",  "also",   "an",      "and",   "any",   "are",   "as",    "at",
    "be",   "been",  "before", "being",  "between", "both",  "but",   "by",    "can",   "could",
    "did",  "do",    "does",   "during", "each",    "for",   "from",  "had",   "has",   "have",
    "he",   "her",   "hers",   "him",    "his",     "how",   "i",     "if",    "in",    "into",
    "is",   "it",    "its",    "me",     "my",      "no",    "nor",   "not",   "of",    "on",
    "or",   "our",   "over",   "she",    "so",      "such",  "than",  "that",  "the",   "their",
    "them", "then",  "there",  "these",  "they",    "this",  "those", "to",    "under", "until",
    "up",   "was",   "we",     "were",   "what",    "when",  "where", "which", "while", "who",
    "whom", "whose", "why",    "will",   "with",    "would", "you",   "your"};

static uint64_t stop_hashes[ARRAY_SIZE(stopwords)];

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t text_token_hash(const char *w)
{
    return XXH3_64bits(w, strlen(w));
}

uint64_t text_bigram_hash(uint64_t a, uint64_t b)
{
    uint64_t pair[2] = {a, b};
    return XXH3_64bits_withSeed(pair, sizeof pair, 0x9e3779b97f4a7c15ULL);
}

/* Built once (pthread_once); every thread then only reads it. */
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void init_stops(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(stopwords); i++)
        stop_hashes[i] = text_token_hash(stopwords[i]);
    qsort(stop_hashes, ARRAY_SIZE(stop_hashes), sizeof stop_hashes[0], cmp_u64);
}

static int is_stop(uint64_t h)
{
    return bsearch(&h, stop_hashes, ARRAY_SIZE(stop_hashes), sizeof h, cmp_u64) != NULL;
}

void tokens_reset(struct tokens *t)
{
    t->n = 0;
    t->n_words = 0;
}

void tokens_free(struct tokens *t)
{
    free(t->h);
    memset(t, 0, sizeof *t);
}

static void flush_word(struct tokens *t, const char *w, size_t n, int flags, int cap, size_t chars)
{
    if (!n) return;
    uint64_t h = XXH3_64bits(w, n);
    t->n_words++;
    if (!(flags & TEXT_KEEP_STOP) && is_stop(h)) return;
    if ((flags & TEXT_CAPITALIZED) && !cap) return;
    if ((flags & TEXT_MIN3) && chars < 3) return;
    xgrow((void **)&t->h, &t->cap, t->n + 1, sizeof *t->h);
    t->h[t->n++] = h;
}

/* Appends the case-folded, accent-stripped UTF-8 of code point cp if it is a letter or digit.
 * Returns 1 if it was one (the word goes on), 0 otherwise (the word ends). */
static int fold_char(utf8proc_int32_t cp, char *word, size_t *len, size_t cap)
{
    utf8proc_int32_t out[8];
    utf8proc_ssize_t k = utf8proc_decompose_char(
        cp, out, 8, UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE,
        NULL);
    if (k < 0 || k > 8) return 0;
    int any = 0;
    for (utf8proc_ssize_t i = 0; i < k; i++) {
        utf8proc_category_t c = utf8proc_category(out[i]);
        int alnum = (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
                    (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
        if (!alnum) continue;
        if (*len + 4 > cap) return 1; /* absurdly long word: truncated, still one token */
        *len += (size_t)utf8proc_encode_char(out[i], (utf8proc_uint8_t *)word + *len);
        any = 1;
    }
    return any;
}

void text_tokenize(const char *s, size_t n, struct tokens *t)
{
    text_words(s, n, 0, t);
}

void text_words(const char *s, size_t n, int flags, struct tokens *t)
{
    pthread_once(&stop_once, init_stops);
    /* words longer than this are cut (never overflowed): no real word is this long */
    char word[256];
    size_t wl = 0, chars = 0;
    int cap = 0; /* the word's first letter is upper case */
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
#define END_WORD()                                                                                 \
    do {                                                                                           \
        flush_word(t, word, wl, flags, cap, chars);                                                \
        wl = chars = 0;                                                                            \
    } while (0)
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                if (!chars) cap = 0;
                if (wl < sizeof word) word[wl++] = (char)c;
                chars++;
            } else if (c >= 'A' && c <= 'Z') {
                if (!chars) cap = 1;
                if (wl < sizeof word) word[wl++] = (char)(c - 'A' + 'a');
                chars++;
            } else {
                END_WORD();
            }
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) { /* invalid byte: a separator */
            i++;
            END_WORD();
            continue;
        }
        i += (size_t)k;
        int first = chars == 0;
        if (!fold_char(cp, word, &wl, sizeof word)) {
            END_WORD();
        } else {
            if (first) {
                utf8proc_category_t cat = utf8proc_category(cp);
                cap = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
            }
            chars++;
        }
    }
    END_WORD();
#undef END_WORD
}

static int is_ascii_punct(utf8proc_int32_t c)
{
    return c < 0x80 && c > 0x20 && c != 0x7f &&
           !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* Python's str.split() white space. */
static int is_py_space(utf8proc_int32_t c)
{
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 ||
        c == 0x2028 || c == 0x2029)
        return 1;
    return c > 0x7f && utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* Python's \w for str patterns: letters, digits (all numeric categories) and underscore. */
static int is_py_word(utf8proc_int32_t c)
{
    if (c == '_') return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* text_squad_normalize for pure ASCII text: the same steps, byte by byte, with no decoding. */
static void squad_normalize_ascii(const char *s, size_t n, struct sbuf *out)
{
    sbuf_reset(out);
    sbuf_grow(out, n);
    char *o = out->p;
    size_t m = 0, word_start = 0;
    int in_word = 0, pending_space = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : ' ';
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (i < n && is_ascii_punct(c) && c != '_') continue; /* '_' is punctuation too */
        if (i < n && c == '_') continue;
        int word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        int space = c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
        if (word) {
            if (!in_word) {
                if (pending_space && m) o[m++] = ' ';
                pending_space = 0;
                word_start = m;
                in_word = 1;
            }
            o[m++] = (char)c;
            continue;
        }
        if (in_word) { /* a word ended: drop it if it is an article */
            size_t len = m - word_start;
            const char *w = o + word_start;
            if ((len == 1 && w[0] == 'a') || (len == 2 && w[0] == 'a' && w[1] == 'n') ||
                (len == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e')) {
                m = word_start;
                if (m && o[m - 1] == ' ') m--; /* the space before it goes with it */
                pending_space = m > 0;
            }
            in_word = 0;
        }
        if (space) {
            pending_space = m > 0 || pending_space;
        } else if (i < n) { /* another character (control): part of the text, not a word */
            if (pending_space && m) o[m++] = ' ';
            pending_space = 0;
            o[m++] = (char)c;
        }
    }
    out->len = m;
    o[m] = '\0';
}

void text_squad_normalize(const char *s, struct sbuf *out)
{
    size_t slen = strlen(s), ascii = 0;
    while (ascii < slen && (unsigned char)s[ascii] < 0x80) ascii++;
    if (ascii == slen) {
        squad_normalize_ascii(s, slen, out);
        return;
    }
    /* 1-2: lower case, drop ASCII punctuation (code points kept for the next steps) */
    size_t n = strlen(s), m = 0, cap = 0;
    utf8proc_int32_t *cp = NULL;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) { /* invalid byte: skipped */
            i++;
            continue;
        }
        i += (size_t)k;
        c = utf8proc_tolower(c);
        if (is_ascii_punct(c)) continue;
        xgrow((void **)&cp, &cap, m + 1, sizeof *cp);
        cp[m++] = c;
    }
    /* 3: articles: a \w run that is exactly a, an or the becomes a space */
    for (size_t i = 0; i < m;) {
        if (!is_py_word(cp[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < m && is_py_word(cp[j])) j++;
        size_t len = j - i;
        if ((len == 1 && cp[i] == 'a') || (len == 2 && cp[i] == 'a' && cp[i + 1] == 'n') ||
            (len == 3 && cp[i] == 't' && cp[i + 1] == 'h' && cp[i + 2] == 'e')) {
            cp[i] = ' ';
            for (size_t k = i + 1; k < j; k++) cp[k] = 0; /* removed */
        }
        i = j;
    }
    /* 4: split on white space, join with single spaces */
    sbuf_reset(out);
    int pending_space = 0;
    for (size_t i = 0; i < m; i++) {
        if (cp[i] == 0) continue;
        if (is_py_space(cp[i])) {
            pending_space = out->len > 0;
            continue;
        }
        if (pending_space) sbuf_addc(out, ' ');
        pending_space = 0;
        utf8proc_uint8_t buf[4];
        utf8proc_ssize_t k = utf8proc_encode_char(cp[i], buf);
        sbuf_add(out, buf, (size_t)k);
    }
    if (!out->p) sbuf_add(out, "", 0);
    free(cp);
}

static int is_special(const char *norm)
{
    return strcmp(norm, "yes") == 0 || strcmp(norm, "no") == 0 || strcmp(norm, "noanswer") == 0;
}

int text_em(const char *pred, const char *gold)
{
    struct sbuf p = {0}, g = {0};
    text_squad_normalize(pred, &p);
    text_squad_normalize(gold, &g);
    int em = strcmp(p.p, g.p) == 0;
    sbuf_free(&p);
    sbuf_free(&g);
    return em;
}

/* Splits a normalised string (single spaces) into token hashes. */
static size_t split_hashes(const char *s, uint64_t **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    while (*s) {
        const char *e = strchr(s, ' ');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        xgrow((void **)out, &cap, n + 1, sizeof **out);
        (*out)[n++] = XXH3_64bits(s, len);
        s += len;
        while (*s == ' ') s++;
    }
    return n;
}

double text_f1(const char *pred, const char *gold)
{
    struct sbuf p = {0}, g = {0};
    text_squad_normalize(pred, &p);
    text_squad_normalize(gold, &g);
    double f1 = 0;
    if ((is_special(p.p) || is_special(g.p)) && strcmp(p.p, g.p) != 0) goto out;
    uint64_t *a, *b;
    size_t na = split_hashes(p.p, &a), nb = split_hashes(g.p, &b);
    if (na && nb) {
        qsort(a, na, sizeof *a, cmp_u64);
        qsort(b, nb, sizeof *b, cmp_u64);
        size_t i = 0, j = 0, common = 0; /* multiset intersection, as Counter & Counter */
        while (i < na && j < nb) {
            if (a[i] < b[j])
                i++;
            else if (a[i] > b[j])
                j++;
            else {
                common++;
                i++;
                j++;
            }
        }
        if (common) {
            double prec = (double)common / (double)na, rec = (double)common / (double)nb;
            f1 = 2 * prec * rec / (prec + rec);
        }
    }
    free(a);
    free(b);
out:
    sbuf_free(&p);
    sbuf_free(&g);
    return f1;
}

int text_em_any(const char *pred, const void *answers)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)answers, i,
                       v) if (json_is_string(v) && text_em(pred, json_string_value(v))) return 1;
    return 0;
}

double text_f1_any(const char *pred, const void *answers)
{
    double best = 0;
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)answers, i, v)
    {
        if (!json_is_string(v)) continue;
        double f = text_f1(pred, json_string_value(v));
        if (f > best) best = f;
    }
    return best;
}

int text_contains_answer(const char *norm_text, const char *norm_answer)
{
    size_t la = strlen(norm_answer);
    if (!la) return 0;
    for (const char *p = strstr(norm_text, norm_answer); p; p = strstr(p + 1, norm_answer)) {
        int left = p == norm_text || p[-1] == ' ';
        int right = p[la] == '\0' || p[la] == ' ';
        if (left && right) return 1;
    }
    return 0;
}
