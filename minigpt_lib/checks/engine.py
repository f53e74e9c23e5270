"""The engine every checker runs on: the verdict, the one place learner code runs, comparison, named mistakes.

- :class:`CheckResult` is a verdict (✅/❌, a Vietnamese message, the mistake's stable English key).
  ``result.verdict()`` prints it once and stops the notebook when it failed; the grader
  (``python -m minigpt_lib.grade``) reads the printed verdict back from the executed notebook.
- :func:`run_learner` is the ONLY function that calls a learner's code. It deep-copies the inputs (the caller's
  tensors and modules cannot be changed; a change to the copies is reported), saves and restores the global RNGs
  (torch, CUDA, ``random``, NumPy), and runs the call under a deadline (:func:`deadline`). A stub's
  ``NotImplementedError("Bài tập: …")`` passes through on purpose: a student version stops at the exercise's stub.
  Every other exception (a ``NotImplementedError`` without the stub's message included) becomes an outcome that the
  checker turns into ❌ naming it.
- :func:`compare` names how an answer differs: type, device (``meta`` included), shape, dtype, then values.
- :class:`Mistake` / :class:`Mistakes`: the named mistakes of one exercise in one structure (key, Vietnamese
  message, and the mistaken implementations that recognise it).
- :func:`checker` registers a checker (lesson, exercise number) and is its safety net: whatever escapes the checker
  other than a stub becomes ❌, and the global RNGs are the same after it as before.

The deadline. In the main thread (a plain ``python`` process, a Jupyter kernel: ipykernel runs cells in its main
thread) it is ``signal.setitimer(ITIMER_REAL)``: the SIGALRM handler raises :class:`LearnerTimeout` between two
bytecodes, which interrupts a pure-Python ``while True: pass`` and also a ``time.sleep``. In any other thread a
watchdog thread injects the exception with ``PyThreadState_SetAsyncExc``, which interrupts Python bytecode but not
a blocking call. Limits, in both cases: the exception is raised only when control is back in the interpreter, so a
single long C-level call (one enormous ``torch`` operation, a C extension's loop) finishes first; and a learner's
bare ``except:`` (or ``except BaseException``) can swallow it (:class:`LearnerTimeout` is not an ``Exception``, so
``except Exception`` cannot).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import math
import numbers
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch

STUB_MESSAGE = "Bài tập: hãy viết phần này."  # what every exercise's stub raises, as NotImplementedError
HIDDEN_SEED = 20240601  # hidden inputs come from their own generators: checking never moves the global RNG
DEADLINE_S = float(os.environ.get("MINIGPT_CHECK_DEADLINE_S", "60"))  # per call of learner code
VERDICT_MIME = "application/vnd.minigpt.verdict+json"  # how the grader finds verdicts in a notebook's outputs


# ----------------------------------------------------------------------------------------------- the verdict
class CheckFailed(AssertionError):
    """Raised by :meth:`CheckResult.verdict` when the answer is wrong; the ❌ message was printed just before."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self)]


@dataclass
class CheckResult:
    """The verdict of a checker: ``passed``, a Vietnamese ``message`` and the recognised ``mistake`` key."""

    passed: bool
    message: str
    mistake: str | None = None
    checker: str | None = None  # the checker's name, set by @checker

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✅' if self.passed else '❌'} {self.message}"

    def _repr_markdown_(self) -> str:
        return str(self)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "message": self.message,
            "mistake": self.mistake,
            "checker": self.checker,
        }

    def verdict(self) -> CheckResult:
        """Print the verdict once; when it failed, stop the notebook with a one-line ``CheckFailed``."""
        _show(self)
        if not self.passed:
            raise CheckFailed("Chưa đạt: sửa hàm theo thông báo ❌ ở trên rồi chạy lại ô này.")
        return self


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' requirements
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display({"text/plain": str(result), VERDICT_MIME: result.as_dict()}, raw=True)
    else:
        print(result)


# ----------------------------------------------------------------------------------------------- named mistakes
@dataclass(frozen=True)
class Mistake:
    """A typical mistake: a stable English ``key``, its Vietnamese ``message`` (may use ``{fields}``) and the
    mistaken implementations that recognise it (empty when the checker detects it by itself)."""

    key: str
    message: str
    variants: tuple[Callable, ...] = ()


