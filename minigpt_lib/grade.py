"""Grade learners' notebooks: run them, read every exercise's verdict, report in Vietnamese.

    python -m minigpt_lib.grade PATH... [--timeout 300] [--out DIR]

Each PATH is a notebook (a lesson or its student version, filled in) or a folder of a class's submissions. A folder
holds either one sub-folder per student (``submissions/an/14_challenge_code_attention.ipynb``) or notebooks named
after the student (``submissions/an.ipynb``). Every notebook is executed with nbclient (errors do not stop the run;
``--timeout`` seconds per cell, then the kernel is interrupted and the run goes on), then each exercise
(``:label: ex-…`` of an ``{exercise}`` block) gets the verdict its checker cell printed:

- ✅ đạt: the checker passed;
- ❌ with the named mistake (the checker's key and its Vietnamese message), or the error the cell raised;
- "chưa làm": the exercise's stub still raises ``NotImplementedError("Bài tập: …")``.

The checker cell of an exercise is the code cell tagged ``check`` after it (or, in an untagged notebook, the first
code cell after its stub). The exit status is 0 only when every exercise of every notebook passed. For a folder,
``grades.csv`` (one row per student, one column per exercise: ``đạt``, the mistake's key, ``chưa làm``) and
``mistakes.md`` (the most common mistakes of each exercise) are written to ``--out`` (default: the folder).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .checks.engine import STUB_MESSAGE, VERDICT_MIME

PASSED, NOT_DONE = "đạt", "chưa làm"
_LABEL = re.compile(r":label:\s*(ex-[\w.-]+)")


@dataclass
class Verdict:
    exercise: str  # the exercise's label, e.g. "ex-14-weights"
    number: int  # its number within the lesson (1, 2, ...)
    status: str  # PASSED, NOT_DONE or the mistake's key ("exception", "no_scaling", ...)
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def line(self) -> str:
        head = f"Bài tập {self.number} ({self.exercise})"
        if self.passed:
            return f"✅ {head}: {self.message}"
        if self.status == NOT_DONE:
            return f"⏳ {head}: chưa làm (hàm vẫn là khung `raise NotImplementedError`)."
        return f"❌ {head} [{self.status}]: {self.message}"


def exercise_cells(nb: nbformat.NotebookNode) -> list[tuple[str, int | None]]:
    """``(label, index of its checker cell or None)`` for every exercise of the notebook, in order."""
    found, cells = [], nb.cells
    for i, cell in enumerate(cells):
        match = (
            _LABEL.search(cell.source)
            if cell.cell_type == "markdown" and "{exercise}" in cell.source
            else None
        )
        if not match:
            continue
        end = next(
            (
                j
                for j in range(i + 1, len(cells))
                if cells[j].cell_type == "markdown"
                and _LABEL.search(cells[j].source)
                and "{exercise}" in cells[j].source
            ),
            len(cells),
        )
        tagged = [j for j in range(i + 1, end) if "check" in cells[j].metadata.get("tags", [])]
        if tagged:
            found.append((match.group(1), tagged[0]))
            continue
        stub = next((j for j in range(i + 1, end) if "stub" in cells[j].metadata.get("tags", [])), None)
        after = [
            j
            for j in range((stub if stub is not None else i) + 1, end)
            if cells[j].cell_type == "code"
            and not {"stub", "solution"} & set(cells[j].metadata.get("tags", []))
        ]
        found.append((match.group(1), after[0] if after else None))
    return found


def _verdict_of(cell, label: str, number: int) -> Verdict:
    if cell is None:
        return Verdict(label, number, "no_checker", "không tìm thấy ô kiểm tra của bài tập này.")
    verdicts = [o["data"][VERDICT_MIME] for o in cell.get("outputs", []) if VERDICT_MIME in o.get("data", {})]
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    failed = [v for v in verdicts if not v["passed"]]
    if failed:
        return Verdict(label, number, failed[0].get("mistake") or "wrong", failed[0]["message"])
    if errors:
        err = errors[0]
        if err["ename"] == "NotImplementedError" and err["evalue"].startswith(STUB_MESSAGE.split(":")[0]):
            return Verdict(label, number, NOT_DONE)
        if err["ename"] in ("CellTimeoutError", "KeyboardInterrupt"):
            return Verdict(label, number, "timeout", "ô kiểm tra chạy quá thời gian cho phép và đã bị dừng.")
        return Verdict(label, number, "exception", f"ô kiểm tra gây lỗi `{err['ename']}: {err['evalue']}`.")
    if verdicts:
        return Verdict(label, number, PASSED, verdicts[-1]["message"])
    if cell.get("execution_count") is None:
        return Verdict(label, number, "not_run", "ô kiểm tra không được chạy (notebook dừng trước đó).")
    return Verdict(label, number, "no_verdict", "ô kiểm tra chạy xong nhưng không in kết quả của bộ chấm.")


def grade_notebook(path: str | Path, timeout: int = 300, cwd: str | Path | None = None) -> list[Verdict]:
    """Execute the notebook at ``path`` (a copy in memory; the file is not changed) and return its verdicts."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    exercises = exercise_cells(nb)
    if not exercises:
        return []
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    client.execute()
    return [
        _verdict_of(nb.cells[i] if i is not None else None, label, n)
        for n, (label, i) in enumerate(exercises, 1)
    ]


