#!/usr/bin/env python3
"""Index and retrieval benchmark: N generated passages (default 100,000) and Q generated
questions. Prints passages/s of hash embedding + index build and queries/s of retrieval
(top-20, corpus scope) for several index kinds, with peak RSS. Figures, not a test.
Usage: bench_index.py BUILD_DIR [N] [Q]"""
import os
import shutil
import subprocess
import sys
import tempfile
import time


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    out, err = p.stdout.read().decode(), p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return dt, ru.ru_maxrss / 1024.0, out.strip()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    nq = int(sys.argv[3]) if len(sys.argv) > 3 else 5_000
    pare, gen = os.path.join(build, "pare"), os.path.join(build, "pare_gen")
    work = tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", build))
    corpus, qs = os.path.join(work, "corpus.jsonl"), os.path.join(work, "q.jsonl")
    with open(corpus, "wb") as f:
        subprocess.run([gen, "corpus", str(n)], stdout=f, check=True)
    with open(qs, "wb") as f:
        subprocess.run([gen, "questions", str(nq)], stdout=f, check=True)
    db = os.path.join(work, "b.db")
    base = [pare, "--db", db, "--quiet"]
    timed(base + ["ingest", "--format", "generic", corpus, qs])
    npass = int(subprocess.run(["sqlite3", db, "SELECT count(*) FROM passages"], capture_output=True,
                               text=True, check=True).stdout)
    print("index/retrieve benchmark: %d passages, %d questions, %d threads" % (npass, nq, os.cpu_count()))
    configs = [("Flat", "2048", ""), ("Flat", "256", ""), ("HNSW32", "256", "efSearch=64")]
    for factory, dim, params in configs:
        dt, rss, ix = timed(base + ["index", "--factory", factory, "--dim", dim])
        size = sum(os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if f.endswith(".index%s.faiss" % ix))
        print("index %-7s dim %-5s %8.0f passages/s  peak RSS %5.0f MiB  index file %5.0f MiB"
              % (factory, dim, npass / dt, rss, size / 2**20))
        for rerank in ("0", "100"):
            dt, rss, _ = timed(base + ["retrieve", "--index", ix, "--k", "20", "--rerank", rerank,
                                       "--params", params])
            print("  retrieve top-20 rerank %-3s %8.0f queries/s  peak RSS %5.0f MiB"
                  % (rerank, nq / dt, rss))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