class Mistakes(Mapping[str, Mistake]):
    """The named mistakes of one exercise: a read-only mapping key -> :class:`Mistake`, in declaration order."""

    def __init__(self, *mistakes: Mistake):
        self._by_key: dict[str, Mistake] = {}
        for m in mistakes:
            if m.key in self._by_key:
                raise ValueError(f"mistake {m.key!r} declared twice")
            self._by_key[m.key] = m

    def __getitem__(self, key: str) -> Mistake:
        return self._by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"Mistakes({', '.join(self._by_key)})"

    def fail(self, key: str, **fields) -> CheckResult:
        return CheckResult(False, self[key].message.format(**fields), key)

    def with_variants(self, transform: Callable[[Callable], Callable]) -> Mistakes:
        """The same mistakes, each implementation passed through ``transform`` (e.g. to compare outputs another way)."""
        return Mistakes(
            *(Mistake(m.key, m.message, tuple(transform(v) for v in m.variants)) for m in self.values())
        )


def as_mistakes(mistakes, messages: Mapping[str, str] | None = None) -> Mistakes:
    """Accept a :class:`Mistakes`, a sequence of :class:`Mistake`, or the old pair of mappings
    ``{key: implementation or [implementations]}`` + ``messages={key: text}`` (lessons 24 and 28 use it)."""
    if isinstance(mistakes, Mistakes):
        return mistakes
    if mistakes is None:
        return Mistakes()
    if isinstance(mistakes, Mapping):
        messages = dict(messages or {})
        return Mistakes(
            *(
                Mistake(key, messages.get(key, f"Lỗi thường gặp: {key}."), (v,) if callable(v) else tuple(v))
                for key, v in mistakes.items()
            )
        )
    return Mistakes(*mistakes)


GENERIC_MESSAGES: dict[str, str] = {
    "exception": "{name} gây lỗi `{error}`{where}.",
    "timeout": (
        "{name} chạy quá {seconds:g} giây{where} nên đã bị dừng: có vòng lặp không bao giờ kết thúc không "
        "(vd. điều kiện của `while` không bao giờ sai)?"
    ),
    "modifies_inputs": (
        "Kết quả đúng, nhưng {name} đã sửa tại chỗ (in-place) đầu vào ({what}). Hãy dùng phép toán tạo tensor mới "
        "(vd. `q / s` thay vì `q /= s`) và đừng đổi tham số của mô-đun được truyền vào."
    ),
}


# ----------------------------------------------------------------------------------------------- running learner code
class LearnerTimeout(BaseException):
    """The learner's code ran past its deadline (a BaseException, so ``except Exception`` cannot swallow it)."""


