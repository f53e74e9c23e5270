"""Checker of BPE: lesson 31 (one training step of byte pair encoding).

The learner writes ``bpe_merge_step(words, new_id) -> (pair, merged_words)``: ``words`` maps each distinct pre-token
(a tuple of token ids) to how often it occurs; the step counts the adjacent pairs inside every pre-token, weighted by
its count, picks the most frequent pair (ties: the smallest pair), and replaces it by ``new_id`` in every pre-token,
left to right. The reference is built from :mod:`minigpt_lib.bpe`, the functions ``train_bpe`` runs on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import regex

from ..bpe import GPT2_SPLIT_PATTERN, count_pairs, merge_pair, most_frequent_pair
from .engine import CheckResult, Mistake, Mistakes, check_function, checker

Words = dict[tuple[int, ...], int]


def _reference_merge_step(words: Words, new_id: int) -> tuple[tuple[int, int], Words]:
    counts = Counter()
    for ids, freq in words.items():
        count_pairs(ids, counts, freq)
    pair = most_frequent_pair(counts)
    return pair, {tuple(merge_pair(ids, pair, new_id)): freq for ids, freq in words.items()}


# ---------------------------------------------------------------------------------------------- mistaken versions
def _merge_all(words: Words, pair, new_id, merge=merge_pair) -> Words:
    return {tuple(merge(list(ids), pair, new_id)): freq for ids, freq in words.items()}


def _step_crossing_pretokens(words: Words, new_id: int):
    """Counts pairs over the text written as one sequence: pairs across two pre-tokens are counted too."""
    sequence = [i for ids, freq in words.items() for _ in range(freq) for i in ids]
    pair = most_frequent_pair(count_pairs(sequence))
    return pair, _merge_all(words, pair, new_id)


def _step_ignoring_counts(words: Words, new_id: int):
    """Counts each distinct pre-token once, whatever its count."""
    counts = Counter()
    for ids in words:
        count_pairs(ids, counts)
    pair = most_frequent_pair(counts)
    return pair, _merge_all(words, pair, new_id)


def _step_first_seen_tie(words: Words, new_id: int):
    """``Counter.most_common(1)``: among equally frequent pairs, the one seen first, not the smallest."""
    counts = Counter()
    for ids, freq in words.items():
        count_pairs(ids, counts, freq)
    pair = counts.most_common(1)[0][0]
    return pair, _merge_all(words, pair, new_id)


def _with_merge(merge: Callable) -> Callable:
    def step(words: Words, new_id: int):
        pair, _ = _reference_merge_step(words, new_id)
        return pair, _merge_all(words, pair, new_id, merge)

    return step


def _merge_without_skip(ids, pair, new_id):
    """Writes new_id for every position where the pair starts, without skipping the pair's second element."""
    out = [new_id if (a, b) == pair else a for a, b in zip(ids, ids[1:], strict=False)]
    return out + ids[-1:]


def _merge_from_the_right(ids, pair, new_id):
    """Scans right to left: [a, a, a] -> [a, aa] instead of [aa, a]."""
    flipped = merge_pair(ids[::-1], (pair[1], pair[0]), new_id)
    return flipped[::-1]


def _merge_first_only(ids, pair, new_id):
    """Replaces only the first occurrence in each pre-token."""
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new_id] + ids[i + 2 :]
    return list(ids)


def _merge_dropping_last(ids, pair, new_id):
    """Loops while i < len - 1 and forgets the last element when it is not part of a merge."""
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


