/*
 * judge_lexical.c - the built-in sufficiency judge: decides from the text alone.
 *
 * A subset S of a question's candidates C is sufficient when it holds a chain of evidence as
 * good as the one C holds. Passages are linked when one names the other's title (the title
 * without its parenthesis, as whole words) or when both hold a capitalised pair of words that
 * at most two candidates hold and the question does not use ("White County"): the bridge
 * entity. Single capitalised words ("English", "Hollywood") do not link: they joined
 * distractors to the chain.
 *   1. answer    S holds an answer passage (yes/no answers are exempt: no passage states
 *                them). The answer passage is the answer's own page when a candidate's title is
 *                a gold answer; otherwise a passage holding a gold answer (SQuAD-normalised,
 *                whole words), and among those the ones linked to a named entity's passage,
 *                when there are such: where the answer sits relative to the question.
 *   2. entities  every entity the question names by a passage title ("Scott Derrickson",
 *                "Kiss and Tell (1945 film)" without its parenthesis) has its passage in S;
 *   3. chain     the answer passage is linked, through passages of S, to a passage that
 *                matches the question (or to a named entity's passage);
 *   4. both      when the question names two entities or more (a comparison), each keeps the
 *                question terms that it and the passages it names cover in C: "which film has
 *                the director who died first, A or B" needs both directors' pages;
 *   5. coverage  the chain (plus the named entities' passages) covers at least `coverage`
 *                (0.8) of the IDF-weighted question terms that C's chain covers.
 * Each condition is required only as far as the full set C meets it, so C is sufficient
 * whenever it contains the answer.
 *
 * Everything is precomputed per question as 64-bit masks over the candidates, so one call is a
 * few dozen bit operations; the features come from lexfeat.h, which reads each passage in one
 * pass. PARE_LEXICAL_PLAIN=1 in the environment selects lexfeat's plain reference build (same
 * verdicts, same fingerprint): tests/e2e/test_lexical.py compares the two on the shared data.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/judge_impl.h"
#include "common/text.h"
#include "pipeline/lexfeat.h"

#define RARE_DF 2       /* a pair of names shared by at most this many candidates is rare */
#define QNODE_SHARE 0.2 /* a passage with this share of the question's weight matches it */
#define MAX_QTERMS 64
#define MAX_ANSWERS 16 /* gold answers (aliases) the answer test reads */

struct lex {
    int n;
    int yesno;
    uint64_t ansp;                          /* answer passages */
    uint64_t anchors[JUDGE_MAX_CANDIDATES]; /* entity groups named by the question */
    int n_anchors;
    uint64_t anchor_all;
    uint64_t adj[JUDGE_MAX_CANDIDATES];       /* links */
    uint64_t names[JUDGE_MAX_CANDIDATES];     /* names[i]: passages whose titles passage i names */
    double anchor_full[JUDGE_MAX_CANDIDATES]; /* per anchor group (comparisons): condition 4 */
    uint64_t qbits[JUDGE_MAX_CANDIDATES];     /* question terms each passage contains */
    double w[MAX_QTERMS];                     /* their weights */
    int n_terms;
    uint64_t qnode; /* passages that match the question */
    int need_chain;
    double full; /* coverage of the full set's evidence */
};

/* The memory one lex_prepare works in, kept for the next: the passages' features and the
 * question's words and answers. */
struct lex_scratch {
    struct lexfeat f;
    struct tokens tq, words;
    struct sbuf na[MAX_ANSWERS];
    struct lex_scratch *next;
};

/* The judge's own state (j->impl). Workers prepare questions at once: each takes a scratch
 * from `idle` (or makes one) and gives it back, so there are as many as workers ever were. */
struct lex_state {
    int plain; /* lexfeat's reference build */
    pthread_mutex_t mu;
    struct lex_scratch *idle;
};

static int lex_init(struct judge *j, struct sbuf *err)
{
    if (j->o.coverage <= 0 || j->o.coverage > 1) {
        sbuf_setf(err, "lexical judge: --coverage must be in (0, 1]");
        return PARE_EUSAGE;
    }
    struct lex_state *S = xcalloc(1, sizeof *S);
    if (pthread_mutex_init(&S->mu, NULL) != 0) {
        free(S);
        sbuf_setf(err, "lexical judge: cannot make a mutex");
        return PARE_EFAIL;
    }
    sbuf_addf(&j->fingerprint, "lexical:v3:cov=%.2f", j->o.coverage);
    /* the reference build of the features, for tests (same verdicts, same fingerprint) */
    const char *plain = getenv("PARE_LEXICAL_PLAIN");
    S->plain = plain && strcmp(plain, "1") == 0;
    j->impl = S;
    return PARE_OK;
}

