/* lexfeat.c - see lexfeat.h. */
#include "pipeline/lexfeat.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ---- the word -> mask table ---- */

/* Empties m for a build that adds up to `want` keys before it grows: slots kept when there are
 * enough (only those in use are cleared: each entry holds one), else made anew. */
static void map_reset(struct lexmap *m, size_t want)
{
    size_t slots = 16;
    while (slots < 2 * want) slots *= 2;
    if (m->slots < slots) {
        free(m->slot);
        m->slots = slots;
        m->slot = xcalloc(slots, sizeof *m->slot);
    } else {
        for (size_t e = 0; e < m->n; e++) {
            size_t k = m->key[e] & (m->slots - 1);
            while (m->slot[k] != e + 1) k = (k + 1) & (m->slots - 1);
            m->slot[k] = 0;
        }
    }
    m->n = 0;
}

static void map_free(struct lexmap *m)
{
    free(m->slot);
    free(m->key);
    free(m->mask);
    memset(m, 0, sizeof *m);
}

/* Twice the slots (xcalloc checks the size), entries placed again in their order. */
static void map_grow(struct lexmap *m)
{
    free(m->slot);
    m->slots *= 2;
    m->slot = xcalloc(m->slots, sizeof *m->slot);
    for (size_t e = 0; e < m->n; e++) {
        size_t k = m->key[e] & (m->slots - 1);
        while (m->slot[k]) k = (k + 1) & (m->slots - 1);
        m->slot[k] = e + 1;
    }
}

/* The slot of h: its entry, or the empty slot where it would go. */
static size_t map_find(const struct lexmap *m, uint64_t h)
{
    size_t k = h & (m->slots - 1);
    while (m->slot[k] && m->key[m->slot[k] - 1] != h) k = (k + 1) & (m->slots - 1);
    return k;
}

/* h's mask, added as 0 if h is new. */
static uint64_t *map_at(struct lexmap *m, uint64_t h)
{
    size_t k = map_find(m, h);
    if (m->slot[k]) return &m->mask[m->slot[k] - 1];
    if ((m->n + 1) * 2 > m->slots) {
        map_grow(m);
        k = map_find(m, h);
    }
    if (m->n == m->cap) {
        size_t cap = m->cap;
        xgrow((void **)&m->key, &cap, m->n + 1, sizeof *m->key);
        xgrow((void **)&m->mask, &m->cap, m->n + 1, sizeof *m->mask);
    }
    m->key[m->n] = h;
    m->mask[m->n] = 0;
    m->slot[k] = ++m->n;
    return &m->mask[m->n - 1];
}

static uint64_t map_get(const struct lexmap *m, uint64_t h)
{
    size_t k = map_find(m, h);
    return m->slot[k] ? m->mask[m->slot[k] - 1] : 0;
}

/* ---- shared steps ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t lexfeat_uniq(uint64_t *h, size_t n)
{
    qsort(h, n, sizeof *h, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || h[i] != h[u - 1]) h[u++] = h[i];
    return u;
}

static int has(const uint64_t *h, size_t n, uint64_t x)
{
    return bsearch(&x, h, n, sizeof x, cmp_u64) != NULL;
}

void lexfeat_title_core(const char *t, struct sbuf *out)
{
    sbuf_reset(out);
    sbuf_add(out, "", 0);
    for (const char *p = t; *p;) {
        const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;
        if (!close) {
            sbuf_adds(out, p);
            break;
        }
        sbuf_add(out, p, (size_t)(open - p));
        p = close + 1;
    }
}

/* "title\ntext", as the judge reads a passage: the newline normalises like a space but is not
 * one, so no capitalised pair spans title and text. */
static void title_text(const struct jpassage *p, struct sbuf *buf)
{
    sbuf_reset(buf);
    sbuf_adds(buf, p->title);
    sbuf_addc(buf, '\n');
    sbuf_add(buf, p->text, p->len);
}

size_t lexfeat_pairs(const struct tokens *t, uint64_t *out)
{
    const unsigned want = TOKEN_CAP, skip = TOKEN_STOP;
    size_t m = 0;
    for (size_t j = 1; j < t->n; j++) {
        unsigned a = t->attr[j - 1], b = t->attr[j];
        if ((b & TOKEN_SPACED) && (a & want) && (b & want) && !(a & skip) && !(b & skip))
            out[m++] = text_bigram_hash(t->h[j - 1], t->h[j]);
    }
    return m;
}

/* ---- the two builds ---- */

/* Fast: one pass over "title text" normalises it and gives every word with its attributes;
 * the content words and the capitalised pairs go to the tables. */
