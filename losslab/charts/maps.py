"""The loss-surface map: one PNG layer for the surface, vector layers for everything else.

The surface itself travels as one image (``losslab.raster``), because a browser repaints one
image as fast as an empty chart while one rectangle per cell slows every repaint. On top of it:
contour lines, the declared minimisers, an optional field of downhill arrows, the optimisers'
paths, and — at the step the learner picks — the downhill (−gradient) and −momentum arrows.

The step is a browser-side parameter created by the caller (``charts.step_param``). Each builder
here adds it to the chart it returns with ``.add_params``; when the caller composes several such
charts (``alt.hconcat(surface_map(...), data_space_chart(...))``), Altair lifts the shared
parameter to the top level once, so the caller adds nothing.

One piece: the background layers and the path layers share one pair of axes, one run encoding
and one window, and the app's cached path skeleton must match the layers drawn here exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import (
    DASHES,
    PALETTE,
    RUN,
    SADDLE,
    SHAPES,
    STAR,
    run_field,
    run_legend,
)
from losslab.charts.compose import layer_spec, records
from losslab.contours import contour_lines
from losslab.descent import MAX_STEPS, History
from losslab.grids import Grid, evaluate
from losslab.limits import MAX_RUNS
from losslab.raster import Raster, to_png_data_url
from losslab.surfaces import Surface

__all__ = [
    "ARROWS_DATA",
    "PATHS_DATA",
    "PathShape",
    "fill_paths",
    "path_overlay",
    "path_skeleton",
    "path_tables",
    "CELLS_VIEW",
    "MAX_RUNS",
    "START_PICK",
    "start_picker",
    "MAX_PATH_POINTS",
    "MOMENTUM_STATE_NAMES",
    "arrow_frame",
    "data_space_chart",
    "path_frame",
    "surface_map",
]

MAX_PATH_POINTS = 300
"""Longer runs are thinned to this many iterates (evenly spaced, plus the first few and last)."""
MOMENTUM_STATE_NAMES = ("velocity", "momentum", "momentum_buffer", "exp_avg", "mu", "m")
"""``History.state`` fields read as the momentum vector; the first one present wins."""
_MAX_HOVER_RESOLUTION = 60
_MAX_FIELD_RESOLUTION = 30
_MAX_SCATTER_POINTS = 2000
_MAP_CONTOUR_ROWS = 2000
_ARROW = 0.12
"""Length of the downhill arrow at the current point, as a fraction of the map's side."""
_FMT = ".4g"


def _coords(values: np.ndarray, interval: tuple[float, float]) -> np.ndarray:
    """Round coordinates to 1/10 000 of the window: far below a pixel, and short in JSON."""
    decimals = max(0, math.ceil(4 - math.log10(interval[1] - interval[0])))
    return np.round(np.asarray(values, dtype=float), decimals)


def _tooltip_number(values) -> np.ndarray:
    """Four significant digits, all a tooltip shows (``.4g``); shorter in JSON."""
    return np.array([float(f"{v:.4g}") for v in np.asarray(values, dtype=float).ravel()])


