#!/usr/bin/env python3
"""Ingest benchmark: N generated passages (default 1,000,000) loaded by `pare ingest`, against
`sqlite3 .import` of the same rows as plain text (no hashing, dedup or compression); then, when
the shared benchmark inputs are beside the repository, the 10,000 HotpotQA questions of
`scale_ircot.py dev500_ircot.jsonl 20` (IRCoT format, 97,160 passages).
Prints wall and CPU seconds (user + system, all threads): on a shared machine the wall time
varies with the load, the CPU time much less. Figures, not a pass/fail test.
Usage: bench_ingest.py BUILD_DIR [N] [REPEAT]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, stdin=None):
    """Wall seconds, peak RSS (MiB) and CPU seconds of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return dt, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime


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
    print("load average before: %.2f (on %d CPUs: pare's threads share them with whatever else runs)"
          % (os.getloadavg()[0], os.cpu_count() or 0))

    pare_t, pare_rss, pare_cpu, imp_t = [], [], [], []
    for i in range(repeat):
        db = os.path.join(work, "p%d.db" % i)
        dt, rss, cpu = timed([pare, "--db", db, "--quiet", "ingest", "--format", "generic", jsonl])
        pare_t.append(dt)
        pare_rss.append(rss)
        pare_cpu.append(cpu)
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
    print("                  CPU %s s (user + system, all threads; wall %s s)"
          % (spread(pare_cpu), spread(pare_t)))
    print("sqlite3 .import:  %s, database %.0f MiB (plain text, no hash, no dedup)" % (fmt(imp_t), imp_mib))
    print("pare / sqlite3 .import speed: %.2f" % (statistics.median(imp_t) / statistics.median(pare_t)))
    print("runs (pare s, sqlite3 s): %s; load average after: %.2f"
          % (", ".join("%.2f/%.2f" % (a, b) for a, b in zip(pare_t, imp_t)), os.getloadavg()[0]))
    for p in (jsonl, tsv):
        os.remove(p)
    hotpotqa(pare, work, repeat)
    os.rmdir(work)


def spread(xs):
    """median (min-max) of a few timings"""
    return "%.2f (%.2f-%.2f)" % (statistics.median(xs), min(xs), max(xs))


def hotpotqa(pare, work, repeat):
    """The whole-pipeline benchmark's ingest: 10,000 HotpotQA questions in IRCoT format."""
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared")
    scale = os.path.join(shared, "bench/scale_ircot.py")
    src = os.path.join(shared, "data/hotpotqa/dev500_ircot.jsonl")
    if not (os.path.exists(scale) and os.path.exists(src)):
        print("(no ../shared/bench/scale_ircot.py or its data: HotpotQA figure skipped)")
        return
    inp = os.path.join(work, "hotpotqa10k.jsonl")
    subprocess.run([sys.executable, scale, src, "20", inp], check=True, stdout=subprocess.DEVNULL)
    wall, cpu = [], []
    for i in range(repeat):
        db = os.path.join(work, "h%d.db" % i)
        dt, _, c = timed([pare, "--db", db, "--quiet", "ingest", "--format", "ircot", inp])
        wall.append(dt)
        cpu.append(c)
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                os.remove(p)
    os.remove(inp)
    print("HotpotQA 10,000 questions (IRCoT, 97,160 passages): wall %s s, CPU %s s"
          % (spread(wall), spread(cpu)))


if __name__ == "__main__":
    main()
