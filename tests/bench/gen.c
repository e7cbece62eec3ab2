/*
 * gen.c - writes generated data for the benchmarks.
 *   pare_gen corpus N [--tsv] [--seed S]   N distinct passages as JSON Lines (or TSV)
 *   pare_gen questions N [--seed S]         N generated questions (generic format)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/cli.h"
#include "pipeline/synth.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pare_gen corpus|questions N [--tsv] [--seed S]\n");
        return 2;
    }
    int64_t n, seed = 7;
    int tsv = 0;
    if (cli_parse_int(argv[2], &n) != 0 || n < 0) {
        fprintf(stderr, "pare_gen: N must be a whole number\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--tsv") == 0)
            tsv = 1;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc &&
                 cli_parse_int(argv[i + 1], &seed) == 0)
            i++;
        else {
            fprintf(stderr, "pare_gen: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    int rc;
    if (strcmp(argv[1], "corpus") == 0) {
        rc = synth_corpus(stdout, (uint64_t)n, (uint64_t)seed, tsv);
    } else if (strcmp(argv[1], "questions") == 0) {
        struct synth_opts o = {(uint64_t)seed, (int)n, 10};
        rc = synth_questions(stdout, &o);
    } else {
        fprintf(stderr, "pare_gen: unknown kind '%s'\n", argv[1]);
        return 2;
    }
    if (fflush(stdout) != 0 || rc != 0) {
        fprintf(stderr, "pare_gen: write error\n");
        return 1;
    }
    return 0;
}
