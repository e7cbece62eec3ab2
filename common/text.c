/* text.c - see text.h. */
#include "common/text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <jansson.h>
/* xxh3 inlined: the tokeniser hashes every word, and a library call per word costs more than
 * the hash (the values are the library's) */
#define XXH_INLINE_ALL
#include <xxhash.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Stop-word hashes in a cuckoo table: each is in one of two slots that its bits name, so a
 * word's look-up is two loads and two compares without a branch. A loop over linear probes
 * cost a mispredicted branch on about every word that tokenising hashes (text_words was a
 * fifth of pare index). 0 marks an empty slot. */
#define STOP_SLOTS 1024
/* The longest stop word's bytes: a longer word is none, without a look in the table. */
#define STOP_MAX_LEN 7
static uint64_t stop_table[STOP_SLOTS];

/* The two slots of hash h. */
static inline size_t stop_slot(uint64_t h, int which)
{
    return (which ? h >> 32 : h) & (STOP_SLOTS - 1);
}

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
    for (size_t i = 0; i < ARRAY_SIZE(stopwords); i++) {
        if (strlen(stopwords[i]) > STOP_MAX_LEN) abort(); /* a word added to the list */
        uint64_t h = text_token_hash(stopwords[i]);
        /* cuckoo insertion: a word that finds both slots taken moves one of them to its other
         * slot; the table is a tenth full, so chains are short */
        int which = 0, kicks = 0;
        while (h) {
            size_t k = stop_slot(h, which);
            uint64_t out = stop_table[k];
            stop_table[k] = h;
            h = out;
            if (h) which = stop_slot(h, 0) == k; /* the evicted word goes to its other slot */
            if (++kicks > 64) abort();
        }
    }
}

static inline int is_stop(uint64_t h)
{
    return (stop_table[stop_slot(h, 0)] == h) | (stop_table[stop_slot(h, 1)] == h);
}

void tokens_reset(struct tokens *t)
{
    t->n = 0;
    t->n_words = 0;
}

void tokens_free(struct tokens *t)
{
    free(t->h);
    free(t->attr);
    memset(t, 0, sizeof *t);
}

/* Appends word h to t when it passes the filters of `flags` (with its attributes when asked). */
static inline void keep_word(struct tokens *t, int flags, uint64_t h, unsigned attr)
{
    t->n_words++;
    if (!(flags & TEXT_KEEP_STOP) && (attr & TOKEN_STOP)) return;
    if ((flags & TEXT_CAPITALIZED) && !(attr & TOKEN_CAP)) return;
    if ((flags & TEXT_MIN3) && !(attr & TOKEN_MIN3)) return;
    if (t->n == t->cap) xgrow((void **)&t->h, &t->cap, t->n + 1, sizeof *t->h);
    if (flags & TEXT_ATTRS) {
        if (t->n >= t->cap_attr) xgrow((void **)&t->attr, &t->cap_attr, t->n + 1, 1);
        t->attr[t->n] = (unsigned char)attr;
    }
    t->h[t->n++] = h;
}

/* Appends word h with its attributes to t, as keep_word with TEXT_KEEP_STOP | TEXT_ATTRS does
 * (one check of room for both arrays). */
static inline __attribute__((always_inline)) void keep_all(struct tokens *t, uint64_t h,
                                                           unsigned attr)
{
    t->n_words++;
    if (t->n >= t->cap || t->n >= t->cap_attr) {
        xgrow((void **)&t->h, &t->cap, t->n + 1, sizeof *t->h);
        xgrow((void **)&t->attr, &t->cap_attr, t->n + 1, 1);
    }
    t->attr[t->n] = (unsigned char)attr;
    t->h[t->n++] = h;
}

/* What a scan does with words (scan_with's tok): nothing, give them to any sink, or keep them
 * all with their attributes in one list (the lexical judge's passages: the checks of a sink's
 * flags fold away). */
