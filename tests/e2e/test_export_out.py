"""Where pare export writes (issue 11 and issue 15, defect 2): --out - is standard output; a
FIFO, a link to a FIFO and a device are written in place and stay what they were; a planted link
at the old temporary name is never followed; a name whose extension does not fit the format is
refused with the names that work. And the defaults: after `mine --method ddmin`, augment, export,
score and schedule use the ddmin sets without being told."""
import json
import os
import stat
import subprocess
import threading
import unittest

from common import GEN, PareTest, validate


def read_fifo(path, out):
    """Reads a FIFO to its end in a thread (the writer blocks until a reader opens it)."""
    def run():
        with open(path, "rb") as f:
            out.append(f.read())
    t = threading.Thread(target=run, daemon=True)  # a regression must fail, not hang
    t.start()
    return t


class ExportOut(PareTest):
    def setUp(self):
        super().setUp()
        qs = self.write("q.jsonl", subprocess.run([GEN, "questions", "40"], capture_output=True,
                                                  check=True, text=True).stdout)
        for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "64"],
                     ["retrieve", "--scope", "context"], ["mine"]):
            self.pare("--quiet", *args)
        self.reference = self.path("ref.json")
        self.pare("--quiet", "export", "--what", "verl", "--out", self.reference)
        with open(self.reference, "rb") as f:
            self.rows = f.read()
        self.assertGreater(self.rows.count(b"\n"), 10)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_stdout(self):
        p = self.pare("export", "--what", "verl", "--out", "-")
        self.assertEqual(p.stdout.encode(), self.rows)
        self.assertIn("export: %d verl rows -> standard output" % self.rows.count(b"\n"), p.stderr)
        self.assertFalse(os.path.exists(self.path("-")))
        self.assertFalse(os.path.exists(os.path.join(os.getcwd(), "-")))
        # two files cannot both be standard output
        p = self.pare("export", "--what", "verl", "--out", "-", "--split", "0.5", expect=2)
        self.assertIn("pare export: --split writes two files: give --out a file name", p.stderr)

    def test_fifo_and_link_to_fifo(self):
        fifo = self.path("rows.fifo")
        os.mkfifo(fifo)
        link = self.path("rows.link")
        os.symlink(fifo, link)
        listing = sorted(os.listdir(self.dir))
        for target in (fifo, link):
            with self.subTest(target=target):
                got = []
                t = read_fifo(target, got)
                self.pare("--quiet", "export", "--what", "verl", "--out", target)
                t.join(60)
                self.assertEqual(got, [self.rows])
                self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
                self.assertTrue(os.path.islink(link))
        # nothing else was made beside them (no temporary file left, none renamed over them)
        self.assertEqual(sorted(os.listdir(self.dir)), listing)

    def test_device_gives_a_write_error_and_stays_a_device(self):
        # as root, a private node of the same device (1, 7: /dev/full), so that a regression
        # replaces a file in this test's folder and not the system's /dev/full
        dev = "/dev/full"
        if os.geteuid() == 0:
            dev = self.path("full")
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        elif not os.path.exists(dev):
            self.skipTest("no /dev/full")
        before = os.stat(dev)
        p = self.pare("export", "--what", "verl", "--out", dev, expect=1)
        self.assertIn("pare export: %s: write error: No space left on device" % dev, p.stderr)
        after = os.stat(dev)
        self.assertTrue(stat.S_ISCHR(after.st_mode))
        self.assertEqual((before.st_ino, before.st_rdev), (after.st_ino, after.st_rdev))
        run = self.query("SELECT status FROM runs WHERE command = 'export' ORDER BY id DESC LIMIT 1")
        self.assertEqual(run, [("failed",)])
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(".")], [])

    def test_planted_temporary_link_is_not_followed(self):
        victim = self.path("victim.txt")
        with open(victim, "w") as f:
            f.write("keep me\n")
        out = self.path("train.json")
        os.symlink(victim, out + ".tmp")  # the name the old export wrote through
        self.pare("--quiet", "export", "--what", "verl", "--out", out)
        with open(victim) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertTrue(os.path.islink(out + ".tmp"))
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.rows)
        # replacing a file keeps its mode; a link to a regular file stays a link to it
        os.chmod(out, 0o640)
        self.pare("--quiet", "export", "--what", "verl", "--out", out)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)
        real = self.path("real.json")
        with open(real, "w") as f:
            f.write("old\n")
        os.symlink(real, self.path("via.json"))
        self.pare("--quiet", "export", "--what", "verl", "--out", self.path("via.json"))
        self.assertTrue(os.path.islink(self.path("via.json")))
        with open(real, "rb") as f:
            self.assertEqual(f.read(), self.rows)
        leftovers = [n for n in os.listdir(self.dir) if n.startswith(".")]
        self.assertEqual(leftovers, [])

    def test_names_that_do_not_fit_are_refused(self):
        cases = [
            ("verl", "train.parquet", "verl reads only from a name ending in .json"),
            ("verl", "train.jsonl", "verl reads only from a name ending in .json"),
            ("schedule", "plan.csv", "verl reads only from a name ending in .json"),
            ("openrlhf", "train.parquet", "use a name ending in .jsonl or .json"),
            ("sets", "sets", "use a name ending in .jsonl or .json"),
        ]
        before = self.snapshot()
        for what, name, msg in cases:
            with self.subTest(what=what, name=name):
                p = self.pare("export", "--what", what, "--out", self.path(name), expect=2)
                self.assertIn("pare export: --out %s: --what %s writes JSON Lines" % (self.path(name), what),
                              p.stderr)
                self.assertIn(msg, p.stderr)
                self.assertIn("or - for standard output", p.stderr)
                self.assertFalse(os.path.exists(self.path(name)))
        self.assertEqual(self.snapshot(), before)
        # the names that work
        for what, name in (("openrlhf", "o.jsonl"), ("openrlhf", "o.json"), ("sets", "s.jsonl")):
            self.pare("--quiet", "export", "--what", what, "--out", self.path(name))
            self.assertTrue(os.path.getsize(self.path(name)) > 0)


