"""Checkers of lessons 24 and 30 (architecture): the right answer passes, every mistake is named."""

import math

import pytest
import torch
import torch.nn.functional as F

from minigpt_lib.checks import check_mlp_exact_gelu, check_repeat_kv


def mlp_exact_gelu(u, W_1, b_1, W_2, b_2):
    a = u @ W_1.T + b_1
    return a * 0.5 * (1 + torch.erf(a / math.sqrt(2))) @ W_2.T + b_2


def mlp_with(act, b2=True):
    return lambda u, W_1, b_1, W_2, b_2: act(u @ W_1.T + b_1) @ W_2.T + (b_2 if b2 else 0)


MLP_MUTANTS = {
    "tanh_approximation": mlp_with(lambda a: F.gelu(a, approximate="tanh")),
    "relu": mlp_with(F.relu),
    "no_sqrt2": mlp_with(lambda a: a * 0.5 * (1 + torch.erf(a))),
    "phi_only": mlp_with(lambda a: 0.5 * (1 + torch.erf(a / math.sqrt(2)))),
    "no_second_bias": mlp_with(lambda a: a * 0.5 * (1 + torch.erf(a / math.sqrt(2))), b2=False),
}


def repeat_kv(x, n_rep):
    B, H, T, d = x.shape
    return x[:, :, None].expand(B, H, n_rep, T, d).reshape(B, H * n_rep, T, d)


REPEAT_KV_MUTANTS = {
    "tiled_not_grouped": lambda x, n_rep: x.repeat(1, n_rep, 1, 1),
    "repeats_time_axis": lambda x, n_rep: torch.repeat_interleave(x, n_rep, dim=2),
}


def test_right_answers_pass():
    assert check_mlp_exact_gelu(mlp_exact_gelu).passed
    assert check_mlp_exact_gelu(lambda u, W_1, b_1, W_2, b_2: F.gelu(u @ W_1.T + b_1) @ W_2.T + b_2).passed
    assert check_repeat_kv(repeat_kv).passed
    assert check_repeat_kv(lambda x, n: x.repeat_interleave(n, dim=1)).passed


@pytest.mark.parametrize("key", list(MLP_MUTANTS))
def test_mlp_mistakes(key):
    result = check_mlp_exact_gelu(MLP_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


@pytest.mark.parametrize("key", list(REPEAT_KV_MUTANTS))
def test_repeat_kv_mistakes(key):
    result = check_repeat_kv(REPEAT_KV_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
