"""Lesson code fits the book's column, and `make format` (book/_ext/fit_lessons.py) only changes layout."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import fit_lessons  # noqa: E402

NOTEBOOKS = sorted((ROOT / "lessons").glob("*.ipynb"))
LIMIT = fit_lessons.line_length()


def test_the_limit_fits_the_book_column():
    # 80 columns of a 13 px monospace font (0.6 em) are 624 px; the code column of the book is 666 px at 1280 px
    # (tests/test_book.py measures the rendered pages). A longer limit would make code scroll sideways again.
    assert 72 <= LIMIT <= 80


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_line_fits_the_column(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    too_long = fit_lessons.too_long(notebook, LIMIT, path.name)
    assert not too_long, (
        f"{len(too_long)} code lines longer than {LIMIT} columns (the book's code column; "
        "`make format` wraps code, comments and strings):\n" + "\n".join(too_long[:15])
    )


def value_of(source: str) -> object:
    return ast.literal_eval(source.strip())


@pytest.mark.parametrize(
    "literal",
    [
        '"Mô hình phải sắp xếp đúng ít nhất chín mươi lăm phần trăm các chuỗi kiểm tra chưa từng thấy khi huấn luyện"',
        r"'escapes stay whole: a tab\t, a newline\n, a quote \' and a backslash \\ in the pieces of it'",
        'b"bytes are cut the same way, at spaces, and stay bytes when they are joined back together again ok"',
    ],
)
def test_a_cut_string_is_the_same_string(literal):
    pieces = fit_lessons.cut_string(literal, 30)
    assert pieces and len(pieces) > 1
    assert all(len(piece) <= 34 for piece in pieces[:-1])
    assert value_of("(" + " ".join(pieces) + ")") == value_of(literal)


def test_an_f_string_is_never_cut_inside_a_field():
    source = 'x, name = 3, "y"\ns = f"value {x + 1:>10} of {name!r} and {{literal braces}} with words enough to be cut"\n'
    fitted, same = fit_lessons.fit_cell(source, 40)
    assert same
    scope_before, scope_after = {}, {}
    exec(source, scope_before)
    exec(fitted, scope_after)
    assert scope_before["s"] == scope_after["s"]
    assert max(len(line) for line in fitted.splitlines()) <= 50


def test_comments_are_wrapped_and_trailing_ones_move_above_their_line():
    source = (
        "# a comment long enough that it has to be wrapped over two lines at forty\n"
        "y = 1  # a trailing comment that makes this line too long\n"
    )
    fitted = fit_lessons.fit_comments(source, 40)
    lines = fitted.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[-1] == "y = 1" and lines[-2].startswith("# ")
    assert " ".join(line.lstrip("# ") for line in lines[:-1]).split() == (
        "a comment long enough that it has to be wrapped over two lines at forty "
        "a trailing comment that makes this line too long"
    ).split()


def test_adjacent_literals_outside_brackets_are_left_alone():
    # Parenthesizing one of two adjacent literals would not be the same program.
    source = 'x = "a" "and a long enough literal that would need to be cut somewhere in the middle"\n'
    assert fit_lessons.fit_cell(source, 40) == (source, True)


def test_a_cell_whose_syntax_tree_would_change_is_left_alone(monkeypatch):
    monkeypatch.setattr(fit_lessons, "fit_comments", lambda source, limit: source.replace("1", "2"))
    source = "y = 1  # a trailing comment\n"
    assert fit_lessons.fit_cell(source, 40) == (source, False)


def test_long_docstrings_are_rewrapped_with_the_same_words():
    source = 'def f():\n    """Return the answer to a question that is long enough to need two lines."""\n    return 42\n'
    fitted, same = fit_lessons.fit_cell(source, 50)
    assert same
    assert max(len(line) for line in fitted.splitlines()) <= 50
    scope = {}
    exec(fitted, scope)
    assert scope["f"].__doc__.split() == "Return the answer to a question that is long enough to need two lines.".split()


def test_a_long_line_of_a_multi_line_docstring_is_rewrapped():
    source = (
        "class M:\n"
        '    """First line of a docstring that goes on for too long to fit in the column;\n'
        '    second line, short."""\n'
    )
    fitted, same = fit_lessons.fit_cell(source, 60)
    assert same
    assert max(len(line) for line in fitted.splitlines()) <= 60
    scope = {}
    exec(fitted, scope)
    assert scope["M"].__doc__.split() == (
        "First line of a docstring that goes on for too long to fit in the column; second line, short.".split()
    )
