/*
 * catalog.h - the indexes a database knows: their FAISS file, embedder, statistics and the map
 * from FAISS rows to passages, loaded together and checked against each other.
 */
#ifndef PARE_CATALOG_H
#define PARE_CATALOG_H

#include <stdint.h>

#include "index/embed.h"
#include "index/vindex.h"
#include "stores/store.h"

struct pare_index {
    int64_t id;
    char *path;
    char *factory;
    struct vindex *vx;
    struct embedder *emb;
    int64_t *row_passage; /* passage id of each FAISS row */
    int64_t n_rows;
};

/*
 * Loads index `id` (0: the newest). Checks that the file exists and matches its checksum, that
 * its dimension and row count match the database, and rebuilds the embedder with its
 * statistics. Returns PARE_OK, or PARE_EFAIL / PARE_EUSAGE with a message.
 */
int catalog_load(struct store *st, int64_t id, struct pare_index **out, struct sbuf *err);
void catalog_free(struct pare_index *ix);

/* Where an index file named `path` in the indexes table is: relative paths are relative to the
 * database's folder. Caller frees. */
char *catalog_resolve(struct store *st, const char *path);

/* Stores the hash embedder's statistics for index_id (within the caller's transaction). */
int catalog_save_stats(struct store *st, int64_t index_id, const struct embedder *e,
                       struct sbuf *err);

#endif
