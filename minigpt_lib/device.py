"""Where tensors live and how long things take."""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """The best device present: CUDA, then Apple's MPS, then the CPU (or ``prefer`` if given)."""
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for but no CUDA GPU is visible; use pick_device() or 'cpu'.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("MPS was asked for but is not available on this machine; use 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so that a lesson prints the same numbers every run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS


def synchronize(device: torch.device | str) -> None:
    """Wait until queued GPU work is done (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_it(
    fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 5, warmup: int = 1
) -> float:
    """Median wall time of ``fn()`` in seconds: warm-up runs first, a synchronize around every run."""
    if repeats < 1 or warmup < 0:
        raise ValueError("time_it needs repeats >= 1 and warmup >= 0.")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def environment_line(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    return (
        f"Python {platform.python_version()} | torch {torch.__version__} | device: {device} ({name}) "
        f"| threads: {torch.get_num_threads()}"
    )


def setup_lesson(seed: int = 0, device: str | None = None, quiet: bool = False) -> torch.device:
    """What every lesson's first cell does: seed everything, pick the device, print one line of environment."""
    # Respect OMP_NUM_THREADS (the tests run each lesson on one thread).
    if "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    seed_everything(seed)
    chosen = pick_device(device)
    if not quiet:
        print(environment_line(chosen))
    return chosen


def reference_timings() -> dict:
    """GPT-2 timings measured on real GPUs by ``benchmarks/gpt2_devices.py`` (device, date and numbers)."""
    import json

    from ._files import DATA_DIR

    return json.loads((DATA_DIR / "reference_timings.json").read_text(encoding="utf-8"))
