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
    float *idf_tab; /* IDF of each df bucket after hash_fit_done: for vectors, not BM25 */
};

static const char *const kind_names[] = {"hash", "openai", "file"};

/* How many features ahead table entries are prefetched. */
#define PREFETCH 8

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
    /* version 1 descriptions have no version: they stay byte-identical */
    if (p->version > 1 && json_object_set_new(d, "version", json_integer(p->version)) != 0) abort();
    return d;
}

struct embedder *embedder_hash_new(const struct hash_params *p)
{
    if (p->dim < 1 || p->dim > HASH_MAX_DIM) abort(); /* callers check the option */
    struct embedder *e = xcalloc(1, sizeof *e);
    e->kind = EMBED_HASH;
    e->hp = *p;
    e->dim = p->dim;
    e->hp.version = p->version > 1 ? p->version : 1;
    e->df = xcalloc(HASH_DF_BUCKETS, sizeof *e->df);
    e->desc = hash_desc(&e->hp);
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
        struct hash_params p = {(int)num(desc, "dim", 0),
                                num(desc, "bigram_weight", 0.5),
                                (int)num(desc, "title_repeat", 2),
                                num(desc, "k1", 0.9),
                                num(desc, "b", 0.4),
                                (int)num(desc, "version", 1)};
        if (p.dim <= 0 || p.dim > HASH_MAX_DIM) {
            sbuf_setf(err, "hash embedder description has no valid dim");
            return PARE_EFAIL;
        }
        if (p.version < 1 || p.version > HASH_VERSION) {
            sbuf_setf(err, "hash embedder version %d is newer than this pare knows (%d)", p.version,
                      HASH_VERSION);
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

struct embedder *embedder_from_own_json(json_t *desc)
{
    struct embedder *e = NULL;
    struct sbuf err = {0};
    if (!desc || embedder_from_json(desc, &e, &err) != PARE_OK) abort();
    json_decref(desc);
    sbuf_free(&err);
    return e;
}

json_t *embedder_describe(const struct embedder *e)
{
    return json_incref(e->desc);
}

void embedder_free(struct embedder *e)
{
    if (!e) return;
    free(e->df);
    free(e->idf_tab);
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
    free(f->keys);
    free(f->keys2);
    free(f->hist);
    tokens_free(&f->tok);
    memset(f, 0, sizeof *f);
}

/* Sorts v[0..n) ascending: quicksort with the comparison inlined, insertion sort for short
 * runs (a text has a few hundred features; qsort's indirect calls cost more than the work). */
static void sort_u64(uint64_t *v, size_t n)
{
    while (n > 16) {
        uint64_t a = v[0], b = v[n / 2], c = v[n - 1];
        uint64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i >= j) break;
            uint64_t t = v[i];
            v[i++] = v[j];
            v[j--] = t;
        }
        /* recurse on the smaller side, loop on the larger: bounded stack */
        if (j + 1 < n - j - 1) {
            sort_u64(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_u64(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

/* A version 2 feature key: the hash's top 31 bits and its bigram flag (bit 0). The top 20
 * bits are the df bucket, as in version 1 (h >> 44). */
static uint64_t key_of(uint64_t h)
{
    return ((h >> 32) & ~1ULL) | (h & 1);
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

/* Sorts k[0..n) in place by insertion: fast when few keys are out of place. */
static void insertion_sort_u32(uint32_t *k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = k[i];
        size_t j = i;
        for (; j > 0 && k[j - 1] > x; j--) k[j] = k[j - 1];
        k[j] = x;
    }
}

/* Sorts n 32-bit keys: four passes of an 8-bit radix sort through tmp, the four digits'
 * counts taken in one read before; the result is in *a (the buffers may be swapped). */
static void lsd_sort_u32(uint32_t **a, uint32_t **tmp, size_t n)
{
    size_t count[4][256] = {{0}};
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (*a)[i];
        count[0][x & 0xff]++;
        count[1][(x >> 8) & 0xff]++;
        count[2][(x >> 16) & 0xff]++;
        count[3][x >> 24]++;
    }
    for (int d = 0; d < 4; d++) {
        const uint32_t *src = *a;
        uint32_t *dst = *tmp;
        int shift = 8 * d;
        if (count[d][(src[0] >> shift) & 0xff] == n) continue; /* one digit: nothing moves */
        size_t at = 0;
        for (int v = 0; v < 256; v++) {
            size_t c = count[d][v];
            count[d][v] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[d][(src[i] >> shift) & 0xff]++] = src[i];
        *tmp = *a;
        *a = dst;
    }
}

/* Sorts the n keys of out->keys (the result may be in the swapped buffer). Keys are hashes,
 * spread evenly: one counting pass on their top bits into about n buckets leaves each key
 * within a bucket of one or two, and insertion sort finishes in about one more pass (twice the
 * buckets was 4% slower on 2Wiki + MuSiQue passages, and on HotpotQA's). That is
 * half the work of four radix passes for the few hundred keys of a text; a few dozen (a
 * question's) are sorted by insertion alone, very many (a book) by the radix passes. */
static void sort_keys(struct hfeats *out, size_t n)
{
    if (n <= 48) {
        insertion_sort_u32(out->keys, n);
        return;
    }
    if (n > (1u << 16)) {
        lsd_sort_u32(&out->keys, &out->keys2, n);
        return;
    }
    int bits = 6;
    while (((size_t)1 << bits) < n) bits++;
    size_t nb = (size_t)1 << bits;
    xgrow((void **)&out->hist, &out->cap_hist, nb + 1, sizeof *out->hist);
    uint32_t *c = out->hist, *src = out->keys, *dst = out->keys2;
    memset(c, 0, sizeof *c * (nb + 1));
    for (size_t i = 0; i < n; i++) c[(src[i] >> (32 - bits)) + 1]++;
    for (size_t v = 0; v < nb; v++) c[v + 1] += c[v];
    for (size_t i = 0; i < n; i++) dst[c[src[i] >> (32 - bits)]++] = src[i];
    insertion_sort_u32(dst, n);
    out->keys2 = src;
    out->keys = dst;
}

/* Distinct features and their counts from out->all[0..len) (version 1: 64-bit hashes). */
static void count_v1(struct hfeats *out)
{
    sort_u64(out->all, out->len);
    for (size_t i = 0; i < out->len;) {
        size_t j = i;
        while (j < out->len && out->all[j] == out->all[i]) j++;
        out->f[out->n].h = out->all[i];
        out->f[out->n].tf = (uint32_t)(j - i);
        out->n++;
        i = j;
    }
}

/* The same for version 2: 32-bit keys, tf capped at 255. */
static void count_v2(struct hfeats *out)
{
    if (out->cap_keys < out->len + 1) {
        out->cap_keys = out->len + 1;
        out->keys = xrealloc(out->keys, sizeof *out->keys * out->cap_keys);
        out->keys2 = xrealloc(out->keys2, sizeof *out->keys2 * out->cap_keys);
    }
    for (size_t i = 0; i < out->len; i++) out->keys[i] = (uint32_t)key_of(out->all[i]);
    if (out->len == 0) return;
    sort_keys(out, out->len);
    /* the runs of equal keys without a branch on where they end (whether a key repeats is
     * unpredictable: a loop per run mispredicted about once a run); the entry of the run under
     * way is written at every key, its count once more when the run is over */
    const uint32_t *k = out->keys;
    struct hfeat *f = out->f;
    size_t n = 0;
    uint32_t tf = 1;
    f[0].h = k[0];
    for (size_t i = 1; i < out->len; i++) {
        uint32_t same = k[i] == k[i - 1];
        f[n].tf = tf < 255 ? tf : 255;
        n += !same;
        f[n].h = k[i];
        tf = same ? tf + 1 : 1;
    }
    f[n].tf = tf < 255 ? tf : 255;
    out->n = n + 1;
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
    xgrow((void **)&out->f, &out->cap, out->len + 1, sizeof *out->f);
    if (e->hp.version >= 2)
        count_v2(out);
    else
        count_v1(out);
}

/* Which df bucket a feature counts in: the hash's top bits (the dense bucket uses the low). */
static uint32_t df_bucket(const struct embedder *e, uint64_t h)
{
    return (uint32_t)(e->hp.version >= 2 ? h >> 12 : h >> 44) & (HASH_DF_BUCKETS - 1);
}

void hash_fit_add(struct embedder *e, const struct hfeats *f)
{
    for (size_t i = 0; i < f->n; i++) {
        uint32_t b = df_bucket(e, f->f[i].h);
#pragma omp atomic
        e->df[b]++;
    }
}

void hash_count(const struct embedder *e, uint32_t *df, const struct hfeats *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (i + PREFETCH < f->n) __builtin_prefetch(&df[df_bucket(e, f->f[i + PREFETCH].h)], 1);
        df[df_bucket(e, f->f[i].h)]++;
    }
}

void hash_fit_merge(struct embedder *e, const uint32_t *df)
{
    for (size_t i = 0; i < HASH_DF_BUCKETS; i++) e->df[i] += df[i];
}

static double idf_of(const struct embedder *e, uint32_t bucket);

void hash_fit_len(struct embedder *e, int64_t n_docs, double total_len)
{
    e->n_docs = n_docs;
    e->avg_len = n_docs > 0 ? total_len / (double)n_docs : 1.0;
}

void hash_fit_done(struct embedder *e, int64_t n_docs, double total_len)
{
    hash_fit_len(e, n_docs, total_len);
    free(e->idf_tab);
    e->idf_tab = xmalloc(sizeof *e->idf_tab * HASH_DF_BUCKETS);
#pragma omp parallel for schedule(static)
    for (uint32_t b = 0; b < HASH_DF_BUCKETS; b++) e->idf_tab[b] = (float)idf_of(e, b);
}

const struct hash_params *hash_params_of(const struct embedder *e)
{
    return &e->hp;
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
static double idf_of(const struct embedder *e, uint32_t bucket)
{
    double df = e->df[bucket], n = (double)e->n_docs;
    if (df > n) df = n;
    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

static double idf(const struct embedder *e, uint64_t h)
{
    return idf_of(e, df_bucket(e, h));
}

/* The IDF a vector weighs feature h by: the table's, when there is one (float: a smaller table
 * misses the cache less; a vector is float anyway). */
static double vector_idf(const struct embedder *e, uint64_t h)
{
    uint32_t b = df_bucket(e, h);
    return e->idf_tab ? (double)e->idf_tab[b] : idf_of(e, b);
}

static double class_weight(const struct embedder *e, uint64_t h)
{
    return (h & 1) ? e->hp.bigram_weight : 1.0;
}

/* murmur3's 32-bit finaliser: every output bit depends on every input bit. */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    return x ^ (x >> 16);
}

/* The dense dimension of feature h and whether it counts negatively (signed hashing). */
static uint32_t dense_slot(const struct embedder *e, uint64_t h, int *neg)
{
    if (e->hp.version < 2) {
        *neg = (int)(h >> 40 & 1);
        return (uint32_t)((h >> 1) % (uint64_t)e->dim);
    }
    uint32_t m = mix32((uint32_t)h);
    *neg = (int)(m & 1);
    return (uint32_t)(((uint64_t)(m >> 1) * (uint64_t)e->dim) >> 31);
}

void hash_vector(const struct embedder *e, const struct hfeats *f, float *out)
{
    memset(out, 0, sizeof *out * (size_t)e->dim);
    uint64_t seen[HASH_MAX_DIM / 64];
    size_t words = ((size_t)e->dim + 63) / 64;
    if (e->hp.version >= 2) memset(seen, 0, words * sizeof *seen);
    for (size_t i = 0; i < f->n; i++) {
        /* the IDF table is megabytes read at random: ask for a later feature's entry now, so
         * that the memory latencies overlap (this load was three quarters of the function) */
        if (e->idf_tab && i + PREFETCH < f->n)
            __builtin_prefetch(&e->idf_tab[df_bucket(e, f->f[i + PREFETCH].h)]);
        uint64_t h = f->f[i].h;
        uint32_t tf = f->f[i].tf;
        double w = vector_idf(e, h) * (tf == 1 ? 1.0 : 1.0 + log((double)tf)) * class_weight(e, h);
        int neg;
        uint32_t bucket = dense_slot(e, h, &neg);
        out[bucket] += neg ? (float)-w : (float)w; /* signed hashing */
        if (e->hp.version >= 2) seen[bucket >> 6] |= 1ULL << (bucket & 63);
    }
    if (e->hp.version < 2) {
        l2_normalize(out, e->dim);
        return;
    }
    /* at most f->n values are not zero: l2_normalize's result from those alone, found in the
     * bitmap and visited in ascending order as l2_normalize visits them */
    double s = 0;
    for (size_t w = 0; w < words; w++)
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1) {
            float v = out[w * 64 + (size_t)__builtin_ctzll(bits)];
            s += (double)v * v;
        }
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (size_t w = 0; w < words; w++)
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1)
            out[w * 64 + (size_t)__builtin_ctzll(bits)] *= inv;
}

/* The BM25 length normalisation of a document of `len` features. */
static double bm25_norm(const struct embedder *e, uint32_t len)
{
    return e->hp.k1 * (1.0 - e->hp.b + e->hp.b * (double)len / e->avg_len);
}

/* A query feature's weight: its tf, the IDF, the bigram weight and BM25's (k1 + 1). */
static double query_weight(const struct embedder *e, uint64_t h, uint32_t qtf)
{
    return (double)qtf * idf(e, h) * class_weight(e, h) * (e->hp.k1 + 1.0);
}

double hash_bm25(const struct embedder *e, const struct hfeats *q, const struct hfeats *d)
{
    double norm = bm25_norm(e, d->len);
    double s = 0;
    size_t i = 0, j = 0;
    while (i < q->n && j < d->n) { /* both sorted by hash: a merge */
        if (q->f[i].h < d->f[j].h)
            i++;
        else if (q->f[i].h > d->f[j].h)
            j++;
        else {
            double tf = d->f[j].tf;
            s += query_weight(e, q->f[i].h, q->f[i].tf) * tf / (tf + norm);
            i++;
            j++;
        }
    }
    return s;
}

void hquery_free(struct hquery *q)
{
    free(q->key);
    free(q->w);
    memset(q, 0, sizeof *q);
}

void hash_query(const struct embedder *e, const struct hfeats *f, struct hquery *q)
{
    if (q->cap < f->n + 1) {
        q->cap = f->n + 1;
        q->key = xrealloc(q->key, sizeof *q->key * q->cap);
        q->w = xrealloc(q->w, sizeof *q->w * q->cap);
    }
    q->n = f->n;
    for (size_t i = 0; i < f->n; i++) {
        q->key[i] = f->f[i].h;
        q->w[i] = query_weight(e, f->f[i].h, f->f[i].tf);
    }
}

double hash_bm25_doc(const struct embedder *e, const struct hquery *q, const struct hdoc *d)
{
    double norm = bm25_norm(e, d->len);
    double s = 0;
    size_t a = 0, b = 0;
    /* query keys ascending, each looked up in both ascending lists: the matches are summed in
     * key order, as hash_bm25 sums them, so that the two agree to the last bit */
    for (size_t i = 0; i < q->n && (a < d->n_one || b < d->n_more); i++) {
        uint64_t k = q->key[i];
        while (a < d->n_one && d->one[a] < k) a++;
        while (b < d->n_more && d->more[b] < k) b++;
        if (a < d->n_one && d->one[a] == k)
            s += q->w[i] * 1.0 / (1.0 + norm);
        else if (b < d->n_more && d->more[b] == k)
            s += q->w[i] * (double)d->tf[b] / ((double)d->tf[b] + norm);
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
