"""Numbers written the Vietnamese way, for what the lessons print.

The course's convention (prose and printed output alike): a dot groups thousands and a comma marks the decimals,
``50.257`` tokens, ``ln V ≈ 10,825``, ``22,75 %`` (a space before the percent sign). Python literals in code keep
Python's syntax (``50_257``, ``0.02``); only what a reader sees is written this way.

>>> fmt_int(124_439_808)
'124.439.808'
>>> fmt_float(10.8249, 3)
'10,825'
>>> fmt_pct(0.2275)
'22,75 %'
"""

from __future__ import annotations

import math
import numbers

__all__ = ["fmt_float", "fmt_int", "fmt_pct", "fmt_sci"]


def _as_number(x, name: str) -> float:
    if hasattr(x, "item") and callable(x.item):  # a 0-d torch tensor or NumPy scalar
        try:
            x = x.item()
        except (RuntimeError, ValueError) as e:
            raise TypeError(f"{name} needs one number, got a tensor/array with several values") from e
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} needs a real number, got {type(x).__name__}: {x!r}")
    return x


def _swap(text: str) -> str:
    """Python's ``1,234.5`` -> ``1.234,5``."""
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fmt_int(x, *, sign: bool = False) -> str:
    """An integer with dots between thousands: ``fmt_int(50257) == '50.257'``; ``sign=True`` adds ``+``."""
    x = _as_number(x, "fmt_int")
    if isinstance(x, float):
        if not x.is_integer():
            raise ValueError(
                f"fmt_int needs a whole number, got {x!r}: use fmt_float(x, digits) for decimals"
            )
        x = int(x)
    return _swap(f"{int(x):{'+' if sign else ''},}")


def fmt_float(x, digits: int = 2, *, sign: bool = False) -> str:
    """A decimal number with a decimal comma and dotted thousands: ``fmt_float(1234.5, 1) == '1.234,5'``."""
    x = _as_number(x, "fmt_float")
    if not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be an integer >= 0, got {digits!r}")
    if not math.isfinite(x):
        return str(float(x))  # nan, inf, -inf: as Python writes them
    return _swap(f"{x:{'+' if sign else ''},.{digits}f}")


def fmt_pct(fraction, digits: int = 2, *, sign: bool = False) -> str:
    """A fraction as a percentage, Vietnamese style: ``fmt_pct(0.2275) == '22,75 %'`` (takes 0.2275, not 22.75)."""
    fraction = _as_number(fraction, "fmt_pct")
    return f"{fmt_float(100 * fraction, digits, sign=sign)} %"


def fmt_sci(x, digits: int = 2) -> str:
    """Scientific notation with a decimal comma: ``fmt_sci(0.000149) == '1,49e-04'``."""
    x = _as_number(x, "fmt_sci")
    if not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be an integer >= 0, got {digits!r}")
    if not math.isfinite(x):
        return str(float(x))
    return f"{x:.{digits}e}".replace(".", ",")
