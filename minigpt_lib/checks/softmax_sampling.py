"""Checkers of softmax and sampling: lessons 05 (temperature), 06 (inverse CDF), 07 (one sampling step), 08 (log-softmax)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..sampling import sample_next, top_k_filter, top_p_filter
from .engine import (
    HIDDEN_SEED,
    CheckResult,
    Mistake,
    Mistakes,
    check_function,
    checker,
    error_result,
    hidden_generator,
    is_number,
    modified_result,
    run_learner,
    with_global_seed,
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


TEMPERATURE_MISTAKES = Mistakes(
    Mistake(
        "not_a_float",
        "Hàm phải trả về một số thực Python dương (kiểu float), nhận được {got}. Nếu bạn có một tensor một phần tử, "
        "dùng `.item()`; nếu tính trên log T, trả về `math.exp(...)`.",
    ),
    Mistake(
        "multiplies_instead_of_divides",
        "Temperature bị nhân thay vì chia: phân phối là softmax(logits / T). Bạn đang tìm T cho softmax(logits · T), "
        "nên kết quả là nghịch đảo 1/T của đáp án đúng.",
        (
            lambda z, target: (
                1.0 / _reference_temperature(z, target)
            ),  # softmax(z * T) has the target entropy
        ),
    ),
    Mistake(
        "search_inverted",
        "Chiều chia đôi bị đảo: entropy TĂNG theo T, nên khi entropy còn nhỏ hơn target phải tăng T "
        "(dời cận dưới `lo = mid`), ngược lại dời cận trên. Kết quả của bạn dính vào một đầu mút của khoảng tìm kiếm.",
        (
            lambda z, target: _bisect_log_t(
                lambda t: _entropy_nats(F.softmax(z.double() / t, dim=-1)), target, inverted=True
            ),
        ),
    ),
    Mistake(
        "entropy_in_bits",
        "Entropy bị tính theo bit (log cơ số 2): target tính bằng nat, nên dùng log tự nhiên, `torch.log`, "
        "H = −Σ p ln p.",
        (
            lambda z, target: _bisect_log_t(
                lambda t: _entropy_nats(F.softmax(z.double() / t, dim=-1)) / math.log(2), target
            ),
        ),
    ),
    Mistake(
        "returns_log_t",
        "Hàm trả về log T thay vì T: nếu chia đôi trên log T thì kết quả cuối là `math.exp(...)` của điểm giữa.",
        (lambda z, target: math.log(_reference_temperature(z, target)),),
    ),
)


@checker(lesson=5, mistakes=TEMPERATURE_MISTAKES)
def check_temperature_for_entropy(fn: Callable) -> CheckResult:
    """Check ``fn(logits, target) -> T`` (a float) with entropy(softmax(logits / T)) = target ± 1e-6 (lesson 05).

    Outputs are compared through the entropy they give, so any T that reaches the target passes.
    Recognised mistakes: the keys of ``TEMPERATURE_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    g = hidden_generator(5)
    z1, z2 = torch.randn(20, generator=g) * 2, torch.randn(50, generator=g) * 3
    inputs = [(z1, 0.2), (z1, 1.0), (z1, 2.0), (z2, 0.5), (z2, 3.0)]
    outcome = run_learner(fn, *inputs[1])
    if outcome.error is not None:
        return error_result(outcome.error, "Hàm temperature_for_entropy", f" với target = {inputs[1][1]}")
    first = outcome.value
    got = f"{type(first).__name__} {first!r}" if is_number(first) else type(first).__name__
    if isinstance(first, torch.Tensor):
        got = f"một tensor {tuple(first.shape)}"
    if not isinstance(first, float):
        return TEMPERATURE_MISTAKES.fail("not_a_float", got=got)

    def via_entropy(f):
        def h(logits, target):
            t = float(f(logits, target))
            return _entropy_nats(F.softmax(logits.double() / t, dim=-1))

        return h

    result = check_function(
        via_entropy(fn),
        lambda logits, target: target,
        inputs,
        TEMPERATURE_MISTAKES.with_variants(via_entropy),
        name="Hàm temperature_for_entropy",
        success=(
            f"Chính xác! Với {len(inputs)} cặp (logits, target) ẩn, temperature của bạn cho entropy đúng target "
            "(sai lệch dưới 1e-6 nat)."
        ),
        describe=lambda args: (
            f"logits {tuple(args[0].shape)}, target = {args[1]} (kết quả so qua entropy nó cho)"
        ),
        atol=1e-6,
        rtol=0.0,
    )
    if not result.passed and result.mistake not in TEMPERATURE_MISTAKES and not first > 0:
        return TEMPERATURE_MISTAKES.fail("not_a_float", got=got)
    return result


