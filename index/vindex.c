/* vindex.c - see vindex.h. */
#define _POSIX_C_SOURCE 200809L
#include "index/vindex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexScalarQuantizer_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

struct vindex {
    FaissIndex *ix;
};

static int faiss_fail(struct sbuf *err, const char *what)
{
    const char *m = faiss_get_last_error();
    sbuf_setf(err, "FAISS %s failed: %s", what, m ? m : "unknown error");
    /* FAISS messages carry a trailing newline and source location: keep the first line */
    char *nl = err->p ? strchr(err->p, '\n') : NULL;
    if (nl) {
        *nl = '\0';
        err->len = (size_t)(nl - err->p);
    }
    return PARE_EFAIL;
}

int vindex_create(const char *factory, int dim, struct vindex **out, struct sbuf *err)
{
    FaissIndex *ix = NULL;
    *out = NULL;
    if (dim <= 0) {
        sbuf_setf(err, "index dimension must be positive, got %d", dim);
        return PARE_EUSAGE;
    }
    if (faiss_index_factory(&ix, dim, factory, METRIC_INNER_PRODUCT) != 0 || !ix) {
        faiss_fail(err, "index_factory");
        sbuf_addf(err, " (factory string '%s')", factory);
        return PARE_EUSAGE;
    }
    *out = xcalloc(1, sizeof **out);
    (*out)->ix = ix;
    return PARE_OK;
}

void vindex_free(struct vindex *v)
{
    if (!v) return;
    faiss_Index_free(v->ix);
    free(v);
}

int vindex_dim(const struct vindex *v)
{
    return faiss_Index_d(v->ix);
}

int64_t vindex_ntotal(const struct vindex *v)
{
    return faiss_Index_ntotal(v->ix);
}

int vindex_is_trained(const struct vindex *v)
{
    return faiss_Index_is_trained(v->ix);
}

int vindex_train(struct vindex *v, int64_t n, const float *x, struct sbuf *err)
{
    if (faiss_Index_train(v->ix, n, x) != 0) return faiss_fail(err, "train");
    return PARE_OK;
}

int vindex_add(struct vindex *v, int64_t n, const float *x, struct sbuf *err)
{
    if (faiss_Index_add(v->ix, n, x) != 0) return faiss_fail(err, "add");
    return PARE_OK;
}

int vindex_search(const struct vindex *v, int64_t n, const float *q, int64_t k, float *scores,
                  int64_t *labels, struct sbuf *err)
{
    if (faiss_Index_search(v->ix, n, q, k, scores, labels) != 0) return faiss_fail(err, "search");
    return PARE_OK;
}

int vindex_reconstruct(const struct vindex *v, int64_t row, float *out, struct sbuf *err)
{
    if (faiss_Index_reconstruct(v->ix, row, out) != 0) return faiss_fail(err, "reconstruct");
    return PARE_OK;
}

int vindex_decode_for_search(struct vindex *v, int64_t max_bytes, struct sbuf *err)
{
    int64_t n = faiss_Index_ntotal(v->ix), d = faiss_Index_d(v->ix);
    if (!faiss_IndexScalarQuantizer_cast(v->ix) || n <= 0 || n * d * 4 > max_bytes) return 0;
    FaissIndexFlatIP *flat = NULL;
    float *x = malloc(sizeof *x * (size_t)n * (size_t)d);
    if (!x) return 0; /* not enough memory: search the codes */
    if (faiss_Index_reconstruct_n(v->ix, 0, n, x) != 0 ||
        faiss_IndexFlatIP_new_with(&flat, d) != 0) {
        free(x);
        faiss_Index_free((FaissIndex *)flat);
        faiss_fail(err, "decoding for search");
        return -1;
    }
    int rc = faiss_Index_add((FaissIndex *)flat, n, x);
    free(x);
    if (rc != 0) {
        faiss_Index_free((FaissIndex *)flat);
        faiss_fail(err, "decoding for search");
        return -1;
    }
    faiss_Index_free(v->ix);
    v->ix = (FaissIndex *)flat;
    return 1;
}

int vindex_set_params(struct vindex *v, const char *params, struct sbuf *err)
{
    if (!params || !*params) return PARE_OK;
    FaissParameterSpace *ps = NULL;
    if (faiss_ParameterSpace_new(&ps) != 0) return faiss_fail(err, "ParameterSpace");
    int rc = faiss_ParameterSpace_set_index_parameters(ps, v->ix, params);
    faiss_ParameterSpace_free(ps);
    if (rc != 0) {
        faiss_fail(err, "setting search parameters");
        sbuf_addf(err, " ('%s')", params);
        return PARE_EUSAGE;
    }
    return PARE_OK;
}

int file_checksum(const char *path, char out[static 33], struct sbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", path, strerror(errno));
        return PARE_EFAIL;
    }
    XXH3_state_t *st = XXH3_createState();
    if (!st) abort();
    XXH3_128bits_reset(st);
    char *buf = xmalloc(1 << 20);
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0) XXH3_128bits_update(st, buf, n);
    int bad = ferror(f);
    fclose(f);
    free(buf);
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    if (bad) {
        sbuf_setf(err, "%s: read error", path);
        return PARE_EFAIL;
    }
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
    return PARE_OK;
}

int vindex_write(const struct vindex *v, const char *path, char checksum[static 33],
                 struct sbuf *err)
{
    struct sbuf tmp = {0};
    sbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    int rc = PARE_OK;
    if (faiss_write_index_fname(v->ix, tmp.p) != 0) {
        rc = faiss_fail(err, "write_index");
        sbuf_addf(err, " (%s)", path);
    } else if ((rc = file_checksum(tmp.p, checksum, err)) == PARE_OK && rename(tmp.p, path) != 0) {
        sbuf_setf(err, "%s: cannot write: %s", path, strerror(errno));
        rc = PARE_EFAIL;
    }
    if (rc != PARE_OK) remove(tmp.p);
    sbuf_free(&tmp);
    return rc;
}

int vindex_read(const char *path, const char *checksum, struct vindex **out, struct sbuf *err)
{
    *out = NULL;
    if (access(path, R_OK) != 0) {
        sbuf_setf(err, "%s: index file is missing or unreadable: %s", path, strerror(errno));
        return PARE_EFAIL;
    }
    if (checksum) {
        char sum[33];
        if (file_checksum(path, sum, err) != PARE_OK) return PARE_EFAIL;
        if (strcmp(sum, checksum) != 0) {
            sbuf_setf(err,
                      "%s: index file does not match the database (checksum %s, expected "
                      "%s): truncated, corrupt or replaced; rebuild it with pare index",
                      path, sum, checksum);
            return PARE_EFAIL;
        }
    }
    FaissIndex *ix = NULL;
    if (faiss_read_index_fname(path, 0, &ix) != 0 || !ix) {
        faiss_fail(err, "read_index");
        sbuf_addf(err, " (%s)", path);
        return PARE_EFAIL;
    }
    *out = xcalloc(1, sizeof **out);
    (*out)->ix = ix;
    return PARE_OK;
}
