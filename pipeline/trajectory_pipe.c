/*
 * trajectory_pipe.c - the lines of a scoring run in batches (trajectory_impl.h).
 *
 * A line goes through four stages: read (parse the JSON, check the fields, read the selection
 * and the answer, compress the response), resolve (its question, its name, whether it repeats a
 * trajectory of the run), measure (against the question) and store (the trajectory row). Reading
 * and measuring need nothing but the line and its question, so every thread does them; resolving
 * and storing touch the question cache, the run's names and the store, so one thread does them,
 * in file order. Four batches are in flight: while thread 0 stores batch k and resolves batch
 * k+2, the other threads measure batch k+1 and read batch k+3 (thread 0 joins them once it is
 * done). Questions stay where they were loaded, so measuring reads them while resolving loads
 * others. Bad lines are found when resolving, in file order, so the first bad line is the one
 * reported and rejects are kept in file order; the rows stored and their ids are those of a
 * serial run, whatever the number of threads.
 */
#include <cjson/cJSON.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/reader.h"
#include "pipeline/trajectory_impl.h"

/* Lines per batch, and per claim of a thread within one. */
#define BATCH 8192
#define CHUNK 64

/* ---- the run's (question, trajectory id) pairs ---- */

static uint64_t key_hash(int64_t qid, const char *ext, size_t len)
{
    return XXH3_64bits_withSeed(ext, len, (uint64_t)qid);
}

/* Whether the pair at text[at] is (qid, ext). */
static int key_equal(const struct keyset *k, size_t at, int64_t qid, const char *ext, size_t len)
{
    int64_t q;
    memcpy(&q, k->text.p + at, sizeof q);
    const char *e = k->text.p + at + sizeof q;
    return q == qid && strncmp(e, ext, len) == 0 && e[len] == '\0';
}

static void keyset_grow(struct keyset *k)
{
    if (k->n * 2 < k->cap) return;
    size_t cap = k->cap ? k->cap * 2 : 4096;
    uint64_t *hash = xcalloc(cap, sizeof *hash);
    size_t *at = xcalloc(cap, sizeof *at);
    for (size_t i = 0; i < k->cap; i++) {
        if (!k->at[i]) continue;
        size_t h = k->hash[i] & (cap - 1);
        while (at[h]) h = (h + 1) & (cap - 1);
        hash[h] = k->hash[i];
        at[h] = k->at[i];
    }
    free(k->hash);
    free(k->at);
    k->hash = hash;
    k->at = at;
    k->cap = cap;
}

/* Adds (qid, ext). Returns 1 when added, 0 when the run has it already. */
static int keyset_add(struct keyset *k, int64_t qid, const char *ext, size_t len)
{
    keyset_grow(k);
    uint64_t hv = key_hash(qid, ext, len);
    size_t h = hv & (k->cap - 1);
    for (; k->at[h]; h = (h + 1) & (k->cap - 1))
        if (k->hash[h] == hv && key_equal(k, k->at[h] - 1, qid, ext, len)) return 0;
    k->hash[h] = hv;
    k->at[h] = k->text.len + 1;
    sbuf_add(&k->text, &qid, sizeof qid);
    sbuf_add(&k->text, ext, len);
    sbuf_addc(&k->text, '\0');
    k->n++;
    return 1;
}

static void keyset_free(struct keyset *k)
{
    free(k->hash);
    free(k->at);
    sbuf_free(&k->text);
}

/* ---- reading a line (any thread) ---- */

/* The selection as stored, a JSON array: the line's "selected", else the ids its response's
 * evidence tag lists. Written by hand: printf per id cost more than the rest of a line. */
static char *selection_text(const int64_t *ids, int n)
{
    struct sbuf b = {0};
    char num[24];
    sbuf_addc(&b, '[');
    for (int i = 0; i < n; i++) {
        char *p = num + sizeof num;
        uint64_t u = ids[i] < 0 ? 0 - (uint64_t)ids[i] : (uint64_t)ids[i];
        do *--p = (char)('0' + u % 10);
        while (u /= 10);
        if (ids[i] < 0) *--p = '-';
        if (i) sbuf_addc(&b, ',');
        sbuf_add(&b, p, (size_t)(num + sizeof num - p));
    }
    sbuf_addc(&b, ']');
    return sbuf_detach(&b);
}