static void scan_fast(struct lexfeat *f, const struct jpassage *p, int i, struct sbuf *buf,
                      struct tokens *words, struct tokens *pairs, const struct text_filter *filter)
{
    tokens_reset(words);
    title_text(p, buf);
    /* a word without its hash (TOKEN_NOHASH) is no term, and not capitalised: in no pair */
    text_scan_some(buf->p, buf->len, &f->norm[i], filter, words);
    uint64_t bit = 1ULL << i;
    for (size_t t = 0; t < words->n; t++) {
        if (words->attr[t] & (TOKEN_STOP | TOKEN_NOHASH)) continue;
        size_t s = map_find(&f->terms, words->h[t]);
        if (f->terms.slot[s]) f->terms.mask[f->terms.slot[s] - 1] |= bit;
    }
    xgrow((void **)&pairs->h, &pairs->cap, words->n + 1, sizeof *pairs->h);
    pairs->n = lexfeat_pairs(words, pairs->h);
    for (size_t t = 0; t < pairs->n; t++) *map_at(&f->pairs, pairs->h[t]) |= bit;
}

static uint64_t *uniq_copy(uint64_t *h, size_t n, size_t *out_n)
{
    *out_n = lexfeat_uniq(h, n);
    uint64_t *u = xmalloc(sizeof *u * (*out_n + 1));
    memcpy(u, h, sizeof *u * *out_n);
    return u;
}

/* The capitalised pairs of s[0..n), appended to out. */
static void pairs_of(const char *s, size_t n, struct tokens *t, struct tokens *out)
{
    tokens_reset(t);
    text_words(s, n, TEXT_KEEP_STOP | TEXT_ATTRS, t);
    xgrow((void **)&out->h, &out->cap, out->n + t->n + 1, sizeof *out->h);
    out->n += lexfeat_pairs(t, out->h + out->n);
}

/* Plain: content words of title and text, the normalised text, then the capitalised pairs of
 * title and of text, each list sorted. */
static void scan_plain(struct lexfeat *f, const struct jpassage *p, int i, struct sbuf *buf,
                       struct tokens *t, struct tokens *pairs)
{
    tokens_reset(t);
    text_tokenize(p->title, strlen(p->title), t);
    text_tokenize(p->text, p->len, t);
    f->tok[i] = uniq_copy(t->h, t->n, &f->ntok[i]);
    title_text(p, buf);
    text_squad_normalize(buf->p, &f->norm[i]);
    tokens_reset(pairs);
    pairs_of(p->title, strlen(p->title), t, pairs);
    pairs_of(p->text, p->len, t, pairs);
    f->pair[i] = uniq_copy(pairs->h, pairs->n, &f->npair[i]);
}

/* Frees what a plain build gave each passage (the fast build gives nothing of its own). */
static void plain_clear(struct lexfeat *f)
{
    for (int i = 0; i < f->n && f->plain; i++) {
        free(f->tok[i]);
        free(f->pair[i]);
        f->tok[i] = f->pair[i] = NULL;
    }
}

/* Room for n passages in the per-passage arrays (new texts empty). */
static void room_for(struct lexfeat *f, int n)
{
    if (n <= f->cap) return;
    size_t cap = (size_t)n + 1;
    f->norm = xrealloc(f->norm, sizeof *f->norm * cap);
    f->title = xrealloc(f->title, sizeof *f->title * cap);
    f->tok = xrealloc(f->tok, sizeof *f->tok * cap);
    f->pair = xrealloc(f->pair, sizeof *f->pair * cap);
    f->ntok = xrealloc(f->ntok, sizeof *f->ntok * cap);
    f->npair = xrealloc(f->npair, sizeof *f->npair * cap);
    for (size_t i = (size_t)f->cap; i < cap; i++) {
        memset(&f->norm[i], 0, sizeof f->norm[i]);
        memset(&f->title[i], 0, sizeof f->title[i]);
        f->tok[i] = f->pair[i] = NULL;
        f->ntok[i] = f->npair[i] = 0;
    }
    f->cap = (int)cap;
}

void lexfeat_build(struct lexfeat *f, const struct jpassage *p, int n, int plain,
                   const uint64_t *terms, size_t n_terms, const struct text_filter *filter)
{
    plain_clear(f);
    room_for(f, n);
    f->n = n;
    f->plain = plain;
    if (!plain) {
        map_reset(&f->terms, n_terms);
        for (size_t t = 0; t < n_terms; t++) map_at(&f->terms, terms[t]);
        map_reset(&f->pairs, 128);
    }
    for (int i = 0; i < n; i++) {
        if (plain)
            scan_plain(f, &p[i], i, &f->buf, &f->a, &f->b);
        else
            scan_fast(f, &p[i], i, &f->buf, &f->a, &f->b, filter);
        lexfeat_title_core(p[i].title, &f->buf);
        text_squad_normalize(f->buf.p, &f->title[i]);
    }
}

void lexfeat_free(struct lexfeat *f)
{
    plain_clear(f);
    for (int i = 0; i < f->cap; i++) {
        sbuf_free(&f->norm[i]);
        sbuf_free(&f->title[i]);
    }
    free(f->norm);
    free(f->title);
    free(f->tok);
    free(f->pair);
    free(f->ntok);
    free(f->npair);
    map_free(&f->terms);
    map_free(&f->pairs);
    sbuf_free(&f->buf);
    tokens_free(&f->a);
    tokens_free(&f->b);
    memset(f, 0, sizeof *f);
}

