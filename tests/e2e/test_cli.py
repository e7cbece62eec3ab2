"""The command line: help lists every option with its default, version, exit codes, status,
and the demo end to end."""
import glob
import json
import os
import re
import sqlite3
import unittest

from common import BIN, ROOT, PareTest

COMMANDS = ["init", "ingest", "index", "retrieve", "mine", "eval", "augment", "export", "score",
            "schedule", "status", "demo"]


class Cli(PareTest):
    def test_version_and_usage(self):
        p = self.pare("--version", db=False)
        self.assertRegex(p.stdout, r"^pare \d+\.\d+\.\d+")
        p = self.pare("--help", db=False)
        for c in COMMANDS:
            self.assertIn(c, p.stdout)
        self.assertIn("unknown command", self.pare("frobnicate", db=False, expect=2).stderr)
        self.pare(db=False, expect=2)
        self.assertIn("unknown option '--bogus'", self.pare("ingest", "--bogus", "x", expect=2).stderr)

    def test_every_help_lists_every_option_with_default(self):
        for c in COMMANDS:
            with self.subTest(c):
                out = self.pare(c, "--help").stdout
                self.assertIn("usage: pare %s" % c, out)
                opts = re.findall(r"^  --([a-z-]+)( [A-Z]+)?\s+(.*)$", out, re.M)
                self.assertTrue(opts)
                for name, meta, text in opts:
                    if meta and "(default: " not in text:  # every option that takes a value
                        self.fail("%s --%s has no default in its help" % (c, name))
        self.assertIn("--skip-bad", self.pare("ingest", "--help").stdout)

    def test_usage_errors_exit_2(self):
        self.pare("ingest", expect=2)  # no file
        self.pare("ingest", "--format", "generic", expect=2)
        self.pare("status", "--runs", "many", expect=2)
        p = self.pare("ingest", "x.jsonl", expect=2)
        self.assertIn("--format is required", p.stderr)

    def test_status_needs_a_database(self):
        p = self.pare("status", expect=1)
        self.assertIn("no such database", p.stderr)
        self.pare("init")
        st = json.loads(self.pare("status", "--json").stdout)
        self.assertEqual(st["tables"]["questions"], 0)
        # the schema version the database holds: every migration this binary has was applied
        self.assertEqual(st["database"]["schema"], self.query("PRAGMA user_version")[0][0])
        self.assertEqual(st["database"]["schema"], len(glob.glob(os.path.join(ROOT, "schemas", "0*.sql"))))

    def test_db_from_environment(self):
        env_db = os.path.join(self.dir, "env.db")
        os.environ["PARE_DB"] = env_db
        try:
            self.pare("init", db=False)
        finally:
            del os.environ["PARE_DB"]
        self.assertTrue(os.path.exists(env_db))

    def test_demo(self):
        d = os.path.join(self.dir, "demo")
        p = self.pare("demo", "--dir", d, "--questions", "60", db=False)
        db = os.path.join(d, "pare.db")
        self.assertIn("demo database: %s" % db, p.stdout)
        self.db = db
        self.assertEqual(self.query("SELECT count(*) FROM questions")[0][0], 60)
        # every question has exactly two gold passages among ten, and the answer is in a gold one
        rows = self.query("SELECT question_id, sum(is_gold), count(*) FROM question_passages GROUP BY question_id")
        self.assertEqual({(g, n) for _, g, n in rows}, {(2, 10)})
        types = {r[0] for r in self.query("SELECT DISTINCT qtype FROM questions")}
        self.assertEqual(types, {"bridge", "comparison"})
        # the whole pipeline ran: an index, candidates, and a minimal set for every question
        self.assertEqual(self.query("SELECT count(*) FROM indexes")[0][0], 1)
        self.assertEqual(self.query("SELECT count(DISTINCT question_id) FROM candidates")[0][0], 60)
        self.assertEqual(self.query("SELECT count(*) FROM evidence_sets WHERE status = 'minimal'")[0][0], 60)
        # ... then rubrics, negatives, rollouts of four policies scored, a curriculum exported
        self.assertEqual(self.query("SELECT count(DISTINCT question_id) FROM rubric_items")[0][0], 60)
        self.assertEqual(self.query("SELECT count(*) FROM trajectories")[0][0], 60 * 4 * 3)
        self.assertEqual(self.query("SELECT count(*) FROM rewards")[0][0], 60 * 4 * 3 * 6)
        with open(os.path.join(d, "curriculum.json")) as f:
            rows = [json.loads(l) for l in f]
        self.assertEqual(len(rows), self.query("SELECT count(*) FROM schedule")[0][0])
        # a second run starts afresh and gives the same data
        first = self.snapshot()
        self.pare("demo", "--dir", d, "--questions", "60", db=False)
        self.assertEqual(self.snapshot(), first)
        out = self.shell("SELECT count(*) FROM passage_text WHERE text LIKE '%born%'")
        self.assertGreater(int(out.strip()), 0)

    def test_interrupted_runs_are_marked(self):
        self.pare("init")
        # a run row left 'running' by a process that no longer exists
        con = sqlite3.connect(self.db)
        con.execute("INSERT INTO runs(command, args, started_at, status, pid) "
                    "VALUES ('ingest', '[]', '2026-01-01T00:00:00Z', 'running', 999999999)")
        con.commit()
        con.close()
        f = self.write("ok.jsonl", json.dumps({"id": "1", "question": "q", "answers": "a"}) + "\n")
        self.pare("ingest", "--format", "generic", f)
        st = [r[0] for r in self.query("SELECT status FROM runs ORDER BY id")]
        self.assertEqual(st, ["interrupted", "ok"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
