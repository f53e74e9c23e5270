"""A plain training loop: AdamW, optional warm-up + cosine decay, evaluation, history, checkpoints."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .config import GPTConfig
from .device import autocast_for  # re-exported: mg.training.autocast_for (lesson 21)

BatchFn = Callable[[str], tuple[torch.Tensor, torch.Tensor]]  # split ("train" / "val") -> (x, y)


@dataclass
class History:
    """What happened during training, ready to plot."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_train_loss: list[float] = field(default_factory=list)
    eval_val_loss: list[float] = field(default_factory=list)
    tokens_per_second: float = float("nan")


def lr_at(step: int, max_steps: int, lr: float, warmup_steps: int = 0, min_lr: float | None = None) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` (constant ``lr`` if ``min_lr`` is None)."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if min_lr is None:
        return lr
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


@torch.no_grad()
def estimate_loss(model: nn.Module, get_batch: BatchFn, eval_iters: int = 10) -> dict[str, float]:
    """Mean loss over ``eval_iters`` batches of each split, in eval mode."""
    was_training = model.training
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [model(*get_batch(split))[1].item() for _ in range(eval_iters)]
        out[split] = sum(losses) / len(losses)
    model.train(was_training)
    return out


def make_optimizer(model: nn.Module, lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm or other 1-D parameters)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), fused=fused)


def train(
    model: nn.Module,
    get_batch: BatchFn,
    steps: int,
    lr: float = 3e-3,
    weight_decay: float = 0.1,
    warmup_steps: int = 0,
    min_lr: float | None = None,
    grad_clip: float | None = 1.0,
    eval_every: int = 0,
    eval_iters: int = 10,
    compile: bool = False,
    progress: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
) -> History:
    """Train ``model`` for ``steps`` steps on batches from ``get_batch("train")``; return the history.

    ``model(x, y)`` must return ``(logits, loss)``. With ``eval_every > 0`` the mean loss on both splits is
    recorded every ``eval_every`` steps and at the end. On CUDA: bf16 autocast (fp16 + GradScaler where
    bf16 is missing), fused AdamW, and optional ``torch.compile``.
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}.")
    device = next(model.parameters()).device
    optimizer = optimizer or make_optimizer(model, lr, weight_decay, device)
    autocast, needs_scaler = autocast_for(device)
    scaler = torch.amp.GradScaler("cuda") if needs_scaler else None
    step_model = torch.compile(model) if compile else model
    history = History()
    model.train()
    tokens, elapsed = 0, 0.0

    bar = tqdm(range(steps), desc="huấn luyện", disable=not progress, leave=False)
    for step in bar:
        current_lr = lr_at(step, steps, lr, warmup_steps, min_lr)
        for group in optimizer.param_groups:
            group["lr"] = current_lr
        start = time.perf_counter()
        x, y = get_batch("train")
        with autocast:
            _, loss = step_model(x, y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        loss_value = loss.item()  # synchronizes, so the timing below is honest
        elapsed += time.perf_counter() - start
        tokens += x.numel()
        history.steps.append(step)
        history.train_loss.append(loss_value)
        history.lr.append(current_lr)
        bar.set_postfix(loss=f"{loss_value:.3f}")
        if eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            losses = estimate_loss(model, get_batch, eval_iters)
            history.eval_steps.append(step + 1)
            history.eval_train_loss.append(losses["train"])
            history.eval_val_loss.append(losses["val"])
    history.tokens_per_second = tokens / elapsed if elapsed > 0 else float("nan")
    return history


def save_checkpoint(model: nn.Module, path: str | Path, config: GPTConfig | None = None) -> Path:
    """Save weights as safetensors (no pickled code) and the config beside them as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if getattr(model, "config", None) is not None and getattr(model.config, "tie_weights", False):
        state.pop("lm_head.weight", None)  # the tied head is the token embedding: store it once
    config = config or getattr(model, "config", None)
    metadata = {"config": json.dumps(config.to_dict())} if config is not None else None
    save_file(state, str(path), metadata=metadata)
    return path


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild a ``GPT`` from a checkpoint written by ``save_checkpoint`` (safetensors: loads no code)."""
    from safetensors import safe_open

    from .models import GPT

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if "config" not in metadata:
        raise ValueError(f"{path} has no config in its metadata; it was not written by save_checkpoint.")
    model = GPT(GPTConfig(**json.loads(metadata["config"])))
    state = load_file(str(path), device="cpu")
    if model.config.tie_weights:
        state["lm_head.weight"] = state["transformer.wte.weight"]
    model.load_state_dict(state)
    return model.to(device)