/* ---- queries ---- */

uint64_t lexfeat_term(const struct lexfeat *f, uint64_t h)
{
    if (!f->plain) return map_get(&f->terms, h);
    uint64_t m = 0;
    for (int i = 0; i < f->n; i++)
        if (has(f->tok[i], f->ntok[i], h)) m |= 1ULL << i;
    return m;
}

#if defined(__x86_64__)
/*
 * text_contains_answer(t, p) for t of length len with 32 readable bytes after t[len - 1], and p
 * of length lp >= 1: 32 places at a time, those where p's first and last bytes are, checked
 * whole (the search of the passages' texts for every candidate's title was 8% of pare mine's
 * instructions in glibc's strstr, which looks at the first bytes only and 16 places at a time).
 */
__attribute__((target("avx2"))) static int holds_avx2(const char *t, size_t len, const char *p,
                                                      size_t lp)
{
    if (lp > len) return 0;
    const __m256i first = _mm256_set1_epi8(p[0]), last = _mm256_set1_epi8(p[lp - 1]);
    size_t end = len - lp + 1; /* the places p may start at */
    for (size_t i = 0; i < end; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(t + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(t + i + lp - 1));
        uint32_t m = (uint32_t)_mm256_movemask_epi8(
            _mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last)));
        if (end - i < 32) m &= (1u << (end - i)) - 1; /* bytes past the text */
        for (; m; m &= m - 1) {
            size_t k = i + (size_t)__builtin_ctz(m);
            if (memcmp(t + k, p, lp) == 0 && (k == 0 || t[k - 1] == ' ') &&
                (k + lp == len || t[k + lp] == ' '))
                return 1;
        }
    }
    return 0;
}
#endif

/* Whether passage i's normalised text holds phrase p (length lp >= 1) as whole words. */
static int holds(const struct lexfeat *f, int i, const char *p, size_t lp, int avx2)
{
    const struct sbuf *t = &f->norm[i];
#if defined(__x86_64__)
    if (avx2 && t->cap >= t->len + 32) return holds_avx2(t->p, t->len, p, lp);
#else
    (void)lp;
    (void)avx2;
#endif
    return text_contains_answer(t->p, p);
}

uint64_t lexfeat_phrase(const struct lexfeat *f, const char *norm_phrase)
{
    uint64_t m = 0;
    size_t lp = strlen(norm_phrase);
    if (!lp) return 0;
#if defined(__x86_64__)
    int avx2 = __builtin_cpu_supports("avx2");
#else
    int avx2 = 0;
#endif
    for (int i = 0; i < f->n; i++)
        if (holds(f, i, norm_phrase, lp, avx2)) m |= 1ULL << i;
    return m;
}

void lexfeat_drop_pairs(struct lexfeat *f, const uint64_t *pairs, size_t n)
{
    if (!f->plain) {
        for (size_t k = 0; k < n; k++) {
            size_t s = map_find(&f->pairs, pairs[k]);
            if (f->pairs.slot[s]) f->pairs.mask[f->pairs.slot[s] - 1] = 0;
        }
        return;
    }
    for (int i = 0; i < f->n; i++) {
        size_t u = 0;
        for (size_t k = 0; k < f->npair[i]; k++) {
            int used = 0;
            for (size_t w = 0; w < n && !used; w++) used = pairs[w] == f->pair[i][k];
            if (!used) f->pair[i][u++] = f->pair[i][k];
        }
        f->npair[i] = u;
    }
}

static void link(uint64_t *adj, int i, int k)
{
    adj[i] |= 1ULL << k;
    adj[k] |= 1ULL << i;
}

/* Plain: for each two passages, a pair of one that the other holds, and how many hold it. */
static void pair_links_plain(const struct lexfeat *f, int max_df, uint64_t *adj)
{
    for (int i = 0; i < f->n; i++) {
        for (int k = i + 1; k < f->n; k++) {
            for (size_t e = 0; e < f->npair[i]; e++) {
                uint64_t x = f->pair[i][e];
                if (!has(f->pair[k], f->npair[k], x)) continue;
                int df = 0;
                for (int m = 0; m < f->n; m++) df += has(f->pair[m], f->npair[m], x);
                if (df <= max_df) {
                    link(adj, i, k);
                    break;
                }
            }
        }
    }
}

void lexfeat_pair_links(const struct lexfeat *f, int max_df, uint64_t *adj)
{
    if (f->plain) {
        pair_links_plain(f, max_df, adj);
        return;
    }
    for (size_t e = 0; e < f->pairs.n; e++) {
        uint64_t m = f->pairs.mask[e];
        int df = __builtin_popcountll(m);
        if (df < 2 || df > max_df) continue;
        for (uint64_t a = m; a; a &= a - 1)
            for (uint64_t b = a & (a - 1); b; b &= b - 1)
                link(adj, __builtin_ctzll(a), __builtin_ctzll(b));
    }
}
