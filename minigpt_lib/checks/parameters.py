"""Checkers of parameter counts: lessons 10 (Model 2), 26 (GPT-2), 27 (per component)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence

import torch

from ..config import GPTConfig
from ..models import GPT
from .engine import (
    CheckResult,
    Mistake,
    Mistakes,
    as_number,
    check_function,
    checker,
    error_result,
    run_learner,
)

# ----------------------------------------------------------------------------------------------------------
# Lesson 10: the parameter count of Model 2
# ----------------------------------------------------------------------------------------------------------


def _model2_params(V, d, L, tied=True):
    return V * d + L * d + 2 * d + (0 if tied else V * d)


MODEL2_PARAMS_MISTAKES = Mistakes(
    Mistake(
        "unembedding_always_counted",
        "Ma trận unembedding V × d bị đếm cả khi `tied=True`: khi buộc trọng số, đầu ra dùng lại chính ma trận "
        "token embedding, nên chỉ cộng V·d thêm một lần khi `tied=False`.",
        (lambda V, d, L, tied: _model2_params(V, d, L, False),),
    ),
    Mistake(
        "unembedding_never_counted",
        "Thiếu ma trận unembedding khi `tied=False`: lúc đó mô hình có một ma trận riêng V × d, cộng thêm V·d.",
        (lambda V, d, L, tied: _model2_params(V, d, L, True),),
    ),
    Mistake(
        "missing_layernorm",
        "Thiếu tham số LayerNorm: γ và β, mỗi cái d phần tử, tổng cộng 2d.",
        (lambda V, d, L, tied: _model2_params(V, d, L, tied) - 2 * d,),
    ),
    Mistake(
        "layernorm_gamma_only",
        "LayerNorm có HAI vector tham số, γ và β (mỗi cái d phần tử): cộng 2d, không phải d.",
        (lambda V, d, L, tied: _model2_params(V, d, L, tied) - d,),
    ),
    Mistake(
        "missing_position_embeddings",
        "Thiếu position embedding: bảng vị trí có block_size × d tham số.",
        (lambda V, d, L, tied: _model2_params(V, d, L, tied) - L * d,),
    ),
)


@checker(lesson=10, mistakes=MODEL2_PARAMS_MISTAKES)
def check_model2_num_params(fn: Callable) -> CheckResult:
    """Check ``fn(vocab_size, n_embd, block_size, tied) -> int``, the parameter count of Model 2 (lesson 10).

    Recognised mistakes: the keys of ``MODEL2_PARAMS_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    sizes = [(50257, 64, 32), (65, 128, 256), (3, 48, 11), (1000, 24, 7)]
    inputs = [(V, d, L, tied) for V, d, L in sizes for tied in (True, False)]
    return check_function(
        lambda V, d, L, tied: as_number(fn(V, d, L, tied)),
        _model2_params,
        inputs,
        MODEL2_PARAMS_MISTAKES,
        name="Hàm model2_num_params",
        success=f"Chính xác! Công thức của bạn cho đúng số tham số của Model 2 trong cả {len(inputs)} trường hợp.",
        describe=lambda a: f"vocab_size={a[0]}, n_embd={a[1]}, block_size={a[2]}, tied={a[3]}",
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


PARAM_COUNT_MISTAKES = Mistakes(
    Mistake(
        "tied_head_counted_twice",
        "Đầu ra (`lm_head`) bị đếm hai lần: với weight tying, `lm_head.weight` chính là ma trận embedding token "
        "(V × C), chỉ được đếm một lần.",
        (lambda c: count_parameters_meta(c) + (c.vocab_size * c.n_embd if c.tie_weights else 0),),
    ),
    Mistake(
        "missing_biases",
        "Thiếu các bias: mỗi block có bias của `c_attn` (3C), `attn.c_proj` (C), `mlp.c_fc` (4C), `mlp.c_proj` (C), "
        "và mỗi LayerNorm có β (C).",
        (
            lambda c: count_parameters_meta(c) - _linear_biases(c),
            lambda c: (
                count_parameters_meta(c) - _linear_biases(c) - (_layernorm_params(c) // 2 if c.bias else 0)
            ),
        ),
    ),
    Mistake(
        "missing_layernorm",
        "Thiếu tham số LayerNorm: mỗi block có hai LayerNorm (`ln_1`, `ln_2`), cộng thêm `ln_f` ở cuối; "
        "mỗi LayerNorm có γ và β, 2C tham số.",
        (
            lambda c: count_parameters_meta(c) - _layernorm_params(c),
            lambda c: count_parameters_meta(c) - _layernorm_params(c, n=1),  # the final ln_f forgotten
        ),
    ),
    Mistake(
        "missing_position_embeddings",
        "Thiếu position embedding: `wpe` có `block_size × n_embd` tham số (1024 × 768 với GPT-2 small).",
        (lambda c: count_parameters_meta(c) - c.block_size * c.n_embd,),
    ),
)


@checker(lesson=26, mistakes=PARAM_COUNT_MISTAKES)
def check_param_count(
    fn: Callable[[GPTConfig], int], configs: Sequence[GPTConfig] | None = None
) -> CheckResult:
    """Check ``fn(config) -> int`` against the parameter count of ``GPT(config)`` (built on the meta device).

    Hidden configs: the four GPT-2 sizes, the nano sorter and a small random one (or ``configs`` if given).
    Recognised mistakes: the keys of ``PARAM_COUNT_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    configs = list(configs or PARAM_COUNT_CONFIGS)
    return check_function(
        lambda c: as_number(fn(c)),
        count_parameters_meta,
        [(c,) for c in configs],
        PARAM_COUNT_MISTAKES,
        name="Hàm đếm tham số của bạn",
        success=f"Chính xác! Số tham số khớp với `GPT(config)` cho cả {len(configs)} cấu hình kiểm tra.",
        describe=lambda args: (
            f"cấu hình n_layer={args[0].n_layer}, n_embd={args[0].n_embd}, vocab_size={args[0].vocab_size}, "
            f"block_size={args[0].block_size}"
        ),
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
    from ..analysis import count_parameters

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


COMPONENT_COUNT_MISTAKES = Mistakes(
    Mistake("wrong_keys", "Các khóa của dict chưa đúng ({detail}); cần đúng {keys}."),
    Mistake(
        "embeddings_without_positions",
        '"embeddings" thiếu position embedding: phần embedding gồm cả `wte` (V × D) lẫn `wpe` '
        "(block_size × D).",
        (lambda c: _with_counts(c, embeddings=lambda c: -c.block_size * c.n_embd),),
    ),
    Mistake(
        "tied_head_counted_twice",
        '"embeddings" đếm ma trận V × D hai lần: với weight tying, `lm_head.weight` chính là `wte.weight`, '
        "chỉ được đếm một lần.",
        (lambda c: _with_counts(c, embeddings=lambda c: c.vocab_size * c.n_embd),),
    ),
    Mistake(
        "layernorm_bias_as_attention_bias",
        "β của LayerNorm bị đếm vào bias của attention: bias của attention chỉ là bias của `c_attn` (3D) và "
        "`attn.c_proj` (D) trong mỗi block; γ và β của `ln_1`, `ln_2`, `ln_f` đều thuộc LayerNorm.",
        (
            lambda c: _with_counts(  # β of ln_1 (the LayerNorm in front of attention) moved to attention
                c, attention_biases=lambda c: c.n_layer * c.n_embd, layernorm=lambda c: -c.n_layer * c.n_embd
            ),
            lambda c: _with_counts(  # every β moved to attention
                c,
                attention_biases=lambda c: (2 * c.n_layer + 1) * c.n_embd,
                layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd,
            ),
        ),
    ),
    Mistake(
        "attention_without_output_projection",
        "Attention thiếu phép chiếu đầu ra `attn.c_proj` (D × D trọng số, D bias): mỗi block có `c_attn` "
        "(D → 3D, gộp Q, K, V) và `c_proj` (D → D).",
        (
            lambda c: _with_counts(
                c,
                attention_weights=lambda c: -c.n_layer * c.n_embd**2,
                attention_biases=lambda c: -c.n_layer * c.n_embd,
            ),
            lambda c: _with_counts(c, attention_weights=lambda c: -c.n_layer * c.n_embd**2),
        ),
    ),
    Mistake(
        "mlp_without_expansion",
        "Trọng số MLP sai: MLP có hai ma trận, `c_fc` (D → 4D) và `c_proj` (4D → D), tức 8D² mỗi block.",
        (
            lambda c: _with_counts(c, mlp_weights=lambda c: -6 * c.n_layer * c.n_embd**2),  # D -> D -> D
            lambda c: _with_counts(
                c, mlp_weights=lambda c: -4 * c.n_layer * c.n_embd**2
            ),  # one 4D² matrix only
        ),
    ),
    Mistake(
        "mlp_biases_wrong",
        "Bias của MLP sai: `c_fc` có 4D bias, `c_proj` có D bias (kích thước đầu ra của mỗi lớp), tổng 5D "
        "mỗi block.",
        (
            lambda c: _with_counts(c, mlp_biases=lambda c: -c.n_layer * c.n_embd),  # only c_fc's 4D
            lambda c: _with_counts(c, mlp_biases=lambda c: 3 * c.n_layer * c.n_embd),  # 4D + 4D
        ),
    ),
    Mistake(
        "layernorm_missing_final_or_beta",
        "LayerNorm thiếu tham số: có 2 LayerNorm mỗi block (`ln_1`, `ln_2`) cộng `ln_f` ở cuối, "
        "mỗi cái có γ và β (2D).",
        (
            lambda c: _with_counts(c, layernorm=lambda c: -2 * c.n_embd),  # ln_f forgotten
            lambda c: _with_counts(c, layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd),  # γ only
            lambda c: _with_counts(c, layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd - c.n_embd),  # both
        ),
    ),
)


@checker(lesson=27, mistakes=COMPONENT_COUNT_MISTAKES)
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
    outcome = run_learner(fn, configs[0])
    if outcome.error is not None:
        return error_result(outcome.error, "Hàm component_counts", " với cấu hình GPT-2 small")
    first = outcome.value
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
        return COMPONENT_COUNT_MISTAKES.fail("wrong_keys", detail=detail, keys=list(COMPONENT_KEYS))

    def as_tuple(c):
        out = fn(c)
        return tuple(as_number(out[k]) for k in COMPONENT_KEYS)

    def first_wrong(got, expected, args):
        wrong = [k for k, g, e in zip(COMPONENT_KEYS, got, expected, strict=True) if g != e]
        return f"Các thành phần sai: {', '.join(repr(k) for k in wrong)}." if wrong else None

    return check_function(
        as_tuple,
        _component_counts_reference,
        [(c,) for c in configs],
        COMPONENT_COUNT_MISTAKES,
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
# Lesson 17: the parameters of one block
# ----------------------------------------------------------------------------------------------------------


def _meta_count(build: Callable[[], torch.nn.Module]) -> int:
    with torch.device("meta"), _skip_normal_init():
        module = build()
    return sum(p.numel() for p in module.parameters())


@functools.lru_cache(maxsize=64)
def _block_params(D: int, bias: bool) -> int:
    from ..layers import Block

    cfg = GPTConfig(vocab_size=8, block_size=4, n_layer=1, n_head=1, n_embd=D, bias=bias)
    return _meta_count(lambda: Block(cfg))


def _block_formula(D, bias, *, linear_bias=None, ln_beta=None, mlp=4, ln=True):
    linear_bias = bias if linear_bias is None else linear_bias
    ln_beta = bias if ln_beta is None else ln_beta
    weights = 4 * D * D + 2 * mlp * D * D  # c_attn 3D², attn.c_proj D², c_fc and mlp.c_proj mlp·D² each
    biases = (3 * D + D + mlp * D + D) if linear_bias else 0
    norms = (2 * D + (2 * D if ln_beta else 0)) if ln else 0
    return weights + biases + norms


BLOCK_PARAMS_MISTAKES = Mistakes(
    Mistake(
        "missing_layernorm",
        "Thiếu tham số của hai LayerNorm (`ln_1`, `ln_2`): mỗi cái có γ (D), và β (D) khi `bias=True`.",
        (lambda D, bias: _block_formula(D, bias, ln=False),),
    ),
    Mistake(
        "missing_layernorm_beta",
        "Thiếu β của LayerNorm khi `bias=True`: mỗi LayerNorm có γ và β, 2D tham số (tổng 4D cho `ln_1`, `ln_2`).",
        (lambda D, bias: _block_formula(D, bias, ln_beta=False),),
    ),
    Mistake(
        "missing_linear_biases",
        "Thiếu bias của các lớp Linear khi `bias=True`: `c_attn` (3D), `attn.c_proj` (D), `c_fc` (4D), "
        "`mlp.c_proj` (D), tổng 9D.",
        (lambda D, bias: _block_formula(D, bias, linear_bias=False),),
    ),
    Mistake(
        "bias_flag_ignored",
        "Khi `bias=False` block không có bias nào: cả 4 lớp Linear lẫn β của LayerNorm đều biến mất; công thức "
        "của bạn vẫn đếm chúng.",
        (lambda D, bias: _block_formula(D, True),),
    ),
    Mistake(
        "mlp_without_expansion",
        "MLP mở rộng lên 4D: `c_fc` là D → 4D và `mlp.c_proj` là 4D → D, tức 8D² trọng số (không phải 2D²).",
        (lambda D, bias: _block_formula(D, bias, mlp=1),),
    ),
)


@checker(lesson=17, mistakes=BLOCK_PARAMS_MISTAKES)
def check_block_param_count(fn: Callable[[int, bool], int]) -> CheckResult:
    """Check ``fn(D, bias=True) -> int``, the parameters of one ``mg.Block`` of width D (lesson 17), against the
    block built on the meta device, for several D, with and without bias."""
    inputs = [(D, bias) for D in (8, 48, 100, 768) for bias in (True, False)]
    return check_function(
        lambda D, bias: as_number(fn(D, bias=bias)),
        _block_params,
        inputs,
        BLOCK_PARAMS_MISTAKES,
        name="Hàm block_param_count",
        success=f"Chính xác! Công thức khớp với `mg.Block` trong cả {len(inputs)} trường hợp (có và không có bias).",
        describe=lambda a: f"D = {a[0]}, bias = {a[1]}",
        atol=0,
        rtol=0,
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 18: the parameters of Model 4
# ----------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _model4_params(V: int, T: int, C: int, L: int, bias: bool, tied: bool) -> int:
    from ..models import Model4

    cfg = GPTConfig(vocab_size=V, block_size=T, n_embd=C, n_layer=L, n_head=1, bias=bias, tie_weights=tied)
    return _meta_count(lambda: Model4(cfg))


def _model4_formula(
    V, T, C, L, bias, tied, *, head=None, head_bias=False, ln_f=True, wpe=True, bias_always=False
):
    b = bias or bias_always
    layer_norm = 2 * C if b else C
    block = _block_formula(C, b)
    untied = (not tied) if head is None else head
    return (
        V * C
        + (T * C if wpe else 0)
        + L * block
        + (layer_norm if ln_f else 0)
        + (V * C + (V if head_bias else 0) if untied else 0)
    )


MODEL4_PARAMS_MISTAKES = Mistakes(
    Mistake(
        "head_counted_when_tied",
        "Head bị đếm cả khi `tied=True`: khi dùng chung trọng số, `lm_head.weight` chính là ma trận embedding, "
        "chỉ cộng thêm V·C khi `tied=False`.",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, head=True),),
    ),
    Mistake(
        "head_never_counted",
        "Thiếu head khi `tied=False`: lúc đó `lm_head` là một ma trận riêng V × C (không có bias).",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, head=False),),
    ),
    Mistake(
        "head_with_bias",
        "`lm_head` không bao giờ có bias (`nn.Linear(C, V, bias=False)`): khi `tied=False` chỉ cộng V·C.",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, head_bias=True),),
    ),
    Mistake(
        "missing_final_layernorm",
        "Thiếu LayerNorm cuối `ln_f` (C tham số γ, thêm C cho β khi `bias=True`).",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, ln_f=False),),
    ),
    Mistake(
        "missing_position_embeddings",
        "Thiếu position embedding: bảng `wpe` có T × C tham số.",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, wpe=False),),
    ),
    Mistake(
        "bias_flag_ignored",
        "Khi `bias=False`, các Linear và LayerNorm không có bias (chỉ còn γ); công thức của bạn vẫn đếm chúng.",
        (lambda V, T, C, L, bias, tied: _model4_formula(V, T, C, L, bias, tied, bias_always=True),),
    ),
)


@checker(lesson=18, mistakes=MODEL4_PARAMS_MISTAKES)
def check_model4_params(fn: Callable) -> CheckResult:
    """Check ``fn(V, T, C, L, bias=True, tied=True) -> int``, the parameters of ``mg.Model4`` (lesson 18), against
    the model built on the meta device, for every combination of bias and tied on three sizes."""
    inputs = [
        (V, T, C, L, bias, tied)
        for V, T, C, L in ((50, 16, 32, 1), (100, 8, 48, 3), (6018, 32, 64, 4))
        for bias in (True, False)
        for tied in (True, False)
    ]
    return check_function(
        lambda V, T, C, L, bias, tied: as_number(fn(V, T, C, L, bias=bias, tied=tied)),
        _model4_params,
        inputs,
        MODEL4_PARAMS_MISTAKES,
        name="Hàm count_model4_params",
        success=f"Chính xác! Công thức khớp với `mg.Model4` ở cả {len(inputs)} cấu hình (có/không bias, có/không tied).",
        describe=lambda a: f"V={a[0]}, T={a[1]}, C={a[2]}, L={a[3]}, bias={a[4]}, tied={a[5]}",
        atol=0,
        rtol=0,
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 21: the head's share of the forward FLOPs
# ----------------------------------------------------------------------------------------------------------


def _head_share(V, C, L, T, *, attention=True, per_block=True, ratio=False, percent=False):
    head = 2 * C * V
    block = 2 * 12 * C**2 + (2 * 2 * T * C if attention else 0)
    blocks = (L if per_block else 1) * block
    share = head / blocks if ratio else head / (head + blocks)
    return 100 * share if percent else share


HEAD_SHARE_MISTAKES = Mistakes(
    Mistake(
        "no_attention_term",
        "Thiếu FLOP của attention: mỗi block còn tốn 2·2TC (QKᵀ và trọng số × V cho T vị trí), không chỉ 24C² "
        "của các lớp Linear.",
        (lambda V, C, L, T: _head_share(V, C, L, T, attention=False),),
    ),
    Mistake(
        "blocks_not_times_layers",
        "Thiếu nhân với số block L: FLOP của các block là L·(24C² + 4TC).",
        (lambda V, C, L, T: _head_share(V, C, L, T, per_block=False),),
    ),
    Mistake(
        "head_over_blocks",
        "Bạn chia FLOP của head cho FLOP của các block; tỉ lệ của head trong TỔNG là 2CV / (2CV + L·(24C² + 4TC)).",
        (lambda V, C, L, T: _head_share(V, C, L, T, ratio=True),),
    ),
    Mistake(
        "percent",
        "Hàm trả về phần trăm; bài tập cần tỉ lệ từ 0 đến 1 (bỏ phép nhân 100).",
        (lambda V, C, L, T: _head_share(V, C, L, T, percent=True),),
    ),
)


@checker(lesson=21, mistakes=HEAD_SHARE_MISTAKES)
def check_head_flop_share(fn: Callable) -> CheckResult:
    """Check ``fn(V, C, L, T) -> float`` = 2CV / (2CV + L·(24C² + 4TC)) (lesson 21) on sizes where every term
    matters."""
    inputs = [(50_257, 768, 12, 1024), (100, 10, 1, 5), (6018, 64, 4, 128), (1000, 32, 3, 2048)]
    return check_function(
        fn,
        _head_share,
        inputs,
        HEAD_SHARE_MISTAKES,
        name="Hàm head_flop_share",
        success="Chính xác! Tỉ lệ FLOP của head đúng trên mọi kích thước kiểm tra.",
        describe=lambda a: f"V={a[0]}, C={a[1]}, L={a[2]}, T={a[3]}",
        atol=1e-12,
        rtol=1e-9,
    )
