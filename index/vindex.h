/*
 * vindex.h - a FAISS index through the FAISS C API (faiss/c_api), inner-product metric.
 *
 * Index files are written atomically and identified by the xxh128 of their bytes, which pare
 * keeps in `indexes.checksum`: vindex_read refuses a file whose checksum differs (truncated,
 * corrupt, or replaced by another index).
 */
#ifndef PARE_VINDEX_H
#define PARE_VINDEX_H

#include <stdint.h>

#include "common/util.h"

struct vindex;

/* A new empty index from a FAISS index_factory string ("Flat", "IVF1024,Flat", "HNSW32"...). */
int vindex_create(const char *factory, int dim, struct vindex **out, struct sbuf *err);
void vindex_free(struct vindex *v);

int vindex_dim(const struct vindex *v);
int64_t vindex_ntotal(const struct vindex *v);
/* 1 when the index needs no (more) training. */
int vindex_is_trained(const struct vindex *v);

/* Trains on n vectors (IVF, PQ ...). Returns PARE_OK or PARE_EFAIL with FAISS's message. */
int vindex_train(struct vindex *v, int64_t n, const float *x, struct sbuf *err);
/* Adds n vectors; they get the next row numbers. */
int vindex_add(struct vindex *v, int64_t n, const float *x, struct sbuf *err);
/* For each of n queries, the k best rows (labels, -1 when fewer exist) and their scores. */
int vindex_search(const struct vindex *v, int64_t n, const float *q, int64_t k, float *scores,
                  int64_t *labels, struct sbuf *err);
/* The stored vector of one row (Flat indexes and others that keep vectors). */
int vindex_reconstruct(const struct vindex *v, int64_t row, float *out, struct sbuf *err);
/*
 * Makes an exhaustive scalar-quantised index (SQ8 ...) searchable at BLAS speed: FAISS scans
 * quantised codes one value at a time, but multiplies float matrices many at once, so when
 * the decoded vectors take at most max_bytes the index is replaced, in memory only, by a Flat
 * index of them (the same scores: FAISS computes a quantised index's from the decoded values).
 * Other indexes are left alone. Returns 1 when it decoded, 0 when it did not, -1 with err set
 * on a FAISS error.
 */
int vindex_decode_for_search(struct vindex *v, int64_t max_bytes, struct sbuf *err);
/* Search-time parameters in FAISS ParameterSpace syntax: "nprobe=16,efSearch=128". */
int vindex_set_params(struct vindex *v, const char *params, struct sbuf *err);

/* Writes the index to path (via a temporary file and rename) and returns its checksum as 32
 * hex digits in checksum (which must hold 33 bytes). */
int vindex_write(const struct vindex *v, const char *path, char checksum[static 33],
                 struct sbuf *err);
/* Reads an index written by vindex_write, checking its checksum when `checksum` is not NULL. */
int vindex_read(const char *path, const char *checksum, struct vindex **out, struct sbuf *err);

/* The xxh128 of a file's bytes as 32 hex digits. */
int file_checksum(const char *path, char out[static 33], struct sbuf *err);

#endif
