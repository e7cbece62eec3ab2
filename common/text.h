/*
 * text.h - text measures and normalisation shared by the stages.
 */
#ifndef PARE_TEXT_H
#define PARE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/*
 * Number of Unicode code points in s[0..n), or -1 when s is not valid UTF-8 (then *bad, when
 * not NULL, is the byte offset of the first invalid sequence).
 */
int64_t text_utf8_chars(const char *s, size_t n, size_t *bad);

/*
 * Tokens: maximal runs of letters and digits after Unicode case folding and accent stripping
 * (utf8proc), with English stop words dropped. Each token is kept as the xxh3-64 hash of its
 * normalised bytes: equal words have equal hashes, and nothing else is needed to compare texts.
 */
struct tokens {
    uint64_t *h; /* token hashes in text order */
    size_t n, cap;
    size_t n_words;      /* tokens before stop-word removal (a length measure) */
    unsigned char *attr; /* with TEXT_ATTRS: each kept token's enum token_attr bits */
    size_t cap_attr;
};

/* What is known of a token besides its hash (TEXT_ATTRS). */
enum token_attr {
    TOKEN_STOP = 1,   /* a stop word */
    TOKEN_CAP = 2,    /* its first letter is upper case in the text */
    TOKEN_MIN3 = 4,   /* it has at least 3 characters */
    TOKEN_SPACED = 8, /* a word comes before it with only spaces (' ') between them */
    TOKEN_NOHASH = 16 /* text_scan_some: its hash (0) was not computed, nor TOKEN_STOP */
};

/* Appends the tokens of s[0..n) to t (call tokens_reset first for a fresh list). Invalid UTF-8
 * bytes separate tokens. */
void text_tokenize(const char *s, size_t n, struct tokens *t);

/* text_tokenize with choices: keep stop words, keep only capitalised words (first letter upper
 * case in the original text), keep only words of at least 3 characters, record each kept
 * token's attributes in t->attr. */
enum text_word_flags { TEXT_KEEP_STOP = 1, TEXT_CAPITALIZED = 2, TEXT_MIN3 = 4, TEXT_ATTRS = 8 };
void text_words(const char *s, size_t n, int flags, struct tokens *t);

/* text_words into two lists at once, each with its own flags (one pass over the text): the same
 * lists as text_words(s, n, fa, a) and text_words(s, n, fb, b). */
void text_words_pair(const char *s, size_t n, int fa, struct tokens *a, int fb, struct tokens *b);

/* text_squad_normalize and text_words_pair in one pass over s[0..n): norm gets what
 * text_squad_normalize(s) gives (s read up to its first NUL), a and b what text_words_pair
 * gives (b may be NULL). */
void text_scan(const char *s, size_t n, struct sbuf *norm, int fa, struct tokens *a, int fb,
               struct tokens *b);

/*
 * A set of words, as a filter that never misses one of them (and lets a few others through):
 * bits of each word's length and first and last bytes. It lets a scan skip the hashes of words
 * that cannot be the ones it looks for.
 */
struct text_filter {
    uint64_t bits[4];
};

/* text_words_pair(s, n, fa, a, fb, b), and the words text_tokenize(s, n) gives (content words)
 * added to f (zero it first): one pass over the text. */
void text_words_filter(const char *s, size_t n, int fa, struct tokens *a, int fb, struct tokens *b,
                       struct text_filter *f);

/*
 * text_scan(s, n, norm, TEXT_KEEP_STOP | TEXT_ATTRS, t, 0, NULL), except that a word that is
 * neither capitalised (TOKEN_CAP) nor let through by filter f may be given with hash 0 and
 * TOKEN_NOHASH instead of its hash and TOKEN_STOP (its other attributes are kept): the lexical
 * judge's passages, where only the question's words and the capitalised ones are looked up
 * (two thirds of the words of a passage are neither; hashing them was a tenth of pare mine).
 */
void text_scan_some(const char *s, size_t n, struct sbuf *norm, const struct text_filter *f,
                    struct tokens *t);
void tokens_reset(struct tokens *t);
void tokens_free(struct tokens *t);

/* The hash text_tokenize gives the word w (already lower case ASCII), for tests and lists. */
uint64_t text_token_hash(const char *w);

/* Hash of the bigram (a, b), distinct from every unigram hash in practice. */
uint64_t text_bigram_hash(uint64_t a, uint64_t b);

/*
 * SQuAD / HotpotQA answer normalisation, as the official evaluation scripts do it: lower case,
 * ASCII punctuation removed, the articles a/an/the removed (as whole \w runs), white space
 * collapsed to single spaces. Replaces out's contents.
 */
void text_squad_normalize(const char *s, struct sbuf *out);

/* Exact match and token F1 of a prediction against one gold answer, with HotpotQA's rule that
 * yes/no/noanswer only ever match themselves. */
int text_em(const char *pred, const char *gold);
double text_f1(const char *pred, const char *gold);

/* Best EM / F1 over a JSON array of gold answers (strings). */
int text_em_any(const char *pred, const void *answers_json_array);
double text_f1_any(const char *pred, const void *answers_json_array);

/* 1 when the normalised answer occurs in the normalised text as whole words. */
int text_contains_answer(const char *norm_text, const char *norm_answer);

#endif
