"""The course's language models, from the simplest (Model 1) to GPT-2 (Model 5, ``GPT``).

Every model maps token ids (B, T) to logits (B, T, V); given targets (B, T) it also returns the
cross-entropy loss: ``logits = model(idx)`` or ``logits, loss = model(idx, targets)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import GPTConfig
from .layers import MLP, AttentionHead, Block, KVCache


def with_loss(logits: torch.Tensor, targets: torch.Tensor | None):
    """``logits`` alone, or ``(logits, loss)`` when targets are given (ignore_index = -1)."""
    if targets is None:
        return logits
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets have shape {tuple(targets.shape)}, expected {tuple(logits.shape[:-1])} (B, T).")
    if not torch.compiler.is_compiling() and targets.numel() and bool((targets == -1).all()):
        raise ValueError("every target is -1 (ignored), so the loss is a mean over nothing; give some real targets.")
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
    return logits, loss


def check_tokens(idx: torch.Tensor, vocab_size: int, max_len: int | None = None) -> None:
    """Clear errors for the usual mistakes: wrong dtype or rank, ids out of range, too long a context."""
    if not torch.is_tensor(idx):
        raise TypeError(
            f"Token ids must be a torch tensor (B, T) of integers, got {type(idx).__name__}; "
            "convert with torch.tensor(ids) (add [None] for one sequence)."
        )
    if idx.dtype not in (torch.long, torch.int, torch.int32, torch.int64):
        raise TypeError(f"Token ids must be an integer tensor (torch.long), got {idx.dtype}.")
    if idx.ndim != 2:
        raise ValueError(f"Token ids must have shape (B, T), got {tuple(idx.shape)}; add a batch dim with idx[None].")
    if idx.size(1) == 0:
        raise ValueError("The input has no tokens (T = 0).")
    if max_len is not None and idx.size(1) > max_len:
        raise ValueError(
            f"The input has {idx.size(1)} tokens but the model's block_size is {max_len}; "
            f"crop it to the last {max_len} tokens (idx[:, -{max_len}:])."
        )
    if torch.compiler.is_compiling():
        return  # reading values back would break the compiled graph; eager runs check them
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= vocab_size):
        raise ValueError(f"Token ids must be in 0..{vocab_size - 1}, got min {int(idx.min())}, max {int(idx.max())}.")


def as_config(config_or_vocab: GPTConfig | int, n_embd: int | None = None, block_size: int | None = None) -> GPTConfig:
    """One constructor convention for every model: a ``GPTConfig``.

    Lessons 02 and 10 come before ``GPTConfig`` is taught, so ``Model1`` and ``Model2`` also accept the short
    form ``Model1(vocab_size, n_embd)`` / ``Model2(vocab_size, n_embd, block_size)``; it builds the same config.
    """
    if isinstance(config_or_vocab, GPTConfig):
        if n_embd is not None or block_size is not None:
            raise TypeError("Pass either a GPTConfig or (vocab_size, n_embd[, block_size]), not both.")
        return config_or_vocab
    if n_embd is None:
        raise TypeError("Pass a GPTConfig, or vocab_size and n_embd (and block_size for Model 2).")
    extra = {} if block_size is None else {"block_size": block_size}
    return GPTConfig(vocab_size=config_or_vocab, n_embd=n_embd, n_layer=1, n_head=1, **extra)


class Model1(nn.Module):
    """Model 1: token embedding -> GELU -> Linear. No attention, no positions: each token predicts the next alone.

    ``Model1(config)`` or ``Model1(vocab_size, n_embd)``; only ``vocab_size`` and ``n_embd`` are used.
    """

    def __init__(self, config: GPTConfig | int, n_embd: int | None = None):
        super().__init__()
        self.config = as_config(config, n_embd)
        self.vocab_size = self.config.vocab_size
        self.embedding = nn.Embedding(self.config.vocab_size, self.config.n_embd)
        self.gelu = nn.GELU()
        self.unembedding = nn.Linear(self.config.n_embd, self.config.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        check_tokens(idx, self.vocab_size)
        x = self.gelu(self.embedding(idx))  # (B, T, C)
        return with_loss(self.unembedding(x), targets)  # (B, T, V)


class Model2(nn.Module):
    """Model 2: token + learned position embeddings -> LayerNorm -> MLP (GELU) -> tied unembedding / √C.

    ``Model2(config)`` or ``Model2(vocab_size, n_embd, block_size)``. The MLP between the embedding and the tied
    unembedding matters: without it the hidden vector of token w points along E[w] and the model predicts its
    own input (lesson 10 measures this). Each position still sees only its own token: a bigram model.
    ``mix_positions`` is where later models let positions see each other; Model 2 leaves them alone.
    """

    def __init__(self, config: GPTConfig | int, n_embd: int | None = None, block_size: int | None = None):
        super().__init__()
        self.config = as_config(config, n_embd, block_size)
        C = self.config.n_embd
        self.vocab_size, self.block_size = self.config.vocab_size, self.config.block_size
        self.token_embedding = nn.Embedding(self.vocab_size, C)
        self.position_embedding = nn.Embedding(self.block_size, C)
        self.layer_norm = nn.LayerNorm(C)
        self.mlp = MLP(self.config)  # C -> 4C -> GELU -> C

    def mix_positions(self, x: torch.Tensor) -> torch.Tensor:
        return x  # Model 2: every position alone

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        check_tokens(idx, self.vocab_size, self.block_size)
        positions = torch.arange(idx.size(1), device=idx.device)
        x = self.token_embedding(idx) + self.position_embedding(positions)  # (B, T, C)
        x = self.mix_positions(x)  # (B, T, C)
        h = self.mlp(self.layer_norm(x))  # (B, T, C)
        W = self.token_embedding.weight  # (V, C): the same matrix embeds and unembeds
        logits = h @ W.T / math.sqrt(W.size(1))  # (B, T, V)
        return with_loss(logits, targets)


class Model3(Model2):
    """Model 3: Model 2 plus one causal attention sublayer with its residual, x + W_O·head(LN(x)).

    Nothing else changes (same embeddings, initialisation, MLP, tied head and 1/√C scaling), so comparing
    Model 3 with Model 2 measures what attention adds.
    """

    def __init__(self, config: GPTConfig):
        super().__init__(config)
        C = self.config.n_embd
        self.attention_norm = nn.LayerNorm(C)
        self.head = AttentionHead(C, C, self.block_size)
        self.proj = nn.Linear(C, C)  # W_O

    def mix_positions(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(self.head(self.attention_norm(x)))  # (B, T, C): residual connection


class GPT(nn.Module):
    """Model 5: GPT-2. Parameter names follow Hugging Face's ``GPT2LMHeadModel`` so weights map one to one."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        config.check_fits_in_memory(torch.empty(0).device.type)  # not minutes of allocation first
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight  # one matrix, counted once
        self.apply(self._init_weights)
        # GPT-2 scales the residual projections by 1/√(2·n_layer): each block adds twice to the stream.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Distinct parameters (a tied matrix counts once); optionally without the position embeddings."""
        n = sum(p.numel() for p in self.parameters())  # parameters() yields a shared tensor once
        if exclude_embeddings:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, kv_cache: KVCache | None = None):
        past = 0 if kv_cache is None else kv_cache.length
        check_tokens(idx, self.config.vocab_size)
        if past + idx.size(1) > self.config.block_size:
            raise ValueError(
                f"{past} cached + {idx.size(1)} new tokens exceed block_size = {self.config.block_size}; "
                f"crop the input to the last {self.config.block_size} tokens."
            )
        positions = torch.arange(past, past + idx.size(1), device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(positions)  # (B, T, C)
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, kv_cache, i)
        logits = self.lm_head(self.transformer.ln_f(x))  # (B, T, V)
        return with_loss(logits, targets)

    def new_kv_cache(self) -> KVCache:
        return KVCache(self.config.n_layer)


class Model4(GPT):
    """Model 4: a stack of pre-LN blocks, final LayerNorm, tied head, one attention head per block.

    It is GPT's code with ``n_head = 1`` (multi-head attention comes in lesson 19), so it also takes GPT-2's
    initialisation (std 0.02, no 1/√C on the logits) instead of Model 2/3's PyTorch defaults.
    """

    def __init__(self, config: GPTConfig):
        super().__init__(config.replace(n_head=1))
