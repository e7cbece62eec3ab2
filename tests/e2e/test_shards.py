"""Shards and pare merge on the shared 2Wiki data: retrieve, mine and augment over 4 shards, each
reading the main database without writing it, then pare merge, give what one process gives (same
candidates, judge calls, sets, negatives and rubrics; ids may differ); merging again adds nothing;
a shard or a merge killed at any moment and run again ends the same; a shard of another main
database is refused with nothing written."""
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import unittest

from common import BIN, PareTest, data

N = 4
STAGES = (["retrieve", "--scope", "context"], ["mine", "--method", "ddmin"],
          ["augment", "--method", "ddmin"])


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Shards(PareTest):
    def setUp(self):
        super().setUp()
        self.pare("--quiet", "ingest", "--format", "2wiki", data("2wikimultihopqa/dev500.json"))
        self.pare("--quiet", "index")
        self.main = self.db
        self.one = os.path.join(self.dir, "one.db")
        shutil.copy(self.main, self.one)
        for args in STAGES:
            subprocess.run([BIN, "--db", self.one, "--quiet"] + args, check=True,
                           capture_output=True)

    def shard_db(self, i):
        # in a folder of their own, as deploy/slurm puts them: the main database's index and
        # features files must be found beside the main database, not beside the shard
        d = os.path.join(self.dir, "shards")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, "shard-%d.db" % i)

    def run_shard(self, i, args, expect=0):
        return self.pare("--quiet", *args, "--shard", "%d/%d" % (i, N), "--shard-db",
                         self.shard_db(i), expect=expect)

    def outcome(self, path):
        """What a run produced, by content: ids replaced by what they stand for."""
        con = sqlite3.connect(path)
        q = {
            "candidates": "SELECT r.index_id, r.scope, r.k, c.question_id, c.passage_id, c.rank, "
                          "c.score FROM candidates c JOIN retrievals r ON r.id = c.retrieval_id",
            "judge_calls": "SELECT hex(key), judge, question_id, subset, verdict, answer, error "
                           "FROM judge_calls",
            "sets": "SELECT question_id, judge, method, status, size, judge_calls, cached_calls, "
                    "(SELECT group_concat(passage_id || ':' || rank) FROM (SELECT * FROM "
                    "evidence_members m WHERE m.set_id = e.id ORDER BY rank)) FROM evidence_sets e",
            "rubric_items": "SELECT * FROM rubric_items",
            "negatives": "SELECT n.question_id, kind, passages, answer, label, verified, (SELECT "
                         "question_id || ' ' || judge || ' ' || method FROM evidence_sets e WHERE "
                         "e.id = n.source_set_id) FROM negatives n",
        }
        out = {k: sorted(con.execute(v).fetchall(), key=repr) for k, v in q.items()}
        con.close()
        return out

    def test_four_shards_and_merge_equal_one_process(self):
        before = digest(self.main)
        for i in range(N):
            for args in STAGES:
                self.run_shard(i, args)
        # the main database was only read: same bytes, no WAL or lock files beside it
        self.assertEqual(digest(self.main), before)
        self.assertFalse(os.path.exists(self.main + "-wal") or os.path.exists(self.main + "-shm"))
        # the shards split the questions: disjoint, and all of them together
        seen = []
        for i in range(N):
            self.db = self.shard_db(i)
            seen.append({q for (q,) in self.query("SELECT question_id FROM evidence_sets")})
        self.assertEqual(sum(len(s) for s in seen), 500)
        self.assertEqual(set().union(*seen), set(range(1, 501)))
        self.assertTrue(all(len(s) > 60 for s in seen), [len(s) for s in seen])

        self.db = self.main
        p = self.pare("merge", *[self.shard_db(i) for i in range(N)])
        self.assertIn("merge: %s:" % self.shard_db(0), p.stderr)
        ref = self.outcome(self.one)
        got = self.outcome(self.main)
        for k in ref:
            self.assertEqual(len(got[k]), len(ref[k]), k)
            self.assertEqual(got[k], ref[k], k)
        self.assertEqual(len(ref["sets"]), 500)
        self.assertGreater(len(ref["negatives"]), 1000)

        # merging again adds nothing
        snap = self.snapshot()
        self.pare("--quiet", "merge", *[self.shard_db(i) for i in range(N)])
        self.assertEqual(self.snapshot(), snap)
        # the merged database goes on like a one-process one: eval works, mine has nothing to do
        self.pare("--quiet", "eval")
        self.assertIn("mine: 0 questions", self.pare("mine", "--method", "ddmin").stderr)

    def test_kill_and_resume_per_shard(self):
        # each stage of shard 1 killed at some moment, then run again to the end
        for delay in (0.05, 0.15, 0.3):
            for args in STAGES:
                proc = subprocess.Popen([BIN, "--db", self.main, "--quiet"] + args +
                                        ["--shard", "1/%d" % N, "--shard-db", self.shard_db(1)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        for i in range(N):
            for args in STAGES:
                self.run_shard(i, args)
        # pare merge killed at some moment (one transaction per file), then run again
        files = [self.shard_db(i) for i in range(N)]
        for delay in (0.02, 0.08):
            proc = subprocess.Popen([BIN, "--db", self.main, "--quiet", "merge"] + files,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self.pare("--quiet", "merge", *files)
        self.assertEqual(self.outcome(self.main), self.outcome(self.one))

    def test_refusals(self):
        for args in STAGES:
            self.run_shard(0, args)
        # a shard file reopened as another shard
        p = self.pare("mine", "--shard", "1/4", "--shard-db", self.shard_db(0), expect=1)
        self.assertIn("another --shard", p.stderr)
        # usage: a bad I/N, one option without the other
        self.assertIn("0 <= I < N", self.pare("mine", "--shard", "4/4", "--shard-db", "x.db",
                                              expect=2).stderr)
        self.assertIn("go together", self.pare("mine", "--shard", "0/4", expect=2).stderr)
        # a shard of another main database (other datasets) is refused, nothing is written
        other = os.path.join(self.dir, "other.db")
        subprocess.run([BIN, "--db", other, "--quiet", "ingest", "--format", "musique",
                        data("musique/train100.json")], check=True, capture_output=True)
        subprocess.run([BIN, "--db", other, "--quiet", "index"], check=True, capture_output=True)
        foreign = os.path.join(self.dir, "foreign.db")
        subprocess.run([BIN, "--db", other, "--quiet", "retrieve", "--scope", "context", "--shard",
                        "0/2", "--shard-db", foreign], check=True, capture_output=True)
        before = self.snapshot()
        p = self.pare("merge", self.shard_db(0), foreign, expect=3)
        self.assertIn("%s was made from another main database" % foreign, p.stderr)
        self.assertEqual(self.snapshot(), before, "nothing merged, not even the good file")
        # a file that is not a shard database
        p = self.pare("merge", self.one, expect=3)
        self.assertIn("not a shard database", p.stderr)
        self.assertEqual(self.snapshot(), before)


if __name__ == "__main__":
    unittest.main()
