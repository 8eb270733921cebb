"""The opening lesson: a one-weight loss curve and its gradient, side by side, with the path.

Reproduces the course chapter's figure (loss surface left; gradient with a dashed zero line
right) and adds what the chapter only describes: the iterates of gradient descent on both
curves and, at the step the learner selects, the tangent line whose slope is the gradient.
The step is a browser-side parameter, so scrubbing never reruns Python.

Two forms of the figure: one spec (``lesson_figure``, ``lesson_spec``, ``lesson_skeleton``) and
two panels sharing the step (``lesson_panels``, ``lesson_panel_skeletons``: the loss curve with
the sentences under it, and the gradient curve), which a phone stacks (``charts.panels``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts.common import DASHES, PALETTE, SHAPES, step_param
from losslab.charts.compose import concat_spec, layer_spec, records
from losslab.charts.panels import LEGEND_BELOW, panel, place_legends
from losslab.descent import MAX_STEPS, History, step_sentence
from losslab.surfaces import Surface

__all__ = [
    "LESSON_CURVE",
    "LESSON_PATH",
    "LessonShape",
    "MAX_DRAWN_STEPS",
    "fill_lesson",
    "fill_lesson_panels",
    "lesson_figure",
    "lesson_frames",
    "lesson_panel_skeletons",
    "lesson_panels",
    "lesson_shape",
    "lesson_skeleton",
    "lesson_spec",
    "step_sentence",
]

LESSON_CURVE = "losslab-lesson-curve"
LESSON_PATH = "losslab-lesson-path"
"""Dataset names of the curve and path rows in ``lesson_skeleton``."""

MAX_DRAWN_STEPS = 600
"""Longer runs are thinned to this many evenly spaced iterates (plus the last) for drawing."""

LOSS_COLOR = PALETTE[0]
GRAD_COLOR = PALETTE[1]
PATH_COLOR = PALETTE[3]


def _drawn_steps(n: int) -> np.ndarray:
    if n <= MAX_DRAWN_STEPS:
        return np.arange(n)
    picked = np.linspace(0, n - 1, MAX_DRAWN_STEPS).round().astype(int)
    return np.unique(picked)


Run = tuple[str, History]


def _runs(history: History | Sequence[Run] | None) -> list[Run]:
    if history is None:
        return []
    if isinstance(history, History):
        return [("Gradient descent", history)]
    return [(str(name), h) for name, h in history if len(h)]


def lesson_frames(
    surface: Surface,
    history: History | Sequence[Run] | None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables the lesson figure draws: the curves and the iterates of every run.

    The curve spans ``w_range`` with ``n_points`` points, widened to take in every iterate so a
    run that leaves the window is still seen. Where the loss is undefined (a custom formula's
    log of a negative) the curve holds nulls, which the chart draws as gaps; runs stop before
    inf, so every number sent is finite.
    """
    if surface.dim != 1:
        raise ValueError(
            f"the lesson figure shows one-weight surfaces; {surface.name} has {surface.dim}"
        )
    runs = _runs(history)
    lo, hi = sorted(float(v) for v in w_range)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    for _, h in runs:
        lo = min(lo, float(h.params[:, 0].min()))
        hi = max(hi, float(h.params[:, 0].max()))
    n_points = int(min(max(n_points, 2), 2000))
    w = np.linspace(lo, hi, n_points)
    with np.errstate(all="ignore"):
        loss = surface.loss(w[np.newaxis])
        grad = surface.grad(w[np.newaxis])[0]
    curve = pd.DataFrame(
        {
            "w": w,
            "loss": np.where(np.isfinite(loss), loss, np.nan),
            "gradient": np.where(np.isfinite(grad), grad, np.nan),
        }
    ).astype({"loss": "Float64", "gradient": "Float64"})
    curve.loc[curve["loss"].isna(), "loss"] = pd.NA
    curve.loc[curve["gradient"].isna(), "gradient"] = pd.NA

    # Tangent L(w_t) + g_t (w - w_t), drawn over a tenth of the window each side of w_t.
    half = (hi - lo) / 10.0
    tables = []
    for order, (name, h) in enumerate(runs):
        keep = _drawn_steps(len(h))
        ws, losses, grads = h.params[keep, 0], h.loss[keep], h.grad[keep, 0]
        # A huge gradient (above ~1e300 / half) would put the tangent's ends at ±inf: the
        # tangent is then drawn shorter, so both its ends stay finite numbers.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            width = np.where(np.abs(grads) * half > 1e300, 1e300 / np.abs(grads), half)
        tables.append(
            pd.DataFrame(
                {
                    "run": name,
                    "order": order,
                    "step": keep,
                    "w": ws,
                    "loss": losses,
                    "gradient": grads,
                    "tangent_w0": ws - width,
                    "tangent_w1": ws + width,
                    "tangent_l0": losses - grads * width,
                    "tangent_l1": losses + grads * width,
                    "sentence": [
                        (f"{name}, step {t}: " if len(runs) > 1 else f"Step {t}: ")
                        + step_sentence(w_, g_)
                        for t, w_, g_ in zip(keep, ws, grads, strict=True)
                    ],
                }
            )
        )
    columns = ["run", "order", "step", "w", "loss", "gradient"]
    path = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    return curve, path


