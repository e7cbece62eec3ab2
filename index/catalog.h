/*
 * catalog.h - the indexes a database knows: their FAISS file (or postings file), embedder,
 * statistics and the map from FAISS rows to passages, loaded together and checked against each
 * other; and the recording of a new index (its row, row map and statistics in the caller's
 * transaction).
 */
#ifndef PARE_CATALOG_H
#define PARE_CATALOG_H

#include <jansson.h>
#include <stdint.h>

#include "index/embed.h"
#include "index/features.h"
#include "index/postings.h"
#include "index/vindex.h"
#include "stores/store.h"

struct pare_index {
    int64_t id;
    char *path;
    char *factory;
    char *search_params; /* FAISS search parameters chosen with the factory ("" when none) */
    struct embedder *emb;
    int64_t n_rows;
    /* CATALOG_SEARCH */
    struct vindex *vx;
    int64_t *row_passage; /* passage id of each FAISS row */
    int64_t *passage_row; /* catalog_map_passages: passage ids ascending, then their rows */
    /* CATALOG_FEATURES */
    struct feat_file *feat; /* a hash index's features file (NULL: built before there were) */
    /* CATALOG_SEARCH of a postings index (factory POSTINGS_FACTORY): its file, instead of vx */
    struct post_file *post;
};

/* Searching an exhaustive scalar-quantised index decodes it to floats when they take at most
 * this many bytes (vindex_decode_for_search): a million codes a second at 2048 dimensions,
 * against tens of millions for a BLAS product. */
#define CATALOG_DECODE_BYTES ((int64_t)1 << 30)

/* The parts of an index catalog_load reads besides its row, embedder and statistics. */
enum catalog_parts {
    CATALOG_SEARCH = 1,   /* the FAISS file (a postings index: its postings file) and its row
                           * map: to search or read stored vectors */
    CATALOG_FEATURES = 2, /* the features file, when the index has one (searching reads it too:
                           * it holds the row map of the indexes that have one) */
};

/*
 * Loads index `id` (0: the newest) with the embedder and its statistics, and the `parts` asked
 * for, each checked against the database: a file must exist and match its checksum, its
 * dimension and row count those recorded. Returns PARE_OK, PARE_EUSAGE when there is no index
 * `id`, or PARE_EFAIL with a message (also "the database has no index yet: run pare index
 * first").
 */
int catalog_load(struct store *st, int64_t id, int parts, struct pare_index **out,
                 struct sbuf *err);
void catalog_free(struct pare_index *ix);

/* Builds the passage -> row map that catalog_row_of searches. */
void catalog_map_passages(struct pare_index *ix);
/* The FAISS row of passage `pid` (after catalog_map_passages): 1 and *row, or 0 when the index
 * does not hold it. */
int catalog_row_of(const struct pare_index *ix, int64_t pid, int64_t *row);

/* Where an index file named `path` in the indexes table (or in an embedder's description) is:
 * relative paths are relative to store_home, the database's folder or, for a shard, the main
 * database's. Caller frees. */
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

/* Maps FAISS rows first .. first + n - 1 of index `id` to the passages pids[0..n) (in
 * index_rows: the indexes without a features file, whose ids are their row map). */
int catalog_add_rows(struct store *st, int64_t id, int64_t first, const int64_t *pids, int64_t n,
                     struct sbuf *err);

/* Completes index `id`'s row: its file as recorded (catalog_record_path), dimension, embedder
 * description, vector count and file checksum. Returns PARE_OK or PARE_EFAIL. */
int catalog_finish(struct store *st, int64_t id, const char *path, int dim, json_t *embedder,
                   int64_t n_vectors, const char *checksum, struct sbuf *err);

/*
 * The newest index whose description holds `settings` (json_equal) under "settings" and whose
 * files are intact (catalog_load of every part succeeds): pare index stores no second identical
 * index. Returns 1 and *id, 0 when there is none, or -1 with err set on a database error.
 */
int catalog_find_same(struct store *st, json_t *settings, int64_t *id, struct sbuf *err);

/*
 * Removes what killed runs of pare index left beside the database: temporary files (their
 * NAME.tmp.PID) of the default index files DB.indexN.*, and default files of indexes that were
 * never recorded (DB.indexN.* without an indexes row N). Call holding the write lock
 * (store_begin): no other pare index writes files then. Also removes PATH.tmp.PID files of
 * processes that are gone for each of the n paths in `also` (files named by --out). Returns
 * how many files it removed.
 */
int catalog_remove_leftovers(struct store *st, const char *const *also, int n);

/* Stores the hash embedder's statistics for index_id (within the caller's transaction). */
int catalog_save_stats(struct store *st, int64_t index_id, const struct embedder *e,
                       struct sbuf *err);

#endif
