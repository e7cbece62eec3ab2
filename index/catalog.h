/*
 * catalog.h - the indexes a database knows: their FAISS file, embedder, statistics and the map
 * from FAISS rows to passages, loaded together and checked against each other; and the
 * recording of a new index (its row, row map and statistics in the caller's transaction).
 */
#ifndef PARE_CATALOG_H
#define PARE_CATALOG_H

#include <jansson.h>
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
    int64_t *passage_row; /* catalog_map_passages: passage ids ascending, then their rows */
};

/*
 * Loads index `id` (0: the newest). Checks that the file exists and matches its checksum, that
 * its dimension and row count match the database, and rebuilds the embedder with its
 * statistics. Returns PARE_OK, PARE_EUSAGE when there is no index `id`, or PARE_EFAIL with a
 * message (also "the database has no index yet: run pare index first").
 */
int catalog_load(struct store *st, int64_t id, struct pare_index **out, struct sbuf *err);
void catalog_free(struct pare_index *ix);

/* Builds the passage -> row map that catalog_row_of searches. */
void catalog_map_passages(struct pare_index *ix);
/* The FAISS row of passage `pid` (after catalog_map_passages): 1 and *row, or 0 when the index
 * does not hold it. */
int catalog_row_of(const struct pare_index *ix, int64_t pid, int64_t *row);

/* Where an index file named `path` in the indexes table is: relative paths are relative to the
 * database's folder. Caller frees. */
char *catalog_resolve(struct store *st, const char *path);

/*
 * How a file is named in the indexes table, the inverse of catalog_resolve: `path` when
 * `beside_db` says it was named as the database's path plus a suffix (the default files),
 * relative to the database's folder, else absolute. Caller frees.
 */
char *catalog_record_path(struct store *st, const char *path, int beside_db);

/*
 * Starts recording a new index built with `factory` (within the caller's transaction): a row
 * whose id names its file, completed by catalog_finish. Returns PARE_OK or PARE_EFAIL.
 */
int catalog_begin(struct store *st, const char *factory, int64_t *id, struct sbuf *err);

/* Maps FAISS rows first .. first + n - 1 of index `id` to the passages pids[0..n). */
int catalog_add_rows(struct store *st, int64_t id, int64_t first, const int64_t *pids, int64_t n,
                     struct sbuf *err);

/* Completes index `id`'s row: its file as recorded (catalog_record_path), dimension, embedder
 * description, vector count and file checksum. Returns PARE_OK or PARE_EFAIL. */
int catalog_finish(struct store *st, int64_t id, const char *path, int dim, json_t *embedder,
                   int64_t n_vectors, const char *checksum, struct sbuf *err);

/* Stores the hash embedder's statistics for index_id (within the caller's transaction). */
int catalog_save_stats(struct store *st, int64_t index_id, const struct embedder *e,
                       struct sbuf *err);

#endif
