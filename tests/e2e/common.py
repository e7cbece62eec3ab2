"""Shared helpers for the end-to-end tests: run the real pare binary on real files."""
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import sys
import unittest

BIN = os.environ.get("PARE_BIN", "build/pare")
EXT = os.environ.get("PARE_EXT", "build/pare_ext.so")
GEN = os.environ.get("PARE_GEN", "build/pare_gen")
DATA = os.environ.get("PARE_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
TMP = os.environ.get("PARE_TMP", tempfile.gettempdir())


def data(rel):
    path = os.path.join(DATA, rel)
    if not os.path.exists(path):
        # The shared data sits beside the repository (../shared/data); its absence is a failure.
        raise AssertionError("missing test data %s (set PARE_DATA)" % path)
    return path


class PareTest(unittest.TestCase):
    """Each test gets its own folder and database."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pare-e2e-", dir=TMP)
        self.db = os.path.join(self.dir, "t.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pare(self, *args, expect=0, db=True, stdin=None, env=None):
        cmd = [BIN] + (["--db", self.db] if db else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=600, env=env)
        if expect is not None and p.returncode != expect:
            self.fail("%s exited %d, expected %d\nstdout: %s\nstderr: %s"
                      % (" ".join(cmd), p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
        return p

    def hotpot_augmented(self):
        """The shared HotpotQA sample through ingest, index, retrieve (context), mine and augment:
        what the scoring tests start from."""
        self.pare("--quiet", "ingest", "--format", "ircot", data("hotpotqa/dev500_ircot.jsonl"))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        self.pare("--quiet", "mine")
        self.pare("--quiet", "augment")

    def write(self, name, text, mode="w"):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(text)
        return path

    def query(self, sql, params=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def snapshot(self):
        """Every row of every table except the run log, to compare a database before and after.
        Table names come from sqlite_master, not from input, so formatting them into SQL is safe."""
        if not os.path.exists(self.db):
            return None
        con = sqlite3.connect(self.db)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name != 'runs' ORDER BY name")]
            snap = {}
            for t in tables:
                # timestamps (columns *_at) and measured latencies (*latency_ms) say when and how
                # fast, not what: leave them out of the comparison
                cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % t)
                        if not r[1].endswith("_at") and not r[1].endswith("latency_ms")]
                rows = con.execute("SELECT %s FROM %s" % (", ".join(cols), t)).fetchall()
                snap[t] = sorted(rows, key=repr)
            return snap
        finally:
            con.close()

    def shell(self, sql):
        """Runs SQL through the sqlite3 shell with pare's extension loaded."""
        ext = os.path.splitext(os.path.abspath(EXT))[0]
        p = subprocess.run(["sqlite3", "-bail", self.db, "-cmd", ".load " + ext, sql],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout


class FakeOpenAI:
    """Starts tests/e2e/fake_openai.py on 127.0.0.1 with the given arguments; stops it on exit."""

    def __init__(self, *args, log=None, seen_keys=None):
        here = os.path.dirname(os.path.abspath(__file__))
        cmd = [sys.executable, os.path.join(here, "fake_openai.py")] + list(args)
        if log:
            cmd += ["--log", log]
        if seen_keys:
            cmd += ["--seen-keys", seen_keys]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d/v1" % self.port

    def env(self, key="sk-test-0123456789"):
        e = dict(os.environ)
        e["OPENAI_BASE_URL"] = self.url
        e["OPENAI_API_KEY"] = key
        return e

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_PATH = os.environ.get("NODE_PATH", os.path.join(ROOT, ".tools", "node_modules"))


def validate(test, schema, *files):
    """Checks every line of JSON Lines files against schemas/SCHEMA.schema.json with ajv; returns
    the number of rows."""
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "e2e", "validate.js"),
                        os.path.join(ROOT, "schemas", "%s.schema.json" % schema)] + list(files),
                       capture_output=True, text=True, env=dict(os.environ, NODE_PATH=NODE_PATH))
    test.assertEqual(p.returncode, 0, p.stderr)
    return int(p.stdout)
