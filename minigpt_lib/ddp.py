"""Data-parallel training with ``torchrun`` (DistributedDataParallel), the same loop as ``training.train``.

Every process holds a full copy of the model and trains on its share of each global batch; after every
backward pass DDP averages the gradients across processes, so all replicas take the same step and stay
identical, exactly as one process training on the combined batch would.

    torchrun --standalone --nproc_per_node=2 -m minigpt_lib.ddp --steps 20

On CPUs the processes talk over the ``gloo`` backend; on GPUs over ``nccl`` (one GPU per process).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .config import GPTConfig
from .data import get_batch, load_corpus
from .models import GPT
from .tokenizer import CharTokenizer
from .training import History, save_checkpoint, train

DEMO_CONFIG = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64)


def train_replica(
    steps: int, global_batch: int = 16, seed: int = 0, rank: int = 0, world_size: int = 1, lr: float = 3e-3
) -> tuple[GPT, History]:
    """Train one replica on rows ``rank::world_size`` of every global batch (the whole batch when alone)."""
    if global_batch % world_size:
        raise ValueError(f"global_batch ({global_batch}) must be divisible by the number of processes ({world_size}).")
    text = load_corpus("tinyshakespeare")
    tokenizer = CharTokenizer.from_text(text)
    tokens = torch.tensor(tokenizer.encode(text[:200_000]))
    config = DEMO_CONFIG.replace(vocab_size=tokenizer.n_vocab)
    torch.manual_seed(seed)  # the same initial weights in every process
    model = GPT(config)
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else None
    if device is not None:
        model.to(device)
    batches = torch.Generator().manual_seed(seed + 1)  # the same global batches in every process

    def shard(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = get_batch(tokens, global_batch, config.block_size, generator=batches)  # (global_batch, T)
        x, y = x[rank::world_size], y[rank::world_size]  # this process's share
        return (x.to(device), y.to(device)) if device is not None else (x, y)

    replica = DistributedDataParallel(model) if world_size > 1 else model
    history = train(replica, shard, steps=steps, lr=lr, progress=rank == 0)
    return model, history


def main() -> None:
    parser = argparse.ArgumentParser(description="Data-parallel training demo (run it with torchrun).")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None, help="folder for each replica's final weights")
    args = parser.parse_args()
    if "RANK" not in os.environ:
        raise SystemExit("Run this module with torchrun, e.g. torchrun --standalone --nproc_per_node=2 -m minigpt_lib.ddp")
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    try:
        model, history = train_replica(args.steps, args.global_batch, rank=rank, world_size=world_size)
        if args.out is not None:
            save_checkpoint(model, args.out / f"rank{rank}.safetensors")
        if rank == 0:
            print(f"{world_size} tiến trình, {args.steps} bước: loss {history.train_loss[0]:.3f} → {history.train_loss[-1]:.3f}")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
