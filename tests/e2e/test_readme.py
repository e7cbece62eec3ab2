"""The pipeline of README.md ("The pipeline"), run exactly as written: the block's lines go to
sh as they are, in a folder where ../shared/data is the shared data and `pare` is the built
binary. Where the block says to train with verl, a scripted policy answers the exported rows and
dumps its rollouts as verl does (trainer_sim.py)."""
import json
import os
import re
import subprocess
import unittest

from common import BIN, DATA, ROOT, PareTest, validate
import trainer_sim


def pipeline_block():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text[text.index("## The pipeline"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


class Readme(PareTest):
    def test_pipeline_as_written(self):
        block = pipeline_block()
        lines = block.splitlines()
        at = next(i for i, l in enumerate(lines) if l.startswith("pare score"))
        before, after = "\n".join(lines[:at]) + "\n", "\n".join(lines[at:]) + "\n"
        self.assertIn("pare mine --method ddmin", before)
        self.assertIn("pare augment", before)
        self.assertIn("pare export --what verl", before)
        # a folder laid out as the README assumes: the repository beside ../shared/data
        work = os.path.join(self.dir, "repo")
        os.makedirs(os.path.join(self.dir, "shared"))
        os.makedirs(work)
        os.symlink(os.path.abspath(DATA), os.path.join(self.dir, "shared", "data"))
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(BIN), os.path.join(bindir, "pare"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        env.pop("PARE_DB", None)
        run = lambda script: subprocess.run(["sh", "-e", "-x", "-c", script], cwd=work, env=env,
                                            capture_output=True, text=True, timeout=1800)
        p = run(before)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])
        # the training run the README leaves to verl
        with open(os.path.join(work, "hotpot.train.json")) as f:
            rows = [json.loads(l) for l in f]
        self.assertGreater(len(rows), 300)
        trainer_sim.train(rows, 3, os.path.join(work, "rollouts"))
        p = run(after)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])
        self.db = os.path.join(work, "pare.db")
        # what the block promised: ddmin sets, rubrics, rollouts scored, a decs curriculum
        self.assertEqual(self.query("SELECT DISTINCT method FROM evidence_sets"), [("ddmin",)])
        self.assertGreater(self.query("SELECT count(*) FROM rubric_items")[0][0], 0)
        self.assertEqual(self.query("SELECT count(*) FROM trajectories")[0][0], len(rows) * 4 * 3)
        self.assertEqual(self.query("SELECT DISTINCT source FROM difficulty"), [("rollouts",)])
        n = validate(self, "export_verl", os.path.join(work, "curriculum.json"))
        self.assertEqual(n, self.query("SELECT count(*) FROM schedule WHERE plan = 'decs'")[0][0])
        self.assertIn("difficulty", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
