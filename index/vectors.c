/* vectors.c - precomputed vectors for the file embedder: .npy (float32) or .fvecs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int vectors_load(const char *vectors, const char *ids, float **out, int *dim, int64_t *rows,
                 char ***id_list, struct sbuf *err)
{
    *out = NULL;
    *id_list = NULL;
    int64_t n_ids = 0;
    if (read_ids(ids, id_list, &n_ids, err) != PARE_OK) return PARE_EINPUT;
    FILE *f = fopen(vectors, "rb");
    int rc = PARE_OK;
    float *v = NULL;
    int64_t r = 0;
    int d = 0;
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", vectors, strerror(errno));
        rc = PARE_EINPUT;
        goto out;
    }
    if (ends_with(vectors, ".npy")) {
        if ((rc = npy_header(f, vectors, &r, &d, err)) != PARE_OK) goto out;
        if (r != n_ids) {
            sbuf_setf(err, "%s: %lld vectors but %s has %lld ids", vectors, (long long)r, ids,
                      (long long)n_ids);
            rc = PARE_EINPUT;
            goto out;
        }
        v = xmalloc(sizeof *v * (size_t)r * (size_t)d + 1);
        size_t want = (size_t)r * (size_t)d;
        if (fread(v, sizeof *v, want, f) != want) {
            sbuf_setf(err, "%s: truncated: fewer than %lld rows of %d floats", vectors,
                      (long long)r, d);
            rc = PARE_EINPUT;
            goto out;
        }
        if (fgetc(f) != EOF) {
            sbuf_setf(err, "%s: more data than its header's shape (%lld, %d)", vectors,
                      (long long)r, d);
            rc = PARE_EINPUT;
            goto out;
        }
    } else if (ends_with(vectors, ".fvecs")) {
        size_t cap = 0;
        for (;;) {
            int32_t dd;
            size_t got = fread(&dd, sizeof dd, 1, f);
            if (got == 0) break;
            if (dd <= 0 || dd > 65536 || (d && dd != d)) {
                sbuf_setf(err, "%s:%lld: bad dimension %d%s", vectors, (long long)r + 1, dd,
                          d ? " (rows must all have the same)" : "");
                rc = PARE_EINPUT;
                goto out;
            }
            d = dd;
            xgrow((void **)&v, &cap, (size_t)(r + 1) * (size_t)d, sizeof *v);
            if (fread(v + (size_t)r * (size_t)d, sizeof *v, (size_t)d, f) != (size_t)d) {
                sbuf_setf(err, "%s:%lld: truncated row", vectors, (long long)r + 1);
                rc = PARE_EINPUT;
                goto out;
            }
            r++;
        }
        if (r != n_ids) {
            sbuf_setf(err, "%s: %lld vectors but %s has %lld ids", vectors, (long long)r, ids,
                      (long long)n_ids);
            rc = PARE_EINPUT;
            goto out;
        }
    } else {
        sbuf_setf(err, "%s: vectors must be a .npy or .fvecs file", vectors);
        rc = PARE_EINPUT;
        goto out;
    }
    for (int64_t i = 0; i < r; i++) {
        float *row = v + (size_t)i * (size_t)d;
        for (int k = 0; k < d; k++) {
            if (!isfinite(row[k])) {
                sbuf_setf(err, "%s:%lld: value %d is %s", vectors, (long long)i + 1, k,
                          isnan(row[k]) ? "NaN" : "infinite");
                rc = PARE_EINPUT;
                goto out;
            }
        }
        l2_normalize(row, d);
    }
out:
    if (f) fclose(f);
    if (rc != PARE_OK) {
        free(v);
        for (int64_t i = 0; i < n_ids; i++) free((*id_list)[i]);
        free(*id_list);
        *id_list = NULL;
        return rc;
    }
    *out = v;
    *dim = d;
    *rows = r;
    return PARE_OK;
}
