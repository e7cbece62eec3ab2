/* postings.c - see postings.h. */
#define _POSIX_C_SOURCE 200809L /* mmap */
#include "index/postings.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/ckfile.h"

#define HEADER 64
#define FORMAT 1
#define MAX_BITS 24
static const char MAGIC[8] = {'P', 'A', 'R', 'E', 'P', 'O', 'S', 'T'};

/* Building partitions the postings by the top PART_BITS bits of their key. 2^14 partitions
 * (hundreds of postings each at 100k passages; two 9-bit passes sort the 18 low bits): their
 * cursors stay in cache while the postings are scattered, where 2^20 (a dozen postings each)
 * cost a cache miss a posting and 8 MB arrays to fault in (the scatter, sort and directory
 * took about a quarter more CPU time on 97k HotpotQA passages). */
#define PART_BITS POST_PART_BITS
#define LOW_BITS (32 - PART_BITS)

/* Relative slack of the pruning bounds. Partial scores are float sums (half the memory of
 * doubles, and memory is what a search waits for), within 1e-6 of the exact ones for the few
 * dozen keys of a question; so a row pruned by a bound this much below the k-th score cannot
 * reach it (postings.h: exact), and the rows kept are scored exactly at the end. */
#define SLACK 1e-4

/* How many postings ahead the partial scores they add to are prefetched. */
#define AHEAD 16

/* Fewer postings are built and checked on one thread: starting threads costs more. */
#define PARALLEL_MIN (1 << 20)

/* --- building --- */

struct post_writer {
    struct ckfile *c;
    int64_t keys, postings;
};

/* What post_build works on: postings packed as (low key bits, row, tf) in u64, partitioned. */
struct post_work {
    const struct feat_file *ff;
    int64_t rows;
    uint32_t *len;  /* each row's length */
    double *norm;   /* BM25 length normalisation of each row */
    uint64_t *part; /* start of each partition in packed, 2^PART_BITS + 1 */
    uint64_t *packed;
    uint64_t *kpart; /* first key of each partition, 2^PART_BITS + 1 */
    uint32_t *key;
    uint64_t *off;
    float *ub;
    int64_t n_keys, n_post;
    int bits; /* B of the file */
};

/* The BM25 length normalisation, as embed.c's bm25_norm computes it. */
static double norm_of(double k1, double b, double avg, uint32_t len)
{
    return k1 * (1.0 - b + b * (double)len / avg);
}

static void bm25_params(const struct embedder *e, double *k1, double *b, double *avg)
{
    int64_t n_docs;
    hash_df(e, &n_docs, avg);
    *k1 = hash_params_of(e)->k1;
    *b = hash_params_of(e)->b;
}

/* Prefix sums of the partition counts in part[1..np]: part[p] becomes partition p's start. */
static void prefix_parts(struct post_work *w)
{
    for (size_t p = 0; p < ((size_t)1 << PART_BITS); p++) w->part[p + 1] += w->part[p];
    w->n_post = (int64_t)w->part[(size_t)1 << PART_BITS];
}

void post_count(uint64_t *counts, const struct hfeats *f)
{
    for (size_t i = 0; i < f->n; i++) counts[(uint32_t)f->f[i].h >> LOW_BITS]++;
}

/* The partitions' starts from counts (post_count of every row). */
static void parts_from_counts(struct post_work *w, const uint64_t *counts)
{
    w->part = xcalloc(((size_t)1 << PART_BITS) + 1, sizeof *w->part);
    memcpy(w->part + 1, counts, sizeof *counts * ((size_t)1 << PART_BITS));
    prefix_parts(w);
}

/* Counts how many postings each partition gets by reading every row (when the df cannot
 * tell). */
static int count_pass(struct post_work *w, struct sbuf *err)
{
    free(w->part);
    w->part = xcalloc(((size_t)1 << PART_BITS) + 1, sizeof *w->part);
    for (int64_t r = 0; r < w->rows; r++) {
        struct hdoc d;
        if (feat_doc(w->ff, r, &d, err) != PARE_OK) return PARE_EFAIL;
        for (uint32_t i = 0; i < d.n_one; i++) w->part[(d.one[i] >> LOW_BITS) + 1]++;
        for (uint32_t i = 0; i < d.n_more; i++) w->part[(d.more[i] >> LOW_BITS) + 1]++;
    }
    prefix_parts(w);
    return PARE_OK;
}

static uint64_t pack(uint32_t key, int64_t row, uint8_t tf)
{
    return (uint64_t)(key & ((1u << LOW_BITS) - 1)) << 40 | (uint64_t)row << 8 | tf;
}

