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
from .sampling import sample_next, top_k_filter, top_p_filter

__all__ = [
    "CheckResult",
    "check_function",
    "check_causal_attention",
    "check_param_count",
    "check_qkv_split",
    "check_component_counts",
    "check_query_ablation",
    "check_time_gpt2",
    "check_linear_as_embedding",
    "check_gelu_tanh_grad",
    "check_temperature_for_entropy",
    "check_sample_by_cdf",
    "check_sample_token",
    "check_stable_log_softmax",
    "check_layer_norm_module",
    "check_model2_num_params",
    "check_window_average_matrix",
    "check_recency_weights",
    "check_soft_lookup",
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


# ----------------------------------------------------------------------------------------------------------
# Helpers shared by the checkers of lessons 03-13
# ----------------------------------------------------------------------------------------------------------


def _hidden_generator(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(HIDDEN_SEED + offset)


def _fail(messages: Mapping[str, str], key: str, **fields) -> CheckResult:
    return CheckResult(False, messages[key].format(**fields), key)


# ----------------------------------------------------------------------------------------------------------
# Lesson 03: nn.Linear on one-hot vectors as an nn.Embedding
# ----------------------------------------------------------------------------------------------------------

LINEAR_AS_EMBEDDING_SHAPES: tuple[tuple[int, int, bool], ...] = ((50, 8, False), (50, 8, True), (7, 12, True))

LINEAR_AS_EMBEDDING_MESSAGES: dict[str, str] = {
    "not_embedding": (
        "Hàm phải trả về một `nn.Embedding`, nhận được {got}. Dùng "
        "`nn.Embedding.from_pretrained(weight, freeze=False)` với `weight` kích thước (V, C)."
    ),
    "no_transpose": (
        "Thiếu phép chuyển vị: `linear.weight` của `nn.Linear(V, C)` có kích thước (C, V), còn bảng embedding cần "
        "(V, C) — hàng i là ảnh của vector one-hot e_i. Hãy dùng `linear.weight.T`."
    ),
    "ignores_bias": (
        "Bỏ quên bias: `linear(e_i) = e_iᵀ Wᵀ + b`, nên khi lớp có bias thì mọi hàng của bảng embedding phải cộng "
        "thêm b: `weight = linear.weight.T + linear.bias` (khi `linear.bias` không phải None)."
    ),
}


def _hidden_linears() -> list[tuple[torch.nn.Linear]]:
    out = []
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws its init from the global RNG: keep it unmoved
        torch.manual_seed(HIDDEN_SEED)
        for V, C, bias in LINEAR_AS_EMBEDDING_SHAPES:
            lin = torch.nn.Linear(V, C, bias=bias)
            if bias:
                with torch.no_grad():
                    lin.bias.normal_()
            out.append((lin,))
    return out


def _reference_linear_as_embedding(linear):
    weight = linear.weight.detach().T.clone()
    if linear.bias is not None:
        weight = weight + linear.bias.detach()
    return weight


def _embedding_table(fn: Callable) -> Callable:
    """Run ``fn(linear)`` and read its table as ``embedding(arange(V))`` (what the embedding really returns)."""

    def table(linear):
        emb = fn(linear)
        if not isinstance(emb, torch.nn.Embedding):
            raise TypeError(f"cần nn.Embedding, nhận {type(emb).__name__}")
        with torch.no_grad():
            return emb(torch.arange(emb.num_embeddings))

    return table


LINEAR_AS_EMBEDDING_MISTAKES: dict[str, list[Callable]] = {
    "no_transpose": [lambda lin: lin.weight.detach().clone()],
    "ignores_bias": [lambda lin: lin.weight.detach().T.clone()],
}


def check_linear_as_embedding(fn: Callable) -> CheckResult:
    """Check ``fn(linear: nn.Linear(V, C)) -> nn.Embedding(V, C)`` equal to ``linear`` on one-hot vectors (lesson 03).

    Recognised mistakes: the keys of ``LINEAR_AS_EMBEDDING_MESSAGES`` plus the generic ones of :func:`check_function`.
    """
    inputs = _hidden_linears()
    first = fn(inputs[0][0])  # NotImplementedError from a stub passes through
    if not isinstance(first, torch.nn.Embedding):
        return _fail(LINEAR_AS_EMBEDDING_MESSAGES, "not_embedding", got=type(first).__name__)
    as_table = {k: [_embedding_table(lambda lin, f=f: torch.nn.Embedding.from_pretrained(f(lin))) for f in fs]
                for k, fs in LINEAR_AS_EMBEDDING_MISTAKES.items()}
    return check_function(
        _embedding_table(fn),
        _reference_linear_as_embedding,
        inputs,
        as_table,
        messages=LINEAR_AS_EMBEDDING_MESSAGES,
        name="Hàm linear_as_embedding",
        success=(
            f"Chính xác! Trên {len(inputs)} lớp nn.Linear ẩn (có và không có bias), embedding của bạn cho đúng "
            "kết quả của linear trên mọi vector one-hot."
        ),
        describe=lambda args: (
            f"nn.Linear({args[0].in_features}, {args[0].out_features}, bias={args[0].bias is not None})"
        ),
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 04: the analytic derivative of GELU (tanh approximation)
# ----------------------------------------------------------------------------------------------------------

_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_u(x):
    return _GELU_C * (x + 0.044715 * x**3)


def _reference_gelu_tanh_grad(x):
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        F.gelu(x, approximate="tanh").sum().backward()
    return x.grad


GELU_GRAD_MISTAKES: dict[str, list[Callable]] = {
    "no_product_rule": [lambda x: 0.5 * (1 + torch.tanh(_gelu_u(x)))],
    "constant_du_dx": [
        lambda x: 0.5 * (1 + torch.tanh(_gelu_u(x))) + 0.5 * x * (1 - torch.tanh(_gelu_u(x)) ** 2) * _GELU_C
    ],
    "no_tanh_derivative": [
        lambda x: 0.5 * (1 + torch.tanh(_gelu_u(x))) + 0.5 * x * _GELU_C * (1 + 3 * 0.044715 * x**2)
    ],
    "exact_gelu_derivative": [
        lambda x: 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    ],
}

GELU_GRAD_MESSAGES: dict[str, str] = {
    "no_product_rule": "Thiếu một số hạng của quy tắc nhân: đạo hàm của ½x(1 + t) là ½(1 + t) + ½x·dt/dx.",
    "constant_du_dx": "du/dx chưa đúng: u = √(2/π)(x + 0.044715x³) nên du/dx = √(2/π)(1 + 3·0.044715x²).",
    "no_tanh_derivative": "Thiếu đạo hàm của tanh: d tanh(u)/du = 1 − tanh²(u), nên dt/dx = (1 − t²)·du/dx.",
    "exact_gelu_derivative": (
        "Đây là đạo hàm của GELU chính xác (dùng erf, Φ(x) + xφ(x)), không phải của bản xấp xỉ tanh: hãy lấy đạo "
        "hàm của ½x(1 + tanh(u)) với u = √(2/π)(x + 0.044715x³)."
    ),
}


def check_gelu_tanh_grad(fn: Callable) -> CheckResult:
    """Check ``fn(x) -> dGELU_tanh/dx`` against autograd of ``F.gelu(x, approximate="tanh")`` (lesson 04).

    Recognised mistakes: the keys of ``GELU_GRAD_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = [
        (torch.linspace(-8, 8, 2001, dtype=torch.float64),),
        (torch.tensor([[-3.0, -0.5, 0.0], [0.7, 1.5, 10.0]], dtype=torch.float64),),
        (torch.randn(4, 7, generator=_hidden_generator(4), dtype=torch.float64) * 3,),
    ]
    return check_function(
        fn,
        _reference_gelu_tanh_grad,
        inputs,
        GELU_GRAD_MISTAKES,
        messages=GELU_GRAD_MESSAGES,
        name="Hàm gelu_tanh_grad",
        success="Chính xác! Đạo hàm của bạn khớp với autograd của `F.gelu(x, approximate='tanh')` trên mọi đầu vào.",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 05: the temperature that gives a target entropy
# ----------------------------------------------------------------------------------------------------------


def _entropy_nats(probs: torch.Tensor) -> float:
    return float(-torch.special.xlogy(probs, probs).sum(-1))


def _bisect_log_t(h: Callable[[float], float], target: float, inverted: bool = False) -> float:
    lo, hi = math.log(1e-3), math.log(1e4)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (h(math.exp(mid)) < target) != inverted:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def _reference_temperature(logits, target):
    z = logits.double()
    return _bisect_log_t(lambda t: _entropy_nats(F.softmax(z / t, dim=-1)), target)


TEMPERATURE_MISTAKES: dict[str, list[Callable]] = {
    "multiplies_instead_of_divides": [
        lambda z, target: 1.0 / _reference_temperature(z, target),  # softmax(z * T) has the target entropy
    ],
    "search_inverted": [
        lambda z, target: _bisect_log_t(
            lambda t: _entropy_nats(F.softmax(z.double() / t, dim=-1)), target, inverted=True
        )
    ],
    "entropy_in_bits": [
        lambda z, target: _bisect_log_t(
            lambda t: _entropy_nats(F.softmax(z.double() / t, dim=-1)) / math.log(2), target
        )
    ],
    "returns_log_t": [lambda z, target: math.log(_reference_temperature(z, target))],
}

TEMPERATURE_MESSAGES: dict[str, str] = {
    "not_a_float": (
        "Hàm phải trả về một số thực Python dương (kiểu float), nhận được {got}. Nếu bạn có một tensor một phần tử, "
        "dùng `.item()`; nếu tính trên log T, trả về `math.exp(...)`."
    ),
    "multiplies_instead_of_divides": (
        "Temperature bị nhân thay vì chia: phân phối là softmax(logits / T). Bạn đang tìm T cho softmax(logits · T), "
        "nên kết quả là nghịch đảo 1/T của đáp án đúng."
    ),
    "search_inverted": (
        "Chiều chia đôi bị đảo: entropy TĂNG theo T, nên khi entropy còn nhỏ hơn target phải tăng T "
        "(dời cận dưới `lo = mid`), ngược lại dời cận trên. Kết quả của bạn dính vào một đầu mút của khoảng tìm kiếm."
    ),
    "entropy_in_bits": (
        "Entropy bị tính theo bit (log cơ số 2): target tính bằng nat, nên dùng log tự nhiên, `torch.log`, "
        "H = −Σ p ln p."
    ),
    "returns_log_t": (
        "Hàm trả về log T thay vì T: nếu chia đôi trên log T thì kết quả cuối là `math.exp(...)` của điểm giữa."
    ),
}


def check_temperature_for_entropy(fn: Callable) -> CheckResult:
    """Check ``fn(logits, target) -> T`` (a float) with entropy(softmax(logits / T)) = target ± 1e-6 (lesson 05).

    Outputs are compared through the entropy they give, so any T that reaches the target passes.
    Recognised mistakes: the keys of ``TEMPERATURE_MESSAGES`` plus the generic ones of :func:`check_function`.
    """
    g = _hidden_generator(5)
    z1, z2 = torch.randn(20, generator=g) * 2, torch.randn(50, generator=g) * 3
    inputs = [(z1, 0.2), (z1, 1.0), (z1, 2.0), (z2, 0.5), (z2, 3.0)]
    first = fn(*inputs[1])  # NotImplementedError from a stub passes through
    got = f"{type(first).__name__} {first!r}" if _is_number(first) else type(first).__name__
    if isinstance(first, torch.Tensor):
        got = f"một tensor {tuple(first.shape)}"
    if not isinstance(first, float):
        return _fail(TEMPERATURE_MESSAGES, "not_a_float", got=got)

    def via_entropy(f):
        def h(logits, target):
            t = float(f(logits, target))
            return _entropy_nats(F.softmax(logits.double() / t, dim=-1))

        return h

    result = check_function(
        via_entropy(fn),
        lambda logits, target: target,
        inputs,
        {k: [via_entropy(v) for v in vs] for k, vs in TEMPERATURE_MISTAKES.items()},
        messages=TEMPERATURE_MESSAGES,
        name="Hàm temperature_for_entropy",
        success=(
            f"Chính xác! Với {len(inputs)} cặp (logits, target) ẩn, temperature của bạn cho entropy đúng target "
            "(sai lệch dưới 1e-6 nat)."
        ),
        describe=lambda args: f"logits {tuple(args[0].shape)}, target = {args[1]} (kết quả so qua entropy nó cho)",
        atol=1e-6,
        rtol=0.0,
    )
    if not result.passed and result.mistake not in TEMPERATURE_MISTAKES and not first > 0:
        return _fail(TEMPERATURE_MESSAGES, "not_a_float", got=got)
    return result


# ----------------------------------------------------------------------------------------------------------
# Lesson 06: sampling by the inverse CDF
# ----------------------------------------------------------------------------------------------------------

CDF_SAMPLES = 20000

SAMPLE_BY_CDF_MESSAGES: dict[str, str] = {
    "uses_multinomial": (
        "Hàm gọi `torch.multinomial`: bài tập yêu cầu tự lấy mẫu bằng hàm phân phối tích lũy — `torch.cumsum`, "
        "chia cho tổng, `torch.rand(..., generator=generator)` rồi `torch.searchsorted(cdf, u, right=True)`."
    ),
    "not_a_tensor": "Hàm phải trả về một tensor int64 kích thước (num_samples,), nhận được {got}.",
    "wrong_shape_or_dtype": (
        "Kết quả phải là tensor int64 kích thước ({n},), nhận được {dtype} kích thước {shape}. "
        "`torch.searchsorted` trả về int64 sẵn; đừng thêm chiều (vd. `u` phải có kích thước (num_samples,))."
    ),
    "not_normalized": (
        "Hàm phân phối tích lũy chưa được chuẩn hóa: u ∈ [0, 1) nên phải chia `cumsum(weights)` cho tổng trọng số "
        "(`cdf / cdf[-1]`), để F_V = 1. Thiếu bước này, với trọng số cộng lại khác 1 các hạng mục sau bị chọn sai tần suất."
    ),
    "off_by_one": (
        "Chỉ số lệch một: tần suất của bạn khớp với p nhưng dịch đi một vị trí. Chỉ số cần trả về là i NHỎ NHẤT có "
        "F_i > u, chính là `torch.searchsorted(cdf, u, right=True)` — không cộng hay trừ 1."
    ),
    "ignores_generator": (
        "Hàm không dùng `generator`: hai lần gọi với cùng generator vừa đặt seed cho kết quả khác nhau. "
        "Hãy truyền nó vào `torch.rand(num_samples, generator=generator, ...)`."
    ),
    "out_of_range": "Có chỉ số nằm ngoài 0..V-1 (thấy giá trị {bad}) với trọng số {w}.",
    "zero_weight_chosen": (
        "Hạng mục có trọng số 0 bị chọn (chỉ số {i}, trọng số {w}). Với `right=True`, chỉ số i có F_i = F_(i-1) "
        "không bao giờ là chỉ số nhỏ nhất có F_i > u."
    ),
    "wrong_frequencies": (
        "Tần suất lấy mẫu lệch khỏi trọng số {w}: chi² = {chi2:.1f} với {df} bậc tự do (ngưỡng {crit:.1f}). "
        "Kiểm tra công thức F_i = Σ_(j≤i) w_j / Σ_j w_j và `searchsorted(..., right=True)`."
    ),
}


def _cdf_weight_sets() -> list[torch.Tensor]:
    g = _hidden_generator(6)
    w1 = torch.rand(12, generator=g) * 3
    w1[[0, 5, 11]] = 0.0  # zero weights at the start, in the middle, at the end
    return [w1, torch.tensor([2.0, 0.0, 6.0, 0.0]), torch.tensor([0.1, 0.05, 0.15, 0.2])]


def _interval_probs(edges: torch.Tensor) -> torch.Tensor:
    """P(first index with edge_i > u) for u ~ U[0, 1): lengths of [edge_(i-1), edge_i) ∩ [0, 1), plus P(index V)."""
    e = torch.cat([torch.zeros(1, dtype=torch.float64), edges.double().clamp(0, 1)])
    return torch.cat([e[1:] - e[:-1], (1 - e[-1:]).clamp_min(0)])


def _cdf_candidates(w: torch.Tensor) -> dict[str, torch.Tensor]:
    """Distributions over indices -1..V (V + 2 bins) of the right sampler and of each mistaken one."""
    V = w.numel()
    right = _interval_probs(torch.cumsum(w.double(), 0) / w.double().sum())  # indices 0..V

    def place(probs, shift):
        out = torch.zeros(V + 2, dtype=torch.float64)
        out[1 + shift : 1 + shift + probs.numel()] = probs
        return out

    return {
        "ok": place(right, 0),
        "not_normalized": place(_interval_probs(torch.cumsum(w.double(), 0)), 0),
        "off_by_one": place(right[:V], 1),
        "off_by_one_down": place(right[:V], -1),
    }


def _chi2_ok(counts: torch.Tensor, probs: torch.Tensor, n: int) -> tuple[bool, float, int, float]:
    if (counts[probs == 0] > 0).any():
        return False, math.inf, 0, 0.0
    keep = probs > 0
    expected = probs[keep] * n
    chi2 = float(((counts[keep] - expected) ** 2 / expected).sum())
    df = max(int(keep.sum()) - 1, 1)
    crit = df + 5 * math.sqrt(2 * df) + 5  # far in the tail: a right sampler fails with negligible probability
    return chi2 < crit, chi2, df, crit


def check_sample_by_cdf(fn: Callable) -> CheckResult:
    """Check ``fn(weights, num_samples, generator) -> int64 (num_samples,)``, sampling with replacement (lesson 06).

    Statistical: hidden weights (with zeros, not summing to 1), 20 000 draws each, a chi² test of the frequencies;
    ``torch.multinomial`` is replaced for the check to see whether it is called; the global RNG is left unmoved.
    Recognised mistakes: the keys of ``SAMPLE_BY_CDF_MESSAGES`` plus ``"exception"``.
    """
    called: list[str] = []
    real_fn, real_method = torch.multinomial, torch.Tensor.multinomial

    def spy_fn(*args, **kwargs):
        called.append("multinomial")
        return real_fn(*args, **kwargs)

    def spy_method(self, *args, **kwargs):
        called.append("multinomial")
        return real_method(self, *args, **kwargs)

    weights = _cdf_weight_sets()
    outs: list[object] = []
    with torch.random.fork_rng(devices=[]):
        torch.multinomial, torch.Tensor.multinomial = spy_fn, spy_method
        try:
            for i, w in enumerate(weights):
                try:
                    outs.append(fn(w.clone(), CDF_SAMPLES, _hidden_generator(60 + i)))
                except NotImplementedError:
                    raise
                except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
                    return CheckResult(
                        False,
                        f"Hàm sample_by_cdf gây lỗi `{type(err).__name__}: {err}` với trọng số {w.tolist()} "
                        f"và num_samples = {CDF_SAMPLES}.",
                        "exception",
                    )
            torch.manual_seed(HIDDEN_SEED + 1)
            r1 = fn(weights[0].clone(), 50, _hidden_generator(9))
            torch.manual_seed(HIDDEN_SEED + 2)
            r2 = fn(weights[0].clone(), 50, _hidden_generator(9))
        finally:
            torch.multinomial, torch.Tensor.multinomial = real_fn, real_method
    if called:
        return _fail(SAMPLE_BY_CDF_MESSAGES, "uses_multinomial")
    for s in outs:
        if not isinstance(s, torch.Tensor):
            return _fail(SAMPLE_BY_CDF_MESSAGES, "not_a_tensor", got=type(s).__name__)
        if s.dtype != torch.int64 or tuple(s.shape) != (CDF_SAMPLES,):
            return _fail(
                SAMPLE_BY_CDF_MESSAGES, "wrong_shape_or_dtype", n=CDF_SAMPLES, dtype=s.dtype, shape=tuple(s.shape)
            )
    for w, s in zip(weights, outs, strict=True):
        V = w.numel()
        counts = torch.bincount((s.cpu().clamp(-1, V) + 1), minlength=V + 2).double()
        candidates = _cdf_candidates(w)
        if _chi2_ok(counts, candidates["ok"], CDF_SAMPLES)[0]:
            continue
        for key in ("not_normalized", "off_by_one", "off_by_one_down"):
            if _chi2_ok(counts, candidates[key], CDF_SAMPLES)[0]:
                return _fail(SAMPLE_BY_CDF_MESSAGES, key.removesuffix("_down"))
        wl = [round(x, 3) for x in w.tolist()]
        if (s < 0).any() or (s >= V).any():
            bad = int(s[(s < 0) | (s >= V)][0])
            return _fail(SAMPLE_BY_CDF_MESSAGES, "out_of_range", bad=bad, w=wl)
        zero = [i for i in range(V) if w[i] == 0 and counts[i + 1] > 0]
        if zero:
            return _fail(SAMPLE_BY_CDF_MESSAGES, "zero_weight_chosen", i=zero[0], w=wl)
        _, chi2, df, crit = _chi2_ok(counts, candidates["ok"], CDF_SAMPLES)
        return _fail(SAMPLE_BY_CDF_MESSAGES, "wrong_frequencies", w=wl, chi2=chi2, df=df, crit=crit)
    if not (isinstance(r1, torch.Tensor) and isinstance(r2, torch.Tensor) and torch.equal(r1, r2)):
        return _fail(SAMPLE_BY_CDF_MESSAGES, "ignores_generator")
    return CheckResult(
        True,
        f"Chính xác! Trên {len(weights)} bộ trọng số ẩn ({CDF_SAMPLES:,} mẫu mỗi bộ) tần suất khớp với trọng số "
        "(kiểm định chi²), hạng mục trọng số 0 không bao giờ bị chọn, và cùng generator cho cùng kết quả.",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 07: one sampling step (temperature -> top-k -> top-p -> multinomial)
# ----------------------------------------------------------------------------------------------------------

SAMPLE_TOKEN_CONFIGS: tuple[dict, ...] = (
    dict(temperature=0.0),
    dict(temperature=1.0),
    dict(temperature=0.7, top_k=5),
    dict(temperature=1.3, top_p=0.8),
    dict(temperature=1.0, top_k=10, top_p=0.5),
    dict(temperature=0.5, top_k=3, top_p=0.9),
)


def _sample_with(f: Callable) -> Callable:
    """``(logits, config, seed) -> f(logits, generator=seeded, **config)``, the global RNG set to ANOTHER seed."""

    def run(logits, config, seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1000)  # a sampler that ignores `generator` draws different tokens
            return f(logits, generator=torch.Generator().manual_seed(seed), **dict(config))

    return run


def _sampler(order: str = "kp", multiply: bool = False, greedy: bool = True, use_generator: bool = True):
    def sample(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
        if greedy and temperature == 0:
            return logits.argmax(dim=-1, keepdim=True)
        logits = logits * temperature if multiply else logits / temperature
        for step in order:
            if step == "k" and top_k is not None:
                logits = top_k_filter(logits, top_k)
            if step == "p" and top_p is not None:
                logits = top_p_filter(logits, top_p)
        probs = F.softmax(logits, dim=-1)
        return torch.multinomial(probs, num_samples=1, generator=generator if use_generator else None)

    return sample


SAMPLE_TOKEN_MISTAKES: dict[str, list[Callable]] = {
    "greedy_not_handled": [_sample_with(_sampler(greedy=False))],
    "multiplies_instead_of_divides": [_sample_with(_sampler(multiply=True))],
    "top_p_before_top_k": [_sample_with(_sampler(order="pk"))],
    "ignores_generator": [_sample_with(_sampler(use_generator=False))],
}

SAMPLE_TOKEN_MESSAGES: dict[str, str] = {
    "greedy_not_handled": (
        "Chưa xử lý temperature = 0: chia logits cho 0 cho ra ±inf/NaN. Khi `temperature == 0` hãy trả về ngay "
        "`logits.argmax(dim=-1, keepdim=True)` (greedy), không lấy mẫu."
    ),
    "multiplies_instead_of_divides": (
        "Temperature bị nhân thay vì chia: phải là `logits / temperature` (T < 1 làm phân phối nhọn hơn, T > 1 làm "
        "nó phẳng hơn); nhân thì tác dụng ngược lại."
    ),
    "top_p_before_top_k": (
        "Sai thứ tự lọc: phải lọc top-k trước, rồi top-p trên phân phối ĐÃ lọc top-k (như `mg.sample_next`)."
    ),
    "ignores_generator": (
        "Không dùng `generator`: hãy truyền nó vào `torch.multinomial(probs, num_samples=1, generator=generator)`, "
        "nếu không kết quả phụ thuộc RNG toàn cục và không tái lập được."
    ),
}


def check_sample_token(fn: Callable) -> CheckResult:
    """Check ``fn(logits, temperature, top_k, top_p, generator) -> (B, 1)`` against ``mg.sample_next`` (lesson 07).

    Same tokens for the same seed on hidden logits, for several configurations (greedy included).
    Recognised mistakes: the keys of ``SAMPLE_TOKEN_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    logits = torch.randn(32, 50, generator=_hidden_generator(7)) * 2
    inputs = [(logits, tuple(cfg.items()), seed) for cfg in SAMPLE_TOKEN_CONFIGS for seed in (0, 1)]
    return check_function(
        _sample_with(fn),
        _sample_with(sample_next),
        inputs,
        SAMPLE_TOKEN_MISTAKES,
        messages=SAMPLE_TOKEN_MESSAGES,
        name="Hàm sample_token",
        success=(
            f"Chính xác! Với {len(SAMPLE_TOKEN_CONFIGS)} cấu hình (kể cả greedy) và cùng seed, hàm của bạn rút đúng "
            "những token như `mg.sample_next`."
        ),
        describe=lambda args: f"logits {tuple(args[0].shape)}, {dict(args[1])}, generator seed {args[2]}",
        atol=0,
        rtol=0,
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 08: a numerically stable log-softmax
# ----------------------------------------------------------------------------------------------------------


def _log_softmax_inputs() -> list[tuple[torch.Tensor]]:
    g = _hidden_generator(8)
    masked = torch.randn(8, 20, generator=g)
    masked = masked.masked_fill(torch.rand(8, 20, generator=g) < 0.5, float("-inf"))
    masked[:, 3] = 0.5  # every row keeps a finite value
    return [
        (torch.randn(8, 20, generator=g),),
        (torch.randn(20, generator=g),),  # a single row (1-D)
        (torch.randn(8, 20, generator=g) + 1000,),
        (torch.randn(6, 20, generator=g) - 1000,),
        (torch.randn(8, 20, generator=g) * 500,),
        (masked,),
        (torch.randn(3, 4, 20, generator=g) * 2,),
    ]


def _lsm_no_max(x):
    return x - torch.log(torch.exp(x).sum(dim=-1, keepdim=True))


def _lsm_axis0(x):
    m = x.max(dim=0, keepdim=True).values
    return x - m - torch.log(torch.exp(x - m).sum(dim=0, keepdim=True))


def _lsm_global_max(x):
    m = x.max()
    return x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))


def _lsm_softmax_then_log(x):
    m = x.max(dim=-1, keepdim=True).values
    e = torch.exp(x - m)
    return torch.log(e / e.sum(dim=-1, keepdim=True))


def _lsm_forgot_log(x):
    m = x.max(dim=-1, keepdim=True).values
    return x - m - torch.exp(x - m).sum(dim=-1, keepdim=True)


LOG_SOFTMAX_MISTAKES: dict[str, list[Callable]] = {
    "no_max_subtraction": [_lsm_no_max],
    "wrong_axis": [_lsm_axis0],
    "global_max": [_lsm_global_max],
    "log_of_softmax": [_lsm_softmax_then_log],
    "forgot_log": [_lsm_forgot_log],
}

LOG_SOFTMAX_MESSAGES: dict[str, str] = {
    "no_max_subtraction": (
        "Chưa trừ giá trị lớn nhất: với logits ≈ 1000, `torch.exp(x)` tràn thành inf (còn với ≈ −1000 thì bằng 0, "
        "log 0 = −inf), kết quả thành NaN/inf. Hãy tính m = max theo hàng (`keepdim=True`), rồi "
        "(x − m) − log Σ exp(x − m)."
    ),
    "wrong_axis": (
        "Sai trục: log-softmax tính theo chiều cuối (mỗi hàng là một phân phối), nên max và tổng dùng `dim=-1`, "
        "`keepdim=True`, không phải `dim=0`."
    ),
    "global_max": (
        "Trừ max của CẢ tensor thay vì max của từng hàng: với các hàng có thang giá trị rất khác nhau, "
        "exp(x − m) của hàng nhỏ underflow về 0 và log cho −inf. Dùng `x.max(dim=-1, keepdim=True).values`."
    ),
    "log_of_softmax": (
        "Tính softmax rồi mới lấy log: xác suất rất nhỏ underflow về 0 và log 0 = −inf. Hãy trừ ngay trong miền "
        "log: (x − m) − log Σ exp(x − m), không chia rồi lấy log."
    ),
    "forgot_log": "Thiếu log của tổng: phải trừ log Σ exp(x − m), không trừ chính tổng Σ exp(x − m).",
}


def check_stable_log_softmax(fn: Callable) -> CheckResult:
    """Check ``fn(x) -> log softmax(x, dim=-1)`` against ``F.log_softmax``, with logits ±1000 and −inf (lesson 08).

    Recognised mistakes: the keys of ``LOG_SOFTMAX_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = _log_softmax_inputs()
    return check_function(
        fn,
        lambda x: F.log_softmax(x, dim=-1),
        inputs,
        LOG_SOFTMAX_MISTAKES,
        messages=LOG_SOFTMAX_MESSAGES,
        name="Hàm stable_log_softmax",
        success=(
            f"Chính xác! stable_log_softmax khớp với `F.log_softmax` trên {len(inputs)} đầu vào ẩn, kể cả logits "
            "±1000, phạm vi rộng và hàng có −inf."
        ),
        describe=lambda args: (
            f"tensor kích thước {tuple(args[0].shape)}, giá trị hữu hạn trong "
            f"[{args[0][args[0].isfinite()].min().item():.3g}, {args[0][args[0].isfinite()].max().item():.3g}]"
            + (", có −inf" if torch.isinf(args[0]).any() else "")
        ),
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 09: LayerNorm as an nn.Module
# ----------------------------------------------------------------------------------------------------------

LAYERNORM_FEATURES = 48

LAYERNORM_MESSAGES: dict[str, str] = {
    "wrong_parameters": (
        "Mô-đun cần đúng hai tham số học được tên `weight` và `bias`, mỗi cái kích thước ({n},), tạo bằng "
        "`nn.Parameter` trong `__init__`; nhận được {got}."
    ),
    "wrong_init": "γ (`weight`) phải khởi tạo bằng 1 (`torch.ones`) và β (`bias`) bằng 0 (`torch.zeros`).",
    "unbiased_variance": (
        "Dùng phương sai không lệch (chia cho D − 1): LayerNorm chia cho D, nên dùng "
        "`x.var(dim=-1, keepdim=True, unbiased=False)` (hoặc `((x - mean) ** 2).mean(dim=-1, keepdim=True)`)."
    ),
    "eps_outside_sqrt": (
        "eps bị cộng ngoài căn: công thức là (x − μ) / √(σ² + eps), không phải (x − μ) / (√σ² + eps). "
        "Khác biệt lộ rõ khi các đặc trưng của một token gần bằng nhau (σ² nhỏ)."
    ),
    "no_eps": (
        "Thiếu eps: với một token có mọi đặc trưng bằng nhau, σ² = 0 và phép chia cho NaN. "
        "Hãy chia cho `torch.sqrt(var + self.eps)`."
    ),
    "no_affine": (
        "Chưa áp dụng γ và β: sau khi chuẩn hóa phải nhân với `self.weight` và cộng `self.bias` "
        "(kiểm tra dùng γ, β ngẫu nhiên nên khác biệt lộ ra)."
    ),
    "wrong_axis": (
        "Chuẩn hóa theo sai trục: mean và phương sai tính trên các đặc trưng của TỪNG token, tức chiều cuối "
        "(`dim=-1, keepdim=True`)."
    ),
}


class _LNBase(torch.nn.Module):
    def __init__(self, n_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(n_features))
        self.bias = torch.nn.Parameter(torch.zeros(n_features))

    def normalize(self, x):
        raise NotImplementedError  # pragma: no cover

    def forward(self, x):
        return self.weight * self.normalize(x) + self.bias


class _LNUnbiased(_LNBase):
    def normalize(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + self.eps)


class _LNEpsOutside(_LNBase):
    def normalize(self, x):
        return (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False).sqrt() + self.eps)


class _LNNoEps(_LNBase):
    def normalize(self, x):
        return (x - x.mean(-1, keepdim=True)) / x.var(-1, keepdim=True, unbiased=False).sqrt()


class _LNNoAffine(_LNBase):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps)


class _LNAxis0(_LNBase):
    def normalize(self, x):
        return (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + self.eps)


LAYERNORM_MISTAKES: dict[str, Callable] = {
    "unbiased_variance": _LNUnbiased,
    "eps_outside_sqrt": _LNEpsOutside,
    "no_eps": _LNNoEps,
    "no_affine": _LNNoAffine,
    "wrong_axis": _LNAxis0,
}


def _layernorm_run(cls: Callable) -> Callable:
    """``(x, weight, bias) -> cls(D)(x)`` with γ, β loaded by ``load_state_dict`` (as in the lesson)."""

    def run(x, weight, bias):
        module = cls(x.size(-1))
        module.load_state_dict({"weight": weight, "bias": bias}, strict=False)
        with torch.no_grad():
            return module(x)

    return run


def check_layer_norm_module(cls: Callable) -> CheckResult:
    """Check a class ``cls(n_features, eps=1e-5)`` that behaves like ``nn.LayerNorm`` (lesson 09).

    Parameters named ``weight`` (ones) and ``bias`` (zeros); outputs equal ``F.layer_norm`` on hidden inputs with
    random γ, β, including tokens whose features are all equal or nearly so.
    Recognised mistakes: the keys of ``LAYERNORM_MESSAGES`` plus the generic ones of :func:`check_function`.
    """
    D = LAYERNORM_FEATURES
    module = cls(D)  # NotImplementedError from a stub passes through
    params = dict(module.named_parameters())
    if set(params) != {"weight", "bias"} or any(tuple(p.shape) != (D,) for p in params.values()):
        got = ", ".join(f"{k} {tuple(p.shape)}" for k, p in params.items()) or "không có tham số nào"
        return _fail(LAYERNORM_MESSAGES, "wrong_parameters", n=D, got=got)
    if not (torch.equal(params["weight"].detach(), torch.ones(D)) and torch.equal(params["bias"].detach(), torch.zeros(D))):
        return _fail(LAYERNORM_MESSAGES, "wrong_init")
    g = _hidden_generator(9)
    inputs = []
    for x in (
        torch.randn(3, 10, D, generator=g) * 4 + 2,
        torch.randn(5, D, generator=g) * 1e-3,  # nearly constant tokens: σ² ≪ eps
        torch.full((2, D), 3.0),  # constant tokens: σ² = 0
        torch.randn(2, 3, 4, D, generator=g),
    ):
        inputs.append((x, torch.randn(D, generator=g), torch.randn(D, generator=g)))
    return check_function(
        _layernorm_run(cls),
        lambda x, w, b: F.layer_norm(x, (x.size(-1),), w, b, eps=1e-5),
        inputs,
        {k: _layernorm_run(v) for k, v in LAYERNORM_MISTAKES.items()},
        messages=LAYERNORM_MESSAGES,
        name="MyLayerNorm",
        success=(
            f"Chính xác! Mô-đun của bạn có đúng tham số `weight`, `bias` và cho cùng đầu ra như `nn.LayerNorm` "
            f"trên {len(inputs)} đầu vào ẩn với γ, β ngẫu nhiên (kể cả token có mọi đặc trưng bằng nhau)."
        ),
        describe=lambda args: f"x kích thước {tuple(args[0].shape)}, γ và β ngẫu nhiên",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 10: the parameter count of Model 2
# ----------------------------------------------------------------------------------------------------------


def _model2_params(V, d, L, tied=True):
    return V * d + L * d + 2 * d + (0 if tied else V * d)


MODEL2_PARAMS_MISTAKES: dict[str, list[Callable]] = {
    "unembedding_always_counted": [lambda V, d, L, tied: _model2_params(V, d, L, False)],
    "unembedding_never_counted": [lambda V, d, L, tied: _model2_params(V, d, L, True)],
    "missing_layernorm": [lambda V, d, L, tied: _model2_params(V, d, L, tied) - 2 * d],
    "layernorm_gamma_only": [lambda V, d, L, tied: _model2_params(V, d, L, tied) - d],
    "missing_position_embeddings": [lambda V, d, L, tied: _model2_params(V, d, L, tied) - L * d],
}

MODEL2_PARAMS_MESSAGES: dict[str, str] = {
    "unembedding_always_counted": (
        "Ma trận unembedding V × d bị đếm cả khi `tied=True`: khi buộc trọng số, đầu ra dùng lại chính ma trận "
        "token embedding, nên chỉ cộng V·d thêm một lần khi `tied=False`."
    ),
    "unembedding_never_counted": (
        "Thiếu ma trận unembedding khi `tied=False`: lúc đó mô hình có một ma trận riêng V × d, cộng thêm V·d."
    ),
    "missing_layernorm": "Thiếu tham số LayerNorm: γ và β, mỗi cái d phần tử, tổng cộng 2d.",
    "layernorm_gamma_only": "LayerNorm có HAI vector tham số, γ và β (mỗi cái d phần tử): cộng 2d, không phải d.",
    "missing_position_embeddings": "Thiếu position embedding: bảng vị trí có block_size × d tham số.",
}


def check_model2_num_params(fn: Callable) -> CheckResult:
    """Check ``fn(vocab_size, n_embd, block_size, tied) -> int``, the parameter count of Model 2 (lesson 10).

    Recognised mistakes: the keys of ``MODEL2_PARAMS_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    sizes = [(50257, 64, 32), (65, 128, 256), (3, 48, 11), (1000, 24, 7)]
    inputs = [(V, d, L, tied) for V, d, L in sizes for tied in (True, False)]
    return check_function(
        lambda V, d, L, tied: _as_number(fn(V, d, L, tied)),
        _model2_params,
        inputs,
        MODEL2_PARAMS_MISTAKES,
        messages=MODEL2_PARAMS_MESSAGES,
        name="Hàm model2_num_params",
        success=f"Chính xác! Công thức của bạn cho đúng số tham số của Model 2 trong cả {len(inputs)} trường hợp.",
        describe=lambda a: f"vocab_size={a[0]}, n_embd={a[1]}, block_size={a[2]}, tied={a[3]}",
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


WINDOW_MISTAKES: dict[str, list[Callable]] = {
    "window_off_by_one": [
        lambda T, w: _rows_normalized(_band(T, 0, w)),  # w + 1 tokens
        lambda T, w: _rows_normalized(_band(T, 0, w - 2)),  # w - 1 tokens (NaN rows when w = 1)
    ],
    "divides_by_w": [lambda T, w: _band(T, 0, w - 1) / w],
    "not_normalized": [lambda T, w: _band(T, 0, w - 1)],
    "looks_at_future": [lambda T, w: _rows_normalized(_band(T, 0, w - 1)).T.contiguous()],
}

WINDOW_MESSAGES: dict[str, str] = {
    "window_off_by_one": (
        "Cửa sổ lệch một: hàng i phải gồm đúng các vị trí i − w + 1 .. i (tối đa w token, kể cả chính nó). "
        "Dải 1 là `torch.tril(ones) - torch.tril(ones, diagonal=-w)` — kiểm tra lại `diagonal`."
    ),
    "divides_by_w": (
        "Mọi hàng bị chia cho w: ở đầu chuỗi (i + 1 < w) cửa sổ chỉ có i + 1 token, nên phải chia cho số phần tử "
        "thực có của hàng, `band.sum(dim=1, keepdim=True)`, để mỗi hàng cộng lại bằng 1."
    ),
    "not_normalized": "Chưa chuẩn hóa: dải 0/1 phải được chia cho tổng từng hàng để thành trung bình (hàng cộng lại bằng 1).",
    "looks_at_future": (
        "Ma trận nhìn tương lai: phần khác 0 phải nằm ở dưới đường chéo (j ≤ i, `torch.tril`), còn của bạn nằm ở "
        "phía trên (ma trận bị chuyển vị hoặc dùng `triu`)."
    ),
}


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
        messages=WINDOW_MESSAGES,
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


RECENCY_MISTAKES: dict[str, list[Callable]] = {
    "sign_flipped": [_recency_sign_flipped],
    "mask_after_softmax": [_recency_mask_after],
    "softmax_wrong_axis": [_recency_axis0],
    "mask_future": [_recency_no_mask, _recency_zero_mask],
}

RECENCY_MESSAGES: dict[str, str] = {
    "sign_flipped": (
        "Sai dấu: điểm số là −λ(i − j), càng xa (i − j lớn) điểm càng thấp. Với dấu +, trọng số dồn về token xa nhất "
        "thay vì token gần nhất."
    ),
    "mask_after_softmax": (
        "Mặt nạ áp sau softmax: softmax đã chia cho tổng tính cả tương lai, nên đặt về 0 sau đó làm hàng không còn "
        "cộng lại bằng 1. Điền −∞ vào điểm số (`masked_fill(j > i, float('-inf'))`) TRƯỚC softmax."
    ),
    "softmax_wrong_axis": "Softmax theo sai trục: mỗi hàng i là một phân phối trên các j, nên dùng `F.softmax(scores, dim=-1)`.",
    "mask_future": (
        "Tương lai chưa bị che (hoặc che bằng 0 thay vì −∞): `exp(0) = 1` vẫn cho trọng số dương. Hãy điền "
        "`float('-inf')` vào các ô j > i trước softmax."
    ),
}


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
        messages=RECENCY_MESSAGES,
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


SOFT_LOOKUP_MISTAKES: dict[str, list[Callable]] = {
    "no_scaling": [_lookup(lambda d, n: 1.0)],
    "wrong_scale": [_lookup(lambda d, n: float(d)), _lookup(lambda d, n: math.sqrt(n))],
    "wrong_return_order": [_lookup(lambda d, n: math.sqrt(d), swap=True)],
    "returns_scores": [
        lambda q, k, v: (F.softmax(k @ q / math.sqrt(q.size(-1)), dim=-1) @ v, k @ q / math.sqrt(q.size(-1)))
    ],
}

SOFT_LOOKUP_MESSAGES: dict[str, str] = {
    "no_scaling": "Thiếu hệ số 1/√d: điểm số là `keys @ query / math.sqrt(d)` với d = `query.size(-1)`, trước softmax.",
    "wrong_scale": (
        "Hệ số tỉ lệ sai: chia điểm số cho √d với d là số chiều của query/key (`query.size(-1)`), "
        "không chia cho d, cũng không cho √N (số key)."
    ),
    "wrong_return_order": "Thứ tự trả về bị đảo: hàm trả về `(output, weights)` — output (d_v,) trước, weights (N,) sau.",
    "returns_scores": (
        "Phần tử thứ hai phải là trọng số SAU softmax (cộng lại bằng 1), không phải điểm số `keys @ query / √d`."
    ),
}


def check_soft_lookup(fn: Callable) -> CheckResult:
    """Check ``fn(query (d,), keys (N, d), values (N, dv)) -> (output (dv,), weights (N,))`` (lesson 13).

    Recognised mistakes: the keys of ``SOFT_LOOKUP_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    g = _hidden_generator(13)
    inputs = [
        (torch.randn(d, generator=g), torch.randn(n, d, generator=g), torch.randn(n, dv, generator=g))
        for n, d, dv in [(4, 16, 1), (7, 8, 5), (1, 3, 2), (6, 9, 6), (5, 5, 3)]
    ]
    return check_function(
        lambda q, k, v: (lambda out: tuple(out) if isinstance(out, list) else out)(fn(q, k, v)),
        _lookup(lambda d, n: math.sqrt(d)),
        inputs,
        SOFT_LOOKUP_MISTAKES,
        messages=SOFT_LOOKUP_MESSAGES,
        name="Hàm soft_lookup",
        success=(
            f"Chính xác! soft_lookup trả về đúng (output, weights) trên {len(inputs)} bộ query, keys, values ẩn "
            "(kể cả N = 1)."
        ),
        describe=lambda a: f"query {tuple(a[0].shape)}, keys {tuple(a[1].shape)}, values {tuple(a[2].shape)}",
    )
