/* shard.c - see shard.h. */
#define _XOPEN_SOURCE 700
#include "stores/shard.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

/* ---- which questions ------------------------------------------------------------------- */

int shard_parse(const char *text, struct shard_spec *out, struct sbuf *err)
{
    char *end;
    errno = 0;
    long i = strtol(text, &end, 10);
    int ok = end != text && *end == '/' && errno == 0;
    long n = 0;
    if (ok) {
        const char *s = end + 1;
        n = strtol(s, &end, 10);
        ok = end != s && *end == '\0' && errno == 0;
    }
    if (!ok || n < 1 || n > SHARD_MAX || i < 0 || i >= n) {
        sbuf_setf(err, "--shard: expected I/N with 0 <= I < N <= %d, got '%.40s'", SHARD_MAX, text);
        return PARE_EUSAGE;
    }
    out->i = (int)i;
    out->n = (int)n;
    return PARE_OK;
}

int shard_of(const char *dataset, const char *ext_id, int n)
{
    XXH3_state_t *h = XXH3_createState();
    if (!h) abort(); /* out of memory */
    XXH3_64bits_reset(h);
    XXH3_64bits_update(h, dataset, strlen(dataset) + 1); /* with its NUL: no ambiguity */
    XXH3_64bits_update(h, ext_id, strlen(ext_id));
    uint64_t v = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return (int)(v % (uint64_t)n);
}

/* The shard's question ids, sorted; all == 1 on an unsharded store. */
struct members {
    int all;
    int64_t *ids;
    size_t n, cap;
};

static void members_free(void *p)
{
    struct members *m = p;
    free(m->ids);
    free(m);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void in_shard(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct members *m = sqlite3_user_data(ctx);
    int64_t id = sqlite3_value_int64(argv[0]);
    sqlite3_result_int(ctx, m->all || bsearch(&id, m->ids, m->n, sizeof id, cmp_id) != NULL);
}

static int define_in_shard(struct store *st, struct members *m, struct sbuf *err)
{
    /* deterministic: SQLite may use it in indexes and views */
    if (sqlite3_create_function_v2(store_db(st), "pare_in_shard", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, m, in_shard, NULL, NULL,
                                   members_free) != SQLITE_OK) {
        sbuf_setf(err, "defining pare_in_shard: %s", store_errmsg(st));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

int shard_register_all(struct store *st, struct sbuf *err)
{
    struct members *m = xcalloc(1, sizeof *m);
    m->all = 1;
    return define_in_shard(st, m, err);
}

/* The ids of the main database's questions that fall in shard sp. */
static int collect_members(struct store *st, const struct shard_spec *sp, struct members *m,
                           struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT q.id, d.name, q.ext_id FROM base.questions q "
                                     "JOIN base.datasets d ON d.id = q.dataset_id");
    if (!s) return store_fail(st, err, "reading the main database's questions");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *ds = (const char *)sqlite3_column_text(s, 1);
        const char *ext = (const char *)sqlite3_column_text(s, 2);
        if (shard_of(ds ? ds : "", ext ? ext : "", sp->n) != sp->i) continue;
        xgrow((void **)&m->ids, &m->cap, m->n + 1, sizeof *m->ids);
        m->ids[m->n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(st, err, "reading the main database's questions");
    qsort(m->ids, m->n, sizeof *m->ids, cmp_id);
    return PARE_OK;
}

/* ---- the main database, attached ------------------------------------------------------- */

/* A file: URI for path, read-only; immutable (no locks at all) when it has no WAL to read. */
static char *ro_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    struct sbuf b = {0};
    sbuf_adds(&b, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p)) {
            sbuf_addc(&b, (char)*p);
        } else {
            sbuf_addc(&b, '%');
            sbuf_addc(&b, hex[*p >> 4]);
            sbuf_addc(&b, hex[*p & 15]);
        }
    }
    struct sbuf wal = {0};
    sbuf_addf(&wal, "%s-wal", path);
    struct stat sb;
    int has_wal = stat(wal.p, &sb) == 0 && sb.st_size > 0;
    sbuf_free(&wal);
    /* a WAL not yet checkpointed must be read through the usual locks (local file systems) */
    sbuf_adds(&b, has_wal ? "?mode=ro" : "?immutable=1");
    return sbuf_detach(&b);
}