/* The first of keys k[0..n) not below lo (k ascends). */
static uint32_t lower_bound(const uint32_t *k, uint32_t n, uint64_t lo)
{
    uint32_t a = 0, b = n;
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (k[m] < lo)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

/* Scatters the postings of keys[lo, hi) (partitions lo >> LOW_BITS ..) of the sorted keys
 * k[0..n) of row r, tf from tf[] (NULL: 1). Returns 0 when a partition would overflow. */
static int scatter_keys(struct post_work *w, uint64_t *at, const uint32_t *k, const uint8_t *tf,
                        uint32_t n, int64_t r, uint64_t lo, uint64_t hi)
{
    for (uint32_t i = lower_bound(k, n, lo); i < n && k[i] < hi; i++) {
        uint32_t p = k[i] >> LOW_BITS;
        if (k[i] < lo || at[p] >= w->part[p + 1]) return 0;
        w->packed[at[p]++] = pack(k[i], r, tf ? tf[i] : 1);
    }
    return 1;
}

/* One thread's share of scatter_pass: the postings of partitions [p0, p1) of every row, rows
 * ascending. Thread 0 (p0 == 0) also records each row's length and counts every posting.
 * Returns 1, 0 when the counts in part do not hold for these partitions, -1 on a malformed
 * row. */
static int scatter_part(struct post_work *w, uint64_t *at, size_t p0, size_t p1, int64_t *all)
{
    uint64_t lo = (uint64_t)p0 << LOW_BITS, hi = (uint64_t)p1 << LOW_BITS;
    int ok = 1;
    for (int64_t r = 0; r < w->rows && ok; r++) {
        struct hdoc d;
        struct sbuf ignore = {0}; /* count_pass reports it */
        if (feat_doc(w->ff, r, &d, &ignore) != PARE_OK) return -1;
        if (p0 == 0) {
            w->len[r] = d.len;
            *all += (int64_t)d.n_one + d.n_more;
        }
        ok = scatter_keys(w, at, d.one, NULL, d.n_one, r, lo, hi) &&
             scatter_keys(w, at, d.more, d.tf, d.n_more, r, lo, hi);
    }
    for (size_t p = p0; p < p1 && ok; p++) ok = at[p] == w->part[p + 1];
    return ok;
}

/* Pass 2: every posting into its partition, rows ascending within each. In `parallel`, each
 * thread fills its own range of partitions (of about equal postings), finding it in each row's
 * ascending keys; else one thread reads every key (rows from any writer). Returns 1, 0 when the
 * partition counts do not hold (the postings are then not all placed), -1 on a malformed row. */
static int scatter_pass(struct post_work *w, int parallel)
{
    size_t np = (size_t)1 << PART_BITS;
    uint64_t *at = xmalloc(sizeof *at * np);
    memcpy(at, w->part, sizeof *at * np);
    free(w->packed);
    /* In 4 KB pages: transparent huge pages (MADV_HUGEPAGE) cost more than they save on a
     * virtual machine that hands free memory back to its host (virtio-balloon free page
     * reporting, as on the machines pare is measured on), where a 2 MB page first touched is a
     * fault in the host too: 0.5 GB/s against 2.6 GB/s for 4 KB pages (128 MB, a few seconds
     * after the memory was last used). Measured with the huge pages: index of 97,160 HotpotQA
     * passages 0.55-0.60 s against 0.52-0.56 s, of 1M generated passages 2.8-3.2 s against
     * 2.5-2.7 s (system time 1.1-1.6 s against 0.7-0.8 s). */
    w->packed = xmalloc(sizeof *w->packed * (size_t)(w->n_post + 1));
    int nt = parallel && w->n_post > PARALLEL_MIN ? omp_get_max_threads() : 1, ok = 1;
    int64_t all = 0;
#pragma omp parallel for num_threads(nt) schedule(static, 1) reduction(min : ok)
    for (int t = 0; t < nt; t++) {
        /* partitions [p0, p1): the first whose start reaches t / nt of the postings */
        size_t p0 = 0, p1 = np;
        while (t > 0 && p0 < np && w->part[p0] * (uint64_t)nt < (uint64_t)w->n_post * t) p0++;
        for (p1 = p0;
             t + 1 < nt && p1 < np && w->part[p1] * (uint64_t)nt < (uint64_t)w->n_post * (t + 1);
             p1++)
            ;
        int got = scatter_part(w, at, t == 0 ? 0 : p0, t + 1 < nt ? p1 : np, &all);
        ok = got < ok ? got : ok;
    }
    free(at);
    return ok == 1 && all != w->n_post ? 0 : ok;
}

/* Sorts a partition v[0..n) by key, keeping the order of equal keys (rows, which ascend):
 * insertion sort for short runs, else two passes of a 9-bit radix sort (the LOW_BITS of the
 * key), v to tmp and back, both digits counted in one read. */
static void sort_partition(uint64_t *v, size_t n, uint64_t *tmp)
{
    _Static_assert(LOW_BITS <= 18, "two 9-bit digits");
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] >> 40 > x >> 40; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    size_t lo[512] = {0}, hi[512] = {0};
    for (size_t i = 0; i < n; i++) {
        lo[(v[i] >> 40) & 511]++;
        hi[(v[i] >> 49) & 511]++;
    }
    size_t at_lo = 0, at_hi = 0;
    for (int d = 0; d < 512; d++) {
        size_t c = lo[d], e = hi[d];
        lo[d] = at_lo;
        hi[d] = at_hi;
        at_lo += c;
        at_hi += e;
    }
    for (size_t i = 0; i < n; i++) tmp[lo[(v[i] >> 40) & 511]++] = v[i];
    for (size_t i = 0; i < n; i++) v[hi[(tmp[i] >> 49) & 511]++] = tmp[i];
}

/* Sorts each partition by (key, row) and counts its distinct keys into kpart. */
static void sort_pass(struct post_work *w)
{
    size_t np = (size_t)1 << PART_BITS, most = 0;
    for (size_t p = 0; p < np; p++)
        if (w->part[p + 1] - w->part[p] > most) most = (size_t)(w->part[p + 1] - w->part[p]);
    w->kpart = xcalloc(np + 1, sizeof *w->kpart);
#pragma omp parallel if (w->n_post > PARALLEL_MIN)
    {
        uint64_t *tmp = xmalloc(sizeof *tmp * (most + 1));
#pragma omp for schedule(dynamic, 256)
        for (size_t p = 0; p < np; p++) {
            uint64_t *v = w->packed + w->part[p];
            size_t n = (size_t)(w->part[p + 1] - w->part[p]);
            sort_partition(v, n, tmp);
            uint64_t keys = 0;
            for (size_t i = 0; i < n; i++) keys += i == 0 || v[i] >> 40 != v[i - 1] >> 40;
            w->kpart[p + 1] = keys;
        }
        free(tmp);
    }
    for (size_t p = 0; p < np; p++) w->kpart[p + 1] += w->kpart[p];
    w->n_keys = (int64_t)w->kpart[np];
}

/* x as a float no smaller than x. */
static float round_up(double x)
{
    float f = (float)x;
    return (double)f < x ? nextafterf(f, INFINITY) : f;
}

