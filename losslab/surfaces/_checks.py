"""Checks for surface settings: each returns the clean value or raises a readable ``ValueError``.

Settings reach the builders from widgets, URLs and notebooks, so every check names the surface,
the setting, the allowed range and the value it got.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

__all__ = ["check_choice", "check_number", "check_whole"]


def check_number(surface: str, name: str, value: object, lo: float, hi: float) -> float:
    """``value`` as a float in ``[lo, hi]``; booleans, strings and non-finite values are refused."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{surface}: {name} must be a number; got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and lo <= number <= hi):
        raise ValueError(
            f"{surface}: {name} must be a finite number in [{lo:g}, {hi:g}]; got {value!r}"
        )
    return number


def check_whole(surface: str, name: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in ``[lo, hi]``; a float is accepted only if whole (``100.0``)."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        number = int(value)
        if lo <= number <= hi:
            return number
    elif isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer():
        return check_whole(surface, name, int(value), lo, hi)
    raise ValueError(f"{surface}: {name} must be a whole number in [{lo}, {hi}]; got {value!r}")


def check_choice(surface: str, name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices`` (exact, case-sensitive strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{surface}: {name} must be one of {', '.join(choices)}; got {value!r}")
    return value
