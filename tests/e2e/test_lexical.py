"""The lexical judge on the shared data: its fast feature build gives the verdicts of the plain
one (PARE_LEXICAL_PLAIN=1) on loo's and ddmin's searches (the same sets, calls and stored proofs), and its mined-set F1 on the held
halves (the questions its rules were not tuned on) stays above floors."""
import hashlib
import json
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


# Each data set splits in two halves by the first byte of the SHA-256 of a question's own id
# (question_id, _id or id; the question text for the Hugging Face layout, which has none): odd
# is the held half, even the tune half. The judge's rules were chosen on the tune halves only.
# Floors: a little under the held-half F1 of lexical:v3 (loo; ddmin finds the same sets);
# lexical:v2 scored 0.872, 0.873, 0.909, 0.835, 0.752 on these halves.
HELD_FLOORS = [
    ("hotpotqa/dev500_ircot.jsonl", "ircot", 0.88),  # measured 0.896
    ("hotpotqa/dev100_hf.json", "hotpotqa", 0.86),  # 0.885
    ("hotpotqa/train100.json", "hotpotqa", 0.92),  # 0.944
    ("2wikimultihopqa/dev500.json", "2wiki", 0.90),  # 0.921
    ("musique/train100.json", "musique", 0.76),  # 0.783
]


def split_key(record):
    for k in ("question_id", "_id", "id"):
        if k in record:
            return str(record[k])
    return record["question"]


def held_half(rel):
    """The held half of a shared data set, as a list of its records."""
    with open(data(rel)) as f:
        if rel.endswith(".jsonl"):
            records = [json.loads(line) for line in f if line.strip()]
        else:
            records = json.load(f)
    return [r for r in records if hashlib.sha256(split_key(r).encode()).digest()[0] & 1]


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
                # mine stores the lexical verdicts that prove each set (the full set's, the
                # set's, each single removal's); every other verdict of the search decided which
                # subsets came next, so equal sets with equal call counts compare them too
                self.assertGreater(len(fast_calls), 300)
                self.assertEqual(len(fast_sets), len(plain_sets))
                self.assertEqual(fast_sets, plain_sets)
                self.assertEqual(fast_calls, plain_calls)  # same keys, same fingerprint, same verdicts

    def test_held_half_floors(self):
        report = []
        for rel, fmt, floor in HELD_FLOORS:
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + os.path.basename(rel) + ".held.db")
                held = held_half(rel)
                self.assertGreater(len(held), 40)
                path = self.write(os.path.basename(rel) + ".held.json", json.dumps(held))
                self.pare("--quiet", "ingest", "--format", fmt, path)
                self.pare("--quiet", "index")
                self.pare("--quiet", "retrieve", "--scope", "context")
                for method in ("loo", "ddmin"):
                    self.pare("--quiet", "mine", "--method", method)
                sets = {g["method"]: g for g in json.loads(self.pare("eval", "--json").stdout)["sets"]}
                self.assertEqual(sets["loo"]["judge"], "lexical:v3:cov=0.80")
                for method, g in sorted(sets.items()):
                    report.append("%-28s %-5s %3d questions  P %.3f R %.3f F1 %.3f (floor %.2f)" % (
                        rel, method, g["questions"], g["precision"], g["recall"], g["f1"], floor))
                    self.assertGreaterEqual(g["f1"], floor, "%s %s" % (rel, method))
        print("\nlexical judge, held halves, context scope:\n" + "\n".join(report))


if __name__ == "__main__":
    unittest.main()
