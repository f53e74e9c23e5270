"""Model configuration: one dataclass and its named presets."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, replace

GPT2_VOCAB_SIZE = 50257  # 50,000 BPE merges + 256 bytes + <|endoftext|>


@dataclass(frozen=True)
class GPTConfig:
    """Sizes of a GPT-style model. Defaults are GPT-2 small (124M)."""

    vocab_size: int = GPT2_VOCAB_SIZE
    block_size: int = 1024  # the longest context the model accepts (n_positions)
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True  # biases in Linear layers and LayerNorms, as in GPT-2
    tie_weights: bool = True  # the output head shares the token-embedding matrix
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}.")
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) so that every head "
                f"gets n_embd // n_head dimensions; pick e.g. n_head in {_divisors(self.n_embd)}."
            )
        for name in ("bias", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"GPTConfig.{name} must be True or False, got {getattr(self, name)!r}.")
        if not _is_real(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}.")
        if not _is_real(self.layer_norm_eps) or not 0.0 < self.layer_norm_eps < math.inf:
            raise ValueError(f"layer_norm_eps must be a positive finite number, got {self.layer_norm_eps!r}.")

    def parameter_count(self) -> int:
        """Distinct parameters of ``GPT(self)`` (a tied head counted once), computed from the sizes alone."""
        C, V, L = self.n_embd, self.vocab_size, self.n_layer
        norm = 2 * C if self.bias else C  # LayerNorm: weight (+ bias)
        bias = 1 if self.bias else 0
        block = 2 * norm + (3 * C * C + bias * 3 * C) + (C * C + bias * C) + (4 * C * C + bias * 4 * C) + (4 * C * C + bias * C)
        head = 0 if self.tie_weights else V * C
        return V * C + self.block_size * C + L * block + norm + head

    def check_fits_in_memory(self, device_type: str = "cpu", bytes_per_parameter: int = 4) -> None:
        """Refuse, before allocating anything, a model whose weights alone exceed this machine's memory (CPU)."""
        if device_type != "cpu" or not hasattr(os, "sysconf"):
            return
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return
        needed = self.parameter_count() * bytes_per_parameter
        if needed > total:
            raise MemoryError(
                f"This GPTConfig has {self.parameter_count():,} parameters: {needed / 2**30:,.1f} GiB of weights, "
                f"more than this machine's {total / 2**30:,.1f} GiB of memory. Use smaller sizes, or build it on "
                "the meta device (with torch.device('meta'): GPT(config)) to count parameters without memory."
            )

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def replace(self, **changes) -> GPTConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def preset(cls, name: str, **overrides) -> GPTConfig:
        """A named configuration, e.g. ``GPTConfig.preset("gpt2")`` or ``GPTConfig.preset("cpu-small")``."""
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}. Choose one of: {', '.join(PRESETS)}.")
        return cls(**{**PRESETS[name], **overrides})


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, min(n, 64) + 1) if n % d == 0]


PRESETS: dict[str, dict] = {
    # The "nano-gpt" of the 3-D visualisation (lesson 25): sorts 6 letters of a 3-letter alphabet.
    "nano": dict(vocab_size=3, block_size=11, n_layer=3, n_head=3, n_embd=48),
    # Small models that train in seconds on one CPU thread (lessons 10-21).
    "cpu-tiny": dict(block_size=32, n_layer=1, n_head=1, n_embd=64),
    "cpu-small": dict(block_size=64, n_layer=4, n_head=4, n_embd=128),
    # The four GPT-2 sizes published by OpenAI.
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),
}
