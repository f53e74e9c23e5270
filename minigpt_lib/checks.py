"""Code-challenge checkers: run a learner's function on hidden inputs, compare it with the reference, name the mistake.

Every checker returns a :class:`CheckResult` whose message is in Vietnamese (shown with ✅/❌ in a notebook) and
whose ``mistake`` is a stable English key (``None`` when the code is right or the error was not recognised).

How a mistake is recognised: each typical mistake has one or more *mistaken reference implementations*. When the
learner's function differs from the correct reference, it is run against each of them on the same hidden inputs;
the first one it agrees with on every input (equal outputs, or both raising an exception) names the mistake.

``NotImplementedError`` raised by the learner's function is re-raised unchanged, on purpose: the student version
of a lesson (solutions removed) must stop at the exercise's stub, exactly where the learner has work to do.
Any other exception becomes a failed result whose message says what was raised and on which input.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import numbers
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import GPTConfig
from .models import GPT

__all__ = [
    "CheckResult",
    "check_function",
    "check_causal_attention",
    "check_param_count",
    "check_qkv_split",
    "check_component_counts",
    "check_query_ablation",
    "check_time_gpt2",
    "ATTENTION_MISTAKES",
    "PARAM_COUNT_MISTAKES",
    "QKV_SPLIT_MISTAKES",
]

HIDDEN_SEED = 20240601  # hidden inputs come from their own generator: checking never moves the global RNG


@dataclass
class CheckResult:
    """The verdict of a checker: ``passed``, a Vietnamese ``message`` and the recognised ``mistake`` key."""

    passed: bool
    message: str
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✅' if self.passed else '❌'} {self.message}"

    def _repr_markdown_(self) -> str:
        return str(self)


# ----------------------------------------------------------------------------------------------------------
# The generic engine
# ----------------------------------------------------------------------------------------------------------

_Variants = Callable | Sequence[Callable]


@dataclass
class _Outcome:
    value: object = None
    error: BaseException | None = None


def _clone(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, tuple):
        return tuple(_clone(o) for o in obj)
    if isinstance(obj, list):
        return [_clone(o) for o in obj]
    return obj


def _same_inputs(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (tuple, list)):
        return all(_same_inputs(x, y) for x, y in zip(a, b, strict=True))
    return True


def _is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _equal(got, expected, atol: float, rtol: float) -> bool:
    """Equal within tolerance (NaN equals NaN, so that mistakes that produce NaN can be recognised)."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return False
        g, e = got.detach().to("cpu", torch.float64), expected.detach().to("cpu", torch.float64)
        return bool(torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True))
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return False
        return all(_equal(g, e, atol, rtol) for g, e in zip(got, expected, strict=True))
    if _is_number(expected):
        if not _is_number(got):
            return False
        if isinstance(expected, numbers.Integral) and isinstance(got, numbers.Integral):
            return int(got) == int(expected)
        return math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol) or (
            math.isnan(float(got)) and math.isnan(float(expected))
        )
    return got == expected


