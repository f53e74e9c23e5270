import math
import os
import subprocess
import sys

import pytest
import torch

from minigpt_lib import GPT, GPTConfig, get_batch
from minigpt_lib.ddp import DEMO_CONFIG, train_replica
from minigpt_lib.training import History, load_checkpoint, lr_at, save_checkpoint, train

CONFIG = GPTConfig(vocab_size=32, block_size=16, n_layer=1, n_head=2, n_embd=32)


def batches(seed=0):
    tokens = torch.arange(2000) % 32  # a perfectly predictable sequence
    g = torch.Generator().manual_seed(seed)
    return lambda split: get_batch(tokens, 8, 16, generator=g)


def test_training_reduces_the_loss_and_records_history():
    model = GPT(CONFIG)
    history = train(model, batches(), steps=60, lr=1e-2, eval_every=20, eval_iters=2, progress=False)
    assert isinstance(history, History)
    assert len(history.train_loss) == 60 and history.eval_steps == [20, 40, 60]
    assert history.train_loss[0] > math.log(32) - 0.5
    assert history.eval_val_loss[-1] < 0.5 * history.train_loss[0]
    assert history.tokens_per_second > 0


def test_learning_rate_schedule():
    assert lr_at(0, 100, 1.0, warmup_steps=10) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, warmup_steps=10) == pytest.approx(1.0)
    assert lr_at(10, 100, 1.0, warmup_steps=10, min_lr=0.1) == pytest.approx(1.0)
    assert lr_at(100, 100, 1.0, warmup_steps=10, min_lr=0.1) == pytest.approx(0.1)
    assert lr_at(50, 100, 1.0) == 1.0


def test_checkpoint_round_trip_loads_no_code(tmp_path):
    model = GPT(CONFIG).eval()
    path = save_checkpoint(model, tmp_path / "model.safetensors")
    assert path.read_bytes()[:8]  # safetensors: a JSON header and raw tensors, nothing to unpickle
    restored = load_checkpoint(path).eval()
    idx = torch.randint(0, 32, (2, 16))
    torch.testing.assert_close(restored(idx), model(idx))
    assert restored.lm_head.weight is restored.transformer.wte.weight


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception):  # noqa: B017 - safetensors raises its own error type
        load_checkpoint(bad)


# One process of a two-process DDP run: the gradients each replica holds after DDP's all-reduce.
GRADIENT_SCRIPT = """
import sys, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from minigpt_lib import GPT
from minigpt_lib.ddp import DEMO_CONFIG
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = GPT(DEMO_CONFIG)
x, y = torch.load(sys.argv[1])
replica = DistributedDataParallel(model)  # keep a reference: its hooks do the all-reduce during backward
_, loss = replica(x[rank::world], y[rank::world])
loss.backward()  # DDP averages the gradients of the two halves here
torch.save({n: p.grad for n, p in model.named_parameters()}, f"{sys.argv[2]}/grads{rank}.pt")
dist.destroy_process_group()
"""

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def run_two_processes(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([*TORCHRUN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]


def test_ddp_gradients_after_all_reduce_equal_the_combined_batch_gradient(tmp_path):
    """What DDP promises: after backward, every replica holds the gradient of the whole global batch."""
    torch.manual_seed(1)
    x = torch.randint(0, DEMO_CONFIG.vocab_size, (8, DEMO_CONFIG.block_size))
    y = torch.randint(0, DEMO_CONFIG.vocab_size, (8, DEMO_CONFIG.block_size))
    torch.save((x, y), tmp_path / "batch.pt")
    (tmp_path / "grads.py").write_text(GRADIENT_SCRIPT)
    run_two_processes(["grads.py", str(tmp_path / "batch.pt"), str(tmp_path)], cwd=tmp_path)

    torch.manual_seed(0)
    model = GPT(DEMO_CONFIG)
    model(x, y)[1].backward()  # one process, the whole batch
    for rank in (0, 1):
        grads = torch.load(tmp_path / f"grads{rank}.pt", weights_only=True)
        for name, p in model.named_parameters():
            # Only the order of float32 additions differs (a mean of two half-batch means vs one mean).
            scale = p.grad.abs().max().item()
            where = f"rank {rank}: {name}"
            torch.testing.assert_close(grads[name], p.grad, rtol=1e-4, atol=1e-5 * scale, msg=lambda m, where=where: f"{where}: {m}")


def test_ddp_replicas_stay_identical_and_follow_one_process(tmp_path):
    """Two CPU processes (gloo): replicas identical to each other; close to one process on the combined batch.

    Both replicas apply the same all-reduced gradient, so they must agree bit for bit. Against one process, the
    gradients differ by float32 rounding (tested above), and AdamW's update g / (sqrt(v) + eps) can turn such a
    difference into up to 2 lr for an element whose gradient is ~0; so each element is bounded by 2 lr per step,
    and almost every element must agree to 1e-5 (a replica without the all-reduce fails that by far).
    """
    steps, lr = 3, 3e-3
    run_two_processes(["-m", "minigpt_lib.ddp", "--steps", str(steps), "--out", str(tmp_path)], cwd=tmp_path)
    reference, _ = train_replica(steps, rank=0, world_size=1, lr=lr)
    rank0 = load_checkpoint(tmp_path / "rank0.safetensors").state_dict()
    rank1 = load_checkpoint(tmp_path / "rank1.safetensors").state_dict()
    for (name, a), b, ref in zip(rank0.items(), rank1.values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name}: the two replicas diverged"
        diff = (a - ref).abs()
        assert diff.max() <= 2 * lr * steps, f"{name}: {diff.max():.2e} is more than AdamW can move in {steps} steps"
        assert (diff > 1e-5).float().mean() < 0.01, f"{name}: {(diff > 1e-5).float().mean():.1%} of elements differ"