enum { TOK_NONE, TOK_ANY, TOK_ALL };

/* Where the words of one pass go: list a with flags fa, and list b (when not NULL) with fb;
 * the content words to filter `fill` (when not NULL: text_filter_words). */
struct word_sink {
    struct tokens *a, *b;
    int fa, fb;
    struct text_filter *fill;
};

/* The bit of text_filter for the word w[0..n) (n >= 1). */
static inline unsigned filter_bit(const char *w, size_t n)
{
    uint32_t x = (uint32_t)n * 0x9E3779B1u ^ (unsigned char)w[0] * 0x85EBCA77u ^
                 (unsigned char)w[n - 1] * 0xC2B2AE3Du;
    return (x >> 24) & 255u;
}

static inline int filter_has(const struct text_filter *f, const char *w, size_t n)
{
    unsigned b = filter_bit(w, n);
    return (int)(f->bits[b >> 6] >> (b & 63) & 1);
}

/* XXH3_64bits(w, n), inlined into the scan for words of at most 16 bytes (most words): what
 * XXH3_64bits does for them, without the call that the compiler makes once the scan is large. */
static inline __attribute__((always_inline)) uint64_t word_hash(const char *w, size_t n)
{
    if (n <= 16) return XXH3_len_0to16_64b((const xxh_u8 *)w, n, XXH3_kSecret, 0);
    return XXH3_64bits(w, n);
}

/* A finished word w[0..n): its first letter is upper case (cap), it has `chars` code points,
 * and only spaces separate it from the word before (spaced). tok is the scan's (scan_with):
 * TOK_ALL when the sink is one list that keeps every word with its attributes. */
static inline __attribute__((always_inline)) void flush_word(const struct word_sink *k,
                                                             const char *w, size_t n, int cap,
                                                             size_t chars, int spaced,
                                                             const int tok)
{
    if (!n) return;
    uint64_t h = word_hash(w, n);
    unsigned attr = ((n <= STOP_MAX_LEN) & is_stop(h) ? TOKEN_STOP : 0) | (cap ? TOKEN_CAP : 0) |
                    (chars >= 3 ? TOKEN_MIN3 : 0) | (spaced ? TOKEN_SPACED : 0);
    if (tok == TOK_ALL) {
        keep_all(k->a, h, attr);
        return;
    }
    if (k->fill && !(attr & TOKEN_STOP)) {
        unsigned b = filter_bit(w, n);
        k->fill->bits[b >> 6] |= 1ULL << (b & 63);
    }
    keep_word(k->a, k->fa, h, attr);
    if (k->b) keep_word(k->b, k->fb, h, attr);
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

/* The word being built: at most sizeof w bytes are kept (never overflowed: no real word is
 * that long), chars counts its code points, cap says its first letter is upper case. */
struct word {
    char w[256];
    size_t len, chars;
    int cap, spaced;
};

/* An ASCII letter or digit, lower-cased; 0 for every other byte. */
static const unsigned char alnum_lower[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
    ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k',
    ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
    ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
    ['z'] = 'z', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
    ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm',
    ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

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

/* What a (lower-cased) character is to the normalisation. */
enum norm_class { N_PUNCT, N_WORD, N_SPACE, N_OTHER };

static enum norm_class ascii_class(unsigned c)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return N_WORD;
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return N_SPACE;
    if (is_ascii_punct((utf8proc_int32_t)c)) return N_PUNCT; /* '_' too: string.punctuation */
    return N_OTHER;                                          /* control characters */
}

static enum norm_class code_class(utf8proc_int32_t c)
{
    if (c < 0x80) return ascii_class((unsigned)c);
    if (is_py_word(c)) return N_WORD;
    return is_py_space(c) ? N_SPACE : N_OTHER;
}

/* The output of text_squad_normalize as it is written. */
struct norm_out {
    char *o;
    size_t m, word_start;
    int in_word, pending_space;
};

static void norm_put(struct norm_out *w, utf8proc_int32_t c)
{
    if (c < 0x80)
        w->o[w->m++] = (char)c;
    else
        w->m += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)w->o + w->m);
}

