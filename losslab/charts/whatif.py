"""What-if charts: a learning-rate (and β) control per run inside the chart, no rerun.

The rows come from ``losslab.whatif.sweep``: every run at every rate of its window. Each run
gets a Vega-Lite parameter ``lr_<k>`` (k = 1, 2, …: the run's rung in its window) bound to a
range input, and runs with a decay ladder a ``beta_<k>``; moving one only changes which rows
the browser draws. The path on the map, the loss and distance charts, the marker at the current
step and the outcome text (the legend's words, the rate and the stability sentence) all read the
same rows through the same filter, so they move together.

Kept fast on purpose: on the map and its loss charts each run's paths are a dataset of their
own (``paths_name``) drawn by layers of their own, so a move of one run's rate filters only that
run's rows, and a server change to one run (another optimiser, another rate in the sidebar)
sends the browser new rows for that run only (it keeps a dataset whose bytes are unchanged).
One filter on the run's rung parameter is the first transform of every view reading its paths
(Vega-Lite merges identical sources, so it runs once per move); every scale
domain is fixed here from the whole window and every view has a fixed size, so a move never
re-lays out the chart; paths arrive thinned (``whatif.MAX_POINTS`` rows each at most).

Each figure comes in two forms built from the same views: one spec (``whatif_map_spec``,
``whatif_lesson_spec``: a notebook's figure) and separate panels sharing their controls
(``whatif_map_panels``, ``whatif_lesson_panels``: the app's, which a phone stacks). The module
is kept in one piece so both forms read the same private filters, scales and outcome text.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any, NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import DASHES, PALETTE, SHAPES, STEP
from losslab.charts.compose import records
from losslab.charts.one_weight import lesson_frames
from losslab.charts.panels import panel
from losslab.surfaces import Surface
from losslab.whatif import RunWindow, Sweep

__all__ = [
    "WHATIF_OUTCOMES",
    "WHATIF_PATHS",
    "MapRows",
    "MapShape",
    "beta_param_name",
    "paths_name",
    "rate_param_name",
    "with_choices",
    "whatif_lesson_panels",
    "whatif_lesson_spec",
    "whatif_map_figure",
    "whatif_map_panels",
    "whatif_map_rows",
    "whatif_map_spec",
]

WHATIF_PATHS = "losslab-whatif-paths"
WHATIF_OUTCOMES = "losslab-whatif-outcomes"
"""Dataset names of ``Sweep.paths`` and ``Sweep.outcomes`` in the specs (the map's figures hold
each run's paths apart: ``paths_name``)."""
_FLOOR = 1e-12
_FMT = ".4g"
_KNOB_SYMBOL = {"momentum": "μ", "decay": "ρ", "beta1": "β1"}


def rate_param_name(run: int) -> str:
    """The parameter holding run ``run``'s (0-based) rung in its rate window: ``lr_1``, …"""
    return f"lr_{run + 1}"


def paths_name(run: int) -> str:
    """The dataset of run ``run``'s (0-based) paths in the map's figures:
    ``losslab-whatif-paths-1``, …"""
    return f"{WHATIF_PATHS}-{run + 1}"


def beta_param_name(run: int) -> str:
    """The parameter holding run ``run``'s (0-based) index in its decay window: ``beta_1``, …"""
    return f"beta_{run + 1}"


def _last_step(paths: pd.DataFrame) -> int:
    """The step control's end: the last step any drawn path reaches (at least 1)."""
    return max(int(paths["step"].max()) if len(paths) else 0, 1)


def _params(sweep: Sweep | _Runs, step: int | None, *, every_beta: bool = False,
            last: int | None = None) -> list[dict[str, Any]]:
    last = _last_step(sweep.paths) if last is None else last
    at = last if step is None else min(max(int(step), 0), last)
    params: list[dict[str, Any]] = [{
        "name": STEP, "value": at,
        "bind": {"input": "range", "min": 0, "max": last, "step": 1, "name": "Step "},
    }]

    def control(name: str, value: int, top: int, label: str, values: int) -> dict[str, Any]:
        # A window of one value has no control to move: a control from 0 to 1 would reach a
        # rung nobody computed, and the run would vanish. Panels keep an unnamed input
        # (``shared_controls`` hides it); Vega's own bindings would show one, so a single
        # spec holds the value without a binding.
        if values > 1 or every_beta:
            return {"name": name, "value": value,
                    "bind": {"input": "range", "min": 0, "max": top, "step": 1,
                             "name": label if values > 1 else ""}}
        return {"name": name, "value": value}

    for k, win in enumerate(sweep.windows):
        params.append(control(rate_param_name(k), win.rate_index, max(len(win.rates) - 1, 1),
                              f"{win.name}: learning rate ", len(win.rates)))
        if win.knob:
            params.append(control(
                beta_param_name(k), win.beta_index,
                _beta_max(sweep) if every_beta else max(len(win.betas) - 1, 1),
                f"{win.name}: {_KNOB_SYMBOL.get(win.knob, win.knob)} ", len(win.betas)))
        elif every_beta:  # a run without a decay: its control is there, unnamed (hidden),
            params.append({  # at the middle, where another optimiser's decay would start
                "name": beta_param_name(k), "value": _beta_max(sweep) // 2,
                "bind": {"input": "range", "min": 0, "max": _beta_max(sweep), "step": 1,
                         "name": ""},
            })
    return params


def _beta_max(sweep: Sweep | _Runs) -> int:
    """The decay controls' last index in a figure whose runs all have one (``every_beta``):
    the same for every run, so another optimiser in a run keeps the figure's shape."""
    return max([len(w.betas) - 1 for w in sweep.windows] + [1])


def _chosen_any_decay(sweep: Sweep | _Runs) -> dict[str, Any]:
    """``_chosen`` for the panels: every run reads its decay parameter, and the rows of a run
    without a decay (``fixed``) pass whatever it holds. The filter then names no optimiser's
    knob, so a switch of optimiser leaves the spec as it was and only its rows change."""
    count = len(sweep.windows)
    rungs = ", ".join(rate_param_name(k) for k in range(count))
    betas = ", ".join(beta_param_name(k) for k in range(count))
    return {"filter": f"datum.rung == [{rungs}][datum.run] && "
                      f"(datum.fixed || datum.beta == [{betas}][datum.run])"}


def _any_decay(specs: list[dict], sweep: Sweep | _Runs) -> list[dict]:
    """The panels with ``_chosen`` replaced by ``_chosen_any_decay`` wherever it is used."""
    old, new = _chosen(sweep), _chosen_any_decay(sweep)

    def swap(node: Any) -> Any:
        if node == old:
            return dict(new)
        if isinstance(node, dict):  # rows (inline or named) hold no filter: not walked
            return {k: (v if k in ("datasets", "values") else swap(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    return [swap(spec) for spec in specs]


def _with_fixed(frame: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """``frame`` (rows with a ``run``) with ``fixed``: whether that run has no decay ladder."""
    fixed = np.array([not w.knob for w in sweep.windows], dtype=bool)
    return frame.assign(fixed=fixed[frame["run"].to_numpy(dtype=int)])


def with_choices(spec: dict, windows: Sequence[RunWindow]) -> dict:
    """A what-if ``spec`` whose rate (and decay) controls start at ``windows``' chosen rungs:
    a spec built once for the windows serves every choice within them."""
    values = {}
    for k, win in enumerate(windows):
        values[rate_param_name(k)] = win.rate_index
        if win.knob:
            values[beta_param_name(k)] = win.beta_index
    params = [{**p, "value": values[p["name"]]} if p.get("name") in values else p
              for p in spec.get("params", [])]
    return {**spec, "params": params}


def _chosen(sweep: Sweep | _Runs) -> dict[str, Any]:
    """The one filter every view starts with: each run's rows at its chosen rung (and decay)."""
    rungs = ", ".join(rate_param_name(k) for k in range(len(sweep.windows)))
    betas = ", ".join(beta_param_name(k) if w.knob else "0"
                      for k, w in enumerate(sweep.windows))
    return {"filter": f"datum.rung == [{rungs}][datum.run] && datum.beta == [{betas}][datum.run]"}


def _run_scales(count: int) -> dict[str, dict[str, Any]]:
    domain = list(range(count))
    return {
        "color": {"field": "run", "type": "nominal", "legend": None,
                  "scale": {"domain": domain, "range": PALETTE[:count]}},
        "strokeDash": {"field": "run", "type": "nominal", "legend": None,
                       "scale": {"domain": domain, "range": DASHES[:count]}},
        "shape": {"field": "run", "type": "nominal", "legend": None,
                  "scale": {"domain": domain, "range": SHAPES[:count]}},
    }


def _axis(field: str, domain: Sequence[float], title: str, *, log: bool = False) -> dict:
    scale: dict[str, Any] = {"domain": [float(v) for v in domain], "nice": False}
    # A log scale has no zero to leave out (Vega-Lite warns when told to).
    scale.update({"type": "log"} if log else {"zero": False})
    return {"field": field, "type": "quantitative", "title": title, "scale": scale}


_CURRENT = {"filter": f"datum.step <= {STEP} && {STEP} < datum.until"}
_WALKED = {"filter": f"datum.step <= {STEP}"}


def _run_chosen(k: int, win: RunWindow, any_decay: bool) -> dict[str, Any]:
    """Run ``k``'s rows at its chosen rung (and decay): ``_chosen`` for a view of that run's
    own paths. With ``any_decay`` it reads the run's decay parameter whatever its optimiser
    (rows of a run without one are ``fixed``): a switch of optimiser keeps the spec."""
    rung = f"datum.rung == {rate_param_name(k)}"
    if any_decay:
        return {"filter": f"{rung} && (datum.fixed || datum.beta == {beta_param_name(k)})"}
    return {"filter": f"{rung} && datum.beta == {beta_param_name(k) if win.knob else 0}"}


def _run_marks(k: int) -> dict[str, dict[str, Any]]:
    """Run ``k``'s colour, dash and marker, as ``_run_scales`` gives them to rows of run k."""
    return {"color": {"value": PALETTE[k]}, "strokeDash": {"value": DASHES[k]},
            "shape": {"value": SHAPES[k]}}


def _path_layers(runs: Sweep | _Runs, x: dict, y: dict, tooltip: list[dict], dots: bool,
                 any_decay: bool = False) -> list[dict]:
    """The runs' paths up to the step (with a dot per drawn iterate when ``dots``) and the
    marker at the step, at the chosen rungs: every run's lines, then its dots, then the
    markers on top, each run's read from its own dataset."""
    lines, points, markers = [], [], []
    for k, win in enumerate(runs.windows):
        data, chosen, marks = {"name": paths_name(k)}, _run_chosen(k, win, any_decay), _run_marks(k)
        lines.append(
            {"data": data, "transform": [chosen, _WALKED],
             "mark": {"type": "line", "strokeWidth": 2, "clip": True},
             "encoding": {"x": x, "y": y, "order": {"field": "step", "type": "quantitative"},
                          "color": marks["color"], "strokeDash": marks["strokeDash"]}})
        points.append(
            {"data": data, "transform": [chosen, _WALKED],
             "mark": {"type": "point", "filled": True, "size": 22, "opacity": 0.8, "clip": True},
             "encoding": {"x": x, "y": y, "color": marks["color"], "shape": marks["shape"],
                          "tooltip": tooltip}})
        markers.append(
            {"data": data, "transform": [chosen, _CURRENT],
             "mark": {"type": "point", "filled": True, "size": 170, "stroke": "black",
                      "strokeWidth": 2, "opacity": 1, "clip": True},
             "encoding": {"x": x, "y": y, "color": marks["color"], "shape": marks["shape"],
                          "tooltip": tooltip}})
    return [*lines, *(points if dots else []), *markers]


def _log_bounds(field: str, top: float, count: int) -> tuple[list[dict[str, Any]], list[dict]]:
    """A metric chart's log axis in whole decades, from the smallest value of ``field`` (at
    least 1e-12) to the largest (at most ``top``, and at least a decade up), over every row the
    chart holds (every rung and decay of each of the ``count`` runs, not only the chosen ones:
    moving a rate does not move the axis), computed by the browser from those rows. A run that
    changes optimiser, and so the decades its losses reach, then changes only the rows: the
    chart keeps its spec and the browser swaps them in, instead of building the chart anew.
    Returns the parameters and the scale's domain that reads them."""
    extents = [f"{field}_extent_{k + 1}" for k in range(count)]
    least, most, low, high = (f"{field}_{name}" for name in ("least", "most", "low", "high"))
    # A run without rows has no extent: it counts as nothing (MAX_VALUE, never a real value).
    lows = ", ".join(f"isFinite({e}[0]) ? {e}[0] : MAX_VALUE" for e in extents)
    highs = ", ".join(f"isFinite({e}[1]) ? {e}[1] : -MAX_VALUE" for e in extents)
    lowest = f"max({least} < MAX_VALUE ? {least} : {_FLOOR}, {_FLOOR})"
    highest = f"min({most} > -MAX_VALUE ? {most} : 1, {top})"
    params = [
        *({"name": e, "expr": f"extent(pluck(data('{paths_name(k)}'), '{field}'))"}
          for k, e in enumerate(extents)),
        {"name": least, "expr": f"min({lows})"},
        {"name": most, "expr": f"max({highs})"},
        # The tolerance keeps an exact power of ten itself (log / LN10 is not exact).
        {"name": low, "expr": f"pow(10, floor(log({lowest}) / LN10 + 1e-9))"},
        {"name": high, "expr": f"pow(10, ceil(log(min(max({highest}, {lowest} * 10), 1e300))"
                               " / LN10 - 1e-9))"},
    ]
    return params, [{"expr": low}, {"expr": high}]


def _metric_view(runs: Sweep | _Runs, field: str, title: str, domain: list[dict],
                 width: int, height: int, any_decay: bool = False) -> dict:
    x = _axis("step", (0, max(runs.steps, 1)), "step")
    # A log scale has no zero to leave out (Vega-Lite warns when told to).
    y = {"field": field, "type": "quantitative", "title": title,
         "scale": {"type": "log", "domain": domain, "nice": False}}
    tip = [{"field": "step", "type": "quantitative"},
           {"field": field, "type": "quantitative", "format": _FMT}]
    lines, markers = [], []
    for k, win in enumerate(runs.windows):
        data, chosen, marks = {"name": paths_name(k)}, _run_chosen(k, win, any_decay), _run_marks(k)
        lines.append(
            {"data": data, "transform": [chosen],
             "mark": {"type": "line", "clip": True},
             "encoding": {"x": x, "y": y, "order": {"field": "step", "type": "quantitative"},
                          "color": marks["color"], "strokeDash": marks["strokeDash"],
                          "tooltip": tip}})
        markers.append(
            {"data": data, "transform": [chosen, _CURRENT],
             "mark": {"type": "point", "filled": True, "size": 90, "stroke": "black",
                      "strokeWidth": 1, "clip": True},
             "encoding": {"x": x, "y": y, "color": marks["color"], "shape": marks["shape"],
                          "tooltip": tip}})
    rule = {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#555555",
                                               "strokeDash": [3, 3]},
            "encoding": {"x": {"datum": {"expr": STEP}, "type": "quantitative",
                               "scale": x["scale"]}}}
    return {"width": width, "height": height, "layer": [*lines, rule, *markers]}


def _outcome_frame(sweep: Sweep) -> pd.DataFrame:
    """The outcome rows with the one line each run's legend entry shows."""
    columns = ["run", "rung", "beta", "sentence", "summary", "final_loss", "diverged_at",
               "outcome"]
    out = sweep.outcomes[columns].copy()
    # Built as plain strings: a few dozen rows, where pandas' string operations cost more.
    out.insert(3, "line", [
        f"{legend}   (lr = {rate:g}"
        + (f", {_KNOB_SYMBOL.get(knob, knob)} = {beta:g})" if knob else ")")
        for legend, rate, knob, beta in zip(
            sweep.outcomes["legend"], sweep.outcomes["learning_rate"], sweep.outcomes["knob"],
            sweep.outcomes["beta_value"], strict=True)])
    return out


def _outcome_panel(sweep: Sweep | _Runs, width: int, *, sentence_of: int | None = 0,
                   lines: int = 1, any_decay: bool = False) -> dict:
    """One row per run: its marker and "Adam: converging (lr = 0.05, β1 = 0.9)"; then the
    stability sentence at run ``sentence_of``'s rate, in up to ``lines`` lines (the rows'
    sentences carry their line breaks: ``_wrapped``)."""
    count = len(sweep.windows)
    runs = _run_scales(count)
    data = {"name": WHATIF_OUTCOMES}
    chosen = _chosen_any_decay(sweep) if any_decay else _chosen(sweep)
    # Rows placed in pixels: the sentence under them may take several lines.
    row = {"calculate": f"datum.run * {_ROW} + {_ROW // 2}", "as": "row_y"}
    y = {"field": "row_y", "type": "quantitative", "scale": None, "axis": None}
    layers = [
        {"data": data, "transform": [chosen, row],
         "mark": {"type": "point", "filled": True, "size": 80},
         "encoding": {"x": {"value": 8}, "y": y, "color": runs["color"],
                      "shape": runs["shape"]}},
        {"data": data, "transform": [chosen, row],
         "mark": {"type": "text", "align": "left", "baseline": "middle", "fontSize": 13,
                  "limit": width - 24},
         "encoding": {"x": {"value": 20}, "y": y, "text": {"field": "line", "type": "nominal"},
                      "tooltip": {"field": "summary", "type": "nominal"}}},
    ]
    if sentence_of is not None and 0 <= sentence_of < count:
        layers.append(
            {"data": data, "transform": [chosen, {"filter": f"datum.run == {sentence_of}"}],
             "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 12,
                      "color": "#333333", "limit": width - 8, "lineBreak": "\n",
                      "lineHeight": _LINE},
             "encoding": {"x": {"value": 4}, "y": {"value": _ROW * count + 5},
                          "text": {"field": "sentence", "type": "nominal"}}})
    return {"width": width, "height": _ROW * count + _LINE * max(lines, 1) + 7,
            "layer": layers, "view": {"stroke": None}}


_ROW, _LINE = 22, 15
"""Height of a run's row and of a line of the sentence under them in the outcome panel (px)."""


def _wrapped(texts: pd.Series, chars: int) -> tuple[pd.Series, int]:
    """``texts`` broken into lines of at most ``chars`` characters (joined by newlines, which
    the text marks break on), and the most lines any of them takes."""
    lines = {text: textwrap.wrap(text, chars) or [""] for text in texts.dropna().unique()}
    out = texts.map(lambda text: "\n".join(lines[text]) if text in lines else text)
    return out, max((len(v) for v in lines.values()), default=1)


def _six_digits(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats to six significant digits: all a chart or tooltip shows, and a third of the
    JSON (DataFrames sent as Arrow keep their float64s, so only records are rounded)."""
    out = frame.copy()
    for column in out.select_dtypes("float").columns:
        values = out[column].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            digits = 5 - np.floor(np.log10(np.abs(values)))
        scale = 10.0 ** np.where(np.isfinite(digits), digits, 0)
        out[column] = np.round(values * scale) / scale
    return out


def _datasets(sweep: Sweep, paths: pd.DataFrame, outcomes: pd.DataFrame | None = None,
              *, as_frames: bool = False) -> dict[str, Any]:
    outcomes = _outcome_frame(sweep) if outcomes is None else outcomes
    if as_frames:
        return {WHATIF_PATHS: _compact(paths), WHATIF_OUTCOMES: _compact(outcomes)}
    return {WHATIF_PATHS: records(_six_digits(paths)), WHATIF_OUTCOMES: records(outcomes)}


_SMALL_INTS = {"run": np.int8, "rung": np.int8, "beta": np.int8, "step": np.int16,
               "until": np.int16, "diverged_at": np.int16}
"""The rows' integer columns in the smallest type that holds every value they can take (at
most 8 runs, 21 rungs, 5 decays, ``HOLD`` = 5 001 steps): sent as 64-bit integers they were
half the bytes of a path's row, and the browser turns each into a number the slow way."""


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its integer columns in ``_SMALL_INTS``' types (a column whose values
    would not fit keeps its own)."""
    small = {}
    for column, kind in _SMALL_INTS.items():
        if column in frame and frame[column].dtype.kind == "i" and len(frame[column]):
            values, bounds = frame[column].to_numpy(), np.iinfo(kind)
            if bounds.min <= values.min() and values.max() <= bounds.max:
                small[column] = kind
    return frame.astype(small) if small else frame


def _by_run(paths: pd.DataFrame, count: int) -> tuple[pd.DataFrame, ...]:
    """``paths`` split into each run's rows (``count`` runs), without the ``run`` column."""
    runs = paths["run"].to_numpy()
    rest = _compact(paths.drop(columns="run"))
    return tuple(rest[runs == k].reset_index(drop=True) for k in range(count))


def _run_datasets(per_run: Sequence[Any], as_frames: bool = True) -> dict[str, Any]:
    """Each run's paths under its own name (``paths_name``)."""
    return {paths_name(k): rows if as_frames else records(_six_digits(rows))
            for k, rows in enumerate(per_run)}


_RESOLVE = {"scale": {"color": "independent", "shape": "independent",
                      "strokeDash": "independent"}}


class _Runs(NamedTuple):
    """What the views read of a sweep besides its rows: the runs' windows and the steps."""

    windows: tuple[RunWindow, ...]
    steps: int


class MapShape(NamedTuple):
    """What the what-if map's specs read from its rows: the step control's end (``last``),
    the largest loss at the start (the loss axis' ceiling follows it), whether the rows hold
    the distance to a minimum, and the lines kept for the stability sentence."""

    last: int
    start_loss: float
    distance: bool
    lines: int

    @classmethod
    def merge(cls, shapes: Sequence[MapShape]) -> MapShape:
        """The shape of several runs' rows drawn together."""
        return cls(max(s.last for s in shapes), max(s.start_loss for s in shapes),
                   all(s.distance for s in shapes), max(s.lines for s in shapes))


class MapRows(NamedTuple):
    """The rows the what-if map's panels read (``whatif_map_rows``): each run's paths on the
    map, each run's paths over steps (``gap``, the loss above the optimum, and ``distance``) —
    one table per run, in run order, without a ``run`` column, so a run's rows are the same
    whatever its place — one row per run, rung and decay with its words, and their
    ``MapShape``."""

    on_map: tuple[Any, ...]
    over_steps: tuple[Any, ...]
    outcomes: Any
    shape: MapShape


class _MapParts(NamedTuple):
    the_map: dict
    metrics: list[dict]
    datasets: dict[str, Any]
    """The background's own datasets (the map's image, contours, hover cells)."""
    bounds: list[dict]
    """The parameters the metric charts' log axes read (``_log_bounds``)."""


def _known(optimal_value: float | None) -> bool:
    return optimal_value is not None and math.isfinite(optimal_value)


def _gap_rows(sweep: Sweep, optimal_value: float | None) -> pd.DataFrame:
    """The paths with ``gap`` (the loss above the optimum, or above the lowest loss seen when
    the optimum is not known) and ``distance`` floored for their log axes."""
    if "w1" not in sweep.paths:
        raise ValueError("whatif_map_spec needs a sweep of a two-weight surface")
    paths = sweep.paths.copy()
    if _known(optimal_value):
        paths["gap"] = np.maximum(paths["loss"] - float(optimal_value), _FLOOR)
    else:
        # No known optimum: a log axis of the loss itself would clip a loss that goes negative
        # (a typed formula) and show a crash. The gap to the lowest loss seen is true.
        lowest = float(np.nanmin(paths["loss"])) if len(paths) else 0.0
        paths["gap"] = np.maximum(paths["loss"] - lowest, _FLOOR)
    if "distance" in paths:
        paths["distance"] = np.maximum(paths["distance"], _FLOOR)
    return paths


def _shape_of(paths: pd.DataFrame, lines: int = 1) -> MapShape:
    start_loss = float(paths.loc[paths["step"] == 0, "loss"].abs().max())
    return MapShape(_last_step(paths), start_loss, "distance" in paths, lines)


def _map_views(runs: Sweep | _Runs, background: dict, shape: MapShape,
               optimal_value: float | None, metric_width: int, metric_height: int,
               dots: bool, any_decay: bool = False) -> _MapParts:
    """The map with the runs' paths over it and the loss and distance charts beside it."""
    layers = background.get("layer", [])
    first = next((layer for layer in layers if "x" in layer.get("encoding", {})), None)
    if first is None:
        raise ValueError("the background must be a layered map with x and y encodings")
    x = {**first["encoding"]["x"], "field": "w1"}
    y = {**first["encoding"]["y"], "field": "w2"}
    tooltip = [{"field": "step", "type": "quantitative"},
               {"field": "w1", "type": "quantitative", "title": x.get("title", "w1"),
                "format": _FMT},
               {"field": "w2", "type": "quantitative", "title": y.get("title", "w2"),
                "format": _FMT},
               {"field": "loss", "type": "quantitative", "format": _FMT}]
    top = 1e3 * max(shape.start_loss, 1.0)
    loss_title = "loss − optimum (log)" if _known(optimal_value) else "loss − lowest seen (log)"
    count = len(runs.windows)
    bounds, domain = _log_bounds("gap", top, count)
    metrics = [_metric_view(runs, "gap", loss_title, domain, metric_width, metric_height,
                            any_decay)]
    if shape.distance:
        more, domain = _log_bounds("distance", 1e3, count)
        bounds += more
        metrics.append(_metric_view(runs, "distance", "distance to nearest minimum (log)",
                                    domain, metric_width, metric_height, any_decay))
    the_map = {key: value for key, value in background.items()
               if key not in ("datasets", "$schema", "config", "params")}
    the_map["layer"] = [*layers, *_path_layers(runs, x, y, tooltip, dots, any_decay)]
    return _MapParts(the_map, metrics, dict(background.get("datasets", {})), bounds)


def whatif_map_spec(
    sweep: Sweep,
    background: dict,
    *,
    optimal_value: float | None = None,
    step: int | None = None,
    metric_width: int = 280,
    metric_height: int = 200,
    dots: bool = True,
    as_frames: bool = False,
) -> dict:
    """The two-weight what-if figure as a Vega-Lite spec (a dictionary).

    ``background`` is the map without paths (``charts.surface_map(surface, grid).to_dict()``);
    its axes (fixed to the grid's window) are reused. Beside it the loss (``loss − L*`` when
    ``optimal_value`` is given) and the distance to the nearest minimiser (when the sweep has
    it) against the step, on log axes fixed over the whole window; under them the outcome text.
    Parameters: ``step``, and per run ``lr_<k>`` and, with a decay ladder, ``beta_<k>``.
    ``as_frames`` leaves the datasets as DataFrames (what ``st.vega_lite_chart`` sends as Arrow).
    ``whatif_map_panels`` draws the same figure as separate charts.
    """
    paths = _gap_rows(sweep, optimal_value)
    outcomes = _outcome_frame(sweep)
    parts = _map_views(sweep, background, _shape_of(paths), optimal_value, metric_width,
                       metric_height, dots)
    width = int(background.get("width", 420)) + metric_width + 60
    return {
        "$schema": background.get("$schema", alt.SCHEMA_URL),
        "params": _params(sweep, step) + parts.bounds,
        "vconcat": [
            {"hconcat": [parts.the_map, {"vconcat": parts.metrics}]},
            _outcome_panel(sweep, width),
        ],
        "resolve": _RESOLVE,
        "datasets": {**parts.datasets,
                     **_run_datasets(_by_run(paths, len(sweep.windows)), as_frames),
                     WHATIF_OUTCOMES: _compact(outcomes) if as_frames else records(outcomes)},
        "autosize": {"type": "pad", "contains": "padding"},
        "config": background.get("config", {}),
    }


def _chars(width: float, font_size: float) -> int:
    """About how many characters of text ``font_size`` px high fit in ``width`` px."""
    return max(int(width / (0.5 * font_size)), 20)


def whatif_map_panels(
    sweep: Sweep,
    background: dict,
    *,
    optimal_value: float | None = None,
    step: int | None = None,
    metric_width: int = 280,
    metric_height: int = 200,
    dots: bool = True,
    as_frames: bool = False,
) -> list[dict]:
    """``whatif_map_spec``'s figure as two specs sharing the same parameters: the map with
    the outcome text under it (the sentence in lines as wide as the map, the loss colour
    legend above the map so the panel stays narrow), and the loss and distance charts.
    Drawn side by side on a desktop and one above the other on a phone (``panels``)."""
    rows = whatif_map_rows(sweep, width=int(background.get("width", 420)),
                           optimal_value=optimal_value)
    if not as_frames:
        rows = rows._replace(on_map=tuple(records(_six_digits(r)) for r in rows.on_map),
                             over_steps=tuple(records(_six_digits(r)) for r in rows.over_steps),
                             outcomes=records(rows.outcomes))
    return whatif_map_figure(sweep.windows, sweep.steps, rows, background,
                             optimal_value=optimal_value, step=step, metric_width=metric_width,
                             metric_height=metric_height, dots=dots)


def whatif_map_rows(sweep: Sweep, *, width: int = 420, optimal_value: float | None = None
                    ) -> MapRows:
    """The rows ``whatif_map_panels`` draws, for a map ``width`` px wide (the sentences are
    broken into lines as wide as it). With a known ``optimal_value`` each row depends on its
    own run only: a run's tables are the same in any sweep it is part of, and the outcomes of
    several one-run sweeps, stacked with ``run`` numbered by position, are the outcomes of
    their ``whatif.combine`` (a server keeps the rows run by run)."""
    paths = _with_fixed(_gap_rows(sweep, optimal_value), sweep)
    outcomes = _with_fixed(_outcome_frame(sweep), sweep)
    outcomes["sentence"], lines = _wrapped(outcomes["sentence"], _chars(width, 12))
    outcomes = _compact(outcomes)
    # Each panel gets the paths' columns it reads: the rows are sent once per panel.
    keys = [c for c in ("run", "rung", "beta", "fixed", "step", "until") if c in paths]
    count = len(sweep.windows)
    on_map = _by_run(paths[keys + [c for c in ("w1", "w2", "loss") if c in paths]], count)
    over_steps = _by_run(paths[keys + [c for c in ("gap", "distance") if c in paths]], count)
    # Room kept for the longest sentence, so another optimiser keeps the figure's shape.
    return MapRows(on_map, over_steps, outcomes,
                   _shape_of(paths, max(lines, _SENTENCE_LINES)))


def whatif_map_figure(
    windows: Sequence[RunWindow],
    steps: int,
    rows: MapRows,
    background: dict,
    *,
    optimal_value: float | None = None,
    step: int | None = None,
    metric_width: int = 280,
    metric_height: int = 200,
    dots: bool = True,
) -> list[dict]:
    """``whatif_map_panels`` of runs with these ``windows`` and ``steps`` whose rows are
    ``rows`` (its ``on_map``, ``over_steps`` and ``outcomes`` go into the datasets as they
    are: DataFrames, records or Arrow bytes). The specs read only ``rows.shape`` of them, so
    one figure serves every set of rows of the same shape."""
    runs = _Runs(tuple(windows), int(steps))
    if len(rows.on_map) != len(runs.windows) or len(rows.over_steps) != len(runs.windows):
        raise ValueError("whatif_map_figure needs one table of rows per run")
    shape = rows.shape
    parts = _map_views(runs, background, shape, optimal_value, metric_width, metric_height,
                       dots, any_decay=True)
    width = int(background.get("width", 420))
    datasets = {**parts.datasets, **_run_datasets(rows.on_map),
                WHATIF_OUTCOMES: rows.outcomes}
    params = _params(runs, step, every_beta=True, last=shape.last)
    config = background.get("config", {})
    the_map = {**parts.the_map, "layer": [_legend_above(layer)
                                          for layer in parts.the_map["layer"]]}
    # The map's title heads the panel, so the legend sits between it and the map.
    title = {"title": the_map.pop("title")} if "title" in the_map else {}
    # Every view reads each run's decay parameter (``any_decay``): built so, not swapped in.
    outcomes = _outcome_panel(runs, width, lines=shape.lines, any_decay=True)
    return [
        panel({**title, "vconcat": [the_map, outcomes]}, params, datasets, config=config,
              resolve=_RESOLVE),
        panel({"vconcat": parts.metrics}, params + parts.bounds,
              _run_datasets(rows.over_steps), config=config, resolve=_RESOLVE),
    ]


_SENTENCE_LINES = 3
"""Lines kept for the stability sentence under a panel: the longest (momentum's bound) takes
three at a phone's width, and a figure whose height followed its sentence would be drawn anew
whenever another optimiser's sentence is longer or shorter."""


def _legend_above(layer: dict) -> dict:
    """``layer`` with its colour legends (the loss scale) above the plot, not beside it."""
    encoding = layer.get("encoding", {})
    changed = {}
    for channel in ("fill", "color"):
        legend = encoding.get(channel, {}).get("legend") if isinstance(encoding.get(channel),
                                                                        dict) else None
        if isinstance(legend, dict):
            changed[channel] = {**encoding[channel],
                                "legend": {**legend, "orient": "top", "direction": "horizontal",
                                           "gradientLength": 220, "titleOrient": "left",
                                           "titleAnchor": "middle"}}
    return {**layer, "encoding": {**encoding, **changed}} if changed else layer


def _padded(lo: float, hi: float) -> tuple[float, float]:
    # Scaled before subtracting, and clamped, so huge losses never make an infinite domain.
    margin = (0.05 * hi - 0.05 * lo) or 1.0
    return max(lo - margin, -1e300), min(hi + margin, 1e300)


def whatif_lesson_spec(
    surface: Surface,
    sweep: Sweep,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
    as_frames: bool = False,
) -> dict:
    """The one-weight lesson figure with a learning-rate control per run: loss curve and
    gradient curve side by side, each run's iterates at its chosen rate up to the step, the
    tangent at the step, and under them the outcome of each run and the stability sentence
    (lr against 2/λmax) at the first run's rate, all following the rate in the browser.

    The curves span ``w_range`` widened to take in the iterates, by at most one window width
    each side (a diverging run leaves the figure; its outcome says where it stopped). Every
    domain is fixed here, over the whole window of rates.
    """
    left, right, paths, curve = _lesson_parts(surface, sweep, w_range, n_points, width, height)
    datasets: dict[str, Any] = {_CURVE: curve if as_frames else records(curve),
                                **_datasets(sweep, paths, as_frames=as_frames)}
    panel_ = _lesson_outcome(sweep, 2 * width + 60)
    rows: list[dict[str, Any]] = [{"hconcat": [left, right]}]
    if "step_words" in paths:
        rows.append(_step_words(sweep, 2 * width + 60))
    rows.append(panel_)
    return {
        "$schema": alt.SCHEMA_URL,
        "params": _params(sweep, step),
        "vconcat": rows,
        "resolve": _RESOLVE,
        "datasets": datasets,
        "autosize": {"type": "pad", "contains": "padding"},
    }


def whatif_lesson_panels(
    surface: Surface,
    sweep: Sweep,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
    as_frames: bool = False,
) -> list[dict]:
    """``whatif_lesson_spec``'s figure as two specs sharing the same parameters: the loss
    curve with what the gradient says at the step under it, and the gradient curve with the
    runs' outcomes under it, their sentences in lines as wide as one curve. Drawn side by side
    on a desktop and one above the other on a phone (``panels``)."""
    left, right, paths, curve = _lesson_parts(surface, sweep, w_range, n_points, width, height)
    text_width = width + 40
    outcomes = _with_fixed(_outcome_frame(sweep), sweep)
    outcomes["sentence"], lines = _wrapped(outcomes["sentence"], _chars(text_width, 12))
    lines = max(lines, _SENTENCE_LINES)
    paths = _with_fixed(paths, sweep)
    below_left: list[dict] = []
    if "step_words" in paths:
        paths["step_words"], words = _wrapped(paths["step_words"], _chars(text_width, 14))
        below_left.append(_step_words(sweep, text_width, max(words, 2)))
    datasets: dict[str, Any] = {_CURVE: curve if as_frames else records(curve),
                                **_datasets(sweep, paths, outcomes, as_frames=as_frames)}
    params = _params(sweep, step, every_beta=True)
    return _any_decay([
        panel({"vconcat": [left, *below_left]}, params, datasets, resolve=_RESOLVE),
        panel({"vconcat": [right, _lesson_outcome(sweep, text_width, lines)]}, params, datasets,
              resolve=_RESOLVE),
    ], sweep)


_CURVE = "losslab-whatif-curve"


def _step_words(sweep: Sweep, width: int, lines: int = 1) -> dict:
    """What the gradient tells the step shown, in words (first run), in up to ``lines``."""
    return {
        "width": width, "height": 18 * lines + 6, "view": {"stroke": None},
        "data": {"name": WHATIF_PATHS},
        "transform": [_chosen(sweep), _CURRENT, {"filter": "datum.run == 0"}],
        "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 14,
                 "limit": width - 10, "lineBreak": "\n", "lineHeight": 18},
        "encoding": {"x": {"value": 4}, "y": {"value": 4},
                     "text": {"field": "step_words", "type": "nominal"}}}


def _lesson_outcome(sweep: Sweep, width: int, lines: int = 1) -> dict:
    """The outcome panel in the lesson's run colours."""
    runs = _run_scales(len(sweep.windows))
    runs["color"]["scale"]["range"] = _LESSON_COLOURS
    out = _outcome_panel(sweep, width, lines=lines)
    out["layer"][1]["encoding"]["color"] = runs["color"]
    out["layer"][0]["encoding"]["color"] = runs["color"]
    return out


_LESSON_COLOURS = PALETTE[3:] + PALETTE[:3]
"""The lesson's runs skip the two colours of its loss and gradient curves."""


def _lesson_parts(surface: Surface, sweep: Sweep, w_range: Sequence[float], n_points: int,
                  width: int, height: int) -> tuple[dict, dict, pd.DataFrame, pd.DataFrame]:
    """The loss and gradient charts with the runs over them, their paths' rows and the
    curve's rows."""
    if "w" not in sweep.paths:
        raise ValueError("whatif_lesson_spec needs a sweep of a one-weight surface")
    lo, hi = sorted(float(v) for v in w_range)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    # The window stays the learner's (the chapter's [-1, 3]): a run that leaves it is clipped,
    # and its outcome says where it went.
    curve, _ = lesson_frames(surface, None, w_range=(lo, hi), n_points=n_points)
    loss_values = curve["loss"].dropna().to_numpy(dtype=float)
    grad_values = curve["gradient"].dropna().to_numpy(dtype=float)
    loss_domain = _padded(float(loss_values.min()), float(loss_values.max()))
    grad_domain = _padded(min(float(grad_values.min()), 0.0), max(float(grad_values.max()), 0.0))
    x = _axis("w", (lo, hi), "Weight w")
    y_loss = _axis("loss", loss_domain, "Loss L(w)")
    y_grad = _axis("gradient", grad_domain, "Gradient dL/dw")
    paths = sweep.paths.copy()
    half = (hi - lo) / 10.0
    runs = _run_scales(len(sweep.windows))
    runs["color"]["scale"]["range"] = _LESSON_COLOURS
    chosen = _chosen(sweep)
    data = {"name": WHATIF_PATHS}
    tip = [{"field": "step", "type": "quantitative"},
           {"field": "w", "type": "quantitative", "format": _FMT},
           {"field": "loss", "type": "quantitative", "format": _FMT},
           {"field": "gradient", "type": "quantitative", "format": _FMT}]

    def run_layers(y: dict, tangent: bool) -> list[dict]:
        out = [
            {"data": data, "transform": [chosen, _WALKED],
             "mark": {"type": "line", "strokeWidth": 1.5, "opacity": 0.7, "clip": True},
             "encoding": {"x": x, "y": y, "order": {"field": "step", "type": "quantitative"},
                          "color": runs["color"], "strokeDash": runs["strokeDash"]}},
            {"data": data, "transform": [chosen, _WALKED],
             "mark": {"type": "point", "filled": True, "size": 45, "clip": True},
             "encoding": {"x": x, "y": y, "color": runs["color"], "shape": runs["shape"],
                          "tooltip": tip}},
        ]
        if tangent:
            out.append(
                {"data": data, "transform": [chosen, _CURRENT,
                 # shorter where the gradient is huge, so both ends stay finite
                 {"calculate": f"min({half!r}, 1e300 / max(abs(datum.gradient), 1e-300))",
                  "as": "half"},
                 {"calculate": "datum.w - datum.half", "as": "w0"},
                 {"calculate": "datum.w + datum.half", "as": "w1"},
                 {"calculate": "datum.loss - datum.gradient * datum.half", "as": "l0"},
                 {"calculate": "datum.loss + datum.gradient * datum.half", "as": "l1"}],
                 "mark": {"type": "rule", "color": "black", "strokeWidth": 2, "clip": True},
                 "encoding": {"x": {**x, "field": "w0"}, "x2": {"field": "w1"},
                              "y": {**y, "field": "l0"}, "y2": {"field": "l1"}}})
        out.append(
            {"data": data, "transform": [chosen, _CURRENT],
             "mark": {"type": "point", "size": 160, "strokeWidth": 2.5, "clip": True},
             "encoding": {"x": x, "y": y, "color": runs["color"], "shape": runs["shape"],
                          "tooltip": tip}})
        return out

    curve_data = {"name": _CURVE}
    line = {"type": "line", "strokeWidth": 2.5, "invalid": "break-paths-show-path-domains",
            "clip": True}
    left = {"width": width, "height": height, "title": "Loss surface", "layer": [
        {"data": curve_data, "mark": {**line, "color": PALETTE[0]},
         "encoding": {"x": x, "y": y_loss}},
        *run_layers(y_loss, tangent=True)]}
    right = {"width": width, "height": height, "title": "Gradient of loss w.r.t. w", "layer": [
        {"data": {"values": [{"zero": 0.0}]},
         "mark": {"type": "rule", "color": "gray", "strokeDash": [5, 4], "strokeWidth": 1},
         "encoding": {"y": {**y_grad, "field": "zero"}}},
        {"data": curve_data, "mark": {**line, "color": PALETTE[1]},
         "encoding": {"x": x, "y": y_grad}},
        *run_layers(y_grad, tangent=False)]}
    return left, right, paths, curve
