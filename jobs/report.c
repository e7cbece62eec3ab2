/*
 * report.c - `pare report`: one self-contained HTML page with charts of what the database
 * holds (pipeline/report.h gathers the figures and writes the page).
 *
 * The page is written to a temporary file and renamed over --out, so a reader never sees half
 * a report; `--out -` writes to stdout, and a FIFO or device is written in place. The command
 * only reads the database and records no run.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/outfile.h"
#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/report.h"
#include "stores/store.h"

/* Writes n bytes to path as every output file is written (common/outfile.h): stdout for "-", in
 * place for a FIFO or device, else through an exclusive temporary file renamed into place. */
static int write_out(const char *path, const char *data, size_t n, struct sbuf *err)
{
    struct outfile o;
    if (outfile_open(&o, path, err) != PARE_OK) return PARE_EFAIL;
    if (fwrite(data, 1, n, o.f) != n) {
        outfile_close(&o, 0, err);
        sbuf_setf(err, "%s: write error", path);
        return PARE_EFAIL;
    }
    return outfile_close(&o, 1, err);
}

int job_report(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL;
    int64_t retrieval = 0, examples = 3;
    const struct opt opts[] = {
        {"out", OPT_STRING, &out, "report.html", "FILE", "the HTML file to write (- for stdout)"},
        {"retrieval", OPT_INT, &retrieval, "0", "ID",
         "compare every mining run with the top-K of this retrieval (0: the one each run mined)"},
        {"examples", OPT_INT, &examples, "3", "N", "example questions per dataset (0 to 20)"},
        {NULL},
    };
    const struct cli cli = {
        "report",
        NULL,
        "Write one self-contained HTML page with charts of what the database holds.",
        "The page has no script and loads nothing (fonts, styles and charts are inline), so it\n"
        "opens offline and prints as it shows. Its figures of mined sets are those of pare eval.",
        opts,
        0,
        0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    if (examples < 0 || examples > 20 || retrieval < 0) {
        fprintf(stderr, "pare report: --examples must be 0 to 20 and --retrieval at least 0\n");
        return PARE_EUSAGE;
    }
    struct store *st;
    struct sbuf err = {0}, page = {0};
    double t0 = now_monotonic();
    if (store_open(pare_db_path(ctx), 0, &st, &err) != PARE_OK) {
        fprintf(stderr, "pare report: %s\n", sbuf_str(&err));
        sbuf_free(&err);
        return PARE_EFAIL;
    }
    struct report r;
    struct report_opts ro = {retrieval, (int)examples};
    rc = report_gather(st, &ro, &r, &err);
    if (rc == PARE_OK) report_html(&r, &page);
    if (rc == PARE_OK) rc = write_out(out, page.p, page.len, &err);
    if (rc != PARE_OK)
        fprintf(stderr, "pare report: %s\n", sbuf_str(&err));
    else {
        struct job j = {.ctx = ctx}; /* for job_say only: a report records no run */
        job_say(&j, "report: %s (%.1f KiB, %d datasets, %d mining runs) in %.2f s",
                strcmp(out, "-") == 0 ? "stdout" : out, (double)page.len / 1024, r.n_datasets,
                r.n_runs, now_monotonic() - t0);
    }
    report_free(&r);
    store_close(st);
    sbuf_free(&page);
    sbuf_free(&err);
    return rc;
}
