/*
 * fuzz_dict.h - the zstd dictionary the blob harnesses decompress with: the file named by
 * PARE_FUZZ_DICT (scripts/fuzz-ci.sh exports the dictionary of a database ingested from
 * ../shared/data, whose passage bodies are the seeds), else one trained on generated text.
 */
#ifndef PARE_FUZZ_DICT_H
#define PARE_FUZZ_DICT_H

#include <stdio.h>
#include <stdlib.h>
#include <zdict.h>

#include "common/util.h"
#include "stores/blob.h"

static void fuzz_dict(struct sbuf *dict, uint32_t *id)
{
    struct sbuf err = {0};
    const char *path = getenv("PARE_FUZZ_DICT");
    if (path && *path) {
        if (read_file(path, dict, &err) != PARE_OK) {
            fprintf(stderr, "%s\n", sbuf_str(&err));
            abort();
        }
        *id = ZDICT_getDictID(dict->p, dict->len);
    } else {
        enum { N = 400 };
        static size_t sizes[N];
        struct sbuf s = {0};
        for (size_t i = 0; i < N; i++) {
            size_t before = s.len;
            sbuf_addf(&s,
                      "Passage %zu: the town of Vorlen%zu lies on the river Dra; it was founded "
                      "in %zu by settlers from Kamira.",
                      i, i % 37, 900 + i % 500);
            sizes[i] = s.len - before;
        }
        if (blob_train_dict(s.p, sizes, N, 8192, dict, id, &err) != PARE_OK) abort();
        sbuf_free(&s);
    }
    sbuf_free(&err);
}

#endif