static void lex_fini(struct judge *j)
{
    struct lex_state *S = j->impl;
    if (!S) return;
    while (S->idle) {
        struct lex_scratch *x = S->idle;
        S->idle = x->next;
        lexfeat_free(&x->f);
        tokens_free(&x->tq);
        tokens_free(&x->words);
        for (int a = 0; a < MAX_ANSWERS; a++) sbuf_free(&x->na[a]);
        free(x);
    }
    pthread_mutex_destroy(&S->mu);
    free(S);
    j->impl = NULL;
}

static struct lex_scratch *scratch_take(struct lex_state *S)
{
    pthread_mutex_lock(&S->mu);
    struct lex_scratch *x = S->idle;
    if (x) S->idle = x->next;
    pthread_mutex_unlock(&S->mu);
    return x ? x : xcalloc(1, sizeof *x);
}

static void scratch_give(struct lex_state *S, struct lex_scratch *x)
{
    pthread_mutex_lock(&S->mu);
    x->next = S->idle;
    S->idle = x;
    pthread_mutex_unlock(&S->mu);
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

/* Anchor group g's part of x: its passages in x and the passages of x they name, other named
 * entities' passages aside. */
static uint64_t named_by(const struct lex *L, uint64_t g, uint64_t x)
{
    uint64_t m = g & x, others = L->anchor_all & ~g;
    for (uint64_t f = g & x; f; f &= f - 1) m |= L->names[__builtin_ctzll(f)] & x & ~others;
    return m;
}

/* The gold answers, SQuAD-normalised, into na[0..*n); returns 1 when one is "yes" or "no" (no
 * passage states those, so the answer test is off). */
static int answers_of(json_t *answers, struct sbuf *na, int *n)
{
    size_t ai;
    json_t *av;
    int yn = 0;
    *n = 0;
    json_array_foreach(answers, ai, av)
    {
        if (*n == MAX_ANSWERS || !json_is_string(av)) continue;
        text_squad_normalize(json_string_value(av), &na[*n]);
        if (strcmp(na[*n].p, "yes") == 0 || strcmp(na[*n].p, "no") == 0) yn = 1;
        (*n)++;
    }
    return yn;
}

/* Condition 1's answer passages: the answer's own page when a title is a gold answer, else the
 * passages holding one, narrowed to those linked to a named entity's passage when some are. */
static uint64_t answer_passages(const struct lex *L, const struct lexfeat *f, const struct sbuf *na,
                                int n_answers)
{
    uint64_t own = 0, holds = 0;
    for (int a = 0; a < n_answers; a++) {
        for (int i = 0; i < f->n; i++)
            if (f->title[i].len && strcmp(f->title[i].p, na[a].p) == 0) own |= 1ULL << i;
        holds |= lexfeat_phrase(f, na[a].p);
    }
    if (own) return own;
    uint64_t near = L->anchor_all;
    for (uint64_t g = L->anchor_all; g; g &= g - 1) near |= L->adj[__builtin_ctzll(g)];
    return holds & near ? holds & near : holds;
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
static void question_terms(struct lex *L, const struct tokens *tq, size_t nq,
                           const struct lexfeat *f)
{
    double wq[256];
    uint64_t hq[256], mq[256];
    size_t kept = 0;
    for (size_t t = 0; t < nq && kept < 256; t++) {
        uint64_t m = lexfeat_term(f, tq->h[t]);
        hq[kept] = tq->h[t];
        wq[kept++] = log(1.0 + (double)f->n / (1.0 + __builtin_popcountll(m)));
    }
    kept = heaviest(hq, wq, kept);
    L->n_terms = (int)kept;
    double W = 0;
    for (size_t t = 0; t < kept; t++) {
        L->w[t] = wq[t];
        W += wq[t];
        mq[t] = lexfeat_term(f, hq[t]);
    }
    for (int i = 0; i < f->n; i++) {
        double c = 0;
        for (size_t t = 0; t < kept; t++) {
            if (mq[t] >> i & 1) {
                L->qbits[i] |= 1ULL << t;
                c += wq[t];
            }
        }
        if (W > 0 && c / W >= QNODE_SHARE) L->qnode |= 1ULL << i;
    }
}

/* Entities the question names by title, as groups of passages with the same title; a name
 * inside a longer named one is dropped. */
static void named_entities(struct lex *L, const char *question, const struct lexfeat *f)
{
    struct sbuf norm_q = {0};
    text_squad_normalize(question, &norm_q);
    const struct sbuf *tn = f->title;
    uint64_t named = 0;
    for (int i = 0; i < f->n; i++)
        if (tn[i].p[0] && text_contains_answer(norm_q.p, tn[i].p)) named |= 1ULL << i;
    for (int i = 0; i < f->n; i++) {
        if (!(named >> i & 1)) continue;
        int inside = 0, seen = 0;
        for (int k = 0; k < f->n && !inside; k++)
            if ((named >> k & 1) && strcmp(tn[k].p, tn[i].p) != 0 &&
                text_contains_answer(tn[k].p, tn[i].p))
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

/* Links: one passage names the other's title (names[]), or both hold a rare capitalised pair
 * of words that the question does not use (the bridge entity). */
static void link_passages(struct lex *L, const struct tokens *tq, struct lexfeat *f)
{
    for (int i = 0; i < f->n; i++) {
        uint64_t m = lexfeat_phrase(f, f->title[i].p) & ~(1ULL << i);
        for (; m; m &= m - 1) {
            int k = __builtin_ctzll(m);
            L->names[k] |= 1ULL << i;
            L->adj[i] |= 1ULL << k;
            L->adj[k] |= 1ULL << i;
        }
    }
    uint64_t *pairs = xmalloc(sizeof *pairs * (tq->n + 1));
    size_t np = 0;
    for (size_t t = 1; t < tq->n; t++) pairs[np++] = text_bigram_hash(tq->h[t - 1], tq->h[t]);
    lexfeat_drop_pairs(f, pairs, np);
    lexfeat_pair_links(f, RARE_DF, L->adj);
    free(pairs);
}

/* What the full set meets: the chain (condition 3), each named entity's share of a comparison
 * (condition 4) and the coverage (condition 5). */
static void full_set(struct lex *L)
{
    uint64_t all = L->n == 64 ? ~0ULL : (1ULL << L->n) - 1;
    L->need_chain = !L->yesno && chained(L, all);
    L->full = coverage(L, evidence(L, all));
    for (int g = 0; g < L->n_anchors && L->n_anchors >= 2; g++)
        L->anchor_full[g] = coverage(L, named_by(L, L->anchors[g], all));
}

static int lex_prepare(struct judge *j, struct jquestion *q, struct sbuf *err)
{
    (void)err;
    struct lex_state *S = j->impl;
    struct lex_scratch *x = scratch_take(S);
    struct lex *L = xcalloc(1, sizeof *L);
    struct lexfeat *f = &x->f;
    int n_answers;
    L->n = q->n;
    /* the question's terms (the words lexfeat is asked about), a filter that lets them through,
     * and all its words (link_passages): one pass */
    struct text_filter filter = {{0}};
    tokens_reset(&x->tq);
    tokens_reset(&x->words);
    text_words_filter(q->question, strlen(q->question), 0, &x->tq, TEXT_KEEP_STOP, &x->words,
                      &filter);
    size_t nq = lexfeat_uniq(x->tq.h, x->tq.n);
    lexfeat_build(f, q->p, q->n, S->plain, x->tq.h, nq, &filter);
    L->yesno = answers_of(q->answers, x->na, &n_answers);
    question_terms(L, &x->tq, nq, f);
    named_entities(L, q->question, f);
    link_passages(L, &x->words, f);
    if (!L->yesno) L->ansp = answer_passages(L, f, x->na, n_answers);
    full_set(L);
    scratch_give(S, x);
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
    int ok = L->yesno || (L->ansp & x);
    for (int g = 0; g < L->n_anchors && ok; g++)
        if (!(L->anchors[g] & x)) ok = 0;
    if (ok && L->need_chain && !chained(L, x)) ok = 0;
    for (int g = 0; g < L->n_anchors && L->n_anchors >= 2 && ok; g++)
        if (coverage(L, named_by(L, L->anchors[g], x)) < L->anchor_full[g] - 1e-9) ok = 0;
    if (ok && coverage(L, evidence(L, x)) < j->o.coverage * L->full - 1e-9) ok = 0;
    d->verdict = ok ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
    if (ok && json_array_size(q->answers))
        d->answer = xstrdup(json_string_value(json_array_get(q->answers, 0)));
}

const struct judge_kind_ops judge_lexical_ops = {
    "lexical", lex_init, lex_fini, lex_prepare, lex_release, lex_decide, NULL, NULL, NULL,
};
