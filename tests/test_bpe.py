"""Tests of minigpt_lib.bpe: training, encoding, GPT-2's ranks (against tiktoken), errors."""

from collections import Counter

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt_lib import gpt2_tokenizer, load_corpus
from minigpt_lib.bpe import (
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    apply_merges,
    count_pairs,
    merge_pair,
    most_frequent_pair,
    train_bpe,
)
from minigpt_lib.tokenizer import GPT2_PATTERN

CORPORA = ["timemachine", "tinyshakespeare", "truyen_kieu"]

SAMPLES = [
    "Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.",
    "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ, Đ đ, ươ ƯƠ, NGƯỜI, người",
    "Tie\u0301ng Vie\u0323\u0302t (NFD: dấu là ký tự tổ hợp)",
    "emoji 🚀🔥👩‍👩‍👧 and CJK 漢字 かな, flags 🇻🇳",
    "def f(x):\n    return x ** 2  # code\n\n\n\tindent\r\n",
    "for (int i = 0; i < n; ++i) { a[i] += b[i] * 3.14f; }  // C",
    "   leading and trailing spaces   ",
    " \n\n \t\t  \u00a0\u3000 \n",  # whitespace runs, including non-ASCII spaces
    "x" + " " * 40 + "y" + "\n" * 30,
    "numbers 1234567890 3.14159 1e-5",
    "It's we're they'll I'd can't DON'T",
    "<|endoftext|>",
    "Hết truyện.<|endoftext|>Bài mới",
    "",
]


@pytest.fixture(scope="module")
def gpt2_bpe() -> BPETokenizer:
    return BPETokenizer.from_tiktoken_ranks()


@pytest.fixture(scope="module")
def kieu_bpe() -> BPETokenizer:
    return train_bpe(load_corpus("truyen_kieu"), vocab_size=1_000)


# -- the two steps -----------------------------------------------------------------------------------------------


def test_count_pairs():
    assert count_pairs([1, 2, 1, 2]) == Counter({(1, 2): 2, (2, 1): 1})
    assert count_pairs([5]) == Counter() and count_pairs([]) == Counter()
    assert count_pairs([7, 7, 7]) == Counter({(7, 7): 2})  # overlapping occurrences are both counted
    counts = Counter({(1, 2): 1})
    assert count_pairs([1, 2], counts, weight=3) is counts and counts[(1, 2)] == 4


def test_merge_pair_left_to_right():
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]
    assert merge_pair([7, 7, 7], (7, 7), 9) == [9, 7]  # "aaa": the left pair wins
    assert merge_pair([7, 7, 7, 7], (7, 7), 9) == [9, 9]
    assert merge_pair([1, 2], (2, 1), 9) == [1, 2]
    assert merge_pair([], (1, 2), 9) == []


def test_most_frequent_pair_breaks_ties_by_smallest_pair():
    assert most_frequent_pair(Counter({(5, 1): 3, (2, 9): 3, (1, 1): 2})) == (2, 9)


# -- training ----------------------------------------------------------------------------------------------------


def test_wikipedia_example_by_hand():
    # "aaabdaaabac" -> "ZabdZabac" (Z = aa) -> "ZYdZYac" (Y = ab; ties with Za, the smaller pair wins) -> "XdXac"
    tok = train_bpe("aaabdaaabac", vocab_size=259, pattern=None)
    a, b, c, d = (ord(ch) for ch in "abcd")
    assert list(tok.merges.items()) == [((a, a), 256), ((a, b), 257), ((256, 257), 258)]
    assert tok.encode("aaabdaaabac") == [258, d, 258, a, c]
    assert tok.vocab[258] == b"aaab"


def naive_train(text: str, vocab_size: int, pattern=GPT2_SPLIT_PATTERN) -> dict:
    """Reference: recount every pair over every pre-token occurrence at each step (slow, obviously right)."""
    chunks = [list(c.encode("utf-8")) for c in (regex.findall(pattern, text) if pattern else [text])]
    merges = {}
    for new_id in range(256, vocab_size):
        counts = Counter()
        for ids in chunks:
            count_pairs(ids, counts)
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        merges[pair] = new_id
        chunks = [merge_pair(ids, pair, new_id) for ids in chunks]
    return merges


def test_incremental_training_equals_full_recount():
    text = (
        "".join(load_corpus("truyen_kieu").splitlines(keepends=True)[:120])
        + load_corpus("timemachine")[:3000]
    )
    assert train_bpe(text, 600).merges == naive_train(text, 600)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="ab cđ\nà", min_size=1, max_size=60), st.integers(256, 290), st.booleans())
def test_incremental_training_equals_full_recount_random(text, vocab_size, split):
    pattern = GPT2_SPLIT_PATTERN if split else None
    reference = naive_train(text, vocab_size, pattern)
    if len(reference) < vocab_size - 256:
        with pytest.raises(ValueError, match="no pair left"):
            train_bpe(text, vocab_size, pattern=pattern)
    else:
        assert train_bpe(text, vocab_size, pattern=pattern).merges == reference


