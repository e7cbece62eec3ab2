#!/usr/bin/env python3
"""Index and retrieval benchmark on N generated passages (default 1,000,000) and Q generated
questions (default 10,000). For the index pare chooses by itself (--factory auto) and for each
factory given with --factory it prints: the choice, build time (wall and CPU), peak RSS, bytes
per passage (FAISS file, postings file, features file, all), corpus-scope retrieval of the Q
questions (queries/s, wall and CPU, peak RSS) and recall@10 of the planted gold. Then two
exhaustive searches for the first questions, beside each index's recall on those same
questions: Flat over the same vectors (--exact E, default 500; 0: none) and exact BM25 with
every passage scored from the features file (--exact-bm25 B, default 200; 0: none; it needs a
postings index among those built), whose candidates a postings index must equal exactly.
Figures, not a test: the machine may be shared, so each figure comes with the CPU time, which
others' load disturbs less.
Usage: bench_index.py BUILD_DIR [N] [Q] [--exact E] [--exact-bm25 B] [--factory F]... [--work DIR]"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time


def run(cmd):
    """Runs cmd; returns (wall s, CPU s, peak RSS MiB, stdout, stderr) of the child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        o, e = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), e))
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, o.strip(), e


def recall10(db, rid, upto=None):
    """recall@10 of gold passages (as pare eval computes it) of retrieval rid, over its
    questions, or only those with id <= upto."""
    con = sqlite3.connect(db)
    try:
        gold, hit = con.execute(
            "SELECT sum(g), sum(h) FROM (SELECT q.id, "
            " (SELECT count(DISTINCT passage_id) FROM question_passages qp"
            "   WHERE qp.question_id = q.id AND qp.is_gold) AS g,"
            " (SELECT count(DISTINCT c.passage_id) FROM candidates c JOIN question_passages qp"
            "   ON qp.question_id = c.question_id AND qp.passage_id = c.passage_id AND qp.is_gold"
            "   WHERE c.retrieval_id = ?1 AND c.question_id = q.id AND c.rank <= 10) AS h"
            " FROM questions q WHERE EXISTS (SELECT 1 FROM candidates c WHERE"
            "  c.retrieval_id = ?1 AND c.question_id = q.id) AND (?2 IS NULL OR q.id <= ?2))",
            (rid, upto)).fetchone()
        return (hit or 0) / gold if gold else 0.0
    finally:
        con.close()


def files_of(work, ix):
    """Bytes of index ix's FAISS file, postings file and features file (0 when it has none)."""
    sizes = [0, 0, 0]
    for f in os.listdir(work):
        if ".index%s." % ix in f and ".tmp." not in f and not f.endswith(".npy"):
            kind = 2 if f.endswith(".feat") else 1 if f.endswith(".post") else 0
            sizes[kind] += os.path.getsize(os.path.join(work, f))
    return sizes


def bench_index(pare, db, work, factory, npass, nq):
    """Builds one index and retrieves every question with it; returns (index id, retrieval id)."""
    dt, cpu, rss, ix, err = run([pare, "--db", db, "index", "--factory", factory])
    said = [l for l in err.splitlines() if "factory" in l or l.startswith("index %s:" % ix)]
    faiss_b, post_b, feat_b = files_of(work, ix)
    print("index %s (--factory %s): %s" % (ix, factory, "; ".join(s.strip() for s in said)))
    print("  build: %.1f s wall, %.1f s CPU, peak RSS %.0f MiB; bytes per passage: FAISS %.0f, "
          "postings %.0f, features %.0f, all %.0f"
          % (dt, cpu, rss, faiss_b / npass, post_b / npass, feat_b / npass,
             (faiss_b + post_b + feat_b) / npass))
    dt, cpu, rss, rid, _ = run([pare, "--db", db, "--quiet", "retrieve", "--index", ix])
    print("  retrieve (corpus scope, top 10): %d questions in %.1f s wall (%.0f queries/s), "
          "%.1f s CPU (%.0f queries per CPU-s), peak RSS %.0f MiB; recall@10 %.4f"
          % (nq, dt, nq / dt, cpu, nq / cpu, rss, recall10(db, rid)))
    return ix, rid


def candidates(db, rid, upto):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT question_id, rank, passage_id, score FROM candidates WHERE "
                           "retrieval_id = ? AND question_id <= ? ORDER BY question_id, rank",
                           (rid, upto)).fetchall()
    finally:
        con.close()


