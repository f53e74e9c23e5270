"""Package data shipped with the library, each file checked against its sha256."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

SHA256 = {
    "gpt2.tiktoken": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    "timemachine.txt": "124084573ad7c355a60f71ed1a9e306746f46c454bd0c448df605095454265d8",
    "tinyshakespeare.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "truyen_kieu.txt": "e8d7ca02dc6b2c989058c3c8895695669d56c3914be9859220b85b51978ec461",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def verified_path(name: str) -> Path:
    """Path of a shipped data file after checking its sha256 (once per process)."""
    path = DATA_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the library was installed without its data. "
            "Reinstall it with `pip install -e .` from the repository (or from git in Colab)."
        )
    expected = SHA256.get(name)
    if expected is not None:
        actual = sha256_of(path)
        if actual != expected:
            raise RuntimeError(
                f"{path} is corrupt (sha256 {actual}, expected {expected}). "
                "Restore it with `git checkout -- minigpt_lib/data` or reinstall the library."
            )
    return path
