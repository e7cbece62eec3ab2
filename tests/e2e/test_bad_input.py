"""Every kind of bad input: the message names file and line, the exit code is 3, and the
database is exactly as it was. With --skip-bad the good records are stored and the bad ones
kept in `rejects`."""
import gzip
import json
import os
import subprocess
import unittest

from common import PareTest

GOOD = {"id": "g1", "question": "Who?", "answers": ["Ann"],
        "contexts": [{"title": "A", "text": "Ann was here.", "is_gold": True}]}


def line(**over):
    r = dict(GOOD)
    r.update(over)
    return json.dumps(r)


class BadInput(PareTest):
    def setUp(self):
        super().setUp()
        # a database that already holds data, which must survive every failure untouched
        seed = self.write("seed.jsonl", line(id="seed") + "\n")
        self.pare("ingest", "--format", "generic", seed)
        self.before = self.snapshot()

    def expect_bad(self, path, fmt, message, lineno=None, code=3):
        p = self.pare("ingest", "--format", fmt, path, expect=code)
        where = "%s:%d: " % (path, lineno) if lineno else path
        self.assertIn(where, p.stderr)
        self.assertIn(message, p.stderr)
        self.assertEqual(self.snapshot(), self.before, "database changed after: " + message)
        return p

    def test_malformed_json(self):
        f = self.write("m.jsonl", line(id="a") + "\n" + '{"id": "b", "question": \n' + line(id="c") + "\n")
        self.expect_bad(f, "generic", "invalid JSON", 2)

    def test_missing_required_field(self):
        r = dict(GOOD)
        del r["question"]
        f = self.write("m.jsonl", line(id="a") + "\n" + json.dumps(r) + "\n")
        # without a question key the record is read as a corpus passage, and has no text either
        self.expect_bad(f, "generic", "neither 'question'", 2)
        f = self.write("mu.json", json.dumps([{"id": "x", "question": "q", "paragraphs": []}]))
        self.expect_bad(f, "musique", "missing required field 'answer'", 1)

    def test_wrongly_typed_field(self):
        f = self.write("t.jsonl", line(id="a") + "\n\n" + line(id="b", question=7) + "\n")
        self.expect_bad(f, "generic", "field 'question' must be a string, got an integer", 3)
        f = self.write("t2.json", '[\n  {"_id": "x", "question": "q", "answer": "a",\n'
                                  '   "supporting_facts": [], "context": {"title": 3}}\n]')
        self.expect_bad(f, "hotpotqa", "context must hold arrays", 2)

    def test_invalid_utf8(self):
        f = self.write("u.jsonl", (line(id="a") + "\n").encode() + b'{"id": "b", "question": "caf\xe9"}\n', "wb")
        self.expect_bad(f, "generic", "invalid UTF-8", 2)

    def test_empty_file(self):
        self.expect_bad(self.write("e.jsonl", ""), "generic", "empty file", 1)
        self.expect_bad(self.write("e.json", "[]\n"), "generic", "empty file", 1)

    def test_truncated_gz_and_zst(self):
        body = "\n".join(line(id="r%d" % i) for i in range(2000)).encode()
        gz = gzip.compress(body)
        f = self.write("t.jsonl.gz", gz[: len(gz) // 2], "wb")
        self.expect_bad(f, "generic", "truncated gzip file")
        raw = self.write("z.jsonl", body.decode())
        subprocess.run(["zstd", "-q", "-f", raw, "-o", raw + ".zst"], check=True)
        with open(raw + ".zst", "rb") as fh:
            z = fh.read()
        f = self.write("t.jsonl.zst", z[: len(z) - 20], "wb")
        self.expect_bad(f, "generic", "truncated zstd file")
        # the intact files load
        good = self.write("ok.jsonl.gz", gz, "wb")
        self.pare("ingest", "--format", "generic", good, raw + ".zst")
        # two datasets (generic/ok and generic/z) of 2000 questions each, plus the seed
        self.assertEqual(self.query("SELECT count(*) FROM questions")[0][0], 4001)

    def test_duplicate_question_id_in_one_file(self):
        f = self.write("d.jsonl", line(id="x") + "\n" + line(id="y") + "\n" + line(id="x") + "\n")
        self.expect_bad(f, "generic", "duplicate question id 'x' (first seen at line 1)", 3)

    def test_gold_title_not_in_context(self):
        rec = {"_id": "h", "question": "q", "answer": "a", "type": "bridge",
               "supporting_facts": [["Ghost", 0]], "context": [["Real", ["text."]]]}
        f = self.write("h.json", json.dumps([rec], indent=1))
        self.expect_bad(f, "hotpotqa", "supporting fact title 'Ghost' is not in the question's context", 2)

    def test_unknown_format(self):
        f = self.write("ok.jsonl", line(id="z") + "\n")
        p = self.pare("ingest", "--format", "squad", f, expect=2)  # a usage error (issue 15)
        self.assertIn("unknown --format 'squad'", p.stderr)
        self.assertIn("hotpotqa", p.stderr)
        self.assertEqual(self.snapshot(), self.before)

    def test_unreadable_file(self):
        missing = os.path.join(self.dir, "nope.jsonl")
        self.expect_bad(missing, "generic", "cannot open: No such file or directory")
        # a good file listed before an unreadable one is not stored either
        f = self.write("ok.jsonl", line(id="z") + "\n")
        p = self.pare("ingest", "--format", "generic", f, missing, expect=3)
        self.assertIn("nope.jsonl: cannot open", p.stderr)
        self.assertEqual(self.snapshot(), self.before)

    def test_bad_record_late_in_a_big_file_stores_nothing(self):
        lines = [line(id="r%d" % i) for i in range(3000)] + ['{"id": "bad"']
        f = self.write("late.jsonl", "\n".join(lines) + "\n")
        p = self.expect_bad(f, "generic", "invalid JSON", 3001)
        self.assertIn("nothing was stored", p.stderr)
        runs = self.query("SELECT status, error FROM runs ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(runs[0], "failed")
        self.assertIn("late.jsonl:3001:", runs[1])

    def test_skip_bad_keeps_good_and_records_rejects(self):
        f = self.write("mix.jsonl", "\n".join([
            line(id="a"), '{"id": "b"', line(id="c", question=5), line(id="a"), line(id="d")]) + "\n")
        p = self.pare("ingest", "--format", "generic", "--skip-bad", "--json", f)
        s = json.loads(p.stdout)
        self.assertEqual(s["rejected"], 3)
        self.assertEqual(s["files"][0]["new_questions"], 2)
        ids = {r[0] for r in self.query("SELECT ext_id FROM questions")}
        self.assertEqual(ids, {"seed", "a", "d"})
        rej = self.query("SELECT line, error, raw FROM rejects ORDER BY line")
        self.assertEqual([r[0] for r in rej], [2, 3, 4])
        self.assertIn("invalid JSON", rej[0][1])
        self.assertIn("must be a string", rej[1][1])
        self.assertIn("duplicate question id 'a'", rej[2][1])
        self.assertEqual(rej[0][2], b'{"id": "b"')
        self.assertIn("3 rejected", p.stderr)
        # a rerun rejects the same records again without adding them twice
        self.pare("ingest", "--format", "generic", "--skip-bad", f)
        self.assertEqual(self.query("SELECT count(*) FROM rejects")[0][0], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
