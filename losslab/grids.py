"""Sample a surface on a regular grid, in one vectorised call, for images and contours.

A grid is cell-centred: with ``n`` cells across ``[lo, hi]`` the samples sit at

    w[j] = lo + (j + ½)·(hi − lo)/n,   j = 0, …, n − 1,

so an image of the values stretched over exactly ``[lo, hi]`` puts every pixel over the point
it was computed at. Cells where the loss is undefined or not finite hold NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from losslab.surfaces import Surface

Array = np.ndarray
Window = tuple[tuple[float, float], tuple[float, float]]

__all__ = ["MAX_RESOLUTION", "MIN_RESOLUTION", "Curve", "Grid", "evaluate", "evaluate_1d"]

MAX_RESOLUTION = 400
"""The most cells per axis of a grid (and points of a curve); larger requests are capped."""
MIN_RESOLUTION = 2
"""The fewest cells per axis; smaller requests are raised to this."""


@dataclass(frozen=True)
class Grid:
    """A surface sampled at the centres of ``H × W`` cells covering ``window``.

    Attributes:
        w1: first-parameter coordinates of the cell centres, shape ``(W,)``, increasing.
        w2: second-parameter coordinates of the cell centres, shape ``(H,)``, increasing.
        values: ``values[i, j] = L(w1[j], w2[i])``, shape ``(H, W)``; row 0 is the lowest
            ``w2``. NaN where the loss is undefined or not finite.
        window: ``((w1_lo, w1_hi), (w2_lo, w2_hi))``, the edges of the outer cells.
        axis_labels: the parameter names, ``("w1", "w2")`` unless the surface names them.

    The arrays are read-only: a grid may be cached and shared between sessions.
    """

    w1: Array
    w2: Array
    values: Array
    window: Window
    axis_labels: tuple[str, str] = ("w1", "w2")

    @property
    def mask(self) -> Array:
        """``True`` where the value is finite, shape ``(H, W)``."""
        return np.isfinite(self.values)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``: rows (along w2) by columns (along w1)."""
        return self.values.shape  # type: ignore[return-value]


@dataclass(frozen=True)
class Curve:
    """A one-parameter surface sampled at ``n`` cell centres: ``values[j] = L(w[j])``."""

    w: Array
    values: Array
    window: tuple[float, float]
    axis_label: str = "w"

    @property
    def mask(self) -> Array:
        """``True`` where the value is finite."""
        return np.isfinite(self.values)


def _resolution(resolution: int) -> int:
    try:
        n = float(resolution)
    except (TypeError, ValueError):
        raise ValueError(f"resolution must be a number; got {resolution!r}") from None
    if not math.isfinite(n):
        raise ValueError(f"resolution must be finite; got {resolution!r}")
    return int(min(max(round(n), MIN_RESOLUTION), MAX_RESOLUTION))


def _interval(bounds: Sequence[float], name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi); got {bounds!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
        raise ValueError(f"{name} must be finite with lo < hi; got ({lo}, {hi})")
    return lo, hi


def _centres(lo: float, hi: float, n: int) -> Array:
    centres = lo + (np.arange(n) + 0.5) * ((hi - lo) / n)
    centres.setflags(write=False)
    return centres


def _finite_or_nan(values: Array, shape: tuple[int, ...]) -> Array:
    out = np.array(np.broadcast_to(np.asarray(values, dtype=float), shape))
    out[~np.isfinite(out)] = np.nan
    out.setflags(write=False)
    return out


def evaluate(
    surface: Surface,
    resolution: int,
    window: Sequence[Sequence[float]] | None = None,
) -> Grid:
    """Sample a two-parameter ``surface`` on ``resolution × resolution`` cell centres.

    ``window`` is ``((w1_lo, w1_hi), (w2_lo, w2_hi))``, default the surface's plot window.
    ``resolution`` is clamped to ``[MIN_RESOLUTION, MAX_RESOLUTION]``. The loss is evaluated
    once on the whole meshgrid ``P`` of shape ``(2, H, W)``; floating-point warnings are
    silenced because undefined cells become NaN by design.

    Raises ``ValueError`` for a surface that is not two-dimensional or a bad window.
    """
    if surface.dim != 2:
        raise ValueError(f"a grid needs a two-parameter surface; {surface.name} has {surface.dim}")
    n = _resolution(resolution)
    bounds = surface.window if window is None else tuple(window)
    if len(bounds) != 2:
        raise ValueError(f"window must give two intervals, one per parameter; got {window!r}")
    win = (_interval(bounds[0], "window[0]"), _interval(bounds[1], "window[1]"))
    w1, w2 = _centres(*win[0], n), _centres(*win[1], n)
    mesh = np.stack(np.meshgrid(w1, w2, indexing="xy"))
    with np.errstate(all="ignore"):
        values = surface.loss(mesh)
    labels = tuple(surface.axis_labels) if len(surface.axis_labels) == 2 else ("w1", "w2")
    return Grid(w1=w1, w2=w2, values=_finite_or_nan(values, (n, n)), window=win, axis_labels=labels)


def evaluate_1d(
    surface: Surface,
    n: int,
    window: Sequence[float] | Sequence[Sequence[float]] | None = None,
) -> Curve:
    """Sample a one-parameter ``surface`` at ``n`` cell centres of ``window``.

    ``window`` is ``(lo, hi)`` (or ``((lo, hi),)``, the surface's own form), default the
    surface's plot window; ``n`` is clamped to ``[MIN_RESOLUTION, MAX_RESOLUTION]``.
    """
    if surface.dim != 1:
        raise ValueError(f"a curve needs a one-parameter surface; {surface.name} has {surface.dim}")
    count = _resolution(n)
    bounds = surface.window[0] if window is None else tuple(window)
    if len(bounds) == 1:
        bounds = tuple(bounds[0])  # type: ignore[arg-type]
    lo, hi = _interval(bounds, "window")  # type: ignore[arg-type]
    w = _centres(lo, hi, count)
    with np.errstate(all="ignore"):
        values = surface.loss(w[np.newaxis])
    label = surface.axis_labels[0] if surface.axis_labels else "w"
    return Curve(w=w, values=_finite_or_nan(values, (count,)), window=(lo, hi), axis_label=label)
