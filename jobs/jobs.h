/*
 * jobs.h - the entry points of pare's commands, one file each in jobs/ (like git's builtin/).
 *
 * Each takes the shared context and its own argv (argv[0] is the command name) and returns a
 * process exit code: 0 ok, 1 failure, 2 usage, 3 bad input (enum pare_rc).
 */
#ifndef PARE_JOBS_H
#define PARE_JOBS_H

#include "jobs/cli.h"

int job_init(struct pare_ctx *ctx, int argc, char **argv);
int job_ingest(struct pare_ctx *ctx, int argc, char **argv);
int job_status(struct pare_ctx *ctx, int argc, char **argv);
int job_demo(struct pare_ctx *ctx, int argc, char **argv);
int job_index(struct pare_ctx *ctx, int argc, char **argv);
int job_retrieve(struct pare_ctx *ctx, int argc, char **argv);
int job_eval(struct pare_ctx *ctx, int argc, char **argv);
int job_mine(struct pare_ctx *ctx, int argc, char **argv);
int job_augment(struct pare_ctx *ctx, int argc, char **argv);
int job_export(struct pare_ctx *ctx, int argc, char **argv);
int job_score(struct pare_ctx *ctx, int argc, char **argv);
int job_schedule(struct pare_ctx *ctx, int argc, char **argv);
int job_run(struct pare_ctx *ctx, int argc, char **argv);
int job_merge(struct pare_ctx *ctx, int argc, char **argv);
int job_report(struct pare_ctx *ctx, int argc, char **argv);

#endif
