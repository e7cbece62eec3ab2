/* reader.c - see reader.h. */
#define _POSIX_C_SOURCE 200809L
#include "common/reader.h"

#include "common/jsonfast.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>
#include <zlib.h>
#include <zstd.h>

enum comp { COMP_PLAIN, COMP_GZIP, COMP_ZSTD };
enum mode { MODE_UNKNOWN, MODE_LINES, MODE_ARRAY, MODE_DONE };

#define IN_CHUNK (1 << 17)

struct reader {
    char *path;
    FILE *f;
    enum comp comp;
    uint64_t size, consumed;
    /* compressed input */
    unsigned char *in;
    size_t in_len, in_pos;
    int in_eof;
    z_stream zs;
    int zs_ended; /* gzip member ended; more input starts another member */
    ZSTD_DStream *zd;
    size_t zd_hint; /* last ZSTD_decompressStream result: 0 means a frame just ended */
    /* decompressed data */
    struct sbuf buf;
    size_t pos;
    int eof; /* no more decompressed data will come */
    /* records */
    enum mode mode;
    long line;       /* line of buf[pos] */
    long attempted;  /* records found, well-formed or not */
    struct sbuf rec; /* raw text of the current record */
    int array_open;  /* in MODE_ARRAY: elements may follow */
};

static void say_at(struct sbuf *err, const char *path, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say_at(struct sbuf *err, const char *path, long line, const char *fmt, ...)
{
    va_list ap;
    sbuf_reset(err);
    sbuf_add_visible(err, path, strlen(path), SIZE_MAX);
    sbuf_addf(err, ":%ld: ", line);
    va_start(ap, fmt);
    sbuf_vaddf(err, fmt, ap);
    va_end(ap);
}

/* A message "path:line: ..." about the reader's file. */
#define say(err, r, line, ...) say_at((err), (r)->path, (line), __VA_ARGS__)

/* reader_open, with `shown` a scratch buffer for the path as messages show it. */
static int open_file(const char *path, struct reader **out, struct sbuf *shown, struct sbuf *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        sbuf_setf(err, "%s: cannot open: %s", visible(shown, path), strerror(errno));
        return PARE_EINPUT;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) memset(&sb, 0, sizeof sb); /* size unknown */
    if (S_ISDIR(sb.st_mode)) {
        sbuf_setf(err, "%s: is a directory", visible(shown, path));
        fclose(f);
        return PARE_EINPUT;
    }
    struct reader *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->f = f;
    r->size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    r->in = xmalloc(IN_CHUNK);
    r->line = 1;
    /* Look at the magic bytes: compressed files are recognised whatever their name. */
    unsigned char m[4] = {0};
    size_t got = fread(m, 1, 4, f);
    if (ferror(f)) {
        sbuf_setf(err, "%s: read error: %s", visible(shown, path), strerror(errno));
        reader_close(r);
        return PARE_EINPUT;
    }
    memcpy(r->in, m, got);
    r->in_len = got;
    r->consumed = got;
    if (got >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        r->comp = COMP_GZIP;
        /* 15 + 16: gzip wrapper only; members are handled one after another. */
        if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
            sbuf_setf(err, "%s: cannot start gzip decoder", visible(shown, path));
            reader_close(r);
            return PARE_EFAIL;
        }
    } else if (got == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        r->comp = COMP_ZSTD;
        r->zd = ZSTD_createDStream();
        if (!r->zd || ZSTD_isError(ZSTD_initDStream(r->zd))) {
            sbuf_setf(err, "%s: cannot start zstd decoder", visible(shown, path));
            reader_close(r);
            return PARE_EFAIL;
        }
    }
    *out = r;
    return PARE_OK;
}

int reader_open(const char *path, struct reader **out, struct sbuf *err)
{
    struct sbuf shown = {0};
    int rc = open_file(path, out, &shown, err);
    sbuf_free(&shown);
    return rc;
}

void reader_close(struct reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    if (r->comp == COMP_GZIP) inflateEnd(&r->zs);
    ZSTD_freeDStream(r->zd);
    free(r->in);
    sbuf_free(&r->buf);
    sbuf_free(&r->rec);
    free(r->path);
    free(r);
}

const char *reader_raw(const struct reader *r, size_t *len)
{
    *len = r->rec.len;
    return sbuf_str(&r->rec);
}

void reader_take_raw(struct reader *r, struct sbuf *into)
{
    struct sbuf t = *into;
    *into = r->rec;
    r->rec = t;
    sbuf_reset(&r->rec);
}

