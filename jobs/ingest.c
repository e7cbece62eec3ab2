/*
 * ingest.c - `pare ingest`: load dataset files into the store.
 *
 * The whole invocation is one transaction: a bad record (without --skip-bad), a truncated file
 * or a crash leaves the database exactly as it was, and a rerun starts over cleanly. Questions
 * are keyed by (dataset, id) and passages by the hash of their title and text, so re-ingesting a
 * file adds nothing and a passage shared by many questions (or datasets) is stored once.
 */
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <limits.h>
#include <sched.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "jobs/jobs.h"
#include "pipeline/formats.h"
#include "jobs/job.h"
#include "common/jsonfast.h"
#include "common/reader.h"
#include "stores/blob.h"
#include "stores/store.h"

/*
 * Records parsed and compressed together, in parallel, before they are stored in order: up to
 * BATCH records or BATCH_BYTES of text. Each batch ends at a barrier where a thread of a loaded
 * machine may wait for a time slice, so short records make large batches (2048 passages were
 * 500 barriers per million); long ones (HotpotQA questions with their contexts are 7 KB) make
 * small batches, so that storing one batch overlaps preparing the next all along the file.
 */
#define BATCH 8192
#define BATCH_BYTES (2u << 20)
/* At most this much text in the first batch, read while the dictionary is trained. */
#define FIRST_BATCH_BYTES (16u << 20)
/* Records read and parsed at a time while the dictionary sample is taken (sample_first): up to
 * SAMPLE_CHUNK records or SAMPLE_CHUNK_BYTES of them (a parallel region each; records read past
 * the sample are not wasted: they belong to the first batch). */
#define SAMPLE_CHUNK 1024
#define SAMPLE_CHUNK_BYTES (512u << 10)
/* Records a thread claims at a time while preparing a batch. */
#define PREPARE_CHUNK 16

/*
 * Dictionary training sample: the first passages, up to these limits. ZDICT's training time
 * grows with the sample (on HotpotQA/IRCoT passages 8000 samples cost 2.8 G instructions, as
 * much as parsing 2,700 questions); 4000 cost half that and compress 0.2 to 0.6% worse.
 */
#define DICT_MAX_SAMPLES 4000
#define DICT_MAX_BYTES (4u << 20)

/* A passage ready to store: content hash, compressed body, length in code points. */
struct pbody {
    unsigned char hash[16];
    struct sbuf body;
    int64_t chars;
};

/* One record of a batch, from raw text to everything the serial insert needs. */
struct slot {
    struct sbuf raw;
    long line;
    int rc; /* PARE_OK, PARE_EINPUT (bad record: msg), PARE_EFAIL (msg) */
    struct sbuf msg;
    cJSON *tree; /* the record as read by format_parse_tree, or NULL; in arena */
    struct jsonfast_arena arena;
    json_t *json; /* the record as read by format_parse, or NULL */
    struct qa_record rec;
    struct pbody *pb; /* one per rec.ctx entry */
    size_t cap_pb;
};

/* The sample a dictionary is trained on, while the first batch is parsed. */
struct dict_job {
    int pending; /* no dictionary yet: train one on the sample */
    int level;
    struct sbuf samples;
    size_t *sizes, n;
};

struct ingest {
    struct store *st;
    struct job job;
    enum pare_format fmt;
    struct format_keys keys;
    int skip_bad;
    struct blob_codec **codecs; /* one per thread */
    int n_codecs;
    size_t batch_bytes;   /* text per batch: BATCH_BYTES, or more after a large first batch */
    struct slot *slots;   /* two batches: one being stored, one being prepared */
    struct dict_job dict; /* a dictionary to train before the first body is compressed */
    char **files;         /* every input file, for the dictionary sample */
    int nfiles;
    struct sbuf err;
    struct sbuf fatal; /* why the current file cannot be read further */
    int64_t *pids;     /* the passage ids of the question being stored */
    int seq_pids;      /* new passages' rowids follow the largest (see passage_ids) */
    size_t cap_pids;
    /* per-file counts */
    int64_t n_records, n_questions, n_new_questions, n_passages, n_new_passages, n_rejected;
    int64_t total_done, total_rejected;
};

static int set_dict_all(struct ingest *in, const void *dict, size_t n, int level)
{
    for (int i = 0; i < in->n_codecs; i++)
        if (blob_set_dict(in->codecs[i], dict, n, level, &in->err) != PARE_OK) return PARE_EFAIL;
    return PARE_OK;
}

static void parse_record(struct ingest *in, struct slot *sl, const char *path);
static void slot_free(struct slot *sl);

/* The dictionary sample: the texts of the first passages of the input, up to DICT_MAX_SAMPLES
 * and DICT_MAX_BYTES, laid end to end in samples with their lengths in *sizes. Unreadable and
 * bad records are passed over here: the ingest itself reports them. Records are read as the
 * ingest reads them (parse_record: cJSON's tree for the usual ones; jansson's values for every
 * record cost twice as much, on one thread while the others waited). */
static size_t sample_passages(struct ingest *in, char **files, int nfiles, struct sbuf *samples,
                              size_t **sizes)
{
    struct sbuf ignore = {0};
    size_t n = 0, cap = 0;
    struct slot sl = {0};
    for (int f = 0; f < nfiles && n < DICT_MAX_SAMPLES && samples->len < DICT_MAX_BYTES; f++) {
        struct reader *r;
        if (reader_open(files[f], &r, &ignore) != PARE_OK) continue;
        long line;
        while (n < DICT_MAX_SAMPLES && samples->len < DICT_MAX_BYTES &&
               reader_next_raw(r, &line, &ignore) == READ_RECORD) {
            reader_take_raw(r, &sl.raw);
            sl.line = line;
            parse_record(in, &sl, files[f]);
            for (size_t k = 0; sl.rc == PARE_OK && k < sl.rec.n_ctx && n < DICT_MAX_SAMPLES; k++) {
                xgrow((void **)sizes, &cap, n + 1, sizeof **sizes);
                sbuf_add(samples, sl.rec.ctx[k].text, sl.rec.ctx[k].text_len);
                (*sizes)[n++] = sl.rec.ctx[k].text_len;
            }
        }
        reader_close(r);
    }
    slot_free(&sl);
    sbuf_free(&ignore);
    return n;
}

/*
 * Trains the dictionary on the sample and stores it; without enough text, frames go without
 * one. Runs on the thread that owns the store while the others parse the first batch.
 */
