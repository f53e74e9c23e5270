"""Text outputs wrap like in Jupyter, except tables, which keep their columns.

JupyterLab and Colab wrap long output lines (`white-space: pre-wrap`); the book's theme makes them scroll sideways,
so a checker's verdict (✅/❌ and a sentence) has to be scrolled to be read. book/_static/book.css wraps text outputs.
Wrapping a table would break its columns, so an output that looks like a table (columns aligned by runs of spaces
on several lines, box-drawing characters, a printed tensor or array) gets the class ``tabular`` and is not wrapped:
its aligned lines must fit the column as the lesson prints them (tests/test_book.py measures it). A line of prose
in such an output (a library's message printed above a table) is wrapped here at WIDTH columns, as a browser would
wrap it. Tracebacks are never tables.
"""

from __future__ import annotations

import re
import textwrap

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

ALIGNED = re.compile(r"\S {2,}\S")  # two columns separated by a run of spaces
BOX_DRAWING = re.compile(r"[\u2500-\u257f]")
ARRAY = re.compile(r"(tensor|array)\(\[\[|^\s*\[\[", re.MULTILINE)
WIDTH = 80  # columns of output text in the book's column (13 px Noto Sans Mono, see book.css)


def looks_tabular(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    aligned = sum(bool(ALIGNED.search(line.strip())) for line in lines)
    return aligned >= 2 or bool(BOX_DRAWING.search(text)) or bool(ARRAY.search(text))


def wrap_prose_lines(text: str) -> str:
    """Lines longer than WIDTH that are not aligned columns, wrapped at spaces (indentation kept)."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= WIDTH or ALIGNED.search(line.strip()) or BOX_DRAWING.search(line) or "\x1b" in line:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines.extend(
            textwrap.wrap(line, width=WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        )
    return "\n".join(lines)


class MarkTabularOutputs(SphinxPostTransform):
    default_priority = 220
    formats = ("html",)

    def run(self, **kwargs):
        for node in self.document.findall(nodes.literal_block):
            if "output" not in node["classes"] or "traceback" in node["classes"]:
                continue
            text = node.astext()
            if not looks_tabular(text):
                continue
            node["classes"].append("tabular")
            wrapped = wrap_prose_lines(text)
            if wrapped != text:
                node.rawsource = wrapped  # equal to the text: still highlighted as a literal block
                node[:] = [nodes.Text(wrapped)]


def setup(app):
    app.add_post_transform(MarkTabularOutputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
