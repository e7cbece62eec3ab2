"""Rubrics, negatives and exports on the mined shared datasets: rubric points, negatives of every
kind, drop_one labels from cached verdicts with no judge call, wrong answers that are never gold,
every exported row valid against its JSON Schema (ajv), the verl export's evidence ids real, and
byte-identical exports for the same database and seed."""
import filecmp
import json
import os
import re
import sqlite3
import string
import subprocess
import unittest

from common import PareTest, data, validate

KINDS = {"drop_one", "add_distractor", "distractors_only", "wrong_answer", "ungrounded"}
FORMATS = ["sets", "rubrics", "negatives", "verl", "openrlhf", "rrm"]


def normalize_answer(s):
    """The official SQuAD/HotpotQA normalisation."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


class AugmentExport(PareTest):
    def mined(self, rel, fmt):
        self.pare("--quiet", "ingest", "--format", fmt, data(rel))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        self.pare("--quiet", "mine")

    def validate(self, fmt, *files):
        return validate(self, "export_" + fmt, *files)

    def test_rubrics_negatives_on_shared_data(self):
        for rel, fmt in (("hotpotqa/dev500_ircot.jsonl", "ircot"), ("2wikimultihopqa/dev500.json", "2wiki"),
                         ("musique/train100.json", "musique")):
            with self.subTest(rel):
                self.db = os.path.join(self.dir, fmt + ".db")
                self.mined(rel, fmt)
                calls_before = self.query("SELECT count(*) FROM judge_calls")[0][0]
                first = json.loads(self.query("SELECT summary FROM runs WHERE command = 'mine'")[0][0])
                self.pare("--quiet", "augment")
                summary = json.loads(self.query("SELECT summary FROM runs WHERE command = 'augment' "
                                                "ORDER BY id DESC LIMIT 1")[0][0])
                # every minimal set has a rubric of exactly 10 points
                minimal = self.query("SELECT question_id FROM evidence_sets WHERE status = 'minimal'")
                sums = dict(self.query("SELECT question_id, sum(points) FROM rubric_items GROUP BY 1"))
                self.assertEqual(set(sums), {q for (q,) in minimal})
                for q, total in sums.items():
                    self.assertAlmostEqual(total, 10.0, places=9)
                # negatives of every kind, and pare status counts them
                kinds = dict(self.query("SELECT kind, count(*) FROM negatives GROUP BY kind"))
                self.assertEqual(set(kinds), KINDS)
                status = json.loads(self.pare("status", "--json").stdout)
                self.assertEqual({n["kind"]: n["count"] for n in status["negatives"]}, kinds)
                # drop_one: no judge call; every label agrees with a cached INSUFFICIENT verdict
                new_calls = self.query("SELECT question_id, subset FROM judge_calls")[calls_before:]
                self.assertEqual(len(new_calls), summary["judge_calls"])
                drop = self.query("SELECT n.question_id, n.passages, n.verified, n.label FROM negatives n "
                                  "WHERE kind = 'drop_one'")
                cached = {(q, tuple(sorted(json.loads(s)))): v for q, s, v in
                          self.query("SELECT question_id, subset, verdict FROM judge_calls")}
                # per question: passages are shared, so another question may ask the same ids
                new_subsets = {(q, tuple(sorted(json.loads(s)))) for q, s in new_calls}
                for q, ps, verified, label in drop:
                    key = (q, tuple(sorted(json.loads(ps))))
                    self.assertEqual(cached.get(key), 0, "drop_one label from an INSUFFICIENT verdict")
                    self.assertEqual((verified, label), (1, "insufficient"))
                    self.assertNotIn(key, new_subsets, "no judge call for a drop_one subset")
                # a rerun asks nothing: everything it needs is cached
                self.pare("--quiet", "augment")
                again = json.loads(self.query("SELECT summary FROM runs WHERE command = 'augment' "
                                              "ORDER BY id DESC LIMIT 1")[0][0])
                self.assertEqual(again["judge_calls"], 0)
                self.assertEqual(self.query("SELECT count(*) FROM negatives")[0][0], sum(kinds.values()))
                # wrong answers are never a gold answer or alias, after normalisation
                for ans, golds in self.query("SELECT n.answer, q.answers FROM negatives n JOIN questions q "
                                             "ON q.id = n.question_id WHERE n.kind = 'wrong_answer'"):
                    self.assertNotIn(normalize_answer(ans), {normalize_answer(g) for g in json.loads(golds)})
                print("\n%s: %d rubrics, negatives %s, augment judge calls %d (mine made %d)"
                      % (rel, len(sums), kinds, summary["judge_calls"], first["judge_calls"]))

    def test_rerun_keeps_negative_ids(self):
        """Issue 15: a rerun of augment renumbered every negative. Now a negative built again keeps
        its id; one whose label changes keeps its id with the new label."""
        self.mined("musique/train100.json", "musique")
        self.pare("--quiet", "augment")
        rows = "SELECT id, question_id, kind, passages, answer, label, verified, source_set_id " \
               "FROM negatives ORDER BY id"
        first = self.query(rows)
        self.assertGreater(len(first), 100)
        self.pare("--quiet", "augment")
        self.assertEqual(self.query(rows), first)
        # a drop_one whose mining verdict is gone is no longer verified: same row, same id
        nid, q, ps = self.query("SELECT id, question_id, passages FROM negatives WHERE kind = "
                                "'drop_one' AND verified = 1 ORDER BY id LIMIT 1")[0]
        con = sqlite3.connect(self.db)
        con.execute("UPDATE judge_calls SET verdict = NULL, error = 'gone' WHERE question_id = ? "
                    "AND subset = ?", (q, ps))
        con.commit()
        con.close()
        self.pare("--quiet", "augment")
        again = self.query(rows)
        self.assertEqual([r[0] for r in again], [r[0] for r in first])
        changed = [(a, b) for a, b in zip(first, again) if a != b]
        self.assertEqual(len(changed), 1)
        self.assertEqual(changed[0][1][0], nid)
        self.assertEqual(changed[0][1][6], 0)

    def test_exports_validate_and_are_deterministic(self):
        self.mined("hotpotqa/dev500_ircot.jsonl", "ircot")
        self.pare("--quiet", "augment")
        for fmt in FORMATS:
            with self.subTest(fmt):
                a = os.path.join(self.dir, "a_%s.json" % fmt)
                b = os.path.join(self.dir, "b_%s.json" % fmt)
                self.pare("--quiet", "export", "--what", fmt, "--out", a, "--split", "0.8", "--seed", "7")
                self.pare("--quiet", "export", "--what", fmt, "--out", b, "--split", "0.8", "--seed", "7")
                files = [a.replace(".json", ".train.json"), a.replace(".json", ".val.json")]
                for f in files:
                    self.assertTrue(filecmp.cmp(f, f.replace("/a_", "/b_"), shallow=False), "byte-identical")
                n = self.validate(fmt, *files)
                self.assertGreater(n, 0)
                # the run records the rows it wrote
                done = self.query("SELECT items_done FROM runs WHERE command = 'export' "
                                  "ORDER BY id DESC LIMIT 1")[0][0]
                self.assertEqual(done, n)
        # verl loads as JSON Lines; ground-truth evidence ids exist; the split is by question
        rows = []
        for part in ("train", "val"):
            with open(os.path.join(self.dir, "a_verl.%s.json" % part)) as f:
                rows += [json.loads(l) for l in f]
        self.assertEqual(len(rows), self.query("SELECT count(*) FROM evidence_sets WHERE status = 'minimal'")[0][0])
        ids = {i for r in rows for i in r["reward_model"]["ground_truth"]["evidence_ids"]}
        found = self.query("SELECT count(*) FROM passages WHERE id IN (%s)" % ",".join(map(str, ids)))[0][0]
        self.assertEqual(found, len(ids))
        train = sum(r["extra_info"]["split"] == "train" for r in rows)
        self.assertTrue(0.7 < train / len(rows) < 0.9)
        # another seed, another split
        c = os.path.join(self.dir, "c_verl.json")
        self.pare("--quiet", "export", "--what", "verl", "--out", c, "--split", "0.8", "--seed", "8")
        self.assertFalse(filecmp.cmp(c.replace(".json", ".train.json"),
                                     os.path.join(self.dir, "a_verl.train.json"), shallow=False))
        # a usage error writes nothing
        self.pare("export", "--what", "parquet", "--out", os.path.join(self.dir, "x.json"), expect=2)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.json")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
