#!/usr/bin/env bash
# Runs a pipeline file on a Slurm cluster as three jobs:
#   1. prepare (one task): the stages before retrieve, e.g. ingest and index, into the main db;
#   2. shards (a job array of N tasks, after 1): retrieve, mine and augment of shard I of N,
#      each reading the main database and writing shards/shard-I.db;
#   3. merge (one task, after every task of 2): pare merge of the N shard databases into the
#      main one, then the stages after augment (eval ...).
# Every job runs `pare run`, so the cluster runs what a laptop runs with `pare run FILE`.
#
#   deploy/slurm/submit.sh [--wait] [--work DIR] PIPELINE N [sbatch options...]
#
# --work DIR (default ./pare-work) must be on a file system every node sees; it holds the main
# database (pare.db), the shard databases (shards/) and the jobs' logs (logs/). --wait returns
# when the merge job ends, with its exit code. PARE_BIN names the pare binary (default: pare on
# PATH); OPENAI_BASE_URL, OPENAI_API_KEY and the pipeline's variables pass to the jobs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wait_flag=()
work=pare-work
while [ $# -gt 0 ]; do
    case $1 in
    --wait) wait_flag=(--wait); shift ;;
    --work) work=$2; shift 2 ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || { echo "usage: $0 [--wait] [--work DIR] PIPELINE N [sbatch options...]" >&2; exit 2; }
pipeline=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
n=$2
shift 2
case $n in '' | *[!0-9]* | 0) echo "submit.sh: N must be a positive number" >&2; exit 2 ;; esac
mkdir -p "$work/shards" "$work/logs"
work=$(cd "$work" && pwd)
export PARE_DB=$work/pare.db PARE_SHARDS_DIR=$work/shards PARE_SHARDS=$n
export PARE_BIN=${PARE_BIN:-pare}

prep=$(sbatch --parsable --job-name=pare-prepare --output="$work/logs/prepare-%j.out" "$@" \
    "$here/prepare.sbatch" "$pipeline")
shards=$(sbatch --parsable --job-name=pare-shard --dependency="afterok:$prep" \
    --array="0-$((n - 1))" --output="$work/logs/shard-%A_%a.out" "$@" \
    "$here/shard.sbatch" "$pipeline")
echo "submit.sh: prepare $prep, shards $shards (array 0-$((n - 1))), then merge" >&2
sbatch --parsable ${wait_flag[@]+"${wait_flag[@]}"} --job-name=pare-merge \
    --dependency="afterok:$shards" --kill-on-invalid-dep=yes \
    --output="$work/logs/merge-%j.out" "$@" "$here/merge.sbatch" "$pipeline"
