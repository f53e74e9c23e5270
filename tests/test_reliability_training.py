"""train() fails loudly: divergence stops it, bad arguments are refused up front, Ctrl-C keeps the history."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from minigpt_lib import GPT, GPTConfig, get_batch
from minigpt_lib.training import History, TrainingDivergedError, estimate_loss, train

CONFIG = GPTConfig(vocab_size=32, block_size=16, n_layer=1, n_head=2, n_embd=32)


def batches(seed=0):
    tokens = torch.arange(2000) % 32
    g = torch.Generator().manual_seed(seed)
    return lambda split: get_batch(tokens, 8, 16, generator=g)


def test_a_diverging_run_stops_with_advice_and_keeps_finite_weights():
    model = GPT(CONFIG)
    with pytest.raises(TrainingDivergedError, match=r"diverged at step \d+.*smaller lr.*warmup_steps") as info:
        train(model, batches(), steps=30, lr=1e3, grad_clip=None, progress=False)
    history = info.value.history
    assert history.train_loss and all(math.isfinite(v) for v in history.train_loss)
    assert len(history.train_loss) < 30
    # the bad step was not applied: the weights are those of the last finite step
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(grad_clip=0), "grad_clip=0 would scale every gradient to zero"),
        (dict(grad_clip=-1.0), "grad_clip must be a number > 0"),
        (dict(eval_every=5, eval_iters=0), "eval_iters must be an integer >= 1"),
        (dict(steps=2.5), "steps must be an integer > 0"),
        (dict(steps=0), "steps must be an integer > 0"),
        (dict(lr=float("nan")), "lr must be a number > 0"),
        (dict(lr=-1), "lr must be a number > 0"),
        (dict(lr="3e-3"), "lr must be a number > 0"),
        (dict(weight_decay=-0.1), "weight_decay must be a number >= 0"),
        (dict(warmup_steps=-1), "warmup_steps must be an integer >= 0"),
        (dict(min_lr=float("inf")), "min_lr must be a number >= 0"),
        (dict(eval_every=1.5), "eval_every must be an integer >= 0"),
    ],
)
def test_invalid_arguments_are_refused_before_any_step(kwargs, message):
    model = GPT(CONFIG)
    before = [p.detach().clone() for p in model.parameters()]
    args = dict(steps=5, progress=False) | kwargs
    with pytest.raises(ValueError, match=message):
        train(model, batches(), **args)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_estimate_loss_refuses_zero_iterations():
    with pytest.raises(ValueError, match="eval_iters must be an integer >= 1"):
        estimate_loss(GPT(CONFIG), batches(), eval_iters=0)


def test_a_model_without_targets_is_named():
    class LogitsOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(32, 32)

        def forward(self, idx):
            return self.emb(idx)

    with pytest.raises(TypeError, match="does not take targets"):
        train(LogitsOnly(), batches(), steps=2, progress=False)


def test_ctrl_c_keeps_the_history(capsys):
    model = GPT(CONFIG)
    inner = batches()
    calls = {"n": 0}

    def interrupted(split):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return inner(split)

    mine = History()
    with pytest.raises(KeyboardInterrupt) as info:
        train(model, interrupted, steps=10, progress=False, history=mine)
    assert info.value.history is mine
    assert mine.steps == [0, 1, 2] and len(mine.train_loss) == 3
    assert mine.tokens_per_second > 0
    assert "Ctrl-C" in capsys.readouterr().out