def report(path: Path, verdicts: list[Verdict]) -> str:
    done = sum(v.passed for v in verdicts)
    lines = [f"{path}: đạt {done}/{len(verdicts)} bài tập"] + [f"  {v.line()}" for v in verdicts]
    if not verdicts:
        lines = [f"{path}: không có bài tập nào."]
    return "\n".join(lines)


def _submissions(folder: Path) -> dict[str, list[Path]]:
    students: dict[str, list[Path]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebooks = sorted(sub.glob("*.ipynb"))
        if notebooks:
            students[sub.name] = notebooks
    for nb in sorted(folder.glob("*.ipynb")):
        students.setdefault(nb.stem, []).append(nb)
    return students


def grade_folder(folder: Path, out: Path, timeout: int = 300, cwd: Path | None = None) -> tuple[bool, str]:
    """Grade a class: write ``grades.csv`` and ``mistakes.md`` into ``out``; return (all passed, the text report)."""
    students = _submissions(folder)
    if not students:
        raise FileNotFoundError(f"Không có notebook (*.ipynb) nào trong {folder} hay các thư mục con của nó.")
    table: dict[str, dict[str, Verdict]] = {}
    texts, all_passed = [], True
    for student, notebooks in students.items():
        table[student] = {}
        for nb in notebooks:
            verdicts = grade_notebook(nb, timeout, cwd)
            texts.append(f"[{student}] " + report(nb, verdicts))
            all_passed &= bool(verdicts) and all(v.passed for v in verdicts)
            for v in verdicts:
                table[student][v.exercise] = v
    exercises = sorted({e for row in table.values() for e in row})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *exercises, "passed"])
        for student, row in table.items():
            cells = [row[e].status if e in row else "" for e in exercises]
            writer.writerow([student, *cells, sum(c == PASSED for c in cells)])
    summary = ["# Lỗi thường gặp theo bài tập", ""]
    for e in exercises:
        verdicts = [row[e] for row in table.values() if e in row]
        passed = sum(v.passed for v in verdicts)
        summary.append(f"## {e}: {passed}/{len(verdicts)} đạt")
        mistakes = Counter(v.status for v in verdicts if not v.passed)
        examples = {v.status: v.message for v in verdicts if not v.passed}
        for status, n in mistakes.most_common(5):
            detail = "" if status == NOT_DONE else f": {examples[status][:200]}"
            summary.append(f"- {status} ({n} học viên){detail}")
        summary.append("")
    (out / "mistakes.md").write_text("\n".join(summary), encoding="utf-8")
    texts.append(f"Đã ghi {out / 'grades.csv'} và {out / 'mistakes.md'}.")
    return all_passed, "\n".join(texts + ["", *summary])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minigpt_lib.grade",
        description="Chạy notebook của học viên và chấm từng bài tập (✅ / ❌ với lỗi được gọi tên / chưa làm).",
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, help="notebook (.ipynb) hoặc thư mục bài nộp của cả lớp"
    )
    parser.add_argument("--timeout", type=int, default=300, help="giây tối đa cho mỗi ô (mặc định 300)")
    parser.add_argument(
        "--out", type=Path, help="thư mục ghi grades.csv và mistakes.md (mặc định: thư mục bài nộp)"
    )
    parser.add_argument(
        "--cwd", type=Path, help="thư mục làm việc của kernel (mặc định: thư mục của notebook)"
    )
    args = parser.parse_args(argv)
    all_passed = True
    for path in args.paths:
        if path.is_dir():
            passed, text = grade_folder(path, args.out or path, args.timeout, args.cwd)
            print(text)
        elif path.suffix == ".ipynb" and path.exists():
            verdicts = grade_notebook(path, args.timeout, args.cwd)
            passed = bool(verdicts) and all(v.passed for v in verdicts)
            print(report(path, verdicts))
        else:
            print(f"{path}: không phải notebook (.ipynb) hay thư mục.", file=sys.stderr)
            passed = False
        all_passed &= passed
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
