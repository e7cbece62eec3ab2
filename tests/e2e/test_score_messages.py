"""The messages and exit codes of pare score and pare schedule: each wrong option says which
option is wrong and exits 2; a missing earlier stage ("run pare X first") exits 1 and leaves the
database as it was."""
import json
import unittest

from common import PareTest

QUESTION = {"id": "g1", "question": "Who was here?", "answers": ["Ann"],
            "contexts": [{"title": "A", "text": "Ann was here.", "is_gold": True},
                         {"title": "B", "text": "Bob was elsewhere.", "is_gold": False}]}


class Messages(PareTest):
    def setUp(self):
        super().setUp()
        self.pare("--quiet", "ingest", "--format", "generic", self.write("q.jsonl", json.dumps(QUESTION) + "\n"))

    def test_option_messages(self):
        cases = [
            (["schedule", "--strategy", "grpo"], "--strategy must be sorted, buckets, decs or dapo"),
            (["schedule", "--batch-size", "0"], "--batch-size must be at least 1"),
            (["schedule", "--beta", "-0.1"], "--beta must not be negative"),
            (["schedule", "--shares", "1,1"], "--shares must be E,M,H"),
            (["schedule", "--shares", "0,0,0"], "--shares must be E,M,H"),
            (["schedule", "--shares", "1,-1,1"], "--shares must be E,M,H"),
            (["schedule", "--shares", "nan,1,1"], "--shares must be E,M,H"),
            (["score", "--max-len", "0", "x.jsonl"], "--max-len must be positive"),
            (["score", "--target-len", "-1", "x.jsonl"], "--target-len must not be negative"),
        ]
        before = self.snapshot()
        for args, msg in cases:
            with self.subTest(args=args):
                p = self.pare(*args, expect=2)
                self.assertIn("pare %s: %s" % (args[0], msg), p.stderr)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)  # one message, the right one
        self.assertEqual(self.snapshot(), before)

    def test_earlier_stage_missing_exits_1(self):
        before = self.snapshot()
        p = self.pare("schedule", expect=1)
        self.assertIn("pare schedule: no rollouts and no evidence sets: run pare score or pare mine first",
                      p.stderr)
        self.assertEqual(self.snapshot(), before)
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        self.pare("--quiet", "mine")
        before = self.snapshot()
        p = self.pare("schedule", "--strategy", "decs", expect=1)
        self.assertIn("pare schedule: decs needs scored rollouts: run pare score first", p.stderr)
        p = self.pare("schedule", "--strategy", "dapo", expect=1)
        self.assertIn("pare schedule: no 'laser' rewards: run pare score with that scheme first", p.stderr)
        self.assertEqual(self.snapshot(), before)
        # the mined sets are enough for the other strategies
        self.pare("--quiet", "schedule", "--strategy", "buckets")
        self.assertEqual(self.query("SELECT count(*) FROM schedule WHERE plan = 'buckets'")[0][0], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
