/*
 * vectors.h - vectors in files: the file embedder's input (.npy float32 or .fvecs, with a list
 * of ids) and the .npy files pare writes itself (--keep-vectors, the openai embedder's vectors).
 */
#ifndef PARE_VECTORS_H
#define PARE_VECTORS_H

#include <stdint.h>
#include <stdio.h>

#include "common/util.h"

/*
 * Loads precomputed vectors: `vectors` is .npy (float32, C order, 2-D) or .fvecs; `ids` has one
 * id per line. Checks that the counts agree and that every value is finite, and normalises
 * the rows. On success *out holds rows x dim floats and *id_list rows ids (free both with
 * free and vectors_free_ids). Returns PARE_OK, or PARE_EINPUT with "file:row: what is wrong".
 */
int vectors_load(const char *vectors, const char *ids, float **out, int *dim, int64_t *rows,
                 char ***id_list, struct sbuf *err);
/* Frees an id list from vectors_load. */
void vectors_free_ids(char **ids, int64_t n);
/* Parses an id of an id list as pare's numeric id: the whole string a base-10 integer.
 * Returns 0, or -1 when it is not one. */
int vectors_numeric_id(const char *s, int64_t *out);

/* Writes the header of a .npy file (format 1.0) of rows x dim float32 in C order; the rows
 * follow. Returns 0, or -1 on a write error. */
int npy_write_header(FILE *f, int64_t rows, int dim);
/* Positions f, at the start of a .npy file of format 1.0, on its first row. Returns 0, or -1
 * when it is not such a file. */
int npy_skip_header(FILE *f);

#endif
