"""A readable byte-level BPE tokenizer in GPT-2's style: train it on a text, or load GPT-2's ranks.

Byte pair encoding (Sennrich et al., 2016) starts from the 256 byte values and repeats one step: find the pair of
adjacent tokens that occurs most often and merge it into a new token. GPT-2's variant works on the UTF-8 bytes of
the text (so any text can be encoded) and first splits the text into *pre-tokens* with a regular expression
(a word with the space before it, a run of digits, a run of punctuation...), so that no merge crosses their borders.

    tok = train_bpe(load_corpus("truyen_kieu"), vocab_size=1_000)   # 256 bytes + 744 merges
    ids = tok.encode("Trăm năm trong cõi người ta")
    assert tok.decode(ids) == "Trăm năm trong cõi người ta"

    gpt2 = BPETokenizer.from_tiktoken_ranks()   # GPT-2's 50,000 merges, encodes exactly like tiktoken

Training counts pairs once over the *distinct* pre-tokens (weighted by how often each occurs) and, after each merge,
updates the counts only for the pre-tokens that contained the merged pair, instead of recounting everything.
Special tokens such as ``<|endoftext|>`` are not handled: they are encoded as plain text, like tiktoken's
``encode_ordinary``.
"""

from __future__ import annotations

import heapq
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise

import regex

from .tokenizer import GPT2_PATTERN, load_ranks

GPT2_SPLIT_PATTERN = GPT2_PATTERN  # GPT-2's pre-tokenisation regular expression (see tokenizer.py)
N_BYTES = 256

Pair = tuple[int, int]


# ----------------------------------------------------------------------------------------------------------------
# The two steps of BPE, on one sequence of token ids


def count_pairs(ids: Sequence[int], counts: Counter | None = None, weight: int = 1) -> Counter:
    """Count the adjacent pairs of ``ids``, each occurrence adding ``weight``, into ``counts`` (a new Counter by default).

    ``count_pairs([1, 2, 1, 2])`` -> ``{(1, 2): 2, (2, 1): 1}``. Pairs never cross the end of ``ids``: call it once
    per pre-token.
    """
    counts = Counter() if counts is None else counts
    for pair in pairwise(ids):
        counts[pair] += weight
    return counts


