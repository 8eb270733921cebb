"""Pieces every chart builder shares: the browser-side step parameter, the palette, and the
thinning of long runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np

from losslab.descent import MAX_STEPS
from losslab.thinning import thin_steps

Array = np.ndarray

__all__ = [
    "DASHES",
    "PALETTE",
    "RUN",
    "SADDLE",
    "SHAPES",
    "STAR",
    "STEP",
    "compact",
    "current_filter",
    "run_field",
    "run_legend",
    "step_param",
    "thin_steps",
    "until",
]

STEP = "step"
"""Name of the Vega-Lite parameter holding the step a learner is looking at."""

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
# Each path also gets its own dash and marker so it reads in greyscale.
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3], [10, 2], [3, 6]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "wedge", "stroke"]
# Landmarks of a surface, the same on the map and in 3-D: a five-pointed star at a minimum
# (in the [-1, 1] box Vega expects of custom symbol shapes), a diagonal cross at a saddle.
STAR = "M" + " L".join(
    f"{r * math.sin(k * math.pi / 5):.3f} {-r * math.cos(k * math.pi / 5):.3f}"
    for k, r in zip(range(10), [1.0, 0.42] * 5, strict=True)
) + " Z"
SADDLE = {"shape": "cross", "angle": 45}


def step_param(last_step: int, value: int | None = None) -> alt.Parameter:
    """A ``step`` parameter bound to a range input: scrubbing it repaints in the browser only."""
    last_step = max(int(last_step), 0)
    start = last_step if value is None else min(max(int(value), 0), last_step)
    return alt.param(
        name=STEP,
        value=start,
        bind=alt.binding_range(min=0, max=max(last_step, 1), step=1, name="Step "),
    )


RUN = "run"
"""Column holding each run's key ("1", "2", …) beside its name (column ``optimizer``)."""


def run_field(names: Sequence[str], labels_from: str | None) -> tuple[str, list[str]]:
    """The field colour, dash and marker follow, and its domain: the runs' keys when the legend
    reads its labels from the dataset ``labels_from``, else the names themselves."""
    if labels_from is None:
        return "optimizer", list(names)
    return RUN, [str(i + 1) for i in range(len(names))]


def run_legend(title: str | None, labels_from: str | None, **props: object) -> alt.Legend:
    """The runs' legend. With ``labels_from`` (a named dataset with ``run`` and ``optimizer``
    columns) each label is looked up in those rows in the browser: a run's name can change
    (it says "diverged at step 3", or gives the learning rate) while the spec stays the same,
    and the browser then swaps rows instead of rebuilding the chart."""
    if labels_from is None:
        return alt.Legend(title=title, **props)
    rows = f"data('{labels_from}')"
    at = f"indexof(pluck({rows}, '{RUN}'), datum.value)"
    return alt.Legend(title=title, labelExpr=f"{at} < 0 ? datum.value : {rows}[{at}].optimizer",
                      **props)


# ---------------------------------------------------------------------------- thinning
# Long runs are thinned before drawing: a kept step stands for the steps after it until the
# next kept step, so each row carries ``step`` and ``until`` and the current row is the one
# with ``step <= current < until``.


def until(kept: Array, n: int, *, hold_last: bool = False) -> Array:
    """For each kept step, the first step it no longer stands for.

    The last row stands for the steps up to ``n - 1``, or with ``hold_last`` for every step a
    step parameter can reach (``MAX_STEPS``).
    """
    return np.append(kept[1:], max(n, MAX_STEPS + 1) if hold_last else n)


def current_filter(step: alt.Parameter) -> str:
    """The Vega expression true for the row that stands for the step on screen."""
    return f"datum.step <= {step.name} && {step.name} < datum.until"


def compact(values: Array) -> list[float | None]:
    """Six significant digits (the browser needs no more), ``None`` where not finite."""
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values.tolist()]
