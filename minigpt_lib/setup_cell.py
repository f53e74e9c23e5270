"""The first code cell of every lesson, written in one place.

On Colab the library is not installed yet when that cell runs, so the cell cannot import its install logic from
here: the logic must sit in the cell itself. This module holds the one copy of that text; a test checks that every
lesson's setup cell is exactly :func:`setup_cell_source`, and ``python -m minigpt_lib.setup_cell lessons`` writes it
into every lesson after a change.

The cell installs from ``git+REPO_URL`` unless the environment variable ``MINIGPT_LIB_SOURCE`` names another pip
source: a fork (``git+https://github.com/<you>/buildgpt``), a branch or tag (``...buildgpt@v1``), a teacher's
mirror, a zip URL, or a local folder (``/content/buildgpt-main``). A failed install stops the notebook with a
Vietnamese message (what happened, pip's last line, what to do) instead of pip's output and a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import REPO_URL

SOURCE_ENV = "MINIGPT_LIB_SOURCE"

# Kept under 80 columns (the book's code width). `_render_traceback_` makes IPython (Jupyter, Colab) show only
# the message, not a traceback; "Run all" still stops at this cell.
_TEMPLATE = '''\
# Thiết lập: trên Colab, cài thư viện của khóa học nếu chưa có; cố định seed
# và chọn thiết bị. Nguồn cài khác: biến môi trường {env}.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("minigpt_lib") is None:
    source = os.environ.get("{env}",
                            "git+{repo_url}")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        class InstallFailed(Exception):
            def _render_traceback_(self):  # IPython: the message, no traceback
                return str(self).splitlines()
        lines = pip.stderr.strip().splitlines() or ["(không có thông báo)"]
        why = next((s for s in lines if "fatal:" in s), lines[-1]).strip(" ╰─>")
        raise InstallFailed(
            f"❌ Không cài được thư viện của khóa học (minigpt_lib) từ\\n"
            f"   {{source}}\\n"
            f"   Lỗi pip báo: {{why}}\\n"
            "Cách xử lý:\\n"
            "1. Kiểm tra kết nối mạng rồi chạy lại ô này.\\n"
            "2. Hoặc cài từ nguồn khác: tải kho mã lên Colab, chạy\\n"
            "   %env {env}=/content/buildgpt-main\\n"
            "   (thư mục vừa tải lên; bản fork thì\\n"
            "   git+https://github.com/<tên>/buildgpt), rồi chạy lại ô này.")
    importlib.invalidate_caches()

import matplotlib.pyplot as plt
import torch
import minigpt_lib as mg

device = mg.setup_lesson(seed=0)'''


def setup_cell_source(repo_url: str = REPO_URL) -> str:
    """The exact source of every lesson's first code cell."""
    return _TEMPLATE.format(env=SOURCE_ENV, repo_url=repo_url)


def setup_cell_index(cells: list[dict]) -> int:
    """The index of a notebook's setup cell: its first code cell."""
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            return i
    raise ValueError("the notebook has no code cell")


def write_setup_cells(paths: list[Path]) -> list[Path]:
    """Put :func:`setup_cell_source` into each notebook's setup cell (read, edit, write at once); the changed files."""
    changed = []
    source = setup_cell_source()
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = nb["cells"][setup_cell_index(nb["cells"])]
        if "".join(cell["source"]) != source:
            cell["source"] = source.splitlines(keepends=True)
            path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "lessons")
    for path in write_setup_cells(sorted(folder.glob("*.ipynb"))):
        print(f"{path.name}: ô thiết lập đã được cập nhật")
