"""python -m minigpt_lib.grade: every exercise's verdict from an executed notebook, a class's table and summary."""

import csv
from pathlib import Path

import nbformat
import pytest

from minigpt_lib import grade
from minigpt_lib.student import student_version

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
SHORT_LESSON = LESSONS / "17_transformer_block_code.ipynb"  # one of the shortest lessons with an exercise

REPEAT_KV = """def repeat_kv(x, n_rep):
    B, H, T, d = x.shape
    return x[:, :, None].expand(B, H, n_rep, T, d).reshape(B, H * n_rep, T, d)"""
HEAD_SHARE = """def head_flop_share(V, C, L, T):
    return 2 * C * V / (2 * C * V + L * (24 * C * C + 4 * T * C))"""
STUB = 'raise NotImplementedError("Bài tập: hãy viết phần này.")'


def _cell(kind, source, tags=()):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def toy_notebook(repeat_kv=REPEAT_KV, head_share=HEAD_SHARE):
    """Two exercises written like the lessons: task, stub, gated solution, checker cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("code", "import torch\nimport minigpt_lib as mg"),
        _cell("md", "## Bài tập 1\n\n:::{exercise}\n:label: ex-99-repeat-kv\nViết `repeat_kv`.\n:::"),
        _cell("code", f"def repeat_kv(x, n_rep):\n    {STUB}", ["stub"]),
        _cell("md", "```{solution-start} ex-99-repeat-kv\n```", ["solution"]),
        _cell("code", repeat_kv, ["solution"]),
        _cell("md", "```{solution-end}\n```", ["solution"]),
        _cell("code", "mg.checks.check_repeat_kv(repeat_kv).verdict()", ["check"]),
        _cell("md", "## Bài tập 2\n\n:::{exercise}\n:label: ex-99-head-share\nViết `head_flop_share`.\n:::"),
        _cell("code", f"def head_flop_share(V, C, L, T):\n    {STUB}", ["stub"]),
        _cell("md", "```{solution-start} ex-99-head-share\n```", ["solution"]),
        _cell("code", head_share, ["solution"]),
        _cell("md", "```{solution-end}\n```", ["solution"]),
        _cell(
            "code", "mg.checks.check_head_flop_share(head_flop_share).verdict()"
        ),  # untagged: found after the stub
    ]
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def statuses(path, **kwargs):
    return [(v.exercise, v.status) for v in grade.grade_notebook(path, **kwargs)]


def test_a_notebook_with_solutions_passes(tmp_path, capsys):
    path = write(toy_notebook(), tmp_path / "toy.ipynb")
    assert statuses(path) == [("ex-99-repeat-kv", "đạt"), ("ex-99-head-share", "đạt")]
    assert grade.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "đạt 2/2 bài tập" in out and "✅ Bài tập 1 (ex-99-repeat-kv)" in out


def test_the_student_version_is_not_done(tmp_path):
    student = nbformat.reads(student_version(toy_notebook()), as_version=4)
    path = write(student, tmp_path / "student.ipynb")
    assert statuses(path) == [("ex-99-repeat-kv", "chưa làm"), ("ex-99-head-share", "chưa làm")]
    assert grade.main([str(path)]) == 1


SEEDED = {  # label -> (repeat_kv solution, expected status): one notebook, one kernel, every kind of verdict
    "ex-98-named": ("def repeat_kv(x, n_rep):\n    return x.repeat(1, n_rep, 1, 1)", "tiled_not_grouped"),
    "ex-98-crash": ("def repeat_kv(x, n_rep):\n    return x.shape[7]", "exception"),
    "ex-98-loop": ("def repeat_kv(x, n_rep):\n    while True:\n        pass", "timeout"),
    "ex-98-stub": (f"def repeat_kv(x, n_rep):\n    {STUB}", "chưa làm"),
    "ex-98-right": (REPEAT_KV, "đạt"),
}


def test_seeded_mistakes_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGPT_CHECK_DEADLINE_S", "2")  # inherited by the kernel: the loop stops after 2 s
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [_cell("code", "import minigpt_lib as mg")]
    for label, (solution, _) in SEEDED.items():
        nb.cells += [
            _cell("md", f":::{{exercise}}\n:label: {label}\nViết `repeat_kv`.\n:::"),
            _cell("code", solution, ["solution"]),
            _cell("code", "mg.checks.check_repeat_kv(repeat_kv).verdict()", ["check"]),
        ]
    verdicts = grade.grade_notebook(write(nb, tmp_path / "seeded.ipynb"))
    assert [(v.exercise, v.status) for v in verdicts] == [(k, status) for k, (_, status) in SEEDED.items()]
    assert all(v.message for v in verdicts if v.status != "chưa làm")
    assert "vòng lặp" in verdicts[2].message and "IndexError" in verdicts[1].message


def test_a_class_folder(tmp_path, capsys):
    folder = tmp_path / "submissions"
    write(toy_notebook(), folder / "an" / "99_toy.ipynb")
    write(
        toy_notebook("def repeat_kv(x, n_rep):\n    return x.repeat(1, n_rep, 1, 1)"),
        folder / "binh" / "99_toy.ipynb",
    )
    write(nbformat.reads(student_version(toy_notebook()), as_version=4), folder / "dung.ipynb")
    assert grade.main([str(folder), "--out", str(tmp_path / "out")]) == 1
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8")))
    table = {r["student"]: (r["ex-99-repeat-kv"], r["ex-99-head-share"], r["passed"]) for r in rows}
    assert table == {
        "an": ("đạt", "đạt", "2"),
        "binh": ("tiled_not_grouped", "đạt", "1"),
        "dung": ("chưa làm", "chưa làm", "0"),
    }
    summary = (tmp_path / "out" / "mistakes.md").read_text(encoding="utf-8")
    assert "## ex-99-repeat-kv: 1/3 đạt" in summary and "- tiled_not_grouped (1 học viên)" in summary
    assert "grades.csv" in capsys.readouterr().out


def test_a_real_lesson_its_student_version_and_a_seeded_mistake(tmp_path):
    """One short lesson, three ways (lesson 17 runs in about 5 s on one CPU thread)."""
    lesson = nbformat.read(SHORT_LESSON, as_version=4)
    labels = [label for label, _ in grade.exercise_cells(lesson)]
    assert labels and all(i is not None for _, i in grade.exercise_cells(lesson))
    assert statuses(SHORT_LESSON, cwd=LESSONS) == [(label, "đạt") for label in labels]

    student = nbformat.reads(student_version(lesson), as_version=4)
    assert statuses(write(student, tmp_path / "student.ipynb"), cwd=LESSONS) == [
        (lb, "chưa làm") for lb in labels
    ]

    for cell in lesson.cells:
        if "solution" in cell.metadata.get("tags", []) and "def block_param_count" in cell.source:
            cell.source = "def block_param_count(D, bias=True):\n    return 12 * D * D + 13 * D  # bias ignored"
    seeded = statuses(write(lesson, tmp_path / "seeded.ipynb"), cwd=LESSONS)
    assert seeded == [("ex-17-block-params", "bias_flag_ignored")]


def test_bad_paths(tmp_path):
    assert grade.main([str(tmp_path / "missing.ipynb")]) == 1
    with pytest.raises(FileNotFoundError):
        grade.grade_folder(tmp_path, tmp_path)
