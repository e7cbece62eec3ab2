/*
 * reader.h - reads JSON records from a dataset file.
 *
 * The file may be plain, gzip or zstd (recognised by its first bytes, whatever its name), and
 * hold either one JSON array of records or JSON Lines (one record per line; blank lines are
 * skipped). Arrays are split into elements by a small scanner that only tracks strings and
 * brackets; each element is then parsed by jansson. That keeps memory bounded by the largest
 * record rather than the file, and gives every record the line it starts on, for messages of
 * the form "path:line: what is wrong". A record longer than PARE_MAX_RECORD ends the reading
 * (READ_FATAL), and a record is malformed when an object in it repeats a key.
 */
#ifndef PARE_READER_H
#define PARE_READER_H

#include <jansson.h>
#include <stdint.h>

#include "common/util.h"

struct reader;

enum reader_result {
    READ_FATAL = -1, /* the file cannot be read further: I/O error, truncated, not JSON at all */
    READ_EOF = 0,    /* no more records */
    READ_RECORD = 1, /* *rec holds a record */
    READ_BAD = 2,    /* this record is malformed; the next call goes on with the following one */
};

/* Checks that every file opens, so that a command can refuse before writing anything.
 * Returns PARE_OK, or PARE_EINPUT with "path: cannot open: ..." in err. */
int reader_check_all(char **paths, int n, struct sbuf *err);

/* Opens path. Returns PARE_OK, or PARE_EINPUT ("path: cannot open: ...") with err set. */
int reader_open(const char *path, struct reader **out, struct sbuf *err);

/*
 * Reads the next record: on READ_RECORD, *rec is a new reference the caller releases and *line
 * the line the record starts on. On READ_BAD and READ_FATAL, err holds "path:line: message".
 * A file with no record at all is READ_FATAL ("empty file").
 */
int reader_next(struct reader *r, json_t **rec, long *line, struct sbuf *err);

/*
 * The same in two steps, so that parsing can run on other threads: reader_next_raw finds the
 * next record's text (reader_raw) and line without parsing it (READ_RECORD, READ_EOF or
 * READ_FATAL); reader_parse parses such a text (READ_RECORD or READ_BAD) and is thread-safe.
 */
int reader_next_raw(struct reader *r, long *line, struct sbuf *err);
int reader_parse(const char *path, const char *text, size_t len, long line, json_t **rec,
                 struct sbuf *err);

/* The file name given to reader_open. */
const char *reader_path(const struct reader *r);

/* The raw text of the record last returned or rejected (for the rejects table). */
const char *reader_raw(const struct reader *r, size_t *len);

/*
 * Moves the raw text of the record last returned into `into` (whose old contents the reader
 * reuses as its buffer), instead of copying it: reader_raw is then empty until the next record.
 */
void reader_take_raw(struct reader *r, struct sbuf *into);

/* Bytes of the file consumed so far, and its size (0 when unknown), for progress. */
uint64_t reader_pos(const struct reader *r);
uint64_t reader_size(const struct reader *r);

/* "plain", "gzip" or "zstd". */
const char *reader_compression(const struct reader *r);

void reader_close(struct reader *r);

#endif
