"""Checker of timing: lesson 22 (median time of a forward pass, on fake CPU and CUDA models)."""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .engine import (
    CheckResult,
    Mistake,
    Mistakes,
    as_number,
    checker,
    error_result,
    is_number,
    run_learner,
)

# ----------------------------------------------------------------------------------------------------------
# Timing a forward pass (lesson 22)
# ----------------------------------------------------------------------------------------------------------

# The hidden fake models sleep on a known schedule: the first call is slow (start-up), then 10, 20, 90 ms repeat, so
# any 3 or 7 consecutive calls after the first have a median of 20 ms, while their mean (36-47 ms), their min (10 ms)
# and a median that includes the first call differ from it by large factors.
TIME_FIRST_CALL_S = 0.1
TIME_SCHEDULE_S: tuple[float, ...] = (0.01, 0.02, 0.09)
TIME_REPEATS_CUDA = 3  # neither is 5 (the default): a hard-coded range(5) cannot pass
TIME_REPEATS_CPU = 7

TIME_GPT2_MISTAKES = Mistakes(
    Mistake(
        "no_warmup",
        "Thiếu warm-up: forward được gọi đúng `repeats` lần ({calls} lần với repeats = {repeats}), nên lần gọi đầu "
        "(chậm, lúc khởi động) bị tính vào. Hãy gọi `model(idx)` ít nhất một lần không đo, rồi mới đo `repeats` lần.",
    ),
    Mistake(
        "no_synchronize",
        "Thiếu synchronize quanh lần đo trên GPU: {detail} Trên GPU CUDA, `model(idx)` trả về ngay khi kernel vừa được "
        "xếp hàng; hãy gọi `mg.device.synchronize(device)` ngay trước khi bấm giờ và ngay sau khi `model(idx)` trả về, "
        "rồi mới đọc `time.perf_counter()`.",
    ),
    Mistake(
        "synchronize_on_cpu",
        "Với `device` là CPU, hàm vẫn gọi `torch.cuda.synchronize`: trên máy không có GPU CUDA lời gọi ấy báo lỗi. "
        "Hãy dùng `mg.device.synchronize(device)`: nó chỉ gọi `torch.cuda.synchronize` khi `device.type == 'cuda'`.",
    ),
    Mistake(
        "mean_not_median",
        "Kết quả {got_ms:.1f} ms là trung bình cộng các lần đo (≈ {mean_ms:.1f} ms), không phải trung vị "
        "(≈ {median_ms:.1f} ms): dùng `statistics.median(times)`, vì trung vị không bị một lần đo chậm bất thường kéo lệch.",
    ),
    Mistake(
        "min_not_median",
        "Kết quả {got_ms:.1f} ms là lần đo nhanh nhất (≈ {min_ms:.1f} ms), không phải trung vị (≈ {median_ms:.1f} ms): "
        "dùng `statistics.median(times)`.",
    ),
    Mistake(
        "grad_enabled",
        "Forward chạy khi gradient đang bật: hãy đặt cả warm-up lẫn các lần đo trong `with torch.no_grad():` "
        "(hoặc `torch.inference_mode()`), nếu không PyTorch giữ lại mọi kết quả trung gian cho backward.",
    ),
    Mistake(
        "wrong_repeats",
        "Số lần gọi forward không khớp với `repeats`: với repeats = {r1} forward được gọi {n1} lần, với repeats = {r2} "
        "được gọi {n2} lần. Cần một số lần warm-up cố định (ít nhất 1) cộng đúng `repeats` lần đo: dùng "
        "`range(repeats)`, đừng viết cứng số lần.",
    ),
    Mistake(
        "not_a_number",
        "Hàm phải trả về một số thực hữu hạn (số giây, vd. `statistics.median(times)`), nhận được {got}.",
    ),
    Mistake(
        "wrong_values",
        "Kết quả {got_ms:.3g} ms, trong khi trung vị đúng là ≈ {median_ms:.1f} ms.{hint}",
    ),
)