uint64_t reader_pos(const struct reader *r)
{
    return r->consumed;
}

uint64_t reader_size(const struct reader *r)
{
    return r->size;
}

const char *reader_compression(const struct reader *r)
{
    return r->comp == COMP_GZIP ? "gzip" : r->comp == COMP_ZSTD ? "zstd" : "plain";
}

/* Refills r->in from the file when it is used up. Returns 0, or -1 on a read error. */
static int fill_in(struct reader *r, struct sbuf *err)
{
    if (r->in_pos < r->in_len || r->in_eof) return 0;
    r->in_len = fread(r->in, 1, IN_CHUNK, r->f);
    r->in_pos = 0;
    r->consumed += r->in_len;
    if (ferror(r->f)) {
        say(err, r, r->line, "read error: %s", strerror(errno));
        return -1;
    }
    if (r->in_len == 0) r->in_eof = 1;
    return 0;
}

/* Inflates what r->in holds into up to room bytes after r->buf's end. Returns 0 or -1. */
static int gunzip_some(struct reader *r, size_t room, struct sbuf *err)
{
    if (r->zs_ended) { /* another gzip member follows */
        if (inflateReset(&r->zs) != Z_OK) {
            say(err, r, r->line, "gzip decoder error");
            return -1;
        }
        r->zs_ended = 0;
    }
    r->zs.next_in = r->in + r->in_pos;
    r->zs.avail_in = (uInt)(r->in_len - r->in_pos);
    r->zs.next_out = (unsigned char *)r->buf.p + r->buf.len;
    r->zs.avail_out = (uInt)room;
    int zr = inflate(&r->zs, Z_NO_FLUSH);
    if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
        say(err, r, r->line, "corrupt gzip data: %s", r->zs.msg ? r->zs.msg : "error");
        return -1;
    }
    r->in_pos = r->in_len - r->zs.avail_in;
    r->buf.len += room - r->zs.avail_out;
    if (zr == Z_STREAM_END) r->zs_ended = 1;
    return 0;
}

/* The same for zstd. */
static int unzstd_some(struct reader *r, size_t room, struct sbuf *err)
{
    ZSTD_inBuffer ib = {r->in, r->in_len, r->in_pos};
    ZSTD_outBuffer ob = {r->buf.p + r->buf.len, room, 0};
    size_t zr = ZSTD_decompressStream(r->zd, &ob, &ib);
    if (ZSTD_isError(zr)) {
        say(err, r, r->line, "corrupt zstd data: %s", ZSTD_getErrorName(zr));
        return -1;
    }
    r->zd_hint = zr;
    r->in_pos = ib.pos;
    r->buf.len += ob.pos;
    return 0;
}

/*
 * Appends more decompressed bytes to r->buf (after dropping what has been consumed).
 * Returns 1 when bytes were added, 0 at the end of the data, -1 on error (err set).
 */
static int fill(struct reader *r, struct sbuf *err)
{
    if (r->eof) return 0;
    if (r->pos > 0) {
        memmove(r->buf.p, r->buf.p + r->pos, r->buf.len - r->pos);
        r->buf.len -= r->pos;
        r->buf.p[r->buf.len] = '\0';
        r->pos = 0;
    }
    size_t before = r->buf.len;
    while (r->buf.len == before) {
        if (fill_in(r, err) < 0) return -1;
        if (r->comp == COMP_PLAIN) {
            if (r->in_eof) break;
            sbuf_add(&r->buf, r->in + r->in_pos, r->in_len - r->in_pos);
            r->in_pos = r->in_len;
            continue;
        }
        if (r->in_eof) {
            int ended = r->comp == COMP_GZIP ? r->zs_ended : r->zd_hint == 0;
            if (!ended) {
                say(err, r, r->line, "truncated %s file: the compressed data ends early",
                    reader_compression(r));
                return -1;
            }
            break;
        }
        sbuf_grow(&r->buf, IN_CHUNK * 4);
        size_t room = r->buf.cap - r->buf.len - 1;
        if ((r->comp == COMP_GZIP ? gunzip_some(r, room, err) : unzstd_some(r, room, err)) < 0)
            return -1;
        r->buf.p[r->buf.len] = '\0';
    }
    if (r->buf.len == before) {
        r->eof = 1;
        return 0;
    }
    return 1;
}

/* Makes at least one unread byte available. Returns 1, 0 at end, -1 on error. */
static int need(struct reader *r, struct sbuf *err)
{
    if (r->pos < r->buf.len) return 1;
    return fill(r, err);
}

