#!/usr/bin/env python3
"""Scoring benchmark: N generated trajectories (default 1,000,000) over generated questions that
were mined and augmented, scored with all six schemes, REPEAT times (default 3), each run into a
fresh copy of the prepared database. Prints trajectories/s per run, the median with the spread,
the CPU seconds and peak RSS; figures, not a test.
Usage: bench_score.py BUILD_DIR [N [REPEAT]]
With PARE_BENCH_KEEP=DIR the prepared database (s.db) and trajectories (t.jsonl) are left in DIR
(made once, reused when present), for profiling: perf record pare --db COPY score DIR/t.jsonl"""
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time


def trajectories(db, path, n):
    """Writes n trajectory lines over the mined questions of db: four kinds in turn (the minimal
    set, the first three candidates with a wrong answer, the set plus a candidate, nothing)."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT group_concat("
                       "m.passage_id) FROM evidence_members m WHERE m.set_id = e.id), (SELECT "
                       "group_concat(c.passage_id) FROM candidates c WHERE c.question_id = q.id) "
                       "FROM questions q JOIN evidence_sets e ON e.question_id = q.id WHERE "
                       "e.status = 'minimal'").fetchall()
    con.close()
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
    return len(rows)


def prepare(pare, gen, work, n):
    """The mined database and the trajectory file in work."""
    db, path = os.path.join(work, "s.db"), os.path.join(work, "t.jsonl")
    if os.path.exists(db) and os.path.exists(path):
        return db, path
    qs = os.path.join(work, "q.jsonl")
    with open(qs, "wb") as f:
        subprocess.run([gen, "questions", str(max(100, n // 50))], stdout=f, check=True)
    for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "256"],
                 ["retrieve", "--scope", "context"], ["mine"], ["augment"]):
        subprocess.run([pare, "--db", db, "--quiet"] + args, check=True, stdout=subprocess.DEVNULL)
    trajectories(db, path, n)
    return db, path


def spread(xs, fmt):
    """median (min-max, spread % of the median)"""
    m = statistics.median(xs)
    return (fmt + " (" + fmt + "-" + fmt + ", spread %.0f%%)") % (m, min(xs), max(xs), 100 * (max(xs) - min(xs)) / m)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    pare, gen = os.path.join(build, "pare"), os.path.join(build, "pare_gen")
    keep = os.environ.get("PARE_BENCH_KEEP")
    work = keep or tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build))
    os.makedirs(work, exist_ok=True)
    db, path = prepare(pare, gen, work, n)
    size = os.path.getsize(path)
    run_db = os.path.join(work, "run.db")
    rates, wall, cpu, rss = [], [], [], []
    for i in range(repeat):
        shutil.copyfile(db, run_db)
        t0 = time.perf_counter()
        p = subprocess.Popen([pare, "--db", run_db, "--quiet", "score", path])
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("pare score failed")
        rates.append(n / dt)
        wall.append(dt)
        cpu.append(ru.ru_utime + ru.ru_stime)
        rss.append(ru.ru_maxrss / 1024)
        print("  run %d: %.0f trajectories/s, %.2f s wall, %.2f CPU s" % (i + 1, n / dt, dt, cpu[-1]))
    os.remove(run_db)
    print("scoring benchmark: %d trajectories (%.0f MiB), 6 schemes, %d runs" % (n, size / 2**20, repeat))
    print("pare score: %s trajectories/s; wall %s s; CPU %s s; peak RSS %.0f MiB"
          % (spread(rates, "%.0f"), spread(wall, "%.2f"), spread(cpu, "%.2f"), max(rss)))
    if not keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