def _difference(got, expected, atol: float, rtol: float, where: str = "") -> tuple[str, str]:
    """(mistake key, Vietnamese description) of the first way ``got`` differs from ``expected``."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            hint = ""
            if isinstance(got, (tuple, list)):
                hint = f" (một {type(got).__name__} gồm {len(got)} phần tử: nếu bạn trả về nhiều giá trị, chỉ giữ kết quả cần kiểm tra)"
            return "not_a_tensor", f"{where}cần một torch.Tensor nhưng nhận được {type(got).__name__}{hint}."
        if got.shape != expected.shape:
            return "wrong_shape", (
                f"{where}kết quả có kích thước {tuple(got.shape)}, cần {tuple(expected.shape)}."
            )
        g, e = got.detach().to("cpu", torch.float64), expected.detach().to("cpu", torch.float64)
        if torch.isnan(g).any() and not torch.isnan(e).any():
            return "wrong_values", f"{where}kết quả chứa NaN."
        if torch.isinf(g).any() and not torch.isinf(e).any():
            return "wrong_values", f"{where}kết quả chứa giá trị vô cùng (inf)."
        diff = (g - e).abs().max().item()
        return "wrong_values", f"{where}đúng kích thước nhưng sai giá trị (sai lệch lớn nhất {diff:.3g})."
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return (
                "wrong_type",
                f"{where}cần một tuple gồm {len(expected)} phần tử nhưng nhận được {type(got).__name__}.",
            )
        if len(got) != len(expected):
            return "wrong_length", f"{where}cần {len(expected)} phần tử nhưng nhận được {len(got)}."
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            if not _equal(g, e, atol, rtol):
                return _difference(g, e, atol, rtol, f"{where}phần tử thứ {i + 1}: ")
    if _is_number(expected):
        if not _is_number(got):
            return "wrong_type", f"{where}cần một số nhưng nhận được {type(got).__name__}."
        delta = got - expected
        if isinstance(delta, numbers.Integral):
            return (
                "wrong_values",
                f"{where}{'thừa' if delta > 0 else 'thiếu'} {abs(int(delta)):,} so với đáp án đúng.",
            )
        return "wrong_values", f"{where}nhận {got!r}, sai lệch {delta:+.3g} so với đáp án đúng."
    return "wrong_values", f"{where}nhận {got!r}, không phải kết quả đúng."


def _describe_args(args: tuple) -> str:
    parts = []
    for a in args:
        if isinstance(a, torch.Tensor):
            parts.append(f"tensor kích thước {tuple(a.shape)}")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


def _call(f: Callable, args: tuple, reraise_not_implemented: bool) -> _Outcome:
    try:
        return _Outcome(value=f(*_clone(args)))
    except NotImplementedError:
        if reraise_not_implemented:
            raise
        return _Outcome(error=NotImplementedError())
    except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
        return _Outcome(error=err)


def check_function(
    fn: Callable,
    reference: Callable,
    inputs: Sequence[tuple],
    mistakes: Mapping[str, _Variants] | None = None,
    *,
    messages: Mapping[str, str] | None = None,
    name: str = "Hàm của bạn",
    success: str = "Chính xác! Kết quả khớp với lời giải mẫu trên mọi đầu vào kiểm tra.",
    describe: Callable[[tuple], str] = _describe_args,
    diagnose: Callable[[object, object, tuple], str | None] | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> CheckResult:
    """Run ``fn(*args)`` for every ``args`` in ``inputs`` and compare with ``reference(*args)``.

    ``mistakes`` maps a key to one mistaken implementation, or a list of variants of the same mistake;
    ``messages`` gives the Vietnamese explanation of each key. Arguments are cloned before every call, so a function
    that modifies its inputs in place cannot disturb the reference (it is reported as ``"modifies_inputs"``).
    ``diagnose(got, expected, args)`` may add a hint when the answer is wrong and no mistake was recognised.
    Recognised keys besides those of ``mistakes``: ``"exception"``, ``"modifies_inputs"``, ``"not_a_tensor"``,
    ``"wrong_shape"``, ``"wrong_type"``, ``"wrong_length"``, ``"wrong_values"``.
    """
    messages = dict(messages or {})
    inputs = list(inputs)
    if not inputs:
        raise ValueError("check_function needs at least one input.")
    expected = [reference(*_clone(args)) for args in inputs]

    outcomes: list[_Outcome] = []
    modified = None
    for args in inputs:
        copies = _clone(args)
        try:
            outcomes.append(_Outcome(value=fn(*copies)))
        except NotImplementedError:
            raise  # the stub of an exercise: let the notebook stop here
        except Exception as err:  # noqa: BLE001
            outcomes.append(_Outcome(error=err))
        if modified is None and not _same_inputs(copies, args):
            modified = args

    all_right = all(
        o.error is None and _equal(o.value, e, atol, rtol) for o, e in zip(outcomes, expected, strict=True)
    )
    if all_right:
        if modified is not None:
            return CheckResult(
                False,
                f"Kết quả đúng, nhưng {name[0].lower() + name[1:]} đã sửa tại chỗ (in-place) tensor đầu vào "
                f"({describe(modified)}). Hãy dùng phép toán tạo tensor mới (vd. `q / s` thay vì `q /= s`).",
                "modifies_inputs",
            )
        return CheckResult(True, success)

    for key, variants in (mistakes or {}).items():
        for variant in [variants] if callable(variants) else list(variants):
            theirs = [_call(variant, args, reraise_not_implemented=False) for args in inputs]
            both_ran = 0
            for mine, other in zip(outcomes, theirs, strict=True):
                if mine.error is not None or other.error is not None:
                    if mine.error is None or other.error is None:
                        break
                elif not _equal(mine.value, other.value, atol, rtol):
                    break
                else:
                    both_ran += 1
            else:
                if both_ran:
                    return CheckResult(False, messages.get(key, f"Lỗi thường gặp: {key}."), key)

    for args, o in zip(inputs, outcomes, strict=True):
        if o.error is not None:
            return CheckResult(
                False,
                f"{name} gây lỗi `{type(o.error).__name__}: {o.error}` khi chạy với đầu vào {describe(args)}.",
                "exception",
            )
    for args, o, e in zip(inputs, outcomes, expected, strict=True):
        if not _equal(o.value, e, atol, rtol):
            key, detail = _difference(o.value, e, atol, rtol)
            text = f"Sai với đầu vào {describe(args)}: {detail}"
            hint = diagnose(o.value, e, args) if diagnose is not None and key == "wrong_values" else None
            return CheckResult(False, f"{text} {hint}" if hint else text, key)
    raise AssertionError("unreachable: some output differed")  # pragma: no cover


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


ATTENTION_MISTAKES: dict[str, list[Callable]] = {
    "no_scaling": [_attn_no_scaling],
    "wrong_scale": [_attn_scale_by_d, _attn_scale_by_sqrt_t, _attn_scale_after_softmax],
    "mask_diagonal": [_attn_mask_diagonal],
    "mask_inverted": [_attn_mask_inverted],
    "mask_future": [_attn_no_mask, _attn_mask_one_future],
    "softmax_wrong_axis": [_attn_softmax_dim_minus2, _attn_softmax_dim_heads],
    "mask_after_softmax": [_attn_zero_after_softmax, _attn_inf_after_softmax],
    "wrong_transpose": [_attn_q_matmul_k, _attn_k_matmul_qt, _attn_weights_transposed],
}

ATTENTION_MESSAGES: dict[str, str] = {
    "no_scaling": (
        "Thiếu hệ số tỉ lệ 1/√D: hãy chia điểm số `q @ k.transpose(-2, -1)` cho `math.sqrt(q.size(-1))` "
        'trước khi áp mặt nạ và softmax. Không chia thì điểm số có phương sai D, softmax bị "nhọn" quá mức.'
    ),
    "wrong_scale": (
        "Hệ số tỉ lệ sai: điểm số phải chia cho √D với D = `q.size(-1)` (số chiều của mỗi head), "
        "trước softmax — không chia cho D, cho √T, và không chia sau softmax."
    ),
    "mask_diagonal": (
        "Mặt nạ che cả đường chéo: vị trí i phải được nhìn chính nó (j ≤ i), chỉ che j > i. "
        "Dùng `torch.tril(torch.ones(T, T))` (đường chéo chính được giữ), không dùng `diagonal=-1`. "
        "Khi che cả đường chéo, hàng đầu tiên bị che hết và softmax cho NaN."
    ),
    "mask_inverted": (
        "Mặt nạ bị đảo ngược: `masked_fill(mask, -inf)` điền −∞ vào chỗ `mask` là True, mà `tril` là chỗ ĐƯỢC nhìn. "
        "Hãy điền −∞ vào phần phía trên đường chéo: `scores.masked_fill(mask == 0, float('-inf'))` "
        "hoặc `masked_fill(~mask, ...)` với mask kiểu bool."
    ),
    "mask_future": (
        "Mặt nạ để lọt tương lai: vị trí i nhìn thấy cả j > i (thiếu mặt nạ, hoặc `tril(..., diagonal=1)` lệch một "
        "đường chéo). Vị trí i chỉ được nhìn các vị trí 0..i: che các phần tử phía trên đường chéo chính bằng −∞."
    ),
    "softmax_wrong_axis": (
        "Softmax theo sai trục: mỗi hàng (một query) phải có tổng trọng số bằng 1, tức là softmax theo các key, "
        "trục cuối: `F.softmax(scores, dim=-1)`."
    ),
    "mask_after_softmax": (
        "Mặt nạ được áp sau softmax: softmax đã chia cho tổng tính cả các vị trí tương lai, nên che (hay đặt về 0) "
        "sau đó làm mỗi hàng không còn tổng bằng 1 (hoặc sinh NaN/inf với −∞). "
        "Hãy điền −∞ vào điểm số TRƯỚC softmax; softmax sẽ tự cho trọng số 0 ở đó."
    ),
    "wrong_transpose": (
        "Sai phép chuyển vị: điểm số là `q @ k.transpose(-2, -1)` (kích thước (B, H, T, T), hàng = query, "
        "cột = key), không phải `q @ k` hay `k @ q.transpose(-2, -1)`; và kết quả là `weights @ v`, không chuyển vị weights."
    ),
}


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
        messages=ATTENTION_MESSAGES,
        name="Hàm attention của bạn",
        success=(
            "Chính xác! Hàm của bạn khớp với `F.scaled_dot_product_attention(q, k, v, is_causal=True)` "
            f"trên {len(ATTENTION_SHAPES)} bộ q, k, v ẩn (kể cả T = 1)."
        ),
        describe=lambda args: f"q, k, v kích thước (B, H, T, D) = {tuple(args[0].shape)}",
        diagnose=_diagnose_attention,
    )


# ----------------------------------------------------------------------------------------------------------
# Parameter counting (lessons 26-27)
# ----------------------------------------------------------------------------------------------------------

PARAM_COUNT_CONFIGS: tuple[GPTConfig, ...] = (
    GPTConfig.preset("gpt2"),
    GPTConfig.preset("gpt2-medium"),
    GPTConfig.preset("gpt2-large"),
    GPTConfig.preset("gpt2-xl"),
    GPTConfig.preset("nano"),
    GPTConfig(vocab_size=1000, block_size=64, n_layer=3, n_head=4, n_embd=64),
)


@contextlib.contextmanager
def _skip_normal_init():
    """Make ``nn.init.normal_`` a no-op for a moment: on the meta device only shapes matter, and the first
    ``normal_`` on a meta tensor imports torch._dynamo (seconds)."""
    original = torch.nn.init.normal_
    torch.nn.init.normal_ = lambda tensor, *args, **kwargs: tensor
    try:
        yield
    finally:
        torch.nn.init.normal_ = original


@functools.lru_cache(maxsize=64)
def count_parameters_meta(config: GPTConfig) -> int:
    """Distinct parameters of ``GPT(config)``, built on the ``meta`` device (shapes only, no memory)."""
    with torch.device("meta"), _skip_normal_init():
        model = GPT(config)
    return sum(p.numel() for p in model.parameters())


def _linear_biases(c: GPTConfig) -> int:
    return c.n_layer * 9 * c.n_embd if c.bias else 0  # c_attn 3C + attn c_proj C + c_fc 4C + mlp c_proj C


def _layernorm_params(c: GPTConfig, n: int | None = None) -> int:
    n = 2 * c.n_layer + 1 if n is None else n  # ln_1, ln_2 per block, ln_f
    return n * c.n_embd * (2 if c.bias else 1)


PARAM_COUNT_MISTAKES: dict[str, list[Callable]] = {
    "tied_head_counted_twice": [
        lambda c: count_parameters_meta(c) + (c.vocab_size * c.n_embd if c.tie_weights else 0),
    ],
    "missing_biases": [
        lambda c: count_parameters_meta(c) - _linear_biases(c),
        lambda c: count_parameters_meta(c) - _linear_biases(c) - (_layernorm_params(c) // 2 if c.bias else 0),
    ],
    "missing_layernorm": [
        lambda c: count_parameters_meta(c) - _layernorm_params(c),
        lambda c: count_parameters_meta(c) - _layernorm_params(c, n=1),  # the final ln_f forgotten
    ],
    "missing_position_embeddings": [lambda c: count_parameters_meta(c) - c.block_size * c.n_embd],
}

PARAM_COUNT_MESSAGES: dict[str, str] = {
    "tied_head_counted_twice": (
        "Đầu ra (`lm_head`) bị đếm hai lần: với weight tying, `lm_head.weight` chính là ma trận embedding token "
        "(V × C), chỉ được đếm một lần."
    ),
    "missing_biases": (
        "Thiếu các bias: mỗi block có bias của `c_attn` (3C), `attn.c_proj` (C), `mlp.c_fc` (4C), `mlp.c_proj` (C), "
        "và mỗi LayerNorm có β (C)."
    ),
    "missing_layernorm": (
        "Thiếu tham số LayerNorm: mỗi block có hai LayerNorm (`ln_1`, `ln_2`), cộng thêm `ln_f` ở cuối; "
        "mỗi LayerNorm có γ và β, 2C tham số."
    ),
    "missing_position_embeddings": (
        "Thiếu position embedding: `wpe` có `block_size × n_embd` tham số (1024 × 768 với GPT-2 small)."
    ),
}


def _as_number(x):
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        x = x.item()
    if hasattr(x, "item") and not isinstance(x, (tuple, list)) and not _is_number(x):
        try:
            x = x.item()  # NumPy scalars
        except Exception:  # noqa: BLE001
            return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def check_param_count(
    fn: Callable[[GPTConfig], int], configs: Sequence[GPTConfig] | None = None
) -> CheckResult:
    """Check ``fn(config) -> int`` against the parameter count of ``GPT(config)`` (built on the meta device).

    Hidden configs: the four GPT-2 sizes, the nano sorter and a small random one (or ``configs`` if given).
    Recognised mistakes: the keys of ``PARAM_COUNT_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    configs = list(configs or PARAM_COUNT_CONFIGS)
    return check_function(
        lambda c: _as_number(fn(c)),
        count_parameters_meta,
        [(c,) for c in configs],
        PARAM_COUNT_MISTAKES,
        messages=PARAM_COUNT_MESSAGES,
        name="Hàm đếm tham số của bạn",
        success=f"Chính xác! Số tham số khớp với `GPT(config)` cho cả {len(configs)} cấu hình kiểm tra.",
        describe=lambda args: (
            f"cấu hình n_layer={args[0].n_layer}, n_embd={args[0].n_embd}, vocab_size={args[0].vocab_size}, "
            f"block_size={args[0].block_size}"
        ),
    )


