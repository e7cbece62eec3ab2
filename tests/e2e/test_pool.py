"""The endpoint pool end to end: pare mine with the openai judge against three fake servers on
127.0.0.1, one answering every request with 503 and one killed in the middle of the run. Every
question must end as in the fault-free run with one server, the killed server's work must move to
the others, the 503 server must be taken out rather than asked on every request, and no failed
request may become a verdict."""
import json
import os
import shutil
import subprocess
import time
import unittest

from common import BIN, FakeOpenAI, PareTest, data

KEY = "sk-test-pool-31337"


class Pool(PareTest):
    def setUp(self):
        super().setUp()
        self.pare("--quiet", "ingest", "--format", "ircot", data("hotpotqa/dev500_ircot.jsonl"))
        self.pare("--quiet", "index")
        self.pare("--quiet", "retrieve", "--scope", "context")
        answers = {q: json.loads(a) for q, a in self.query("SELECT question, answers FROM questions")}
        self.answers = self.write("answers.json", json.dumps(answers))
        self.base = self.db

    def use_copy(self, name):
        self.db = os.path.join(self.dir, name)
        shutil.copy(self.base, self.db)

    def outcome(self):
        sets = {}
        for qid, status, members in self.query(
                "SELECT e.question_id, e.status, (SELECT group_concat(passage_id) FROM "
                "(SELECT passage_id FROM evidence_members m WHERE m.set_id = e.id ORDER BY rank)) "
                "FROM evidence_sets e"):
            sets[qid] = (status, members)
        calls = dict(self.query("SELECT hex(key), verdict FROM judge_calls"))
        return sets, calls

    @staticmethod
    def lines(path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [l.split() for l in f]

    def test_kill_and_503(self):
        mine = ["mine", "--judge", "openai", "--model", "fake", "--max-concurrency", "16",
                "--max-retries", "2", "--timeout", "30"]
        self.use_copy("ref.db")
        with FakeOpenAI("--answers", self.answers, "--delay", "0.01") as srv:
            self.pare("--quiet", *mine, env=srv.env(KEY))
        ref_sets, ref_calls = self.outcome()
        self.assertEqual(len(ref_sets), 500)
        self.assertTrue(all(v in (0, 1) for v in ref_calls.values()))

        self.use_copy("pool.db")
        logs = [os.path.join(self.dir, n) for n in ("a.log", "b.log", "c.log")]
        with FakeOpenAI("--answers", self.answers, "--delay", "0.01", log=logs[0]) as a, \
                FakeOpenAI("--always", "503", log=logs[1]) as b, \
                FakeOpenAI("--answers", self.answers, "--delay", "0.01", log=logs[2]) as c:
            env = a.env(KEY)
            # a trailing slash on one of them (issue 11) and blanks around the commas
            env["OPENAI_BASE_URL"] = "%s/ , %s,%s" % (a.url, b.url, c.url)
            proc = subprocess.Popen([BIN, "--db", self.db] + mine, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.time() + 300
            while time.time() < deadline and proc.poll() is None:
                time.sleep(0.05)
                if len(self.lines(logs[2])) >= len(ref_calls) // 4:
                    break
            c.proc.kill()  # kill -9, with requests on the wire
            c.proc.wait()
            killed_at = len(self.lines(logs[2]))
            out, err = proc.communicate(timeout=600)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        self.assertGreater(killed_at, 0, "the killed server had answered something")
        self.assertLess(killed_at, len(ref_calls), "the server was killed before the end")

        # every question ends as the fault-free run; no failed request became a verdict
        sets, calls = self.outcome()
        self.assertEqual(sets, ref_sets)
        self.assertEqual(calls, ref_calls)
        self.assertEqual(self.query("SELECT count(*) FROM judge_calls WHERE error IS NOT NULL")[0][0], 0)

        # the killed server's work moved to the healthy one, which answered the rest
        la, lb, lc = (self.lines(p) for p in logs)
        answered = {" ".join(l[4:]) for l in la + lc if l[2] == "200"}
        self.assertEqual(len(answered), len(ref_calls))
        self.assertGreater(len(la), len(ref_calls) - killed_at - 1)
        # the 503 server was taken out after a few failures and probed now and then, not asked
        # on every request
        self.assertTrue(all(l[2] == "503" for l in lb))
        self.assertGreater(len(lb), 0)
        self.assertLess(len(lb), 0.05 * len(ref_calls), "the 503 server was not backed off")

        # the run's summary has each endpoint's calls, errors and latency; the key is nowhere
        summary = json.loads(self.query("SELECT summary FROM runs WHERE command = 'mine' "
                                        "ORDER BY id DESC LIMIT 1")[0][0])
        eps = {e["url"]: e for e in summary["endpoints"]}
        self.assertEqual(set(eps), {a.url, b.url, c.url})
        self.assertEqual(eps[b.url]["ok"], 0)
        self.assertEqual(eps[b.url]["errors"], len(lb))
        self.assertGreaterEqual(eps[b.url]["taken_out"], 1)
        self.assertGreater(eps[c.url]["errors"], 0, "the kill cost the killed server's attempts")
        self.assertEqual(eps[a.url]["errors"], 0)
        self.assertEqual(eps[a.url]["ok"] + eps[c.url]["ok"], len(ref_calls))
        self.assertGreater(eps[a.url]["mean_ms"], 5)
        for text in (out, err, json.dumps(summary)):
            self.assertNotIn(KEY, text)
        # pare status shows them too
        status = json.loads(self.pare("status", "--json").stdout)
        self.assertEqual({e["url"] for e in status["endpoints"]}, {a.url, b.url, c.url})
        self.assertIn("endpoints of run", self.pare("status").stdout)

    def test_endpoint_flags_and_per_endpoint_concurrency(self):
        """--endpoint wins over OPENAI_BASE_URL; --max-concurrency is per endpoint."""
        self.use_copy("flags.db")
        logs = [os.path.join(self.dir, n) for n in ("x.log", "y.log")]
        with FakeOpenAI("--answers", self.answers, "--delay", "0.2", log=logs[0]) as x, \
                FakeOpenAI("--answers", self.answers, "--delay", "0.2", log=logs[1]) as y:
            env = x.env(KEY)
            env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"  # nobody there: must not be used
            t0 = time.time()
            out = json.loads(self.pare("mine", "--judge", "openai", "--model", "fake",
                                       "--max-concurrency", "4", "--limit", "40", "--json",
                                       "--endpoint", x.url + "/", "--endpoint", y.url,
                                       env=env).stdout)
            elapsed = time.time() - t0
        self.assertEqual(out["questions"], 40)
        self.assertEqual(out["failed_calls"], 0)
        lx, ly = (self.lines(p) for p in logs)
        self.assertEqual(len(lx) + len(ly), out["judge_calls"])
        self.assertGreater(min(len(lx), len(ly)), out["judge_calls"] // 4, "both took a share")
        # 2 endpoints x 4 at 200 ms a call: at most 40 calls a second, and more than 20 (one
        # endpoint's worth) when the second endpoint's 4 slots are really used
        rate = out["judge_calls"] / elapsed
        self.assertLess(rate, 44)
        self.assertGreater(rate, 22, "--max-concurrency 4 with two endpoints keeps 8 in flight")


if __name__ == "__main__":
    unittest.main()
