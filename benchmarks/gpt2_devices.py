"""GPT-2 (124M) on the CPU and on a GPU: model creation, inference, training steps, and GPU training MFU.

    python benchmarks/gpt2_devices.py --out minigpt_lib/data/reference_timings.json

Writes one JSON record (device names, date, versions, numbers) that lesson 22 plots beside its live numbers.
On a machine without a GPU only the CPU part runs. Times are medians after warm-up, with synchronize.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from minigpt_lib import GPT, GPTConfig, time_it  # noqa: E402
from minigpt_lib.device import autocast_for, peak_tflops  # noqa: E402
from minigpt_lib.training import make_optimizer  # noqa: E402


def flops_per_token(model: GPT, T: int) -> float:
    """Training FLOPs per token: 6 per parameter (forward + backward) plus attention (PaLM, appendix B)."""
    c = model.config
    return 6 * model.num_parameters(exclude_embeddings=True) + 12 * c.n_layer * c.n_embd * T


def device_timings(device: torch.device, batch: int, T: int, dtype: torch.dtype | None) -> dict:
    config = GPTConfig.preset("gpt2")
    start = time.perf_counter()
    model = GPT(config).to(device)
    torch.cuda.synchronize() if device.type == "cuda" else None
    creation = time.perf_counter() - start
    idx = torch.randint(0, config.vocab_size, (batch, T), device=device)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype else torch.autocast(device.type, enabled=False)
    model.eval()

    def infer():
        with torch.no_grad(), autocast:
            model(idx)

    inference = time_it(infer, device, repeats=5, warmup=2)
    model.train()
    optimizer = make_optimizer(model, 3e-4, 0.1, device)

    def step():
        with autocast:
            _, loss = model(idx, idx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    train_step = time_it(step, device, repeats=5, warmup=2)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "dtype": str(dtype).removeprefix("torch.") if dtype else "float32",
        "batch": batch, "seq_len": T,
        "create_s": creation, "inference_s": inference, "train_step_s": train_step,
        "train_tokens_per_s": batch * T / train_step,
    }


def measured_matmul_tflops(device: torch.device, dtype: torch.dtype, n: int = 8192) -> float:
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    seconds = time_it(lambda: a @ b, device, repeats=10, warmup=3)
    return 2 * n**3 / seconds / 1e12


def gpu_training_mfu(
    device: torch.device, batch: int = 32, T: int = 1024, steps: int = 20, vocab_size: int = 50257
) -> dict:
    """GPT-2 124M training with autocast (bf16, or fp16 + GradScaler where bf16 is not native), torch.compile and
    fused AdamW; tokens/s and MFU against this GPU's own nominal peak for that dtype (None when it is unknown).

    ``vocab_size=50304`` pads the vocabulary to a multiple of 128 (as nanoGPT does): the output matmul then
    maps onto whole tensor-core tiles.
    """
    torch.set_float32_matmul_precision("high")
    model = GPT(GPTConfig.preset("gpt2", vocab_size=vocab_size)).to(device)
    optimizer = make_optimizer(model, 6e-4, 0.1, device)  # fused on CUDA
    compiled = torch.compile(model)
    idx = torch.randint(0, 50257, (batch, T), device=device)
    autocast, needs_scaler = autocast_for(device)
    dtype = autocast.fast_dtype
    scaler = torch.amp.GradScaler("cuda") if needs_scaler else None

    def step():
        with autocast:
            _, loss = compiled(idx, idx)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    start = time.perf_counter()
    step()
    torch.cuda.synchronize()
    compile_s = time.perf_counter() - start
    seconds = time_it(step, device, repeats=steps, warmup=5)
    tokens_per_s = batch * T / seconds
    achieved = flops_per_token(model, T) * tokens_per_s / 1e12
    name = torch.cuda.get_device_name(device)
    peak = peak_tflops(name, dtype)  # this GPU's own nominal peak, from minigpt_lib.device.PEAK_TFLOPS
    nominal = peak.tflops if peak else None
    measured = measured_matmul_tflops(device, dtype)
    return {
        "device": name, "dtype": str(dtype).removeprefix("torch."), "vocab_size": vocab_size, "batch": batch,
        "seq_len": T, "compile_s": compile_s, "step_s": seconds, "tokens_per_s": tokens_per_s,
        "achieved_tflops": achieved, "nominal_tflops": nominal, "peak_source": peak.source if peak else None,
        "nominal_bf16_tflops": nominal if dtype == torch.bfloat16 else None,
        "mfu_nominal": achieved / nominal if nominal else None,
        "measured_matmul_tflops": measured, "mfu_measured_peak": achieved / measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--training-only", action="store_true", help="only the GPU training MFU runs")
    args = parser.parse_args()
    if args.training_only:
        gpu = torch.device("cuda")
        runs = [gpu_training_mfu(gpu), gpu_training_mfu(gpu, vocab_size=50304)]
        args.out.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(runs, indent=2))
        return
    torch.manual_seed(0)
    record = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "runs": [device_timings(torch.device("cpu"), batch=4, T=256, dtype=None)],
    }
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        record["runs"].append(device_timings(gpu, batch=4, T=256, dtype=None))
        record["runs"].append(device_timings(gpu, batch=4, T=256, dtype=autocast_for(gpu)[0].fast_dtype))
        record["gpu_training"] = gpu_training_mfu(gpu)
        record["gpu_training_padded_vocab"] = gpu_training_mfu(gpu, vocab_size=50304)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
