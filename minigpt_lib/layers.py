"""The pieces of a transformer: causal attention (one head, many heads), the MLP and the pre-LN block."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import GPTConfig


def causal_mask(t_query: int, t_key: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean (t_query, t_key) mask, True where a query may look.

    Queries are the last ``t_query`` positions of the ``t_key`` keys (the first ``t_key - t_query`` keys come
    from a KV cache), so query i sees keys 0 .. i + (t_key - t_query).
    """
    return torch.ones(t_query, t_key, dtype=torch.bool, device=device).tril(diagonal=t_key - t_query)


def causal_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0, training: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q Kᵀ / √d + mask) V, written out. Returns (output, weights).

    q: (..., Tq, d), k and v: (..., Tk, d) with Tq <= Tk  ->  output (..., Tq, d), weights (..., Tq, Tk).
    """
    t_query, t_key = q.size(-2), k.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., Tq, Tk)
    scores = scores.masked_fill(~causal_mask(t_query, t_key, q.device), float("-inf"))
    weights = F.softmax(scores, dim=-1)  # each row sums to 1, zero above the diagonal
    if dropout_p > 0.0 and training:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights


class AttentionHead(nn.Module):
    """One causal self-attention head with its own query, key and value projections (Model 3).

    The mask is built for the length of the input, so every length up to ``block_size`` works.
    """

    def __init__(self, n_embd: int, head_size: int, block_size: int, bias: bool = False):
        super().__init__()
        self.block_size = block_size
        self.query = nn.Linear(n_embd, head_size, bias=bias)
        self.key = nn.Linear(n_embd, head_size, bias=bias)
        self.value = nn.Linear(n_embd, head_size, bias=bias)
        self.save_attention_weights = False
        self.attention_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, T, _ = x.shape  # (B, T, C)
        if T > self.block_size:
            raise ValueError(f"Input has {T} tokens but this head was built for at most {self.block_size}.")
        q, k, v = self.query(x), self.key(x), self.value(x)  # (B, T, head_size) each
        out, weights = causal_attention(q, k, v)  # (B, T, head_size), (B, T, T)
        if self.save_attention_weights:
            self.attention_weights = weights.detach()
        return out


class KVCache:
    """Keys and values of the tokens already seen, one (k, v) pair per layer, each (B, H, T_past, head_size)."""

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        first = self.layers[0]
        return 0 if first is None else first[0].size(2)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values for one layer; return all of them."""
        past = self.layers[layer]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, GPT-2 style: one fused Linear for Q, K, V (``c_attn``), then ``c_proj``.

    Two paths compute the same thing: the manual one (``causal_attention``, which can keep the attention
    weights) and PyTorch's fused ``F.scaled_dot_product_attention``. Set ``use_sdpa = False`` or
    ``save_attention_weights = True`` to take the manual path.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.use_sdpa = True
        self.save_attention_weights = False
        self.attention_weights: torch.Tensor | None = None

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, hs)

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # (B, T, C) each
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)  # (B, H, T, hs)
        if kv_cache is not None:
            k, v = kv_cache.update(layer, k, v)  # (B, H, T_past + T, hs)
        dropout_p = self.dropout if self.training else 0.0
        if self.save_attention_weights or not self.use_sdpa:
            y, weights = causal_attention(q, k, v, dropout_p, self.training)
            if self.save_attention_weights:
                self.attention_weights = weights.detach()  # (B, H, T, T_past + T)
        elif k.size(2) == T:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        else:  # queries after a cache: the mask is offset (is_causal would align it top-left)
            mask = causal_mask(T, k.size(2), x.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Per-token feed-forward network: expand to 4·C, GELU (tanh form, as GPT-2), project back to C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(LN(x)), then x + MLP(LN(x)). Shapes stay (B, T, C)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), kv_cache, layer)
        x = x + self.mlp(self.ln_2(x))
        return x
