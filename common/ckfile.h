/*
 * ckfile.h - a file written whole under a temporary name with its checksum computed on the way,
 * then renamed into place: an index's features and postings files. A reader never sees a
 * half-written file under the final name, and one that is not committed is removed.
 *
 * Use: ckfile_create, ckfile_put..., ckfile_finish (the xxh128 checksum), then ckfile_commit,
 * and ckfile_free in every case.
 */
#ifndef PARE_CKFILE_H
#define PARE_CKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct ckfile;

/* Starts writing `path` under the temporary name path.tmp.PID. Returns PARE_OK, or PARE_EFAIL
 * with "tmp: cannot create: why" (*out is set either way: free it). */
int ckfile_create(const char *path, struct ckfile **out, struct sbuf *err);
/* Appends p[0..n). Returns PARE_OK, or PARE_EFAIL with "tmp: write error: why". */
int ckfile_put(struct ckfile *c, const void *p, size_t n, struct sbuf *err);
/* Appends p[0..n), then zero bytes up to the next multiple of `align` bytes of the file. */
int ckfile_put_aligned(struct ckfile *c, const void *p, size_t n, size_t align, struct sbuf *err);
/* Bytes written so far. */
uint64_t ckfile_bytes(const struct ckfile *c);
/* Flushes what is written and gives the xxh128 of the whole file (32 hex digits). The file is
 * then readable under ckfile_tmp_path. Returns PARE_OK or PARE_EFAIL. */
int ckfile_finish(struct ckfile *c, char checksum[static 33], struct sbuf *err);
/* The temporary name. */
const char *ckfile_tmp_path(const struct ckfile *c);
/* Closes the finished file and renames it to its final name. Returns PARE_OK or PARE_EFAIL. */
int ckfile_commit(struct ckfile *c, struct sbuf *err);
/* Frees the writer, removing the temporary file unless it was committed. NULL is a no-op. */
void ckfile_free(struct ckfile *c);

/*
 * Reading: compares the xxh128 of map[0..size), the whole file `path`, with `checksum` (what
 * ckfile_finish gave). Returns PARE_OK, or PARE_EFAIL with "path: WHAT file does not match the
 * database (checksum ..., expected ...): ...; rebuild it with pare index".
 */
int ckfile_verify(const char *path, const char *what, const void *map, size_t size,
                  const char *checksum, struct sbuf *err);

#endif
