"""A rotatable 3-D wireframe of a 2-D surface with the optimiser's path on it, in plain Altair.

Python sends normalised points ``(u, v, h)``: ``u, v`` in [-1, 1] across the window and ``h``
in [0, 1] the (log-)scaled loss. The browser projects them with Vega expressions whose angles,
``azimuth`` and ``elevation``, are parameters bound to range inputs, so rotating never reruns
Python. For azimuth a and elevation e (orthographic view, viewer above the surface)::

    x' = u cos a - v sin a,     y' = u sin a + v cos a,     z = (h - 1/2) * HEIGHT
    screen x = x',              screen y = z cos e + y' sin e,
    depth    = y' cos e - z sin e   (larger is farther from the viewer)

Depth cues: wireframe segments are drawn far to near (``order`` by depth) with nearer segments
more opaque; their colour is the height (viridis: purple low, yellow high).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import PALETTE, SADDLE, STAR, thin_steps, until
from losslab.descent import History
from losslab.surfaces import Surface

Array = np.ndarray

__all__ = [
    "AZIMUTH",
    "ELEVATION",
    "HEIGHT_LOG_GAIN",
    "MAX_GRID",
    "MAX_PATH_POINTS",
    "height_scale",
    "projection",
    "three_d_chart",
]

AZIMUTH = "azimuth"
"""Name of the parameter holding the rotation about the vertical axis, in degrees."""
ELEVATION = "elevation"
"""Name of the parameter holding the viewing angle above the floor, in degrees."""
MAX_GRID = 50
"""Grid points per axis, at most: 2 * 50 * 49 = 4,900 wireframe segments."""
MAX_PATH_POINTS = 1000
"""Path points drawn, at most (``thin_steps`` in normalised 3-D coordinates)."""
HEIGHT_LOG_GAIN = 100.0
"""``h = log1p(G r) / log1p(G)`` for the share ``r`` of the loss range: G sets the compression."""
_HEIGHT = 1.0
_REACH = 1.6  # bounds every projected coordinate: sqrt(2 + (HEIGHT / 2) ** 2) < 1.6
_SIZE = 360


def height_scale(loss: Array, lo: float, hi: float, mode: str) -> Array:
    """Map loss to height in [0, 1] over the range ``[lo, hi]``, clipping outside it.

    ``"linear"``: ``r = (L - lo) / (hi - lo)``. ``"log"``: ``log1p(G r) / log1p(G)`` with
    ``G = HEIGHT_LOG_GAIN``, which lifts a deep narrow valley into view. A flat range maps to 1/2.
    """
    loss = np.asarray(loss, dtype=float)
    if not hi > lo:
        return np.full(loss.shape, 0.5)
    share = np.clip((loss - lo) / (hi - lo), 0.0, 1.0)
    if mode == "linear":
        return share
    if mode == "log":
        return np.log1p(HEIGHT_LOG_GAIN * share) / np.log1p(HEIGHT_LOG_GAIN)
    raise ValueError(f"height must be 'auto', 'linear' or 'log'; got {mode!r}")


def _pick_mode(finite: Array, lo: float, hi: float, mode: str) -> str:
    """``"auto"``: log when over half the grid lies in the lowest tenth of the loss range."""
    if mode != "auto":
        return mode
    if not hi > lo:
        return "linear"
    return "log" if np.median((finite - lo) / (hi - lo)) < 0.1 else "linear"


def _grid(
    surface: Surface,
    window: Sequence[Sequence[float]] | None,
    grid: tuple[Array, Array, Array] | None,
    n: int,
) -> tuple[Array, Array, Array]:
    """Axis values ``w1 (n1,)``, ``w2 (n2,)`` and loss ``(n2, n1)``, at most ``MAX_GRID`` each."""
    n = int(min(max(int(n), 2), MAX_GRID))
    if grid is None:
        window = surface.window if window is None else window
        (lo1, hi1), (lo2, hi2) = ((float(a), float(b)) for a, b in window)
        if not (hi1 > lo1 and hi2 > lo2):
            raise ValueError(f"window must be ((lo, hi), (lo, hi)) with lo < hi; got {window}")
        w1, w2 = np.linspace(lo1, hi1, n), np.linspace(lo2, hi2, n)
        with np.errstate(all="ignore"):
            loss = surface.loss(np.stack(np.meshgrid(w1, w2)))
        return w1, w2, loss
    w1, w2, loss = (np.asarray(a, dtype=float) for a in grid)
    if w1.ndim != 1 or w2.ndim != 1 or loss.shape != (len(w2), len(w1)) or min(loss.shape) < 2:
        raise ValueError(
            f"grid must be (w1 (n1,), w2 (n2,), loss (n2, n1)) with n1, n2 >= 2; got shapes "
            f"{w1.shape}, {w2.shape}, {loss.shape}"
        )
    if not (np.all(np.diff(w1) > 0) and np.all(np.diff(w2) > 0)):
        raise ValueError("grid axes w1 and w2 must increase strictly")
    rows = np.unique(np.linspace(0, len(w2) - 1, min(len(w2), MAX_GRID)).round().astype(int))
    cols = np.unique(np.linspace(0, len(w1) - 1, min(len(w1), MAX_GRID)).round().astype(int))
    return w1[cols], w2[rows], loss[np.ix_(rows, cols)]


def _segments(u: Array, v: Array, h: Array, defined: Array) -> pd.DataFrame:
    """Wireframe segments between neighbours along each axis, skipping undefined points."""
    parts = []
    for a, b in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # along w1
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),  # along w2
    ):
        ok = (defined[a] & defined[b]).ravel()
        parts.append(
            pd.DataFrame(
                {
                    "u1": u[a].ravel()[ok],
                    "v1": v[a].ravel()[ok],
                    "h1": h[a].ravel()[ok],
                    "u2": u[b].ravel()[ok],
                    "v2": v[b].ravel()[ok],
                    "h2": h[b].ravel()[ok],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["height"] = (frame["h1"] + frame["h2"]) / 2
    return frame.round(4)


def projection(suffix: str = "") -> dict[str, str]:
    """Vega expressions placing ``(u, v, h)`` on screen, as calculate fields."""
    u, v, h = f"datum.u{suffix}", f"datum.v{suffix}", f"datum.h{suffix}"
    a, e = f"({AZIMUTH} * PI / 180)", f"({ELEVATION} * PI / 180)"
    depth_axis = f"({u} * sin({a}) + {v} * cos({a}))"
    z = f"(({h} - 0.5) * {_HEIGHT})"
    return {
        f"sx{suffix}": f"{u} * cos({a}) - {v} * sin({a})",
        f"sy{suffix}": f"{z} * cos({e}) + {depth_axis} * sin({e})",
        f"depth{suffix}": f"{depth_axis} * cos({e}) - {z} * sin({e})",
    }


def _position(x: str = "sx", y: str = "sy") -> dict[str, alt.SchemaBase]:
    scale = alt.Scale(domain=[-_REACH, _REACH], nice=False, zero=False)
    return {
        "x": alt.X(f"{x}:Q", scale=scale, axis=None),
        "y": alt.Y(f"{y}:Q", scale=scale, axis=None),
    }


def _path_frame(
    history: History, window: tuple[tuple[float, float], ...], lo: float, hi: float, mode: str
) -> pd.DataFrame:
    """Path points inside the window, thinned; ``piece`` changes where the path left it."""
    (lo1, hi1), (lo2, hi2) = window
    u = 2 * (history.params[:, 0] - lo1) / (hi1 - lo1) - 1
    v = 2 * (history.params[:, 1] - lo2) / (hi2 - lo2) - 1
    h = height_scale(history.loss, lo, hi, mode)
    kept = thin_steps(np.column_stack([u, v, h]), MAX_PATH_POINTS)
    ends = until(kept, len(history), hold_last=True)
    inside = (np.abs(u[kept]) <= 1) & (np.abs(v[kept]) <= 1)
    piece = np.cumsum(~inside)
    frame = pd.DataFrame(
        {
            "step": kept,
            "until": ends,
            "u": u[kept],
            "v": v[kept],
            "h": h[kept],
            "loss": history.loss[kept],
            "piece": piece,
        }
    )
    return frame[inside].round({"u": 4, "v": 4, "h": 4}).reset_index(drop=True)


def _path_layers(
    frame: pd.DataFrame, step: alt.Parameter | None, color: str, n_steps: int
) -> list[alt.Chart]:
    """Halo, line and points of the path; the current point (or the last) drawn large."""
    base = alt.Chart(frame).transform_calculate(**projection()).encode(**_position())
    if step is None:
        current = f"datum.until >= {n_steps}"  # only the last row reaches past the end
    else:
        base = base.transform_filter(f"datum.step <= {step.name}")
        current = f"{step.name} < datum.until"
    tooltip = [alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4g")]
    line = {"detail": "piece:N", "order": "step:Q"}
    return [
        base.mark_line(color="white", strokeWidth=5, opacity=0.8).encode(**line),
        base.mark_line(color=color, strokeWidth=2.5).encode(**line),
        base.mark_point(color=color, filled=True, size=18, opacity=1).encode(tooltip=tooltip),
        base.transform_filter(current)
        .mark_point(color=color, filled=True, size=160, stroke="black", strokeWidth=1.5, opacity=1)
        .encode(tooltip=tooltip),
    ]


def three_d_chart(
    surface: Surface,
    history: History | None = None,
    step: alt.Parameter | None = None,
    *,
    window: Sequence[Sequence[float]] | None = None,
    grid: tuple[Array, Array, Array] | None = None,
    n: int = 30,
    height: str = "auto",
    color_index: int = 0,
    azimuth: float = -55.0,
    elevation: float = 30.0,
) -> alt.LayerChart:
    """A wireframe of ``surface`` over ``window`` that the learner rotates in the browser.

    The surface is sampled on an ``n x n`` grid (``n`` capped to ``[2, MAX_GRID]``), or taken
    from ``grid = (w1, w2, loss)`` with ``loss[j, i] = L(w1[i], w2[j])`` (thinned to at most
    ``MAX_GRID`` per axis; its window is then its own extent). Loss maps to height by
    ``height_scale`` over the grid's finite range; ``height="auto"`` picks log when over half the
    grid lies in the lowest tenth of the range. Undefined (non-finite) grid points are dropped
    with every segment touching them.

    The path of ``history`` is drawn on the surface in ``PALETTE[color_index]`` (thinned to
    ``MAX_PATH_POINTS``; points outside the window are dropped and the line breaks there).
    With ``step``, only steps up to the current one are drawn and the current point is large
    (past the run's end, its last point); ``step`` is referenced, not declared (compose with
    ``charts.link``). Without it the whole path is drawn and the last point is large.

    The chart declares its own ``azimuth`` (-180..180) and ``elevation`` (0..90) parameters,
    bound to range inputs. Several such charts in one spec share the rotation; build them with
    the same ``azimuth`` and ``elevation`` (two different definitions of one parameter name
    make the spec invalid in the browser).
    """
    if surface.dim != 2:
        raise ValueError(f"the 3-D view is for 2-D surfaces; {surface.name} has dim {surface.dim}")
    w1, w2, loss = _grid(surface, window, grid, n)
    defined = np.isfinite(loss)
    if not defined.any():
        raise ValueError(f"{surface.name} is undefined everywhere on the chosen grid")
    finite = loss[defined]
    lo, hi = float(finite.min()), float(finite.max())
    mode = _pick_mode(finite, lo, hi, height)

    box = ((float(w1[0]), float(w1[-1])), (float(w2[0]), float(w2[-1])))
    grid_u, grid_v = np.meshgrid(
        2 * (w1 - box[0][0]) / (box[0][1] - box[0][0]) - 1,
        2 * (w2 - box[1][0]) / (box[1][1] - box[1][0]) - 1,
    )
    with np.errstate(invalid="ignore"):
        grid_h = height_scale(np.where(defined, loss, lo), lo, hi, mode)
    segments = _segments(grid_u, grid_v, grid_h, defined)

    wire = (
        alt.Chart(segments)
        .transform_calculate(**projection("1"), **projection("2"))
        .transform_calculate(depth="(datum.depth1 + datum.depth2) / 2")
        .mark_rule(strokeWidth=1.2)
        .encode(
            **_position("sx1", "sy1"),
            x2="sx2:Q",
            y2="sy2:Q",
            color=alt.Color(
                "height:Q", scale=alt.Scale(scheme="viridis", domain=[0, 1]), legend=None
            ),
            opacity=alt.Opacity(
                "depth:Q", scale=alt.Scale(domain=[-_REACH, _REACH], range=[1.0, 0.15]), legend=None
            ),
            order=alt.Order("depth:Q", sort="descending"),
        )
    )
    labels = tuple(surface.axis_labels) if len(surface.axis_labels) == 2 else ("w1", "w2")
    names = (
        alt.Chart(
            pd.DataFrame(
                {"u": [1.2, -1.0], "v": [-1.0, 1.2], "h": [0.0, 0.0], "text": list(labels)}
            )
        )
        .transform_calculate(**projection())
        .mark_text(fontSize=13, fontStyle="italic")
        .encode(**_position(), text="text:N")
    )
    layers: list[alt.Chart] = [wire, names]

    for points, marker in ((surface.minimizers, {"shape": STAR, "size": 160}),
                           (surface.local_minima, {"shape": STAR, "size": 100}),
                           (surface.saddles, {**SADDLE, "size": 110})):
        in_box = [m for m in points
                  if box[0][0] <= m[0] <= box[0][1] and box[1][0] <= m[1] <= box[1][1]]
        if not in_box:
            continue
        m = np.asarray(in_box, dtype=float)
        with np.errstate(all="ignore"):
            at = surface.loss(m.T)
        marks = pd.DataFrame(
            {
                "u": 2 * (m[:, 0] - box[0][0]) / (box[0][1] - box[0][0]) - 1,
                "v": 2 * (m[:, 1] - box[1][0]) / (box[1][1] - box[1][0]) - 1,
                "h": height_scale(np.where(np.isfinite(at), at, lo), lo, hi, mode),
            }
        ).round(4)
        layers.append(
            alt.Chart(marks)
            .transform_calculate(**projection())
            .mark_point(filled=True, fill="white", stroke="black", strokeWidth=1.2, opacity=1,
                        **marker)
            .encode(**_position())
        )
    if history is not None and len(history):
        if history.params.shape[1] != 2:
            raise ValueError("the 3-D view needs a history of 2-D iterates")
        path = _path_frame(history, box, lo, hi, mode)
        if len(path):
            color = PALETTE[int(color_index) % len(PALETTE)]
            layers += _path_layers(path, step, color, len(history))

    rotate = alt.param(
        name=AZIMUTH,
        value=float(azimuth),
        bind=alt.binding_range(min=-180, max=180, step=1, name="Azimuth (°) "),
    )
    tilt = alt.param(
        name=ELEVATION,
        value=float(min(max(elevation, 0.0), 90.0)),
        bind=alt.binding_range(min=0, max=90, step=1, name="Elevation (°) "),
    )
    subtitle = (
        f"height and colour: loss, {mode} scale (purple low, yellow high); "
        "nearer lines are darker. Drag the angle sliders to rotate."
    )
    return (
        alt.layer(*layers)
        .add_params(rotate, tilt)
        .properties(
            width=_SIZE,
            height=_SIZE,
            title=alt.Title(f"{surface.title}: surface in 3-D", subtitle=subtitle),
            view=alt.ViewBackground(stroke=None),
        )
    )