class Defaults(PareTest):
    def test_newest_sets_are_the_default(self):
        qs = self.write("q.jsonl", subprocess.run([GEN, "questions", "30"], capture_output=True,
                                                  check=True, text=True).stdout)
        for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "64"],
                     ["retrieve", "--scope", "context"], ["mine", "--method", "ddmin"]):
            self.pare("--quiet", *args)
        self.pare("--quiet", "augment")
        out = os.path.join(self.dir, "train.json")
        self.pare("--quiet", "export", "--what", "verl", "--out", out)
        n = validate(self, "export_verl", out)
        self.assertEqual(n, self.query("SELECT count(*) FROM evidence_sets WHERE method = 'ddmin' "
                                       "AND status = 'minimal'")[0][0])
        summary = json.loads(self.query("SELECT summary FROM runs WHERE command = 'augment'")[0][0])
        self.assertEqual(summary["rubrics"], n)
        # the rows carry the ddmin sets and the rubric augment built from them
        with open(out) as f:
            rows = [json.loads(l) for l in f]
        sets = {}
        for ext, pid in self.query("SELECT q.ext_id, m.passage_id FROM evidence_sets e JOIN questions q "
                                   "ON q.id = e.question_id JOIN evidence_members m ON m.set_id = e.id "
                                   "WHERE e.method = 'ddmin' ORDER BY m.rank"):
            sets.setdefault(ext, []).append(pid)
        for r in rows:
            gt = r["reward_model"]["ground_truth"]
            self.assertEqual(gt["evidence_ids"], sets[gt["question_id"]])
            self.assertEqual(sum(i["points"] for i in gt["rubric"]), 10)
        # score and schedule take the same sets: an exact pick covers the ddmin set fully
        line = {"question_id": rows[0]["reward_model"]["ground_truth"]["question_id"],
                "response": "<evidence>%s</evidence> <answer>%s</answer>" % (
                    ", ".join(map(str, rows[0]["reward_model"]["ground_truth"]["evidence_ids"])),
                    rows[0]["reward_model"]["ground_truth"]["answers"][0])}
        self.pare("--quiet", "score", "--schemes", "cp1", self.write("r.jsonl", json.dumps(line) + "\n"))
        self.assertEqual(self.query("SELECT value FROM rewards"), [(1.0,)])
        self.pare("--quiet", "schedule")


if __name__ == "__main__":
    unittest.main(verbosity=2)