static int train_dict(struct ingest *in)
{
    struct dict_job *d = &in->dict;
    struct sbuf dict = {0}, ignore = {0};
    uint32_t id = 0;
    int out;
    if (blob_train_dict(d->samples.p, d->sizes, d->n, BLOB_DICT_CAPACITY, &dict, &id, &ignore) ==
        PARE_OK) {
        char ts[24];
        now_iso8601(ts);
        sqlite3_stmt *s = store_stmt(in->st, "INSERT OR IGNORE INTO zstd_dicts(id, dict, samples, "
                                             "created_at) VALUES (?1, ?2, ?3, ?4)");
        if (!s || sqlite3_bind_int64(s, 1, id) ||
            sqlite3_bind_blob(s, 2, dict.p, (int)dict.len, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 3, (int64_t)d->n) ||
            sqlite3_bind_text(s, 4, ts, -1, SQLITE_TRANSIENT) || store_done(in->st, s))
            out = store_fail(in->st, &in->err, "storing the zstd dictionary");
        else
            out = set_dict_all(in, dict.p, dict.len, d->level);
    } else {
        out = set_dict_all(in, NULL, 0, d->level);
    }
    d->pending = 0;
    free(d->sizes);
    d->sizes = NULL;
    sbuf_free(&d->samples);
    sbuf_free(&dict);
    sbuf_free(&ignore);
    return out;
}

/* The compression dictionary: the database's newest, else one to train on the first passages
 * of the input (sampled and trained with the first batch: sample_first, train_dict). */
static int setup_dict(struct ingest *in, char **files, int nfiles, int level)
{
    sqlite3_stmt *s = store_stmt(in->st, "SELECT dict FROM zstd_dicts ORDER BY rowid DESC LIMIT 1");
    if (!s) return store_fail(in->st, &in->err, "reading zstd_dicts");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int r =
            set_dict_all(in, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), level);
        sqlite3_reset(s);
        return r;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_fail(in->st, &in->err, "reading zstd_dicts");
    in->files = files; /* sampled with the first batch: sample_first */
    in->nfiles = nfiles;
    in->dict.level = level;
    in->dict.pending = 1;
    return PARE_OK;
}

/*
 * Code points of a valid UTF-8 text (the reader rejected invalid text): the bytes that do not
 * continue a sequence. Eight bytes at a time, a continuation byte having its top bits 10: this
 * runs about five times faster than decoding, and every passage is counted.
 */
static int64_t utf8_code_points(const char *s, size_t n)
{
    size_t i = 0, cont = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        /* one bit per continuation byte, at the byte's bottom; the multiplication adds the
         * eight bytes into the top one (no popcount instruction in the baseline x86-64: gcc
         * called libgcc's __popcountdi2, 1% of a corpus ingest) */
        uint64_t c = (w & ~(w << 1) & 0x8080808080808080ull) >> 7;
        cont += (size_t)((c * 0x0101010101010101ull) >> 56);
    }
    for (; i < n; i++) cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return (int64_t)(n - cont);
}

/* Reads the record with jansson and format_parse, which explain what is wrong with it. */
static void parse_slow(struct ingest *in, struct slot *sl, const char *path, struct sbuf *err)
{
    sl->tree = NULL; /* its memory goes with the arena's next reset */
    if (reader_parse(path, sl->raw.p, sl->raw.len, sl->line, &sl->json, &sl->msg) != READ_RECORD) {
        sl->rc = PARE_EINPUT;
        return;
    }
    if (format_parse(in->fmt, &in->keys, sl->json, &sl->rec, err) != PARE_OK) {
        sbuf_setf(&sl->msg, "%s:%ld: %s", path, sl->line, sbuf_str(err));
        sl->rc = PARE_EINPUT;
    }
}

/* Content hashes and lengths of a parsed record's passages. */
static void hash_slot(struct slot *sl, const char *path)
{
    if (sl->rec.n_ctx > sl->cap_pb) {
        sl->pb = xrealloc(sl->pb, sl->rec.n_ctx * sizeof *sl->pb);
        memset(sl->pb + sl->cap_pb, 0, (sl->rec.n_ctx - sl->cap_pb) * sizeof *sl->pb);
        sl->cap_pb = sl->rec.n_ctx;
    }
    for (size_t k = 0; k < sl->rec.n_ctx; k++) {
        const struct qa_passage *p = &sl->rec.ctx[k];
        struct pbody *pb = &sl->pb[k];
        /* content hash: xxh128 of title, NUL, text */
        XXH3_state_t hs;
        XXH3_INITSTATE(&hs);
        XXH3_128bits_reset(&hs);
        XXH3_128bits_update(&hs, p->title, strlen(p->title));
        XXH3_128bits_update(&hs, "", 1);
        XXH3_128bits_update(&hs, p->text, p->text_len);
        XXH128_canonical_t key;
        XXH128_canonicalFromHash(&key, XXH3_128bits_digest(&hs));
        memcpy(pb->hash, key.digest, 16);
        if (p->text_len > INT_MAX / 2) {
            sbuf_setf(&sl->msg, "%s:%ld: passage '%s' is too long (%zu bytes)", path, sl->line,
                      p->title, p->text_len);
            sl->rc = PARE_EINPUT;
            return;
        }
        pb->chars = utf8_code_points(p->text, p->text_len);
    }
}

/*
 * What a record needs before its passages are compressed: parse, convert, hash and count. Runs
 * on several threads at once; touches only the slot.
 */
static void parse_slot(struct ingest *in, struct slot *sl, const char *path)
{
    parse_record(in, sl, path);
    if (sl->rc == PARE_OK) hash_slot(sl, path);
}

/* Reads the slot's raw text into sl->rec: sl->rc is PARE_OK when format_parse accepts it, else
 * PARE_EINPUT with the message in sl->msg. */
static void parse_record(struct ingest *in, struct slot *sl, const char *path)
{
    struct sbuf err = {0};
    /* the slot's record of two batches ago is freed here, by whichever thread prepares the
     * slot, rather than by the thread that stores (the pipeline's slowest step) */
    qa_record_reset(&sl->rec);
    json_decref(sl->json);
    jsonfast_arena_reset(&sl->arena);
    sl->json = NULL;
    sl->rc = PARE_OK;
    /* the usual records straight from cJSON's tree, the others (and every bad one, for its
     * message) through jansson: building jansson values cost as much as parsing */
    sl->tree = jsonfast_tree_in(&sl->arena, sl->raw.p, sl->raw.len);
    if (!sl->tree || !format_parse_tree(in->fmt, &in->keys, sl->tree, &sl->rec))
        parse_slow(in, sl, path, &err);
    sbuf_free(&err);
}

