#!/usr/bin/env python3
"""A fast fake OpenAI-compatible chat server for the endpoint-pool benchmark (stdlib asyncio).

tests/e2e/fake_openai.py runs a thread per request, which is too slow to keep 1,024 requests in
flight. This one is a single asyncio process with a minimal HTTP/1.1 parser (keep-alive,
Content-Length bodies) that answers every POST .../chat/completions after --delay seconds
without holding a thread: the answer is the question's gold answer (from --answers) when it
occurs verbatim in the prompt, else "unknown" (a cheap stand-in for the e2e fake's honest reader,
so that mining makes its usual number of calls per question). Prints its port on stdout, serves
until killed, and on SIGTERM prints on stderr the number of requests it answered and the most
it held pending at once.
"""
import argparse
import asyncio
import json
import signal
import sys

STATS = {"n": 0, "pending": 0, "peak": 0}


def reply_for(body, answers):
    """The chat completion for a request body (bytes)."""
    text = body.decode("utf-8", "replace")
    q_at = text.rfind("Question: ")
    a_at = text.find("\\nAnswer:", q_at)
    content = "unknown"
    if q_at >= 0 and a_at > q_at:
        q = json.loads('"%s"' % text[q_at + 10:a_at])
        for g in answers.get(q, ()):
            if g and g in text:
                content = g
                break
    out = {"id": "x", "object": "chat.completion", "model": "fake",
           "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content}}],
           "usage": {"prompt_tokens": len(text) // 4, "completion_tokens": 3}}
    return json.dumps(out).encode()


class Conn(asyncio.Protocol):
    def __init__(self, srv):
        self.srv, self.buf, self.tr = srv, b"", None

    def connection_made(self, tr):
        self.tr = tr

    def connection_lost(self, exc):
        self.tr = None

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            out = reply_for(body, self.srv.answers)
            STATS["pending"] += 1
            STATS["peak"] = max(STATS["peak"], STATS["pending"])
            asyncio.get_running_loop().call_later(self.srv.delay, self.send, out)

    def send(self, out):
        STATS["n"] += 1
        STATS["pending"] -= 1
        if self.tr is not None:
            self.tr.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(out), out))


async def serve(a):
    loop = asyncio.get_running_loop()
    srv = argparse.Namespace(delay=a.delay,
                             answers=json.load(open(a.answers)) if a.answers else {})
    server = await loop.create_server(lambda: Conn(srv), "127.0.0.1", a.port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop
    print("fake_openai_fast: %d requests, peak %d pending" % (STATS["n"], STATS["peak"]), file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=0.2, help="seconds before each answer")
    ap.add_argument("--answers", default="", help="JSON object: question -> gold answers")
    ap.add_argument("--port", type=int, default=0)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
