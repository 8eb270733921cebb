"""Pieces every chart builder shares: the browser-side step parameter and the palette."""

from __future__ import annotations

import altair as alt

__all__ = ["PALETTE", "DASHES", "SHAPES", "step_param", "STEP"]

STEP = "step"
"""Name of the Vega-Lite parameter holding the step a learner is looking at."""

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
# Each path also gets its own dash and marker so it reads in greyscale.
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3], [10, 2], [3, 6]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "wedge", "stroke"]


def step_param(last_step: int, value: int | None = None) -> alt.Parameter:
    """A ``step`` parameter bound to a range input: scrubbing it repaints in the browser only."""
    last_step = max(int(last_step), 0)
    start = last_step if value is None else min(max(int(value), 0), last_step)
    return alt.param(
        name=STEP,
        value=start,
        bind=alt.binding_range(min=0, max=max(last_step, 1), step=1, name="Step "),
    )
