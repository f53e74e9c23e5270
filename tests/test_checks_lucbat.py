"""The checkers of lessons 32 (B/T pattern of a verse line) and 33 (share of copied lines): each named mistake,
written as a learner would."""

import unicodedata

import pytest

from minigpt_lib import lucbat as lb
from minigpt_lib.checks import (
    BT_PATTERN_MISTAKES,
    COPIED_SHARE_MISTAKES,
    check_bt_pattern,
    check_copied_line_share,
)

TRAC = {"\u0301", "\u0309", "\u0303", "\u0323"}


def bt_solution(line):
    return "".join("T" if TRAC & set(unicodedata.normalize("NFD", w)) else "B" for w in lb.syllables(line))


def bt_huyen_is_trac(line):
    return "".join(
        "T" if (TRAC | {"\u0300"}) & set(unicodedata.normalize("NFD", w)) else "B" for w in lb.syllables(line)
    )


def bt_no_nfd(line):
    return "".join("T" if TRAC & set(w) else "B" for w in lb.syllables(line))


def bt_hoi_nga_bang(line):
    return "".join(
        "T" if {"\u0301", "\u0323"} & set(unicodedata.normalize("NFD", w)) else "B"
        for w in lb.syllables(line)
    )


def bt_list(line):
    return list(bt_solution(line))


BT_MUTANTS = {
    "huyen_is_trac": bt_huyen_is_trac,
    "no_nfd": bt_no_nfd,
    "hoi_nga_bang": bt_hoi_nga_bang,
    "not_a_string": bt_list,
}


def key(line):
    return tuple(w.lower() for w in lb.syllables(line))


def copied_solution(lines, poem):
    verses = {key(v) for v in poem.splitlines()}
    return sum(key(x) in verses for x in lines) / len(lines)


def copied_case_sensitive(lines, poem):
    verses = {tuple(lb.syllables(v)) for v in poem.splitlines()}
    return sum(tuple(lb.syllables(x)) in verses for x in lines) / len(lines)


def copied_raw(lines, poem):
    verses = set(poem.splitlines())
    return sum(x in verses for x in lines) / len(lines)


def copied_substring(lines, poem):
    flat = " ".join(w.lower() for w in lb.syllables(poem.replace("\n", " ")))
    return sum(" ".join(key(x)) in flat for x in lines) / len(lines)


def copied_over_poem(lines, poem):
    verses = {key(v) for v in poem.splitlines() if v.strip()}
    return sum(key(x) in verses for x in lines) / len([v for v in poem.splitlines() if v.strip()])


COPIED_MUTANTS = {
    "case_sensitive": copied_case_sensitive,
    "raw_lines": copied_raw,
    "substring": copied_substring,
    "over_poem": copied_over_poem,
}


def test_bt_solution_passes():
    assert check_bt_pattern(bt_solution).passed
    assert check_bt_pattern(lambda line: "".join(lb.tone_class(w) for w in lb.syllables(line))).passed


@pytest.mark.parametrize("mistake", list(BT_MUTANTS))
def test_bt_mistakes_are_named(mistake):
    result = check_bt_pattern(BT_MUTANTS[mistake])
    assert not result.passed and result.mistake == mistake, result
    assert set(BT_MUTANTS) == set(BT_PATTERN_MISTAKES)


def test_copied_solution_passes():
    assert check_copied_line_share(copied_solution).passed


@pytest.mark.parametrize("mistake", list(COPIED_MUTANTS))
def test_copied_mistakes_are_named(mistake):
    result = check_copied_line_share(COPIED_MUTANTS[mistake])
    assert not result.passed and result.mistake == mistake, result
    assert set(COPIED_MUTANTS) == set(COPIED_SHARE_MISTAKES)


def test_stub_passes_through():
    def stub(line):
        raise NotImplementedError("Bài tập: hãy viết phần này.")

    with pytest.raises(NotImplementedError):
        check_bt_pattern(stub)
