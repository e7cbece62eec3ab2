#!/usr/bin/env python3
"""Ingest benchmark: N generated passages (default 1,000,000) loaded by `pare ingest`, against
`sqlite3 .import` of the same rows as plain text (no hashing, dedup or compression).
Prints figures; it is not a pass/fail test. Usage: bench_ingest.py BUILD_DIR [N] [REPEAT]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, stdin=None):
    """Wall seconds and peak RSS (MiB) of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return dt, ru.ru_maxrss / 1024.0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    pare, gen = os.path.join(build, "pare"), os.path.join(build, "pare_gen")
    work = tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build))
    jsonl, tsv = os.path.join(work, "corpus.jsonl"), os.path.join(work, "corpus.tsv")
    with open(jsonl, "wb") as f:
        subprocess.run([gen, "corpus", str(n)], stdout=f, check=True)
    with open(tsv, "wb") as f:
        subprocess.run([gen, "corpus", str(n), "--tsv"], stdout=f, check=True)
    size = os.path.getsize(jsonl)
    print("ingest benchmark: %d passages, %.0f MiB of JSON Lines, %d runs each" % (n, size / 2**20, repeat))

    pare_t, pare_rss, imp_t = [], [], []
    for i in range(repeat):
        db = os.path.join(work, "p%d.db" % i)
        dt, rss = timed([pare, "--db", db, "--quiet", "ingest", "--format", "generic", jsonl])
        pare_t.append(dt)
        pare_rss.append(rss)
        db2 = os.path.join(work, "s%d.db" % i)
        sql = "CREATE TABLE passages(id TEXT, title TEXT, text TEXT);\n.mode tabs\n.import %s passages\n" % tsv
        t0 = time.perf_counter()
        subprocess.run(["sqlite3", db2], input=sql.encode(), check=True)
        imp_t.append(time.perf_counter() - t0)
        if i == 0:
            st = subprocess.run([pare, "--db", db, "status", "--json"], capture_output=True, check=True)
            s = json.loads(st.stdout)
            ratio = s["passages"]["compression_ratio"]
            count = s["passages"]["count"]
            db_mib = os.path.getsize(db) / 2**20
            imp_mib = os.path.getsize(db2) / 2**20
        for p in (db, db + "-wal", db + "-shm", db2):
            if os.path.exists(p):
                os.remove(p)
    assert count == n, "stored %d passages, expected %d" % (count, n)

    def fmt(ts):
        rates = sorted(n / t for t in ts)
        return "median %.0f/s (min %.0f, max %.0f; spread %.1f%%)" % (
            statistics.median(rates), rates[0], rates[-1], 100 * (rates[-1] - rates[0]) / statistics.median(rates))

    print("pare ingest:      %s, peak RSS %.0f MiB, database %.0f MiB, compression ratio %.2f"
          % (fmt(pare_t), max(pare_rss), db_mib, ratio))
    print("sqlite3 .import:  %s, database %.0f MiB (plain text, no hash, no dedup)" % (fmt(imp_t), imp_mib))
    print("pare / sqlite3 .import speed: %.2f" % (statistics.median(imp_t) / statistics.median(pare_t)))
    for p in (jsonl, tsv):
        os.remove(p)
    os.rmdir(work)


if __name__ == "__main__":
    main()
