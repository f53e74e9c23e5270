"""Train the small GPT-2-format model shipped in ``minigpt_lib/data/bundled-gpt2-tiny/``.

Reproduce it with (about 2 minutes on 2 idle CPU cores, several times longer on a busy shared machine)::

    python benchmarks/train_bundled_model.py

What it does
------------
* Data: *Tiny Shakespeare* and H. G. Wells' *The Time Machine* (the course corpora), GPT-2 tokens. Each corpus is
  split in time, first 90 % train, last 10 % validation; the two parts are joined with ``<|endoftext|>``.
* Model: the course's ``GPT`` (GPT-2 architecture, tied head), 4 layers, 4 heads, width 64, context 128, with the
  full GPT-2 vocabulary of 50,257 tokens in the saved file.
* The CPU trick. With 50,257 outputs the output layer is ~90 % of a CPU step, yet most GPT-2 tokens never occur
  in the corpus. During training, every token seen fewer than ``--min-count`` times in the training split shares
  ONE embedding row (``rare``), and every token never seen there shares another (``unseen``). The model is trained
  over the K frequent tokens plus these two rows; a group of N identical rows has N times the probability of one,
  so its logit is raised by log N, and a target inside a group costs log N more (a constant: no gradient). This
  is *exactly* the full-vocabulary cross-entropy of the exported model, in which the rare tokens all have the
  ``rare`` row and the unseen ones the ``unseen`` row; the script checks it by evaluating the exported
  full-vocabulary model with the plain ``GPT`` forward pass.
* Export: Hugging Face format (``config.json`` + ``model.safetensors``, Conv1D layout, float16) via
  ``minigpt_lib.pretrained.save_gpt2``; then the sha256 to paste into ``pretrained.BUNDLED_SHA256``.
* Report: training time, hardware, validation loss (full vocabulary, after the float16 round trip), the loss with
  the query weights replaced by noise of the same mean/std (block 0, then all blocks), samples. Written to
  ``benchmarks/bundled_model_training.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from minigpt_lib import GPT, GPTConfig, gpt2_tokenizer, load_corpus
from minigpt_lib.tokenizer import ENDOFTEXT_ID, GPT2_N_VOCAB
from minigpt_lib.training import lr_at, make_optimizer

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "minigpt_lib" / "data" / "bundled-gpt2-tiny"
CORPORA = ("tinyshakespeare", "timemachine")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--lr", type=float, default=6e-3)
    p.add_argument("--min-lr", type=float, default=6e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--min-count", type=int, default=8)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--report", type=Path, default=ROOT / "benchmarks" / "bundled_model_training.json")
    p.add_argument("--checkpoint", type=Path, default=Path("/tmp/bundled-gpt2-tiny-compact.safetensors"))
    p.add_argument("--export-only", action="store_true", help="skip training, export --checkpoint")
    return p.parse_args()


def corpus_splits() -> tuple[torch.Tensor, torch.Tensor]:
    """Train and validation token streams: each corpus split 90/10 in time, joined by <|endoftext|>."""
    enc = gpt2_tokenizer()
    train, val = [], []
    for name in CORPORA:
        ids = enc.encode_ordinary(load_corpus(name))
        n = int(len(ids) * 0.9)
        train += ids[:n] + [ENDOFTEXT_ID]
        val += ids[n:] + [ENDOFTEXT_ID]
    return torch.tensor(train), torch.tensor(val)


def build_vocab(train: torch.Tensor, min_count: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Map GPT-2 ids to compact ids: 0..K-1 the kept tokens (>= min_count in train), K "rare", K+1 "unseen".

    Returns (kept GPT-2 ids (K,), map (V,), number of rare tokens, number of unseen tokens).
    """
    counts = torch.bincount(train, minlength=GPT2_N_VOCAB)
    counts[ENDOFTEXT_ID] = max(int(counts[ENDOFTEXT_ID]), min_count)
    kept = torch.nonzero(counts >= min_count).flatten()  # sorted GPT-2 ids
    rare = (counts > 0) & (counts < min_count)
    K = len(kept)
    to_compact = torch.full((GPT2_N_VOCAB,), K + 1, dtype=torch.long)  # unseen in the training split
    to_compact[rare] = K
    to_compact[kept] = torch.arange(K)
    return kept, to_compact, int(rare.sum()), int((counts == 0).sum())


