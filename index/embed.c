/* embed.c - see embed.h: the embedder object and the hash embedder. */
#include "index/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct embedder {
    enum embed_kind kind;
    int dim;
    json_t *desc; /* how it was configured, as stored in indexes.embedder */
    /* hash */
    struct hash_params hp;
    uint32_t *df;
    int64_t n_docs;
    double avg_len;
};

static const char *const kind_names[] = {"hash", "openai", "file"};

const char *embed_kind_name(enum embed_kind k)
{
    return kind_names[k];
}

int embed_kind_parse(const char *name, enum embed_kind *out)
{
    for (int k = EMBED_HASH; k <= EMBED_FILE; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (enum embed_kind)k;
            return 0;
        }
    }
    return -1;
}

static json_t *hash_desc(const struct hash_params *p)
{
    json_t *d = json_pack("{s:s, s:i, s:f, s:i, s:f, s:f, s:i}", "kind", "hash", "dim", p->dim,
                          "bigram_weight", p->bigram_weight, "title_repeat", p->title_repeat, "k1",
                          p->k1, "b", p->b, "df_buckets", (int)HASH_DF_BUCKETS);
    if (!d) abort();
    return d;
}

struct embedder *embedder_hash_new(const struct hash_params *p)
{
    struct embedder *e = xcalloc(1, sizeof *e);
    e->kind = EMBED_HASH;
    e->hp = *p;
    e->dim = p->dim;
    e->df = xcalloc(HASH_DF_BUCKETS, sizeof *e->df);
    e->desc = hash_desc(p);
    return e;
}

static double num(json_t *o, const char *k, double def)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

int embedder_from_json(json_t *desc, struct embedder **out, struct sbuf *err)
{
    const char *kind = json_string_value(json_object_get(desc, "kind"));
    *out = NULL;
    if (!kind) {
        sbuf_setf(err, "embedder description has no kind");
        return PARE_EFAIL;
    }
    if (strcmp(kind, "hash") == 0) {
        struct hash_params p = {(int)num(desc, "dim", 0), num(desc, "bigram_weight", 0.5),
                                (int)num(desc, "title_repeat", 2), num(desc, "k1", 0.9),
                                num(desc, "b", 0.4)};
        if (p.dim <= 0) {
            sbuf_setf(err, "hash embedder description has no valid dim");
            return PARE_EFAIL;
        }
        *out = embedder_hash_new(&p);
        /* keep everything the description says (kept vectors ...), not only the parameters */
        json_decref((*out)->desc);
        (*out)->desc = json_deep_copy(desc);
        if (!(*out)->desc) abort();
        return PARE_OK;
    }
    if (strcmp(kind, "file") == 0 || strcmp(kind, "openai") == 0) {
        struct embedder *e = xcalloc(1, sizeof *e);
        e->kind = kind[0] == 'f' ? EMBED_FILE : EMBED_OPENAI;
        e->dim = (int)num(desc, "dim", 0);
        e->desc = json_deep_copy(desc);
        if (!e->desc) abort();
        *out = e;
        return PARE_OK;
    }
    sbuf_setf(err, "unknown embedder kind '%s'", kind);
    return PARE_EFAIL;
}

json_t *embedder_describe(const struct embedder *e)
{
    return json_incref(e->desc);
}

void embedder_free(struct embedder *e)
{
    if (!e) return;
    free(e->df);
    json_decref(e->desc);
    free(e);
}

enum embed_kind embedder_kind(const struct embedder *e)
{
    return e->kind;
}

int embedder_dim(const struct embedder *e)
{
    return e->dim;
}