class _FakeTimedModel(torch.nn.Module):
    """A hidden "model" that sleeps on a schedule and records every call and its grad mode.

    On the fake CUDA device the forward only queues its work and returns at once, like a GPU; the fake
    ``torch.cuda.synchronize`` then sleeps until the queued work is done. On the CPU the forward sleeps itself.
    ``durations`` holds the measured length of each call's work (not the scheduled one), so that a learner's result
    is compared with what the sleeps really took, on however loaded a machine.
    """

    def __init__(self, log: list[str], asynchronous: bool):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.log, self.asynchronous = log, asynchronous
        self.grad_enabled: list[bool] = []
        self.durations: list[float] = []
        self.pending: list[int] = []  # calls queued on the fake GPU, not yet waited for

    @property
    def calls(self) -> int:
        return len(self.durations)

    def _scheduled(self, i: int) -> float:
        return TIME_FIRST_CALL_S if i == 0 else TIME_SCHEDULE_S[(i - 1) % len(TIME_SCHEDULE_S)]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        i = self.calls
        self.grad_enabled.append(torch.is_grad_enabled())
        self.log.append("forward")
        self.durations.append(self._scheduled(i))
        if self.asynchronous:
            self.pending.append(i)
        else:
            start = time.perf_counter()
            time.sleep(self._scheduled(i))
            self.durations[i] = time.perf_counter() - start
        return idx.float()

    def synchronize(self, *args, **kwargs) -> None:
        self.log.append("sync")
        if not self.asynchronous or not self.pending:
            return
        planned = sum(self.durations[i] for i in self.pending)
        start = time.perf_counter()
        time.sleep(planned)
        slept = time.perf_counter() - start
        for i in self.pending:  # share the real wait among the queued calls
            self.durations[i] *= slept / planned
        self.pending.clear()


@dataclass
class _TimingRun:
    device: str
    repeats: int
    model: _FakeTimedModel
    log: list[str]
    result: object = None
    error: BaseException | None = None


def _timing_run(fn: Callable, device: str, repeats: int) -> _TimingRun:
    """Run ``fn`` on a fresh fake model with ``torch.cuda.synchronize`` and ``is_available`` replaced (and restored)."""
    log: list[str] = []
    model = _FakeTimedModel(log, asynchronous=device == "cuda")
    run = _TimingRun(device, repeats, model, log)
    real_sync, real_available = torch.cuda.synchronize, torch.cuda.is_available
    try:
        torch.cuda.synchronize = model.synchronize  # a CUDA machine (fake GPU) and a machine without CUDA
        torch.cuda.is_available = lambda: device == "cuda"
        outcome = run_learner(
            fn,
            model,
            torch.zeros(1, 4, dtype=torch.long),
            torch.device(device),
            repeats=repeats,
            copy_inputs=False,
        )
        run.result, run.error = outcome.value, outcome.error
    finally:
        torch.cuda.synchronize, torch.cuda.is_available = real_sync, real_available
    return run


def _log_ratio(a: float, b: float) -> float:
    return abs(math.log(max(a, 1e-9) / max(b, 1e-9)))


