"""The trainer-side reward (integrations/pare_reward.py over build/libpare_reward.so) gives the
number pare score stores, for every scheme and the edge cases: the exact set, extra passages, a
missing passage, a passage twice, a passage outside the candidates (existing and not), a wrong
answer, an alias, no answer tag, no or a malformed evidence tag, lengths at and beyond L_T and
L_max. verl's compute_score and OpenRLHF's reward_func both; the errors; and how the module finds
the library."""
import json
import os
import shutil
import subprocess
import sys
import unittest

from common import GEN, ROOT, PareTest, validate

sys.path.insert(0, os.path.join(ROOT, "integrations"))
import pare_reward  # noqa: E402

SCHEMES = list(pare_reward.SCHEMES)


def with_tokens(n, tail):
    """A response of exactly n whitespace tokens ending in tail."""
    pad = n - len(tail.split())
    return " ".join(["word"] * pad + [tail])


def cases(row, foreign):
    """(name, response) pairs covering the edge cases for one exported verl row."""
    gt = row["reward_model"]["ground_truth"]
    m, c, gold = gt["evidence_ids"], gt["candidate_ids"], gt["answers"][0]
    extra = [x for x in c if x not in m]
    ev = lambda ids: "<evidence>%s</evidence>" % ", ".join(map(str, ids))
    ans = lambda a: "<answer>%s</answer>" % a
    out = [
        ("exact", "%s is the answer. %s %s" % (gold, ev(m), ans(gold))),
        ("exact_brackets", "<evidence>%s</evidence> %s" % (" ".join("[%d]" % i for i in m), ans(gold))),
        ("extra1", "%s %s" % (ev(m + extra[:1]), ans(gold))),
        ("extra3", "%s %s" % (ev(m + extra[:3]), ans(gold))),
        ("missing", "%s %s" % (ev(m[1:]), ans(gold))),
        ("empty", "%s %s" % (ev([]), ans(gold))),
        ("duplicate", "%s %s" % (ev(m + m[:1]), ans(gold))),
        ("outside", "%s %s" % (ev(m + [foreign]), ans(gold))),
        ("nonexistent", "%s %s" % (ev(m + [99999999]), ans(gold))),
        ("wrong", "%s %s" % (ev(m), ans("certainly not this"))),
        ("case", "%s %s" % (ev(m), ans("  The %s. " % gold.upper()))),
        ("no_answer_tag", "%s %s" % (ev(m), gold)),
        ("no_evidence_tag", ans(gold)),
        ("malformed_evidence", "<evidence>the first two</evidence> %s" % ans(gold)),
        ("two_answers", "%s %s then %s" % (ev(m), ans("no"), ans(gold))),
        ("decs_early", "%s it is. Wait, let me check. Hmm, yes. %s %s" % (gold, ev(m), ans(gold))),
        ("at_target", with_tokens(1024, "%s %s" % (ev(m), ans(gold)))),
        ("over_target", with_tokens(1025, "%s %s" % (ev(m), ans(gold)))),
        ("over_max_len", with_tokens(9000, "%s %s" % (ev(m), ans(gold)))),
    ]
    if len(gt["answers"]) > 1:
        out.append(("alias", "%s %s" % (ev(m), ans(gt["answers"][-1]))))
    return out


