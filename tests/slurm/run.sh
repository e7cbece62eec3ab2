#!/usr/bin/env bash
# The Slurm test: deploy/slurm/submit.sh runs deploy/pipeline.yaml (2Wiki) on a one-node Slurm
# cluster that this script starts on 127.0.0.1 (tests/slurm/cluster.sh): a prepare job, a job
# array of 4 shards, a dependent merge job, `sbatch --wait`. The merged database must hold what
# `pare run deploy/pipeline.yaml` gives in one process. Run as root after the build:
#
#   tests/slurm/run.sh [BUILD_DIR]      # about a minute; prints "slurm: 1 passed, 0 failed"
#
# Installs slurm-wlm and munge when missing (scripts/install-deps.sh --slurm).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export PARE_BIN=$build/pare
export PARE_DATA=${PARE_DATA:-$root/../shared/data}
[ -x "$PARE_BIN" ] || { echo "slurm test: no $PARE_BIN (build first)" >&2; exit 1; }
"$root/scripts/install-deps.sh" --slurm

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pare-slurm-XXXXXX")
cleanup() {
    "$root/tests/slurm/cluster.sh" stop "$tmp/cluster" || true
    rm -rf "$tmp"
}
trap cleanup EXIT
t0=$SECONDS
mkdir -p "$tmp/cluster"
"$root/tests/slurm/cluster.sh" start "$tmp/cluster"
# shellcheck disable=SC1091
. "$tmp/cluster/env"

echo "== one process: pare run deploy/pipeline.yaml" >&2
PARE_WORK=$tmp/one "$PARE_BIN" --quiet run "$root/deploy/pipeline.yaml" >/dev/null

echo "== Slurm: prepare, array of 4 shards, merge (sbatch --wait)" >&2
rc=0
timeout 600 "$root/deploy/slurm/submit.sh" --wait --work "$tmp/work" \
    "$root/deploy/pipeline.yaml" 4 >/dev/null || rc=$?
for f in "$tmp"/work/logs/*.out; do
    echo "-- $(basename "$f")" >&2
    tail -n 5 "$f" >&2
done
if [ $rc -ne 0 ]; then
    echo "slurm: 0 passed, 1 failed (the merge job ended with $rc)"
    exit 1
fi

python3 - "$tmp/one/pare.db" "$tmp/work/pare.db" "$tmp/work/shards" <<'PY'
import os, sqlite3, sys
one, merged, shards = sys.argv[1:4]
Q = {
    "candidates": "SELECT r.index_id, r.scope, c.question_id, c.passage_id, c.rank, c.score "
                  "FROM candidates c JOIN retrievals r ON r.id = c.retrieval_id",
    "judge_calls": "SELECT hex(key), judge, question_id, subset, verdict, answer FROM judge_calls",
    "sets": "SELECT question_id, judge, method, status, size, (SELECT group_concat(passage_id) "
            "FROM (SELECT * FROM evidence_members m WHERE m.set_id = e.id ORDER BY rank)) "
            "FROM evidence_sets e",
    "rubric_items": "SELECT * FROM rubric_items",
    "negatives": "SELECT question_id, kind, passages, answer, label, verified FROM negatives",
}
def outcome(path):
    con = sqlite3.connect(path)
    return {k: sorted(con.execute(q).fetchall(), key=repr) for k, q in Q.items()}
a, b = outcome(one), outcome(merged)
files = sorted(os.listdir(shards))
bad = [k for k in Q if a[k] != b[k]]
print("slurm: %d shard databases (%s); %s" % (len(files), ", ".join(files),
      ", ".join("%s %d/%d" % (k, len(b[k]), len(a[k])) for k in Q)), file=sys.stderr)
if len(files) != 4 or bad or len(a["sets"]) != 500:
    print("slurm: differs from one process in: %s" % (", ".join(bad) or "shard count"), file=sys.stderr)
    sys.exit(1)
PY
echo "slurm: the merged database equals one process ($((SECONDS - t0)) s)" >&2
echo "slurm: 1 passed, 0 failed"