# ----------------------------------------------------------------------------------------------------------
# Lesson 06: sampling by the inverse CDF
# ----------------------------------------------------------------------------------------------------------

CDF_SAMPLES = 20000

SAMPLE_BY_CDF_MISTAKES = Mistakes(
    Mistake(
        "uses_multinomial",
        "Hàm gọi `torch.multinomial`: bài tập yêu cầu tự lấy mẫu bằng hàm phân phối tích lũy — `torch.cumsum`, "
        "chia cho tổng, `torch.rand(..., generator=generator)` rồi `torch.searchsorted(cdf, u, right=True)`.",
    ),
    Mistake(
        "not_a_tensor",
        "Hàm phải trả về một tensor int64 kích thước (num_samples,), nhận được {got}.",
    ),
    Mistake(
        "wrong_shape_or_dtype",
        "Kết quả phải là tensor int64 kích thước ({n},), nhận được {dtype} kích thước {shape}. "
        "`torch.searchsorted` trả về int64 sẵn; đừng thêm chiều (vd. `u` phải có kích thước (num_samples,)).",
    ),
    Mistake(
        "not_normalized",
        "Hàm phân phối tích lũy chưa được chuẩn hóa: u ∈ [0, 1) nên phải chia `cumsum(weights)` cho tổng trọng số "
        "(`cdf / cdf[-1]`), để F_V = 1. Thiếu bước này, với trọng số cộng lại khác 1 các hạng mục sau bị chọn sai tần suất.",
    ),
    Mistake(
        "off_by_one",
        "Chỉ số lệch một: tần suất của bạn khớp với p nhưng dịch đi một vị trí. Chỉ số cần trả về là i NHỎ NHẤT có "
        "F_i > u, chính là `torch.searchsorted(cdf, u, right=True)` — không cộng hay trừ 1.",
    ),
    Mistake(
        "ignores_generator",
        "Hàm không dùng `generator`: hai lần gọi với cùng generator vừa đặt seed cho kết quả khác nhau. "
        "Hãy truyền nó vào `torch.rand(num_samples, generator=generator, ...)`.",
    ),
    Mistake(
        "out_of_range",
        "Có chỉ số nằm ngoài 0..V-1 (thấy giá trị {bad}) với trọng số {w}.",
    ),
    Mistake(
        "zero_weight_chosen",
        "Hạng mục có trọng số 0 bị chọn (chỉ số {i}, trọng số {w}). Với `right=True`, chỉ số i có F_i = F_(i-1) "
        "không bao giờ là chỉ số nhỏ nhất có F_i > u.",
    ),
    Mistake(
        "wrong_frequencies",
        "Tần suất lấy mẫu lệch khỏi trọng số {w}: chi² = {chi2:.1f} với {df} bậc tự do (ngưỡng {crit:.1f}). "
        "Kiểm tra công thức F_i = Σ_(j≤i) w_j / Σ_j w_j và `searchsorted(..., right=True)`.",
    ),
)


def _cdf_weight_sets() -> list[torch.Tensor]:
    g = hidden_generator(6)
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
    crit = (
        df + 5 * math.sqrt(2 * df) + 5
    )  # far in the tail: a right sampler fails with negligible probability
    return chi2 < crit, chi2, df, crit


