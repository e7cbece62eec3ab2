"""Ingest of the five shared datasets: counts and gold flags computed independently from the
source files, text read back byte for byte through the sqlite3 shell, reruns that add nothing."""
import json
import sqlite3
import unittest

from common import PareTest, data


def load_records(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def hotpot_contexts(r, sep):
    """(title, text, is_gold) per context paragraph, from either HotpotQA layout."""
    ctx, sf = r["context"], r["supporting_facts"]
    if isinstance(ctx, dict):
        pairs = list(zip(ctx["title"], ctx["sentences"]))
        gold = set(sf["title"])
    else:
        pairs = [(c[0], c[1]) for c in ctx]
        gold = {f[0] for f in sf}
    return [(t, sep.join(s), t in gold) for t, s in pairs]


def expected(fmt, path):
    """question text -> list of (title, text, is_gold) in context order."""
    out = {}
    for r in load_records(path):
        if fmt == "hotpotqa":
            out[r["question"]] = hotpot_contexts(r, "")
        elif fmt == "2wiki":
            out[r["question"]] = hotpot_contexts(r, " ")
        elif fmt == "musique":
            out[r["question"]] = [(p["title"], p["paragraph_text"], bool(p["is_supporting"]))
                                  for p in r["paragraphs"]]
        elif fmt == "ircot":
            out[r["question_text"]] = [(c["title"], c["paragraph_text"], bool(c["is_supporting"]))
                                       for c in r["contexts"]]
    return out


FILES = [
    ("ircot", "hotpotqa/dev500_ircot.jsonl", 500),
    ("hotpotqa", "hotpotqa/dev100_hf.json", 100),
    ("hotpotqa", "hotpotqa/train100.json", 100),
    ("2wiki", "2wikimultihopqa/dev500.json", 500),
    ("musique", "musique/train100.json", 100),
]


class IngestRealData(PareTest):
    def check_file(self, fmt, rel, n):
        path = data(rel)
        exp = expected(fmt, path)
        self.assertEqual(len(exp), n, "question texts are unique in the source file")
        self.pare("ingest", "--format", fmt, "--dataset", rel, path)
        rows = self.query(
            "SELECT q.question, p.title, qp.is_gold, qp.position, p.id FROM questions q "
            "JOIN datasets d ON d.id = q.dataset_id JOIN question_passages qp ON qp.question_id = q.id "
            "JOIN passages p ON p.id = qp.passage_id WHERE d.name = ? ORDER BY q.id, qp.position", (rel,))
        got = {}
        for q, title, gold, pos, pid in rows:
            got.setdefault(q, []).append((title, bool(gold), pid))
        self.assertEqual(len(self.query("SELECT 1 FROM questions q JOIN datasets d ON d.id = q.dataset_id "
                                        "WHERE d.name = ?", (rel,))), n)
        self.assertEqual(set(got), set(exp))
        for q, ctx in exp.items():
            self.assertEqual([(t, g) for t, _, g in ctx], [(t, g) for t, g, _ in got[q]], q)
        distinct = {(t, x) for ctx in exp.values() for t, x, _ in ctx}
        stored = {pid for ctx in got.values() for _, _, pid in ctx}
        self.assertEqual(len(stored), len(distinct), "one passage per distinct (title, text)")
        # the same (title, text) always maps to the same stored passage
        by_key = {}
        for q, ctx in exp.items():
            for (t, x, _), (_, _, pid) in zip(ctx, got[q]):
                self.assertEqual(by_key.setdefault((t, x), pid), pid)
        return distinct

    def test_each_file_counts_and_gold(self):
        for fmt, rel, n in FILES:
            with self.subTest(rel):
                self.check_file(fmt, rel, n)
        # passages shared between files (the two HotpotQA samples overlap) are stored once
        total = self.query("SELECT count(*) FROM passages")[0][0]
        allp = set()
        for fmt, rel, _ in FILES:
            for ctx in expected(fmt, data(rel)).values():
                allp |= {(t, x) for t, x, _ in ctx}
        self.assertEqual(total, len(allp))

    def test_context_links_with_a_passage_rowid_at_the_top(self):
        """Ingest infers the ids of the passages an INSERT stored from the last one's rowid
        (a new rowid is one past the largest); once the largest is 2^63-1, SQLite picks new
        rowids at random, and every question must still link to its own passages."""
        self.pare("ingest", "--format", "musique", data("musique/train100.json"))
        con = sqlite3.connect(self.db)
        con.execute("INSERT INTO passages(id, title, body, n_chars, n_bytes, content_hash) "
                    "VALUES (9223372036854775807, 'top', x'00', 0, 0, x'00')")
        con.commit()
        con.close()
        for fmt, rel, n in FILES[1:3]:
            with self.subTest(rel):
                self.check_file(fmt, rel, n)

    def test_text_byte_for_byte_through_sqlite3_shell(self):
        path = data("hotpotqa/dev500_ircot.jsonl")
        distinct = {(t, x) for ctx in expected("ircot", path).values() for t, x, _ in ctx}
        self.pare("ingest", "--format", "ircot", path)
        out = self.shell("SELECT hex(title) || '|' || hex(pare_text(body)) FROM passages")
        got = set()
        for line in out.splitlines():
            t, x = line.split("|")
            got.add((bytes.fromhex(t).decode("utf-8"), bytes.fromhex(x).decode("utf-8")))
        self.assertEqual(got, distinct)
        # the readable views work in the shell too
        self.assertIn("Shirley Temple", self.shell("SELECT title FROM passage_text WHERE text LIKE '%Golden Age%' OR title = 'Shirley Temple'"))
        # and the compression ratio is reported, at least 2.0 with the trained dictionary
        st = json.loads(self.pare("status", "--json").stdout)
        self.assertGreaterEqual(st["passages"]["compression_ratio"], 2.0)
        self.assertIn("compression ratio", self.pare("status").stdout)

    def test_reingest_adds_nothing(self):
        path = data("musique/train100.json")
        self.pare("ingest", "--format", "musique", path)
        before = self.snapshot()
        p = self.pare("ingest", "--format", "musique", "--json", path)
        self.assertEqual(self.snapshot(), before)
        summary = json.loads(p.stdout)
        self.assertEqual(summary["files"][0]["new_questions"], 0)
        self.assertEqual(summary["files"][0]["new_passages"], 0)
        runs = self.query("SELECT command, status FROM runs ORDER BY id")
        self.assertEqual(runs, [("ingest", "ok"), ("ingest", "ok")])

    def test_default_dataset_names_keep_formats_apart(self):
        self.pare("ingest", "--format", "hotpotqa", data("hotpotqa/train100.json"))
        self.pare("ingest", "--format", "musique", data("musique/train100.json"))
        names = [r[0] for r in self.query("SELECT name FROM datasets ORDER BY id")]
        self.assertEqual(names, ["hotpotqa/train100", "musique/train100"])
        p = self.pare("ingest", "--format", "musique", "--dataset", "hotpotqa/train100",
                      data("musique/train100.json"), expect=3)
        self.assertIn("already holds another format", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