/* Frees what a slot holds from its last line (its buffers stay for the next). */
static void slot_clear(struct traj_slot *sl)
{
    traj_line_free(&sl->l);
    json_decref(sl->rec);
    free(sl->ids);
    free(sl->answer);
    free(sl->seltext);
    sl->rec = NULL;
    sl->ids = NULL;
    sl->answer = sl->seltext = NULL;
    sl->rc = sl->sel_rc = sl->zip_rc = PARE_OK;
    sl->from_reader = sl->keep = 0;
    sl->q = NULL;
}

/* The fields of a parsed line: checked, the selection and the answer read, the response
 * compressed. Errors stay in the slot, to be reported in file order. */
static void read_fields(struct traj_slot *sl, struct blob_codec *codec)
{
    sl->rc = traj_parse_line(sl->rec, sl->raw, sl->raw_len, &sl->l, &sl->msg);
    if (sl->rc != PARE_OK) return;
    sl->sel_rc = traj_selection(&sl->l, &sl->ids, &sl->ns, &sl->stated, &sl->sel_msg);
    if (sl->sel_rc != PARE_OK) return;
    sl->answer = traj_answer(&sl->l);
    sl->seltext = selection_text(sl->ids, sl->ns);
    sl->zip_rc =
        blob_compress_or_raw(codec, sl->l.response, strlen(sl->l.response), &sl->body, &sl->msg);
}

/* Appends the C string v (NUL included) to b; returns where it starts, or -1 for NULL. */
static ptrdiff_t keep_str(struct sbuf *b, const char *v)
{
    if (!v) return -1;
    ptrdiff_t at = (ptrdiff_t)b->len;
    sbuf_add(b, v, strlen(v) + 1);
    return at;
}

/*
 * Copies what the later stages read of the line's JSON (the response, the policy, the dataset)
 * into the slot and releases the JSON now, on the thread that parsed it: held until the slot's
 * next line, a batch's trees were freed by another thread and out of its cache, which cost more
 * than the copy.
 */
static void detach_rec(struct traj_slot *sl)
{
    struct traj_line *l = &sl->l;
    sbuf_reset(&sl->own);
    ptrdiff_t r = keep_str(&sl->own, l->response), p = keep_str(&sl->own, l->policy),
              d = keep_str(&sl->own, l->dataset);
    l->response = r < 0 ? NULL : sl->own.p + r;
    l->policy = p < 0 ? NULL : sl->own.p + p;
    l->dataset = d < 0 ? NULL : sl->own.p + d;
    l->selected = NULL;
    l->answer = NULL;
    json_decref(l->truth);
    l->truth = NULL;
    json_decref(sl->rec);
    sl->rec = NULL;
}

/*
 * Reads a line from its cJSON tree (trajectory_fast.c) when that path takes it: the same fields
 * as through jansson for a fraction of the work. Returns 0 when the line must take the jansson
 * path (nothing of it read).
 */
static int read_tree(struct traj_slot *sl, struct blob_codec *codec, struct jsonfast_arena *a)
{
    if (!traj_numbers_exact(sl->raw, sl->raw_len)) return 0;
    jsonfast_arena_reset(a);
    const cJSON *t = jsonfast_tree_in(a, sl->raw, sl->raw_len);
    if (!t || traj_tree_line(t, sl->raw, sl->raw_len, &sl->l, &sl->ids, &sl->ns, &sl->stated))
        return 0;
    sl->answer = traj_answer(&sl->l);
    sl->seltext = selection_text(sl->ids, sl->ns);
    sl->zip_rc =
        blob_compress_or_raw(codec, sl->l.response, strlen(sl->l.response), &sl->body, &sl->msg);
    detach_rec(sl); /* the tree is reset with the thread's next line */
    return 1;
}

