/* index_fixture.h - a small database of passages and questions for the index module tests. */
#ifndef PARE_TEST_INDEX_FIXTURE_H
#define PARE_TEST_INDEX_FIXTURE_H

#include "helpers.h"

#include "stores/store.h"

struct fixture {
    char *path;
    struct store *st;
    struct blob_codec *codec; /* no dictionary: frames any codec reads */
    int64_t dataset;
};

/* A fresh database named `name` in $TMPDIR, with one dataset. */
static inline void fx_open(struct fixture *f, const char *name)
{
    struct sbuf err = {0};
    f->path = tmp_path(name);
    rm_db(f->path);
    if (store_open(f->path, STORE_CREATE, &f->st, &err) != PARE_OK) fail_msg("%s", err.p);
    f->codec = blob_codec_new(NULL, NULL);
    assert_int_equal(store_exec(f->st, "INSERT INTO datasets(name, format, source, ingested_at) "
                                       "VALUES ('t', 'generic', 'unit', '2025-01-01T00:00:00Z')"),
                     PARE_OK);
    f->dataset = sqlite3_last_insert_rowid(store_db(f->st));
    sbuf_free(&err);
}

static inline void fx_close(struct fixture *f)
{
    blob_codec_free(f->codec);
    store_close(f->st);
    rm_db(f->path);
    free(f->path);
}

/* Adds a passage; returns its id. */
static inline int64_t fx_passage(struct fixture *f, const char *title, const char *text)
{
    struct sbuf z = {0}, err = {0}, key = {0};
    assert_int_equal(blob_compress(f->codec, text, strlen(text), &z, &err), PARE_OK);
    sbuf_addf(&key, "%s\x1f%s", title, text);
    sqlite3_stmt *s = store_stmt(f->st, "INSERT INTO passages(title, body, n_chars, n_bytes, "
                                        "content_hash) VALUES (?1, ?2, ?3, ?3, ?4)");
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_text(s, 1, title, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(s, 2, z.p, (int)z.len, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(s, 3, (int64_t)strlen(text)), SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(s, 4, key.p, (int)key.len, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(store_done(f->st, s), PARE_OK);
    sbuf_free(&z);
    sbuf_free(&err);
    sbuf_free(&key);
    return sqlite3_last_insert_rowid(store_db(f->st));
}

/* Adds a question with answer `answer` whose context is ctx[0..n) (gold[i] flags); its id. */
static inline int64_t fx_question(struct fixture *f, const char *q, const char *answer,
                                  const int64_t *ctx, const int *gold, int n)
{
    struct sbuf ans = {0}, ext = {0};
    sbuf_addf(&ans, "[\"%s\"]", answer);
    sbuf_addf(&ext, "q-%s", q);
    sqlite3_stmt *s = store_stmt(f->st, "INSERT INTO questions(dataset_id, ext_id, question, "
                                        "answers) VALUES (?1, ?2, ?3, ?4)");
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_int64(s, 1, f->dataset), SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(s, 2, ext.p, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(s, 3, q, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(s, 4, ans.p, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(store_done(f->st, s), PARE_OK);
    int64_t qid = sqlite3_last_insert_rowid(store_db(f->st));
    for (int i = 0; i < n; i++) {
        s = store_stmt(f->st, "INSERT INTO question_passages(question_id, passage_id, position, "
                              "is_gold) VALUES (?1, ?2, ?3, ?4)");
        assert_non_null(s);
        assert_int_equal(sqlite3_bind_int64(s, 1, qid), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int64(s, 2, ctx[i]), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int(s, 3, i), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int(s, 4, gold ? gold[i] : 0), SQLITE_OK);
        assert_int_equal(store_done(f->st, s), PARE_OK);
    }
    sbuf_free(&ans);
    sbuf_free(&ext);
    return qid;
}

/* The passages of the small world most tests use: ids into out[0..8). */
static inline void fx_world(struct fixture *f, int64_t out[8])
{
    static const char *const p[8][2] = {
        {"Vorlen", "Vorlen is a city on the river Dra, founded by settlers from Kamira."},
        {"Kamira", "Kamira is a mountain town known for its copper mines and markets."},
        {"Ada Brenn", "Ada Brenn was a film director born in Vorlen in 1931."},
        {"The Glass Harbour", "The Glass Harbour is a 1962 film directed by Ada Brenn."},
        {"Tomas Ilk", "Tomas Ilk was a novelist born in Kamira in 1944."},
        {"Salt Roads", "Salt Roads is a novel by Tomas Ilk about copper traders."},
        {"River Dra", "The Dra is a river that flows through Vorlen to the sea."},
        {"Copper", "Copper is a metal mined in mountain towns and traded on salt roads."},
    };
    for (int i = 0; i < 8; i++) out[i] = fx_passage(f, p[i][0], p[i][1]);
}

#endif
