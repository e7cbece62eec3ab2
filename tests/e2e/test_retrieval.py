"""Index and retrieve on the shared data: recall@10 floors for the hash embedder (BM25 on the
same pools minus 0.02), IVF and HNSW indexes, re-indexing from kept vectors, the file and openai
embedders, every index fault (database unchanged), one message per bad option, and exit 1 for
a missing step."""
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import time
import unittest

from common import BIN, FakeOpenAI, PareTest, data

# Recall@10 of gold passages for BM25 on each pool (issue 3), question only / with answer.
BM25 = {
    "hotpotqa/dev500_ircot.jsonl": ("ircot", 0.909, 0.965),
    "2wikimultihopqa/dev500.json": ("2wiki", 0.671, 0.772),
    "musique/train100.json": ("musique", 0.557, 0.751),
}


def write_npy(path, rows):
    """float32 C-order .npy of a list of equal-length lists."""
    dim = len(rows[0])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), dim)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        for r in rows:
            f.write(struct.pack("<%df" % dim, *r))


def write_fvecs(path, rows):
    with open(path, "wb") as f:
        for r in rows:
            f.write(struct.pack("<i", len(r)) + struct.pack("<%df" % len(r), *r))


class Retrieval(PareTest):
    def recall10(self, rid):
        out = json.loads(self.pare("eval", "--recall", "--retrieval", str(rid), "--json").stdout)
        return [r for r in out["recall"] if r["k"] == 10][0]["recall"]

    def retrieve(self, *args, env=None):
        return int(self.pare("--quiet", "retrieve", *args, env=env).stdout.strip())

    def test_hash_flat_recall_floors(self):
        report = []
        for rel, (fmt, q_only, with_answer) in BM25.items():
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + ".db")
                self.pare("--quiet", "ingest", "--format", fmt, data(rel))
                self.pare("--quiet", "index", "--embedder", "hash", "--factory", "Flat")
                r_q = self.recall10(self.retrieve())
                r_a = self.recall10(self.retrieve("--with-answer"))
                report.append("%-30s question %.3f (BM25 %.3f)  with answer %.3f (BM25 %.3f)"
                              % (rel, r_q, q_only, r_a, with_answer))
                self.assertGreaterEqual(r_q, q_only - 0.02, rel)
                self.assertGreaterEqual(r_a, with_answer - 0.02, rel)
        print("\nrecall@10, hash embedder, Flat, corpus scope:\n" + "\n".join(report))

    def test_default_index_size_and_recall(self):
        """Issue 10: the default index (postings with the hash embedder) takes at most 2.5 KB a
        passage (index file and features file) and its recall@10 is within 0.005 of the Flat dim-2048 figures before it (README:
        HotpotQA 0.908 / 0.961, 2Wiki 0.691 / 0.775, MuSiQue 0.603 / 0.819)."""
        flat = {"hotpotqa/dev500_ircot.jsonl": ("ircot", 0.908, 0.961),
                "2wikimultihopqa/dev500.json": ("2wiki", 0.691, 0.775),
                "musique/train100.json": ("musique", 0.603, 0.819)}
        report = []
        for rel, (fmt, q_only, with_answer) in flat.items():
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + ".db")
                self.pare("--quiet", "ingest", "--format", fmt, data(rel))
                p = self.pare("index")
                self.assertIn("factory auto -> postings", p.stderr)
                ix = int(p.stdout)
                n, factory = self.query("SELECT n_vectors, factory FROM indexes WHERE id = ?",
                                        (ix,))[0]
                self.assertEqual(factory, "postings")
                size = sum(os.path.getsize(os.path.join(self.dir, f)) for f in os.listdir(self.dir)
                           if f.startswith(fmt + ".db.index%d." % ix))
                r_q = self.recall10(self.retrieve())
                r_a = self.recall10(self.retrieve("--with-answer"))
                report.append("%-30s %4.0f bytes a passage, recall %.3f (Flat %.3f) / %.3f (Flat %.3f)"
                              % (rel, size / n, r_q, q_only, r_a, with_answer))
                self.assertLessEqual(size / n, 2560)
                self.assertGreaterEqual(r_q, q_only - 0.005)
                self.assertGreaterEqual(r_a, with_answer - 0.005)
        print("\ndefault index, corpus scope:\n" + "\n".join(report))

    def test_ivf_hnsw_and_reindex_from_kept_vectors(self):
        self.pare("--quiet", "ingest", "--format", "ircot", data("hotpotqa/dev500_ircot.jsonl"))
        flat = int(self.pare("--quiet", "index", "--factory", "Flat", "--keep-vectors").stdout)
        r_flat = self.recall10(self.retrieve("--index", str(flat)))
        ivf = int(self.pare("--quiet", "index", "--factory", "IVF64,Flat").stdout)
        r_ivf = self.recall10(self.retrieve("--index", str(ivf), "--params", "nprobe=16"))
        # probing every list is an exhaustive search: exactly Flat's result
        r_ivf_all = self.recall10(self.retrieve("--index", str(ivf), "--params", "nprobe=64", "--k", "10",
                                                "--rerank", "99"))
        r_flat_99 = self.recall10(self.retrieve("--index", str(flat), "--rerank", "99"))
        hnsw = int(self.pare("--quiet", "index", "--factory", "HNSW32").stdout)
        r_hnsw = self.recall10(self.retrieve("--index", str(hnsw), "--params", "efSearch=128"))
        re_ = int(self.pare("--quiet", "index", "--from-index", str(flat), "--factory", "HNSW32").stdout)
        r_re = self.recall10(self.retrieve("--index", str(re_), "--params", "efSearch=128"))
        print("\nrecall@10 HotpotQA: Flat %.3f, IVF64,Flat nprobe 16 %.3f, nprobe 64 %.3f, HNSW32 %.3f, "
              "HNSW32 from kept vectors %.3f" % (r_flat, r_ivf, r_ivf_all, r_hnsw, r_re))
        self.assertEqual(r_ivf_all, r_flat_99)
        self.assertGreater(r_ivf, 0.7)
        # HNSW with a generous efSearch loses almost nothing; the re-index behaves as a fresh one
        self.assertGreater(r_hnsw, r_flat - 0.02)
        self.assertAlmostEqual(r_re, r_hnsw, delta=0.01)
        self.assertEqual(self.query("SELECT count(*) FROM index_rows WHERE index_id = ?", (re_,))[0][0], 4858)

    def test_option_messages_name_their_condition(self):
        """Each bad option value gets its own message, naming that option (exit 2)."""
        cases = [
            (("index", "--dim", "0"), "--dim must be between 1 and 65536"),
            (("index", "--dim", "70000"), "--dim must be between 1 and 65536"),
            (("index", "--batch", "0"), "--batch must be positive"),
            (("index", "--train-size", "-1"), "--train-size must not be negative"),
            (("index", "--title-repeat", "-1"), "--title-repeat must not be negative"),
            (("index", "--bigram-weight", "-0.5"), "--bigram-weight must not be negative"),
            (("index", "--ids-kind", "row"), "--ids-kind must be id or ext"),
            (("index", "--embedder", "magic"), "unknown --embedder 'magic'"),
            (("index", "--from-index", "1", "--keep-vectors"), "no --keep-vectors"),
            (("index", "--from-index", "1", "--embedder", "file"), "no --embedder"),
            (("index", "--from-index", "1", "--vectors", "v.npy"), "no --vectors"),
            (("index", "--embedder", "file", "--keep-vectors", "--vectors", "v.npy", "--ids", "i"),
             "not --embedder file"),
            (("index", "--embedder", "file"), "needs --vectors FILE and --ids FILE"),
            (("retrieve", "--k", "0"), "--k must be positive, or -1"),
            (("retrieve", "--k", "-2"), "--k must be positive, or -1"),
            (("retrieve", "--batch", "0"), "--batch must be positive"),
            (("retrieve", "--rerank", "-1"), "--rerank must not be negative"),
            (("retrieve", "--limit", "-1"), "--limit must not be negative"),
            (("retrieve", "--scope", "world"), "--scope must be corpus or context"),
            (("retrieve", "--embedder", "magic"), "--embedder must be hash, file or openai"),
            (("retrieve", "--query-ids-kind", "row"), "--query-ids-kind must be id or ext"),
        ]
        for args, msg in cases:
            with self.subTest(args):
                p = self.pare(*args, expect=2)
                self.assertIn(msg, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_missing_step_exits_1(self):
        """'run pare X first' is exit 1, and nothing is stored."""
        self.pare("init")
        before = self.snapshot()
        self.assertIn("no passages: run pare ingest first", self.pare("index", expect=1).stderr)
        self.assertIn("no index yet: run pare index first", self.pare("retrieve", expect=1).stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertIn("no index 7", self.pare("retrieve", "--index", "7", expect=2).stderr)

    def index_files(self):
        return sorted(f for f in os.listdir(self.dir) if ".index" in f)

    def test_rerun_stores_no_second_index(self):
        """Issue 15: pare index run again with the same settings on the same passages reuses
        the index it built; other settings, other passages or a damaged file make a new one."""
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        first = int(self.pare("--quiet", "index").stdout)
        files, before = self.index_files(), self.snapshot()
        p = self.pare("index")
        self.assertEqual(int(p.stdout), first)
        self.assertIn("index %d: already built with these settings" % first, p.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.index_files(), files)
        other = int(self.pare("--quiet", "index", "--dim", "1024").stdout)
        self.assertNotEqual(other, first)
        self.assertEqual(int(self.pare("--quiet", "index", "--dim", "1024").stdout), other)
        # a damaged index is not reused
        path = os.path.join(self.dir, self.query("SELECT path FROM indexes WHERE id = ?", (other,))[0][0])
        with open(path, "r+b") as f:
            f.seek(100)
            f.write(b"\x00\xff" * 8)
        self.assertNotIn(int(self.pare("--quiet", "index", "--dim", "1024").stdout), (first, other))
        # more passages: a new index
        self.pare("--quiet", "ingest", "--format", "ircot", data("hotpotqa/dev500_ircot.jsonl"))
        self.assertNotIn(int(self.pare("--quiet", "index").stdout), (first, other))

    def test_killed_index_leaves_nothing_a_rerun_keeps(self):
        """Issue 15: what a killed pare index leaves (temporaries of its files, files of an index
        never recorded) the next run removes."""
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = ["t.db.index1.faiss.tmp.%d" % dead.pid, "t.db.index1.feat.tmp.%d" % dead.pid,
                 "t.db.index1.post.tmp.%d" % dead.pid, "t.db.index7.faiss",
                 "t.db.index7.faiss.vectors.npy"]
        for name in stale:
            self.write(name, "partial")
        p = self.pare("index")  # the default: postings and features files
        self.assertIn("removed 5 files that an interrupted pare index left", p.stderr)
        self.assertEqual(self.index_files(), ["t.db.index1.feat", "t.db.index1.post"])
        # real kills at several moments, then a run to completion
        self.pare("--quiet", "ingest", "--format", "ircot", data("hotpotqa/dev500_ircot.jsonl"))
        for delay in (0.05, 0.2, 0.5, 1.0):
            run = subprocess.Popen([BIN, "--db", self.db, "--quiet", "index", "--keep-vectors"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            run.send_signal(signal.SIGKILL)
            run.wait()
        last = int(self.pare("--quiet", "index", "--keep-vectors").stdout)
        recorded = {r[0] for r in self.query("SELECT id FROM indexes")}
        self.assertIn(last, recorded)
        for name in self.index_files():
            self.assertNotIn(".tmp.", name)
            self.assertIn(int(name.split(".index")[1].split(".")[0]), recorded, name)

    def test_context_scope_reads_no_faiss_file(self):
        """Issue 10: context scope with the hash embedder ranks by BM25 from the features file
        and never reads the index file (postings, the default, or FAISS); corpus scope needs it."""
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        for factory, kind in (("auto", "postings"), ("SQ8", "index")):
            with self.subTest(factory):
                ix = int(self.pare("--quiet", "index", "--factory", factory).stdout)
                with_file = self.retrieve("--index", str(ix), "--scope", "context")
                expect = self.query("SELECT question_id, passage_id, rank, score FROM candidates "
                                    "WHERE retrieval_id = ? ORDER BY 1, 3", (with_file,))
                path = os.path.join(self.dir, self.query("SELECT path FROM indexes WHERE id = ?",
                                                         (ix,))[0][0])
                os.remove(path)
                con = sqlite3.connect(self.db)
                con.execute("DELETE FROM candidates")
                con.commit()
                con.close()
                self.assertEqual(self.retrieve("--index", str(ix), "--scope", "context"), with_file)
                got = self.query("SELECT question_id, passage_id, rank, score FROM candidates "
                                 "WHERE retrieval_id = ? ORDER BY 1, 3", (with_file,))
                self.assertEqual(got, expect)
                p = self.pare("retrieve", "--index", str(ix), expect=1)
                self.assertIn("%s file is missing" % kind, p.stderr)

    def test_context_scope_ranks_own_passages(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        self.pare("--quiet", "index")
        rid = self.retrieve("--scope", "context")
        rows = self.query("SELECT question_id, count(*), min(rank), max(rank) FROM candidates "
                          "WHERE retrieval_id = ? GROUP BY 1", (rid,))
        self.assertEqual(len(rows), 100)
        self.assertEqual({(n, lo, hi) for _, n, lo, hi in rows}, {(20, 1, 20)})
        # every candidate is one of the question's own passages
        stray = self.query("SELECT count(*) FROM candidates c WHERE retrieval_id = ? AND NOT EXISTS "
                           "(SELECT 1 FROM question_passages qp WHERE qp.question_id = c.question_id "
                           "AND qp.passage_id = c.passage_id)", (rid,))[0][0]
        self.assertEqual(stray, 0)
        # rerun: nothing added twice
        before = self.snapshot()
        self.retrieve("--scope", "context")
        self.assertEqual(self.snapshot(), before)

    def test_context_batches_ranked_while_stored(self):
        """Context scope ranks a batch while the one before it is stored: small batches, one
        batch and one thread give the same candidates, also for passages ingested after the
        index (scored from their text, read with the batch); a body that cannot be read stops
        the run after the batches before it are stored, and a rerun adds nothing twice."""
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        self.pare("--quiet", "index")
        self.pare("--quiet", "ingest", "--format", "2wiki", data("2wikimultihopqa/dev500.json"))
        late = self.query("SELECT count(*) FROM passages WHERE id > (SELECT max(passage_id) FROM "
                          "question_passages WHERE question_id <= 100)")[0][0]
        self.assertGreater(late, 0)  # passages the features file lacks
        cols = "SELECT question_id, passage_id, rank, score FROM candidates ORDER BY 1, 3"
        got = {}
        for name, args, env in (("one batch", ("--batch", "100000"), None),
                                ("batches of 7", ("--batch", "7"), None),
                                ("one thread", ("--batch", "7"),
                                 dict(os.environ, OMP_NUM_THREADS="1"))):
            con = sqlite3.connect(self.db)
            con.execute("DELETE FROM candidates")
            con.commit()
            con.close()
            self.retrieve("--scope", "context", *args, env=env)
            got[name] = self.query(cols)
        self.assertEqual(len(got["one batch"]), self.query(
            "SELECT count(*) FROM (SELECT DISTINCT question_id, passage_id FROM question_passages)")[0][0])
        self.assertEqual(got["batches of 7"], got["one batch"])
        self.assertEqual(got["one thread"], got["one batch"])
        # --limit stops at that many questions, whatever the batches in flight; a rerun adds
        # the rest
        for env in (None, dict(os.environ, OMP_NUM_THREADS="1")):
            con = sqlite3.connect(self.db)
            con.execute("DELETE FROM candidates")
            con.commit()
            con.close()
            self.retrieve("--scope", "context", "--batch", "7", "--limit", "30", env=env)
            self.assertEqual(self.query("SELECT count(DISTINCT question_id) FROM candidates")[0][0], 30)
            self.retrieve("--scope", "context", "--batch", "7", env=env)
            self.assertEqual(self.query(cols), got["one batch"])
        # a body that cannot be decompressed, in a passage of a later question, which only the
        # text scoring reads
        con = sqlite3.connect(self.db)
        con.execute("DELETE FROM candidates")
        _, pid = con.execute("SELECT question_id, passage_id FROM question_passages WHERE "
                               "passage_id > (SELECT max(passage_id) FROM question_passages WHERE "
                               "question_id <= 100) ORDER BY question_id LIMIT 1 OFFSET 300").fetchone()
        con.execute("UPDATE passages SET body = x'28b52ffd0000' WHERE id = ?", (pid,))
        con.commit()
        con.close()
        p = self.pare("retrieve", "--scope", "context", "--batch", "7", expect=1)
        self.assertIn("passage %d: " % pid, p.stderr)
        stored = [q for (q,) in self.query("SELECT DISTINCT question_id FROM candidates ORDER BY 1")]
        first = [q for (q,) in self.query("SELECT id FROM questions ORDER BY id")]
        bad = first.index(self.query("SELECT min(question_id) FROM question_passages WHERE "
                                     "passage_id = ?", (pid,))[0][0])
        self.assertGreater(bad, 7)
        self.assertEqual(stored, first[:bad // 7 * 7])  # every batch before the bad one
        before = self.snapshot()
        self.pare("retrieve", "--scope", "context", "--batch", "7", expect=1)
        after = self.snapshot()
        self.assertEqual(after.get("candidates"), before.get("candidates"))

    def file_vectors(self):
        """Random vectors for every passage; each question's query vector is its first gold
        passage's vector, so that passage must come first."""
        pids = [r[0] for r in self.query("SELECT id FROM passages ORDER BY id")]
        rng = random.Random(7)
        vec = {p: [rng.gauss(0, 1) for _ in range(24)] for p in pids}
        gold = self.query("SELECT question_id, min(passage_id) FROM question_passages WHERE is_gold "
                          "GROUP BY question_id ORDER BY question_id")
        return pids, vec, gold

    def test_file_embedder_npy_and_fvecs(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        pids, vec, gold = self.file_vectors()
        for ext, writer in ((".npy", write_npy), (".fvecs", write_fvecs)):
            with self.subTest(ext):
                pv, ids = os.path.join(self.dir, "p" + ext), os.path.join(self.dir, "p.ids")
                writer(pv, [vec[p] for p in pids])
                with open(ids, "w") as f:
                    f.write("".join("%d\n" % p for p in pids))
                ix = int(self.pare("--quiet", "index", "--embedder", "file", "--vectors", pv, "--ids", ids).stdout)
                qv, qi = os.path.join(self.dir, "q" + ext), os.path.join(self.dir, "q.ids")
                writer(qv, [vec[p] for _, p in gold])
                with open(qi, "w") as f:
                    f.write("".join("%d\n" % q for q, _ in gold))
                rid = self.retrieve("--index", str(ix), "--k", "5", "--query-vectors", qv, "--query-ids", qi)
                top = dict(self.query("SELECT question_id, passage_id FROM candidates WHERE retrieval_id = ? "
                                      "AND rank = 1", (rid,)))
                self.assertEqual(top, dict(gold))
                # context scope with stored vectors: the same passage ranks first among its own
                rid = self.retrieve("--index", str(ix), "--scope", "context", "--query-vectors", qv, "--query-ids", qi)
                top = dict(self.query("SELECT question_id, passage_id FROM candidates WHERE retrieval_id = ? "
                                      "AND rank = 1", (rid,)))
                self.assertEqual(top, dict(gold))

    def test_openai_embedder(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        keys, log = os.path.join(self.dir, "keys"), os.path.join(self.dir, "log")
        with FakeOpenAI("--fault", "500,429,drop", "--fault-rate", "0.3", log=log, seen_keys=keys) as srv:
            env = srv.env("sk-secret-embed-key")
            p = self.pare("index", "--embedder", "openai", "--model", "fake", "--request-size", "16",
                          "--max-concurrency", "4", "--max-retries", "8", "--timeout", "10", env=env)
            rid = self.retrieve("--with-answer", "--max-retries", "8", env=env)
        r = self.recall10(rid)
        print("\nrecall@10 MuSiQue with the fake server's bag-of-words embeddings: %.3f" % r)
        self.assertGreater(r, 0.2)  # random would be ~0.005: the vectors map to the right rows
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertTrue(any(" 500 " in l for l in lines) and any(" 429 " in l for l in lines),
                        "faults were injected and survived by retries")
        with open(keys) as f:
            self.assertIn("Bearer sk-secret-embed-key", f.read())
        # the key reaches the server only: not the database, not pare's messages
        self.assertNotIn("sk-secret-embed-key", p.stderr + p.stdout)
        with open(self.db, "rb") as f:
            self.assertNotIn(b"sk-secret-embed-key", f.read())

    def test_openai_server_faults_leave_db_unchanged(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        before = self.snapshot()
        for fault, msg in (("500", "HTTP 500"), ("garbage", "malformed JSON"),
                           ("count", "vectors for"), ("nan", "malformed JSON")):  # NaN is not JSON
            with self.subTest(fault):
                with FakeOpenAI("--always", fault) as srv:
                    p = self.pare("index", "--embedder", "openai", "--max-retries", "1",
                                  env=srv.env(), expect=1)
                self.assertIn(msg, p.stderr)
                self.assertEqual(self.snapshot(), before)
        env = dict(os.environ)
        env.pop("OPENAI_BASE_URL", None)
        self.assertIn("OPENAI_BASE_URL", self.pare("index", "--embedder", "openai", env=env, expect=2).stderr)
        # no half-written index file is left behind
        self.assertEqual([f for f in os.listdir(self.dir) if "faiss" in f], [])

    def test_index_faults(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        pids = [r[0] for r in self.query("SELECT id FROM passages ORDER BY id")]
        ids = self.write("p.ids", "".join("%d\n" % p for p in pids))
        before = self.snapshot()
        # a vectors file whose row count differs from the passages
        short = os.path.join(self.dir, "short.npy")
        write_npy(short, [[1.0, 0.0]] * (len(pids) - 1))
        short_ids = self.write("short.ids", "".join("%d\n" % p for p in pids[:-1]))
        p = self.pare("index", "--embedder", "file", "--vectors", short, "--ids", short_ids, expect=3)
        self.assertIn("the database has %d passages" % len(pids), p.stderr)
        mism = self.pare("index", "--embedder", "file", "--vectors", short, "--ids", ids, expect=3)
        self.assertIn("vectors but", mism.stderr)
        # NaN and infinite values
        for bad, word in ((float("nan"), "NaN"), (float("inf"), "infinite")):
            rows = [[1.0, 0.5]] * len(pids)
            rows[3] = [bad, 1.0]
            v = os.path.join(self.dir, "bad.npy")
            write_npy(v, rows)
            p = self.pare("index", "--embedder", "file", "--vectors", v, "--ids", ids, expect=3)
            self.assertIn("bad.npy:4: value 0 is %s" % word, p.stderr)
        self.assertEqual(self.snapshot(), before)
        # a good hash FAISS index, then break it in every way (test_postings breaks postings)
        ix = int(self.pare("--quiet", "index", "--factory", "SQ8").stdout)
        path = self.query("SELECT path FROM indexes WHERE id = ?", (ix,))[0][0]
        path = os.path.join(self.dir, path)
        before = self.snapshot()
        # index built with another embedder than the one requested
        p = self.pare("retrieve", "--embedder", "file", expect=2)
        self.assertIn("built with the hash embedder, not file", p.stderr)
        # query vectors of the wrong dimension against a file index
        good = os.path.join(self.dir, "good.npy")
        write_npy(good, [[float(i % 7), 1.0, 2.0] for i in range(len(pids))])
        fix = int(self.pare("--quiet", "index", "--embedder", "file", "--vectors", good, "--ids", ids).stdout)
        qv = os.path.join(self.dir, "q.npy")
        write_npy(qv, [[1.0, 2.0]])
        qi = self.write("q.ids", "1\n")
        after_file = self.snapshot()
        p = self.pare("retrieve", "--index", str(fix), "--query-vectors", qv, "--query-ids", qi, expect=3)
        self.assertIn("dimension 2, index %d has 3" % fix, p.stderr)
        self.assertEqual(self.snapshot(), after_file)
        # truncated, corrupt and missing index files
        shutil.copy(path, path + ".orig")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        p = self.pare("retrieve", "--index", str(ix), expect=1)
        self.assertIn("does not match the database", p.stderr)
        shutil.copy(path + ".orig", path)
        with open(path, "r+b") as f:
            f.seek(200)
            f.write(b"\xff" * 16)
        p = self.pare("retrieve", "--index", str(ix), expect=1)
        self.assertIn("truncated, corrupt or replaced", p.stderr)
        os.remove(path)
        p = self.pare("retrieve", "--index", str(ix), expect=1)
        self.assertIn("index file is missing", p.stderr)
        self.assertEqual(self.snapshot(), after_file)
        # and a bad factory string is a usage error that stores nothing
        p = self.pare("index", "--factory", "NoSuchIndex42", expect=2)
        self.assertIn("factory string 'NoSuchIndex42'", p.stderr)
        self.assertEqual(self.snapshot(), after_file)


if __name__ == "__main__":
    unittest.main(verbosity=2)