def exact_bm25(pare, db, built, factories, nq):
    """Exact BM25 with every passage scored (retrieve --rerank at least the passages on a postings
    index) for the first nq questions, beside each index on those questions."""
    con = sqlite3.connect(db)
    post = [ix for (ix, _) in built
            if con.execute("SELECT factory FROM indexes WHERE id = ?", (ix,)).fetchone()[0]
            == "postings"]
    con.close()
    if not post:
        print("exact BM25: no postings index among those built (--factory postings)")
        return
    dt, cpu, rss, rid, _ = run([pare, "--db", db, "--quiet", "retrieve", "--index", post[0],
                                "--rerank", "1000000000", "--limit", str(nq)])
    con = sqlite3.connect(db)
    upto = con.execute("SELECT max(question_id) FROM candidates WHERE retrieval_id = ?",
                       (rid,)).fetchone()[0]
    con.close()
    ref = candidates(db, rid, upto)
    print("exact BM25 (every passage scored, index %s) on the first %d questions: recall@10 "
          "%.4f (%.1f s wall, %.1f s CPU, %.1f queries per CPU-s)"
          % (post[0], nq, recall10(db, rid), dt, cpu, nq / cpu))
    for (bix, brid), f in zip(built, factories):
        r = recall10(db, brid, upto)
        same = candidates(db, brid, upto) == ref
        print("  index %s (--factory %s) on the same questions: recall@10 %.4f (%+.4f)%s"
              % (bix, f, r, r - recall10(db, rid),
                 "; candidates identical (passages, ranks, scores)" if same else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("q", nargs="?", type=int, default=10_000)
    ap.add_argument("--exact", type=int, default=500)
    ap.add_argument("--exact-bm25", type=int, default=200)
    ap.add_argument("--factory", action="append", default=[])
    ap.add_argument("--work", help="folder to work in (kept); default a temporary one")
    a = ap.parse_args()
    pare, gen = os.path.join(a.build, "pare"), os.path.join(a.build, "pare_gen")
    work = a.work or tempfile.mkdtemp(prefix="pare-bench-", dir=os.environ.get("TMPDIR", a.build))
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "b.db")
    if not os.path.exists(db):
        corpus, qs = os.path.join(work, "corpus.jsonl"), os.path.join(work, "q.jsonl")
        with open(corpus, "wb") as f:
            subprocess.run([gen, "corpus", str(a.n)], stdout=f, check=True)
        with open(qs, "wb") as f:
            subprocess.run([gen, "questions", str(a.q)], stdout=f, check=True)
        run([pare, "--db", db, "--quiet", "ingest", "--format", "generic", corpus, qs])
    con = sqlite3.connect(db)
    npass = con.execute("SELECT count(*) FROM passages").fetchone()[0]
    nq = con.execute("SELECT count(*) FROM questions").fetchone()[0]
    con.close()
    print("index/retrieve benchmark: %d passages, %d questions, %d threads"
          % (npass, nq, os.cpu_count()))
    built = [bench_index(pare, db, work, f, npass, nq) for f in ["auto"] + a.factory]
    if a.exact > 0:
        dt, cpu, rss, ix, _ = run([pare, "--db", db, "--quiet", "index", "--factory", "Flat"])
        dt, cpu, rss, rid, _ = run([pare, "--db", db, "--quiet", "retrieve", "--index", ix,
                                    "--limit", str(a.exact)])
        con = sqlite3.connect(db)
        upto = con.execute("SELECT max(question_id) FROM candidates WHERE retrieval_id = ?",
                           (rid,)).fetchone()[0]
        con.close()
        print("exact search (Flat, index %s) on the first %d questions: recall@10 %.4f "
              "(%.1f s CPU, %.1f queries per CPU-s, peak RSS %.0f MiB)"
              % (ix, a.exact, recall10(db, rid), cpu, a.exact / cpu, rss))
        for (bix, brid), f in zip(built, ["auto"] + a.factory):
            r = recall10(db, brid, upto)
            print("  index %s (--factory %s) on the same questions: recall@10 %.4f (%+.4f)"
                  % (bix, f, r, r - recall10(db, rid)))
    if a.exact_bm25 > 0:
        exact_bm25(pare, db, built, ["auto"] + a.factory, a.exact_bm25)
    if not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