static int attach(struct store *st, const char *uri, const char *as, struct sbuf *err)
{
    sqlite3_stmt *s = NULL;
    const char *sql =
        strcmp(as, "base") == 0 ? "ATTACH DATABASE ?1 AS base" : "ATTACH DATABASE ?1 AS shard";
    /* not cached: ATTACH is prepared against the schema it changes */
    int rc = sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 1, uri, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc != SQLITE_OK) sbuf_setf(err, "cannot open %s read-only: %s", uri + 5, store_errmsg(st));
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? PARE_OK : PARE_EFAIL;
}

/*
 * The identity of a main database: xxh128 of its datasets (id, name, question count) and
 * indexes (id, checksum), as 32 hex digits. `sql` reads them from one schema.
 */
static int fingerprint(struct store *st, const char *sql, struct sbuf *out, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    if (!s || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(st, err, "reading the datasets and indexes");
    }
    const void *text = sqlite3_column_text(s, 0);
    XXH128_hash_t h = XXH3_128bits(text ? text : "", (size_t)sqlite3_column_bytes(s, 0));
    sqlite3_reset(s);
    sbuf_reset(out);
    sbuf_addf(out, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
    return PARE_OK;
}

static const char fp_base[] =
    "SELECT coalesce(group_concat(x, ';'), '') FROM (SELECT 'd' || d.id || ':' || d.name || ':' "
    "|| (SELECT count(*) FROM base.questions q WHERE q.dataset_id = d.id) AS x FROM base.datasets "
    "d UNION ALL SELECT 'i' || i.id || ':' || i.checksum FROM base.indexes i ORDER BY 1)";
static const char fp_main[] =
    "SELECT coalesce(group_concat(x, ';'), '') FROM (SELECT 'd' || d.id || ':' || d.name || ':' "
    "|| (SELECT count(*) FROM main.questions q WHERE q.dataset_id = d.id) AS x FROM main.datasets "
    "d UNION ALL SELECT 'i' || i.id || ':' || i.checksum FROM main.indexes i ORDER BY 1)";

/* ---- the shard's view of the main database --------------------------------------------- */

static const char *const seed_sql[] = {
    "INSERT INTO main.retrievals SELECT * FROM base.retrievals",
    "INSERT INTO main.candidates SELECT * FROM base.candidates WHERE pare_in_shard(question_id)",
    "INSERT INTO main.judge_calls SELECT * FROM base.judge_calls WHERE pare_in_shard(question_id)",
    "INSERT INTO main.evidence_sets SELECT * FROM base.evidence_sets "
    "WHERE pare_in_shard(question_id)",
    "INSERT INTO main.evidence_members SELECT m.* FROM base.evidence_members m "
    "JOIN base.evidence_sets s ON s.id = m.set_id WHERE pare_in_shard(s.question_id)",
    "INSERT INTO main.rubric_items SELECT * FROM base.rubric_items "
    "WHERE pare_in_shard(question_id)",
    "INSERT INTO main.negatives SELECT * FROM base.negatives WHERE pare_in_shard(question_id)",
    "INSERT INTO main.trajectories SELECT * FROM base.trajectories "
    "WHERE pare_in_shard(question_id)",
    /* rewards (schemas/004): the parameters keep their ids, the rows follow the trajectories */
    "INSERT INTO main.reward_params SELECT * FROM base.reward_params",
    "INSERT INTO main.trajectory_rewards SELECT r.* FROM base.trajectory_rewards r "
    "JOIN base.trajectories t ON t.id = r.trajectory_id WHERE pare_in_shard(t.question_id)",
    "INSERT INTO main.rewards_extra SELECT r.* FROM base.rewards_extra r "
    "JOIN base.trajectories t ON t.id = r.trajectory_id WHERE pare_in_shard(t.question_id)",
};

/* The tables a shard reads from the main database; indexes is made apart (absolute paths). */
static const char *const view_sql[] = {
    "CREATE TEMP VIEW datasets AS SELECT * FROM base.datasets",
    "CREATE TEMP VIEW zstd_dicts AS SELECT * FROM base.zstd_dicts",
    "CREATE TEMP VIEW passages AS SELECT * FROM base.passages",
    "CREATE TEMP VIEW questions AS SELECT * FROM base.questions",
    "CREATE TEMP VIEW question_passages AS SELECT * FROM base.question_passages",
    "CREATE TEMP VIEW index_rows AS SELECT * FROM base.index_rows",
    "CREATE TEMP VIEW index_stats AS SELECT * FROM base.index_stats",
    /* index files are named relative to the main database: make them absolute */
    "CREATE TEMP VIEW indexes AS SELECT id, CASE WHEN substr(path, 1, 1) = '/' THEN path ELSE "
    "(SELECT dir FROM temp.shard_home) || '/' || path END AS path, factory, metric, dim, "
    "embedder, n_vectors, built_at, checksum FROM base.indexes",
};

/* Columns of base.indexes that view_sql knows; a migration that changes them must update it. */
#define INDEXES_COLUMNS 9

static int make_views(struct store *st, const char *main_path, struct sbuf *err)
{
    char *abs = realpath(main_path, NULL);
    if (!abs) {
        sbuf_setf(err, "%s: %s", main_path, strerror(errno));
        return PARE_EFAIL;
    }
    char *slash = strrchr(abs, '/');
    slash[slash == abs] = '\0';
    store_set_home(st, abs); /* the main database's files, named relative to its folder */
    int64_t ncol = 0;
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM pragma_table_info('indexes', 'base')");
    int rc = s && store_int(st, s, &ncol) == 1 ? PARE_OK : PARE_EFAIL;
    if (rc == PARE_OK && ncol != INDEXES_COLUMNS) {
        sbuf_setf(err,
                  "internal error: the indexes table has %lld columns, stores/shard.c knows %d",
                  (long long)ncol, INDEXES_COLUMNS);
        free(abs);
        return PARE_EFAIL;
    }
    if (rc == PARE_OK) rc = store_exec(st, "CREATE TEMP TABLE shard_home(dir TEXT NOT NULL)");
    s = rc == PARE_OK ? store_stmt(st, "INSERT INTO temp.shard_home(dir) VALUES (?1)") : NULL;
    if (rc == PARE_OK && (!s || sqlite3_bind_text(s, 1, abs, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
                          store_done(st, s) != PARE_OK))
        rc = PARE_EFAIL;
    for (size_t i = 0; i < ARRAY_SIZE(view_sql) && rc == PARE_OK; i++)
        rc = store_exec(st, view_sql[i]);
    free(abs);
    return rc == PARE_OK ? PARE_OK : store_fail(st, err, "making the shard's views");
}

/* Records what the shard is of, and copies the main database's rows of its questions. */
static int seed(struct store *st, const char *tag, struct sbuf *err)
{
    if (store_begin(st) != PARE_OK) return store_fail(st, err, "BEGIN");
    int rc = PARE_OK;
    for (size_t i = 0; i < ARRAY_SIZE(seed_sql) && rc == PARE_OK; i++)
        rc = store_exec(st, seed_sql[i]);
    if (rc == PARE_OK) rc = store_meta_set(st, "shard_of", tag);
    if (rc == PARE_OK) rc = store_commit(st);
    if (rc != PARE_OK) {
        rc = store_fail(st, err, "seeding the shard database");
        store_rollback(st);
    }
    return rc;
}

/* Seeds a new shard, or checks that an existing one is of the same main database and I/N. */
static int check_or_seed(struct store *st, const struct shard_spec *sp, const char *fp,
                         struct sbuf *err)
{
    struct sbuf tag = {0}, have = {0};
    sbuf_addf(&tag, "{\"shard\": \"%d/%d\", \"main\": \"%s\"}", sp->i, sp->n, fp);
    int got = store_meta_get(st, "shard_of", &have), rc = PARE_OK;
    if (got < 0) {
        rc = store_fail(st, err, "reading the shard's meta");
    } else if (got == 0) {
        rc = seed(st, tag.p, err);
    } else if (strcmp(have.p, tag.p) != 0) {
        sbuf_setf(err,
                  "%s is a shard database of another main database or another --shard (it says "
                  "%s, this run is %s): give each shard a file of its own",
                  store_path(st), have.p, tag.p);
        rc = PARE_EFAIL;
    }
    sbuf_free(&tag);
    sbuf_free(&have);
    return rc;
}

/* Both databases at this binary's schema version. */
static int check_versions(struct store *st, const char *main_path, struct sbuf *err)
{
    int64_t v = -1;
    sqlite3_stmt *s = store_stmt(st, "PRAGMA base.user_version");
    if (!s || store_int(st, s, &v) != 1) return store_fail(st, err, "reading the schema version");
    if (v != store_latest_schema()) {
        sbuf_setf(err,
                  "%s: schema version %lld, this pare's is %d: run this pare's `pare init` on "
                  "it before starting shards",
                  main_path, (long long)v, store_latest_schema());
        return PARE_EFAIL;
    }
    return PARE_OK;
}

static int open_steps(struct store *st, const char *main_path, const struct shard_spec *sp,
                      struct sbuf *err)
{
    char *uri = ro_uri(main_path);
    /* the shard's rows refer to passages and questions that live in the main database */
    int rc = store_exec(st, "PRAGMA foreign_keys = OFF");
    if (rc != PARE_OK) rc = store_fail(st, err, "PRAGMA");
    if (rc == PARE_OK) rc = attach(st, uri, "base", err);
    free(uri);
    if (rc == PARE_OK) rc = check_versions(st, main_path, err);
    struct sbuf fp = {0};
    if (rc == PARE_OK) rc = fingerprint(st, fp_base, &fp, err);
    struct members *m = xcalloc(1, sizeof *m);
    if (rc == PARE_OK) rc = collect_members(st, sp, m, err);
    if (rc == PARE_OK)
        rc = define_in_shard(st, m, err); /* takes m, even on failure */
    else
        members_free(m);
    if (rc == PARE_OK) rc = check_or_seed(st, sp, fp.p, err);
    if (rc == PARE_OK) rc = make_views(st, main_path, err);
    sbuf_free(&fp);
    return rc;
}

int shard_open(const char *shard_path, const char *main_path, const struct shard_spec *sp,
               struct store **out, struct sbuf *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(main_path, &sb) != 0) {
        sbuf_setf(err, "%s: no such database (the main database a shard reads)", main_path);
        return PARE_EFAIL;
    }
    if (!sqlite3_compileoption_used("USE_URI")) {
        sbuf_setf(err, "this SQLite has no URI file names: shards cannot open the main database "
                       "read-only");
        return PARE_EFAIL;
    }
    struct store *st;
    if (store_open(shard_path, STORE_CREATE, &st, err) != PARE_OK) return PARE_EFAIL;
    if (open_steps(st, main_path, sp, err) != PARE_OK) {
        store_close(st);
        return PARE_EFAIL;
    }
    *out = st;
    return PARE_OK;
}

/* ---- merge ----------------------------------------------------------------------------- */

/* Columns of the tables shard_merge names column by column; a migration that changes one of
 * them must update the statements below (shard_merge refuses to run until it does). */
static const struct {
    const char *table;
    int columns;
} merge_tables[] = {
    {"retrievals", 7},          {"candidates", 5},       {"judge_calls", 11},
    {"evidence_sets", 13},      {"evidence_members", 3}, {"rubric_items", 7},
    {"negatives", 8},           {"trajectories", 10},    {"reward_params", 3},
    {"trajectory_rewards", 14}, {"rewards_extra", 4},    {"rejects", 5},
};

/* A scheme's column col (named name in `rewards`) filled in from the shard where the main
 * database's row was measured the same and has no such reward, in its column or whole. */
#define MERGE_SCHEME(col, name)                                                                    \
    {                                                                                              \
        C_REW, "UPDATE main.trajectory_rewards AS m SET " col " = r." col ", " col                 \
               "_params = p.new FROM shard.trajectory_rewards r JOIN temp.merge_map x ON x.kind "  \
               "= 't' AND x.old = r.trajectory_id JOIN temp.merge_map p ON p.kind = 'p' AND "      \
               "p.old = r." col "_params WHERE m.trajectory_id = x.new AND r." col                 \
               " IS NOT NULL AND m." col " IS NULL AND m.components = r.components AND NOT "       \
               "EXISTS (SELECT 1 FROM main.rewards_extra e WHERE e.trajectory_id = x.new AND "     \
               "e.scheme = '" name "')"                                                            \
    }

/* The merge, in order; `count` says which figure a statement's changes add to (-1: none). */
enum { C_NONE = -1, C_RET, C_CAND, C_CALLS, C_SETS, C_MEMB, C_RUB, C_NEG, C_TRAJ, C_REW };
static const struct {
    int count;
    const char *sql;
} merge_sql[] = {
    {C_NONE, "CREATE TEMP TABLE IF NOT EXISTS merge_map(kind TEXT NOT NULL, old INTEGER NOT NULL, "
             "new INTEGER NOT NULL, PRIMARY KEY (kind, old)) WITHOUT ROWID"},
    {C_NONE, "DELETE FROM temp.merge_map"},
    /* retrievals by their configuration; candidates follow the new ids */
    {C_RET, "INSERT INTO main.retrievals(index_id, scope, k, with_answer, rerank, created_at) "
            "SELECT index_id, scope, k, with_answer, rerank, created_at FROM shard.retrievals s "
            "WHERE true ON CONFLICT(index_id, scope, k, with_answer, rerank) DO NOTHING"},
    {C_NONE, "INSERT INTO temp.merge_map SELECT 'r', s.id, m.id FROM shard.retrievals s JOIN "
             "main.retrievals m ON m.index_id = s.index_id AND m.scope = s.scope AND m.k = s.k "
             "AND m.with_answer = s.with_answer AND m.rerank = s.rerank"},
    {C_CAND, "INSERT OR IGNORE INTO main.candidates(retrieval_id, question_id, passage_id, rank, "
             "score) SELECT x.new, c.question_id, c.passage_id, c.rank, c.score FROM "
             "shard.candidates c JOIN temp.merge_map x ON x.kind = 'r' AND x.old = c.retrieval_id"},
    /* a call that failed in the main database takes the shard's answer */
    {C_CALLS,
     "INSERT INTO main.judge_calls SELECT * FROM shard.judge_calls WHERE true "
     "ON CONFLICT(key) DO UPDATE SET verdict = excluded.verdict, answer = excluded.answer, "
     "error = excluded.error, latency_ms = excluded.latency_ms, created_at = "
     "excluded.created_at, prompt_tokens = excluded.prompt_tokens, completion_tokens = "
     "excluded.completion_tokens WHERE judge_calls.verdict IS NULL AND excluded.verdict IS NOT "
     "NULL"},
    /* evidence sets by (question, judge, method); a set in 'error' takes the shard's */
    {C_SETS, "INSERT INTO main.evidence_sets(question_id, judge, method, status, size, "
             "judge_calls, cached_calls, created_at, prior, prior_calls, prompt_tokens, "
             "completion_tokens) SELECT question_id, judge, method, status, size, judge_calls, "
             "cached_calls, created_at, prior, prior_calls, prompt_tokens, completion_tokens "
             "FROM shard.evidence_sets WHERE true "
             "ON CONFLICT(question_id, judge, method) DO UPDATE SET status = excluded.status, "
             "size = excluded.size, judge_calls = excluded.judge_calls, cached_calls = "
             "excluded.cached_calls, created_at = excluded.created_at, prior = excluded.prior, "
             "prior_calls = excluded.prior_calls, prompt_tokens = excluded.prompt_tokens, "
             "completion_tokens = excluded.completion_tokens WHERE "
             "evidence_sets.status = 'error' AND excluded.status != 'error'"},
    {C_NONE, "INSERT INTO temp.merge_map SELECT 's', s.id, m.id FROM shard.evidence_sets s JOIN "
             "main.evidence_sets m ON m.question_id = s.question_id AND m.judge = s.judge AND "
             "m.method = s.method"},
    /* members only for sets that have none yet (new, or taken from the shard just now) */
    {C_NONE, "INSERT INTO temp.merge_map SELECT 'f', x.new, x.new FROM temp.merge_map x WHERE "
             "x.kind = 's' AND NOT EXISTS (SELECT 1 FROM main.evidence_members m WHERE m.set_id = "
             "x.new)"},
    {C_MEMB, "INSERT INTO main.evidence_members(set_id, passage_id, rank) SELECT x.new, "
             "e.passage_id, e.rank FROM shard.evidence_members e JOIN temp.merge_map x ON x.kind "
             "= 's' AND x.old = e.set_id JOIN temp.merge_map f ON f.kind = 'f' AND f.old = x.new"},
    {C_RUB, "INSERT OR IGNORE INTO main.rubric_items SELECT * FROM shard.rubric_items"},
    /* negatives have no key of their own: one is new when no equal one exists. The main
     * database's negatives of the shard's questions are read once into an indexed temporary
     * table (negatives has no index on question_id: one scan per file, not one per row). */
    {C_NONE, "DROP TABLE IF EXISTS temp.merge_neg"},
    {C_NONE, "CREATE TEMP TABLE merge_neg AS SELECT question_id, kind, passages, answer FROM "
             "main.negatives WHERE question_id IN (SELECT question_id FROM shard.negatives)"},
    {C_NONE, "CREATE INDEX temp.merge_neg_q ON merge_neg(question_id)"},
    {C_NEG, "INSERT INTO main.negatives(question_id, kind, passages, answer, label, verified, "
            "source_set_id) SELECT n.question_id, n.kind, n.passages, n.answer, n.label, "
            "n.verified, x.new FROM shard.negatives n LEFT JOIN temp.merge_map x ON x.kind = 's' "
            "AND x.old = n.source_set_id WHERE NOT EXISTS (SELECT 1 FROM temp.merge_neg m WHERE "
            "m.question_id = n.question_id AND m.kind = n.kind AND m.passages = n.passages AND "
            "m.answer IS n.answer) ORDER BY n.id"},
    {C_TRAJ, "INSERT OR IGNORE INTO main.trajectories(question_id, ext_id, policy, step, "
             "selected, response, answer, n_tokens, meta) SELECT question_id, ext_id, policy, "
             "step, selected, response, answer, n_tokens, meta FROM shard.trajectories ORDER BY "
             "id"},
    {C_NONE, "INSERT INTO temp.merge_map SELECT 't', s.id, m.id FROM shard.trajectories s JOIN "
             "main.trajectories m ON m.question_id = s.question_id AND m.ext_id = s.ext_id"},
    /*
     * Rewards (schemas/004): a (trajectory, scheme) of the shard's `rewards` view that the main
     * database lacks is added, as before the view. Parameters are matched by their text. A
     * trajectory without any reward gets the shard's row (its components, its values filled
     * below); a scheme missing from a row measured the same is filled in; the shard's rewards
     * of a trajectory measured otherwise, and its rewards_extra rows, go to rewards_extra whole.
     */
    {C_NONE, "INSERT INTO main.reward_params(scheme, params) SELECT scheme, params FROM "
             "shard.reward_params WHERE true ORDER BY id ON CONFLICT(scheme, params) DO NOTHING"},
    {C_NONE, "INSERT INTO temp.merge_map SELECT 'p', s.id, m.id FROM shard.reward_params s JOIN "
             "main.reward_params m ON m.scheme = s.scheme AND m.params = s.params"},
    {C_NONE, "INSERT INTO main.trajectory_rewards(trajectory_id, components) SELECT x.new, "
             "r.components FROM shard.trajectory_rewards r JOIN temp.merge_map x ON x.kind = 't' "
             "AND x.old = r.trajectory_id WHERE NOT EXISTS (SELECT 1 FROM main.rewards v WHERE "
             "v.trajectory_id = x.new) ORDER BY x.new ON CONFLICT(trajectory_id) DO NOTHING"},
    MERGE_SCHEME("cp1", "cp1"),
    MERGE_SCHEME("cp2", "cp2"),
    MERGE_SCHEME("laser", "laser"),
    MERGE_SCHEME("laser_d", "laser-d"),
    MERGE_SCHEME("decs", "decs"),
    MERGE_SCHEME("rubric", "rubric"),
    {C_REW, "INSERT INTO main.rewards_extra(trajectory_id, scheme, value, components) SELECT "
            "x.new, v.scheme, v.value, v.components FROM shard.rewards v JOIN temp.merge_map x ON "
            "x.kind = 't' AND x.old = v.trajectory_id JOIN shard.trajectory_rewards r ON "
            "r.trajectory_id = v.trajectory_id JOIN main.trajectory_rewards m ON "
            "m.trajectory_id = x.new WHERE m.components IS NOT r.components AND NOT EXISTS "
            "(SELECT 1 FROM main.rewards w WHERE w.trajectory_id = x.new AND w.scheme = v.scheme) "
            "ORDER BY x.new, v.scheme ON CONFLICT(trajectory_id, scheme) DO NOTHING"},
    {C_REW, "INSERT INTO main.rewards_extra(trajectory_id, scheme, value, components) SELECT "
            "x.new, e.scheme, e.value, e.components FROM shard.rewards_extra e JOIN "
            "temp.merge_map x ON x.kind = 't' AND x.old = e.trajectory_id WHERE NOT EXISTS "
            "(SELECT 1 FROM main.rewards w WHERE w.trajectory_id = x.new AND w.scheme = e.scheme) "
            "ORDER BY x.new, e.scheme ON CONFLICT(trajectory_id, scheme) DO NOTHING"},
};

static int check_columns(struct store *st, struct sbuf *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(merge_tables); i++) {
        sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM pragma_table_info(?1, 'main')");
        int64_t n = 0;
        if (!s || sqlite3_bind_text(s, 1, merge_tables[i].table, -1, SQLITE_STATIC) ||
            store_int(st, s, &n) != 1)
            return store_fail(st, err, "reading the schema");
        if (n != merge_tables[i].columns) {
            sbuf_setf(err,
                      "internal error: table %s has %lld columns, stores/shard.c merges %d: "
                      "this pare cannot merge shards until it is updated",
                      merge_tables[i].table, (long long)n, merge_tables[i].columns);
            return PARE_EFAIL;
        }
    }
    return PARE_OK;
}

