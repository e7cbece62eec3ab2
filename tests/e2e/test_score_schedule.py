"""Scoring and curricula end to end on HotpotQA with generated rollouts of several policies:
rewards for every trajectory and scheme, reruns that add nothing, DAPO's drops, the DECS kappa
rule recomputed from the data, the curriculum exported in order, the difficulty buckets in
pare status, and every bad input."""
import json
import os
import unittest

from common import PareTest, validate

SCHEMES = ["cp1", "cp2", "laser", "laser-d", "decs", "rubric"]


def rollouts(test, n_questions=150):
    """Four policies, three steps each, on questions with a minimal set."""
    rows = test.query(
        "SELECT q.id, q.ext_id, q.answers, (SELECT group_concat(m.passage_id) FROM evidence_members m "
        "WHERE m.set_id = e.id) FROM questions q JOIN evidence_sets e ON e.question_id = q.id "
        "WHERE e.status = 'minimal' AND e.method = 'loo' ORDER BY q.id LIMIT ?", (n_questions,))
    out = []
    for i, (qid, ext, answers, members) in enumerate(rows):
        gold = json.loads(answers)[0]
        m = [int(x) for x in members.split(",")]
        cands = [r[0] for r in test.query("SELECT passage_id FROM candidates WHERE question_id = ? "
                                          "ORDER BY rank", (qid,))]
        extra = [c for c in cands if c not in m][:1]
        for step in (1, 2, 3):
            # the oracle is right every step; the wordy policy right from step 2 on; so are
            # the pass rates spread over the buckets
            out.append({"question_id": ext, "trajectory_id": "oracle-%d" % step, "policy": "oracle",
                        "step": step, "selected": m, "response": "Found it. <answer>%s</answer>" % gold})
            wordy_ok = step >= 2 or i % 2 == 0
            out.append({"question_id": ext, "trajectory_id": "wordy-%d" % step, "policy": "wordy",
                        "step": step, "selected": m + extra, "n_tokens": 300 * step,
                        "response": "Let me read. Hmm the first passage says %s. Wait, check again. "
                                    "Therefore it is so. <answer>%s</answer>"
                                    % (gold, gold if wordy_ok else "unknown")})
            out.append({"question_id": ext, "trajectory_id": "wrong-%d" % step, "policy": "wrong",
                        "step": step, "selected": cands[:2], "response": "<answer>unknown</answer>"})
            if i % 3 == 0:
                out.append({"question_id": ext, "trajectory_id": "noformat-%d" % step, "policy": "noformat",
                            "step": step, "selected": m, "response": "It is %s." % gold})
    return out


