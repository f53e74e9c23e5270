"""Turning logits into tokens: temperature, greedy, top-k, top-p, and ``generate`` with a KV cache."""

from __future__ import annotations

import math
import numbers
import operator

import torch
import torch.nn.functional as F
from torch import nn

from .layers import KVCache

MAX_NEW_TOKENS = 100_000  # beyond this a call runs for hours: generate in several calls instead


def _real(name: str, value) -> float:
    """``value`` as a float, or a TypeError that names the argument (``"1"`` is not a number)."""
    if torch.is_tensor(value) and value.numel() == 1 and (value.is_floating_point() or not value.is_complex()):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan.")
    return value


def _integer(name: str, value) -> int:
    if torch.is_tensor(value) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.") from None


def _check_logits(logits: torch.Tensor, sampling: bool) -> None:
    """NaN logits are always an error; +inf or a row with no finite logit cannot be turned into probabilities."""
    if not torch.is_tensor(logits) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor (B, V), got {getattr(logits, 'dtype', type(logits))}.")
    if logits.size(-1) == 0:
        raise ValueError("logits have no entries (V = 0): there is no token to choose.")
    if torch.isnan(logits).any():
        raise ValueError(
            "The logits contain NaN: the model's output is broken (diverged training, or NaN weights or inputs); "
            "no token can be chosen from them."
        )
    if sampling and torch.isposinf(logits).any():
        raise ValueError("The logits contain +inf, which softmax cannot turn into probabilities.")
    if torch.isneginf(logits).all(dim=-1).any():
        raise ValueError("A row of logits is all -inf: every token was filtered out, none can be chosen.")


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / T. T < 1 sharpens the distribution, T > 1 flattens it (T = 0 is greedy: see ``sample_next``)."""
    temperature = _real("temperature", temperature)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 here (use greedy for T = 0), got {temperature}.")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row, set the rest to -inf."""
    k = _integer("top_k", k)
    _check_logits(logits, sampling=False)
    if not 1 <= k:
        raise ValueError(f"top_k must be >= 1, got {k}.")
    k = min(k, logits.size(-1))
    # Keep exactly the top-k indices (a threshold on the k-th value would keep more than k on ties).
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)
    return logits.masked_fill(~keep, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability mass reaches p."""
    p = _real("top_p", p)
    _check_logits(logits, sampling=False)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p}.")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = F.softmax(sorted_logits, dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # mass of the tokens ranked strictly higher
    drop_sorted = mass_before >= p  # once the mass already reached p, the rest is not needed
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One next token per row from logits (B, V) -> (B, 1). temperature = 0 means greedy (argmax)."""
    temperature = _real("temperature", temperature)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}.")
    _check_logits(logits, sampling=temperature > 0)
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    block_size: int | None = None,
) -> torch.Tensor:
    """Extend ``idx`` (B, T) by ``max_new_tokens`` tokens -> (B, T + max_new_tokens).

    The model sees at most its last ``block_size`` tokens. With ``use_cache`` (models that have
    ``new_kv_cache``, i.e. ``GPT``), keys and values of past tokens are kept and only the new token is
    processed; once the context is full, positions shift, so the cache is rebuilt from the cropped window.
    """
    max_new_tokens = _integer("max_new_tokens", max_new_tokens)
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}.")
    if max_new_tokens > MAX_NEW_TOKENS:
        raise ValueError(
            f"max_new_tokens = {max_new_tokens:,} would run for hours; generate at most {MAX_NEW_TOKENS:,} tokens "
            "per call (call generate again on its output to continue)."
        )
    temperature = _real("temperature", temperature)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}.")
    if top_k is not None and _integer("top_k", top_k) < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}.")
    if top_p is not None and not 0.0 < _real("top_p", top_p) <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}.")
    if block_size is not None and (_integer("block_size", block_size) < 1):
        raise ValueError(f"block_size must be >= 1 (the longest context the model sees), got {block_size}.")
    if not torch.is_tensor(idx):
        raise TypeError(f"idx must be a tensor of token ids (B, T), got {type(idx).__name__}.")
    if idx.ndim == 1:
        raise ValueError("idx must have shape (B, T); add a batch dimension with idx[None].")
    if block_size is None:
        config = getattr(model, "config", None)
        block_size = getattr(config, "block_size", None) or getattr(model, "block_size", None)
    was_training = model.training
    model.eval()
    cache_ok = use_cache and hasattr(model, "new_kv_cache")
    cache: KVCache | None = None
    try:
        for _ in range(max_new_tokens):
            context = idx if block_size is None else idx[:, -block_size:]
            if cache_ok:
                if cache is None or cache.length + 1 > (block_size or 10**9):
                    cache = model.new_kv_cache()  # (re)fill the cache with the whole window
                    logits = model(context, kv_cache=cache)
                else:
                    logits = model(idx[:, -1:], kv_cache=cache)  # only the newest token
            else:
                logits = model(context)
            next_token = sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)  # (B, 1)
            idx = torch.cat([idx, next_token], dim=1)
    finally:
        model.train(was_training)
    return idx
