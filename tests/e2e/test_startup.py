"""What a command does before it works.

OpenMP's wait policy (jobs/main.c): pare runs with OMP_WAIT_POLICY=passive unless the user chose a
policy, in one start-up when the environment lends it a slot, and the programs it starts (an exec:
judge here) get the environment pare was given, without the variable.

BLAS and LAPACK (index/blas_lazy.c): loaded when FAISS first calls them, not when pare starts.
libcurl (common/curl_api.h): loaded when a command first talks to a server."""
import json
import os
import shutil
import subprocess
import sys
import unittest

from common import BIN, FakeOpenAI, PareTest, data


def displays(stderr):
    """libgomp's OMP_DISPLAY_ENV=verbose blocks: one (policy, spin count) per start-up."""
    out, policy = [], None
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("OMP_WAIT_POLICY ="):
            policy = line.split("=", 1)[1].strip().strip("'")
        elif line.startswith("GOMP_SPINCOUNT ="):
            out.append((policy, line.split("=", 1)[1].strip().strip("'")))
    return out


class OmpPolicy(PareTest):
    def base_env(self):
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        env["OMP_DISPLAY_ENV"] = "verbose"
        return env

    def test_passive_in_one_start(self):
        # passive: no spinning (spin count 0), and libgomp started once (no second exec)
        self.assertEqual(displays(self.pare("init", env=self.base_env()).stderr), [("PASSIVE", "0")])

    def test_user_choice_kept(self):
        env = self.base_env()
        env["OMP_WAIT_POLICY"] = "active"
        self.assertEqual(displays(self.pare("init", env=env).stderr)[-1][0], "ACTIVE")
        env = self.base_env()
        env["GOMP_SPINCOUNT"] = "1234"
        self.assertEqual(displays(self.pare("init", env=env).stderr), [("PASSIVE", "1234")])

    def test_empty_environment_starts_again(self):
        # nothing to lend (only OpenMP's own variable): pare executes itself with the policy set
        p = self.pare("init", env={"OMP_DISPLAY_ENV": "verbose"})
        shown = displays(p.stderr)
        self.assertEqual(len(shown), 2, p.stderr)
        self.assertEqual(shown[-1], ("PASSIVE", "0"))

    def test_children_get_the_environment_given(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        seen = os.path.join(self.dir, "seen.json")
        script = self.write("judge.py", r'''
import json, os, sys
with open(sys.argv[1], "w") as f:
    json.dump(dict(os.environ), f)
sys.exit(3)
''')
        # the first variable pare may lend is this one: it must reach the judge unchanged
        env = {"ZZ_LENT": "lent value"}
        env.update((k, v) for k, v in os.environ.items()
                   if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "ZZ_LENT"))
        judge = "exec:%s %s %s" % (sys.executable, script, seen)
        self.pare("mine", "--judge", judge, "--limit", "1", expect=1, env=env)
        with open(seen) as f:
            child = json.load(f)
        self.assertNotIn("OMP_WAIT_POLICY", child)
        self.assertEqual(child.get("ZZ_LENT"), "lent value")
        for k, v in env.items():
            self.assertEqual(child.get(k), v, k)


class LazyBlas(PareTest):
    def loaded(self, *args):
        """The libraries the loader reports for a pare command (LD_DEBUG=files)."""
        env = dict(os.environ, LD_DEBUG="files")
        return self.pare(*args, env=env).stderr

    def test_blas_loaded_on_first_use(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        # the default index (postings) and context-scope retrieval never call BLAS
        for args in (("init",), ("--quiet", "index"), ("--quiet", "retrieve", "--scope", "context")):
            log = self.loaded(*args)
            self.assertNotIn("libblas.so", log, args)
            self.assertNotIn("libopenblas", log, args)
        # an IVF index trains k-means with sgemm: BLAS is loaded then, by pare itself
        log = self.loaded("--quiet", "index", "--factory", "IVF16,Flat")
        self.assertRegex(log, r"file=libblas\.so\.3 \[0\];\s+dynamically loaded by")
        # and the search works: every question gets its candidates, and half of them a gold
        # passage of their own among them (0.50 with BLAS linked as before, same candidates)
        self.pare("--quiet", "retrieve", "--scope", "corpus", "--index", "2")
        got = self.query("SELECT count(DISTINCT question_id), count(*) FROM candidates c JOIN "
                         "retrievals r ON r.id = c.retrieval_id WHERE r.index_id = 2")
        questions = self.query("SELECT count(*) FROM questions")[0][0]
        self.assertEqual(got[0][0], questions)
        found = self.query("SELECT count(DISTINCT c.question_id) FROM candidates c JOIN retrievals r "
                           "ON r.id = c.retrieval_id JOIN question_passages g ON g.question_id = "
                           "c.question_id AND g.passage_id = c.passage_id AND g.is_gold "
                           "WHERE r.index_id = 2")[0][0]
        self.assertGreaterEqual(found, questions * 0.4)


class LazyCurl(PareTest):
    def loaded(self, *args, env=None, expect=0):
        """The loader's log of the libraries a pare command loads (LD_DEBUG=files)."""
        env = dict(env or os.environ, LD_DEBUG="files")
        return self.pare(*args, env=env, expect=expect).stderr

    def test_curl_loaded_by_the_commands_that_talk_to_a_server(self):
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        # nothing local loads libcurl (nor the TLS stack it brings)
        for args in (("init",), ("--version",), ("--quiet", "index"),
                     ("--quiet", "retrieve", "--scope", "context"),
                     ("--quiet", "mine", "--limit", "5")):
            log = self.loaded(*args)
            self.assertNotIn("libcurl", log, args)
            self.assertNotIn("libgnutls", log, args)
        # an OpenAI judge loads it on first use, and its calls work
        answers = {q: json.loads(a) for q, a in self.query("SELECT question, answers FROM questions")}
        afile = self.write("answers.json", json.dumps(answers))
        with FakeOpenAI("--answers", afile) as srv:
            log = self.loaded("--quiet", "mine", "--judge", "openai", "--model", "fake",
                              "--method", "ddmin", "--limit", "3", env=srv.env())
        self.assertRegex(log, r"file=libcurl\.so\.4 \[0\];\s+dynamically loaded by")
        self.assertGreater(self.query("SELECT count(*) FROM judge_calls WHERE judge LIKE "
                                      "'openai%' AND verdict IS NOT NULL AND error IS NULL")[0][0], 0)

    def test_a_libcurl_that_cannot_be_used_is_an_error(self):
        # a libcurl.so.4 without libcurl's functions, found first: the judge fails with a message
        # that names the library and what it lacks, and no verdict is stored
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler to build the stand-in library")
        src = self.write("empty.c", "int pare_test_not_curl;\n")
        lib = os.path.join(self.dir, "lib")
        os.mkdir(lib)
        subprocess.run([cc, "-shared", "-fPIC", "-o", os.path.join(lib, "libcurl.so.4"), src],
                       check=True)
        self.pare("--quiet", "ingest", "--format", "musique", data("musique/train100.json"))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        env = dict(os.environ, LD_LIBRARY_PATH=lib, OPENAI_BASE_URL="http://127.0.0.1:9/v1",
                   OPENAI_API_KEY="sk-test")
        p = self.pare("mine", "--judge", "openai", "--model", "fake", "--limit", "2", env=env,
                      expect=1)
        self.assertIn("libcurl: libcurl.so.4 has no curl_global_init", p.stderr)
        self.assertEqual(self.query("SELECT count(*) FROM judge_calls WHERE verdict IS NOT NULL"),
                         [(0,)])


if __name__ == "__main__":
    unittest.main()