/* The shard's tag (meta shard_of) and schema version are this main database's. */
static int check_shard(struct store *st, const char *path, struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT json_extract(value, '$.main'), "
                                     "json_extract(value, '$.shard') FROM shard.meta "
                                     "WHERE key = 'shard_of'");
    if (!s) {
        sbuf_setf(err, "%s: not a pare shard database (%s)", path, store_errmsg(st));
        return PARE_EINPUT;
    }
    if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 0) != SQLITE_TEXT) {
        sqlite3_reset(s);
        sbuf_setf(err, "%s: not a shard database (made by a command run with --shard-db)", path);
        return PARE_EINPUT;
    }
    struct sbuf want = {0}, mine = {0};
    sbuf_adds(&want, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    int rc = fingerprint(st, fp_main, &mine, err);
    int64_t v = -1;
    s = rc == PARE_OK ? store_stmt(st, "PRAGMA shard.user_version") : NULL;
    if (rc == PARE_OK && (!s || store_int(st, s, &v) != 1))
        rc = store_fail(st, err, "reading the shard's schema version");
    if (rc == PARE_OK && v != store_schema_version(st)) {
        sbuf_setf(err,
                  "%s: schema version %lld, the main database's is %d: merge it with the pare "
                  "that made it, or run its stages again",
                  path, (long long)v, store_schema_version(st));
        rc = PARE_EINPUT;
    }
    if (rc == PARE_OK && strcmp(want.p, mine.p) != 0) {
        sbuf_setf(err,
                  "%s was made from another main database: its datasets or indexes differ from "
                  "%s's (shard of %s, this database is %s); merge it into the database its shards "
                  "read",
                  path, store_path(st), want.p, mine.p);
        rc = PARE_EINPUT;
    }
    sbuf_free(&want);
    sbuf_free(&mine);
    return rc;
}