def compact_loss(model: GPT, x: torch.Tensor, y: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """The full-vocabulary cross-entropy, computed over K kept tokens + two groups of identical rows.

    A group of N identical rows holds N times the probability of one of them: its logit is raised by log N.
    A target inside a group is one specific token of the N, so its loss is the group's loss + log N: a constant
    that does not change the gradient, added so that the number printed is the true full-vocabulary loss.
    """
    offset = offset.to(x.device)
    logits = model(x)  # (B, T, K + 2)
    group_loss = F.cross_entropy((logits + offset).flatten(0, 1), y.flatten())
    return group_loss + offset[y].mean()


def windows(tokens: torch.Tensor, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All non-overlapping (x, y) windows of a stream: the deterministic validation set."""
    n = (len(tokens) - 1) // seq_len
    x = tokens[: n * seq_len].view(n, seq_len)
    y = tokens[1 : n * seq_len + 1].view(n, seq_len)
    return x, y


@torch.no_grad()
def mean_loss(loss_fn, x: torch.Tensor, y: torch.Tensor, batch: int = 16) -> float:
    total = 0.0
    for i in range(0, len(x), batch):
        total += loss_fn(x[i : i + batch], y[i : i + batch]).item() * len(x[i : i + batch])
    return total / len(x)


def expand_to_gpt2(model: GPT, to_compact: torch.Tensor) -> GPT:
    """The full-vocabulary GPT: kept tokens get their rows, rare and unseen tokens their group's shared row."""
    cfg = model.config
    full = GPT(cfg.replace(vocab_size=GPT2_N_VOCAB))
    state = {
        k: v for k, v in model.state_dict().items() if k not in ("transformer.wte.weight", "lm_head.weight")
    }
    compact_wte = model.transformer.wte.weight.detach()  # (K + 2, C)
    wte = compact_wte[to_compact]  # (V, C)
    state["transformer.wte.weight"] = wte
    state["lm_head.weight"] = wte
    full.load_state_dict(state)
    return full.eval()


@torch.no_grad()
def q_ablated_loss(model: GPT, blocks: list[int], x, y, seed: int) -> float:
    """Val loss with the query weights (and bias) of ``blocks`` replaced by noise of the same mean and std."""
    import copy

    ablated = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    C = model.config.n_embd
    for i in blocks:
        attn = ablated.transformer.h[i].attn
        for p in (attn.c_attn.weight, attn.c_attn.bias):
            q = p[:C]  # the first C output rows of the fused Linear are the queries
            q.copy_(torch.randn(q.shape, generator=gen) * q.std() + q.mean())
    return mean_loss(lambda a, b: ablated(a, b)[1], x, y)


def hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, {platform.system()}"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    train_tokens, val_tokens = corpus_splits()
    kept, to_compact, n_rare, n_unseen = build_vocab(train_tokens, args.min_count)
    K = len(kept)
    shared_offset = torch.zeros(K + 2)
    shared_offset[K], shared_offset[K + 1] = math.log(n_rare), math.log(n_unseen)
    print(
        f"train {len(train_tokens):,} tokens, val {len(val_tokens):,}; {K:,} kept tokens, "
        f"{n_rare:,} rare ones share one row, {n_unseen:,} unseen ones another"
    )
    ctrain, cval = to_compact[train_tokens], to_compact[val_tokens]
    cfg = GPTConfig(
        vocab_size=K + 2,
        block_size=args.seq_len,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
    )
    vx, vy = windows(cval, args.seq_len)
    report: dict = {}
    if not args.export_only:
        model = GPT(cfg).to(device)
        opt = make_optimizer(model, args.lr, args.weight_decay, device)
        gen = torch.Generator().manual_seed(args.seed)
        offsets = torch.arange(args.seq_len + 1)
        history = []
        t0 = time.perf_counter()
        for step in range(args.steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, args.steps, args.lr, args.warmup, args.min_lr)
            starts = torch.randint(len(ctrain) - args.seq_len, (args.batch_size,), generator=gen)
            chunk = ctrain[starts[:, None] + offsets].to(device)  # (B, T + 1)
            loss = compact_loss(model, chunk[:, :-1], chunk[:, 1:], shared_offset)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % 20 == 0 or step + 1 == args.steps:
                el = time.perf_counter() - t0
                print(f"step {step:5d}  loss {loss.item():.3f}  {el:6.0f} s", flush=True)
            if args.eval_every and ((step + 1) % args.eval_every == 0 or step + 1 == args.steps):
                model.eval()
                sub = slice(0, 64) if step + 1 < args.steps else slice(None)
                vl = mean_loss(
                    lambda a, b: compact_loss(model, a.to(device), b.to(device), shared_offset),
                    vx[sub],
                    vy[sub],
                )
                model.train()
                history.append((step + 1, round(loss.item(), 4), round(vl, 4)))
                print(f"  eval step {step + 1}: val loss {vl:.4f}", flush=True)
        train_time = time.perf_counter() - t0
        from minigpt_lib.training import save_checkpoint

        save_checkpoint(model.cpu(), args.checkpoint)
        report.update(
            train_seconds=round(train_time, 1),
            tokens_seen=args.steps * args.batch_size * args.seq_len,
            history_step_train_val=history,
            compact_val_loss=history[-1][2] if history else None,
        )
    from minigpt_lib.pretrained import load_gpt2, save_gpt2
    from minigpt_lib.training import load_checkpoint

    model = load_checkpoint(args.checkpoint).eval()
    full = expand_to_gpt2(model, to_compact)
    out = save_gpt2(full, args.out, dtype=torch.float16)
    reloaded = load_gpt2(out)
    x, y = windows(val_tokens, args.seq_len)
    val = mean_loss(lambda a, b: reloaded(a, b)[1], x, y)
    print(f"full-vocabulary val loss after the float16 round trip: {val:.4f}")
    from minigpt_lib._files import sha256_of

    weights = out / "model.safetensors"
    enc = gpt2_tokenizer()
    from minigpt_lib.sampling import generate

    samples = []
    for prompt in ("ROMEO:", "The Time Traveller"):
        torch.manual_seed(0)
        ids = torch.tensor([enc.encode(prompt)])
        samples.append(enc.decode(generate(reloaded, ids, 60, temperature=0.8, top_k=50)[0].tolist()))
    report.update(
        config=reloaded.config.to_dict(),
        args={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        kept_tokens=K,
        rare_tokens_sharing_a_row=n_rare,
        unseen_tokens_sharing_a_row=n_unseen,
        train_tokens=len(train_tokens),
        val_tokens=len(val_tokens),
        val_loss=round(val, 4),
        val_loss_q_noise_block0=round(q_ablated_loss(reloaded, [0], x, y, args.seed), 4),
        val_loss_q_noise_all_blocks=round(
            q_ablated_loss(reloaded, list(range(reloaded.config.n_layer)), x, y, args.seed), 4
        ),
        ln_vocab=round(math.log(GPT2_N_VOCAB), 4),
        size_bytes=sum(f.stat().st_size for f in out.iterdir()),
        model_sha256=sha256_of(weights),
        hardware=hardware(),
        samples=samples,
        date=time.strftime("%Y-%m-%d"),
        omp_threads=os.environ.get("OMP_NUM_THREADS"),
    )
    if args.export_only and args.report.exists():
        old = json.loads(args.report.read_text())
        report = {
            **{
                k: old[k]
                for k in ("train_seconds", "tokens_seen", "history_step_train_val", "compact_val_loss")
                if k in old
            },
            **report,
        }
    args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {k: v for k, v in report.items() if k != "history_step_train_val"}, indent=2, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
