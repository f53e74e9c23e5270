"""Text outputs wrap like in Jupyter, except tables, which keep their columns.

JupyterLab and Colab wrap long output lines (`white-space: pre-wrap`); the book's theme makes them scroll sideways,
so a checker's verdict (✅/❌ and a sentence) has to be scrolled to be read. book/_static/book.css wraps text outputs.
Wrapping a table would break its columns, so an output that looks like a table (columns aligned by runs of spaces
on several lines, box-drawing characters, a printed tensor or array) gets the class ``tabular`` and is not wrapped:
such an output must fit the column as printed (tests/test_book.py measures it).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

ALIGNED = re.compile(r"\S {2,}\S")  # two columns separated by a run of spaces
BOX_DRAWING = re.compile(r"[\u2500-\u257f]")
ARRAY = re.compile(r"(tensor|array)\(\[\[|^\s*\[\[", re.MULTILINE)


def looks_tabular(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    aligned = sum(bool(ALIGNED.search(line.strip())) for line in lines)
    return aligned >= 2 or bool(BOX_DRAWING.search(text)) or bool(ARRAY.search(text))


class MarkTabularOutputs(SphinxPostTransform):
    default_priority = 220
    formats = ("html",)

    def run(self, **kwargs):
        for node in self.document.findall(nodes.literal_block):
            if "output" in node["classes"] and looks_tabular(node.astext()):
                node["classes"].append("tabular")


def setup(app):
    app.add_post_transform(MarkTabularOutputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
