#!/usr/bin/env bash
# Runs every benchmark against a release build and prints their figures.
# Usage: tests/bench/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
shared=${PARE_SHARED:-$here/../../../shared}
if [ -f "$shared/data/hotpotqa/dev500_ircot.jsonl" ]; then
    "$build/pare_bench_text" "$shared/data/hotpotqa/dev500_ircot.jsonl"
fi
python3 "$here/bench_compare.py" "$build" "${PARE_BENCH_COPIES:-20}" "${PARE_BENCH_REPEAT:-3}"
python3 "$here/bench_ingest.py" "$build" "${PARE_BENCH_PASSAGES:-1000000}" "${PARE_BENCH_REPEAT:-3}"
python3 "$here/bench_index.py" "$build" "${PARE_BENCH_INDEX_PASSAGES:-1000000}" "${PARE_BENCH_QUERIES:-2000}"
python3 "$here/bench_mine.py" "$build" "${PARE_BENCH_QUESTIONS:-20000}" "${PARE_BENCH_REPEAT:-3}"
python3 "$here/bench_prior.py" "$build"
python3 "$here/bench_pool.py" "$build"
python3 "$here/bench_score.py" "$build" "${PARE_BENCH_TRAJECTORIES:-1000000}"
python3 "$here/bench_report.py" "$build" "${PARE_BENCH_COPIES:-20}" "${PARE_BENCH_REPEAT:-5}"
