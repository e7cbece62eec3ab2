/* text.c - see text.h. */
#include "pipeline/text.h"

#include <utf8proc.h>

int64_t text_utf8_chars(const char *s, size_t n, size_t *bad)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    int64_t count = 0;
    while (i < n) {
        if (p[i] < 0x80) { /* ASCII fast path */
            i++;
            count++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) {
            if (bad) *bad = i;
            return -1;
        }
        i += (size_t)k;
        count++;
    }
    return count;
}
