"""The checker of lesson 31's exercise (one BPE training step): each named mistake, written as a learner would."""

from collections import Counter

import pytest

from minigpt_lib import checks
from minigpt_lib.bpe import count_pairs, merge_pair, most_frequent_pair
from minigpt_lib.checks import MERGE_STEP_MISTAKES, check_bpe_merge_step


def solution(words, new_id):
    counts = {}
    for ids, freq in words.items():
        for pair in zip(ids, ids[1:], strict=False):
            counts[pair] = counts.get(pair, 0) + freq
    best = min(counts, key=lambda p: (-counts[p], p))
    return best, {tuple(merge_pair(ids, best, new_id)): freq for ids, freq in words.items()}


def with_library(words, new_id):
    counts = Counter()
    for ids, freq in words.items():
        count_pairs(ids, counts, freq)
    pair = most_frequent_pair(counts)
    return pair, {tuple(merge_pair(ids, pair, new_id)): freq for ids, freq in words.items()}


def crosses_pretokens(words, new_id):
    text = []
    for ids, freq in words.items():
        text += list(ids) * freq
    counts = Counter(zip(text, text[1:], strict=False))
    best = min(counts, key=lambda p: (-counts[p], p))
    return best, {tuple(merge_pair(ids, best, new_id)): freq for ids, freq in words.items()}


def ignores_counts(words, new_id):
    counts = Counter(pair for ids in words for pair in zip(ids, ids[1:], strict=False))
    best = min(counts, key=lambda p: (-counts[p], p))
    return best, {tuple(merge_pair(ids, best, new_id)): freq for ids, freq in words.items()}


def tie_first_seen(words, new_id):
    counts = Counter()
    for ids, freq in words.items():
        for pair in zip(ids, ids[1:], strict=False):
            counts[pair] += freq
    best = max(counts, key=counts.get)
    return best, {tuple(merge_pair(ids, best, new_id)): freq for ids, freq in words.items()}


def learner_with(merge_fn):
    def step(words, new_id):
        best, _ = solution(words, new_id)
        return best, {tuple(merge_fn(list(ids), best, new_id)): freq for ids, freq in words.items()}

    return step


def merge_no_skip(ids, pair, new_id):
    out = []
    for i in range(len(ids) - 1):
        out.append(new_id if (ids[i], ids[i + 1]) == pair else ids[i])
    out.append(ids[-1])
    return out


def merge_from_right(ids, pair, new_id):
    out, i = [], len(ids) - 1
    while i >= 0:
        if i >= 1 and (ids[i - 1], ids[i]) == pair:
            out.insert(0, new_id)
            i -= 2
        else:
            out.insert(0, ids[i])
            i -= 1
    return out


def merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new_id] + ids[i + 2 :]
    return ids


def merge_drops_last(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


MUTANTS = {
    "crosses_pretokens": crosses_pretokens,
    "ignores_counts": ignores_counts,
    "tie_first_seen": tie_first_seen,
    "merge_no_skip": learner_with(merge_no_skip),
    "merge_from_right": learner_with(merge_from_right),
    "merge_first_only": learner_with(merge_first_only),
    "merge_drops_last": learner_with(merge_drops_last),
}


def test_every_mistake_has_a_mutant():
    assert set(MUTANTS) == set(MERGE_STEP_MISTAKES)


@pytest.mark.parametrize("fn", [solution, with_library])
def test_right_answers_pass(fn):
    result = check_bpe_merge_step(fn)
    assert result.passed, result.message
    assert result.checker == "check_bpe_merge_step"


@pytest.mark.parametrize("key", list(MUTANTS))
def test_named_mistakes(key):
    result = check_bpe_merge_step(MUTANTS[key])
    assert not result.passed
    assert result.mistake == key, (result.mistake, result.message)
    assert result.message == MERGE_STEP_MISTAKES[key].message


def test_stub_passes_through():
    def stub(words, new_id):
        raise NotImplementedError(checks.STUB_MESSAGE)

    with pytest.raises(NotImplementedError):
        check_bpe_merge_step(stub)


def test_other_failures_are_named():
    def crashes(words, new_id):
        return words[0]

    assert check_bpe_merge_step(crashes).mistake == "exception"

    def returns_list(words, new_id):
        best, merged = solution(words, new_id)
        return best, list(merged)

    result = check_bpe_merge_step(returns_list)
    assert not result.passed and "dict" in result.message

    def wrong_pair(words, new_id):
        best, merged = solution(words, new_id)
        return (best[1], best[0]), merged

    result = check_bpe_merge_step(wrong_pair)
    assert not result.passed and "Cặp được chọn" in result.message

    def modifies(words, new_id):
        answer = solution(words, new_id)
        words.clear()
        return answer

    assert check_bpe_merge_step(modifies).mistake == "modifies_inputs"


def test_registered():
    info = checks.REGISTRY["check_bpe_merge_step"]
    assert (info.lesson, info.exercise) == (31, 1) and info.mistakes is MERGE_STEP_MISTAKES
