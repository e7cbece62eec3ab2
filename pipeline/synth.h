/*
 * synth.h - a synthetic multi-hop world with known gold evidence, for `pare demo` and the
 * benchmarks.
 *
 * The world holds fictional people, cities and works (films, novels). Each entity has one
 * passage. Questions are bridge questions ("In which city was the director of X born?": the
 * work's passage and the director's passage are gold), comparison questions ("Who was born
 * first, A or B?": both people's passages) and yes/no comparisons. Each question's context is
 * its gold passages plus distractors, shuffled. Everything follows from the seed.
 */
#ifndef PARE_SYNTH_H
#define PARE_SYNTH_H

#include <stdint.h>
#include <stdio.h>

#include "common/util.h"

struct synth_opts {
    uint64_t seed;
    int n_questions; /* questions to write */
    int n_context;   /* passages per question context (gold + distractors) */
};

/*
 * Writes n_questions questions as generic-format JSON Lines
 * ({"id","question","answers","type","contexts":[{"title","text","is_gold"}]}) to f.
 * Returns PARE_OK or PARE_EFAIL (write error).
 */
int synth_questions(FILE *f, const struct synth_opts *o);

/*
 * Writes n distinct corpus passages as JSON Lines ({"id","title","text"}), or, with tsv set,
 * as tab-separated "id\ttitle\ttext" lines (the same rows, for sqlite3's .import).
 */
int synth_corpus(FILE *f, uint64_t n, uint64_t seed, int tsv);

#endif
