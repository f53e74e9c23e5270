"""The code-challenge checkers: the right answer passes, every typical mistake is recognised by its key."""

import math

import pytest
import torch
import torch.nn.functional as F

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import (
    CheckResult,
    check_causal_attention,
    check_function,
    check_param_count,
    check_qkv_split,
)


# ---------------------------------------------------------------- causal attention, written the way learners write it
def good_attention(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, H, T, T)
    mask = torch.tril(torch.ones(T, T))
    scores = scores.masked_fill(mask == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def good_attention_big_negative(q, k, v):  # -1e9 instead of -inf is fine
    T = q.size(-2)
    scores = q @ k.mT / q.size(-1) ** 0.5
    scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), -1e9)
    return torch.softmax(scores, -1) @ v


def no_scaling(q, k, v):
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def scale_by_d(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / D
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def mask_diagonal(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.triu(torch.ones(T, T)) == 1, float("-inf"))  # diagonal masked too
    return F.softmax(scores, dim=-1) @ v


def mask_inverted(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def mask_one_future(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T), diagonal=1) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def no_mask(q, k, v):
    return F.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ v


def softmax_rows_wrong(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=2) @ v  # dim 2 of (B, H, T, T) is the query axis


def softmax_over_heads(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=1) @ v


def zero_after_softmax(q, k, v):
    T, D = q.size(-2), q.size(-1)
    weights = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)
    return (weights * torch.tril(torch.ones(T, T))) @ v


def inf_after_softmax(q, k, v):
    T, D = q.size(-2), q.size(-1)
    weights = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)
    return weights.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf")) @ v


