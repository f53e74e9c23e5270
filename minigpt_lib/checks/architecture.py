"""Checkers of architecture: lessons 24 (the MLP with the exact GELU, from the equations), 30 (repeat_kv for GQA)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .engine import CheckResult, Mistake, Mistakes, check_function, checker, hidden_generator


def _mlp(activation: Callable, second_bias: bool = True) -> Callable:
    def mlp(u, W_1, b_1, W_2, b_2):
        out = activation(u @ W_1.T + b_1) @ W_2.T  # (B, T, 4C) -> (B, T, C)
        return out + b_2 if second_bias else out

    return mlp


MLP_EXACT_GELU_MISTAKES = Mistakes(
    Mistake(
        "tanh_approximation",
        "Đây là GELU xấp xỉ tanh của GPT-2; bài tập cần dạng chính xác z·Φ(z), với "
        "Φ(z) = (1 + erf(z/√2))/2 (`torch.erf`).",
        (_mlp(lambda a: F.gelu(a, approximate="tanh")),),
    ),
    Mistake(
        "relu",
        "Bạn dùng ReLU; GELU là z·Φ(z), mềm quanh 0 và hơi âm khi z < 0.",
        (_mlp(torch.relu),),
    ),
    Mistake(
        "no_sqrt2",
        "Thiếu phép chia cho √2 trong erf: Φ(z) = (1 + erf(z/√2))/2.",
        (_mlp(lambda a: a * 0.5 * (1 + torch.erf(a))),),
    ),
    Mistake(
        "phi_only",
        "Bạn trả Φ(z) thay vì z·Φ(z): GELU nhân đầu vào với xác suất Φ(z).",
        (_mlp(lambda a: 0.5 * (1 + torch.erf(a / math.sqrt(2)))),),
    ),
    Mistake(
        "no_second_bias",
        "Thiếu bias b_2 của lớp chiếu thứ hai: MLP(u) = GELU(u W_1ᵀ + b_1) W_2ᵀ + b_2.",
        (_mlp(F.gelu, second_bias=False),),
    ),
)


@checker(lesson=24, mistakes=MLP_EXACT_GELU_MISTAKES)
def check_mlp_exact_gelu(fn: Callable) -> CheckResult:
    """Check ``fn(u (B, T, C), W_1 (4C, C), b_1, W_2 (C, 4C), b_2) -> (B, T, C)`` = GELU(u W_1ᵀ + b_1) W_2ᵀ + b_2
    with the exact GELU z·Φ(z) (lesson 24), on hidden inputs large enough that the tanh form is visibly off."""
    g = hidden_generator(24)
    inputs = []
    for B, T, C in ((2, 3, 8), (1, 5, 16)):
        inputs.append(
            (
                torch.randn(B, T, C, generator=g) * 3,
                torch.randn(4 * C, C, generator=g) / math.sqrt(C),
                torch.randn(4 * C, generator=g),
                torch.randn(C, 4 * C, generator=g) / math.sqrt(4 * C),
                torch.randn(C, generator=g),
            )
        )
    return check_function(
        fn,
        _mlp(F.gelu),
        inputs,
        MLP_EXACT_GELU_MISTAKES,
        name="Hàm mlp_exact_gelu",
        success="Chính xác! MLP của bạn khớp với GELU(u W_1ᵀ + b_1) W_2ᵀ + b_2 (GELU chính xác) trên mọi đầu vào ẩn.",
        describe=lambda a: f"u kích thước {tuple(a[0].shape)}",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 30: repeat_kv for grouped-query attention
# ----------------------------------------------------------------------------------------------------------


def _repeat_kv(x, n_rep):
    return x.repeat_interleave(n_rep, dim=1)  # (B, H_kv * n_rep, T, d): head h uses K/V head h // n_rep


REPEAT_KV_MISTAKES = Mistakes(
    Mistake(
        "tiled_not_grouped",
        "Sai thứ tự head: `x.repeat(1, n_rep, 1, 1)` xếp các head K/V thành 0, 1, …, 0, 1, …; head query h phải "
        "dùng head K/V h // n_rep (0, 0, …, 1, 1, …). Dùng `x[:, :, None].expand(B, H_kv, n_rep, T, d)` rồi "
        "`reshape(B, H_kv * n_rep, T, d)`.",
        (lambda x, n_rep: x.repeat(1, n_rep, 1, 1),),
    ),
    Mistake(
        "repeats_time_axis",
        "Bạn lặp theo trục thời gian (trục 2) thay vì trục head (trục 1): kết quả phải là "
        "(B, H_kv · n_rep, T, d).",
        (lambda x, n_rep: x.repeat_interleave(n_rep, dim=2),),
    ),
)


@checker(lesson=30, mistakes=REPEAT_KV_MISTAKES)
def check_repeat_kv(fn: Callable) -> CheckResult:
    """Check ``fn(x (B, H_kv, T, d), n_rep) -> (B, H_kv * n_rep, T, d)`` where query head h uses K/V head
    h // n_rep (lesson 30)."""
    g = hidden_generator(30)
    inputs = [
        (torch.randn(B, H, T, d, generator=g), n_rep)
        for B, H, T, d, n_rep in ((2, 2, 6, 16, 4), (1, 3, 5, 8, 2), (1, 1, 7, 8, 4), (2, 4, 3, 8, 1))
    ]
    return check_function(
        fn,
        _repeat_kv,
        inputs,
        REPEAT_KV_MISTAKES,
        name="Hàm repeat_kv",
        success=(
            "Chính xác! Mỗi head K/V được lặp cho cả nhóm query của nó (head query h dùng head K/V h // n_rep), "
            "kể cả n_rep = 1 và H_kv = 1."
        ),
        describe=lambda a: f"x kích thước {tuple(a[0].shape)}, n_rep = {a[1]}",
        atol=0.0,
        rtol=0.0,
    )
