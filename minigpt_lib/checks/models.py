"""Checkers of models: lessons 15 (logits of the next token with a cropped context), 16 (pre-LN and post-LN)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GPTConfig
from ..models import Model3
from .engine import CheckResult, Mistake, Mistakes, check_function, checker, hidden_generator

NEXT_LOGITS_CONFIG = GPTConfig(vocab_size=37, block_size=8, n_layer=1, n_head=1, n_embd=16)
NEXT_LOGITS_LENGTHS: tuple[int, ...] = (1, 5, 8, 9, 20)  # shorter than, equal to and longer than block_size


def _hidden_model3() -> Model3:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(15)
        return Model3(NEXT_LOGITS_CONFIG).eval()


def _next_logits(crop: Callable, position: int = -1, probs: bool = False) -> Callable:
    def run(model, idx):
        with torch.no_grad():
            logits = model(crop(idx, model.config.block_size))[:, position, :]  # (B, V)
        return F.softmax(logits, dim=-1) if probs else logits

    return run


def _last(idx, bs):
    return idx[:, -bs:]


NEXT_LOGITS_MISTAKES = Mistakes(
    Mistake(
        "no_crop",
        "Ngữ cảnh chưa được cắt: khi T > block_size mô hình báo lỗi (nó chỉ có block_size vị trí). Hãy giữ "
        "block_size token CUỐI: `idx[:, -model.config.block_size:]`.",
        (_next_logits(lambda idx, bs: idx),),
    ),
    Mistake(
        "crop_keeps_first_tokens",
        "Bạn giữ block_size token ĐẦU (`idx[:, :block_size]`): token tiếp theo phụ thuộc vào đoạn gần nhất, nên "
        "phải giữ block_size token CUỐI: `idx[:, -model.config.block_size:]`.",
        (_next_logits(lambda idx, bs: idx[:, :bs]),),
    ),
    Mistake(
        "first_position",
        "Bạn lấy logits của vị trí đầu (`[:, 0, :]`): dự đoán cho token tiếp theo nằm ở vị trí CUỐI, `[:, -1, :]`.",
        (_next_logits(_last, position=0),),
    ),
    Mistake(
        "returns_probabilities",
        "Hàm trả về xác suất (đã softmax); bài tập cần logits (B, V), chưa qua softmax.",
        (_next_logits(_last, probs=True),),
    ),
)


@checker(lesson=15, mistakes=NEXT_LOGITS_MISTAKES)
def check_next_token_logits(fn: Callable) -> CheckResult:
    """Check ``fn(model, idx (B, T)) -> logits (B, V)`` of the token after ``idx``, with at most ``block_size``
    tokens of context, on a hidden small ``Model3`` for T shorter than, equal to and longer than block_size."""
    g = hidden_generator(15)
    model = _hidden_model3()
    inputs = [
        (model, torch.randint(NEXT_LOGITS_CONFIG.vocab_size, (2, T), generator=g))
        for T in NEXT_LOGITS_LENGTHS
    ]
    return check_function(
        fn,
        _next_logits(_last),
        inputs,
        NEXT_LOGITS_MISTAKES,
        name="Hàm next_token_logits",
        success=(
            f"Chính xác! Với T = {', '.join(map(str, NEXT_LOGITS_LENGTHS))} (block_size = "
            f"{NEXT_LOGITS_CONFIG.block_size}), hàm dùng đúng tối đa block_size token cuối và trả logits (B, V) "
            "của vị trí cuối."
        ),
        describe=lambda a: f"idx kích thước {tuple(a[1].shape)}, block_size = {a[0].config.block_size}",
        atol=1e-5,
        rtol=1e-4,
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 16: pre-LN and post-LN sublayers
# ----------------------------------------------------------------------------------------------------------


def _sublayers(pre: Callable, post: Callable) -> Callable:
    def both(x, ln, f):
        return pre(x, ln, f), post(x, ln, f)

    return both


def _pre(x, ln, f):
    return x + f(ln(x))


def _post(x, ln, f):
    return ln(x + f(x))


PRE_POST_LN_MISTAKES = Mistakes(
    Mistake(
        "swapped",
        "Hai hàm bị đổi chỗ: pre-LN chuẩn hóa đầu vào của nhánh, x + f(LN(x)); post-LN chuẩn hóa sau phép cộng, "
        "LN(x + f(x)).",
        (_sublayers(_post, _pre),),
    ),
    Mistake(
        "pre_ln_adds_normalized_x",
        "pre_ln_sublayer cộng LN(x) thay vì x gốc: đường tắt phải mang x nguyên vẹn, x + f(LN(x)); chỉ nhánh f "
        "nhận LN(x).",
        (_sublayers(lambda x, ln, f: ln(x) + f(ln(x)), _post),),
    ),
    Mistake(
        "pre_ln_no_residual",
        "pre_ln_sublayer thiếu kết nối tắt: phải trả x + f(LN(x)), không chỉ f(LN(x)).",
        (_sublayers(lambda x, ln, f: f(ln(x)), _post),),
    ),
    Mistake(
        "post_ln_normalizes_branch_only",
        "post_ln_sublayer chỉ chuẩn hóa nhánh, x + LN(f(x)): post-LN chuẩn hóa TỔNG, LN(x + f(x)).",
        (_sublayers(_pre, lambda x, ln, f: x + ln(f(x))),),
    ),
)


def _hidden_sublayer_inputs() -> list[tuple]:
    g = hidden_generator(16)
    inputs = []
    for D in (12, 32):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(16 + D)
            ln = nn.LayerNorm(D)
            f = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))
        with torch.no_grad():
            ln.weight.copy_(1 + 0.3 * torch.randn(D, generator=g))
            ln.bias.copy_(0.3 * torch.randn(D, generator=g))
        inputs.append((3 * torch.randn(2, 5, D, generator=g), ln, f))
    return inputs


@checker(lesson=16, mistakes=PRE_POST_LN_MISTAKES)
def check_pre_post_ln(pre_ln_sublayer: Callable, post_ln_sublayer: Callable) -> CheckResult:
    """Check ``pre_ln_sublayer(x, ln, f) = x + f(LN(x))`` and ``post_ln_sublayer(x, ln, f) = LN(x + f(x))``
    together (lesson 16), on hidden inputs with a LayerNorm of random γ, β and an MLP branch."""
    return check_function(
        _sublayers(pre_ln_sublayer, post_ln_sublayer),
        _sublayers(_pre, _post),
        _hidden_sublayer_inputs(),
        PRE_POST_LN_MISTAKES,
        name="Hai hàm sublayer",
        success="Chính xác! pre_ln_sublayer = x + f(LN(x)) và post_ln_sublayer = LN(x + f(x)) trên mọi đầu vào ẩn.",
        describe=lambda a: f"x kích thước {tuple(a[0].shape)}, LayerNorm với γ, β ngẫu nhiên",
    )
