"""Ingest reads the usual records straight from cJSON's tree (format_parse_tree) and the others
through jansson (format_parse). The two paths must store the same rows: the same file written so
that every record takes one path or the other (gold flags as booleans or as 0/1, a passage's text
under a plain or a dotted key, a record with more members than the tree reader reads), or mixed, gives databases equal row for row, compressed
bodies and dictionary included. A bad record among them still stops the ingest with
`file:line: what`, exit 3 and nothing stored."""
import json
import os
import unittest

from common import PareTest, data


def ircot_records():
    with open(data("hotpotqa/dev500_ircot.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def flags_as_integers(r):
    """The same IRCoT question with its gold flags as 0/1 (read by format_parse)."""
    r = json.loads(json.dumps(r))
    for c in r["contexts"]:
        c["is_supporting"] = int(c["is_supporting"])
    return r


def passages(n):
    return [{"id": "p%d" % i, "title": "Title %d" % (i % 700),
             "text": "Passage %d says that city %d lies on river %d. \u00e9t\u00e9 \u2013 %s"
                     % (i, i % 97, i % 13, "more words " * (i % 30))} for i in range(n)]


def dotted(p):
    """The same passage with its text under p.text (read by format_parse with --text-key p.text)."""
    return {"id": p["id"], "title": p["title"], "p": {"text": p["text"]}}


def wide(p):
    """The same passage with more members than jsonfast_tree reads (read by format_parse)."""
    w = dict(p)
    for i in range(70):
        w["extra%d" % i] = i
    return w


class IngestPaths(PareTest):
    def assertSameRows(self, a, b):
        """Table by table, naming the first differing row (difflib on 100,000 rows takes minutes)."""
        self.assertEqual(sorted(a), sorted(b))
        for t in sorted(a):
            diff = next((i for i, (x, y) in enumerate(zip(a[t], b[t])) if x != y), None)
            self.assertIsNone(diff, "%s: row %s differs: %r != %r"
                              % (t, diff, diff is not None and a[t][diff], diff is not None and b[t][diff]))
            self.assertEqual(len(a[t]), len(b[t]), t)

    def ingest_into(self, name, records, *args):
        path = os.path.join(self.dir, name + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        self.db = os.path.join(self.dir, name + ".db")
        self.pare("--quiet", "ingest", "--dataset", "d", *args, path)
        snap = self.snapshot()
        # the dataset's source is the file's path, which differs by design
        snap["datasets"] = [r[:3] for r in self.query("SELECT id, name, format FROM datasets")]
        return snap

    def test_ircot_questions_store_the_same_rows_on_both_paths(self):
        recs = ircot_records()
        fast = self.ingest_into("fast", recs, "--format", "ircot")
        slow = self.ingest_into("slow", [flags_as_integers(r) for r in recs], "--format", "ircot")
        mixed = self.ingest_into("mixed", [flags_as_integers(r) if i % 2 else r
                                           for i, r in enumerate(recs)], "--format", "ircot")
        self.assertEqual(len(fast["questions"]), len(recs))
        self.assertGreater(len(fast["passages"]), 4000)
        self.assertSameRows(fast, slow)
        self.assertSameRows(fast, mixed)

    def test_generic_passages_store_the_same_rows_on_both_paths(self):
        ps = passages(5000)
        fast = self.ingest_into("fast", ps, "--format", "generic")
        slow = self.ingest_into("slow", [dotted(p) for p in ps], "--format", "generic",
                                "--text-key", "p.text")
        mixed = self.ingest_into("mixed", [wide(p) if i % 3 else p for i, p in enumerate(ps)],
                                 "--format", "generic")
        self.assertEqual(len(fast["passages"]), 5000)
        self.assertSameRows(fast, slow)
        self.assertSameRows(fast, mixed)

    def test_a_bad_record_among_fast_ones_stores_nothing(self):
        recs = ircot_records()[:300]
        bad = json.loads(json.dumps(recs[200]))
        bad["contexts"][3]["paragraph_text"] = 7
        lines = [json.dumps(r) for r in recs[:200]] + [json.dumps(bad)] + [json.dumps(r) for r in recs[201:]]
        path = self.write("bad.jsonl", "\n".join(lines) + "\n")
        p = self.pare("ingest", "--format", "ircot", path, expect=3)
        self.assertIn("bad.jsonl:201: contexts[3]: field 'paragraph_text' must be a string, got an integer",
                      p.stderr)
        self.assertEqual(self.query("SELECT count(*) FROM passages")[0][0], 0)
        self.assertEqual(self.query("SELECT count(*) FROM questions")[0][0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
