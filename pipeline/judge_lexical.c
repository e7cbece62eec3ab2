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

/* What lex_prepare works from, per candidate; freed once the masks are built. */
struct scratch {
    int n;
    struct sbuf *pnorm; /* SQuAD-normalised "title text" */
    struct sbuf *tnorm; /* SQuAD-normalised title without its parenthesis */
    uint64_t **ptok;    /* sorted unique content tokens of title and text */
    size_t *np;
    uint64_t **ents; /* sorted unique capitalised names (3+ characters) */
    size_t *ne;
};

static void scratch_init(struct scratch *s, int n)
{
    s->n = n;
    s->pnorm = xcalloc((size_t)n + 1, sizeof *s->pnorm);
    s->tnorm = xcalloc((size_t)n + 1, sizeof *s->tnorm);
    s->ptok = xcalloc((size_t)n + 1, sizeof *s->ptok);
    s->np = xcalloc((size_t)n + 1, sizeof *s->np);
    s->ents = xcalloc((size_t)n + 1, sizeof *s->ents);
    s->ne = xcalloc((size_t)n + 1, sizeof *s->ne);
}

static void scratch_free(struct scratch *s)
{
    for (int i = 0; i < s->n; i++) {
        sbuf_free(&s->pnorm[i]);
        sbuf_free(&s->tnorm[i]);
        free(s->ptok[i]);
        free(s->ents[i]);
    }
    free(s->pnorm);
    free(s->tnorm);
    free(s->ptok);
    free(s->np);
    free(s->ents);
    free(s->ne);
}

/* A copy of the sorted unique hashes of t. */
static uint64_t *uniq_copy(struct tokens *t, size_t *n)
{
    *n = uniq(t->h, t->n);
    uint64_t *h = xmalloc(sizeof *h * (*n + 1));
    memcpy(h, t->h, sizeof *h * *n);
    return h;
}

/* 1 when a gold answer is "yes" or "no": no passage states those, so the answer test is off. */
static int yes_no(json_t *answers, struct sbuf *na)
{
    size_t ai;
    json_t *av;
    int yn = 0;
    json_array_foreach(answers, ai, av)
    {
        text_squad_normalize(json_string_value(av), na);
        if (strcmp(na->p, "yes") == 0 || strcmp(na->p, "no") == 0) yn = 1;
    }
    return yn;
}

/* Passage i's content tokens, normalised text, normalised title core and rare-name candidates. */
static void passage_features(const struct jpassage *p, struct scratch *s, int i, struct sbuf *buf,
                             struct tokens *tp)
{
    struct sbuf core = {0};
    tokens_reset(tp);
    text_tokenize(p->title, strlen(p->title), tp);
    text_tokenize(p->text, p->len, tp);
    s->ptok[i] = uniq_copy(tp, &s->np[i]);
    sbuf_reset(buf);
    sbuf_adds(buf, p->title);
    sbuf_addc(buf, ' ');
    sbuf_add(buf, p->text, p->len);
    text_squad_normalize(buf->p, &s->pnorm[i]);
    title_core(p->title, &core);
    text_squad_normalize(core.p, &s->tnorm[i]);
    tokens_reset(tp);
    text_words(buf->p, buf->len, TEXT_CAPITALIZED | TEXT_MIN3, tp);
    s->ents[i] = uniq_copy(tp, &s->ne[i]);
    sbuf_free(&core);
}

/* The passages containing a gold answer as whole words. */
static uint64_t answer_passages(json_t *answers, const struct scratch *s, struct sbuf *na)
{
    uint64_t m = 0;
    size_t ai;
    json_t *av;
    for (int i = 0; i < s->n; i++) {
        json_array_foreach(answers, ai, av)
        {
            text_squad_normalize(json_string_value(av), na);
            if (phrase_in(s->pnorm[i].p, na->p)) m |= 1ULL << i;
        }
    }
    return m;
}

/* Keeps the MAX_QTERMS heaviest of `kept` terms (long questions only); returns how many. */
static size_t heaviest(uint64_t *hq, double *wq, size_t kept)
{
    while (kept > MAX_QTERMS) {
        size_t lo = 0;
        for (size_t t = 1; t < kept; t++)
            if (wq[t] < wq[lo]) lo = t;
        hq[lo] = hq[kept - 1];
        wq[lo] = wq[--kept];
    }
    return kept;
}

/* Question terms weighted by IDF over the candidates, the terms each passage holds (qbits), and
 * the passages holding QNODE_SHARE of the question's weight (qnode). */