/* A word ended: it goes if it is an article, with the space before it (a separator stays). */
static inline __attribute__((always_inline)) void norm_end_word(struct norm_out *w)
{
    size_t len = w->m - w->word_start;
    const char *s = w->o + w->word_start;
    if ((len == 1 && s[0] == 'a') || (len == 2 && s[0] == 'a' && s[1] == 'n') ||
        (len == 3 && s[0] == 't' && s[1] == 'h' && s[2] == 'e')) {
        w->m = w->word_start;
        if (w->m && w->o[w->m - 1] == ' ') w->m--;
        w->pending_space = w->m > 0;
    }
    w->in_word = 0;
}

/* One lower-cased character of the input. */
static void norm_char(struct norm_out *w, utf8proc_int32_t c, enum norm_class k)
{
    if (k == N_PUNCT) return;
    if (k == N_WORD) {
        if (!w->in_word) {
            if (w->pending_space && w->m) w->o[w->m++] = ' ';
            w->pending_space = 0;
            w->word_start = w->m;
            w->in_word = 1;
        }
        norm_put(w, c);
        return;
    }
    if (w->in_word) norm_end_word(w);
    if (k == N_SPACE) {
        w->pending_space = w->m > 0 || w->pending_space;
    } else { /* another character: part of the text, not of a word */
        if (w->pending_space && w->m) w->o[w->m++] = ' ';
        w->pending_space = 0;
        norm_put(w, c);
    }
}

/* A normalised word starts (the space owed before it is written). */
static void norm_word_start(struct norm_out *w)
{
    if (w->pending_space && w->m) w->o[w->m++] = ' ';
    w->pending_space = 0;
    w->word_start = w->m;
    w->in_word = 1;
}

/*
 * One pass that normalises (when `norm` is set: the official steps of text_squad_normalize)
 * and tokenises (when `k` is set) at once. The steps of the normalisation (lower case, drop
 * punctuation, replace \b(a|an|the)\b by a space, split on white space and join with single
 * spaces) are done as the code points go by: an article is a \w run that is exactly a, an or
 * the once punctuation is gone, so it is known when the run ends. Runs of ASCII letters and
 * digits, most of any text, are copied lower-cased without decoding, and the token hashed from
 * the normalised copy. Invalid UTF-8 bytes are skipped by the normalisation and separate
 * tokens.
 */
struct scanner {
    struct norm_out no;
    int norm;
    struct word w;
    int gap; /* a word ended and only spaces have come since */
    const struct word_sink *k;
    const struct text_filter *filter; /* text_scan_some's */
};

/* The word ends (at a space: the gap stays clean until another separator). */
static inline __attribute__((always_inline)) void scan_flush(struct scanner *sc, const int tok)
{
    if (sc->w.len) {
        flush_word(sc->k, sc->w.w, sc->w.len, sc->w.cap, sc->w.chars, sc->w.spaced, tok);
        sc->gap = 1;
    }
    sc->w.len = sc->w.chars = 0;
}

/* The word ends at a separator other than a space. */
static void scan_break(struct scanner *sc)
{
    scan_flush(sc, TOK_ANY);
    sc->gap = 0;
}

