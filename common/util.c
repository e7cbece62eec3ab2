/* util.c - see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    fprintf(stderr, "pare: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) oom(SIZE_MAX);
        c *= 2;
    }
    *p = xrealloc(*p, c * elem);
    *cap = c;
}

void sbuf_grow(struct sbuf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) oom(SIZE_MAX);
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t c = b->cap ? b->cap : 64;
    while (c < need) c = c > SIZE_MAX / 2 ? need : c * 2;
    b->p = xrealloc(b->p, c);
    b->cap = c;
}

int sbuf_try_grow(struct sbuf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) return PARE_EFAIL;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return PARE_OK;
    size_t c = b->cap ? b->cap : 64;
    while (c < need) c = c > SIZE_MAX / 2 ? need : c * 2;
    char *p = realloc(b->p, c);
    if (!p && c > need) p = realloc(b->p, c = need); /* the doubling may be what failed */
    if (!p) return PARE_EFAIL;
    b->p = p;
    b->cap = c;
    return PARE_OK;
}

void sbuf_add(struct sbuf *b, const void *data, size_t n)
{
    sbuf_grow(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_addc(struct sbuf *b, char c)
{
    sbuf_add(b, &c, 1);
}

void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return; /* only on an invalid format, which the attribute rules out */
    sbuf_grow(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(b, fmt, ap);
    va_end(ap);
}

void sbuf_prependf(struct sbuf *b, const char *fmt, ...)
{
    struct sbuf head = {0};
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&head, fmt, ap);
    va_end(ap);
    sbuf_add(&head, b->p, b->len);
    sbuf_free(b);
    *b = head;
}

/*
 * Length of the UTF-8 sequence at s (at most n bytes) and its code point, or 0 when the bytes
 * are not well-formed UTF-8 (overlong forms, surrogates and code points past U+10FFFF included).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80                   ? 1
                 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                 : (s[0] & 0xf0) == 0xe0       ? 3
                 : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                               : 0;
    if (len == 0 || len > n) return 0;
    uint32_t c = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return len;
}

/* 1 for code points a terminal acts on or that reorder or break the text around them. */
static int needs_escape(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

void sbuf_add_visible(struct sbuf *b, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, stop = n < max ? n : max;
    while (i < stop) {
        uint32_t c;
        size_t len = utf8_seq(p + i, n - i, &c);
        if (len == 0) {
            sbuf_addf(b, "\\x%02x", p[i]);
            len = 1;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            sbuf_addc(b, '\\');
            sbuf_addc(b, c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        } else if (needs_escape(c)) {
            if (c < 0x80)
                sbuf_addf(b, "\\x%02x", (unsigned)c);
            else
                sbuf_addf(b, "\\u%04x", (unsigned)c);
        } else {
            sbuf_add(b, p + i, len);
        }
        i += len;
    }
    if (i < n) sbuf_adds(b, "...");
}

const char *visible(struct sbuf *scratch, const char *s)
{
    sbuf_reset(scratch);
    if (s) sbuf_add_visible(scratch, s, strlen(s), SIZE_MAX);
    return sbuf_str(scratch);
}

/* The first occurrence of needle[0..k) (k > 0) in hay[0..n), or NULL (memmem is not POSIX). */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t k)
{
    const char *end = hay + n;
    while ((size_t)(end - hay) >= k) {
        const char *q = memchr(hay, needle[0], (size_t)(end - hay) - k + 1);
        if (!q) return NULL;
        if (memcmp(q, needle, k) == 0) return q;
        hay = q + 1;
    }
    return NULL;
}

void sbuf_redact(struct sbuf *b, const char *secret)
{
    size_t k = secret ? strlen(secret) : 0;
    if (k == 0 || b->len < k) return;
    struct sbuf out = {0};
    size_t i = 0;
    while (i < b->len) {
        const char *hit = find_bytes(b->p + i, b->len - i, secret, k);
        if (!hit) break;
        sbuf_add(&out, b->p + i, (size_t)(hit - (b->p + i)));
        sbuf_adds(&out, "[redacted]");
        i = (size_t)(hit - b->p) + k;
    }
    if (i == 0) return; /* no occurrence */
    sbuf_add(&out, b->p + i, b->len - i);
    sbuf_free(b);
    *b = out;
}

void sbuf_setf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    sbuf_reset(b);
    va_start(ap, fmt);
    sbuf_vaddf(b, fmt, ap);
    va_end(ap);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *sbuf_str(const struct sbuf *b)
{
    return b->p ? b->p : "";
}

char *sbuf_detach(struct sbuf *b)
{
    char *p = b->p ? b->p : xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void now_iso8601(char out[static 24])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int read_file(const char *path, struct sbuf *out, struct sbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", path, strerror(errno));
        return PARE_EFAIL;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sbuf_add(out, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        sbuf_setf(err, "%s: read error", path);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

char *exe_dir(void)
{
    struct sbuf b = {0};
    sbuf_grow(&b, 4096);
    for (;;) {
        ssize_t n = readlink("/proc/self/exe", b.p, b.cap);
        if (n < 0) {
            sbuf_free(&b);
            return xstrdup(".");
        }
        if ((size_t)n < b.cap) {
            b.p[n] = '\0';
            break;
        }
        sbuf_grow(&b, b.cap * 2);
    }
    char *slash = strrchr(b.p, '/');
    if (slash) *slash = '\0';
    return sbuf_detach(&b);
}

char *path_join(const char *dir, const char *name)
{
    struct sbuf b = {0};
    sbuf_adds(&b, dir);
    if (b.len && b.p[b.len - 1] != '/') sbuf_addc(&b, '/');
    sbuf_adds(&b, name);
    return sbuf_detach(&b);
}

static int strip_suffix(char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n > m && strcmp(s + n - m, suffix) == 0) {
        s[n - m] = '\0';
        return 1;
    }
    return 0;
}

char *path_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    char *s = xstrdup(base ? base + 1 : path);
    static const char *const sfx[] = {".gz", ".zst", ".jsonl", ".json", ".ndjson"};
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) again |= strip_suffix(s, sfx[i]);
    }
    return s;
}
