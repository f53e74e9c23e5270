"""The Vietnamese number formatter: dots group thousands, a comma marks decimals."""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

from minigpt_lib.fmt import fmt_float, fmt_int, fmt_pct, fmt_sci


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1.000"),
        (50257, "50.257"),
        (124_439_808, "124.439.808"),
        (-45261, "-45.261"),
        (3.0, "3"),
        (np.int64(6018), "6.018"),
        (torch.tensor(85584), "85.584"),
    ],
)
def test_fmt_int(x, expected):
    assert fmt_int(x) == expected


def test_fmt_int_sign_and_errors():
    assert fmt_int(1234, sign=True) == "+1.234" and fmt_int(-5, sign=True) == "-5"
    with pytest.raises(ValueError, match="fmt_float"):
        fmt_int(2.5)
    with pytest.raises(TypeError, match="real number"):
        fmt_int("50257")
    with pytest.raises(TypeError, match="several values"):
        fmt_int(torch.tensor([1, 2]))


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (10.824905, 3, "10,825"),
        (0.02, 2, "0,02"),
        (1234.5, 1, "1.234,5"),
        (-0.5, 3, "-0,500"),
        (2.0, 0, "2"),
        (1_557_611_200.0, 0, "1.557.611.200"),
        (np.float32(0.25), 2, "0,25"),
        (torch.tensor(88.72), 2, "88,72"),
    ],
)
def test_fmt_float(x, digits, expected):
    assert fmt_float(x, digits) == expected


def test_fmt_float_sign_nonfinite_and_errors():
    assert fmt_float(0.266, 3, sign=True) == "+0,266"
    assert fmt_float(float("nan")) == "nan" and fmt_float(float("-inf")) == "-inf"
    with pytest.raises(ValueError, match="digits"):
        fmt_float(1.0, -1)


def test_fmt_pct_and_sci():
    assert fmt_pct(0.2275) == "22,75 %"
    assert fmt_pct(0.403, 1) == "40,3 %"
    assert fmt_pct(0.0003, 2) == "0,03 %"
    assert fmt_pct(1.89, 0, sign=True) == "+189 %"
    assert fmt_sci(0.000149) == "1,49e-04"
    assert fmt_sci(123456.0, 1) == "1,2e+05"


def test_round_trip_through_python():
    """Undoing the swap gives back what Python's own format gives: same rounding, same digits."""
    rng = np.random.default_rng(0)
    for x in rng.normal(scale=1e6, size=200):
        text = fmt_float(float(x), 3)
        assert text.replace(".", "").replace(",", ".") == f"{x:.3f}"


# ---- The lessons' prose follows the same convention ------------------------------------------------------------

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("[0-9][0-9]_*.ipynb"))
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)  # code keeps Python's syntax
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_TAG = re.compile(r"<[^>\n]*>|\]\([^)\n]*\)")  # HTML tags and link targets (URLs, file names)
# Versions and names, not quantities: "torch 2.4", "Python 3.10", "GPT-3.5", "sm_75"
_VERSION = re.compile(r"(?i)(torch|python|pytorch|cuda|gpt-|llama|phiên bản|version|v|≥|>=)\s*$")
# a dot between digits that is not a Vietnamese thousands group ("0.02", "22.75", "1.5")
_DECIMAL_POINT = re.compile(r"(?<![\d.,])(?!(?:[1-9]\d{0,2})(?:\.\d{3})+(?!\.?\d))\d+\.\d+")
PROSE_RULES = {
    "thousands grouped by spaces (write 50.257)": re.compile(
        r"(?<![\d.,\-])\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?![\dA-Za-z])"
    ),
    "thousands grouped by commas (write 124.439.808)": re.compile(
        r"(?<![\d.,])\d{1,3}(?:,\d{3}){2,}(?![\d,])"
    ),
    "decimal point (write 0,02)": _DECIMAL_POINT,
}
MATH_RULES = {
    "decimal point in math (write 0{,}02)": _DECIMAL_POINT,
    "thousands grouped by spaces in math (write 50.257)": re.compile(r"\d\\[,;: ]\d{3}(?!\d)"),
}


