"""Build the course book: execute the lessons in parallel into Jupyter Book's cache, then build the HTML.

``python -m minigpt_lib.book [ROOT]`` (what ``make book`` runs). Warnings are errors (``-W -n``) and a cell
error in any lesson aborts the build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=cwd, check=True)


def build(root: Path, workers: int = 2) -> Path:
    cache = root / "_build" / ".jupyter_cache"
    lessons = sorted(str(p.relative_to(root)) for p in (root / "lessons").glob("*.ipynb"))
    if not lessons:
        raise SystemExit(f"No lessons found in {root / 'lessons'}.")
    jcache = str(BIN / "jcache")
    run(jcache, "notebook", "-p", str(cache), "add", *lessons, cwd=root)
    run(jcache, "project", "-p", str(cache), "execute", "--executor", "local-parallel", "-t", "300", cwd=root)
    # A lesson that failed in the cache is executed again by the build, which then stops on the error.
    run(str(BIN / "jupyter-book"), "build", str(root), "-W", "-n", "--keep-going", cwd=root)
    index = root / "_build" / "html" / "index.html"
    print(f"Sách đã dựng xong: {index}")
    return index


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    build(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
