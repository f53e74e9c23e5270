"""Checkers of lessons 03, 04, 09 (building_blocks): the right answer passes, every mistake is named."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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
        return (
            self.weight * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + self.eps)
            + self.bias
        )


class LNEpsOutside(MyLayerNorm):
    def forward(self, x):
        std = x.std(-1, keepdim=True, unbiased=False)
        return self.weight * (x - x.mean(-1, keepdim=True)) / (std + self.eps) + self.bias


class LNNoAffine(MyLayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps)


class LNNoEps(MyLayerNorm):
    def forward(self, x):
        return (
            self.weight * (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False) + self.bias
        )


class LNAxis0(MyLayerNorm):
    def forward(self, x):
        return (
            self.weight
            * (x - x.mean(0, keepdim=True))
            / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + self.eps)
            + self.bias
        )


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
