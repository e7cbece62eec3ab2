#!/usr/bin/env python3
"""Report benchmark: `pare report` of a 10,000-question database (the shared HotpotQA IRCoT file
copied 20 times by ../shared/bench/scale_ircot.py), with everything the report shows: context
retrieval, loo and ddmin sets, negatives, rollouts of four policies over three steps scored with
every scheme (as `pare demo` makes them), difficulty and a DECS curriculum. Prints the build time
(min / median / max of R runs) and the file size; figures, not a test. Targets: under 2 s, under
2 MB.
Usage: bench_report.py BUILD_DIR [COPIES] [RUNS]   (PARE_BENCH_DB=FILE keeps the database there
and reuses it on the next call)"""
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared")


def rollouts(db, path):
    """Four policies over three steps per question with a minimal set, as pare demo writes them:
    oracle cites the set, wordy adds a distractor and rambles, guess cites nothing, wrong cites the
    top two and answers wrong."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT json_group_array(passage_id) "
        "FROM (SELECT passage_id FROM evidence_members WHERE set_id = e.id ORDER BY rank)), "
        "(SELECT json_group_array(passage_id) FROM (SELECT passage_id FROM candidates WHERE "
        "question_id = q.id AND retrieval_id = 1 ORDER BY rank)) FROM questions q JOIN "
        "evidence_sets e ON e.question_id = q.id WHERE e.status = 'minimal' AND e.method = 'loo' "
        "ORDER BY q.id").fetchall()
    con.close()
    with open(path, "w") as f:
        for i, (ext, gold, mem, cand) in enumerate(rows):
            m, c = json.loads(mem), json.loads(cand)
            extra = [x for x in c if x not in m][:1]
            for step in (1, 2, 3):
                lines = [
                    ("oracle", m, "The passages say so. <answer>%s</answer>"
                     % (gold if i % 5 != 4 else "unknown"), None),
                    ("wordy", m + extra, "Let me read. Hmm, the first says %s. Wait, check again. "
                     "Therefore it stands. <answer>%s</answer>"
                     % (gold, gold if step >= 2 or i % 2 else "unknown"), 400 * step),
                    ("guess", [], "I just know. <answer>%s</answer>"
                     % (gold if i % 3 == 0 else "somebody"), None),
                    ("wrong", c[:2], "<answer>nobody</answer>", None),
                ]
                for policy, sel, resp, ntok in lines:
                    row = {"question_id": ext, "trajectory_id": "%s-%d" % (policy, step),
                           "policy": policy, "step": step, "selected": sel, "response": resp}
                    if ntok:
                        row["n_tokens"] = ntok
                    f.write(json.dumps(row) + "\n")
    return len(rows)


def build(pare, db, copies, work):
    src = os.path.join(SHARED, "data", "hotpotqa", "dev500_ircot.jsonl")
    data = os.path.join(work, "in.jsonl")
    subprocess.run([sys.executable, os.path.join(SHARED, "bench", "scale_ircot.py"), src,
                    str(copies), data], check=True)
    base = [pare, "--db", db, "--quiet"]
    for args in (["ingest", "--format", "ircot", data], ["index"],
                 ["retrieve", "--scope", "context"], ["mine", "--method", "loo"],
                 ["mine", "--method", "ddmin"], ["augment", "--method", "loo"]):
        subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL)
    roll = os.path.join(work, "rollouts.jsonl")
    rollouts(db, roll)
    for args in (["score", "--method", "loo", roll],
                 ["schedule", "--strategy", "decs", "--plan", "decs", "--batch-size", "64"]):
        subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL)


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else "build"
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    pare = os.path.join(build_dir, "pare")
    work = tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build_dir))
    try:
        db = os.environ.get("PARE_BENCH_DB") or os.path.join(work, "r.db")
        if not os.path.exists(db):
            t = time.time()
            build(pare, db, copies, work)
            print("bench_report: built %s in %.0f s" % (db, time.time() - t), file=sys.stderr)
        con = sqlite3.connect(db)
        counts = con.execute("SELECT (SELECT count(*) FROM questions), (SELECT count(*) FROM "
                             "evidence_sets), (SELECT count(*) FROM trajectories), (SELECT "
                             "count(*) FROM rewards)").fetchone()
        con.close()
        out = os.path.join(work, "report.html")
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([pare, "--db", db, "--quiet", "report", "--out", out], check=True)
            times.append(time.perf_counter() - t)
        print("report: %d questions, %d sets, %d trajectories, %d rewards: build %.2f s (min "
              "%.2f, max %.2f over %d runs), file %.0f KiB"
              % (counts + (statistics.median(times), min(times), max(times), runs,
                           os.path.getsize(out) / 1024)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
