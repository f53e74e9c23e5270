"""Checkers of lessons 10, 26, 27 (parameters): the right answer passes, every mistake is named."""

from __future__ import annotations

import pytest
import torch

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import (
    check_component_counts,
    check_param_count,
)


def assert_mistake(result, key):
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
    assert result.message


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


# ---------------------------------------------------------------- 10 model2_num_params
def model2_num_params(vocab_size, n_embd, block_size, tied=True):
    n = vocab_size * n_embd + block_size * n_embd + 2 * n_embd
    return n if tied else n + vocab_size * n_embd


def test_model2_num_params():
    assert checks.check_model2_num_params(model2_num_params).passed
    V_d = lambda V, d, L, tied: V * d  # noqa: E731
    cases = {
        "unembedding_always_counted": lambda V, d, L, tied: 2 * V * d + L * d + 2 * d,
        "unembedding_never_counted": lambda V, d, L, tied: V * d + L * d + 2 * d,
        "missing_layernorm": lambda V, d, L, tied: V_d(V, d, L, tied) * (1 if tied else 2) + L * d,
        "layernorm_gamma_only": lambda V, d, L, tied: V * d * (1 if tied else 2) + L * d + d,
        "missing_position_embeddings": lambda V, d, L, tied: V * d * (1 if tied else 2) + 2 * d,
    }
    for key, fn in cases.items():
        assert_mistake(checks.check_model2_num_params(fn), key)


def counts_by_formula(c):
    V, T, L, D = c.vocab_size, c.block_size, c.n_layer, c.n_embd
    return {
        "embeddings": V * D + T * D,
        "attention_weights": L * 4 * D * D,
        "attention_biases": L * 4 * D,
        "mlp_weights": L * 8 * D * D,
        "mlp_biases": L * 5 * D,
        "layernorm": (2 * L + 1) * 2 * D,
    }


def changed(**deltas):
    def fn(c):
        out = counts_by_formula(c)
        for key, delta in deltas.items():
            out[key] += delta(c)
        return out

    return fn


def test_reference_matches_known_numbers():
    got = counts_by_formula(mg.GPTConfig.preset("gpt2"))
    assert got["layernorm"] == 38_400
    assert sum(got.values()) == 124_439_808
    assert checks._component_counts_reference(mg.GPTConfig.preset("gpt2")) == tuple(
        got[k] for k in checks.COMPONENT_KEYS
    )


@pytest.mark.parametrize(
    "fn",
    [
        counts_by_formula,
        lambda c: {k: float(v) for k, v in counts_by_formula(c).items()},
        lambda c: dict(reversed(list(counts_by_formula(c).items()))),
    ],
)
def test_right_answers_pass(fn):
    result = check_component_counts(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "fn, key",
    [
        (changed(embeddings=lambda c: -c.block_size * c.n_embd), "embeddings_without_positions"),
        (changed(embeddings=lambda c: c.vocab_size * c.n_embd), "tied_head_counted_twice"),
        (
            changed(
                attention_biases=lambda c: c.n_layer * c.n_embd, layernorm=lambda c: -c.n_layer * c.n_embd
            ),
            "layernorm_bias_as_attention_bias",
        ),
        (
            changed(
                attention_biases=lambda c: (2 * c.n_layer + 1) * c.n_embd,
                layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd,
            ),
            "layernorm_bias_as_attention_bias",
        ),
        (
            changed(
                attention_weights=lambda c: -c.n_layer * c.n_embd**2,
                attention_biases=lambda c: -c.n_layer * c.n_embd,
            ),
            "attention_without_output_projection",
        ),
        (changed(mlp_weights=lambda c: -6 * c.n_layer * c.n_embd**2), "mlp_without_expansion"),
        (changed(mlp_biases=lambda c: -c.n_layer * c.n_embd), "mlp_biases_wrong"),
        (changed(layernorm=lambda c: -2 * c.n_embd), "layernorm_missing_final_or_beta"),
        (changed(layernorm=lambda c: -(2 * c.n_layer + 1) * c.n_embd), "layernorm_missing_final_or_beta"),
        (changed(mlp_weights=lambda c: 1), "wrong_values"),
        (lambda c: {k: v for k, v in counts_by_formula(c).items() if k != "layernorm"}, "wrong_keys"),
        (lambda c: sum(counts_by_formula(c).values()), "wrong_type"),
        (lambda c: c.n_params, "exception"),
    ],
)
def test_mistakes_are_named(fn, key):
    result = check_component_counts(fn)
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


