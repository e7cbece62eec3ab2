/*
 * export.c - `pare export`: JSON Lines for trainers and for people (the rows are
 * pipeline/rows.h's). This file handles the options and the files, which common/outfile.h
 * writes safely: `--out -` is standard output; a FIFO or device (or a link to one) is written in
 * place; a regular file is written beside the target and renamed into place only when every row
 * was written, so a failed export leaves no partial file. A regular file's name must fit the
 * format (verl reads JSON Lines only from .json names). --split R sends a question to train when
 * xxh64(seed, question id) falls below R, and writes NAME.train.EXT and NAME.val.EXT. The
 * evidence sets are those of the newest mined sets' method and judge unless --method / --judge
 * say otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "common/outfile.h"
#include "pipeline/rows.h"
#include "stores/store.h"

struct out {
    struct outfile file;
    int64_t rows;
};

struct ex {
    struct job job;
    struct rows_src src;
    const char *what, *method, *judge;
    enum rows_format format;
    int64_t seed;
    double split;
    struct out train, val;
    struct sbuf err;
};

/* rows_emit_fn: one line in the train or val file. */
static int emit(void *ctx, int64_t qid, json_t *row, json_t *extra)
{
    struct ex *e = ctx;
    int train = e->val.file.f ? rows_is_train(qid, e->seed, e->split) : 1;
    struct out *o = train ? &e->train : &e->val;
    if (extra) {
        json_object_set_new(extra, "split", json_string(train ? "train" : "val"));
        json_object_set_new(extra, "index", json_integer(o->rows)); /* within its file */
    }
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    if (!text || fputs(text, o->file.f) == EOF || fputc('\n', o->file.f) == EOF) {
        free(text);
        sbuf_setf(&e->err, "%s: write error: %s", o->file.name, strerror(errno));
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

/* 1 when path ends in ext. */
static int ends_with(const char *path, const char *ext)
{
    size_t n = strlen(path), m = strlen(ext);
    return n > m && strcmp(path + n - m, ext) == 0 && path[n - m - 1] != '/';
}

/*
 * A regular file's name must say what it holds: verl reads JSON Lines only from a .json name
 * (it reads .parquet as Parquet and refuses anything else), OpenRLHF from .json or .jsonl.
 * Standard output, FIFOs and devices have no such name. Prints what works; PARE_EUSAGE.
 */
static int check_name(enum rows_format f, const char *what, const char *path)
{
    if (outfile_kind_of(path) != OUTFILE_RENAME) return PARE_OK;
    int verl = f == ROWS_VERL || f == ROWS_SCHEDULE;
    if (ends_with(path, ".json") || (!verl && ends_with(path, ".jsonl"))) return PARE_OK;
    if (verl)
        fprintf(stderr,
                "pare export: --out %s: --what %s writes JSON Lines, which verl reads only from a "
                "name ending in .json (it reads .parquet as Parquet and refuses other names): "
                "use NAME.json, or - for standard output\n",
                path, what);
    else
        fprintf(stderr,
                "pare export: --out %s: --what %s writes JSON Lines: use a name ending in .jsonl "
                "or .json, or - for standard output\n",
                path, what);
    return PARE_EUSAGE;
}

/* Writes the rows into tp (and vp with a split), counting them in *rows; the files stay only
 * when all went well. */
static int write_files(struct ex *e, const char *tp, const char *vp, int64_t *rows)
{
    int rc = outfile_open(&e->train.file, tp, &e->err);
    if (rc == PARE_OK && vp) rc = outfile_open(&e->val.file, vp, &e->err);
    if (rc == PARE_OK) rc = rows_export(&e->src, e->format, emit, e, &e->err);
    *rows = e->train.rows + e->val.rows;
    int keep = rc == PARE_OK;
    int c1 = outfile_close(&e->train.file, keep, &e->err);
    int c2 = outfile_close(&e->val.file, keep && c1 == PARE_OK, &e->err);
    if (rc == PARE_OK) rc = c1 != PARE_OK ? c1 : c2;
    return rc;
}

/* Fills in the evidence sets' method and judge (the newest sets' by default); fp and method
 * receive what the caller frees. */
static int resolve_sets(struct ex *e, char **method, char **fp)
{
    int rc = rows_newest_sets(e->src.st, e->judge, e->method, method, fp, &e->err);
    e->src.method = *method ? *method : "loo"; /* no sets at all: rows_export says so */
    e->src.judge = *fp ? *fp : "";
    return rc;
}

/* Opens the store, writes, reports. */
static int export(struct pare_ctx *ctx, int argc, char **argv, struct ex *e, const char *outp)
{
    if (job_open(&e->job, ctx, "export", 0, argc, argv, &e->src.st) != PARE_OK) return PARE_EFAIL;
    e->src.codec = store_codec(e->src.st);
    char *fp = NULL, *method = NULL;
    char *tp = e->split > 0 ? split_name(outp, "train") : xstrdup(outp);
    char *vp = e->split > 0 ? split_name(outp, "val") : NULL;
    int rc = resolve_sets(e, &method, &fp);
    if (rc == PARE_OK) rc = store_retrieval(e->src.st, &e->src.retrieval, 0, &e->err);
    int64_t rows = 0;
    if (rc == PARE_OK) rc = write_files(e, tp, vp, &rows);
    if (rc != PARE_OK)
        fprintf(stderr, "pare export: %s\n", sbuf_str(&e->err));
    else
        job_say(&e->job, "export: %lld %s rows -> %s%s%s", (long long)rows, e->what,
                strcmp(tp, "-") ? tp : "standard output", vp ? " and " : "", vp ? vp : "");
    rc = job_end(&e->job, rc, rows, 0, rc == PARE_OK ? NULL : sbuf_str(&e->err), NULL);
    free(tp);
    free(vp);
    free(fp);
    free(method);
    blob_codec_free(e->src.codec);
    store_close(e->src.st);
    return rc;
}

/* Checks the option values and the output names; prints what is wrong. */
static int check_options(struct ex *e, const char *outp)
{
    if (!e->what || !outp) {
        fprintf(stderr, "pare export: --what (" ROWS_FORMAT_NAMES ") and --out are required\n");
        return PARE_EUSAGE;
    }
    if (rows_format(e->what, &e->format) != 0) {
        fprintf(stderr, "pare export: unknown --what '%s' (" ROWS_FORMAT_NAMES ")\n", e->what);
        return PARE_EUSAGE;
    }
    if (e->split < 0 || e->split >= 1) {
        fprintf(stderr, "pare export: --split must be in [0, 1)\n");
        return PARE_EUSAGE;
    }
    if (e->split > 0 && strcmp(outp, "-") == 0) {
        fprintf(stderr, "pare export: --split writes two files: give --out a file name\n");
        return PARE_EUSAGE;
    }
    if (e->split > 0) {
        char *tp = split_name(outp, "train"), *vp = split_name(outp, "val");
        int rc = check_name(e->format, e->what, tp);
        if (rc == PARE_OK) rc = check_name(e->format, e->what, vp);
        free(tp);
        free(vp);
        return rc;
    }
    return check_name(e->format, e->what, outp);
}

int job_export(struct pare_ctx *ctx, int argc, char **argv)
{
    struct ex e = {0};
    const char *outp = NULL;
    const struct opt opts[] = {
        {"what", OPT_STRING, &e.what, NULL, "W", ROWS_FORMAT_NAMES " (required)"},
        {"plan", OPT_STRING, &e.src.plan, "sorted", "NAME",
         "schedule: the plan to write, in order"},
        {"out", OPT_STRING, &outp, NULL, "FILE",
         "output file (required): verl and schedule want NAME.json, the others .jsonl or .json; "
         "- is standard output; a FIFO or device is written in place"},
        {"split", OPT_DOUBLE, &e.split, "0", "R",
         "share of questions for training; writes NAME.train.EXT and NAME.val.EXT (0: one file)"},
        {"seed", OPT_INT, &e.seed, "42", "N", "seed of the split"},
        {"judge", OPT_STRING, &e.judge, NULL, "FP",
         "evidence sets of this judge fingerprint (default: the newest sets')"},
        {"method", OPT_STRING, &e.method, NULL, "M",
         "evidence sets of this minimiser (default: the newest sets')"},
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
    if ((rc = check_options(&e, outp)) != PARE_OK) return rc;
    rc = export(ctx, argc, argv, &e, outp);
    sbuf_free(&e.err);
    return rc;
}
