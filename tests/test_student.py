"""Student versions: solutions removed, the rest kept; each lesson's student version stops at its first stub."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from minigpt_lib.student import count_solution_cells, main, student_version, write_student_versions

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def _cell(kind, source, tags=()):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _toy_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("md", "# 99. Bài thử"),
        _cell("code", "x = 2", ["hide-input"]),
        _cell("md", ":::{exercise}\n:label: ex-99-square\nViết hàm bình phương.\n:::"),
        _cell(
            "code", 'def square(a):\n    raise NotImplementedError("Bài tập: hãy viết phần này.")', ["stub"]
        ),
        _cell("md", "```{solution-start} ex-99-square\n:class: dropdown\n```", ["solution"]),
        _cell("code", "def square(a):\n    return a * a", ["solution"]),
        _cell("md", "```{solution-end}\n```", ["solution"]),
        _cell("code", 'assert square(3) == 9, "Sai"\nprint("Đúng!")'),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output\n")]
    nb.cells[1].execution_count = 7
    return nb


def test_student_version_of_a_toy_notebook(tmp_path, capsys):
    src, out = tmp_path / "lessons", tmp_path / "student"
    src.mkdir()
    nb = _toy_notebook()
    nbformat.write(nb, src / "99_toy.ipynb")
    assert count_solution_cells(nb) == 3

    assert main([str(src), str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("99_toy.ipynb: bỏ 3 ô lời giải"), line

    (path,) = write_student_versions(src, out, verbose=False)
    student = nbformat.read(path, as_version=4)
    nbformat.validate(student)
    sources = [c.source for c in student.cells]
    kept = [c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    assert sources == kept  # every non-solution cell, in order
    assert not any("return a * a" in s or "solution-start" in s or "solution-end" in s for s in sources)
    assert student.cells[3].metadata["tags"] == ["stub"]
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert student.metadata["kernelspec"]["name"] == "python3"

    # Executed, the student version stops at the check cell with the stub's NotImplementedError.
    client = NotebookClient(student, timeout=60, kernel_name="python3")
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert info.value.ename == "NotImplementedError"


def test_refuses_to_overwrite_the_sources(tmp_path):
    nbformat.write(_toy_notebook(), tmp_path / "99_toy.ipynb")
    with pytest.raises(ValueError):
        write_student_versions(tmp_path, tmp_path)
    with pytest.raises(FileNotFoundError):
        write_student_versions(tmp_path / "empty", tmp_path / "out")


def _lessons_with_solutions() -> list[Path]:
    return [
        p for p in sorted(LESSONS.glob("*.ipynb")) if count_solution_cells(nbformat.read(p, as_version=4))
    ]


@pytest.mark.parametrize("lesson", _lessons_with_solutions(), ids=lambda p: p.stem)
def test_student_lesson_stops_at_its_first_stub(lesson, monkeypatch):
    """Without its solutions a lesson must run up to the first stub and fail there, with NotImplementedError only."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # inherited by the kernel
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.reads(student_version(nbformat.read(lesson, as_version=4)), as_version=4)
    assert count_solution_cells(nb) == 0
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(LESSONS)}}
    )
    with pytest.raises(CellExecutionError) as info:
        client.execute()  # stops at the first error
    assert info.value.ename == "NotImplementedError", (
        f"{lesson.name}: the student version should stop at a stub's NotImplementedError, "
        f"but raised {info.value.ename}: {info.value.evalue}"
    )


# ---------------------------------------------------------------- the committed student versions
ROOT = LESSONS.parent
STUDENT = ROOT / "student"


def test_committed_student_versions_are_up_to_date():
    expected = {p.name: student_version(nbformat.read(p, as_version=4)) for p in _lessons_with_solutions()}
    actual = {p.name: p.read_text(encoding="utf-8") for p in STUDENT.glob("*.ipynb")}
    stale = sorted(name for name in expected if actual.get(name) != expected[name])
    extra = sorted(set(actual) - set(expected))
    assert not stale and not extra, (
        f"student/ is stale (outdated: {stale}, without a lesson with exercises: {extra}). "
        "Regenerate it with `make student` (or `python -m minigpt_lib.student lessons student`) and commit student/."
    )


# Idioms every timing or inference cell uses: seeing them after an exercise gives nothing away.
GENERIC_LINES = {"with torch.no_grad():", "mg.device.synchronize(device)"}


def _normalise(line: str) -> str:
    return " ".join(line.split())


def distinctive_lines(solution: str, given: str) -> list[str]:
    """Lines of a solution that give it away: code, not comments or signatures, not already in the stub."""
    given_lines = {_normalise(line) for line in given.splitlines()}
    out = []
    for line in solution.splitlines():
        text = _normalise(line.split("  #")[0])
        if (
            len(text) < 16
            or text.startswith(("#", '"""', "def ", "class ", "import ", "from ", "return self", "super()"))
            or text in given_lines
            or text in GENERIC_LINES
        ):
            continue
        out.append(text)
    return out


def _lines(cells) -> set[str]:
    return {_normalise(line) for c in cells for line in c.source.replace("`", "\n").splitlines()}


@pytest.mark.parametrize("lesson", _lessons_with_solutions(), ids=lambda p: p.stem)
def test_student_version_gives_no_answer_away(lesson):
    """No distinctive line of a solution appears after its exercise in the student version. Distinctive: code that
    is not in the stub and that the lesson did not already show before the exercise (what it taught to reuse)."""
    student = nbformat.reads(student_version(nbformat.read(lesson, as_version=4)), as_version=4)
    nb = nbformat.read(lesson, as_version=4)
    starts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "{exercise}" in c.source]
    ids = [c.id for c in student.cells]
    leaks = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(nb.cells)
        part = nb.cells[start:end]
        solution = "\n".join(
            c.source for c in part if "solution" in c.metadata.get("tags", []) and c.cell_type == "code"
        )
        stub = "\n".join(c.source for c in part if "stub" in c.metadata.get("tags", []))
        taught = _lines(nb.cells[:start])
        after = _lines(student.cells[ids.index(nb.cells[start].id) :])
        leaks += [line for line in distinctive_lines(solution, stub) if line in after and line not in taught]
    assert not leaks, (
        f"{lesson.name}: the student version shows these solution lines after the exercise: {leaks}"
    )


def test_the_leaks_the_review_found_stay_fixed():
    def student_text(name, code_only=False):
        nb = nbformat.reads(student_version(nbformat.read(LESSONS / name, as_version=4)), as_version=4)
        return "\n".join(c.source for c in nb.cells if not code_only or c.cell_type == "code")

    assert "(12C^2 + 13C)}_" not in student_text(
        "26_challenge_parameters_part1.ipynb"
    )  # the formula, spelt out
    code14 = student_text("14_challenge_code_attention.ipynb", code_only=True)
    # the mistaken versions were the answer one edit away (dim=-1 -> dim=-2)
    assert "softmax(scores, dim=-2)" not in code14 and "def attention_softmax_wrong_axis" not in code14
