"""Checkers of lessons 28-29 (gpt2_weights): the right answer passes, every mistake is named."""

import copy

import pytest
import torch

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import (
    check_qkv_split,
    check_query_ablation,
)


# ---------------------------------------------------------------- Q, K, V split
def split_right(w):
    C = w.shape[1]
    return w[:C], w[C : 2 * C], w[2 * C :]


def test_qkv_split_right_answers_pass():
    assert check_qkv_split(split_right).passed
    assert check_qkv_split(lambda w: w.chunk(3, dim=0)).passed  # a tuple of views is fine
    assert check_qkv_split(lambda w: list(w.split(w.shape[1]))).passed


@pytest.mark.parametrize(
    "fn, key",
    [
        (lambda w: w.chunk(3, dim=1), "wrong_axis"),
        (lambda w: tuple(m.T for m in split_right(w)), "transposed"),
        (lambda w: (split_right(w)[1], split_right(w)[0], split_right(w)[2]), "wrong_order"),
        (lambda w: split_right(w)[::-1], "wrong_order"),
        (lambda w: split_right(w)[:2], "wrong_length"),
        (lambda w: w, "wrong_type"),
        (lambda w: (w[:1], w[1:2], w[2:3]), "wrong_shape"),
    ],
)
def test_qkv_split_mistakes(fn, key):
    result = check_qkv_split(fn)
    assert result.mistake == key and not result.passed, (result.mistake, result.message)


def split_qkv(w):
    C = w.size(1)
    return tuple(w.split(C, dim=0))


def test_qkv_split_accepts_the_lesson_solution():
    assert check_qkv_split(split_qkv).passed


def _noise_like(t, generator):
    return torch.randn(t.shape, generator=generator) * t.std() + t.mean()


def make_ablation(
    rows="q",
    bias=True,
    copy_model=True,
    stats="own",
    block_shift=0,
    use_generator=True,
    touch_other=False,
    return_value="model",
):
    """A family of ablate_query implementations: the reference and each typical mistake."""

    def ablate(model, block, generator):
        target = copy.deepcopy(model) if copy_model else model
        C = target.config.n_embd
        gen = generator if use_generator else None
        attn = target.transformer.h[block + block_shift].attn.c_attn
        sl = {
            "q": slice(0, C),
            "k": slice(C, 2 * C),
            "v": slice(2 * C, 3 * C),
            "cols": (slice(None), slice(0, C)),
        }[rows]
        with torch.no_grad():
            params = [attn.weight] + ([attn.bias] if bias else [])
            for p in params:
                part = p[sl] if rows != "cols" or p.ndim == 2 else p[:C]
                if stats == "own":
                    new = _noise_like(part, gen)
                elif stats == "standard":
                    new = torch.randn(part.shape, generator=gen)
                else:  # statistics of the whole fused tensor
                    new = torch.randn(part.shape, generator=gen) * p.std() + p.mean()
                part.copy_(new)
            if touch_other:
                target.transformer.h[block].attn.c_proj.weight.mul_(1.5)
        if return_value == "none":
            return None
        return target

    return ablate


def test_reference_passes():
    result = check_query_ablation(make_ablation())
    assert result.passed, result.message


def test_global_rng_is_not_moved():
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    check_query_ablation(make_ablation())
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(copy_model=False), "modified_original_model"),
        (dict(return_value="none"), "not_a_model"),
        (dict(rows="k"), "ablated_keys_instead"),
        (dict(rows="v"), "ablated_values_instead"),
        (dict(rows="cols"), "changed_keys_or_values"),
        (dict(bias=False), "forgot_bias"),
        (dict(stats="standard"), "wrong_statistics"),
        (dict(stats="fused"), "statistics_of_fused_weight"),
        (dict(use_generator=False), "not_reproducible"),
        (dict(touch_other=True), "changed_other_parameters"),
    ],
)
def test_mistakes_are_named(kwargs, key):
    result = check_query_ablation(make_ablation(**kwargs))
    assert not result.passed
    assert result.mistake == key, result.message


def test_hard_coded_block_zero_is_wrong_block():
    reference = make_ablation()
    result = check_query_ablation(lambda model, block, gen: reference(model, 0, gen))
    assert result.mistake == "wrong_block", result.message


def test_returning_the_unchanged_original():
    result = check_query_ablation(lambda model, block, gen: model)
    assert result.mistake == "returned_original", result.message


def test_nothing_changed():
    result = check_query_ablation(lambda model, block, gen: copy.deepcopy(model))
    assert result.mistake == "nothing_changed", result.message


def test_exception_and_stub():
    def broken(model, block, gen):
        raise ValueError("oops")

    assert check_query_ablation(broken).mistake == "exception"

    def stub(model, block, gen):
        raise NotImplementedError("Bài tập: hãy viết phần này.")

    with pytest.raises(NotImplementedError):
        check_query_ablation(stub)


def test_qkv_split_matches_the_model():
    config = mg.GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=12)
    attn = mg.CausalSelfAttention(config)
    x = torch.randn(1, 4, 12)
    Wq, Wk, Wv = split_right(attn.c_attn.weight)
    bq, bk, bv = attn.c_attn.bias.split(12)
    q, k, v = attn.c_attn(x).split(12, dim=2)
    assert torch.allclose(x @ Wq.T + bq, q, atol=1e-6)  # (assert_close imports torch._dynamo: seconds)
    assert torch.allclose(x @ Wv.T + bv, v, atol=1e-6)


# ---------------------------------------------------------------- 23: hf_to_ours
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def hf_to_ours(hf_name, hf_shape):
    name = hf_name if hf_name.startswith("transformer.") else "transformer." + hf_name
    transpose = name.endswith(CONV1D)
    return name, tuple(reversed(hf_shape)) if transpose else tuple(hf_shape), transpose


def hf_with(name_fn=None, transpose_fn=None, reverse=True):
    def f(hf_name, hf_shape):
        name = name_fn(hf_name) if name_fn else hf_to_ours(hf_name, hf_shape)[0]
        t = transpose_fn(name, hf_shape) if transpose_fn else name.endswith(CONV1D)
        return name, tuple(reversed(hf_shape)) if t and reverse else tuple(hf_shape), t

    return f


HF_MUTANTS = {
    "no_prefix": hf_with(name_fn=lambda n: n),
    "double_prefix": hf_with(name_fn=lambda n: "transformer." + n),
    "transpose_by_shape": hf_with(transpose_fn=lambda n, s: len(s) == 2 and s[0] < s[1]),
    "transposes_every_matrix": hf_with(transpose_fn=lambda n, s: len(s) == 2),
    "shape_not_reversed": hf_with(reverse=False),
}


def test_hf_to_ours_passes():
    assert checks.check_hf_to_ours(hf_to_ours).passed
    assert checks.check_hf_to_ours(lambda n, s: list(hf_to_ours(n, list(s)))).passed  # lists are fine


@pytest.mark.parametrize("key", list(HF_MUTANTS))
def test_hf_to_ours_mistakes(key):
    result = checks.check_hf_to_ours(HF_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