@checker(lesson=22, mistakes=TIME_GPT2_MISTAKES)
def check_time_gpt2(fn: Callable) -> CheckResult:
    """Check ``fn(model, idx, device, repeats=5) -> float``, the median seconds of a forward pass (lesson 22).

    ``fn`` runs twice on hidden fake models that sleep on a known schedule: on a fake CUDA device (``repeats=3``;
    the forward returns at once and a replaced ``torch.cuda.synchronize`` waits for its work, like a real GPU) and
    on the CPU (``repeats=7``, as on a machine without CUDA: ``torch.cuda.synchronize`` must not be called).
    The real ``torch.cuda.synchronize`` and ``torch.cuda.is_available`` are restored afterwards.
    Recognised mistakes: the keys of ``TIME_GPT2_MISTAKES`` plus ``"exception"``.
    A ``NotImplementedError`` from ``fn`` (an exercise's stub) is re-raised.
    """
    runs = [_timing_run(fn, "cuda", TIME_REPEATS_CUDA), _timing_run(fn, "cpu", TIME_REPEATS_CPU)]
    for run in runs:
        if run.error is not None and not isinstance(run.error, Exception):  # the deadline
            return error_result(
                run.error, "Hàm time_gpt2", f" trên `{run.device}` với repeats = {run.repeats}"
            )
        if run.error is not None:
            hint = (
                " (thiết bị `cuda` ở đây là giả: `model` và `idx` đã nằm sẵn trên thiết bị, đừng chuyển chúng "
                "hay tạo tensor mới trên `device`)"
                if run.device == "cuda"
                else ""
            )
            return CheckResult(
                False,
                f"Hàm của bạn gây lỗi `{type(run.error).__name__}: {run.error}` khi đo một mô hình giả trên "
                f"`{run.device}` với repeats = {run.repeats}{hint}.",
                "exception",
            )
    for run in runs:
        r = run.result
        if not is_number(r) or not math.isfinite(float(r)) or float(r) < 0:
            got = f"{type(r).__name__} {r!r}" if is_number(r) else type(r).__name__
            if isinstance(r, torch.Tensor):
                got += " (dùng `.item()` hay `statistics.median` trên một list số thực)"
            return TIME_GPT2_MISTAKES.fail("not_a_number", got=got)
    if any(any(run.model.grad_enabled) for run in runs):
        return TIME_GPT2_MISTAKES.fail("grad_enabled")
    cuda, cpu = runs
    if "sync" in cpu.log:
        return TIME_GPT2_MISTAKES.fail("synchronize_on_cpu")

    warmups = [run.model.calls - run.repeats for run in runs]
    if all(w == 0 for w in warmups):
        return TIME_GPT2_MISTAKES.fail("no_warmup", calls=cuda.model.calls, repeats=cuda.repeats)
    consistent = warmups[0] == warmups[1] or warmups == [run.repeats for run in runs]  # fixed, or = repeats
    if min(warmups) < 1 or not consistent:
        return TIME_GPT2_MISTAKES.fail(
            "wrong_repeats", r1=cuda.repeats, n1=cuda.model.calls, r2=cpu.repeats, n2=cpu.model.calls
        )

    forwards = [i for i, entry in enumerate(cuda.log) if entry == "forward"]
    for i in forwards[-cuda.repeats :]:
        before = i > 0 and cuda.log[i - 1] == "sync"
        after = i + 1 < len(cuda.log) and cuda.log[i + 1] == "sync"
        if not (before and after):
            if "sync" not in cuda.log:
                detail = "với `device` là GPU CUDA, hàm không gọi synchronize lần nào."
            else:
                missing = " và ".join(w for w, ok in (("trước", before), ("sau", after)) if not ok)
                detail = f"có lần đo không được synchronize ngay {missing} `model(idx)`."
            return TIME_GPT2_MISTAKES.fail("no_synchronize", detail=detail)

    for run in runs:
        d = run.model.durations
        timed = d[-run.repeats :]
        median = statistics.median(timed)
        got = float(run.result)
        if run.device == "cuda" and got < 0.5 * min(timed):
            return TIME_GPT2_MISTAKES.fail(
                "no_synchronize",
                detail=(
                    f"kết quả {got * 1e3:.3g} ms ngắn hơn hẳn thời gian GPU chạy (≈ {median * 1e3:.0f} ms): "
                    "đồng hồ dừng trước khi synchronize chờ GPU xong."
                ),
            )
        candidates = [("ok", median)] + [
            (key, value)
            for key, value in (
                ("mean_not_median", statistics.mean(timed)),
                ("min_not_median", min(timed)),
                ("no_warmup", statistics.median(d)),  # the warm-up call was timed too
            )
            if _log_ratio(value, median) > math.log(1.5)  # only mistakes that the schedule tells apart
        ]
        distance = functools.partial(_log_ratio, got)
        key, value = min(candidates, key=lambda kv: distance(kv[1]))
        if key == "ok":
            continue
        fields = dict(
            got_ms=got * 1e3,
            median_ms=median * 1e3,
            mean_ms=statistics.mean(timed) * 1e3,
            min_ms=min(timed) * 1e3,
        )
        if distance(value) < math.log(1.3):
            if key == "no_warmup":
                return CheckResult(
                    False,
                    f"Kết quả {got * 1e3:.1f} ms (trung vị đúng ≈ {median * 1e3:.1f} ms): lần gọi warm-up (chậm) "
                    "cũng bị tính vào. Chỉ đo `repeats` lần gọi sau warm-up.",
                    "no_warmup",
                )
            return TIME_GPT2_MISTAKES.fail(key, **fields)
        hint = ""
        if 300 < got / median < 3000:
            hint = " Hàm phải trả về số giây, không phải mili giây."
        return TIME_GPT2_MISTAKES.fail("wrong_values", hint=hint, **fields)
    return CheckResult(
        True,
        "Chính xác! Trên hai mô hình giả (GPU CUDA giả và CPU), hàm chạy trong `no_grad`, warm-up trước khi đo, "
        "đo đúng `repeats` lần, synchronize quanh mỗi lần đo trên GPU (và không gọi `torch.cuda.synchronize` trên "
        "CPU), và trả về trung vị.",
    )


