"""pare's rewards for trainers: verl's custom_reward_function and OpenRLHF's reward_func.

This file calls pare's reward library (libpare_reward.so, built by CMake with pare) through
ctypes, so a reward computed in training is the number `pare score` stores for the same
response: one implementation, in C (pipeline/reward.h, pipeline/reward_api.h). Standard library
only; point the trainer at this file as it is.

Where the library is found, in order:
  1. $PARE_REWARD_LIB, the path of libpare_reward.so;
  2. ../build/libpare_reward.so relative to this file (the repository's build folder);
  3. libpare_reward.so beside this file (copy both together to a cluster);
  4. the system's library path (ctypes.util.find_library("pare_reward")).

verl (custom_reward_function):
    custom_reward_function.path=/path/to/pare/integrations/pare_reward.py
    custom_reward_function.name=compute_score
    +custom_reward_function.reward_kwargs.scheme=cp2
verl calls compute_score(data_source=, solution_str=, ground_truth=, extra_info=) for each
response, with reward_kwargs merged in; ground_truth is the row's reward_model.ground_truth.

OpenRLHF (--remote_rm_url, or --reward.remote_url in releases with dotted options, pointing at
this .py file): OpenRLHF calls reward_func(queries, prompts, labels) with no other argument, so
the scheme comes from $PARE_REWARD_SCHEME (default cp1); labels are the rows' "label" (the ground
truth as JSON text); the response is the query after its prompt.

Responses follow pare's export instruction: <evidence>id, id</evidence> <answer>...</answer>.
Schemes: cp1, cp2, laser, laser-d, decs, rubric (rubric needs `pare augment` before the export;
laser-d needs the target of the question's difficulty bucket: target_len=, or laser_d_targets=
{"easy": L, "medium": L, "hard": L} with the bucket from extra_info["difficulty"]).
"""
import ctypes
import ctypes.util
import json
import os
import threading

__all__ = ["SCHEMES", "PareRewardError", "score", "compute_score", "reward_func", "library_path"]

SCHEMES = ("cp1", "cp2", "laser", "laser-d", "decs", "rubric")
API_VERSION = 1
BUCKETS = ("easy", "medium", "hard")
# the options the library reads (pipeline/reward_api.h)
_OPTIONS = ("red", "gamma", "target_len", "alpha", "max_len", "n_tokens", "selected", "answer")
# what verl's reward managers may pass besides reward_kwargs; not ours, ignored
_TRAINER_KWARGS = ("reward_router_address", "reward_model_tokenizer", "sandbox_fusion_url",
                   "concurrent_semaphore", "memory_limit_mb")
# end-of-turn tokens a decoded OpenRLHF query may end with (decoded with special tokens)
_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
               "<end_of_turn>", "<|end|>")


class PareRewardError(ValueError):
    """A ground truth, scheme or option the library refused; the message says what is wrong."""


_lib = None
_lib_path = None
_lock = threading.Lock()


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("PARE_REWARD_LIB")
    if env:
        return [env]  # named explicitly: nothing else is tried
    found = ctypes.util.find_library("pare_reward")
    return [p for p in (os.path.join(here, "..", "build", "libpare_reward.so"),
                        os.path.join(here, "libpare_reward.so"), found) if p]


def _load():
    global _lib, _lib_path
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in _candidates():
            if os.path.sep in path and not os.path.exists(path):
                tried.append(path)
                continue
            lib = ctypes.CDLL(path)
            lib.pare_reward_api_version.restype = ctypes.c_int
            lib.pare_reward_api_version.argtypes = []
            lib.pare_reward_score.restype = ctypes.c_int
            lib.pare_reward_score.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                              ctypes.c_char_p, ctypes.POINTER(ctypes.c_double),
                                              ctypes.c_char_p, ctypes.c_size_t]
            version = lib.pare_reward_api_version()
            if version != API_VERSION:
                raise PareRewardError("%s has API version %d, this module wants %d: rebuild pare"
                                      % (path, version, API_VERSION))
            _lib, _lib_path = lib, os.path.abspath(path) if os.path.sep in path else path
            return lib
        raise PareRewardError("libpare_reward.so not found (tried %s): build pare (make build) or "
                              "set PARE_REWARD_LIB" % ", ".join(tried or ["the library path"]))


def library_path():
    """The path of the library this module calls (loading it if needed)."""
    _load()
    return _lib_path


