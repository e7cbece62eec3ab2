/*
 * trajectory_impl.h - what the files of a scoring run share (trajectory_scorer.c,
 * trajectory_pipe.c and trajectory_fast.c only, and the unit test of the last; the public header
 * is trajectory.h).
 *
 *   trajectory_scorer.c  the questions, looked up once per run; the rewards at the end, formatted
 *                        on every thread and stored in order by one;
 *   trajectory_pipe.c    the lines in batches: every thread parses, checks, compresses and
 *                        measures them (OpenMP), one thread resolves their questions and names in
 *                        file order and stores them in file order, so the rows are those of a
 *                        serial run whatever the number of threads;
 *   trajectory_fast.c    a line's fields read from its cJSON tree, for the lines whose numbers a
 *                        double holds exactly (the others are read through jansson values).
 */
#ifndef PARE_TRAJECTORY_IMPL_H
#define PARE_TRAJECTORY_IMPL_H

#include "common/jsonfast.h"
#include "pipeline/trajectory.h"
#include "stores/blob.h"

/* A set of 64-bit keys with a count each: open addressing, doubled when half full. */
struct idset {
    uint64_t *key;
    uint32_t *count; /* 0: empty slot */
    size_t n, cap;
};

/* Adds one to key's count and returns the new count. */
uint32_t idset_bump(struct idset *s, uint64_t key);
void idset_free(struct idset *s);

/* The (question, trajectory id) pairs of a run, compared exactly: open addressing on their
 * hash, the pairs themselves laid end to end in `text` (question id, then the id and a NUL). */
struct keyset {
    uint64_t *hash;
    size_t *at; /* where the pair starts in text, plus one (0: empty slot) */
    size_t n, cap;
    struct sbuf text;
};

/* One line on its way: read, parsed and checked (any thread), resolved (in order), measured (any
 * thread), stored (in order). Strings of `l` point into own once read (rec is then released). */
struct traj_slot {
    size_t raw_at, raw_len; /* the line's text in its batch's text */
    const char *raw;
    long line;
    json_t *rec;
    struct traj_line l;
    int rc;          /* of reading and checking the fields: PARE_OK or PARE_EINPUT */
    int from_reader; /* msg is the reader's whole "path:line: what" */
    int sel_rc;      /* of reading the selection (checked after the question) */
    int zip_rc;      /* of compressing the response */
    struct sbuf msg, sel_msg;
    int64_t *ids;
    int ns, stated;
    char *answer, *seltext;
    struct sbuf body; /* the response, compressed */
    struct sbuf own;  /* the response, policy and dataset of l, once rec is released */
    struct traj_question *q;
    int keep; /* resolved: a trajectory of this shard to measure and store */
    struct traj_item it;
};

/* Lines of one file taken together; batches in flight: filled, parsed, resolved, measured. */
#define TRAJ_BATCHES 4
struct traj_batch {
    struct traj_slot *slot;
    int n, cap;
    struct sbuf text;
    const char *path;
};

struct traj_scorer {
    struct store *st;
    struct traj_scope scope;
    struct reward_params params;
    int schemes[N_SCHEMES];
    int n_threads;
    struct blob_codec **codec;    /* one per thread; responses: frames without a dictionary */
    struct jsonfast_arena *arena; /* one per thread: the cJSON tree of the line it reads */
    struct jsonfast_arena qarena; /* the questions' (loaded on the resolving thread) */
    struct traj_question **qc;    /* open addressing on xxh3 of the key; stable pointers */
    size_t qc_cap, qc_n;
    struct traj_batch batch[TRAJ_BATCHES]; /* lines in flight (see trajectory_pipe.c) */
    int fill, parsed, measure, store;      /* which batch is which */
    struct traj_item *items;
    size_t n, cap;
    int64_t new_traj, other; /* other: lines of another shard's questions */
    int64_t next_id;         /* the id SQLite gives the next trajectory row (0: not known yet) */
    struct keyset seen;      /* trajectories taken in this run */
    struct idset repeats;    /* hashes of lines without an id, with how often each came */
    struct sbuf meta, key, why;
};

/*
 * The question of a line from the cache, loaded on first use (so only in file order, on one
 * thread): its id within --dataset, else within the dataset its ground truth names, else in any.
 * Returns PARE_OK with *out (a pointer that stays valid for the run), PARE_EINPUT (unknown or
 * ambiguous id: err says which) or PARE_EFAIL (err set).
 */
int traj_question_of(struct traj_scorer *s, const struct traj_line *l, struct traj_question **out,
                     struct sbuf *err);

/*
 * Whether every number in raw[0..len) (outside strings) is an integer literal of at most 15
 * digits, so that a cJSON tree of it holds each number exactly, as jansson would (an integer).
 * Invalid JSON may pass: the parser rejects it.
 */
int traj_numbers_exact(const char *raw, size_t len);

/*
 * A line's fields from its cJSON tree (raw[0..raw_len): its text, whose numbers
 * traj_numbers_exact accepted), with its selection in *ids[0..*n) (caller frees) and *stated as
 * traj_selection gives them: the fields traj_parse_line and traj_selection give for the same
 * line, the strings of *out pointing into the tree. Returns 0, or -1 for any line they would not
 * accept as it is or that names its question otherwise than by "question_id" (*out is then
 * empty, *ids NULL): such a line takes the jansson path, which says what is wrong.
 */
int traj_tree_line(const struct cJSON *rec, const char *raw, size_t raw_len, struct traj_line *out,
                   int64_t **ids, int *n, int *stated);

/* Frees the batches' slots and what they hold. */
void traj_batches_free(struct traj_scorer *s);

#endif
