/*
 * judge_openai.h - internal to the judge module (judge_openai.c): the parser of the server's
 * chat completion, declared here so that its fuzz harness (tests/fuzz/fuzz_openai.c) can call
 * it. Other modules use judge.h.
 */
#ifndef PARE_JUDGE_OPENAI_H
#define PARE_JUDGE_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/*
 * The assistant's text from a chat completion body (len bytes, not necessarily NUL-terminated):
 * choices[0].message.content, trimmed, without an "Answer:" prefix. Returns it (caller frees),
 * or NULL with what is wrong in err: malformed JSON, no message content, an answer cut off by
 * the token limit (finish_reason "length"). Either way *ptok and *ctok get the prompt and
 * completion tokens of the body's usage, or -1 when it counts none.
 */
char *openai_chat_content(const char *body, size_t len, int64_t *ptok, int64_t *ctok,
                          struct sbuf *err);

#endif
