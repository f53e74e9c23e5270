"""Fit every lesson's code to the book's column: `make format` runs this, then `ruff format` (not a Sphinx extension).

The column of the rendered book holds about 80 characters of code (tests/test_book.py measures it); the limit is
`line-length` in lessons/ruff.toml. `ruff format` splits code at brackets but leaves long comments and long string
literals as they are; this script wraps them first:

- a comment line that is too long becomes several comment lines with the same indentation;
- a trailing comment that makes its line too long moves above that line;
- a long one-line string literal is cut at spaces into implicitly concatenated pieces inside parentheses, which is
  the same string (f-strings are never cut inside a replacement field ``{...}``).

It changes layout only: each cell's syntax tree (where comments and the concatenation leave no trace) is compared
before and after, and a cell whose tree would change is left as it was and reported.

Usage: python book/_ext/fit_lessons.py lessons/*.ipynb (exit status 1 if a line is still too long)
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
KEEP_COMMENT = re.compile(r"noqa|type:|fmt:|pragma|^#!")
MAGIC = re.compile(r"^\s*[%!]")


def line_length() -> int:
    """`line-length` of lessons/ruff.toml (read without tomllib, which Python 3.10 lacks)."""
    text = (ROOT / "lessons" / "ruff.toml").read_text(encoding="utf-8")
    return int(re.search(r"^line-length\s*=\s*(\d+)", text, re.MULTILINE).group(1))


def syntax_tree(source: str) -> str | None:
    """The cell's tree as text, IPython magics blanked out; None if the cell is not Python."""
    lines = ["pass" if MAGIC.match(line) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    for node in ast.walk(tree):  # a docstring may be rewrapped: compare its words
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                value.value = " ".join(value.value.split())
    return ast.dump(tree)


def tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def wrap_comment(indent: str, comment: str, limit: int) -> list[str]:
    body = comment.lstrip("#").strip()
    width = max(limit - len(indent) - 2, 30)
    pieces = textwrap.wrap(body, width=width, break_long_words=False, break_on_hyphens=False) or [""]
    return [f"{indent}# {piece}" for piece in pieces]


def fit_comments(source: str, limit: int) -> str:
    lines = source.split("\n")
    edits: dict[int, list[str]] = {}
    for tok in tokens(source):
        if tok.type != tokenize.COMMENT or KEEP_COMMENT.search(tok.string):
            continue
        row = tok.start[0] - 1
        line = lines[row]
        if len(line) <= limit or row in edits:
            continue
        code = line[: tok.start[1]].rstrip()
        indent = line[: len(line) - len(line.lstrip())]
        if not code:  # a comment on its own line
            edits[row] = wrap_comment(indent, tok.string, limit)
        elif len(code) <= limit:  # a trailing comment: above its line
            edits[row] = [*wrap_comment(indent, tok.string, limit), code]
    for row in sorted(edits, reverse=True):
        lines[row : row + 1] = edits[row]
    return "\n".join(lines)


def split_points(body: str, is_f: bool) -> list[int]:
    """Positions where the literal may be cut: after a space, or between two fields {...} of an f-string."""
    points, depth, i = [], 0, 0
    while i < len(body):
        ch = body[i]
        if is_f and body.startswith(("{{", "}}"), i) and depth == 0:
            i += 2
            continue
        if is_f and ch == "{":
            depth += 1
        elif is_f and ch == "}":
            depth -= 1
            if depth == 0:
                points.append(i + 1)  # between two replacement fields
        elif ch == "\\":
            i += 2
            continue
        elif ch == " " and depth == 0 and i + 1 < len(body) and body[i + 1] != " ":
            points.append(i + 1)
        i += 1
    return points


def cut_string(literal: str, width: int) -> list[str] | None:
    match = re.fullmatch(r"([A-Za-z]*)(['\"])(.*)\2", literal, re.DOTALL)
    if not match or literal.endswith(('"""', "'''")):
        return None
    prefix, quote, body = match.groups()
    is_f = "f" in prefix.lower()
    room = width - len(prefix) - 2
    pieces, start = [], 0
    points = split_points(body, is_f)
    while len(body) - start > room:
        fitting = [p for p in points if start < p <= start + room]
        if not fitting:
            later = [p for p in points if p > start]
            if not later:
                break
            fitting = [later[0]]
        pieces.append(body[start : fitting[-1]])
        start = fitting[-1]
    pieces.append(body[start:])
    if len(pieces) < 2:
        return None

    def piece_prefix(piece: str) -> str:
        if is_f and not re.search(r"[{}]", piece):
            return prefix.replace("f", "").replace("F", "")
        return prefix

    return [f"{piece_prefix(piece)}{quote}{piece}{quote}" for piece in pieces]


def wrap_docstring(literal: str, indent: int, limit: int) -> str | None:
    """A one-line docstring that is too long, as a wrapped multi-line docstring."""
    match = re.fullmatch(r'([rR]?)("""|\'\'\')(.*)\2', literal, re.DOTALL)
    if not match or "\n" in literal:
        return None
    prefix, quote, body = match.groups()
    body = body.strip()
    width = limit - indent - len(prefix) - 3
    if len(body) <= width:  # one line would be joined back with its quotes by ruff: cut it in two
        width = len(body) // 2 + 10
    pieces = textwrap.wrap(body, width=width, break_long_words=False, break_on_hyphens=False)
    pad = " " * indent
    return f"{prefix}{quote}" + f"\n{pad}".join(pieces) + f"\n{pad}{quote}"


def wrap_multiline_docstring(literal: str, column: int, limit: int) -> str | None:
    """A multi-line docstring with its too-long lines wrapped (each keeps its indentation)."""
    out = []
    for number, line in enumerate(literal.split("\n")):
        start = column if number == 0 else 0  # the first line starts after the code before the quotes
        if start + len(line) <= limit:
            out.append(line)
            continue
        indent = " " * column if number == 0 else line[: len(line) - len(line.lstrip())]
        first, *rest = textwrap.wrap(
            line.strip(), width=limit - len(indent), break_long_words=False, break_on_hyphens=False
        )
        out.append(first if number == 0 else indent + first)
        out.extend(indent + piece for piece in rest)
    fitted = "\n".join(out)
    return fitted if fitted != literal else None


def fit_strings(source: str, limit: int) -> str:
    """Cut the first string literal that makes its line too long; called until nothing changes."""
    lines = source.split("\n")
    toks = tokens(source)
    depth = 0
    significant = [t for t in toks if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for index, tok in enumerate(significant):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type != tokenize.STRING:
            continue
        row, end_row = tok.start[0] - 1, tok.end[0] - 1
        line = lines[row]
        if all(len(physical) <= limit for physical in lines[row : end_row + 1]):
            continue
        indent = len(line) - len(line.lstrip())
        before = significant[index - 1] if index else None
        after = significant[index + 1] if index + 1 < len(significant) else None
        triple = tok.string.endswith(('"""', "\'\'\'"))
        statement = (before is None or before.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)) and (
            after is not None and after.type in (tokenize.NEWLINE, tokenize.ENDMARKER)
        )
        if triple and statement and row != end_row:
            replacement = wrap_multiline_docstring(tok.string, tok.start[1], limit)
        elif triple or row != end_row:
            replacement = wrap_docstring(tok.string, indent, limit) if triple and statement else None
        else:
            pieces = cut_string(tok.string, limit - max(indent + 8, tok.start[1]))
            if not pieces:
                continue
            inner = " " * (indent + 4)
            joined = "\n".join(inner + piece for piece in pieces)
            if depth > 0:  # inside brackets: the pieces join their neighbours as one literal
                replacement = joined.lstrip()
            elif string_token(before) or string_token(after):
                continue
            else:
                replacement = "(\n" + joined + "\n" + " " * indent + ")"
        if replacement is None:
            continue
        head, tail = line[: tok.start[1]], lines[end_row][tok.end[1] :]
        lines[row : end_row + 1] = (head + replacement + tail).split("\n")
        return "\n".join(lines)
    return source


def string_token(tok) -> bool:
    return tok is not None and tok.type == tokenize.STRING


def fit_cell(source: str, limit: int) -> tuple[str, bool]:
    """The cell with its comments and strings fitted, and whether its syntax tree stayed the same."""
    before = syntax_tree(source)
    if before is None:
        return source, True
    fitted = fit_comments(source, limit)
    for _ in range(200):
        cut = fit_strings(fitted, limit)
        if cut == fitted:
            break
        fitted = cut
    if syntax_tree(fitted) != before:
        return source, False
    return fitted, True


def setup_cell(cells: list[dict]) -> int:
    """The lesson's first code cell: written by minigpt_lib.setup_cell, which keeps it under 80 columns itself."""
    return next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


def ruff_format(notebooks: dict[Path, dict]) -> None:
    """`ruff format` with lessons/ruff.toml on every code cell but the setup cell (on copies, then copied back)."""
    ruff = Path(sys.executable).with_name("ruff")
    with tempfile.TemporaryDirectory() as tmp:
        copies = {}
        for path, notebook in notebooks.items():
            copy = json.loads(json.dumps(notebook))
            copy["cells"][setup_cell(copy["cells"])] = {"cell_type": "markdown", "metadata": {}, "source": ""}
            copies[path] = Path(tmp) / path.name
            copies[path].write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
        config = ROOT / "lessons" / "ruff.toml"
        subprocess.run([str(ruff), "format", "--config", str(config), *map(str, copies.values())], check=True)
        for path, notebook in notebooks.items():
            formatted = json.loads(copies[path].read_text(encoding="utf-8"))["cells"]
            skip = setup_cell(notebook["cells"])
            for index, (cell, new) in enumerate(zip(notebook["cells"], formatted, strict=True)):
                if cell["cell_type"] == "code" and index != skip:
                    cell["source"] = new["source"]


def fit_sources(notebook: dict, limit: int, name: str) -> list[str]:
    problems = []
    skip = setup_cell(notebook["cells"])
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or index == skip:
            continue
        fitted, same_tree = fit_cell("".join(cell["source"]), limit)
        if not same_tree:
            problems.append(f"{name} cell {index}: left as it was (the syntax tree would change)")
        cell["source"] = fitted
    return problems


def too_long(notebook: dict, limit: int, name: str) -> list[str]:
    return [
        f"{name} cell {index}: {len(line)} > {limit} columns: {line.strip()[:60]}"
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if len(line) > limit
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    limit = line_length()
    texts = {path: path.read_text(encoding="utf-8") for path in args.notebooks}
    notebooks = {path: json.loads(text) for path, text in texts.items()}
    problems = []
    for _ in range(2):  # ruff's layout can make a comment or a string too long again
        for path, notebook in notebooks.items():
            problems = fit_sources(notebook, limit, path.name)
        ruff_format(notebooks)
    for path, notebook in notebooks.items():
        text = nbformat.writes(nbformat.from_dict(notebook)) + "\n"
        if text != texts[path]:
            path.write_text(text, encoding="utf-8")
        problems += too_long(notebook, limit, path.name)
    print("\n".join(problems) or f"{len(notebooks)} notebooks fit in {limit} columns")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
