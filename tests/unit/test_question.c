/* test_question.c - loading questions with their candidates, one at a time and many at once. */
#include "helpers.h"

#include <sqlite3.h>

#include "pipeline/question.h"
#include "stores/blob.h"

#define N_PASSAGES (JUDGE_MAX_CANDIDATES + 4)

static void exec_ok(struct store *st, const char *sql)
{
    assert_int_equal(store_exec(st, sql), PARE_OK);
}

/* Candidate (rid, qid, rank) -> passage pid. */
static void candidate(struct store *st, int rid, int qid, int rank, int pid)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO candidates(retrieval_id, question_id, "
                                     "passage_id, rank, score) VALUES (?1, ?2, ?3, ?4, 1.0)");
    assert_non_null(s);
    assert_int_equal(sqlite3_bind_int(s, 1, rid), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(s, 2, qid), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(s, 3, pid), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(s, 4, rank), SQLITE_OK);
    assert_int_equal(store_done(st, s), PARE_OK);
}

/*
 * Questions 1..6 of retrieval 1: q1 three candidates (stored out of rank order), q2 none, q3
 * more than JUDGE_MAX_CANDIDATES, q4 two, q5 one, q6 one; retrieval 2 gives q1 and q5 other
 * candidates. Passage i's title is "t<i>" (passage 1's is empty), its body the zstd frame of
 * "body <i>".
 */
static struct store *fixture(const char *path)
{
    struct store *st;
    struct sbuf err = {0};
    rm_db(path);
    assert_int_equal(store_open(path, STORE_CREATE, &st, &err), PARE_OK);
    exec_ok(st, "INSERT INTO datasets(id, name, format, source, ingested_at) VALUES "
                "(1, 'd', 'generic', 'x', 'now')");
    exec_ok(st, "INSERT INTO indexes(id, path, factory, metric, dim, embedder, n_vectors, "
                "built_at, checksum) VALUES (1, 'p', 'Flat', 'ip', 8, '{}', 0, 'now', 'c')");
    exec_ok(st, "INSERT INTO retrievals(id, index_id, scope, k, with_answer, rerank, created_at) "
                "VALUES (1, 1, 'context', 10, 0, 0, 'now'), (2, 1, 'corpus', 10, 0, 0, 'now')");
    for (int q = 1; q <= 6; q++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO questions(id, dataset_id, ext_id, question, answers) VALUES "
                 "(%d, 1, 'q%d', 'question %d?', '[\"answer %d\"]')",
                 q, q, q, q);
        exec_ok(st, sql);
    }
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    for (int i = 1; i <= N_PASSAGES; i++) {
        char text[32], title[32];
        struct sbuf z = {0};
        snprintf(text, sizeof text, "body %d", i);
        snprintf(title, sizeof title, i == 1 ? "" : "t%d", i);
        assert_int_equal(blob_compress(c, text, strlen(text), &z, &err), PARE_OK);
        sqlite3_stmt *s = store_stmt(st, "INSERT INTO passages(id, title, body, n_chars, n_bytes, "
                                         "content_hash) VALUES (?1, ?2, ?3, 1, 1, ?1)");
        assert_non_null(s);
        assert_int_equal(sqlite3_bind_int(s, 1, i), SQLITE_OK);
        assert_int_equal(sqlite3_bind_text(s, 2, title, -1, SQLITE_TRANSIENT), SQLITE_OK);
        assert_int_equal(sqlite3_bind_blob(s, 3, z.p, (int)z.len, SQLITE_TRANSIENT), SQLITE_OK);
        assert_int_equal(store_done(st, s), PARE_OK);
        sbuf_free(&z);
    }
    blob_codec_free(c);
    candidate(st, 1, 1, 3, 7);
    candidate(st, 1, 1, 1, 1);
    candidate(st, 1, 1, 2, 5);
    for (int r = 1; r <= JUDGE_MAX_CANDIDATES + 2; r++) candidate(st, 1, 3, r, r);
    candidate(st, 1, 4, 1, 2);
    candidate(st, 1, 4, 2, 3);
    candidate(st, 1, 5, 1, 9);
    candidate(st, 1, 6, 1, 4);
    candidate(st, 2, 1, 1, 8);
    candidate(st, 2, 5, 1, 6);
    sbuf_free(&err);
    return st;
}

