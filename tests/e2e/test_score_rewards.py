"""Rewards stored one row per trajectory (schema 004, issue 10) and score shards (issue 13), end
to end on HotpotQA: the `rewards` view gives the rows the old table held; a database of the
released schema (001 + 002) migrates with every rewards row kept, odd ones included; a trajectory
scored again after its measure changed keeps the other schemes' old rows whole; `pare score
--shard` over three shards and `pare merge` give what one process gives, and laser-d, refused in
shards, added after the merge gives the one-process run with every scheme."""
import json
import os
import shutil
import sqlite3
import subprocess

from common import BIN, PareTest
from test_score_schedule import rollouts

SCHEMAS = os.path.join(os.path.dirname(__file__), "../../schemas")
NO_LASER_D = "cp1,cp2,laser,decs,rubric"


def keyed_rewards(db):
    """{(question ext id, trajectory ext id, scheme): (value, components)} of a database."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT q.ext_id, t.ext_id, r.scheme, r.value, r.components FROM rewards r "
                           "JOIN trajectories t ON t.id = r.trajectory_id JOIN questions q ON "
                           "q.id = t.question_id").fetchall()
    finally:
        con.close()
    out = {(q, t, s): (v, c) for q, t, s, v, c in rows}
    assert len(out) == len(rows), "a (trajectory, scheme) twice"
    return out


def keyed_trajectories(db):
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute("SELECT q.ext_id, t.ext_id, t.policy, t.step, t.selected, t.response, "
                                  "t.answer, t.n_tokens, t.meta FROM trajectories t JOIN questions q ON "
                                  "q.id = t.question_id").fetchall())
    finally:
        con.close()


class ScoreRewards(PareTest):
    def setUp(self):
        super().setUp()
        self.hotpot_augmented()
        self.file = self.write("r.jsonl", "".join(json.dumps(r) + "\n" for r in rollouts(self, 60)))

    def view(self, db=None):
        con = sqlite3.connect(db or self.db)
        try:
            return sorted(con.execute("SELECT trajectory_id, scheme, value, typeof(value), components "
                                      "FROM rewards").fetchall(), key=repr)
        finally:
            con.close()

    def old_database(self, path, rows):
        """A database of the released schema (001 + 002) holding this database's rows, with the
        rewards table holding `rows` (trajectory_id, scheme, value, components)."""
        con = sqlite3.connect(path)
        for name in ("001_init.sql", "002_judge_cost.sql"):
            with open(os.path.join(SCHEMAS, name)) as f:
                con.executescript(f.read())
        con.execute("PRAGMA user_version = 2")
        con.execute("ATTACH DATABASE ? AS cur", (self.db,))
        tables = [r[0] for r in con.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                                            "AND name != 'rewards' AND name NOT LIKE 'sqlite_%'")]
        for t in tables:  # names from sqlite_master, not input
            con.execute("INSERT INTO main.%s SELECT * FROM cur.%s" % (t, t))
        con.executemany("INSERT INTO main.rewards VALUES (?, ?, ?, ?)", rows)
        con.commit()
        con.close()

    def test_view_migration_and_rescore(self):
        self.pare("--quiet", "score", self.file)
        n_traj = self.query("SELECT count(*) FROM trajectories")[0][0]
        self.assertEqual(self.query("SELECT count(*) FROM trajectory_rewards")[0][0], n_traj)
        self.assertEqual(self.query("SELECT count(*) FROM rewards_extra")[0][0], 0)
        new = self.view()
        # the view's rows are what the table held: every scheme per trajectory (rubric where the
        # question has one), the components with the scheme's parameters at their end
        per = dict(self.query("SELECT scheme, count(*) FROM rewards GROUP BY scheme"))
        for s in ("cp1", "cp2", "laser", "laser-d", "decs"):
            self.assertEqual(per[s], n_traj)
        for tid, scheme, value, typ, comp in new:
            c = json.loads(comp)
            self.assertEqual(typ, "real")
            self.assertTrue(comp.startswith('{"valid":'), comp)
            self.assertEqual(list(c)[:3], ["valid", "correct", "em"])
            if scheme in ("cp1", "cp2"):
                self.assertEqual(list(c)[-2:], ["red", "gamma"])
            elif scheme in ("laser", "laser-d"):
                self.assertEqual(list(c)[-1], "target_len")
            elif scheme == "decs":
                self.assertEqual(c["max_len"], 8192)
        self.assertEqual(json.loads([r for r in new if r[1] == "cp2"][0][4])["gamma"], 0.6)

        # an old database: the same rows, and rows pare never writes (a scheme it does not know,
        # no components, components that are not JSON, or that differ from the trajectory's
        # other rewards): every one survives the migration unchanged
        tids = sorted({r[0] for r in new})
        odd = [(tids[0], "grpo", 0.25, '{"group":4}'), (tids[1], "cp1", -1.0, None),
               (tids[2], "laser", 1.5, "not json"),
               (tids[3], "decs", 0.5, '{"valid":false,"max_len":8192}')]
        odd_keys = {(t, s) for t, s, _, _ in odd}
        rows = [(t, s, v, c) for t, s, v, _, c in new if (t, s) not in odd_keys] + odd
        old = os.path.join(self.dir, "old.db")
        self.old_database(old, rows)
        self.pare("--db", old, "status", db=False)
        con = sqlite3.connect(old)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 4)
        self.assertEqual(con.execute("SELECT count(*) FROM rewards_extra").fetchone()[0], len(odd))
        self.assertEqual(con.execute("SELECT count(*) FROM trajectory_rewards").fetchone()[0], n_traj)
        con.close()
        want = sorted(((t, s, v, "real", c) for t, s, v, c in rows), key=repr)
        self.assertEqual(self.view(old), want)
        # the migrated database goes on: scoring cp2 again changes nothing, scoring laser
        # replaces the odd laser row as it replaced the old table's row; schedule reads it
        self.pare("--db", old, "--quiet", "score", "--schemes", "cp2", self.file, db=False)
        self.assertEqual(self.view(old), want)
        self.pare("--db", old, "--quiet", "score", "--schemes", "laser", self.file, db=False)
        fixed = [r for r in new if (r[0], r[1]) == (tids[2], "laser")]
        self.assertEqual(self.view(old), sorted([r for r in want if (r[0], r[1]) != (tids[2], "laser")]
                                                + fixed, key=repr))
        self.pare("--db", old, "--quiet", "schedule", "--strategy", "sorted", db=False)
        self.pare("--quiet", "schedule", "--strategy", "sorted")
        self.assertEqual(self.query("SELECT question_id, pass_rate, n_rollouts, bucket FROM difficulty "
                                    "ORDER BY question_id"),
                         sqlite3.connect(old).execute("SELECT question_id, pass_rate, n_rollouts, bucket "
                                                      "FROM difficulty ORDER BY question_id").fetchall())

        # a trajectory measured otherwise than when it was scored (other minimal sets): scoring
        # cp1 again gives cp1 the new measure and keeps the other schemes' rows whole
        t = tids[5]
        self.shell("UPDATE trajectory_rewards SET components = '{\"valid\":true,\"old\":1}' "
                   "WHERE trajectory_id = %d" % t)
        before = {(r[1]): r for r in self.view() if r[0] == t}
        self.pare("--quiet", "score", "--schemes", "cp1", self.file)
        after = {(r[1]): r for r in self.view() if r[0] == t}
        self.assertEqual(set(after), set(before))
        self.assertEqual(after["cp1"], [r for r in new if r[0] == t and r[1] == "cp1"][0])
        for s in after:
            if s != "cp1":
                self.assertEqual(after[s], before[s])
                self.assertTrue(after[s][4].startswith('{"valid":true,"old":1'), after[s])
        self.assertEqual(self.query("SELECT count(*) FROM rewards_extra WHERE trajectory_id = ?", (t,))[0][0],
                         len(after) - 1)
        # and every scheme scored again leaves nothing in rewards_extra: the view is as at first
        self.pare("--quiet", "score", self.file)
        self.assertEqual(self.query("SELECT count(*) FROM rewards_extra")[0][0], 0)
        self.assertEqual(self.view(), new)

    def test_shards_and_merge_equal_one_process(self):
        one = os.path.join(self.dir, "one.db")
        every = os.path.join(self.dir, "every.db")
        shutil.copy(self.db, one)
        shutil.copy(self.db, every)
        subprocess.run([BIN, "--db", one, "--quiet", "score", "--schemes", NO_LASER_D, self.file], check=True)
        subprocess.run([BIN, "--db", every, "--quiet", "score", self.file], check=True)
        # laser-d needs the whole run: refused in shards, with the default schemes too
        p = self.pare("score", "--shard", "0/3", "--shard-db", os.path.join(self.dir, "x.db"), self.file,
                      expect=2)
        self.assertIn("laser-d cannot be scored in shards", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.db")))
        shards = [os.path.join(self.dir, "s%d.db" % i) for i in range(3)]
        others = 0
        for i, s in enumerate(shards):
            p = self.pare("score", "--schemes", NO_LASER_D, "--shard", "%d/3" % i, "--shard-db", s, self.file)
            others += int(p.stderr.split("rejected, ")[1].split(" of other")[0])
        with open(self.file) as f:
            n_lines = sum(1 for _ in f)
        self.assertEqual(others, 2 * n_lines)  # each line kept by one shard, left by two
        self.assertEqual(self.query("SELECT count(*) FROM trajectories")[0][0], 0)  # main not written
        self.pare("--quiet", "merge", *shards)
        self.assertEqual(keyed_rewards(self.db), keyed_rewards(one))
        self.assertEqual(keyed_trajectories(self.db), keyed_trajectories(one))
        snap = self.snapshot()
        p = self.pare("merge", *shards)
        self.assertIn("0 trajectories, 0 rewards", p.stderr)
        self.assertEqual(self.snapshot(), snap)
        # laser-d after the merge, unsharded: the one-process run with every scheme
        self.pare("--quiet", "score", "--schemes", "laser-d", self.file)
        self.assertEqual(keyed_rewards(self.db), keyed_rewards(every))
        self.assertEqual(self.query("SELECT count(*) FROM rewards_extra")[0][0], 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