/* Compresses the passages of a parsed record with the thread's codec. */
static void compress_slot(struct slot *sl, struct blob_codec *codec)
{
    if (sl->rc != PARE_OK) return;
    struct sbuf err = {0};
    for (size_t k = 0; k < sl->rec.n_ctx; k++) {
        const struct qa_passage *p = &sl->rec.ctx[k];
        if (blob_compress(codec, p->text, p->text_len, &sl->pb[k].body, &err) != PARE_OK) {
            sbuf_setf(&sl->msg, "%s", sbuf_str(&err));
            sl->rc = PARE_EFAIL;
            break;
        }
    }
    sbuf_free(&err);
}

/*
 * Prepares slots[0..n) on the calling thread, PREPARE_CHUNK records at a time, claiming chunks
 * from *claimed (shared by the threads of the team) until none is left. Without a codec the
 * records are only parsed.
 */
static void prepare_claimed(struct ingest *in, struct slot *slots, int n, const char *path,
                            struct blob_codec *codec, int *claimed)
{
    for (;;) {
        int first;
#pragma omp atomic capture
        {
            first = *claimed;
            *claimed += PREPARE_CHUNK;
        }
        if (first >= n) break;
        int end = first + PREPARE_CHUNK < n ? first + PREPARE_CHUNK : n;
        for (int i = first; i < end; i++) {
            parse_slot(in, &slots[i], path);
            if (codec) compress_slot(&slots[i], codec);
        }
    }
}

/* The id of a prepared passage, stored now if it is new. */
static int store_passage(struct ingest *in, const struct qa_passage *p, const struct pbody *pb,
                         int64_t *id)
{
    in->n_passages++;
    sqlite3_stmt *s = store_stmt(in->st, "INSERT INTO passages(ext_id, title, body, n_chars, "
                                         "n_bytes, content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                         "ON CONFLICT(content_hash) DO NOTHING");
    if (!s || sqlite3_bind_text(s, 1, p->ext_id, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, p->title, -1, SQLITE_STATIC) ||
        sqlite3_bind_blob(s, 3, pb->body.p, (int)pb->body.len, SQLITE_STATIC) ||
        sqlite3_bind_int64(s, 4, pb->chars) || sqlite3_bind_int64(s, 5, (int64_t)p->text_len) ||
        sqlite3_bind_blob(s, 6, pb->hash, 16, SQLITE_STATIC) || store_done(in->st, s))
        return store_fail(in->st, &in->err, "storing a passage");
    if (sqlite3_changes(store_db(in->st)) == 1) {
        *id = sqlite3_last_insert_rowid(store_db(in->st));
        in->n_new_passages++;
        return PARE_OK;
    }
    /* stored before, by this run or an earlier one */
    s = store_stmt(in->st, "SELECT id FROM passages WHERE content_hash = ?1");
    if (!s || sqlite3_bind_blob(s, 1, pb->hash, 16, SQLITE_STATIC) || store_int(in->st, s, id) != 1)
        return store_fail(in->st, &in->err, "looking up a passage");
    return PARE_OK;
}

/* Passages per INSERT of store_passages: 1, 2, 4, ... 2^PASSAGES_LOG (store_stmt_rows). A
 * statement's step, reset and binding set-up were a third of a corpus passage's cost on the storing
 * thread, which the other threads wait for. OR IGNORE, not ON CONFLICT(content_hash) DO NOTHING:
 * a statement that may abort half-way keeps a journal of every page it changes, and each row
 * changes a page of the content_hash index (hashes: a different page a row); with OR IGNORE no
 * constraint aborts, so SQLite keeps none (4% of ingest's instructions on HotpotQA). The only
 * constraint a row can break is the hash's: bind_passage binds no NULL. */
#define PASSAGES_LOG 4
#define PASSAGES_HEAD                                                                              \
    "INSERT OR IGNORE INTO passages(ext_id, title, body, n_chars, n_bytes, content_hash) VALUES "
#define PASSAGES_ROW "(?, ?, ?, ?, ?, ?)"
#define PASSAGES_TAIL ""

/* Binds a passage to parameters b+1 .. b+6 of a passages INSERT, none of the NOT NULL columns
 * NULL (a zstd frame is never empty). Returns an SQLite code. */
static int bind_passage(sqlite3_stmt *s, int b, const struct qa_passage *p, const struct pbody *pb)
{
    int rc = sqlite3_bind_text(s, b + 1, p->ext_id, -1, SQLITE_STATIC);
    if (!rc) rc = sqlite3_bind_text(s, b + 2, p->title ? p->title : "", -1, SQLITE_STATIC);
    if (!rc && !pb->body.len) rc = SQLITE_MISUSE;
    if (!rc) rc = sqlite3_bind_blob(s, b + 3, pb->body.p, (int)pb->body.len, SQLITE_STATIC);
    if (!rc) rc = sqlite3_bind_int64(s, b + 4, pb->chars);
    if (!rc) rc = sqlite3_bind_int64(s, b + 5, (int64_t)p->text_len);
    if (!rc) rc = sqlite3_bind_blob(s, b + 6, pb->hash, 16, SQLITE_STATIC);
    return rc;
}

/*
 * Stores the passage records slots[0..n) (n <= 2^PASSAGES_LOG, each prepared without error),
 * in order, in statements of 2^k rows: a passage stored before is skipped as store_passage
 * skips it. Their ids are not needed (no question refers to them). Returns PARE_OK or
 * PARE_EFAIL.
 */
static int store_passages(struct ingest *in, struct slot *const *slots, int n)
{
    while (n) {
        int k = PASSAGES_LOG;
        while (1 << k > n) k--;
        sqlite3_stmt *s = store_stmt_rows(in->st, PASSAGES_HEAD, PASSAGES_ROW, PASSAGES_TAIL, k);
        if (!s) return store_fail(in->st, &in->err, "storing a passage");
        for (int i = 0; i < 1 << k; i++)
            if (bind_passage(s, 6 * i, &slots[i]->rec.ctx[0], &slots[i]->pb[0]))
                return store_fail(in->st, &in->err, "storing a passage");
        if (store_done(in->st, s) != PARE_OK)
            return store_fail(in->st, &in->err, "storing a passage");
        in->n_passages += 1 << k;
        in->n_new_passages += sqlite3_changes(store_db(in->st));
        slots += 1 << k;
        n -= 1 << k;
    }
    return PARE_OK;
}

/* Context links per INSERT of store_context: 1, 2, 4, ... 2^CONTEXT_LOG (store_stmt_rows). One
 * statement a link was half of a HotpotQA question's statements; a statement's step, reset and
 * binding set-up cost as much as the row's own B-tree work. */
#define CONTEXT_LOG 4
#define CONTEXT_HEAD                                                                               \
    "INSERT INTO question_passages(question_id, passage_id, position, is_gold) VALUES "
#define CONTEXT_ROW "(?, ?, ?, ?)"

/* Links question qid to its context passages in->pids[0..r->n_ctx), in statements of 2^k
 * rows. Returns PARE_OK or PARE_EFAIL. */
static int store_context(struct ingest *in, int64_t qid, const struct qa_record *r)
{
    size_t done = 0;
    while (done < r->n_ctx) {
        int k = CONTEXT_LOG;
        while ((size_t)1 << k > r->n_ctx - done) k--;
        sqlite3_stmt *s = store_stmt_rows(in->st, CONTEXT_HEAD, CONTEXT_ROW, "", k);
        if (!s) return store_fail(in->st, &in->err, "storing a question's context");
        for (int i = 0; i < 1 << k; i++, done++) {
            int b = 4 * i;
            if (sqlite3_bind_int64(s, b + 1, qid) || sqlite3_bind_int64(s, b + 2, in->pids[done]) ||
                sqlite3_bind_int64(s, b + 3, (int64_t)done) ||
                sqlite3_bind_int(s, b + 4, r->ctx[done].is_gold))
                return store_fail(in->st, &in->err, "storing a question's context");
        }
        if (store_done(in->st, s) != PARE_OK)
            return store_fail(in->st, &in->err, "storing a question's context");
    }
    return PARE_OK;
}

/*
 * The ids of the passages ctx[0..n) just given to one INSERT that stored `changes` of them. When
 * it stored all of them, they are the rowids before the last one stored: a new row's rowid is
 * one more than the table's largest (in->seq_pids: no rowid near the top of the range, where
 * SQLite would pick one at random), and the rows of one INSERT are stored in order. Otherwise
 * some were stored before: each is looked up by its hash.
 */
static int passage_ids(struct ingest *in, const struct pbody *pb, int n, int changes, int64_t *ids)
{
    if (in->seq_pids && changes == n) {
        int64_t last = sqlite3_last_insert_rowid(store_db(in->st));
        for (int i = 0; i < n; i++) ids[i] = last - (n - 1) + i;
        return PARE_OK;
    }
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *s = store_stmt(in->st, "SELECT id FROM passages WHERE content_hash = ?1");
        if (!s || sqlite3_bind_blob(s, 1, pb[i].hash, 16, SQLITE_STATIC) ||
            store_int(in->st, s, &ids[i]) != 1)
            return store_fail(in->st, &in->err, "looking up a passage");
    }
    return PARE_OK;
}