/* A vector of 16 bytes: 0xff where the byte is in [lo, lo + span], 0 elsewhere. */
#if defined(__SSE2__)
static inline __m128i in_range(__m128i x, char lo, char span)
{
    __m128i d = _mm_sub_epi8(x, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
}
#endif

/*
 * Copies the run of ASCII letters and digits at p[i..n) lower-cased to low[0..) and returns
 * where it ends. Sixteen bytes at a time where the input has them (the copy of the scan's most
 * common bytes, 7.5% of pare mine's instructions a byte at a time): a chunk is classified and
 * lower-cased at once and stored whole, so up to 16 bytes past the run's copy are written (the
 * caller's buffer has that slack: scan_begin) and overwritten by what follows. Only the first
 * `keep` bytes of the run are copied (SIZE_MAX: all; words_fast keeps what a struct word keeps,
 * into a buffer of keep + 16).
 */
static inline __attribute__((always_inline)) size_t lower_run(const unsigned char *p, size_t i,
                                                              size_t n, char *low, size_t keep)
{
    size_t j = i;
#if defined(__SSE2__)
    while (n - j >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + j));
        __m128i up = in_range(x, 'A', 'Z' - 'A');
        __m128i alnum = _mm_or_si128(_mm_or_si128(up, in_range(x, 'a', 'z' - 'a')),
                                     in_range(x, '0', '9' - '0'));
        if (j - i <= keep)
            _mm_storeu_si128((__m128i *)(low + (j - i)),
                             _mm_or_si128(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
        unsigned stop = ~(unsigned)_mm_movemask_epi8(alnum) & 0xffffu;
        if (stop) return j + (size_t)__builtin_ctz(stop);
        j += 16;
    }
#endif
    unsigned l;
    for (; j < n && (l = alnum_lower[p[j]]); j++)
        if (j - i < keep) low[j - i] = (char)l;
    return j;
}

/* The run of ASCII letters and digits at p[i..): normalised (copied lower-cased) and added to
 * the token; returns where it ends. With both, a run that is a whole token is hashed from the
 * normalised copy. */
static inline __attribute__((always_inline)) size_t scan_run(struct scanner *sc,
                                                             const unsigned char *p, size_t i,
                                                             size_t n, const int norm,
                                                             const int tok)
{
    struct word *w = &sc->w;
    size_t j = i;
    unsigned l;
    if (tok && !w->chars) {
        w->cap = (unsigned)p[i] - 'A' < 26u;
        w->spaced = sc->gap;
    }
    if (!norm) {
        for (; j < n && (l = alnum_lower[p[j]]); j++)
            if (w->len < sizeof w->w) w->w[w->len++] = (char)l;
        w->chars += j - i;
        return j;
    }
    if (!sc->no.in_word) norm_word_start(&sc->no);
    char *low = sc->no.o + sc->no.m;
    j = lower_run(p, i, n, low, SIZE_MAX);
    sc->no.m += j - i;
    if (!tok) return j;
    if ((j == n || p[j] < 0x80) && !w->len && j - i <= sizeof w->w) {
        flush_word(sc->k, low, j - i, w->cap, j - i, w->spaced, tok); /* the whole token */
        sc->gap = 1;
        return j;
    }
    size_t take = j - i < sizeof w->w - w->len ? j - i : sizeof w->w - w->len;
    memcpy(w->w + w->len, low, take);
    w->len += take;
    w->chars += j - i;
    return j;
}

/* Whether the normalised word w[0..len) is an article (a, an, the): norm_end_word drops it. */
static inline int is_article(const char *w, size_t len)
{
    return (len == 1 && w[0] == 'a') || (len == 2 && w[0] == 'a' && w[1] == 'n') ||
           (len == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

/* Where scan_words leaves the scanner when a word goes on past its ASCII run (a letter of
 * another script follows) or is absurdly long: as scan_run leaves it, the word started in the
 * normalised text at ws and kept so far in sc->w. */
static void word_goes_on(struct scanner *sc, size_t ws, int cap, int gap, size_t len)
{
    struct word *w = &sc->w;
    w->cap = cap;
    w->spaced = gap;
    w->len = len < sizeof w->w ? len : sizeof w->w;
    memcpy(w->w, sc->no.o + ws, w->len);
    w->chars = len;
}

/*
 * scan_with's path for what most of a text is (norm and TOK_ALL): runs of ASCII letters and
 * digits, each a whole word, separated by single spaces. p[i] starts a run, and no word is
 * open (in the normalised text or the token). The scanner's state is kept in locals and
 * stored back when something else comes (then the general steps take over): the same text,
 * words and attributes as scan_run, scan_flush and norm_end_word give, step by step.
 */
static size_t scan_words(struct scanner *sc, const unsigned char *p, size_t i, size_t n)
{
    char *o = sc->no.o;
    size_t m = sc->no.m;
    int pending = sc->no.pending_space, gap = sc->gap;
    struct tokens *t = sc->k->a;
    for (;;) {
        if (pending && m) o[m++] = ' '; /* norm_word_start */
        size_t ws = m, j = lower_run(p, i, n, o + m, SIZE_MAX), len = j - i;
        int cap = (unsigned)p[i] - 'A' < 26u;
        m += len;
        if ((j < n && p[j] >= 0x80) || len > sizeof sc->w.w) {
            sc->no.m = m;
            sc->no.pending_space = 0;
            sc->no.in_word = 1;
            sc->no.word_start = ws;
            word_goes_on(sc, ws, cap, gap, len);
            sc->gap = gap;
            return j;
        }
        unsigned attr = (len >= 3 ? TOKEN_MIN3 : 0) | (gap ? TOKEN_SPACED : 0);
        if (!cap && sc->filter && !filter_has(sc->filter, o + ws, len)) {
            keep_all(t, 0, attr | TOKEN_NOHASH);
        } else {
            uint64_t h = word_hash(o + ws, len);
            keep_all(t, h,
                     attr | ((len <= STOP_MAX_LEN) & is_stop(h) ? TOKEN_STOP : 0) |
                         (cap ? TOKEN_CAP : 0));
        }
        gap = 1;
        if (j == n || p[j] != ' ') { /* the normalised word stays open (punctuation, the end) */
            sc->no.m = m;
            sc->no.pending_space = 0;
            sc->no.in_word = 1;
            sc->no.word_start = ws;
            sc->gap = 1;
            return j;
        }
        /* the space: the word ends (an article goes with the space before it) */
        if (is_article(o + ws, len)) {
            m = ws;
            if (m && o[m - 1] == ' ') m--;
        }
        pending = m > 0;
        i = j + 1;
        if (i == n || !alnum_lower[p[i]]) {
            sc->no.m = m;
            sc->no.pending_space = pending;
            sc->no.in_word = 0;
            sc->gap = 1;
            return i;
        }
    }
}

/* The code point at p[0..n) (n >= 1, p[0] >= 0x80); returns the bytes used. */
static size_t scan_utf8(struct scanner *sc, const unsigned char *p, size_t n)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t used = utf8proc_iterate(p, (utf8proc_ssize_t)n, &cp);
    if (used <= 0) {
        if (sc->k) scan_break(sc);
        return 1;
    }
    if (sc->norm) {
        utf8proc_int32_t low = utf8proc_tolower(cp);
        norm_char(&sc->no, low, code_class(low));
    }
    if (!sc->k) return (size_t)used;
    struct word *w = &sc->w;
    int first = w->chars == 0;
    if (!fold_char(cp, w->w, &w->len, sizeof w->w)) {
        scan_break(sc);
    } else {
        if (first) {
            utf8proc_category_t cat = utf8proc_category(cp);
            w->cap = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
            w->spaced = sc->gap;
        }
        w->chars++;
    }
    return (size_t)used;
}

/* The pass, compiled once for each use (normalise, tokenise, or both) so that the checks of
 * what is wanted fold away. */
static inline __attribute__((always_inline)) void scan_with(struct scanner *sc, const char *s,
                                                            size_t n, const int norm, const int tok)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (alnum_lower[c]) {
            if (tok == TOK_ALL && norm && !sc->no.in_word && !sc->w.len && !sc->w.chars)
                i = scan_words(sc, p, i, n);
            else
                i = scan_run(sc, p, i, n, norm, tok);
        } else if (c == ' ') { /* the most common separator */
            i++;
            if (norm) {
                if (sc->no.in_word) norm_end_word(&sc->no);
                sc->no.pending_space |= sc->no.m > 0;
            }
            if (tok) scan_flush(sc, tok);
        } else if (c < 0x80) {
            i++;
            if (norm) norm_char(&sc->no, (utf8proc_int32_t)c, ascii_class(c));
            if (tok) scan_break(sc);
        } else {
            i += scan_utf8(sc, p + i, n - i);
        }
    }
    if (tok) scan_flush(sc, tok);
    if (norm && sc->no.in_word) norm_end_word(&sc->no);
}

