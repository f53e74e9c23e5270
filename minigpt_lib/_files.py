"""Files: the package data shipped with the library (one sha256 table, verified on use) and atomic writes."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# Every file under minigpt_lib/data, by its path relative to DATA_DIR (tests/test_reliability_files.py checks that
# the table and the folder list the same files). A file that changes on purpose needs its new hash here.
SHA256 = {
    "LICENSE.gpt2-tiktoken.txt": "b5d65a59060e68c4ff940e1eddfa6f94b2d68fdf58ed7f4dd57721c997e35e9d",
    "bundled-gpt2-tiny/config.json": "b3574b6dcc67aa0b1251ea2f97d18896ce8f9e74985ae885c6b29de83aa944ad",
    # written by benchmarks/train_bundled_model.py
    "bundled-gpt2-tiny/model.safetensors": "d206d78c1c6685ce4106270b310ae81998eb43c8977645ac1c06a78dc394308f",
    "gpt2.tiktoken": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    # written by benchmarks/ladder.py
    "ladder.json": "970a190f622075d40ddb3e382eb8e189741d562a99be7f31756897875e537bf0",
    # written by benchmarks/train_lucbat_gpt.py (lesson 33)
    "lucbat_gpt/char.safetensors": "a38ffd64a928f57ad55a1515b378e4f3b06f06697d03c3263d6266df50135909",
    "lucbat_gpt/bpe.safetensors": "6095fdb61e52b96ec6814f9a00b48f2698ee07070b2bc3a1ab02ffeda9e33c50",
    "lucbat_gpt/results.json": "8d0acc708bfeb8c49f3ba95cc057d74e4246a4893e18d35bbdf9ef34afdc2105",
    # written by benchmarks/gpt2_devices.py
    "reference_timings.json": "d91897d34b66a28b68e2359040d619610723a816bc4e66ad61ca137ac1c9893c",
    "timemachine.txt": "124084573ad7c355a60f71ed1a9e306746f46c454bd0c448df605095454265d8",
    "tinyshakespeare.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "truyen_kieu.txt": "e8d7ca02dc6b2c989058c3c8895695669d56c3914be9859220b85b51978ec461",
}

_VERIFIED: dict[str, tuple[int, int, int]] = {}  # name -> (inode, size, mtime_ns) of the file that was hashed


class CorruptDataError(RuntimeError):
    """A shipped data file whose sha256 differs from the table: it was changed or damaged."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(name: str) -> Path:
    """Path of a shipped data file after checking its sha256 against ``SHA256``.

    The hash is computed again whenever the file's inode, size or modification time changed since the last
    check, so a file edited while the process runs is caught too.
    """
    if name not in SHA256:
        raise KeyError(
            f"{name!r} is not in the table of shipped data files (minigpt_lib/_files.py SHA256); a new file under "
            f"minigpt_lib/data needs its sha256 there. Known files: {', '.join(SHA256)}."
        )
    path = DATA_DIR / name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: the library was installed without its data. "
            "Reinstall it with `pip install -e .` from the repository (or from git in Colab)."
        ) from None
    signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(name) != signature:
        actual, expected = sha256_of(path), SHA256[name]
        if actual != expected:
            raise CorruptDataError(
                f"{path} is corrupt or was changed (sha256 {actual}, expected {expected}). "
                "Restore it with `git checkout -- minigpt_lib/data` or reinstall the library."
            )
        _VERIFIED[name] = signature
    return path


# ------------------------------------------------------------------------------------------ atomic writes

_TMP_SUFFIX = ".tmp"


def _temp_name(target: Path) -> Path:
    """A hidden sibling of ``target`` that names the writing process: ``.name.<pid>.<random>.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (or cannot tell): keep its file
    return True


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files left beside ``target`` by writers that were killed (their process is gone)."""
    for tmp in target.parent.glob(f".{target.name}.*{_TMP_SUFFIX}"):
        parts = tmp.name[len(target.name) + 2 :].split(".")
        if len(parts) == 3 and parts[0].isdigit() and not _pid_alive(int(parts[0])):
            with suppress(OSError):
                tmp.unlink()


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(target: Path, write: Callable[[Path], None]) -> Path:
    """Write ``target``'s new content to a temporary sibling (ordinary permissions, synced to disk)."""
    tmp = _temp_name(target)
    try:
        write(tmp)
        if not tmp.is_file():
            raise OSError(f"the writer did not create {tmp}")
        os.chmod(tmp, _default_mode())  # e.g. safetensors writes through a 0600 temporary file of its own
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def atomic_write_files(writers: dict[Path, Callable[[Path], None]]) -> None:
    """Replace several files in one folder so that a failure at any step leaves the old files in place.

    Each ``writers[target](tmp_path)`` writes the new content of ``target`` to ``tmp_path``. All new files are
    written and synced beside their targets first; then each old file is kept as a hard link (a backup) and the
    new files are renamed into place. If anything fails (an exception, Ctrl-C), the renamed targets are put back
    from their backups and every temporary file is removed, so the folder holds the previous files again.
    """
    targets = [Path(t) for t in writers]
    for target in targets:
        _remove_stale_temps(target)
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path | None] = {}
    replaced: list[Path] = []
    try:
        for target in targets:
            temps[target] = _write_temp(target, writers[target])
        for target in targets:
            if target.exists():
                backup = _temp_name(target)
                try:
                    os.link(target, backup)  # the old file stays reachable until every rename succeeded
                except OSError:  # a file system without hard links (e.g. some network drives)
                    shutil.copy2(target, backup)
                backups[target] = backup
            else:
                backups[target] = None
        for target in targets:
            os.replace(temps[target], target)
            del temps[target]
            replaced.append(target)
        _fsync_dir(targets[0].parent)
    except BaseException:
        for target in reversed(replaced):
            backup = backups.get(target)
            with suppress(OSError):
                if backup is None:
                    target.unlink()
                else:
                    os.replace(backup, target)
                    backups[target] = None
        raise
    finally:
        for leftover in [*temps.values(), *(b for b in backups.values() if b is not None)]:
            with suppress(OSError):
                leftover.unlink()


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Write one file atomically: to a temporary sibling, then ``os.replace`` it onto ``target``."""
    target = Path(target)
    atomic_write_files({target: write})
    return target



def open_for_reading(path: Path, what: str = "file") -> None:
    """Raise a clear error when ``path`` cannot be read: missing, a folder, or not readable (permissions)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No {what} at {path}.")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the path of the {what} itself.")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise PermissionError(
            f"Cannot read the {what} {path}: permission denied (the file exists). "
            f"Fix its permissions (e.g. `chmod u+r {path}`) or run as its owner."
        ) from None
