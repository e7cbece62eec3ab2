/* catalog.c - see catalog.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "index/catalog.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void catalog_free(struct pare_index *ix)
{
    if (!ix) return;
    free(ix->path);
    free(ix->factory);
    free(ix->search_params);
    vindex_free(ix->vx);
    embedder_free(ix->emb);
    free(ix->row_passage);
    free(ix->passage_row);
    feat_close(ix->feat);
    post_close(ix->post);
    free(ix);
}

char *catalog_resolve(struct store *st, const char *path)
{
    if (path[0] == '/') return xstrdup(path);
    const char *home = store_home(st);
    if (strcmp(home, ".") == 0) return xstrdup(path);
    struct sbuf b = {0};
    sbuf_addf(&b, "%s%s%s", home, home[strlen(home) - 1] == '/' ? "" : "/", path);
    return sbuf_detach(&b);
}

int catalog_save_stats(struct store *st, int64_t index_id, const struct embedder *e,
                       struct sbuf *err)
{
    int64_t n_docs;
    double avg;
    const uint32_t *df = hash_df(e, &n_docs, &avg);
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    struct sbuf z = {0};
    /* little-endian uint32 on disk; pare builds on little-endian machines only (x86, arm64) */
    int rc = blob_compress(c, df, sizeof *df * HASH_DF_BUCKETS, &z, err);
    blob_codec_free(c);
    if (rc == PARE_OK) {
        sqlite3_stmt *s = store_stmt(st, "INSERT INTO index_stats(index_id, n_docs, avg_len, "
                                         "buckets, df) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s || sqlite3_bind_int64(s, 1, index_id) || sqlite3_bind_int64(s, 2, n_docs) ||
            sqlite3_bind_double(s, 3, avg) || sqlite3_bind_int64(s, 4, HASH_DF_BUCKETS) ||
            sqlite3_bind_blob(s, 5, z.p, (int)z.len, SQLITE_STATIC) || store_done(st, s)) {
            sbuf_setf(err, "storing index statistics: %s", store_errmsg(st));
            rc = PARE_EFAIL;
        }
    }
    sbuf_free(&z);
    return rc;
}

static int load_stats(struct store *st, struct pare_index *ix, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT n_docs, avg_len, df FROM index_stats "
                                     "WHERE index_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, ix->id)) goto dberr;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) goto dberr;
        sbuf_setf(err, "index %lld has no embedder statistics; rebuild it with pare index",
                  (long long)ix->id);
        return PARE_EFAIL;
    }
    int64_t n_docs = sqlite3_column_int64(s, 0);
    double avg = sqlite3_column_double(s, 1);
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    struct sbuf raw = {0};
    int out = blob_decompress(c, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                              &raw, err);
    sqlite3_reset(s);
    blob_codec_free(c);
    if (out == PARE_OK)
        out = hash_set_stats(ix->emb, (const uint32_t *)(const void *)raw.p,
                             raw.len / sizeof(uint32_t), n_docs, avg, err);
    sbuf_free(&raw);
    return out;
dberr:
    sbuf_setf(err, "reading index statistics: %s", store_errmsg(st));
    return PARE_EFAIL;
}

/* What the indexes row of an index says, before anything is checked. */
struct index_row {
    int dim;
    json_t *desc;
    int64_t n_vectors;
    char *checksum;
};

