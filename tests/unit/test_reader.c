/* test_reader.c - record splitting, line numbers, compression and every malformed input. */
#include "helpers.h"

#include <zlib.h>
#include <zstd.h>

#include "common/reader.h"

struct got {
    int results[16];
    long lines[16];
    char errs[16][256];
    int n;
};

/* Reads the whole file, recording each result, line and message. */
static void read_all(const char *path, struct got *g)
{
    struct reader *r;
    struct sbuf err = {0};
    memset(g, 0, sizeof *g);
    assert_int_equal(reader_open(path, &r, &err), PARE_OK);
    for (;;) {
        json_t *rec;
        long line;
        int res = reader_next(r, &rec, &line, &err);
        assert_true(g->n < 16);
        g->results[g->n] = res;
        g->lines[g->n] = line;
        snprintf(g->errs[g->n], sizeof g->errs[g->n], "%s",
                 res == READ_RECORD ? "" : sbuf_str(&err));
        g->n++;
        json_decref(rec);
        if (res == READ_EOF || res == READ_FATAL) break;
    }
    reader_close(r);
    sbuf_free(&err);
}

static void test_jsonl_lines_and_blank_lines(void **state)
{
    (void)state;
    const char *text = "{\"a\":1}\r\n\n   \n{\"a\":2}\n{\"a\":3}";
    char *p = tmp_file("l.jsonl", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.results[0], READ_RECORD);
    assert_int_equal(g.lines[0], 1);
    assert_int_equal(g.lines[1], 4);
    assert_int_equal(g.lines[2], 5);
    assert_int_equal(g.results[3], READ_EOF);
    remove(p);
    free(p);
}

/* reader_take_raw moves each record's text out (lines and arrays), the reader going on with
 * the buffer it is given back. */
static void test_take_raw(void **state)
{
    (void)state;
    const char *files[][2] = {{"t.jsonl", "{\"a\":1}\r\n\n{\"b\": \"long text\"}\n{}\n"},
                              {"t.json", "[{\"a\":1},\n {\"b\": \"long text\"}, {}]"}};
    const char *want[] = {"{\"a\":1}", "{\"b\": \"long text\"}", "{}"};
    for (size_t f = 0; f < 2; f++) {
        char *p = tmp_file(files[f][0], files[f][1], strlen(files[f][1]));
        struct reader *r;
        struct sbuf err = {0}, slots[2] = {{0}};
        assert_int_equal(reader_open(p, &r, &err), PARE_OK);
        for (size_t i = 0; i < 3; i++) {
            long line;
            size_t len;
            assert_int_equal(reader_next_raw(r, &line, &err), READ_RECORD);
            reader_take_raw(r, &slots[i % 2]);
            assert_string_equal(sbuf_str(&slots[i % 2]), want[i]);
            assert_int_equal(slots[i % 2].len, strlen(want[i]));
            assert_string_equal(reader_raw(r, &len), "");
            assert_int_equal(len, 0);
        }
        long line;
        assert_int_equal(reader_next_raw(r, &line, &err), READ_EOF);
        reader_close(r);
        sbuf_free(&slots[0]);
        sbuf_free(&slots[1]);
        sbuf_free(&err);
        remove(p);
        free(p);
    }
}

static void test_array_elements_get_their_start_line(void **state)
{
    (void)state;
    const char *text = "[\n  {\"a\": \"x,]}\"},\n  {\n    \"b\": [1, {\"c\": 2}]\n  }\n]\n";
    char *p = tmp_file("a.json", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.results[0], READ_RECORD);
    assert_int_equal(g.lines[0], 2);
    assert_int_equal(g.results[1], READ_RECORD);
    assert_int_equal(g.lines[1], 3);
    assert_int_equal(g.results[2], READ_EOF);
    remove(p);
    free(p);
}

static void test_bad_line_is_recoverable_with_its_line(void **state)
{
    (void)state;
    const char *text = "{\"a\":1}\n{\"a\":\n{\"a\":3}\n";
    char *p = tmp_file("bad.jsonl", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[1], READ_BAD);
    assert_contains(g.errs[1], "bad.jsonl:2: invalid JSON");
    assert_int_equal(g.results[2], READ_RECORD);
    assert_int_equal(g.lines[2], 3);
    remove(p);
    free(p);
}

