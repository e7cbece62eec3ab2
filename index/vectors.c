/* vectors.c - see vectors.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/vectors.h"

#include "index/embed.h"

static int ends_with(const char *s, const char *sfx)
{
    size_t n = strlen(s), m = strlen(sfx);
    return n >= m && strcmp(s + n - m, sfx) == 0;
}

/* Parses the header of a .npy file (format versions 1-3): float32 little-endian, C order, 2-D. */
static int npy_header(FILE *f, const char *path, int64_t *rows, int *dim, struct sbuf *err)
{
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        sbuf_setf(err, "%s:1: not a .npy file (bad magic)", path);
        return PARE_EINPUT;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) goto trunc;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)b[0] << 16 | (size_t)b[1] << 24;
    }
    if (hlen > (1u << 20)) {
        sbuf_setf(err, "%s:1: .npy header too long", path);
        return PARE_EINPUT;
    }
    char *h = xmalloc(hlen + 1);
    if (fread(h, 1, hlen, f) != hlen) {
        free(h);
        goto trunc;
    }
    h[hlen] = '\0';
    int rc = PARE_OK;
    long long r = -1, d = -1;
    const char *shape = strstr(h, "'shape'");
    if (!strstr(h, "'<f4'")) {
        sbuf_setf(err, "%s:1: vectors must be little-endian float32 ('<f4'), header: %s", path, h);
        rc = PARE_EINPUT;
    } else if (strstr(h, "'fortran_order': True")) {
        sbuf_setf(err, "%s:1: vectors must be in C order, not Fortran order", path);
        rc = PARE_EINPUT;
    } else if (!shape || sscanf(shape, "'shape': (%lld, %lld)", &r, &d) != 2 || r < 0 || d <= 0 ||
               d > 65536) {
        sbuf_setf(err, "%s:1: vectors must be a 2-D array (rows, dim), header: %s", path, h);
        rc = PARE_EINPUT;
    }
    free(h);
    *rows = r;
    *dim = (int)d;
    return rc;
trunc:
    sbuf_setf(err, "%s:1: truncated .npy header", path);
    return PARE_EINPUT;
}

static int read_ids(const char *path, char ***out, int64_t *n, struct sbuf *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", path, strerror(errno));
        return PARE_EINPUT;
    }
    char **ids = NULL;
    size_t cap = 0, cnt = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = PARE_OK;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) {
            sbuf_setf(err, "%s:%zu: empty id", path, cnt + 1);
            rc = PARE_EINPUT;
            break;
        }
        xgrow((void **)&ids, &cap, cnt + 1, sizeof *ids);
        ids[cnt++] = xstrndup(line, (size_t)len);
    }
    free(line);
    fclose(f);
    if (rc == PARE_OK && cnt == 0) {
        sbuf_setf(err, "%s:1: empty file: no ids", path);
        rc = PARE_EINPUT;
    }
    if (rc != PARE_OK) {
        for (size_t i = 0; i < cnt; i++) free(ids[i]);
        free(ids);
        return rc;
    }
    *out = ids;
    *n = (int64_t)cnt;
    return PARE_OK;
}