/* Whether sink k is one list that keeps every word with its attributes (TOK_ALL). */
static int keeps_all(const struct word_sink *k)
{
    return k && !k->b && k->fa == (TEXT_KEEP_STOP | TEXT_ATTRS);
}

static void scan(struct scanner *sc, const char *s, size_t n)
{
    if (sc->norm && keeps_all(sc->k)) {
        /* room for every word at once: each takes a byte and, but the last, a separator */
        struct tokens *t = sc->k->a;
        xgrow((void **)&t->h, &t->cap, t->n + n / 2 + 1, sizeof *t->h);
        xgrow((void **)&t->attr, &t->cap_attr, t->n + n / 2 + 1, 1);
        scan_with(sc, s, n, 1, TOK_ALL);
    } else if (sc->norm && sc->k) {
        scan_with(sc, s, n, 1, TOK_ANY);
    } else if (sc->norm) {
        scan_with(sc, s, n, 1, TOK_NONE);
    } else {
        scan_with(sc, s, n, 0, TOK_ANY);
    }
}

/* Starts a pass; out (when not NULL) gets room for the normalised text: at most 1.5 times the
 * input (a lower-case letter takes at most one byte more than its upper case, in a character
 * of two bytes or more; a space stands for at least one byte of input), and 48 bytes more: 16
 * that lower_run may write past it, 32 that a reader of the text may load past its end (the
 * lexical judge's phrase search checks that they are there). */