static void test_bad_array_element_reports_inner_line(void **state)
{
    (void)state;
    const char *text = "[{\"a\":1},\n{\n\"a\": tru\n},{\"a\":2}]";
    char *p = tmp_file("bad.json", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[1], READ_BAD);
    assert_contains(g.errs[1], "bad.json:3: invalid JSON");
    assert_int_equal(g.results[2], READ_RECORD);
    assert_int_equal(g.results[3], READ_EOF);
    remove(p);
    free(p);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *text = "{\"a\":\"ok\"}\n{\"a\":\"b\xff\xfe\"}\n";
    char *p = tmp_file("u.jsonl", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[1], READ_BAD);
    assert_contains(g.errs[1], "u.jsonl:2: invalid UTF-8");
    remove(p);
    free(p);
}

static void test_non_object_record(void **state)
{
    (void)state;
    const char *text = "[1, {\"a\":1}]";
    char *p = tmp_file("n.json", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[0], READ_BAD);
    assert_contains(g.errs[0], "expected a JSON object");
    remove(p);
    free(p);
}

static void expect_fatal(const char *name, const char *text, size_t n, const char *msg)
{
    char *p = tmp_file(name, text, n);
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[g.n - 1], READ_FATAL);
    assert_contains(g.errs[g.n - 1], msg);
    remove(p);
    free(p);
}

static void test_fatal_inputs(void **state)
{
    (void)state;
    expect_fatal("e1.json", "", 0, "empty file");
    expect_fatal("e2.json", " \n\n ", 4, "empty file");
    expect_fatal("e3.json", "[ ]", 3, "empty file");
    expect_fatal("t1.json", "[{\"a\":1},{\"a\":", 14, "truncated");
    expect_fatal("t2.json", "[{\"a\":1}", 8, "truncated");
    expect_fatal("g.json", "[{\"a\":1}] x", 11, "unexpected text after");
    /* a stray '}' is no separator (it was taken for a ',') */
    expect_fatal("b.json", "[{\"a\":1}}{\"a\":2}]", 17, "unexpected '}' between the elements");
}