/* Skips white space, counting lines. Returns the next byte, or -1 at end, -2 on error. */
static int skip_ws(struct reader *r, struct sbuf *err)
{
    for (;;) {
        int n = need(r, err);
        if (n < 0) return -2;
        if (n == 0) return -1;
        unsigned char c = (unsigned char)r->buf.p[r->pos];
        if (c == '\n')
            r->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            return c;
        r->pos++;
    }
}

/* Why jansson rejected text: an invalid UTF-8 sequence gets its own message. */
static void explain_parse_error(const char *path, const char *text, size_t len, long first_line,
                                const json_error_t *je, struct sbuf *err)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    utf8proc_ssize_t left = (utf8proc_ssize_t)len;
    long line = first_line;
    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n < 0) {
            say_at(err, path, line, "invalid UTF-8 (byte 0x%02x)", *p);
            return;
        }
        if (cp == '\n') line++;
        p += n;
        left -= n;
    }
    say_at(err, path, first_line + (je->line > 0 ? je->line - 1 : 0),
           "invalid JSON: %s (column %d)", je->text, je->column);
}

int reader_parse(const char *path, const char *text, size_t len, long line, json_t **rec,
                 struct sbuf *err)
{
    json_error_t je;
    *rec = NULL;
    /* A key given twice is an error, not "last one wins": the two values may disagree. The
     * fast parser gives jansson's value or leaves the record to jansson (and its messages). */
    json_t *v = jsonfast_loadb(text, len);
    if (!v) v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        explain_parse_error(path, text, len, line, &je, err);
        return READ_BAD;
    }
    if (!json_is_object(v)) {
        say_at(err, path, line, "expected a JSON object as record, got %s",
               json_is_array(v)    ? "an array"
               : json_is_string(v) ? "a string"
                                   : "a scalar");
        json_decref(v);
        return READ_BAD;
    }
    *rec = v;
    return READ_RECORD;
}

/*
 * A record over PARE_MAX_RECORD: the rest of the file cannot be split into records reliably
 * (a file of one endless line, such as /dev/zero or a decompression bomb, has no next one), so
 * reading stops here instead of buffering without limit.
 */
static int too_long(struct reader *r, long first, struct sbuf *err)
{
    say(err, r, first, "record longer than %zu MiB, the most pare reads (%s)",
        PARE_MAX_RECORD >> 20,
        r->mode == MODE_LINES ? "a file without line breaks? JSON Lines hold one record per line"
                              : "an element of the JSON array");
    return READ_FATAL;
}

/* JSON Lines: the next non-blank line. */
static int next_line(struct reader *r, long *line, struct sbuf *err)
{
    for (;;) {
        sbuf_reset(&r->rec);
        long first = r->line;
        for (;;) {
            int n = need(r, err);
            if (n < 0) return READ_FATAL;
            if (n == 0) break;
            char *s = r->buf.p + r->pos;
            char *nl = memchr(s, '\n', r->buf.len - r->pos);
            size_t take = nl ? (size_t)(nl - s) : r->buf.len - r->pos;
            sbuf_add(&r->rec, s, take);
            r->pos += take;
            if (r->rec.len > PARE_MAX_RECORD) return too_long(r, first, err);
            if (nl) {
                r->pos++;
                r->line++;
                break;
            }
        }
        if (r->rec.len && r->rec.p[r->rec.len - 1] == '\r') r->rec.p[--r->rec.len] = '\0';
        size_t i = 0;
        while (i < r->rec.len && (r->rec.p[i] == ' ' || r->rec.p[i] == '\t')) i++;
        if (i == r->rec.len) { /* blank line */
            if (r->eof && r->pos >= r->buf.len) return READ_EOF;
            continue;
        }
        *line = first;
        r->attempted++;
        return READ_RECORD;
    }
}

/* Where the scan of an array element stands: inside a string, after a backslash, how deep. */
struct scan {
    int in_str, esc;
    long depth;
};

/*
 * Scans the decompressed bytes at hand for the end of the current array element (a ',' or the
 * array's ']' outside strings and brackets), appending what it passes to r->rec a run at a time
 * and counting lines. Returns 1 with r->pos on that ',' or ']', or 0 when the bytes ran out.
 */
