"""Turning logits into tokens: temperature, greedy, top-k, top-p, and ``generate`` with a KV cache."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import KVCache


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / T. T < 1 sharpens the distribution, T > 1 flattens it (T = 0 is greedy: see ``sample_next``)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 here (use greedy for T = 0), got {temperature}.")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row, set the rest to -inf."""
    if not 1 <= k:
        raise ValueError(f"top_k must be >= 1, got {k}.")
    k = min(k, logits.size(-1))
    # Keep exactly the top-k indices (a threshold on the k-th value would keep more than k on ties).
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)
    return logits.masked_fill(~keep, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability mass reaches p."""
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
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}.")
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
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}.")
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
