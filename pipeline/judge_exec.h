/*
 * judge_exec.h - internal to the judge module (judge_exec.c): the exec judge's reply parser,
 * declared here so that its fuzz harness (tests/fuzz/fuzz_exec_reply.c) can call it. Other
 * modules use judge.h.
 */
#ifndef PARE_JUDGE_EXEC_H
#define PARE_JUDGE_EXEC_H

#include <stddef.h>

#include "pipeline/judge.h"

/* Seconds a judge has to exit after SIGTERM before its process group gets SIGKILL. */
#define EXEC_GRACE_S 2.0

/*
 * Parses one reply line of the exec protocol, {"id": str, "sufficient": bool, "answer"?: str},
 * to the request `id` (len bytes of line, which need not be NUL-terminated). Returns PARE_OK
 * with d->verdict set (and d->answer, owned, when the reply has one), or PARE_EINPUT with what
 * is wrong in err: not JSON, a repeated key, no boolean "sufficient", another id, an answer
 * that is not a string. d is not touched on error.
 */
int exec_parse_reply(const char *line, size_t len, const char *id, struct jdone *d,
                     struct sbuf *err);

#endif