/* Reads one line of batch b (a: the thread's arena for its tree). */
static void read_slot(struct traj_batch *b, struct traj_slot *sl, struct blob_codec *codec,
                      struct jsonfast_arena *a)
{
    slot_clear(sl);
    if (read_tree(sl, codec, a)) return;
    if (reader_parse(b->path, sl->raw, sl->raw_len, sl->line, &sl->rec, &sl->msg) != READ_RECORD) {
        sl->rc = PARE_EINPUT;
        sl->from_reader = 1;
        return;
    }
    read_fields(sl, codec);
    detach_rec(sl);
}

/* ---- resolving (thread 0, in file order) ---- */

/*
 * A line without a trajectory id is named by its hash; the k-th identical line of a run gets
 * "-k" (a trainer's group of rollouts can hold the same response twice), so a rerun of the
 * same files names every line as before.
 */
static void name_repeat(struct traj_scorer *s, struct traj_line *l)
{
    if (!l->default_ext) return;
    uint64_t h = strtoull(l->ext.p + 1, NULL, 16);
    uint32_t k = idset_bump(&s->repeats, h);
    if (k > 1) sbuf_addf(&l->ext, "-%u", k);
}

/* The question, the selection's and the name's checks of a read line, in the order a line's
 * faults are reported. Returns PARE_OK, PARE_EINPUT (what in s->why) or PARE_EFAIL (err). */
static int check_slot(struct traj_scorer *s, struct traj_slot *sl, struct sbuf *err)
{
    if (sl->rc != PARE_OK) {
        sbuf_setf(&s->why, "%s", sbuf_str(&sl->msg));
        return PARE_EINPUT;
    }
    int rc = traj_question_of(s, &sl->l, &sl->q, &s->why);
    if (rc == PARE_EFAIL) sbuf_setf(err, "%s", sbuf_str(&s->why));
    if (rc != PARE_OK) return rc;
    if (sl->sel_rc != PARE_OK) {
        sbuf_setf(&s->why, "%s", sbuf_str(&sl->sel_msg));
        return PARE_EINPUT;
    }
    name_repeat(s, &sl->l);
    if (!sl->q->in_shard) {
        s->other++;
        return PARE_OK;
    }
    if (!keyset_add(&s->seen, sl->q->qid, sl->l.ext.p, sl->l.ext.len)) {
        sbuf_setf(&s->why, "duplicate trajectory '%s' of question '%s'", sl->l.ext.p,
                  sl->l.question.p);
        return PARE_EINPUT;
    }
    if (sl->zip_rc != PARE_OK) {
        sbuf_setf(err, "%s", sbuf_str(&sl->msg));
        return PARE_EFAIL;
    }
    sl->keep = 1;
    return PARE_OK;
}

/* Resolves every line of batch b; a bad line goes to bad (as "path:line: what"). */
static int resolve_batch(struct traj_scorer *s, struct traj_batch *b, const struct traj_bad *bad,
                         struct sbuf *err)
{
    struct sbuf msg = {0};
    int rc = PARE_OK;
    for (int i = 0; i < b->n && rc == PARE_OK; i++) {
        struct traj_slot *sl = &b->slot[i];
        rc = check_slot(s, sl, err);
        if (rc != PARE_EINPUT) continue;
        if (sl->from_reader)
            sbuf_setf(&msg, "%s", sbuf_str(&s->why));
        else
            sbuf_setf(&msg, "%s:%ld: %s", b->path, sl->line, sbuf_str(&s->why));
        rc = bad->fn(bad->ud, sl->line, msg.p, sl->raw, sl->raw_len);
    }
    sbuf_free(&msg);
    return rc;
}

/* ---- storing (thread 0, in file order) ---- */

/*
 * Trajectories of questions with none stored before the run are new (a repeat within the run is
 * bad input, found when resolving), so they need no conflict check and take the ids SQLite would
 * give them, the largest id plus one, in file order: TGROUP rows go in one statement, whose end
 * cost a fifth of storing a row (32 rather than 16: 1.4% fewer instructions per row stored).
 * Trajectories of other questions go one by one, kept when stored before.
 */
