"""CPU benchmarks of the library, each figure a ratio measured side by side in one run.

    .venv/bin/python benchmarks/run.py                # library figures (a few minutes)
    .venv/bin/python benchmarks/run.py --lessons      # also the execution time of every lesson (one thread)

Writes benchmarks/results/cpu.json, which the book's "Đo tốc độ" page shows. Never run by the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from minigpt_lib import GPT, GPTConfig, causal_attention, generate, time_it  # noqa: E402
from minigpt_lib.lessons import LESSONS  # noqa: E402
from minigpt_lib.training import make_optimizer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cpu.json"
CONFIG = GPTConfig(vocab_size=50257, block_size=512, n_layer=4, n_head=4, n_embd=256)


def training_step(model, idx, optimizer, hf: bool) -> None:
    loss = model(idx, labels=idx).loss if hf else model(idx, idx)[1]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def gpt_vs_transformers(batch: int = 4, T: int = 128) -> dict:
    """Training steps per second of our GPT and of transformers' GPT2LMHeadModel, same configuration."""
    import transformers

    hf_config = transformers.GPT2Config(
        vocab_size=CONFIG.vocab_size, n_positions=CONFIG.block_size, n_embd=CONFIG.n_embd, n_layer=CONFIG.n_layer,
        n_head=CONFIG.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )
    torch.manual_seed(0)
    ours, theirs = GPT(CONFIG), transformers.GPT2LMHeadModel(hf_config)
    idx = torch.randint(0, CONFIG.vocab_size, (batch, T))
    opt_ours = make_optimizer(ours, 1e-4, 0.1, torch.device("cpu"))
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-4)
    t_ours, t_theirs = [], []
    for _ in range(3):  # interleaved, so that both see the same machine state
        t_ours.append(time_it(lambda: training_step(ours, idx, opt_ours, False), repeats=3, warmup=1))
        t_theirs.append(time_it(lambda: training_step(theirs, idx, opt_theirs, True), repeats=3, warmup=1))
    ours_s, theirs_s = min(t_ours), min(t_theirs)
    return {"config": CONFIG.to_dict(), "batch": batch, "seq_len": T, "ours_step_s": ours_s,
            "transformers_step_s": theirs_s, "ratio": theirs_s / ours_s, "goal": ">= 1.0"}


def kv_cache_speedup(new_tokens: int = 256, prompt: int = 16) -> dict:
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    idx = torch.randint(0, CONFIG.vocab_size, (1, prompt))
    start = time.perf_counter()
    with_cache = generate(model, idx, new_tokens, temperature=0, use_cache=True)
    cached_s = time.perf_counter() - start
    start = time.perf_counter()
    without = generate(model, idx, new_tokens, temperature=0, use_cache=False)
    uncached_s = time.perf_counter() - start
    assert torch.equal(with_cache, without), "the KV cache must not change greedy tokens"
    return {"new_tokens": new_tokens, "prompt": prompt, "cached_tokens_per_s": new_tokens / cached_s,
            "uncached_tokens_per_s": new_tokens / uncached_s, "speedup": uncached_s / cached_s, "goal": ">= 5"}


def sdpa_vs_manual(lengths=(128, 512, 1024), batch: int = 4, heads: int = 4, d: int = 64) -> list[dict]:
    rows = []
    for T in lengths:
        q, k, v = (torch.randn(batch, heads, T, d) for _ in range(3))
        torch.testing.assert_close(causal_attention(q, k, v)[0], F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                   atol=1e-5, rtol=1e-4)
        manual = time_it(lambda q=q, k=k, v=v: causal_attention(q, k, v), repeats=5)
        sdpa = time_it(lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True), repeats=5)
        rows.append({"seq_len": T, "manual_s": manual, "sdpa_s": sdpa, "speedup": manual / sdpa})
    return rows


def cpu_mfu(batch: int = 4, T: int = 128) -> dict:
    """Model FLOP/s of a training step against the peak float32 matmul rate measured now, on this CPU."""
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    peak = 2 * n**3 / time_it(lambda: a @ b, repeats=10, warmup=3)
    torch.manual_seed(0)
    model = GPT(CONFIG)
    optimizer = make_optimizer(model, 1e-4, 0.1, torch.device("cpu"))
    idx = torch.randint(0, CONFIG.vocab_size, (batch, T))
    step_s = time_it(lambda: training_step(model, idx, optimizer, False), repeats=3, warmup=1)
    flops_per_token = 6 * model.num_parameters(exclude_embeddings=True) + 12 * CONFIG.n_layer * CONFIG.n_embd * T
    achieved = flops_per_token * batch * T / step_s
    return {"peak_matmul_gflops": peak / 1e9, "achieved_gflops": achieved / 1e9, "mfu": achieved / peak,
            "threads": torch.get_num_threads()}


def lesson_times() -> list[dict]:
    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jupyter = Path(sys.executable).parent / "jupyter"
    for stem, _ in LESSONS:
        path = ROOT / "lessons" / f"{stem}.ipynb"
        start = time.perf_counter()
        result = subprocess.run(
            [str(jupyter), "nbconvert", "--to", "notebook", "--execute", "--stdout", str(path)],
            env=env, capture_output=True, text=True, cwd=ROOT / "lessons",
        )
        rows.append({"lesson": stem, "seconds": time.perf_counter() - start, "ok": result.returncode == 0})
        print(f"{stem}: {rows[-1]['seconds']:.1f} s {'ok' if rows[-1]['ok'] else 'FAILED'}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", action="store_true", help="also time every lesson (one thread)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    record = {
        "date": datetime.date.today().isoformat(), "torch": torch.__version__, "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} thread(s) used",
        "gpt_vs_transformers": gpt_vs_transformers(),
        "kv_cache": kv_cache_speedup(),
        "sdpa_vs_manual": sdpa_vs_manual(),
        "cpu_mfu": cpu_mfu(),
        "lessons": lesson_times() if args.lessons else previous.get("lessons", []),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in record.items() if k != "lessons"}, indent=2))


if __name__ == "__main__":
    main()
