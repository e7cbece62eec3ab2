/*
 * judge_exec.c - `exec:CMD`: a long-running child process judges, one JSON line per call.
 *   in:  {"id", "question", "answers", "passages": [{"id", "title", "text"}]}
 *   out: {"id", "sufficient": bool, "answer": str}
 * A child that dies, answers garbage, does not read its request or does not answer within the
 * timeout gives JUDGE_ERROR for that call; the next call starts a new child.
 *
 * The command runs under /bin/sh -c in a process group of its own, and stopping it ends the
 * whole group: SIGTERM, then SIGKILL after EXEC_GRACE_S. Signalling only the shell would orphan
 * the judge it started (and a judge that ignores SIGTERM would live forever). The pipe to the
 * child is non-blocking, so one deadline covers writing the request and reading the reply: a
 * judge that stops reading cannot block pare in a write once the pipe (64 KiB) is full.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/judge_exec.h"
#include "pipeline/judge_impl.h"

struct child {
    pid_t pid;      /* also the id of its process group */
    int to, from;   /* pipe ends: we write to `to`, read from `from` */
    struct sbuf in; /* bytes read, not yet consumed */
    int64_t seq;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether a process of group pgid still runs (a zombie does not count: where pid 1 does not
 * reap orphans, as in some containers, killed members stay zombies for good). Reads /proc;
 * without it, any member counts. */
static int group_running(pid_t pgid)
{
    if (kill(-pgid, 0) != 0 && errno == ESRCH) return 0;
    DIR *d = opendir("/proc");
    if (!d) return 1;
    int running = 0;
    struct dirent *e;
    char path[64], stat[512];
    while (!running && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f) fclose(f);
        stat[n] = '\0';
        const char *rp = strrchr(stat, ')'); /* the command name may hold anything */
        char state;
        long ppid, pgrp;
        if (rp && sscanf(rp + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z')
            running = 1;
    }
    closedir(d);
    return running;
}

/*
 * Waits (at most a second) until no process of group pgid runs: SIGKILL takes effect when each
 * member next runs, which on a loaded machine is not at once, so pare does not exit while a
 * judge still runs.
 */
static void group_wait(pid_t pgid)
{
    for (int i = 0; i < 200 && group_running(pgid); i++) sleep_ms(5);
}

/*
 * Ends the child's process group: SIGTERM, a grace period in which the group may exit, then
 * SIGKILL. The leader is reaped (the rest of the group, reparented, by init). Signalling the
 * group after its leader was reaped is safe while members remain: their group id keeps the
 * number from being reused.
 */
static void child_stop(struct child *c)
{
    if (c->pid > 0) {
        close(c->to);
        close(c->from);
        kill(-c->pid, SIGTERM);
        int reaped = 0;
        double until = now_monotonic() + EXEC_GRACE_S;
        for (;;) {
            if (!reaped) {
                pid_t w = waitpid(c->pid, NULL, WNOHANG);
                reaped = w == c->pid || (w < 0 && errno == ECHILD);
            }
            if (reaped && !group_running(c->pid)) break; /* group gone */
            if (now_monotonic() >= until) {
                kill(-c->pid, SIGKILL);
                if (!reaped) waitpid(c->pid, NULL, 0);
                group_wait(c->pid);
                break;
            }
            sleep_ms(5);
        }
    }
    c->pid = 0;
    sbuf_reset(&c->in);
}

/* In the forked child: own process group, default SIGPIPE, pipes on stdin/stdout, exec. */
static void child_exec(const char *cmd, int a[2], int b[2])
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL); /* pare ignores it; an ignored disposition survives exec */
    dup2(a[0], 0);
    dup2(b[1], 1);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

static int child_start(struct judge *j, struct child *c, struct sbuf *err)
{
    int a[2], b[2];
    if (pipe(a) != 0) goto fail;
    if (pipe(b) != 0) {
        close(a[0]);
        close(a[1]);
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        goto fail;
    }
    if (pid == 0) child_exec(j->cmd, a, b);
    setpgid(pid, pid); /* as the child does: whichever runs first, the group exists after */
    close(a[0]);
    close(b[1]);
    fcntl(a[1], F_SETFD, FD_CLOEXEC);
    fcntl(b[0], F_SETFD, FD_CLOEXEC);
    fcntl(a[1], F_SETFL, fcntl(a[1], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->to = a[1];
    c->from = b[0];
    return PARE_OK;
fail:
    sbuf_setf(err, "cannot start judge command: %s", strerror(errno));
    return PARE_EFAIL;
}

static int exec_init(struct judge *j, struct sbuf *err)
{
    (void)err;
    signal(SIGPIPE, SIG_IGN); /* a dead judge is an error return, not a signal */
    j->impl = xcalloc(1, sizeof(struct child));
    sbuf_addf(&j->fingerprint, "exec:%s", j->cmd);
    return PARE_OK;
}

static void exec_fini(struct judge *j)
{
    struct child *c = j->impl;
    child_stop(c);
    sbuf_free(&c->in);
    free(c);
}

/* Milliseconds left until deadline, for poll: at least 1 while any time is left. */
static int ms_left(double deadline)
{
    double left = deadline - now_monotonic();
    return left <= 0 ? 0 : left > 3600 ? 3600000 : (int)(left * 1000) + 1;
}

/* Writes all n bytes before the deadline. Returns 0, or -1 with err. */
static int write_within(int fd, const char *p, size_t n, double deadline, struct sbuf *err)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            sbuf_setf(err, "judge command exited before reading its request");
            return -1;
        }
        int ms = ms_left(deadline);
        if (ms == 0) {
            sbuf_setf(err, "judge command did not read its request in time");
            return -1;
        }
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, ms);
    }
    return 0;
}

