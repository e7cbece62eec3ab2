/*
 * judge_lexical.c - the built-in sufficiency judge: decides from the text alone.
 *
 * A subset S of a question's candidates C is sufficient when it holds a chain of evidence as
 * good as the one C holds:
 *   1. answer    some passage of S contains a gold answer (SQuAD-normalised, whole words);
 *                yes/no answers are exempt, since no passage states them;
 *   2. entities  every entity the question names by a passage title ("Scott Derrickson",
 *                "Kiss and Tell (1945 film)" without its parenthesis) has its passage in S;
 *   3. chain     the answer passage is linked, through passages of S, to a passage that matches
 *                the question (links: one passage's title appears in another, or two passages
 *                share a rare capitalised name absent from the question: the bridge entity);
 *   4. coverage  the passages of that chain (plus the named entities' passages) cover at least
 *                `coverage` (0.8) of the IDF-weighted question terms that C's chain covers.
 * Each condition is required only as far as the full set C meets it, so C is sufficient
 * whenever it contains the answer. Counting only the chain's coverage keeps distractors that
 * happen to share a rare question word out of the minimal set; requiring the chain keeps the
 * bridge passage in. Measured on ../shared/data with loo over each question's own passages:
 * mined-set F1 0.87 (HotpotQA), 0.84 (2Wiki), 0.75 (MuSiQue), where the answer-plus-coverage
 * judge of DESIGN.md scores 0.73, 0.74, 0.63.
 *
 * Everything is precomputed per question as 64-bit masks over the candidates, so one call is a
 * few dozen bit operations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/judge_impl.h"
#include "common/text.h"

#define RARE_DF 2       /* a name shared by at most this many candidates is rare */
#define QNODE_SHARE 0.2 /* a passage with this share of the question's weight matches it */
#define MAX_QTERMS 64

struct lex {
    int n;
    int yesno;
    uint64_t ansp;                          /* passages containing an answer */
    uint64_t anchors[JUDGE_MAX_CANDIDATES]; /* entity groups named by the question */
    int n_anchors;
    uint64_t anchor_all;
    uint64_t adj[JUDGE_MAX_CANDIDATES];   /* links */
    uint64_t qbits[JUDGE_MAX_CANDIDATES]; /* question terms each passage contains */
    double w[MAX_QTERMS];                 /* their weights */
    int n_terms;
    uint64_t qnode; /* passages that match the question */
    int need_chain;
    double full; /* coverage of the full set's evidence */
};

static int lex_init(struct judge *j, struct sbuf *err)
{
    if (j->o.coverage <= 0 || j->o.coverage > 1) {
        sbuf_setf(err, "lexical judge: --coverage must be in (0, 1]");
        return PARE_EUSAGE;
    }
    sbuf_addf(&j->fingerprint, "lexical:v2:cov=%.2f", j->o.coverage);
    return PARE_OK;
}