def is_stub(error: BaseException) -> bool:
    """A stub's ``NotImplementedError("Bài tập: …")``, as opposed to one raised by PyTorch (e.g. the meta device)."""
    return isinstance(error, NotImplementedError) and str(error).startswith("Bài tập")


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise :class:`LearnerTimeout` in the current thread if the block runs longer than ``seconds``."""
    if seconds is None or seconds <= 0 or not math.isfinite(seconds):
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum, frame):
            raise LearnerTimeout(seconds)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        outer_left, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if (
                outer_left
            ):  # an enclosing timer (ours or someone's) keeps running, minus nothing we can measure
                signal.setitimer(signal.ITIMER_REAL, outer_left)
        return
    tid = threading.get_ident()
    lock, state = threading.Lock(), {"done": False, "fired": False}

    def fire():
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(tid), ctypes.py_object(LearnerTimeout)
                )

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            timer.cancel()
            if state["fired"]:  # delivered already, or still pending: clear a pending one
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)


@dataclass
class _RngState:
    torch_state: torch.Tensor
    cuda_states: list | None
    python_state: object
    numpy_state: object | None


def save_rng() -> _RngState:
    numpy = sys.modules.get("numpy")
    return _RngState(
        torch.get_rng_state(),
        torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        random.getstate(),
        numpy.random.get_state() if numpy is not None else None,
    )


def restore_rng(state: _RngState) -> None:
    torch.set_rng_state(state.torch_state)
    if state.cuda_states is not None:
        torch.cuda.set_rng_state_all(state.cuda_states)
    random.setstate(state.python_state)
    if state.numpy_state is not None:
        sys.modules["numpy"].random.set_state(state.numpy_state)


@contextlib.contextmanager
def rng_unmoved():
    """The global RNGs (torch, CUDA, ``random``, NumPy) are the same after the block as before it."""
    state = save_rng()
    try:
        yield
    finally:
        restore_rng(state)


@dataclass
class Outcome:
    """What a call of learner code gave: ``value`` or ``error``, the ``args`` it received (copies), and whether
    it changed them (``modified`` names the first changed input)."""

    value: object = None
    error: BaseException | None = None
    args: tuple = ()
    modified: str | None = None

    @property
    def timed_out(self) -> bool:
        return isinstance(self.error, LearnerTimeout)


def _describe_value(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"tensor {tuple(x.shape)}"
    if isinstance(x, torch.nn.Module):
        return f"mô-đun {type(x).__name__}"
    return type(x).__name__


def _first_change(before, after, where: str = "") -> str | None:
    """Where ``after`` differs from ``before`` (tensors, modules' parameters and buffers, lists, tuples, dicts)."""
    try:
        if isinstance(before, torch.Tensor):
            if (
                not isinstance(after, torch.Tensor)
                or after.shape != before.shape
                or after.dtype != before.dtype
            ):
                return where or "một tensor"
            if after.device != before.device or not torch.equal(after.detach(), before.detach()):
                return where or "một tensor"
            return None
        if isinstance(before, torch.nn.Module):
            a, b = after.state_dict(), before.state_dict()
            if a.keys() != b.keys():
                return f"{where or 'mô-đun'} (các tham số)"
            for k in b:
                if _first_change(b[k], a[k]):
                    return f"{where or type(before).__name__} (`{k}`)"
            return None
        if isinstance(before, (list, tuple)):
            if len(before) != len(after):
                return where or type(before).__name__
            for i, (x, y) in enumerate(zip(before, after, strict=True)):
                change = _first_change(x, y, f"{where}[{i}]" if where else f"đầu vào thứ {i + 1}")
                if change:
                    return change
            return None
        if isinstance(before, dict):
            if before.keys() != after.keys():
                return where or "dict"
            for k in before:
                change = _first_change(before[k], after[k], f"{where}[{k!r}]")
                if change:
                    return change
    except Exception:  # noqa: BLE001 - an input turned into something we cannot compare: it was changed
        return where or "một đầu vào"
    return None


def run_learner(
    fn: Callable, *args, copy_inputs: bool = True, seconds: float | None = None, **kwargs
) -> Outcome:
    """Call learner code ``fn(*args, **kwargs)``: inputs deep-copied, global RNGs restored, under a deadline.

    A stub's ``NotImplementedError`` is re-raised; any other exception (and the deadline's
    :class:`LearnerTimeout`) is returned in ``Outcome.error``.
    """
    given = copy.deepcopy((args, kwargs)) if copy_inputs else (args, kwargs)
    pristine = copy.deepcopy((args, kwargs)) if copy_inputs else None
    outcome = Outcome(args=given[0])
    state = save_rng()
    try:
        with deadline(DEADLINE_S if seconds is None else seconds):
            outcome.value = fn(*given[0], **given[1])
    except NotImplementedError as err:
        if is_stub(err):
            raise
        outcome.error = err
    except (Exception, LearnerTimeout) as err:  # noqa: BLE001 - a learner's code may raise anything
        outcome.error = err
    finally:
        restore_rng(state)
    if copy_inputs:
        outcome.modified = _first_change(pristine[0], given[0]) or _first_change(pristine[1], given[1])
    return outcome


def with_global_seed(fn: Callable, seed: int) -> Callable:
    """``fn`` called right after ``torch.manual_seed(seed)``: two calls with different seeds and the same
    ``generator`` tell a function that uses its generator from one that draws from the global RNG."""

    def run(*args, **kwargs):
        torch.manual_seed(seed)
        return fn(*args, **kwargs)

    return run


def describe_error(error: BaseException) -> str:
    if isinstance(error, LearnerTimeout):
        return f"LearnerTimeout: quá {DEADLINE_S:g} giây"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def error_result(error: BaseException, name: str = "Hàm của bạn", where: str = "") -> CheckResult:
    """❌ for learner code that raised (or timed out); ``where`` says on which input, e.g. " với T = 5"."""
    if isinstance(error, LearnerTimeout):
        seconds = error.args[0] if error.args else DEADLINE_S
        return CheckResult(
            False, GENERIC_MESSAGES["timeout"].format(name=name, seconds=seconds, where=where), "timeout"
        )
    return CheckResult(
        False,
        GENERIC_MESSAGES["exception"].format(name=name, error=describe_error(error), where=where),
        "exception",
    )


def modified_result(name: str, what: str) -> CheckResult:
    name = name[0].lower() + name[1:]
    return CheckResult(
        False, GENERIC_MESSAGES["modifies_inputs"].format(name=name, what=what), "modifies_inputs"
    )


# ----------------------------------------------------------------------------------------------- comparison
def is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def as_number(x):
    """A Python number from a one-element tensor, a NumPy scalar or an integral float; anything else unchanged."""
    try:
        if isinstance(x, torch.Tensor) and x.numel() == 1 and x.device.type != "meta":
            x = x.item()
        elif hasattr(x, "item") and not isinstance(x, (tuple, list, torch.Tensor)) and not is_number(x):
            x = x.item()  # NumPy scalars
    except Exception:  # noqa: BLE001
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _dtype_problem(got: torch.Tensor, expected: torch.Tensor) -> str | None:
    g, e = got.dtype, expected.dtype
    if e == torch.bool:
        return None if g == torch.bool else "cần tensor bool"
    if not e.is_floating_point and not e.is_complex:  # integer answers: token ids, indices, counts
        if g.is_floating_point or g == torch.bool:
            return f"cần tensor số nguyên ({e}, vd. chỉ số token) nhưng nhận {g}: dùng `.long()` hoặc giữ nguyên kiểu của `torch.multinomial`/`argmax`"
        return None
    if not g.is_floating_point:
        return f"cần tensor số thực ({e}) nhưng nhận {g}: chia hoặc dùng `.float()` trước khi tính"
    if g in _LOW_PRECISION and e not in _LOW_PRECISION:
        return (
            f"kết quả có kiểu {g} (độ chính xác thấp, ~3 chữ số) trong khi cần {e}: đừng chuyển sang "
            "`.half()`/`bfloat16`, hãy tính với kiểu của đầu vào"
        )
    return None


def _as_float64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", torch.float64)


def compare(
    got, expected, *, atol: float = 1e-5, rtol: float = 1e-4, where: str = ""
) -> tuple[str, str] | None:
    """``None`` when ``got`` equals ``expected`` within tolerance, else ``(key, Vietnamese detail)``.

    Keys: ``not_a_tensor``, ``meta_device``, ``wrong_device``, ``wrong_shape``, ``wrong_dtype``, ``wrong_values``,
    ``wrong_type``, ``wrong_length``. NaN equals NaN (so that mistakes producing NaN are recognised).
    Never raises, whatever ``got`` is.
    """
    try:
        return _compare(got, expected, atol, rtol, where)
    except Exception as err:  # noqa: BLE001 - an answer we cannot even compare is a wrong answer
        return "wrong_type", f"{where}không so sánh được kết quả ({type(err).__name__}: {err})."


def _compare(got, expected, atol, rtol, where):
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            hint = ""
            if isinstance(got, (tuple, list)):
                hint = (
                    f" (một {type(got).__name__} gồm {len(got)} phần tử: nếu bạn trả về nhiều giá trị, chỉ giữ "
                    "kết quả cần kiểm tra)"
                )
            return "not_a_tensor", f"{where}cần một torch.Tensor nhưng nhận được {type(got).__name__}{hint}."
        if got.device.type == "meta":
            return "meta_device", (
                f"{where}kết quả nằm trên thiết bị `meta` (chỉ có kích thước, không có giá trị): đừng tạo tensor "
                "với `device='meta'` hay trong `with torch.device('meta')`; tính trên thiết bị của đầu vào."
            )
        if got.device.type != expected.device.type:
            return "wrong_device", (
                f"{where}kết quả nằm trên thiết bị `{got.device}`, cần `{expected.device}` (thiết bị của đầu vào): "
                "tạo tensor mới với `device=x.device`."
            )
        if got.shape != expected.shape:
            return (
                "wrong_shape",
                f"{where}kết quả có kích thước {tuple(got.shape)}, cần {tuple(expected.shape)}.",
            )
        problem = _dtype_problem(got, expected)
        if problem:
            return "wrong_dtype", f"{where}{problem}."
        g, e = _as_float64(got), _as_float64(expected)
        if torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
            return None
        if torch.isnan(g).any() and not torch.isnan(e).any():
            return "wrong_values", f"{where}kết quả chứa NaN."
        if torch.isinf(g).any() and not torch.isinf(e).any():
            return "wrong_values", f"{where}kết quả chứa giá trị vô cùng (inf)."
        finite = torch.isfinite(g) & torch.isfinite(e)
        diff = (g - e)[finite].abs().max().item() if finite.any() else math.inf
        return "wrong_values", (
            f"{where}đúng kích thước ({tuple(got.shape)}, {got.dtype}) nhưng sai giá trị (sai lệch lớn nhất {diff:.3g})."
        )
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return (
                "wrong_type",
                f"{where}cần một tuple gồm {len(expected)} phần tử nhưng nhận được {type(got).__name__}.",
            )
        if len(got) != len(expected):
            return "wrong_length", f"{where}cần {len(expected)} phần tử nhưng nhận được {len(got)}."
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            difference = _compare(g, e, atol, rtol, f"{where}phần tử thứ {i + 1}: ")
            if difference:
                return difference
        return None
    if isinstance(expected, bool):
        if isinstance(got, bool) or (
            isinstance(got, torch.Tensor) and got.dtype == torch.bool and got.numel() == 1
        ):
            return (
                None
                if bool(got) == expected
                else ("wrong_values", f"{where}nhận {bool(got)}, cần {expected}.")
            )
        return "wrong_type", f"{where}cần True/False (bool) nhưng nhận được {type(got).__name__}."
    if is_number(expected):
        got = as_number(got)
        if not is_number(got):
            return "wrong_type", f"{where}cần một số nhưng nhận được {type(got).__name__}."
        if isinstance(expected, numbers.Integral) and isinstance(got, numbers.Integral):
            if int(got) == int(expected):
                return None
            delta = int(got) - int(expected)
            return (
                "wrong_values",
                f"{where}{'thừa' if delta > 0 else 'thiếu'} {abs(delta):,} so với đáp án đúng.",
            )
        g, e = float(got), float(expected)
        if math.isclose(g, e, rel_tol=rtol, abs_tol=atol) or (math.isnan(g) and math.isnan(e)):
            return None
        return "wrong_values", f"{where}nhận {got!r}, sai lệch {g - e:+.3g} so với đáp án đúng."
    if isinstance(expected, str):
        return None if got == expected else ("wrong_values", f"{where}nhận {got!r}, cần {expected!r}.")
    return None if got == expected else ("wrong_values", f"{where}nhận {got!r}, không phải kết quả đúng.")


def equal(got, expected, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    return compare(got, expected, atol=atol, rtol=rtol) is None


def hidden_generator(offset: int = 0) -> torch.Generator:
    """The generator of a checker's hidden inputs (its own seed: the global RNG is never used)."""
    return torch.Generator().manual_seed(HIDDEN_SEED + offset)


# ----------------------------------------------------------------------------------------------- check_function
def describe_args(args: tuple) -> str:
    return ", ".join(
        f"tensor kích thước {tuple(a.shape)}" if isinstance(a, torch.Tensor) else repr(a) for a in args
    )


def check_function(
    fn: Callable,
    reference: Callable,
    inputs: Sequence[tuple],
    mistakes=None,
    *,
    messages: Mapping[str, str] | None = None,
    name: str = "Hàm của bạn",
    success: str = "Chính xác! Kết quả khớp với lời giải mẫu trên mọi đầu vào kiểm tra.",
    describe: Callable[[tuple], str] = describe_args,
    diagnose: Callable[[object, object, tuple], str | None] | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> CheckResult:
    """Run ``fn(*args)`` for every ``args`` in ``inputs`` (through :func:`run_learner`) and compare with
    ``reference(*args)``; when it differs, name the mistake whose mistaken implementation it agrees with.

    ``mistakes``: a :class:`Mistakes` (or the old mapping ``{key: implementation(s)}`` with ``messages``).
    A mistake is recognised when the learner's function agrees with one of its implementations on every input
    (equal outputs, or both raising). ``diagnose(got, expected, args)`` may add a hint to an unrecognised wrong value.
    Generic keys: ``exception``, ``timeout``, ``modifies_inputs`` and those of :func:`compare`.
    """
    named = as_mistakes(mistakes, messages)
    inputs = list(inputs)
    if not inputs:
        raise ValueError("check_function needs at least one input.")
    expected = [reference(*copy.deepcopy(args)) for args in inputs]

    outcomes: list[Outcome] = []
    for args in inputs:
        outcome = run_learner(fn, *args)
        if outcome.timed_out:
            return error_result(outcome.error, name, f" với đầu vào {describe(args)}")
        outcomes.append(outcome)

    all_right = all(
        o.error is None and equal(o.value, e, atol, rtol) for o, e in zip(outcomes, expected, strict=True)
    )
    modified = next(((o, a) for o, a in zip(outcomes, inputs, strict=True) if o.modified), None)
    if all_right:
        if modified is not None:
            return modified_result(name, f"{modified[0].modified}; đầu vào {describe(modified[1])}")
        return CheckResult(True, success)

    for mistake in named.values():
        for variant in mistake.variants:
            both_ran = 0
            for args, mine in zip(inputs, outcomes, strict=True):
                try:
                    theirs = variant(*copy.deepcopy(args))
                    their_error = None
                except Exception as err:  # noqa: BLE001 - mistaken implementations may fail (that is their point)
                    theirs, their_error = None, err
                if mine.error is not None or their_error is not None:
                    if mine.error is None or their_error is None:
                        break
                elif not equal(mine.value, theirs, atol, rtol):
                    break
                else:
                    both_ran += 1
            else:
                if both_ran:
                    return CheckResult(False, mistake.message, mistake.key)

    for args, o in zip(inputs, outcomes, strict=True):
        if o.error is not None:
            return error_result(o.error, name, f" khi chạy với đầu vào {describe(args)}")
    for args, o, e in zip(inputs, outcomes, expected, strict=True):
        difference = compare(o.value, e, atol=atol, rtol=rtol)
        if difference:
            key, detail = difference
            text = f"Sai với đầu vào {describe(args)}: {detail}"
            hint = None
            if diagnose is not None and key == "wrong_values":
                try:
                    hint = diagnose(o.value, e, args)
                except Exception:  # noqa: BLE001 - a hint is optional
                    hint = None
            return CheckResult(False, f"{text} {hint}" if hint else text, key)
    raise AssertionError("unreachable: some output differed")  # pragma: no cover


# ----------------------------------------------------------------------------------------------- the registry
@dataclass
class CheckerInfo:
    name: str
    lesson: int
    exercise: int
    function: Callable
    mistakes: Mistakes = field(default_factory=Mistakes)


REGISTRY: dict[str, CheckerInfo] = {}


def checker(lesson: int, exercise: int = 1, mistakes: Mistakes | None = None):
    """Register a checker of lesson ``lesson``'s exercise ``exercise`` and make it keep the contract.

    The wrapped checker: a stub's ``NotImplementedError`` passes through; a :class:`LearnerTimeout` or any other
    exception that escapes it becomes ❌ (``timeout`` / ``exception``); the global RNGs are restored afterwards.
    """

    def register(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs) -> CheckResult:
            state = save_rng()
            try:
                result = fn(*args, **kwargs)
            except NotImplementedError as err:
                if is_stub(err):
                    raise
                result = error_result(err)
            except (Exception, LearnerTimeout) as err:  # noqa: BLE001 - the contract: never a raw traceback
                result = error_result(err)
            finally:
                restore_rng(state)
            result.checker = fn.__name__
            return result

        REGISTRY[fn.__name__] = CheckerInfo(fn.__name__, lesson, exercise, wrapped, mistakes or Mistakes())
        return wrapped

    return register
