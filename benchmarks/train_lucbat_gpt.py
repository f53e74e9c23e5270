"""Train the two small GPTs of lesson 33 on *Truyện Kiều*: one on characters, one on our own BPE tokens.

Reproduce them with (each run about 25 minutes on one CPU thread of a busy machine; far less on a GPU)::

    OMP_NUM_THREADS=1 python benchmarks/train_lucbat_gpt.py --tokenizer char
    OMP_NUM_THREADS=1 python benchmarks/train_lucbat_gpt.py --tokenizer bpe
    OMP_NUM_THREADS=1 python benchmarks/train_lucbat_gpt.py --evaluate      # the stored results of lesson 33

What it does
------------
* Data: the poem's first 90 % of lines train, the last 10 % validate (split at a couplet boundary).
* Tokenizers: ``CharTokenizer`` over the poem's characters, or ``minigpt_lib.bpe.train_bpe`` on the training
  lines (vocabulary 2,000 = 256 bytes + 1,744 merges: about 3 characters, or 1.5 tokens per syllable).
* Equal compute: the same ``GPT`` (3 blocks, 4 heads, width 96, dropout 0.1) with the same batch shape
  (12 sequences x 128 tokens) and the same number of steps (900), so both models do nearly the same arithmetic
  (only the embedding and the output layer differ in size); the BPE model just reads about 3 times more text per
  token. The weights with the best validation loss are kept.
* Output: ``minigpt_lib/data/lucbat_gpt/{char,bpe}.safetensors`` (float16, the config and the tokenizer in the
  metadata), and the training report ``benchmarks/results/lucbat_gpt_{char,bpe}.json``. The sha256 of each
  model goes into ``minigpt_lib._files.SHA256`` (the script prints it).
* ``--evaluate``: for each model, the untrained model and a character bigram, sample couplets at several
  temperatures, score them with the lục bát checker, measure what is copied from the poem, and write
  ``minigpt_lib/data/lucbat_gpt/results.json``, which lesson 33 shows beside its own smaller live sample.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from minigpt_lib import GPT, GPTConfig
from minigpt_lib import lucbat_gpt as lg
from minigpt_lib._files import sha256_of
from minigpt_lib.training import lr_at, make_optimizer

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokenizer", choices=("char", "bpe"), default="char")
    p.add_argument("--evaluate", action="store_true", help="score the shipped models, write results.json")
    p.add_argument("--steps", type=int, default=900)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--block-size", type=int, default=128)
    p.add_argument("--n-layer", type=int, default=3)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=96)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr", type=float, default=3e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batches", type=int, default=4)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--bpe-vocab", type=int, default=lg.BPE_VOCAB, help="vocabulary of the BPE tokenizer")
    p.add_argument("--samples", type=int, default=100, help="--evaluate: prompts per model and temperature")
    return p.parse_args()


@torch.no_grad()
def val_loss(model: GPT, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model.eval()
    losses = [model(x, y)[1].item() for x, y in batches]
    model.train()
    return sum(losses) / len(losses)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    data = lg.kieu_data(args.tokenizer, args.bpe_vocab)
    train_ids, val_ids = data.train_ids, data.val_ids
    config = GPTConfig(
        vocab_size=data.tokenizer.n_vocab,
        block_size=args.block_size,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        dropout=args.dropout,
    )
    model = GPT(config)
    optimizer = make_optimizer(model, args.lr, args.weight_decay, torch.device("cpu"))
    gen = torch.Generator().manual_seed(args.seed)
    val_gen = torch.Generator().manual_seed(args.seed + 1)

    def batch(ids: torch.Tensor, g: torch.Generator):
        starts = torch.randint(len(ids) - args.block_size - 1, (args.batch_size,), generator=g)
        chunks = torch.stack([ids[s : s + args.block_size + 1] for s in starts.tolist()])  # (B, T + 1)
        return chunks[:, :-1], chunks[:, 1:]

    val_batches = [batch(val_ids, val_gen) for _ in range(args.eval_batches)]
    best = (float("inf"), 0, None)
    history = []
    start = time.perf_counter()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup, args.min_lr)
        x, y = batch(train_ids, gen)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            v = val_loss(model, val_batches)
            history.append(
                {
                    "step": step + 1,
                    "train_loss": loss.item(),
                    "val_loss": v,
                    "seconds": time.perf_counter() - start,
                }
            )
            print(
                f"step {step + 1:5d}  train {loss.item():.3f}  val {v:.3f}  {time.perf_counter() - start:6.0f} s",
                flush=True,
            )
            if v < best[0]:
                best = (v, step + 1, copy.deepcopy(model.state_dict()))
    seconds = time.perf_counter() - start
    model.load_state_dict(best[2])
    chars_per_token = data.val_chars / len(val_ids)
    info = {
        "tokenizer": args.tokenizer,
        "n_vocab": data.tokenizer.n_vocab,
        "best_step": best[1],
        "best_val_loss": best[0],
        "val_bits_per_char": best[0] / math.log(2) / chars_per_token,
        "chars_per_token": chars_per_token,
        "tokens_seen": args.steps * args.batch_size * args.block_size,
        "train_seconds": seconds,
        "hardware": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "args": {k: v for k, v in vars(args).items() if k not in ("evaluate", "samples")},
        "history": history,
    }
    path = lg.save_model(model, data.tokenizer, args.tokenizer, info)
    report = ROOT / "benchmarks" / "results" / f"lucbat_gpt_{args.tokenizer}.json"
    report.write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB), sha256 {sha256_of(path)}")
    print(f"best val loss {best[0]:.3f} at step {best[1]} ({info['val_bits_per_char']:.3f} bits/char)")


def evaluate(args: argparse.Namespace) -> None:
    results = lg.evaluate_all(n_prompts=args.samples, seed=args.seed)
    results["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    results["hardware"] = f"{platform.processor() or platform.machine()}, torch {torch.__version__}"
    path = lg.DATA / "results.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "samples"}, indent=1, ensure_ascii=False))
    print(f"wrote {path}, sha256 {sha256_of(path)}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    arguments = parse_args()
    evaluate(arguments) if arguments.evaluate else train(arguments)
