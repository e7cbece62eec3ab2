#!/usr/bin/env python3
"""Scoring benchmark: N generated trajectories (default 1,000,000) over generated questions that
were mined and augmented, scored with all six schemes. Prints trajectories/s and peak RSS;
figures, not a test. Usage: bench_score.py BUILD_DIR [N]"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    pare, gen = os.path.join(build, "pare"), os.path.join(build, "pare_gen")
    work = tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build))
    nq = max(100, n // 50)
    qs = os.path.join(work, "q.jsonl")
    with open(qs, "wb") as f:
        subprocess.run([gen, "questions", str(nq)], stdout=f, check=True)
    db = os.path.join(work, "s.db")
    base = [pare, "--db", db, "--quiet"]
    for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "256"],
                 ["retrieve", "--scope", "context"], ["mine"], ["augment"]):
        subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT group_concat("
                       "m.passage_id) FROM evidence_members m WHERE m.set_id = e.id), (SELECT "
                       "group_concat(c.passage_id) FROM candidates c WHERE c.question_id = q.id) "
                       "FROM questions q JOIN evidence_sets e ON e.question_id = q.id WHERE "
                       "e.status = 'minimal'").fetchall()
    con.close()
    path = os.path.join(work, "t.jsonl")
    written = 0
    with open(path, "w") as f:
        while written < n:
            for ext, gold, mem, cand in rows:
                if written >= n:
                    break
                m = [int(x) for x in mem.split(",")]
                c = [int(x) for x in cand.split(",")]
                k = written % 4
                extra = [x for x in c if x not in m][:1]
                sel = m if k == 0 else c[:3] if k == 1 else m + extra if k == 2 else []
                ans = gold if k != 1 else "unknown"
                f.write(json.dumps({"question_id": ext, "trajectory_id": "t%d" % written,
                                    "step": 1 + written % 5, "selected": sel,
                                    "response": "Let me see. The passage says %s. <answer>%s</answer>" % (gold, ans)}) + "\n")
                written += 1
    size = os.path.getsize(path)
    t0 = time.perf_counter()
    p = subprocess.Popen(base + ["score", path])
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("pare score failed")
    print("scoring benchmark: %d trajectories (%.0f MiB) over %d questions, 6 schemes" % (n, size / 2**20, len(rows)))
    print("pare score: %.0f trajectories/s, %.1f s, peak RSS %.0f MiB" % (n / dt, dt, ru.ru_maxrss / 1024))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