def test_wrong_values_names_the_component():
    result = check_component_counts(changed(mlp_weights=lambda c: 1))
    assert "'mlp_weights'" in result.message


def test_stub_error_propagates():
    def stub(c):
        raise NotImplementedError("Bài tập: hãy viết phần này.")

    with pytest.raises(NotImplementedError):
        check_component_counts(stub)


# ---------------------------------------------------------------- 17: block_param_count
def block_param_count(D, bias=True):
    weights = 3 * D * D + D * D + 4 * D * D + 4 * D * D
    layer_norms = 2 * D
    if bias:
        weights += 3 * D + D + 4 * D + D
        layer_norms += 2 * D
    return weights + layer_norms


BLOCK_MUTANTS = {
    "missing_layernorm": lambda D, bias=True: 12 * D * D + (9 * D if bias else 0),
    "missing_layernorm_beta": lambda D, bias=True: 12 * D * D + 2 * D + (9 * D if bias else 0),
    "missing_linear_biases": lambda D, bias=True: 12 * D * D + (4 * D if bias else 2 * D),
    "bias_flag_ignored": lambda D, bias=True: 12 * D * D + 13 * D,
    "mlp_without_expansion": lambda D, bias=True: 6 * D * D + (2 * D + 6 * D + 2 * D if bias else 2 * D),
}


def test_block_param_count_passes():
    assert checks.check_block_param_count(block_param_count).passed


@pytest.mark.parametrize("key", list(BLOCK_MUTANTS))
def test_block_param_count_mistakes(key):
    assert_mistake(checks.check_block_param_count(BLOCK_MUTANTS[key]), key)


# ---------------------------------------------------------------- 18: count_model4_params
def count_model4_params(V, T, C, L, bias=True, tied=True):
    def linear(n_in, n_out):
        return n_in * n_out + (n_out if bias else 0)

    layer_norm = 2 * C if bias else C
    block = 2 * layer_norm + linear(C, 3 * C) + linear(C, C) + linear(C, 4 * C) + linear(4 * C, C)
    return V * C + T * C + L * block + layer_norm + (0 if tied else V * C)


def model4_plus(delta):
    return lambda V, T, C, L, bias=True, tied=True: (
        count_model4_params(V, T, C, L, bias, tied) + delta(V, T, C, L, bias, tied)
    )


MODEL4_MUTANTS = {
    "head_counted_when_tied": model4_plus(lambda V, T, C, L, bias, tied: V * C if tied else 0),
    "head_never_counted": model4_plus(lambda V, T, C, L, bias, tied: 0 if tied else -V * C),
    "head_with_bias": model4_plus(lambda V, T, C, L, bias, tied: 0 if tied else V),
    "missing_final_layernorm": model4_plus(lambda V, T, C, L, bias, tied: -(2 * C if bias else C)),
    "missing_position_embeddings": model4_plus(lambda V, T, C, L, bias, tied: -T * C),
    "bias_flag_ignored": lambda V, T, C, L, bias=True, tied=True: count_model4_params(V, T, C, L, True, tied),
}


def test_model4_params_passes():
    assert checks.check_model4_params(count_model4_params).passed


@pytest.mark.parametrize("key", list(MODEL4_MUTANTS))
def test_model4_params_mistakes(key):
    assert_mistake(checks.check_model4_params(MODEL4_MUTANTS[key]), key)


# ---------------------------------------------------------------- 21: head_flop_share
def head_flop_share(V, C, L, T):
    head = 2 * C * V
    blocks = L * (2 * 12 * C**2 + 2 * 2 * T * C)
    return head / (head + blocks)


HEAD_SHARE_MUTANTS = {
    "no_attention_term": lambda V, C, L, T: 2 * C * V / (2 * C * V + L * 24 * C * C),
    "blocks_not_times_layers": lambda V, C, L, T: 2 * C * V / (2 * C * V + 24 * C * C + 4 * T * C),
    "head_over_blocks": lambda V, C, L, T: 2 * C * V / (L * (24 * C * C + 4 * T * C)),
    "percent": lambda V, C, L, T: 100 * head_flop_share(V, C, L, T),
}


def test_head_flop_share_passes():
    assert checks.check_head_flop_share(head_flop_share).passed


@pytest.mark.parametrize("key", list(HEAD_SHARE_MUTANTS))
def test_head_flop_share_mistakes(key):
    assert_mistake(checks.check_head_flop_share(HEAD_SHARE_MUTANTS[key]), key)