void vectors_free_ids(char **ids, int64_t n)
{
    if (!ids) return;
    for (int64_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

int vectors_numeric_id(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || errno || *end) return -1;
    *out = v;
    return 0;
}

/* The rows of a .npy file after its header; exactly n_ids of them. */
static int load_npy(FILE *f, const char *path, int64_t n_ids, const char *ids, float **v,
                    int64_t *r, int *d, struct sbuf *err)
{
    int rc = npy_header(f, path, r, d, err);
    if (rc != PARE_OK) return rc;
    if (*r != n_ids) {
        sbuf_setf(err, "%s: %lld vectors but %s has %lld ids", path, (long long)*r, ids,
                  (long long)n_ids);
        return PARE_EINPUT;
    }
    *v = xmalloc(sizeof **v * (size_t)*r * (size_t)*d + 1);
    size_t want = (size_t)*r * (size_t)*d;
    if (fread(*v, sizeof **v, want, f) != want) {
        sbuf_setf(err, "%s: truncated: fewer than %lld rows of %d floats", path, (long long)*r, *d);
        return PARE_EINPUT;
    }
    if (fgetc(f) != EOF) {
        sbuf_setf(err, "%s: more data than its header's shape (%lld, %d)", path, (long long)*r, *d);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* The rows of an .fvecs file: each a little-endian int32 dimension and that many floats. */
static int load_fvecs(FILE *f, const char *path, float **v, int64_t *r, int *d, struct sbuf *err)
{
    size_t cap = 0;
    for (;;) {
        int32_t dd;
        if (fread(&dd, sizeof dd, 1, f) == 0) break;
        if (dd <= 0 || dd > 65536 || (*d && dd != *d)) {
            sbuf_setf(err, "%s:%lld: bad dimension %d%s", path, (long long)*r + 1, dd,
                      *d ? " (rows must all have the same)" : "");
            return PARE_EINPUT;
        }
        *d = dd;
        xgrow((void **)v, &cap, (size_t)(*r + 1) * (size_t)*d, sizeof **v);
        if (fread(*v + (size_t)*r * (size_t)*d, sizeof **v, (size_t)*d, f) != (size_t)*d) {
            sbuf_setf(err, "%s:%lld: truncated row", path, (long long)*r + 1);
            return PARE_EINPUT;
        }
        (*r)++;
    }
    return PARE_OK;
}

/* Checks that every value is finite and scales each row to unit length. */
static int finite_normalise(float *v, int64_t r, int d, const char *path, struct sbuf *err)
{
    for (int64_t i = 0; i < r; i++) {
        float *row = v + (size_t)i * (size_t)d;
        for (int k = 0; k < d; k++) {
            if (!isfinite(row[k])) {
                sbuf_setf(err, "%s:%lld: value %d is %s", path, (long long)i + 1, k,
                          isnan(row[k]) ? "NaN" : "infinite");
                return PARE_EINPUT;
            }
        }
        l2_normalize(row, d);
    }
    return PARE_OK;
}

/* Reads the vectors of an open file by its kind (the name's extension). */
static int load_rows(FILE *f, const char *vectors, const char *ids, int64_t n_ids, float **v,
                     int64_t *r, int *d, struct sbuf *err)
{
    int rc;
    if (ends_with(vectors, ".npy")) return load_npy(f, vectors, n_ids, ids, v, r, d, err);
    if (!ends_with(vectors, ".fvecs")) {
        sbuf_setf(err, "%s: vectors must be a .npy or .fvecs file", vectors);
        return PARE_EINPUT;
    }
    if ((rc = load_fvecs(f, vectors, v, r, d, err)) != PARE_OK) return rc;
    if (*r != n_ids) {
        sbuf_setf(err, "%s: %lld vectors but %s has %lld ids", vectors, (long long)*r, ids,
                  (long long)n_ids);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

int vectors_load(const char *vectors, const char *ids, float **out, int *dim, int64_t *rows,
                 char ***id_list, struct sbuf *err)
{
    *out = NULL;
    *id_list = NULL;
    int64_t n_ids = 0, r = 0;
    int d = 0, rc;
    float *v = NULL;
    if (read_ids(ids, id_list, &n_ids, err) != PARE_OK) return PARE_EINPUT;
    FILE *f = fopen(vectors, "rb");
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", vectors, strerror(errno));
        rc = PARE_EINPUT;
    } else {
        rc = load_rows(f, vectors, ids, n_ids, &v, &r, &d, err);
        fclose(f);
    }
    if (rc == PARE_OK) rc = finite_normalise(v, r, d, vectors, err);
    if (rc != PARE_OK) {
        free(v);
        vectors_free_ids(*id_list, n_ids);
        *id_list = NULL;
        return rc;
    }
    *out = v;
    *dim = d;
    *rows = r;
    return PARE_OK;
}

int npy_write_header(FILE *f, int64_t rows, int dim)
{
    struct sbuf h = {0};
    sbuf_addf(&h, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %d), }",
              (long long)rows, dim);
    while ((10 + h.len + 1) % 64) sbuf_addc(&h, ' ');
    sbuf_addc(&h, '\n');
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(h.len & 0xff),
                             (unsigned char)(h.len >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(h.p, 1, h.len, f) == h.len;
    sbuf_free(&h);
    return ok ? 0 : -1;
}

int npy_skip_header(FILE *f)
{
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) return -1;
    return fseek(f, (long)((size_t)pre[8] | (size_t)pre[9] << 8), SEEK_CUR);
}
