"""The opening lesson: a one-weight loss curve and its gradient, side by side, with the path.

Reproduces the course chapter's figure (loss surface left; gradient with a dashed zero line
right) and adds what the chapter only describes: the iterates of gradient descent on both
curves and, at the step the learner selects, the tangent line whose slope is the gradient.
The step is a browser-side parameter, so scrubbing never reruns Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from losslab.charts._common import PALETTE, STEP, step_param
from losslab.descent import History
from losslab.surfaces import Surface

__all__ = ["MAX_DRAWN_STEPS", "lesson_figure", "lesson_frames", "step_sentence"]

MAX_DRAWN_STEPS = 600
"""Longer runs are thinned to this many evenly spaced iterates (plus the last) for drawing."""

LOSS_COLOR = PALETTE[0]
GRAD_COLOR = PALETTE[1]
PATH_COLOR = PALETTE[3]


def step_sentence(w: float, gradient: float, *, label: str = "w", flat: float = 1e-4) -> str:
    """Plain words for one step: which way the gradient says to move the weight.

    A gradient smaller than ``flat`` in magnitude counts as zero: the bottom is reached.
    """
    if abs(gradient) < flat:
        move = f"practically zero, so {label} stays: this is the bottom"
    elif gradient > 0:
        move = "positive, so the step decreases " + label
    else:
        move = "negative, so the step increases " + label
    return f"the gradient at {label} = {w:.3g} is {gradient:.3g}: {move}"


def _drawn_steps(n: int) -> np.ndarray:
    if n <= MAX_DRAWN_STEPS:
        return np.arange(n)
    picked = np.linspace(0, n - 1, MAX_DRAWN_STEPS).round().astype(int)
    return np.unique(picked)


def lesson_frames(
    surface: Surface,
    history: History | None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables the lesson figure draws: the curves and the iterates.

    The curve spans ``w_range`` with ``n_points`` points, widened to take in every iterate so a
    run that leaves the window is still seen. All values are finite (runs stop before inf).
    """
    if surface.dim != 1:
        raise ValueError(f"the lesson figure shows one-weight surfaces; {surface.name} has {surface.dim}")
    lo, hi = sorted(float(v) for v in w_range)
    if history is not None and len(history):
        lo = min(lo, float(history.params[:, 0].min()))
        hi = max(hi, float(history.params[:, 0].max()))
    n_points = int(min(max(n_points, 2), 2000))
    w = np.linspace(lo, hi, n_points)
    curve = pd.DataFrame(
        {"w": w, "loss": surface.loss(w[np.newaxis]), "gradient": surface.grad(w[np.newaxis])[0]}
    )

    if history is None or not len(history):
        return curve, pd.DataFrame(columns=["step", "w", "loss", "gradient"])
    keep = _drawn_steps(len(history))
    ws, losses, grads = history.params[keep, 0], history.loss[keep], history.grad[keep, 0]
    # Tangent L(w_t) + g_t (w - w_t), drawn over a tenth of the window each side of w_t.
    half = (hi - lo) / 10.0
    path = pd.DataFrame(
        {
            "step": keep,
            "w": ws,
            "loss": losses,
            "gradient": grads,
            "tangent_w0": ws - half,
            "tangent_w1": ws + half,
            "tangent_l0": losses - grads * half,
            "tangent_l1": losses + grads * half,
            "sentence": [
                f"Step {t}: " + step_sentence(w_, g_) for t, w_, g_ in zip(keep, ws, grads)
            ],
        }
    )
    return curve, path


def lesson_figure(
    surface: Surface,
    history: History | None = None,
    *,
    w_range: Sequence[float] = (-1.0, 3.0),
    n_points: int = 100,
    step: int | None = None,
    width: int = 320,
    height: int = 280,
) -> alt.Chart:
    """Loss curve and gradient curve side by side, with the descent path and the tangent.

    ``step`` picks the iterate whose tangent is drawn at first (default: the last); the learner
    moves it in the browser with the "Step" slider under the figure.
    """
    curve, path = lesson_frames(surface, history, w_range=w_range, n_points=n_points)
    x = alt.X("w:Q", title="Weight w", scale=alt.Scale(nice=False))

    loss_curve = (
        alt.Chart(curve)
        .mark_line(color=LOSS_COLOR, strokeWidth=2.5)
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
        .mark_line(color=GRAD_COLOR, strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y("gradient:Q", title="Gradient dL/dw"),
            tooltip=[alt.Tooltip("w:Q", format=".3f"), alt.Tooltip("gradient:Q", format=".4g")],
        )
    )
    loss_layers: list[alt.Chart] = [loss_curve]
    grad_layers: list[alt.Chart] = [zero, grad_curve]
    param = None
    if len(path):
        last = int(path["step"].iloc[-1])
        param = step_param(last, step)
        upto = alt.datum.step <= param
        current = alt.datum.step == param
        base = alt.Chart(path).encode(x=alt.X("w:Q"))
        tooltip = [
            alt.Tooltip("step:Q"),
            alt.Tooltip("w:Q", format=".4g"),
            alt.Tooltip("loss:Q", format=".4g"),
            alt.Tooltip("gradient:Q", format=".4g"),
        ]
        # Older iterates fade so the direction of travel reads at a glance.
        fade = alt.Opacity(
            "age:Q", scale=alt.Scale(domain=[0, max(last, 1)], range=[1.0, 0.25]), legend=None
        )
        walked = base.transform_filter(upto).transform_calculate(age=f"{STEP} - datum.step")
        loss_layers += [
            walked.mark_line(color=PATH_COLOR, strokeWidth=1.5, opacity=0.7).encode(
                y="loss:Q", order="step:Q"
            ),
            walked.mark_point(color=PATH_COLOR, filled=True, size=45).encode(
                y="loss:Q", opacity=fade, tooltip=tooltip
            ),
            base.transform_filter(current)
            .mark_rule(color="black", strokeWidth=2)
            .encode(x="tangent_w0:Q", x2="tangent_w1:Q", y="tangent_l0:Q", y2="tangent_l1:Q"),
            base.transform_filter(current)
            .mark_point(color="black", size=160, strokeWidth=2.5, shape="circle")
            .encode(y="loss:Q", tooltip=tooltip),
        ]
        grad_layers += [
            walked.mark_point(color=PATH_COLOR, filled=True, size=45).encode(
                y="gradient:Q", opacity=fade, tooltip=tooltip
            ),
            base.transform_filter(current)
            .mark_point(color="black", size=160, strokeWidth=2.5)
            .encode(y="gradient:Q", tooltip=tooltip),
        ]

    left = alt.layer(*loss_layers).properties(
        title="Loss surface", width=width, height=height
    )
    right = alt.layer(*grad_layers).properties(
        title="Gradient of loss w.r.t. w", width=width, height=height
    )
    figure = alt.hconcat(left, right)
    if param is not None:
        sentence = (
            alt.Chart(path)
            .transform_filter(alt.datum.step == param)
            .mark_text(align="left", baseline="top", fontSize=14, dx=4)
            .encode(text="sentence:N", x=alt.value(0), y=alt.value(4))
            .properties(width=2 * width, height=24)
        )
        figure = alt.vconcat(figure, sentence).add_params(param)
    return figure.resolve_scale(color="independent")
