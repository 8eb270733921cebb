"""Views that follow the browser-side ``step`` parameter: metrics over steps and 1-D slices.

Every builder takes the ``step`` parameter (from ``step_param``) as an argument, uses it only in
filters and expressions, and never declares it; ``link`` composes the views and declares the
parameter once, at the top of the spec, so scrubbing the step repaints every view in the
browser without a Python rerun.

Long runs are thinned before drawing (``thin_steps``): a kept step stands for the steps after it
until the next kept step, so each row carries ``step`` and ``until`` and the current row is the
one with ``step <= current < until``. With no thinning, ``until = step + 1`` and that is plain
equality. A run's last row ends its lines in the metrics; in the views of one run (slices, 3-D)
it holds for every later step, so a run that stopped early still shows where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts._common import DASHES, PALETTE, RUN, SHAPES, run_field, run_legend
from losslab.charts._compose import concat_spec, layer_spec, records
from losslab.descent import MAX_STEPS, History
from losslab.surfaces import Surface

Array = np.ndarray

__all__ = [
    "MetricShape",
    "metric_source",
    "fill_metrics",
    "metrics_skeleton",
    "metrics_tables",
    "LOG_FLOOR",
    "MAX_METRIC_POINTS",
    "MAX_METRIC_ROWS",
    "MAX_RUNS",
    "MAX_SLICE_POINTS",
    "MAX_SLICE_STEPS",
    "MAX_SLICE_VALUES",
    "link",
    "metrics_charts",
    "slice_charts",
    "thin_steps",
]

MAX_RUNS = 8
"""Runs drawn at once; further runs are left out (the palette has eight entries)."""
MAX_METRIC_ROWS = 4000
"""Rows per metric chart over all runs (below Altair's 5,000-row guard)."""
MAX_METRIC_POINTS = 500
"""Rows per run in one metric chart, at most: more than a chart's width in pixels."""
LOG_FLOOR = 1e-12
"""Values at or below this are drawn at this height on a log axis (and the axis says so)."""
MAX_SLICE_STEPS = 200
"""Steps whose slices are precomputed, at most."""
MAX_SLICE_VALUES = 20_000
"""Loss values precomputed over both slices and all kept steps, at most."""
MAX_SLICE_POINTS = 400
"""Points along one slice, at most."""
_MARKERS_PER_RUN = 8
_TANGENT_FRACTION = 0.125


def thin_steps(points: Array, max_points: int) -> Array:
    """Indices of at most ``max_points`` rows of ``points`` (shape ``(n, k)``) to draw.

    All rows are kept when ``n <= max_points``. Otherwise the polyline through the rows is cut
    into ``max_points - 1`` equal lengths and the first row of each piece is kept, plus the last
    row. A dropped row then lies within ``length / (max_points - 1)`` (Euclidean) of the kept
    row before it, so a long still tail costs nothing and every large jump is kept.
    """
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    # An undefined coordinate adds no length (its row is drawn, or not, by the caller).
    points = np.nan_to_num(points, nan=0.0, posinf=0.0, neginf=0.0)
    n = len(points)
    max_points = max(int(max_points), 3)
    if n <= max_points:
        return np.arange(n)
    walked = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if walked[-1] <= 0.0:
        return np.array([0, n - 1])
    piece = np.minimum(np.floor(walked / (walked[-1] / (max_points - 1))), max_points - 2)
    first = np.flatnonzero(np.diff(piece, prepend=-1.0) > 0)
    return np.union1d(first, [n - 1])


def _until(kept: Array, n: int, *, hold_last: bool = False) -> Array:
    """For each kept step, the first step it no longer stands for.

    The last row stands for the steps up to ``n - 1``, or with ``hold_last`` for every step a
    step parameter can reach (``MAX_STEPS``).
    """
    return np.append(kept[1:], max(n, MAX_STEPS + 1) if hold_last else n)


def _current(step: alt.Parameter) -> str:
    return f"datum.step <= {step.name} && {step.name} < datum.until"


def _rescale(values: Array) -> Array:
    lo, hi = float(np.min(values)), float(np.max(values))
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def _check_runs(histories: Sequence[tuple[str, History]]) -> list[tuple[str, History]]:
    runs = [(str(name), h) for name, h in list(histories)[:MAX_RUNS] if len(h)]
    if not runs:
        raise ValueError("metrics_charts needs at least one run with at least one step")
    names = [name for name, _ in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"run names must be unique; got {names}")
    return runs


def _metric_frame(runs: list[tuple[str, Array]], value: str, *, log: bool) -> pd.DataFrame:
    """Long table (optimizer, run, step, until, value, marker) thinned to ``MAX_METRIC_ROWS``
    (``optimizer`` is the run's name, ``run`` its key: "1", "2", … in order)."""
    per_run = max(min(MAX_METRIC_POINTS, MAX_METRIC_ROWS // max(len(runs), 1)), 3)
    frames = []
    for index, (name, series) in enumerate(runs):
        n = len(series)
        shape = np.log10(np.maximum(series, LOG_FLOOR)) if log else series
        kept = thin_steps(np.column_stack([np.arange(n) / max(n - 1, 1), _rescale(shape)]), per_run)
        marker = np.zeros(len(kept), dtype=bool)
        # Markers are staggered between runs so that overlapping lines still show every marker.
        spots = (np.arange(_MARKERS_PER_RUN) + (index + 1) / (len(runs) + 1)) / _MARKERS_PER_RUN
        marker[np.minimum((spots * len(kept)).astype(int), len(kept) - 1)] = True
        frames.append(
            pd.DataFrame(
                {
                    "optimizer": name,
                    RUN: str(index + 1),
                    "step": kept,
                    "until": _until(kept, n),
                    value: _compact(series[kept]),
                    "marker": marker,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _styles(names: list[str], labels_from: str | None = None) -> dict:
    k = len(names)
    legend = run_legend("optimiser", labels_from)
    field, domain = run_field(names, labels_from)
    return {
        "field": field,
        "color": alt.Color(
            f"{field}:N", scale=alt.Scale(domain=domain, range=PALETTE[:k]), legend=legend
        ),
        # Dashes key on a copy of the field so that Vega-Lite does not merge them into the
        # legend, where a dashed outline spoils the marker.
        "strokeDash": alt.StrokeDash(
            "dash:N", scale=alt.Scale(domain=domain, range=DASHES[:k]), legend=None
        ),
        "shape": alt.Shape(
            f"{field}:N", scale=alt.Scale(domain=domain, range=SHAPES[:k]), legend=legend
        ),
    }


def _current_rule(step: alt.Parameter) -> alt.Chart:
    return (
        alt.Chart(pd.DataFrame({"current": [0]}))
        .transform_calculate(current=step.name)
        .mark_rule(color="#555555", strokeDash=[3, 3])
        .encode(x="current:Q")
    )


def _metric_chart(
    frame: pd.DataFrame,
    value: str,
    title: str,
    step: alt.Parameter,
    styles: dict[str, alt.SchemaBase],
    *,
    log: bool,
    as_spec: bool = False,
) -> alt.LayerChart | dict:
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    # The floor is applied in the browser, so the table carries each value once.
    plotted = f"max(datum.{value}, {LOG_FLOOR!r})" if log else f"datum.{value}"
    base = (
        alt.Chart(frame)
        .transform_calculate(plotted=plotted)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("plotted:Q", scale=scale, title=title),
            color=styles["color"],
            tooltip=[
                alt.Tooltip("optimizer:N", title="optimiser"),
                alt.Tooltip("step:Q"),
                alt.Tooltip(f"{value}:Q", format=".4g"),
            ],
        )
    )
    line = (
        base.transform_calculate(dash=f"datum.{styles['field']}")
        .mark_line(clip=True)
        .encode(strokeDash=styles["strokeDash"], order="step:Q")
    )
    markers = base.mark_point(size=30, filled=True, clip=True).encode(shape=styles["shape"])
    current = base.mark_point(size=110, filled=True, stroke="black", strokeWidth=1).encode(
        shape=styles["shape"]
    )
    layers = (
        line,
        markers.transform_filter("datum.marker"),
        _current_rule(step),
        current.transform_filter(_current(step)),
    )
    if as_spec:
        return layer_spec(*layers, width=320, height=150)
    return alt.layer(*layers).properties(width=320, height=150)


def _log_title(name: str, frame: pd.DataFrame, value: str) -> str:
    clipped = bool((frame[value] <= LOG_FLOOR).any())
    return f"{name} (log; ≤ {LOG_FLOOR:g} drawn at {LOG_FLOOR:g})" if clipped else f"{name} (log)"


class MetricShape(NamedTuple):
    """What the metric charts' spec depends on besides their rows (hashable: a cache key):
    the run names and, per chart, its value column, axis title and whether it is log."""

    names: tuple[str, ...]
    charts: tuple[tuple[str, str, bool], ...]


def metrics_tables(
    histories: Sequence[tuple[str, History]],
    *,
    minimizers: Sequence[Sequence[float]] | None = None,
    optimal_value: float | None = None,
    rates: bool = True,
) -> tuple[dict[str, pd.DataFrame], MetricShape]:
    """The rows of each metric chart (by value column) and the charts' shape."""
    runs = _check_runs(histories)
    names = tuple(name for name, _ in runs)
    tables: dict[str, pd.DataFrame] = {}
    shape: list[tuple[str, str, bool]] = []

    if optimal_value is None:
        losses, loss_name = [(n, h.loss) for n, h in runs], "loss"
    else:
        losses = [(n, h.loss - float(optimal_value)) for n, h in runs]
        loss_name = "loss − optimum"
    tables["loss"] = _metric_frame(losses, "loss", log=True)
    shape.append(("loss", _log_title(loss_name, tables["loss"], "loss"), True))

    if minimizers is not None and len(minimizers):
        targets = np.asarray(minimizers, dtype=float)
        dim = runs[0][1].params.shape[1]
        if targets.ndim != 2 or targets.shape[1] != dim:
            raise ValueError(f"minimizers must be points with {dim} coordinates; got {minimizers}")
        distances = [
            (n, np.linalg.norm(h.params[:, None, :] - targets[None], axis=2).min(axis=1))
            for n, h in runs
        ]
        tables["distance"] = _metric_frame(distances, "distance", log=True)
        title = _log_title("distance to nearest minimum", tables["distance"], "distance")
        shape.append(("distance", title, True))

    used = [(n, h.learning_rate) for n, h in runs if len(h.learning_rate)] if rates else []
    if used:
        every = np.concatenate([r for _, r in used])
        log = bool(np.all(every > 0) and every.max() >= 100 * every.min())
        tables["learning_rate"] = _metric_frame(used, "learning_rate", log=log)
        shape.append(("learning_rate", "learning rate, step t → t+1" + (" (log)" if log else ""),
                      log))
    return tables, MetricShape(names, tuple(shape))


def metric_source(value: str) -> str:
    """The dataset name of a metric chart's rows in ``metrics_skeleton``."""
    return f"losslab-metric-{value}"


def metrics_skeleton(shape: MetricShape, step_name: str) -> dict:
    """The metric charts' spec with named, empty data: cache it and ``fill_metrics`` it."""
    step = alt.param(name=step_name)
    styles = _styles(list(shape.names), labels_from=metric_source(shape.charts[0][0]))
    charts = [
        _metric_chart(alt.NamedData(metric_source(value)), value, title, step, styles,
                      log=log, as_spec=True)
        for value, title, log in shape.charts
    ]
    spec = concat_spec("vconcat", *charts)
    spec.pop("params", None)  # the step is declared by whoever composes the chart
    return spec


def fill_metrics(skeleton: dict, tables: dict[str, pd.DataFrame]) -> dict:
    """``skeleton`` with these runs' rows as its named datasets."""
    datasets = dict(skeleton.get("datasets", {}))
    for value, frame in tables.items():
        datasets[metric_source(value)] = records(frame)
    return {**skeleton, "datasets": datasets}


def metrics_charts(
    histories: Sequence[tuple[str, History]],
    step: alt.Parameter,
    *,
    minimizers: Sequence[Sequence[float]] | None = None,
    optimal_value: float | None = None,
    rates: bool = True,
    as_spec: bool = False,
) -> alt.VConcatChart | dict:
    """Loss, distance to the nearest minimiser, and learning rate against the step, stacked.

    Each chart draws one line per run (colour, dash and marker from ``PALETTE``, ``DASHES``,
    ``SHAPES`` in run order, named in one legend), a dashed rule at the current ``step`` and a
    large marker at each run's current value. Charts:

    * loss ``L(w_t)`` on a log axis, or the gap ``L(w_t) - optimal_value`` when that is given;
      values ``<= LOG_FLOOR`` are drawn at ``LOG_FLOOR`` and the axis title says so;
    * distance ``min_m ||w_t - m||_2`` over ``minimizers``, on a log axis (only if given);
    * the learning rate used for the update from step t to t + 1 (log axis when all rates are
      positive and span a factor of 100 or more).

    At most ``MAX_RUNS`` runs are drawn; each chart holds at most ``MAX_METRIC_ROWS`` rows
    (``thin_steps`` on the chart's own normalised coordinates). The ``step`` parameter is
    referenced, never declared: compose with ``link``. ``rates=False`` leaves out the
    learning-rate chart (a flat line without a schedule); ``as_spec=True`` returns the same
    chart as a Vega-Lite dictionary, assembled without Altair's deep copies (for ``compose``).
    """
    tables, shape = metrics_tables(
        histories, minimizers=minimizers, optimal_value=optimal_value, rates=rates
    )
    styles = _styles(list(shape.names))
    charts = [
        _metric_chart(tables[value], value, title, step, styles, log=log, as_spec=as_spec)
        for value, title, log in shape.charts
    ]
    return concat_spec("vconcat", *charts) if as_spec else alt.vconcat(*charts)


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


def _compact(values: Array) -> list[float | None]:
    """Six significant digits (the browser needs no more), ``None`` where not finite."""
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values.tolist()]


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
            "until": _until(kept, len(history), hold_last=True),
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
    base = alt.Chart(frame).transform_filter(_current(step))
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
        width=260, height=180, title=f"loss along {label}, the other weight held fixed"
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


def link(
    step: alt.Parameter, *charts: alt.TopLevelMixin, columns: int | None = None
) -> alt.ConcatChart:
    """One compound chart of ``charts`` in which ``step`` is declared exactly once.

    Call it last, on every view that follows the step. Colour, opacity, shape, dash and size
    scales are resolved independently between the views (a run's colours in the metrics must
    not merge with a surface's height colours); each view's own sub-views still share theirs.
    ``columns`` wraps the views into rows of that many (``None``: one row).
    """
    if not charts:
        raise ValueError("link needs at least one chart")
    composed = alt.concat(*charts) if columns is None else alt.concat(*charts, columns=columns)
    return composed.add_params(step).resolve_scale(
        color="independent",
        opacity="independent",
        shape="independent",
        strokeDash="independent",
        size="independent",
    )
