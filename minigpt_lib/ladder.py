"""The ladder: every model of the course trained under one recipe, so that each rung can be compared with the last.

Same data (character-level Tiny Shakespeare), same tokenizer, same budget (steps, batch, learning rate) and the same
evaluation (a fixed set of validation windows) for every rung, from a count-based bigram table to a small GPT-2.
``benchmarks/ladder.py`` trains every rung with several seeds and stores the result in ``data/ladder.json``;
each ladder lesson trains its own rung live with :func:`train_rung` and compares it with the stored ladder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from ._files import verified_path
from .config import GPTConfig
from .data import get_batch, load_corpus, make_batch_fn, train_val_split
from .models import GPT, Model1, Model2, Model3, Model4
from .tokenizer import CharTokenizer
from .training import train

RECIPE = dict(
    corpus="tinyshakespeare",
    block_size=32,  # T
    batch_size=16,  # B
    n_embd=64,  # C (the top rung is twice as wide)
    steps=800,
    lr=1e-2,
    warmup_steps=100,  # the GPT-2-initialised rungs stall at this learning rate without a long warm-up
    min_lr=1e-3,  # cosine decay to this
    eval_windows=256,  # fixed validation windows (256 x 32 = 8,192 predictions), the same for every rung
    eval_seed=1234,
    bigram_smoothing=0.1,  # add-k smoothing of the count table
)

RESULTS_FILE = "ladder.json"


@dataclass(frozen=True)
class Rung:
    key: str
    label: str  # Vietnamese label for plots
    lesson: str


RUNGS = [
    Rung("bigram", "bigram đếm", "02"),
    Rung("model1", "Model 1", "02"),
    Rung("model2", "Model 2", "10"),
    Rung("model3", "Model 3 (1 head)", "15"),
    Rung("model4", "Model 4 (2 block)", "18"),
    Rung("multihead", "2 block × 4 head", "19"),
    Rung("gpt", "GPT (2 block × 4 head, C = 128)", "21"),
]
RUNG_KEYS = [r.key for r in RUNGS]


@cache
def ladder_data() -> tuple[CharTokenizer, torch.Tensor, torch.Tensor]:
    """(tokenizer, train ids, val ids) of the ladder's corpus, split 90 / 10 in time."""
    text = load_corpus(RECIPE["corpus"])
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
    return tokenizer, train_ids, val_ids


def base_config() -> GPTConfig:
    tokenizer, _, _ = ladder_data()
    return GPTConfig(vocab_size=tokenizer.n_vocab, block_size=RECIPE["block_size"], n_layer=1, n_head=1,
                     n_embd=RECIPE["n_embd"])


def rung_config(key: str) -> GPTConfig:
    """The configuration of a neural rung (same context for all; the same width up to the top rung)."""
    config = base_config()
    C = RECIPE["n_embd"]
    sizes = {  # (n_layer, n_head, n_embd)
        "model1": (1, 1, C), "model2": (1, 1, C), "model3": (1, 1, C), "model4": (2, 1, C), "multihead": (2, 4, C),
        # the top rung grows in width: at this budget 4 blocks of width 64 do no better than 2 (measured)
        "gpt": (2, 4, 2 * C),
    }
    if key not in sizes:
        raise ValueError(f"Unknown neural rung {key!r}. Choose one of: {', '.join(sizes)}.")
    n_layer, n_head, n_embd = sizes[key]
    return config.replace(n_layer=n_layer, n_head=n_head, n_embd=n_embd)


def build_rung(key: str) -> nn.Module:
    """A fresh, untrained model of one rung (seed the generators first)."""
    make = {"model1": Model1, "model2": Model2, "model3": Model3, "model4": Model4, "multihead": GPT, "gpt": GPT}
    return make[key](rung_config(key))


@cache
def eval_windows() -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed validation windows every rung is scored on: x, y of shape (eval_windows, T)."""
    _, _, val_ids = ladder_data()
    g = torch.Generator().manual_seed(RECIPE["eval_seed"])
    return get_batch(val_ids, RECIPE["eval_windows"], RECIPE["block_size"], generator=g)


@torch.no_grad()
def evaluate(model: nn.Module, batch_size: int = 64) -> float:
    """Mean cross-entropy (nat per character) of ``model`` on the fixed validation windows."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    x, y = eval_windows()
    total = 0.0
    for i in range(0, len(x), batch_size):
        _, loss = model(x[i : i + batch_size].to(device), y[i : i + batch_size].to(device))
        total += loss.item() * len(x[i : i + batch_size])
    model.train(was_training)
    return total / len(x)


def bigram_table(train_ids: torch.Tensor, vocab_size: int, smoothing: float) -> torch.Tensor:
    """Log-probabilities log P(next | current) of the count-based bigram model, (V, V), with add-k smoothing."""
    counts = torch.zeros(vocab_size, vocab_size)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
    counts += smoothing
    return (counts / counts.sum(dim=1, keepdim=True)).log()


def bigram_loss() -> float:
    """The floor: validation loss of the count-based bigram model on the same windows as every rung."""
    tokenizer, train_ids, _ = ladder_data()
    log_p = bigram_table(train_ids, tokenizer.n_vocab, RECIPE["bigram_smoothing"])
    x, y = eval_windows()
    return F.nll_loss(log_p[x.flatten()], y.flatten()).item()


def train_model(model: nn.Module, seed: int = 0, progress: bool = True, steps: int | None = None):
    """Train any model (already built, on its device) under the ladder's recipe: returns (history, val loss).

    The batches come from a generator seeded with ``seed``: two models trained with the same seed see the same
    batches in the same order.
    """
    _, train_ids, val_ids = ladder_data()
    device = next(model.parameters()).device
    batches = make_batch_fn(train_ids, val_ids, RECIPE["batch_size"], RECIPE["block_size"], seed=seed, device=device)
    history = train(model, batches, steps=steps or RECIPE["steps"], lr=RECIPE["lr"],
                    warmup_steps=RECIPE["warmup_steps"], min_lr=RECIPE["min_lr"], progress=progress)
    return history, evaluate(model)


def train_rung(key: str, seed: int = 0, device: torch.device | str = "cpu", progress: bool = True,
               steps: int | None = None):
    """Build (after ``torch.manual_seed(seed)``) and train one neural rung: returns (model, history, val loss)."""
    torch.manual_seed(seed)
    model = build_rung(key).to(device)
    history, loss = train_model(model, seed, progress, steps)
    return model, history, loss


def load_ladder() -> dict:
    """The stored ladder (written by ``benchmarks/ladder.py``): recipe, machine, date, seeds and per-rung losses."""
    return json.loads(verified_path(RESULTS_FILE).read_text(encoding="utf-8"))


def checked_margin(ladder: dict, key: str) -> float:
    """Smallest margin, over the benchmark's seeds, by which rung ``key`` beat the mean of the rung below it."""
    i = RUNG_KEYS.index(key)
    if i == 0:
        raise ValueError("The bigram floor has no rung below it.")
    below = ladder["rungs"][RUNG_KEYS[i - 1]]["mean"]
    return min(below - loss for loss in ladder["rungs"][key]["losses"])


def summary(losses: list[float]) -> dict:
    mean = sum(losses) / len(losses)
    return {"losses": losses, "mean": mean, "min": min(losses), "max": max(losses),
            "std": math.sqrt(sum((v - mean) ** 2 for v in losses) / max(1, len(losses) - 1))}