static void lex_fini(struct judge *j)
{
    (void)j;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted unique token hashes. */
static size_t uniq(uint64_t *h, size_t n)
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

/* The title without a trailing parenthesis: "Kiss and Tell (1945 film)" -> "Kiss and Tell". */
static void title_core(const char *t, struct sbuf *out)
{
    sbuf_reset(out);
    for (const char *p = t; *p; p++) {
        if (*p == '(') {
            const char *e = strchr(p, ')');
            if (e) {
                p = e;
                continue;
            }
        }
        sbuf_addc(out, *p);
    }
}

/* Whole-word containment of a normalised phrase (both with single spaces). */
static int phrase_in(const char *hay, const char *needle)
{
    return needle[0] && text_contains_answer(hay, needle);
}

static uint64_t component(const struct lex *L, uint64_t start, uint64_t x)
{
    uint64_t seen = start, frontier = start;
    while (frontier) {
        uint64_t next = 0;
        for (uint64_t f = frontier; f; f &= f - 1) next |= L->adj[__builtin_ctzll(f)];
        next &= x & ~seen;
        seen |= next;
        frontier = next;
    }
    return seen;
}

static double coverage(const struct lex *L, uint64_t x)
{
    uint64_t bits = 0;
    for (uint64_t f = x; f; f &= f - 1) bits |= L->qbits[__builtin_ctzll(f)];
    double s = 0;
    for (uint64_t b = bits; b; b &= b - 1) s += L->w[__builtin_ctzll(b)];
    return s;
}

static uint64_t evidence(const struct lex *L, uint64_t x)
{
    if (L->yesno) return x;
    return component(L, L->ansp & x, x) | (L->anchor_all & x);
}

static int chained(const struct lex *L, uint64_t x)
{
    uint64_t comp = component(L, L->ansp & x, x);
    return (comp & (L->qnode | L->anchor_all)) != 0;
}

static int lex_prepare(struct judge *j, struct jquestion *q, struct sbuf *err)
{
    (void)j;
    (void)err;
    struct lex *L = xcalloc(1, sizeof *L);
    int n = L->n = q->n;
    struct tokens tq = {0}, tall = {0}, tp = {0};
    struct sbuf norm_q = {0}, buf = {0}, core = {0};
    struct sbuf *pnorm = xcalloc((size_t)n + 1, sizeof *pnorm);
    struct sbuf *tnorm = xcalloc((size_t)n + 1, sizeof *tnorm);
    uint64_t **ptok = xcalloc((size_t)n + 1, sizeof *ptok);
    size_t *np = xcalloc((size_t)n + 1, sizeof *np);
    uint64_t **ents = xcalloc((size_t)n + 1, sizeof *ents);
    size_t *ne = xcalloc((size_t)n + 1, sizeof *ne);

    /* answers */
    struct sbuf na = {0};
    size_t ai;
    json_t *av;
    json_array_foreach(q->answers, ai, av)
    {
        text_squad_normalize(json_string_value(av), &na);
        if (strcmp(na.p, "yes") == 0 || strcmp(na.p, "no") == 0) L->yesno = 1;
    }
    /* passages: content tokens, normalised text, normalised title core, rare names */
    for (int i = 0; i < n; i++) {
        const struct jpassage *p = &q->p[i];
        tokens_reset(&tp);
        text_tokenize(p->title, strlen(p->title), &tp);
        text_tokenize(p->text, p->len, &tp);
        np[i] = uniq(tp.h, tp.n);
        ptok[i] = xmalloc(sizeof *ptok[i] * (np[i] + 1));
        memcpy(ptok[i], tp.h, sizeof *tp.h * np[i]);
        sbuf_reset(&buf);
        sbuf_adds(&buf, p->title);
        sbuf_addc(&buf, ' ');
        sbuf_add(&buf, p->text, p->len);
        text_squad_normalize(buf.p, &pnorm[i]);
        title_core(p->title, &core);
        text_squad_normalize(core.p, &tnorm[i]);
        tokens_reset(&tp);
        text_words(buf.p, buf.len, TEXT_CAPITALIZED | TEXT_MIN3, &tp);
        ne[i] = uniq(tp.h, tp.n);
        ents[i] = xmalloc(sizeof *ents[i] * (ne[i] + 1));
        memcpy(ents[i], tp.h, sizeof *tp.h * ne[i]);
    }
    for (int i = 0; i < n && !L->yesno; i++) {
        json_array_foreach(q->answers, ai, av)
        {
            text_squad_normalize(json_string_value(av), &na);
            if (phrase_in(pnorm[i].p, na.p)) L->ansp |= 1ULL << i;
        }
    }
    /* question terms and their weights (IDF over the candidates) */
    text_tokenize(q->question, strlen(q->question), &tq);
    size_t nq = uniq(tq.h, tq.n);
    double wq[256];
    uint64_t hq[256];
    size_t kept = 0;
    for (size_t t = 0; t < nq && kept < 256; t++) {
        int df = 0;
        for (int i = 0; i < n; i++) df += has(ptok[i], np[i], tq.h[t]);
        hq[kept] = tq.h[t];
        wq[kept++] = log(1.0 + (double)n / (1.0 + df));
    }
    /* the MAX_QTERMS heaviest terms (long questions only) */
    while (kept > MAX_QTERMS) {
        size_t lo = 0;
        for (size_t t = 1; t < kept; t++)
            if (wq[t] < wq[lo]) lo = t;
        hq[lo] = hq[kept - 1];
        wq[lo] = wq[--kept];
    }
    L->n_terms = (int)kept;
    double W = 0;
    for (size_t t = 0; t < kept; t++) {
        L->w[t] = wq[t];
        W += wq[t];
    }
    for (int i = 0; i < n; i++) {
        double c = 0;
        for (size_t t = 0; t < kept; t++) {
            if (has(ptok[i], np[i], hq[t])) {
                L->qbits[i] |= 1ULL << t;
                c += wq[t];
            }
        }
        if (W > 0 && c / W >= QNODE_SHARE) L->qnode |= 1ULL << i;
    }
    /* entities named by title in the question; a name inside a longer named one is dropped */
    text_squad_normalize(q->question, &norm_q);
    uint64_t named = 0;
    for (int i = 0; i < n; i++)
        if (phrase_in(norm_q.p, tnorm[i].p)) named |= 1ULL << i;
    for (int i = 0; i < n; i++) {
        if (!(named >> i & 1)) continue;
        int inside = 0, seen = 0;
        for (int k = 0; k < n && !inside; k++)
            if ((named >> k & 1) && strcmp(tnorm[k].p, tnorm[i].p) != 0 &&
                phrase_in(tnorm[k].p, tnorm[i].p))
                inside = 1;
        for (int g = 0; g < L->n_anchors; g++) {
            int first = __builtin_ctzll(L->anchors[g]);
            if (strcmp(tnorm[first].p, tnorm[i].p) == 0) {
                L->anchors[g] |= 1ULL << i;
                seen = 1;
            }
        }
        if (!inside && !seen) L->anchors[L->n_anchors++] = 1ULL << i;
    }
    for (int g = 0; g < L->n_anchors; g++) L->anchor_all |= L->anchors[g];
    /* links: a title named in another passage, or a shared rare capitalised name */
    tokens_reset(&tall);
    text_words(q->question, strlen(q->question), TEXT_KEEP_STOP, &tall);
    size_t nall = uniq(tall.h, tall.n);
    for (int i = 0; i < n; i++) {
        size_t u = 0; /* drop names the question uses */
        for (size_t k = 0; k < ne[i]; k++)
            if (!has(tall.h, nall, ents[i][k])) ents[i][u++] = ents[i][k];
        ne[i] = u;
    }
    for (int i = 0; i < n; i++) {
        for (int k = i + 1; k < n; k++) {
            int link = phrase_in(pnorm[k].p, tnorm[i].p) || phrase_in(pnorm[i].p, tnorm[k].p);
            for (size_t e = 0; e < ne[i] && !link; e++) {
                if (!has(ents[k], ne[k], ents[i][e])) continue;
                int df = 0;
                for (int m = 0; m < n; m++) df += has(ents[m], ne[m], ents[i][e]);
                link = df <= RARE_DF;
            }
            if (link) {
                L->adj[i] |= 1ULL << k;
                L->adj[k] |= 1ULL << i;
            }
        }
    }
    uint64_t all = n == 64 ? ~0ULL : (1ULL << n) - 1;
    L->need_chain = !L->yesno && chained(L, all);
    L->full = coverage(L, evidence(L, all));

    for (int i = 0; i < n; i++) {
        sbuf_free(&pnorm[i]);
        sbuf_free(&tnorm[i]);
        free(ptok[i]);
        free(ents[i]);
    }
    free(pnorm);
    free(tnorm);
    free(ptok);
    free(np);
    free(ents);
    free(ne);
    tokens_free(&tq);
    tokens_free(&tall);
    tokens_free(&tp);
    sbuf_free(&norm_q);
    sbuf_free(&buf);
    sbuf_free(&core);
    sbuf_free(&na);
    q->prep = L;
    return PARE_OK;
}

static void lex_release(struct judge *j, struct jquestion *q)
{
    (void)j;
    free(q->prep);
}

static void lex_decide(struct judge *j, struct jquestion *q, uint64_t x, struct jdone *d)
{
    const struct lex *L = q->prep;
    int ok = 1;
    if (!L->yesno && !(L->ansp & x)) ok = 0;
    for (int g = 0; g < L->n_anchors && ok; g++)
        if (!(L->anchors[g] & x)) ok = 0;
    if (ok && L->need_chain && !chained(L, x)) ok = 0;
    if (ok && coverage(L, evidence(L, x)) < j->o.coverage * L->full - 1e-9) ok = 0;
    d->verdict = ok ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
    if (ok && json_array_size(q->answers))
        d->answer = xstrdup(json_string_value(json_array_get(q->answers, 0)));
}

const struct judge_kind_ops judge_lexical_ops = {
    "lexical", lex_init, lex_fini, lex_prepare, lex_release, lex_decide, NULL, NULL, NULL,
};