def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``new_id``, scanning left to right.

    Overlapping occurrences are taken from the left: ``merge_pair([7, 7, 7], (7, 7), 9)`` -> ``[9, 7]``.
    """
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def apply_merges(ids: Sequence[int], merges: dict[Pair, int]) -> list[int]:
    """Encode one pre-token: apply the learned merges, always the earliest learned pair present, leftmost first.

    The result is the definition of BPE encoding, trying every merge in the order learned::

        for pair, new_id in merges.items():
            ids = merge_pair(ids, pair, new_id)

    but without a pass over the whole vocabulary, and in O(n log n) for a pre-token of n bytes (a long run of
    letters without spaces, e.g. Chinese text, is one pre-token): the tokens form a linked list and the pairs that
    can merge wait in a heap ordered by (merge id, position). A merge only changes the pairs with its two
    neighbours, and those can only merge later (a merge's id is larger than the ids of its parts).
    """
    ids: list[int | None] = list(ids)
    next_pos = [*range(1, len(ids)), None]  # the next token still alive after each position
    prev_pos = [None, *range(len(ids) - 1)]
    heap = [(merges[pair], i) for i, pair in enumerate(pairwise(ids)) if pair in merges]
    heapq.heapify(heap)
    while heap:
        new_id, i = heapq.heappop(heap)
        j = next_pos[i]
        if ids[i] is None or j is None or merges.get((ids[i], ids[j])) != new_id:
            continue  # stale: position i was absorbed, or its right neighbour changed since this pair was pushed
        ids[i], ids[j] = new_id, None  # position i takes the merged token, j disappears
        next_pos[i] = next_pos[j]
        if next_pos[j] is not None:
            prev_pos[next_pos[j]] = i
        for left, right in ((prev_pos[i], i), (i, next_pos[i])):  # the two new pairs around the merged token
            if left is not None and right is not None and (ids[left], ids[right]) in merges:
                heapq.heappush(heap, (merges[ids[left], ids[right]], left))
    return [token for token in ids if token is not None]


# ----------------------------------------------------------------------------------------------------------------
# The tokenizer


class BPETokenizer:
    """Byte-level BPE: a table of 256 byte tokens plus an ordered list of merges ``(left, right) -> new id``.

    Encoding splits the text into pre-tokens with ``pattern``, writes each as byte tokens, then applies the merges
    in the order they were learned (:func:`apply_merges`); each pre-token's result is cached. A merge's id tells
    its order: a merge learned earlier has a smaller id. Decoding concatenates the bytes of the tokens.
    """

    _CACHE_SIZE = 100_000  # pre-tokens whose encoding is remembered

    def __init__(
        self,
        merges: dict[Pair, int],
        pattern: str | None = GPT2_SPLIT_PATTERN,
        byte_ids: Sequence[int] | None = None,
    ):
        self.byte_ids: list[int] = list(range(N_BYTES)) if byte_ids is None else list(byte_ids)
        if sorted(self.byte_ids) != list(range(N_BYTES)):
            raise ValueError("byte_ids must give each of the 256 byte values its own id in 0..255.")
        self.merges: dict[Pair, int] = dict(merges)  # in the order they were learned
        self.pattern = pattern
        self._split = (
            regex.compile(pattern).findall if pattern is not None else (lambda text: [text] if text else [])
        )

        self.vocab: dict[int, bytes] = {token: bytes([b]) for b, token in enumerate(self.byte_ids)}
        for (left, right), new_id in self.merges.items():
            if left not in self.vocab or right not in self.vocab:
                raise ValueError(
                    f"Merge {(left, right)} -> {new_id} uses a token that no earlier merge made."
                )
            if new_id in self.vocab:
                raise ValueError(f"Merge {(left, right)} -> {new_id} reuses the id {new_id}.")
            if new_id <= max(left, right):
                raise ValueError(
                    f"Merge {(left, right)} -> {new_id}: a merge's id must be larger than its parts'."
                )
            self.vocab[new_id] = self.vocab[left] + self.vocab[right]
        if sorted(self.vocab) != list(range(len(self.vocab))):
            raise ValueError("The token ids must be exactly 0..n_vocab-1.")
        self._cache: dict[str, list[int]] = {}

    # -- loading GPT-2 -----------------------------------------------------------------------------------------

    @classmethod
    def from_tiktoken_ranks(cls, path=None, pattern: str = GPT2_SPLIT_PATTERN) -> BPETokenizer:
        """GPT-2's tokenizer from a ``.tiktoken`` ranks file (default: the one shipped with the library, sha256-checked).

        The file lists each token's bytes with its rank, not the pair it was merged from. We recover the pair the
        way tiktoken would build the token: run BPE on the token's own bytes with only the lower ranks; the last
        two pieces are the pair. The result encodes exactly like ``mg.gpt2_tokenizer().encode_ordinary``.
        """
        ranks = load_ranks(path)
        if sorted(ranks.values()) != list(range(len(ranks))):
            raise ValueError(f"{path or 'gpt2.tiktoken'}: the ranks must be exactly 0..{len(ranks) - 1}.")
        singles = [bytes([b]) for b in range(N_BYTES)]
        if any(b not in ranks for b in singles):
            raise ValueError(
                f"{path or 'gpt2.tiktoken'}: a byte-level ranks file must contain all 256 single bytes."
            )
        byte_ids = [ranks[b] for b in singles]
        merges = {}
        for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
            if len(token) == 1:
                continue
            pieces = _bpe_on_bytes(ranks, token, max_rank=rank)
            if len(pieces) != 2:
                raise ValueError(
                    f"Token {token!r} (rank {rank}) cannot be built by merging two lower-ranked tokens."
                )
            merges[ranks[pieces[0]], ranks[pieces[1]]] = rank
        return cls(merges, pattern=pattern, byte_ids=byte_ids)

    # -- encode / decode ---------------------------------------------------------------------------------------

    @property
    def n_vocab(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; every string can be encoded (byte level)."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}; decode bytes to str first.")
        ids: list[int] = []
        for chunk in self._split(text):
            ids.extend(self._encode_chunk(chunk))
        return ids

    def _encode_chunk(self, chunk: str) -> list[int]:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        ids = apply_merges([self.byte_ids[b] for b in chunk.encode("utf-8")], self.merges)
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.clear()
        self._cache[chunk] = ids
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of ``ids`` (a list of ints, or a 1-D integer tensor or array)."""
        try:
            ids = [operator.index(i) for i in ids]
        except TypeError as err:
            raise TypeError(
                f"Token ids must be integers: {err}. Decode a list of ints or an integer tensor."
            ) from None
        unknown = [i for i in ids if i not in self.vocab]
        if unknown:
            raise ValueError(
                f"Token ids {unknown[:5]} are outside this tokenizer's vocabulary 0..{self.n_vocab - 1}."
            )
        return b"".join(self.vocab[i] for i in ids)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``. A sequence that cuts a character's UTF-8 bytes shows U+FFFD there (like tiktoken)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def truncated(self, vocab_size: int) -> BPETokenizer:
        """The tokenizer with only the first ``vocab_size - 256`` merges (what training to ``vocab_size`` gives)."""
        _check_vocab_size(vocab_size)
        if vocab_size > self.n_vocab:
            raise ValueError(
                f"vocab_size={vocab_size} is larger than this tokenizer's {self.n_vocab} tokens."
            )
        kept = dict(list(self.merges.items())[: vocab_size - N_BYTES])
        return BPETokenizer(kept, pattern=self.pattern, byte_ids=self.byte_ids)

    def __repr__(self) -> str:
        return f"BPETokenizer(n_vocab={self.n_vocab}, merges={len(self.merges)})"


def _bpe_on_bytes(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """tiktoken's rule on one token: merge the adjacent pieces whose concatenation has the lowest rank < max_rank."""
    pieces = [bytes([b]) for b in token]
    while len(pieces) >= 2:
        best_i, best_rank = None, max_rank
        for i in range(len(pieces) - 1):
            rank = ranks.get(pieces[i] + pieces[i + 1])
            if rank is not None and rank < best_rank:
                best_i, best_rank = i, rank
        if best_i is None:
            break
        pieces[best_i : best_i + 2] = [pieces[best_i] + pieces[best_i + 1]]
    return pieces


# ----------------------------------------------------------------------------------------------------------------
# Training


def _check_vocab_size(vocab_size: int) -> None:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}.")
    if vocab_size < N_BYTES:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: it counts the 256 byte tokens, so it must be at least 256 "
            "(256 means no merge at all)."
        )