/*
 * Stores a question's context passages (those new) in statements of 2^k rows, as
 * store_passages stores corpus passages, and puts their ids in in->pids. Returns PARE_OK or
 * PARE_EFAIL.
 */
static int store_context_passages(struct ingest *in, const struct qa_record *r,
                                  const struct pbody *pb)
{
    size_t done = 0;
    while (done < r->n_ctx) {
        int k = PASSAGES_LOG;
        while ((size_t)1 << k > r->n_ctx - done) k--;
        sqlite3_stmt *s = store_stmt_rows(in->st, PASSAGES_HEAD, PASSAGES_ROW, PASSAGES_TAIL, k);
        if (!s) return store_fail(in->st, &in->err, "storing a passage");
        for (int i = 0; i < 1 << k; i++)
            if (bind_passage(s, 6 * i, &r->ctx[done + i], &pb[done + i]))
                return store_fail(in->st, &in->err, "storing a passage");
        if (store_done(in->st, s) != PARE_OK)
            return store_fail(in->st, &in->err, "storing a passage");
        int changes = sqlite3_changes(store_db(in->st));
        in->n_passages += 1 << k;
        in->n_new_passages += changes;
        if (passage_ids(in, pb + done, 1 << k, changes, in->pids + done) != PARE_OK)
            return PARE_EFAIL;
        done += (size_t)1 << k;
    }
    return PARE_OK;
}

/*
 * Stores one question with its context. Returns PARE_OK, PARE_EINPUT (a duplicate id in this
 * file: err says which line had it first) or PARE_EFAIL.
 */
