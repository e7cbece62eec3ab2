"""The lexical judge on the shared data: its fast feature build gives the verdicts of the plain
one (PARE_LEXICAL_PLAIN=1) on every call of loo and ddmin."""
import os
import shutil
import unittest

from common import PareTest, data

# every shared data set, with its format
SETS = [
    ("hotpotqa/dev500_ircot.jsonl", "ircot"),
    ("hotpotqa/dev100_hf.json", "hotpotqa"),
    ("hotpotqa/train100.json", "hotpotqa"),
    ("2wikimultihopqa/dev500.json", "2wiki"),
    ("musique/train100.json", "musique"),
]


class Lexical(PareTest):
    def prepare(self, rel, fmt):
        self.pare("--quiet", "ingest", "--format", fmt, data(rel))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")

    def mined(self, env=None):
        for method in ("loo", "ddmin"):
            self.pare("--quiet", "mine", "--method", method, env=env)
        sets = self.query(
            "SELECT e.question_id, e.method, e.status, e.judge_calls, "
            "(SELECT group_concat(passage_id, ',') FROM (SELECT passage_id FROM evidence_members "
            " WHERE set_id = e.id ORDER BY rank)) FROM evidence_sets e ORDER BY 1, 2")
        calls = self.query("SELECT hex(key), judge, verdict FROM judge_calls ORDER BY key")
        return sets, calls

    def test_fast_features_give_the_plain_verdicts(self):
        plain_env = dict(os.environ, PARE_LEXICAL_PLAIN="1")
        for rel, fmt in SETS:
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + os.path.basename(rel) + ".db")
                self.prepare(rel, fmt)
                base = self.db
                plain_db = base + ".plain"
                shutil.copy(base, plain_db)
                fast_sets, fast_calls = self.mined()
                self.db = plain_db
                plain_sets, plain_calls = self.mined(env=plain_env)
                self.assertGreater(len(fast_calls), 500)
                self.assertEqual(len(fast_sets), len(plain_sets))
                self.assertEqual(fast_sets, plain_sets)
                self.assertEqual(fast_calls, plain_calls)  # same keys, same fingerprint, same verdicts


if __name__ == "__main__":
    unittest.main()
