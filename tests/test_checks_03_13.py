"""Checkers of lessons 03-13: the notebook's reference solution passes, each named mistake is recognised by its key,
and a stub's NotImplementedError passes through."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import minigpt_lib as mg
from minigpt_lib import checks


def stub(*args, **kwargs):
    raise NotImplementedError("Bài tập: hãy viết phần này.")


def assert_mistake(result, key):
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
    assert result.message


# ---------------------------------------------------------------- 03 linear_as_embedding
def linear_as_embedding(linear):
    weight = linear.weight.detach().T.clone()
    if linear.bias is not None:
        weight += linear.bias.detach()
    return nn.Embedding.from_pretrained(weight, freeze=False)


def lae_no_transpose(linear):
    return nn.Embedding.from_pretrained(linear.weight.detach().clone())


def lae_ignores_bias(linear):
    return nn.Embedding.from_pretrained(linear.weight.detach().T.clone())


def lae_returns_weight(linear):
    return linear.weight.detach().T.clone()


def test_linear_as_embedding():
    assert checks.check_linear_as_embedding(linear_as_embedding).passed
    assert_mistake(checks.check_linear_as_embedding(lae_no_transpose), "no_transpose")
    assert_mistake(checks.check_linear_as_embedding(lae_ignores_bias), "ignores_bias")
    assert_mistake(checks.check_linear_as_embedding(lae_returns_weight), "not_embedding")


# ---------------------------------------------------------------- 04 gelu_tanh_grad
def gelu_tanh_grad(x):
    c = math.sqrt(2.0 / math.pi)
    t = torch.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * c * (1.0 + 3 * 0.044715 * x**2)


def gelu_no_product_rule(x):
    return 0.5 * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_constant_du(x):
    c = math.sqrt(2.0 / math.pi)
    t = torch.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * c


def gelu_no_tanh_derivative(x):
    c = math.sqrt(2.0 / math.pi)
    t = torch.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * c * (1.0 + 3 * 0.044715 * x**2)


def gelu_exact(x):
    x = x.detach().clone().requires_grad_()
    F.gelu(x).sum().backward()
    return x.grad


def test_gelu_tanh_grad():
    assert checks.check_gelu_tanh_grad(gelu_tanh_grad).passed
    assert_mistake(checks.check_gelu_tanh_grad(gelu_no_product_rule), "no_product_rule")
    assert_mistake(checks.check_gelu_tanh_grad(gelu_constant_du), "constant_du_dx")
    assert_mistake(checks.check_gelu_tanh_grad(gelu_no_tanh_derivative), "no_tanh_derivative")
    assert_mistake(checks.check_gelu_tanh_grad(gelu_exact), "exact_gelu_derivative")


# ---------------------------------------------------------------- 05 temperature_for_entropy
def entropy(p):
    return -(p * torch.log(p.clamp_min(1e-300))).sum(dim=-1)


def make_temperature(op=lambda z, t: z / t, inverted=False, bits=False, log_t=False, as_tensor=False):
    def temperature_for_entropy(logits, target):
        z = logits.double()
        lo, hi = math.log(1e-3), math.log(1e4)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            h = entropy(F.softmax(op(z, math.exp(mid)), dim=-1)) / (math.log(2) if bits else 1.0)
            if (h < target) != inverted:
                lo = mid
            else:
                hi = mid
        if as_tensor:
            return torch.tensor(math.exp(0.5 * (lo + hi)))
        return 0.5 * (lo + hi) if log_t else math.exp(0.5 * (lo + hi))

    return temperature_for_entropy


def test_temperature_for_entropy():
    assert checks.check_temperature_for_entropy(make_temperature()).passed
    mult = make_temperature(op=lambda z, t: z * t, inverted=True)  # entropy falls with T when multiplying
    assert_mistake(checks.check_temperature_for_entropy(mult), "multiplies_instead_of_divides")
    assert_mistake(checks.check_temperature_for_entropy(make_temperature(inverted=True)), "search_inverted")
    assert_mistake(checks.check_temperature_for_entropy(make_temperature(bits=True)), "entropy_in_bits")
    assert_mistake(checks.check_temperature_for_entropy(make_temperature(log_t=True)), "returns_log_t")
    assert_mistake(checks.check_temperature_for_entropy(make_temperature(as_tensor=True)), "not_a_float")


# ---------------------------------------------------------------- 06 sample_by_cdf
def make_cdf(normalize=True, shift=0, dtype=torch.float64, use_generator=True, multinomial=False):
    def sample_by_cdf(weights, num_samples, generator=None):
        if multinomial:
            return torch.multinomial(weights, num_samples, replacement=True, generator=generator)
        cdf = torch.cumsum(weights.double(), dim=0)
        if normalize:
            cdf = cdf / cdf[-1]
        u = torch.rand(num_samples, generator=generator if use_generator else None, dtype=dtype)
        return torch.searchsorted(cdf, u.double(), right=True) + shift

    return sample_by_cdf


def test_sample_by_cdf():
    state = torch.get_rng_state()
    assert checks.check_sample_by_cdf(make_cdf()).passed
    assert checks.check_sample_by_cdf(make_cdf(dtype=torch.float32)).passed  # float32 u: other draws, same law
    assert torch.equal(torch.get_rng_state(), state), "the check must not move the global RNG"
    assert_mistake(checks.check_sample_by_cdf(make_cdf(normalize=False)), "not_normalized")
    assert_mistake(checks.check_sample_by_cdf(make_cdf(shift=1)), "off_by_one")
    assert_mistake(checks.check_sample_by_cdf(make_cdf(shift=-1)), "off_by_one")
    assert_mistake(checks.check_sample_by_cdf(make_cdf(use_generator=False)), "ignores_generator")
    assert_mistake(checks.check_sample_by_cdf(make_cdf(multinomial=True)), "uses_multinomial")


# ---------------------------------------------------------------- 07 sample_token
def make_sample_token(greedy=True, multiply=False, p_first=False, use_generator=True):
    def sample_token(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
        if greedy and temperature == 0:
            return logits.argmax(dim=-1, keepdim=True)
        logits = logits * temperature if multiply else logits / temperature
        if p_first and top_p is not None:
            logits = mg.top_p_filter(logits, top_p)
        if top_k is not None:
            logits = mg.top_k_filter(logits, top_k)
        if not p_first and top_p is not None:
            logits = mg.top_p_filter(logits, top_p)
        probs = F.softmax(logits, dim=-1)
        return torch.multinomial(probs, num_samples=1, generator=generator if use_generator else None)

    return sample_token


def test_sample_token():
    assert checks.check_sample_token(make_sample_token()).passed
    assert_mistake(checks.check_sample_token(make_sample_token(greedy=False)), "greedy_not_handled")
    assert_mistake(checks.check_sample_token(make_sample_token(multiply=True)), "multiplies_instead_of_divides")
    assert_mistake(checks.check_sample_token(make_sample_token(p_first=True)), "top_p_before_top_k")
    assert_mistake(checks.check_sample_token(make_sample_token(use_generator=False)), "ignores_generator")


# ---------------------------------------------------------------- 08 stable_log_softmax
def stable_log_softmax(x):
    m = x.max(dim=-1, keepdim=True).values
    shifted = x - m
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))


def lsm_no_max(x):
    return x - torch.log(torch.exp(x).sum(dim=-1, keepdim=True))


def lsm_dim0(x):
    m = x.max(dim=0, keepdim=True).values
    return (x - m) - torch.log(torch.exp(x - m).sum(dim=0, keepdim=True))


def lsm_global_max(x):
    m = x.max()
    return (x - m) - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))


def lsm_log_of_softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return torch.log(e / e.sum(dim=-1, keepdim=True))


def lsm_forgot_log(x):
    m = x.max(dim=-1, keepdim=True).values
    return (x - m) - torch.exp(x - m).sum(dim=-1, keepdim=True)


def test_stable_log_softmax():
    assert checks.check_stable_log_softmax(stable_log_softmax).passed
    assert_mistake(checks.check_stable_log_softmax(lsm_no_max), "no_max_subtraction")
    assert_mistake(checks.check_stable_log_softmax(lsm_dim0), "wrong_axis")
    assert_mistake(checks.check_stable_log_softmax(lsm_global_max), "global_max")
    assert_mistake(checks.check_stable_log_softmax(lsm_log_of_softmax), "log_of_softmax")
    assert_mistake(checks.check_stable_log_softmax(lsm_forgot_log), "forgot_log")


# ---------------------------------------------------------------- 09 MyLayerNorm
class MyLayerNorm(nn.Module):
    def __init__(self, n_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_features))
        self.bias = nn.Parameter(torch.zeros(n_features))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


class LNUnbiased(MyLayerNorm):
    def forward(self, x):
        return self.weight * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + self.eps) + self.bias


class LNEpsOutside(MyLayerNorm):
    def forward(self, x):
        std = x.std(-1, keepdim=True, unbiased=False)
        return self.weight * (x - x.mean(-1, keepdim=True)) / (std + self.eps) + self.bias


class LNNoAffine(MyLayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps)


class LNNoEps(MyLayerNorm):
    def forward(self, x):
        return self.weight * (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False) + self.bias


class LNAxis0(MyLayerNorm):
    def forward(self, x):
        return self.weight * (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + self.eps) + self.bias


class LNPlainTensors(MyLayerNorm):
    def __init__(self, n_features, eps=1e-5):
        nn.Module.__init__(self)
        self.eps, self.gamma, self.beta = eps, torch.ones(n_features), torch.zeros(n_features)


class LNWrongInit(MyLayerNorm):
    def __init__(self, n_features, eps=1e-5):
        super().__init__(n_features, eps)
        self.weight = nn.Parameter(torch.randn(n_features))


class LNStub(nn.Module):
    def __init__(self, n_features, eps=1e-5):
        super().__init__()
        raise NotImplementedError("Bài tập: hãy viết phần này.")


def test_layer_norm_module():
    assert checks.check_layer_norm_module(MyLayerNorm).passed
    assert_mistake(checks.check_layer_norm_module(LNUnbiased), "unbiased_variance")
    assert_mistake(checks.check_layer_norm_module(LNEpsOutside), "eps_outside_sqrt")
    assert_mistake(checks.check_layer_norm_module(LNNoAffine), "no_affine")
    assert_mistake(checks.check_layer_norm_module(LNNoEps), "no_eps")
    assert_mistake(checks.check_layer_norm_module(LNAxis0), "wrong_axis")
    assert_mistake(checks.check_layer_norm_module(LNPlainTensors), "wrong_parameters")
    assert_mistake(checks.check_layer_norm_module(LNWrongInit), "wrong_init")
    with pytest.raises(NotImplementedError):
        checks.check_layer_norm_module(LNStub)


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


# ---------------------------------------------------------------- stubs stop the notebook
@pytest.mark.parametrize(
    "checker",
    [
        checks.check_linear_as_embedding,
        checks.check_gelu_tanh_grad,
        checks.check_temperature_for_entropy,
        checks.check_sample_by_cdf,
        checks.check_sample_token,
        checks.check_stable_log_softmax,
        checks.check_layer_norm_module,
        checks.check_model2_num_params,
        checks.check_window_average_matrix,
        checks.check_recency_weights,
        checks.check_soft_lookup,
    ],
)
def test_not_implemented_passes_through(checker):
    with pytest.raises(NotImplementedError):
        checker(stub)
