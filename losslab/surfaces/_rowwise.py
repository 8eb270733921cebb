"""The losses behind the data-driven surfaces, as means over rows of one-feature data.

Every loss here is ``L(w, b) = (1/n) Σᵢ φ(uᵢ, yᵢ)`` with ``uᵢ = w·xᵢ + b``, so by the chain rule

    ∇L  = (1/n) Σᵢ φ'(uᵢ, yᵢ) · (xᵢ, 1)
    ∇²L = (1/n) Σᵢ φ''(uᵢ, yᵢ) · [[xᵢ², xᵢ], [xᵢ, 1]]

``RowLoss`` holds φ, φ' and φ'' (derivatives in u). Over a grid of points this costs
O(points × rows); the blocks below bound the memory, not the time. Squared error alone is
evaluated from sufficient statistics instead (``MseStats``), at O(points) whatever the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from losslab.surfaces._base import Array
from losslab.surfaces._parts import stack_grad, stack_hessian

__all__ = [
    "ABSOLUTE",
    "LOGISTIC",
    "SQUARED",
    "MseStats",
    "RowLoss",
    "huber",
    "mse_grad",
    "mse_hessian",
    "mse_stats",
    "mse_value",
    "row_mean_grad",
    "row_mean_hessian",
    "row_mean_value",
]

_BLOCK = 1 << 20
"""Elements in one temporary (points × rows) array: 8 MB of float64."""

RowFn = Callable[[Array, Array], Array]


class RowLoss(NamedTuple):
    """φ(u, y) for one row, and its first and second derivatives in ``u = w·x + b``."""

    value: RowFn
    first: RowFn
    second: RowFn


SQUARED = RowLoss(
    value=lambda u, y: (u - y) ** 2,
    first=lambda u, y: 2.0 * (u - y),
    second=lambda u, y: np.full_like(u, 2.0),
)
"""Squared error ``(u − y)²``, as ``torch.nn.MSELoss``."""

ABSOLUTE = RowLoss(
    value=lambda u, y: np.abs(u - y),
    first=lambda u, y: np.sign(u - y),
    second=lambda u, y: np.zeros_like(u),
)
"""Absolute error ``|u − y|``, as ``torch.nn.L1Loss``; φ' = sign (0 at the kink), φ'' = 0 a.e."""


def huber(delta: float) -> RowLoss:
    """Huber loss as ``torch.nn.HuberLoss(delta)``: ``½r²`` for ``|r| ≤ δ``, else ``δ(|r| − ½δ)``.

    φ' = clip(r, −δ, δ); φ'' = 1 inside ``|r| < δ`` and 0 outside (the a.e. second derivative:
    φ is once but not twice differentiable at ``|r| = δ``).
    """

    def value(u: Array, y: Array) -> Array:
        r = np.abs(u - y)
        return np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta))

    def first(u: Array, y: Array) -> Array:
        return np.clip(u - y, -delta, delta)

    def second(u: Array, y: Array) -> Array:
        return (np.abs(u - y) < delta).astype(float)

    return RowLoss(value, first, second)


def _logistic_value(u: Array, y: Array) -> Array:
    # log(1 + e^u) − y·u, with logaddexp so large |u| neither overflows nor loses digits.
    return np.logaddexp(0.0, u) - y * u


def _sigmoid(u: Array) -> Array:
    e = np.exp(-np.abs(u))  # never overflows
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _logistic_second(u: Array, y: Array) -> Array:
    e = np.exp(-np.abs(u))
    return e / (1.0 + e) ** 2  # σ(u)(1 − σ(u)), symmetric in u


LOGISTIC = RowLoss(
    value=_logistic_value,
    first=lambda u, y: _sigmoid(u) - y,
    second=_logistic_second,
)
"""Cross-entropy of a logit u against a label y ∈ {0, 1}, as ``torch.nn.BCEWithLogitsLoss``:
``log(1 + eᵘ) − y·u``, φ' = σ(u) − y, φ'' = σ(u)(1 − σ(u))."""