static void scan_begin(struct scanner *sc, size_t n, struct sbuf *out, const struct word_sink *k)
{
    memset(sc, 0, sizeof *sc);
    sc->k = k;
    if (k) pthread_once(&stop_once, init_stops);
    if (!out) return;
    sbuf_reset(out);
    sbuf_grow(out, n + n / 2 + 8 + 48);
    sc->norm = 1;
    sc->no.o = out->p;
}

static void scan_end(struct scanner *sc, struct sbuf *out)
{
    if (!out) return;
    out->len = sc->no.m;
    out->p[sc->no.m] = '\0';
}

/* The bytes of a word that words_fast hashes: what a struct word keeps. */
#define LOW_KEEP 256

/* The general scan of p[0..n), which starts and ends where no word is open, into sink k. */
static void words_general(const unsigned char *p, size_t n, const struct word_sink *k)
{
    struct scanner sc;
    scan_begin(&sc, n, NULL, k);
    scan(&sc, (const char *)p, n);
}

/* Keeps the ASCII word whose lower-cased copy is low[0..len) (its first `keep` bytes: a word
 * keeps LOW_KEEP), its first byte `first`, as flush_word does. */
static inline __attribute__((always_inline)) void
fast_word(struct tokens *t, const int flags, const char *low, size_t len, unsigned first)
{
    size_t keep = len < LOW_KEEP ? len : LOW_KEEP;
    uint64_t h = word_hash(low, keep);
    unsigned stop = (keep <= STOP_MAX_LEN) & is_stop(h);
    if (flags == 0) { /* text_tokenize's: no branch on whether the word is kept (a stop word
                       * is written and then written over) */
        t->n_words++;
        if (t->n == t->cap) xgrow((void **)&t->h, &t->cap, t->n + 1, sizeof *t->h);
        t->h[t->n] = h;
        t->n += !stop;
        return;
    }
    unsigned attr =
        (stop ? TOKEN_STOP : 0) | (first - 'A' < 26u ? TOKEN_CAP : 0) | (len >= 3 ? TOKEN_MIN3 : 0);
    keep_word(t, flags, h, attr);
}

