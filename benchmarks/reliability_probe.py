"""Replay the bad-input probes of the reliability review (shared/reviews/reliability.md) outside the checkers.

    OMP_NUM_THREADS=1 python benchmarks/reliability_probe.py            # the table by area
    OMP_NUM_THREADS=1 python benchmarks/reliability_probe.py --verbose  # and one line per probe

Each probe feeds one bad or extreme input (or one fault) to one public function and states what a right outcome
is: either a clear error (an exception whose message matches a pattern naming the problem) or a correct result
(a predicate on the value returned). Each probe runs in a forked child process with a time limit, and its outcome
is classified as

    clear error     the expected error, with a message that names the problem
    correct result  the value returned satisfies the probe's predicate
    silent wrong    a value returned where an error was expected, or a value that fails the predicate
    raw traceback   an exception other than the expected one, or whose message does not name the problem
    hang            no outcome within the probe's time limit (the child is killed)

Not replayed (they need root capabilities, a private network namespace or another library version): permission
probes as a non-root user (replayed here only where the process can really not read the file), SIGKILL during a
write, a black-holed network, safetensors < 0.8; the areas' rows that do not map to a library function (the
fast suite under unshare, lessons under nbconvert, determinism across thread counts) are listed as not replayed.
Nothing here uses the network: every "hub" is a local server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import minigpt_lib as mg  # noqa: E402
import minigpt_lib._files as files  # noqa: E402
from minigpt_lib import GPT, GPTConfig, Model1, Model2, Model3  # noqa: E402
from minigpt_lib.pretrained import load_bundled, load_gpt2, save_gpt2  # noqa: E402
from minigpt_lib.sampling import generate, sample_next, top_k_filter, top_p_filter  # noqa: E402
from minigpt_lib.training import History, estimate_loss, load_checkpoint, save_checkpoint, train  # noqa: E402

CLASSES = ("clear error", "correct result", "silent wrong", "raw traceback", "hang")
PROBES: list[tuple[str, str, object, tuple, float]] = []  # (area, description, fn, expectation, time limit)
SMALL = dict(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_embd=16)


def error(area, name, fn, pattern, limit=30.0):
    """A probe whose right outcome is an exception with a message matching ``pattern``."""
    PROBES.append((area, name, fn, ("error", pattern), limit))


def ok(area, name, fn, check=lambda value: True, limit=30.0):
    """A probe whose right outcome is a value for which ``check(value)`` holds."""
    PROBES.append((area, name, fn, ("ok", check), limit))


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="probe-"))


def small(**kw) -> GPTConfig:
    return GPTConfig(**{**SMALL, **kw})


# ------------------------------------------------------------------------------------------ 1. public API

A1 = "1. Public API"
for field, value, pattern in [
    ("vocab_size", 0, "vocab_size"), ("n_layer", -1, "n_layer"), ("n_embd", 16.0, "n_embd"), ("n_head", True, "n_head"),
    ("n_embd", "16", "n_embd"), ("vocab_size", np.int64(50), "vocab_size"), ("n_head", 5, "divisible"),
    ("dropout", 1.0, "dropout"), ("dropout", -0.1, "dropout"), ("dropout", float("nan"), "dropout"),
    ("dropout", "0.1", "dropout"), ("layer_norm_eps", float("nan"), "layer_norm_eps"),
    ("layer_norm_eps", float("inf"), "layer_norm_eps"), ("bias", "no", "bias"), ("tie_weights", None, "tie_weights"),
]:
    error(A1, f"config {field}={value!r}", lambda f=field, v=value: GPTConfig(**{**SMALL, f: v}), pattern)
error(A1, "config preset('gpt5')", lambda: GPTConfig.preset("gpt5"), "Unknown preset")
error(A1, "config replace(n_head=3) re-validated", lambda: small().replace(n_head=3), "divisible")
error(A1, "config typo field n_embed", lambda: GPTConfig(n_embed=16), "n_embed")
error(A1, "config layer_norm_eps=nan -> forward", lambda: GPT(small(layer_norm_eps=float("nan"))), "layer_norm_eps")

MODELS = {
    "GPT": lambda: GPT(small()),
    "Model1": lambda: Model1(small()),
    "Model2": lambda: Model2(small()),
    "Model3": lambda: Model3(small()),
}
for mname, make in MODELS.items():
    def fwd(idx, targets=None, make=make):
        model = make().eval()
        return model(idx) if targets is None else model(idx, targets)

    cases = [
        ("float ids", lambda: fwd(torch.zeros(1, 3)), "integer"),
        ("negative id", lambda: fwd(torch.tensor([[-1, 2, 3]])), "0..49"),
        ("id == vocab", lambda: fwd(torch.tensor([[1, 50]])), "0..49"),
        ("empty (1,0)", lambda: fwd(torch.zeros(1, 0, dtype=torch.long)), "no tokens"),
        ("1-D ids", lambda: fwd(torch.tensor([1, 2, 3])), r"\(B, T\)"),
        ("3-D ids", lambda: fwd(torch.zeros(2, 2, 2, dtype=torch.long)), r"\(B, T\)"),
        ("uint8 ids", lambda: fwd(torch.zeros(1, 3, dtype=torch.uint8)), "integer"),
        ("int16 ids", lambda: fwd(torch.zeros(1, 3, dtype=torch.int16)), "integer"),
        ("python list", lambda: fwd([[1, 2]]), "torch tensor"),
        ("numpy int64 array", lambda: fwd(np.array([[1, 2]])), "torch tensor"),
        ("targets wrong shape", lambda: fwd(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long)), "targets"),
        ("targets float", lambda: fwd(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3)), "target"),
        ("targets id >= vocab", lambda: fwd(torch.zeros(1, 3, dtype=torch.long), torch.full((1, 3), 70)), "Target 70"),
        ("targets -5", lambda: fwd(torch.zeros(1, 3, dtype=torch.long), torch.full((1, 3), -5)), "Target -5"),
    ]
    if mname != "Model1":
        cases.append(("T=9 > block_size=8", lambda: fwd(torch.zeros(1, 9, dtype=torch.long)), "block_size"))
    for desc, fn, pattern in cases:
        error(A1, f"tokens {mname}: {desc}", fn, pattern)
    ok(A1, f"tokens {mname}: batch of 0 (0,3)", lambda fwd=fwd: fwd(torch.zeros(0, 3, dtype=torch.long)),
       lambda out: tuple(out.shape) == (0, 3, 50))

error(A1, "tokens GPT: targets all -1 -> loss", lambda: GPT(small())(torch.zeros(1, 3, dtype=torch.long), torch.full((1, 3), -1)), "every target is -1")


def kv_other_depth():
    model = GPT(small()).eval()
    cache = GPT(small(n_layer=3)).new_kv_cache()
    return model(torch.zeros(1, 3, dtype=torch.long), kv_cache=cache)


ok(A1, "tokens GPT: kv_cache of another depth", kv_other_depth, lambda out: tuple(out.shape) == (1, 3, 50))


def kv_past_block():
    model = GPT(small()).eval()
    cache = model.new_kv_cache()
    model(torch.zeros(1, 8, dtype=torch.long), kv_cache=cache)
    return model(torch.zeros(1, 1, dtype=torch.long), kv_cache=cache)


error(A1, "tokens GPT: kv_cache past block_size", kv_past_block, "exceed block_size")


def gen(**kw):
    model = GPT(small())
    args = dict(max_new_tokens=5, generator=torch.Generator().manual_seed(0)) | kw
    idx = args.pop("idx", torch.zeros(1, 3, dtype=torch.long))
    return generate(model, idx, **args)


for kw, pattern in [
    (dict(temperature=-1), "temperature"), (dict(temperature=float("nan")), "temperature"), (dict(temperature="1"), "temperature"),
    (dict(top_k=0), "top_k"), (dict(top_k=-3), "top_k"), (dict(top_k=2.5), "top_k"), (dict(top_p=0), "top_p"),
    (dict(top_p=1.5), "top_p"), (dict(top_p=float("nan")), "top_p"), (dict(top_p=-0.2), "top_p"),
    (dict(max_new_tokens=-1), "max_new_tokens"), (dict(max_new_tokens=2.5), "max_new_tokens"),
    (dict(max_new_tokens=10**9), "max_new_tokens"), (dict(idx=torch.tensor([1, 2])), r"\(B, T\)"),
    (dict(idx=torch.zeros(1, 3)), "integer"), (dict(idx=torch.tensor([[1, 99]])), "0..49"),
    (dict(idx=torch.zeros(1, 0, dtype=torch.long)), "no tokens"), (dict(block_size=0), "block_size"),
]:
    error(A1, f"generate {kw if 'idx' not in kw else 'idx ' + str(tuple(kw['idx'].shape)) + ' ' + str(kw['idx'].dtype)}",
          lambda kw=kw: gen(**kw), pattern, limit=60)
ok(A1, "generate temperature=inf", lambda: gen(temperature=float("inf")), lambda out: tuple(out.shape) == (1, 8))
ok(A1, "generate temperature=0 (greedy)", lambda: gen(temperature=0), lambda out: tuple(out.shape) == (1, 8))
ok(A1, "generate top_k=1000 > V", lambda: gen(top_k=1000), lambda out: tuple(out.shape) == (1, 8))
ok(A1, "generate max_new_tokens=0", lambda: gen(max_new_tokens=0), lambda out: tuple(out.shape) == (1, 3))
ok(A1, "generate batch of 0", lambda: gen(idx=torch.zeros(0, 3, dtype=torch.long)), lambda out: tuple(out.shape) == (0, 8))
ok(A1, "generate context 20 > block_size (crop)", lambda: gen(idx=torch.zeros(1, 20, dtype=torch.long)),
   lambda out: tuple(out.shape) == (1, 25))
ok(A1, "generate Model1 long context", lambda: generate(Model1(small()), torch.zeros(1, 40, dtype=torch.long), 3),
   lambda out: tuple(out.shape) == (1, 43))


def cache_equals_no_cache():
    model = GPT(small())
    idx = torch.zeros(1, 3, dtype=torch.long)
    return torch.equal(generate(model, idx, 30, temperature=0), generate(model, idx, 30, temperature=0, use_cache=False))


ok(A1, "generate greedy past block_size: cache == no cache", cache_equals_no_cache, lambda same: same is True)


def ctrl_c_in_generate():
    model = GPT(small()).train()
    original = model.forward

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    model.forward = interrupt
    try:
        generate(model, torch.zeros(1, 3, dtype=torch.long), 5)
    except KeyboardInterrupt:
        pass
    model.forward = original
    return model.training


ok(A1, "generate Ctrl-C restores train() mode", ctrl_c_in_generate, lambda training: training is True)

NAN, INF = float("nan"), float("inf")
error(A1, "samplers sample_next NaN logit", lambda: sample_next(torch.tensor([[1.0, NAN, 2.0]])), "NaN")
error(A1, "samplers greedy NaN logit", lambda: sample_next(torch.tensor([[1.0, NAN, 2.0]]), temperature=0), "NaN")
error(A1, "samplers sample_next +inf logit", lambda: sample_next(torch.tensor([[1.0, INF, 2.0]])), r"\+inf")
error(A1, "samplers sample_next all -inf row", lambda: sample_next(torch.tensor([[-INF, -INF]])), "all -inf")
ok(A1, "samplers one -inf, rest finite", lambda: sample_next(torch.tensor([[0.0, -INF, 5.0]]), temperature=0),
   lambda out: out.tolist() == [[2]])
error(A1, "samplers top_k_filter NaN", lambda: top_k_filter(torch.tensor([[1.0, NAN, 2.0, 3.0]]), 2), "NaN")
error(A1, "samplers top_p_filter NaN", lambda: top_p_filter(torch.tensor([[1.0, NAN, 2.0, 3.0]]), 0.9), "NaN")
error(A1, "samplers top_p_filter all -inf", lambda: top_p_filter(torch.tensor([[-INF, -INF]]), 0.9), "all -inf")
error(A1, "samplers top_k_filter k=0", lambda: top_k_filter(torch.tensor([[1.0, 2.0]]), 0), "top_k")
ok(A1, "samplers top_k_filter k > V", lambda: top_k_filter(torch.tensor([[1.0, 2.0, 3.0]]), 10),
   lambda out: out.tolist() == [[1.0, 2.0, 3.0]])
ok(A1, "samplers top_k_filter ties keep exactly k", lambda: top_k_filter(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), 2),
   lambda out: int(torch.isfinite(out).sum()) == 2)
ok(A1, "samplers top_p_filter p=1e-9 keeps argmax", lambda: top_p_filter(torch.tensor([[1.0, 5.0, 2.0]]), 1e-9),
   lambda out: out.tolist() == [[-INF, 5.0, -INF]])
ok(A1, "samplers sample_next 1-D logits", lambda: sample_next(torch.tensor([1.0, 2.0])), lambda out: tuple(out.shape) == (1,))
error(A1, "samplers sample_next integer logits", lambda: sample_next(torch.tensor([[1, 2]]), temperature=0), "floating-point")
error(A1, "samplers sample_next empty vocab", lambda: sample_next(torch.zeros(1, 0)), "no entries")

tok = mg.gpt2_tokenizer
ok(A1, "tokenizer gpt2 encode('')", lambda: tok().encode(""), lambda out: out == [])
error(A1, "tokenizer gpt2 encode('<|endoftext|>')", lambda: tok().encode("<|endoftext|>"), "allowed_special")
error(A1, "tokenizer gpt2 encode(bytes)", lambda: tok().encode(b"abc"), "encode needs a str")
ok(A1, "tokenizer gpt2 lone surrogate", lambda: tok().decode(tok().encode("a\udcffb")), lambda out: out.startswith("a"))
error(A1, "tokenizer gpt2 decode([50257])", lambda: tok().decode([50257]), "outside 0..50256")
error(A1, "tokenizer gpt2 decode([-1])", lambda: tok().decode([-1]), "outside 0..50256")
ok(A1, "tokenizer gpt2 decode partial UTF-8", lambda: tok().decode([tok().encode("ế")[0]]), lambda out: isinstance(out, str))
ok(A1, "tokenizer gpt2 decode(tensor)", lambda: tok().decode(torch.tensor([464, 3290])), lambda out: out == tok().decode([464, 3290]))
error(A1, "tokenizer gpt2 decode(2-D tensor)", lambda: tok().decode(torch.tensor([[1, 2]])), "1-D")
char = mg.CharTokenizer.from_text("abcdefgh")
error(A1, "tokenizer Char from_text('')", lambda: mg.CharTokenizer.from_text(""), "at least one character")
error(A1, "tokenizer Char(None)", lambda: mg.CharTokenizer(None), "str")
error(A1, "tokenizer Char from bytes", lambda: mg.CharTokenizer(b"abc"), "str")
error(A1, "tokenizer Char encode unseen", lambda: char.encode("z"), "'z'")
error(A1, "tokenizer Char decode out of range", lambda: char.decode([99]), "outside")
error(A1, "tokenizer Char decode negative", lambda: char.decode([-1]), "outside")
error(A1, "tokenizer Char decode floats", lambda: char.decode([1.7]), "integer")
error(A1, "tokenizer Char decode 2-D tensor", lambda: char.decode(torch.tensor([[0, 1]])), "1-D")
error(A1, "tokenizer Char encode(bytes)", lambda: char.encode(b"ab"), "str")
ok(A1, "tokenizer Char lone surrogate text", lambda: mg.CharTokenizer.from_text("\udcff").encode("\udcff"), lambda out: out == [0])

for name in ("nope", "", None):
    error(A1, f"data load_corpus({name!r})", lambda n=name: mg.load_corpus(n), "Unknown corpus")
T20 = torch.arange(20)
error(A1, "data train_val_split frac=0", lambda: mg.train_val_split(T20, 0.0), "val_fraction")
error(A1, "data train_val_split frac=nan", lambda: mg.train_val_split(T20, NAN), "val_fraction")
error(A1, "data train_val_split 2-D", lambda: mg.train_val_split(T20.view(4, 5)), "1-D")
ok(A1, "data train_val_split empty", lambda: mg.train_val_split(torch.zeros(0, dtype=torch.long)), lambda out: len(out[0]) == 0)
ok(A1, "data train_val_split 3 tokens", lambda: mg.train_val_split(torch.arange(3), 0.1), lambda out: (len(out[0]), len(out[1])) == (2, 1))
for desc, fn, pattern in [
    ("SlidingWindow seq_len=len", lambda: mg.SlidingWindowDataset(T20, 20), "too few"),
    ("SlidingWindow seq_len=0", lambda: mg.SlidingWindowDataset(T20, 0), "seq_len"),
    ("SlidingWindow stride=0", lambda: mg.SlidingWindowDataset(T20, 4, stride=0), "stride"),
    ("SlidingWindow seq_len=2.5", lambda: mg.SlidingWindowDataset(T20, 2.5), "seq_len"),
    ("SlidingWindow float tokens", lambda: mg.SlidingWindowDataset(torch.tensor([1.7, 2.2, 3.9, 0.5, 1.0, 2.0]), 2), "integer"),
    ("SlidingWindow 2-D tokens", lambda: mg.SlidingWindowDataset(T20.view(4, 5), 2), "1-D"),
    ("SlidingWindow index out of range", lambda: mg.SlidingWindowDataset(T20, 4)[99], "out of range"),
    ("get_batch seq_len=len", lambda: mg.get_batch(T20, 2, 20), "too few"),
    ("get_batch seq_len=len+5", lambda: mg.get_batch(T20, 2, 25), "too few"),
    ("get_batch batch_size=-1", lambda: mg.get_batch(T20, -1, 4), "batch_size"),
    ("get_batch 2-D tokens", lambda: mg.get_batch(T20.view(4, 5), 2, 2), "1-D"),
    ("get_batch seq_len=0", lambda: mg.get_batch(T20, 2, 0), "seq_len"),
    ("get_batch empty tokens", lambda: mg.get_batch(torch.zeros(0, dtype=torch.long), 2, 4), "too few"),
    ("CompactVocab unseen id", lambda: mg.CompactVocab([5, 3]).compact([7]), "does not occur"),
    ("CompactVocab expand out of range", lambda: mg.CompactVocab([5, 3, 6]).expand([3]), "0..2"),
    ("CompactVocab expand negative", lambda: mg.CompactVocab([5, 3, 6]).expand([-1]), "0..2"),
    ("CompactVocab compact float ids [5.9]", lambda: mg.CompactVocab([5, 3, 6]).compact([5.9]), "integer"),
]:
    error(A1, f"data {desc}", fn, pattern)
ok(A1, "data SlidingWindow from list", lambda: mg.SlidingWindowDataset([0, 1, 2, 3, 4], 3)[0],
   lambda out: out[0].tolist() == [0, 1, 2] and out[1].tolist() == [1, 2, 3])
ok(A1, "data get_batch seq_len=len-1", lambda: mg.get_batch(T20, 2, 19), lambda out: tuple(out[0].shape) == (2, 19))
ok(A1, "data get_batch batch_size=0", lambda: mg.get_batch(T20, 0, 4), lambda out: tuple(out[0].shape) == (0, 4))
ok(A1, "data get_batch tokens as list", lambda: mg.get_batch(list(range(20)), 2, 4), lambda out: torch.equal(out[1], out[0] + 1))
ok(A1, "data get_batch tokens as numpy", lambda: mg.get_batch(np.arange(20), 2, 4), lambda out: torch.equal(out[1], out[0] + 1))
ok(A1, "data CompactVocab([]).compact([]) dtype", lambda: mg.CompactVocab([]).compact([]), lambda out: out.dtype == torch.long)
ok(A1, "data CompactVocab round trip", lambda: mg.CompactVocab([9, 100, 5]).expand(mg.CompactVocab([9, 100, 5]).compact([[9, 100], [5, 5]])),
   lambda out: out.tolist() == [[9, 100], [5, 5]])
ok(A1, "data CompactVocab compact (2,0)", lambda: mg.CompactVocab([1]).compact(torch.zeros(2, 0, dtype=torch.long)),
   lambda out: tuple(out.shape) == (2, 0) and out.dtype == torch.long)

error(A1, "config-huge GPT(vocab_size=10**10)", lambda: GPT(small(vocab_size=10**10, n_embd=64, n_head=1)), "memory")
error(A1, "config-huge GPT(block_size=10**9)", lambda: GPT(small(block_size=10**9, n_embd=64, n_head=1)), "memory")
error(A1, "config-huge GPT(n_layer=10**6)", lambda: GPT(small(n_layer=10**6, n_embd=64, n_head=1)), "memory")
error(A1, "analysis count_parameters('gpt5')", lambda: mg.analysis.count_parameters("gpt5"), "Unknown preset")


def capture(name):
    with mg.analysis.capture_activations(GPT(small()), [name]):
        pass


error(A1, "analysis capture_activations unknown module", lambda: capture("transformer.h.9"), "No module named")
error(A1, "analysis capture_attention(Model1)", lambda: mg.analysis.capture_attention(Model1(small())).__enter__(), "no CausalSelfAttention")


def attention_flags_after_error():
    model = GPT(small())
    try:
        with mg.analysis.capture_attention(model):
            raise RuntimeError("inside")
    except RuntimeError:
        pass
    return [getattr(m, "capture", False) for m in model.modules() if isinstance(m, mg.CausalSelfAttention)]


ok(A1, "analysis capture_attention restores flags after an exception", attention_flags_after_error, lambda flags: not any(flags))
error(A1, "student src == out", lambda: mg.student.write_student_versions("lessons", "lessons", verbose=False), "must differ")
error(A1, "student src without notebooks", lambda: mg.student.write_student_versions(tmpdir(), tmpdir() / "o", verbose=False), "No notebooks")

# ------------------------------------------------------------------------------------------ 2. checkpoints

A2 = "2. Checkpoints"


def checkpoint_file(content: bytes | None = None, mutate=None, **save_kw) -> Path:
    path = tmpdir() / "ck.safetensors"
    save_checkpoint(GPT(small()), path, **save_kw)
    data = path.read_bytes()
    if content is not None:
        path.write_bytes(content)
    elif mutate is not None:
        path.write_bytes(mutate(data))
    return path


def same_logits(a, b) -> bool:
    idx = torch.arange(8)[None] % 50
    with torch.no_grad():
        return torch.allclose(a.eval()(idx), b.eval()(idx), atol=1e-6)


def round_trip():
    model = GPT(small())
    path = save_checkpoint(model, tmpdir() / "ck.safetensors")
    return same_logits(model, load_checkpoint(path))


ok(A2, "load_checkpoint round trip", round_trip, lambda same: same)
for desc, kw in [
    ("truncated (half)", dict(mutate=lambda d: d[: len(d) // 2])), ("truncated by 1 byte", dict(mutate=lambda d: d[:-1])),
    ("zero bytes", dict(content=b"")), ("random bytes", dict(content=os.urandom(2048))),
    ("header length field huge", dict(mutate=lambda d: (2**60).to_bytes(8, "little") + d[8:])),
    ("a pickle as checkpoint", dict(content=b"\x80\x04\x95cos\nsystem\n")),
]:
    error(A2, f"load_checkpoint {desc}", lambda kw=kw: load_checkpoint(checkpoint_file(**kw)), r"ck\.safetensors.*corrupt")


def safetensors_file(state, metadata) -> Path:
    from safetensors.torch import save_file

    path = tmpdir() / "x.safetensors"
    save_file(state, str(path), metadata=metadata)
    return path


def gpt_state(**kw):
    model = GPT(small(**kw))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state.pop("lm_head.weight", None)
    return state


CFG = json.dumps(small().to_dict())
error(A2, "load_checkpoint wrong shapes", lambda: load_checkpoint(safetensors_file(gpt_state(), {"config": json.dumps(small(n_embd=32).to_dict())})), "does not match")
error(A2, "load_checkpoint missing tensor", lambda: load_checkpoint(safetensors_file({k: v for k, v in gpt_state().items() if "c_fc.weight" not in k}, {"config": CFG})), "Missing key")
error(A2, "load_checkpoint extra tensor", lambda: load_checkpoint(safetensors_file({**gpt_state(), "foo": torch.zeros(1)}, {"config": CFG})), "Unexpected key")
error(A2, "load_checkpoint int tensors", lambda: load_checkpoint(safetensors_file({k: v.to(torch.int32) for k, v in gpt_state().items()}, {"config": CFG})), "not floating point")
for desc, meta, pattern in [
    ("metadata n_layer='1'", json.dumps({**small().to_dict(), "n_layer": "1"}), "n_layer"),
    ("metadata unknown key", json.dumps({**small().to_dict(), "n_embed": 16}), "n_embed"),
    ("metadata layer_norm_eps='1e-5'", json.dumps({**small().to_dict(), "layer_norm_eps": "1e-5"}), "layer_norm_eps"),
    ("metadata not JSON", "{not json", "invalid"),
]:
    error(A2, f"load_checkpoint {desc}", lambda m=meta: load_checkpoint(safetensors_file(gpt_state(), {"config": m})), pattern)
error(A2, "load_checkpoint no metadata", lambda: load_checkpoint(safetensors_file(gpt_state(), None)), "no config in its metadata")


def half_checkpoint(dtype):
    path = safetensors_file({k: v.to(dtype) for k, v in gpt_state().items()}, {"config": CFG})
    return load_checkpoint(path)


ok(A2, "load_checkpoint fp16 checkpoint", lambda: half_checkpoint(torch.float16), lambda m: m.transformer.wte.weight.dtype == torch.float32)
ok(A2, "load_checkpoint bf16 checkpoint", lambda: half_checkpoint(torch.bfloat16), lambda m: m.transformer.wte.weight.dtype == torch.float32)


def untied_round_trip():
    model = GPT(small(tie_weights=False))
    return same_logits(model, load_checkpoint(save_checkpoint(model, tmpdir() / "u.safetensors")))


ok(A2, "load_checkpoint untied round trip", untied_round_trip, lambda same: same)
error(A2, "load_checkpoint path does not exist", lambda: load_checkpoint(tmpdir() / "nope.safetensors"), "No checkpoint")
error(A2, "load_checkpoint path is a directory", lambda: load_checkpoint(tmpdir()), "is a folder")
error(A2, "load_checkpoint file written by save_gpt2", lambda: load_checkpoint(save_gpt2(GPT(small()), tmpdir() / "hf") / "model.safetensors"), "load_gpt2")
ok(A2, "save_checkpoint into new nested dirs", lambda: load_checkpoint(save_checkpoint(GPT(small()), tmpdir() / "a" / "b" / "c.safetensors")))
error(A2, "save_checkpoint path is a directory", lambda: save_checkpoint(GPT(small()), tmpdir()), "is a folder")
error(A2, "save_checkpoint Model3", lambda: save_checkpoint(Model3(small()), tmpdir() / "m3.safetensors"), "GPT")
error(A2, "save_checkpoint Model1", lambda: save_checkpoint(Model1(small()), tmpdir() / "m1.safetensors"), "GPT")


def compiled_round_trip():
    model = GPT(small())
    return same_logits(model, load_checkpoint(save_checkpoint(torch.compile(model), tmpdir() / "c.safetensors")))


ok(A2, "save_checkpoint torch.compile'd GPT", compiled_round_trip, lambda same: same, limit=120)


def shared_by_hand():
    model = GPT(small(tie_weights=False))
    model.lm_head.weight = model.transformer.wte.weight
    return save_checkpoint(model, tmpdir() / "s.safetensors")


error(A2, "save_checkpoint untied config, weights shared by hand", shared_by_hand, "share memory")


def nan_weights_saved():
    model = GPT(small())
    with torch.no_grad():
        model.transformer.wte.weight.fill_(NAN)
    return load_checkpoint(save_checkpoint(model, tmpdir() / "n.safetensors"))


ok(A2, "save_checkpoint model with NaN weights (saved as is)", nan_weights_saved, lambda m: torch.isnan(m.transformer.wte.weight).all())


def hf_dir(model=None, dtype=None) -> Path:
    return save_gpt2(model or GPT(small()), tmpdir() / "hf", dtype=dtype)


def hf_round_trip(dtype=None, tie=True):
    model = GPT(small(tie_weights=tie)).eval()
    return same_logits(model, load_gpt2(hf_dir(model, dtype))) if dtype is None else load_gpt2(hf_dir(model, dtype))


ok(A2, "load_gpt2/save_gpt2 round trip", hf_round_trip, lambda same: same)


def damaged_hf(mutate) -> Path:
    path = hf_dir()
    weights = path / "model.safetensors"
    weights.write_bytes(mutate(weights.read_bytes()))
    return path


for desc, mutate in [("truncated", lambda d: d[: len(d) // 2]), ("zero-byte", lambda d: b""), ("random-byte", lambda d: os.urandom(2048))]:
    error(A2, f"load_gpt2 {desc} model.safetensors", lambda m=mutate: load_gpt2(damaged_hf(m)), "corrupt or truncated")


def pickle_bin(legit: bool):
    path = tmpdir() / "hf"
    path.mkdir()
    (path / "config.json").write_text((hf_dir() / "config.json").read_text())
    if legit:
        from safetensors.torch import load_file

        torch.save(load_file(hf_dir() / "model.safetensors"), path / "pytorch_model.bin")
    else:
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch /tmp/probe-pwned",))

        torch.save({"x": Evil()}, path / "pytorch_model.bin", _use_new_zipfile_serialization=True)
    return load_gpt2(path)


error(A2, "load_gpt2 malicious pytorch_model.bin", lambda: pickle_bin(False), "corrupt or truncated|Weights only")
ok(A2, "load_gpt2 -> payload not executed", lambda: os.path.exists("/tmp/probe-pwned"), lambda ran: ran is False)
ok(A2, "load_gpt2 legit pytorch_model.bin", lambda: pickle_bin(True))


def edited_hf(tie=True, **changes) -> GPT:
    path = hf_dir(GPT(small(tie_weights=tie)))
    config = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        if value is KeyError:
            config.pop(key)
        else:
            config[key] = value
    (path / "config.json").write_text(json.dumps(config))
    return load_gpt2(path)


for changes, pattern in [
    (dict(n_embd=32), "does not match"), (dict(n_embd="16"), "n_embd"), (dict(n_layer=1.0), "n_layer"),
    (dict(vocab_size=None), "vocab_size"), (dict(n_positions=None), "block_size"), (dict(layer_norm_epsilon="1e-5"), "layer_norm"),
    (dict(n_inner="abc"), "n_inner"), (dict(model_type="llama"), "only GPT-2"), (dict(activation_function="relu"), "activation"),
    (dict(tie_word_embeddings="false"), "tie_word_embeddings"), (dict(n_head=3), "divisible"), (dict(n_embd=KeyError), "lacks n_embd"),
]:
    error(A2, f"load_gpt2 config.json {changes}", lambda c=changes: edited_hf(**c), pattern)
error(A2, "load_gpt2 untied + tie_word_embeddings='false'", lambda: edited_hf(tie=False, tie_word_embeddings="false"), "tie_word_embeddings")
ok(A2, "load_gpt2 config.json layer_norm_epsilon=1e-3 honoured", lambda: edited_hf(layer_norm_epsilon=1e-3),
   lambda m: m.config.layer_norm_eps == 1e-3)
ok(A2, "load_gpt2 fp16 export", lambda: hf_round_trip(torch.float16), lambda m: m.transformer.wte.weight.dtype == torch.float32)
ok(A2, "load_gpt2 bf16 export", lambda: hf_round_trip(torch.bfloat16), lambda m: m.transformer.wte.weight.dtype == torch.float32)
error(A2, "save_gpt2 dtype=int8", lambda: hf_dir(dtype=torch.int8), "dtype must be one of")


def bad_config_text(text: bytes):
    path = hf_dir()
    (path / "config.json").write_bytes(text)
    return load_gpt2(path)


error(A2, "load_gpt2 config.json is a list", lambda: bad_config_text(b"[1, 2]"), "JSON object")
error(A2, "load_gpt2 config.json invalid JSON", lambda: bad_config_text(b"{not json"), "not valid JSON")
error(A2, "load_gpt2 config.json not UTF-8", lambda: bad_config_text(b"\xff\xfe"), "not valid JSON")


def no_weights():
    path = hf_dir()
    (path / "model.safetensors").unlink()
    return load_gpt2(path)


error(A2, "load_gpt2 no weights file", no_weights, "no weights file")
error(A2, "load_gpt2 nonexistent absolute path", lambda: load_gpt2(tmpdir() / "does_not_exist"), "is not a folder")
error(A2, "load_gpt2 nonexistent ./relative", lambda: load_gpt2("./does_not_exist"), "is not a folder")


def offline_name(name):
    os.chdir(tmpdir())
    return load_gpt2(name)


error(A2, "load_gpt2 bare name 'my_finetune' offline", lambda: offline_name("my_finetune"), "is not a folder")
error(A2, "load_gpt2 'runs/ckpt' offline", lambda: offline_name("runs/ckpt"), "is not a folder")
ok(A2, "load_gpt2 'gpt2-xl' offline -> bundled with notice", lambda: load_gpt2("gpt2-xl"), lambda m: m.config.n_embd == 64)
error(A2, "load_gpt2 'gpt2' offline strict", lambda: load_gpt2("gpt2", strict=True), "offline mode")
error(A2, "load_gpt2 path is a file", lambda: load_gpt2(hf_dir() / "config.json"), "not a directory")
error(A2, "save_gpt2 Model3", lambda: save_gpt2(Model3(small()), tmpdir()), "GPT")
error(A2, "save_gpt2 bias=False", lambda: save_gpt2(GPT(small(bias=False)), tmpdir()), "biases")


def save_gpt2_onto_file():
    target = tmpdir() / "good.safetensors"
    target.write_bytes(b"x")
    return save_gpt2(GPT(small()), target)


error(A2, "save_gpt2 target is an existing file", save_gpt2_onto_file, "exists")
if os.geteuid() != 0:  # root reads any file: the permission rows need an ordinary user
    def unreadable(kind):
        path = save_checkpoint(GPT(small()), tmpdir() / "ck.safetensors")
        path.chmod(0)
        return load_checkpoint(path)

    error(A2, "permissions load_checkpoint unreadable file", lambda: unreadable("ck"), "permission denied")


def failing_export_step(module, name):
    import importlib

    path = hf_dir()
    owner = importlib.import_module(module)
    original = getattr(owner, name)
    calls = {"n": 0}

    def fail(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device (simulated)")
        return original(*a, **k)

    setattr(owner, name, fail)
    try:
        save_gpt2(GPT(small(n_embd=32)), path)
    except OSError:
        pass
    finally:
        setattr(owner, name, original)
    return load_gpt2(path), sorted(p.name for p in path.iterdir())


for module, name in [("os", "replace"), ("os", "fsync")]:
    ok(A2, f"atomic save_gpt2: second {module}.{name} fails -> old export loads", lambda m=module, n=name: failing_export_step(m, n),
       lambda out: out[0].config.n_embd == 16 and out[1] == ["config.json", "model.safetensors"])


def failing_config_write():
    import pathlib

    path = hf_dir()
    original = pathlib.Path.write_text

    def fail(self, *a, **k):
        raise OSError(28, "No space left on device (simulated)")

    pathlib.Path.write_text = fail
    try:
        save_gpt2(GPT(small(n_embd=32)), path)
    except OSError:
        pass
    finally:
        pathlib.Path.write_text = original
    return load_gpt2(path)


ok(A2, "atomic save_gpt2: config.json write fails -> old export loads", failing_config_write, lambda m: m.config.n_embd == 16)


def failing_checkpoint():
    import minigpt_lib.training as training

    path = save_checkpoint(GPT(small()), tmpdir() / "ck.safetensors")
    original = training.save_file
    training.save_file = lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device (simulated)"))
    try:
        save_checkpoint(GPT(small(n_embd=32)), path)
    except OSError:
        pass
    finally:
        training.save_file = original
    return load_checkpoint(path), sorted(p.name for p in path.parent.iterdir())


ok(A2, "atomic save_checkpoint: write fails -> old checkpoint loads", failing_checkpoint,
   lambda out: out[0].config.n_embd == 16 and out[1] == ["ck.safetensors"])


def permissions():
    import stat

    os.umask(0o022)
    path = save_checkpoint(GPT(small()), tmpdir() / "ck.safetensors")
    export = hf_dir()
    return [stat.S_IMODE(p.stat().st_mode) for p in (path, export / "model.safetensors", export / "config.json")]


ok(A2, "permissions of written files (umask 022)", permissions, lambda modes: modes == [0o644] * 3)

# ------------------------------------------------------------------------------------------ 3. shipped data

A3 = "3. Shipped data"


def data_copy() -> Path:
    """Point the library at a private copy of its data (this child process only)."""
    import minigpt_lib.pretrained as pretrained

    copy = tmpdir() / "data"
    shutil.copytree(files.DATA_DIR, copy)
    files.DATA_DIR = pretrained.DATA_DIR = copy
    files._VERIFIED.clear()
    return copy


def tamper(name, edit, then):
    path = data_copy() / name
    edit(path)
    return then()


def flip_bit(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def edit_json(**changes):
    return lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


ok(A3, "baseline corpus", lambda: tamper("timemachine.txt", lambda p: None, lambda: mg.load_corpus("timemachine")), lambda t: len(t) > 100_000)
ok(A3, "baseline bundled model", lambda: tamper("bundled-gpt2-tiny/config.json", lambda p: None, load_bundled), lambda m: m.config.n_layer == 4)
for name, edit, then in [
    ("timemachine.txt", lambda p: p.write_bytes(p.read_bytes() + b"x"), lambda: mg.load_corpus("timemachine")),
    ("tinyshakespeare.txt", flip_bit, lambda: mg.load_corpus("tinyshakespeare")),
    ("truyen_kieu.txt", lambda p: p.write_bytes(b""), lambda: mg.load_corpus("truyen_kieu")),
    ("truyen_kieu.txt", lambda p: p.write_bytes(b"\xff\xfe"), lambda: mg.load_corpus("truyen_kieu")),
    ("gpt2.tiktoken", lambda p: p.write_bytes(p.read_bytes()[:-40]), lambda: mg.tokenizer.load_ranks()),
    ("bundled-gpt2-tiny/model.safetensors", flip_bit, load_bundled),
    ("bundled-gpt2-tiny/model.safetensors", lambda p: p.write_bytes(p.read_bytes()[:1000]), load_bundled),
    ("bundled-gpt2-tiny/model.safetensors", flip_bit, lambda: load_gpt2("gpt2")),
    ("bundled-gpt2-tiny/config.json", edit_json(layer_norm_epsilon=0.1), load_bundled),
    ("bundled-gpt2-tiny/config.json", edit_json(n_layer=3), load_bundled),
    ("bundled-gpt2-tiny/config.json", edit_json(n_head=2), load_bundled),
    ("bundled-gpt2-tiny/config.json", edit_json(tie_word_embeddings=False), load_bundled),
    ("reference_timings.json", lambda p: p.write_text('{"tampered": 1}'), mg.device.reference_timings),
]:
    error(A3, f"{name}: {getattr(edit, '__name__', 'edited')}", lambda n=name, e=edit, t=then: tamper(n, e, t), "corrupt or was changed")
for name, then in [("truyen_kieu.txt", lambda: mg.load_corpus("truyen_kieu")), ("gpt2.tiktoken", lambda: mg.tokenizer.load_ranks()),
                   ("bundled-gpt2-tiny/model.safetensors", load_bundled), ("bundled-gpt2-tiny/config.json", load_bundled)]:
    error(A3, f"{name} deleted", lambda n=name, t=then: tamper(n, lambda p: p.unlink(), t), "missing")


def changed_after_first_read():
    copy = data_copy()
    mg.load_corpus("timemachine")
    (copy / "timemachine.txt").write_text("tampered", encoding="utf-8")
    return mg.load_corpus("timemachine")


error(A3, "corpus changed after first verified read", changed_after_first_read, "corrupt or was changed")

# ------------------------------------------------------------------------------------------ 5. offline / network

A5 = "5. Offline / network"


def with_hub(endpoint: str, name="gpt2", **kw):
    import huggingface_hub.constants as constants

    os.environ.pop("HF_HUB_OFFLINE", None)
    constants.HF_HUB_OFFLINE = False
    constants.ENDPOINT = endpoint
    os.environ["MINIGPT_CACHE"] = str(tmpdir())
    constants.HF_HUB_CACHE = str(tmpdir())
    os.chdir(tmpdir())
    out = tempfile.TemporaryFile("w+")
    saved, sys.stdout = sys.stdout, out
    try:
        model = load_gpt2(name, **kw)
    finally:
        sys.stdout = saved
    out.seek(0)
    return model, out.read()


def silent_server() -> str:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in iter(int, 1)], daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def status_server(status: int) -> str:
    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = answer

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def refused() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


ok(A5, "load_gpt2 connection refused, timeout=10 -> bundled, names it", lambda: with_hub(refused(), timeout=10),
   lambda out: out[0].config.n_embd == 64 and "không kết nối được" in out[1])
ok(A5, "load_gpt2 hub accepts TCP, never answers, timeout=10", lambda: with_hub(silent_server(), timeout=10),
   lambda out: out[0].config.n_embd == 64 and "không trả lời trong 10 giây" in out[1], limit=40)
ok(A5, "load_gpt2 hub never answers, timeout=2", lambda: with_hub(silent_server(), timeout=2),
   lambda out: out[0].config.n_embd == 64 and "không trả lời trong 2 giây" in out[1], limit=40)
ok(A5, "load_gpt2 hub answers HTTP 500", lambda: with_hub(status_server(500), timeout=10),
   lambda out: out[0].config.n_embd == 64 and "HTTP 500" in out[1], limit=40)
ok(A5, "load_gpt2 hub answers 404 for 'gpt2' (says so, not 'no network')", lambda: with_hub(status_server(404), timeout=10),
   lambda out: out[0].config.n_embd == 64 and "không có kho" in out[1], limit=40)
error(A5, "load_gpt2 hub answers 404 for 'gpt-2'", lambda: with_hub(status_server(404), name="gpt-2", timeout=10), "nor a model on the Hugging Face hub", limit=40)
error(A5, "load_gpt2 hub answers 401 for an unknown repo", lambda: with_hub(status_server(401), name="someone/unknown", timeout=10), "nor a model on the Hugging Face hub", limit=40)
error(A5, "load_gpt2 hub never answers, strict", lambda: with_hub(silent_server(), strict=True, timeout=2), "no answer within 2 s", limit=40)
error(A5, "load_gpt2 DNS name that does not resolve (.invalid)", lambda: with_hub("http://hub.invalid", strict=True, timeout=10), "resolve|no answer", limit=40)

# ------------------------------------------------------------------------------------------ 6. training

A6 = "6. Training & determinism"
CONF6 = GPTConfig(vocab_size=32, block_size=16, n_layer=1, n_head=2, n_embd=32, dropout=0.1)


def batches(seed=0):
    tokens = torch.arange(2000) % 32
    g = torch.Generator().manual_seed(seed)
    return lambda split: mg.get_batch(tokens, 8, 16, generator=g)


def run(seed=0, steps=6, **kw):
    torch.manual_seed(seed)
    model = GPT(CONF6)
    history = train(model, batches(seed), steps=steps, progress=False, **kw)
    return model, history


ok(A6, "determinism same seed twice", lambda: run()[1].train_loss == run()[1].train_loss, lambda same: same)
ok(A6, "determinism different seed differs", lambda: run(0)[1].train_loss != run(1)[1].train_loss, lambda differ: differ)
for kw, pattern in [
    (dict(steps=0), "steps"), (dict(steps=2.5), "steps"), (dict(lr=-1), "lr"), (dict(weight_decay=-0.1), "weight_decay"),
    (dict(lr=NAN), "lr"), (dict(eval_every=5, eval_iters=0), "eval_iters"), (dict(grad_clip=0), "grad_clip"),
]:
    error(A6, f"train {kw}", lambda kw=kw: run(**kw), pattern)
error(A6, "train lr=1e3 diverges", lambda: run(steps=30, lr=1e3, grad_clip=None), "diverged.*smaller lr")


def float_batches():
    model = GPT(CONF6)
    return train(model, lambda split: (torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.long)), steps=2, progress=False)


error(A6, "train get_batch returns float x", float_batches, "integer")


def logits_only():
    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(32, 32)

        def forward(self, idx):
            return self.emb(idx)

    return train(LogitsOnly(), batches(), steps=2, progress=False)


error(A6, "train model without targets", logits_only, "does not take targets")


def ctrl_c():
    inner, calls = batches(), {"n": 0}

    def interrupted(split):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return inner(split)

    out = tempfile.TemporaryFile("w+")
    saved, sys.stdout = sys.stdout, out
    try:
        train(GPT(CONF6), interrupted, steps=10, progress=False)
    except KeyboardInterrupt as err:
        return err.history
    finally:
        sys.stdout = saved


ok(A6, "train Ctrl-C keeps the history", ctrl_c, lambda h: isinstance(h, History) and len(h.train_loss) == 3)
error(A6, "estimate_loss eval_iters=0", lambda: estimate_loss(GPT(CONF6), batches(), 0), "eval_iters")

NOT_REPLAYED = {
    A1: "kv_cache reused with another batch size; meta-device ids (torch errors, unchanged)",
    A2: "SIGKILL mid-write; disk full on a tmpfs; permission rows as root; device='cuda' on CPU",
    A5: "black-holed network (packets dropped); fast suite and lessons under unshare -n",
    A6: "determinism across processes and thread counts",
}


# ------------------------------------------------------------------------------------------ running


def _child(index: int, conn) -> None:
    area, name, fn, (kind, spec), _ = PROBES[index]
    try:
        value = fn()
    except BaseException as err:  # noqa: BLE001 - the probe classifies every exception
        message = f"{type(err).__name__}: {err}"
        if kind == "error" and re.search(spec, str(err), flags=re.S):
            conn.send(("clear error", message))
        else:
            conn.send(("raw traceback", message + "\n" + traceback.format_exc(limit=3)[-600:]))
        return
    if kind == "error":
        conn.send(("silent wrong", f"returned {type(value).__name__} instead of an error"))
        return
    try:
        good = bool(spec(value))
    except Exception as err:  # noqa: BLE001
        good, value = False, f"check failed: {err}"
    conn.send(("correct result" if good else "silent wrong", repr(value)[:200]))


def run_probe(index: int) -> tuple[str, str, float]:
    limit = PROBES[index][4]
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    start = time.monotonic()
    process = ctx.Process(target=_child, args=(index, child))
    process.start()
    child.close()
    ready = parent.poll(limit)
    elapsed = time.monotonic() - start
    if not ready:
        process.kill()
        process.join()
        return "hang", f"no outcome within {limit:g} s", elapsed
    try:
        outcome, detail = parent.recv()
    except EOFError:
        outcome, detail = "raw traceback", f"the child died (exit code {process.exitcode})"
    process.join(5)
    if process.is_alive():
        process.kill()
    return outcome, detail, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="one line per probe")
    parser.add_argument("--only", default=None, help="run only probes whose name contains this text")
    args = parser.parse_args()
    counts: dict[str, Counter] = defaultdict(Counter)
    bad = []
    for i, (area, name, *_rest) in enumerate(PROBES):
        if args.only and args.only not in name:
            continue
        outcome, detail, elapsed = run_probe(i)
        counts[area][outcome] += 1
        if args.verbose:
            print(f"{area[:2]} {outcome:14} {elapsed:6.1f}s  {name}  | {detail.splitlines()[0][:140] if detail else ''}")
        if outcome in ("silent wrong", "raw traceback", "hang"):
            bad.append((area, name, outcome, detail))
    header = ["area", "tried", *CLASSES]
    rows = [[area, sum(c.values()), *(c[k] for k in CLASSES)] for area, c in sorted(counts.items())]
    rows.append(["**all**", *(sum(r[i] for r in rows) for i in range(1, len(header)))])
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    print("\nNot replayed:", "; ".join(f"{a[:2]} {t}" for a, t in NOT_REPLAYED.items()))
    for area, name, outcome, detail in bad:
        print(f"\n[{outcome}] {area} / {name}\n    {detail[:600]}")


if __name__ == "__main__":
    main()