def _blocks(p: Array, x: Array):
    """Slices of the flattened points and the logits ``u = w·x + b`` for each, block by block."""
    w, b = p[0].reshape(-1), p[1].reshape(-1)
    step = max(1, _BLOCK // max(x.size, 1))
    for start in range(0, w.size, step):
        part = slice(start, start + step)
        yield part, w[part, np.newaxis] * x + b[part, np.newaxis]


def _row_dot(rows: Array, x: Array) -> Array:
    """``rows @ x``, each row summed on its own (NumPy's pairwise sum): a matrix product
    through BLAS may round a row differently with other rows beside it, and a point must get
    the same gradient alone as in a batch (``ladder.run_rates``)."""
    return (rows * x).sum(axis=1)


def row_mean_value(p: Array, x: Array, y: Array, loss: RowLoss) -> Array:
    """``(1/n) Σᵢ φ(w·xᵢ + b, yᵢ)`` at each point of ``p`` (shape ``(2, ...)``); shape ``(...)``."""
    out = np.empty(p[0].size)
    for part, u in _blocks(p, x):
        out[part] = loss.value(u, y).mean(axis=1)
    return out.reshape(p.shape[1:])


def row_mean_grad(p: Array, x: Array, y: Array, loss: RowLoss) -> Array:
    """``(1/n) Σᵢ φ'(uᵢ, yᵢ)·(xᵢ, 1)`` at each point of ``p``; shape ``(2, ...)``."""
    out = np.empty((2, p[0].size))
    for part, u in _blocks(p, x):
        d = loss.first(u, y)
        out[0, part] = _row_dot(d, x) / x.size
        out[1, part] = d.mean(axis=1)
    return out.reshape(p.shape)


def row_mean_hessian(p: Array, x: Array, y: Array, loss: RowLoss) -> Array:
    """``(1/n) Σᵢ φ''(uᵢ, yᵢ)·[[xᵢ², xᵢ], [xᵢ, 1]]`` at each point of ``p``; ``(2, 2, ...)``."""
    out = np.empty((3, p[0].size))
    x2 = x * x
    for part, u in _blocks(p, x):
        d2 = loss.second(u, y)
        out[0, part] = _row_dot(d2, x2) / x.size
        out[1, part] = _row_dot(d2, x) / x.size
        out[2, part] = d2.mean(axis=1)
    h11, h12, h22 = (entry.reshape(p.shape[1:]) for entry in out)
    return stack_hessian(p, h11, h12, h22)


class MseStats(NamedTuple):
    """Sufficient statistics of squared error, centred so that no digits cancel.

    ``x_mean``, ``y_mean``; ``sxx = Σ(xᵢ − x̄)²``; ``slope = Σ(xᵢ − x̄)(yᵢ − ȳ) / sxx`` (0 when
    ``sxx = 0``); ``rss = Σ((yᵢ − ȳ) − slope·(xᵢ − x̄))²``. They carry the same information as
    (n, Σx, Σy, Σx², Σxy, Σy²), but the raw sums subtract large equal numbers whenever the
    data sit far from 0 or fit well; in this form every term of the loss is non-negative.
    """

    n: int
    x_mean: float
    y_mean: float
    sxx: float
    slope: float
    rss: float


def mse_stats(x: Array, y: Array) -> MseStats:
    """The statistics of ``MseStats`` for rows ``x``, ``y`` (two passes over the rows)."""
    x_mean, y_mean = float(np.mean(x)), float(np.mean(y))
    xc, yc = x - x_mean, y - y_mean
    sxx = float(xc @ xc)
    slope = float(xc @ yc) / sxx if sxx > 0 else 0.0
    resid = yc - slope * xc
    return MseStats(int(x.size), x_mean, y_mean, sxx, slope, float(resid @ resid))


def mse_value(p: Array, s: MseStats) -> Array:
    """Mean squared error ``(1/n) Σ(w·xᵢ + b − yᵢ)²`` from the statistics alone:

    ``[sxx·(w − slope)² + rss] / n + c²`` with ``c = w·x̄ + b − ȳ`` (the mean residual); the
    cross terms vanish because centred sums are zero.
    """
    w, b = p
    c = w * s.x_mean + b - s.y_mean
    return (s.sxx * (w - s.slope) ** 2 + s.rss) / s.n + c**2


def mse_grad(p: Array, s: MseStats) -> Array:
    """``(2·sxx/n·(w − slope) + 2c·x̄, 2c)``, the gradient of ``mse_value``."""
    w, b = p
    c = w * s.x_mean + b - s.y_mean
    return stack_grad(p, 2.0 * s.sxx / s.n * (w - s.slope) + 2.0 * c * s.x_mean, 2.0 * c)


def mse_hessian(p: Array, s: MseStats) -> Array:
    """``[[2·sxx/n + 2x̄², 2x̄], [2x̄, 2]]`` = ``(2/n)·[[Σx², Σx], [Σx, n]]``, constant."""
    return stack_hessian(p, 2.0 * s.sxx / s.n + 2.0 * s.x_mean**2, 2.0 * s.x_mean, 2.0)
