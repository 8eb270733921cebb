"""Rows behind the data-driven surfaces: generated with a seed, or uploaded and checked."""

from __future__ import annotations

import numpy as np

from losslab.limits import MAX_ROWS
from losslab.surfaces._base import Array

__all__ = [
    "CLASS_CENTRES",
    "MAX_ROWS",
    "TRUE_LINE",
    "classification_rows",
    "regression_rows",
    "rows_index",
    "user_rows",
]

TRUE_LINE = (2.0, 1.0)
"""Generated regression rows: y = 2·x + 1 + noise·ε with x ~ U(−1, 3), ε ~ N(0, 1)."""
CLASS_CENTRES = (-0.5, 1.5)
"""Generated classes: x ~ N(−0.5, noise²) for y = 0 and N(1.5, noise²) for y = 1, half each."""


def regression_rows(n: int, noise: float, seed: int) -> tuple[Array, Array]:
    """``n`` rows on ``TRUE_LINE`` plus Gaussian noise; no row cap (callers enforce it)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 3.0, n)
    y = TRUE_LINE[0] * x + TRUE_LINE[1] + noise * rng.standard_normal(n)
    return _frozen(x), _frozen(y)


def classification_rows(n: int, noise: float, seed: int) -> tuple[Array, Array]:
    """``n`` labelled rows around ``CLASS_CENTRES`` (labels alternate, then shuffled)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2).astype(float)
    x = np.where(y == 1.0, CLASS_CENTRES[1], CLASS_CENTRES[0]) + noise * rng.standard_normal(n)
    return _frozen(x), _frozen(y)


def _frozen(a: Array) -> Array:
    """A read-only float copy: surfaces are shared between users, so their rows must not change."""
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


def user_rows(surface: str, x: object, y: object) -> tuple[Array, Array]:
    """Uploaded rows as read-only 1-D float arrays, checked for shape, size and finiteness."""
    try:
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{surface}: x and y must be sequences of numbers") from None
    if xa.ndim != 1 or ya.ndim != 1 or xa.size != ya.size:
        raise ValueError(
            f"{surface}: x and y must be 1-D and of equal length; got shapes {xa.shape}, {ya.shape}"
        )
    if not 1 <= xa.size <= MAX_ROWS:
        raise ValueError(f"{surface}: needs 1 to {MAX_ROWS} rows; got {xa.size}")
    bad = np.flatnonzero(~(np.isfinite(xa) & np.isfinite(ya)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{surface}: row {i} is not finite (x={xa[i]}, y={ya[i]})")
    return _frozen(xa), _frozen(ya)


def rows_index(rows: object, n: int) -> Array:
    """``rows`` checked as a non-empty 1-D integer index into ``n`` rows."""
    idx = np.asarray(rows)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ValueError(f"rows must be a non-empty 1-D array of row numbers; got {rows!r}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"rows must lie in [0, {n}); got {int(idx.min())}..{int(idx.max())}")
    return idx
