/* text.c - see text.h. */
#include "pipeline/text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
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
    "a", "about", "after", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "during", "each", "for", "from", "had", "has", "have", "he", "her", "hers", "him", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "nor", "not", "of",
    "on", "or", "our", "over", "she", "so", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "under", "until", "up", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "whose", "why",
    "will", "with", "would", "you", "your"};

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

static void flush_word(struct tokens *t, const char *w, size_t n)
{
    if (!n) return;
    uint64_t h = XXH3_64bits(w, n);
    t->n_words++;
    if (is_stop(h)) return;
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
    pthread_once(&stop_once, init_stops);
    /* words longer than this are cut (never overflowed): no real word is this long */
    char word[256];
    size_t wl = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                if (wl < sizeof word) word[wl++] = (char)c;
            } else if (c >= 'A' && c <= 'Z') {
                if (wl < sizeof word) word[wl++] = (char)(c - 'A' + 'a');
            } else {
                flush_word(t, word, wl);
                wl = 0;
            }
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) { /* invalid byte: a separator */
            i++;
            flush_word(t, word, wl);
            wl = 0;
            continue;
        }
        i += (size_t)k;
        if (!fold_char(cp, word, &wl, sizeof word)) {
            flush_word(t, word, wl);
            wl = 0;
        }
    }
    flush_word(t, word, wl);
}
