"""Charts of a small network's training and its loss landscape, from one ``Experiment``.

- ``nn_decision_chart``: P(class 1) over the data plane as one PNG image, the 0.5 boundary as
  a line, and the data points (colour AND shape by class).
- ``nn_loss_chart``: training loss and accuracy against the step.
- ``nn_interpolation_chart``: loss on the straight line from initial to trained weights.
- ``nn_landscape_chart``: loss on a 2-D plane through the trained weights (random
  filter-normalised directions, or the PCA plane of the trajectory with the path on it), as a
  PNG image with contour lines, as the 2-D loss surfaces are drawn.

Every number handed to a chart is finite; non-finite cells become transparent pixels or are
dropped from line data.
"""

from __future__ import annotations

import textwrap

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import PALETTE, SHAPES
from losslab.charts.maps import loss_legend_fill
from losslab.contours import contour_lines
from losslab.grids import Grid
from losslab.landscape import Experiment, Plane
from losslab.raster import Raster, to_png_data_url

Array = np.ndarray

__all__ = [
    "MAX_CURVE_POINTS",
    "nn_decision_chart",
    "nn_interpolation_chart",
    "nn_landscape_chart",
    "nn_loss_chart",
]

MAX_CURVE_POINTS = 1000
"""Training curves are thinned to this many evenly spaced steps (always keeping the last)."""
CLASS_COLORS = (PALETTE[0], PALETTE[1])
CLASS_SHAPES = (SHAPES[0], SHAPES[2])
PATH_COLOR = PALETTE[4]
DECISION_CMAP = "colorbrewer:RdBu_r"  # blue for class 0, red for class 1, white at p = 0.5
DECISION_LIMITS = (-0.6, 1.6)
"""Colour limits for probabilities in [0, 1]: only the light middle of the map is used, so the
class-coloured points stay readable on top."""
SURFACE_CMAP = "viridis"
LANDSCAPE_KINDS = ("random", "pca")


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose numbers are all finite (a chart must never receive NaN or inf)."""
    numbers = frame.select_dtypes("number")
    return frame[np.isfinite(numbers.to_numpy(dtype=float)).all(axis=1)].reset_index(drop=True)


def _edges(centres: Array) -> tuple[float, float]:
    """The outer cell edges of an evenly spaced axis of cell centres."""
    half = 0.5 * (centres[-1] - centres[0]) / max(len(centres) - 1, 1)
    return float(centres[0] - half), float(centres[-1] + half)


def _axes(
    x: tuple[float, float],
    y: tuple[float, float],
    x_title: str,
    y_title: str,
    fields: tuple[str, str] = ("x", "y"),
) -> dict[str, alt.X | alt.Y]:
    """Quantitative x/y encodings whose domains are exactly the image's edges."""
    return {
        "x": alt.X(
            f"{fields[0]}:Q", title=x_title, scale=alt.Scale(domain=list(x), nice=False, zero=False)
        ),
        "y": alt.Y(
            f"{fields[1]}:Q", title=y_title, scale=alt.Scale(domain=list(y), nice=False, zero=False)
        ),
    }


def _image_layer(
    url: str, x: tuple[float, float], y: tuple[float, float], x_title: str, y_title: str
) -> alt.Chart:
    """One image stretched over the data rectangle ``x`` by ``y`` on quantitative axes.

    Its top-left corner is ``(x[0], y[1])``: the image's first row is the highest y.
    """
    frame = pd.DataFrame([{"url": url, "x0": x[0], "x1": x[1], "y0": y[0], "y1": y[1]}])
    return (
        alt.Chart(frame)
        .mark_image(aspect=False, align="left", baseline="top")
        .encode(**_axes(x, y, x_title, y_title, ("x0", "y1")), x2="x1:Q", y2="y0:Q", url="url:N")
    )


def _title(text: str, subtitle: str | list[str] = "", *, chars: int = 56) -> alt.Title:
    """A title wrapped to short lines: Vega cuts long single-line titles at the chart width."""
    paragraphs = [subtitle] if isinstance(subtitle, str) else subtitle
    lines = [line for p in paragraphs if p for line in textwrap.wrap(p, chars)]
    return alt.Title(textwrap.wrap(text, chars - 10), subtitle=lines, anchor="start")


