"""Parameter counts per component (exact GPT-2 numbers) and the forward hooks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from minigpt_lib import GPT, Block, GPTConfig, Model3
from minigpt_lib.analysis import (
    capture_activations,
    capture_attention,
    count_parameters,
    entropy,
    entropy_from_logits,
    parameter_shares,
)

GPT2_TOTALS = {
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "gpt2-large": 774_030_080,
    "gpt2-xl": 1_557_611_200,
}


@pytest.mark.parametrize("name", GPT2_TOTALS)
def test_gpt2_totals(name):
    counts = count_parameters(GPTConfig.preset(name))
    assert counts["total"] == GPT2_TOTALS[name]
    assert counts["lm_head"] == 0  # tied: the head is the token embedding, counted once
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]


def test_gpt2_small_shares():
    counts = count_parameters("gpt2")
    shares = parameter_shares(counts)
    assert round(shares["attention_weights"], 2) == 22.75
    assert round(shares["mlp_weights"], 2) == 45.50
    assert round(shares["token_embeddings"] + shares["position_embeddings"], 2) == 31.65
    assert counts["layernorm"] == 38_400
    assert counts["token_embeddings"] == 50257 * 768 and counts["position_embeddings"] == 1024 * 768
    assert counts["attention_biases"] == 12 * 4 * 768 and counts["mlp_biases"] == 12 * 5 * 768


def test_meta_counts_equal_real_model_and_untied_head():
    config = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, n_embd=16)
    real = GPT(config)
    assert count_parameters(real) == count_parameters(config)
    assert count_parameters(real)["total"] == real.num_parameters()
    untied = count_parameters(config.replace(tie_weights=False))
    assert untied["lm_head"] == 97 * 16
    assert untied["total"] == count_parameters(config)["total"] + 97 * 16
    assert count_parameters("nano")["total"] == 85_584


def test_count_other_models():
    counts = count_parameters(Model3(GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=1, n_embd=16)))
    assert counts["attention_weights"] == 3 * 16 * 16  # query, key, value of the single head
    assert counts["total"] == sum(
        p.numel()
        for p in Model3(GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=1, n_embd=16)).parameters()
    )


@pytest.fixture
def small():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=61, block_size=16, n_layer=3, n_head=2, n_embd=16)).eval()


def test_capture_attention(small):
    idx = torch.randint(0, 61, (2, 10))
    expected = small(idx)
    with capture_attention(small) as maps:
        logits = small(idx)
    torch.testing.assert_close(logits, expected)  # the manual path computes the same thing
    assert len(maps) == 3
    for w in maps:
        assert w.shape == (2, 2, 10, 10)
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 2, 10))
        assert torch.all(w.triu(diagonal=1) == 0)
    assert not any(b.attn.save_attention_weights for b in small.transformer.h)  # flags restored


def test_capture_attention_single_head():
    model = Model3(GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=1, n_embd=16))
    with capture_attention(model) as maps:
        model(torch.randint(0, 50, (3, 5)))
    assert maps[0].shape == (3, 1, 5, 5)
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(3, 1, 5))


def test_capture_activations_by_type_and_name(small):
    idx = torch.randint(0, 61, (2, 7))
    with capture_activations(small, Block) as acts:
        small(idx)
    assert list(acts) == ["transformer.h.0", "transformer.h.1", "transformer.h.2"]
    assert all(a.shape == (2, 7, 16) for a in acts.values())
    with capture_activations(small, ["transformer.h.1.mlp.gelu", "transformer.ln_f"]) as acts:
        small(idx)
    assert acts["transformer.h.1.mlp.gelu"].shape == (2, 7, 64)
    torch.testing.assert_close(acts["transformer.ln_f"] @ small.transformer.wte.weight.T, small(idx))
    with capture_activations(small, nn.LayerNorm) as acts:
        small(idx)
    assert len(acts) == 7  # ln_1 and ln_2 of 3 blocks, ln_f
    assert not small.transformer.ln_f._forward_hooks  # hooks removed
    with pytest.raises(ValueError, match="No module named"):
        with capture_activations(small, "transformer.h.9"):
            pass


def test_entropy_matches_torch_categorical():
    torch.manual_seed(0)
    logits = torch.randn(5, 7, 11, dtype=torch.float64) * 3
    expected = torch.distributions.Categorical(logits=logits).entropy()
    torch.testing.assert_close(entropy(torch.softmax(logits, -1)), expected)
    torch.testing.assert_close(entropy_from_logits(logits), expected)
    # along another dimension
    torch.testing.assert_close(
        entropy(torch.softmax(logits, 1), dim=1), entropy(torch.softmax(logits, 1).transpose(1, 2))
    )


def test_entropy_limits_zeros_and_masks():
    V = 50257
    assert abs(entropy(torch.full((V,), 1.0 / V, dtype=torch.float64)).item() - math.log(V)) < 1e-9
    assert entropy(torch.tensor([0.0, 1.0, 0.0])).item() == 0.0  # 0 ln 0 = 0, not NaN
    masked = torch.tensor([[0.0, float("-inf"), float("-inf")], [1.0, 1.0, float("-inf")]])
    torch.testing.assert_close(entropy_from_logits(masked), torch.tensor([0.0, math.log(2)]))
    huge = torch.tensor([1000.0, 0.0, -1000.0])  # softmax saturates; no overflow, no NaN
    assert entropy_from_logits(huge).item() == 0.0


def test_entropy_rejects_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        entropy(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match=">= 0"):
        entropy(torch.tensor([1.5, -0.5]))
    with pytest.raises(TypeError, match="floating-point"):
        entropy(torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating-point"):
        entropy_from_logits([0.0, 1.0])