/* a and b hold the same question, candidates and bodies. */
static void assert_same(const struct question *a, const struct question *b)
{
    assert_int_equal(a->q.id, b->q.id);
    assert_string_equal(a->q.question, b->q.question);
    assert_string_equal(a->answers, b->answers);
    assert_int_equal(a->q.n, b->q.n);
    assert_int_equal(a->more, b->more);
    assert_ptr_equal(a->q.p, a->p);
    for (int i = 0; i < a->q.n; i++) {
        assert_int_equal(a->p[i].id, b->p[i].id);
        assert_string_equal(a->p[i].title, b->p[i].title);
        assert_int_equal(a->zbody[i].len, b->zbody[i].len);
        assert_memory_equal(a->zbody[i].p, b->zbody[i].p, a->zbody[i].len);
    }
}

static void test_read_many_matches_read(void **state)
{
    (void)state;
    char *path = tmp_path("q1.db");
    struct store *st = fixture(path);
    struct sbuf err = {0};
    struct question one = {0}, many[4];
    memset(many, 0, sizeof many);
    struct question *qs[4] = {&many[0], &many[1], &many[2], &many[3]};
    /* q2 (no candidates) and q4 lie between the questions asked for and are left out; the
     * same buffers are read twice, as mine reuses them */
    const int64_t ids[4] = {1, 3, 5, 6};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(question_read_many(st, 1, ids, qs, 4, &err), PARE_OK);
        for (int k = 0; k < 4; k++) {
            assert_int_equal(question_read(st, ids[k], 1, 0, &one, &err), PARE_OK);
            assert_same(&many[k], &one);
        }
    }
    /* what was read: ranks in order, the retrieval's own candidates, the title of passage 1
     * empty, the candidates past the limit counted */
    assert_int_equal(many[0].q.n, 3);
    assert_int_equal(many[0].p[0].id, 1);
    assert_string_equal(many[0].p[0].title, "");
    assert_int_equal(many[0].p[1].id, 5);
    assert_string_equal(many[0].p[1].title, "t5");
    assert_int_equal(many[0].p[2].id, 7);
    assert_int_equal(many[1].q.n, JUDGE_MAX_CANDIDATES);
    assert_int_equal(many[1].more, 2);
    assert_int_equal(many[2].q.n, 1);
    assert_int_equal(many[2].p[0].id, 9);
    assert_string_equal(many[3].q.question, "question 6?");
    /* the bodies decode */
    struct blob_codec *c = blob_codec_new(NULL, NULL);
    assert_int_equal(question_decode(&many[0], c, &err), PARE_OK);
    assert_string_equal(many[0].p[1].text, "body 5");
    /* retrieval 2's candidates of q1 and q5 */
    assert_int_equal(question_read_many(st, 2, (const int64_t[]){1, 5}, qs, 2, &err), PARE_OK);
    assert_int_equal(many[0].q.n, 1);
    assert_int_equal(many[0].p[0].id, 8);
    assert_int_equal(many[1].q.n, 1);
    assert_int_equal(many[1].p[0].id, 6);
    blob_codec_free(c);
    question_free(&one);
    for (int k = 0; k < 4; k++) question_free(&many[k]);
    store_close(st);
    rm_db(path);
    free(path);
    sbuf_free(&err);
}

static void test_read_many_missing_question(void **state)
{
    (void)state;
    char *path = tmp_path("q2.db");
    struct store *st = fixture(path);
    struct sbuf err = {0};
    struct question a = {0}, b = {0};
    struct question *qs[2] = {&a, &b};
    assert_int_equal(question_read_many(st, 1, (const int64_t[]){4, 99}, qs, 2, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "question 99 is not in the database");
    assert_int_equal(question_read(st, 42, 1, 0, &a, &err), PARE_EFAIL);
    assert_contains(sbuf_str(&err), "question 42");
    /* nothing to read is no error */
    assert_int_equal(question_read_many(st, 1, NULL, qs, 0, &err), PARE_OK);
    question_free(&a);
    question_free(&b);
    store_close(st);
    rm_db(path);
    free(path);
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_many_matches_read),
        cmocka_unit_test(test_read_many_missing_question),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
