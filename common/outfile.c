/* outfile.c - see outfile.h. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mkstemp, realpath */
#define _GNU_SOURCE     /* O_TMPFILE */
#include "common/outfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- temporary files removed when the command is interrupted ---- */

#define TMP_SLOTS 16
static char *volatile tmp_paths[TMP_SLOTS]; /* read by the signal handler */
static int handler_installed;

static void on_signal(int sig)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_paths[i]) unlink(tmp_paths[i]); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs on_signal for the signals that still have their default action. */
static void install_handler(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    if (handler_installed) return;
    handler_installed = 1;
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        struct sigaction old, sa = {0};
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Registers a temporary path; returns its slot, or -1 when all are taken (it is then removed
 * on failure and success only). */
static int tmp_register(char *path)
{
    install_handler();
    for (int i = 0; i < TMP_SLOTS; i++) {
        if (!tmp_paths[i]) {
            tmp_paths[i] = path;
            return i;
        }
    }
    return -1;
}

static void tmp_unregister(int slot)
{
    if (slot >= 0) tmp_paths[slot] = NULL;
}

/* ---- opening ---- */

enum outfile_kind outfile_kind_of(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0) return OUTFILE_STDOUT;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return OUTFILE_INPLACE;
    return OUTFILE_RENAME;
}

