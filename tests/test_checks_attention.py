"""Checkers of lessons 11-14 (attention): the right answer passes, every mistake is named."""

import math

import pytest
import torch
import torch.nn.functional as F

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import (
    check_causal_attention,
)


def assert_mistake(result, key):
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
    assert result.message


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


# ---------------------------------------------------------------- 11 window_average_matrix
def window_average_matrix(T, w):
    ones = torch.ones(T, T)
    band = torch.tril(ones) - torch.tril(ones, diagonal=-w)
    return band / band.sum(dim=1, keepdim=True)


def window_wide(T, w):
    ones = torch.ones(T, T)
    band = torch.tril(ones) - torch.tril(ones, diagonal=-w - 1)
    return band / band.sum(dim=1, keepdim=True)


def window_by_w(T, w):
    ones = torch.ones(T, T)
    return (torch.tril(ones) - torch.tril(ones, diagonal=-w)) / w


def window_band(T, w):
    ones = torch.ones(T, T)
    return torch.tril(ones) - torch.tril(ones, diagonal=-w)


def window_triu(T, w):
    ones = torch.ones(T, T)
    band = torch.triu(ones) - torch.triu(ones, diagonal=w)
    return band / band.sum(dim=0, keepdim=True)


def test_window_average_matrix():
    assert checks.check_window_average_matrix(window_average_matrix).passed
    assert_mistake(checks.check_window_average_matrix(window_wide), "window_off_by_one")
    assert_mistake(checks.check_window_average_matrix(window_by_w), "divides_by_w")
    assert_mistake(checks.check_window_average_matrix(window_band), "not_normalized")
    assert_mistake(checks.check_window_average_matrix(window_triu), "looks_at_future")


# ---------------------------------------------------------------- 12 recency_weights
def make_recency(sign=-1.0, mask="before", dim=-1):
    def recency_weights(T, lam):
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        scores = sign * lam * (i - j).float()
        if mask == "before":
            scores = scores.masked_fill(j > i, float("-inf"))
        w = F.softmax(scores, dim=dim)
        return w.masked_fill(j > i, 0.0) if mask == "after" else w

    return recency_weights


def test_recency_weights():
    assert checks.check_recency_weights(make_recency()).passed
    assert_mistake(checks.check_recency_weights(make_recency(sign=1.0)), "sign_flipped")
    assert_mistake(checks.check_recency_weights(make_recency(mask="after")), "mask_after_softmax")
    assert_mistake(checks.check_recency_weights(make_recency(dim=0)), "softmax_wrong_axis")
    assert_mistake(checks.check_recency_weights(make_recency(mask=None)), "mask_future")


# ---------------------------------------------------------------- 13 soft_lookup
def soft_lookup(query, keys, values):
    weights = F.softmax(keys @ query / math.sqrt(query.size(-1)), dim=-1)
    return weights @ values, weights


def lookup_no_scale(query, keys, values):
    weights = F.softmax(keys @ query, dim=-1)
    return weights @ values, weights


def lookup_scale_d(query, keys, values):
    weights = F.softmax(keys @ query / query.size(-1), dim=-1)
    return weights @ values, weights


def lookup_swapped(query, keys, values):
    out, w = soft_lookup(query, keys, values)
    return w, out


def lookup_scores(query, keys, values):
    scores = keys @ query / math.sqrt(query.size(-1))
    return F.softmax(scores, dim=-1) @ values, scores


def test_soft_lookup():
    assert checks.check_soft_lookup(soft_lookup).passed
    assert_mistake(checks.check_soft_lookup(lookup_no_scale), "no_scaling")
    assert_mistake(checks.check_soft_lookup(lookup_scale_d), "wrong_scale")
    assert_mistake(checks.check_soft_lookup(lookup_swapped), "wrong_return_order")
    assert_mistake(checks.check_soft_lookup(lookup_scores), "returns_scores")


# ---------------------------------------------------------------- 14, exercise 1: attention_weights
def attention_weights(q, k):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
    return F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


def weights_with(scale=True, diagonal=1, dim=-1, after=False, kq=False):
    def f(q, k):
        T = q.size(-2)
        scores = (k @ q.transpose(-2, -1)) if kq else (q @ k.transpose(-2, -1))
        if scale:
            scores = scores / math.sqrt(q.size(-1))
        future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=diagonal)
        if after:
            return F.softmax(scores, dim=-1).masked_fill(future, 0.0)
        return F.softmax(scores.masked_fill(future, float("-inf")), dim=dim)

    return f


WEIGHTS_MUTANTS = {
    "no_scaling": weights_with(scale=False),
    "wrong_scale": lambda q, k: weights_with(scale=False)(
        q / math.sqrt(q.size(-1)), k / math.sqrt(q.size(-1))
    ),
    "mask_diagonal": weights_with(diagonal=0),
    "mask_inverted": lambda q, k: F.softmax(
        (q @ k.mT / math.sqrt(q.size(-1))).masked_fill(
            torch.ones(q.size(-2), q.size(-2)).tril() == 1, float("-inf")
        ),
        dim=-1,
    ),
    "mask_future": weights_with(diagonal=2),
    "softmax_wrong_axis": weights_with(dim=-2),
    "mask_after_softmax": weights_with(after=True),
    "wrong_transpose": weights_with(kq=True),
}


def test_attention_weights_passes():
    assert checks.check_attention_weights(attention_weights).passed


@pytest.mark.parametrize("key", list(WEIGHTS_MUTANTS))
def test_attention_weights_mistakes(key):
    result = checks.check_attention_weights(WEIGHTS_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


# ---------------------------------------------------------------- 19: split_heads, merge_heads
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(y):
    B, H, T, hs = y.shape
    return y.transpose(1, 2).contiguous().view(B, T, H * hs)


SPLIT_MERGE_MUTANTS = {
    "split_view_without_transpose": (
        lambda x, h: x.view(x.size(0), h, x.size(1), x.size(2) // h),
        merge_heads,
    ),
    "split_heads_interleaved": (
        lambda x, h: x.view(x.size(0), x.size(1), -1, h).permute(0, 3, 1, 2),
        merge_heads,
    ),
    "merge_view_without_transpose": (
        split_heads,
        lambda y: y.contiguous().view(y.size(0), y.size(2), -1),
    ),
}


def test_split_merge_passes():
    assert checks.check_split_merge_heads(split_heads, merge_heads).passed


@pytest.mark.parametrize("key", list(SPLIT_MERGE_MUTANTS))
def test_split_merge_mistakes(key):
    result = checks.check_split_merge_heads(*SPLIT_MERGE_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
