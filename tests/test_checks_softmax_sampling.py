"""Checkers of lessons 05-08 (softmax_sampling): the right answer passes, every mistake is named."""

import math

import torch
import torch.nn.functional as F

import minigpt_lib as mg
from minigpt_lib import checks


def assert_mistake(result, key):
    assert not result.passed and result.mistake == key, (result.mistake, result.message)
    assert result.message


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
    assert checks.check_sample_by_cdf(
        make_cdf(dtype=torch.float32)
    ).passed  # float32 u: other draws, same law
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
    assert_mistake(
        checks.check_sample_token(make_sample_token(multiply=True)), "multiplies_instead_of_divides"
    )
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
