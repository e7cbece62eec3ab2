"""pare report: the demo database's page rendered in headless Chromium (no console message, every
section drawn, a screenshot that is not blank), figures equal to pare eval's, escaping of every
string from the database, the LLM section with and without token columns, output options."""
import html.parser
import json
import os
import stat
import threading
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import unittest
import zlib

from common import BIN, PareTest, data

SECTIONS = ["overview", "sizes", "agreement", "calls", "recall", "negatives", "rewards",
            "difficulty", "curricula", "judges", "examples"]
# sections drawn with charts; examples are tables of passages
CHARTED = [s for s in SECTIONS if s != "examples"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Page(html.parser.HTMLParser):
    """Counts, per <section id>, its <svg> charts, its empty-data sentences and its tags; keeps
    every tag name and the rows of tables with data- attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.section = None
        self.svg = {}
        self.empty = {}
        self.tags = set()
        self.classes = {}
        self.rows = []
        self._row = None
        self._cell = None
        self._empty = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.section = a.get("id")
            self.svg.setdefault(self.section, 0)
            self.empty.setdefault(self.section, [])
        elif tag == "svg" and self.section:
            self.svg[self.section] += 1
        for c in (a.get("class") or "").split():
            self.classes.setdefault(self.section, []).append(c)
        if tag == "p" and "empty" in (a.get("class") or ""):
            self._empty = True
            self.empty[self.section].append("")
        if tag == "tr" and any(k.startswith("data-") for k in a):
            self._row = {"attrs": a, "cells": []}
        if tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "section":
            self.section = None
        if tag == "p":
            self._empty = False
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell.strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._empty and self.section:
            self.empty[self.section][-1] += data
        if self._cell is not None:
            self._cell += data


def parse(text):
    p = Page()
    p.feed(text)
    p.close()
    return p


def png_residuals(path):
    """Width, height and, per row, the number of non-zero bytes of the PNG's filtered scanlines
    after the first pixel. Whatever filter a row uses, a row of one uniform colour under a row of
    the same colour has none, so a blank screenshot has none below its first row."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w, h, bpp = 8, [], 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "unexpected PNG format"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows = []
    for y in range(1, h):
        line = raw[y * (stride + 1) + 1 + bpp:(y + 1) * (stride + 1)]
        rows.append(len(line) - line.count(0))
    return w, h, rows


class ReportTest(PareTest):
    @classmethod
    def setUpClass(cls):
        """One demo database for the class (each test works on a copy)."""
        from common import TMP
        cls.demo_dir = tempfile.mkdtemp(prefix="pare-e2e-demo-", dir=TMP)
        cls.demo_db = os.path.join(cls.demo_dir, "demo.db")
        subprocess.run([BIN, "--db", cls.demo_db, "--quiet", "demo", "--dir", cls.demo_dir],
                       check=True, capture_output=True, timeout=600)
        con = sqlite3.connect(cls.demo_db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.demo_dir, ignore_errors=True)

    def demo(self):
        shutil.copyfile(self.demo_db, self.db)

    def report(self, *args):
        out = os.path.join(self.dir, "report.html")
        p = self.pare("report", "--out", out, *args)
        with open(out, encoding="utf-8") as f:
            return f.read(), p

    def browse(self, path, height=1800):
        """Loads the page in headless Chromium: the DOM after load, a 1280-wide screenshot and
        what the browser logged. Flags per Debian's chromium as root with no network."""
        if not os.path.exists(CHROMIUM):
            self.fail("chromium is not installed (scripts/install-deps.sh installs it)")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.dir)
        shot = os.path.join(self.dir, "shot.png")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
               "--hide-scrollbars", "--window-size=1280,%d" % height, "--screenshot=" + shot,
               "--dump-dom", "file://" + os.path.abspath(path)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return p.stdout, shot, p.stderr

    def test_demo_page_in_chromium(self):
        self.demo()
        page, p = self.report()
        self.assertIn("report: ", p.stderr)
        self.assertLess(len(page.encode()), 2 << 20)
        # self-contained: nothing to fetch, no script, and a policy that forbids both
        for bad in ("<script", "<link", "<img", "<iframe", "url(", "@import", "src=", "http:",
                    "https:"):
            self.assertNotIn(bad, page)
        self.assertIn("default-src 'none'", page)
        dom, shot, log = self.browse(os.path.join(self.dir, "report.html"))
        # the browser logs every console message (and every blocked load) as CONSOLE
        self.assertNotIn("CONSOLE", log, "the page logged messages in the browser")
        self.assertIn("</footer>", dom)
        doc = parse(dom)
        self.assertEqual([s for s in SECTIONS if s in doc.svg], SECTIONS)
        for s in CHARTED:  # the demo has data for every section
            self.assertGreaterEqual(doc.svg[s], 1, "section %s has no chart" % s)
            if s != "judges":
                self.assertEqual(doc.empty[s], [], "section %s says it has no data" % s)
        # what the demo lacks, token counts and failed calls, said in sentences
        self.assertEqual([e.split(":")[0].rstrip(".") for e in doc.empty["judges"]],
                         ["No token counts recorded", "No judge call failed"])
        self.assertEqual(doc.svg["rewards"], 24)  # 6 schemes x 4 policies
        self.assertGreaterEqual(doc.classes["examples"].count("ex"), 3)
        self.assertIn("gold", doc.classes["examples"])
        self.assertIn("mined", doc.classes["examples"])
        # the screenshot shows content all the way down, not a blank page
        w, h, rows = png_residuals(shot)
        self.assertEqual((w, h), (1280, 1800))
        bands = [sum(1 for r in rows[i * len(rows) // 10:(i + 1) * len(rows) // 10] if r)
                 for i in range(10)]
        self.assertTrue(all(b > 0 for b in bands), "blank bands in the screenshot: %s" % bands)
        self.assertGreater(sum(1 for r in rows if r), len(rows) // 4)

    def assert_agreement_is_eval(self, doc, retrieval):
        """The agreement table's rows are pare eval's groups, figure for figure."""
        ev = json.loads(self.pare("eval", "--retrieval", str(retrieval), "--json").stdout)
        agree = {(r["attrs"]["data-judge"], r["attrs"]["data-method"], r["attrs"]["data-dataset"]):
                 r for r in doc.rows if "data-judge" in r["attrs"]}
        self.assertEqual(len(agree), len(ev["sets"]))
        for g in ev["sets"]:
            row = agree[(g["judge"], g["method"], g["dataset"])]
            self.assertEqual(row["attrs"]["data-retrieval-of-run"], str(retrieval))
            cells = row["cells"]
            self.assertEqual(int(cells[1].replace(",", "")), g["questions"])
            self.assertEqual([float(c) for c in cells[2:5]],
                             [round(g[k], 3) for k in ("precision", "recall", "f1")])
            self.assertEqual([float(c) for c in cells[5:10]],
                             [round(t["f1"], 3) for t in g["top_k"]])

    def assert_recall_is_eval(self, doc, retrieval):
        """The recall table's rows are pare eval --recall's figures at its fixed cut-offs."""
        ev = json.loads(self.pare("eval", "--recall", "--retrieval", str(retrieval),
                                  "--json").stdout)
        rows = {r["cells"][0]: r for r in doc.rows
                if r["attrs"].get("data-retrieval") == str(retrieval)}
        cuts = {1: 3, 2: 4, 5: 5, 10: 6, 20: 7, 50: 8, 100: 9}
        checked = 0
        for e in ev["recall"]:
            row = rows[e["dataset"]]
            self.assertEqual(int(row["cells"][2].replace(",", "")), e["questions"])
            if e["k"] in cuts:
                self.assertEqual(float(row["cells"][cuts[e["k"]]]), round(e["recall"], 3))
                checked += 1
        self.assertGreater(checked, 0)

    def test_figures_equal_eval_on_real_data(self):
        """Two datasets of the shared data, corpus retrieval, loo and ddmin: four groups."""
        self.pare("ingest", "--format", "hotpotqa", data("hotpotqa/train100.json"))
        self.pare("ingest", "--format", "musique", data("musique/train100.json"))
        for args in (["index"], ["retrieve", "--k", "10"], ["mine"], ["mine", "--method", "ddmin"]):
            self.pare(*args)
        page, _ = self.report()
        doc = parse(page)
        self.assert_agreement_is_eval(doc, 1)
        self.assert_recall_is_eval(doc, 1)
        self.assertEqual(doc.svg["sizes"], 4)
        self.assertEqual(doc.svg["recall"], 4)  # recall and all-gold curves per dataset

    def test_figures_equal_eval(self):
        self.demo()
        page, _ = self.report()
        doc = parse(page)
        self.assert_agreement_is_eval(doc, 1)
        for rid in (1, 2):
            self.assert_recall_is_eval(doc, rid)

    def test_every_string_is_escaped(self):
        evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;\''
        rows = []
        for i in range(3):
            rows.append({"id": "q%d%s" % (i, evil), "question": "Who wrote %s %d?" % (evil, i),
                         "answer": "Ann %s" % evil,
                         "context": [{"title": "T%d %s" % (i, evil),
                                      "text": "Ann %s wrote it. Bob wrote %d." % (evil, i),
                                      "gold": True},
                                     {"title": "Other %d" % i, "text": "Nothing here.",
                                      "gold": False}]})
        data = self.write("evil.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        self.pare("ingest", "--format", "generic", "--dataset", "d" + evil, "--id-key", "id",
                  "--question-key", "question", "--answers-key", "answer", "--context-key",
                  "context", "--title-key", "title", "--text-key", "text", "--gold-key", "gold",
                  data)
        for args in (["index"], ["retrieve", "--scope", "context"], ["mine"]):
            self.pare(*args)
        page, _ = self.report()
        self.assertNotIn("<script", page)
        self.assertNotIn("<img", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img", page)
        self.assertIn("&amp;amp;&#39;", page)
        doc = parse(page)
        self.assertFalse(doc.tags & {"script", "img"})
        self.assertGreaterEqual(doc.classes["examples"].count("ex"), 1)

    def test_empty_database(self):
        self.pare("init")
        page, _ = self.report()
        doc = parse(page)
        for s in SECTIONS:
            self.assertEqual(doc.svg[s], 0, s)
            self.assertEqual(len(doc.empty[s]), 1, s)
        self.assertIn("pare ingest", doc.empty["overview"][0])
        self.assertIn("pare mine", doc.empty["sizes"][0])

    def test_tokens_errors_and_prior(self):
        """Token and prior columns (issue 12's migration) are used when the database has them;
        a judge call with no verdict and an error is an error."""
        self.demo()
        con_cols = {r[0] for r in self.query("SELECT name FROM pragma_table_info('judge_calls')")}
        page, _ = self.report()
        if "prompt_tokens" not in con_cols:
            self.assertIn("No token counts recorded", page)
        con = sqlite3.connect(self.db)
        for table, col in (("judge_calls", "prompt_tokens"), ("judge_calls", "completion_tokens"),
                           ("evidence_sets", "prior"), ("evidence_sets", "prior_calls")):
            cols = {r[1] for r in con.execute("PRAGMA table_info(%s)" % table)}
            if col not in cols:
                con.execute("ALTER TABLE %s ADD COLUMN %s %s" % (
                    table, col, "TEXT" if col == "prior" else "INTEGER"))
        con.execute("UPDATE judge_calls SET prompt_tokens = 100, completion_tokens = 7 "
                    "WHERE rowid IN (SELECT rowid FROM judge_calls LIMIT 10)")
        con.execute("INSERT INTO judge_calls(key, judge, question_id, subset, verdict, error, "
                    "latency_ms, created_at) VALUES (x'00', 'openai:m', 1, '[]', NULL, "
                    "'HTTP 429: slow <down>', 1500, 'now'), (x'01', 'openai:m', 2, '[]', 1, "
                    "NULL, 300, 'now')")
        con.execute("UPDATE evidence_sets SET prior = 'lexical', prior_calls = 2")
        con.commit()
        con.close()
        page, _ = self.report()
        doc = parse(page)
        self.assertNotIn("No token counts recorded", page)
        # 10 calls with 100 prompt and 7 completion tokens each
        self.assertIn('<td class="num">1,000</td><td class="num">70</td>', page)
        self.assertIn("100 + 7", page)
        self.assertIn("HTTP 429: slow &lt;down&gt;", page)
        self.assertIn("prior lexical", page)
        self.assertIn("<td class=\"num\">2.00</td>", page)  # prior calls per question
        self.assertGreaterEqual(doc.svg["judges"], 3)  # verdicts, tokens, latency of openai:m

    def test_options(self):
        self.demo()
        p = self.pare("report", "--out", "-")
        self.assertTrue(p.stdout.startswith("<!DOCTYPE html>"))
        self.assertTrue(p.stdout.rstrip().endswith("</html>"))
        self.pare("report", "--examples", "21", expect=2)
        p = self.pare("report", "--retrieval", "99", "--out", os.path.join(self.dir, "x.html"),
                      expect=1)
        self.assertIn("no retrieval 99", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.html")))
        page, _ = self.report("--retrieval", "2", "--examples", "0")
        self.assertIn("pare eval --retrieval 2", page)
        self.assertEqual(parse(page).classes.get("examples", []).count("ex"), 0)
        p = self.pare("--db", os.path.join(self.dir, "missing.db"), "report", db=False, expect=1)
        self.assertIn("pare report:", p.stderr)
        self.assertIn("report --out report.html", self.pare("status").stdout)

    def test_out_never_follows_or_replaces(self):
        """A FIFO target is written in place; a link planted at a temporary-looking name beside
        the target is never followed (the page goes through an exclusive temporary file)."""
        self.demo()
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("keep me")
        out = os.path.join(self.dir, "r.html")
        for name in ("r.html.tmp", "r.html.tmp.%d" % os.getpid()):
            os.symlink(victim, os.path.join(self.dir, name))
        self.pare("report", "--out", out)
        with open(victim) as f:
            self.assertEqual(f.read(), "keep me")
        with open(out) as f:
            self.assertTrue(f.read().startswith("<!DOCTYPE html>"))
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
        reader.start()
        self.pare("report", "--out", fifo)
        reader.join(60)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        self.assertTrue(got and got[0].startswith("<!DOCTYPE html>"))


if __name__ == "__main__":
    unittest.main()
