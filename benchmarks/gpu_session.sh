#!/usr/bin/env bash
# The GPU check of the course, prepared for one short session on a lent GPU machine (no network, Python 3.12 with
# PyTorch, no Jupyter). About 8 minutes: GPU facts the library relies on, then every lesson on the GPU
# (benchmarks/gpu_lessons.py), the GPU-relevant ones first, within a time budget.
#
# 1. Here (a machine with pip access), once:   bash benchmarks/gpu_session.sh --fetch-wheels
#    -> the Jupyter wheels of benchmarks/gpu_wheels.txt in .whl/ (ignored by git through .git/info/exclude).
# 2. On the GPU machine (the device tool's run, carry [".whl"], timeout_s 600):   bash benchmarks/gpu_session.sh
#    -> $OUT/gpu_lessons.json (or benchmarks/results/gpu_lessons.json without $OUT) and $OUT/gpu_facts.txt.
# 3. Here: copy gpu_lessons.json into benchmarks/results/, commit it; book/benchmarks.md shows it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--fetch-wheels" ]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl -r benchmarks/gpu_wheels.txt
    du -sh .whl
    exit 0
fi

OUT_DIR="${OUT:-benchmarks/results}"
mkdir -p "$OUT_DIR"
if ! python3 -c "import nbclient, ipykernel" 2>/dev/null; then
    [ -d .whl ] || { echo "No Jupyter here and no .whl/: run 'bash benchmarks/gpu_session.sh --fetch-wheels' first." >&2; exit 1; }
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
# The library from this checkout, without installing it (the setup cell then finds it and installs nothing);
# the kernels nbclient starts inherit PYTHONPATH.
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg

# What the library decides on this GPU, and one step of each GPU path the lessons take.
python3 - <<'PY' | tee "$OUT_DIR/gpu_facts.txt"
import torch, minigpt_lib as mg
from minigpt_lib.device import autocast_for, peak_tflops
assert torch.cuda.is_available(), "no CUDA GPU visible"
name = torch.cuda.get_device_name(0)
cap = torch.cuda.get_device_capability(0)
ctx, scaler = autocast_for(torch.device("cuda"))
print(f"{name}, capability {cap}, torch {torch.__version__}")
print(f"autocast_for: {ctx.fast_dtype}, GradScaler {scaler}; native bf16 "
      f"{torch.cuda.is_bf16_supported(including_emulation=False)}, with emulation {torch.cuda.is_bf16_supported()}")
assert (ctx.fast_dtype == torch.bfloat16) == (cap >= (8, 0)), "bf16 exactly where it is native"
for dtype in ("bfloat16", "float16", "float32"):
    peak = peak_tflops(name, dtype)
    print(f"peak {dtype}: {peak.tflops if peak else 'unknown'} TFLOP/s ({peak.source if peak else 'not in the table'})")
# Lesson 29's noise: a CPU generator's noise moved to the weights' device, times statistics on the GPU.
w = torch.randn(8, 8, device="cuda")
noise = torch.randn(w.shape, generator=torch.Generator().manual_seed(0)).to(w) * w.std() + w.mean()
assert noise.device == w.device
# One training step through mg.training.train on the GPU (autocast and, where chosen, the GradScaler).
model = mg.GPT(mg.GPTConfig(vocab_size=64, block_size=16, n_layer=1, n_head=2, n_embd=32)).to("cuda")
batch = lambda split: (torch.randint(0, 64, (4, 16), device="cuda"),) * 2
hist = mg.training.train(model, batch, steps=3, progress=False)
print(f"train on cuda: losses {[round(l, 3) for l in hist.train_loss]}")
PY

python3 benchmarks/gpu_lessons.py --out "$OUT_DIR/gpu_lessons.json" --budget-s 360 --timeout 300 \
    --first 20 21 22 29 23 30 28 25
