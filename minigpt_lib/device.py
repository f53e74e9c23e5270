"""Where tensors live and how long things take."""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

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


def autocast_for(device: torch.device) -> tuple[object, bool]:
    """(autocast context, needs a GradScaler) for training on ``device``.

    bf16 where the GPU computes it natively (compute capability 8.0 and newer: A100, L4, H100, ...); fp16 with a
    GradScaler on older GPUs (T4, V100), where ``torch.cuda.is_bf16_supported()`` says True only because bf16 can
    be *emulated* (slowly); no autocast on the CPU and MPS.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return nullcontext(), False
    try:
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.3: the function had no argument and did not count emulation
        native_bf16 = torch.cuda.is_bf16_supported()
    if native_bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16), False
    return torch.autocast("cuda", dtype=torch.float16), True  # e.g. Colab's T4


@dataclass(frozen=True)
class Peak:
    """A GPU's nominal dense peak in TFLOP/s (no sparsity) for one dtype, and where the number comes from."""

    device: str
    dtype: str
    tflops: float
    source: str


# Nominal dense peaks (no 2:4 sparsity) from the vendors' datasheets. "float32" is plain FP32 on the CUDA cores
# (PyTorch's default, TF32 off); "bfloat16"/"float16" are the tensor cores with FP32 accumulation.
# Patterns are tried in order against torch.cuda.get_device_name(); the first match wins.
_H100_SXM = "NVIDIA H100 Tensor Core GPU datasheet (SXM5: 989.4 bf16/fp16 dense, 67 fp32)"
_H100_PCIE = "NVIDIA H100 Tensor Core GPU datasheet (PCIe: 756 bf16/fp16 dense, 51 fp32)"
_H100_NVL = "NVIDIA H100 NVL datasheet (835 bf16/fp16 dense, 60 fp32)"
_H200 = "NVIDIA H200 Tensor Core GPU datasheet (SXM: 989.4 bf16/fp16 dense, 67 fp32)"
_A100 = "NVIDIA A100 Tensor Core GPU datasheet (312 bf16/fp16 dense, 19.5 fp32)"
_L4 = "NVIDIA L4 Tensor Core GPU datasheet (121 bf16/fp16 dense, 30.3 fp32)"
_L40S = "NVIDIA L40S datasheet (362 bf16/fp16 dense, 91.6 fp32)"
_A10 = "NVIDIA A10 Tensor Core GPU datasheet (125 bf16/fp16 dense, 31.2 fp32)"
_T4 = "NVIDIA T4 Tensor Core GPU datasheet (65 fp16 mixed precision, 8.1 fp32; no native bf16)"
_V100 = "NVIDIA V100 Tensor Core GPU datasheet (SXM2: 125 fp16 tensor, 15.7 fp32; no bf16)"
_RTX4090 = "NVIDIA Ada Lovelace architecture whitepaper (RTX 4090: 165.2 bf16/fp16 with fp32 accumulate, 82.6 fp32)"
PEAK_TFLOPS: list[tuple[str, dict[str, float], str]] = [
    (r"H100.*NVL", {"bfloat16": 835.0, "float16": 835.0, "float32": 60.0}, _H100_NVL),
    (r"H100.*PCIe", {"bfloat16": 756.0, "float16": 756.0, "float32": 51.0}, _H100_PCIE),
    (r"H100", {"bfloat16": 989.4, "float16": 989.4, "float32": 66.9}, _H100_SXM),
    (r"H200", {"bfloat16": 989.4, "float16": 989.4, "float32": 66.9}, _H200),
    (r"A100", {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5}, _A100),
    (r"L40S", {"bfloat16": 362.05, "float16": 362.05, "float32": 91.6}, _L40S),
    (r"\bL4\b", {"bfloat16": 121.0, "float16": 121.0, "float32": 30.3}, _L4),
    (r"\bA10\b", {"bfloat16": 125.0, "float16": 125.0, "float32": 31.2}, _A10),
    (r"\bT4\b", {"float16": 65.0, "float32": 8.1}, _T4),
    (r"V100", {"float16": 125.0, "float32": 15.7}, _V100),
    (r"RTX 4090", {"bfloat16": 165.2, "float16": 165.2, "float32": 82.6}, _RTX4090),
]


def peak_tflops(device_name: str, dtype: torch.dtype | str = torch.bfloat16) -> Peak | None:
    """The nominal dense peak of the GPU called ``device_name`` for ``dtype``, or None when it is not known.

    ``device_name`` is what ``torch.cuda.get_device_name()`` returns (e.g. "NVIDIA H100 80GB HBM3", "Tesla T4").
    None for a GPU that is not in :data:`PEAK_TFLOPS`, for a dtype the GPU has no fast path for (bf16 on a T4),
    and for the CPU or MPS: an MFU needs a peak, so say that it is unknown rather than divide by another device's.
    """
    dtype = str(dtype).removeprefix("torch.")
    for pattern, peaks, source in PEAK_TFLOPS:
        if re.search(pattern, device_name):
            return Peak(device_name, dtype, peaks[dtype], source) if dtype in peaks else None
    return None


def mfu(flops_per_second: float, device_name: str, dtype: torch.dtype | str = torch.bfloat16) -> float | None:
    """Model FLOPs utilization: achieved FLOP/s over the device's own nominal peak (None when the peak is unknown)."""
    peak = peak_tflops(device_name, dtype)
    return None if peak is None else flops_per_second / (peak.tflops * 1e12)


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

    from ._files import verified_path

    return json.loads(verified_path("reference_timings.json").read_text(encoding="utf-8"))
