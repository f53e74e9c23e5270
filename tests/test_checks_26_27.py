"""check_component_counts (lesson 27): accepts the reference and names each typical mistake."""

from __future__ import annotations

import pytest

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import check_component_counts


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