#define TGROUP 32
#define TRAJ_INSERT                                                                                \
    "INSERT INTO trajectories(id, question_id, ext_id, policy, step, selected, response, answer, " \
    "n_tokens, meta) VALUES "
#define TRAJ_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define TRAJ_ROWS4 TRAJ_ROW ", " TRAJ_ROW ", " TRAJ_ROW ", " TRAJ_ROW
#define TRAJ_ROWS16 TRAJ_ROWS4 ", " TRAJ_ROWS4 ", " TRAJ_ROWS4 ", " TRAJ_ROWS4
static const char traj_one_sql[] = TRAJ_INSERT TRAJ_ROW;
static const char traj_group_sql[] = TRAJ_INSERT TRAJ_ROWS16 ", " TRAJ_ROWS16; /* TGROUP rows */

/* Binds the columns of a trajectory row (question_id .. meta) as parameters base + 1 .. base + 9
 * of st. Returns nonzero on error. */
static int bind_trajectory(struct traj_scorer *s, sqlite3_stmt *st, int base,
                           const struct traj_slot *sl)
{
    const struct traj_line *l = &sl->l;
    sbuf_reset(&s->meta);
    if (l->has_score) sbuf_addf(&s->meta, "{\"score\":%.17g}", l->score);
    return sqlite3_bind_int64(st, base + 1, sl->it.qid) ||
           sqlite3_bind_text(st, base + 2, l->ext.p, (int)l->ext.len, SQLITE_STATIC) ||
           sqlite3_bind_text(st, base + 3, l->policy, -1, SQLITE_STATIC) ||
           (l->has_step ? sqlite3_bind_int64(st, base + 4, l->step)
                        : sqlite3_bind_null(st, base + 4)) ||
           sqlite3_bind_text(st, base + 5, sl->seltext, -1, SQLITE_STATIC) ||
           sqlite3_bind_blob(st, base + 6, sl->body.p, (int)sl->body.len, SQLITE_STATIC) ||
           sqlite3_bind_text(st, base + 7, sl->answer, -1, SQLITE_STATIC) ||
           sqlite3_bind_int64(st, base + 8, (int64_t)sl->it.m.f.length) ||
           (l->has_score
                ? sqlite3_bind_text(st, base + 9, s->meta.p, (int)s->meta.len, SQLITE_TRANSIENT)
                : sqlite3_bind_null(st, base + 9));
}

/* Adds a stored line's trajectory to the run's items. */
static void add_item(struct traj_scorer *s, struct traj_slot *sl, int64_t id, int fresh)
{
    sl->it.traj_id = id;
    sl->it.fresh = fresh;
    s->new_traj += fresh;
    xgrow((void **)&s->items, &s->cap, s->n + 1, sizeof *s->items);
    s->items[s->n++] = sl->it;
}

/* Inserts a kept line's trajectory unless stored before, and adds it to the run's items. */
static int store_slot(struct traj_scorer *s, struct traj_slot *sl, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "INSERT INTO trajectories(question_id, ext_id, policy, "
                                         "step, selected, response, answer, n_tokens, meta) "
                                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                                         "ON CONFLICT(question_id, ext_id) DO NOTHING");
    if (!st || bind_trajectory(s, st, 0, sl) || store_done(s->st, st))
        return store_fail(s->st, err, "storing a trajectory");
    int64_t id;
    if (sqlite3_changes(store_db(s->st)) == 1) {
        id = sqlite3_last_insert_rowid(store_db(s->st));
        s->next_id = id < INT64_MAX ? id + 1 : 0;
        add_item(s, sl, id, 1);
        return PARE_OK;
    }
    /* stored by an earlier run: kept as it was, scored again */
    st = store_stmt(s->st, "SELECT id FROM trajectories WHERE question_id = ?1 AND ext_id = ?2");
    if (!st || sqlite3_bind_int64(st, 1, sl->it.qid) ||
        sqlite3_bind_text(st, 2, sl->l.ext.p, -1, SQLITE_STATIC) || store_int(s->st, st, &id) != 1)
        return store_fail(s->st, err, "reading a trajectory");
    add_item(s, sl, id, 0);
    return PARE_OK;
}