def most_frequent_pair(counts: Counter) -> Pair:
    """The pair with the highest count; ties go to the smallest pair of ids, so training is deterministic."""
    return min(counts, key=lambda pair: (-counts[pair], pair))


def train_bpe(
    text: str, vocab_size: int, pattern: str | None = GPT2_SPLIT_PATTERN, progress: bool = False
) -> BPETokenizer:
    """Learn ``vocab_size - 256`` merges on ``text``: byte-level BPE with GPT-2's pre-tokenisation by default.

    ``pattern=None`` treats the whole text as one pre-token (merges may then cross words; meant for small
    demonstrations, since every merge then rescans the whole text). Each step merges the
    most frequent adjacent pair inside the pre-tokens (ties: the smallest pair of ids); the new token gets the next
    id, 256, 257, ... Training to a smaller ``vocab_size`` gives exactly the first merges of a larger one.
    """
    if not isinstance(text, str):
        raise TypeError(f"train_bpe expects the training text as a str, got {type(text).__name__}.")
    _check_vocab_size(vocab_size)
    if not text:
        raise ValueError("train_bpe needs a non-empty text to learn merges from.")
    split = regex.compile(pattern).findall if pattern is not None else (lambda t: [t])

    # 1. The distinct pre-tokens with how often each occurs; each one as a list of byte ids.
    chunk_counts = Counter(split(text))
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
    freqs = list(chunk_counts.values())

    # 2. Pair counts over all pre-tokens, and for each pair the pre-tokens that contain it.
    counts: Counter = Counter()
    where: dict[Pair, set[int]] = defaultdict(set)
    for w, (ids, freq) in enumerate(zip(words, freqs, strict=True)):
        count_pairs(ids, counts, freq)
        for pair in pairwise(ids):
            where[pair].add(w)

    merges: dict[Pair, int] = {}
    n_merges = vocab_size - N_BYTES
    steps = range(n_merges)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="BPE merges")
    for step in steps:
        if not counts:
            raise ValueError(
                f"The text has no pair left to merge after {step} merges: every pre-token is a single token. "
                f"Use vocab_size <= {N_BYTES + step} or a longer text."
            )
        # 3. Merge the most frequent pair...
        pair = most_frequent_pair(counts)
        new_id = N_BYTES + step
        merges[pair] = new_id
        # 4. ...and update the counts of the pre-tokens that contained it, and only those.
        touched: set[Pair] = set()
        for w in where.pop(pair):
            old = words[w]
            new = merge_pair(old, pair, new_id)
            if len(new) == len(old):  # stale entry: an earlier merge already consumed this pair here
                continue
            count_pairs(old, counts, -freqs[w])
            count_pairs(new, counts, freqs[w])
            touched.update(pairwise(old))
            for p in pairwise(new):
                where[p].add(w)
            words[w] = new
        for p in touched:  # forget the pairs that no longer occur anywhere
            if counts[p] <= 0:
                del counts[p]
    return BPETokenizer(merges, pattern=pattern)
