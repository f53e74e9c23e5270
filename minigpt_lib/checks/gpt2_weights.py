"""Checkers on GPT-2's weights: lessons 28 (splitting c_attn into Q, K, V), 29 (replacing Q with noise)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from ..config import GPTConfig
from ..models import GPT
from .engine import (
    HIDDEN_SEED,
    CheckResult,
    Mistake,
    Mistakes,
    check_function,
    checker,
    error_result,
    run_learner,
    with_global_seed,
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


QKV_SPLIT_MISTAKES = Mistakes(
    Mistake(
        "wrong_axis",
        "Cắt theo sai trục: `c_attn.weight` có kích thước (3C, C) — ba ma trận Q, K, V xếp chồng theo hàng "
        "(trục 0), nên cắt bằng `weight.split(C, dim=0)`.",
        (lambda w: tuple(w.chunk(3, dim=1)),),
    ),
    Mistake(
        "transposed",
        "Các ma trận bị chuyển vị: `nn.Linear` lưu trọng số dạng (out, in) và tính `x @ W.T`, nên W_q là "
        "`weight[:C]`, không phải `weight[:C].T` (Conv1D của Hugging Face mới lưu dạng (in, out)).",
        (lambda w: tuple(m.T for m in _split_reference(w)),),
    ),
    Mistake(
        "wrong_order",
        "Sai thứ tự: `c_attn` xếp Q trước, rồi K, rồi V; hãy trả về (W_q, W_k, W_v) đúng thứ tự đó.",
        tuple(_permuted(p) for p in itertools.permutations(range(3)) if p != (0, 1, 2)),
    ),
)


@checker(lesson=28, mistakes=QKV_SPLIT_MISTAKES)
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
        name="Hàm tách Q, K, V của bạn",
        success="Chính xác! (W_q, W_k, W_v) được tách đúng trục, đúng thứ tự, mỗi ma trận (C, C).",
        describe=lambda args: f"weight kích thước {tuple(args[0].shape)}",
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

QUERY_ABLATION_MISTAKES = Mistakes(
    Mistake(
        "modified_original_model",
        "Mô hình gốc đã bị sửa: hãy tạo bản sao bằng `copy.deepcopy(model)`, thay Q trên bản sao và trả về bản sao; "
        "mô hình gốc phải giữ nguyên để còn so sánh.",
    ),
    Mistake(
        "returned_original",
        "Hàm trả về chính mô hình gốc (không đổi gì): hãy trả về bản sao đã thay Q bằng nhiễu.",
    ),
    Mistake(
        "not_a_model",
        "Hàm phải trả về mô hình (bản sao `GPT` đã thay Q), không phải {got}.",
    ),
    Mistake(
        "nothing_changed",
        "Không tham số nào thay đổi: các hàng Q `c_attn.weight[:C]` và `c_attn.bias[:C]` phải được thay bằng nhiễu.",
    ),
    Mistake(
        "ablated_keys_instead",
        "Bạn đã thay các hàng của K (`[C:2C]`) chứ không phải Q: trong `c_attn` (kích thước (3C, C)) Q là các hàng `[:C]`.",
    ),
    Mistake(
        "ablated_values_instead",
        "Bạn đã thay các hàng của V (`[2C:3C]`) chứ không phải Q: trong `c_attn` (kích thước (3C, C)) Q là các hàng `[:C]`.",
    ),
    Mistake(
        "changed_keys_or_values",
        "Q đã được thay, nhưng các hàng của K hoặc V cũng bị đổi: chỉ thay `c_attn.weight[:C]` (hàng, trục 0) và "
        "`c_attn.bias[:C]`. Lưu ý `weight[:, :C]` là mọi hàng (cả Q, K, V), vì ma trận chỉ có C cột.",
    ),
    Mistake(
        "wrong_block",
        "Sai block: chỉ thay Q của `model.transformer.h[block]`, block được truyền vào (không cố định block 0).",
    ),
    Mistake(
        "changed_other_parameters",
        "Các tham số khác cũng bị đổi ({names}): chỉ được thay Q (trọng số và bias) của block đã chọn.",
    ),
    Mistake(
        "forgot_bias",
        "Trọng số Q đã được thay nhưng bias của Q (`c_attn.bias[:C]`) vẫn như cũ: query là W_q x + b_q, "
        "nên cũng phải thay b_q bằng nhiễu (với mean và std của chính b_q).",
    ),
    Mistake(
        "statistics_of_fused_weight",
        "Nhiễu có mean và std của cả `c_attn` (Q, K, V gộp lại), không phải của riêng Q: hãy tính `.mean()` và "
        "`.std()` trên các hàng `[:C]` (và riêng trên `bias[:C]`).",
    ),
    Mistake(
        "wrong_statistics",
        "Nhiễu của {what} không có cùng mean và std với {what} cũ (cũ: mean {m:.3g}, std {s:.3g}; mới: mean {nm:.3g}, "
        "std {ns:.3g}). Dùng `torch.randn(shape, generator=generator) * old.std() + old.mean()`, "
        "không dùng nhiễu chuẩn N(0, 1).",
    ),
    Mistake(
        "not_reproducible",
        "Hai lần gọi với cùng seed cho nhiễu khác nhau: hãy rút nhiễu bằng `generator` được truyền vào "
        "(`torch.randn(..., generator=generator)`), để kết quả lặp lại được.",
    ),
)


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


def _stats_close(new: torch.Tensor, mean: float, std: float, n: int) -> bool:
    """Mean and std of ``new`` within 5 standard errors of (mean, std) for a sample of n values."""
    nm, ns = new.mean().item(), new.std().item()
    return abs(nm - mean) <= 5 * std / math.sqrt(n) and abs(ns / std - 1) <= 5 / math.sqrt(2 * n) + 0.01


@checker(lesson=29, mistakes=QUERY_ABLATION_MISTAKES)
def check_query_ablation(fn: Callable) -> CheckResult:
    """Check ``fn(model, block, generator) -> ablated copy`` (lesson 29).

    On a hidden small GPT, for two blocks: the original model is unchanged; a different ``GPT`` comes back in which
    exactly the query rows ``c_attn.weight[:C]`` and ``c_attn.bias[:C]`` of ``block`` changed, each to values with
    the old mean and std (within 5 standard errors); the same seed gives the same noise.
    Recognised mistakes: the keys of ``QUERY_ABLATION_MISTAKES`` plus ``"exception"``.
    A ``NotImplementedError`` from ``fn`` (an exercise's stub) is re-raised.
    """
    C = ABLATION_CONFIG.n_embd
    for block in (0, ABLATION_CONFIG.n_layer - 1):  # the last block too: a hard-coded block 0 does not pass
        model = _ablation_model()
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        seed = HIDDEN_SEED + 100 + block
        results = []
        for global_seed in (HIDDEN_SEED + 1, HIDDEN_SEED + 2):
            outcome = run_learner(
                with_global_seed(fn, global_seed),
                model,
                block,
                torch.Generator().manual_seed(seed),
                copy_inputs=False,
            )
            if outcome.error is not None:
                return error_result(outcome.error, "Hàm ablate_query", f" với block = {block}")
            results.append(outcome.value)
            if any(not torch.equal(v, before[k]) for k, v in model.state_dict().items()):
                return QUERY_ABLATION_MISTAKES.fail("modified_original_model")
        out = results[0]
        if out is model:
            return QUERY_ABLATION_MISTAKES.fail("returned_original")
        if not isinstance(out, GPT):
            return QUERY_ABLATION_MISTAKES.fail("not_a_model", got=type(out).__name__)
        after = {k: v.detach() for k, v in out.state_dict().items()}
        w_key = f"transformer.h.{block}.attn.c_attn.weight"
        b_key = f"transformer.h.{block}.attn.c_attn.bias"
        w, w0 = after[w_key], before[w_key]
        changed = [not torch.equal(w[i * C : (i + 1) * C], w0[i * C : (i + 1) * C]) for i in range(3)]
        others = [k for k in before if k not in (w_key, b_key) and not torch.equal(after[k], before[k])]
        other_attn = [k for k in others if k.endswith("attn.c_attn.weight") or k.endswith("attn.c_attn.bias")]
        if not changed[0]:
            if changed[1]:
                return QUERY_ABLATION_MISTAKES.fail("ablated_keys_instead")
            if changed[2]:
                return QUERY_ABLATION_MISTAKES.fail("ablated_values_instead")
            return QUERY_ABLATION_MISTAKES.fail("wrong_block" if other_attn else "nothing_changed")
        if changed[1] or changed[2]:
            return QUERY_ABLATION_MISTAKES.fail("changed_keys_or_values")
        if other_attn:
            return QUERY_ABLATION_MISTAKES.fail("wrong_block")
        if others:
            return QUERY_ABLATION_MISTAKES.fail("changed_other_parameters", names=", ".join(others[:3]))
        b, b0 = after[b_key], before[b_key]
        if torch.equal(b[:C], b0[:C]):
            return QUERY_ABLATION_MISTAKES.fail("forgot_bias")
        if not torch.equal(b[C:], b0[C:]):
            return QUERY_ABLATION_MISTAKES.fail("changed_keys_or_values")
        for what, new, old, fused in (("W_q", w[:C], w0[:C], w0), ("b_q", b[:C], b0[:C], b0)):
            m, s = old.mean().item(), old.std().item()
            if not _stats_close(new, m, s, new.numel()):
                if _stats_close(new, fused.mean().item(), fused.std().item(), new.numel()):
                    return QUERY_ABLATION_MISTAKES.fail("statistics_of_fused_weight")
                return QUERY_ABLATION_MISTAKES.fail(
                    "wrong_statistics", what=what, m=m, s=s, nm=new.mean().item(), ns=new.std().item()
                )
        again = results[1].state_dict()
        if not (torch.equal(again[w_key], w) and torch.equal(again[b_key], b)):
            return QUERY_ABLATION_MISTAKES.fail("not_reproducible")
    return CheckResult(
        True,
        "Chính xác! Chỉ các hàng Q (trọng số và bias) của đúng block được thay bằng nhiễu cùng mean và std, "
        "K, V và mọi tham số khác giữ nguyên, mô hình gốc không bị sửa, và cùng seed cho cùng nhiễu.",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 23: Hugging Face names and shapes -> ours
# ----------------------------------------------------------------------------------------------------------

_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def _hf_tensors(V: int = 50257, T: int = 1024, C: int = 768, L: int = 2) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every tensor of a Hugging Face GPT-2 file (Conv1D weights stored (in, out))."""
    out = [("wte.weight", (V, C)), ("wpe.weight", (T, C))]
    for i in range(L):
        out += [
            (f"h.{i}.ln_1.weight", (C,)),
            (f"h.{i}.ln_1.bias", (C,)),
            (f"h.{i}.attn.c_attn.weight", (C, 3 * C)),
            (f"h.{i}.attn.c_attn.bias", (3 * C,)),
            (f"h.{i}.attn.c_proj.weight", (C, C)),
            (f"h.{i}.attn.c_proj.bias", (C,)),
            (f"h.{i}.ln_2.weight", (C,)),
            (f"h.{i}.ln_2.bias", (C,)),
            (f"h.{i}.mlp.c_fc.weight", (C, 4 * C)),
            (f"h.{i}.mlp.c_fc.bias", (4 * C,)),
            (f"h.{i}.mlp.c_proj.weight", (4 * C, C)),
            (f"h.{i}.mlp.c_proj.bias", (C,)),
        ]
    out += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    return out + [("transformer." + name, shape) for name, shape in out]  # files written by transformers


def _hf_to_ours(prefix=True, by_name=True, reverse=True, every_weight=False):
    def convert(hf_name, hf_shape):
        name = hf_name
        if prefix == "always":
            name = "transformer." + hf_name
        elif prefix and not hf_name.startswith("transformer."):
            name = "transformer." + hf_name
        if every_weight:
            transpose = name.endswith(".weight") and len(hf_shape) == 2
        elif by_name:
            transpose = name.endswith(_CONV1D_WEIGHTS)
        else:  # by shape: a Conv1D weight is "wider than tall"... which misses the square attn.c_proj
            transpose = len(hf_shape) == 2 and hf_shape[0] < hf_shape[1]
        shape = tuple(reversed(hf_shape)) if transpose and reverse else tuple(hf_shape)
        return name, shape, transpose

    return convert


HF_TO_OURS_MISTAKES = Mistakes(
    Mistake(
        "no_prefix",
        'Thiếu tiền tố: tên của ta bắt đầu bằng "transformer." (vd. `transformer.h.0.ln_1.weight`); thêm nó khi '
        "tên Hugging Face chưa có.",
        (_hf_to_ours(prefix=False),),
    ),
    Mistake(
        "double_prefix",
        'Tên bị thêm "transformer." hai lần: tệp do `transformers` ghi đã có tiền tố; chỉ thêm khi tên chưa bắt '
        'đầu bằng "transformer." (`hf_name.startswith("transformer.")`).',
        (_hf_to_ours(prefix="always"),),
    ),
    Mistake(
        "transpose_by_shape",
        "Bạn đoán chuyển vị theo kích thước: `attn.c_proj.weight` là ma trận vuông C × C nên kích thước không nói "
        "gì, và `mlp.c_proj.weight` (4C, C) bị bỏ sót. Nhận diện bốn trọng số Conv1D theo TÊN "
        "(`attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`, đuôi `.weight`).",
        (_hf_to_ours(by_name=False),),
    ),
    Mistake(
        "transposes_every_matrix",
        "Chỉ bốn trọng số Conv1D (`attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`) bị lưu chuyển vị; "
        "`wte` và `wpe` là bảng embedding (V, C), (T, C) giữ nguyên.",
        (_hf_to_ours(every_weight=True),),
    ),
    Mistake(
        "shape_not_reversed",
        "Cờ chuyển vị đúng nhưng kích thước chưa đảo: trọng số Conv1D lưu (in, out), `nn.Linear` của ta là "
        "(out, in), nên kích thước của ta là `tuple(reversed(hf_shape))`.",
        (_hf_to_ours(reverse=False),),
    ),
)


@checker(lesson=23, mistakes=HF_TO_OURS_MISTAKES)
def check_hf_to_ours(fn: Callable) -> CheckResult:
    """Check ``fn(hf_name, hf_shape) -> (our_name, our_shape, transpose)`` on every tensor name of a 2-block
    GPT-2 file, with and without the "transformer." prefix (lesson 23)."""
    return check_function(
        lambda name, shape: (lambda out: tuple(out) if isinstance(out, list) else out)(fn(name, shape)),
        _hf_to_ours(),
        _hf_tensors(),
        HF_TO_OURS_MISTAKES,
        name="Hàm hf_to_ours",
        success="Chính xác! Mọi tên tensor GPT-2 (có và không có tiền tố) được ánh xạ đúng tên, kích thước và cờ chuyển vị.",
        describe=lambda a: f"hf_name = {a[0]!r}, hf_shape = {a[1]}",
        atol=0,
        rtol=0,
    )