/* The key directory: each key, its list's start and its bound; and, when df is not NULL, the
 * document frequencies: a list's length counts its key's passages in the key's df bucket (its
 * top 20 bits, within its partition's: partitions fill disjoint buckets). */
static void directory_pass(struct post_work *w, uint32_t *df)
{
    _Static_assert(HASH_DF_BUCKETS == 1u << 20 && PART_BITS <= 20, "buckets within partitions");
    if (df) memset(df, 0, sizeof *df * HASH_DF_BUCKETS);
    size_t np = (size_t)1 << PART_BITS;
    w->key = xmalloc(sizeof *w->key * (size_t)(w->n_keys + 1));
    w->off = xmalloc(sizeof *w->off * (size_t)(w->n_keys + 1));
    w->ub = xmalloc(sizeof *w->ub * (size_t)(w->n_keys + 1));
#pragma omp parallel for schedule(dynamic, 256) if (w->n_post > PARALLEL_MIN)
    for (size_t p = 0; p < np; p++) {
        const uint64_t *v = w->packed;
        uint64_t k = w->kpart[p], end = w->part[p + 1];
        for (uint64_t i = w->part[p], j; i < end; i = j) {
            uint64_t low = v[i] >> 40;
            double best = 0;
            for (j = i; j < end && v[j] >> 40 == low; j++) {
                double tf = (double)(v[j] & 0xff);
                double c = tf / (tf + w->norm[(v[j] >> 8) & 0xffffffffu]);
                if (c > best) best = c;
            }
            w->key[k] = (uint32_t)(p << LOW_BITS | low);
            if (df) df[w->key[k] >> 12] += (uint32_t)(j - i);
            w->off[k] = i;
            w->ub[k++] = round_up(best);
        }
    }
    w->off[w->n_keys] = (uint64_t)w->n_post;
}

/* The file's bucket bits: about four keys a bucket. */
static int bits_for(int64_t keys)
{
    int bits = 1;
    while (bits < MAX_BITS && ((int64_t)1 << (bits + 2)) < keys) bits++;
    return bits;
}

static int put(struct post_writer *pw, const void *p, size_t n, struct sbuf *err)
{
    return ckfile_put(pw->c, p, n, err);
}

/* Writes n bytes, then zeros to the next multiple of 8 (sections start 8-byte aligned). */
static int put_section(struct post_writer *pw, const void *p, size_t n, struct sbuf *err)
{
    return ckfile_put_aligned(pw->c, p, n, 8, err);
}

static int put_header(struct post_writer *pw, const struct post_work *w, const struct embedder *e,
                      struct sbuf *err)
{
    unsigned char h[HEADER] = {0};
    uint32_t fmt[2] = {FORMAT, (uint32_t)w->bits};
    uint64_t n[3] = {(uint64_t)w->rows, (uint64_t)w->n_keys, (uint64_t)w->n_post};
    double par[3];
    bm25_params(e, &par[1], &par[2], &par[0]);
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, fmt, 8);
    memcpy(h + 16, n, 24);
    memcpy(h + 40, par, 24);
    return put(pw, h, HEADER, err);
}

/* The buckets of the file: the first key of each of the 2^B buckets, and the end. */
static uint32_t *buckets_of(const struct post_work *w)
{
    size_t nb = (size_t)1 << w->bits;
    uint32_t *b = xmalloc(sizeof *b * (nb + 1));
    int64_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        while (k < w->n_keys && (w->key[k] >> (32 - w->bits)) < i) k++;
        b[i] = (uint32_t)k;
    }
    b[nb] = (uint32_t)w->n_keys;
    return b;
}

/*
 * The rows of every list, then their tfs, from the sorted packed postings, in one read of them:
 * chunks are unpacked on every thread and written in order (each chunk's rows as soon as the
 * chunks before it are written; the tfs, a byte each, into one array written after the rows).
 * One thread reading the postings twice was 40 of the last 80 ms of `pare index` on 97,160
 * HotpotQA passages, with the other core idle.
 */
static int put_lists(struct post_writer *pw, const struct post_work *w, struct sbuf *err)
{
    enum { CHUNK = 1 << 16 };
    int64_t n_chunks = (w->n_post + CHUNK - 1) / CHUNK;
    uint8_t *tfs = xmalloc((size_t)w->n_post + 1);
    int rc = PARE_OK, nt = w->n_post > PARALLEL_MIN ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(nt)
    {
        uint32_t *rows = xmalloc(sizeof *rows * CHUNK);
#pragma omp for ordered schedule(static, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            int64_t at = c * CHUNK;
            size_t n = (size_t)(w->n_post - at < CHUNK ? w->n_post - at : CHUNK);
            for (size_t j = 0; j < n; j++) {
                uint64_t v = w->packed[at + (int64_t)j];
                rows[j] = (uint32_t)(v >> 8);
                tfs[at + (int64_t)j] = (uint8_t)v;
            }
#pragma omp ordered
            if (rc == PARE_OK) rc = put(pw, rows, sizeof *rows * n, err);
        }
        free(rows);
    }
    if (rc == PARE_OK) rc = ckfile_put_aligned(pw->c, NULL, 0, 8, err); /* the tfs' section */
    if (rc == PARE_OK) rc = put(pw, tfs, (size_t)w->n_post, err);
    if (rc == PARE_OK) rc = ckfile_put_aligned(pw->c, NULL, 0, 8, err); /* the next section */
    free(tfs);
    return rc;
}

