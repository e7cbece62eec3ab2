#!/usr/bin/env python3
"""A fake OpenAI-compatible server on 127.0.0.1 for pare's end-to-end tests.

POST /v1/embeddings: deterministic embeddings (a hashed bag of words, so that retrieval works).
POST /v1/chat/completions: an honest reader: answers with the gold answer (given out of band
with --answers, never in the prompt) when the passages in the prompt contain it, else "unknown";
answers pare's verification prompt with yes or no.

Faults are chosen with --fault (comma-separated, each applied to a share --fault-rate of
requests, decided by a hash of the request body so that a retry of the same body may pass):
  500, 503, 429 (with retry-after: 1), timeout (sleeps past the client's timeout), garbage
  (malformed JSON), length (finish_reason "length"), drop (closes the connection), count (wrong
  number of vectors), nan (a NaN component).
--always FAULT applies one fault to every request. The server logs one line per request
(method, path, status, fault) to --log, the Authorization header it saw to --seen-keys, and the
messages of each chat completion request, in the order they arrived, as JSON lines to --prompts.
Chat completions report usage: prompt_tokens = len(user message) // 4, completion_tokens = 3.
Prints its port on stdout, then serves until killed.
"""
import argparse
import hashlib
import json
import math
import re
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIM = 256
STATE = {"n": 0, "lock": threading.Lock()}


def embed(text):
    v = [0.0] * DIM
    for w in [w for w in re.findall(r"\w+", text.lower()) if len(w) > 3]:
        h = zlib.crc32(w.encode())
        v[h % DIM] += -1.0 if (h >> 16) & 1 else 1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


def norm(s):
    """SQuAD normalisation, as the official scripts do it."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def answer(golds, passages):
    """An honest reader: the gold answer when the passages contain it, else 'unknown'."""
    text = " " + norm(" ".join(passages)) + " "
    for g in golds:
        if norm(g) and " " + norm(g) + " " in text:
            return g
    return "unknown"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status, fault, key=""):
        if self.server.log:
            with STATE["lock"], open(self.server.log, "a") as f:
                f.write("%s %s %s %s %s\n" % (self.command, self.path, status, fault or "-", key))

    def reply(self, status, obj=None, raw=None, headers=()):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def pick_fault(self, body):
        a = self.server.args
        if a.always:
            return a.always
        if not a.fault:
            return None
        h = int(hashlib.sha256(body + str(time.time_ns() // 1_000_000).encode()).hexdigest()[:8], 16)
        if (h % 1000) / 1000.0 >= a.fault_rate:
            return None
        faults = a.fault.split(",")
        return faults[(h >> 10) % len(faults)]

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.server.args.delay:
            time.sleep(self.server.args.delay)
        if self.server.seen_keys:
            with STATE["lock"], open(self.server.seen_keys, "a") as f:
                f.write("%s\n" % self.headers.get("Authorization", ""))
        with STATE["lock"]:
            STATE["n"] += 1
        fault = self.pick_fault(body)
        if fault == "drop":
            self.note("drop", fault)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if fault == "timeout":
            time.sleep(self.server.args.sleep)
            self.note("late", fault)
            try:
                self.reply(504, {"error": "late"})
            except OSError:
                pass
            return
        if fault == "500":
            self.note(500, fault)
            return self.reply(500, {"error": {"message": "injected server error"}})
        if fault == "503":
            self.note(503, fault)
            return self.reply(503, {"error": {"message": "injected: overloaded"}})
        if fault == "429":
            self.note(429, fault)
            return self.reply(429, {"error": {"message": "slow down"}}, headers=[("retry-after", "1")])
        if fault == "garbage":
            self.note(200, fault)
            return self.reply(200, raw=b'{"data": [{"embedding": [0.1, 0.2,')
        try:
            req = json.loads(body)
        except ValueError:
            self.note(400, "bad-request")
            return self.reply(400, {"error": {"message": "bad JSON"}})
        if self.path.endswith("/embeddings"):
            inputs = req["input"] if isinstance(req["input"], list) else [req["input"]]
            data = [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(inputs)]
            if fault == "count":
                data = data[:-1] if len(data) > 1 else data + data
            if fault == "nan":
                data[0]["embedding"][0] = float("nan")
            self.note(200, fault)
            raw = json.dumps({"object": "list", "data": data, "model": req.get("model"),
                              "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
            return self.reply(200, raw=raw.replace(b"NaN", b"NaN"))
        if self.path.endswith("/chat/completions"):
            user = req["messages"][-1]["content"]
            if self.server.args.prompts:
                with STATE["lock"], open(self.server.args.prompts, "a") as f:
                    f.write(json.dumps([m["content"] for m in req["messages"]]) + "\n")
            if "Candidate answer:" in user:  # the verification prompt
                golds = json.loads(re.search(r"Reference answers: (.*)", user).group(1))
                cand = re.search(r"Candidate answer: (.*)", user).group(1)
                content = "yes" if any(norm(g) == norm(cand) for g in golds) else "no"
                key = "verify"
            else:
                q = re.search(r"Question: (.*)\nAnswer:", user).group(1)
                ps = re.findall(r'<passage id="(\d+)" title="[^"]*">(.*?)</passage>', user, re.S)
                content = answer(self.server.answers.get(q, []), [t for _, t in ps])
                key = "%s %s" % (hashlib.md5(q.encode()).hexdigest(), ",".join(sorted(i for i, _ in ps)))
            finish = "length" if fault == "length" else "stop"
            self.note(200, fault, key)
            return self.reply(200, {"id": "x", "object": "chat.completion", "model": req.get("model"),
                                    "choices": [{"index": 0, "finish_reason": finish,
                                                 "message": {"role": "assistant", "content": content}}],
                                    "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": 3}})
        self.note(404, None)
        return self.reply(404, {"error": {"message": "no such endpoint"}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: pare opens dozens of connections at once, the kernel
    # drops what overflows the accept queue, and a client whose handshake it dropped waits for
    # SYN retransmissions (1, 3, 7 s...) or its whole --timeout. That made the tests slow, not pare.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that time out or drop connections on purpose are not news


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fault", default="")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--always", default="")
    ap.add_argument("--sleep", type=float, default=5.0)
    ap.add_argument("--log", default="")
    ap.add_argument("--seen-keys", default="")
    ap.add_argument("--answers", default="", help="JSON object: question -> gold answers")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--prompts", default="", help="log each chat request's messages here")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.args, srv.log, srv.seen_keys = a, a.log, a.seen_keys
    srv.answers = json.load(open(a.answers)) if a.answers else {}
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