def _labels(chart: alt.Chart, **text: object) -> list[alt.Chart]:
    """White bold text on a dark halo, readable on any colour of the image."""
    style = {"align": "left", "fontWeight": "bold", **text}
    return [
        chart.mark_text(
            color="black", stroke="black", strokeWidth=3, strokeOpacity=0.6, **style
        ).encode(text="label:N"),
        chart.mark_text(color="white", **style).encode(text="label:N"),
    ]


def _thinned(n: int) -> Array:
    if n <= MAX_CURVE_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_CURVE_POINTS).round().astype(int))


def nn_decision_chart(exp: Experiment, *, width: int = 280, height: int = 280) -> alt.LayerChart:
    """The trained network's P(class 1) over the data, its 0.5 boundary, and the data points."""
    d = exp.decision
    xr, yr = _edges(d.x), _edges(d.y)
    vmin, vmax = DECISION_LIMITS
    raster = to_png_data_url(d.proba, cmap=DECISION_CMAP, scale="linear", vmin=vmin, vmax=vmax)
    axes = _axes(xr, yr, "x₁", "x₂")
    image = _image_layer(raster.url, xr, yr, "x₁", "x₂")
    grid = Grid(w1=d.x, w2=d.y, values=d.proba, window=(xr, yr))
    boundary = contour_lines(grid, [0.5]).rename(columns={"w1": "x", "w2": "y"})
    boundary_layer = (
        alt.Chart(_finite(boundary))
        .mark_line(color="black", strokeWidth=2, strokeDash=[6, 3])
        .encode(x=axes["x"], y=axes["y"], detail="line:N", order="order:Q")
    )
    labels = ["class 0", "class 1"]
    points = pd.DataFrame(
        {
            "x": exp.data.x[:, 0],
            "y": exp.data.x[:, 1],
            "class": np.where(exp.data.y > 0.5, *labels[::-1]),
        }
    )
    point_layer = (
        alt.Chart(_finite(points))
        .mark_point(filled=True, size=45, stroke="black", strokeWidth=0.6, opacity=0.95)
        .encode(
            x=axes["x"],
            y=axes["y"],
            color=alt.Color(
                "class:N", scale=alt.Scale(domain=labels, range=list(CLASS_COLORS)), title="Data"
            ),
            shape=alt.Shape("class:N", scale=alt.Scale(domain=labels, range=list(CLASS_SHAPES))),
            tooltip=[
                alt.Tooltip("class:N"),
                alt.Tooltip("x:Q", format=".2f"),
                alt.Tooltip("y:Q", format=".2f"),
            ],
        )
    )
    return alt.layer(image, boundary_layer, point_layer).properties(
        width=width,
        height=height,
        title=_title(
            f"Decision boundary, {exp.net.label} network",
            "Shading: the network's probability of class 1 (red) or class 0 (blue); "
            "dashed line: probability 0.5.",
        ),
    )