void hfeats_free(struct hfeats *f)
{
    free(f->f);
    free(f->all);
    tokens_free(&f->tok);
    memset(f, 0, sizeof *f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends the unigram and bigram features of one token stream. */
static void add_stream(struct hfeats *f, const uint64_t *t, size_t n, int bigrams)
{
    size_t need = f->len + n * 2;
    xgrow((void **)&f->all, &f->cap_all, need, sizeof *f->all);
    for (size_t i = 0; i < n; i++) {
        f->all[f->len++] = t[i] & ~1ULL;
        if (bigrams && i + 1 < n) f->all[f->len++] = text_bigram_hash(t[i], t[i + 1]) | 1ULL;
    }
}

void hash_features(const struct embedder *e, const char *title, const char *text, size_t n,
                   struct hfeats *out)
{
    int bigrams = e->hp.bigram_weight > 0;
    out->len = 0;
    out->n = 0;
    if (title && *title) {
        tokens_reset(&out->tok);
        text_tokenize(title, strlen(title), &out->tok);
        for (int r = 0; r < e->hp.title_repeat; r++)
            add_stream(out, out->tok.h, out->tok.n, bigrams);
    }
    tokens_reset(&out->tok);
    text_tokenize(text, n, &out->tok);
    add_stream(out, out->tok.h, out->tok.n, bigrams);
    /* sort and count runs: distinct features with their frequencies */
    qsort(out->all, out->len, sizeof *out->all, cmp_u64);
    for (size_t i = 0; i < out->len;) {
        size_t j = i;
        while (j < out->len && out->all[j] == out->all[i]) j++;
        xgrow((void **)&out->f, &out->cap, out->n + 1, sizeof *out->f);
        out->f[out->n].h = out->all[i];
        out->f[out->n].tf = (uint32_t)(j - i);
        out->n++;
        i = j;
    }
}

/* Which df bucket a feature counts in: the hash's top bits (the dense bucket uses the low). */
static uint32_t df_bucket(uint64_t h)
{
    return (uint32_t)(h >> 44) & (HASH_DF_BUCKETS - 1);
}

void hash_fit_add(struct embedder *e, const struct hfeats *f)
{
    for (size_t i = 0; i < f->n; i++) {
        uint32_t b = df_bucket(f->f[i].h);
#pragma omp atomic
        e->df[b]++;
    }
}

void hash_fit_done(struct embedder *e, int64_t n_docs, double total_len)
{
    e->n_docs = n_docs;
    e->avg_len = n_docs > 0 ? total_len / (double)n_docs : 1.0;
}

const uint32_t *hash_df(const struct embedder *e, int64_t *n_docs, double *avg_len)
{
    *n_docs = e->n_docs;
    *avg_len = e->avg_len;
    return e->df;
}

int hash_set_stats(struct embedder *e, const uint32_t *df, size_t n, int64_t n_docs, double avg_len,
                   struct sbuf *err)
{
    if (n != HASH_DF_BUCKETS) {
        sbuf_setf(err, "hash embedder statistics have %zu buckets, expected %u", n,
                  HASH_DF_BUCKETS);
        return PARE_EFAIL;
    }
    memcpy(e->df, df, n * sizeof *df);
    e->n_docs = n_docs;
    e->avg_len = avg_len > 0 ? avg_len : 1.0;
    return PARE_OK;
}

/* BM25's IDF, always positive: ln(1 + (N - df + 0.5) / (df + 0.5)). A feature never seen in
 * the corpus gets the IDF of df = 0. */
static double idf(const struct embedder *e, uint64_t h)
{
    double df = e->df[df_bucket(h)], n = (double)e->n_docs;
    if (df > n) df = n;
    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

static double class_weight(const struct embedder *e, uint64_t h)
{
    return (h & 1) ? e->hp.bigram_weight : 1.0;
}

void hash_vector(const struct embedder *e, const struct hfeats *f, float *out)
{
    memset(out, 0, sizeof *out * (size_t)e->dim);
    for (size_t i = 0; i < f->n; i++) {
        uint64_t h = f->f[i].h;
        double w = idf(e, h) * (1.0 + log((double)f->f[i].tf)) * class_weight(e, h);
        uint32_t bucket = (uint32_t)((h >> 1) % (uint64_t)e->dim);
        out[bucket] += (h >> 40 & 1) ? (float)-w : (float)w; /* signed hashing */
    }
    l2_normalize(out, e->dim);
}

double hash_bm25(const struct embedder *e, const struct hfeats *q, const struct hfeats *d)
{
    double k1 = e->hp.k1, b = e->hp.b;
    double norm = k1 * (1.0 - b + b * (double)d->len / e->avg_len);
    double s = 0;
    size_t i = 0, j = 0;
    while (i < q->n && j < d->n) { /* both sorted by hash: a merge */
        if (q->f[i].h < d->f[j].h)
            i++;
        else if (q->f[i].h > d->f[j].h)
            j++;
        else {
            double tf = d->f[j].tf;
            s += q->f[i].tf * idf(e, d->f[j].h) * tf * (k1 + 1.0) / (tf + norm) *
                 class_weight(e, d->f[j].h);
            i++;
            j++;
        }
    }
    return s;
}

void l2_normalize(float *v, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)v[i] * v[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < dim; i++) v[i] *= inv;
}
