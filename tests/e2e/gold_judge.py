#!/usr/bin/env python3
"""A test judge for pare's exec: protocol that is neither lexical nor monotone.

It says a subset is sufficient iff it holds every gold passage of the question, then flips a
deterministic share of the verdicts (--flip, default 0.03), chosen by a hash of the question and
the sorted passage ids, so that the same subset always gets the same verdict. The gold passages
come from a JSON file mapping question text to gold passage ids (pare's passages.id), written by
the caller from the database (question_passages.is_gold).

Usage: gold_judge.py GOLD.json [--flip 0.03] [--log FILE]
"""
import argparse
import hashlib
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gold")
    ap.add_argument("--flip", type=float, default=0.03)
    ap.add_argument("--log", default="")
    a = ap.parse_args()
    with open(a.gold) as f:
        gold = {q: set(ids) for q, ids in json.load(f).items()}
    log = open(a.log, "a") if a.log else None
    for line in sys.stdin:
        r = json.loads(line)
        ids = sorted(p["id"] for p in r["passages"])
        need = gold.get(r["question"])
        ok = bool(need) and need <= set(ids)
        h = hashlib.sha256(("%s|%s" % (r["question"], ",".join(map(str, ids)))).encode()).digest()
        if int.from_bytes(h[:8], "big") / 2.0**64 < a.flip:
            ok = not ok
        out = {"id": r["id"], "sufficient": ok, "answer": r["answers"][0] if ok else ""}
        if log:
            log.write("%s\t%s\n" % (r["question"], ",".join(map(str, ids))))
            log.flush()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
