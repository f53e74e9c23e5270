"""Checkers of the building blocks: lesson 03 (nn.Linear as nn.Embedding), 04 (GELU's derivative), 09 (LayerNorm)."""

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
    error_result,
    hidden_generator,
    run_learner,
)

# ----------------------------------------------------------------------------------------------------------
# Lesson 03: nn.Linear on one-hot vectors as an nn.Embedding
# ----------------------------------------------------------------------------------------------------------

LINEAR_AS_EMBEDDING_SHAPES: tuple[tuple[int, int, bool], ...] = ((50, 8, False), (50, 8, True), (7, 12, True))

LINEAR_AS_EMBEDDING_MISTAKES = Mistakes(
    Mistake(
        "not_embedding",
        "Hàm phải trả về một `nn.Embedding`, nhận được {got}. Dùng "
        "`nn.Embedding.from_pretrained(weight, freeze=False)` với `weight` kích thước (V, C).",
    ),
    Mistake(
        "no_transpose",
        "Thiếu phép chuyển vị: `linear.weight` của `nn.Linear(V, C)` có kích thước (C, V), còn bảng embedding cần "
        "(V, C) — hàng i là ảnh của vector one-hot e_i. Hãy dùng `linear.weight.T`.",
        (lambda lin: lin.weight.detach().clone(),),
    ),
    Mistake(
        "ignores_bias",
        "Bỏ quên bias: `linear(e_i) = e_iᵀ Wᵀ + b`, nên khi lớp có bias thì mọi hàng của bảng embedding phải cộng "
        "thêm b: `weight = linear.weight.T + linear.bias` (khi `linear.bias` không phải None).",
        (lambda lin: lin.weight.detach().T.clone(),),
    ),
)


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