class ScoreSchedule(PareTest):
    def setUp(self):
        super().setUp()
        self.hotpot_augmented()

    def write_rollouts(self, rows, name="r.jsonl"):
        return self.write(name, "".join(json.dumps(r) + "\n" for r in rows))

    def test_score_schedule_export(self):
        rows = rollouts(self)
        f = self.write_rollouts(rows)
        self.assertEqual(validate(self, "input_trajectory", f), len(rows))
        self.pare("--quiet", "score", f)
        n = self.query("SELECT count(*) FROM trajectories")[0][0]
        self.assertEqual(n, len(rows))
        per = dict(self.query("SELECT scheme, count(*) FROM rewards GROUP BY scheme"))
        self.assertEqual(per, {s: len(rows) for s in SCHEMES})
        # components: oracle exact, no-format invalid
        comp = {(p, s): (v, json.loads(c)) for p, s, v, c in self.query(
            "SELECT t.policy, r.scheme, r.value, r.components FROM trajectories t JOIN rewards r ON "
            "r.trajectory_id = t.id WHERE t.ext_id IN ('oracle-1', 'noformat-1', 'wrong-1') "
            "AND t.question_id = (SELECT min(question_id) FROM trajectories)")}
        self.assertEqual(comp[("oracle", "cp1")][0], 1.0)
        self.assertEqual(comp[("oracle", "rubric")][0], 1.0)  # 10 of 10 rubric points
        self.assertEqual(comp[("noformat", "laser")][0], -1.0)
        self.assertEqual(comp[("wrong", "laser")][0], -0.5)
        self.assertFalse(comp[("noformat", "cp1")][1]["valid"])
        # a rerun adds nothing twice
        before = self.snapshot()
        self.pare("--quiet", "score", f)
        self.assertEqual(self.snapshot(), before)

        # dapo drops exactly the groups whose laser rewards are all equal
        out = json.loads(self.pare("--quiet", "schedule", "--strategy", "dapo", "--json").stdout)
        groups = {}
        for q, v in self.query("SELECT t.question_id, r.value FROM trajectories t JOIN rewards r ON "
                               "r.trajectory_id = t.id AND r.scheme = 'laser'"):
            groups.setdefault(q, set()).add(v)
        equal = {q for q, vs in groups.items() if len(vs) == 1}
        kept = {q for (q,) in self.query("SELECT question_id FROM schedule WHERE plan = 'dapo'")}
        self.assertEqual(out["dropped"], len(equal))
        self.assertEqual(kept, set(groups) - equal)

        # decs: kappa recomputed from the data with the rule of DESIGN.md
        out = json.loads(self.pare("--quiet", "schedule", "--strategy", "decs", "--json").stdout)
        bucket = dict(self.query("SELECT question_id, bucket FROM difficulty"))
        k, prev, want = 0.0, 0.5, []
        for step in (1, 2, 3):
            rs = self.query("SELECT t.question_id, json_extract(r.components, '$.correct'), "
                            "json_extract(r.components, '$.prefix_fraction') FROM trajectories t JOIN "
                            "rewards r ON r.trajectory_id = t.id AND r.scheme = 'cp1' WHERE t.step = ?", (step,))
            pf = [p for _, c, p in rs if c]
            R = sum(pf) / len(pf) if pf else 0.5
            prompts = {q for q, _, _ in rs}
            k0 = sum(bucket[q] == "easy" for q in prompts) / len(prompts)
            k = min(max(k + 0.2 * (R - prev), 0.0), k0)
            prev = R
            want.append(k)
        self.assertEqual([s["step"] for s in out["kappa"]], [1, 2, 3])
        for got, w in zip([s["kappa"] for s in out["kappa"]], want):
            self.assertAlmostEqual(got, w, places=9)

        # sorted: easy to hard, exported in order as verl rows
        self.pare("--quiet", "schedule", "--strategy", "sorted", "--batch-size", "16")
        order = [q for (q,) in self.query("SELECT question_id FROM schedule WHERE plan = 'sorted' "
                                          "ORDER BY batch, position")]
        ranks = {"easy": 0, "medium": 1, "hard": 2}
        self.assertEqual([ranks[bucket[q]] for q in order], sorted(ranks[bucket[q]] for q in order))
        out = os.path.join(self.dir, "curriculum.json")
        self.pare("--quiet", "export", "--what", "schedule", "--plan", "sorted", "--out", out)
        self.assertEqual(validate(self, "export_verl", out), len(order))
        with open(out) as fh:
            exported = [json.loads(l) for l in fh]
        self.assertEqual([r["extra_info"]["question_id"] for r in exported], order)
        self.assertEqual([r["extra_info"]["batch"] for r in exported],
                         [1 + i // 16 for i in range(len(exported))])
        # pare status shows the distribution of difficulty buckets
        st = json.loads(self.pare("status", "--json").stdout)
        dist = {b["bucket"]: b["count"] for b in st["difficulty"]}
        self.assertEqual(sum(dist.values()), len(bucket))
        self.assertEqual(set(dist) - {"easy", "medium", "hard"}, set())
        self.assertIn("difficulty", self.pare("status").stdout)

    def test_decs_worked_example(self):
        """Ten questions: two always answered right (easy), eight always wrong (hard), so
        kappa0 = 0.2 at every step. The right answers state the gold answer at the end of a first
        chunk of 6, 8, 7, 9, 4 tokens out of 10, so R = 0.6, 0.8, 0.7, 0.9, 0.4. By hand, with
        beta 0.2, kappa_0 = 0, R_0 = 0.5:
          0.2 (0.6 - 0.5) = 0.02; 0.02 + 0.2 (0.8 - 0.6) = 0.06; 0.06 + 0.2 (0.7 - 0.8) = 0.04;
          0.04 + 0.2 (0.9 - 0.7) = 0.08; 0.08 + 0.2 (0.4 - 0.9) < 0, clipped to 0."""
        rows = self.query("SELECT q.ext_id, json_extract(q.answers, '$[0]') FROM questions q JOIN "
                          "evidence_sets e ON e.question_id = q.id WHERE e.status = 'minimal' ORDER BY q.id")
        picked = [(ext, g) for ext, g in rows if len(g.split()) <= 3][:10]
        self.assertEqual(len(picked), 10)
        lines = []
        for step, first in enumerate((6, 8, 7, 9, 4), start=1):
            for i, (ext, gold) in enumerate(picked):
                if i < 2:  # right: the gold answer closes the first chunk, "Wait" opens the second
                    words = ["so"] * (first - len(gold.split())) + gold.split()
                    reasoning = " ".join(words + ["Wait"] + ["then"] * (10 - first - 1))
                    resp = "%s <answer>%s</answer>" % (reasoning, gold)
                else:
                    resp = "no idea at all here <answer>nobody knows</answer>"
                lines.append({"question_id": ext, "trajectory_id": "s%d" % step, "step": step,
                              "selected": [], "response": resp})
        self.pare("--quiet", "score", "--schemes", "laser", self.write_rollouts(lines, "decs.jsonl"))
        out = json.loads(self.pare("--quiet", "schedule", "--strategy", "decs", "--json").stdout)
        self.assertEqual(out["buckets"], {"easy": 2, "medium": 0, "hard": 8})
        got = [k["kappa"] for k in out["kappa"]]
        for g, want in zip(got, [0.02, 0.06, 0.04, 0.08, 0.0]):
            self.assertAlmostEqual(g, want, places=12)
        self.assertEqual(len(got), 5)
        # batch m takes the non-easy prompts and appends int(kappa * kept / (1 - kappa)) easy ones
        sizes = self.query("SELECT batch, count(*) FROM schedule WHERE plan = 'decs' GROUP BY batch")
        self.assertEqual(sizes, [(1, 8)])  # 8 hard prompts; int(0.02 * 8 / 0.98) = 0 easy

    def test_bad_input(self):
        good = rollouts(self, 3)
        before = self.snapshot()
        ext = good[0]["question_id"]
        pid = good[0]["selected"][0]
        bad = [
            ({"question_id": "no-such-q", "selected": [], "response": "x"}, "unknown question id 'no-such-q'"),
            ({"question_id": ext, "selected": [pid, "x"], "response": "x"}, "selected[1] must be a passage id"),
            ({"gts": {"answers": ["a"]}, "output": "x"}, "the ground truth in 'gts' names no question"),
            ({"question_id": ext, "selected": [pid]}, "missing required field 'response'"),
            ({"question_id": ext, "selected": [pid], "response": "x", "n_tokens": -5}, "field 'n_tokens' must be"),
            ({"question_id": ext, "selected": [pid], "response": "x", "n_tokens": 10 ** 12}, "field 'n_tokens' must be"),
        ]
        for rec, msg in bad:
            with self.subTest(msg):
                f = self.write_rollouts(good[:2] + [rec], "bad.jsonl")
                p = self.pare("score", f, expect=3)
                self.assertIn("bad.jsonl:3: " + msg, p.stderr)
                self.assertEqual(self.snapshot(), before)
        f = self.write("u.jsonl", (json.dumps(good[0]) + "\n").encode() + b'{"question_id": "\xff"}\n', "wb")
        self.assertIn("u.jsonl:2: invalid UTF-8", self.pare("score", f, expect=3).stderr)
        dup = self.write_rollouts([good[0], good[0]], "dup.jsonl")
        self.assertIn("dup.jsonl:2: duplicate trajectory", self.pare("score", dup, expect=3).stderr)
        # an unknown scheme is a usage error (issue 13) naming the valid ones
        err = self.pare("score", "--schemes", "laser,grpo", dup, expect=2).stderr
        self.assertIn("unknown scheme 'grpo'", err)
        self.assertIn("cp1, cp2, laser, laser-d, decs, rubric", err)
        self.assertIn("--schemes names no scheme", self.pare("score", "--schemes", ",", dup, expect=2).stderr)
        self.assertEqual(self.snapshot(), before)
        # --skip-bad: the good lines are scored, the bad ones kept in rejects
        f = self.write_rollouts(good[:2] + [bad[0][0], bad[1][0]] + good[2:4], "mixed.jsonl")
        self.pare("--quiet", "score", "--skip-bad", f)
        self.assertEqual(self.query("SELECT count(*) FROM trajectories")[0][0], 4)
        self.assertEqual([r[0] for r in self.query("SELECT line FROM rejects ORDER BY line")], [3, 4])
        # a policy's mistakes are invalid formats (-1), not bad input: a passage that does not
        # exist, one listed twice, no answer tag
        mistakes = [{"question_id": ext, "trajectory_id": "m1", "selected": [99999999],
                     "response": "<answer>x</answer>"},
                    {"question_id": ext, "trajectory_id": "m2", "selected": [pid, pid],
                     "response": "<answer>x</answer>"},
                    {"question_id": ext, "trajectory_id": "m3", "selected": [pid], "response": "x"}]
        self.pare("--quiet", "score", "--schemes", "cp1,laser", self.write_rollouts(mistakes, "m.jsonl"))
        got = self.query("SELECT t.ext_id, r.scheme, r.value FROM trajectories t JOIN rewards r ON "
                         "r.trajectory_id = t.id WHERE t.ext_id LIKE 'm_' ORDER BY 1, 2")
        self.assertEqual(got, [(e, s, -1.0) for e in ("m1", "m2", "m3") for s in ("cp1", "laser")])
        self.assertEqual(self.query("SELECT selected FROM trajectories WHERE ext_id = 'm2'"),
                         [("[%d,%d]" % (pid, pid),)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
