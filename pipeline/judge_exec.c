/*
 * judge_exec.c - `exec:CMD`: a long-running child process judges, one JSON line per call.
 *   in:  {"id", "question", "answers", "passages": [{"id", "title", "text"}]}
 *   out: {"id", "sufficient": bool, "answer": str}
 * A child that dies, answers garbage or takes longer than the timeout gives JUDGE_ERROR for that
 * call; the next call starts a new child.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/judge_impl.h"

struct child {
    pid_t pid;
    int to, from;   /* pipe ends: we write to `to`, read from `from` */
    struct sbuf in; /* bytes read, not yet consumed */
    int64_t seq;
};

static void child_stop(struct child *c)
{
    if (c->pid > 0) {
        close(c->to);
        close(c->from);
        kill(c->pid, SIGTERM);
        waitpid(c->pid, NULL, 0);
    }
    c->pid = 0;
    sbuf_reset(&c->in);
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
    if (pid == 0) {
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        execl("/bin/sh", "sh", "-c", j->cmd, (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    fcntl(a[1], F_SETFD, FD_CLOEXEC);
    fcntl(b[0], F_SETFD, FD_CLOEXEC);
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

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one line within the deadline. Returns 0 and the line in out, or -1 with err. */
static int read_line(struct child *c, double deadline, struct sbuf *out, struct sbuf *err)
{
    for (;;) {
        char *nl = c->in.len ? memchr(c->in.p, '\n', c->in.len) : NULL;
        if (nl) {
            size_t k = (size_t)(nl - c->in.p);
            sbuf_reset(out);
            sbuf_add(out, c->in.p, k);
            memmove(c->in.p, nl + 1, c->in.len - k - 1);
            c->in.len -= k + 1;
            c->in.p[c->in.len] = '\0';
            return 0;
        }
        double left = deadline - now_monotonic();
        if (left <= 0) {
            sbuf_setf(err, "judge command did not answer in time");
            return -1;
        }
        struct pollfd pf = {c->from, POLLIN, 0};
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
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

static void exec_decide(struct judge *j, struct jquestion *q, uint64_t mask, struct jdone *d)
{
    struct child *c = j->impl;
    struct sbuf err = {0}, line = {0};
    d->verdict = JUDGE_ERROR;
    if (c->pid <= 0 && child_start(j, c, &err) != PARE_OK) goto out;
    struct sbuf id = {0};
    sbuf_addf(&id, "%lld:%016llx:%lld", (long long)q->id, (unsigned long long)mask,
              (long long)++c->seq);
    json_t *ps = json_array();
    for (int i = 0; i < q->n; i++) {
        if (!(mask >> i & 1)) continue;
        json_array_append_new(ps,
                              json_pack("{s:I, s:s, s:s%}", "id", (json_int_t)q->p[i].id, "title",
                                        q->p[i].title, "text", q->p[i].text, q->p[i].len));
    }
    json_t *req = json_pack("{s:s, s:s, s:O, s:o}", "id", id.p, "question", q->question, "answers",
                            q->answers, "passages", ps);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text) abort();
    int bad = write_all(c->to, text, strlen(text)) != 0 || write_all(c->to, "\n", 1) != 0;
    free(text);
    if (bad) {
        sbuf_setf(&err, "cannot write to the judge command (it exited?)");
        child_stop(c);
        sbuf_free(&id);
        goto out;
    }
    double timeout = j->o.timeout_s > 0 ? j->o.timeout_s : 60;
    if (read_line(c, now_monotonic() + timeout, &line, &err) != 0) {
        child_stop(c);
        sbuf_free(&id);
        goto out;
    }
    json_error_t je;
    json_t *resp = json_loads(line.p, 0, &je);
    json_t *suff = resp ? json_object_get(resp, "sufficient") : NULL;
    json_t *rid = resp ? json_object_get(resp, "id") : NULL;
    if (!resp)
        sbuf_setf(&err, "judge command answered a line that is not JSON: %.100s", line.p);
    else if (!json_is_boolean(suff))
        sbuf_setf(&err, "judge command answered without a boolean 'sufficient': %.100s", line.p);
    else if (!json_is_string(rid) || strcmp(json_string_value(rid), id.p) != 0)
        sbuf_setf(&err, "judge command answered for another id: %.100s", line.p);
    else {
        d->verdict = json_is_true(suff) ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT;
        json_t *a = json_object_get(resp, "answer");
        if (json_is_string(a)) d->answer = xstrdup(json_string_value(a));
    }
    if (d->verdict == JUDGE_ERROR) child_stop(c); /* out of step: start afresh */
    json_decref(resp);
    sbuf_free(&id);
out:
    if (d->verdict == JUDGE_ERROR) d->error = sbuf_detach(&err);
    sbuf_free(&err);
    sbuf_free(&line);
}

const struct judge_kind_ops judge_exec_ops = {
    "exec", exec_init, exec_fini, NULL, NULL, exec_decide, NULL, NULL, NULL,
};
