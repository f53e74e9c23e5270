"""Run every lesson on a GPU and store which passed and how long each took.

    python benchmarks/gpu_lessons.py                       # every lesson -> benchmarks/results/gpu_lessons.json
    python benchmarks/gpu_lessons.py --lessons 21 22 29    # a few (by number or file stem)
    python benchmarks/gpu_lessons.py --allow-cpu --out /tmp/x.json --lessons 01   # try the script without a GPU

On this project's lent GPU machines (no network, no Jupyter installed) run ``benchmarks/gpu_session.sh`` instead.

Each lesson runs in its own Jupyter kernel (nbclient, the interpreter running this script), from ``lessons/`` as
nbval does, with the lesson's own asserts as the test. A lesson "passed" when every cell ran without an error; the
record also says whether the lesson really ran on the GPU (its setup cell prints ``device: cuda``), how long it
took (wall time, kernel start included) and, for a failure, the cell and the error. The JSON file is rewritten after
every lesson, so a run cut short (a time limit) keeps what it measured. Nothing here is a test: the book's tests
never need a GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from minigpt_lib.lessons import LESSONS  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "gpu_lessons.json"


def lesson_paths(selected: list[str] | None) -> list[Path]:
    """The lessons to run, in the book's order: all of them, or those named by number ("07") or stem."""
    stems = [stem for stem, _ in LESSONS]
    if not selected:
        return [ROOT / "lessons" / f"{stem}.ipynb" for stem in stems]
    chosen = []
    for name in selected:
        matches = [s for s in stems if s == name or s.split("_")[0] == name.zfill(2)]
        if not matches:
            raise SystemExit(f"No lesson called {name!r}; lessons are {stems[0]} ... {stems[-1]}.")
        chosen += matches
    return [ROOT / "lessons" / f"{stem}.ipynb" for stem in chosen]


def environment_line(nb: nbformat.NotebookNode) -> str:
    """The line the setup cell prints (``Python ... | device: cuda (NVIDIA H100 ...) | ...``), or ''."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "device:" in out.get("text", ""):
                return next(line for line in out["text"].splitlines() if "device:" in line)
        return ""
    return ""


def run_lesson(path: Path, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    record = {"lesson": path.stem, "passed": False, "seconds": None, "on_gpu": False, "error": None}
    start = time.perf_counter()
    try:
        client.execute()
        record["passed"] = True
    except CellExecutionError as err:
        record["error"] = failed_cell(nb) or str(err).strip().splitlines()[-1][:500]
    except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as err:
        record["error"] = f"{type(err).__name__}: {str(err).strip()[:500]}"
    record["seconds"] = round(time.perf_counter() - start, 2)
    line = environment_line(nb)
    record["environment"] = line
    record["on_gpu"] = "device: cuda" in line
    return record


def failed_cell(nb: nbformat.NotebookNode) -> str | None:
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"code cell {i}: {out['ename']}: {out['evalue'][:500]}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", help="numbers or stems (default: every lesson)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--first", nargs="*", default=[], help="lessons to run before the others (numbers or stems)")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="start no new lesson after this many seconds (the rest are recorded as not run)")
    parser.add_argument("--allow-cpu", action="store_true", help="run even without a CUDA GPU (to try the script)")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.allow_cpu:
        raise SystemExit("No CUDA GPU is visible: run this on a GPU machine (or pass --allow-cpu to try the script).")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()})"
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": device,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE"),
        "lessons": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    first = lesson_paths(args.first) if args.first else []
    paths = first + [p for p in lesson_paths(args.lessons) if p not in first]
    started = time.perf_counter()
    for path in paths:
        if args.budget_s is not None and time.perf_counter() - started > args.budget_s:
            record = {"lesson": path.stem, "passed": None, "seconds": None, "on_gpu": False,
                      "error": "not run: the time budget was spent"}
        else:
            record = run_lesson(path, args.timeout)
        result["lessons"].append(record)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        verdict = {True: "ok  ", False: "FAIL", None: "skip"}[record["passed"]]
        where = "GPU" if record["on_gpu"] else "not on the GPU"
        seconds = f"{record['seconds']:7.1f} s" if record["seconds"] is not None else "      - "
        print(f"{verdict} {record['lesson']:<42} {seconds}  {where}  {record['error'] or ''}", flush=True)
    passed = sum(r["passed"] is True for r in result["lessons"])
    print(f"{passed}/{len(result['lessons'])} lessons passed on {device}; written to {args.out}")


if __name__ == "__main__":
    main()
