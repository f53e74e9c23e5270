import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt_lib import GPT, GPTConfig, Model2, generate, sample_next, top_k_filter, top_p_filter

logits_strategy = st.integers(min_value=0, max_value=10_000).map(
    lambda seed: torch.randn(3, 17, generator=torch.Generator().manual_seed(seed)) * 3
)


@settings(max_examples=60, deadline=None)
@given(logits_strategy)
def test_greedy_is_argmax(logits):
    assert torch.equal(sample_next(logits, temperature=0).squeeze(1), logits.argmax(-1))


@settings(max_examples=60, deadline=None)
@given(logits_strategy, st.integers(min_value=1, max_value=17))
def test_top_k_keeps_exactly_k(logits, k):
    kept = torch.isfinite(top_k_filter(logits, k))
    assert (kept.sum(-1) == k).all()
    # the kept ones are the k largest
    assert (logits.masked_fill(~kept, float("inf")).min(-1).values >= logits.topk(k).values[:, -1]).all()


@settings(max_examples=80, deadline=None)
@given(logits_strategy, st.floats(min_value=0.01, max_value=1.0))
def test_top_p_keeps_smallest_set_with_mass_p(logits, p):
    probs = logits.softmax(-1)
    kept = torch.isfinite(top_p_filter(logits, p))
    mass = (probs * kept).sum(-1)
    assert (mass >= p - 1e-6).all()
    # minimal: without its least likely kept token the mass falls below p
    least = probs.masked_fill(~kept, float("inf")).min(-1).values
    assert (mass - least < p + 1e-6).all()
    # the kept tokens are the most likely ones
    assert (probs.masked_fill(kept, -1).max(-1).values <= least + 1e-7).all()


@settings(max_examples=40, deadline=None)
@given(logits_strategy, st.floats(min_value=0.1, max_value=5.0), st.integers(1, 17), st.floats(0.05, 1.0))
def test_filtered_probabilities_sum_to_one(logits, temperature, k, p):
    filtered = top_p_filter(top_k_filter(logits / temperature, k), p)
    torch.testing.assert_close(filtered.softmax(-1).sum(-1), torch.ones(3))


def test_sampling_respects_filters_and_seed():
    logits = torch.tensor([[5.0, 4.0, 1.0, 0.0, -1.0]])
    draws = torch.cat([sample_next(logits, top_k=2, generator=torch.Generator().manual_seed(s)) for s in range(200)])
    assert set(draws.flatten().tolist()) <= {0, 1}
    a = sample_next(logits.repeat(50, 1), generator=torch.Generator().manual_seed(3))
    b = sample_next(logits.repeat(50, 1), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [dict(temperature=-1.0), dict(top_k=0), dict(top_p=0.0), dict(top_p=1.5)])
def test_bad_sampling_arguments(bad):
    with pytest.raises(ValueError):
        sample_next(torch.randn(1, 5), **bad)


CONFIG = GPTConfig(vocab_size=64, block_size=12, n_layer=2, n_head=2, n_embd=16)


@pytest.mark.parametrize("prompt_len, new", [(1, 30), (5, 3), (12, 10), (20, 5)])
def test_kv_cache_gives_identical_greedy_tokens(prompt_len, new):
    model = GPT(CONFIG).eval()
    idx = torch.randint(0, 64, (2, prompt_len))
    with_cache = generate(model, idx, new, temperature=0, use_cache=True)
    without = generate(model, idx, new, temperature=0, use_cache=False)
    assert with_cache.shape == (2, prompt_len + new)
    assert torch.equal(with_cache, without)


def test_kv_cache_logits_match_full_forward():
    model = GPT(CONFIG).eval()
    idx = torch.randint(0, 64, (1, 9))
    full = model(idx)
    cache = model.new_kv_cache()
    first = model(idx[:, :4], kv_cache=cache)  # a prompt of 4, then 2 + 3 tokens at a time
    second = model(idx[:, 4:6], kv_cache=cache)
    third = model(idx[:, 6:], kv_cache=cache)
    torch.testing.assert_close(torch.cat([first, second, third], 1), full, atol=1e-5, rtol=1e-5)


def test_generate_crops_context_for_models_without_cache():
    model = Model2(64, 16, 8).eval()
    out = generate(model, torch.randint(0, 64, (1, 20)), 5, temperature=0.8,
                   generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 25)


def test_generate_errors():
    with pytest.raises(ValueError, match="batch"):
        generate(GPT(CONFIG), torch.zeros(5, dtype=torch.long), 3)
