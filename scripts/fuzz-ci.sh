#!/usr/bin/env bash
# Builds pare's libFuzzer harnesses (clang, ASan + UBSan, tests/fuzz) and runs each for a fixed
# time on seeds made at run time from ../shared/data (tests/fuzz/make_seeds.py) plus the seeds
# and regression inputs kept in tests/fuzz. Fails when any harness crashes; a crash's input is
# left in BUILD/fuzz-crashes/ (copy it to tests/fuzz/regress/NAME/ once fixed).
#
#   scripts/fuzz-ci.sh [SECONDS] [HARNESS...]     # default 20 s each, every harness
#   scripts/fuzz-ci.sh 0 fuzz_reader -runs=1000000 # SECONDS 0: no time limit, extra flags kept
#
# Environment: PARE_FUZZ_BUILD (default build-fuzz), PARE_DATA (default ../shared/data).
# Prints one line per harness: executions, seconds, crashes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-20}
[ $# -gt 0 ] && shift
build=${PARE_FUZZ_BUILD:-build-fuzz}
data=${PARE_DATA:-$root/../shared/data}

scripts/install-deps.sh
# Warnings are gcc's gate (make test); clang's own extra warnings must not stop the fuzzing.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARE_FUZZ=ON \
    -DPARE_SANITIZE=ON -DPARE_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_all pare >/dev/null

seeds="$build/fuzz-seeds"
[ -f "$seeds/dict.bin" ] || python3 tests/fuzz/make_seeds.py "$data" "$build/pare" "$seeds"
export PARE_FUZZ_DICT="$seeds/dict.bin"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

all=(fuzz_reader fuzz_jsonfast fuzz_exec_reply fuzz_openai fuzz_blob fuzz_pare_text fuzz_trajectory
     fuzz_format_hotpotqa fuzz_format_2wiki fuzz_format_musique fuzz_format_ircot
     fuzz_format_flashrag fuzz_format_generic)
names=() flags=()
for a in "$@"; do
    case "$a" in -*) flags+=("$a") ;; *) names+=("$a") ;; esac
done
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
[ "$secs" -gt 0 ] && flags+=("-max_total_time=$secs")

failed=0
mkdir -p "$build/fuzz-crashes" "$build/fuzz-logs"
for h in "${names[@]}"; do
    n=${h#fuzz_}
    corpus="$build/fuzz-corpus/$n"
    mkdir -p "$corpus"
    dict=()
    case "$n" in blob | pare_text) ;; *) dict=(-dict=tests/fuzz/json.dict) ;; esac
    inputs=("$corpus")
    for d in "$seeds/$n" tests/fuzz/seeds/$n tests/fuzz/regress/$n; do
        [ -d "$d" ] && inputs+=("$d")
    done
    log="$build/fuzz-logs/$n.log"
    t0=$(date +%s)
    rc=0
    "$build/tests/fuzz/$h" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$build/fuzz-crashes/$n-" "${dict[@]}" "${flags[@]}" \
        "${inputs[@]}" >"$log" 2>&1 || rc=$?
    t1=$(date +%s)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(ls "$build/fuzz-crashes" | grep -c "^$n-" || true)
    printf '%-22s %12s executions %6d s  %d crash inputs  exit %d\n' "$h" "${runs:-?}" \
        $((t1 - t0)) "$crashes" "$rc"
    if [ "$rc" -ne 0 ]; then
        failed=1
        grep -E "ERROR|SUMMARY|check failed|runtime error" "$log" | head -5 >&2 || true
    fi
done
exit $failed