/* Reads index `id`'s row (0: the newest) into ix and r. */
static int read_row(struct store *st, int64_t id, struct pare_index *ix, struct index_row *r,
                    struct sbuf *err)
{
    sqlite3_stmt *s =
        id > 0 ? store_stmt(st, "SELECT id, path, factory, dim, embedder, n_vectors, checksum "
                                "FROM indexes WHERE id = ?1")
               : store_stmt(st, "SELECT id, path, factory, dim, embedder, n_vectors, checksum "
                                "FROM indexes ORDER BY id DESC LIMIT 1");
    if (!s || (id > 0 && sqlite3_bind_int64(s, 1, id))) {
        sbuf_setf(err, "reading indexes: %s", store_errmsg(st));
        return PARE_EFAIL;
    }
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            sbuf_setf(err, "reading indexes: %s", store_errmsg(st));
        else if (id > 0)
            sbuf_setf(err, "no index %lld in the database", (long long)id);
        else
            sbuf_setf(err, "the database has no index yet: run pare index first");
        /* a wrong --index is a usage error; no index at all means a step is missing (exit 1) */
        return rc == SQLITE_DONE && id > 0 ? PARE_EUSAGE : PARE_EFAIL;
    }
    ix->id = sqlite3_column_int64(s, 0);
    ix->path = catalog_resolve(st, (const char *)sqlite3_column_text(s, 1));
    ix->factory = xstrdup((const char *)sqlite3_column_text(s, 2));
    r->dim = sqlite3_column_int(s, 3);
    json_error_t je;
    r->desc = json_loads((const char *)sqlite3_column_text(s, 4), 0, &je);
    r->n_vectors = sqlite3_column_int64(s, 5);
    r->checksum = xstrdup((const char *)sqlite3_column_text(s, 6));
    sqlite3_reset(s);
    if (!r->desc) {
        sbuf_setf(err, "index %lld: embedder description is not JSON: %s", (long long)ix->id,
                  je.text);
        return PARE_EFAIL;
    }
    const char *params = json_string_value(json_object_get(r->desc, "search_params"));
    ix->search_params = xstrdup(params ? params : "");
    return PARE_OK;
}