/*
 * One step of words_fast's byte-by-byte scan at p[i] (where no word is open): a separator, an
 * ASCII word, or a stretch of another script. Returns where the next step starts (no word is
 * open there either).
 */
static inline __attribute__((always_inline)) size_t fast_step(const unsigned char *p, size_t i,
                                                              size_t n, const int flags,
                                                              struct tokens *t, char *low,
                                                              const struct word_sink *sink)
{
    unsigned c = p[i];
    size_t j = c < 0x80 && alnum_lower[c] ? lower_run(p, i, n, low, LOW_KEEP) : i;
    if (j < n && p[j] >= 0x80) { /* another script, here or in the word: the stretch */
        size_t e = j;
        while (e < n && (p[e] >= 0x80 || alnum_lower[p[e]])) e++;
        words_general(p + i, e - i, sink);
        return e;
    }
    if (j == i) return i + 1; /* an ASCII separator */
    fast_word(t, flags, low, j - i, c);
    return j;
}

#if defined(__SSE2__)
/* The 64 bytes at p: bit k set where p[k] is an ASCII letter or digit; *high the same for the
 * bytes >= 0x80. */
static inline __attribute__((always_inline)) uint64_t alnum64(const unsigned char *p,
                                                              uint64_t *high)
{
    uint64_t a = 0, h = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        __m128i m =
            _mm_or_si128(_mm_or_si128(in_range(x, 'A', 'Z' - 'A'), in_range(x, 'a', 'z' - 'a')),
                         in_range(x, '0', '9' - '0'));
        a |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * k);
        h |= (uint64_t)(unsigned)_mm_movemask_epi8(x) << (16 * k);
    }
    *high = h;
    return a;
}

/*
 * The words of the 64 ASCII bytes at p[i] (n - i >= 64, no word open at i), their letters and
 * digits the bits of `alnum`: each word found from the masks (its start, then its end) instead
 * of byte by byte, and copied lower-cased sixteen bytes at a time. A word that runs past the
 * block is finished as fast_step finishes one. Returns where the next step starts.
 */
static inline __attribute__((always_inline)) size_t
fast_block(const unsigned char *p, size_t i, size_t n, uint64_t alnum, const int flags,
           struct tokens *t, char *low, const struct word_sink *sink)
{
    for (uint64_t starts = alnum & ~(alnum << 1); starts; starts &= starts - 1) {
        unsigned at = (unsigned)__builtin_ctzll(starts);
        uint64_t rest = ~alnum >> at;
        size_t s = i + at;
        if (!rest) return fast_step(p, s, n, flags, t, low, sink); /* it runs past the block */
        size_t len = (size_t)__builtin_ctzll(rest);
        if (n - s >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(p + s));
            _mm_storeu_si128(
                (__m128i *)low,
                _mm_or_si128(x, _mm_and_si128(in_range(x, 'A', 'Z' - 'A'), _mm_set1_epi8(0x20))));
        }
        if (len > 16 || n - s < 16) lower_run(p, s, n, low, LOW_KEEP);
        fast_word(t, flags, low, len, p[s]);
    }
    return i + 64;
}
#endif

/*
 * text_words without attributes, for text that is mostly ASCII (an index's every passage:
 * 28% of pare index's instructions went to the byte-at-a-time scan). A word that is a run of
 * ASCII letters and digits ended by an ASCII byte is hashed from its lower-cased copy, as
 * scan_run and flush_word do. Where a byte >= 0x80 comes (not inside such a word), the general
 * scan takes the stretch from the start of the word it may belong to up to the next ASCII byte
 * that is neither a letter nor a digit: ASCII separators end words in both, so no word is open
 * at either end, and without TEXT_ATTRS nothing of the scan before a stretch matters; the list
 * is the one the general scan gives for the whole. Blocks of 64 ASCII bytes find their words
 * from bit masks (fast_block: the byte-by-byte steps mispredicted a branch about once a word);
 * a block with another script goes byte by byte.
 */