def test_vocab_size_counts_the_bytes(kieu_bpe):
    text = load_corpus("truyen_kieu")
    assert train_bpe(text, 256).merges == {} and train_bpe(text, 256).n_vocab == 256
    assert kieu_bpe.n_vocab == 1_000 and len(kieu_bpe.merges) == 744
    assert sorted(kieu_bpe.vocab) == list(range(1_000))
    assert list(kieu_bpe.merges.values()) == list(range(256, 1_000))  # ids in the order merges were learned


def test_smaller_vocab_is_a_prefix(kieu_bpe):
    small = train_bpe(load_corpus("truyen_kieu"), 400)
    assert list(small.merges.items()) == list(kieu_bpe.merges.items())[:144]
    assert kieu_bpe.truncated(400).merges == small.merges
    assert kieu_bpe.truncated(400).encode("Trăm năm trong cõi") == small.encode("Trăm năm trong cõi")


def test_merges_follow_frequency(kieu_bpe):
    """The first merge is the most frequent pair of the whole text, and every merged token is a pre-token piece."""
    text = load_corpus("truyen_kieu")
    counts = Counter()
    for chunk in regex.findall(GPT2_SPLIT_PATTERN, text):
        count_pairs(list(chunk.encode("utf-8")), counts)
    assert next(iter(kieu_bpe.merges)) == most_frequent_pair(counts)
    # pre-tokens never cross: no token mixes a letter with a following space
    for token in kieu_bpe.vocab.values():
        assert not regex.search(rb"\S ", token)


def test_syllables_become_single_tokens(kieu_bpe):
    for word in [" người", " lòng", " một"]:
        assert len(kieu_bpe.encode(word)) == 1, word


def test_no_pretokenisation_merges_across_words():
    tok = train_bpe("ab ab ab ab", 258, pattern=None)
    assert any(b" " in t and len(t) > 1 for t in tok.vocab.values())


# -- encoding ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CORPORA)
def test_round_trip_on_corpora(kieu_bpe, name):
    text = load_corpus(name)
    assert kieu_bpe.decode(kieu_bpe.encode(text)) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip_samples(kieu_bpe, text):
    assert kieu_bpe.decode(kieu_bpe.encode(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_round_trip_random_unicode(kieu_bpe, text):
    assert kieu_bpe.decode(kieu_bpe.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab cđà\n,", max_size=40))
def test_encode_applies_merges_in_training_order(kieu_bpe, text):
    """The canonical definition: apply every merge in the order learned, to each pre-token."""
    expected = []
    for chunk in regex.findall(GPT2_SPLIT_PATTERN, text):
        ids = list(chunk.encode("utf-8"))
        for pair, new_id in kieu_bpe.merges.items():
            ids = merge_pair(ids, pair, new_id)
        expected += ids
    assert kieu_bpe.encode(text) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list(" người ngà ng nh ư".encode())), max_size=50))
def test_apply_merges_is_merges_in_order(kieu_bpe, ids):
    expected = list(ids)
    for pair, new_id in kieu_bpe.merges.items():
        expected = merge_pair(expected, pair, new_id)
    assert apply_merges(ids, kieu_bpe.merges) == expected


def test_long_pretokens_encode_fast_and_right(gpt2_bpe):
    """A run of letters without spaces (Chinese) is one pre-token: encoding must not be quadratic."""
    import random

    rng = random.Random(0)
    text = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(30_000))
    for sample in [text, "a" * 50_000, " " * 50_000 + "x", "ươ" * 20_000]:
        assert gpt2_bpe.encode(sample) == gpt2_tokenizer().encode_ordinary(sample)


def test_kieu_compresses_better_than_gpt2(kieu_bpe, gpt2_bpe):
    text = load_corpus("truyen_kieu")
    assert len(kieu_bpe.encode(text)) < len(gpt2_bpe.encode(text)) / 2


# -- GPT-2's ranks -----------------------------------------------------------------------------------------------


def test_gpt2_ranks_give_gpt2_vocabulary(gpt2_bpe):
    ref = gpt2_tokenizer()
    assert gpt2_bpe.n_vocab == 50_256 and len(gpt2_bpe.merges) == 50_000
    assert gpt2_bpe.pattern == GPT2_PATTERN
    assert all(gpt2_bpe.vocab[i] == ref.decode_single_token_bytes(i) for i in range(50_256))
    assert list(gpt2_bpe.merges.values()) == list(range(256, 50_256))  # merges in rank order
    assert gpt2_bpe.byte_ids[ord("!")] == 0  # GPT-2 numbers the printable bytes first


