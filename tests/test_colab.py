"""Play Colab: a fresh virtual environment with only what Colab preinstalls, the lesson's own setup cell installing
the library from a git URL (``MINIGPT_LIB_SOURCE=git+file://<this repository>``), a lesson run from a folder
outside the repository, and a failed install explained in Vietnamese.

One venv (about a minute: torch comes from the machine's wheels, the rest from the package index). The library is
installed from the repository's committed HEAD, as Colab would install it from GitHub, and the lesson is taken from
HEAD too (uncommitted edits play no part). Skipped only where this
machine cannot create a virtual environment with pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minigpt_lib.setup_cell import SOURCE_ENV, setup_cell_index

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01_intro"
# What a Colab runtime has before the lesson's setup cell runs (not minigpt_lib, not tiktoken). torch is pinned to
# the version the course is tested with; the other versions come from constraints.txt where it lists them.
COLAB_PREINSTALLED = [
    "torch==2.13.0", "numpy", "matplotlib", "tqdm", "safetensors", "ipykernel", "ipywidgets", "nbclient",
    "nbformat",
]

# Runs inside the Colab venv: execute a notebook with that venv's own kernel, write the outputs as JSON.
RUNNER = textwrap.dedent(
    """
    import json, sys
    import nbclient, nbformat
    nb = nbformat.read(sys.argv[1], as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=True,
                                     resources={"metadata": {"path": sys.argv[2]}})
    client.execute()
    outputs = [[dict(o) for o in c.get("outputs", [])] for c in nb.cells if c.cell_type == "code"]
    json.dump(outputs, open(sys.argv[3], "w"))
    """
)


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> dict:
    """The Colab-like venv (python, an environment without the repository on any path) and a work folder."""
    base = tmp_path_factory.mktemp("colab")
    venv = base / "venv"
    made = run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    if made.returncode != 0 or run([python, "-m", "pip", "--version"]).returncode != 0:
        pytest.skip(f"this machine cannot create a virtual environment with pip ({made.stderr.strip()[-300:]})")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "JUPYTER"))}
    env |= {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "JUPYTER_DATA_DIR": str(base / "jupyter"),
            "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"), "MPLBACKEND": "Agg"}
    env.pop("HF_HUB_OFFLINE", None)  # as on Colab; the lesson run below does not touch the hub
    constraints = ["-c", ROOT / "constraints.txt"] if (ROOT / "constraints.txt").is_file() else []
    pip = run([python, "-m", "pip", "install", "-q", *constraints, *COLAB_PREINSTALLED], env=env)
    assert pip.returncode == 0, f"installing Colab's preinstalled packages failed:\n{pip.stderr[-3000:]}"
    kernel = run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], env=env)
    assert kernel.returncode == 0, kernel.stderr
    assert run([python, "-c", "import minigpt_lib"], env=env, cwd=base).returncode != 0, "the venv must not see minigpt_lib"
    work = base / "content"  # like Colab's /content: no checkout of the repository
    work.mkdir()
    return {"python": python, "env": env, "work": work, "base": base}


def lesson_notebook(stem: str, keep_setup_only: bool = False, extra_cell: str | None = None) -> dict:
    """The lesson as committed (HEAD), like the library the setup cell installs from git+file://."""
    shown = run(["git", "-C", ROOT, "show", f"HEAD:lessons/{stem}.ipynb"])
    assert shown.returncode == 0, f"the Colab test needs a git checkout with lessons/{stem}.ipynb: {shown.stderr}"
    nb = json.loads(shown.stdout)
    if keep_setup_only:
        nb["cells"] = [nb["cells"][setup_cell_index(nb["cells"])]]
    if extra_cell:
        nb["cells"].append({"cell_type": "code", "id": "colab-probe", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": extra_cell})
    return nb


def execute(colab: dict, nb: dict, name: str, source: str) -> list[list[dict]]:
    path = colab["base"] / f"{name}.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    runner = colab["base"] / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    out = colab["base"] / f"{name}.outputs.json"
    env = colab["env"] | {SOURCE_ENV: source}
    done = run([colab["python"], runner, path, colab["work"], out], env=env, cwd=colab["work"], timeout=900)
    assert done.returncode == 0, f"nbclient failed:\n{done.stderr[-3000:]}"
    return json.loads(out.read_text(encoding="utf-8"))


def text_of(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif o["output_type"] == "error":
            parts.append("\n".join(o["traceback"]))
        elif "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"])
    return "".join(parts)


def test_failed_install_is_explained_in_vietnamese(colab, tmp_path):
    missing = f"git+file://{tmp_path / 'no-such-repository'}"
    run([colab["python"], "-m", "pip", "uninstall", "-q", "-y", "minigpt_lib"], env=colab["env"])  # any order
    [setup] = execute(colab, lesson_notebook(LESSON, keep_setup_only=True), "failed", missing)
    errors = [o for o in setup if o["output_type"] == "error"]
    assert errors, f"the setup cell must stop the notebook when the install fails; it printed {text_of(setup)!r}"
    shown = text_of(setup)
    assert errors[0]["ename"] == "InstallFailed"
    assert "Không cài được thư viện của khóa học" in shown and "Cách xử lý" in shown and SOURCE_ENV in shown
    assert missing in shown, "the message must say which source failed"
    assert "Lỗi pip báo:" in shown and ("fatal:" in shown or "ERROR" in shown), "pip's own reason, one line"
    for raw in ("Traceback", "CalledProcessError", "subprocess-exited-with-error", "note: This error originates"):
        assert raw not in shown, f"raw pip output or a traceback reached the learner: {raw!r}\n{shown}"


def test_lesson_runs_after_installing_from_a_git_url(colab):
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.fail("the Colab test installs from git+file://<repository>: it needs a git checkout and git")
    probe = "import sys, minigpt_lib\nprint('PROBE', sys.prefix, minigpt_lib.__file__)"
    nb = lesson_notebook(LESSON, extra_cell=probe)
    outputs = execute(colab, nb, "lesson", f"git+file://{ROOT}")
    for i, cell in enumerate(outputs):
        errors = [o for o in cell if o["output_type"] == "error"]
        assert not errors, f"{LESSON} code cell {i} failed in the Colab venv:\n{text_of(errors)}"
    probe_line = next(line for line in text_of(outputs[-1]).splitlines() if line.startswith("PROBE"))
    _, prefix, module = probe_line.split(" ", 2)
    venv = colab["python"].parent.parent
    assert Path(prefix) == venv, f"the lesson ran in {prefix}, not in the Colab venv {venv}"
    assert Path(module).is_relative_to(venv) and not Path(module).is_relative_to(ROOT), (
        f"minigpt_lib came from {module}: it must be the copy the setup cell installed into the venv"
    )
    data = Path(module).parent / "data"
    assert (data / "gpt2.tiktoken").is_file() and (data / "bundled-gpt2-tiny").is_dir(), "package data not installed"
