/*
 * export.c - `pare export`: JSON Lines for trainers and for people (the rows are
 * pipeline/rows.h's). This file handles the options and the files: each file is written to
 * NAME.tmp and renamed into place only when every row was written, so a failed export leaves no
 * partial file. --split R sends a question to train when xxh64(seed, question id) falls below
 * R, and writes NAME.train.EXT and NAME.val.EXT; verl reads .json names as JSON Lines.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/rows.h"
#include "stores/store.h"

struct out {
    char *path, *tmp;
    FILE *f;
    int64_t rows;
};

struct ex {
    struct job job;
    struct rows_src src;
    const char *what;
    enum rows_format format;
    int64_t seed;
    double split;
    struct out train, val;
    struct sbuf err;
};

static int out_open(struct out *o, const char *path, struct sbuf *err)
{
    o->path = xstrdup(path);
    struct sbuf t = {0};
    sbuf_addf(&t, "%s.tmp", path);
    o->tmp = sbuf_detach(&t);
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        sbuf_setf(err, "%s: cannot create: %s", o->tmp, strerror(errno));
        return PARE_EFAIL;
    }
    return PARE_OK;
}

/* Closes and renames into place (keep) or removes the temporary file. */
static int out_close(struct out *o, int keep, struct sbuf *err)
{
    int rc = PARE_OK;
    if (o->f && fclose(o->f) != 0 && keep) {
        sbuf_setf(err, "%s: write error", o->tmp);
        rc = PARE_EFAIL;
    }
    if (o->tmp) {
        if (keep && rc == PARE_OK && rename(o->tmp, o->path) != 0) {
            sbuf_setf(err, "%s: cannot write: %s", o->path, strerror(errno));
            rc = PARE_EFAIL;
        }
        if (!keep || rc != PARE_OK) remove(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return rc;
}

/* rows_emit_fn: one line in the train or val file. */
static int emit(void *ctx, int64_t qid, json_t *row, json_t *extra)
{
    struct ex *e = ctx;
    int train = e->val.f ? rows_is_train(qid, e->seed, e->split) : 1;
    struct out *o = train ? &e->train : &e->val;
    if (extra) {
        json_object_set_new(extra, "split", json_string(train ? "train" : "val"));
        json_object_set_new(extra, "index", json_integer(o->rows)); /* within its file */
    }
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    if (!text || fputs(text, o->f) == EOF || fputc('\n', o->f) == EOF) {
        free(text);
        sbuf_setf(&e->err, "%s: write error", o->tmp);
        return PARE_EFAIL;
    }
    free(text);
    o->rows++;
    return PARE_OK;
}

/* NAME.PART.EXT for NAME.EXT (NAME.PART without an extension). Caller frees. */
static char *split_name(const char *path, const char *part)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    struct sbuf b = {0};
    if (dot && (!slash || dot > slash)) {
        sbuf_add(&b, path, (size_t)(dot - path));
        sbuf_addf(&b, ".%s%s", part, dot);
    } else {
        sbuf_addf(&b, "%s.%s", path, part);
    }
    return sbuf_detach(&b);
}

/* Writes the rows into tp (and vp with a split), counting them in *rows; the files stay only
 * when all went well. */
static int write_files(struct ex *e, const char *tp, const char *vp, int64_t *rows)
{
    int rc = out_open(&e->train, tp, &e->err);
    if (rc == PARE_OK && vp) rc = out_open(&e->val, vp, &e->err);
    if (rc == PARE_OK) rc = rows_export(&e->src, e->format, emit, e, &e->err);
    *rows = e->train.rows + e->val.rows;
    int keep = rc == PARE_OK;
    int c1 = out_close(&e->train, keep, &e->err), c2 = out_close(&e->val, keep, &e->err);
    if (rc == PARE_OK) rc = c1 != PARE_OK ? c1 : c2;
    return rc;
}

/* Opens the store, writes, reports. */
static int export(struct pare_ctx *ctx, int argc, char **argv, struct ex *e, const char *judge,
                  const char *outp)
{
    if (job_open(&e->job, ctx, "export", 0, argc, argv, &e->src.st) != PARE_OK) return PARE_EFAIL;
    e->src.codec = store_codec(e->src.st);
    char *fp = judge ? xstrdup(judge) : rows_latest_judge(e->src.st, e->src.method);
    e->src.judge = fp ? fp : "";
    char *tp = e->split > 0 ? split_name(outp, "train") : xstrdup(outp);
    char *vp = e->split > 0 ? split_name(outp, "val") : NULL;
    int rc = store_retrieval(e->src.st, &e->src.retrieval, 0, &e->err);
    int64_t rows = 0;
    if (rc == PARE_OK) rc = write_files(e, tp, vp, &rows);
    if (rc != PARE_OK)
        fprintf(stderr, "pare export: %s\n", sbuf_str(&e->err));
    else
        job_say(&e->job, "export: %lld %s rows -> %s%s%s", (long long)rows, e->what, tp,
                vp ? " and " : "", vp ? vp : "");
    rc = job_end(&e->job, rc, rows, 0, rc == PARE_OK ? NULL : sbuf_str(&e->err), NULL);
    free(tp);
    free(vp);
    free(fp);
    blob_codec_free(e->src.codec);
    store_close(e->src.st);
    return rc;
}

int job_export(struct pare_ctx *ctx, int argc, char **argv)
{
    struct ex e = {0};
    const char *outp = NULL, *judge = NULL;
    const struct opt opts[] = {
        {"what", OPT_STRING, &e.what, NULL, "W", ROWS_FORMAT_NAMES " (required)"},
        {"plan", OPT_STRING, &e.src.plan, "sorted", "NAME",
         "schedule: the plan to write, in order"},
        {"out", OPT_STRING, &outp, NULL, "FILE", "output file (required; verl wants a .json name)"},
        {"split", OPT_DOUBLE, &e.split, "0", "R",
         "share of questions for training; writes NAME.train.EXT and NAME.val.EXT (0: one file)"},
        {"seed", OPT_INT, &e.seed, "42", "N", "seed of the split"},
        {"judge", OPT_STRING, &judge, NULL, "FP",
         "evidence sets of this judge fingerprint (default: the most recent sets' judge)"},
        {"method", OPT_STRING, &e.src.method, "loo", "M", "evidence sets of this minimiser"},
        {"retrieval", OPT_INT, &e.src.retrieval, "0", "ID",
         "candidates of this retrieval (0: newest)"},
        {NULL},
    };
    const struct cli cli = {"export",
                            NULL,
                            "Write sets, rubrics, negatives and trainer datasets "
                            "as JSON Lines.",
                            NULL,
                            opts,
                            0,
                            0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    if (!e.what || !outp) {
        fprintf(stderr, "pare export: --what (" ROWS_FORMAT_NAMES ") and --out are required\n");
        return PARE_EUSAGE;
    }
    if (rows_format(e.what, &e.format) != 0) {
        fprintf(stderr, "pare export: unknown --what '%s' (" ROWS_FORMAT_NAMES ")\n", e.what);
        return PARE_EUSAGE;
    }
    if (e.split < 0 || e.split >= 1) {
        fprintf(stderr, "pare export: --split must be in [0, 1)\n");
        return PARE_EUSAGE;
    }
    rc = export(ctx, argc, argv, &e, judge, outp);
    sbuf_free(&e.err);
    return rc;
}
