"""Issue 15, defect 5: two, four and eight processes starting on one new database at once all
succeed (50 rounds each), and the database holds every one's data."""
import json
import os
import subprocess
import unittest

from common import BIN, PareTest



def sanitized():
    """True for an AddressSanitizer build of pare."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


# 50 rounds each; 10 in the ASan build, whose processes start several times slower (the race is
# about SQLite's locks, which ASan does not check; CI runs the 50 rounds in the release build).
ROUNDS = int(os.environ.get("PARE_CONCURRENCY_ROUNDS", "10" if sanitized() else "50"))


class FirstIngestRace(PareTest):
    def race(self, n):
        files = []
        for k in range(n):
            recs = [{"id": "q%d-%d" % (k, i), "question": "Who wrote %d?" % i, "answers": ["A%d" % k],
                     "contexts": [{"title": "T%d-%d" % (k, i), "text": "A%d wrote %d." % (k, i),
                                   "is_gold": True}]} for i in range(5)]
            files.append(self.write("f%d.jsonl" % k, "".join(json.dumps(r) + "\n" for r in recs)))
        failures = []
        for rnd in range(ROUNDS):
            db = os.path.join(self.dir, "race-%d-%d.db" % (n, rnd))
            procs = [subprocess.Popen([BIN, "--db", db, "ingest", "--quiet", "--format", "generic", f],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for f in files]
            for p in procs:
                err = p.communicate(timeout=120)[1]
                if p.returncode != 0:
                    failures.append("round %d: exit %d: %s" % (rnd, p.returncode, err.strip()))
            if not failures:
                self.db = db
                self.assertEqual(self.query("SELECT count(*) FROM datasets")[0][0], n)
                self.assertEqual(self.query("SELECT count(*) FROM questions")[0][0], 5 * n)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
        self.assertEqual(failures, [], "%d of %d processes failed" % (len(failures), n * ROUNDS))

    def test_two(self):
        self.race(2)

    def test_four(self):
        self.race(4)

    def test_eight(self):
        self.race(8)


if __name__ == "__main__":
    unittest.main(verbosity=2)
