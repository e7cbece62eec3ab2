/*
 * fuzz_format.c - one dataset format end to end as ingest reads it: the file through the
 * record reader, each record through its adapter (pipeline/formats.h). Compiled once per
 * format with FUZZ_FORMAT set (fuzz_format_hotpotqa, fuzz_format_2wiki, ...). Checks what
 * ingest relies on: an accepted question has an id, a question and a non-empty list of
 * distinct non-empty answers; every passage has a title and a text of the stated length; a
 * rejected record says why. Differentially: a record that format_parse_tree reads from
 * jsonfast_tree's cJSON tree (ingest's fast path) is one format_parse accepts, with the same
 * fields.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "common/jsonfast.h"
#include "common/reader.h"
#include "fuzz.h"
#include "pipeline/formats.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT FMT_GENERIC
#endif

/* ingest's defaults for the generic format's keys */
static const struct format_keys keys = {"id",       "question", "answers", "type",
                                        "contexts", "title",    "text",    "is_gold"};

static void check(const struct qa_record *r)
{
    if (r->kind == QA_QUESTION) {
        CHECK(r->ext_id && r->question && *r->question);
        size_t n = json_array_size(r->answers);
        CHECK(n > 0);
        for (size_t i = 0; i < n; i++) {
            const char *a = json_string_value(json_array_get(r->answers, i));
            CHECK(a && *a);
            for (size_t k = 0; k < i; k++)
                CHECK(strcmp(a, json_string_value(json_array_get(r->answers, k))) != 0);
        }
    } else {
        CHECK(r->n_ctx == 1);
    }
    for (size_t i = 0; i < r->n_ctx; i++) {
        CHECK(r->ctx[i].title && r->ctx[i].text);
        CHECK(strlen(r->ctx[i].text) == r->ctx[i].text_len);
        CHECK(r->ctx[i].is_gold == 0 || r->ctx[i].is_gold == 1);
    }
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The fast path's record equals format_parse's, field by field. */
static void check_same(const struct qa_record *fast, const struct qa_record *r)
{
    CHECK(fast->kind == r->kind && same_str(fast->ext_id, r->ext_id));
    CHECK(same_str(fast->question, r->question) && same_str(fast->qtype, r->qtype));
    CHECK((!fast->answers && !r->answers) || json_equal(fast->answers, r->answers));
    CHECK((!fast->meta && !r->meta) || json_equal(fast->meta, r->meta));
    CHECK(fast->n_ctx == r->n_ctx);
    for (size_t i = 0; i < r->n_ctx; i++) {
        const struct qa_passage *a = &fast->ctx[i], *b = &r->ctx[i];
        CHECK(same_str(a->ext_id, b->ext_id) && same_str(a->title, b->title));
        CHECK(a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0);
        CHECK(a->is_gold == b->is_gold);
    }
}

/* Record rec (raw text: the reader's last) through both paths. */
static void parse_both(struct reader *rd, json_t *rec, struct qa_record *r, struct sbuf *err)
{
    size_t len;
    const char *raw = reader_raw(rd, &len);
    struct qa_record fast = {0};
    cJSON *tree = jsonfast_tree(raw, len);
    int read_fast = tree && format_parse_tree(FUZZ_FORMAT, &keys, tree, &fast);
    sbuf_reset(err);
    int rc = format_parse(FUZZ_FORMAT, &keys, rec, r, err);
    if (rc == PARE_OK)
        check(r);
    else
        CHECK(rc == PARE_EINPUT && err->len > 0);
    if (read_fast) {
        CHECK(rc == PARE_OK);
        check_same(&fast, r);
    }
    qa_record_free(&fast); /* before the tree: the record borrows its strings */
    cJSON_Delete(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader *rd;
    struct sbuf err = {0};
    struct qa_record r = {0};
    if (reader_open(fuzz_file(data, size), &rd, &err) != PARE_OK) {
        sbuf_free(&err);
        return 0;
    }
    for (int i = 0; i < 100000; i++) {
        json_t *rec = NULL;
        long line;
        int res = reader_next(rd, &rec, &line, &err);
        if (res == READ_EOF || res == READ_FATAL) break;
        if (res != READ_RECORD) continue;
        parse_both(rd, rec, &r, &err);
        qa_record_reset(&r); /* before rec: the record borrows its strings */
        json_decref(rec);
    }
    qa_record_free(&r);
    reader_close(rd);
    sbuf_free(&err);
    return 0;
}
