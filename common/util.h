/*
 * util.h - small helpers every module shares: checked allocation, a growable string buffer,
 * return codes and time.
 *
 * Return codes double as process exit codes (DESIGN.md, command-line conventions), so a job can
 * hand its result straight back to main().
 */
#ifndef PARE_UTIL_H
#define PARE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum pare_rc {
    PARE_OK = 0,     /* success */
    PARE_EFAIL = 1,  /* the command failed (I/O, database, judge ...) */
    PARE_EUSAGE = 2, /* bad command line */
    PARE_EINPUT = 3, /* bad input data */
};

/*
 * The largest record pare reads (a JSON line or array element of an input file, a judge's reply
 * line) and so the largest text it stores or decompresses: 64 MiB. Real records are a few KB;
 * the limit turns a file without newlines, a decompression bomb or a crafted frame header into
 * a clear error instead of exhausted memory.
 */
#define PARE_MAX_RECORD ((size_t)64 << 20)

/*
 * Allocation that cannot return NULL: on exhaustion it prints a message and aborts, as git's
 * xmalloc does. Every allocation in pare goes through these, so "checked" holds everywhere.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grows *p (an array of elem-sized items with capacity *cap) to hold at least need items. */
void xgrow(void **p, size_t *cap, size_t need, size_t elem);

/*
 * A growable, always NUL-terminated byte buffer. A zero-initialised sbuf is empty and valid;
 * s.p is NULL until the first append, so use sbuf_str() to read it as a C string.
 */
struct sbuf {
    char *p;
    size_t len;
    size_t cap;
};

void sbuf_grow(struct sbuf *b, size_t extra);
/*
 * Like sbuf_grow, but returns PARE_EFAIL (b unchanged) instead of aborting when the memory cannot
 * be had. For sizes that come from data, and for code that runs inside another program (the
 * sqlite3 extension), which must report an error rather than end its host.
 */
int sbuf_try_grow(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Puts the formatted text before the contents, to give an error its context:
 * sbuf_prependf(err, "passage %lld: ", id). */
void sbuf_prependf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Appends s[0..n) so that it is safe to show on a terminal: control characters (C0, DEL and C1),
 * bytes that are not UTF-8, and the Unicode bidirectional controls and line separators become
 * escapes ("\n", "\x1b", "\u009b", "\u202e"), so that an id, name or title read from data can
 * neither move the cursor, recolour, retitle the terminal nor hide text. Other text, backslashes
 * included, is kept. At most max bytes of s are shown; a longer text ends in "...".
 */
void sbuf_add_visible(struct sbuf *b, const char *s, size_t n, size_t max);
/*
 * The C string s made safe for a terminal as sbuf_add_visible does, in scratch (replacing its
 * contents); returns scratch's text. For printing: printf("%s\n", visible(&tmp, title)).
 * NULL gives "".
 */
const char *visible(struct sbuf *scratch, const char *s);
/*
 * Replaces every occurrence of secret (an API key) in b with "[redacted]", for text that came
 * back from a server and may echo what it was sent. NULL or empty secret: nothing to do.
 */
void sbuf_redact(struct sbuf *b, const char *secret);
/* Replaces the contents with the formatted text. */
void sbuf_setf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/* The contents as a C string ("" when empty); valid until the next change. */
const char *sbuf_str(const struct sbuf *b);
/* Hands the buffer to the caller (who frees it) and leaves b empty. Never NULL. */
char *sbuf_detach(struct sbuf *b);

/* Seconds since an arbitrary fixed point, monotonic, for rates and timeouts. */
double now_monotonic(void);
/* Current UTC time as ISO 8601 text ("2026-11-26T08:52:22Z") in out (at least 21 bytes). */
void now_iso8601(char out[static 24]);

/* Reads a whole file into memory. Returns PARE_OK or PARE_EFAIL with a message in err. */
int read_file(const char *path, struct sbuf *out, struct sbuf *err);
/* The directory holding the running executable, or "." when unknown. Caller frees. */
char *exe_dir(void);
/* Joins dir and name with one '/'. Caller frees. */
char *path_join(const char *dir, const char *name);
/* The file name without directory and without the extensions .gz/.zst/.json/.jsonl. Caller frees.
 */
char *path_stem(const char *path);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