# ----------------------------------------------------------------------------------------------------------
# Lesson 20: a timer like mg.time_it (warm-up, synchronize, median)
# ----------------------------------------------------------------------------------------------------------

# The fake work sleeps 80 ms during the warm-up calls, then 10, 20, 90 ms in turn: the median of the timed calls
# (20 ms) differs from their mean (40 or 30 ms) and their minimum (10 ms), and timing the warm-up moves it too.
TIMER_WARMUP_CALL_S = 0.08
TIMER_SCHEDULE_S: tuple[float, ...] = (0.01, 0.02, 0.09)
TIMER_RUNS: tuple[tuple[int, int], ...] = (
    (3, 2),
    (5, 1),
)  # (repeats, warmup): neither is the default (5, 1) twice

MY_TIME_IT_MISTAKES = Mistakes(
    Mistake(
        "no_warmup",
        "Thiếu warm-up: `fn` chỉ được gọi {calls} lần với repeats = {repeats}, warmup = {warmup}. Hãy gọi `fn()` "
        "`warmup` lần mà không đo, rồi mới đo `repeats` lần.",
    ),
    Mistake(
        "wrong_repeats",
        "Số lần gọi `fn` không khớp: với repeats = {repeats}, warmup = {warmup} cần đúng {want} lần (warmup + "
        "repeats), hàm gọi {calls} lần. Dùng `range(warmup)` và `range(repeats)`, đừng viết cứng số lần.",
    ),
    Mistake(
        "no_synchronize",
        "Thiếu synchronize quanh lần đo: {detail} Gọi `mg.device.synchronize(device)` ngay trước khi bấm giờ và "
        "ngay sau khi `fn()` trả về (trên GPU, `fn()` trả về trước khi GPU làm xong).",
    ),
    Mistake(
        "warmup_timed",
        "Kết quả {got_ms:.1f} ms gồm cả các lần warm-up (chậm): chỉ đo `repeats` lần gọi SAU warm-up "
        "(trung vị đúng ≈ {median_ms:.1f} ms).",
    ),
    Mistake(
        "mean_not_median",
        "Kết quả {got_ms:.1f} ms là trung bình cộng các lần đo (≈ {mean_ms:.1f} ms), không phải trung vị "
        "(≈ {median_ms:.1f} ms): dùng `statistics.median(times)`; trung vị không bị một lần đo chậm kéo lệch.",
    ),
    Mistake(
        "min_not_median",
        "Kết quả {got_ms:.1f} ms là lần đo nhanh nhất (≈ {min_ms:.1f} ms), không phải trung vị "
        "(≈ {median_ms:.1f} ms): dùng `statistics.median(times)`.",
    ),
    Mistake(
        "milliseconds",
        "Kết quả {got:.3g} gấp khoảng 1000 lần trung vị tính bằng giây (≈ {median_s:.3g} s): hàm phải trả về "
        "số giây, không phải mili giây.",
    ),
    Mistake(
        "not_a_number",
        "Hàm phải trả về một số thực hữu hạn (số giây, vd. `statistics.median(times)`), nhận được {got}.",
    ),
)


class _FakeWork:
    """``fn`` for the learner's timer: sleeps on a known schedule and logs its calls (and the synchronizes)."""

    def __init__(self, warmup: int, log: list[str]):
        self.warmup, self.log, self.durations = warmup, log, []

    def __call__(self):
        i = len(self.durations)
        planned = TIMER_WARMUP_CALL_S if i < self.warmup else TIMER_SCHEDULE_S[(i - self.warmup) % 3]
        self.log.append("call")
        start = time.perf_counter()
        time.sleep(planned)
        self.durations.append(time.perf_counter() - start)


