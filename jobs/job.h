/*
 * job.h - what every pare command does around its work: a row in `runs` that says what ran,
 * when, with which arguments, how it ended and what it counted; and a progress line on stderr
 * (rewritten in place on a terminal, a line every few seconds otherwise, nothing with --quiet).
 */
#ifndef PARE_JOB_H
#define PARE_JOB_H

#include <jansson.h>
#include <stdint.h>

#include "jobs/cli.h"
#include "stores/store.h"

struct job {
    struct store *st;
    const struct pare_ctx *ctx;
    const char *command;
    int64_t run_id;
    double t0;         /* start, monotonic seconds */
    double last_print; /* last progress output */
    int tty;           /* stderr is a terminal */
    int line_open;     /* a \r progress line is on screen */
};

/*
 * Records the start of a run (its own committed row) and marks runs left 'running' by a process
 * that no longer exists as 'interrupted'. Returns PARE_OK or PARE_EFAIL (message on stderr).
 */
int job_begin(struct job *j, const struct pare_ctx *ctx, struct store *st, const char *command,
              int argc, char **argv);

/*
 * Reports progress: `done` items of `total` (0 when unknown) named `unit`. The rate and ETA are
 * computed from `done_w` of `total_w` when total_w > 0 (bytes read of a file, say), else from
 * done/total. Throttled, so it may be called for every item.
 */
void job_progress(struct job *j, const char *unit, uint64_t done, uint64_t total, uint64_t done_w,
                  uint64_t total_w);

/*
 * Records the end of the run: status 'ok' when rc is PARE_OK, else 'failed' with `error`.
 * `summary` (may be NULL; reference stolen) is stored as JSON. Returns rc, or PARE_EFAIL if
 * the run row could not be written.
 */
int job_end(struct job *j, int rc, int64_t done, int64_t failed, const char *error,
            json_t *summary);

/*
 * Opens the database of ctx (creating it when `create`) and begins a run of `command`: what
 * every job does first. On failure prints "pare COMMAND: why" and returns PARE_EFAIL with *st
 * NULL; on success the caller ends with job_end and store_close.
 */
int job_open(struct job *j, const struct pare_ctx *ctx, const char *command, int create, int argc,
             char **argv, struct store **st);

/*
 * Keeps a bad input record in `rejects` (--skip-bad), under this run. A record rejected again by
 * a later run replaces its row rather than adding one. Returns PARE_OK or PARE_EFAIL (message in
 * err).
 */
int job_reject(struct job *j, const char *source, long line, const char *error, const char *raw,
               size_t raw_len, struct sbuf *err);

/*
 * Checks that every input file opens, before anything is written: prints "path: cannot open:
 * why" on stderr and returns PARE_EINPUT at the first that does not, PARE_OK when all do.
 */
int job_check_files(char **files, int nfiles);

/* Prints a line for people on stderr unless --quiet, after clearing a progress line. */
void job_say(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
