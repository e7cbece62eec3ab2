/* features.c - see features.h. */
#define _DEFAULT_SOURCE /* madvise */
#include "index/features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/ckfile.h"

#define TRAILER 40
static const char MAGIC[8] = {'P', 'A', 'R', 'E', 'F', 'E', 'A', 'T'};

/* Puts v at p (little-endian hosts only, as the rest of pare's files). */
static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

void feat_encode(const struct hfeats *f, struct sbuf *row)
{
    uint32_t n_more = 0;
    for (size_t i = 0; i < f->n; i++) n_more += f->f[i].tf > 1;
    /* one pass into a buffer of the row's size: keys of tf 1, keys of tf > 1, their tfs */
    size_t one = 12, more = 12 + 4 * (f->n - n_more), tf = 12 + 4 * f->n;
    sbuf_reset(row);
    sbuf_grow(row, (tf + n_more + 3) / 4 * 4);
    unsigned char *p = (unsigned char *)row->p;
    put_u32(p, f->len);
    put_u32(p + 4, (uint32_t)f->n - n_more);
    put_u32(p + 8, n_more);
    for (size_t i = 0; i < f->n; i++) {
        if (f->f[i].tf == 1) {
            put_u32(p + one, (uint32_t)f->f[i].h);
            one += 4;
        } else {
            put_u32(p + more, (uint32_t)f->f[i].h);
            more += 4;
            p[tf++] = (unsigned char)(f->f[i].tf < 255 ? f->f[i].tf : 255);
        }
    }
    while (tf % 4) p[tf++] = 0;
    row->len = tf;
    p[tf] = 0;
}

struct feat_writer {
    struct ckfile *c;
    int64_t *ids, *offs; /* per row so far */
    size_t n, cap;
};

int feat_create(const char *path, struct feat_writer **out, struct sbuf *err)
{
    struct feat_writer *w = xcalloc(1, sizeof *w);
    *out = w;
    return ckfile_create(path, &w->c, err);
}

int feat_append(struct feat_writer *w, int64_t pid, const struct sbuf *row, struct sbuf *err)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4096;
        w->ids = xrealloc(w->ids, sizeof *w->ids * w->cap);
        w->offs = xrealloc(w->offs, sizeof *w->offs * (w->cap + 1));
    }
    w->ids[w->n] = pid;
    w->offs[w->n++] = (int64_t)ckfile_bytes(w->c);
    return ckfile_put(w->c, row->p, row->len, err);
}

int feat_finish(struct feat_writer *w, char checksum[static 33], struct sbuf *err)
{
    if (!w->offs) w->offs = xmalloc(sizeof *w->offs);
    /* rows are 4-byte aligned; the 8-byte arrays after them must be 8-byte aligned */
    int rc = ckfile_put_aligned(w->c, NULL, 0, 8, err);
    uint64_t ids_off = ckfile_bytes(w->c), offs_off = ids_off + 8 * (uint64_t)w->n, rows = w->n;
    w->offs[w->n] = (int64_t)ids_off;
    uint32_t format[2] = {1, 0};
    if (rc == PARE_OK) rc = ckfile_put(w->c, w->ids, 8 * w->n, err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, w->offs, 8 * (w->n + 1), err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, MAGIC, sizeof MAGIC, err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, format, sizeof format, err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, &rows, 8, err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, &ids_off, 8, err);
    if (rc == PARE_OK) rc = ckfile_put(w->c, &offs_off, 8, err);
    if (rc == PARE_OK) rc = ckfile_finish(w->c, checksum, err);
    return rc;
}

const char *feat_tmp_path(const struct feat_writer *w)
{
    return ckfile_tmp_path(w->c);
}

int feat_commit(struct feat_writer *w, struct sbuf *err)
{
    return ckfile_commit(w->c, err);
}

void feat_writer_free(struct feat_writer *w)
{
    if (!w) return;
    ckfile_free(w->c);
    free(w->ids);
    free(w->offs);
    free(w);
}

struct feat_file {
    char *path;
    const unsigned char *map;
    size_t size;
    uint64_t rows;
    const int64_t *ids;  /* rows of them */
    const int64_t *offs; /* rows + 1 */
};

void feat_close(struct feat_file *f)
{
    if (!f) return;
    if (f->map) munmap((void *)f->map, f->size);
    free(f->path);
    free(f);
}