static int scan_element(struct reader *r, struct scan *sc)
{
    const char *p = r->buf.p + r->pos, *end = r->buf.p + r->buf.len, *q = p;
    int ended = 0;
    for (; q < end; q++) {
        char ch = *q;
        if (sc->in_str) {
            if (sc->esc)
                sc->esc = 0;
            else if (ch == '\\')
                sc->esc = 1;
            else if (ch == '"')
                sc->in_str = 0;
        } else if (ch == '"') {
            sc->in_str = 1;
        } else if (ch == '{' || ch == '[') {
            sc->depth++;
        } else if ((ch == '}' || ch == ']') && sc->depth > 0) {
            sc->depth--;
        } else if (ch == '}' || ch == ']' || (ch == ',' && sc->depth == 0)) {
            ended = 1; /* the element's ',' or the array's own ']' */
            break;
        }
        if (ch == '\n') r->line++;
    }
    sbuf_add(&r->rec, p, (size_t)(q - p));
    r->pos += (size_t)(q - p);
    return ended;
}

/* JSON array: the next element, found by tracking strings and bracket depth. */
static int next_element(struct reader *r, long *line, struct sbuf *err)
{
    if (!r->array_open) return READ_EOF;
    int res = READ_EOF;
    int c = skip_ws(r, err);
    if (c == -2) return READ_FATAL;
    if (c == -1) {
        say(err, r, r->line, "file ends inside the JSON array (no closing ']'; truncated?)");
        return READ_FATAL;
    }
    if (c == ']' && r->attempted == 0) {
        r->pos++;
        r->array_open = 0;
        goto after_array;
    }
    long first = r->line;
    *line = first;
    sbuf_reset(&r->rec);
    struct scan sc = {0};
    for (;;) {
        int n = need(r, err);
        if (n < 0) return READ_FATAL;
        if (n == 0) {
            say(err, r, first, "file ends inside the record that starts here (truncated?)");
            return READ_FATAL;
        }
        int ended = scan_element(r, &sc);
        if (r->rec.len > PARE_MAX_RECORD) return too_long(r, first, err);
        if (ended) break;
    }
    if (r->buf.p[r->pos] == '}') {
        say(err, r, r->line, "unexpected '}' between the elements of the JSON array");
        return READ_FATAL;
    }
    /* r->buf.p[r->pos] is ',' or ']' */
    if (r->buf.p[r->pos] == ']') r->array_open = 0;
    r->pos++;
    r->attempted++;
    res = READ_RECORD;
    if (r->array_open) return res;
after_array:;
    int t = skip_ws(r, err);
    if (t == -2) return READ_FATAL;
    if (t != -1) {
        say(err, r, r->line, "unexpected text after the closing ']' of the JSON array");
        return READ_FATAL;
    }
    r->mode = MODE_DONE;
    if (r->attempted == 0) {
        say(err, r, 1, "empty file: the JSON array holds no records");
        return READ_FATAL;
    }
    return res;
}

int reader_next_raw(struct reader *r, long *line, struct sbuf *err)
{
    *line = r->line;
    if (r->mode == MODE_UNKNOWN) {
        int c = skip_ws(r, err);
        if (c == -2) return READ_FATAL;
        /* A UTF-8 byte order mark is skipped. */
        if (c == 0xef && r->buf.len - r->pos >= 3 &&
            memcmp(r->buf.p + r->pos, "\xef\xbb\xbf", 3) == 0) {
            r->pos += 3;
            c = skip_ws(r, err);
            if (c == -2) return READ_FATAL;
        }
        if (c == -1) {
            say(err, r, 1, "empty file: no records");
            return READ_FATAL;
        }
        if (c == '[') {
            r->mode = MODE_ARRAY;
            r->array_open = 1;
            r->pos++;
        } else {
            r->mode = MODE_LINES;
        }
    }
    int res;
    long ln = r->line;
    if (r->mode == MODE_ARRAY)
        res = next_element(r, &ln, err);
    else if (r->mode == MODE_LINES)
        res = next_line(r, &ln, err);
    else
        res = READ_EOF;
    *line = ln;
    if (res == READ_EOF && r->mode == MODE_LINES && r->attempted == 0) {
        say(err, r, 1, "empty file: no records");
        return READ_FATAL;
    }
    return res;
}

int reader_next(struct reader *r, json_t **rec, long *line, struct sbuf *err)
{
    *rec = NULL;
    int res = reader_next_raw(r, line, err);
    if (res != READ_RECORD) return res;
    return reader_parse(r->path, r->rec.p, r->rec.len, *line, rec, err);
}

const char *reader_path(const struct reader *r)
{
    return r->path;
}

int reader_check_all(char **paths, int n, struct sbuf *err)
{
    for (int i = 0; i < n; i++) {
        struct reader *r;
        if (reader_open(paths[i], &r, err) != PARE_OK) return PARE_EINPUT;
        reader_close(r);
    }
    return PARE_OK;
}
