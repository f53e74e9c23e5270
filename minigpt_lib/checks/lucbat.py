"""Checkers of lục bát: lesson 32 (the B/T pattern of a verse line) and lesson 33 (how much of a sample is copied).

Lesson 32: ``bt_pattern(line) -> str``, one ``"B"`` (bằng: ngang, huyền) or ``"T"`` (trắc: sắc, hỏi, ngã, nặng) per
syllable, read from the tone marks of NFC or NFD text. Lesson 33: ``copied_line_share(lines, poem) -> float``, the
share of generated lines that are a line of the poem, compared syllable by syllable (case and punctuation ignored).
The references are built from :mod:`minigpt_lib.lucbat`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from .. import lucbat
from .engine import CheckResult, Mistake, Mistakes, check_function, checker, run_learner

_TRAC = {"\u0301", "\u0309", "\u0303", "\u0323"}  # sắc, hỏi, ngã, nặng


# ---------------------------------------------------------------------------------------------- lesson 32
def _reference_bt_pattern(line: str) -> str:
    return "".join(lucbat.tone_class(w) for w in lucbat.syllables(line))


def _bt_huyen_is_trac(line: str) -> str:
    """Counts huyền (the grave accent) as trắc: only an unmarked syllable is bằng."""
    marks = _TRAC | {"\u0300"}
    return "".join(
        "T" if any(c in marks for c in unicodedata.normalize("NFD", w)) else "B"
        for w in lucbat.syllables(line)
    )


def _bt_without_nfd(line: str) -> str:
    """Looks for combining tone marks in the text as given: NFC letters carry none, so all is bằng."""
    return "".join("T" if any(c in _TRAC for c in w) else "B" for w in lucbat.syllables(line))


def _bt_hoi_nga_as_bang(line: str) -> str:
    """Only sắc and nặng are trắc; hỏi and ngã were put with bằng."""
    marks = {"\u0301", "\u0323"}
    return "".join(
        "T" if any(c in marks for c in unicodedata.normalize("NFD", w)) else "B"
        for w in lucbat.syllables(line)
    )


BT_PATTERN_MISTAKES = Mistakes(
    Mistake(
        "huyen_is_trac",
        "Bạn xếp thanh huyền vào nhóm trắc. Thanh bằng gồm hai thanh: ngang (không dấu) và huyền (`à`); "
        "trắc là sắc, hỏi, ngã, nặng.",
        (_bt_huyen_is_trac,),
    ),
    Mistake(
        "no_nfd",
        "Với văn bản NFC, hàm của bạn không thấy dấu thanh nào: mỗi chữ có dấu là một ký tự dựng sẵn. Chuyển "
        'từng tiếng sang NFD (`unicodedata.normalize("NFD", w)`) rồi mới tìm dấu kết hợp.',
        (_bt_without_nfd,),
    ),
    Mistake(
        "hoi_nga_bang",
        "Bạn coi thanh hỏi và thanh ngã là bằng. Trắc gồm bốn thanh: sắc, hỏi, ngã, nặng.",
        (_bt_hoi_nga_as_bang,),
    ),
    Mistake("not_a_string", 'Hàm phải trả về một chuỗi (str) như "BBBTBB", không phải list.'),
)


def _hidden_lines() -> list[tuple[str]]:
    nfd = lambda s: unicodedata.normalize("NFD", s)
    return [
        ("Trăm năm trong cõi người ta,",),
        ("Chữ tài chữ mệnh khéo là ghét nhau.",),
        (nfd("Những điều trông thấy mà đau đớn lòng."),),  # NFD input
        ("Lạ gì bỉ sắc tư phong,",),  # hỏi
        ("Kiều càng sắc sảo mặn mà,",),
        ("Vầng trăng ai xẻ làm đôi,",),
        (nfd("Ngẫm hay muôn sự tại trời,"),),  # ngã, NFD
        ("“Tiểu thư đón cửa giãi giề!”",),  # quotes, ngã
    ]


@checker(lesson=32, exercise=1, mistakes=BT_PATTERN_MISTAKES)
def check_bt_pattern(fn: Callable[[str], str]) -> CheckResult:
    """Check ``fn(line) -> str`` of B/T letters (lesson 32)."""
    first = run_learner(fn, *_hidden_lines()[0])
    if first.error is None and isinstance(first.value, (list, tuple)):
        return BT_PATTERN_MISTAKES.fail("not_a_string")
    return check_function(
        fn,
        _reference_bt_pattern,
        _hidden_lines(),
        BT_PATTERN_MISTAKES,
        name="Hàm bt_pattern",
        success="Chính xác! Bằng là ngang và huyền, trắc là sắc, hỏi, ngã, nặng; dấu thanh đọc được ở cả NFC và NFD.",
        describe=lambda args: repr(args[0]),
    )


# ---------------------------------------------------------------------------------------------- lesson 33
def _key(line: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in lucbat.syllables(line))


def _reference_copied_share(lines: list[str], poem: str) -> float:
    verses = {_key(v) for v in poem.splitlines() if v.strip()}
    return sum(_key(x) in verses for x in lines) / len(lines)


def _copied_case_sensitive(lines, poem):
    """Compares syllables without lowering the case."""
    verses = {tuple(lucbat.syllables(v)) for v in poem.splitlines() if v.strip()}
    return sum(tuple(lucbat.syllables(x)) in verses for x in lines) / len(lines)


def _copied_raw_lines(lines, poem):
    """Compares the raw lines: punctuation and spaces must match too."""
    verses = {v.strip() for v in poem.splitlines()}
    return sum(x.strip() in verses for x in lines) / len(lines)


def _copied_substring(lines, poem):
    """Counts a line as copied when it occurs anywhere inside the poem, even as part of a line."""
    text = " ".join(" ".join(_key(v)) for v in poem.splitlines())
    return sum(" ".join(_key(x)) in text for x in lines) / len(lines)


def _copied_over_poem(lines, poem):
    """Divides by the number of lines of the poem instead of the number of generated lines."""
    verses = {_key(v) for v in poem.splitlines() if v.strip()}
    return sum(_key(x) in verses for x in lines) / len([v for v in poem.splitlines() if v.strip()])


COPIED_SHARE_MISTAKES = Mistakes(
    Mistake(
        "case_sensitive",
        "Bạn so chữ hoa với chữ thường như hai chữ khác nhau: một câu chép lại nhưng viết hoa đầu câu khác đi vẫn "
        "là chép. Đưa các tiếng về chữ thường (`w.lower()`) trước khi so.",
        (_copied_case_sensitive,),
    ),
    Mistake(
        "raw_lines",
        "Bạn so nguyên dòng, nên một dấu phẩy hay dấu chấm khác là đủ để coi là không chép. So theo dãy tiếng "
        "(`lb.syllables`, đã bỏ dấu câu).",
        (_copied_raw_lines,),
    ),
    Mistake(
        "substring",
        "Bạn coi một dòng là chép khi nó nằm ở bất kỳ đâu trong bài thơ, kể cả là một khúc của một câu. Đề bài "
        "đếm những dòng trùng với **trọn một câu** của bài thơ.",
        (_copied_substring,),
    ),
    Mistake(
        "over_poem",
        "Bạn chia cho số câu của bài thơ. Tỉ lệ là trên số **dòng được sinh ra**.",
        (_copied_over_poem,),
    ),
)


def _hidden_samples() -> list[tuple[list[str], str]]:
    poem = (
        "Trăm năm trong cõi người ta,\nChữ tài chữ mệnh khéo là ghét nhau.\nTrải qua một cuộc bể dâu,\n"
        "Những điều trông thấy mà đau đớn lòng.\n"
    )
    return [
        (["Trăm năm trong cõi người ta,", "Chữ tài chữ mệnh khéo là thương nhau."], poem),
        (["trăm năm trong cõi người ta", "Trải qua một cuộc bể dâu!"], poem),  # case and punctuation differ
        (
            ["Trải qua một cuộc", "Những điều trông thấy mà đau đớn lòng.", "Trăng lên"],
            poem,
        ),  # a part of a line
        (["Lạ gì bỉ sắc tư phong,"], poem),
        (["Những điều trông thấy mà đau đớn lòng"] * 3 + ["Chữ Tài chữ Mệnh khéo là ghét nhau"], poem),
    ]


@checker(lesson=33, exercise=1, mistakes=COPIED_SHARE_MISTAKES)
def check_copied_line_share(fn: Callable[[list[str], str], float]) -> CheckResult:
    """Check ``fn(lines, poem) -> float``, the share of generated lines that are a whole line of the poem (lesson 33)."""
    return check_function(
        fn,
        _reference_copied_share,
        _hidden_samples(),
        COPIED_SHARE_MISTAKES,
        name="Hàm copied_line_share",
        success="Chính xác! Một dòng là chép khi dãy tiếng của nó (chữ thường, bỏ dấu câu) trùng trọn một câu của bài thơ.",
        describe=lambda args: f"{len(args[0])} dòng: {args[0]}",
    )