# ----------------------------------------------------------------------------------------------------------
# Splitting the fused Q, K, V weight (lessons 28-29)
# ----------------------------------------------------------------------------------------------------------

QKV_EMBED_SIZES: tuple[int, ...] = (6, 12, 48)


def _split_reference(w):
    C = w.size(1)
    return tuple(w.split(C, dim=0))  # c_attn is nn.Linear(C, 3C): weight (3C, C), rows [Q; K; V]


def _permuted(order):
    return lambda w: tuple(_split_reference(w)[i] for i in order)


QKV_SPLIT_MISTAKES: dict[str, list[Callable]] = {
    "wrong_axis": [lambda w: tuple(w.chunk(3, dim=1))],
    "transposed": [lambda w: tuple(m.T for m in _split_reference(w))],
    "wrong_order": [_permuted(p) for p in itertools.permutations(range(3)) if p != (0, 1, 2)],
}

QKV_SPLIT_MESSAGES: dict[str, str] = {
    "wrong_axis": (
        "Cắt theo sai trục: `c_attn.weight` có kích thước (3C, C) — ba ma trận Q, K, V xếp chồng theo hàng "
        "(trục 0), nên cắt bằng `weight.split(C, dim=0)`."
    ),
    "transposed": (
        "Các ma trận bị chuyển vị: `nn.Linear` lưu trọng số dạng (out, in) và tính `x @ W.T`, nên W_q là "
        "`weight[:C]`, không phải `weight[:C].T` (Conv1D của Hugging Face mới lưu dạng (in, out))."
    ),
    "wrong_order": "Sai thứ tự: `c_attn` xếp Q trước, rồi K, rồi V; hãy trả về (W_q, W_k, W_v) đúng thứ tự đó.",
}