class LessonShape(NamedTuple):
    """What the lesson figure's spec depends on besides its rows (hashable: a cache key):
    the runs' names and the last step drawn."""

    names: tuple[str, ...]
    last: int


def lesson_shape(path: pd.DataFrame) -> LessonShape:
    """The shape of the figure drawing ``path`` (the second table of ``lesson_frames``)."""
    if not len(path):
        return LessonShape((), 0)
    return LessonShape(tuple(dict.fromkeys(path["run"])), int(path["step"].max()))


def _lesson_parts(
    curve: pd.DataFrame | alt.NamedData,
    path: pd.DataFrame | alt.NamedData,
    shape: LessonShape,
    step: int | None,
    width: int,
    height: int,
    sentence: tuple[int, int] | None = None,
) -> tuple[list[alt.Chart], list[alt.Chart], alt.Chart | None, alt.Parameter | None]:
    """The figure's pieces: loss layers, gradient layers, the sentence row and the step.

    The sentences run under both curves in one line each, or with ``sentence`` (width in
    px, lines per run) under one curve, in that many lines (their rows carry the breaks)."""
    x = alt.X("w:Q", title="Weight w", scale=alt.Scale(nice=False))
    # Nulls (undefined loss) break the line instead of being bridged.
    line = {"strokeWidth": 2.5, "invalid": "break-paths-show-path-domains"}
    loss_curve = (
        alt.Chart(curve)
        .mark_line(color=LOSS_COLOR, **line)
        .encode(
            x=x,
            y=alt.Y("loss:Q", title="Loss L(w)"),
            tooltip=[alt.Tooltip("w:Q", format=".3f"), alt.Tooltip("loss:Q", format=".4g")],
        )
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(
        color="gray", strokeDash=[5, 4], strokeWidth=1
    ).encode(y="zero:Q")
    grad_curve = (
        alt.Chart(curve)
        .mark_line(color=GRAD_COLOR, **line)
        .encode(
            x=x,
            y=alt.Y("gradient:Q", title="Gradient dL/dw"),
            tooltip=[alt.Tooltip("w:Q", format=".3f"), alt.Tooltip("gradient:Q", format=".4g")],
        )
    )
    loss_layers: list[alt.Chart] = [loss_curve]
    grad_layers: list[alt.Chart] = [zero, grad_curve]
    param = None
    names, last = list(shape.names), shape.last
    if names:
        param = step_param(last, step)
        upto = alt.datum.step <= param
        # Loose equality: an input outside the chart (the panels' shared step) holds text.
        current = f"datum.step == {param.name}"
        several = len(names) > 1
        colour = (
            alt.Color(
                "run:N",
                scale=alt.Scale(domain=names, range=PALETTE[3:] + PALETTE[:3]),
                legend=alt.Legend(title="Run", orient="bottom"),
            )
            if several
            else alt.value(PATH_COLOR)
        )
        dash = alt.StrokeDash(
            "run:N", scale=alt.Scale(domain=names, range=DASHES[: len(names)]), legend=None
        )
        shape = alt.Shape(
            "run:N", scale=alt.Scale(domain=names, range=SHAPES[: len(names)]), legend=None
        )
        base = alt.Chart(path).encode(x=alt.X("w:Q"))
        tooltip = [
            alt.Tooltip("run:N"),
            alt.Tooltip("step:Q"),
            alt.Tooltip("w:Q", format=".4g"),
            alt.Tooltip("loss:Q", format=".4g"),
            alt.Tooltip("gradient:Q", format=".4g"),
        ]
        # Nothing drawn up to the step depends on the step itself (no fading by age): a move
        # then only adds or removes points instead of encoding every drawn point again.
        walked_opacity = alt.value(0.85)
        walked = base.transform_filter(upto)
        now = base.transform_filter(current)
        loss_layers += [
            walked.mark_line(strokeWidth=1.5, opacity=0.7).encode(
                y="loss:Q", order="step:Q", color=colour, strokeDash=dash, detail="run:N"
            ),
            walked.mark_point(filled=True, size=45).encode(
                y="loss:Q", opacity=walked_opacity, color=colour, shape=shape,
                tooltip=tooltip,
            ),
            now.mark_rule(color="black", strokeWidth=2).encode(
                x="tangent_w0:Q", x2="tangent_w1:Q", y="tangent_l0:Q", y2="tangent_l1:Q"
            ),
            now.mark_point(size=160, strokeWidth=2.5).encode(
                y="loss:Q", color=colour, shape=shape, tooltip=tooltip
            ),
        ]
        grad_layers += [
            walked.mark_point(filled=True, size=45).encode(
                y="gradient:Q", opacity=walked_opacity, color=colour, shape=shape,
                tooltip=tooltip,
            ),
            now.mark_point(size=160, strokeWidth=2.5).encode(
                y="gradient:Q", color=colour, shape=shape, tooltip=tooltip
            ),
        ]

    words = None
    if param is not None and sentence is None:
        words = (
            alt.Chart(path)
            .transform_filter(current)
            .mark_text(align="left", baseline="top", fontSize=14, dx=4)
            .encode(
                text="sentence:N",
                x=alt.value(0),
                y=alt.Y("order:O", axis=None, title=None),
            )
            .properties(width=2 * width, height=22 * len(names))
        )
    elif param is not None:
        text_width, lines = sentence
        row = _LINE * lines + 6  # each run's rows placed in pixels, a few lines each
        words = (
            alt.Chart(path)
            .transform_filter(current)
            .transform_calculate(row_y=f"datum.order * {row} + 2")
            .mark_text(align="left", baseline="top", fontSize=14, dx=4, lineBreak="\n",
                       lineHeight=_LINE, limit=text_width - 8)
            .encode(text="sentence:N", x=alt.value(0),
                    y=alt.Y("row_y:Q", axis=None, title=None, scale=None))
            .properties(width=text_width, height=row * len(names),
                        view=alt.ViewBackground(stroke=None))
        )
    return loss_layers, grad_layers, words, param


_LOSS_TITLE = "Loss surface"
_GRAD_TITLE = "Gradient of loss w.r.t. w"


def lesson_figure(
    surface: Surface,
    history: History | Sequence[Run] | None = None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
) -> alt.Chart:
    """Loss curve and gradient curve side by side, with the descent path(s) and the tangent.

    ``history`` is one run, or several as ``(name, History)`` pairs (each drawn with its own
    colour, dash and marker). ``step`` picks the iterate whose tangent is drawn at first
    (default: the last); the learner moves it in the browser with the "Step" slider under the
    figure, which repaints without a server round trip.
    """
    curve, path = lesson_frames(surface, history, w_range=w_range, n_points=n_points)
    loss_layers, grad_layers, sentence, param = _lesson_parts(
        curve, path, lesson_shape(path), step, width, height
    )
    left = alt.layer(*loss_layers).properties(title=_LOSS_TITLE, width=width, height=height)
    right = alt.layer(*grad_layers).properties(title=_GRAD_TITLE, width=width, height=height)
    figure = alt.hconcat(left, right)
    if sentence is not None:
        figure = alt.vconcat(figure, sentence).add_params(param)
    return figure.resolve_scale(color="independent")


def lesson_spec(
    surface: Surface,
    history: History | Sequence[Run] | None = None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
) -> dict:
    """``lesson_figure(...)`` as a dictionary, assembled from its layers' dictionaries: the
    same figure in a fraction of the time, its rows under the names ``LESSON_CURVE`` and
    ``LESSON_PATH``."""
    curve, path = lesson_frames(surface, history, w_range=w_range, n_points=n_points)
    skeleton = lesson_skeleton(lesson_shape(path), step=step, width=width, height=height)
    return fill_lesson(skeleton, records(curve), records(path))


def lesson_skeleton(
    shape: LessonShape, *, step: int | None = None, width: int = 320, height: int = 280
) -> dict:
    """The lesson figure's spec with named, empty data: a pure function of hashable facts, so
    a caller may cache it and only ``fill_lesson`` each new run's rows."""
    loss_layers, grad_layers, sentence, param = _lesson_parts(
        alt.NamedData(LESSON_CURVE), alt.NamedData(LESSON_PATH), shape, step, width, height
    )
    left = layer_spec(*loss_layers, title=_LOSS_TITLE, width=width, height=height)
    right = layer_spec(*grad_layers, title=_GRAD_TITLE, width=width, height=height)
    figure = concat_spec("hconcat", left, right)
    if sentence is not None:
        figure = concat_spec("vconcat", figure, sentence)
        figure["params"] = [param.param.to_dict()]
    figure["resolve"] = {"scale": {"color": "independent"}}
    return figure


def fill_lesson(
    skeleton: dict, curve: Sequence | pd.DataFrame, path: Sequence | pd.DataFrame
) -> dict:
    """``skeleton`` with these rows (``lesson_frames``' two tables, as records or DataFrames).
    Without runs the skeleton draws no path, so no path rows are added."""
    rows = {LESSON_CURVE: curve, **({LESSON_PATH: path} if len(path) else {})}
    return {**skeleton, "datasets": {**skeleton.get("datasets", {}), **rows}}


_LINE = 18
"""Height of a line of the sentences under the loss panel (px; 14 px text)."""
_LONGEST = step_sentence(-12345.6, -5.55e-05)
"""The longest sentence a step gets: numbers at their widest, and "practically zero"."""


def _sentence_layout(names: Sequence[str], width: int) -> tuple[int, int, int]:
    """The sentences' width under a curve ``width`` px wide (as wide as the curve, so the
    panel is no wider than the curve and its axis), the lines kept for each run (enough for
    its longest sentence, so the panel's height never follows the rows), and the characters
    a line holds."""
    text_width = int(width)
    chars = max(int(text_width / 7), 20)  # 14 px text: about 7 px a character
    prefixes = [f"{name}, step {MAX_STEPS}: " for name in names] if len(names) > 1 else [
        f"Step {MAX_STEPS}: "]
    lines = max(len(textwrap.wrap(prefix + _LONGEST, chars)) for prefix in prefixes)
    return text_width, lines, chars


def _wrapped(sentences: pd.Series, chars: int, lines: int) -> pd.Series:
    """Each sentence broken into at most ``lines`` lines of about ``chars`` characters
    (joined by newlines, on which the text mark breaks). Greedy, at spaces: ``textwrap``
    gives the same lines for these sentences at several times the cost, and a run sends
    one sentence per drawn step."""
    def wrap(text: str) -> str:
        out, line = [], ""
        for word in text.split(" "):
            if line and len(line) + 1 + len(word) > chars:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
        if len(out) > lines:  # the rest on the last line, which the mark's limit ends
            out = out[:lines - 1] + [" ".join(out[lines - 1:])]
        return "\n".join(out)

    return sentences.map(lambda text: wrap(text) if isinstance(text, str) else text)


def _as_panel(spec: dict, params: list[dict]) -> dict:
    body = dict(spec)
    datasets = body.pop("datasets", {})
    for key in ("$schema", "config", "params"):
        body.pop(key, None)
    return panel(body, params, datasets)


def lesson_panel_skeletons(
    shape: LessonShape, *, step: int | None = None, width: int = 320, height: int = 280
) -> list[dict]:
    """The lesson figure as two panels with named, empty data, sharing the ``step``
    parameter: the loss curve with the step's sentences under it (a few lines a run, as
    wide as the curve and its axis), and the gradient curve. A pure function of hashable
    facts, to cache; ``fill_lesson_panels`` adds each run's rows."""
    text_width, lines, _ = _sentence_layout(shape.names, width)
    loss_layers, grad_layers, words, param = _lesson_parts(
        alt.NamedData(LESSON_CURVE), alt.NamedData(LESSON_PATH), shape, step, width, height,
        sentence=(text_width, lines))
    left = layer_spec(*loss_layers, title=_LOSS_TITLE, width=width, height=height)
    right = layer_spec(*grad_layers, title=_GRAD_TITLE, width=width, height=height)
    if words is not None:
        # The runs' legend right under the curve, above the sentences.
        left = concat_spec("vconcat", left, words, resolve={"legend": {"color": "independent",
                                                           "shape": "independent"}})
    params = [param.param.to_dict()] if param is not None else []
    under = {"color": LEGEND_BELOW}  # one run a line: long names keep the panel narrow
    return [_as_panel(place_legends(left, under), params),
            _as_panel(place_legends(right, under), params)]


_GRADIENT_COLUMNS = ["run", "order", "step", "w", "loss", "gradient"]


def fill_lesson_panels(
    panels: Sequence[dict], curve: pd.DataFrame, path: pd.DataFrame, *, width: int = 320
) -> list[dict]:
    """``panels`` (``lesson_panel_skeletons`` built with this ``width``) with these rows
    (``lesson_frames``' two tables): the loss panel gets the iterates with their sentences,
    broken into lines as wide as the panel; the gradient panel only the columns it draws."""
    loss, gradient = ({LESSON_CURVE: curve}, {LESSON_CURVE: curve})
    if len(path):
        _, lines, chars = _sentence_layout(list(dict.fromkeys(path["run"])), width)
        loss[LESSON_PATH] = path.assign(sentence=_wrapped(path["sentence"], chars, lines))
        gradient[LESSON_PATH] = path[[c for c in _GRADIENT_COLUMNS if c in path]]
    left, right = panels
    return [{**left, "datasets": {**left.get("datasets", {}), **loss}},
            {**right, "datasets": {**right.get("datasets", {}), **gradient}}]


def lesson_panels(
    surface: Surface,
    history: History | Sequence[Run] | None = None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
    as_frames: bool = False,
) -> list[dict]:
    """``lesson_figure``'s figure as two specs sharing the step: the loss curve (with the
    path, the tangent and what the gradient says at the step, under it) and the gradient
    curve. Drawn side by side on a desktop and one above the other on a phone; their step
    becomes one input outside the charts with ``charts.shared_controls``. ``as_frames``
    leaves the rows as DataFrames (what ``st.vega_lite_chart`` sends as Arrow)."""
    curve, path = lesson_frames(surface, history, w_range=w_range, n_points=n_points)
    skeletons = lesson_panel_skeletons(lesson_shape(path), step=step, width=width,
                                       height=height)
    filled = fill_lesson_panels(skeletons, curve, path, width=width)
    if as_frames:
        return filled
    return [{**spec, "datasets": {name: records(rows) if isinstance(rows, pd.DataFrame)
                                  else rows for name, rows in spec["datasets"].items()}}
            for spec in filled]