def _plain(o):
    """JSON for what trainers hand over: numpy arrays and scalars become lists and numbers."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError("cannot write %r as JSON" % type(o).__name__)


def _truth_text(ground_truth):
    if isinstance(ground_truth, (bytes, bytearray)):
        return bytes(ground_truth)
    if isinstance(ground_truth, str):
        return ground_truth.encode("utf-8")
    return json.dumps(ground_truth, default=_plain).encode("utf-8")


def score(scheme, response, ground_truth, **options):
    """The reward of one response and its components: (value, dict). ground_truth is the exported
    one (a dict, or its JSON text); options are the library's (red, gamma, target_len, alpha,
    max_len, n_tokens, selected, answer). Raises PareRewardError."""
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError("unknown option(s) %s (known: %s)" % (", ".join(sorted(unknown)),
                                                               ", ".join(_OPTIONS)))
    lib = _load()
    opts = {k: v for k, v in options.items() if v is not None}
    value = ctypes.c_double()
    info = ctypes.create_string_buffer(4096)
    rc = lib.pare_reward_score(str(scheme).encode("utf-8"), (response or "").encode("utf-8"),
                               _truth_text(ground_truth),
                               json.dumps(opts, default=_plain).encode("utf-8") if opts else None,
                               ctypes.byref(value), info, len(info))
    text = info.value.decode("utf-8", "replace")
    if rc != 0:
        raise PareRewardError(text)
    return value.value, json.loads(text)


def _laser_d_target(extra_info, kwargs):
    """The LASER-D target of this question: target_len, else laser_d_targets by its bucket."""
    if kwargs.get("target_len") is not None:
        return kwargs["target_len"]
    targets = kwargs.get("laser_d_targets")
    bucket = kwargs.get("difficulty") or (extra_info or {}).get("difficulty")
    if targets is None or bucket not in BUCKETS:
        raise PareRewardError("laser-d needs target_len, or laser_d_targets and the question's "
                              "difficulty bucket (extra_info['difficulty'], from pare schedule)")
    return targets[bucket] if isinstance(targets, dict) else targets[BUCKETS.index(bucket)]


def compute_score(data_source, solution_str, ground_truth, extra_info=None, scheme="cp1", **kwargs):
    """verl's custom_reward_function: the reward of solution_str under `scheme` (from
    custom_reward_function.reward_kwargs). Returns a float."""
    del data_source  # the ground truth names the question; any data_source is pare's
    for k in _TRAINER_KWARGS:
        kwargs.pop(k, None)
    bucket = kwargs.pop("difficulty", None)
    targets = kwargs.pop("laser_d_targets", None)
    if scheme == "laser-d":
        kwargs["target_len"] = _laser_d_target(extra_info, dict(
            kwargs, laser_d_targets=targets, difficulty=bucket))
    value, _ = score(scheme, solution_str, ground_truth, **kwargs)
    return value


def _response_of(query, prompt):
    """The response in an OpenRLHF query (prompt and response decoded together)."""
    if prompt and query.startswith(prompt):
        response = query[len(prompt):]
    elif prompt:
        tail = prompt[-200:]
        at = query.rfind(tail)
        if at < 0:
            raise PareRewardError("the prompt is not in the query: cannot tell the response apart")
        response = query[at + len(tail):]
    else:
        response = query
    trimmed = True
    while trimmed:
        trimmed = False
        response = response.rstrip()
        for t in _END_TOKENS:
            if response.endswith(t):
                response = response[:-len(t)]
                trimmed = True
    return response


def reward_func(queries, prompts, labels, **kwargs):
    """OpenRLHF's reward function: {"rewards", "scores", "extra_logs"} for a batch. The scheme
    is kwargs["scheme"], else $PARE_REWARD_SCHEME, else cp1; labels are the exported rows' label
    (the ground truth as JSON text). Tensors when torch is importable, else lists."""
    scheme = kwargs.pop("scheme", None) or os.environ.get("PARE_REWARD_SCHEME", "cp1")
    values = [compute_score(None, _response_of(q, p), l, None, scheme, **kwargs)
              for q, p, l in zip(queries, prompts, labels)]
    try:
        import torch  # OpenRLHF has it; this module does not need it
        rewards = torch.tensor(values, dtype=torch.float)
    except ImportError:
        rewards = values
    return {"rewards": rewards, "scores": rewards, "extra_logs": {}}
