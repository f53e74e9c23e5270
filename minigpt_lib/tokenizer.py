"""Tokenizers: GPT-2's byte-level BPE (offline) and a character tokenizer."""

from __future__ import annotations

import base64
import numbers
from collections.abc import Iterable
from functools import cache

import tiktoken

from ._files import verified_path

ENDOFTEXT = "<|endoftext|>"
ENDOFTEXT_ID = 50256
GPT2_N_VOCAB = 50257

# GPT-2's pre-tokenisation pattern, as tiktoken writes it (equivalent to the original, faster).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


def load_ranks(path=None) -> dict[bytes, int]:
    """Read a ``.tiktoken`` ranks file: one ``base64(token_bytes) rank`` pair per line."""
    path = path or verified_path("gpt2.tiktoken")
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
            except ValueError as err:
                raise ValueError(f"{path}:{line_no} is not '<base64> <rank>': {line[:60]!r}") from err
    return ranks


def _token_ids(ids, n_vocab: int) -> list[int]:
    """A flat list of valid token ids from a list, tuple, NumPy array or 1-D tensor; anything else is named."""
    if hasattr(ids, "ndim") and ids.ndim != 1:
        raise ValueError(f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}; decode one row at a time.")
    ids = list(ids.tolist() if hasattr(ids, "tolist") else ids)
    if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in ids):
        raise TypeError("decode needs integer token ids; got non-integers (e.g. 1.7 would be truncated).")
    bad = [int(i) for i in ids if not 0 <= i < n_vocab]
    if bad:
        raise ValueError(f"Token ids {bad[:5]} are outside 0..{n_vocab - 1}.")
    return [int(i) for i in ids]


class GPT2Encoding(tiktoken.Encoding):
    """tiktoken's ``Encoding`` with clear errors: ``encode`` needs a str, ``decode`` also takes tensors."""

    def encode(self, text, *args, **kwargs):
        if not isinstance(text, str):
            raise TypeError(f"encode needs a str, got {type(text).__name__}; decode bytes with .decode('utf-8') first.")
        return super().encode(text, *args, **kwargs)

    def encode_ordinary(self, text):
        if not isinstance(text, str):
            raise TypeError(f"encode_ordinary needs a str, got {type(text).__name__}.")
        return super().encode_ordinary(text)

    def decode(self, tokens, errors: str = "replace") -> str:
        return super().decode(_token_ids(tokens, self.n_vocab), errors=errors)


@cache
def gpt2_tokenizer() -> GPT2Encoding:
    """GPT-2's tokenizer, built from the ranks shipped with the library (no download).

    Encodes and decodes exactly like ``tiktoken.get_encoding("gpt2")``: 50,257 tokens,
    ``<|endoftext|>`` = 50256.
    """
    return GPT2Encoding(
        name="gpt2",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=load_ranks(),
        special_tokens={ENDOFTEXT: ENDOFTEXT_ID},
        explicit_n_vocab=GPT2_N_VOCAB,
    )


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters of a text."""

    def __init__(self, chars: Iterable[str]):
        if isinstance(chars, (bytes, bytearray)) or chars is None:
            raise TypeError(f"CharTokenizer needs a str (or characters), got {type(chars).__name__}; decode bytes first.")
        self.chars: list[str] = sorted(set(chars))
        if not all(isinstance(ch, str) and len(ch) == 1 for ch in self.chars):
            raise TypeError("CharTokenizer needs a str (or single characters); got other items.")
        if not self.chars:
            raise ValueError("CharTokenizer needs at least one character; got an empty text.")
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(text)

    @property
    def n_vocab(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"encode needs a str, got {type(text).__name__}.")
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError as err:
            raise ValueError(
                f"Character {err.args[0]!r} is not in this tokenizer's vocabulary of {self.n_vocab} characters; "
                "build the tokenizer from a text that contains it."
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        if hasattr(ids, "ndim") and ids.ndim != 1:
            raise ValueError(f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}; decode one row at a time.")
        ids = list(ids.tolist() if hasattr(ids, "tolist") else ids)
        if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in ids):
            raise TypeError("decode needs integer token ids; got non-integers (e.g. 1.7 would be truncated).")
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.n_vocab]
        if bad:
            raise ValueError(f"Token ids {bad[:5]} are outside 0..{self.n_vocab - 1}.")
        return "".join(self.chars[i] for i in ids)

    def __repr__(self) -> str:
        return f"CharTokenizer(n_vocab={self.n_vocab})"
