"""The training loop closed, end to end: pare exports verl rows; a scripted policy answers them
for three steps, rewarded by integrations/pare_reward.py as verl's custom_reward_function; the
rollouts are dumped as verl dumps them; pare score reads the dumps and stores the rewards the
trainer saw; pare schedule --strategy decs plans from them, kappa following the run."""
import glob
import json
import os
import subprocess
import unittest

from common import GEN, PareTest, validate
import trainer_sim


class VerlLoop(PareTest):
    def test_export_train_score_schedule(self):
        qs = self.write("q.jsonl", subprocess.run([GEN, "questions", "40"], capture_output=True,
                                                  check=True, text=True).stdout)
        for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "64"],
                     ["retrieve", "--scope", "context"], ["mine", "--method", "ddmin"], ["augment"]):
            self.pare("--quiet", *args)
        data = os.path.join(self.dir, "hotpot.json")
        self.pare("--quiet", "export", "--what", "verl", "--split", "0.75", "--out", data)
        train_file = os.path.join(self.dir, "hotpot.train.json")
        self.assertGreater(validate(self, "export_verl", train_file), 20)
        with open(train_file) as f:
            rows = [json.loads(l) for l in f]

        dump = os.path.join(self.dir, "rollouts")
        lines = trainer_sim.train(rows, 3, dump, scheme="cp1")
        files = sorted(glob.glob(os.path.join(dump, "*.jsonl")))
        self.assertEqual([os.path.basename(f) for f in files], ["1.jsonl", "2.jsonl", "3.jsonl"])
        self.assertEqual(validate(self, "input_trajectory", *files), len(lines))
        self.pare("--quiet", "score", *files)

        # every response stored once, in order, with its step, and the trainer's reward kept
        got = self.query("SELECT t.step, r.value, json_extract(t.meta, '$.score'), t.ext_id FROM "
                         "trajectories t JOIN rewards r ON r.trajectory_id = t.id AND r.scheme = "
                         "'cp1' ORDER BY t.id")
        self.assertEqual(len(got), len(lines))
        self.assertEqual([g[0] for g in got], [l["step"] for l in lines])
        # the reward pare stores is the reward the trainer saw
        self.assertEqual([g[1] for g in got], [l["score"] for l in lines])
        self.assertEqual([g[2] for g in got], [l["score"] for l in lines])
        self.assertTrue(any(g[3].endswith("-2") for g in got), "identical group members kept apart")
        self.assertTrue(any(l["score"] == -1.0 for l in lines))  # the malformed ones
        # each rollout went to the question its gts names
        ext = dict(self.query("SELECT t.id, q.ext_id FROM trajectories t JOIN questions q ON "
                              "q.id = t.question_id"))
        ids = [r[0] for r in self.query("SELECT id FROM trajectories ORDER BY id")]
        self.assertEqual([ext[i] for i in ids], [l["gts"]["question_id"] for l in lines])
        before = self.snapshot()
        self.pare("--quiet", "score", *files)  # a rerun adds nothing
        self.assertEqual(self.snapshot(), before)

        out = json.loads(self.pare("--quiet", "schedule", "--strategy", "decs", "--json").stdout)
        self.assertEqual(out["difficulty_from"], "rollouts")
        # difficulty: pass rates over the run's rollouts, from the components the library gives
        facts = []
        for l in lines:
            _, comp = trainer_sim.pare_reward.score("cp1", l["output"], l["gts"])
            facts.append((l["step"], l["gts"]["question_id"], comp["correct"], comp["prefix_fraction"]))
        rate = {}
        for _, q, ok, _ in facts:
            n, k = rate.get(q, (0, 0))
            rate[q] = (n + 1, k + ok)
        bucket = {q: "easy" if k / n >= 2 / 3 - 1e-12 else "medium" if k / n >= 1 / 3 - 1e-12 else "hard"
                  for q, (n, k) in rate.items()}
        stored = dict(self.query("SELECT q.ext_id, d.bucket FROM difficulty d JOIN questions q ON "
                                 "q.id = d.question_id WHERE d.source = 'rollouts'"))
        self.assertEqual(stored, bucket)
        self.assertEqual(set(bucket.values()), {"easy", "medium", "hard"})
        # kappa by DESIGN's rule: R_m the mean prefix fraction of the step's correct rollouts
        k, prev, want = 0.0, 0.5, []
        for step in (1, 2, 3):
            pf = [p for s, _, ok, p in facts if s == step and ok]
            R = sum(pf) / len(pf) if pf else 0.5
            prompts = {q for s, q, _, _ in facts if s == step}
            k0 = sum(bucket[q] == "easy" for q in prompts) / len(prompts)
            k = min(max(k + 0.2 * (R - prev), 0.0), k0)
            prev = R
            want.append(k)
        self.assertEqual([s["step"] for s in out["kappa"]], [1, 2, 3])
        for got_k, w in zip([s["kappa"] for s in out["kappa"]], want):
            self.assertAlmostEqual(got_k, w, places=9)
        self.assertGreater(max(want), 0.0)
        # the curriculum goes back to verl as rows in order
        cur = os.path.join(self.dir, "curriculum.json")
        self.pare("--quiet", "export", "--what", "schedule", "--plan", "decs", "--out", cur)
        self.assertEqual(validate(self, "export_verl", cur), out["prompts"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
