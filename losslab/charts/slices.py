"""Slices of a two-weight surface through the current iterate, with their tangents: along w1
with w2 held, and along w2 with w1 held. They follow the browser-side ``step`` parameter; a
run's last row holds for every later step, so a run that stopped early still shows where it
stopped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import PALETTE, current_filter, thin_steps, until
from losslab.descent import History
from losslab.surfaces import Surface

Array = np.ndarray

__all__ = ["MAX_SLICE_POINTS", "MAX_SLICE_STEPS", "MAX_SLICE_VALUES", "slice_charts"]

MAX_SLICE_STEPS = 200
"""Steps whose slices are precomputed, at most."""
MAX_SLICE_VALUES = 20_000
"""Loss values precomputed over both slices and all kept steps, at most."""
MAX_SLICE_POINTS = 400
"""Points along one slice, at most."""
_TANGENT_FRACTION = 0.125


def _slice_range(lo: float, hi: float, path: Array) -> tuple[float, float]:
    """The window widened to take in the path, by at most one window width each side."""
    width = hi - lo
    return (
        max(min(lo, float(path.min())), lo - width),
        min(max(hi, float(path.max())), hi + width),
    )


def _as_text(values: Array) -> str:
    """Comma-separated values to six significant digits; empty where not finite."""
    return ",".join(f"{v:.6g}" if math.isfinite(v) else "" for v in values.tolist())


def _slice_frame(
    axis: int,
    grid: Array,
    values: Array,
    history: History,
    kept: Array,
    labels: tuple[str, str],
) -> pd.DataFrame:
    """One row per kept step: the slice as text (``values``) plus the point and tangent there.

    The slice travels as one comma-separated text field, not one row per point nor a list
    cell: Streamlit sends tables as Arrow, whose list cells do not reach Vega as arrays, and
    the text is several times smaller than a row per point.
    """
    w = history.params[kept, axis]
    other = history.params[kept, 1 - axis]
    at = history.loss[kept]
    slope = history.grad[kept, axis]
    finite = np.where(np.isfinite(values), values, np.nan)
    with np.errstate(all="ignore"):
        spread = np.nan_to_num(np.nanmax(finite, axis=1) - np.nanmin(finite, axis=1))
        half = np.full(len(kept), _TANGENT_FRACTION * (grid[-1] - grid[0]))
        # Keep the tangent within a third of the slice's own height so it cannot flatten it.
        steep = np.abs(slope) * half > spread / 3
        half[steep] = spread[steep] / 3 / np.abs(slope[steep])
    half = np.where(half > 0, half, _TANGENT_FRACTION * (grid[-1] - grid[0]))
    return pd.DataFrame(
        {
            "step": kept,
            "until": until(kept, len(history), hold_last=True),
            "values": [_as_text(row) for row in values],
            "w": w,
            "at": at,
            "slope": slope,
            "x_a": w - half,
            "x_b": w + half,
            "y_a": at - slope * half,
            "y_b": at + slope * half,
            "label": [
                f"{labels[1 - axis]} = {o:.4g} (step {s})" for o, s in zip(other, kept, strict=True)
            ],
        }
    )


def _slice_chart(
    frame: pd.DataFrame, grid: Array, label: str, step: alt.Parameter, color: str
) -> alt.LayerChart:
    lo, hi, spacing = float(grid[0]), float(grid[-1]), float(grid[1] - grid[0])
    x_scale = alt.Scale(domain=[lo, hi], nice=False)
    base = alt.Chart(frame).transform_filter(current_filter(step))
    curve = (
        base.transform_calculate(i=f"sequence(0, {len(grid)})", cell="split(datum.values, ',')")
        .transform_flatten(["i", "cell"])
        .transform_calculate(x=f"{lo!r} + datum.i * {spacing!r}", loss="toNumber(datum.cell)")
        .mark_line(color=color, clip=True, invalid="break-paths-filter-domains")
        .encode(
            x=alt.X("x:Q", title=label, scale=x_scale),
            y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
            order="i:Q",
        )
    )
    tangent = base.mark_rule(color="black", strokeWidth=2, clip=True).encode(
        x="x_a:Q", x2="x_b:Q", y="y_a:Q", y2="y_b:Q"
    )
    point = base.mark_point(size=90, filled=True, color="black", clip=True).encode(
        x="w:Q",
        y="at:Q",
        tooltip=[
            alt.Tooltip("step:Q"),
            alt.Tooltip("w:Q", title=label, format=".4g"),
            alt.Tooltip("at:Q", title="loss", format=".4g"),
            alt.Tooltip("slope:Q", title=f"∂L/∂{label}", format=".4g"),
        ],
    )
    caption = base.mark_text(align="left", baseline="top", fontSize=11, color="#333333").encode(
        x=alt.value(4), y=alt.value(4), text="label:N"
    )
    return alt.layer(curve, tangent, point, caption).properties(
        width=260, height=180, title=f"Loss along {label}, the other weight held fixed"
    )


def slice_charts(
    surface: Surface,
    history: History,
    step: alt.Parameter,
    *,
    window: Sequence[Sequence[float]] | None = None,
    n: int = 100,
) -> alt.HConcatChart:
    """Two 1-D slices of a 2-D surface through the current iterate, side by side.

    Left: ``w1 -> L(w1, w2_t)``; right: ``w2 -> L(w1_t, w2)``. Each shows the tangent line at the
    current point, ``L(w_t) + (dL/dw_k)(w_t) (w_k - w_{t,k})`` with the partial derivative from
    ``history.grad``, and marks the point ``(w_{t,k}, L(w_t))``.

    A slice depends on the iterate, so one is precomputed per kept step: at most
    ``MAX_SLICE_STEPS`` steps and at most ``MAX_SLICE_VALUES`` loss values in all, i.e.
    ``K = min(len(history), MAX_SLICE_STEPS, MAX_SLICE_VALUES // (2 n))`` steps
    (the default ``n = 100`` gives 100 steps, ``n = 200`` gives 50). Steps are kept by
    ``thin_steps`` on the path in window-normalised coordinates, so a slice stands for the
    following steps only while the iterate stays near it; each view names the step its slice
    goes through; past the run's end its last slice stays. Each step's slice is one row whose
    ``values`` text the browser splits into points after the step filter.

    ``window`` defaults to ``surface.window``; each slice spans its axis of the window, widened
    to take in the path by at most one window width each side. ``n`` is capped to
    ``[3, MAX_SLICE_POINTS]``. Undefined loss values are sent empty and break the curve.
    """
    if surface.dim != 2:
        raise ValueError(f"slices are for 2-D surfaces; {surface.name} has dim {surface.dim}")
    if not len(history) or history.params.shape[1] != 2:
        raise ValueError("slice_charts needs a non-empty history of 2-D iterates")
    n = int(min(max(int(n), 3), MAX_SLICE_POINTS))
    window = surface.window if window is None else window
    (lo1, hi1), (lo2, hi2) = ((float(a), float(b)) for a, b in window)
    if not (hi1 > lo1 and hi2 > lo2):
        raise ValueError(f"window must be ((lo, hi), (lo, hi)) with lo < hi; got {window}")

    path = history.params
    budget = min(MAX_SLICE_STEPS, max(MAX_SLICE_VALUES // (2 * n), 3))
    scaled = (path - [lo1, lo2]) / [hi1 - lo1, hi2 - lo2]
    kept = thin_steps(scaled, budget)
    grids = (
        np.linspace(*_slice_range(lo1, hi1, path[:, 0]), n),
        np.linspace(*_slice_range(lo2, hi2, path[:, 1]), n),
    )
    k = len(kept)
    along_w1 = np.stack([np.broadcast_to(grids[0], (k, n)), np.repeat(path[kept, 1:2], n, axis=1)])
    along_w2 = np.stack([np.repeat(path[kept, 0:1], n, axis=1), np.broadcast_to(grids[1], (k, n))])
    with np.errstate(all="ignore"):
        values = surface.loss(np.concatenate([along_w1, along_w2], axis=1))

    labels = tuple(surface.axis_labels) if len(surface.axis_labels) == 2 else ("w1", "w2")
    charts = [
        _slice_chart(
            _slice_frame(
                axis, grids[axis], values[axis * k : (axis + 1) * k], history, kept, labels
            ),
            grids[axis],
            labels[axis],
            step,
            PALETTE[axis],
        )
        for axis in (0, 1)
    ]
    return alt.hconcat(*charts)