def _timer_run(fn: Callable, repeats: int, warmup: int):
    from .. import device as device_module

    log: list[str] = []
    work = _FakeWork(warmup, log)
    real = device_module.synchronize
    device_module.synchronize = lambda dev: (log.append("sync"), real(dev))[1]
    try:
        outcome = run_learner(
            fn, work, torch.device("cpu"), repeats=repeats, warmup=warmup, copy_inputs=False
        )
    finally:
        device_module.synchronize = real
    return outcome, work, log


@checker(lesson=20, mistakes=MY_TIME_IT_MISTAKES)
def check_my_time_it(fn: Callable) -> CheckResult:
    """Check ``fn(fn, device, repeats=5, warmup=1) -> float``, the median seconds of ``fn()`` after ``warmup``
    untimed calls, with ``mg.device.synchronize(device)`` around each timed call (lesson 20).

    The timed function sleeps on a schedule whose median differs from its mean and minimum; runs with
    (repeats, warmup) = (3, 2) and (5, 1). ``mg.device.synchronize`` is replaced while checking (and restored).
    """
    for repeats, warmup in TIMER_RUNS:
        outcome, work, log = _timer_run(fn, repeats, warmup)
        if outcome.error is not None:
            return error_result(
                outcome.error, "Hàm my_time_it", f" với repeats = {repeats}, warmup = {warmup}"
            )
        r = as_number(outcome.value)
        if not is_number(r) or not math.isfinite(float(r)) or float(r) < 0:
            return MY_TIME_IT_MISTAKES.fail("not_a_number", got=type(outcome.value).__name__)
        calls, want = len(work.durations), repeats + warmup
        if calls == repeats and warmup > 0:
            return MY_TIME_IT_MISTAKES.fail("no_warmup", calls=calls, repeats=repeats, warmup=warmup)
        if calls != want:
            return MY_TIME_IT_MISTAKES.fail(
                "wrong_repeats", calls=calls, repeats=repeats, warmup=warmup, want=want
            )
        entries = [i for i, e in enumerate(log) if e == "call"][-repeats:]
        for i in entries:
            before = i > 0 and log[i - 1] == "sync"
            after = i + 1 < len(log) and log[i + 1] == "sync"
            if not (before and after):
                missing = " và ".join(w for w, ok in (("trước", before), ("sau", after)) if not ok)
                detail = (
                    "hàm không gọi `mg.device.synchronize` lần nào."
                    if "sync" not in log
                    else f"có lần đo không được synchronize ngay {missing} `fn()`."
                )
                return MY_TIME_IT_MISTAKES.fail("no_synchronize", detail=detail)
        timed = work.durations[-repeats:]
        median, got = statistics.median(timed), float(r)
        candidates = [("ok", median)] + [
            (key, value)
            for key, value in (
                ("mean_not_median", statistics.mean(timed)),
                ("min_not_median", min(timed)),
                ("warmup_timed", statistics.median(work.durations)),
                ("milliseconds", median * 1e3),
            )
            if _log_ratio(value, median) > math.log(1.5)  # only what this run's schedule tells apart
        ]
        key, value = min(candidates, key=lambda kv: _log_ratio(got, kv[1]))
        if key == "ok" and _log_ratio(got, median) < math.log(1.3):
            continue
        if key == "ok" or _log_ratio(got, value) >= math.log(1.3):
            return CheckResult(
                False,
                f"Kết quả {got * 1e3:.3g} ms, trong khi trung vị đúng của các lần đo là ≈ {median * 1e3:.1f} ms "
                f"(repeats = {repeats}, warmup = {warmup}).",
                "wrong_values",
            )
        return MY_TIME_IT_MISTAKES.fail(
            key,
            got=got,
            got_ms=got * 1e3,
            median_ms=median * 1e3,
            median_s=median,
            mean_ms=statistics.mean(timed) * 1e3,
            min_ms=min(timed) * 1e3,
        )
    return CheckResult(
        True,
        "Chính xác! Hàm gọi `fn` warmup lần không đo, đo đúng repeats lần với synchronize trước và sau mỗi lần, "
        "và trả về trung vị (giây), với (repeats, warmup) = (3, 2) và (5, 1).",
    )
