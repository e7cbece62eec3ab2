#!/usr/bin/env python3
"""Judge calls of the cascade (pare mine --prior lexical) against plain loo and ddmin, with a
judge that is neither lexical nor monotone: tests/e2e/gold_judge.py over exec: (sufficient iff
the subset holds every gold passage, 3% of verdicts flipped by a hash). Context scope, the
shared data sets. Prints per data set and method: judge calls per question, the prior's calls,
F1 against gold, and sets proven 1-minimal by the judge's cached verdicts. A figure, not a test.

Usage: bench_prior.py BUILD_DIR [DATA_DIR] [--flip 0.03]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SETS = [("hotpotqa/dev500_ircot.jsonl", "ircot"), ("2wikimultihopqa/dev500.json", "2wiki"),
        ("musique/train100.json", "musique")]


def pare(bin_, db, *args):
    p = subprocess.run([bin_, "--db", db, "--quiet"] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("pare %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout


def gold_file(db, path):
    con = sqlite3.connect(db)
    gold = {}
    for q, pid in con.execute("SELECT q.question, qp.passage_id FROM questions q JOIN "
                              "question_passages qp ON qp.question_id = q.id WHERE qp.is_gold"):
        gold.setdefault(q, []).append(pid)
    con.close()
    with open(path, "w") as f:
        json.dump(gold, f)


def run(bin_, data, rel, fmt, flip, tmp):
    db = os.path.join(tmp, fmt + ".db")
    pare(bin_, db, "ingest", "--format", fmt, os.path.join(data, rel))
    pare(bin_, db, "index")
    pare(bin_, db, "retrieve", "--scope", "context")
    gold = os.path.join(tmp, fmt + ".gold.json")
    gold_file(db, gold)
    judge = "exec:%s %s %s --flip %s" % (sys.executable, os.path.join(HERE, "..", "e2e", "gold_judge.py"),
                                         gold, flip)
    for method in ("loo", "ddmin"):
        pare(bin_, db, "mine", "--judge", judge, "--method", method)
        pare(bin_, db, "mine", "--judge", judge, "--method", method, "--prior", "lexical")
    out = json.loads(pare(bin_, db, "eval", "--json"))
    g = {x["method"]: x for x in out["sets"] if x["judge"].startswith("exec:")}
    loo = g["loo"]["calls_per_question"]
    for m in ("loo", "loo+prior", "ddmin", "ddmin+prior"):
        x = g[m]
        print("%-28s %-12s calls/q %5.2f (%.2f of loo)  prior calls/q %5.2f  F1 %.3f  "
              "1-minimal %d/%d  full_insufficient %d" % (
                  rel, m, x["calls_per_question"], x["calls_per_question"] / loo,
                  x.get("prior_calls_per_question", 0), x["f1"], x["proven_minimal"], x["minimal"],
                  x["full_insufficient"]))
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    ap.add_argument("--flip", default="0.03")
    a = ap.parse_args()
    bin_ = os.path.join(a.build, "pare")
    with tempfile.TemporaryDirectory(prefix="pare-bench-prior-") as tmp:
        for rel, fmt in SETS:
            run(bin_, a.data, rel, fmt, a.flip, tmp)


if __name__ == "__main__":
    main()
