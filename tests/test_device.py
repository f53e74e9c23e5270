"""Device choices that matter on GPUs, checked on the CPU with mocked CUDA capability queries."""

import pytest
import torch

from minigpt_lib import device as dev
from minigpt_lib import training


def fake_gpu(monkeypatch, capability: tuple[int, int], emulates_bf16: bool = True):
    """Make torch.cuda answer as a GPU of compute capability ``capability`` would (torch's own logic kept)."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: type("Props", (), {"major": capability[0]}))
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda i: emulates_bf16)


@pytest.mark.filterwarnings("ignore:.*CUDA is not available.*")
@pytest.mark.parametrize(
    "name, capability, dtype, scaler",
    [
        ("T4 (Colab)", (7, 5), torch.float16, True),  # bf16 only emulated: fp16 + GradScaler
        ("V100", (7, 0), torch.float16, True),
        ("A100", (8, 0), torch.bfloat16, False),
        ("L4", (8, 9), torch.bfloat16, False),
        ("H100", (9, 0), torch.bfloat16, False),
    ],
)
def test_autocast_for_picks_native_bf16_or_fp16_with_scaler(monkeypatch, name, capability, dtype, scaler):
    fake_gpu(monkeypatch, capability)
    # the trap the fix avoids: torch's default counts emulation, so a T4 "supports" bf16
    assert torch.cuda.is_bf16_supported() is True
    context, needs_scaler = dev.autocast_for(torch.device("cuda"))
    assert isinstance(context, torch.autocast) and context.fast_dtype == dtype, name
    assert needs_scaler is scaler, name


def test_autocast_for_with_an_older_torch_without_the_argument(monkeypatch):
    """torch < 2.3: is_bf16_supported() has no including_emulation argument and did not count emulation."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        context, needs_scaler = dev.autocast_for(torch.device("cuda"))
    assert context.fast_dtype == torch.float16 and needs_scaler


def test_autocast_for_cpu_and_mps_is_a_no_op():
    for device in ("cpu", "mps"):
        context, needs_scaler = dev.autocast_for(torch.device(device))
        assert not isinstance(context, torch.autocast) and needs_scaler is False


def test_training_uses_the_same_autocast_for():
    assert training.autocast_for is dev.autocast_for  # lesson 21 calls mg.training.autocast_for


@pytest.mark.parametrize(
    "name, dtype, tflops",
    [
        ("NVIDIA H100 80GB HBM3", torch.bfloat16, 989.4),  # SXM: the stored reference run's GPU
        ("NVIDIA H100 PCIe", "bfloat16", 756.0),
        ("NVIDIA H100 NVL", "bfloat16", 835.0),
        ("NVIDIA H200", torch.bfloat16, 989.4),
        ("NVIDIA A100-SXM4-40GB", torch.bfloat16, 312.0),
        ("NVIDIA A100 80GB PCIe", torch.float32, 19.5),
        ("NVIDIA L4", torch.bfloat16, 121.0),
        ("NVIDIA A10", torch.bfloat16, 125.0),
        ("Tesla T4", torch.float16, 65.0),
        ("Tesla T4", torch.float32, 8.1),
        ("Tesla V100-SXM2-16GB", torch.float16, 125.0),
    ],
)
def test_peak_of_known_gpus(name, dtype, tflops):
    peak = dev.peak_tflops(name, dtype)
    assert peak is not None and peak.tflops == tflops and peak.source, name


@pytest.mark.parametrize(
    "name, dtype",
    [
        ("Tesla T4", torch.bfloat16),  # no native bf16: no peak rather than the fp16 one
        ("NVIDIA A10G", torch.bfloat16),  # not the A10 (different clocks): unknown, not guessed
        ("NVIDIA GeForce GTX 1080", torch.float32),
        ("CPU (2 luồng)", torch.float32),
        ("MPS", torch.float32),
    ],
)
def test_unknown_peak_is_none_not_another_devices(name, dtype):
    assert dev.peak_tflops(name, dtype) is None
    assert dev.mfu(1e12, name, dtype) is None


def test_substring_traps():
    """'A10' is a prefix of 'A100', 'L4' of 'L40S', 'H100' of 'H100 PCIe': each must find its own row."""
    assert dev.peak_tflops("NVIDIA A100-PCIE-40GB").tflops == 312.0
    assert dev.peak_tflops("NVIDIA L40S").tflops == 362.05
    assert dev.peak_tflops("NVIDIA H100 PCIe").tflops == 756.0


def test_mfu_divides_by_the_devices_own_peak():
    achieved = 371.9e12  # FLOP/s
    h100 = dev.mfu(achieved, "NVIDIA H100 80GB HBM3", torch.bfloat16)
    a100 = dev.mfu(achieved / 4, "NVIDIA A100-SXM4-80GB", torch.bfloat16)
    assert h100 == pytest.approx(achieved / 989.4e12)
    assert a100 == pytest.approx(achieved / 4 / 312.0e12)
    assert a100 != pytest.approx(achieved / 4 / 989.4e12)