static void test_gzip_and_zstd(void **state)
{
    (void)state;
    const char *text = "{\"a\":1}\n{\"a\":2}\n";
    /* gzip */
    char *gz = tmp_path("c.jsonl.gz");
    gzFile gf = gzopen(gz, "wb");
    assert_non_null(gf);
    assert_int_equal(gzwrite(gf, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(gf), Z_OK);
    struct got g;
    read_all(gz, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.results[1], READ_RECORD);
    /* truncated gzip: drop the trailer and part of the data */
    FILE *f = fopen(gz, "rb");
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *tr = tmp_file("tr.jsonl.gz", buf, n - 10);
    read_all(tr, &g);
    assert_int_equal(g.results[g.n - 1], READ_FATAL);
    assert_contains(g.errs[g.n - 1], "truncated gzip");
    remove(gz);
    remove(tr);
    free(gz);
    free(tr);

    /* zstd, named without a .zst extension: recognised by its magic bytes */
    char z[256];
    size_t zn = ZSTD_compress(z, sizeof z, text, strlen(text), 3);
    assert_false(ZSTD_isError(zn));
    char *zp = tmp_file("c.data", z, zn);
    read_all(zp, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.results[0], READ_RECORD);
    char *zt = tmp_file("tr.zst", z, zn - 6);
    read_all(zt, &g);
    assert_int_equal(g.results[g.n - 1], READ_FATAL);
    assert_contains(g.errs[g.n - 1], "truncated zstd");
    remove(zp);
    remove(zt);
    free(zp);
    free(zt);
}

static void test_unreadable(void **state)
{
    (void)state;
    struct reader *r;
    struct sbuf err = {0};
    assert_int_equal(reader_open("/nonexistent/x.json", &r, &err), PARE_EINPUT);
    assert_contains(sbuf_str(&err), "/nonexistent/x.json: cannot open");
    sbuf_free(&err);
}

static void test_long_record(void **state)
{
    (void)state;
    /* a record far larger than the read buffers */
    struct sbuf b = {0};
    sbuf_adds(&b, "[{\"t\":\"");
    for (int i = 0; i < 1000000; i++) sbuf_addc(&b, 'x');
    sbuf_adds(&b, "\"}]");
    char *p = tmp_file("long.json", b.p, b.len);
    struct reader *r;
    struct sbuf err = {0};
    assert_int_equal(reader_open(p, &r, &err), PARE_OK);
    json_t *rec;
    long line;
    assert_int_equal(reader_next(r, &rec, &line, &err), READ_RECORD);
    assert_int_equal(strlen(json_string_value(json_object_get(rec, "t"))), 1000000);
    json_decref(rec);
    reader_close(r);
    remove(p);
    free(p);
    sbuf_free(&b);
    sbuf_free(&err);
}

/* A gzip file of `lines` lines of n bytes `fill` each (small on disk, huge inside). */
static char *gzip_of(const char *name, const char *head, char fill, size_t n, int lines)
{
    char *p = tmp_path(name);
    gzFile gf = gzopen(p, "wb9");
    assert_non_null(gf);
    char *chunk = malloc(1 << 20);
    assert_non_null(chunk);
    memset(chunk, fill, 1 << 20);
    for (int l = 0; l < lines; l++) {
        gzputs(gf, head);
        for (size_t left = n; left;) {
            unsigned k = left < (1u << 20) ? (unsigned)left : 1u << 20;
            assert_int_equal(gzwrite(gf, chunk, k), (int)k);
            left -= k;
        }
        gzputc(gf, '\n');
    }
    assert_int_equal(gzclose(gf), Z_OK);
    free(chunk);
    return p;
}

/* Issue 15: a file with no line break (/dev/zero, a gzip bomb) was buffered without limit. The
 * reading stops with a clear error once a record passes PARE_MAX_RECORD, in both layouts. */
static void test_record_size_limit(void **state)
{
    (void)state;
    struct got g;
    char *p = gzip_of("bomb.jsonl.gz", "", '\0', PARE_MAX_RECORD + 4096, 1);
    read_all(p, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.results[0], READ_FATAL);
    assert_contains(g.errs[0], "bomb.jsonl.gz:1: record longer than 64 MiB");
    remove(p);
    free(p);
    p = gzip_of("bomb.json.gz", "[{\"a\":1},\n\"", 'x', PARE_MAX_RECORD + 4096, 1);
    read_all(p, &g);
    assert_int_equal(g.results[0], READ_RECORD);
    assert_int_equal(g.results[1], READ_FATAL);
    assert_contains(g.errs[1], "bomb.json.gz:2: record longer than 64 MiB");
    remove(p);
    free(p);
    /* many records each under the limit are fine, however much the file holds */
    p = gzip_of("many.jsonl.gz", "{\"t\":\"", 'y', 1 << 20, 3);
    struct reader *r;
    struct sbuf err = {0};
    assert_int_equal(reader_open(p, &r, &err), PARE_OK);
    json_t *rec;
    long line;
    for (int i = 0; i < 3; i++) {
        /* the lines are not closed JSON: each is a bad record, and the next one still comes */
        assert_int_equal(reader_next(r, &rec, &line, &err), READ_BAD);
        assert_int_equal(line, i + 1);
    }
    assert_int_equal(reader_next(r, &rec, &line, &err), READ_EOF);
    reader_close(r);
    remove(p);
    free(p);
    sbuf_free(&err);
}

/* Issue 15: {"id": "a", "id": "b"} was read as {"id": "b"}. A repeated key is a bad record. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *text = "{\"id\":\"a\",\"x\":{\"k\":1,\"k\":2}}\n{\"id\":\"a\",\"id\":\"b\"}\n"
                       "{\"id\":\"c\"}\n";
    char *p = tmp_file("dup.jsonl", text, strlen(text));
    struct got g;
    read_all(p, &g);
    assert_int_equal(g.results[0], READ_BAD);
    assert_contains(g.errs[0], "dup.jsonl:1: invalid JSON: duplicate object key");
    assert_int_equal(g.results[1], READ_BAD);
    assert_contains(g.errs[1], "dup.jsonl:2: invalid JSON: duplicate object key");
    assert_int_equal(g.results[2], READ_RECORD);
    remove(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_lines_and_blank_lines),
        cmocka_unit_test(test_take_raw),
        cmocka_unit_test(test_array_elements_get_their_start_line),
        cmocka_unit_test(test_bad_line_is_recoverable_with_its_line),
        cmocka_unit_test(test_bad_array_element_reports_inner_line),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_non_object_record),
        cmocka_unit_test(test_fatal_inputs),
        cmocka_unit_test(test_gzip_and_zstd),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_long_record),
        cmocka_unit_test(test_record_size_limit),
        cmocka_unit_test(test_duplicate_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