/* Checks the trailer and the two arrays; sets rows, ids and offs. */
static int check_layout(struct feat_file *f, struct sbuf *err)
{
    const unsigned char *t = f->map + f->size - TRAILER;
    uint64_t rows, ids_off, offs_off;
    memcpy(&rows, t + 16, 8);
    memcpy(&ids_off, t + 24, 8);
    memcpy(&offs_off, t + 32, 8);
    if (memcmp(t, MAGIC, sizeof MAGIC) != 0 || t[8] != 1 || ids_off % 8 ||
        rows > (f->size - TRAILER) / 16 || offs_off != ids_off + 8 * rows ||
        offs_off + 8 * (rows + 1) != f->size - TRAILER) {
        sbuf_setf(err, "%s: not a features file written by pare index", f->path);
        return PARE_EFAIL;
    }
    f->rows = rows;
    f->ids = (const int64_t *)(const void *)(f->map + ids_off);
    f->offs = (const int64_t *)(const void *)(f->map + offs_off);
    for (uint64_t r = 0; r < rows; r++) {
        if (f->offs[r] < 0 || f->offs[r] % 4 || f->offs[r + 1] - f->offs[r] < 12 ||
            (r > 0 && f->ids[r] <= f->ids[r - 1])) {
            sbuf_setf(err, "%s: row %llu is malformed", f->path, (unsigned long long)r);
            return PARE_EFAIL;
        }
    }
    if (f->offs[0] != 0 || (uint64_t)f->offs[rows] != ids_off) {
        sbuf_setf(err, "%s: rows do not end where the ids begin", f->path);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Compares the xxh128 of the mapping with `checksum`. */
static int check_sum(const struct feat_file *f, const char *checksum, struct sbuf *err)
{
    return ckfile_verify(f->path, "features", f->map, f->size, checksum, err);
}

int feat_open(const char *path, const char *checksum, struct feat_file **out, struct sbuf *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        sbuf_setf(err, "%s: features file is missing or unreadable: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return PARE_EFAIL;
    }
    struct feat_file *f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    f->size = (size_t)sb.st_size;
    int rc = PARE_OK;
    if (f->size < TRAILER + 8) {
        sbuf_setf(err, "%s: not a features file written by pare index (%zu bytes)", path, f->size);
        rc = PARE_EFAIL;
    } else {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            sbuf_setf(err, "%s: cannot map: %s", path, strerror(errno));
            rc = PARE_EFAIL;
        } else {
            f->map = m;
        }
    }
    close(fd);
    if (rc == PARE_OK && checksum) rc = check_sum(f, checksum, err);
    if (rc == PARE_OK) rc = check_layout(f, err);
    if (rc != PARE_OK) {
        feat_close(f);
        return rc;
    }
    *out = f;
    return PARE_OK;
}

int64_t feat_rows(const struct feat_file *f)
{
    return (int64_t)f->rows;
}

const int64_t *feat_ids(const struct feat_file *f)
{
    return f->ids;
}

int64_t feat_passage(const struct feat_file *f, int64_t row)
{
    return f->ids[row];
}

int64_t feat_row_of(const struct feat_file *f, int64_t pid)
{
    int64_t lo = 0, hi = (int64_t)f->rows - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (f->ids[mid] == pid) return mid;
        if (f->ids[mid] < pid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int feat_doc(const struct feat_file *f, int64_t row, struct hdoc *d, struct sbuf *err)
{
    const unsigned char *p = f->map + f->offs[row];
    uint64_t size = (uint64_t)(f->offs[row + 1] - f->offs[row]);
    uint32_t head[3];
    memcpy(head, p, sizeof head);
    if (12 + 4 * ((uint64_t)head[1] + head[2]) + head[2] > size) {
        sbuf_setf(err, "%s: row %lld is malformed", f->path, (long long)row);
        return PARE_EFAIL;
    }
    d->len = head[0];
    d->n_one = head[1];
    d->n_more = head[2];
    d->one = (const uint32_t *)(const void *)(p + 12);
    d->more = d->one + d->n_one;
    d->tf = (const uint8_t *)(d->more + d->n_more);
    return PARE_OK;
}

void feat_hfeats(const struct hdoc *d, struct hfeats *out)
{
    size_t n = (size_t)d->n_one + d->n_more, a = 0, b = 0;
    xgrow((void **)&out->f, &out->cap, n + 1, sizeof *out->f);
    out->n = n;
    out->len = d->len;
    for (size_t i = 0; i < n; i++) { /* merge the two ascending lists */
        if (b >= d->n_more || (a < d->n_one && d->one[a] < d->more[b])) {
            out->f[i].h = d->one[a++];
            out->f[i].tf = 1;
        } else {
            out->f[i].h = d->more[b];
            out->f[i].tf = d->tf[b++];
        }
    }
}

void feat_release(const struct feat_file *f, int64_t from, int64_t to)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)(f->map + f->offs[from]), b = (uintptr_t)(f->map + f->offs[to]);
    a = (a + (uintptr_t)page - 1) & ~((uintptr_t)page - 1); /* whole pages inside the range */
    b &= ~((uintptr_t)page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}
