/*
 * lexfeat.h - what the lexical judge reads from a question's candidate passages: their
 * normalised texts and titles, and which passages hold a word, a phrase or a name, as 64-bit
 * masks over the candidates (bit i: candidate i).
 *
 * Two builds give the same answers. The fast one (the default) tokenises each passage once and
 * keeps hash tables from a word to the mask of passages holding it: one of the question's terms
 * (every word of a passage is one probe of that small table), one of capitalised pairs (a rare
 * shared name is found by one walk over it). The plain one keeps each passage's sorted words and
 * searches them one passage at a time, as the judge first did; it stays as the reference the tests
 * compare the fast one with (PARE_LEXICAL_PLAIN=1 selects it, see judge_lexical.c).
 */
#ifndef PARE_LEXFEAT_H
#define PARE_LEXFEAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/text.h"
#include "pipeline/judge.h"

/* A word hash -> passage mask table (open addressing; entries in insertion order). */
struct lexmap {
    size_t *slot; /* entry index + 1; 0: empty */
    size_t slots; /* a power of two */
    uint64_t *key, *mask;
    size_t n, cap;
};

struct lexfeat {
    int n; /* candidates */
    int plain;
    struct sbuf *norm;  /* SQuAD-normalised "title text" of each passage */
    struct sbuf *title; /* SQuAD-normalised title without a trailing parenthesis */
    /* fast build */
    struct lexmap terms; /* the terms asked about, with the passages holding them */
    struct lexmap pairs; /* capitalised pairs (lexfeat_pairs) */
    /* plain build: sorted unique hashes per passage */
    uint64_t **tok, **pair;
    size_t *ntok, *npair;
    /* memory a build leaves to the next */
    int cap;            /* entries of the per-passage arrays */
    struct sbuf buf;    /* a passage's "title\ntext", then its title */
    struct tokens a, b; /* a passage's words and pairs */
};

/* Reads passages p[0..n) (n <= JUDGE_MAX_CANDIDATES) into f, zero-initialised before its first
 * build: a build reuses the memory of the one before it (the lexical judge builds one for every
 * question; allocating each anew cost 6% of pare mine's CPU time on 10,000 HotpotQA questions,
 * in malloc and free), and lexfeat_free releases it. plain selects the reference build.
 * terms[0..n_terms) are the words lexfeat_term will be asked about (the fast build keeps only
 * their masks); filter, when not NULL, lets every one of them through (text_filter_words of
 * the text they come from): the fast build hashes only the passages' words it lets through and
 * the capitalised ones (text_scan_some). */
void lexfeat_build(struct lexfeat *f, const struct jpassage *p, int n, int plain,
                   const uint64_t *terms, size_t n_terms, const struct text_filter *filter);
/* Frees everything f holds (and zeroes it). */
void lexfeat_free(struct lexfeat *f);

/* The passages whose content words (text_tokenize of title and text) include hash h, one of
 * the terms given to lexfeat_build. */
uint64_t lexfeat_term(const struct lexfeat *f, uint64_t h);

/* The passages whose normalised text holds the normalised phrase as whole words (none for an
 * empty phrase). */
uint64_t lexfeat_phrase(const struct lexfeat *f, const char *norm_phrase);

/*
 * The capitalised pairs of t (words with TEXT_KEEP_STOP | TEXT_ATTRS) into out (room for t->n):
 * text_bigram_hash of two words next to each other with only spaces between them, both
 * capitalised, neither a stop word ("Shirley Temple", "White County"): the names that link
 * passages. Returns how many.
 */
size_t lexfeat_pairs(const struct tokens *t, uint64_t *out);

/* Forgets the pairs in pairs[0..n) (those the question itself uses: they bridge nothing). */
void lexfeat_drop_pairs(struct lexfeat *f, const uint64_t *pairs, size_t n);

/* Links every two passages that share a capitalised pair at most max_df passages hold: adj[i]
 * gets bit k and adj[k] bit i. */
void lexfeat_pair_links(const struct lexfeat *f, int max_df, uint64_t *adj);

/* "Kiss and Tell (1945 film)" -> "Kiss and Tell": the title without a parenthesis. */
void lexfeat_title_core(const char *t, struct sbuf *out);

/* Sorts h[0..n) and drops repeats; returns the new n. */
size_t lexfeat_uniq(uint64_t *h, size_t n);

#endif