/* Inserts the trajectories of g[0..n) (n is 1 or TGROUP), new to the database, with the next
 * ids. */
static int store_new(struct traj_scorer *s, struct traj_slot **g, int n, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, n == 1 ? traj_one_sql : traj_group_sql);
    int bad = !st;
    for (int i = 0; i < n && !bad; i++)
        bad = sqlite3_bind_int64(st, 10 * i + 1, s->next_id + i) ||
              bind_trajectory(s, st, 10 * i + 1, g[i]);
    if (bad || store_done(s->st, st)) return store_fail(s->st, err, "storing a trajectory");
    for (int i = 0; i < n; i++) add_item(s, g[i], s->next_id++, 1);
    return PARE_OK;
}

/* Lines waiting for a full group go one by one. */
static int flush_new(struct traj_scorer *s, struct traj_slot **g, int *n, struct sbuf *err)
{
    int rc = PARE_OK;
    for (int i = 0; i < *n && rc == PARE_OK; i++) rc = store_new(s, &g[i], 1, err);
    *n = 0;
    return rc;
}

/* The id SQLite gives the next row: the largest plus one. 0 when that would overflow (SQLite
 * then picks one at random: every line goes one by one). */
static int find_next_id(struct traj_scorer *s, struct sbuf *err)
{
    sqlite3_stmt *st = store_stmt(s->st, "SELECT max(id) FROM trajectories");
    int64_t max = 0;
    if (!st || store_int(s->st, st, &max) < 0)
        return store_fail(s->st, err, "reading trajectory ids");
    s->next_id = max < INT64_MAX - TGROUP ? max + 1 : 0;
    return PARE_OK;
}

static int store_batch(struct traj_scorer *s, struct traj_batch *b, struct sbuf *err)
{
    struct traj_slot *g[TGROUP];
    int ng = 0, rc = s->next_id ? PARE_OK : find_next_id(s, err);
    for (int i = 0; i < b->n && rc == PARE_OK; i++) {
        struct traj_slot *sl = &b->slot[i];
        if (!sl->keep) continue;
        if (sl->q->stored_before || !s->next_id || s->next_id > INT64_MAX - TGROUP) {
            rc = flush_new(s, g, &ng, err);
            if (rc == PARE_OK) rc = store_slot(s, sl, err);
            continue;
        }
        g[ng++] = sl;
        if (ng == TGROUP) {
            rc = store_new(s, g, ng, err);
            ng = 0;
        }
    }
    if (rc == PARE_OK) rc = flush_new(s, g, &ng, err);
    return rc;
}

/* ---- the pipeline ---- */

static void measure_slot(struct traj_slot *sl)
{
    if (sl->keep) traj_measure(sl->q, &sl->l, sl->answer, sl->ids, sl->ns, sl->stated, &sl->it);
}

/* Claims chunks of CHUNK lines until none is left: first the lines of m to measure, then those
 * of r to read. *claimed is shared by the team. */
static void work_claimed(struct traj_batch *m, struct traj_batch *r, struct blob_codec *codec,
                         struct jsonfast_arena *arena, int *claimed)
{
    int nm = (m->n + CHUNK - 1) / CHUNK, nr = (r->n + CHUNK - 1) / CHUNK;
    for (;;) {
        int c;
#pragma omp atomic capture
        c = (*claimed)++;
        if (c >= nm + nr) break;
        struct traj_batch *b = c < nm ? m : r;
        int first = (c < nm ? c : c - nm) * CHUNK;
        int end = first + CHUNK < b->n ? first + CHUNK : b->n;
        for (int i = first; i < end; i++) {
            if (b == m)
                measure_slot(&b->slot[i]);
            else
                read_slot(b, &b->slot[i], codec, arena);
        }
    }
}

/* The text of every line of b, now that b is complete (its text no longer moves). */
static void point_raw(struct traj_batch *b)
{
    for (int i = 0; i < b->n; i++) b->slot[i].raw = b->text.p + b->slot[i].raw_at;
}