def nn_loss_chart(exp: Experiment, *, width: int = 320, height: int = 150) -> alt.VConcatChart:
    """Training loss (binary cross-entropy on all rows) and accuracy against the step."""
    t = exp.training
    keep = _thinned(len(t.loss))
    frame = _finite(
        pd.DataFrame({"step": keep, "loss": t.loss[keep], "accuracy": t.accuracy[keep]})
    )
    x = alt.X("step:Q", title="Step", scale=alt.Scale(nice=False))
    base = alt.Chart(frame).encode(x=x)
    tooltip = [
        alt.Tooltip("step:Q"),
        alt.Tooltip("loss:Q", format=".4f"),
        alt.Tooltip("accuracy:Q", format=".1%"),
    ]
    loss = base.mark_line(color=PALETTE[0], strokeWidth=2).encode(
        y=alt.Y("loss:Q", title="Loss (cross-entropy)"), tooltip=tooltip
    )
    acc = base.mark_line(color=PALETTE[2], strokeWidth=2).encode(
        y=alt.Y(
            "accuracy:Q",
            title="Accuracy",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        tooltip=tooltip,
    )
    loss_layers: list[alt.Chart] = [loss]
    if t.diverged_at is not None:
        stop = pd.DataFrame(
            {"step": [len(t.loss) - 1], "label": [f"diverged at step {t.diverged_at}"]}
        )
        marker = alt.Chart(stop).encode(x="step:Q")
        loss_layers += [
            marker.mark_rule(color=PALETTE[4], strokeDash=[4, 3]),
            marker.mark_text(color=PALETTE[4], align="right", dx=-4, dy=8, baseline="top").encode(
                text="label:N", y=alt.value(0)
            ),
        ]
    return alt.vconcat(
        alt.layer(*loss_layers).properties(width=width, height=height, title="Training loss"),
        acc.properties(width=width, height=height * 2 // 3, title="Training accuracy"),
    ).properties(title=_title("Training", _measured_on(exp)))


def _measured_on(exp: Experiment) -> str:
    """What the curves measure; the outcome itself is ``exp.message``, said once by the page
    above the charts."""
    rows, batch = len(exp.data.y), exp.settings.get("batch")
    step = f"step on a mini-batch of {batch}" if batch and batch < rows else "full-batch step"
    measured = f"Cross-entropy and accuracy on all {rows} data rows, after each {step}."
    if exp.training.diverged_at is None:
        return measured
    return f"{measured} Training diverged at step {exp.training.diverged_at}."


def nn_interpolation_chart(
    exp: Experiment, *, width: int = 320, height: int = 220
) -> alt.LayerChart:
    """Loss on ``theta_0 + alpha (theta* - theta_0)``, alpha in [-0.5, 1.5] (Goodfellow et al.)."""
    line = exp.interpolation
    frame = _finite(pd.DataFrame({"alpha": line.alpha, "loss": line.loss}))
    span = frame["loss"].agg(["min", "max"]) if len(frame) else pd.Series({"min": 1.0, "max": 1.0})
    log = bool(span["min"] > 0 and span["max"] > 50 * span["min"])
    y = alt.Y(
        "loss:Q",
        title="Loss" + (" (log scale)" if log else ""),
        scale=alt.Scale(type="log" if log else "linear"),
    )
    curve = (
        alt.Chart(frame)
        .mark_line(color=PALETTE[0], strokeWidth=2.5)
        .encode(
            x=alt.X(
                "alpha:Q",
                title="α (0 = initial weights, 1 = trained weights)",
                scale=alt.Scale(nice=False),
            ),
            y=y,
            tooltip=[alt.Tooltip("alpha:Q", format=".2f"), alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    ends = _finite(
        pd.DataFrame(
            {
                "alpha": [0.0, 1.0],
                "loss": [float(exp.training.loss[0]), float(exp.training.loss[-1])],
                "label": ["initial θ₀", "trained θ*"],
            }
        )
    )
    marks = alt.Chart(ends).encode(x="alpha:Q", y="loss:Q")
    return alt.layer(
        curve,
        alt.Chart(ends).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="alpha:Q"),
        marks.mark_point(color="black", filled=True, size=70),
        marks.mark_text(align="left", dx=6, dy=-8).encode(text="label:N"),
    ).properties(
        width=width,
        height=height,
        title=_title(
            "Straight line from initial to trained weights",
            f"L(θ₀ + α (θ* − θ₀)), after Goodfellow et al. (2015): one direction out of "
            f"{exp.net.n_params}.",
        ),
    )


def _short_caution(n_params: int) -> str:
    return (
        f"Caution: a 2-D slice of a loss over {n_params} weights is a projection; "
        f"the other {max(n_params - 2, 0)} directions are not shown."
    )


def _plane_titles(exp: Experiment, plane: Plane) -> tuple[str, str, str, list[str]]:
    if plane.kind == "random":
        return (
            "Direction 1 (filter-normalised)",
            "Direction 2 (filter-normalised)",
            "Random plane through the trained weights",
            [
                "Random directions, filter-normalised as in Li et al. (2018); biases held fixed.",
                _short_caution(exp.net.n_params),
            ],
        )
    r1, r2 = (float(v) for v in plane.explained_variance_ratio)
    return (
        f"PC1 ({r1:.1%} of the path's variance)",
        f"PC2 ({r2:.1%})",
        "Training path on its PCA plane",
        [
            f"Directions from PCA of the weight path (Li et al. 2018), explaining {r1:.1%} + "
            f"{r2:.1%} of how the weights moved.",
            _short_caution(exp.net.n_params),
        ],
    )


def _legend_layer(raster: Raster, x: tuple[float, float], y: tuple[float, float]) -> alt.Chart:
    """An invisible point carrying the image's colour scale, drawn as the same gradient legend
    as the surface maps' (their labels, spacing and log scale)."""
    frame = pd.DataFrame({"x": [x[0]], "y": [y[0]], "shade": [0.0]})
    legend = alt.Chart(frame).mark_point(opacity=0)
    return legend.encode(x="x:Q", y="y:Q", fill=loss_legend_fill(raster))


def nn_landscape_chart(
    exp: Experiment, kind: str = "random", *, width: int = 300, height: int = 300
) -> alt.LayerChart:
    """Loss on a 2-D plane through the trained weights, as an image with contour lines.

    ``kind="random"``: two filter-normalised random directions, both axes in [-1, 1].
    ``kind="pca"``: the top two principal directions of the trajectory, with the path drawn.
    The colour scale is logarithmic in the loss (see ``losslab.raster``).
    """
    if kind not in LANDSCAPE_KINDS:
        raise ValueError(
            f"Unknown landscape kind {kind!r}; choose one of {', '.join(LANDSCAPE_KINDS)}"
        )
    plane = exp.random_plane if kind == "random" else exp.pca_plane
    values = np.where(np.isfinite(plane.loss), plane.loss, np.nan)
    xr, yr = _edges(plane.a), _edges(plane.b)
    raster = to_png_data_url(values, cmap=SURFACE_CMAP, scale="log")
    x_title, y_title, title, subtitle = _plane_titles(exp, plane)
    axes = _axes(xr, yr, x_title, y_title)
    image = _image_layer(raster.url, xr, yr, x_title, y_title)
    grid = Grid(w1=plane.a, w2=plane.b, values=values, window=(xr, yr))
    lines = contour_lines(grid, 10, spacing="log").rename(columns={"w1": "x", "w2": "y"})
    contours = (
        alt.Chart(_finite(lines))
        .mark_line(color="white", strokeWidth=0.8, opacity=0.7)
        .encode(
            x=axes["x"],
            y=axes["y"],
            detail="line:N",
            order="order:Q",
            tooltip=[alt.Tooltip("level:Q", title="loss", format=".3g")],
        )
    )
    layers: list[alt.Chart] = [image, contours, _legend_layer(raster, xr, yr)]
    if plane.path is not None:
        path = _finite(
            pd.DataFrame(
                {
                    "x": plane.path[:, 0],
                    "y": plane.path[:, 1],
                    "step": plane.path_steps,
                    "loss": plane.path_loss,
                }
            )
        )
        walked = alt.Chart(path).encode(
            x=axes["x"],
            y=axes["y"],
            order="step:Q",
            tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4f", title="true loss")],
        )
        start = path.iloc[:1].assign(label="start")
        layers += [
            walked.mark_line(
                color=PATH_COLOR,
                strokeWidth=2,
                point=alt.OverlayMarkDef(color=PATH_COLOR, size=12, filled=True),
            ),
            alt.Chart(start)
            .mark_point(color=PATH_COLOR, size=110, shape="square", filled=True, stroke="white")
            .encode(x=axes["x"], y=axes["y"]),
            *_labels(alt.Chart(start).encode(x=axes["x"], y=axes["y"]), dx=8),
        ]
    trained = pd.DataFrame(
        {"x": [0.0], "y": [0.0], "label": ["trained θ*"], "loss": [float(exp.training.loss[-1])]}
    )
    centre = alt.Chart(_finite(trained)).encode(x=axes["x"], y=axes["y"])
    layers += [
        centre.mark_point(
            shape="cross", size=160, color="white", filled=True, stroke="black", strokeWidth=1
        ).encode(tooltip=[alt.Tooltip("label:N"), alt.Tooltip("loss:Q", format=".4f")]),
        *_labels(centre, dx=9, dy=-9),
    ]
    return alt.layer(*layers).properties(width=width, height=height, title=_title(title, subtitle))
