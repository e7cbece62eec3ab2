/* ckfile.c - see ckfile.h. */
#include "common/ckfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

struct ckfile {
    FILE *f;
    char *path, *tmp;
    XXH3_state_t *xx;
    uint64_t bytes;
    int finished, committed;
};

int ckfile_create(const char *path, struct ckfile **out, struct sbuf *err)
{
    struct ckfile *c = xcalloc(1, sizeof *c);
    struct sbuf tmp = {0};
    sbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    c->path = xstrdup(path);
    c->tmp = sbuf_detach(&tmp);
    c->xx = XXH3_createState();
    if (!c->xx) abort();
    XXH3_128bits_reset(c->xx);
    *out = c;
    c->f = fopen(c->tmp, "wb");
    if (!c->f) {
        sbuf_setf(err, "%s: cannot create: %s", c->tmp, strerror(errno));
        return PARE_EFAIL;
    }
    setvbuf(c->f, NULL, _IOFBF, 1 << 20); /* large sequential writes */
    return PARE_OK;
}

int ckfile_put(struct ckfile *c, const void *p, size_t n, struct sbuf *err)
{
    if (n == 0) return PARE_OK;
    if (fwrite(p, 1, n, c->f) != n) {
        sbuf_setf(err, "%s: write error: %s", c->tmp, strerror(errno));
        return PARE_EFAIL;
    }
    XXH3_128bits_update(c->xx, p, n);
    c->bytes += n;
    return PARE_OK;
}

int ckfile_put_aligned(struct ckfile *c, const void *p, size_t n, size_t align, struct sbuf *err)
{
    static const char zeros[64] = {0};
    int rc = ckfile_put(c, p, n, err);
    size_t rest = c->bytes % align ? align - c->bytes % align : 0;
    while (rc == PARE_OK && rest) {
        size_t k = rest < sizeof zeros ? rest : sizeof zeros;
        rc = ckfile_put(c, zeros, k, err);
        rest -= k;
    }
    return rc;
}

uint64_t ckfile_bytes(const struct ckfile *c)
{
    return c->bytes;
}

int ckfile_finish(struct ckfile *c, char checksum[static 33], struct sbuf *err)
{
    if (fflush(c->f) != 0) {
        sbuf_setf(err, "%s: write error: %s", c->tmp, strerror(errno));
        return PARE_EFAIL;
    }
    XXH128_hash_t h = XXH3_128bits_digest(c->xx);
    snprintf(checksum, 33, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    c->finished = 1;
    return PARE_OK;
}

const char *ckfile_tmp_path(const struct ckfile *c)
{
    return c->tmp;
}

int ckfile_commit(struct ckfile *c, struct sbuf *err)
{
    int closed = c->finished && fclose(c->f) == 0;
    if (c->finished) c->f = NULL;
    if (!closed || rename(c->tmp, c->path) != 0) {
        sbuf_setf(err, "%s: cannot write: %s", c->path,
                  c->finished ? strerror(errno) : "not finished");
        return PARE_EFAIL;
    }
    c->committed = 1;
    return PARE_OK;
}

void ckfile_free(struct ckfile *c)
{
    if (!c) return;
    if (c->f) fclose(c->f);
    if (!c->committed) remove(c->tmp);
    XXH3_freeState(c->xx);
    free(c->path);
    free(c->tmp);
    free(c);
}

int ckfile_verify(const char *path, const char *what, const void *map, size_t size,
                  const char *checksum, struct sbuf *err)
{
    XXH128_hash_t h = XXH3_128bits(map, size);
    char sum[33];
    snprintf(sum, sizeof sum, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    if (strcmp(sum, checksum) == 0) return PARE_OK;
    sbuf_setf(err,
              "%s: %s file does not match the database (checksum %s, expected %s): "
              "truncated, corrupt or replaced; rebuild it with pare index",
              path, what, sum, checksum);
    return PARE_EFAIL;
}