@checker(lesson=3, mistakes=LINEAR_AS_EMBEDDING_MISTAKES)
def check_linear_as_embedding(fn: Callable) -> CheckResult:
    """Check ``fn(linear: nn.Linear(V, C)) -> nn.Embedding(V, C)`` equal to ``linear`` on one-hot vectors (lesson 03).

    Recognised mistakes: the keys of ``LINEAR_AS_EMBEDDING_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = _hidden_linears()
    first = run_learner(fn, *inputs[0])
    if first.error is not None:
        return error_result(first.error, "Hàm linear_as_embedding", " với " + _describe_linear(inputs[0]))
    if not isinstance(first.value, torch.nn.Embedding):
        return LINEAR_AS_EMBEDDING_MISTAKES.fail("not_embedding", got=type(first.value).__name__)
    return check_function(
        _embedding_table(fn),
        _reference_linear_as_embedding,
        inputs,
        LINEAR_AS_EMBEDDING_MISTAKES.with_variants(
            lambda f: _embedding_table(lambda lin: torch.nn.Embedding.from_pretrained(f(lin)))
        ),
        name="Hàm linear_as_embedding",
        success=(
            f"Chính xác! Trên {len(inputs)} lớp nn.Linear ẩn (có và không có bias), embedding của bạn cho đúng "
            "kết quả của linear trên mọi vector one-hot."
        ),
        describe=_describe_linear,
    )


def _describe_linear(args) -> str:
    return f"nn.Linear({args[0].in_features}, {args[0].out_features}, bias={args[0].bias is not None})"


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


GELU_GRAD_MISTAKES = Mistakes(
    Mistake(
        "no_product_rule",
        "Thiếu một số hạng của quy tắc nhân: đạo hàm của ½x(1 + t) là ½(1 + t) + ½x·dt/dx.",
        (lambda x: 0.5 * (1 + torch.tanh(_gelu_u(x))),),
    ),
    Mistake(
        "constant_du_dx",
        "du/dx chưa đúng: u = √(2/π)(x + 0.044715x³) nên du/dx = √(2/π)(1 + 3·0.044715x²).",
        (
            lambda x: (
                0.5 * (1 + torch.tanh(_gelu_u(x))) + 0.5 * x * (1 - torch.tanh(_gelu_u(x)) ** 2) * _GELU_C
            ),
        ),
    ),
    Mistake(
        "no_tanh_derivative",
        "Thiếu đạo hàm của tanh: d tanh(u)/du = 1 − tanh²(u), nên dt/dx = (1 − t²)·du/dx.",
        (lambda x: 0.5 * (1 + torch.tanh(_gelu_u(x))) + 0.5 * x * _GELU_C * (1 + 3 * 0.044715 * x**2),),
    ),
    Mistake(
        "exact_gelu_derivative",
        "Đây là đạo hàm của GELU chính xác (dùng erf, Φ(x) + xφ(x)), không phải của bản xấp xỉ tanh: hãy lấy đạo "
        "hàm của ½x(1 + tanh(u)) với u = √(2/π)(x + 0.044715x³).",
        (
            lambda x: (
                0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
            ),
        ),
    ),
)


@checker(lesson=4, mistakes=GELU_GRAD_MISTAKES)
def check_gelu_tanh_grad(fn: Callable) -> CheckResult:
    """Check ``fn(x) -> dGELU_tanh/dx`` against autograd of ``F.gelu(x, approximate="tanh")`` (lesson 04).

    Recognised mistakes: the keys of ``GELU_GRAD_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    inputs = [
        (torch.linspace(-8, 8, 2001, dtype=torch.float64),),
        (torch.tensor([[-3.0, -0.5, 0.0], [0.7, 1.5, 10.0]], dtype=torch.float64),),
        (torch.randn(4, 7, generator=hidden_generator(4), dtype=torch.float64) * 3,),
    ]
    return check_function(
        fn,
        _reference_gelu_tanh_grad,
        inputs,
        GELU_GRAD_MISTAKES,
        name="Hàm gelu_tanh_grad",
        success="Chính xác! Đạo hàm của bạn khớp với autograd của `F.gelu(x, approximate='tanh')` trên mọi đầu vào.",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 09: LayerNorm as an nn.Module
# ----------------------------------------------------------------------------------------------------------

LAYERNORM_FEATURES = 48


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


LAYERNORM_MISTAKES = Mistakes(
    Mistake(
        "wrong_parameters",
        "Mô-đun cần đúng hai tham số học được tên `weight` và `bias`, mỗi cái kích thước ({n},), tạo bằng "
        "`nn.Parameter` trong `__init__`; nhận được {got}.",
    ),
    Mistake(
        "wrong_init",
        "γ (`weight`) phải khởi tạo bằng 1 (`torch.ones`) và β (`bias`) bằng 0 (`torch.zeros`).",
    ),
    Mistake(
        "unbiased_variance",
        "Dùng phương sai không lệch (chia cho D − 1): LayerNorm chia cho D, nên dùng "
        "`x.var(dim=-1, keepdim=True, unbiased=False)` (hoặc `((x - mean) ** 2).mean(dim=-1, keepdim=True)`).",
        (_LNUnbiased,),
    ),
    Mistake(
        "eps_outside_sqrt",
        "eps bị cộng ngoài căn: công thức là (x − μ) / √(σ² + eps), không phải (x − μ) / (√σ² + eps). "
        "Khác biệt lộ rõ khi các đặc trưng của một token gần bằng nhau (σ² nhỏ).",
        (_LNEpsOutside,),
    ),
    Mistake(
        "no_eps",
        "Thiếu eps: với một token có mọi đặc trưng bằng nhau, σ² = 0 và phép chia cho NaN. "
        "Hãy chia cho `torch.sqrt(var + self.eps)`.",
        (_LNNoEps,),
    ),
    Mistake(
        "no_affine",
        "Chưa áp dụng γ và β: sau khi chuẩn hóa phải nhân với `self.weight` và cộng `self.bias` "
        "(kiểm tra dùng γ, β ngẫu nhiên nên khác biệt lộ ra).",
        (_LNNoAffine,),
    ),
    Mistake(
        "wrong_axis",
        "Chuẩn hóa theo sai trục: mean và phương sai tính trên các đặc trưng của TỪNG token, tức chiều cuối "
        "(`dim=-1, keepdim=True`).",
        (_LNAxis0,),
    ),
)


def _layernorm_run(cls: Callable) -> Callable:
    """``(x, weight, bias) -> cls(D)(x)`` with γ, β loaded by ``load_state_dict`` (as in the lesson)."""

    def run(x, weight, bias):
        module = cls(x.size(-1))
        module.load_state_dict({"weight": weight, "bias": bias}, strict=False)
        with torch.no_grad():
            return module(x)

    return run


@checker(lesson=9, mistakes=LAYERNORM_MISTAKES)
def check_layer_norm_module(cls: Callable) -> CheckResult:
    """Check a class ``cls(n_features, eps=1e-5)`` that behaves like ``nn.LayerNorm`` (lesson 09).

    Parameters named ``weight`` (ones) and ``bias`` (zeros); outputs equal ``F.layer_norm`` on hidden inputs with
    random γ, β, including tokens whose features are all equal or nearly so.
    Recognised mistakes: the keys of ``LAYERNORM_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    D = LAYERNORM_FEATURES
    built = run_learner(cls, D)
    if built.error is not None:
        return error_result(built.error, "MyLayerNorm", f" khi tạo mô-đun `MyLayerNorm({D})`")
    module = built.value
    if not isinstance(module, torch.nn.Module):
        return LAYERNORM_MISTAKES.fail(
            "wrong_parameters", n=D, got=f"một {type(module).__name__}, không phải nn.Module"
        )
    params = dict(module.named_parameters())
    if set(params) != {"weight", "bias"} or any(tuple(p.shape) != (D,) for p in params.values()):
        got = ", ".join(f"{k} {tuple(p.shape)}" for k, p in params.items()) or "không có tham số nào"
        return LAYERNORM_MISTAKES.fail("wrong_parameters", n=D, got=got)
    if not (
        torch.equal(params["weight"].detach(), torch.ones(D))
        and torch.equal(params["bias"].detach(), torch.zeros(D))
    ):
        return LAYERNORM_MISTAKES.fail("wrong_init")
    g = hidden_generator(9)
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
        LAYERNORM_MISTAKES.with_variants(_layernorm_run),
        name="MyLayerNorm",
        success=(
            f"Chính xác! Mô-đun của bạn có đúng tham số `weight`, `bias` và cho cùng đầu ra như `nn.LayerNorm` "
            f"trên {len(inputs)} đầu vào ẩn với γ, β ngẫu nhiên (kể cả token có mọi đặc trưng bằng nhau)."
        ),
        describe=lambda args: f"x kích thước {tuple(args[0].shape)}, γ và β ngẫu nhiên",
    )