/* A FIFO, device or socket: opened where it is, without creating or truncating anything. */
static int open_inplace(struct outfile *o, const char *path, struct sbuf *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || S_ISREG(st.st_mode))) {
        close(fd); /* it became a regular file meanwhile: never write one in place */
        fd = -1;
        errno = EAGAIN;
    }
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        sbuf_setf(err, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* The mode a new file gets: the old target's, else 0666 less the umask. */
static mode_t new_mode(const char *target)
{
    struct stat st;
    if (stat(target, &st) == 0) return st.st_mode & 07777;
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* The target's folder and its base name, each newly allocated. */
static void split_target(const char *target, char **dir, char **base)
{
    char *dcopy = xstrdup(target), *bcopy = xstrdup(target);
    *dir = xstrdup(dirname(dcopy));
    *base = xstrdup(basename(bcopy));
    free(dcopy);
    free(bcopy);
}

/* The pid in a name ".BASE.tmp.PID", or 0 when name is not one. */
static long tmp_pid(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (name[0] != '.' || strncmp(name + 1, base, n) != 0 || strncmp(name + 1 + n, ".tmp.", 5))
        return 0;
    const char *p = name + n + 6;
    if (!*p) return 0;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return 0;
    return strtol(p, NULL, 10);
}

/* Removes ".BASE.tmp.PID" files beside the target whose process is gone: the name a finished
 * file has for the instant between being linked and being renamed, left only when a command is
 * killed (SIGKILL) in that instant. A process that still runs keeps its file. */
static void remove_stale(const char *target)
{
    char *dir, *base;
    split_target(target, &dir, &base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid = tmp_pid(e->d_name, base);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d) closedir(d);
    free(dir);
    free(base);
}

/* Gives the stream a mode and opens it on fd; what failed into err. */
static int stream_on(struct outfile *o, int fd, const char *what, struct sbuf *err)
{
    if (fchmod(fd, new_mode(o->target)) != 0 || !(o->f = fdopen(fd, "w"))) {
        sbuf_setf(err, "%s: cannot write: %s", what, strerror(errno));
        close(fd);
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* An unnamed file in the target's folder (O_TMPFILE): a command killed while writing leaves
 * nothing, not even under SIGKILL. Returns PARE_OK, PARE_EFAIL with err set, or 1 when the
 * file system cannot make one (the caller falls back to a named temporary file). */
static int open_unnamed(struct outfile *o, struct sbuf *err)
{
#ifdef O_TMPFILE
    char *dir, *base;
    split_target(o->target, &dir, &base);
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    int why = errno;
    free(dir);
    free(base);
    if (fd < 0 && (why == EOPNOTSUPP || why == EISDIR || why == EINVAL)) return 1;
    if (fd < 0) {
        sbuf_setf(err, "%s: cannot create a temporary file beside it: %s", o->name, strerror(why));
        return PARE_EFAIL;
    }
    o->unnamed = 1;
    return stream_on(o, fd, o->name, err);
#else
    (void)o;
    (void)err;
    return 1;
#endif
}

/* A named temporary file beside the target, created exclusively by mkstemp (".NAME." and six
 * random characters) in its folder, for file systems without O_TMPFILE. The six capitals of the
 * name template below are mkstemp's placeholder, replaced by those characters. */
static int open_tmp(struct outfile *o, struct sbuf *err)
{
    char *dir, *base;
    split_target(o->target, &dir, &base);
    struct sbuf t = {0};
    sbuf_addf(&t, "%s/.%s.XXXXXX", dir, base);
    free(dir);
    free(base);
    o->tmp = sbuf_detach(&t);
    int fd = mkstemp(o->tmp); /* O_CREAT | O_EXCL: never through a link at that name */
    if (fd < 0) {
        sbuf_setf(err, "%s: cannot create a temporary file beside it: %s", o->name,
                  strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return PARE_EFAIL;
    }
    o->tmp_slot = tmp_register(o->tmp);
    return stream_on(o, fd, o->tmp, err);
}

/* Gives a finished unnamed file the name ".BASE.tmp.PID" beside the target, ready to be
 * renamed over it. linkat never replaces a name, so one left at ours (by a killed process that
 * had our pid) is removed first. */
static int link_unnamed(struct outfile *o, struct sbuf *err)
{
    char *dir, *base;
    split_target(o->target, &dir, &base);
    struct sbuf t = {0}, proc = {0};
    sbuf_addf(&t, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
    sbuf_addf(&proc, "/proc/self/fd/%d", fileno(o->f));
    free(dir);
    free(base);
    o->tmp = sbuf_detach(&t);
    o->tmp_slot = tmp_register(o->tmp);
    unlink(o->tmp);
    int rc = linkat(AT_FDCWD, proc.p, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW);
    sbuf_free(&proc);
    if (rc != 0) {
        sbuf_setf(err, "%s: cannot write: %s", o->name, strerror(errno));
        tmp_unregister(o->tmp_slot);
        o->tmp_slot = -1;
        free(o->tmp);
        o->tmp = NULL;
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* The regular file a target ends up as: a link to a regular file is followed, so that the file
 * it points to is replaced and the link stays. */
static char *resolve_target(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real) return real;
    }
    return xstrdup(path);
}

int outfile_open(struct outfile *o, const char *path, struct sbuf *err)
{
    memset(o, 0, sizeof *o);
    o->tmp_slot = -1;
    o->name = xstrdup(path);
    o->kind = outfile_kind_of(path);
    int rc = PARE_OK;
    if (o->kind == OUTFILE_STDOUT) {
        o->f = stdout;
    } else if (o->kind == OUTFILE_INPLACE) {
        rc = open_inplace(o, path, err);
    } else {
        o->target = resolve_target(path);
        remove_stale(o->target);
        rc = open_unnamed(o, err);
        if (rc == 1) rc = open_tmp(o, err);
    }
    if (rc != PARE_OK) {
        struct sbuf ignore = {0};
        outfile_close(o, 0, &ignore);
        sbuf_free(&ignore);
    }
    return rc;
}

/* ---- closing ---- */

/* Flushes and closes the stream; what went wrong into err. */
static int finish_stream(struct outfile *o, int keep, struct sbuf *err)
{
    int bad = 0, why = 0;
    if (o->f) {
        bad = fflush(o->f) != 0 || ferror(o->f);
        why = errno;
        if (!bad && keep && o->kind == OUTFILE_RENAME && fsync(fileno(o->f)) != 0) {
            bad = 1;
            why = errno;
        }
        if (!bad && keep && o->unnamed && link_unnamed(o, err) != PARE_OK) {
            fclose(o->f);
            o->f = NULL;
            return PARE_EFAIL;
        }
        if (o->kind != OUTFILE_STDOUT && fclose(o->f) != 0 && !bad) {
            bad = 1;
            why = errno;
        }
        o->f = NULL;
    }
    if (bad && keep) sbuf_setf(err, "%s: write error: %s", o->name, strerror(why ? why : EIO));
    return bad ? PARE_EFAIL : PARE_OK;
}

int outfile_close(struct outfile *o, int keep, struct sbuf *err)
{
    int rc = finish_stream(o, keep, err);
    if (o->tmp) {
        if (keep && rc == PARE_OK && rename(o->tmp, o->target) != 0) {
            sbuf_setf(err, "%s: cannot write: %s", o->name, strerror(errno));
            rc = PARE_EFAIL;
        }
        if (!keep || rc != PARE_OK) unlink(o->tmp);
        tmp_unregister(o->tmp_slot);
    }
    free(o->name);
    free(o->target);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    o->tmp_slot = -1;
    return keep ? rc : PARE_OK;
}