def check_qkv_split(fn: Callable[[torch.Tensor], tuple]) -> CheckResult:
    """Check ``fn(weight) -> (W_q, W_k, W_v)`` where ``weight`` is a ``c_attn.weight`` (3C, C) and each W is (C, C).

    Recognised mistakes: the keys of ``QKV_SPLIT_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    g = torch.Generator().manual_seed(HIDDEN_SEED + 1)
    inputs = [(torch.randn(3 * C, C, generator=g),) for C in QKV_EMBED_SIZES]
    return check_function(
        fn,
        _split_reference,
        inputs,
        QKV_SPLIT_MISTAKES,
        messages=QKV_SPLIT_MESSAGES,
        name="Hàm tách Q, K, V của bạn",
        success="Chính xác! (W_q, W_k, W_v) được tách đúng trục, đúng thứ tự, mỗi ma trận (C, C).",
        describe=lambda args: f"weight kích thước {tuple(args[0].shape)}",
        atol=0.0,
        rtol=0.0,
    )


# ----------------------------------------------------------------------------------------------------------
# Parameters per component (lesson 27)
# ----------------------------------------------------------------------------------------------------------

COMPONENT_KEYS: tuple[str, ...] = (
    "embeddings",
    "attention_weights",
    "attention_biases",
    "mlp_weights",
    "mlp_biases",
    "layernorm",
)


@functools.lru_cache(maxsize=64)
def _component_counts_reference(config: GPTConfig) -> tuple[int, ...]:
    """The counts of ``analysis.count_parameters`` (meta device) grouped as ``COMPONENT_KEYS``."""
    from .analysis import count_parameters

    with _skip_normal_init():
        c = count_parameters(config)
    if c["lm_head"] or c["other"]:
        raise ValueError("check_component_counts expects a GPT-2 style config (tied head, bias=True).")
    return (
        c["token_embeddings"] + c["position_embeddings"],
        c["attention_weights"],
        c["attention_biases"],
        c["mlp_weights"],
        c["mlp_biases"],
        c["layernorm"],
    )


def _with_counts(c: GPTConfig, **changes) -> tuple[int, ...]:
    counts = dict(zip(COMPONENT_KEYS, _component_counts_reference(c), strict=True))
    for key, delta in changes.items():
        counts[key] += delta(c)
    return tuple(counts[k] for k in COMPONENT_KEYS)


COMPONENT_COUNT_MISTAKES: dict[str, list[Callable]] = {
    "embeddings_without_positions": [
        lambda c: _with_counts(c, embeddings=lambda c: -c.block_size * c.n_embd),
    ],
    "tied_head_counted_twice": [
        lambda c: _with_counts(c, embeddings=lambda c: c.vocab_size * c.n_embd),
    ],
    "layernorm_bias_as_attention_bias": [
        lambda c: _with_counts(  # β of ln_1 (the LayerNorm in front of attention) moved to attention
            c, attention_biases=lambda c: c.n_layer * c.n_embd, layernorm=lambda c: -c.n_layer * c.n_embd
        ),
        lambda c: _with_counts(  # every β moved to attention
            c,
            attention_biases=lambda c: (2 * c.n_layer + 1) * c.n_embd,
            layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd,
        ),
    ],
    "attention_without_output_projection": [
        lambda c: _with_counts(
            c,
            attention_weights=lambda c: -c.n_layer * c.n_embd**2,
            attention_biases=lambda c: -c.n_layer * c.n_embd,
        ),
        lambda c: _with_counts(c, attention_weights=lambda c: -c.n_layer * c.n_embd**2),
    ],
    "mlp_without_expansion": [
        lambda c: _with_counts(c, mlp_weights=lambda c: -6 * c.n_layer * c.n_embd**2),  # D -> D -> D
        lambda c: _with_counts(c, mlp_weights=lambda c: -4 * c.n_layer * c.n_embd**2),  # one 4D² matrix only
    ],
    "mlp_biases_wrong": [
        lambda c: _with_counts(c, mlp_biases=lambda c: -c.n_layer * c.n_embd),  # only c_fc's 4D
        lambda c: _with_counts(c, mlp_biases=lambda c: 3 * c.n_layer * c.n_embd),  # 4D + 4D
    ],
    "layernorm_missing_final_or_beta": [
        lambda c: _with_counts(c, layernorm=lambda c: -2 * c.n_embd),  # ln_f forgotten
        lambda c: _with_counts(c, layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd),  # γ only
        lambda c: _with_counts(c, layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd - c.n_embd),  # both
    ],
}

COMPONENT_COUNT_MESSAGES: dict[str, str] = {
    "embeddings_without_positions": (
        '"embeddings" thiếu position embedding: phần embedding gồm cả `wte` (V × D) lẫn `wpe` '
        "(block_size × D)."
    ),
    "tied_head_counted_twice": (
        '"embeddings" đếm ma trận V × D hai lần: với weight tying, `lm_head.weight` chính là `wte.weight`, '
        "chỉ được đếm một lần."
    ),
    "layernorm_bias_as_attention_bias": (
        "β của LayerNorm bị đếm vào bias của attention: bias của attention chỉ là bias của `c_attn` (3D) và "
        "`attn.c_proj` (D) trong mỗi block; γ và β của `ln_1`, `ln_2`, `ln_f` đều thuộc LayerNorm."
    ),
    "attention_without_output_projection": (
        "Attention thiếu phép chiếu đầu ra `attn.c_proj` (D × D trọng số, D bias): mỗi block có `c_attn` "
        "(D → 3D, gộp Q, K, V) và `c_proj` (D → D)."
    ),
    "mlp_without_expansion": (
        "Trọng số MLP sai: MLP có hai ma trận, `c_fc` (D → 4D) và `c_proj` (4D → D), tức 8D² mỗi block."
    ),
    "mlp_biases_wrong": (
        "Bias của MLP sai: `c_fc` có 4D bias, `c_proj` có D bias (kích thước đầu ra của mỗi lớp), tổng 5D "
        "mỗi block."
    ),
    "layernorm_missing_final_or_beta": (
        "LayerNorm thiếu tham số: có 2 LayerNorm mỗi block (`ln_1`, `ln_2`) cộng `ln_f` ở cuối, "
        "mỗi cái có γ và β (2D)."
    ),
}


def check_component_counts(
    fn: Callable[[GPTConfig], Mapping[str, int]], configs: Sequence[GPTConfig] | None = None
) -> CheckResult:
    """Check ``fn(config) -> dict`` of parameters per component of a GPT-2 style ``GPT(config)``.

    The dict has the keys of ``COMPONENT_KEYS``: ``"embeddings"`` (token + position), ``"attention_weights"``,
    ``"attention_biases"``, ``"mlp_weights"``, ``"mlp_biases"``, ``"layernorm"`` (γ and β); the reference is
    :func:`minigpt_lib.analysis.count_parameters` on the meta device. Hidden configs: those of
    :func:`check_param_count`. Recognised mistakes: the keys of ``COMPONENT_COUNT_MISTAKES``, ``"wrong_keys"``
    and the generic ones of :func:`check_function`.
    """
    configs = list(configs or PARAM_COUNT_CONFIGS)
    try:
        first = fn(configs[0])
    except NotImplementedError:
        raise  # the stub of an exercise: let the notebook stop here
    except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
        return CheckResult(False, f"Hàm của bạn gây lỗi `{type(err).__name__}: {err}`.", "exception")
    if not isinstance(first, Mapping):
        return CheckResult(
            False,
            f"Hàm cần trả về một dict (khóa: {', '.join(COMPONENT_KEYS)}), nhận được {type(first).__name__}.",
            "wrong_type",
        )
    if set(first) != set(COMPONENT_KEYS):
        missing = [k for k in COMPONENT_KEYS if k not in first]
        extra = [str(k) for k in first if k not in COMPONENT_KEYS]
        detail = "; ".join(
            part for part in (f"thiếu {missing}" if missing else "", f"thừa {extra}" if extra else "") if part
        )
        return CheckResult(
            False, f"Các khóa của dict chưa đúng ({detail}); cần đúng {list(COMPONENT_KEYS)}.", "wrong_keys"
        )

    def as_tuple(c):
        out = fn(c)
        return tuple(_as_number(out[k]) for k in COMPONENT_KEYS)

    def first_wrong(got, expected, args):
        wrong = [k for k, g, e in zip(COMPONENT_KEYS, got, expected, strict=True) if g != e]
        return f"Các thành phần sai: {', '.join(repr(k) for k in wrong)}." if wrong else None

    return check_function(
        as_tuple,
        _component_counts_reference,
        [(c,) for c in configs],
        COMPONENT_COUNT_MISTAKES,
        messages=COMPONENT_COUNT_MESSAGES,
        name="Hàm đếm theo thành phần của bạn",
        success=(
            f"Chính xác! Cả {len(COMPONENT_KEYS)} thành phần khớp với `analysis.count_parameters` "
            f"cho {len(configs)} cấu hình kiểm tra."
        ),
        describe=lambda args: (
            f"cấu hình n_layer={args[0].n_layer}, n_embd={args[0].n_embd}, vocab_size={args[0].vocab_size}, "
            f"block_size={args[0].block_size}"
        ),
        diagnose=first_wrong,
        atol=0.0,
        rtol=0.0,
    )


# ----------------------------------------------------------------------------------------------------------
# Replacing the query weights with noise (lesson 29)
# ----------------------------------------------------------------------------------------------------------

ABLATION_CONFIG = GPTConfig(vocab_size=64, block_size=16, n_layer=3, n_head=2, n_embd=64)
# (mean, std) of the hidden model's Q, K, V rows and biases: all different, so that noise drawn with the wrong
# statistics (standard normal, or those of the whole fused weight) cannot pass.
_ABLATION_STATS = {
    "weight": ((0.1, 0.3), (-0.05, 0.15), (0.0, 0.6)),
    "bias": ((-0.2, 0.05), (0.1, 0.1), (0.0, 0.2)),
}

QUERY_ABLATION_MESSAGES: dict[str, str] = {
    "modified_original_model": (
        "Mô hình gốc đã bị sửa: hãy tạo bản sao bằng `copy.deepcopy(model)`, thay Q trên bản sao và trả về bản sao; "
        "mô hình gốc phải giữ nguyên để còn so sánh."
    ),
    "returned_original": "Hàm trả về chính mô hình gốc (không đổi gì): hãy trả về bản sao đã thay Q bằng nhiễu.",
    "not_a_model": "Hàm phải trả về mô hình (bản sao `GPT` đã thay Q), không phải {got}.",
    "nothing_changed": "Không tham số nào thay đổi: các hàng Q `c_attn.weight[:C]` và `c_attn.bias[:C]` phải được thay bằng nhiễu.",
    "ablated_keys_instead": (
        "Bạn đã thay các hàng của K (`[C:2C]`) chứ không phải Q: trong `c_attn` (kích thước (3C, C)) Q là các hàng `[:C]`."
    ),
    "ablated_values_instead": (
        "Bạn đã thay các hàng của V (`[2C:3C]`) chứ không phải Q: trong `c_attn` (kích thước (3C, C)) Q là các hàng `[:C]`."
    ),
    "changed_keys_or_values": (
        "Q đã được thay, nhưng các hàng của K hoặc V cũng bị đổi: chỉ thay `c_attn.weight[:C]` (hàng, trục 0) và "
        "`c_attn.bias[:C]`. Lưu ý `weight[:, :C]` là mọi hàng (cả Q, K, V), vì ma trận chỉ có C cột."
    ),
    "wrong_block": "Sai block: chỉ thay Q của `model.transformer.h[block]`, block được truyền vào (không cố định block 0).",
    "changed_other_parameters": "Các tham số khác cũng bị đổi ({names}): chỉ được thay Q (trọng số và bias) của block đã chọn.",
    "forgot_bias": (
        "Trọng số Q đã được thay nhưng bias của Q (`c_attn.bias[:C]`) vẫn như cũ: query là W_q x + b_q, "
        "nên cũng phải thay b_q bằng nhiễu (với mean và std của chính b_q)."
    ),
    "statistics_of_fused_weight": (
        "Nhiễu có mean và std của cả `c_attn` (Q, K, V gộp lại), không phải của riêng Q: hãy tính `.mean()` và "
        "`.std()` trên các hàng `[:C]` (và riêng trên `bias[:C]`)."
    ),
    "wrong_statistics": (
        "Nhiễu của {what} không có cùng mean và std với {what} cũ (cũ: mean {m:.3g}, std {s:.3g}; mới: mean {nm:.3g}, "
        "std {ns:.3g}). Dùng `torch.randn(shape, generator=generator) * old.std() + old.mean()`, "
        "không dùng nhiễu chuẩn N(0, 1)."
    ),
    "not_reproducible": (
        "Hai lần gọi với cùng seed cho nhiễu khác nhau: hãy rút nhiễu bằng `generator` được truyền vào "
        "(`torch.randn(..., generator=generator)`), để kết quả lặp lại được."
    ),
}


def _ablation_model() -> GPT:
    """The hidden model: small, with Q, K, V rows and biases of known, distinct statistics (global RNG untouched)."""
    g = torch.Generator().manual_seed(HIDDEN_SEED + 29)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(HIDDEN_SEED + 29)
        model = GPT(ABLATION_CONFIG).eval()
    C = ABLATION_CONFIG.n_embd
    with torch.no_grad():
        for block in model.transformer.h:
            for name, stats in _ABLATION_STATS.items():
                p = getattr(block.attn.c_attn, name)
                for i, (mean, std) in enumerate(stats):
                    part = p[i * C : (i + 1) * C]
                    part.copy_(torch.randn(part.shape, generator=g) * std + mean)
    return model


def _ablation_fail(key: str, **fields) -> CheckResult:
    return CheckResult(False, QUERY_ABLATION_MESSAGES[key].format(**fields), key)


def _stats_close(new: torch.Tensor, mean: float, std: float, n: int) -> bool:
    """Mean and std of ``new`` within 5 standard errors of (mean, std) for a sample of n values."""
    nm, ns = new.mean().item(), new.std().item()
    return abs(nm - mean) <= 5 * std / math.sqrt(n) and abs(ns / std - 1) <= 5 / math.sqrt(2 * n) + 0.01


def check_query_ablation(fn: Callable) -> CheckResult:
    """Check ``fn(model, block, generator) -> ablated copy`` (lesson 29).

    On a hidden small GPT, for two blocks: the original model is unchanged; a different ``GPT`` comes back in which
    exactly the query rows ``c_attn.weight[:C]`` and ``c_attn.bias[:C]`` of ``block`` changed, each to values with
    the old mean and std (within 5 standard errors); the same seed gives the same noise.
    Recognised mistakes: the keys of ``QUERY_ABLATION_MESSAGES`` plus ``"exception"``.
    A ``NotImplementedError`` from ``fn`` (an exercise's stub) is re-raised.
    """
    C = ABLATION_CONFIG.n_embd
    for block in (0, ABLATION_CONFIG.n_layer - 1):  # the last block too: a hard-coded block 0 does not pass
        model = _ablation_model()
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        seed = HIDDEN_SEED + 100 + block
        results = []
        for _ in range(2):
            try:
                results.append(fn(model, block, torch.Generator().manual_seed(seed)))
            except NotImplementedError:
                raise
            except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
                return CheckResult(
                    False,
                    f"Hàm của bạn gây lỗi `{type(err).__name__}: {err}` với block = {block}.",
                    "exception",
                )
            if any(not torch.equal(v, before[k]) for k, v in model.state_dict().items()):
                return _ablation_fail("modified_original_model")
        out = results[0]
        if out is model:
            return _ablation_fail("returned_original")
        if not isinstance(out, GPT):
            return _ablation_fail("not_a_model", got=type(out).__name__)
        after = {k: v.detach() for k, v in out.state_dict().items()}
        w_key = f"transformer.h.{block}.attn.c_attn.weight"
        b_key = f"transformer.h.{block}.attn.c_attn.bias"
        w, w0 = after[w_key], before[w_key]
        changed = [not torch.equal(w[i * C : (i + 1) * C], w0[i * C : (i + 1) * C]) for i in range(3)]
        others = [k for k in before if k not in (w_key, b_key) and not torch.equal(after[k], before[k])]
        other_attn = [k for k in others if k.endswith("attn.c_attn.weight") or k.endswith("attn.c_attn.bias")]
        if not changed[0]:
            if changed[1]:
                return _ablation_fail("ablated_keys_instead")
            if changed[2]:
                return _ablation_fail("ablated_values_instead")
            return _ablation_fail("wrong_block" if other_attn else "nothing_changed")
        if changed[1] or changed[2]:
            return _ablation_fail("changed_keys_or_values")
        if other_attn:
            return _ablation_fail("wrong_block")
        if others:
            return _ablation_fail("changed_other_parameters", names=", ".join(others[:3]))
        b, b0 = after[b_key], before[b_key]
        if torch.equal(b[:C], b0[:C]):
            return _ablation_fail("forgot_bias")
        if not torch.equal(b[C:], b0[C:]):
            return _ablation_fail("changed_keys_or_values")
        for what, new, old, fused in (("W_q", w[:C], w0[:C], w0), ("b_q", b[:C], b0[:C], b0)):
            m, s = old.mean().item(), old.std().item()
            if not _stats_close(new, m, s, new.numel()):
                if _stats_close(new, fused.mean().item(), fused.std().item(), new.numel()):
                    return _ablation_fail("statistics_of_fused_weight")
                return _ablation_fail(
                    "wrong_statistics", what=what, m=m, s=s, nm=new.mean().item(), ns=new.std().item()
                )
        again = results[1].state_dict()
        if not (torch.equal(again[w_key], w) and torch.equal(again[b_key], b)):
            return _ablation_fail("not_reproducible")
    return CheckResult(
        True,
        "Chính xác! Chỉ các hàng Q (trọng số và bias) của đúng block được thay bằng nhiễu cùng mean và std, "
        "K, V và mọi tham số khác giữ nguyên, mô hình gốc không bị sửa, và cùng seed cho cùng nhiễu.",
    )


# ----------------------------------------------------------------------------------------------------------
# Timing a forward pass (lesson 22)
# ----------------------------------------------------------------------------------------------------------

# The hidden fake models sleep on a known schedule: the first call is slow (start-up), then 10, 20, 90 ms repeat, so
# any 3 or 7 consecutive calls after the first have a median of 20 ms, while their mean (36-47 ms), their min (10 ms)
# and a median that includes the first call differ from it by large factors.
TIME_FIRST_CALL_S = 0.1
TIME_SCHEDULE_S: tuple[float, ...] = (0.01, 0.02, 0.09)
TIME_REPEATS_CUDA = 3  # neither is 5 (the default): a hard-coded range(5) cannot pass
TIME_REPEATS_CPU = 7

TIME_GPT2_MESSAGES: dict[str, str] = {
    "no_warmup": (
        "Thiếu warm-up: forward được gọi đúng `repeats` lần ({calls} lần với repeats = {repeats}), nên lần gọi đầu "
        "(chậm, lúc khởi động) bị tính vào. Hãy gọi `model(idx)` ít nhất một lần không đo, rồi mới đo `repeats` lần."
    ),
    "no_synchronize": (
        "Thiếu synchronize quanh lần đo trên GPU: {detail} Trên GPU CUDA, `model(idx)` trả về ngay khi kernel vừa được "
        "xếp hàng; hãy gọi `mg.device.synchronize(device)` ngay trước khi bấm giờ và ngay sau khi `model(idx)` trả về, "
        "rồi mới đọc `time.perf_counter()`."
    ),
    "synchronize_on_cpu": (
        "Với `device` là CPU, hàm vẫn gọi `torch.cuda.synchronize`: trên máy không có GPU CUDA lời gọi ấy báo lỗi. "
        "Hãy dùng `mg.device.synchronize(device)`: nó chỉ gọi `torch.cuda.synchronize` khi `device.type == 'cuda'`."
    ),
    "mean_not_median": (
        "Kết quả {got_ms:.1f} ms là trung bình cộng các lần đo (≈ {mean_ms:.1f} ms), không phải trung vị "
        "(≈ {median_ms:.1f} ms): dùng `statistics.median(times)`, vì trung vị không bị một lần đo chậm bất thường kéo lệch."
    ),
    "min_not_median": (
        "Kết quả {got_ms:.1f} ms là lần đo nhanh nhất (≈ {min_ms:.1f} ms), không phải trung vị (≈ {median_ms:.1f} ms): "
        "dùng `statistics.median(times)`."
    ),
    "grad_enabled": (
        "Forward chạy khi gradient đang bật: hãy đặt cả warm-up lẫn các lần đo trong `with torch.no_grad():` "
        "(hoặc `torch.inference_mode()`), nếu không PyTorch giữ lại mọi kết quả trung gian cho backward."
    ),
    "wrong_repeats": (
        "Số lần gọi forward không khớp với `repeats`: với repeats = {r1} forward được gọi {n1} lần, với repeats = {r2} "
        "được gọi {n2} lần. Cần một số lần warm-up cố định (ít nhất 1) cộng đúng `repeats` lần đo: dùng "
        "`range(repeats)`, đừng viết cứng số lần."
    ),
    "not_a_number": (
        "Hàm phải trả về một số thực hữu hạn (số giây, vd. `statistics.median(times)`), nhận được {got}."
    ),
    "wrong_values": "Kết quả {got_ms:.3g} ms, trong khi trung vị đúng là ≈ {median_ms:.1f} ms.{hint}",
}


class _FakeTimedModel(torch.nn.Module):
    """A hidden "model" that sleeps on a schedule and records every call and its grad mode.

    On the fake CUDA device the forward only queues its work and returns at once, like a GPU; the fake
    ``torch.cuda.synchronize`` then sleeps until the queued work is done. On the CPU the forward sleeps itself.
    ``durations`` holds the measured length of each call's work (not the scheduled one), so that a learner's result
    is compared with what the sleeps really took, on however loaded a machine.
    """

    def __init__(self, log: list[str], asynchronous: bool):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.log, self.asynchronous = log, asynchronous
        self.grad_enabled: list[bool] = []
        self.durations: list[float] = []
        self.pending: list[int] = []  # calls queued on the fake GPU, not yet waited for

    @property
    def calls(self) -> int:
        return len(self.durations)

    def _scheduled(self, i: int) -> float:
        return TIME_FIRST_CALL_S if i == 0 else TIME_SCHEDULE_S[(i - 1) % len(TIME_SCHEDULE_S)]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        i = self.calls
        self.grad_enabled.append(torch.is_grad_enabled())
        self.log.append("forward")
        self.durations.append(self._scheduled(i))
        if self.asynchronous:
            self.pending.append(i)
        else:
            start = time.perf_counter()
            time.sleep(self._scheduled(i))
            self.durations[i] = time.perf_counter() - start
        return idx.float()

    def synchronize(self, *args, **kwargs) -> None:
        self.log.append("sync")
        if not self.asynchronous or not self.pending:
            return
        planned = sum(self.durations[i] for i in self.pending)
        start = time.perf_counter()
        time.sleep(planned)
        slept = time.perf_counter() - start
        for i in self.pending:  # share the real wait among the queued calls
            self.durations[i] *= slept / planned
        self.pending.clear()


@dataclass
class _TimingRun:
    device: str
    repeats: int
    model: _FakeTimedModel
    log: list[str]
    result: object = None
    error: BaseException | None = None


def _timing_run(fn: Callable, device: str, repeats: int) -> _TimingRun:
    """Run ``fn`` on a fresh fake model with ``torch.cuda.synchronize`` and ``is_available`` replaced (and restored)."""
    log: list[str] = []
    model = _FakeTimedModel(log, asynchronous=device == "cuda")
    run = _TimingRun(device, repeats, model, log)
    real_sync, real_available = torch.cuda.synchronize, torch.cuda.is_available
    try:
        torch.cuda.synchronize = model.synchronize  # a CUDA machine (fake GPU) and a machine without CUDA
        torch.cuda.is_available = lambda: device == "cuda"
        run.result = fn(model, torch.zeros(1, 4, dtype=torch.long), torch.device(device), repeats=repeats)
    except NotImplementedError:
        raise  # the stub of an exercise: let the notebook stop here
    except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
        run.error = err
    finally:
        torch.cuda.synchronize, torch.cuda.is_available = real_sync, real_available
    return run


def _log_ratio(a: float, b: float) -> float:
    return abs(math.log(max(a, 1e-9) / max(b, 1e-9)))


def _time_fail(key: str, **fields) -> CheckResult:
    return CheckResult(False, TIME_GPT2_MESSAGES[key].format(**fields), key)


def check_time_gpt2(fn: Callable) -> CheckResult:
    """Check ``fn(model, idx, device, repeats=5) -> float``, the median seconds of a forward pass (lesson 22).

    ``fn`` runs twice on hidden fake models that sleep on a known schedule: on a fake CUDA device (``repeats=3``;
    the forward returns at once and a replaced ``torch.cuda.synchronize`` waits for its work, like a real GPU) and
    on the CPU (``repeats=7``, as on a machine without CUDA: ``torch.cuda.synchronize`` must not be called).
    The real ``torch.cuda.synchronize`` and ``torch.cuda.is_available`` are restored afterwards.
    Recognised mistakes: the keys of ``TIME_GPT2_MESSAGES`` plus ``"exception"``.
    A ``NotImplementedError`` from ``fn`` (an exercise's stub) is re-raised.
    """
    runs = [_timing_run(fn, "cuda", TIME_REPEATS_CUDA), _timing_run(fn, "cpu", TIME_REPEATS_CPU)]
    for run in runs:
        if run.error is not None:
            hint = (
                " (thiết bị `cuda` ở đây là giả: `model` và `idx` đã nằm sẵn trên thiết bị, đừng chuyển chúng "
                "hay tạo tensor mới trên `device`)"
                if run.device == "cuda"
                else ""
            )
            return CheckResult(
                False,
                f"Hàm của bạn gây lỗi `{type(run.error).__name__}: {run.error}` khi đo một mô hình giả trên "
                f"`{run.device}` với repeats = {run.repeats}{hint}.",
                "exception",
            )
    for run in runs:
        r = run.result
        if not _is_number(r) or not math.isfinite(float(r)) or float(r) < 0:
            got = f"{type(r).__name__} {r!r}" if _is_number(r) else type(r).__name__
            if isinstance(r, torch.Tensor):
                got += " (dùng `.item()` hay `statistics.median` trên một list số thực)"
            return _time_fail("not_a_number", got=got)
    if any(any(run.model.grad_enabled) for run in runs):
        return _time_fail("grad_enabled")
    cuda, cpu = runs
    if "sync" in cpu.log:
        return _time_fail("synchronize_on_cpu")

    warmups = [run.model.calls - run.repeats for run in runs]
    if all(w == 0 for w in warmups):
        return _time_fail("no_warmup", calls=cuda.model.calls, repeats=cuda.repeats)
    consistent = warmups[0] == warmups[1] or warmups == [run.repeats for run in runs]  # fixed, or = repeats
    if min(warmups) < 1 or not consistent:
        return _time_fail(
            "wrong_repeats", r1=cuda.repeats, n1=cuda.model.calls, r2=cpu.repeats, n2=cpu.model.calls
        )

    forwards = [i for i, entry in enumerate(cuda.log) if entry == "forward"]
    for i in forwards[-cuda.repeats :]:
        before = i > 0 and cuda.log[i - 1] == "sync"
        after = i + 1 < len(cuda.log) and cuda.log[i + 1] == "sync"
        if not (before and after):
            if "sync" not in cuda.log:
                detail = "với `device` là GPU CUDA, hàm không gọi synchronize lần nào."
            else:
                missing = " và ".join(w for w, ok in (("trước", before), ("sau", after)) if not ok)
                detail = f"có lần đo không được synchronize ngay {missing} `model(idx)`."
            return _time_fail("no_synchronize", detail=detail)

    for run in runs:
        d = run.model.durations
        timed = d[-run.repeats :]
        median = statistics.median(timed)
        got = float(run.result)
        if run.device == "cuda" and got < 0.5 * min(timed):
            return _time_fail(
                "no_synchronize",
                detail=(
                    f"kết quả {got * 1e3:.3g} ms ngắn hơn hẳn thời gian GPU chạy (≈ {median * 1e3:.0f} ms): "
                    "đồng hồ dừng trước khi synchronize chờ GPU xong."
                ),
            )
        candidates = [("ok", median)] + [
            (key, value)
            for key, value in (
                ("mean_not_median", statistics.mean(timed)),
                ("min_not_median", min(timed)),
                ("no_warmup", statistics.median(d)),  # the warm-up call was timed too
            )
            if _log_ratio(value, median) > math.log(1.5)  # only mistakes that the schedule tells apart
        ]
        distance = functools.partial(_log_ratio, got)
        key, value = min(candidates, key=lambda kv: distance(kv[1]))
        if key == "ok":
            continue
        fields = dict(
            got_ms=got * 1e3,
            median_ms=median * 1e3,
            mean_ms=statistics.mean(timed) * 1e3,
            min_ms=min(timed) * 1e3,
        )
        if distance(value) < math.log(1.3):
            if key == "no_warmup":
                return CheckResult(
                    False,
                    f"Kết quả {got * 1e3:.1f} ms (trung vị đúng ≈ {median * 1e3:.1f} ms): lần gọi warm-up (chậm) "
                    "cũng bị tính vào. Chỉ đo `repeats` lần gọi sau warm-up.",
                    "no_warmup",
                )
            return _time_fail(key, **fields)
        hint = ""
        if 300 < got / median < 3000:
            hint = " Hàm phải trả về số giây, không phải mili giây."
        return _time_fail("wrong_values", hint=hint, **fields)
    return CheckResult(
        True,
        "Chính xác! Trên hai mô hình giả (GPU CUDA giả và CPU), hàm chạy trong `no_grad`, warm-up trước khi đo, "
        "đo đúng `repeats` lần, synchronize quanh mỗi lần đo trên GPU (và không gọi `torch.cuda.synchronize` trên "
        "CPU), và trả về trung vị.",
    )
