"""Shipped files in one verified sha256 table; atomic checkpoint and export writes with ordinary permissions."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
import torch

import minigpt_lib._files as files
from minigpt_lib import GPT, GPTConfig
from minigpt_lib.pretrained import CheckpointError, load_bundled, load_gpt2, save_gpt2
from minigpt_lib.training import load_checkpoint, save_checkpoint

SMALL = GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_embd=16)
WIDER = SMALL.replace(n_embd=32)


# ------------------------------------------------------------------------------------------ the sha256 table


def test_every_shipped_file_is_in_the_table_and_matches():
    shipped = {p.relative_to(files.DATA_DIR).as_posix() for p in files.DATA_DIR.rglob("*") if p.is_file()}
    assert shipped == set(files.SHA256), (
        f"files without a sha256 in minigpt_lib/_files.py SHA256: {sorted(shipped - set(files.SHA256))}; "
        f"entries without a file: {sorted(set(files.SHA256) - shipped)}"
    )
    for name, expected in files.SHA256.items():
        assert files.sha256_of(files.DATA_DIR / name) == expected, name


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of the package data, so a test can damage it."""
    import minigpt_lib.pretrained as pretrained

    copy = tmp_path / "data"
    shutil.copytree(files.DATA_DIR, copy)
    monkeypatch.setattr(files, "DATA_DIR", copy)
    monkeypatch.setattr(pretrained, "DATA_DIR", copy)
    monkeypatch.setattr(files, "_VERIFIED", {})
    return copy


@pytest.mark.parametrize(
    "edit", [("n_head", 2), ("layer_norm_epsilon", 0.1), ("n_layer", 3), ("tie_word_embeddings", False)]
)
def test_a_changed_bundled_config_is_caught(data_copy, edit):
    path = data_copy / "bundled-gpt2-tiny" / "config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, edit[0]: edit[1]}))
    with pytest.raises(CheckpointError, match=r"config\.json is corrupt or was changed.*git checkout"):
        load_bundled()


def test_reference_timings_are_verified(data_copy):
    from minigpt_lib.device import reference_timings

    assert reference_timings()
    (data_copy / "reference_timings.json").write_text('{"tampered": 1}')
    with pytest.raises(files.CorruptDataError, match="reference_timings.json"):
        reference_timings()


def test_a_file_changed_after_its_first_check_is_caught(data_copy):
    from minigpt_lib import load_corpus

    text = load_corpus("timemachine")
    path = data_copy / "timemachine.txt"
    path.write_text(text + "tampered", encoding="utf-8")
    with pytest.raises(files.CorruptDataError, match="timemachine.txt"):
        load_corpus("timemachine")


# ------------------------------------------------------------------------------------------ atomic writes


class Boom(OSError):
    pass


def fail_nth(monkeypatch, module, name, n, exc=None):
    """Make the n-th call (1-based) of module.name raise."""
    original = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc if exc is not None else Boom(28, f"simulated failure of {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def logits(model):
    idx = torch.arange(8)[None] % 50
    with torch.no_grad():
        return model.eval()(idx)


# Each step of an atomic write, failed once: writing the weights, writing config.json, syncing,
# keeping the old file as a backup, and the first and second renames into place. Ctrl-C too.
EXPORT_STEPS = [
    ("safetensors.torch", "save_file", 1, None),
    ("pathlib.Path", "write_text", 1, None),
    ("os", "fsync", 2, None),
    ("shutil", "copy2", 1, None),  # the backup, where hard links are refused (see below)
    ("os", "replace", 1, None),
    ("os", "replace", 2, None),
    ("os", "replace", 2, KeyboardInterrupt()),
]


@pytest.mark.parametrize("module, name, n, exc", EXPORT_STEPS)
def test_a_failed_export_leaves_the_previous_one_loadable(module, name, n, exc, tmp_path, monkeypatch):
    import importlib

    torch.manual_seed(0)
    old = GPT(SMALL)
    target = save_gpt2(old, tmp_path / "export")
    expected = logits(load_gpt2(target))
    owner = importlib.import_module(module) if module != "pathlib.Path" else __import__("pathlib").Path
    if name == "copy2":
        fail_nth(monkeypatch, os, "link", 1)
    fail_nth(monkeypatch, owner, name, n, exc)
    with pytest.raises((Boom, KeyboardInterrupt)):
        save_gpt2(GPT(WIDER), target)  # another width: new weights + old config would not load
    monkeypatch.undo()
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors"]  # no temp files
    torch.testing.assert_close(logits(load_gpt2(target)), expected, atol=0, rtol=0)


@pytest.mark.parametrize(
    "module, name, n",
    [("minigpt_lib.training", "save_file", 1), ("os", "fsync", 1), ("shutil", "copy2", 1), ("os", "replace", 1)],
)
def test_a_failed_checkpoint_leaves_the_previous_one_loadable(module, name, n, tmp_path, monkeypatch):
    import importlib

    old = GPT(SMALL)
    path = save_checkpoint(old, tmp_path / "ck.safetensors")
    expected = logits(load_checkpoint(path))
    if name == "copy2":
        fail_nth(monkeypatch, os, "link", 1)
    fail_nth(monkeypatch, importlib.import_module(module), name, n)
    with pytest.raises(Boom):
        save_checkpoint(GPT(WIDER), path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]
    torch.testing.assert_close(logits(load_checkpoint(path)), expected, atol=0, rtol=0)


def test_without_hard_links_the_backup_is_a_copy(tmp_path, monkeypatch):
    path = save_checkpoint(GPT(SMALL), tmp_path / "ck.safetensors")
    fail_nth(monkeypatch, os, "link", 1)
    new = GPT(WIDER)
    save_checkpoint(new, path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]
    torch.testing.assert_close(logits(load_checkpoint(path)), logits(new), atol=0, rtol=0)


def test_written_files_have_ordinary_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        export = save_gpt2(GPT(SMALL), tmp_path / "export")
        checkpoint = save_checkpoint(GPT(SMALL), tmp_path / "ck.safetensors")
    finally:
        os.umask(previous)
    for path in [export / "model.safetensors", export / "config.json", checkpoint]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_temp_files_of_killed_writers_are_removed(tmp_path):
    path = tmp_path / "ck.safetensors"
    dead = tmp_path / f".ck.safetensors.{2**22 + 7}.deadbeef.tmp"  # above Linux's largest pid: not running
    alive = tmp_path / f".ck.safetensors.{os.getpid()}.cafebabe.tmp"  # this process: kept
    dead.write_bytes(b"half a checkpoint")
    alive.write_bytes(b"being written")
    save_checkpoint(GPT(SMALL), path)
    assert not dead.exists() and alive.exists()