MERGE_STEP_MISTAKES = Mistakes(
    Mistake(
        "crosses_pretokens",
        "Bạn đếm cả những cặp nằm vắt qua ranh giới giữa hai pre-token (như thể cả văn bản là một dãy). Mỗi "
        "pre-token là một dãy riêng: chỉ đếm các cặp kề nhau BÊN TRONG từng pre-token.",
        (_step_crossing_pretokens,),
    ),
    Mistake(
        "ignores_counts",
        "Bạn đếm mỗi pre-token một lần, bỏ qua số lần nó xuất hiện. Mỗi cặp trong pre-token `ids` phải được cộng "
        "`words[ids]` (số lần pre-token đó xuất hiện trong văn bản), không phải 1.",
        (_step_ignoring_counts,),
    ),
    Mistake(
        "tie_first_seen",
        "Khi nhiều cặp cùng tần số, bạn chọn cặp gặp trước (như `Counter.most_common(1)`). Đề bài chọn cặp NHỎ "
        "NHẤT, để kết quả không phụ thuộc thứ tự: `min(counts, key=lambda p: (-counts[p], p))`.",
        (_step_first_seen_tie,),
    ),
    Mistake(
        "merge_no_skip",
        "Khi gộp, sau khi gặp cặp ở vị trí i bạn chưa bỏ qua phần tử i + 1: phần tử thứ hai của cặp bị giữ lại "
        "(hoặc gộp lần nữa với phần tử sau). Gặp cặp thì ghi `new_id` rồi nhảy `i += 2`.",
        (_with_merge(_merge_without_skip),),
    ),
    Mistake(
        "merge_from_right",
        "Bạn gộp từ phải sang trái. Với các cặp chồng lên nhau như [a, a, a], BPE gộp từ TRÁI sang phải: "
        "[a, a, a] → [aa, a], không phải [a, aa].",
        (_with_merge(_merge_from_the_right),),
    ),
    Mistake(
        "merge_first_only",
        "Bạn chỉ thay lần xuất hiện đầu tiên của cặp trong mỗi pre-token. Phải thay MỌI lần xuất hiện "
        "(không chồng lấn), quét từ trái sang phải.",
        (_with_merge(_merge_first_only),),
    ),
    Mistake(
        "merge_drops_last",
        "Pre-token sau khi gộp bị mất phần tử cuối: vòng lặp dừng ở `len(ids) - 1` nên phần tử cuối (khi nó không "
        "thuộc cặp nào) không được chép sang. Dùng `while i < len(ids)` và chỉ so cặp khi `i + 1 < len(ids)`.",
        (_with_merge(_merge_dropping_last),),
    ),
)


def _hidden_words() -> list[tuple[Words, int]]:
    verse = "Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau. Trăm năm"
    pretokens = Counter(tuple(chunk.encode("utf-8")) for chunk in regex.findall(GPT2_SPLIT_PATTERN, verse))
    return [
        (dict(pretokens), 256),  # real bytes of a verse: the first merge of Vietnamese text
        ({(1,): 5, (2, 3): 1}, 300),  # across pre-tokens, (1, 1) would win
        ({(7, 7, 7): 2, (7, 8): 1, (8, 7, 7, 7, 7): 1}, 261),  # overlapping pairs: "aaa", "aaaa"
        ({(1, 2): 1, (3, 4): 5, (1, 2, 5): 1}, 400),  # counts matter: (3, 4) occurs 5 times
        ({(5, 6, 9): 2, (1, 2, 9): 2}, 270),  # a tie: (1, 2) and (5, 6), first seen is (5, 6)
        ({(1, 2, 1, 2, 3): 1, (4,): 1, (2, 1, 2): 1}, 256),  # several occurrences in one pre-token
    ]


def _diagnose(got, expected, args) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "Hàm phải trả về một cặp `(pair, merged_words)`."
    pair, merged = got
    if not isinstance(merged, dict):
        return (
            f"Phần tử thứ hai phải là dict {{pre-token (tuple): số lần}}, nhận được {type(merged).__name__}."
        )
    if tuple(pair) != tuple(expected[0]):
        return f"Cặp được chọn là {tuple(pair)}, cặp đúng là {tuple(expected[0])}."
    return "Cặp được chọn đúng, nhưng các pre-token sau khi gộp chưa đúng."


@checker(lesson=31, exercise=1, mistakes=MERGE_STEP_MISTAKES)
def check_bpe_merge_step(fn: Callable) -> CheckResult:
    """Check ``fn(words, new_id) -> (pair, merged_words)``, one BPE training step (lesson 31).

    Recognised mistakes: the keys of ``MERGE_STEP_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    return check_function(
        fn,
        _reference_merge_step,
        _hidden_words(),
        MERGE_STEP_MISTAKES,
        name="Hàm bpe_merge_step",
        success="Chính xác! Một bước của BPE: đếm cặp trong từng pre-token theo tần số, chọn cặp nhiều nhất "
        "(hòa thì cặp nhỏ nhất), gộp từ trái sang phải.",
        describe=lambda args: f"words có {len(args[0])} pre-token, new_id = {args[1]}",
        diagnose=_diagnose,
    )