def q_times_k(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k / math.sqrt(D)  # forgot the transpose: only runs when T == D
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def k_times_qt(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = k @ q.transpose(-2, -1) / math.sqrt(D)
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def returns_tuple(q, k, v):
    return mg.causal_attention(q, k, v)  # (out, weights)


def wrong_shape(q, k, v):
    return good_attention(q, k, v).transpose(1, 2)  # (B, T, H, D)


def raises(q, k, v):
    return q @ v.transpose(-1, -3)


def modifies_inputs(q, k, v):
    q /= math.sqrt(q.size(-1))
    T = q.size(-2)
    scores = (q @ k.transpose(-2, -1)).masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


def several_mistakes(q, k, v):
    return F.softmax(q @ k.transpose(-2, -1), dim=-1) @ v  # no scaling and no mask


def stub(q, k, v):
    raise NotImplementedError("Bài tập: hãy viết phần này.")


@pytest.mark.parametrize(
    "fn",
    [
        good_attention,
        good_attention_big_negative,
        lambda q, k, v: mg.causal_attention(q, k, v)[0],
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    ],
)
def test_attention_right_answers_pass(fn):
    result = check_causal_attention(fn)
    assert result.passed and result.mistake is None, result.message
    assert str(result).startswith("✅") and result._repr_markdown_() == str(result)
    assert bool(result)


@pytest.mark.parametrize(
    "fn, key",
    [
        (no_scaling, "no_scaling"),
        (scale_by_d, "wrong_scale"),
        (mask_diagonal, "mask_diagonal"),
        (mask_inverted, "mask_inverted"),
        (mask_one_future, "mask_future"),
        (no_mask, "mask_future"),
        (softmax_rows_wrong, "softmax_wrong_axis"),
        (softmax_over_heads, "softmax_wrong_axis"),
        (zero_after_softmax, "mask_after_softmax"),
        (inf_after_softmax, "mask_after_softmax"),
        (q_times_k, "wrong_transpose"),
        (k_times_qt, "wrong_transpose"),
        (returns_tuple, "not_a_tensor"),
        (wrong_shape, "wrong_shape"),
        (raises, "exception"),
        (modifies_inputs, "modifies_inputs"),
        (several_mistakes, "wrong_values"),
    ],
)
def test_attention_mistakes_are_recognised(fn, key):
    result = check_causal_attention(fn)
    assert not result.passed
    assert result.mistake == key, (result.mistake, result.message)
    assert str(result).startswith("❌") and len(result.message) > 20


def test_attention_messages_are_vietnamese_and_concrete():
    assert "1/√D" in check_causal_attention(no_scaling).message
    assert "dim=-1" in check_causal_attention(softmax_rows_wrong).message
    assert "RuntimeError" in check_causal_attention(raises).message
    assert "tuple" in check_causal_attention(returns_tuple).message
    assert "Gợi ý" in check_causal_attention(several_mistakes).message


def test_stub_not_implemented_is_reraised_unchanged():
    with pytest.raises(NotImplementedError, match="Bài tập"):
        check_causal_attention(stub)


def test_checking_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    check_causal_attention(good_attention)
    assert torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------------- the generic engine
def test_check_function_generic():
    inputs = [(torch.tensor([1.0, -2.0]),), (torch.tensor([0.5]),)]
    assert check_function(lambda x: x.abs(), torch.abs, inputs).passed
    r = check_function(
        lambda x: x,
        torch.abs,
        inputs,
        {"forgot_abs": lambda x: x},
        messages={"forgot_abs": "Quên trị tuyệt đối."},
    )
    assert (r.mistake, r.message) == ("forgot_abs", "Quên trị tuyệt đối.")
    r = check_function(lambda x: x * 2, torch.abs, inputs, {"forgot_abs": [lambda x: x, lambda x: -x]})
    assert r.mistake == "wrong_values" and "sai lệch" in r.message
    assert check_function(lambda x: 3, lambda x: 4, [(1,)]).mistake == "wrong_values"
    assert check_function(lambda x: (x, x), lambda x: (x, x, x), [(1,)]).mistake == "wrong_length"
    assert check_function(lambda x: "a", lambda x: 4, [(1,)]).mistake == "wrong_type"
    with pytest.raises(ValueError):
        check_function(abs, abs, [])
    assert isinstance(check_function(abs, abs, [(1,)]), CheckResult)


# ---------------------------------------------------------------- parameter counts
def count_by_formula(c):
    C, L, V, T = c.n_embd, c.n_layer, c.vocab_size, c.block_size
    per_block = (
        2 * 2 * C  # ln_1, ln_2 (gamma, beta)
        + C * 3 * C
        + 3 * C  # c_attn
        + C * C
        + C  # attn.c_proj
        + C * 4 * C
        + 4 * C  # mlp.c_fc
        + 4 * C * C
        + C  # mlp.c_proj
    )
    return V * C + T * C + L * per_block + 2 * C  # wte (= lm_head), wpe, blocks, ln_f


def test_param_count_known_numbers():
    assert checks.count_parameters_meta(mg.GPTConfig.preset("gpt2")) == 124_439_808
    assert checks.count_parameters_meta(mg.GPTConfig.preset("gpt2-xl")) == 1_557_611_200
    assert count_by_formula(mg.GPTConfig.preset("gpt2-medium")) == 354_823_168


@pytest.mark.parametrize(
    "fn",
    [
        count_by_formula,
        checks.count_parameters_meta,
        lambda c: torch.tensor(count_by_formula(c)),
        lambda c: float(count_by_formula(c)),
    ],
)
def test_param_count_right_answers_pass(fn):
    result = check_param_count(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "fn, key",
    [
        (lambda c: count_by_formula(c) + c.vocab_size * c.n_embd, "tied_head_counted_twice"),
        (lambda c: count_by_formula(c) - 9 * c.n_embd * c.n_layer, "missing_biases"),
        (
            lambda c: count_by_formula(c) - 9 * c.n_embd * c.n_layer - (2 * c.n_layer + 1) * c.n_embd,
            "missing_biases",
        ),
        (lambda c: count_by_formula(c) - (2 * c.n_layer + 1) * 2 * c.n_embd, "missing_layernorm"),
        (lambda c: count_by_formula(c) - 2 * c.n_embd, "missing_layernorm"),
        (lambda c: count_by_formula(c) - c.block_size * c.n_embd, "missing_position_embeddings"),
        (lambda c: count_by_formula(c) + 1, "wrong_values"),
        (lambda c: "124M", "wrong_type"),
        (lambda c: c.n_params, "exception"),
    ],
)
def test_param_count_mistakes(fn, key):
    result = check_param_count(fn)
    assert result.mistake == key and not result.passed, (result.mistake, result.message)


def test_param_count_custom_configs():
    untied = mg.GPTConfig(
        vocab_size=50, block_size=8, n_layer=2, n_head=2, n_embd=16, tie_weights=False, bias=False
    )
    assert check_param_count(checks.count_parameters_meta, [untied]).passed
    assert not check_param_count(count_by_formula, [untied]).passed


# ---------------------------------------------------------------- Q, K, V split
def split_right(w):
    C = w.shape[1]
    return w[:C], w[C : 2 * C], w[2 * C :]


def test_qkv_split_right_answers_pass():
    assert check_qkv_split(split_right).passed
    assert check_qkv_split(lambda w: w.chunk(3, dim=0)).passed  # a tuple of views is fine
    assert check_qkv_split(lambda w: list(w.split(w.shape[1]))).passed


def test_qkv_split_matches_the_model():
    config = mg.GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=12)
    attn = mg.CausalSelfAttention(config)
    x = torch.randn(1, 4, 12)
    Wq, Wk, Wv = split_right(attn.c_attn.weight)
    bq, bk, bv = attn.c_attn.bias.split(12)
    q, k, v = attn.c_attn(x).split(12, dim=2)
    assert torch.allclose(x @ Wq.T + bq, q, atol=1e-6)  # (assert_close imports torch._dynamo: seconds)
    assert torch.allclose(x @ Wv.T + bv, v, atol=1e-6)


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
