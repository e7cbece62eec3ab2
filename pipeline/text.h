/*
 * text.h - text measures and normalisation shared by the stages.
 */
#ifndef PARE_TEXT_H
#define PARE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/util.h"

/*
 * Number of Unicode code points in s[0..n), or -1 when s is not valid UTF-8 (then *bad, when
 * not NULL, is the byte offset of the first invalid sequence).
 */
int64_t text_utf8_chars(const char *s, size_t n, size_t *bad);

#endif
