"""Postings indexes (index --factory postings) on the shared data: corpus-scope candidates equal
the exhaustive BM25 ranking (every passage scored, retrieve --rerank >= the passages) exactly,
passage, rank and score; they dominate SQ8 + re-rank rank by rank; recall@10 floors; context
scope, eval and shards work on them; a corrupt or truncated postings file is an error naming it
that changes nothing; and the options that cannot go with postings are usage errors."""
import json
import os
import shutil
import unittest

from common import PareTest, data

# dataset, format, BM25 recall@10 floors (question, with answer) of test_retrieval
SETS = [
    ("hotpotqa/dev500_ircot.jsonl", "ircot", 0.909, 0.965),
    ("2wikimultihopqa/dev500.json", "2wiki", 0.671, 0.772),
    ("musique/train100.json", "musique", 0.557, 0.751),
]
ALL = "100000000"  # --rerank at least the passages: every passage scored exactly


class Postings(PareTest):
    def retrieve(self, *args):
        return int(self.pare("--quiet", "retrieve", *args).stdout.strip())

    def candidates(self, rid):
        return self.query("SELECT question_id, rank, passage_id, score FROM candidates "
                          "WHERE retrieval_id = ? ORDER BY question_id, rank", (rid,))

    def recall10(self, rid):
        out = json.loads(self.pare("eval", "--recall", "--retrieval", str(rid), "--json").stdout)
        return [r for r in out["recall"] if r["k"] == 10][0]["recall"]

    def by_question(self, rid):
        out = {}
        for q, _, _, s in self.candidates(rid):
            out.setdefault(q, []).append(s)
        return out

    def test_equal_exhaustive_bm25_on_shared_data(self):
        report = []
        for rel, fmt, floor_q, floor_a in SETS:
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + ".db")
                self.pare("--quiet", "ingest", "--format", fmt, data(rel))
                p = self.pare("index", "--factory", "postings")
                self.assertIn("postings", p.stderr)
                post = int(p.stdout)
                row = self.query("SELECT factory, path FROM indexes WHERE id = ?", (post,))[0]
                self.assertEqual(row[0], "postings")
                self.assertTrue(row[1].endswith(".post"), row[1])
                figures = []
                for extra in ([], ["--with-answer"]):
                    rid = self.retrieve("--index", str(post), *extra)
                    full = self.retrieve("--index", str(post), "--rerank", ALL, *extra)
                    got, want = self.candidates(rid), self.candidates(full)
                    self.assertEqual(len(got), 10 * len({q for q, *_ in got}))
                    self.assertEqual(got, want)  # passages, ranks and scores to the last bit
                    figures.append(self.recall10(rid))
                # SQ8 + re-rank of its best 100 hits: exact BM25 never ranks lower, rank by rank
                sq8 = int(self.pare("--quiet", "index", "--factory", "SQ8").stdout)
                approx = [self.retrieve("--index", str(sq8), *extra)
                          for extra in ([], ["--with-answer"])]
                exact = self.by_question(rid)
                for q, scores in self.by_question(approx[1]).items():
                    for r, s in enumerate(scores):
                        self.assertGreaterEqual(exact[q][r], s, (q, r))
                self.assertGreaterEqual(figures[0], floor_q - 0.02)
                self.assertGreaterEqual(figures[1], floor_a - 0.02)
                report.append("%-8s postings recall@10 %.3f / %.3f (question / with answer), "
                              "SQ8 + re-rank 100 %.3f / %.3f"
                              % (fmt, figures[0], figures[1], self.recall10(approx[0]),
                                 self.recall10(approx[1])))
                # context scope and eval read a postings index too
                ctx = self.retrieve("--index", str(post), "--scope", "context")
                self.assertGreater(len(self.candidates(ctx)), 0)
                self.assertIn("postings", self.pare("eval", "--recall", "--retrieval",
                                                     str(rid)).stdout)
        print("\n" + "\n".join(report))

    def test_corrupt_postings_file_is_an_error_naming_it(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        ix = self.pare("--quiet", "index", "--factory", "postings").stdout.strip()
        path = self.db + ".index%s.post" % ix
        with open(path, "rb") as f:
            good = f.read()
        for name, bad in [("flipped", good[:1000] + bytes([good[1000] ^ 1]) + good[1001:]),
                          ("truncated", good[:len(good) // 2])]:
            with self.subTest(name):
                with open(path, "wb") as f:
                    f.write(bad)
                snap = self.snapshot()
                p = self.pare("retrieve", expect=1)
                self.assertIn(path, p.stderr)
                self.assertIn("does not match the database", p.stderr)
                self.assertIn("pare index", p.stderr)
                self.assertEqual(self.snapshot(), snap)
        with open(path, "wb") as f:
            f.write(good)
        self.retrieve()

    def test_options_that_do_not_go_with_postings(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        for args, what in [(["--embedder", "file", "--vectors", "v.npy", "--ids", "i.txt"],
                            "hash embedder"),
                           (["--keep-vectors"], "no --keep-vectors"),
                           (["--from-index", "1"], "--from-index")]:
            with self.subTest(args):
                p = self.pare("index", "--factory", "postings", *args, expect=2)
                self.assertIn(what, p.stderr)
        self.pare("--quiet", "index", "--factory", "postings")
        p = self.pare("retrieve", "--params", "nprobe=4", expect=2)
        self.assertIn("postings index", p.stderr)
        # the same settings on the same passages build nothing twice
        p = self.pare("index", "--factory", "postings")
        self.assertIn("already built", p.stderr)

    def test_shards_find_the_postings_beside_the_main_database(self):
        self.pare("--quiet", "ingest", "--format", "2wiki", data("2wikimultihopqa/dev500.json"))
        self.pare("--quiet", "index", "--factory", "postings")
        one = os.path.join(self.dir, "one.db")
        shutil.copy(self.db, one)
        main = self.db
        self.db = one
        ref = self.candidates(self.retrieve())
        self.db = main
        shards = os.path.join(self.dir, "shards")
        os.makedirs(shards)
        dbs = [os.path.join(shards, "s%d.db" % i) for i in range(2)]
        for i, s in enumerate(dbs):
            self.pare("--quiet", "retrieve", "--shard", "%d/2" % i, "--shard-db", s)
        self.pare("--quiet", "merge", *dbs)
        rid = self.query("SELECT max(id) FROM retrievals")[0][0]
        self.assertEqual(self.candidates(rid), ref)


if __name__ == "__main__":
    unittest.main(verbosity=2)
