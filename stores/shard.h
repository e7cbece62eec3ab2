/*
 * shard.h - shards of the per-question stages (DESIGN.md, "Scale").
 *
 * A worker of shard I of N (retrieve, mine, augment, score with --shard I/N --shard-db FILE)
 * works on the questions whose stable hash, xxh64 of "dataset name NUL external id", is I
 * modulo N. It opens FILE, a pare database of its own, as its store, and the main database
 * attached read-only beside it (immutable when the main database has no write-ahead log, so a
 * shared file system needs no locks). In that connection:
 *
 *   - the tables a shard never writes (datasets, passages, questions, question_passages,
 *     zstd_dicts, indexes, index_rows, index_stats) are temporary views of the main database's,
 *     so every query the commands make reads them unchanged (index paths are made absolute);
 *   - the tables the sharded stages write (retrievals, candidates, judge_calls, evidence_sets,
 *     evidence_members, rubric_items, negatives, trajectories, the rewards' tables
 *     trajectory_rewards, reward_params and rewards_extra, runs, rejects) are the
 *     shard file's own; when the shard file is made, it is seeded with the main database's rows
 *     of its questions (all retrievals), so a sharded stage sees the work done before it as a
 *     one-process run would, and each job's own resume works per shard;
 *   - pare_in_shard(question_id) is 1 for the shard's questions: the predicate the stages put on
 *     the questions they select (on an unsharded store it is 1 for every question).
 *
 * The shard file records what it was made from (shard I/N and a fingerprint of the main
 * database's datasets and indexes); a shard reopened against another main database or with
 * another I/N is refused. pare merge adds shard files to the main database (shard_merge).
 */
#ifndef PARE_SHARD_H
#define PARE_SHARD_H

#include <stdint.h>

#include "common/util.h"
#include "stores/store.h"

/* At most this many shards (a bound on the command line, not a need). */
#define SHARD_MAX 100000

struct shard_spec {
    int i, n;
};

/* Parses "I/N" (0 <= I < N <= SHARD_MAX). PARE_OK or PARE_EUSAGE with a message in err. */
int shard_parse(const char *text, struct shard_spec *out, struct sbuf *err);

/* The shard of a question among n: xxh64("dataset NUL ext_id") modulo n. */
int shard_of(const char *dataset, const char *ext_id, int n);

/* Defines pare_in_shard(question_id) as 1 for every question (store_open does, on every store). */
int shard_register_all(struct store *st, struct sbuf *err);

/*
 * Opens (creating when missing) the shard database shard_path for shard sp of the main database
 * main_path, as described above. Returns PARE_OK and *out, or PARE_EFAIL with err set (no main
 * database, different schema versions, a shard of another main database or another I/N, I/O).
 */
int shard_open(const char *shard_path, const char *main_path, const struct shard_spec *sp,
               struct store **out, struct sbuf *err);

/* What one shard file added to the main database. */
struct shard_merge_counts {
    int64_t retrievals, candidates, judge_calls, evidence_sets, evidence_members, rubric_items,
        negatives, trajectories, rewards;
};

/*
 * Checks, writing nothing, that path is a shard database that shard_merge would take (see
 * there). PARE_OK, PARE_EINPUT with err for a file it would refuse, PARE_EFAIL on I/O errors.
 */
int shard_check(struct store *st, const char *path, struct sbuf *err);

/*
 * Adds the shard database at path to st's database, in one transaction: rows the main database
 * lacks are inserted (ids renumbered, references followed), a failed judge call or an evidence
 * set in 'error' is replaced by the shard's answer, nothing else is changed, so merging a file
 * twice adds nothing. rejects go under run_id. Refuses (PARE_EINPUT, nothing written) a file
 * that is not a shard database, that has another schema version, or that was made from a main
 * database with other datasets or indexes. PARE_EFAIL on I/O or database errors.
 */
int shard_merge(struct store *st, const char *path, int64_t run_id, struct shard_merge_counts *c,
                struct sbuf *err);

#endif
