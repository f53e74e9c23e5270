"""The course corpora, train/validation splits, sliding windows and random batches."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from ._files import verified_path

CORPORA = {
    "timemachine": "timemachine.txt",  # H. G. Wells, The Time Machine (English)
    "tinyshakespeare": "tinyshakespeare.txt",  # Tiny Shakespeare (English)
    "truyen_kieu": "truyen_kieu.txt",  # Nguyễn Du, Truyện Kiều (Vietnamese, lục bát)
}


def load_corpus(name: str) -> str:
    """The text of a bundled corpus, checked against its sha256."""
    if name not in CORPORA:
        raise ValueError(f"Unknown corpus {name!r}. Choose one of: {', '.join(CORPORA)}.")
    return verified_path(CORPORA[name]).read_text(encoding="utf-8")


def train_val_split(tokens: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 1-D token sequence in time: the first part trains, the last ``val_fraction`` validates."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}.")
    tokens = torch.as_tensor(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"Expected a 1-D token sequence, got shape {tuple(tokens.shape)}.")
    n_train = int(len(tokens) * (1.0 - val_fraction))
    return tokens[:n_train], tokens[n_train:]


def _as_token_ids(tokens, what: str = "tokens") -> torch.Tensor:
    """A 1-D integer tensor of token ids from a tensor, list or NumPy array; floats and 2-D input are refused."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{what} must be token ids (integers), got {type(tokens).__name__}; encode the text first.")
    try:
        ids = torch.as_tensor(tokens)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{what} must be a sequence of integer token ids ({err}).") from None
    if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
        raise TypeError(
            f"{what} must hold integer token ids, got dtype {ids.dtype} (a float id like 5.9 would be truncated); "
            "convert with .long() only if the values are whole numbers."
        )
    if ids.ndim != 1:
        raise ValueError(
            f"{what} must be a 1-D sequence of token ids, got shape {tuple(ids.shape)}; flatten it "
            "(tokens.flatten()) or pass one row."
        )
    return ids


def _positive_int(name: str, value, minimum: int = 1) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be {'positive' if minimum == 1 else f'>= {minimum}'}, got {value}.")
    return value


def _check_window(tokens: torch.Tensor, seq_len: int) -> None:
    if not isinstance(seq_len, int) or isinstance(seq_len, bool):
        _positive_int("seq_len", seq_len)
    if seq_len <= 0:
        raise ValueError(f"seq_len must be positive, got {seq_len}.")
    if len(tokens) < seq_len + 1:
        raise ValueError(
            f"The sequence has {len(tokens)} tokens, too few for windows of seq_len={seq_len} "
            "(each window needs seq_len + 1 tokens: inputs and the next-token targets). Use a shorter seq_len."
        )


class SlidingWindowDataset(Dataset):
    """Windows ``(x, y)`` of ``seq_len`` tokens, ``y`` shifted one token to the right, every ``stride`` tokens."""

    def __init__(self, tokens: Sequence[int] | torch.Tensor, seq_len: int, stride: int | None = None):
        self.tokens = _as_token_ids(tokens).long()
        _check_window(self.tokens, seq_len)
        self.seq_len = seq_len
        self.stride = seq_len if stride is None else _positive_int("stride", stride)

    def __len__(self) -> int:
        return (len(self.tokens) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        start = (i % len(self)) * self.stride
        chunk = self.tokens[start : start + self.seq_len + 1]
        return chunk[:-1], chunk[1:]


def get_batch(
    tokens: torch.Tensor,
    batch_size: int,
    seq_len: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of windows: x (B, T) and the next tokens y (B, T)."""
    tokens = _as_token_ids(tokens)
    batch_size = _positive_int("batch_size", batch_size, minimum=0)
    _check_window(tokens, seq_len)
    starts = torch.randint(len(tokens) - seq_len, (batch_size,), generator=generator)
    offsets = torch.arange(seq_len + 1)
    chunks = tokens[starts[:, None] + offsets]  # (B, T + 1)
    x, y = chunks[:, :-1], chunks[:, 1:]
    return x.to(device), y.to(device)


def _ids_any_shape(ids, what: str) -> torch.Tensor:
    """Integer ids of any shape (an empty list is an empty id tensor); floats are refused."""
    tensor = torch.as_tensor(ids)
    if tensor.numel() == 0:
        return tensor.long()
    if tensor.dtype == torch.bool or tensor.is_floating_point() or tensor.is_complex():
        raise TypeError(f"{what} must be integer token ids, got dtype {tensor.dtype} (5.9 would become 5).")
    return tensor.long()


class CompactVocab:
    """Renumber the token ids that actually occur in a corpus as 0..n-1.

    A corpus of 45,000 GPT-2 tokens uses only ~6,000 of the 50,257 ids. On a CPU, the output layer over the
    full vocabulary dominates a small model's training step; training over the compact vocabulary is
    ~10x faster and teaches the same ideas. GPT-2 weights need the full vocabulary.
    """

    def __init__(self, token_ids: Sequence[int] | torch.Tensor):
        self.ids = torch.unique(_ids_any_shape(token_ids, "token_ids"))  # sorted original ids
        self._index = {int(t): i for i, t in enumerate(self.ids)}

    @property
    def size(self) -> int:
        return len(self.ids)

    def compact(self, token_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Original ids -> compact ids."""
        ids = _ids_any_shape(token_ids, "token_ids")
        try:
            return torch.tensor([self._index[int(t)] for t in ids.flatten()], dtype=torch.long).view(ids.shape)
        except KeyError as err:
            raise ValueError(f"Token id {err.args[0]} does not occur in the corpus this vocabulary was built from.") from None

    def expand(self, compact_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Compact ids -> original ids."""
        compact_ids = _ids_any_shape(compact_ids, "compact_ids")
        if compact_ids.numel() and (compact_ids.min() < 0 or compact_ids.max() >= self.size):
            raise ValueError(f"Compact ids must be in 0..{self.size - 1}.")
        return self.ids[compact_ids]

    def __repr__(self) -> str:
        return f"CompactVocab(size={self.size})"


def make_batch_fn(
    train_tokens: torch.Tensor,
    val_tokens: torch.Tensor,
    batch_size: int,
    seq_len: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
):
    """A ``get_batch(split)`` for ``training.train``: random windows of the "train" or "val" tokens.

    It owns a generator seeded with ``seed``, so two models trained with ``make_batch_fn(..., seed=1)`` see the
    same batches in the same order (a fair comparison), and a lesson prints the same numbers every run.
    """
    _check_window(train_tokens, seq_len)
    _check_window(val_tokens, seq_len)
    generator = torch.Generator().manual_seed(seed)
    sources = {"train": train_tokens, "val": val_tokens}

    def batch(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in sources:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
        return get_batch(sources[split], batch_size, seq_len, generator=generator, device=device)  # (B, T) each

    return batch
