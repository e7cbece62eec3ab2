/* metrics.c - see metrics.h. */
#include "pipeline/metrics.h"

static int contains(const int64_t *a, int n, int64_t x)
{
    for (int i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

struct prf metrics_prf(const int64_t *set, int n, const int64_t *gold, int ng)
{
    int hit = 0;
    for (int i = 0; i < n; i++) hit += contains(gold, ng, set[i]);
    struct prf m = {0, 0, 0};
    m.p = n ? (double)hit / n : 0;
    m.r = ng ? (double)hit / ng : 0;
    m.f1 = m.p + m.r > 0 ? 2 * m.p * m.r / (m.p + m.r) : 0;
    return m;
}

int metrics_hits_at(const int64_t *ranked, int n, const int64_t *gold, int ng, int k)
{
    int top = k < n ? k : n, hit = 0;
    for (int g = 0; g < ng; g++) hit += contains(ranked, top < 0 ? 0 : top, gold[g]);
    return hit;
}

static void prf_add(struct prf *sum, struct prf x)
{
    sum->p += x.p;
    sum->r += x.r;
    sum->f1 += x.f1;
}

void metrics_add(struct set_sums *s, const struct set_eval *e)
{
    s->questions++;
    s->calls += e->calls;
    s->cached += e->cached;
    if (e->has_prior) {
        s->prior_calls += e->prior_calls;
        s->with_prior++;
    }
    if (e->has_tokens) {
        s->tokens += e->tokens;
        s->with_tokens++;
    }
    if (e->status == EV_ERROR) {
        s->errors++;
        return;
    }
    if (e->status == EV_MINIMAL) {
        s->minimal++;
        prf_add(&s->set, metrics_prf(e->members, e->n_members, e->gold, e->n_gold));
        if (e->proven)
            s->proven++;
        else
            s->unproven++;
    } else {
        s->full_insufficient++;
    }
    for (int k = 0; k < METRICS_TOPK; k++)
        prf_add(&s->topk[k],
                metrics_prf(e->cand, e->n_cand < k + 1 ? e->n_cand : k + 1, e->gold, e->n_gold));
}

struct prf metrics_mean(const struct set_sums *s, const struct prf *sum)
{
    double m = (double)(s->minimal + s->full_insufficient);
    struct prf r = {0, 0, 0};
    if (m > 0) {
        r.p = sum->p / m;
        r.r = sum->r / m;
        r.f1 = sum->f1 / m;
    }
    return r;
}

int metrics_tokens(const struct set_sums *s, double *per_question, double *per_set)
{
    *per_question = *per_set = 0;
    if (!s->with_tokens) return -1;
    *per_question = s->questions ? (double)s->tokens / (double)s->questions : 0;
    *per_set = s->minimal ? (double)s->tokens / (double)s->minimal : 0;
    return 0;
}

int metrics_best_k(const struct set_sums *s)
{
    int best = 0;
    for (int k = 1; k < METRICS_TOPK; k++)
        if (s->topk[k].f1 > s->topk[best].f1) best = k;
    return best + 1;
}

void metrics_recall_add(struct recall_sums *r, const int64_t *ranked, int n, const int64_t *gold,
                        int ng, int k)
{
    if (ng <= 0) return;
    int hit = metrics_hits_at(ranked, n, gold, ng, k);
    r->questions++;
    r->gold += ng;
    r->found += hit;
    r->all_found += hit == ng;
}

int metrics_proven_minimal(const int64_t *m, int n, metrics_verdict_fn verdict, void *ctx)
{
    int64_t sub[64];
    if (n < 1 || n > 64) return 0;
    for (int drop = -1; drop < n; drop++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (i != drop) sub[k++] = m[i];
        if (k == 0) continue; /* the empty set is insufficient by definition */
        if (verdict(ctx, sub, k) != (drop < 0 ? 1 : 0)) return 0;
    }
    return 1;
}
