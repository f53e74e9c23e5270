"""The repository's conventions: lessons without outputs, one repository URL, every lesson in the book."""

import json
import re
from pathlib import Path

import pytest
import yaml

import minigpt_lib
from minigpt_lib.lessons import LESSONS
from minigpt_lib.setup_cell import setup_cell_source
from minigpt_lib.student import colab_url

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "lessons").glob("*.ipynb"))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_lessons():
    assert NOTEBOOKS, "no lessons found"
    assert {p.stem for p in NOTEBOOKS} <= {stem for stem, _ in LESSONS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_committed_without_outputs(path):
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_shape(path):
    cells = load(path)["cells"]
    number, title = path.stem[:2], dict(LESSONS)[path.stem]
    first = "".join(cells[0]["source"])
    heading = first.splitlines()[0].replace("`", "")
    assert heading == f"# {number}. {title}", f"{path.name}: the first line must be '# {number}. {title}' (lessons.py)"
    assert "Mục tiêu" in first
    colab = colab_url(path.name, any("solution" in c.get("metadata", {}).get("tags", []) for c in cells))
    assert colab in first, f"{path.name}: the Colab link must be {colab} (the student version when it has exercises)"
    setup = "".join(cells[1]["source"])
    assert cells[1]["cell_type"] == "code" and "mg.setup_lesson" in setup
    assert f"git+{minigpt_lib.REPO_URL}" in setup, f"{path.name}: the setup cell must install from {minigpt_lib.REPO_URL}"
    assert setup == setup_cell_source(), (
        f"{path.name}: the setup cell differs from minigpt_lib/setup_cell.py; run `python -m minigpt_lib.setup_cell`"
    )
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "## Tóm tắt" in text, f"{path.name}: a lesson ends with '## Tóm tắt'"
    assert sum(1 for line in text.splitlines() if line.startswith("# ")) == 1, f"{path.name}: one '# ' title only"


def repo_slug():
    return re.sub(r"^https://github.com/", "", minigpt_lib.REPO_URL)


def test_repository_url_is_set_in_one_place():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == minigpt_lib.REPO_URL
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert minigpt_lib.REPO_URL in readme


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_lists_every_lesson_in_order():
    lessons_in_toc = [f.removeprefix("lessons/") for f in toc_files() if f.startswith("lessons/")]
    assert lessons_in_toc == [stem for stem, _ in LESSONS]
    for f in toc_files():
        assert list(ROOT.glob(f + ".*")), f"_toc.yml names {f}, which does not exist"


def test_solution_cells_are_gated():
    """Every solution code cell sits between a solution-start and a solution-end gate."""
    for path in NOTEBOOKS:
        inside = False
        for cell in load(path)["cells"]:
            src = "".join(cell["source"])
            if "{solution-start}" in src:
                inside = True
                assert "solution" in cell["metadata"].get("tags", []), f"{path.name}: tag the gate 'solution'"
            elif "{solution-end}" in src:
                inside = False
                assert "solution" in cell["metadata"].get("tags", []), f"{path.name}: tag the gate 'solution'"
            elif cell["cell_type"] == "code" and "solution" in cell["metadata"].get("tags", []):
                assert inside, f"{path.name}: a solution cell outside a solution-start/solution-end gate"
