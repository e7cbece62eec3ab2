"""Ingest failures that are not bad input: a write that fails when the transaction commits (the
disk is full) must not be preceded by the counts of a success, must say what failed and that
nothing was stored, and leave the database as it was; an unknown --format is a usage error."""
import json
import os
import resource
import signal
import subprocess
import unittest

from common import BIN, PareTest


def record(i):
    return {"id": "q%d" % i, "question": "Who wrote book %d?" % i, "answers": ["Author %d" % i],
            "contexts": [{"title": "Book %d" % i, "is_gold": True,
                          "text": "Book %d was written by Author %d in year %d. %s" % (i, i, 1000 + i, "More words. " * (i % 40))}]}


class IngestFailures(PareTest):
    def setUp(self):
        super().setUp()
        seed = self.write("seed.jsonl", json.dumps(record(0)) + "\n")
        self.pare("--quiet", "ingest", "--format", "generic", seed)
        self.before = self.snapshot()

    def test_commit_fails_when_the_disk_is_full(self):
        # 4000 records (about 2 MB of text) fit in SQLite's page cache, so nothing reaches the
        # write-ahead log before COMMIT; a file size limit a little above the database's size
        # lets the run's own row be written and makes the commit's writes fail, as a full disk
        # does (SIGXFSZ ignored: the write fails instead of killing the process).
        f = self.write("big.jsonl", "".join(json.dumps(record(i)) + "\n" for i in range(1, 4001)))
        limit = os.path.getsize(self.db) + 128 * 1024

        def limited():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

        p = subprocess.run([BIN, "--db", self.db, "ingest", "--format", "generic", "--json", f],
                           capture_output=True, text=True, preexec_fn=limited, timeout=600)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, "")  # no --json summary of a success
        self.assertNotIn("records", p.stderr)  # no counts of a success
        self.assertRegex(p.stderr, r"pare ingest: cannot commit: (database or disk is full|disk I/O error); "
                                   r"nothing was stored\n")
        self.assertEqual(self.snapshot(), self.before)
        status, error = self.query("SELECT status, error FROM runs ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(status, "failed")
        self.assertTrue(error.startswith("cannot commit: "), error)

    def test_counts_after_commit(self):
        f = self.write("two.jsonl", json.dumps(record(1)) + "\n" + json.dumps(record(2)) + "\n")
        p = self.pare("ingest", "--format", "generic", f)
        self.assertIn("two.jsonl: 2 records, 2 questions (2 new), 2 new passages, 0 rejected", p.stderr)

    def test_unknown_format_is_a_usage_error(self):
        f = self.write("ok.jsonl", json.dumps(record(1)) + "\n")
        p = self.pare("ingest", "--format", "squad", f, expect=2)
        self.assertIn("pare ingest: unknown --format 'squad' (known: hotpotqa", p.stderr)
        self.assertEqual(self.snapshot(), self.before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
