/*
 * fuzz_exec_reply.c - the exec judge's reply parser (exec_parse_reply) on any line. A reply is
 * either a verdict for the request's id or an error with a message; never both.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "pipeline/judge_exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jdone d = {0};
    struct sbuf err = {0};
    d.verdict = JUDGE_ERROR;
    int rc = exec_parse_reply((const char *)data, size, "7:00000000000000ff:3", &d, &err);
    if (rc == PARE_OK)
        CHECK(d.verdict == JUDGE_SUFFICIENT || d.verdict == JUDGE_INSUFFICIENT);
    else
        CHECK(rc == PARE_EINPUT && d.verdict == JUDGE_ERROR && !d.answer && err.len > 0);
    free(d.answer);
    sbuf_free(&err);
    return 0;
}