def number_style_problems(markdown: str) -> list[str]:
    """Numbers in a markdown cell written otherwise than the course's convention (code spans are exempt)."""
    text = _TAG.sub(" ", _CODE.sub(" ", markdown))
    problems = []
    for m in _MATH.finditer(text):
        problems += [
            f"{why}: {m.group()[:60]!r}" for why, rule in MATH_RULES.items() if rule.search(m.group())
        ]
    prose = _MATH.sub(" ", text)
    for why, rule in PROSE_RULES.items():
        for m in rule.finditer(prose):
            if _VERSION.search(prose[max(0, m.start() - 12) : m.start()]):
                continue
            problems.append(f"{why}: {prose[max(0, m.start() - 25) : m.end() + 5]!r}")
    return problems


def test_number_style_rules_catch_each_way():
    assert number_style_problems("từ vựng 50 257 token") and number_style_problems("1,557,611,200 tham số")
    assert number_style_problems("std 0.02") and number_style_problems("$\\ln 50\\,257$")
    assert number_style_problems("$\\mathcal{N}(0, 0.02^2)$") and number_style_problems("22.75 %.")
    assert not number_style_problems("50.257 token, 0,02, 22,75 %, $0{,}02$, `lr=3e-4, x = 0.02`, torch 2.4")
    assert not number_style_problems("$V = 50.257$ và 124.439.808. GPT-2 124M")


# Lessons whose prose is still being written (none now).
PENDING: set[str] = set()


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem[:2])
def test_lesson_prose_writes_numbers_one_way(path):
    if path.stem[:2] in PENDING:
        pytest.xfail("prose being rewritten with the lesson's experiment")
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = [
        f"[{i}] {p}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "markdown"
        for p in number_style_problems("".join(cell["source"]))
    ]
    assert not problems, (
        "Viết số theo quy ước (chấm ngăn nghìn, phẩy thập phân; xem minigpt_lib/fmt.py):\n"
        + "\n".join(problems)
    )


# ---- ... and what they print ------------------------------------------------------------------------------------

_SPEC = re.compile(r"^(?:[^{}]?[<>^=])?[+ -]?\d*(?P<comma>,)?(?:\.\d+)?(?P<type>[fe%]?)$")
# Cells still printing Python's own number format, by lesson: GPU-path cells owned by the GPU work (20, 22, 29).
# The count may only go down.
PRINT_PENDING = {"20": 3, "22": 9, "29": 1}


def english_number_formats(source: str) -> list[str]:
    """Replacement fields of f-strings that format numbers Python's way ({x:,}, {x:.3f}, {x:.1%}, {x:.2e})."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    found = []
    for tok in tokens:
        prefix = re.match(r"(?i)[rbfu]*", tok.string).group()
        if tok.type != tokenize.STRING or "f" not in prefix.lower():
            continue
        for field in re.finditer(r"(?<!\{)\{([^{}]*?):([^{}:!]*)\}", tok.string):
            spec = _SPEC.match(field.group(2))
            if spec and (spec["comma"] or spec["type"]) and "[" not in field.group(2):
                found.append(field.group(0))
    return found


def _printing_cells(nb: dict):
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell["source"])
        if (
            cell["cell_type"] == "code"
            and "solution" not in tags
            and "stub" not in tags
            and "checks." not in source
        ):
            yield source


def test_english_number_formats_are_found():
    assert english_number_formats('print(f"{n:,} token, loss {x:.3f}, {p:.1%}, {e:.2e}")') == [
        "{n:,}",
        "{x:.3f}",
        "{p:.1%}",
        "{e:.2e}",
    ]
    assert english_number_formats('print(f"{mg.fmt_int(n)} token, {name:>12}, {k:5d}, {{x:.2f}}")') == []


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem[:2])
def test_lesson_prints_numbers_the_vietnamese_way(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = [f for source in _printing_cells(nb) for f in english_number_formats(source)]
    allowed = PRINT_PENDING.get(path.stem[:2], 0)
    assert len(found) <= allowed, (
        "In số bằng mg.fmt_int / mg.fmt_float / mg.fmt_pct (chấm ngăn nghìn, phẩy thập phân), không dùng định dạng "
        f"của Python: {found[:8]}"
    )
