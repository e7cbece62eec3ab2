/*
 * text.h - text measures and normalisation shared by the stages.
 */
#ifndef PARE_TEXT_H
#define PARE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/util.h"

/*
 * Number of Unicode code points in s[0..n), or -1 when s is not valid UTF-8 (then *bad, when
 * not NULL, is the byte offset of the first invalid sequence).
 */
int64_t text_utf8_chars(const char *s, size_t n, size_t *bad);

#endif

/*
 * Tokens: maximal runs of letters and digits after Unicode case folding and accent stripping
 * (utf8proc), with English stop words dropped. Each token is kept as the xxh3-64 hash of its
 * normalised bytes: equal words have equal hashes, and nothing else is needed to compare texts.
 */
struct tokens {
    uint64_t *h;   /* token hashes in text order */
    size_t n, cap;
    size_t n_words; /* tokens before stop-word removal (a length measure) */
};

/* Appends the tokens of s[0..n) to t (call tokens_reset first for a fresh list). Invalid UTF-8
 * bytes separate tokens. */
void text_tokenize(const char *s, size_t n, struct tokens *t);
void tokens_reset(struct tokens *t);
void tokens_free(struct tokens *t);

/* The hash text_tokenize gives the word w (already lower case ASCII), for tests and lists. */
uint64_t text_token_hash(const char *w);

/* Hash of the bigram (a, b), distinct from every unigram hash in practice. */
uint64_t text_bigram_hash(uint64_t a, uint64_t b);
