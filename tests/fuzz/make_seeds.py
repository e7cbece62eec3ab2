#!/usr/bin/env python3
"""Builds the fuzz harnesses' seed corpora at run time from ../shared/data (never copied into
the repository): OUT/NAME/ holds small inputs for harness fuzz_NAME, and OUT/dict.bin the zstd
dictionary of a database ingested from the data, whose passage bodies seed the blob harnesses.

usage: make_seeds.py DATA_DIR PARE_BIN OUT_DIR
"""
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

N = 30  # records per source: enough variety
TEXT = 48  # longest string kept: the structure matters to the fuzzers, not the prose


def shrink(v):
    """The record with every string cut to TEXT characters: small inputs run fast."""
    if isinstance(v, str):
        return v[:TEXT]
    if isinstance(v, list):
        return [shrink(x) for x in v]
    if isinstance(v, dict):
        return {k: shrink(x) for k, x in v.items()}
    return v


def load(path):
    with open(path) as f:
        if path.endswith(".jsonl"):
            return [shrink(json.loads(line)) for _, line in zip(range(200), f)]
        return [shrink(r) for r in json.load(f)]


class Out:
    def __init__(self, root):
        self.root = root

    def put(self, name, fname, data):
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(os.path.join(d, fname), mode) as f:
            f.write(data)

    def records(self, name, prefix, recs):
        for i, r in enumerate(recs[:N]):
            self.put(name, "%s%03d.jsonl" % (prefix, i), json.dumps(r) + "\n")


def reader_seeds(out, sources):
    for tag, recs in sources.items():
        few = recs[:3]
        lines = "".join(json.dumps(r) + "\n" for r in few).encode()
        out.put("reader", tag + ".json", json.dumps(few, indent=1))
        out.put("reader", tag + ".jsonl", lines)
        out.put("reader", tag + ".jsonl.gz", gzip.compress(lines))
        z = subprocess.run(["zstd", "-q", "-c"], input=lines, capture_output=True)
        if z.returncode == 0:
            out.put("reader", tag + ".jsonl.zst", z.stdout)


def ircot_answer(r):
    return r["answers_objects"][0]["spans"][0]


def derived_formats(out, ircot, hotpot):
    """flashrag and generic records built from the IRCoT and HotpotQA files."""
    flash, generic = [], []
    for r in ircot[:N]:
        ctx = r["contexts"]
        generic.append({"id": r["question_id"], "question": r["question_text"],
                        "answers": [ircot_answer(r)], "type": "bridge",
                        "contexts": [{"title": c["title"], "text": c["paragraph_text"],
                                      "is_gold": c["is_supporting"]} for c in ctx]})
        generic.append({"id": r["question_id"] + "-p", "title": ctx[0]["title"],
                        "text": ctx[0]["paragraph_text"]})
        flash.append({"id": r["question_id"], "contents": "\"%s\"\n%s" % (ctx[0]["title"],
                                                                         ctx[0]["paragraph_text"])})
    for r in hotpot[:N]:
        flash.append({"id": r["_id"], "question": r["question"], "golden_answers": [r["answer"]],
                      "metadata": {"type": r["type"], "level": r["level"], "context": r["context"],
                                   "supporting_facts": r["supporting_facts"]}})
    out.records("format_flashrag", "f", flash)
    out.records("format_generic", "g", generic)


def line_seeds(out, ircot):
    """Trajectory lines, exec judge replies and chat completions around real answers."""
    for i, r in enumerate(ircot[:N]):
        a = ircot_answer(r)
        text = r["contexts"][0]["paragraph_text"][:300]
        traj = {"question_id": "5a8b57f25542995d1e6f1371", "trajectory_id": "t%d" % i,
                "policy": "p%d" % (i % 3), "step": i % 4, "selected": [12, 14, 11][: 1 + i % 3],
                "response": "%s Wait, %s. <answer>%s</answer>" % (text, r["question_text"],
                                                                 "Scott Derrickson" if i % 2 else a)}
        if i % 3 == 0:
            traj["n_tokens"] = 40 + i
        if i % 5 == 0:
            traj["answer"] = a
        if i % 4 == 1:  # a verl rollout dump: ground truth under gts, selection in a tag
            traj = {"input": r["question_text"], "output": traj["response"].replace(
                        "<answer>", "<evidence>[12], 14</evidence> <answer>"),
                    "gts": {"question_id": traj["question_id"], "dataset": "hotpotqa/dev"},
                    "score": 0.5, "step": i}
        elif i % 4 == 2:  # OpenRLHF: the label is JSON text
            traj = {"response": traj["response"] + " <evidence>12 13</evidence>",
                    "label": json.dumps({"question_id": traj["question_id"]})}
        out.put("trajectory", "t%03d.jsonl" % i, json.dumps(traj))
        out.put("exec_reply", "r%03d.jsonl" % i, json.dumps(
            {"id": "7:00000000000000ff:3", "sufficient": i % 2 == 0, "answer": a}))
        msg = "Answer: %s\n" % a if i % 2 else " %s " % a
        out.put("openai", "c%03d.json" % i, json.dumps(
            {"id": "chatcmpl-%d" % i, "object": "chat.completion", "model": "m",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": msg},
                          "finish_reason": "length" if i % 7 == 6 else "stop"}],
             "usage": {"prompt_tokens": 100 + i, "completion_tokens": 5, "total_tokens": 105 + i}}))


def blob_seeds(out, pare, data):
    """Passage bodies of a database ingested from HotpotQA, and its dictionary."""
    tmp = tempfile.mkdtemp(prefix="pare-seeds-")
    try:
        db = os.path.join(tmp, "s.db")
        subprocess.run([pare, "--db", db, "ingest", "--quiet", "--format", "ircot",
                        os.path.join(data, "hotpotqa/dev500_ircot.jsonl")], check=True)
        con = sqlite3.connect(db)
        for i, (body,) in enumerate(con.execute("SELECT body FROM passages ORDER BY id LIMIT 200")):
            for name in ("blob", "pare_text"):
                out.put(name, "p%03d.zst" % i, bytes(body))
        d = con.execute("SELECT dict FROM zstd_dicts LIMIT 1").fetchone()
        con.close()
        if d:
            with open(os.path.join(out.root, "dict.bin"), "wb") as f:
                f.write(bytes(d[0]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    data, pare, root = sys.argv[1:4]
    out = Out(root)
    src = {
        "hotpot": load(os.path.join(data, "hotpotqa/train100.json")),
        "hotpot_hf": load(os.path.join(data, "hotpotqa/dev100_hf.json")),
        "ircot": load(os.path.join(data, "hotpotqa/dev500_ircot.jsonl")),
        "2wiki": load(os.path.join(data, "2wikimultihopqa/dev500.json")),
        "musique": load(os.path.join(data, "musique/train100.json")),
    }
    reader_seeds(out, src)
    out.records("format_hotpotqa", "o", src["hotpot"])
    out.records("format_hotpotqa", "h", src["hotpot_hf"])
    out.records("format_2wiki", "w", src["2wiki"])
    out.records("format_musique", "m", src["musique"])
    out.records("format_ircot", "i", src["ircot"])
    derived_formats(out, src["ircot"], src["hotpot"])
    line_seeds(out, src["ircot"])
    blob_seeds(out, pare, data)
    n = sum(len(files) for _, _, files in os.walk(root))
    print("make_seeds: %d files in %s" % (n, root))


if __name__ == "__main__":
    main()
