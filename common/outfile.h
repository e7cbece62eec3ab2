/*
 * outfile.h - output files a command writes for people and trainers (`pare export --out`),
 * written so that nothing already on disk is replaced by accident:
 *
 *   "-"                    standard output;
 *   a FIFO, a device, a socket, or a symbolic link to one: opened and written in place, never
 *                          renamed over (writing /dev/full gives a write error and leaves the
 *                          device as it was);
 *   anything else          a new regular file, or one replacing a regular file: the rows go to an
 *                          unnamed file in the target's folder (O_TMPFILE), which gets a name
 *                          (".NAME.tmp.PID") and is renamed into place only when everything was
 *                          written, so a failed write leaves the old file or none. A symbolic
 *                          link to a regular file keeps being a link: the file it points to is
 *                          replaced. Where the file system has no O_TMPFILE, the temporary file
 *                          is ".NAME." plus six random characters (mkstemp), created
 *                          exclusively (O_EXCL, so a link planted at its name is never
 *                          followed).
 *
 * A temporary file never outlives the command: an unnamed one vanishes with the process even
 * under SIGKILL; a named one is removed on failure and, through a handler for SIGINT, SIGTERM
 * and SIGHUP (installed where the signal had its default action), when the command is
 * interrupted; a ".NAME.tmp.PID" left by a process killed between link and rename is removed by
 * the next command writing NAME.
 */
#ifndef PARE_OUTFILE_H
#define PARE_OUTFILE_H

#include <stdio.h>

#include "common/util.h"

enum outfile_kind {
    OUTFILE_STDOUT,  /* "-" */
    OUTFILE_INPLACE, /* a FIFO, device or socket, written where it is */
    OUTFILE_RENAME,  /* a temporary file renamed over the target */
};

struct outfile {
    enum outfile_kind kind;
    char *name;   /* as given, for messages */
    char *target; /* where the data ends up (a link to a regular file resolved) */
    char *tmp;    /* OUTFILE_RENAME: the temporary file's name (an unnamed one has none until
                     it is finished) */
    int unnamed;  /* OUTFILE_RENAME: the file was made with O_TMPFILE */
    FILE *f;      /* write here */
    int tmp_slot; /* its slot in the interrupt handler's list, or -1 */
};

/*
 * What writing to path would do, without opening anything: OUTFILE_STDOUT for "-",
 * OUTFILE_INPLACE when path is (or links to) an existing file that is not regular, else
 * OUTFILE_RENAME (a regular file, existing or not). Names' extensions matter only for the last.
 */
enum outfile_kind outfile_kind_of(const char *path);

/* Opens path for writing as outfile_kind_of says. Returns PARE_OK, or PARE_EFAIL with
 * "path: what" in err (o is then empty). */
int outfile_open(struct outfile *o, const char *path, struct sbuf *err);

/*
 * Ends the output. With keep, flushes it, makes the temporary file durable and renames it into
 * place: PARE_OK, or PARE_EFAIL with "name: write error: why" in err (a full disk, /dev/full,
 * a closed pipe...), the temporary file removed. Without keep, removes the temporary file
 * (what was written in place stays written). Standard output is flushed, not closed. Frees
 * what o holds; a closed or empty outfile is a no-op.
 */
int outfile_close(struct outfile *o, int keep, struct sbuf *err);

#endif
