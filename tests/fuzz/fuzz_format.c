/*
 * fuzz_format.c - one dataset format end to end as ingest reads it: the file through the
 * record reader, each record through its adapter (pipeline/formats.h). Compiled once per
 * format with FUZZ_FORMAT set (fuzz_format_hotpotqa, fuzz_format_2wiki, ...). Checks what
 * ingest relies on: an accepted question has an id, a question and a non-empty list of
 * distinct non-empty answers; every passage has a title and a text of the stated length; a
 * rejected record says why.
 */
#include <string.h>

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
        sbuf_reset(&err);
        int rc = format_parse(FUZZ_FORMAT, &keys, rec, &r, &err);
        if (rc == PARE_OK)
            check(&r);
        else
            CHECK(rc == PARE_EINPUT && err.len > 0);
        qa_record_reset(&r); /* before rec: the record borrows its strings */
        json_decref(rec);
    }
    qa_record_free(&r);
    reader_close(rd);
    sbuf_free(&err);
    return 0;
}
