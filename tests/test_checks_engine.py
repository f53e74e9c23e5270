"""The checkers' engine: check_function's generic verdicts, comparison, run_learner, the deadline."""

import pytest
import torch
import torch.nn.functional as F

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import CheckResult, check_causal_attention, check_function


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


# ---------------------------------------------------------------- what the reliability review found
def test_sampler_returning_float_ids_is_a_dtype_mistake():
    result = checks.check_sample_token(lambda *a, **k: mg.sample_next(*a, **k).float())
    assert not result.passed and result.mistake == "wrong_dtype", result.message
    assert "torch.float32" in result.message


def test_zeroing_the_callers_linear_is_caught_and_the_linear_survives():
    def linear_as_embedding(linear):
        table = linear.weight.T.detach().clone()
        if linear.bias is not None:
            table = table + linear.bias.detach()
        with torch.no_grad():
            linear.weight.zero_()  # vandalises the caller's layer
        return torch.nn.Embedding.from_pretrained(table)

    result = checks.check_linear_as_embedding(linear_as_embedding)
    assert not result.passed and result.mistake == "modifies_inputs", result.message
    assert "weight" in result.message


def test_fp16_answers_are_named_as_a_dtype_problem():
    result = check_causal_attention(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True).half()
    )
    assert result.mistake == "wrong_dtype" and "torch.float16" in result.message, result.message


def test_meta_device_answers_are_named():
    result = check_causal_attention(lambda q, k, v: q.to("meta"))
    assert result.mistake == "meta_device" and "meta" in result.message, result.message
    result = checks.check_stable_log_softmax(lambda x: torch.empty_like(x, device="meta"))
    assert result.mistake == "meta_device"


def test_compare_names_each_difference():
    x = torch.ones(2, 3)
    assert checks.compare(x.clone(), x) is None
    assert checks.compare([1], x)[0] == "not_a_tensor"
    assert checks.compare(x.to("meta"), x)[0] == "meta_device"
    assert checks.compare(torch.ones(3, 2), x)[0] == "wrong_shape"
    assert checks.compare(x.bfloat16(), x)[0] == "wrong_dtype"
    assert checks.compare(x.long(), x)[0] == "wrong_dtype"
    assert checks.compare(x.double(), x) is None  # more precision is fine
    assert checks.compare(x * 2, x)[0] == "wrong_values"
    assert checks.compare(torch.tensor([1.0]), torch.tensor([1]))[0] == "wrong_dtype"
    assert checks.compare(3, 3.0) is None and checks.compare(torch.tensor(7), 7) is None
    assert checks.compare("x", 3)[0] == "wrong_type"


# ---------------------------------------------------------------- run_learner and the deadline
def test_run_learner_copies_inputs_and_restores_the_rng():
    x = torch.ones(3)
    torch.manual_seed(0)
    state = torch.get_rng_state()

    def f(t):
        t.mul_(2)
        return torch.rand(1)

    outcome = checks.run_learner(f, x)
    assert torch.equal(x, torch.ones(3)) and outcome.modified == "đầu vào thứ 1"
    assert torch.equal(torch.get_rng_state(), state)


def test_run_learner_stub_and_other_errors():
    with pytest.raises(NotImplementedError):
        checks.run_learner(lambda: (_ for _ in ()).throw(NotImplementedError(checks.STUB_MESSAGE)))
    outcome = checks.run_learner(lambda: 1 / 0)
    assert isinstance(outcome.error, ZeroDivisionError)


def test_deadline_interrupts_sleep_and_loops(monkeypatch):
    import time

    outcome = checks.run_learner(time.sleep, 30, seconds=0.2)
    assert outcome.timed_out

    def spin():
        while True:
            pass

    assert checks.run_learner(spin, seconds=0.2).timed_out
    assert checks.run_learner(lambda: 5, seconds=0.2).value == 5  # the timer is gone afterwards
    time.sleep(0.3)


def test_deadline_in_a_worker_thread():
    import threading

    results = []

    def spin():
        while True:
            pass

    thread = threading.Thread(target=lambda: results.append(checks.run_learner(spin, seconds=0.2)))
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and results[0].timed_out


def test_verdict_prints_once_and_raises_on_failure(capsys):
    ok = CheckResult(True, "Chính xác!")
    assert ok.verdict() is ok
    with pytest.raises(checks.CheckFailed):
        CheckResult(False, "Sai rồi.", "x").verdict()
    assert capsys.readouterr().out == "✅ Chính xác!\n❌ Sai rồi.\n"
