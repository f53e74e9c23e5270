"""A plain training loop: AdamW, optional warm-up + cosine decay, evaluation, history, checkpoints."""

from __future__ import annotations

import inspect
import json
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from ._files import atomic_write, open_for_reading
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
    eval_iters = _check_number("eval_iters", eval_iters, minimum=1, integer=True)
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


class TrainingDivergedError(FloatingPointError):
    """The loss (or the gradient norm) became NaN or infinite; ``.history`` holds the steps before it."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


def _check_number(name: str, value, *, minimum: float = 0.0, strict: bool = False, integer: bool = False):
    """``value`` as a number >= minimum (> minimum when ``strict``), or a ValueError that names the argument."""
    kind = "an integer" if integer else "a number"
    if integer:
        try:
            value = operator.index(value)
        except TypeError:
            value = None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        value = None
    if value is None or isinstance(value, bool) or not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{name} must be {kind} {bound}, got {value!r}.")
    return value


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
    history: History | None = None,
) -> History:
    """Train ``model`` for ``steps`` steps on batches from ``get_batch("train")``; return the history.

    ``model(x, y)`` must return ``(logits, loss)``. With ``eval_every > 0`` the mean loss on both splits is
    recorded every ``eval_every`` steps and at the end. On CUDA: bf16 autocast (fp16 + GradScaler where
    bf16 is missing), fused AdamW, and optional ``torch.compile``.

    Failures are loud: arguments are checked before the first step; a NaN or infinite loss stops training
    with ``TrainingDivergedError`` before the bad step changes the weights; on Ctrl-C the steps done so far
    are kept in the exception's ``.history`` (and in ``history=`` when you pass your own ``History``).
    """
    steps = _check_number("steps", steps, minimum=0, strict=True, integer=True)
    lr = _check_number("lr", lr, strict=True)
    weight_decay = _check_number("weight_decay", weight_decay)
    warmup_steps = _check_number("warmup_steps", warmup_steps, integer=True)
    if min_lr is not None:
        min_lr = _check_number("min_lr", min_lr)
    if grad_clip is not None:
        if grad_clip == 0:
            raise ValueError(
                "grad_clip=0 would scale every gradient to zero (nothing learns); use grad_clip=None to turn "
                "clipping off, or a positive norm such as 1.0."
            )
        grad_clip = _check_number("grad_clip", grad_clip, strict=True)
    eval_every = _check_number("eval_every", eval_every, integer=True)
    eval_iters = _check_number("eval_iters", eval_iters, minimum=1, integer=True)
    if not callable(get_batch):
        raise TypeError(f"get_batch must be a function split -> (x, y), got {type(get_batch).__name__}.")
    try:
        inspect.signature(model.forward).bind(None, None)
    except TypeError:
        raise TypeError(
            f"train() calls model(x, y) and needs (logits, loss), but {type(model).__name__}.forward does not take "
            "targets; add a `targets=None` argument that computes the loss."
        ) from None
    except ValueError:
        pass  # no inspectable signature
    parameters = list(model.parameters())
    if not parameters:
        raise ValueError(f"{type(model).__name__} has no parameters to train.")
    device = parameters[0].device
    optimizer = optimizer or make_optimizer(model, lr, weight_decay, device)
    autocast, needs_scaler = autocast_for(device)
    scaler = torch.amp.GradScaler("cuda") if needs_scaler else None
    step_model = torch.compile(model) if compile else model
    history = History() if history is None else history
    model.train()
    tokens, elapsed = 0, 0.0

    def finish() -> None:
        history.tokens_per_second = tokens / elapsed if elapsed > 0 else float("nan")

    bar = tqdm(range(steps), desc="huấn luyện", disable=not progress, leave=False)
    try:
        for step in bar:
            current_lr = lr_at(step, steps, lr, warmup_steps, min_lr)
            for group in optimizer.param_groups:
                group["lr"] = current_lr
            start = time.perf_counter()
            x, y = get_batch("train")
            with autocast:
                out = step_model(x, y)
            if not (isinstance(out, tuple) and len(out) == 2 and torch.is_tensor(out[1]) and out[1].numel() == 1):
                raise TypeError(
                    f"train() needs model(x, y) to return (logits, loss) with a scalar loss; "
                    f"{type(model).__name__} returned {type(out).__name__}. Compute the loss in forward when targets are given."
                )
            loss = out[1]
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), grad_clip) if grad_clip is not None else None
            loss_value = loss.item()  # synchronizes, so the timing below is honest
            grad_ok = scaler is not None or grad_norm is None or math.isfinite(grad_norm.item())
            if not (math.isfinite(loss_value) and grad_ok):
                finish()
                what = f"the loss is {loss_value}" if not math.isfinite(loss_value) else "the gradient norm is not finite"
                raise TrainingDivergedError(
                    f"Training diverged at step {step} (lr {current_lr:.3g}): {what}. The weights are those of the "
                    "step before. Try a smaller lr (e.g. 10x smaller), a warm-up (warmup_steps), gradient "
                    "clipping (grad_clip=1.0), and check the data and the model's loss for NaN. The steps so "
                    "far are in this error's .history.",
                    history,
                )
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
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
    except KeyboardInterrupt as err:
        finish()
        err.history = history  # the loss curve so far survives the interrupt
        print(
            f"Đã dừng sau {len(history.steps)} bước (Ctrl-C). Lịch sử đến đây: truyền history=History() vào train, "
            "hoặc đọc err.history trong `except KeyboardInterrupt as err`."
        )
        raise
    finally:
        bar.close()
    finish()
    return history


def _unwrap(model: nn.Module) -> nn.Module:
    """The model itself, under ``torch.compile`` (``_orig_mod``) or ``DistributedDataParallel`` (``module``)."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def save_checkpoint(model: nn.Module, path: str | Path, config: GPTConfig | None = None) -> Path:
    """Save a ``GPT``'s weights as safetensors (no pickled code) with its config in the file's metadata.

    The file is written beside ``path`` and renamed into place, so a failure (disk full, Ctrl-C) leaves the
    previous checkpoint loadable. Only models that ``load_checkpoint`` can rebuild (``GPT``) are accepted.
    """
    from .models import GPT

    model = _unwrap(model)
    if not isinstance(model, GPT):
        raise TypeError(
            f"save_checkpoint saves the course's GPT (load_checkpoint rebuilds a GPT), got {type(model).__name__}. "
            "For another model, save its state dict with safetensors.torch.save_file(model.state_dict(), path)."
        )
    config = config or model.config
    if config != model.config:
        raise ValueError(f"config {config} differs from the model's own config {model.config}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name such as {path / 'model.safetensors'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if config.tie_weights:
        state.pop("lm_head.weight", None)  # the tied head is the token embedding: store it once
    metadata = {"config": json.dumps(config.to_dict())}
    return atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild a ``GPT`` from a checkpoint written by ``save_checkpoint`` (safetensors: loads no code).

    A missing, unreadable, corrupt or foreign file gives an error that names the path and what to do.
    """
    from safetensors import safe_open

    from .models import GPT
    from .pretrained import CheckpointError

    path = Path(path)
    open_for_reading(path, "checkpoint")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(path), device="cpu")
    except Exception as err:  # safetensors raises its own error types for a damaged file
        raise CheckpointError(
            f"Cannot read the checkpoint {path} ({path.stat().st_size:,} bytes): it is corrupt, truncated or not "
            f"a safetensors file ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). "
            "Save it again with save_checkpoint."
        ) from None
    if "config" not in metadata:
        raise CheckpointError(
            f"{path} has no config in its metadata: it was not written by save_checkpoint "
            "(a Hugging Face export folder loads with load_gpt2)."
        )
    try:
        fields = json.loads(metadata["config"])
        if not isinstance(fields, dict):
            raise TypeError(f"expected a JSON object, got {type(fields).__name__}")
        config = GPTConfig(**fields)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: the config in its metadata is invalid ({err}).") from None
    not_float = sorted(k for k, v in state.items() if not v.is_floating_point())
    if not_float:
        raise CheckpointError(f"{path}: tensors {not_float[:5]} are not floating point; the file is not a GPT checkpoint.")
    with torch.device("meta"):
        model = GPT(config)
    if config.tie_weights and "transformer.wte.weight" in state:
        state["lm_head.weight"] = state["transformer.wte.weight"]
    try:
        model.load_state_dict(state, assign=True)
    except RuntimeError as err:
        raise CheckpointError(f"{path} does not match its config ({config}): {err}") from None
    if config.tie_weights:
        model.lm_head.weight = model.transformer.wte.weight  # assign=True loads the two keys separately
    return model.to(torch.float32).to(device)
