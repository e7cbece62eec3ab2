"""A stand-in for a verl training run, for the end-to-end tests: a scripted policy answers
exported verl rows, the reward comes from integrations/pare_reward.py as verl's
custom_reward_function would call it, and the rollouts are dumped as verl's
RayPPOTrainer._dump_generations writes them (verl/trainer/ppo/ray_trainer.py): one file per
step, STEP.jsonl, one JSON line per response with input, output, gts (the row's
reward_model.ground_truth), score, step, and the reward's extra keys."""
import json
import os
import sys
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "integrations"))
import pare_reward  # noqa: E402


def chat_text(messages):
    """The prompt as verl dumps it: the chat template decoded without special tokens."""
    return "".join("%s\n%s\n" % (m["role"], m["content"]) for m in messages) + "assistant\n"


def respond(row, step, k):
    """Response k of a GRPO group for one row at one step: right more often as training goes on
    (1, 2, 3 of 4), stating the answer early or late; a wrong group member always says the same
    (so a dump holds identical lines); every fifth row forgets the evidence tag at step 1."""
    gt = row["reward_model"]["ground_truth"]
    m, c, gold = gt["evidence_ids"], gt["candidate_ids"], gt["answers"][0]
    ev = "<evidence>%s</evidence>" % ", ".join(map(str, m))
    h = zlib.crc32(("%s/%d/%d" % (gt["question_id"], step, k)).encode())
    index = row["extra_info"]["index"]
    if step == 1 and index % 5 == 0 and k == 0:
        return "The answer is %s. <answer>%s</answer>" % (gold, gold)
    if index % 3 == 0 or h % 4 >= step:  # a third of the questions stay hard
        return "I am not sure. <evidence>%s</evidence> <answer>unknown</answer>" % ", ".join(
            map(str, c[:2]))
    if h % 2:
        return "Passage %d says %s. Wait, let me check the others. Hmm, they agree. %s <answer>%s</answer>" % (
            m[0], gold, ev, gold)
    return "Let me read the passages. But which one? Therefore %s. %s <answer>%s</answer>" % (gold, ev, gold)


def train(rows, steps, out_dir, scheme="cp1", group=4):
    """Writes out_dir/STEP.jsonl for steps 1..steps; returns the lines written, in order."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for step in range(1, steps + 1):
        lines = []
        for row in rows:
            for k in range(group):
                out = respond(row, step, k)
                score = pare_reward.compute_score(row["data_source"], out,
                                                  row["reward_model"]["ground_truth"],
                                                  row["extra_info"], scheme=scheme)
                lines.append({"input": chat_text(row["prompt"]), "output": out,
                              "gts": row["reward_model"]["ground_truth"], "score": score,
                              "step": step, "acc": score})
        with open(os.path.join(out_dir, "%d.jsonl" % step), "w") as f:
            f.write("\n".join(json.dumps(l, ensure_ascii=False) for l in lines) + "\n")
        written += lines
    return written