/*
 * One step: thread 0 resolves the parsed batch and stores the measured one while the other
 * threads measure the resolved batch and read the filled one (thread 0 joins them when done);
 * the batches move on one stage. Resolving runs beside the others' work, not between steps,
 * where it left them idle (a ninth of a run). A batch may be empty.
 */
static int step(struct traj_scorer *s, const struct traj_bad *bad, struct sbuf *err)
{
    struct traj_batch *f = &s->batch[s->fill], *p = &s->batch[s->parsed];
    struct traj_batch *m = &s->batch[s->measure], *st = &s->batch[s->store];
    int rc = PARE_OK, claimed = 0;
    point_raw(f);
    if (st->n || m->n || f->n || p->n) {
#pragma omp parallel num_threads(s->n_threads)
        {
            int t = omp_get_thread_num();
            if (t == 0) {
                rc = resolve_batch(s, p, bad, err);
                if (rc == PARE_OK && st->n) rc = store_batch(s, st, err);
            }
            work_claimed(m, f, s->codec[t], &s->arena[t], &claimed);
        }
    }
    st->n = 0;
    int stored = s->store;
    s->store = s->measure;
    s->measure = s->parsed;
    s->parsed = s->fill;
    s->fill = stored;
    return rc;
}

int traj_scorer_add(struct traj_scorer *s, const char *path, const char *raw, size_t raw_len,
                    long line, const struct traj_bad *bad, struct sbuf *err)
{
    struct traj_batch *b = &s->batch[s->fill];
    if (b->n == 0) {
        sbuf_reset(&b->text);
        b->path = path;
    }
    if (b->n == b->cap) {
        size_t cap = (size_t)b->cap;
        xgrow((void **)&b->slot, &cap, (size_t)b->n + 1, sizeof *b->slot);
        memset(b->slot + b->cap, 0, (cap - (size_t)b->cap) * sizeof *b->slot);
        b->cap = (int)cap;
    }
    struct traj_slot *sl = &b->slot[b->n++];
    sl->raw_at = b->text.len;
    sl->raw_len = raw_len;
    sl->line = line;
    sbuf_add(&b->text, raw, raw_len);
    sbuf_addc(&b->text, '\0');
    return b->n < BATCH ? PARE_OK : step(s, bad, err);
}

int traj_scorer_drain(struct traj_scorer *s, const struct traj_bad *bad, struct sbuf *err)
{
    int rc = PARE_OK;
    for (int i = 0; i < TRAJ_BATCHES && rc == PARE_OK; i++) rc = step(s, bad, err);
    return rc;
}

int traj_scorer_take(struct traj_scorer *s, json_t *rec, const char *raw, size_t raw_len,
                     struct sbuf *err)
{
    struct traj_slot sl = {0};
    sl.rec = json_incref(rec);
    sl.raw = raw;
    sl.raw_len = raw_len;
    read_fields(&sl, s->codec[0]);
    int rc = check_slot(s, &sl, err);
    if (rc == PARE_EINPUT) sbuf_setf(err, "%s", sbuf_str(&s->why));
    if (rc == PARE_OK && sl.keep) {
        measure_slot(&sl);
        rc = store_slot(s, &sl, err);
    }
    slot_clear(&sl);
    sbuf_free(&sl.msg);
    sbuf_free(&sl.sel_msg);
    sbuf_free(&sl.body);
    return rc;
}

void traj_batches_free(struct traj_scorer *s)
{
    keyset_free(&s->seen);
    for (int k = 0; k < TRAJ_BATCHES; k++) {
        struct traj_batch *b = &s->batch[k];
        for (int i = 0; i < b->cap; i++) {
            slot_clear(&b->slot[i]);
            sbuf_free(&b->slot[i].msg);
            sbuf_free(&b->slot[i].sel_msg);
            sbuf_free(&b->slot[i].body);
            sbuf_free(&b->slot[i].own);
        }
        free(b->slot);
        sbuf_free(&b->text);
    }
}
