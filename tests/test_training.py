import math
import os
import subprocess
import sys

import pytest
import torch

from minigpt_lib import GPT, GPTConfig, get_batch
from minigpt_lib.ddp import train_replica
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


def test_ddp_replicas_match_one_process_on_the_combined_batch(tmp_path):
    """Two CPU processes (gloo) end with the same weights as one process trained on both halves at once."""
    steps = 3
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = subprocess.run(
        [*torchrun, "-m", "minigpt_lib.ddp", "--steps", str(steps), "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reference, _ = train_replica(steps, rank=0, world_size=1)
    for rank in (0, 1):
        replica = load_checkpoint(tmp_path / f"rank{rank}.safetensors")
        for (name, a), b in zip(replica.state_dict().items(), reference.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=f"rank {rank}: {name} differs")
