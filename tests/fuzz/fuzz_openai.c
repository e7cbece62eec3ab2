/*
 * fuzz_openai.c - the openai judge's parser of chat completion bodies (openai_chat_content) on
 * any server reply. An answer comes back trimmed, or NULL with a message.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pipeline/judge_openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbuf err = {0};
    int64_t ptok, ctok;
    char *a = openai_chat_content((const char *)data, size, &ptok, &ctok, &err);
    CHECK((ptok < 0 && ctok < 0) || (ptok >= 0 && ctok >= 0));
    if (a) {
        size_t n = strlen(a);
        CHECK(n == 0 || (a[0] != ' ' && a[n - 1] != ' ' && a[n - 1] != '\n'));
    } else {
        CHECK(err.len > 0);
    }
    free(a);
    sbuf_free(&err);
    return 0;
}