static int store_question(struct ingest *in, int64_t dataset_id, struct qa_record *r,
                          const struct pbody *pb, long line)
{
    sqlite3_stmt *s = store_stmt(in->st, "INSERT INTO temp.ingest_seen(ext_id, line) "
                                         "VALUES (?1, ?2) ON CONFLICT DO NOTHING");
    if (!s || sqlite3_bind_text(s, 1, r->ext_id, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(s, 2, line) || store_done(in->st, s))
        return store_fail(in->st, &in->err, "checking question ids");
    if (sqlite3_changes(store_db(in->st)) == 0) {
        int64_t first = 0;
        s = store_stmt(in->st, "SELECT line FROM temp.ingest_seen WHERE ext_id = ?1");
        if (!s || sqlite3_bind_text(s, 1, r->ext_id, -1, SQLITE_STATIC) ||
            store_int(in->st, s, &first) < 0)
            return store_fail(in->st, &in->err, "checking question ids");
        sbuf_setf(&in->err, "duplicate question id '%s' (first seen at line %lld)", r->ext_id,
                  (long long)first);
        return PARE_EINPUT;
    }
    in->n_questions++;
    char *answers = json_dumps(r->answers, JSON_COMPACT);
    char *meta = r->meta ? json_dumps(r->meta, JSON_COMPACT) : NULL;
    if (!answers || (r->meta && !meta)) abort();
    s = store_stmt(in->st, "INSERT INTO questions(dataset_id, ext_id, question, answers, qtype, "
                           "meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                           "ON CONFLICT(dataset_id, ext_id) DO NOTHING");
    int rc = PARE_OK;
    if (!s || sqlite3_bind_int64(s, 1, dataset_id) ||
        sqlite3_bind_text(s, 2, r->ext_id, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 3, r->question, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 4, answers, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(s, 5, r->qtype, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 6, meta, -1, SQLITE_TRANSIENT) || store_done(in->st, s))
        rc = store_fail(in->st, &in->err, "storing a question");
    free(answers);
    free(meta);
    if (rc != PARE_OK) return rc;
    if (sqlite3_changes(store_db(in->st)) == 0) return PARE_OK; /* stored by an earlier run */
    in->n_new_questions++;
    int64_t qid = sqlite3_last_insert_rowid(store_db(in->st));
    if (r->n_ctx > in->cap_pids) {
        in->pids = xrealloc(in->pids, r->n_ctx * sizeof *in->pids);
        in->cap_pids = r->n_ctx;
    }
    if ((rc = store_context_passages(in, r, pb)) != PARE_OK) return rc;
    return store_context(in, qid, r);
}

static int reject(struct ingest *in, const char *source, const struct slot *sl)
{
    int rc = job_reject(&in->job, source, sl->line, sbuf_str(&sl->msg), sbuf_str(&sl->raw),
                        sl->raw.len, &in->err);
    if (rc == PARE_OK) in->n_rejected++;
    return rc;
}

static int dataset_id_for(struct ingest *in, const char *name, const char *source, int64_t *id)
{
    char ts[24];
    now_iso8601(ts);
    sqlite3_stmt *s = store_stmt(in->st, "INSERT INTO datasets(name, format, source, ingested_at) "
                                         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING");
    if (!s || sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, format_name(in->fmt), -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 3, source, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 4, ts, -1, SQLITE_TRANSIENT) || store_done(in->st, s))
        return store_fail(in->st, &in->err, "storing the dataset");
    s = store_stmt(in->st, "SELECT id, format FROM datasets WHERE name = ?1");
    if (!s || sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) || sqlite3_step(s) != SQLITE_ROW)
        return store_fail(in->st, &in->err, "reading the dataset");
    *id = sqlite3_column_int64(s, 0);
    int same = strcmp((const char *)sqlite3_column_text(s, 1), format_name(in->fmt)) == 0;
    sqlite3_reset(s);
    if (!same) {
        sbuf_setf(&in->err,
                  "%s: dataset '%s' already holds another format; name this one with "
                  "--dataset",
                  source, name);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/*
 * Reads the next raw record into sl. Returns 1, or 0 at the end of the file or when it cannot be
 * read further (then *fatal holds the message).
 */
static int read_record(struct reader *r, struct slot *sl, struct sbuf *fatal)
{
    long line = 0;
    int res = reader_next_raw(r, &line, fatal);
    if (res == READ_EOF) return 0;
    if (res == READ_FATAL) {
        if (!fatal->len) sbuf_adds(fatal, "read error");
        return 0;
    }
    reader_take_raw(r, &sl->raw);
    sl->line = line;
    return 1;
}

/*
 * Reads raw records into slots[n..), in file order, until there are BATCH records or `limit`
 * bytes of them (counting *bytes, the size of slots[0..n)). A file that cannot be read further
 * sets *fatal to the message; the records before it are still returned. Returns the new count.
 */
static int read_batch(struct reader *r, struct slot *slots, int n, size_t *bytes, size_t limit,
                      struct sbuf *fatal)
{
    while (n < BATCH && *bytes < limit && read_record(r, &slots[n], fatal))
        *bytes += slots[n++].raw.len;
    return n;
}

/*
 * The first batch of a file while thread 0 trains the dictionary: this thread reads and parses
 * records one at a time for as long as the training lasts (ZDICT's training cost as much as
 * parsing 1,500 HotpotQA questions, 600 since accel = 6; a 2 MiB batch is 300: this thread then
 * sat idle), within BATCH records and FIRST_BATCH_BYTES; then reads
 * the batch's remainder unparsed. slots[0..n) are read and parsed already. Returns the number of
 * records, *parsed of them parsed.
 */
static int read_while_training(struct ingest *in, struct reader *r, struct slot *slots, int n,
                               const char *path, int *trained, int *parsed, size_t *bytes)
{
    for (;;) {
        int done;
#pragma omp atomic read seq_cst
        done = *trained;
        if (done || in->fatal.len || n == BATCH || *bytes >= FIRST_BATCH_BYTES ||
            !read_record(r, &slots[n], &in->fatal))
            break;
        parse_slot(in, &slots[n], path);
        *bytes += slots[n++].raw.len;
    }
    *parsed = n;
    return in->fatal.len ? n : read_batch(r, slots, n, bytes, BATCH_BYTES, &in->fatal);
}

/* Adds the passages of the parsed records slots[0..n) to the dictionary sample as
 * sample_passages does (a record with an error adds none; parse_slot fails on none that
 * format_parse accepts). Returns 1 once the sample is complete. */
static int add_to_sample(struct dict_job *d, size_t *cap, const struct slot *slots, int n)
{
    for (int i = 0; i < n; i++) {
        if (d->n >= DICT_MAX_SAMPLES || d->samples.len >= DICT_MAX_BYTES) return 1;
        const struct slot *sl = &slots[i];
        for (size_t k = 0; sl->rc == PARE_OK && k < sl->rec.n_ctx && d->n < DICT_MAX_SAMPLES; k++) {
            xgrow((void **)&d->sizes, cap, d->n + 1, sizeof *d->sizes);
            sbuf_add(&d->samples, sl->rec.ctx[k].text, sl->rec.ctx[k].text_len);
            d->sizes[d->n++] = sl->rec.ctx[k].text_len;
        }
    }
    return d->n >= DICT_MAX_SAMPLES || d->samples.len >= DICT_MAX_BYTES;
}

/*
 * The dictionary sample from the first records of the first file, read into the first batch's
 * slots and parsed by every thread, a chunk at a time (sample_passages parsed them
 * on one thread while the others waited, and the batch parsed them again). When the file ends
 * (or the batch is full) before the sample is complete, sample_passages takes it again from
 * every file, as before. Returns the number of records read, all of them parsed.
 */
static int sample_first(struct ingest *in, struct reader *r, struct slot *slots, const char *path,
                        size_t *bytes)
{
    struct dict_job *d = &in->dict;
    size_t cap = 0;
    int n = 0, complete = 0;
    while (!complete && n < BATCH && !in->fatal.len) {
        int end = n + SAMPLE_CHUNK < BATCH ? n + SAMPLE_CHUNK : BATCH, got = n, claimed = 0;
        size_t limit = *bytes + SAMPLE_CHUNK_BYTES;
        while (got < end && *bytes < limit && read_record(r, &slots[got], &in->fatal))
            *bytes += slots[got++].raw.len;
        if (got == n) break;
#pragma omp parallel num_threads(in->n_codecs)
        prepare_claimed(in, slots + n, got - n, path, NULL, &claimed);
        complete = add_to_sample(d, &cap, slots + n, got - n);
        n = got;
    }
    if (!complete) {
        free(d->sizes);
        d->sizes = NULL;
        sbuf_reset(&d->samples);
        d->n = sample_passages(in, in->files, in->nfiles, &d->samples, &d->sizes);
    }
    return n;
}

/*
 * Reads and prepares the first batch of a file into slots; *n is its size. When the dictionary
 * is still to be trained, its sample is taken from the first records (sample_first), then
 * thread 0 trains it while another reads and parses (read_while_training), then all compress.
 * The next batches start no smaller than half this one (in->batch_bytes): storing a large first
 * batch while the others prepare a small one would leave them idle.
 */
static int prepare_first(struct ingest *in, struct reader *r, struct slot *slots, const char *path,
                         int *n)
{
    int rc = PARE_OK, claimed = 0, trained = 0, parsed = 0;
    size_t bytes = 0;
    if (!in->dict.pending) {
        *n = read_batch(r, slots, 0, &bytes, BATCH_BYTES, &in->fatal);
#pragma omp parallel num_threads(in->n_codecs)
        prepare_claimed(in, slots, *n, path, in->codecs[omp_get_thread_num()], &claimed);
        in->batch_bytes = BATCH_BYTES;
        return PARE_OK;
    }
    int sampled = sample_first(in, r, slots, path, &bytes);
#pragma omp parallel num_threads(in->n_codecs)
    {
        /* the team may be smaller than asked for */
        int t = omp_get_thread_num(), reader = omp_get_num_threads() > 1 ? 1 : 0;
        if (t == 0) {
            rc = train_dict(in);
#pragma omp atomic write seq_cst
            trained = 1;
        }
        if (t == reader)
            *n = read_while_training(in, r, slots, sampled, path, &trained, &parsed, &bytes);
    }
    in->batch_bytes = bytes / 2 > BATCH_BYTES ? bytes / 2 : BATCH_BYTES;
    if (rc != PARE_OK) return rc;
    int total = *n;
#pragma omp parallel for schedule(dynamic, PREPARE_CHUNK) num_threads(in->n_codecs)
    for (int i = 0; i < total; i++) {
        if (i >= parsed) parse_slot(in, &slots[i], path);
        compress_slot(&slots[i], in->codecs[omp_get_thread_num()]);
    }
    return PARE_OK;
}

/* How many of slots[0..n) from the first, at most 2^PASSAGES_LOG, are passage records prepared
 * without error (the rows store_passages takes at once). */
static int passage_run(const struct slot *slots, int n)
{
    int k = 0;
    while (k < n && k < 1 << PASSAGES_LOG && slots[k].rc == PARE_OK &&
           slots[k].rec.kind != QA_QUESTION)
        k++;
    return k;
}

/* Stores prepared records in file order. Bad records stop the file, or with --skip-bad go to
 * `rejects`. Returns PARE_OK, PARE_EINPUT or PARE_EFAIL with in->err set. */
static int store_batch(struct ingest *in, struct slot *slots, int n, const char *path,
                       const char *source, int64_t dsid)
{
    int rc = PARE_OK;
    for (int i = 0; i < n && rc == PARE_OK; i++) {
        struct slot *sl = &slots[i];
        int run = passage_run(slots + i, n - i);
        if (run > 1) { /* consecutive good passage records: stored a few rows a statement */
            struct slot *group[1 << PASSAGES_LOG];
            for (int k = 0; k < run; k++) group[k] = &slots[i + k];
            if ((rc = store_passages(in, group, run)) != PARE_OK) return rc;
            in->n_records += run;
            in->total_done += run;
            i += run - 1;
            continue;
        }
        in->n_records++;
        if (sl->rc == PARE_EFAIL) {
            sbuf_setf(&in->err, "%s", sl->msg.p);
            return PARE_EFAIL;
        }
        if (sl->rc == PARE_OK) {
            if (sl->rec.kind == QA_QUESTION) {
                rc = store_question(in, dsid, &sl->rec, sl->pb, sl->line);
            } else {
                int64_t pid;
                rc = store_passage(in, &sl->rec.ctx[0], &sl->pb[0], &pid);
            }
            if (rc == PARE_EINPUT) {
                sbuf_setf(&sl->msg, "%s:%ld: %s", path, sl->line, sbuf_str(&in->err));
                sl->rc = PARE_EINPUT;
                rc = PARE_OK;
            }
            if (rc != PARE_OK) return rc;
        }
        if (sl->rc == PARE_EINPUT) {
            if (!in->skip_bad) {
                sbuf_setf(&in->err, "%s", sl->msg.p);
                return PARE_EINPUT;
            }
            job_say(&in->job, "%s (skipped)", sl->msg.p);
            rc = reject(in, source, sl);
        }
        in->total_done++;
    }
    return rc;
}

/* Waits until *flag is set by another thread of the team. */
static void wait_for(int *flag)
{
    for (;;) {
        int v;
#pragma omp atomic read seq_cst
        v = *flag;
        if (v) return;
        sched_yield();
    }
}

/*
 * Stores batch cur (thread 0) while the team reads batch next (thread 1, or 0 with one thread:
 * reading a batch is a few milliseconds, serial while the other thread waited) and then
 * prepares it. Returns the number of records read into next.
 */
static int store_and_prepare(struct ingest *in, struct slot *cur, int ncur, struct slot *next,
                             int read_next, struct reader *r, const char *path, const char *source,
                             int64_t dsid, int *rc)
{
    int nnext = 0, ready = 0, claimed = 0; /* claimed: next record to prepare (atomic capture) */
#pragma omp parallel num_threads(in->n_codecs)
    {
        /* the team may be smaller than asked for */
        int t = omp_get_thread_num(), reader = omp_get_num_threads() > 1 ? 1 : 0;
        if (t == 0) *rc = store_batch(in, cur, ncur, path, source, dsid);
        if (t == reader) {
            size_t bytes = 0;
            if (read_next) nnext = read_batch(r, next, 0, &bytes, in->batch_bytes, &in->fatal);
            /* back to the usual size, halving from a large first batch */
            in->batch_bytes = in->batch_bytes / 2 > BATCH_BYTES ? in->batch_bytes / 2 : BATCH_BYTES;
#pragma omp atomic write seq_cst
            ready = 1;
        }
        wait_for(&ready);
        prepare_claimed(in, next, nnext, path, in->codecs[t], &claimed);
    }
    return nnext;
}

/*
 * Parses, converts, hashes, compresses and stores every record of r in file order. Two batches
 * are in flight: while thread 0 stores batch k, the other threads read and prepare batch k+1,
 * and thread 0 joins them when it is done. (OpenMP tasks balanced this worse: a thread often
 * sat idle at the end of the batch.)
 */
static int ingest_records(struct ingest *in, struct reader *r, const char *path, const char *source,
                          int64_t dsid)
{
    struct slot *cur = in->slots, *next = in->slots + BATCH;
    int ncur = 0;
    int rc = prepare_first(in, r, cur, path, &ncur);
    while (rc == PARE_OK && ncur > 0) {
        int cur_fatal = in->fatal.len > 0;
        int nnext = store_and_prepare(in, cur, ncur, next, !cur_fatal, r, path, source, dsid, &rc);
        if (rc != PARE_OK) return rc;
        if (cur_fatal) break;
        job_progress(&in->job, "records", (uint64_t)in->total_done, 0, reader_pos(r),
                     reader_size(r));
        struct slot *t = cur;
        cur = next;
        next = t;
        ncur = nnext;
    }
    return rc;
}

/* Adds the file's counts to the summary (reported once the transaction is committed). */
static void file_done(struct ingest *in, const char *path, const char *dataset, json_t *summary)
{
    in->total_rejected += in->n_rejected;
    json_t *fs = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "file", path, "dataset", dataset, "records",
        (json_int_t)in->n_records, "questions", (json_int_t)in->n_questions, "new_questions",
        (json_int_t)in->n_new_questions, "passages", (json_int_t)in->n_passages, "new_passages",
        (json_int_t)in->n_new_passages, "rejected", (json_int_t)in->n_rejected);
    if (!fs || json_array_append_new(summary, fs)) abort();
}

/* The counts of every file, once they are stored. */
static void say_counts(struct ingest *in, json_t *summary)
{
    size_t i;
    json_t *f;
    json_array_foreach(summary, i, f)
    {
#define N(key) (long long)json_integer_value(json_object_get(f, key))
        job_say(&in->job,
                "%s: %lld records, %lld questions (%lld new), %lld new passages, %lld rejected",
                json_string_value(json_object_get(f, "file")), N("records"), N("questions"),
                N("new_questions"), N("new_passages"), N("rejected"));
#undef N
    }
}

/* Ingests one file. On PARE_EINPUT / PARE_EFAIL, in->err holds the message. */
static int ingest_file(struct ingest *in, const char *path, const char *dataset, json_t *summary)
{
    struct reader *r = NULL;
    int rc = reader_open(path, &r, &in->err);
    if (rc != PARE_OK) return rc;
    char *source = realpath(path, NULL);
    if (!source) source = xstrdup(path);
    int64_t dsid = 0;
    in->n_records = in->n_questions = in->n_new_questions = 0;
    in->n_passages = in->n_new_passages = in->n_rejected = 0;
    sbuf_reset(&in->fatal);
    rc = dataset_id_for(in, dataset, source, &dsid);
    if (rc == PARE_OK && store_exec(in->st, "DELETE FROM temp.ingest_seen") != PARE_OK)
        rc = store_fail(in->st, &in->err, "resetting the id check");
    if (rc == PARE_OK) rc = ingest_records(in, r, path, source, dsid);
    if (rc == PARE_OK && in->fatal.len) {
        sbuf_setf(&in->err, "%s", in->fatal.p);
        rc = PARE_EINPUT;
    }
    if (rc == PARE_OK) file_done(in, path, dataset, summary);
    free(source);
    reader_close(r);
    return rc;
}

struct ingest_opts {
    const char *format, *dataset;
    int skip_bad, json;
    int64_t level;
};

/* Checks the option values into in; prints what is wrong. */
static int check_options(const struct ingest_opts *o, struct ingest *in)
{
    if (!o->format) {
        fprintf(stderr, "pare ingest: --format is required (one of: %s)\n", format_names());
        return PARE_EUSAGE;
    }
    if (format_from_name(o->format, &in->fmt) != 0) {
        fprintf(stderr, "pare ingest: unknown --format '%s' (known: %s)\n", o->format,
                format_names());
        return PARE_EUSAGE;
    }
    if (o->level < 1 || o->level > 19) {
        fprintf(stderr, "pare ingest: --zstd-level must be between 1 and 19\n");
        return PARE_EUSAGE;
    }
    in->skip_bad = o->skip_bad;
    return PARE_OK;
}

/* One codec per thread and the two batches of slots. */
static void ingest_init(struct ingest *in)
{
    in->n_codecs = omp_get_max_threads();
    if (in->n_codecs < 1) in->n_codecs = 1;
    in->codecs = xcalloc((size_t)in->n_codecs, sizeof *in->codecs);
    for (int i = 0; i < in->n_codecs; i++) in->codecs[i] = blob_codec_new(NULL, NULL);
    in->slots = xcalloc(2 * BATCH, sizeof *in->slots);
}

/* Frees what a slot holds. */
static void slot_free(struct slot *sl)
{
    for (size_t k = 0; k < sl->cap_pb; k++) sbuf_free(&sl->pb[k].body);
    free(sl->pb);
    sbuf_free(&sl->raw);
    sbuf_free(&sl->msg);
    qa_record_free(&sl->rec);
    json_decref(sl->json);
    jsonfast_arena_free(&sl->arena);
}

static void ingest_free(struct ingest *in)
{
    for (int i = 0; i < in->n_codecs; i++) blob_codec_free(in->codecs[i]);
    free(in->codecs);
    for (int i = 0; in->slots && i < 2 * BATCH; i++) slot_free(&in->slots[i]);
    free(in->slots);
    free(in->pids);
    free(in->dict.sizes);
    sbuf_free(&in->dict.samples);
    sbuf_free(&in->err);
    sbuf_free(&in->fatal);
}

/*
 * Whether the passages this run stores get rowids one past the largest (in->seq_pids): SQLite
 * gives a new row the largest rowid plus one unless that is the top of the range (then one at
 * random), and one run adds far fewer than 2^40 rows.
 */
static int check_pid_range(struct ingest *in)
{
    int64_t max = 0;
    sqlite3_stmt *s = store_stmt(in->st, "SELECT coalesce(max(id), 0) FROM passages");
    if (!s || store_int(in->st, s, &max) != 1)
        return store_fail(in->st, &in->err, "reading passages");
    in->seq_pids = max < INT64_MAX - ((int64_t)1 << 40);
    return PARE_OK;
}

/* Every file, in one transaction (committed by the caller). */
static int ingest_all(struct ingest *in, const struct ingest_opts *o, char **files, int nfiles,
                      json_t *summary)
{
    int rc = store_exec(in->st, "CREATE TEMP TABLE IF NOT EXISTS ingest_seen("
                                "ext_id TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID");
    if (rc != PARE_OK) return store_fail(in->st, &in->err, "creating a temporary table");
    /* a bulk transaction: see store_begin_bulk (the WAL checkpoint was a sixth of a 1M ingest) */
    if (store_begin_bulk(in->st) != PARE_OK) return store_fail(in->st, &in->err, "BEGIN");
    rc = setup_dict(in, files, nfiles, (int)o->level);
    if (rc == PARE_OK) rc = check_pid_range(in);
    for (int i = 0; i < nfiles && rc == PARE_OK; i++) {
        /* default name: format/stem, so that musique/train and hotpotqa/train stay apart */
        struct sbuf name = {0};
        char *stem = path_stem(files[i]);
        if (o->dataset)
            sbuf_adds(&name, o->dataset);
        else
            sbuf_addf(&name, "%s/%s", format_name(in->fmt), stem);
        rc = ingest_file(in, files[i], name.p, summary);
        free(stem);
        sbuf_free(&name);
    }
    if (store_end_bulk(in->st, rc == PARE_OK) != PARE_OK && rc == PARE_OK)
        rc = store_fail(in->st, &in->err, "cannot commit");
    return rc;
}

/*
 * Rolls back and explains a failure: bad input as "file:line: what" then what to do, any other
 * failure as "pare ingest: what failed; nothing was stored". After a commit, prints the counts
 * and the --json summary.
 */
static int report(struct ingest *in, const struct pare_ctx *ctx, const struct ingest_opts *o,
                  int rc, json_t *summary)
{
    if (rc == PARE_EINPUT) {
        store_rollback(in->st);
        fprintf(stderr, "%s\n", sbuf_str(&in->err));
        if (!ctx->quiet)
            fprintf(stderr, "pare ingest: nothing was stored%s\n",
                    o->skip_bad ? ""
                                : " (use --skip-bad to store the good records and keep the "
                                  "bad ones in `rejects`)");
        return rc;
    }
    if (rc != PARE_OK) {
        store_rollback(in->st);
        fprintf(stderr, "pare ingest: %s; nothing was stored\n", sbuf_str(&in->err));
        return rc;
    }
    say_counts(in, summary);
    if (o->json) {
        json_t *out =
            json_pack("{s:s, s:O, s:I, s:I}", "db", pare_db_path(ctx), "files", summary, "records",
                      (json_int_t)in->total_done, "rejected", (json_int_t)in->total_rejected);
        if (!out || json_dumpf(out, stdout, JSON_COMPACT) != 0) rc = PARE_EFAIL;
        fputc('\n', stdout);
        json_decref(out);
    }
    return rc;
}

int job_ingest(struct pare_ctx *ctx, int argc, char **argv)
{
    struct ingest_opts o = {0};
    struct ingest in = {0};
    const struct opt opts[] = {
        {"format", OPT_STRING, &o.format, NULL, "F",
         "input format: hotpotqa, 2wikimultihopqa, musique, ircot, flashrag, generic (required)"},
        {"dataset", OPT_STRING, &o.dataset, NULL, "NAME",
         "dataset name (default: FORMAT/STEM, STEM being the file name without extensions)"},
        {"skip-bad", OPT_FLAG, &o.skip_bad, NULL, NULL,
         "store bad records in `rejects` and go on, instead of stopping"},
        {"zstd-level", OPT_INT, &o.level, "3", "N", "zstd level for passage bodies (1-19)"},
        {"json", OPT_FLAG, &o.json, NULL, NULL, "print a JSON summary on stdout"},
        {"id-key", OPT_STRING, &in.keys.id, "id", "KEY", "generic: question or passage id"},
        {"question-key", OPT_STRING, &in.keys.question, "question", "KEY", "generic: question"},
        {"answers-key", OPT_STRING, &in.keys.answers, "answers", "KEY",
         "generic: answer string or array of aliases"},
        {"type-key", OPT_STRING, &in.keys.type, "type", "KEY", "generic: question type"},
        {"context-key", OPT_STRING, &in.keys.context, "contexts", "KEY",
         "generic: array of context passages"},
        {"title-key", OPT_STRING, &in.keys.title, "title", "KEY", "generic: passage title"},
        {"text-key", OPT_STRING, &in.keys.text, "text", "KEY", "generic: passage text"},
        {"gold-key", OPT_STRING, &in.keys.gold, "is_gold", "KEY",
         "generic: gold flag of a context passage"},
        {NULL},
    };
    const struct cli cli = {
        "ingest",
        "FILE...",
        "Load question-answer datasets and passage corpora (JSON array or JSON Lines, plain, "
        ".gz or .zst) into the database.",
        "A generic record with the question key is a question (its context passages under the\n"
        "context key); one without it is a corpus passage. Keys may be dotted paths (a.b).\n"
        "The whole command is one transaction: on a bad record nothing is stored, unless\n"
        "--skip-bad is given.",
        opts,
        1,
        -1};
    char **files;
    int nfiles, rc;
    if (cli_files(&cli, ctx, argc, argv, &files, &nfiles, &rc)) return rc;
    /* every file must be readable before anything is written */
    if ((rc = check_options(&o, &in)) != PARE_OK || (rc = job_check_files(files, nfiles))) {
        free(files);
        return rc;
    }
    if (job_open(&in.job, ctx, "ingest", 1, argc, argv, &in.st) != PARE_OK) {
        free(files);
        return PARE_EFAIL;
    }
    ingest_init(&in);
    json_t *summary = json_array();
    if (!summary) abort();
    /* Foreign keys off for the transaction (store_fk_suspend): a question's dataset, and a
     * context link's question and passage, are rows this run has just stored or found; the
     * checks were two lookups a link. On again after the commit or the rollback. */
    rc = store_fk_suspend(in.st) == PARE_OK ? ingest_all(&in, &o, files, nfiles, summary)
                                            : store_fail(in.st, &in.err, "PRAGMA foreign_keys");
    rc = report(&in, ctx, &o, rc, summary);
    if (store_fk_resume(in.st) != PARE_OK && rc == PARE_OK)
        rc = store_fail(in.st, &in.err, "PRAGMA foreign_keys");
    rc = job_end(&in.job, rc, in.total_done - in.total_rejected, in.total_rejected,
                 rc == PARE_OK ? NULL : sbuf_str(&in.err), summary);
    ingest_free(&in);
    store_close(in.st);
    free(files);
    return rc;
}