/* Writes the whole file under its temporary name. */
static int write_file(struct post_writer *pw, struct post_work *w, const struct embedder *e,
                      struct sbuf *err)
{
    w->bits = bits_for(w->n_keys);
    uint32_t *buckets = buckets_of(w);
    size_t nk = (size_t)w->n_keys;
    int rc = put_header(pw, w, e, err);
    if (rc == PARE_OK)
        rc = put_section(pw, buckets, sizeof *buckets * (((size_t)1 << w->bits) + 1), err);
    if (rc == PARE_OK) rc = put_section(pw, w->key, sizeof *w->key * nk, err);
    if (rc == PARE_OK) rc = put_section(pw, w->off, sizeof *w->off * (nk + 1), err);
    if (rc == PARE_OK) rc = put_section(pw, w->ub, sizeof *w->ub * nk, err);
    if (rc == PARE_OK) rc = put_section(pw, w->len, sizeof *w->len * (size_t)w->rows, err);
    if (rc == PARE_OK) rc = put_lists(pw, w, err);
    free(buckets);
    return rc;
}

static void work_free(struct post_work *w)
{
    free(w->len);
    free(w->norm);
    free(w->part);
    free(w->packed);
    free(w->kpart);
    free(w->key);
    free(w->off);
    free(w->ub);
}

/* The writer of `path`, its temporary file open. */
static int writer_new(const char *path, struct post_writer **out, struct sbuf *err)
{
    struct post_writer *pw = xcalloc(1, sizeof *pw);
    *out = pw;
    return ckfile_create(path, &pw->c, err);
}

/* Every posting into its partition: with the caller's partition counts, else (none, counts
 * of other rows, or a malformed row to report) counted from the rows first. */
static int scatter_all(struct post_work *w, const uint64_t *counts, const char *path,
                       struct sbuf *err)
{
    w->len = xmalloc(sizeof *w->len * (size_t)(w->rows + 1));
    if (counts) {
        parts_from_counts(w, counts);
        if (scatter_pass(w, 1) == 1) return PARE_OK;
    }
    if (count_pass(w, err) != PARE_OK) return PARE_EFAIL;
    if (scatter_pass(w, 0) == 1) return PARE_OK;
    sbuf_setf(err, "%s: the features file changed while building the postings", path);
    return PARE_EFAIL;
}

int post_build(const struct feat_file *ff, const struct embedder *e, const uint64_t *counts,
               uint32_t *df, const char *path, struct post_writer **out, char checksum[static 33],
               struct sbuf *err)
{
    struct post_work w = {.ff = ff, .rows = feat_rows(ff)};
    int rc = writer_new(path, out, err);
    if (rc == PARE_OK && w.rows > (int64_t)UINT32_MAX) {
        sbuf_setf(err, "%s: %lld passages: postings hold at most %u", path, (long long)w.rows,
                  UINT32_MAX);
        rc = PARE_EFAIL;
    }
    if (rc == PARE_OK) rc = scatter_all(&w, counts, path, err);
    feat_release(ff, 0, w.rows);
    if (rc == PARE_OK) {
        double k1, b, avg;
        bm25_params(e, &k1, &b, &avg);
        w.norm = xmalloc(sizeof *w.norm * (size_t)(w.rows + 1));
        for (int64_t r = 0; r < w.rows; r++) w.norm[r] = norm_of(k1, b, avg, w.len[r]);
        sort_pass(&w);
        directory_pass(&w, df);
        rc = write_file(*out, &w, e, err);
    }
    if (rc == PARE_OK) rc = ckfile_finish((*out)->c, checksum, err);
    if (rc == PARE_OK) {
        (*out)->keys = w.n_keys;
        (*out)->postings = w.n_post;
    }
    work_free(&w);
    return rc;
}

int post_commit(struct post_writer *w, struct sbuf *err)
{
    return ckfile_commit(w->c, err);
}

void post_writer_counts(const struct post_writer *w, int64_t *keys, int64_t *postings)
{
    *keys = w->keys;
    *postings = w->postings;
}

void post_writer_free(struct post_writer *w)
{
    if (!w) return;
    ckfile_free(w->c);
    free(w);
}

/* --- reading --- */

struct post_file {
    char *path;
    const unsigned char *map;
    size_t size;
    uint64_t rows, keys, postings;
    int bits;
    double avg_len, k1, b;
    const uint32_t *bucket, *key, *len, *row;
    const uint64_t *off;
    const float *ub;
    const uint8_t *tf;
    double *norm; /* each row's BM25 length normalisation, computed at open */
};

void post_close(struct post_file *p)
{
    if (!p) return;
    if (p->map) munmap((void *)p->map, p->size);
    free(p->norm);
    free(p->path);
    free(p);
}

static uint64_t align8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

/* Reads the header and places the sections; every count is bounded by the file's length
 * before it is multiplied, so no sum overflows. */
