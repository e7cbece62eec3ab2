#!/usr/bin/env python3
"""Whole-pipeline comparison: pare against the plain-Python pipeline of ../shared/bench/baseline_py.py
on the same scaled HotpotQA file, in the same run, stage by stage (ingest, index, retrieve in context
scope, mine with the lexical judge and leave-one-out). Runs alternate (Python, pare, Python, pare ...)
so that both see the same machine; the table gives the median of each stage and the spread.
"total" adds the stages as each side times them (pare's whole processes, Python's stages without
its interpreter start-up and imports); "whole run" times both sides as a user waits for them
(Python's process from exec to exit). Figures, not a test.

Usage: bench_compare.py BUILD_DIR [COPIES] [REPEAT]
  COPIES  copies of hotpotqa/dev500_ircot.jsonl (default 20: 10,000 questions, 97,160 passages)
  REPEAT  runs of each pipeline (default 3)
The Python side needs Debian's python3-faiss, python3-numpy, python3-zstandard and python3-sklearn
(`scripts/install-deps.sh --bench` installs them) and runs under /usr/bin/python3."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("PARE_SHARED", os.path.join(HERE, "../../../shared"))
STAGES = ("ingest", "index", "retrieve", "mine")


def pare_run(pare, work, src):
    """Times each pare stage as a user runs it: one process per command, on a fresh database."""
    db = os.path.join(work, "pare.db")
    for f in os.listdir(work):
        if f.startswith("pare.db"):
            os.remove(os.path.join(work, f))
    base = [pare, "--db", db, "--quiet"]
    cmds = {
        "ingest": ["ingest", "--format", "ircot", src],
        "index": ["index"],
        "retrieve": ["retrieve", "--scope", "context"],
        "mine": ["mine", "--method", "loo", "--json"],
    }
    t, cpu, out = {}, {}, {}
    for stage in STAGES:
        with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
            t0 = time.perf_counter()
            p = subprocess.Popen(base + cmds[stage], stdout=so, stderr=se)
            _, status, ru = os.wait4(p.pid, 0)
            t[stage] = time.perf_counter() - t0
            cpu[stage] = ru.ru_utime + ru.ru_stime
            so.seek(0)
            se.seek(0)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                sys.exit("pare %s failed (%d):\n%s" % (stage, code, se.read().decode()[-2000:]))
            out[stage] = so.read().decode()
    t["total"] = sum(t[s] for s in STAGES)
    cpu["total"] = sum(cpu[s] for s in STAGES)
    t["whole run"], cpu["whole run"] = t["total"], cpu["total"]
    mined = json.loads(out["mine"])
    return t, cpu, mined


def python_run(work, src):
    db = os.path.join(work, "py.db")
    for f in os.listdir(work):
        if f.startswith("py.db"):
            os.remove(os.path.join(work, f))
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/python3", os.path.join(SHARED, "bench/baseline_py.py"), src, db],
                       capture_output=True, text=True)
    whole = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("baseline_py.py failed (%d):\n%s" % (p.returncode, p.stderr[-2000:]))
    r = json.loads(p.stdout.strip().splitlines()[-1])
    t = {s: r[s] for s in STAGES}
    t["total"] = sum(t[s] for s in STAGES)
    t["whole run"] = whole
    return t, r


def spread(xs):
    return (max(xs) - min(xs)) / statistics.median(xs) * 100 if len(xs) > 1 else 0.0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    pare = os.path.join(build, "pare")
    work = tempfile.mkdtemp(prefix="pare-compare-", dir=os.environ.get("TMPDIR", build))
    src = os.path.join(work, "in.jsonl")
    subprocess.run([sys.executable, os.path.join(SHARED, "bench/scale_ircot.py"),
                    os.path.join(SHARED, "data/hotpotqa/dev500_ircot.jsonl"), str(copies), src],
                   check=True)
    keys = STAGES + ("total", "whole run")
    py, pa, pc = {k: [] for k in keys}, {k: [] for k in keys}, {k: [] for k in keys}
    info = None
    for _ in range(repeat):
        t, info = python_run(work, src)
        for k in t:
            py[k].append(t[k])
        t, cpu, mined = pare_run(pare, work, src)
        for k in t:
            pa[k].append(t[k])
            pc[k].append(cpu[k])
    print("pipeline comparison: %d questions, %d passages, %d runs each (alternating)"
          % (info["questions"], info["passages"], repeat))
    print("python: %d minimal sets; pare: %d minimal sets, %.2f judge calls per question"
          % (info["sets"], mined.get("minimal", -1),
             mined.get("judge_calls", 0) / max(1, info["questions"])))
    print("%-10s %10s %8s %10s %10s %8s %8s" % ("stage", "pare (s)", "spread", "pare CPU s",
                                                "python (s)", "spread", "ratio"))
    for k in keys:
        a, b = statistics.median(pa[k]), statistics.median(py[k])
        print("%-10s %10.3f %7.0f%% %10.3f %10.3f %7.0f%% %7.1fx"
              % (k, a, spread(pa[k]), statistics.median(pc[k]), b, spread(py[k]),
                 b / a if a > 0 else float("inf")))
    print("(ratio = python / pare, wall times; spread = (max - min) / median over the runs; pare's "
          "times are whole processes, start-up included, python's the stages its script times;\n"
          " whole run: both as a user waits for them, python's process from its start (interpreter,"
          " imports) to its exit against the sum of pare's four processes)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
