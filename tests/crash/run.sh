#!/usr/bin/env bash
# Crash consistency in CI: kills every stage of the pipeline at random moments (SIGKILL), runs
# it again, and checks the database and files equal an uninterrupted run's, with no temporary
# file left (tests/crash/crash_consistency.py). Bounded: 6 trials per stage, 1 to 3 kills each,
# about 3 minutes on 2 cores.
#
#   tests/crash/run.sh [BUILD] [crash_consistency.py options]   # BUILD defaults to build
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
export PARE_BIN="$root/$build/pare"
exec timeout 1200 python3 "$root/tests/crash/crash_consistency.py" "$@"
