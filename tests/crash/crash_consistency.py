#!/usr/bin/env python3
"""Crash consistency: every stage, killed with SIGKILL at random moments and run again, leaves
the same database (and the same files) as an uninterrupted run, and no temporary file.

The pipeline runs once uninterrupted on real data (../shared/data), keeping a copy of its
folder after each stage. Then, for each stage, each trial starts from the copy made before the
stage, starts the stage and kills it after a random delay (up to 1.2 times the stage's
uninterrupted time), one to three times in a row, then runs it to completion, and compares:
every table but `runs`, without the columns that say when or how long (*_at, latency_ms),
row for row; the files of the folder, byte for byte (database files aside: they are compared
by content); and no run is left 'running'. Everything happens in one folder path, so paths
stored in the database (index files) agree.

usage: crash_consistency.py [--kills N] [--seed S] [--stages a,b] [--keep]
environment: PARE_BIN (default build/pare), PARE_DATA (default ../shared/data), PARE_TMP.
Exit status 0 when every trial matched, 1 otherwise; prints a line per trial.
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.abspath(os.environ.get("PARE_BIN", os.path.join(ROOT, "build", "pare")))
DATA = os.path.abspath(os.environ.get("PARE_DATA", os.path.join(ROOT, "..", "shared", "data")))
DB_FILES = ("t.db", "t.db-wal", "t.db-shm")
# columns that record when or how long, not what
VOLATILE = ("latency_ms",)


def stages(inputs):
    """(name, arguments) of each stage, in pipeline order."""
    return [
        ("ingest", ["ingest", "--format", "ircot", os.path.join(DATA, "hotpotqa/dev500_ircot.jsonl")]),
        ("index", ["index"]),
        ("retrieve", ["retrieve", "--scope", "corpus"]),
        ("mine", ["mine", "--method", "ddmin"]),
        ("augment", ["augment", "--method", "ddmin"]),
        ("score", ["score", "--method", "ddmin", os.path.join(inputs, "rollouts.jsonl")]),
        ("schedule", ["schedule", "--strategy", "decs", "--method", "ddmin"]),
        ("export", ["export", "--what", "verl", "--method", "ddmin", "--split", "0.8", "--out",
                    "train.json"]),
    ]


def env(work):
    """pare's environment: its own TMPDIR, so that temporary files it leaves there are seen."""
    return dict(os.environ, TMPDIR=os.path.join(os.path.dirname(work), "tmp"))


def run(work, args, check=True):
    p = subprocess.run([BIN, "--db", os.path.join(work, "t.db"), "--quiet"] + args, cwd=work,
                       capture_output=True, text=True, timeout=900, env=env(work))
    if check and p.returncode != 0:
        raise RuntimeError("pare %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr[-2000:]))
    return p


def snapshot(work):
    """Every row of every table but runs, without volatile columns; whether a run is left
    'running'. Table and column names come from sqlite_master, not from input."""
    path = os.path.join(work, "t.db")
    con = sqlite3.connect(path)
    try:
        snap = {}
        for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT IN ('runs', 'sqlite_sequence') ORDER BY name"):
            cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % t)
                    if not r[1].endswith("_at") and r[1] not in VOLATILE]
            rows = con.execute("SELECT %s FROM %s" % (", ".join(cols), t)).fetchall()
            snap[t] = sorted(rows, key=repr)
        running = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
        return snap, running
    finally:
        con.close()


def files(work):
    """The folder's files other than the database's own, with their bytes."""
    out = {}
    for name in sorted(os.listdir(work)):
        if name in DB_FILES:
            continue
        with open(os.path.join(work, name), "rb") as f:
            out[name] = f.read()
    return out