@checker(lesson=6, mistakes=SAMPLE_BY_CDF_MISTAKES)
def check_sample_by_cdf(fn: Callable) -> CheckResult:
    """Check ``fn(weights, num_samples, generator) -> int64 (num_samples,)``, sampling with replacement (lesson 06).

    Statistical: hidden weights (with zeros, not summing to 1), 20 000 draws each, a chi² test of the frequencies;
    ``torch.multinomial`` is replaced for the check to see whether it is called; the global RNG is left unmoved.
    Recognised mistakes: the keys of ``SAMPLE_BY_CDF_MISTAKES`` plus ``"exception"``.
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
                outcome = run_learner(fn, w, CDF_SAMPLES, hidden_generator(60 + i))
                if outcome.error is not None:
                    return error_result(
                        outcome.error,
                        "Hàm sample_by_cdf",
                        f" với trọng số {[round(x, 3) for x in w.tolist()]} và num_samples = {CDF_SAMPLES}",
                    )
                if outcome.modified:
                    return modified_result("Hàm sample_by_cdf", f"trọng số {outcome.modified}")
                outs.append(outcome.value)
            again = []
            for seed in (HIDDEN_SEED + 1, HIDDEN_SEED + 2):  # the global RNG differs, the generator does not
                outcome = run_learner(with_global_seed(fn, seed), weights[0], 50, hidden_generator(9))
                if outcome.error is not None:
                    return error_result(outcome.error, "Hàm sample_by_cdf", " với num_samples = 50")
                again.append(outcome.value)
            r1, r2 = again
        finally:
            torch.multinomial, torch.Tensor.multinomial = real_fn, real_method
    if called:
        return SAMPLE_BY_CDF_MISTAKES.fail("uses_multinomial")
    for s in outs:
        if not isinstance(s, torch.Tensor):
            return SAMPLE_BY_CDF_MISTAKES.fail("not_a_tensor", got=type(s).__name__)
        if s.dtype != torch.int64 or tuple(s.shape) != (CDF_SAMPLES,):
            return SAMPLE_BY_CDF_MISTAKES.fail(
                "wrong_shape_or_dtype", n=CDF_SAMPLES, dtype=s.dtype, shape=tuple(s.shape)
            )
    for w, s in zip(weights, outs, strict=True):
        V = w.numel()
        counts = torch.bincount((s.cpu().clamp(-1, V) + 1), minlength=V + 2).double()
        candidates = _cdf_candidates(w)
        if _chi2_ok(counts, candidates["ok"], CDF_SAMPLES)[0]:
            continue
        for key in ("not_normalized", "off_by_one", "off_by_one_down"):
            if _chi2_ok(counts, candidates[key], CDF_SAMPLES)[0]:
                return SAMPLE_BY_CDF_MISTAKES.fail(key.removesuffix("_down"))
        wl = [round(x, 3) for x in w.tolist()]
        if (s < 0).any() or (s >= V).any():
            bad = int(s[(s < 0) | (s >= V)][0])
            return SAMPLE_BY_CDF_MISTAKES.fail("out_of_range", bad=bad, w=wl)
        zero = [i for i in range(V) if w[i] == 0 and counts[i + 1] > 0]
        if zero:
            return SAMPLE_BY_CDF_MISTAKES.fail("zero_weight_chosen", i=zero[0], w=wl)
        _, chi2, df, crit = _chi2_ok(counts, candidates["ok"], CDF_SAMPLES)
        return SAMPLE_BY_CDF_MISTAKES.fail("wrong_frequencies", w=wl, chi2=chi2, df=df, crit=crit)
    if not (isinstance(r1, torch.Tensor) and isinstance(r2, torch.Tensor) and torch.equal(r1, r2)):
        return SAMPLE_BY_CDF_MISTAKES.fail("ignores_generator")
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


SAMPLE_TOKEN_MISTAKES = Mistakes(
    Mistake(
        "greedy_not_handled",
        "Chưa xử lý temperature = 0: chia logits cho 0 cho ra ±inf/NaN. Khi `temperature == 0` hãy trả về ngay "
        "`logits.argmax(dim=-1, keepdim=True)` (greedy), không lấy mẫu.",
        (_sample_with(_sampler(greedy=False)),),
    ),
    Mistake(
        "multiplies_instead_of_divides",
        "Temperature bị nhân thay vì chia: phải là `logits / temperature` (T < 1 làm phân phối nhọn hơn, T > 1 làm "
        "nó phẳng hơn); nhân thì tác dụng ngược lại.",
        (_sample_with(_sampler(multiply=True)),),
    ),
    Mistake(
        "top_p_before_top_k",
        "Sai thứ tự lọc: phải lọc top-k trước, rồi top-p trên phân phối ĐÃ lọc top-k (như `mg.sample_next`).",
        (_sample_with(_sampler(order="pk")),),
    ),
    Mistake(
        "ignores_generator",
        "Không dùng `generator`: hãy truyền nó vào `torch.multinomial(probs, num_samples=1, generator=generator)`, "
        "nếu không kết quả phụ thuộc RNG toàn cục và không tái lập được.",
        (_sample_with(_sampler(use_generator=False)),),
    ),
)


@checker(lesson=7, mistakes=SAMPLE_TOKEN_MISTAKES)
def check_sample_token(fn: Callable) -> CheckResult:
    """Check ``fn(logits, temperature, top_k, top_p, generator) -> (B, 1)`` against ``mg.sample_next`` (lesson 07).

    Same tokens for the same seed on hidden logits, for several configurations (greedy included).
    Recognised mistakes: the keys of ``SAMPLE_TOKEN_MISTAKES`` plus the generic ones of :func:`check_function`.
    """
    logits = torch.randn(32, 50, generator=hidden_generator(7)) * 2
    inputs = [(logits, tuple(cfg.items()), seed) for cfg in SAMPLE_TOKEN_CONFIGS for seed in (0, 1)]
    return check_function(
        _sample_with(fn),
        _sample_with(sample_next),
        inputs,
        SAMPLE_TOKEN_MISTAKES,
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
    g = hidden_generator(8)
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


LOG_SOFTMAX_MISTAKES = Mistakes(
    Mistake(
        "no_max_subtraction",
        "Chưa trừ giá trị lớn nhất: với logits ≈ 1000, `torch.exp(x)` tràn thành inf (còn với ≈ −1000 thì bằng 0, "
        "log 0 = −inf), kết quả thành NaN/inf. Hãy tính m = max theo hàng (`keepdim=True`), rồi "
        "(x − m) − log Σ exp(x − m).",
        (_lsm_no_max,),
    ),
    Mistake(
        "wrong_axis",
        "Sai trục: log-softmax tính theo chiều cuối (mỗi hàng là một phân phối), nên max và tổng dùng `dim=-1`, "
        "`keepdim=True`, không phải `dim=0`.",
        (_lsm_axis0,),
    ),
    Mistake(
        "global_max",
        "Trừ max của CẢ tensor thay vì max của từng hàng: với các hàng có thang giá trị rất khác nhau, "
        "exp(x − m) của hàng nhỏ underflow về 0 và log cho −inf. Dùng `x.max(dim=-1, keepdim=True).values`.",
        (_lsm_global_max,),
    ),
    Mistake(
        "log_of_softmax",
        "Tính softmax rồi mới lấy log: xác suất rất nhỏ underflow về 0 và log 0 = −inf. Hãy trừ ngay trong miền "
        "log: (x − m) − log Σ exp(x − m), không chia rồi lấy log.",
        (_lsm_softmax_then_log,),
    ),
    Mistake(
        "forgot_log",
        "Thiếu log của tổng: phải trừ log Σ exp(x − m), không trừ chính tổng Σ exp(x − m).",
        (_lsm_forgot_log,),
    ),
)


@checker(lesson=8, mistakes=LOG_SOFTMAX_MISTAKES)
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