@pytest.mark.parametrize("text", SAMPLES)
def test_gpt2_encodes_exactly_like_tiktoken(gpt2_bpe, text):
    ref = gpt2_tokenizer()
    ids = gpt2_bpe.encode(text)
    assert ids == ref.encode_ordinary(text) == ref.encode(text, disallowed_special=())
    assert gpt2_bpe.decode(ids) == text == ref.decode(ids)


@pytest.mark.parametrize("name", CORPORA)
def test_gpt2_encodes_corpora_like_tiktoken(gpt2_bpe, name):
    text = load_corpus(name)
    assert gpt2_bpe.encode(text) == gpt2_tokenizer().encode_ordinary(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_gpt2_random_unicode_like_tiktoken(gpt2_bpe, text):
    assert gpt2_bpe.encode(text) == gpt2_tokenizer().encode_ordinary(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["người", " ", "  ", "\n", "'s", "ll", "🚀", "1", "23", "ươ", "A", "\t", ".", "漢"]),
        max_size=30,
    )
)
def test_gpt2_token_soup_like_tiktoken(gpt2_bpe, pieces):
    text = "".join(pieces)
    assert gpt2_bpe.encode(text) == gpt2_tokenizer().encode_ordinary(text)


def test_decode_partial_character_like_tiktoken(gpt2_bpe):
    ids = gpt2_bpe.encode(" người")
    for cut in range(1, len(ids)):
        assert gpt2_bpe.decode(ids[:cut]) == gpt2_tokenizer().decode(ids[:cut])


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vocab_size, error",
    [
        (255, ValueError),
        (0, ValueError),
        (-5, ValueError),
        (1000.0, TypeError),
        ("1000", TypeError),
        (True, TypeError),
    ],
)
def test_bad_vocab_size(vocab_size, error):
    with pytest.raises(error, match="vocab_size"):
        train_bpe("Trăm năm", vocab_size)


def test_bad_text():
    with pytest.raises(ValueError, match="non-empty"):
        train_bpe("", 300)
    with pytest.raises(TypeError, match="str"):
        train_bpe(b"bytes", 300)
    with pytest.raises(ValueError, match=r"no pair left to merge after 2 merges.*vocab_size <= 258"):
        train_bpe("aab", 300)


def test_bad_encode_decode(kieu_bpe):
    with pytest.raises(TypeError, match="str"):
        kieu_bpe.encode(b"bytes")
    with pytest.raises(ValueError, match="outside"):
        kieu_bpe.decode([1_000])
    with pytest.raises(ValueError, match="outside"):
        kieu_bpe.decode([-1])
    with pytest.raises(ValueError, match="larger"):
        kieu_bpe.truncated(1_001)
    with pytest.raises(TypeError, match="integers"):
        kieu_bpe.decode([1.0])


def test_decode_accepts_tensors(kieu_bpe):
    import numpy as np
    import torch

    ids = kieu_bpe.encode("Trăm năm trong cõi người ta")
    assert (
        kieu_bpe.decode(torch.tensor(ids)) == kieu_bpe.decode(np.array(ids)) == "Trăm năm trong cõi người ta"
    )


def test_bad_merges():
    with pytest.raises(ValueError, match="no earlier merge"):
        BPETokenizer({(97, 300): 256})
    with pytest.raises(ValueError, match="0..n_vocab-1"):
        BPETokenizer({(97, 98): 300})
    with pytest.raises(ValueError, match="byte_ids"):
        BPETokenizer({}, byte_ids=[0] * 256)


def test_bad_ranks_file(tmp_path):
    import base64

    missing_byte = tmp_path / "missing.tiktoken"
    missing_byte.write_text("".join(f"{base64.b64encode(bytes([b])).decode()} {b}\n" for b in range(255)))
    with pytest.raises(ValueError, match="256 single bytes"):
        BPETokenizer.from_tiktoken_ranks(missing_byte)

    gap = tmp_path / "gap.tiktoken"
    gap.write_text("".join(f"{base64.b64encode(bytes([b])).decode()} {b + (b == 255)}\n" for b in range(256)))
    with pytest.raises(ValueError, match="exactly 0"):
        BPETokenizer.from_tiktoken_ranks(gap)

    unbuildable = tmp_path / "unbuildable.tiktoken"
    lines = [f"{base64.b64encode(bytes([b])).decode()} {b}\n" for b in range(256)]
    lines.append(f"{base64.b64encode(b'abc').decode()} 256\n")  # no "ab" or "bc" to build it from
    unbuildable.write_text("".join(lines))
    with pytest.raises(ValueError, match="cannot be built"):
        BPETokenizer.from_tiktoken_ranks(unbuildable)

    malformed = tmp_path / "malformed.tiktoken"
    malformed.write_text("not a ranks line at all\n")
    with pytest.raises(ValueError, match="is not"):
        BPETokenizer.from_tiktoken_ranks(malformed)
