"""Metric charts over the steps — loss, distance to the minimum, learning rate — that follow
the browser-side ``step`` parameter.

Every builder takes the ``step`` parameter (from ``step_param``) as an argument, uses it only in
filters and expressions, and never declares it; ``compose`` (or ``link``) declares it once, at
the top of the spec, so scrubbing the step repaints every view in the browser without a Python
rerun. Long runs are thinned (``common.thin_steps``); a run's last row ends its lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import (
    DASHES,
    PALETTE,
    RUN,
    SHAPES,
    compact,
    current_filter,
    run_field,
    run_legend,
    thin_steps,
    until,
)
from losslab.charts.compose import concat_spec, layer_spec, records
from losslab.descent import History
from losslab.limits import MAX_RUNS

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
    "metrics_charts",
]

MAX_METRIC_ROWS = 4000
"""Rows per metric chart over all runs (below Altair's 5,000-row guard)."""
MAX_METRIC_POINTS = 500
"""Rows per run in one metric chart, at most: more than a chart's width in pixels."""
LOG_FLOOR = 1e-12
"""Values at or below this are drawn at this height on a log axis (and the axis says so)."""
_MARKERS_PER_RUN = 8


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
                    "until": until(kept, n),
                    value: compact(series[kept]),
                    "marker": marker,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _styles(names: list[str], labels_from: str | None = None, *, legend: bool = True) -> dict:
    k = len(names)
    # Without a legend of its own (a panel beside the map, whose legend names the runs).
    drawn = run_legend(None, labels_from) if legend else None
    field, domain = run_field(names, labels_from)
    return {
        "field": field,
        "color": alt.Color(
            f"{field}:N", scale=alt.Scale(domain=domain, range=PALETTE[:k]), legend=drawn
        ),
        # Dashes key on a copy of the field so that Vega-Lite does not merge them into the
        # legend, where a dashed outline spoils the marker.
        "strokeDash": alt.StrokeDash(
            "dash:N", scale=alt.Scale(domain=domain, range=DASHES[:k]), legend=None
        ),
        "shape": alt.Shape(
            f"{field}:N", scale=alt.Scale(domain=domain, range=SHAPES[:k]), legend=drawn
        ),
    }


def _current_rule(step: alt.Parameter, domain: list | None = None) -> alt.Chart:
    x = alt.X("current:Q", scale=alt.Scale(domain=domain)) if domain else alt.X("current:Q")
    return (
        alt.Chart(pd.DataFrame({"current": [0]}))
        .transform_calculate(current=step.name)
        .mark_rule(color="#555555", strokeDash=[3, 3])
        .encode(x=x)
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
    width: int = 320,
    height: int = 150,
) -> alt.LayerChart | dict:
    # The floor is applied in the browser, so the table carries each value once.
    plotted = f"max(datum.{value}, {LOG_FLOOR!r})" if log else f"datum.{value}"
    bounds, x_domain, y_domain = _domains(frame, value, log)
    scale = alt.Scale(type="log", domain=y_domain) if log else alt.Scale(zero=False,
                                                                        domain=y_domain)
    base = (
        alt.Chart(frame)
        .transform_calculate(plotted=plotted)
        .encode(
            x=alt.X("step:Q", title="step", scale=alt.Scale(domain=x_domain)),
            # A title of two lines ("\n") stays within a short chart's height.
            y=alt.Y("plotted:Q", scale=scale,
                    title=title.split("\n") if "\n" in title else title),
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
        _current_rule(step, x_domain),
        current.transform_filter(current_filter(step)),
    )
    if as_spec:
        spec = layer_spec(*layers, width=width, height=height)
        spec["params"] = [*spec.get("params", []), *bounds]
        return spec
    return alt.layer(*layers).properties(width=width, height=height).add_params(
        *(alt.param(name=b["name"], expr=b["expr"]) for b in bounds))


def _domains(frame, value: str, log: bool) -> tuple[list[dict], list[dict], list[dict]]:
    """The axes' domains, computed in the browser from every row of the chart (``frame`` when
    it holds rows, else the named dataset), never from what is drawn up to the step.

    A domain Vega derives from the drawn layers is derived again on every move of the step
    (the marker at the step and the rule are layers too), and then every mark of the chart is
    encoded again, tooltips and all: ~100 ms a move for two runs of 300 steps. These are
    parameters of the data alone, so a move only adds and removes points. Returns the
    parameters and the x and y domains that read them."""
    source = frame.name if isinstance(frame, alt.NamedData) else None
    name = f"{value}_axis"
    rows = f"data('{source}')" if source else None
    # The rate at step t moves w_t to w_t+1, so a run of n steps has rates at 0 … n-1 and
    # losses at 0 … n: the rate's axis ends one step past its last row, as the others' do.
    after = 1 if value == "learning_rate" else 0
    if rows is None:  # an inline table: its extent is known here
        steps = frame["step"].to_numpy(dtype=float)
        values = frame[value].to_numpy(dtype=float)
        step_hi = f"{float(steps.max()) + after if len(steps) else 1.0!r}"
        value_extent = (f"[{float(np.nanmin(values))!r}, {float(np.nanmax(values))!r}]"
                        if len(values) else "[1, 1]")
    else:
        step_hi = f"extent(pluck({rows}, 'step'))[1]" + (f" + {after}" if after else "")
        value_extent = f"extent(pluck({rows}, '{value}'))"
    extent = f"{name}_extent"
    low = f"max({extent}[0], {LOG_FLOOR!r})" if log else f"{extent}[0]"
    params = [
        {"name": extent, "expr": value_extent},
        {"name": f"{name}_steps", "expr": f"max({step_hi}, 1)"},
        {"name": f"{name}_low", "expr": low},
        {"name": f"{name}_high", "expr": f"max({extent}[1], {name}_low)"},
    ]
    return (params, [0, {"expr": f"{name}_steps"}],
            [{"expr": f"{name}_low"}, {"expr": f"{name}_high"}])


def _log_title(name: str, frame: pd.DataFrame, value: str) -> str:
    clipped = bool((frame[value] <= LOG_FLOOR).any())
    return f"{name} (log)\n≤ {LOG_FLOOR:g} drawn at {LOG_FLOOR:g}" if clipped else f"{name} (log)"


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
        # No known optimum: the gap to the lowest loss any run saw is what a log axis can draw
        # truly (a loss that goes negative would otherwise look like a crash to the floor).
        lowest = min(float(np.nanmin(h.loss)) for _, h in runs)
        losses = [(n, h.loss - lowest) for n, h in runs]
        loss_name = "loss − lowest seen"
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
        title = _log_title("distance to nearest\nminimum", tables["distance"], "distance")
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


def metrics_skeleton(shape: MetricShape, step_name: str, *, width: int = 320,
                     height: int = 150, legend: bool = True) -> dict:
    """The metric charts' spec with named, empty data: cache it and ``fill_metrics`` it.

    Each chart is ``width`` × ``height`` px. ``legend=False`` leaves the runs' legend out:
    for a panel beside a map whose legend names the runs in the same colours, dashes and
    markers (the panel then stays as narrow as its charts)."""
    step = alt.param(name=step_name)
    styles = _styles(list(shape.names), labels_from=metric_source(shape.charts[0][0]),
                     legend=legend)
    charts = [
        _metric_chart(alt.NamedData(metric_source(value)), value, title, step, styles,
                      log=log, as_spec=True, width=width, height=height)
        for value, title, log in shape.charts
    ]
    spec = concat_spec("vconcat", *charts)
    # The step is declared by whoever composes the chart; the axes' bounds stay.
    spec["params"] = [p for p in spec.get("params", []) if p["name"] != step_name]
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
