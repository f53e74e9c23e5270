"""Student versions of the lessons: the same notebooks without the solutions.

    python -m minigpt_lib.student SRC_DIR OUT_DIR      (``make student``: lessons -> student)

writes ``OUT_DIR/NN_slug.ipynb`` for every ``SRC_DIR/*.ipynb`` that has solutions (and removes student versions
whose lesson no longer has any); they are committed in ``student/``, which the book does not build, and the Colab
link of a lesson with exercises opens its student version (:func:`colab_url`). every cell tagged ``solution`` (the gated
``{solution-start}``/``{solution-end}`` markdown and the solution code) is removed with nbconvert's
``TagRemovePreprocessor``, outputs and execution counts are cleared, and everything else (the exercise, the stub,
the checker cell) is kept. A student version runs until the first stub is called and stops there with
``NotImplementedError("Bài tập: hãy viết phần này.")`` (the checkers of ``minigpt_lib.checks`` re-raise it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from traitlets.config import Config

SOLUTION_TAG = "solution"
STUDENT_DIR = "student"  # beside lessons/; excluded from the book by _config.yml
REGENERATE = "make student"  # or: python -m minigpt_lib.student lessons student


def colab_url(notebook_name: str, has_exercises: bool) -> str:
    """The Colab link of a lesson: its student version when it has exercises (solutions hidden), else the lesson."""
    from . import REPO_URL

    slug = REPO_URL.removeprefix("https://github.com/")
    folder = STUDENT_DIR if has_exercises else "lessons"
    return f"https://colab.research.google.com/github/{slug}/blob/main/{folder}/{notebook_name}"


def _exporter() -> NotebookExporter:
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {SOLUTION_TAG}
    config.ClearOutputPreprocessor.enabled = True
    config.NotebookExporter.preprocessors = [
        "nbconvert.preprocessors.TagRemovePreprocessor",
        "nbconvert.preprocessors.ClearOutputPreprocessor",
    ]
    return NotebookExporter(config=config)


def count_solution_cells(nb: nbformat.NotebookNode) -> int:
    return sum(SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) for cell in nb.cells)


def student_version(nb: nbformat.NotebookNode) -> str:
    """The student version of one notebook, as the text of an .ipynb file."""
    body, _ = _exporter().from_notebook_node(nb)
    return body


def write_student_versions(src: str | Path, out: str | Path, verbose: bool = True) -> list[Path]:
    """Write the student version of every ``src/*.ipynb`` into ``out``; return the paths written."""
    src, out = Path(src), Path(out)
    notebooks = sorted(src.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"No notebooks (*.ipynb) in {src}.")
    if out.resolve() == src.resolve():
        raise ValueError(
            "The output folder must differ from the source folder (the lessons would be overwritten)."
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        removed = count_solution_cells(nb)
        target = out / path.name
        if not removed:
            if target.exists():
                target.unlink()  # the lesson has no exercise any more
            continue
        target.write_text(student_version(nb), encoding="utf-8")
        written.append(target)
        if verbose:
            print(f"{path.name}: bỏ {removed} ô lời giải -> {target}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minigpt_lib.student",
        description="Write student versions of the lessons (cells tagged 'solution' removed, outputs cleared).",
    )
    parser.add_argument("src", type=Path, help="folder of the lessons, e.g. lessons")
    parser.add_argument("out", type=Path, help="folder for the student versions, e.g. student")
    args = parser.parse_args(argv)
    write_student_versions(args.src, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
