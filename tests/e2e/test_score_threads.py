"""pare score on several threads stores what one thread stores (issue 10): the same trajectory rows
with the same ids and bytes, the same rewards, the same rejects in the same order, on a file of
several batches holding bad lines, lines without an id (some repeated), a trajectory scored before
and a duplicate; and without --skip-bad every thread count reports the file's first bad line and
stores nothing. One thread is OMP_NUM_THREADS=1, as for every OpenMP command of pare."""
import json
import os
import sqlite3

from common import PareTest
from test_score_schedule import rollouts

TABLES = ("SELECT id, question_id, ext_id, policy, step, selected, response, answer, n_tokens, meta "
          "FROM trajectories ORDER BY id",
          "SELECT * FROM trajectory_rewards ORDER BY trajectory_id",
          "SELECT * FROM reward_params ORDER BY id",
          "SELECT * FROM rewards_extra ORDER BY trajectory_id, scheme",
          "SELECT run_id, source, line, error, raw FROM rejects ORDER BY rowid")


def rows(db):
    con = sqlite3.connect(db)
    try:
        return [con.execute(sql).fetchall() for sql in TABLES]
    finally:
        con.close()


class ScoreThreads(PareTest):
    def setUp(self):
        super().setUp()
        self.hotpot_augmented()
        base = rollouts(self, 150)
        lines, bad = [], []
        # three batches of 8192 lines and some: every kind of line in each
        for r in range(15):
            for i, t in enumerate(base):
                t = dict(t, trajectory_id="%s-r%d" % (t["trajectory_id"], r))
                if i % 97 == 5:
                    del t["trajectory_id"]  # named by its hash; the same line each round
                lines.append(json.dumps(t))
            bad.extend(range(len(lines), len(lines) + 3))
            lines.append('{"question_id": ')  # not JSON
            lines.append(json.dumps(dict(base[r], question_id="no-such-question")))
            lines.append(json.dumps(dict(base[r], trajectory_id="sel-%d" % r, selected=["x"])))
        bad.append(len(lines))
        lines.append(lines[100])  # a duplicate of the run
        self.n_bad = len(bad)
        self.file = self.write("r.jsonl", "\n".join(lines) + "\n")
        self.assertGreater(len(lines), 2 * 8192)
        # the good lines of the first 9000, then the rest: the first bad line is in the second
        # batch, more in the third
        half = [x for i, x in enumerate(lines) if i >= 9000 or i not in bad]
        self.half = self.write("h.jsonl", "\n".join(half) + "\n")
        self.half_bad = 1 + next(i for i, x in enumerate(half) if i >= 8192 and x in
                                 {lines[b] for b in bad})
        # a trajectory stored by an earlier run, scored again
        self.pare("--quiet", "score", self.write("one.jsonl", lines[0] + "\n"))

    def copy(self, name):
        path = os.path.join(self.dir, name)
        src, dst = sqlite3.connect(self.db), sqlite3.connect(path)
        src.backup(dst)
        src.close()
        dst.close()
        return path

    def score(self, db, threads, *args, expect=0):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        saved, self.db = self.db, db
        try:
            return self.pare("--quiet", "score", *args, expect=expect, env=env)
        finally:
            self.db = saved

    def test_same_rows_as_one_thread(self):
        one, two = self.copy("one.db"), self.copy("two.db")
        for _ in range(2):  # and again: every trajectory is then one of an earlier run
            self.score(one, 1, "--skip-bad", self.file)
            self.score(two, 2, "--skip-bad", self.file)
            a, b = rows(one), rows(two)
            self.assertEqual(a, b)
        self.assertGreater(len(a[0]), 2 * 8192)
        self.assertEqual(len(a[4]), self.n_bad)  # the bad lines (a rerun updates them)
        lines = [r[2] for r in a[4]]
        self.assertEqual(lines, sorted(lines))

    def test_both_readers_store_the_same(self):
        """A line is read from its cJSON tree unless some number in it is not an integer of at
        most 15 digits, then through jansson values: each line and its twin, which carries a
        field the scorer ignores holding a real or a long integer, store the same row and
        rewards."""
        lines = []
        for i, t in enumerate(rollouts(self, 40)):
            lines.append(json.dumps(t))
            pad = 0.5 if i % 2 else 12345678901234567
            lines.append(json.dumps(dict(t, trajectory_id=t["trajectory_id"] + "-j", pad=pad)))
        self.pare("--quiet", "score", self.write("twins.jsonl", "\n".join(lines) + "\n"))
        got = {}
        for row in self.query("SELECT t.question_id, t.ext_id, t.policy, t.step, t.selected, "
                              "t.response, t.answer, t.n_tokens, t.meta, r.* FROM trajectories t "
                              "JOIN trajectory_rewards r ON r.trajectory_id = t.id "
                              "WHERE t.ext_id NOT LIKE '%-r%'"):
            got[(row[0], row[1])] = row[:1] + row[2:9] + row[10:]  # less the names and ids
        self.assertEqual(len(got), len(lines))
        for (q, ext), row in got.items():
            if not ext.endswith("-j"):
                self.assertEqual(got[(q, ext + "-j")], row, ext)

    def test_first_bad_line_and_nothing_stored(self):
        for threads in (1, 2):
            db = self.copy("t%d.db" % threads)
            before = rows(db)
            p = self.score(db, threads, self.half, expect=3)
            self.assertTrue(p.stderr.startswith("%s:%d: " % (self.half, self.half_bad)), p.stderr)
            self.assertIn("nothing was stored", p.stderr)
            after = rows(db)
            self.assertEqual(before[:4], after[:4])


if __name__ == "__main__":
    import unittest
    unittest.main()