/* The embedder, checked against the row (a hash embedder's statistics: load_stats). */
static int open_embedder(struct pare_index *ix, const struct index_row *r, struct sbuf *err)
{
    if (embedder_from_json(r->desc, &ix->emb, err) != PARE_OK) return PARE_EFAIL;
    if (embedder_dim(ix->emb) != r->dim) {
        sbuf_setf(err, "%s: index dimension %d does not match the database (%d)", ix->path,
                  embedder_dim(ix->emb), r->dim);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* The FAISS file, checked against the row. */
static int open_faiss(struct pare_index *ix, const struct index_row *r, struct sbuf *err)
{
    if (vindex_read(ix->path, r->checksum, &ix->vx, err) != PARE_OK) return PARE_EFAIL;
    if (vindex_dim(ix->vx) != r->dim) {
        sbuf_setf(err, "%s: index dimension %d does not match the database (%d)", ix->path,
                  vindex_dim(ix->vx), r->dim);
        return PARE_EFAIL;
    }
    if (vindex_ntotal(ix->vx) != r->n_vectors) {
        sbuf_setf(err, "%s: index holds %lld vectors, the database expects %lld", ix->path,
                  (long long)vindex_ntotal(ix->vx), (long long)r->n_vectors);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* The postings file of a postings index (its row's path and checksum), checked against the row
 * and its features file: without that file there is nothing to score the hits with. */
static int open_postings(struct pare_index *ix, const struct index_row *r, struct sbuf *err)
{
    if (!ix->feat) {
        sbuf_setf(err, "index %lld: a postings index without a features file", (long long)ix->id);
        return PARE_EFAIL;
    }
    if (post_open(ix->path, r->checksum, &ix->post, err) != PARE_OK) return PARE_EFAIL;
    if (post_rows(ix->post) != r->n_vectors) {
        sbuf_setf(err, "%s: postings of %lld passages, the database expects %lld", ix->path,
                  (long long)post_rows(ix->post), (long long)r->n_vectors);
        return PARE_EFAIL;
    }
    return post_check_match(ix->post, ix->feat, ix->emb, err);
}

/* Whether index ix is a postings index. */
static int is_postings(const struct pare_index *ix)
{
    return strcmp(ix->factory, POSTINGS_FACTORY) == 0;
}

/* The features file the description names, if any, checked against the row. */
static int open_features(struct store *st, struct pare_index *ix, const struct index_row *r,
                         struct sbuf *err)
{
    json_t *fd = json_object_get(r->desc, "features");
    const char *path = json_string_value(json_object_get(fd, "path"));
    const char *sum = json_string_value(json_object_get(fd, "checksum"));
    if (!fd) return PARE_OK;
    if (!path || !sum) {
        sbuf_setf(err, "index %lld: features entry without path or checksum", (long long)ix->id);
        return PARE_EFAIL;
    }
    char *full = catalog_resolve(st, path);
    int rc = feat_open(full, sum, &ix->feat, err);
    if (rc == PARE_OK && feat_rows(ix->feat) != r->n_vectors) {
        sbuf_setf(err, "%s: %lld rows, the database expects %lld", full,
                  (long long)feat_rows(ix->feat), (long long)r->n_vectors);
        rc = PARE_EFAIL;
    }
    free(full);
    return rc;
}

/* The passage of each of the index's n rows; every row must be mapped. */
static int load_rows(struct store *st, struct pare_index *ix, int64_t n, struct sbuf *err)
{
    ix->n_rows = n;
    ix->row_passage = xcalloc((size_t)n + 1, sizeof *ix->row_passage);
    sqlite3_stmt *s = store_stmt(st, "SELECT row, passage_id FROM index_rows WHERE index_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, ix->id)) goto dberr;
    int64_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(s, 0);
        if (row < 0 || row >= n) continue;
        ix->row_passage[row] = sqlite3_column_int64(s, 1);
        seen++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) goto dberr;
    if (seen != n) {
        sbuf_setf(err, "index %lld: %lld rows mapped to passages, expected %lld", (long long)ix->id,
                  (long long)seen, (long long)n);
        return PARE_EFAIL;
    }
    return PARE_OK;
dberr:
    sbuf_setf(err, "reading index rows: %s", store_errmsg(st));
    return PARE_EFAIL;
}

int catalog_load(struct store *st, int64_t id, int parts, struct pare_index **out, struct sbuf *err)
{
    *out = NULL;
    struct pare_index *ix = xcalloc(1, sizeof *ix);
    struct index_row r = {0};
    int rc = read_row(st, id, ix, &r, err);
    if (rc == PARE_OK) rc = open_embedder(ix, &r, err);
    ix->n_rows = r.n_vectors;
    /* a hash index's statistics, and its features file (its row map is that file's ids:
     * searching needs it too), at once: decompressing the one and checking the other's
     * checksum are a few milliseconds each (4 MB and 44 MB on 97,160 passages). Only
     * load_stats uses the connection; open_features reads the store's folder name alone. */
    int stats = rc == PARE_OK && embedder_kind(ix->emb) == EMBED_HASH;
    int feats = rc == PARE_OK && (parts & (CATALOG_FEATURES | CATALOG_SEARCH));
    int rc_stats = PARE_OK, rc_feats = PARE_OK;
    struct sbuf err_feats = {0};
#pragma omp parallel sections num_threads(2) if (stats && feats)
    {
#pragma omp section
        if (stats) rc_stats = load_stats(st, ix, err);
#pragma omp section
        if (feats) rc_feats = open_features(st, ix, &r, &err_feats);
    }
    if (rc == PARE_OK) rc = rc_stats;
    if (rc == PARE_OK && rc_feats != PARE_OK) {
        sbuf_setf(err, "%s", sbuf_str(&err_feats));
        rc = rc_feats;
    }
    sbuf_free(&err_feats);
    int search = parts & CATALOG_SEARCH, post = rc == PARE_OK && is_postings(ix);
    if (rc == PARE_OK && search && post) rc = open_postings(ix, &r, err);
    if (rc == PARE_OK && search && !post) rc = open_faiss(ix, &r, err);
    if (rc == PARE_OK && search && !post &&
        vindex_decode_for_search(ix->vx, CATALOG_DECODE_BYTES, err) < 0)
        rc = PARE_EFAIL;
    if (rc == PARE_OK && (parts & CATALOG_SEARCH) && ix->feat) {
        ix->row_passage = xmalloc(sizeof *ix->row_passage * (size_t)(r.n_vectors + 1));
        memcpy(ix->row_passage, feat_ids(ix->feat), sizeof *ix->row_passage * (size_t)r.n_vectors);
    } else if (rc == PARE_OK && (parts & CATALOG_SEARCH)) {
        rc = load_rows(st, ix, r.n_vectors, err);
    }
    json_decref(r.desc);
    free(r.checksum);
    if (rc != PARE_OK) {
        catalog_free(ix);
        return rc;
    }
    *out = ix;
    return PARE_OK;
}

static int cmp_pair(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void catalog_map_passages(struct pare_index *ix)
{
    int64_t n = ix->n_rows;
    int64_t *pairs = xmalloc(sizeof *pairs * 2 * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        pairs[2 * i] = ix->row_passage[i];
        pairs[2 * i + 1] = i;
    }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_pair); /* (passage, row) by passage */
    free(ix->passage_row);
    ix->passage_row = xmalloc(sizeof *ix->passage_row * 2 * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        ix->passage_row[i] = pairs[2 * i];
        ix->passage_row[n + i] = pairs[2 * i + 1];
    }
    free(pairs);
}

int catalog_row_of(const struct pare_index *ix, int64_t pid, int64_t *row)
{
    int64_t lo = 0, hi = ix->n_rows - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (ix->passage_row[mid] == pid) {
            *row = ix->passage_row[ix->n_rows + mid];
            return 1;
        }
        if (ix->passage_row[mid] < pid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

char *catalog_record_path(struct store *st, const char *path, int beside_db)
{
    if (beside_db) {
        const char *slash = strrchr(store_path(st), '/');
        return xstrdup(path + (slash ? (size_t)(slash - store_path(st)) + 1 : 0));
    }
    char *abs = realpath(path, NULL);
    return abs ? abs : xstrdup(path);
}

int catalog_begin(struct store *st, const char *factory, int64_t *id, struct sbuf *err)
{
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO indexes(path, factory, metric, dim, embedder, "
                                     "n_vectors, built_at, checksum) VALUES ('', ?1, "
                                     "'inner_product', 0, '{}', 0, ?2, '')");
    if (!s || sqlite3_bind_text(s, 1, factory, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT) || store_done(st, s)) {
        sbuf_setf(err, "%s", store_errmsg(st));
        return PARE_EFAIL;
    }
    *id = sqlite3_last_insert_rowid(store_db(st));
    return PARE_OK;
}

int catalog_add_rows(struct store *st, int64_t id, int64_t first, const int64_t *pids, int64_t n,
                     struct sbuf *err)
{
    /* one statement for the whole batch (the ids as a JSON array): a statement per row cost
     * several times the insert itself */
    struct sbuf ids = {0};
    sbuf_grow(&ids, (size_t)n * 8 + 2);
    sbuf_addc(&ids, '[');
    for (int64_t i = 0; i < n; i++) sbuf_addf(&ids, i ? ",%lld" : "%lld", (long long)pids[i]);
    sbuf_addc(&ids, ']');
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO index_rows(index_id, row, passage_id) "
                                     "SELECT ?1, ?2 + key, value FROM json_each(?3)");
    int rc = PARE_OK;
    if (!s || sqlite3_bind_int64(s, 1, id) || sqlite3_bind_int64(s, 2, first) ||
        sqlite3_bind_text(s, 3, ids.p, (int)ids.len, SQLITE_STATIC) || store_done(st, s) ||
        sqlite3_changes(store_db(st)) != n) {
        sbuf_setf(err, "storing index rows: %s", store_errmsg(st));
        rc = PARE_EFAIL;
    }
    sbuf_free(&ids);
    return rc;
}

int catalog_finish(struct store *st, int64_t id, const char *path, int dim, json_t *embedder,
                   int64_t n_vectors, const char *checksum, struct sbuf *err)
{
    char *desc = json_dumps(embedder, JSON_COMPACT);
    sqlite3_stmt *s = store_stmt(st, "UPDATE indexes SET path = ?1, dim = ?2, embedder = ?3, "
                                     "n_vectors = ?4, checksum = ?5 WHERE id = ?6");
    int rc = PARE_OK;
    if (!desc || !s || sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_int(s, 2, dim) || sqlite3_bind_text(s, 3, desc, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_int64(s, 4, n_vectors) ||
        sqlite3_bind_text(s, 5, checksum, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 6, id) ||
        store_done(st, s)) {
        sbuf_setf(err, "%s", store_errmsg(st));
        rc = PARE_EFAIL;
    }
    free(desc);
    return rc;
}

/* Whether a process with this id exists. */
static int alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The pid of a NAME.tmp.PID file name, or 0 when it is not one. */
static long tmp_pid(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    char *end;
    if (!t) return 0;
    long pid = strtol(t + 5, &end, 10);
    return *end || pid <= 0 ? 0 : pid;
}

/* Whether index `id` has a row (committed, or ours in this transaction). */
static int recorded(struct store *st, long long id)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM indexes WHERE id = ?1");
    int64_t one = 0;
    if (!s || sqlite3_bind_int64(s, 1, id)) return 1; /* when in doubt, keep the file */
    return store_int(st, s, &one) != 0;
}

/* Whether `name` in the database's folder is a leftover of a killed pare index. */
static int leftover(struct store *st, const char *base, const char *name)
{
    size_t n = strlen(base);
    char *end;
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".index", 6) != 0) return 0;
    long long id = strtoll(name + n + 6, &end, 10);
    if (end == name + n + 6 || *end != '.') return 0;
    return tmp_pid(name) > 0 || !recorded(st, id);
}

/* Removes the leftovers in `dir` of files whose names start with `base`. */
static int remove_in(struct store *st, const char *dir, const char *base, int by_pid)
{
    DIR *d = opendir(dir);
    int removed = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int go = by_pid ? strncmp(e->d_name, base, strlen(base)) == 0 &&
                              strncmp(e->d_name + strlen(base), ".tmp.", 5) == 0 &&
                              tmp_pid(e->d_name) > 0 && !alive(tmp_pid(e->d_name))
                        : leftover(st, base, e->d_name);
        if (!go) continue;
        char *full = path_join(dir, e->d_name);
        removed += remove(full) == 0;
        free(full);
    }
    closedir(d);
    return removed;
}

/* The folder and the base name of path (dir "." when it has no slash). */
static void split_path(const char *path, struct sbuf *dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    sbuf_reset(dir);
    if (slash)
        sbuf_add(dir, path, (size_t)(slash - path) + (slash == path));
    else
        sbuf_adds(dir, ".");
    *base = slash ? slash + 1 : path;
}

int catalog_remove_leftovers(struct store *st, const char *const *also, int n)
{
    struct sbuf dir = {0};
    const char *base;
    split_path(store_path(st), &dir, &base);
    int removed = remove_in(st, dir.p, base, 0);
    for (int i = 0; i < n; i++) {
        if (!also[i]) continue;
        split_path(also[i], &dir, &base);
        removed += remove_in(st, dir.p, base, 1);
    }
    sbuf_free(&dir);
    return removed;
}

/* Whether the description text of an index holds these settings. */
static int same_settings(const char *desc, json_t *settings)
{
    json_t *d = json_loads(desc, 0, NULL);
    int same = d && json_equal(json_object_get(d, "settings"), settings);
    json_decref(d);
    return same;
}

int catalog_find_same(struct store *st, json_t *settings, int64_t *id, struct sbuf *err)
{
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT id, embedder FROM indexes WHERE path != '' "
                                     "ORDER BY id DESC");
    if (!s) {
        store_fail(st, err, "reading indexes");
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!same_settings((const char *)sqlite3_column_text(s, 1), settings)) continue;
        xgrow((void **)&ids, &cap, n + 1, sizeof *ids);
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    int found = rc == SQLITE_DONE ? 0 : -1;
    if (found < 0) store_fail(st, err, "reading indexes");
    for (size_t i = 0; i < n && found == 0; i++) {
        struct pare_index *ix = NULL;
        struct sbuf ignore = {0}; /* a damaged index is not the same: build a new one */
        if (catalog_load(st, ids[i], CATALOG_SEARCH | CATALOG_FEATURES, &ix, &ignore) == PARE_OK) {
            *id = ids[i];
            found = 1;
        }
        catalog_free(ix);
        sbuf_free(&ignore);
    }
    free(ids);
    return found;
}
