"""Lesson 22's time_gpt2 checker accepts the reference and names each mistake (fake models, no GPU needed)."""

import statistics
import time

import pytest
import torch

import minigpt_lib as mg
from minigpt_lib import checks
from minigpt_lib.checks import check_time_gpt2


def make_timer(
    warmup=1,
    no_grad=True,
    sync="library",
    summary=statistics.median,
    timed=None,
    result=None,
):
    """A family of time_gpt2 implementations: the reference and each typical mistake."""

    def do_sync(device):
        if sync in ("library", "stop_before_sync"):
            mg.device.synchronize(device)
        elif sync == "always_cuda":
            torch.cuda.synchronize()

    def time_gpt2(model, idx, device, repeats=5):
        times = []
        with torch.no_grad() if no_grad else torch.enable_grad():
            for _ in range(warmup):
                model(idx)
            for _ in range(repeats if timed is None else timed):
                do_sync(device)
                start = time.perf_counter()
                model(idx)
                if sync == "stop_before_sync":  # the clock stops before the GPU is done
                    times.append(time.perf_counter() - start)
                    do_sync(device)
                    continue
                do_sync(device)
                times.append(time.perf_counter() - start)
        if result == "list":
            return times
        if result == "tensor":
            return torch.tensor(statistics.median(times))
        if result == "milliseconds":
            return statistics.median(times) * 1e3
        return summary(times)

    return time_gpt2


def time_gpt2_inference_mode_three_warmups(model, idx, device, repeats=5):
    times = []
    with torch.inference_mode():
        for _ in range(3):
            model(idx)
        for _ in range(repeats):
            mg.device.synchronize(device)
            start = time.perf_counter()
            model(idx)
            mg.device.synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_gpt2_with_time_it(model, idx, device, repeats=5):
    def forward():
        with torch.no_grad():
            model(idx)

    return mg.time_it(forward, device, repeats=repeats, warmup=1)


def time_gpt2_first_call_timed(model, idx, device, repeats=5):
    """Warms up, but keeps the warm-up's time too."""
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            mg.device.synchronize(device)
            start = time.perf_counter()
            model(idx)
            mg.device.synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_gpt2_raises(model, idx, device, repeats=5):
    raise ValueError("oops")


def stub(model, idx, device, repeats=5):
    raise NotImplementedError("Bài tập: hãy viết phần này.")


@pytest.mark.parametrize(
    "fn",
    [
        make_timer(),
        make_timer(warmup=2),
        time_gpt2_inference_mode_three_warmups,
        time_gpt2_with_time_it,
    ],
)
def test_time_gpt2_right_answers_pass(fn):
    result = check_time_gpt2(fn)
    assert result.passed and result.mistake is None, result.message
    assert str(result).startswith("✅")


def _timer_syncing_when_cuda_available(model, idx, device, repeats=5):
    times = []
    with torch.no_grad():
        model(idx)
        for _ in range(repeats):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(idx)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_syncing_when_cuda_is_available_passes():
    result = check_time_gpt2(_timer_syncing_when_cuda_available)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "fn, key",
    [
        (make_timer(warmup=0), "no_warmup"),
        (time_gpt2_first_call_timed, "no_warmup"),
        (make_timer(sync="none"), "no_synchronize"),
        (make_timer(sync="stop_before_sync"), "no_synchronize"),
        (make_timer(sync="always_cuda"), "synchronize_on_cpu"),
        (make_timer(summary=statistics.mean), "mean_not_median"),
        (make_timer(summary=min), "min_not_median"),
        (make_timer(no_grad=False), "grad_enabled"),
        (make_timer(timed=5), "wrong_repeats"),
        (make_timer(timed=3), "wrong_repeats"),
        (make_timer(result="list"), "not_a_number"),
        (make_timer(result="tensor"), "not_a_number"),
        (make_timer(result="milliseconds"), "wrong_values"),
        (time_gpt2_raises, "exception"),
    ],
)
def test_time_gpt2_mistakes_are_recognised(fn, key):
    result = check_time_gpt2(fn)
    assert not result.passed
    assert result.mistake == key, (result.mistake, result.message)
    assert str(result).startswith("❌") and len(result.message) > 20


def test_time_gpt2_messages_are_concrete():
    assert "đồng hồ dừng" in check_time_gpt2(make_timer(sync="stop_before_sync")).message
    assert "không gọi synchronize" in check_time_gpt2(make_timer(sync="none")).message
    assert "statistics.median" in check_time_gpt2(make_timer(summary=statistics.mean)).message
    assert "torch.no_grad" in check_time_gpt2(make_timer(no_grad=False)).message
    assert "ValueError: oops" in check_time_gpt2(time_gpt2_raises).message
    assert "mili giây" in check_time_gpt2(make_timer(result="milliseconds")).message


def test_time_gpt2_restores_cuda_functions():
    sync, available = torch.cuda.synchronize, torch.cuda.is_available
    check_time_gpt2(make_timer())
    check_time_gpt2(time_gpt2_raises)
    with pytest.raises(NotImplementedError):
        check_time_gpt2(stub)
    assert torch.cuda.synchronize is sync and torch.cuda.is_available is available


def test_time_gpt2_stub_not_implemented_is_reraised_unchanged():
    with pytest.raises(NotImplementedError, match="Bài tập"):
        check_time_gpt2(stub)


# ---------------------------------------------------------------- 20: my_time_it
def make_my_time_it(
    warmup_calls=None, sync=True, summary=statistics.median, timed=None, scale=1.0, time_warmup=False
):
    def my_time_it(fn, device, repeats=5, warmup=1):
        times = []
        for _ in range(warmup if warmup_calls is None else warmup_calls):
            if time_warmup:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            else:
                fn()
        for _ in range(repeats if timed is None else timed):
            if sync:
                mg.device.synchronize(device)
            start = time.perf_counter()
            fn()
            if sync:
                mg.device.synchronize(device)
            times.append(time.perf_counter() - start)
        return summary(times) * scale if scale != 1.0 else summary(times)

    return my_time_it


MY_TIME_IT_MUTANTS = {
    "no_warmup": make_my_time_it(warmup_calls=0),
    "wrong_repeats": make_my_time_it(timed=5),
    "no_synchronize": make_my_time_it(sync=False),
    "warmup_timed": make_my_time_it(time_warmup=True),
    "mean_not_median": make_my_time_it(summary=statistics.mean),
    "min_not_median": make_my_time_it(summary=min),
    "milliseconds": make_my_time_it(scale=1e3),
    "not_a_number": make_my_time_it(summary=lambda times: times),
}


def test_my_time_it_passes_and_restores_synchronize():
    real = mg.device.synchronize
    assert checks.check_my_time_it(make_my_time_it()).passed
    assert mg.device.synchronize is real


@pytest.mark.parametrize("key", list(MY_TIME_IT_MUTANTS))
def test_my_time_it_mistakes(key):
    result = checks.check_my_time_it(MY_TIME_IT_MUTANTS[key])
    assert not result.passed and result.mistake == key, (result.mistake, result.message)


def test_the_schedule_tells_mean_from_median():
    timed = checks.timing.TIMER_SCHEDULE_S
    assert (
        statistics.mean(timed) >= 1.5 * statistics.median(timed)
        and min(timed) <= statistics.median(timed) / 1.5
    )
