#!/usr/bin/env python3
"""Endpoint-pool benchmark: `pare mine --judge openai` against E fake servers
(fake_openai_fast.py, each answering after DELAY seconds) at 64, 256 and 1,024 requests in
flight. Prints calls/s and pare's CPU seconds (user + system, from wait4) per 1,000 calls, and the
most requests any fake saw pending at once. Figures, not a test.

Usage: bench_pool.py BUILD_DIR [--endpoints E] [--delay S] [--seconds T] [--levels 64,256,1024]
Each level mines about T seconds' worth of questions (level / DELAY calls a second at best).
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# mine keeps one question per request the judge can have in flight: with --max-concurrency per
# endpoint that is level / E each; a pare whose mine counts slots per client needs the level itself
PER_ENDPOINT = os.environ.get("PARE_BENCH_PER_ENDPOINT", "1") == "1"


def start_fakes(n, delay, answers):
    procs, urls = [], []
    for _ in range(n):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_openai_fast.py"), "--delay",
                              str(delay), "--answers", answers], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        procs.append(p)
        urls.append("http://127.0.0.1:%d/v1" % int(p.stdout.readline()))
    return procs, urls


def stop_fakes(procs):
    peaks = []
    for p in procs:
        p.terminate()
        err = p.communicate(timeout=30)[1]
        for line in err.splitlines():
            if line.startswith("fake_openai_fast:"):
                peaks.append(int(line.split("peak")[1].split()[0]))
    return peaks


def prepare(pare, gen, work, n):
    qs = os.path.join(work, "q.jsonl")
    with open(qs, "wb") as f:
        subprocess.run([gen, "questions", str(n)], stdout=f, check=True)
    db = os.path.join(work, "pool.db")
    for args in (["ingest", "--format", "generic", qs], ["index"],
                 ["retrieve", "--scope", "context"]):
        subprocess.run([pare, "--db", db, "--quiet"] + args, check=True, stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    answers = {q: json.loads(a) for q, a in con.execute("SELECT question, answers FROM questions")}
    con.close()
    path = os.path.join(work, "answers.json")
    with open(path, "w") as f:
        json.dump(answers, f)
    return db, path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--levels", default="64,256,1024")
    ap.add_argument("--calls-per-question", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pare, gen = os.path.join(a.build, "pare"), os.path.join(a.build, "pare_gen")
    levels = [int(x) for x in a.levels.split(",")]
    limits = {lv: int(lv / a.delay * a.seconds / a.calls_per_question) for lv in levels}
    work = tempfile.mkdtemp(prefix="pare-bench-pool-", dir=os.environ.get("TMPDIR", a.build))
    try:
        db, answers = prepare(pare, gen, work, max(limits.values()))
        print("endpoint-pool benchmark: pare mine --judge openai, %d fake servers answering after "
              "%.0f ms" % (a.endpoints, a.delay * 1000))
        print("%d runs per level; median (min-max)" % a.repeat)
        print("%9s %9s %9s %22s %24s %10s" % ("in flight", "questions", "calls", "calls/s",
                                             "pare CPU s / 1k calls", "peak seen"))
        for lv in levels:
            rs, peak = [], 0
            for _ in range(a.repeat):
                procs, urls = start_fakes(a.endpoints, a.delay, answers)
                try:
                    rs.append(measure(pare, db, urls, lv, limits[lv]))
                finally:
                    peak = max(peak, sum(stop_fakes(procs)))
            rate = sorted(r["calls"] / r["wall"] for r in rs)
            cpu = sorted(r["cpu"] / r["calls"] * 1000 for r in rs)
            print("%9d %9d %9d %8.0f (%5.0f-%5.0f) %10.3f (%.3f-%.3f) %10d" % (
                lv, rs[0]["questions"], rs[0]["calls"], rate[len(rate) // 2], rate[0], rate[-1],
                cpu[len(cpu) // 2], cpu[0], cpu[-1], peak))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(pare, db, urls, level, limit):
    subprocess.run(["sqlite3", db, "DELETE FROM evidence_members; DELETE FROM evidence_sets; "
                    "DELETE FROM judge_calls;"], check=True)
    per = max(1, level // len(urls)) if PER_ENDPOINT else level
    cmd = [pare, "--db", db, "--quiet", "mine", "--judge", "openai", "--model", "fake",
           "--max-concurrency", str(per), "--limit", str(limit), "--timeout", "120", "--json"]
    env = dict(os.environ, OPENAI_BASE_URL=",".join(urls), OPENAI_API_KEY="sk-bench")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit("pare mine failed (%d): %s" % (status, err.decode()[-2000:]))
    s = json.loads(out)
    if s["failed_calls"]:
        raise SystemExit("%d calls failed" % s["failed_calls"])
    return {"questions": s["questions"], "calls": s["judge_calls"], "wall": wall,
            "cpu": ru.ru_utime + ru.ru_stime}


if __name__ == "__main__":
    main()