static inline __attribute__((always_inline)) void words_fast(const unsigned char *p, size_t n,
                                                             const int flags, struct tokens *t)
{
    _Static_assert(LOW_KEEP == sizeof((struct word *)0)->w, "a word keeps LOW_KEEP bytes");
    const struct word_sink sink = {t, NULL, flags, 0, NULL};
    char low[LOW_KEEP + 16];
    size_t i = 0;
    while (i < n) {
#if defined(__SSE2__)
        if (n - i >= 64) {
            uint64_t high, alnum = alnum64(p + i, &high);
            if (!high) {
                i = fast_block(p, i, n, alnum, flags, t, low, &sink);
                continue;
            }
            for (size_t end = i + 64; i < end;) i = fast_step(p, i, n, flags, t, low, &sink);
            continue;
        }
#endif
        i = fast_step(p, i, n, flags, t, low, &sink);
    }
}

void text_words(const char *s, size_t n, int flags, struct tokens *t)
{
    if (!(flags & TEXT_ATTRS)) {
        pthread_once(&stop_once, init_stops);
        if (flags == 0) /* text_tokenize's: the checks of the flags fold away */
            words_fast((const unsigned char *)s, n, 0, t);
        else
            words_fast((const unsigned char *)s, n, flags, t);
        return;
    }
    const struct word_sink k = {t, NULL, flags, 0, NULL};
    struct scanner sc;
    scan_begin(&sc, n, NULL, &k);
    scan(&sc, s, n);
}

void text_words_pair(const char *s, size_t n, int fa, struct tokens *a, int fb, struct tokens *b)
{
    const struct word_sink k = {a, b, fa, fb, NULL};
    struct scanner sc;
    scan_begin(&sc, n, NULL, &k);
    scan(&sc, s, n);
}

void text_squad_normalize(const char *s, struct sbuf *out)
{
    size_t n = strlen(s);
    struct scanner sc;
    scan_begin(&sc, n, out, NULL);
    scan(&sc, s, n);
    scan_end(&sc, out);
}

void text_scan(const char *s, size_t n, struct sbuf *norm, int fa, struct tokens *a, int fb,
               struct tokens *b)
{
    if (memchr(s, '\0', n)) { /* the normalisation reads a C string: it stops at the NUL */
        text_squad_normalize(s, norm);
        text_words_pair(s, n, fa, a, fb, b);
        return;
    }
    const struct word_sink k = {a, b, fa, fb, NULL};
    struct scanner sc;
    scan_begin(&sc, n, norm, &k);
    scan(&sc, s, n);
    scan_end(&sc, norm);
}

void text_scan_some(const char *s, size_t n, struct sbuf *norm, const struct text_filter *f,
                    struct tokens *t)
{
    if (memchr(s, '\0', n)) { /* as text_scan: every word hashed */
        text_scan(s, n, norm, TEXT_KEEP_STOP | TEXT_ATTRS, t, 0, NULL);
        return;
    }
    const struct word_sink k = {t, NULL, TEXT_KEEP_STOP | TEXT_ATTRS, 0, NULL};
    struct scanner sc;
    scan_begin(&sc, n, norm, &k);
    sc.filter = f;
    scan(&sc, s, n);
    scan_end(&sc, norm);
}

void text_words_filter(const char *s, size_t n, int fa, struct tokens *a, int fb, struct tokens *b,
                       struct text_filter *f)
{
    const struct word_sink k = {a, b, fa, fb, f};
    struct scanner sc;
    scan_begin(&sc, n, NULL, &k);
    scan(&sc, s, n);
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
