"""Checkers of attention: lessons 11 (window average), 12 (recency weights), 13 (soft lookup), 14 (causal attention)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .engine import (
    HIDDEN_SEED,
    CheckResult,
    Mistake,
    Mistakes,
    check_function,
    checker,
    hidden_generator,
)

# ----------------------------------------------------------------------------------------------------------
# Lesson 11: the matrix of a sliding-window average
# ----------------------------------------------------------------------------------------------------------


def _band(T: int, lo: int, hi: int) -> torch.Tensor:
    """1 where lo <= i - j <= hi."""
    d = torch.arange(T)[:, None] - torch.arange(T)[None, :]
    return ((d >= lo) & (d <= hi)).float()


def _rows_normalized(m: torch.Tensor) -> torch.Tensor:
    return m / m.sum(dim=1, keepdim=True)


def _reference_window(T, w):
    return _rows_normalized(_band(T, 0, w - 1))


WINDOW_MISTAKES = Mistakes(
    Mistake(
        "window_off_by_one",
        "Cửa sổ lệch một: hàng i phải gồm đúng các vị trí i − w + 1 .. i (tối đa w token, kể cả chính nó). "
        "Dải 1 là `torch.tril(ones) - torch.tril(ones, diagonal=-w)` — kiểm tra lại `diagonal`.",
        (
            lambda T, w: _rows_normalized(_band(T, 0, w)),  # w + 1 tokens
            lambda T, w: _rows_normalized(_band(T, 0, w - 2)),  # w - 1 tokens (NaN rows when w = 1)
        ),
    ),
    Mistake(
        "divides_by_w",
        "Mọi hàng bị chia cho w: ở đầu chuỗi (i + 1 < w) cửa sổ chỉ có i + 1 token, nên phải chia cho số phần tử "
        "thực có của hàng, `band.sum(dim=1, keepdim=True)`, để mỗi hàng cộng lại bằng 1.",
        (lambda T, w: _band(T, 0, w - 1) / w,),
    ),
    Mistake(
        "not_normalized",
        "Chưa chuẩn hóa: dải 0/1 phải được chia cho tổng từng hàng để thành trung bình (hàng cộng lại bằng 1).",
        (lambda T, w: _band(T, 0, w - 1),),
    ),
    Mistake(
        "looks_at_future",
        "Ma trận nhìn tương lai: phần khác 0 phải nằm ở dưới đường chéo (j ≤ i, `torch.tril`), còn của bạn nằm ở "
        "phía trên (ma trận bị chuyển vị hoặc dùng `triu`).",
        (lambda T, w: _rows_normalized(_band(T, 0, w - 1)).T.contiguous(),),
    ),
)


@checker(lesson=11, exercise=1, mistakes=WINDOW_MISTAKES)
def check_window_average_matrix(fn: Callable) -> CheckResult:
    """Check ``fn(T, w) -> (T, T)``, the causal average of the last (at most) w tokens (lesson 11).

    Recognised mistakes: the keys of ``WINDOW_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = [(8, 3), (10, 1), (7, 7), (5, 20), (9, 2), (12, 5)]
    return check_function(
        fn,
        _reference_window,
        inputs,
        WINDOW_MISTAKES,
        name="Hàm window_average_matrix",
        success=f"Chính xác! Ma trận cửa sổ của bạn đúng với cả {len(inputs)} cặp (T, w) ẩn, kể cả w = 1 và w ≥ T.",
        describe=lambda a: f"T = {a[0]}, w = {a[1]}",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 12: recency weights (softmax of -lambda * distance, masked)
# ----------------------------------------------------------------------------------------------------------


def _recency_scores(T, lam):
    d = (torch.arange(T)[:, None] - torch.arange(T)[None, :]).float()
    return -lam * d, d < 0  # scores and the future (j > i)


def _reference_recency(T, lam):
    s, future = _recency_scores(T, lam)
    return F.softmax(s.masked_fill(future, float("-inf")), dim=-1)


def _recency_sign_flipped(T, lam):
    s, future = _recency_scores(T, lam)
    return F.softmax((-s).masked_fill(future, float("-inf")), dim=-1)


def _recency_mask_after(T, lam):
    s, future = _recency_scores(T, lam)
    return F.softmax(s, dim=-1).masked_fill(future, 0.0)


def _recency_axis0(T, lam):
    s, future = _recency_scores(T, lam)
    return F.softmax(s.masked_fill(future, float("-inf")), dim=0)


def _recency_no_mask(T, lam):
    return F.softmax(_recency_scores(T, lam)[0], dim=-1)


def _recency_zero_mask(T, lam):
    s, future = _recency_scores(T, lam)
    return F.softmax(s.masked_fill(future, 0.0), dim=-1)


RECENCY_MISTAKES = Mistakes(
    Mistake(
        "sign_flipped",
        "Sai dấu: điểm số là −λ(i − j), càng xa (i − j lớn) điểm càng thấp. Với dấu +, trọng số dồn về token xa nhất "
        "thay vì token gần nhất.",
        (_recency_sign_flipped,),
    ),
    Mistake(
        "mask_after_softmax",
        "Mặt nạ áp sau softmax: softmax đã chia cho tổng tính cả tương lai, nên đặt về 0 sau đó làm hàng không còn "
        "cộng lại bằng 1. Điền −∞ vào điểm số (`masked_fill(j > i, float('-inf'))`) TRƯỚC softmax.",
        (_recency_mask_after,),
    ),
    Mistake(
        "softmax_wrong_axis",
        "Softmax theo sai trục: mỗi hàng i là một phân phối trên các j, nên dùng `F.softmax(scores, dim=-1)`.",
        (_recency_axis0,),
    ),
    Mistake(
        "mask_future",
        "Tương lai chưa bị che (hoặc che bằng 0 thay vì −∞): `exp(0) = 1` vẫn cho trọng số dương. Hãy điền "
        "`float('-inf')` vào các ô j > i trước softmax.",
        (
            _recency_no_mask,
            _recency_zero_mask,
        ),
    ),
)


@checker(lesson=12, exercise=1, mistakes=RECENCY_MISTAKES)
def check_recency_weights(fn: Callable) -> CheckResult:
    """Check ``fn(T, lam) -> (T, T)`` causal weights proportional to exp(−lam (i − j)) (lesson 12).

    Recognised mistakes: the keys of ``RECENCY_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = [(6, 0.5), (10, 1.0), (5, 0.0), (7, 3.0), (9, 0.2), (4, 20.0)]
    return check_function(
        lambda T, lam: fn(T, lam),
        _reference_recency,
        inputs,
        RECENCY_MISTAKES,
        name="Hàm recency_weights",
        success=f"Chính xác! Trọng số của bạn đúng công thức và nhân quả với cả {len(inputs)} cặp (T, λ) ẩn.",
        describe=lambda a: f"T = {a[0]}, lam = {a[1]}",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 13: a soft dictionary lookup (one query)
# ----------------------------------------------------------------------------------------------------------


def _lookup(scale: Callable[[int, int], float], swap: bool = False) -> Callable:
    def lookup(query, keys, values):
        w = F.softmax(keys @ query / scale(query.size(-1), keys.size(0)), dim=-1)
        return (w, w @ values) if swap else (w @ values, w)

    return lookup


SOFT_LOOKUP_MISTAKES = Mistakes(
    Mistake(
        "no_scaling",
        "Thiếu hệ số 1/√d: điểm số là `keys @ query / math.sqrt(d)` với d = `query.size(-1)`, trước softmax.",
        (_lookup(lambda d, n: 1.0),),
    ),
    Mistake(
        "wrong_scale",
        "Hệ số tỉ lệ sai: chia điểm số cho √d với d là số chiều của query/key (`query.size(-1)`), "
        "không chia cho d, cũng không cho √N (số key).",
        (
            _lookup(lambda d, n: float(d)),
            _lookup(lambda d, n: math.sqrt(n)),
        ),
    ),
    Mistake(
        "wrong_return_order",
        "Thứ tự trả về bị đảo: hàm trả về `(output, weights)` — output (d_v,) trước, weights (N,) sau.",
        (_lookup(lambda d, n: math.sqrt(d), swap=True),),
    ),
    Mistake(
        "returns_scores",
        "Phần tử thứ hai phải là trọng số SAU softmax (cộng lại bằng 1), không phải điểm số `keys @ query / √d`.",
        (
            lambda q, k, v: (
                F.softmax(k @ q / math.sqrt(q.size(-1)), dim=-1) @ v,
                k @ q / math.sqrt(q.size(-1)),
            ),
        ),
    ),
)


@checker(lesson=13, exercise=1, mistakes=SOFT_LOOKUP_MISTAKES)
def check_soft_lookup(fn: Callable) -> CheckResult:
    """Check ``fn(query (d,), keys (N, d), values (N, dv)) -> (output (dv,), weights (N,))`` (lesson 13).

    Recognised mistakes: the keys of ``SOFT_LOOKUP_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    g = hidden_generator(13)
    inputs = [
        (torch.randn(d, generator=g), torch.randn(n, d, generator=g), torch.randn(n, dv, generator=g))
        for n, d, dv in [(4, 16, 1), (7, 8, 5), (1, 3, 2), (6, 9, 6), (5, 5, 3)]
    ]
    return check_function(
        lambda q, k, v: (lambda out: tuple(out) if isinstance(out, list) else out)(fn(q, k, v)),
        _lookup(lambda d, n: math.sqrt(d)),
        inputs,
        SOFT_LOOKUP_MISTAKES,
        name="Hàm soft_lookup",
        success=(
            f"Chính xác! soft_lookup trả về đúng (output, weights) trên {len(inputs)} bộ query, keys, values ẩn "
            "(kể cả N = 1)."
        ),
        describe=lambda a: f"query {tuple(a[0].shape)}, keys {tuple(a[1].shape)}, values {tuple(a[2].shape)}",
    )


# ----------------------------------------------------------------------------------------------------------
# Causal attention (lesson 14)
# ----------------------------------------------------------------------------------------------------------

ATTENTION_SHAPES: tuple[tuple[int, int, int, int], ...] = (
    (2, 3, 5, 8),  # (B, H, T, D) with D != T, so a missing or wrong transpose cannot go unnoticed
    (1, 2, 1, 8),  # T = 1: a single token sees only itself, out == v
    (2, 2, 12, 4),
    (3, 1, 9, 16),
    (1, 2, 6, 6),  # the one square case: q @ k (no transpose) runs here and is recognised by its values
)


def _allowed(t: int, device, diagonal: int = 0) -> torch.Tensor:
    return torch.ones(t, t, dtype=torch.bool, device=device).tril(
        diagonal=diagonal
    )  # True where i may look at j


def _scaled(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, T)


def _masked(scores, diagonal: int = 0):
    return scores.masked_fill(~_allowed(scores.size(-1), scores.device, diagonal), float("-inf"))


def _reference_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def _attn_no_scaling(q, k, v):
    return F.softmax(_masked(q @ k.transpose(-2, -1)), dim=-1) @ v


def _attn_scale_by_d(q, k, v):
    return F.softmax(_masked(q @ k.transpose(-2, -1) / q.size(-1)), dim=-1) @ v


def _attn_scale_by_sqrt_t(q, k, v):
    return F.softmax(_masked(q @ k.transpose(-2, -1) / math.sqrt(q.size(-2))), dim=-1) @ v


def _attn_scale_after_softmax(q, k, v):
    return F.softmax(_masked(q @ k.transpose(-2, -1)), dim=-1) / math.sqrt(q.size(-1)) @ v


def _attn_mask_diagonal(q, k, v):
    return F.softmax(_masked(_scaled(q, k), diagonal=-1), dim=-1) @ v  # row 0 fully masked -> NaN


def _attn_mask_inverted(q, k, v):
    s = _scaled(q, k)
    return F.softmax(s.masked_fill(_allowed(s.size(-1), s.device), float("-inf")), dim=-1) @ v


def _attn_no_mask(q, k, v):
    return F.softmax(_scaled(q, k), dim=-1) @ v


def _attn_mask_one_future(q, k, v):
    return F.softmax(_masked(_scaled(q, k), diagonal=1), dim=-1) @ v


def _attn_softmax_dim_minus2(q, k, v):
    return F.softmax(_masked(_scaled(q, k)), dim=-2) @ v


def _attn_softmax_dim_heads(q, k, v):
    return F.softmax(_masked(_scaled(q, k)), dim=1) @ v


def _attn_zero_after_softmax(q, k, v):
    w = F.softmax(_scaled(q, k), dim=-1)
    return w.masked_fill(~_allowed(w.size(-1), w.device), 0.0) @ v  # rows no longer sum to 1


def _attn_inf_after_softmax(q, k, v):
    return _masked(F.softmax(_scaled(q, k), dim=-1)) @ v


def _attn_q_matmul_k(q, k, v):
    return F.softmax(_masked(q @ k / math.sqrt(q.size(-1))), dim=-1) @ v  # runs only when T == D


def _attn_k_matmul_qt(q, k, v):
    return F.softmax(_masked(k @ q.transpose(-2, -1) / math.sqrt(q.size(-1))), dim=-1) @ v


def _attn_weights_transposed(q, k, v):
    return F.softmax(_masked(_scaled(q, k)), dim=-1).transpose(-2, -1) @ v


ATTENTION_MISTAKES = Mistakes(
    Mistake(
        "no_scaling",
        "Thiếu hệ số tỉ lệ 1/√D: hãy chia điểm số `q @ k.transpose(-2, -1)` cho `math.sqrt(q.size(-1))` "
        'trước khi áp mặt nạ và softmax. Không chia thì điểm số có phương sai D, softmax bị "nhọn" quá mức.',
        (_attn_no_scaling,),
    ),
    Mistake(
        "wrong_scale",
        "Hệ số tỉ lệ sai: điểm số phải chia cho √D với D = `q.size(-1)` (số chiều của mỗi head), "
        "trước softmax — không chia cho D, cho √T, và không chia sau softmax.",
        (
            _attn_scale_by_d,
            _attn_scale_by_sqrt_t,
            _attn_scale_after_softmax,
        ),
    ),
    Mistake(
        "mask_diagonal",
        "Mặt nạ che cả đường chéo: vị trí i phải được nhìn chính nó (j ≤ i), chỉ che j > i. "
        "Dùng `torch.tril(torch.ones(T, T))` (đường chéo chính được giữ), không dùng `diagonal=-1`. "
        "Khi che cả đường chéo, hàng đầu tiên bị che hết và softmax cho NaN.",
        (_attn_mask_diagonal,),
    ),
    Mistake(
        "mask_inverted",
        "Mặt nạ bị đảo ngược: `masked_fill(mask, -inf)` điền −∞ vào chỗ `mask` là True, mà `tril` là chỗ ĐƯỢC nhìn. "
        "Hãy điền −∞ vào phần phía trên đường chéo: `scores.masked_fill(mask == 0, float('-inf'))` "
        "hoặc `masked_fill(~mask, ...)` với mask kiểu bool.",
        (_attn_mask_inverted,),
    ),
    Mistake(
        "mask_future",
        "Mặt nạ để lọt tương lai: vị trí i nhìn thấy cả j > i (thiếu mặt nạ, hoặc `tril(..., diagonal=1)` lệch một "
        "đường chéo). Vị trí i chỉ được nhìn các vị trí 0..i: che các phần tử phía trên đường chéo chính bằng −∞.",
        (
            _attn_no_mask,
            _attn_mask_one_future,
        ),
    ),
    Mistake(
        "softmax_wrong_axis",
        "Softmax theo sai trục: mỗi hàng (một query) phải có tổng trọng số bằng 1, tức là softmax theo các key, "
        "trục cuối: `F.softmax(scores, dim=-1)`.",
        (
            _attn_softmax_dim_minus2,
            _attn_softmax_dim_heads,
        ),
    ),
    Mistake(
        "mask_after_softmax",
        "Mặt nạ được áp sau softmax: softmax đã chia cho tổng tính cả các vị trí tương lai, nên che (hay đặt về 0) "
        "sau đó làm mỗi hàng không còn tổng bằng 1 (hoặc sinh NaN/inf với −∞). "
        "Hãy điền −∞ vào điểm số TRƯỚC softmax; softmax sẽ tự cho trọng số 0 ở đó.",
        (
            _attn_zero_after_softmax,
            _attn_inf_after_softmax,
        ),
    ),
    Mistake(
        "wrong_transpose",
        "Sai phép chuyển vị: điểm số là `q @ k.transpose(-2, -1)` (kích thước (B, H, T, T), hàng = query, "
        "cột = key), không phải `q @ k` hay `k @ q.transpose(-2, -1)`; và kết quả là `weights @ v`, không chuyển vị weights.",
        (
            _attn_q_matmul_k,
            _attn_k_matmul_qt,
            _attn_weights_transposed,
        ),
    ),
)


def _attention_inputs(device) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(HIDDEN_SEED)
    inputs = []
    for shape in ATTENTION_SHAPES:
        q, k, v = (torch.randn(shape, generator=g).to(device) for _ in range(3))
        inputs.append((q, k, v))
    return inputs


def _diagnose_attention(got, expected, args) -> str | None:
    q, k, v = args
    g = got.detach().to("cpu", torch.float64)
    if torch.isnan(g).any():
        return "NaN thường xuất hiện khi cả một hàng điểm số bị che (toàn −∞) trước softmax, hoặc khi −∞ bị nhân với trọng số."
    if not torch.allclose(g[..., 0, :], v[..., 0, :].detach().to("cpu", torch.float64), atol=1e-5, rtol=1e-4):
        return "Gợi ý: token đầu tiên chỉ nhìn thấy chính nó nên `out[..., 0, :]` phải bằng `v[..., 0, :]`; hãy kiểm tra mặt nạ và softmax."
    return "Gợi ý: hàng đầu tiên đã đúng; hãy kiểm tra hệ số 1/√D, trục của softmax và mặt nạ ở các hàng sau."


@checker(lesson=14, exercise=2, mistakes=ATTENTION_MISTAKES)
def check_causal_attention(fn: Callable, *, device: torch.device | str = "cpu") -> CheckResult:
    """Check ``fn(q, k, v) -> out`` (all (B, H, T, D)) against ``F.scaled_dot_product_attention(..., is_causal=True)``.

    Recognised mistakes: the keys of ``ATTENTION_MISTAKES`` plus the generic ones of :func:`check_function`.
    A ``NotImplementedError`` from ``fn`` (an exercise's stub) is re-raised.
    """
    return check_function(
        fn,
        _reference_attention,
        _attention_inputs(device),
        ATTENTION_MISTAKES,
        name="Hàm attention của bạn",
        success=(
            "Chính xác! Hàm của bạn khớp với `F.scaled_dot_product_attention(q, k, v, is_causal=True)` "
            f"trên {len(ATTENTION_SHAPES)} bộ q, k, v ẩn (kể cả T = 1)."
        ),
        describe=lambda args: f"q, k, v kích thước (B, H, T, D) = {tuple(args[0].shape)}",
        diagnose=_diagnose_attention,
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 14, exercise 1: the causal weight matrix
# ----------------------------------------------------------------------------------------------------------


def _weights(q, k, scale=None, diagonal: int = 0, dim: int = -1, transpose_k: bool = True, inverted=False):
    D = q.size(-1)
    scores = q @ (k.transpose(-2, -1) if transpose_k else k)  # (B, H, T, T)
    scores = scores / (math.sqrt(D) if scale is None else scale(q))
    allowed = _allowed(scores.size(-1), scores.device, diagonal)
    scores = scores.masked_fill(allowed if inverted else ~allowed, float("-inf"))
    return F.softmax(scores, dim=dim)


def _weights_mask_after(q, k):
    w = F.softmax(_scaled(q, k), dim=-1)
    return w.masked_fill(~_allowed(w.size(-1), w.device), 0.0)  # rows no longer sum to 1


ATTENTION_WEIGHTS_MISTAKES = Mistakes(
    Mistake(
        "no_scaling", ATTENTION_MISTAKES["no_scaling"].message, (lambda q, k: _weights(q, k, lambda q: 1.0),)
    ),
    Mistake(
        "wrong_scale",
        ATTENTION_MISTAKES["wrong_scale"].message,
        (
            lambda q, k: _weights(q, k, lambda q: q.size(-1)),
            lambda q, k: _weights(q, k, lambda q: math.sqrt(q.size(-2))),
        ),
    ),
    Mistake(
        "mask_diagonal",
        ATTENTION_MISTAKES["mask_diagonal"].message,
        (lambda q, k: _weights(q, k, diagonal=-1),),
    ),
    Mistake(
        "mask_inverted",
        ATTENTION_MISTAKES["mask_inverted"].message,
        (lambda q, k: _weights(q, k, inverted=True),),
    ),
    Mistake(
        "mask_future",
        ATTENTION_MISTAKES["mask_future"].message,
        (lambda q, k: F.softmax(_scaled(q, k), dim=-1), lambda q, k: _weights(q, k, diagonal=1)),
    ),
    Mistake(
        "softmax_wrong_axis",
        ATTENTION_MISTAKES["softmax_wrong_axis"].message,
        (lambda q, k: _weights(q, k, dim=-2), lambda q, k: _weights(q, k, dim=1)),
    ),
    Mistake("mask_after_softmax", ATTENTION_MISTAKES["mask_after_softmax"].message, (_weights_mask_after,)),
    Mistake(
        "wrong_transpose",
        "Sai phép chuyển vị: điểm số là `q @ k.transpose(-2, -1)` (kích thước (B, H, T, T), hàng = query, "
        "cột = key), không phải `q @ k` hay `k @ q.transpose(-2, -1)`.",
        (
            lambda q, k: _weights(q, k, transpose_k=False),
            lambda q, k: F.softmax(_masked(k @ q.transpose(-2, -1) / math.sqrt(q.size(-1))), dim=-1),
        ),
    ),
)


@checker(lesson=14, exercise=1, mistakes=ATTENTION_WEIGHTS_MISTAKES)
def check_attention_weights(fn: Callable, *, device: torch.device | str = "cpu") -> CheckResult:
    """Check ``fn(q, k) -> (B, H, T, T)`` = softmax(q kᵀ / √D + causal mask) (lesson 14, exercise 1)."""
    return check_function(
        fn,
        lambda q, k: _weights(q, k),
        [(q, k) for q, k, _ in _attention_inputs(device)],
        ATTENTION_WEIGHTS_MISTAKES,
        name="Hàm attention_weights",
        success=(
            f"Chính xác! Trọng số của bạn khớp với softmax(q kᵀ / √D + mặt nạ) trên {len(ATTENTION_SHAPES)} bộ "
            "q, k ẩn (kể cả T = 1): mỗi hàng tổng bằng 1, bằng 0 phía trên đường chéo."
        ),
        describe=lambda args: f"q, k kích thước (B, H, T, D) = {tuple(args[0].shape)}",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 19: splitting into heads and merging them back
# ----------------------------------------------------------------------------------------------------------


def _split(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)  # (B, h, T, C/h): head i = columns i·d_h..


def _merge(y):
    B, H, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, H * hs)  # (B, T, C)


def _split_and_merge(split: Callable, merge: Callable) -> Callable:
    def both(x, n_head, y):
        return split(x, n_head), merge(y)

    return both


SPLIT_MERGE_MISTAKES = Mistakes(
    Mistake(
        "split_view_without_transpose",
        "split_heads dùng `x.view(B, n_head, T, C // n_head)` trực tiếp: đúng kích thước nhưng trộn token với "
        "head. Hãy tách trục cuối trước, `x.view(B, T, n_head, C // n_head)`, rồi `.transpose(1, 2)`.",
        (_split_and_merge(lambda x, h: x.reshape(x.size(0), h, x.size(1), x.size(2) // h), _merge),),
    ),
    Mistake(
        "split_heads_interleaved",
        "split_heads lấy các cột xen kẽ (head i = cột i, i + h, …): head i phải là khúc cột liền nhau "
        "i·d_h … (i+1)·d_h − 1, tức `view(B, T, n_head, C // n_head)`, không phải `view(B, T, C // n_head, n_head)`.",
        (
            _split_and_merge(
                lambda x, h: x.view(x.size(0), x.size(1), x.size(2) // h, h).permute(0, 3, 1, 2), _merge
            ),
        ),
    ),
    Mistake(
        "merge_view_without_transpose",
        "merge_heads gọi `view`/`reshape(B, T, C)` mà không `transpose(1, 2)` trước: đúng kích thước nhưng trộn "
        "token với head. Dùng `y.transpose(1, 2).contiguous().view(B, T, C)`.",
        (_split_and_merge(_split, lambda y: y.reshape(y.size(0), y.size(2), y.size(1) * y.size(3))),),
    ),
)


@checker(lesson=19, mistakes=SPLIT_MERGE_MISTAKES)
def check_split_merge_heads(split_heads: Callable, merge_heads: Callable) -> CheckResult:
    """Check ``split_heads(x (B, T, C), n_head) -> (B, n_head, T, C / n_head)`` and
    ``merge_heads(y (B, h, T, hs)) -> (B, T, h · hs)`` together (lesson 19)."""
    g = hidden_generator(19)
    inputs = [
        (torch.randn(B, T, C, generator=g), H, torch.randn(B, H, T, C // H, generator=g))
        for B, T, C, H in ((2, 5, 12, 3), (1, 7, 16, 4), (3, 4, 8, 8), (1, 6, 12, 1))
    ]
    return check_function(
        _split_and_merge(split_heads, merge_heads),
        _split_and_merge(_split, _merge),
        inputs,
        SPLIT_MERGE_MISTAKES,
        name="Hai hàm split_heads, merge_heads",
        success=(
            "Chính xác! split_heads đặt khúc cột thứ i vào head i, merge_heads ghép các head cạnh nhau theo đúng "
            "thứ tự (kể cả n_head = 1)."
        ),
        describe=lambda a: f"x kích thước {tuple(a[0].shape)}, n_head = {a[1]}",
        atol=0.0,
        rtol=0.0,
    )