static void question_terms(struct lex *L, const char *question, const struct scratch *s)
{
    struct tokens tq = {0};
    text_tokenize(question, strlen(question), &tq);
    size_t nq = uniq(tq.h, tq.n);
    double wq[256];
    uint64_t hq[256];
    size_t kept = 0;
    for (size_t t = 0; t < nq && kept < 256; t++) {
        int df = 0;
        for (int i = 0; i < s->n; i++) df += has(s->ptok[i], s->np[i], tq.h[t]);
        hq[kept] = tq.h[t];
        wq[kept++] = log(1.0 + (double)s->n / (1.0 + df));
    }
    kept = heaviest(hq, wq, kept);
    L->n_terms = (int)kept;
    double W = 0;
    for (size_t t = 0; t < kept; t++) {
        L->w[t] = wq[t];
        W += wq[t];
    }
    for (int i = 0; i < s->n; i++) {
        double c = 0;
        for (size_t t = 0; t < kept; t++) {
            if (has(s->ptok[i], s->np[i], hq[t])) {
                L->qbits[i] |= 1ULL << t;
                c += wq[t];
            }
        }
        if (W > 0 && c / W >= QNODE_SHARE) L->qnode |= 1ULL << i;
    }
    tokens_free(&tq);
}

/* Entities the question names by title, as groups of passages with the same title; a name
 * inside a longer named one is dropped. */
static void named_entities(struct lex *L, const char *question, const struct scratch *s)
{
    struct sbuf norm_q = {0};
    text_squad_normalize(question, &norm_q);
    const struct sbuf *tn = s->tnorm;
    uint64_t named = 0;
    for (int i = 0; i < s->n; i++)
        if (phrase_in(norm_q.p, tn[i].p)) named |= 1ULL << i;
    for (int i = 0; i < s->n; i++) {
        if (!(named >> i & 1)) continue;
        int inside = 0, seen = 0;
        for (int k = 0; k < s->n && !inside; k++)
            if ((named >> k & 1) && strcmp(tn[k].p, tn[i].p) != 0 && phrase_in(tn[k].p, tn[i].p))
                inside = 1;
        for (int g = 0; g < L->n_anchors; g++) {
            int first = __builtin_ctzll(L->anchors[g]);
            if (strcmp(tn[first].p, tn[i].p) == 0) {
                L->anchors[g] |= 1ULL << i;
                seen = 1;
            }
        }
        if (!inside && !seen) L->anchors[L->n_anchors++] = 1ULL << i;
    }
    for (int g = 0; g < L->n_anchors; g++) L->anchor_all |= L->anchors[g];
    sbuf_free(&norm_q);
}

/* Drops from the rare-name candidates every word the question uses. */
static void drop_question_names(const char *question, struct scratch *s)
{
    struct tokens tall = {0};
    text_words(question, strlen(question), TEXT_KEEP_STOP, &tall);
    size_t nall = uniq(tall.h, tall.n);
    for (int i = 0; i < s->n; i++) {
        size_t u = 0;
        for (size_t k = 0; k < s->ne[i]; k++)
            if (!has(tall.h, nall, s->ents[i][k])) s->ents[i][u++] = s->ents[i][k];
        s->ne[i] = u;
    }
    tokens_free(&tall);
}

/* 1 when passages i and k share a name that at most RARE_DF candidates hold. */
static int share_rare_name(const struct scratch *s, int i, int k)
{
    for (size_t e = 0; e < s->ne[i]; e++) {
        if (!has(s->ents[k], s->ne[k], s->ents[i][e])) continue;
        int df = 0;
        for (int m = 0; m < s->n; m++) df += has(s->ents[m], s->ne[m], s->ents[i][e]);
        if (df <= RARE_DF) return 1;
    }
    return 0;
}

/* Links: one passage's title named in the other, or a shared rare name (the bridge entity). */
static void link_passages(struct lex *L, const struct scratch *s)
{
    for (int i = 0; i < s->n; i++) {
        for (int k = i + 1; k < s->n; k++) {
            int link = phrase_in(s->pnorm[k].p, s->tnorm[i].p) ||
                       phrase_in(s->pnorm[i].p, s->tnorm[k].p) || share_rare_name(s, i, k);
            if (link) {
                L->adj[i] |= 1ULL << k;
                L->adj[k] |= 1ULL << i;
            }
        }
    }
}

static int lex_prepare(struct judge *j, struct jquestion *q, struct sbuf *err)
{
    (void)j;
    (void)err;
    struct lex *L = xcalloc(1, sizeof *L);
    struct scratch s;
    struct sbuf buf = {0};
    struct tokens tp = {0};
    L->n = q->n;
    scratch_init(&s, q->n);
    L->yesno = yes_no(q->answers, &buf);
    for (int i = 0; i < q->n; i++) passage_features(&q->p[i], &s, i, &buf, &tp);
    if (!L->yesno) L->ansp = answer_passages(q->answers, &s, &buf);
    question_terms(L, q->question, &s);
    named_entities(L, q->question, &s);
    drop_question_names(q->question, &s);
    link_passages(L, &s);
    uint64_t all = q->n == 64 ? ~0ULL : (1ULL << q->n) - 1;
    L->need_chain = !L->yesno && chained(L, all);
    L->full = coverage(L, evidence(L, all));
    scratch_free(&s);
    tokens_free(&tp);
    sbuf_free(&buf);
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