def _runs(
    histories: Sequence[tuple[str, History]], max_points: int
) -> list[tuple[str, History, np.ndarray, np.ndarray]]:
    """At most ``MAX_RUNS`` runs, each with a unique name, its drawn steps and, per drawn
    step, the next drawn step (``MAX_STEPS + 1`` after the last)."""
    max_points = int(min(max(int(max_points), 2), MAX_PATH_POINTS))
    seen: dict[str, int] = {}
    out = []
    for i, (name, history) in enumerate(list(histories)[:MAX_RUNS]):
        label = str(name).strip() or f"run {i + 1}"
        seen[label] = seen.get(label, 0) + 1
        label = label if seen[label] == 1 else f"{label} ({seen[label]})"
        n = len(history)
        if n <= max_points:
            keep = np.arange(n)
        else:  # the first steps move most, so they are all kept
            head = np.arange(min(20, max_points // 4))
            spread = np.linspace(0, n - 1, max_points - len(head)).round().astype(int)
            keep = np.unique(np.concatenate([head, spread]))
        out.append((label, history, keep, np.r_[keep[1:], MAX_STEPS + 1]))
    return out


def _finite_rows(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    numbers = frame[list(columns)].to_numpy(dtype=float)
    return frame[np.isfinite(numbers).all(axis=1)].reset_index(drop=True)


def path_frame(
    histories: Sequence[tuple[str, History]], *, max_points: int = MAX_PATH_POINTS
) -> pd.DataFrame:
    """One row per drawn iterate: ``optimizer, run, step, next_step, w1, w2, loss, note``
    (``run`` is the run's key, "1", "2", … in order).

    A row is "current" for every step in ``[step, next_step)``. Runs are thinned to
    ``max_points`` rows (capped at ``MAX_PATH_POINTS``), at most ``MAX_RUNS`` runs are
    taken, and rows with a non-finite number are dropped. ``w2`` is 0 for one-parameter runs.
    ``note`` says where a run diverged.
    """
    frames = [pd.DataFrame({"optimizer": [], RUN: [], "step": [], "next_step": [], "w1": [],
                            "w2": [], "loss": [], "note": []})]
    for index, (name, h, keep, next_step) in enumerate(_runs(histories, max_points)):
        params = np.asarray(h.params, dtype=float)[keep].reshape(len(keep), -1)
        frames.append(pd.DataFrame({
            "optimizer": name, RUN: str(index + 1), "step": keep, "next_step": next_step,
            "w1": params[:, 0], "w2": params[:, 1] if params.shape[1] > 1 else 0.0,
            "loss": np.asarray(h.loss, dtype=float)[keep],
            "note": "" if h.diverged_at is None else f"diverged at step {h.diverged_at}",
        }))
    out = pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else frames[0]
    return _finite_rows(out, ["w1", "w2", "loss"])


def _arrows(x, y, vx, vy, spans: tuple[float, float], length) -> dict[str, np.ndarray]:
    """Arrows from (x, y) along (vx, vy), ``length`` long as a fraction of the map's side.

    Direction is taken on screen (each axis divided by its span), so an arrow's drawn length
    does not depend on the window's aspect; ``angle`` is clockwise from "up", as Vega rotates.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ux, uy = vx / spans[0], vy / spans[1]  # a gradient near 1e308 overflows: no arrow
        k = length / np.hypot(ux, uy)
        return {"x": x, "y": y, "x2": x + k * ux * spans[0], "y2": y + k * uy * spans[1],
                "angle": np.round(np.degrees(np.arctan2(ux, uy)) % 360.0, 1)}


_NEGLIGIBLE = 1e-3
"""An arrow whose vector is below this fraction of its run's largest is not drawn: at a
minimum the gradient is practically zero and its direction is rounding noise."""


def _significant(frame: pd.DataFrame) -> pd.DataFrame:
    finite = frame["magnitude"][np.isfinite(frame["magnitude"])]
    if finite.empty:
        return frame
    return frame[~(frame["magnitude"] < _NEGLIGIBLE * finite.max())]


def arrow_frame(
    histories: Sequence[tuple[str, History]],
    window: tuple[tuple[float, float], tuple[float, float]],
    *,
    max_points: int = MAX_PATH_POINTS,
) -> pd.DataFrame:
    """Arrows at each drawn iterate of two-parameter runs:
    ``optimizer, step, next_step, kind, x, y, x2, y2, angle, magnitude``.

    ``kind`` is "−gradient" (downhill: where plain gradient descent steps) or "−momentum" (the
    negated momentum buffer, read from the first of ``MOMENTUM_STATE_NAMES`` in the history's
    state: where a momentum method steps). The −gradient arrow is ``_ARROW`` of the map's side
    long; the −momentum arrow that times the ratio of the two vectors' on-screen lengths,
    clipped to [¼, 2½], so a build-up of momentum shows. ``magnitude`` is the vector's norm.
    Zero and non-finite vectors are dropped, and so are vectors below a thousandth of the
    largest of their run and kind (at a minimum the direction is only rounding noise).
    """
    spans = (window[0][1] - window[0][0], window[1][1] - window[1][0])
    frames = [pd.DataFrame({c: [] for c in ("optimizer", "step", "next_step", "kind", "x", "y",
                                            "x2", "y2", "angle", "magnitude")})]
    for name, h, keep, next_step in _runs(histories, max_points):
        p, g = np.asarray(h.params, float)[keep], np.asarray(h.grad, float)[keep]
        if p.ndim != 2 or p.shape[1] != 2:
            continue
        common = {"optimizer": name, "step": keep, "next_step": next_step}
        frames.append(_significant(pd.DataFrame({
            **common, "kind": "−gradient", "magnitude": np.hypot(*g.T),
            **_arrows(*p.T, *-g.T, spans, _ARROW)})))
        m = next((h.state[k] for k in MOMENTUM_STATE_NAMES if k in h.state), None)
        if m is not None and np.shape(m) == np.shape(h.params):
            m = np.asarray(m, dtype=float)[keep]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.hypot(*(m / spans).T) / np.hypot(*(g / spans).T)
            length = _ARROW * np.clip(np.nan_to_num(ratio, nan=1.0, posinf=2.5), 0.25, 2.5)
            frames.append(_significant(pd.DataFrame({
                **common, "kind": "−momentum", "magnitude": np.hypot(*m.T),
                **_arrows(*p.T, *-m.T, spans, length)})))
    out = pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else frames[0]
    out = _finite_rows(out, ["x", "y", "x2", "y2", "angle", "magnitude"])
    return out[out["magnitude"] > 0].reset_index(drop=True)


def _field_frame(surface: Surface, grid: Grid, resolution: int) -> pd.DataFrame:
    """Downhill arrows on a coarse lattice, each 0.7 of a lattice cell long."""
    coarse = evaluate(surface, min(resolution, _MAX_FIELD_RESOLUTION), grid.window)
    mesh = np.stack(np.meshgrid(coarse.w1, coarse.w2))
    with np.errstate(all="ignore"):
        g = surface.grad(mesh).reshape(2, -1)
    spans = tuple(hi - lo for lo, hi in grid.window)
    arrows = _arrows(mesh[0].ravel(), mesh[1].ravel(), -g[0], -g[1], spans,
                     0.7 / len(coarse.w1))
    out = pd.DataFrame({**arrows, "magnitude": _tooltip_number(np.hypot(*g))})
    out = out[np.isfinite(out.to_numpy()).all(axis=1) & (out["magnitude"] > 0)].copy()
    for columns, interval in ((("x", "x2"), grid.window[0]), (("y", "y2"), grid.window[1])):
        for column in columns:
            out[column] = _coords(out[column], interval)
    return out


CELLS_VIEW = "losslab_cells"
"""The name of the map's invisible cells (hover read-out; a click there picks a point)."""
START_PICK = "start_pick"
"""The point selection of a click on the map's cells: (w1, w2) of the cell's centre."""


def start_picker(spec: dict) -> dict:
    """``spec`` (a map, alone or composed) with a click on its cells selecting their centre:
    the app restarts the runs there (one round trip, through the chart's selection event)."""
    pick = {"name": START_PICK, "views": [CELLS_VIEW],
            "select": {"type": "point", "fields": ["w1", "w2"], "on": "click",
                       "clear": False, "toggle": False}}
    return {**spec, "params": [*spec.get("params", []), pick]}


def _hover_frame(surface: Surface, grid: Grid, n: int) -> pd.DataFrame:
    """An ``n × n`` lattice of cell centres carrying (w1, w2, loss) for tooltips."""
    coarse = evaluate(surface, n, grid.window)
    w1, w2 = (a.ravel() for a in np.meshgrid(coarse.w1, coarse.w2))
    out = pd.DataFrame({"w1": _coords(w1, grid.window[0]), "w2": _coords(w2, grid.window[1]),
                        "loss": _tooltip_number(coarse.values)})
    return out[np.isfinite(out["loss"])]


def _hover_layer(surface: Surface, grid: Grid, raster: Raster, n: int, x, y, tip_w) -> alt.Chart:
    """Invisible ``n × n`` cells: hovering anywhere shows the loss at the cell's centre. They
    carry the colour scale too, which draws the loss legend. Cell edges and shade are computed
    in the browser to keep the data small."""
    hover = _hover_frame(surface, grid, n)
    half1 = (grid.window[0][1] - grid.window[0][0]) / (2 * n)
    half2 = (grid.window[1][1] - grid.window[1][0]) / (2 * n)
    clamp = f"clamp(datum.loss, {raster.vmin!r}, {raster.vmax!r})"
    shade = f"{clamp} - {raster.vmin!r}" if raster.scale == "log" else clamp
    return (
        alt.Chart(hover)
        .transform_calculate(left=f"datum.w1 - {half1!r}", right=f"datum.w1 + {half1!r}",
                             bottom=f"datum.w2 - {half2!r}", top=f"datum.w2 + {half2!r}",
                             shade=shade)
        .mark_rect(opacity=0)
        .encode(x=x("left"), x2="right:Q", y=y("bottom"), y2="top:Q",
                fill=loss_legend_fill(raster),
                tooltip=[*tip_w, alt.Tooltip("loss:Q", title="loss", format=_FMT)])
        .properties(name=CELLS_VIEW)
    )


LEGEND_LABEL_GAP = 0.25
"""The least distance between two labels of the loss legend, as a share of its length."""


def _spaced(values: np.ndarray, positions: np.ndarray) -> list[float]:
    """``values`` without those whose label would crowd the previous one kept (on a log
    legend the lowest loss and the first decade above it often sit side by side: "0.02 10")."""
    kept: list[float] = []
    last = -math.inf
    for value, position in zip(values.tolist(), positions.tolist(), strict=True):
        if position - last >= LEGEND_LABEL_GAP:
            kept.append(value)
            last = position
    return kept


def loss_legend_fill(raster: Raster) -> alt.Fill:
    """A colour scale reproducing the PNG's colours, drawn as a gradient legend (of field
    ``shade``: the loss, less ``raster.vmin`` on a log scale); every loss image uses it."""
    t = np.linspace(0.0, 1.0, len(raster.stops))
    span = raster.vmax - raster.vmin
    ticks = np.asarray(raster.ticks)
    if raster.scale == "log":
        c = raster.offset
        domain = c * np.expm1(t * math.log1p(span / c))
        scale = alt.Scale(type="symlog", constant=c, domain=domain.tolist(),
                          range=list(raster.stops), clamp=True)
        above = ticks - raster.vmin
        legend = alt.Legend(values=_spaced(above, np.log1p(above / c) / math.log1p(span / c)),
                            labelExpr=f"format(datum.value + {raster.vmin!r}, '.3~g')")
    else:
        domain = raster.vmin + t * span
        scale = alt.Scale(type="linear", domain=domain.tolist(), range=list(raster.stops),
                          clamp=True)
        legend = alt.Legend(values=ticks.tolist(), format=".3~g")
    legend.title = f"Loss ({raster.scale})"
    legend.gradientOpacity = 1
    return alt.Fill("shade:Q", scale=scale, legend=legend)


def _optimizer_encodings(
    names: list[str], labels_from: str | None = None, *, dash_legend: bool = True,
    **legend_props: object
) -> dict[str, alt.FieldChannelMixin]:
    """Colour, dash and marker per run, in one legend (labels read from ``labels_from``'s rows
    when given: see ``run_legend``; ``legend_props`` place it). Without ``dash_legend`` the
    legend shows markers without the dash (a dashed outline bit into a filled square)."""
    # Untitled, as the what-if figure's: each entry names its run, and in the sweep the runs
    # are rates of one optimiser, which a title "Optimiser" mislabelled.
    legend = run_legend(None, labels_from, symbolStrokeWidth=2 if dash_legend else 0,
                        **legend_props)
    field, domain = run_field(names, labels_from)
    n = len(names)
    return {
        "color": alt.Color(f"{field}:N", scale=alt.Scale(domain=domain, range=PALETTE[:n]),
                           legend=legend),
        "strokeDash": alt.StrokeDash(f"{field}:N", scale=alt.Scale(domain=domain,
                                     range=DASHES[:n]), legend=legend if dash_legend else None),
        "shape": alt.Shape(f"{field}:N", scale=alt.Scale(domain=domain, range=SHAPES[:n]),
                           legend=legend),
    }


def _axes(grid: Grid) -> tuple[Callable[[str], alt.X], Callable[[str], alt.Y], list]:
    """The map's x and y channels (fixed to the grid's window) and the (w1, w2) tooltips."""
    (x_lo, x_hi), (y_lo, y_hi) = grid.window
    x_title, y_title = grid.axis_labels

    def x(field: str) -> alt.X:
        return alt.X(f"{field}:Q", title=x_title,
                     scale=alt.Scale(domain=[x_lo, x_hi], nice=False, zero=False))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title,
                     scale=alt.Scale(domain=[y_lo, y_hi], nice=False, zero=False))

    tip_w = [alt.Tooltip("w1:Q", title=x_title, format=_FMT),
             alt.Tooltip("w2:Q", title=y_title, format=_FMT)]
    return x, y, tip_w


def surface_map(
    surface: Surface,
    grid: Grid | None = None,
    *,
    histories: Sequence[tuple[str, History]] = (),
    step_param: alt.Parameter | None = None,
    show_gradient_field: bool = False,
    show_contours: bool = True,
    scale: str = "log",
    cmap: str = "viridis",
    contour_count: int = 10,
    size: int = 420,
    hover_resolution: int = 40,
    field_resolution: int = 15,
) -> alt.LayerChart:
    """The loss surface of a two-parameter ``surface`` with the optimisers' paths on it.

    Args:
        grid: the sampled surface (``grids.evaluate``); default 200 × 200 over its window.
        histories: ``(name, history)`` pairs, at most ``MAX_RUNS``; each path gets its
            own colour, dash and marker, named in the legend.
        step_param: the caller's step parameter. With it, paths are drawn up to the step
            (older points fading), the point at the step is ringed and carries its −gradient
            and −momentum arrows; the map adds the parameter to itself (see module docstring).
            Without it, whole paths are drawn and the arrows sit at the last point.
        show_gradient_field: also draw downhill arrows on a ``field_resolution`` lattice.
        show_contours: draw ``contour_count`` contour lines spaced like the colour ``scale``.
        scale, cmap: the colour scale and colormap (``raster.to_png_data_url``).
        size: the map's width and height in pixels (square, so arrows keep their angles).
        hover_resolution: tooltips come from a lattice this fine (at most 60), never the grid.

    Streamlit sizes a chart without ``autosize`` to fit its width *including* the legends,
    which squeezes the plot out of square; show the map (or the concat holding it) with
    ``.properties(autosize="pad")`` at the top level. (Setting it here would stop the map from
    being concatenated: Vega-Lite allows ``autosize`` only on the outermost chart.)

    Raises ``ValueError`` for a surface that is not two-dimensional, or from the raster
    (unknown scale or colormap, a grid without finite values).
    """
    if surface.dim != 2:
        raise ValueError(f"a surface map needs two parameters; {surface.name} has {surface.dim}")
    grid = evaluate(surface, 200) if grid is None else grid
    raster = to_png_data_url(grid.values, cmap=cmap, scale=scale)  # type: ignore[arg-type]
    (x_lo, x_hi), (y_lo, y_hi) = grid.window
    size = int(min(max(int(size), 120), 1200))
    hover_n = int(min(max(int(hover_resolution), 2), _MAX_HOVER_RESOLUTION))
    x, y, tip_w = _axes(grid)
    image = pd.DataFrame({"url": [raster.url], "x": [x_lo], "x2": [x_hi], "y": [y_lo],
                          "y2": [y_hi]})
    layers: list[alt.Chart] = [
        alt.Chart(image).mark_image(aspect=False).encode(
            x=x("x"), x2="x2:Q", y=y("y"), y2="y2:Q", url="url:N"
        ),
        _hover_layer(surface, grid, raster, hover_n, x, y, tip_w),
    ]
    if show_contours:
        lines = contour_lines(grid, int(contour_count), max_rows=_MAP_CONTOUR_ROWS,
                              spacing="quantile" if scale == "percentile" else scale)
        lines["w1"] = _coords(lines["w1"], grid.window[0])
        lines["w2"] = _coords(lines["w2"], grid.window[1])
        layers.append(
            alt.Chart(lines).mark_line(color="white", strokeWidth=0.8, opacity=0.55, clip=True)
            .encode(x=x("w1"), y=y("w2"), detail="line:N", order="order:Q",
                    tooltip=[alt.Tooltip("level:Q", title="contour at loss", format=_FMT)])
        )
    if show_gradient_field:
        field = _field_frame(surface, grid, int(field_resolution))
        arrows = alt.Chart(field).encode(
            tooltip=[alt.Tooltip("magnitude:Q", title="|gradient|", format=_FMT)])
        layers += [
            arrows.mark_rule(color="white", opacity=0.6, strokeWidth=1, clip=True).encode(
                x=x("x"), y=y("y"), x2="x2:Q", y2="y2:Q"),
            arrows.mark_point(shape="triangle", color="white", opacity=0.6, filled=True,
                              size=18, clip=True).encode(
                x=x("x2"), y=y("y2"), angle=alt.Angle("angle:Q", scale=None)),
        ]
    layers += _landmarks(surface, grid.window, x, y, tip_w)
    layers += _path_layers(histories, grid.window, step_param, x, y, tip_w)
    # When the colours needed care (a flat window, losses beyond what a float can colour),
    # the map says so under its title.
    title = alt.Title(surface.title, subtitle=raster.note) if raster.note else surface.title
    chart = alt.layer(*layers).properties(width=size, height=size, title=title)
    return chart.add_params(step_param) if step_param is not None else chart


def _landmarks(surface: Surface, window, x, y, tip_w) -> list[alt.Chart]:
    """The declared minima (white stars; smaller for local minima) and saddles (white crosses)
    inside ``window``, each named beside it: where runs should end, and where they may stall."""
    (x_lo, x_hi), (y_lo, y_hi) = window

    def inside(points) -> list:
        return [m for m in points if len(m) == 2 and x_lo <= m[0] <= x_hi and y_lo <= m[1] <= y_hi]

    best = surface.optimal_value
    kinds = [
        ("minimum", inside(surface.minimizers), dict(shape=STAR, size=260),
         lambda _: best if best is not None and math.isfinite(best) else None),
        ("local minimum", inside(surface.local_minima), dict(shape=STAR, size=170),
         lambda m: float(surface.loss(np.asarray(m, dtype=float)))),
        ("saddle", inside(surface.saddles), dict(SADDLE, size=150),
         lambda m: float(surface.loss(np.asarray(m, dtype=float)))),
    ]
    layers: list[alt.Chart] = []
    for label, points, marker, loss in kinds:
        if not points:
            continue
        rows = pd.DataFrame({"w1": [m[0] for m in points], "w2": [m[1] for m in points],
                             "label": label, "loss": [loss(m) for m in points]})
        mark = alt.Chart(rows).encode(x=x("w1"), y=y("w2"), tooltip=[
            alt.Tooltip("label:N", title="declared"), *tip_w,
            alt.Tooltip("loss:Q", title="loss", format=_FMT)])
        layers.append(mark.mark_point(filled=True, fill="white", stroke="black",
                                      strokeWidth=1.2, opacity=1, **marker))
        # Named to the right, or to the left near the right edge, where the name would be cut.
        right_edge = rows["w1"] > x_hi - _LABEL_ROOM * (x_hi - x_lo)
        for near_edge, side in ((False, "left"), (True, "right")):
            if (right_edge == near_edge).any():
                layers.append(
                    mark.transform_filter(_edge_test(x_hi - _LABEL_ROOM * (x_hi - x_lo),
                                                     near_edge))
                    .mark_text(align=side, dx=10 if side == "left" else -10, dy=-9,
                               color="white", fontWeight="bold", fontSize=11)
                    .encode(text="label:N"))
    return layers


_LABEL_ROOM = 0.25
"""The share of the map's width a landmark's name needs to its right."""


def _edge_test(edge: float, near_edge: bool) -> str:
    return f"datum.w1 {'>' if near_edge else '<='} {edge!r}"


def path_overlay(
    grid: Grid,
    histories: Sequence[tuple[str, History]],
    step_param: alt.Parameter | None = None,
    *,
    size: int = 420,
) -> dict:
    """Only the path layers of ``surface_map`` (same axes, marks and step behaviour), as a
    Vega-Lite layer spec (a dictionary: built layer by layer, it costs a fraction of an
    Altair ``alt.layer``).

    Laid over a map drawn without histories, it gives the full map; the app caches the map's
    surface layers (which do not change with the learning rate) and rebuilds only these.
    """
    paths, arrows, shape = path_tables(grid.window, histories)
    name = step_param.name if step_param is not None else None
    return fill_paths(path_skeleton(grid, shape, name, size=size), paths, arrows)


def _current_filter(step_param: alt.Parameter) -> str:
    s = step_param.name
    return f"datum.step <= {s} && {s} < datum.next_step"


class PathShape(NamedTuple):
    """What the path layers' spec depends on besides their data (hashable: a cache key)."""

    names: tuple[str, ...]
    longest: int
    has_note: bool


def path_tables(
    window: tuple[tuple[float, float], tuple[float, float]],
    histories: Sequence[tuple[str, History]],
) -> tuple[pd.DataFrame, pd.DataFrame, PathShape]:
    """The rows the path layers draw (iterates, and the arrows at each step) and their shape,
    for a map over ``window``."""
    paths, arrows = path_frame(histories), arrow_frame(histories, window)
    for frame, columns in ((paths, ("w1", "w2")), (arrows, ("x", "y")), (arrows, ("x2", "y2"))):
        for column, interval in zip(columns, window, strict=True):
            frame[column] = _coords(frame[column], interval)
    paths["loss"] = _tooltip_number(paths["loss"])
    arrows["magnitude"] = _tooltip_number(arrows["magnitude"])
    names = tuple(name for name, *_ in _runs(histories, MAX_PATH_POINTS))
    longest = int(paths["step"].max()) if len(paths) else 0
    has_note = bool((paths["note"] != "").any()) if len(paths) else False
    return paths, arrows, PathShape(names, longest, has_note)


PATHS_DATA = "losslab-paths"
ARROWS_DATA = "losslab-arrows"


def path_skeleton(grid: Grid, shape: PathShape, step_name: str | None, *, size: int = 420) -> dict:
    """The path layers' spec with named, empty data (``PATHS_DATA``, ``ARROWS_DATA``).

    A pure function of hashable facts, so a caller may cache it and only fill in the rows
    of each new run (``fill_paths``): building Altair channels is most of a map's rebuild.
    """
    x, y, tip_w = _axes(grid)
    step_param = alt.param(name=step_name) if step_name else None
    layers = _path_layers_from(
        alt.NamedData(PATHS_DATA), alt.NamedData(ARROWS_DATA), shape, step_param, x, y, tip_w,
        labels_from=PATHS_DATA,
    )
    size = int(min(max(int(size), 120), 1200))
    spec = layer_spec(*layers, width=size, height=size)
    spec.pop("params", None)  # the step is declared by whoever composes the chart
    return spec


def fill_paths(skeleton: dict, paths: pd.DataFrame, arrows: pd.DataFrame) -> dict:
    """``skeleton`` with this run's rows as its named datasets."""
    datasets = {**skeleton.get("datasets", {}), PATHS_DATA: records(paths),
                ARROWS_DATA: records(arrows)}
    return {**skeleton, "datasets": datasets}


def _path_layers(histories, window, step_param, x, y, tip_w) -> list[alt.Chart]:
    paths, arrows, shape = path_tables(window, histories)
    if paths.empty:
        return []
    return _path_layers_from(paths, arrows, shape, step_param, x, y, tip_w)


def _path_layers_from(
    paths, arrows, shape: PathShape, step_param, x, y, tip_w, labels_from: str | None = None
) -> list:
    enc = _optimizer_encodings(list(shape.names), labels_from, dash_legend=False)
    tip = [alt.Tooltip("optimizer:N"), alt.Tooltip("step:Q"), *tip_w,
           alt.Tooltip("loss:Q", format=_FMT)]
    if shape.has_note:
        tip.append(alt.Tooltip("note:N", title="run"))
    walked, current = alt.Chart(paths), alt.Chart(paths)
    arrow_base = alt.Chart(arrows)
    if step_param is not None:
        # Nothing drawn up to the step depends on the step itself (no fading by age): a move
        # then only adds or removes points, instead of encoding every drawn point again (with
        # its tooltip) in the browser's expression interpreter, ~100 ms a move at 300 steps.
        walked = walked.transform_filter(f"datum.step <= {step_param.name}")
        current = current.transform_filter(_current_filter(step_param))
        arrow_base = arrow_base.transform_filter(_current_filter(step_param))
    else:
        current = current.transform_filter("datum.next_step > " + str(MAX_STEPS))
        arrow_base = arrow_base.transform_filter("datum.next_step > " + str(MAX_STEPS))
    arrow_tip = [alt.Tooltip("optimizer:N"), alt.Tooltip("kind:N", title="arrow"),
                 alt.Tooltip("magnitude:Q", title="length of vector", format=_FMT)]
    layers = [
        walked.mark_line(strokeWidth=2, clip=True).encode(
            x=x("w1"), y=y("w2"), order="step:Q", color=enc["color"],
            strokeDash=enc["strokeDash"]),
        walked.mark_point(filled=True, size=36, clip=True).encode(
            x=x("w1"), y=y("w2"), color=enc["color"], shape=enc["shape"], opacity=alt.value(0.9),
            tooltip=tip),
    ]
    for kind, dash in (("−momentum", [4, 3]), ("−gradient", [1, 0])):
        one = arrow_base.transform_filter(alt.datum.kind == kind).encode(tooltip=arrow_tip)
        layers += [
            one.mark_rule(color="black", strokeWidth=4.5, opacity=0.7, clip=True).encode(
                x=x("x"), y=y("y"), x2="x2:Q", y2="y2:Q"),
            one.mark_rule(color="white", strokeWidth=2, strokeDash=dash, clip=True).encode(
                x=x("x"), y=y("y"), x2="x2:Q", y2="y2:Q"),
            one.mark_point(shape="triangle", fill="white", stroke="black", strokeWidth=1,
                           filled=True, size=90, opacity=1, clip=True).encode(
                x=x("x2"), y=y("y2"), angle=alt.Angle("angle:Q", scale=None)),
        ]
    layers.append(
        current.mark_point(filled=True, size=170, stroke="black", strokeWidth=2, opacity=1,
                           clip=True).encode(
            x=x("w1"), y=y("w2"), color=enc["color"], shape=enc["shape"], tooltip=tip)
    )
    return layers


def data_space_chart(
    surface: Surface,
    histories: Sequence[tuple[str, History]] = (),
    *,
    step_param: alt.Parameter | None = None,
    width: int = 420,
    height: int = 320,
) -> alt.LayerChart:
    """The rows behind a data-driven surface and each optimiser's model at the step.

    Parameters are read as ``(w, b)`` (one-weight surfaces: ``w``, with ``b = 0``). The model
    is ``ŷ = w·x + b`` for regression and ``ŷ = σ(w·x + b) = 1/(1 + e^−(w·x+b))`` for
    classification. Only ``(w, b)`` per drawn step is sent; the browser picks the current step
    (``step_param``, added to the returned chart like ``surface_map`` does; without it, the last
    step) and samples the curve with ``sequence`` + ``flatten``. At most ``_MAX_SCATTER_POINTS``
    rows are drawn, evenly spaced through the data.

    Raises ``ValueError`` when the surface has no data or its inputs are not one column.
    """
    data = surface.data
    if data is None:
        raise ValueError(f"{surface.name} is not built from data rows, so it has no data space")
    x = np.asarray(data.x, dtype=float)
    x = x.reshape(len(x), -1)
    if x.shape[1] != 1:
        raise ValueError(f"the data space shows one input column; {surface.name} has {x.shape[1]}")
    y = np.asarray(data.y, dtype=float).reshape(-1)
    rows = pd.DataFrame({"x": x[:, 0], "y": y})
    rows = rows[np.isfinite(rows.to_numpy()).all(axis=1)]
    if rows.empty:
        raise ValueError(f"{surface.name} has no finite data rows to draw")
    count = min(len(rows), _MAX_SCATTER_POINTS)
    rows = rows.iloc[np.unique(np.linspace(0, len(rows) - 1, count).astype(int))]
    classify = data.kind == "classification"
    x_lo, x_hi = float(rows["x"].min()), float(rows["x"].max())
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1.0, x_hi + 1.0
    y_lo, y_hi = (0.0, 1.0) if classify else (float(rows["y"].min()), float(rows["y"].max()))
    pad = 0.1 * ((y_hi - y_lo) or 1.0)
    x_enc = alt.X("x:Q", title="input x", scale=alt.Scale(domain=[x_lo, x_hi], nice=False))
    y_enc = alt.Y("y:Q", title="P(y = 1)" if classify else "output y",
                  scale=alt.Scale(domain=[y_lo - pad, y_hi + pad], nice=False, zero=False))
    layers: list[alt.Chart] = [
        alt.Chart(rows).mark_circle(color="#555555", opacity=0.5, size=28).encode(
            x=x_enc, y=y_enc, tooltip=[alt.Tooltip("x:Q", format=_FMT),
                                       alt.Tooltip("y:Q", format=_FMT)])
    ]
    # Per drawn iterate: the model's weight w and bias b (0 for one-weight models).
    models = path_frame(histories).rename(columns={"w1": "w", "w2": "b"})
    if not models.empty:
        current = alt.Chart(models)
        if step_param is None:
            current = current.transform_filter(f"datum.next_step > {MAX_STEPS}")
        else:
            current = current.transform_filter(_current_filter(step_param))
        samples = 2 if not classify else 60
        dx = (x_hi - x_lo) / (samples - 1)
        linear = "datum.w * datum.x + datum.b"
        # The legend under the plot: beside it, its long labels made the figure ~700 px wide,
        # drawn at half size on a phone.
        enc = _optimizer_encodings([name for name, *_ in _runs(histories, MAX_PATH_POINTS)],
                                   orient="bottom", direction="vertical")
        layers.append(
            current.transform_calculate(x=f"sequence({x_lo!r}, {x_hi + dx / 2!r}, {dx!r})")
            .transform_flatten(["x"])
            .transform_calculate(y=f"1 / (1 + exp(-({linear})))" if classify else linear)
            .mark_line(strokeWidth=2.5, clip=True)
            .encode(x=x_enc, y=y_enc, order="x:Q", color=enc["color"],
                    strokeDash=enc["strokeDash"],
                    tooltip=[alt.Tooltip("optimizer:N"), alt.Tooltip("step:Q"),
                             alt.Tooltip("w:Q", format=_FMT), alt.Tooltip("b:Q", format=_FMT)])
        )
    chart = alt.layer(*layers).properties(width=int(width), height=int(height),
                                          title="The data and the model at this step")
    return chart.add_params(step_param) if step_param is not None else chart
