"""Checkers of lessons 15 and 16 (models): the right answer passes, every mistake is named."""

import pytest
import torch
import torch.nn.functional as F

from minigpt_lib.checks import check_next_token_logits, check_pre_post_ln


def next_token_logits(model, idx):
    idx = idx[:, -model.config.block_size :]
    with torch.no_grad():
        return model(idx)[:, -1, :]


def with_crop(crop, position=-1, probs=False):
    def f(model, idx):
        logits = model(crop(idx, model.config.block_size))[:, position]
        return F.softmax(logits, -1) if probs else logits

    return f


NEXT_LOGITS_MUTANTS = {
    "no_crop": lambda model, idx: model(idx)[:, -1, :],
    "crop_keeps_first_tokens": with_crop(lambda idx, bs: idx[:, :bs]),
    "first_position": with_crop(lambda idx, bs: idx[:, -bs:], position=0),
    "returns_probabilities": with_crop(lambda idx, bs: idx[:, -bs:], probs=True),
}


def test_next_token_logits_passes():
    assert check_next_token_logits(next_token_logits).passed
    assert check_next_token_logits(
        lambda m, idx: m(idx[:, max(0, idx.size(1) - 8) :])[:, -1]
    ).passed  # with grad


@pytest.mark.parametrize("key", list(NEXT_LOGITS_MUTANTS))
def test_next_token_logits_mistakes(key):
    result = check_next_token_logits(NEXT_LOGITS_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


def test_all_positions_is_a_shape_mistake():
    result = check_next_token_logits(lambda m, idx: m(idx[:, -m.config.block_size :]))
    assert result.mistake == "wrong_shape"


def pre_ln_sublayer(x, ln, f):
    return x + f(ln(x))


def post_ln_sublayer(x, ln, f):
    return ln(x + f(x))


PRE_POST_MUTANTS = {
    "swapped": (post_ln_sublayer, pre_ln_sublayer),
    "pre_ln_adds_normalized_x": (lambda x, ln, f: ln(x) + f(ln(x)), post_ln_sublayer),
    "pre_ln_no_residual": (lambda x, ln, f: f(ln(x)), post_ln_sublayer),
    "post_ln_normalizes_branch_only": (pre_ln_sublayer, lambda x, ln, f: x + ln(f(x))),
}


def test_pre_post_ln_passes():
    assert check_pre_post_ln(pre_ln_sublayer, post_ln_sublayer).passed


@pytest.mark.parametrize("key", list(PRE_POST_MUTANTS))
def test_pre_post_ln_mistakes(key):
    result = check_pre_post_ln(*PRE_POST_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


def test_a_branch_that_changes_the_callers_layernorm_is_reported():
    def post(x, ln, f):
        out = ln(x + f(x))
        with torch.no_grad():
            ln.weight.fill_(1.0)
        return out

    result = check_pre_post_ln(pre_ln_sublayer, post)
    assert result.mistake == "modifies_inputs", result.message