static int copy_rejects(struct store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT OR IGNORE INTO main.rejects(run_id, source, line, "
                                     "error, raw) SELECT ?1, source, line, error, raw FROM "
                                     "shard.rejects");
    if (!s || sqlite3_bind_int64(s, 1, run_id) != SQLITE_OK) return PARE_EFAIL;
    return store_done(st, s);
}

static int merge_steps(struct store *st, int64_t run_id, struct shard_merge_counts *c)
{
    int64_t *fig[] = {&c->retrievals,    &c->candidates,       &c->judge_calls,
                      &c->evidence_sets, &c->evidence_members, &c->rubric_items,
                      &c->negatives,     &c->trajectories,     &c->rewards};
    for (size_t i = 0; i < ARRAY_SIZE(merge_sql); i++) {
        if (store_exec(st, merge_sql[i].sql) != PARE_OK) return PARE_EFAIL;
        if (merge_sql[i].count != C_NONE)
            *fig[merge_sql[i].count] += sqlite3_changes64(store_db(st));
    }
    return copy_rejects(st, run_id);
}

static int detach(struct store *st)
{
    return store_exec(st, "DETACH DATABASE shard");
}

/* Attaches path as "shard" after the checks that need no attachment, then checks the shard. */
static int attach_shard(struct store *st, const char *path, struct sbuf *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        sbuf_setf(err, "%s: %s", path, strerror(errno));
        return PARE_EINPUT;
    }
    int rc = check_columns(st, err);
    if (rc != PARE_OK) return rc;
    char *uri = ro_uri(path);
    rc = attach(st, uri, "shard", err);
    free(uri);
    if (rc != PARE_OK) return PARE_EINPUT;
    rc = check_shard(st, path, err);
    if (rc != PARE_OK) detach(st);
    return rc;
}

int shard_check(struct store *st, const char *path, struct sbuf *err)
{
    int rc = attach_shard(st, path, err);
    if (rc == PARE_OK && detach(st) != PARE_OK) rc = store_fail(st, err, "DETACH");
    return rc;
}

int shard_merge(struct store *st, const char *path, int64_t run_id, struct shard_merge_counts *c,
                struct sbuf *err)
{
    memset(c, 0, sizeof *c);
    int rc = attach_shard(st, path, err);
    if (rc != PARE_OK) return rc;
    if (store_begin(st) != PARE_OK) rc = store_fail(st, err, "BEGIN");
    if (rc == PARE_OK && (merge_steps(st, run_id, c) != PARE_OK || store_commit(st) != PARE_OK)) {
        rc = store_fail(st, err, "merging");
        store_rollback(st);
        memset(c, 0, sizeof *c);
    }
    if (detach(st) != PARE_OK && rc == PARE_OK) rc = store_fail(st, err, "DETACH");
    return rc;
}