def write_rollouts(work, inputs):
    """Trajectory lines for pare score: per mined question, an oracle citing the minimal set and
    a guesser citing nothing, over two steps."""
    con = sqlite3.connect(os.path.join(work, "t.db"))
    rows = con.execute(
        "SELECT q.ext_id, json_extract(q.answers, '$[0]'), (SELECT json_group_array(passage_id) "
        "FROM evidence_members m WHERE m.set_id = e.id) FROM questions q JOIN evidence_sets e "
        "ON e.question_id = q.id WHERE e.status = 'minimal' ORDER BY q.id").fetchall()
    con.close()
    with open(os.path.join(inputs, "rollouts.jsonl"), "w") as f:
        for ext, ans, sel in rows:
            for step in (1, 2):
                f.write(json.dumps({"question_id": ext, "trajectory_id": "%s-o%d" % (ext, step),
                                    "policy": "oracle", "step": step, "selected": json.loads(sel),
                                    "response": "The passages say so. <answer>%s</answer>" % ans}) + "\n")
                f.write(json.dumps({"question_id": ext, "trajectory_id": "%s-g%d" % (ext, step),
                                    "policy": "guess", "step": step, "selected": [],
                                    "response": "I know. <answer>%s</answer>" % (ans if step == 2 else "no")}) + "\n")


def reference(base, inputs):
    """Runs the whole pipeline uninterrupted in base/work, copying the folder to base/after-S
    after each stage S; returns each stage's wall time."""
    work = os.path.join(base, "work")
    os.makedirs(work)
    times = {}
    for name, args in stages(inputs):
        shutil.copytree(work, os.path.join(base, "before-" + name))
        if name == "score":
            write_rollouts(work, inputs)
        t0 = time.monotonic()
        run(work, args)
        times[name] = time.monotonic() - t0
        shutil.copytree(work, os.path.join(base, "after-" + name))
    return times


def trial(base, name, args, t_ref, rnd):
    """One trial of stage name: kills, a final run, the comparison. Returns (ok, what)."""
    work = os.path.join(base, "work")
    shutil.rmtree(work)
    shutil.copytree(os.path.join(base, "before-" + name), work)
    kills, finished_early = rnd.randint(1, 3), 0
    delays = []
    for _ in range(kills):
        delay = rnd.uniform(0, 1.2 * t_ref)
        delays.append(delay)
        p = subprocess.Popen([BIN, "--db", os.path.join(work, "t.db"), "--quiet"] + args, cwd=work,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(work))
        try:
            p.wait(timeout=delay)
            finished_early += 1
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
    run(work, args)
    want, _ = snapshot(os.path.join(base, "after-" + name))
    got, running = snapshot(work)
    what = "killed at %s s" % ", ".join("%.2f" % d for d in delays)
    if finished_early:
        what += " (%d of %d runs ended before their kill)" % (finished_early, kills)
    problems = []
    if running:
        problems.append("%d runs left 'running'" % running)
    for t in sorted(set(want) | set(got)):
        if want.get(t) != got.get(t):
            w, g = want.get(t) or [], got.get(t) or []
            problems.append("table %s differs (%d rows, expected %d)" % (t, len(g), len(w)))
    fw, fg = files(os.path.join(base, "after-" + name)), files(work)
    for f in sorted(set(fw) | set(fg)):
        if f not in fg:
            problems.append("file %s missing" % f)
        elif f not in fw:
            problems.append("file %s left behind" % f)
        elif fw[f] != fg[f]:
            problems.append("file %s differs" % f)
    tmp = os.path.join(base, "tmp")
    for f in sorted(os.listdir(tmp)):
        problems.append("temporary file %s left in TMPDIR" % f)
        os.remove(os.path.join(tmp, f))
    return not problems, what + ("; " + "; ".join(problems) if problems else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=6, help="trials per stage (default 6)")
    ap.add_argument("--seed", type=int, default=int(time.time()), help="random seed")
    ap.add_argument("--stages", default="", help="only these stages (comma-separated)")
    ap.add_argument("--keep", action="store_true", help="keep the folders")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    base = tempfile.mkdtemp(prefix="pare-crash-", dir=os.environ.get("PARE_TMP"))
    inputs = os.path.join(base, "inputs")
    os.makedirs(inputs)
    os.makedirs(os.path.join(base, "tmp"))
    print("crash consistency: seed %d, %d trials per stage, in %s" % (a.seed, a.kills, base))
    failed = trials = 0
    try:
        times = reference(base, inputs)
        only = set(filter(None, a.stages.split(",")))
        for name, args in stages(inputs):
            if only and name not in only:
                continue
            for k in range(a.kills):
                ok, what = trial(base, name, args, times[name], rnd)
                trials += 1
                failed += not ok
                print("%-8s %2d  %s  %s" % (name, k + 1, "ok  " if ok else "FAIL", what), flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("crash consistency: %d trials, %d failed (seed %d)" % (trials, failed, a.seed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