/* Moves the first line of c->in (without its newline) to out, if there is one. */
static int take_line(struct child *c, struct sbuf *out)
{
    char *nl = c->in.len ? memchr(c->in.p, '\n', c->in.len) : NULL;
    if (!nl) return 0;
    size_t k = (size_t)(nl - c->in.p);
    sbuf_reset(out);
    sbuf_add(out, c->in.p, k);
    memmove(c->in.p, nl + 1, c->in.len - k - 1);
    c->in.len -= k + 1;
    c->in.p[c->in.len] = '\0';
    return 1;
}

/* Reads one line within the deadline. Returns 0 and the line in out, or -1 with err. */
static int read_line(struct child *c, double deadline, struct sbuf *out, struct sbuf *err)
{
    for (;;) {
        if (take_line(c, out)) return 0;
        if (c->in.len > PARE_MAX_RECORD) {
            sbuf_setf(err, "judge command's reply is longer than %zu MiB", PARE_MAX_RECORD >> 20);
            return -1;
        }
        int ms = ms_left(deadline);
        if (ms == 0) {
            sbuf_setf(err, "judge command did not answer in time");
            return -1;
        }
        struct pollfd pf = {c->from, POLLIN, 0};
        int r = poll(&pf, 1, ms);
        if (r <= 0) continue; /* EINTR or time: the deadline decides */
        char buf[65536];
        ssize_t n = read(c->from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            sbuf_setf(err, "judge command exited");
            return -1;
        }
        sbuf_add(&c->in, buf, (size_t)n);
    }
}

/* Appends ": " and an excerpt of a reply line, safe to show on a terminal. */
static void add_excerpt(struct sbuf *err, const char *line, size_t len)
{
    sbuf_adds(err, ": ");
    sbuf_add_visible(err, line, len, 100);
}

int exec_parse_reply(const char *line, size_t len, const char *id, struct jdone *d,
                     struct sbuf *err)
{
    json_error_t je;
    json_t *resp = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    json_t *suff = json_object_get(resp, "sufficient");
    json_t *rid = json_object_get(resp, "id");
    json_t *ans = json_object_get(resp, "answer");
    int rc = PARE_EINPUT;
    if (!json_is_object(resp))
        sbuf_setf(err, "judge command answered a line that is not a JSON object");
    else if (!json_is_boolean(suff))
        sbuf_setf(err, "judge command answered without a boolean 'sufficient'");
    else if (!json_is_string(rid) || strcmp(json_string_value(rid), id) != 0)
        sbuf_setf(err, "judge command answered for another id");
    else if (ans && !json_is_null(ans) && !json_is_string(ans))
        sbuf_setf(err, "judge command answered an 'answer' that is not a string");
    else
        rc = PARE_OK;
    if (rc == PARE_OK) {
        d->verdict = json_is_true(suff) ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
        d->answer =
            json_is_string(ans) ? xstrndup(json_string_value(ans), json_string_length(ans)) : NULL;
    } else {
        add_excerpt(err, line, len);
    }
    json_decref(resp);
    return rc;
}

/* The request line for subset `mask` of q, with its id. Caller frees. */
static char *request(const struct jquestion *q, uint64_t mask, const char *id)
{
    json_t *ps = json_array();
    for (int i = 0; i < q->n; i++) {
        if (!(mask >> i & 1)) continue;
        json_array_append_new(ps,
                              json_pack("{s:I, s:s, s:s%}", "id", (json_int_t)q->p[i].id, "title",
                                        q->p[i].title, "text", q->p[i].text, q->p[i].len));
    }
    json_t *req = json_pack("{s:s, s:s, s:O, s:o}", "id", id, "question", q->question, "answers",
                            q->answers, "passages", ps);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text) abort();
    struct sbuf line = {0};
    sbuf_adds(&line, text);
    sbuf_addc(&line, '\n');
    free(text);
    return sbuf_detach(&line);
}

static void exec_decide(struct judge *j, struct jquestion *q, uint64_t mask, struct jdone *d)
{
    struct child *c = j->impl;
    struct sbuf err = {0}, line = {0}, id = {0};
    d->verdict = JUDGE_ERROR;
    double deadline = now_monotonic() + (j->o.timeout_s > 0 ? j->o.timeout_s : 60);
    if (c->pid <= 0 && child_start(j, c, &err) != PARE_OK) goto out;
    sbuf_addf(&id, "%lld:%016llx:%lld", (long long)q->id, (unsigned long long)mask,
              (long long)++c->seq);
    char *text = request(q, mask, id.p);
    int ok = write_within(c->to, text, strlen(text), deadline, &err) == 0 &&
             read_line(c, deadline, &line, &err) == 0 &&
             exec_parse_reply(line.p, line.len, id.p, d, &err) == PARE_OK;
    free(text);
    if (!ok) child_stop(c); /* dead, late or out of step: start afresh */
out:
    if (d->verdict == JUDGE_ERROR) d->error = sbuf_detach(&err);
    sbuf_free(&err);
    sbuf_free(&line);
    sbuf_free(&id);
}

const struct judge_kind_ops judge_exec_ops = {
    "exec", exec_init, exec_fini, NULL, NULL, exec_decide, NULL, NULL, NULL,
};
