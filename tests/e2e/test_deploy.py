"""deploy/: the Kubernetes manifests validate against the Kubernetes API schemas
(kubernetes-models from npm, tests/k8s/validate.js) and a broken one does not; the pipeline files
they and the Slurm scripts run are valid recipes (pare run --dry-run); the Slurm scripts parse.
The Slurm flow itself runs on a local cluster in tests/slurm/run.sh."""
import glob
import os
import subprocess
import unittest

from common import BIN, NODE_PATH, ROOT, PareTest

K8S = sorted(glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml")))


class Deploy(PareTest):
    def validate(self, *files):
        return subprocess.run(["node", os.path.join(ROOT, "tests", "k8s", "validate.js")] + list(files),
                              capture_output=True, text=True, env=dict(os.environ, NODE_PATH=NODE_PATH))

    def test_k8s_manifests_validate(self):
        p = self.validate(*K8S)
        self.assertEqual(p.returncode, 0, p.stderr)
        kinds = p.stdout.split("\n")
        self.assertTrue(any("batch/v1 Job pare-shards: valid" in l for l in kinds), p.stdout)
        self.assertTrue(any("apps/v1 Deployment pare-judge: valid" in l for l in kinds), p.stdout)
        with open(os.path.join(ROOT, "deploy", "k8s", "shards-job.yaml")) as f:
            shards = f.read()
        self.assertIn("completionMode: Indexed", shards)
        self.assertIn("JOB_COMPLETION_INDEX", shards)
        # the validator is not a rubber stamp
        for old, new, msg in (("completions: 4", "completions: four", "must be integer"),
                              ("restartPolicy: Never", "restartPolicy: Sometimes", "allowed values"),
                              ("apiVersion: batch/v1", "apiVersion: batch/v9", "unknown apiVersion")):
            bad = self.write("bad.yaml", shards.replace(old, new))
            p = self.validate(bad)
            self.assertEqual(p.returncode, 1, old)
            self.assertIn(msg, p.stderr)

    def test_recipes_are_valid(self):
        # the recipe of the Slurm scripts
        p = self.pare("run", os.path.join(ROOT, "deploy", "pipeline.yaml"), "--dry-run", db=False)
        steps = p.stdout.splitlines()
        self.assertEqual([l.split(":")[0] for l in steps],
                         ["ingest", "index", "retrieve", "mine", "augment", "eval"])
        self.assertTrue(os.path.exists(steps[0].split()[-1]), "the 2Wiki path resolves: " + steps[0])
        # the recipe in the Kubernetes ConfigMap, as a shard pod runs it
        js = ("const Y = require('yaml'), fs = require('fs');"
              "for (const d of Y.parseAllDocuments(fs.readFileSync(process.argv[1], 'utf8'))) {"
              "  const o = d.toJS(); if (o.kind === 'ConfigMap') process.stdout.write(o.data['pipeline.yaml']); }")
        text = subprocess.run(["node", "-e", js, os.path.join(ROOT, "deploy", "k8s", "storage.yaml")],
                              capture_output=True, text=True, check=True,
                              env=dict(os.environ, NODE_PATH=NODE_PATH)).stdout
        recipe = self.write("k8s-pipeline.yaml", text)
        env = dict(os.environ, PARE_MODEL="m")
        p = self.pare("run", recipe, "--dry-run", "--from", "retrieve", "--until", "augment",
                      "--shard", "1/4", "--shard-db", os.path.join(self.dir, "s.db"), db=False, env=env)
        steps = p.stdout.splitlines()
        self.assertEqual(len(steps), 3)
        self.assertTrue(steps[1].startswith("mine: pare mine --judge openai --model m --method ddmin"), steps[1])
        self.assertTrue(all("--shard 1/4 --shard-db" in l for l in steps), steps)
        # the Slurm scripts parse
        for f in glob.glob(os.path.join(ROOT, "deploy", "slurm", "*")):
            subprocess.run(["bash", "-n", f], check=True)


if __name__ == "__main__":
    unittest.main()
