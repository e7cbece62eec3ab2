/*
 * merge.c - `pare merge FILE...`: adds shard databases (made by retrieve, mine or augment
 * with --shard I/N --shard-db FILE) to the main database, one transaction per file.
 *
 * Every file is checked before any is merged (a shard database of this main database, at its
 * schema version), so a wrong file stops the command with nothing written. The result equals a
 * one-process run of the same stages (ids may differ), and merging a file again adds nothing
 * (stores/shard.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "jobs/job.h"
#include "jobs/jobs.h"
#include "stores/shard.h"

static json_t *counts_json(const char *path, const struct shard_merge_counts *c)
{
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "file", path, "retrievals",
                  (json_int_t)c->retrievals, "candidates", (json_int_t)c->candidates, "judge_calls",
                  (json_int_t)c->judge_calls, "evidence_sets", (json_int_t)c->evidence_sets,
                  "evidence_members", (json_int_t)c->evidence_members, "rubric_items",
                  (json_int_t)c->rubric_items, "negatives", (json_int_t)c->negatives,
                  "trajectories", (json_int_t)c->trajectories, "rewards", (json_int_t)c->rewards);
    if (!o) abort(); /* out of memory */
    return o;
}

/* Merges every file (checked first by a dry pass); stops at the first failure. */
static int merge_all(struct job *j, struct store *st, char **files, int n, json_t *out,
                     struct sbuf *err)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            struct shard_merge_counts c;
            int rc = pass == 0 ? shard_check(st, files[i], err)
                               : shard_merge(st, files[i], j->run_id, &c, err);
            if (rc != PARE_OK) return rc;
            if (pass == 0) continue;
            json_array_append_new(out, counts_json(files[i], &c));
            job_say(j,
                    "merge: %s: %lld candidates, %lld judge calls, %lld evidence sets (%lld "
                    "members), %lld rubric items, %lld negatives, %lld trajectories, %lld rewards",
                    files[i], (long long)c.candidates, (long long)c.judge_calls,
                    (long long)c.evidence_sets, (long long)c.evidence_members,
                    (long long)c.rubric_items, (long long)c.negatives, (long long)c.trajectories,
                    (long long)c.rewards);
        }
    }
    return PARE_OK;
}

int job_merge(struct pare_ctx *ctx, int argc, char **argv)
{
    int json_out = 0;
    const struct opt opts[] = {
        {"json", OPT_FLAG, &json_out, NULL, NULL, "print a JSON summary on stdout"},
        {NULL},
    };
    const struct cli cli = {"merge",
                            "FILE...",
                            "Add shard databases (--shard-db of retrieve, mine, augment) to "
                            "the main database.",
                            "Each file is one transaction; merging a file twice adds nothing. A "
                            "file made from another main\ndatabase (other datasets or indexes) is "
                            "refused, and then nothing is merged.",
                            opts,
                            1,
                            -1};
    char **files = NULL;
    int n = 0;
    int rc = cli_parse(&cli, ctx, argc, argv, &files, &n);
    if (rc != PARE_OK) {
        free(files);
        return rc == CLI_HELP ? PARE_OK : rc;
    }
    struct job j;
    struct store *st;
    if (job_open(&j, ctx, "merge", 0, argc, argv, &st) != PARE_OK) {
        free(files);
        return PARE_EFAIL;
    }
    struct sbuf err = {0};
    json_t *merged = json_array();
    rc = merge_all(&j, st, files, n, merged, &err);
    if (rc != PARE_OK) fprintf(stderr, "pare merge: %s\n", sbuf_str(&err));
    json_t *sum = json_pack("{s:o}", "files", merged);
    if (json_out && rc == PARE_OK && sum) {
        json_dumpf(sum, stdout, JSON_COMPACT);
        printf("\n");
    }
    rc = job_end(&j, rc, rc == PARE_OK ? n : 0, rc == PARE_OK ? 0 : 1,
                 rc == PARE_OK ? NULL : sbuf_str(&err), sum);
    store_close(st);
    sbuf_free(&err);
    free(files);
    return rc;
}
