#!/usr/bin/env python3
"""Mining benchmark: N generated questions (default 20,000) with 10 candidates each (context
scope), mined with the lexical judge by loo and by ddmin. Prints questions/s and judge calls per
question; figures, not a test. Usage: bench_mine.py BUILD_DIR [N] [REPEAT]"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    pare, gen = os.path.join(build, "pare"), os.path.join(build, "pare_gen")
    work = tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build))
    qs = os.path.join(work, "q.jsonl")
    with open(qs, "wb") as f:
        subprocess.run([gen, "questions", str(n)], stdout=f, check=True)
    db = os.path.join(work, "m.db")
    base = [pare, "--db", db, "--quiet"]
    for args in (["ingest", "--format", "generic", qs], ["index"], ["retrieve", "--scope", "context"]):
        subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL)
    print("mining benchmark: %d questions, 10 candidates each, lexical judge, %d runs; 'plain' is "
          "the judge's reference feature build (PARE_LEXICAL_PLAIN=1), run alternately" % (n, repeat))
    plain_env = dict(os.environ, PARE_LEXICAL_PLAIN="1")
    for method in ("loo", "ddmin"):
        rates, calls = {"fast": [], "plain": []}, None
        for _ in range(repeat):
            for build, env in (("fast", None), ("plain", plain_env)):
                # a fresh cache each run: the judge answers every call
                subprocess.run(["sqlite3", db, "DELETE FROM evidence_members; DELETE FROM "
                                "evidence_sets; DELETE FROM judge_calls;"], check=True)
                t0 = time.perf_counter()
                out = subprocess.run(base + ["mine", "--method", method, "--json"], check=True,
                                     capture_output=True, text=True, env=env).stdout
                rates[build].append(n / (time.perf_counter() - t0))
                calls = json.loads(out)["judge_calls"] / n
        for build in ("fast", "plain"):
            r = sorted(rates[build])
            print("%-6s %-5s median %6.0f questions/s (min %.0f, max %.0f), %.2f judge calls per "
                  "question" % (method, build, statistics.median(r), r[0], r[-1], calls))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