class RewardModule(PareTest):
    def setUp(self):
        super().setUp()
        qs = self.write("q.jsonl", subprocess.run([GEN, "questions", "24"], capture_output=True,
                                                  check=True, text=True).stdout)
        for args in (["ingest", "--format", "generic", qs], ["index", "--dim", "64"],
                     ["retrieve", "--scope", "context"], ["mine"], ["augment"]):
            self.pare("--quiet", *args)
        out = os.path.join(self.dir, "train.json")
        self.pare("--quiet", "export", "--what", "verl", "--out", out)
        self.assertGreater(validate(self, "export_verl", out), 10)
        with open(out) as f:
            self.rows = [json.loads(l) for l in f]

    def scored(self, lines, *args):
        """Scores pare lines with every scheme; {(trajectory_id, scheme): (value, components)}."""
        f = self.write("r.jsonl", "".join(json.dumps(l) + "\n" for l in lines))
        self.pare("--quiet", "score", *args, f)
        return {(t, s): (v, json.loads(c)) for t, s, v, c in self.query(
            "SELECT t.ext_id, r.scheme, r.value, r.components FROM trajectories t JOIN rewards r "
            "ON r.trajectory_id = t.id")}

    def test_python_equals_pare_score(self):
        lines, meta = [], {}
        for i, row in enumerate(self.rows[:10]):
            gt = row["reward_model"]["ground_truth"]
            foreign = self.rows[i + 1]["reward_model"]["ground_truth"]["candidate_ids"][0]
            for name, resp in cases(row, foreign):
                tid = "%d-%s" % (i, name)
                lines.append({"question_id": gt["question_id"], "trajectory_id": tid, "response": resp})
                meta[tid] = (row, resp)
        stored = self.scored(lines)
        self.assertEqual(len(stored), len(lines) * len(SCHEMES))
        for tid, (row, resp) in sorted(meta.items()):
            gt = row["reward_model"]["ground_truth"]
            for scheme in SCHEMES:
                value, comp = stored[(tid, scheme)]
                # LASER-D's target comes from the run's rollouts: the trainer passes its bucket's
                kw = {"target_len": comp["target_len"]} if scheme == "laser-d" else {}
                got = pare_reward.compute_score(row["data_source"], resp, gt, row["extra_info"],
                                                scheme=scheme, **kw)
                self.assertEqual(got, value, "%s %s" % (tid, scheme))
                # the same through the JSON text OpenRLHF's label is
                self.assertEqual(pare_reward.compute_score(None, resp, json.dumps(gt), None,
                                                           scheme, **kw), value)
                # and the components pare stores (but LASER-D's bucket, which needs the run)
                _, pc = pare_reward.score(scheme, resp, gt, **kw)
                comp.pop("bucket")
                self.assertEqual(pc, comp, "%s %s" % (tid, scheme))
        # what the edge cases must give, on the first row
        v = lambda name, scheme: stored[("0-" + name, scheme)][0]
        for name in ("exact", "exact_brackets", "case", "two_answers"):
            self.assertEqual(v(name, "cp1"), 1.0, name)
            self.assertEqual(v(name, "laser"), 1.5, name)
        m = len(self.rows[0]["reward_model"]["ground_truth"]["evidence_ids"])
        self.assertAlmostEqual(v("extra1", "cp1"), 1.0 - 0.3 / (m + 3))
        self.assertAlmostEqual(v("missing", "cp1"), (m - 1) / m)
        for name in ("duplicate", "outside", "nonexistent", "no_answer_tag", "no_evidence_tag",
                     "malformed_evidence"):
            for scheme in ("cp1", "cp2", "laser", "decs"):
                self.assertEqual(v(name, scheme), -1.0, "%s %s" % (name, scheme))
        self.assertEqual(v("wrong", "laser"), -0.5)
        self.assertEqual(v("wrong", "decs"), 0.0)
        self.assertEqual(v("at_target", "laser"), 1.5)
        self.assertEqual(v("over_target", "laser"), 1.0)
        self.assertGreater(v("decs_early", "decs"), 1.0)  # the answer stated before the rest
        self.assertAlmostEqual(v("over_max_len", "decs"), 1.1)  # never stated before the tag
        self.assertEqual(v("exact", "rubric"), 1.0)
        self.assertEqual(v("extra1", "rubric"), 0.9)  # a passage beyond the set costs 1 point

    def test_openrlhf_reward_func(self):
        out = os.path.join(self.dir, "o.jsonl")
        self.pare("--quiet", "export", "--what", "openrlhf", "--out", out)
        self.assertGreater(validate(self, "export_openrlhf", out), 10)
        with open(out) as f:
            orows = [json.loads(l) for l in f]
        for r in orows:  # the label is the ground truth as JSON text
            validate_gt = json.loads(r["label"])
            self.assertEqual(set(validate_gt) >= {"question_id", "answers", "candidate_ids"}, True)
        verl = {r["reward_model"]["ground_truth"]["question_id"]: r for r in self.rows}
        for scheme in ("cp1", "cp2", "laser", "decs", "rubric"):
            queries, prompts, labels, want = [], [], [], []
            for i, r in enumerate(orows[:8]):
                gt = json.loads(r["label"])
                prompt = "".join("<|im_start|>%s\n%s<|im_end|>\n" % (m["role"], m["content"])
                                 for m in r["prompt"]) + "<|im_start|>assistant\n"
                for name, resp in cases(verl[gt["question_id"]], 99999999)[:8]:
                    queries.append(prompt + resp + "<|im_end|>")
                    prompts.append(prompt)
                    labels.append(r["label"])
                    want.append(pare_reward.compute_score(None, resp, gt, None, scheme))
            got = pare_reward.reward_func(queries, prompts, labels, scheme=scheme)
            self.assertEqual([float(x) for x in got["rewards"]], want, scheme)
            self.assertEqual([float(x) for x in got["scores"]], want)
            self.assertEqual(got["extra_logs"], {})
        # the scheme from the environment, as OpenRLHF passes no keyword arguments
        env = dict(os.environ, PARE_REWARD_SCHEME="laser")
        code = ("import json, sys; sys.path.insert(0, %r); import pare_reward as p; "
                "r = p.reward_func([sys.argv[1] + sys.argv[2]], [sys.argv[1]], [sys.argv[3]]); "
                "print(json.dumps([float(x) for x in r['rewards']]))"
                % os.path.join(ROOT, "integrations"))
        gt = json.loads(orows[0]["label"])
        resp = "<evidence>%s</evidence> <answer>%s</answer>" % (
            ", ".join(map(str, gt["evidence_ids"])), gt["answers"][0])
        p = subprocess.run([sys.executable, "-c", code, "PROMPT ", resp, orows[0]["label"]],
                           capture_output=True, text=True, env=env, check=True)
        self.assertEqual(json.loads(p.stdout), [1.5])

    def test_threads(self):
        """verl's reward loop calls compute_score from executor threads; ctypes lets them run in
        the library at once, which keeps no state: the same numbers as one by one."""
        from concurrent.futures import ThreadPoolExecutor
        work = [(row, resp, scheme) for i, row in enumerate(self.rows[:6])
                for _, resp in cases(row, 99999999) for scheme in ("cp1", "laser", "decs", "rubric")]
        one = lambda w: pare_reward.compute_score(None, w[1], w[0]["reward_model"]["ground_truth"],
                                                  None, w[2])
        serial = [one(w) for w in work]
        with ThreadPoolExecutor(8) as pool:
            for _ in range(3):
                self.assertEqual(list(pool.map(one, work)), serial)

    def test_errors(self):
        row = self.rows[0]
        gt = dict(row["reward_model"]["ground_truth"])
        resp = "<evidence>%s</evidence> <answer>x</answer>" % gt["evidence_ids"][0]
        with self.assertRaisesRegex(pare_reward.PareRewardError, "unknown scheme 'grpo'"):
            pare_reward.compute_score("d", resp, gt, scheme="grpo")
        with self.assertRaisesRegex(TypeError, "unknown option"):
            pare_reward.compute_score("d", resp, gt, gama=0.3)
        # verl's own keyword arguments are not ours: ignored
        pare_reward.compute_score("d", resp, gt, reward_router_address=None, memory_limit_mb=1024)
        with self.assertRaisesRegex(pare_reward.PareRewardError, "laser-d needs target_len"):
            pare_reward.compute_score("d", resp, gt, scheme="laser-d")
        a = pare_reward.compute_score("d", resp, gt, {"difficulty": "hard"}, scheme="laser-d",
                                      laser_d_targets={"easy": 64, "medium": 128, "hard": 4096})
        b = pare_reward.compute_score("d", resp, gt, scheme="laser-d", target_len=4096)
        self.assertEqual(a, b)
        old = {k: v for k, v in gt.items() if k != "candidate_ids"}
        with self.assertRaisesRegex(pare_reward.PareRewardError, "'candidate_ids' must be an array"):
            pare_reward.compute_score("d", resp, old)
        with self.assertRaisesRegex(pare_reward.PareRewardError, "ground truth:"):
            pare_reward.compute_score("d", resp, "{not json")
        no_rubric = {k: v for k, v in gt.items() if k != "rubric"}
        with self.assertRaisesRegex(pare_reward.PareRewardError, "run pare augment before pare export"):
            pare_reward.compute_score("d", resp, no_rubric, scheme="rubric")

    def test_library_lookup(self):
        lib = pare_reward.library_path()
        self.assertTrue(os.path.exists(lib))
        # without PARE_REWARD_LIB: ../build/ from the module, then beside it
        tree = os.path.join(self.dir, "tree")
        os.makedirs(os.path.join(tree, "integrations"))
        os.makedirs(os.path.join(tree, "build"))
        shutil.copy(os.path.join(ROOT, "integrations", "pare_reward.py"), os.path.join(tree, "integrations"))
        env = {k: v for k, v in os.environ.items() if k != "PARE_REWARD_LIB"}
        code = "import sys; sys.path.insert(0, sys.argv[1]); import pare_reward as p; print(p.library_path())"
        run = lambda: subprocess.run([sys.executable, "-c", code, os.path.join(tree, "integrations")],
                                     capture_output=True, text=True, env=env)
        p = run()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("libpare_reward.so not found", p.stderr)
        self.assertIn("set PARE_REWARD_LIB", p.stderr)
        shutil.copy(lib, os.path.join(tree, "build", "libpare_reward.so"))
        p = run()
        self.assertEqual(p.stdout.strip(), os.path.join(tree, "build", "libpare_reward.so"))
        os.rename(os.path.join(tree, "build", "libpare_reward.so"),
                  os.path.join(tree, "integrations", "libpare_reward.so"))
        p = run()
        self.assertEqual(p.stdout.strip(), os.path.join(tree, "integrations", "libpare_reward.so"))
        # a library exports the API and nothing of pare's internals
        syms = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True).stdout
        names = {l.split()[-1] for l in syms.splitlines() if " T " in l}
        self.assertEqual(names, {"pare_reward_api_version", "pare_reward_score"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