static int place_sections(struct post_file *p, struct sbuf *err)
{
    uint32_t fmt[2];
    uint64_t n[3];
    double par[3];
    memcpy(fmt, p->map + 8, 8);
    memcpy(n, p->map + 16, 24);
    memcpy(par, p->map + 40, 24);
    uint64_t size = p->size;
    if (memcmp(p->map, MAGIC, 8) != 0 || fmt[0] != FORMAT || fmt[1] < 1 || fmt[1] > MAX_BITS ||
        n[0] > size / 4 || n[1] > size / 16 || n[2] > size / 5 || n[0] > UINT32_MAX ||
        n[1] > UINT32_MAX || !(par[0] >= 1e-3 && par[0] < 1e12) || !(par[1] >= 0 && par[1] < 1e6) ||
        !(par[2] >= 0 && par[2] <= 1)) {
        sbuf_setf(err, "%s: not a postings file written by pare index", p->path);
        return PARE_EFAIL;
    }
    p->bits = (int)fmt[1];
    p->rows = n[0];
    p->keys = n[1];
    p->postings = n[2];
    p->avg_len = par[0];
    p->k1 = par[1];
    p->b = par[2];
    uint64_t at = HEADER, nb = ((uint64_t)1 << p->bits) + 1;
    const unsigned char *m = p->map;
    p->bucket = (const uint32_t *)(const void *)(m + at);
    at += align8(4 * nb);
    p->key = (const uint32_t *)(const void *)(m + at);
    at += align8(4 * p->keys);
    p->off = (const uint64_t *)(const void *)(m + at);
    at += 8 * (p->keys + 1);
    p->ub = (const float *)(const void *)(m + at);
    at += align8(4 * p->keys);
    p->len = (const uint32_t *)(const void *)(m + at);
    at += align8(4 * p->rows);
    p->row = (const uint32_t *)(const void *)(m + at);
    at += align8(4 * p->postings);
    p->tf = m + at;
    at += align8(p->postings);
    if (at != size) {
        sbuf_setf(err, "%s: %llu bytes where its header says %llu: truncated or corrupt", p->path,
                  (unsigned long long)size, (unsigned long long)at);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* The key directory: buckets ascending and consistent with the keys, keys ascending, lists
 * not empty and within the postings, bounds finite. */
static int check_directory(const struct post_file *p, struct sbuf *err)
{
    uint64_t nb = (uint64_t)1 << p->bits;
    if (p->bucket[0] != 0 || p->bucket[nb] != p->keys || p->off[0] != 0 ||
        p->off[p->keys] != p->postings) {
        sbuf_setf(err, "%s: the key directory does not span the postings", p->path);
        return PARE_EFAIL;
    }
    for (uint64_t b = 0; b < nb; b++) {
        if (p->bucket[b] > p->bucket[b + 1]) goto bad;
        for (uint32_t k = p->bucket[b]; k < p->bucket[b + 1]; k++)
            if ((p->key[k] >> (32 - p->bits)) != b) goto bad;
    }
    for (uint64_t k = 0; k < p->keys; k++)
        if ((k > 0 && p->key[k] <= p->key[k - 1]) || p->off[k + 1] <= p->off[k] ||
            !(p->ub[k] >= 0) || !isfinite(p->ub[k]))
            goto bad;
    return PARE_OK;
bad:
    sbuf_setf(err, "%s: the key directory is malformed", p->path);
    return PARE_EFAIL;
}

/* Every list: rows ascending and below the row count, tfs at least 1. */
static int check_lists(const struct post_file *p, struct sbuf *err)
{
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 4096) reduction(| : bad) if (p->postings > PARALLEL_MIN)
    for (uint64_t k = 0; k < p->keys; k++) {
        for (uint64_t i = p->off[k]; i < p->off[k + 1]; i++)
            bad |= p->row[i] >= p->rows || (i > p->off[k] && p->row[i] <= p->row[i - 1]) ||
                   p->tf[i] == 0;
    }
    if (!bad) return PARE_OK;
    sbuf_setf(err, "%s: a posting list is malformed", p->path);
    return PARE_EFAIL;
}

/* Compares the xxh128 of the mapping with `checksum`. */
static int check_sum(const struct post_file *p, const char *checksum, struct sbuf *err)
{
    return ckfile_verify(p->path, "postings", p->map, p->size, checksum, err);
}

/* Maps the file read-only into p. */
static int map_file(struct post_file *p, struct sbuf *err)
{
    int fd = open(p->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        sbuf_setf(err, "%s: postings file is missing or unreadable: %s", p->path, strerror(errno));
        if (fd >= 0) close(fd);
        return PARE_EFAIL;
    }
    p->size = (size_t)sb.st_size;
    int rc = PARE_OK;
    if (p->size < HEADER + 8) {
        sbuf_setf(err, "%s: not a postings file written by pare index (%zu bytes)", p->path,
                  p->size);
        rc = PARE_EFAIL;
    } else {
        void *m = mmap(NULL, p->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            sbuf_setf(err, "%s: cannot map: %s", p->path, strerror(errno));
            rc = PARE_EFAIL;
        } else {
            p->map = m;
        }
    }
    close(fd);
    return rc;
}

int post_open(const char *path, const char *checksum, struct post_file **out, struct sbuf *err)
{
    struct post_file *p = xcalloc(1, sizeof *p);
    p->path = xstrdup(path);
    *out = NULL;
    int rc = map_file(p, err);
    if (rc == PARE_OK && checksum) rc = check_sum(p, checksum, err);
    if (rc == PARE_OK) rc = place_sections(p, err);
    if (rc == PARE_OK) rc = check_directory(p, err);
    if (rc == PARE_OK) rc = check_lists(p, err);
    if (rc != PARE_OK) {
        post_close(p);
        return rc;
    }
    p->norm = xmalloc(sizeof *p->norm * (size_t)(p->rows + 1));
    for (uint64_t r = 0; r < p->rows; r++) p->norm[r] = norm_of(p->k1, p->b, p->avg_len, p->len[r]);
    *out = p;
    return PARE_OK;
}

int64_t post_rows(const struct post_file *p)
{
    return (int64_t)p->rows;
}

void post_counts(const struct post_file *p, int64_t *keys, int64_t *postings)
{
    *keys = (int64_t)p->keys;
    *postings = (int64_t)p->postings;
}

int post_check_match(const struct post_file *p, const struct feat_file *ff,
                     const struct embedder *e, struct sbuf *err)
{
    double k1, b, avg;
    bm25_params(e, &k1, &b, &avg);
    if (feat_rows(ff) != (int64_t)p->rows || k1 != p->k1 || b != p->b || avg != p->avg_len) {
        sbuf_setf(err, "%s: built for other passages or BM25 parameters than its index's", p->path);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* --- searching --- */

/* One of the query's keys that has a list. */
struct term {
    uint64_t off, end; /* its postings */
    double w;          /* the query's weight of the key */
    double ub;         /* no row gets more than this from the key */
};

/* A scored row. */
struct hit {
    double s;
    int64_t row;
};

struct post_scratch {
    int64_t rows;
    struct slot {
        float acc;  /* partial score of the row; 0: not touched */
        float norm; /* the row's BM25 length normalisation (beside acc: one cache miss) */
    } * slot;
    uint32_t *touched; /* rows whose acc is not 0 */
    int64_t n_touched;
    uint32_t *cand; /* rows that may still reach the top k, ascending */
    uint32_t *tmp;  /* sort_rows's */
    uint64_t *bits; /* add_dense's bitmap of the candidates, a bit a row, zero between uses */
    size_t cap_cand, cap_tmp, cap_sel;
    int64_t n_cand;
    double *sel; /* scratch of the k-th largest score */
    struct term *terms;
    double *rem; /* rem[i]: bound of what terms i.. add together */
    size_t cap_terms;
    struct hit *hits;
    size_t cap_hits;
};

struct post_scratch *post_scratch_new(const struct post_file *p)
{
    struct post_scratch *s = xcalloc(1, sizeof *s);
    size_t n = (size_t)p->rows + 1;
    s->rows = (int64_t)p->rows;
    s->slot = xcalloc(n, sizeof *s->slot);
    for (uint64_t r = 0; r < p->rows; r++) s->slot[r].norm = (float)p->norm[r];
    s->touched = xmalloc(sizeof *s->touched * n); /* the rest grows as a search needs it */
    s->bits = xcalloc(n / 64 + 1, sizeof *s->bits);
    return s;
}

void post_scratch_free(struct post_scratch *s)
{
    if (!s) return;
    free(s->slot);
    free(s->touched);
    free(s->cand);
    free(s->tmp);
    free(s->bits);
    free(s->sel);
    free(s->terms);
    free(s->rem);
    free(s->hits);
    free(s);
}

/* The directory entry of `key`, or -1 when no row holds it. */
static int64_t find_key(const struct post_file *p, uint64_t key)
{
    if (key > UINT32_MAX) return -1;
    uint32_t k = (uint32_t)key, b = k >> (32 - p->bits);
    uint32_t lo = p->bucket[b], hi = p->bucket[b + 1], end = hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->key[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && p->key[lo] == k ? (int64_t)lo : -1;
}

static int by_bound(const void *a, const void *b)
{
    const struct term *x = a, *y = b;
    return x->ub > y->ub ? -1 : x->ub < y->ub;
}

/* The query's keys that have lists, largest bound first, and the bounds of their suffixes.
 * Returns how many. */
static int gather_terms(const struct post_file *p, const struct hquery *q, struct post_scratch *s)
{
    xgrow((void **)&s->terms, &s->cap_terms, q->n + 1, sizeof *s->terms);
    s->rem = xrealloc(s->rem, sizeof *s->rem * (s->cap_terms + 1));
    int nt = 0;
    for (size_t i = 0; i < q->n; i++) {
        int64_t k = find_key(p, q->key[i]);
        if (k < 0) continue;
        struct term *t = &s->terms[nt++];
        t->off = p->off[k];
        t->end = p->off[k + 1];
        t->w = q->w[i];
        t->ub = q->w[i] * (double)p->ub[k];
    }
    qsort(s->terms, (size_t)nt, sizeof *s->terms, by_bound);
    s->rem[nt] = 0;
    for (int i = nt - 1; i >= 0; i--) s->rem[i] = (s->rem[i + 1] + s->terms[i].ub) * (1 + SLACK);
    return nt;
}

/* A bound a little below theta: rows whose bound is under it cannot reach theta. */
static double below(double theta)
{
    return theta - theta * SLACK;
}

/* The k-th largest of v[0..n) (n >= k >= 1); reorders v. */
static double kth_largest(double *v, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot) i++;
            while (v[j] < pivot) j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[lo];
}

/* The k-th largest partial score of rows[0..n): a lower bound of the k-th final score (0 when
 * fewer than k rows). */
static double theta_of(struct post_scratch *s, const uint32_t *rows, int64_t n, int64_t k)
{
    if (n < k) return 0;
    xgrow((void **)&s->sel, &s->cap_sel, (size_t)n + 1, sizeof *s->sel);
    for (int64_t i = 0; i < n; i++) {
        if (i + AHEAD < n) __builtin_prefetch(&s->slot[rows[i + AHEAD]]);
        s->sel[i] = s->slot[rows[i]].acc;
    }
    return kth_largest(s->sel, n, k);
}

/* Adds every posting of term t to the rows' partial scores. */

static void scan_list(const struct post_file *p, struct post_scratch *s, const struct term *t)
{
    for (uint64_t i = t->off; i < t->end; i++) {
        if (i + AHEAD < t->end) __builtin_prefetch(&s->slot[p->row[i + AHEAD]], 1);
        uint32_t r = p->row[i];
        float tf = (float)p->tf[i], c = (float)t->w * tf / (tf + s->slot[r].norm);
        if (!(c > 0)) continue; /* never with pare's files: acc 0 must mean untouched */
        if (s->slot[r].acc == 0) s->touched[s->n_touched++] = r;
        s->slot[r].acc += c;
    }
}

/* What one search works with. */
struct search {
    const struct post_file *p;
    const struct feat_file *ff;
    const struct embedder *e;
    const struct hquery *q;
    struct post_scratch *s;
    int64_t k;
};

/* Candidates few enough for phase two to update its bound after each list. */
#define REFINE_THETA_MAX 2048

/* Rows scored exactly for a bound: this many times k, of the best partial scores. */
#define SEED 4

/*
 * A lower bound of the k-th best final score: the rows of the SEED k best partial scores
 * scored exactly (hash_bm25_doc), and the k-th best of those, which k real rows reach (0 when
 * fewer than k rows were touched). Partial scores lack the lists not yet read, so this bound is
 * much higher, and prunes much more, than the k-th best partial score; it is never lower, as
 * those rows include the k best partial scores.
 */
static double exact_theta(const struct search *x)
{
    struct post_scratch *s = x->s;
    int64_t m = 0, most = 2 * SEED * x->k, seed = SEED * x->k;
    if (s->n_touched < x->k) return 0;
    double floor = theta_of(s, s->touched, s->n_touched, s->n_touched < seed ? s->n_touched : seed);
    xgrow((void **)&s->sel, &s->cap_sel, (size_t)most + 1, sizeof *s->sel);
    for (int64_t i = 0; i < s->n_touched && m < most; i++) {
        uint32_t r = s->touched[i];
        struct hdoc d;
        struct sbuf ignore = {0}; /* a malformed row is reported when the hits are scored */
        if (s->slot[r].acc < floor || feat_doc(x->ff, r, &d, &ignore) != PARE_OK) continue;
        s->sel[m++] = hash_bm25_doc(x->e, x->q, &d);
    }
    return m >= x->k ? kth_largest(s->sel, m, x->k) : 0;
}

/*
 * Phase one (MaxScore's essential lists): whole lists, largest bound first, as long as a row
 * none of them held could still reach the k-th best score with what the lists left add at
 * most. Returns the first term not scanned; *theta a lower bound of the k-th best score.
 */
static int scan_phase(const struct search *x, int nt, double *theta)
{
    struct post_scratch *s = x->s;
    int i = 0;
    *theta = 0;
    for (; i < nt; i++) {
        /* scanning a list more than needed is only slower, never wrong: the bound costs a pass
         * over the touched rows, worth it before a list of comparable length */
        const struct term *t = &s->terms[i];
        if (s->n_touched >= x->k && s->rem[i] >= below(*theta) &&
            (int64_t)(t->end - t->off) * 4 >= s->n_touched) {
            double th = exact_theta(x);
            if (th > *theta) *theta = th;
        }
        if (s->rem[i] < below(*theta)) break;
        scan_list(x->p, s, t);
    }
    return i;
}

/* Sorts v[0..n) (values below `limit`) ascending: insertion sort for a few, else 11-bit radix
 * passes through tmp, as many as the values need (two for two million rows). */
static void sort_rows(uint32_t *v, int64_t n, uint32_t *tmp, uint64_t limit)
{
    if (n <= 64) {
        for (int64_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            int64_t j = i;
            for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    for (int shift = 0; shift < 32 && (limit - 1) >> shift; shift += 11) {
        int64_t count[2049] = {0};
        for (int64_t i = 0; i < n; i++) count[((v[i] >> shift) & 2047) + 1]++;
        for (int d = 0; d < 2048; d++) count[d + 1] += count[d];
        for (int64_t i = 0; i < n; i++) tmp[count[(v[i] >> shift) & 2047]++] = v[i];
        memcpy(v, tmp, sizeof *v * (size_t)n);
    }
}

/* The first position in row[at..end) holding a row >= want (end when none): galloping. */
static uint64_t gallop(const uint32_t *row, uint64_t at, uint64_t end, uint32_t want)
{
    /* a few steps first: when the candidates are about as many as the list, the next one is
     * usually close, and a scan there mispredicts less than a binary search */
    for (uint64_t stop = at + 8 < end ? at + 8 : end; at < stop; at++)
        if (row[at] >= want) return at;
    uint64_t hi = at, step = 8;
    while (hi < end && row[hi] < want) {
        at = hi + 1;
        hi += step;
        step *= 2;
    }
    if (hi > end) hi = end;
    while (at < hi) {
        uint64_t mid = at + (hi - at) / 2;
        if (row[mid] < want)
            at = mid + 1;
        else
            hi = mid;
    }
    return at;
}

/* Keeps the candidates whose partial score plus `rest` can reach theta. */
static void prune(struct post_scratch *s, double rest, double theta)
{
    int64_t m = 0;
    double floor = below(theta) - rest;
    for (int64_t i = 0; i < s->n_cand; i++) {
        if (i + AHEAD < s->n_cand) __builtin_prefetch(&s->slot[s->cand[i + AHEAD]]);
        if ((double)s->slot[s->cand[i]].acc >= floor) s->cand[m++] = s->cand[i];
    }
    s->n_cand = m;
}

/* A list this many times longer than the candidates, or less, is read whole (add_dense). */
#define DENSE 8

/* Adds list t's contributions to the candidates, galloping through the list from one to the
 * next: for lists much longer than the candidates. */
static void add_sparse(const struct post_file *p, struct post_scratch *s, const struct term *t)
{
    uint64_t at = t->off;
    for (int64_t c = 0; c < s->n_cand && at < t->end; c++) {
        uint32_t r = s->cand[c];
        at = gallop(p->row, at, t->end, r);
        if (c + AHEAD < s->n_cand) __builtin_prefetch(&s->slot[s->cand[c + AHEAD]], 1);
        if (at < t->end && p->row[at] == r) {
            float tf = (float)p->tf[at];
            s->slot[r].acc += (float)t->w * tf / (tf + s->slot[r].norm);
        }
    }
}

/* The same, reading the whole list and testing each row in a bitmap of the candidates (an
 * eighth of a byte a row: it stays in cache), which mispredicts less than galloping when the
 * candidates are dense in the list. */
static void add_dense(const struct post_file *p, struct post_scratch *s, const struct term *t)
{
    for (int64_t c = 0; c < s->n_cand; c++) s->bits[s->cand[c] >> 6] |= 1ULL << (s->cand[c] & 63);
    for (uint64_t i = t->off; i < t->end; i++) {
        uint32_t r = p->row[i];
        if (!(s->bits[r >> 6] >> (r & 63) & 1)) continue;
        float tf = (float)p->tf[i];
        s->slot[r].acc += (float)t->w * tf / (tf + s->slot[r].norm);
    }
    for (int64_t c = 0; c < s->n_cand; c++) s->bits[s->cand[c] >> 6] = 0;
}

/*
 * Phase two (the non-essential lists): only rows already touched can reach the top k; each
 * remaining list is searched for them (galloping through it, so most of a long list is
 * skipped), and rows that can no longer reach the k-th best are dropped after each list.
 */
static void refine_phase(const struct search *x, int from, int nt, double *theta)
{
    const struct post_file *p = x->p;
    struct post_scratch *s = x->s;
    int64_t k = x->k;
    s->n_cand = 0;
    xgrow((void **)&s->cand, &s->cap_cand, (size_t)s->n_touched + 1, sizeof *s->cand);
    for (int64_t i = 0; i < s->n_touched; i++) s->cand[s->n_cand++] = s->touched[i];
    prune(s, s->rem[from], *theta);
    xgrow((void **)&s->tmp, &s->cap_tmp, (size_t)s->n_cand + 1, sizeof *s->tmp);
    sort_rows(s->cand, s->n_cand, s->tmp, (uint64_t)s->rows);
    for (int j = from; j < nt && s->n_cand > 0; j++) {
        const struct term *t = &s->terms[j];
        if (t->end - t->off <= DENSE * (uint64_t)s->n_cand)
            add_dense(p, s, t);
        else
            add_sparse(p, s, t);
        /* the k-th best partial score is worth its pass once few candidates are left */
        double th = s->n_cand <= REFINE_THETA_MAX ? theta_of(s, s->cand, s->n_cand, k) : 0;
        if (th > *theta) *theta = th;
        prune(s, s->rem[j + 1], *theta);
    }
}

/* hit a ranks before hit b: higher score, or the same and a lower row. */
static int before(const struct hit *a, const struct hit *b)
{
    return a->s > b->s || (a->s == b->s && a->row < b->row);
}

static int cmp_hit(const void *x, const void *y)
{
    const struct hit *a = x, *b = y;
    return before(a, b) ? -1 : before(b, a);
}

/* The exact score (hash_bm25_doc) of each of rows[0..n) into s->hits. */
static int rescore(const struct feat_file *ff, const struct embedder *e, const struct hquery *q,
                   struct post_scratch *s, const uint32_t *rows, int64_t n, struct sbuf *err)
{
    xgrow((void **)&s->hits, &s->cap_hits, (size_t)n + 1, sizeof *s->hits);
    for (int64_t i = 0; i < n; i++) {
        struct hdoc d;
        if (feat_doc(ff, rows[i], &d, err) != PARE_OK) return PARE_EFAIL;
        s->hits[i].s = hash_bm25_doc(e, q, &d);
        s->hits[i].row = rows[i];
    }
    qsort(s->hits, (size_t)n, sizeof *s->hits, cmp_hit);
    return PARE_OK;
}

/* The best k hits into rows and scores, then rows no key matched (score 0) in row order until
 * there are k. Rows in the hits are marked (acc -1; post_search clears every touched row): when
 * fewer than k rows were kept, the rows no key matched are all the others. */
static int64_t take_top(struct post_scratch *s, int64_t k, int64_t *rows, double *scores)
{
    int64_t m = s->n_cand < k ? s->n_cand : k;
    for (int64_t i = 0; i < m; i++) {
        rows[i] = s->hits[i].row;
        scores[i] = s->hits[i].s;
        s->slot[rows[i]].acc = -1;
    }
    for (int64_t r = 0; m < k && r < s->rows; r++) {
        if (s->slot[r].acc < 0) continue;
        rows[m] = r;
        scores[m++] = 0;
    }
    return m;
}

int post_search(const struct post_file *p, const struct feat_file *ff, const struct embedder *e,
                const struct hquery *q, int64_t k, struct post_scratch *s, int64_t *rows,
                double *scores, int64_t *n, struct sbuf *err)
{
    *n = 0;
    if (k > (int64_t)p->rows) k = (int64_t)p->rows;
    if (k <= 0) return PARE_OK;
    int nt = gather_terms(p, q, s);
    double theta;
    const struct search x = {p, ff, e, q, s, k};
    int from = scan_phase(&x, nt, &theta);
    if (from < nt) {
        refine_phase(&x, from, nt, &theta);
    } else {
        xgrow((void **)&s->cand, &s->cap_cand, (size_t)s->n_touched + 1, sizeof *s->cand);
        memcpy(s->cand, s->touched, sizeof *s->cand * (size_t)s->n_touched);
        s->n_cand = s->n_touched;
    }
    double th = theta_of(s, s->cand, s->n_cand, k);
    prune(s, 0, th > theta ? th : theta);
    int rc = rescore(ff, e, q, s, s->cand, s->n_cand, err);
    if (rc == PARE_OK) *n = take_top(s, k, rows, scores);
    for (int64_t i = 0; i < s->n_touched; i++) s->slot[s->touched[i]].acc = 0;
    s->n_touched = 0;
    s->n_cand = 0;
    return rc;
}

/* Moves the hit at h[i] down the heap h[0..n) whose root is its worst hit. */
static void sift_down(struct hit *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && before(&h[worst], &h[l])) worst = l;
        if (r < n && before(&h[worst], &h[r])) worst = r;
        if (worst == i) return;
        struct hit t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

int post_search_exhaustive(const struct feat_file *ff, const struct embedder *e,
                           const struct hquery *q, int64_t k, int64_t *rows, double *scores,
                           int64_t *n, struct sbuf *err)
{
    int64_t nr = feat_rows(ff), m = 0;
    *n = 0;
    if (k > nr) k = nr;
    if (k <= 0) return PARE_OK;
    struct hit *h = xmalloc(sizeof *h * (size_t)k);
    for (int64_t r = 0; r < nr; r++) {
        struct hdoc d;
        if (feat_doc(ff, r, &d, err) != PARE_OK) {
            free(h);
            return PARE_EFAIL;
        }
        struct hit x = {hash_bm25_doc(e, q, &d), r};
        if (m < k) {
            h[m++] = x;
            if (m == k) /* full: make it a heap */
                for (int64_t i = m / 2; i >= 0; i--) sift_down(h, m, i);
        } else if (before(&x, &h[0])) {
            h[0] = x;
            sift_down(h, m, 0);
        }
    }
    qsort(h, (size_t)m, sizeof *h, cmp_hit);
    for (int64_t i = 0; i < m; i++) {
        rows[i] = h[i].row;
        scores[i] = h[i].s;
    }
    *n = m;
    free(h);
    return PARE_OK;
}
