"""Synthetic tasks that isolate one ability of attention (lesson 19: a task that needs several heads).

:class:`LastLetterDigit`: a random stream of "letters", "digits" and question marks; at every ``?`` the answer is the
ordered pair (last letter so far, last digit so far). Each lookup is easy for a head of its own (attend to the most
recent token of one kind); one softmax has to serve both at once, and the more recent tokens of the other kind get in
the way. Measured with ``mg.GPT`` (1 block, C = 32, 300 AdamW steps at lr 1e-2, 8 seeds): 1 head 11-60 % accuracy,
4 heads (same parameters) 90-98 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LastLetterDigit:
    """Tokens 0..K-1 are letters, K..2K-1 digits, 2K the question mark; the answer to ``?`` is ``letter * K + digit``."""

    n_symbols: int = 8  # K: letters and digits each
    block_size: int = 16  # T
    p_query: float = 0.25  # chance that a token is '?'; letters and digits share the rest equally

    def __post_init__(self) -> None:
        if not isinstance(self.n_symbols, int) or self.n_symbols < 2:
            raise ValueError(f"n_symbols must be an integer >= 2, got {self.n_symbols!r}.")
        if not isinstance(self.block_size, int) or self.block_size < 3:
            raise ValueError(f"block_size must be an integer >= 3, got {self.block_size!r}.")
        if not 0.0 < self.p_query < 1.0:
            raise ValueError(f"p_query must be in (0, 1), got {self.p_query!r}.")

    @property
    def query_token(self) -> int:
        return 2 * self.n_symbols

    @property
    def vocab_size(self) -> int:
        """Large enough for the inputs (2K + 1 tokens) and for the K² answers."""
        return max(self.n_symbols**2, 2 * self.n_symbols + 1)

    def batch(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x, y of shape (n, T); y = -1 (not scored) except at a '?' that follows at least one letter and one digit."""
        K, T = self.n_symbols, self.block_size
        kind_probs = torch.tensor([self.p_query, (1 - self.p_query) / 2, (1 - self.p_query) / 2])
        kind = torch.multinomial(kind_probs, n * T, replacement=True, generator=generator).view(
            n, T
        )  # 0 ?, 1 letter, 2 digit
        symbol = torch.randint(0, K, (n, T), generator=generator)
        x = torch.where(kind == 0, self.query_token, torch.where(kind == 1, symbol, K + symbol))
        letter_pos, digit_pos = self.last_positions(x)
        scored = (kind == 0) & (letter_pos >= 0) & (digit_pos >= 0)
        answer = symbol.gather(1, letter_pos.clamp(min=0)) * K + symbol.gather(1, digit_pos.clamp(min=0))
        return x, torch.where(scored, answer, -1)

    def last_positions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, T) each: the position of the last letter / last digit at or before every position (-1: none yet)."""
        K = self.n_symbols
        pos = torch.arange(x.size(1), device=x.device).expand_as(x)
        is_letter, is_digit = x < K, (x >= K) & (x < 2 * K)
        last_letter = torch.where(is_letter, pos, -1).cummax(dim=1).values
        last_digit = torch.where(is_digit, pos, -1).cummax(dim=1).values
        return last_letter, last_digit


@torch.no_grad()
def masked_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the scored positions (y >= 0) where ``model(x)``'s most likely token equals y."""
    scored = y >= 0
    if not scored.any():
        raise ValueError("no scored position (every target is -1): make a larger batch.")
    model.eval()
    pred = model(x).argmax(-1)  # (B, T)
    return (pred[scored] == y[scored]).float().mean().item()


def lookup_mass(
    attention: torch.Tensor, task: LastLetterDigit, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """(H, 2): each head's mean attention weight, at the scored '?' positions, on the last letter and on the last digit.

    ``attention`` is one layer's weights (B, H, T, T). A head that fetches one of the two answers puts most of its
    weight on that position; an untrained head spreads its weight over the whole past.
    """
    scored = y >= 0  # (B, T)
    letter_pos, digit_pos = task.last_positions(x)  # (B, T) each
    masses = []
    for where in (letter_pos, digit_pos):
        w = attention.gather(3, where.clamp(min=0)[:, None, :, None].expand(-1, attention.size(1), -1, 1))[
            ..., 0
        ]
        masses.append(w.permute(1, 0, 2)[:, scored].mean(-1))  # (H,)
    return torch.stack(masses, dim=-1)
