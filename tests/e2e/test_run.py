"""pare run: pipeline files (YAML) run their stages in order as the commands would, skip work
already done, choose stages with --stage/--from/--until, expand ${VAR:-default}, resolve paths
against the file's folder, and report a malformed file as file:line with exit 3."""
import os
import sqlite3
import subprocess
import unittest

from common import BIN, PareTest, data

RECIPE = """\
# a pipeline over MuSiQue
db: work/p.db
inputs:
  - format: musique
    path: ${PARE_TEST_DATA:-/nonexistent}/musique/train100.json
    dataset: mq
stages:
  - ingest
  - index
  - name: retrieve
    options: {scope: context}
  - name: mine
    options:
      method: ddmin
      judge: lexical
  - name: augment
    options: {method: ddmin}
  - name: eval
    options: {json: true}
"""


class Run(PareTest):
    def setUp(self):
        super().setUp()
        self.env = dict(os.environ, PARE_TEST_DATA=os.path.dirname(os.path.dirname(
            data("musique/train100.json"))))
        os.makedirs(os.path.join(self.dir, "recipes", "work"))
        self.recipe = self.write("recipes/p.yaml", RECIPE)

    def run_pare(self, *args, expect=0):
        # from another folder: paths in the file are relative to the file
        p = subprocess.run([BIN] + list(args), capture_output=True, text=True, cwd="/",
                           env=self.env, timeout=600)
        if expect is not None and p.returncode != expect:
            self.fail("pare %s exited %d, expected %d\n%s" % (" ".join(args), p.returncode,
                                                              expect, p.stderr[-3000:]))
        return p

    def test_pipeline_equals_commands_and_skips_done_work(self):
        p = self.run_pare("run", self.recipe)
        self.assertIn("6 steps ran, 0 done before", p.stderr)
        self.db = os.path.join(self.dir, "recipes", "work", "p.db")
        by_file = self.snapshot()
        # the same stages typed by hand give the same database
        hand = os.path.join(self.dir, "hand.db")
        for args in (["ingest", "--format", "musique", "--dataset", "mq",
                      data("musique/train100.json")], ["index"], ["retrieve", "--scope", "context"],
                     ["mine", "--method", "ddmin", "--judge", "lexical"],
                     ["augment", "--method", "ddmin"]):
            subprocess.run([BIN, "--db", hand, "--quiet"] + args, check=True, capture_output=True)
        self.db = hand
        by_hand = self.snapshot()
        for t in ("evidence_sets", "evidence_members", "candidates", "negatives",
                  "rubric_items", "questions", "passages"):
            self.assertEqual(by_file[t], by_hand[t], t)
        calls = "SELECT hex(key), judge, question_id, subset, verdict FROM judge_calls ORDER BY 1"
        con = sqlite3.connect(os.path.join(self.dir, "recipes", "work", "p.db"))
        self.assertEqual(self.query(calls), con.execute(calls).fetchall())
        con.close()
        self.assertEqual(len(by_file["evidence_sets"]), 100)

        # a second run does nothing but the report (eval records no run: it only reads, so it
        # is never "done"); the database is unchanged
        self.db = os.path.join(self.dir, "recipes", "work", "p.db")
        p = self.run_pare("run", self.recipe)
        self.assertIn("1 steps ran, 5 done before", p.stderr)
        self.assertIn('"sets"', p.stdout)
        self.assertEqual(self.snapshot(), by_file)
        # --dry-run prints the commands on stdout and marks what is done
        dry = self.run_pare("run", self.recipe, "--dry-run").stdout.splitlines()
        self.assertEqual(len(dry), 6)
        self.assertTrue(dry[3].startswith("mine: pare mine --method ddmin --judge lexical"), dry[3])
        self.assertTrue(all("skipped" in l for l in dry[:5]), dry)
        self.assertEqual(dry[5], "eval: pare eval --json")
        # --stage with --force runs one stage again; the job itself skips what it holds
        p = self.run_pare("run", self.recipe, "--stage", "mine", "--force")
        self.assertIn("1 steps ran", p.stderr)
        self.assertIn("mine: 0 questions", p.stderr)
        self.assertEqual(self.snapshot(), by_file)
        # --from/--until choose a range; --db on the command line is taken from pare's folder
        other = os.path.join(self.dir, "other.db")
        p = self.run_pare("--db", other, "run", self.recipe, "--until", "retrieve")
        self.assertIn("3 steps ran", p.stderr)
        self.db = other
        self.assertEqual(self.query("SELECT count(*) FROM candidates")[0][0],
                         len(by_file["candidates"]))
        self.assertEqual(self.query("SELECT count(*) FROM evidence_sets")[0][0], 0)
        p = self.run_pare("--db", other, "run", self.recipe, "--from", "mine", "--until", "mine")
        self.assertIn("1 steps ran, 0 done before", p.stderr)
        self.assertEqual(self.query("SELECT count(*) FROM evidence_sets")[0][0], 100)

    def test_bad_files(self):
        cases = [
            ("stages: [ingest, index\n", 2, "did not find expected"),
            ("db: x.db\nstagez: [index]\n", 2, "unknown key 'stagez'"),
            ("stages:\n  - index\n  - name: mine\n    command: minee\n", 3, "unknown command 'minee'"),
            ("stages:\n  - index\n  - index\n", 3, "stage name 'index' is used twice"),
            ("stages:\n  - name: retrieve\n    options: {scope: \"${PARE_NO_SUCH_VAR}\"}\n", 3,
             "${PARE_NO_SUCH_VAR} is not set"),
            ("stages:\n  - ingest\n", 2, "has no args and the file has no inputs"),
            ("inputs:\n  - path: a.json\nstages: [ingest]\n", 2, "input: format is missing"),
            ("stages: []\n", 1, "stages is empty"),
            ("- a\n- b\n", 1, "a pipeline file is a mapping"),
        ]
        for text, line, msg in cases:
            with self.subTest(msg):
                path = self.write("bad.yaml", text)
                p = self.run_pare("run", path, expect=3)
                self.assertIn("%s:%d: " % (path, line), p.stderr)
                self.assertIn(msg, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "pare.db")), "nothing ran")
        # usage errors: an unknown stage, a shard of a stage that does not shard
        p = self.run_pare("run", self.recipe, "--stage", "nope", expect=2)
        self.assertIn("no stage named 'nope'", p.stderr)
        p = self.run_pare("run", self.recipe, "--stage", "index", "--shard", "0/2", "--shard-db",
                          "s.db", expect=2)
        self.assertIn("does not shard", p.stderr)
        p = self.run_pare("run", self.recipe, "--shard", "0/2", expect=2)
        self.assertIn("go together", p.stderr)
        self.run_pare("run", os.path.join(self.dir, "missing.yaml"), expect=1)


if __name__ == "__main__":
    unittest.main()
