"""Sizes a learner controls, capped once for the whole project.

Every cap that more than one module enforces lives here, so a widget, a link, a chart and the
maths that runs behind them can never disagree on it. Caps that only one module knows about
(grid resolution in ``grids``, steps in ``descent``, network size in ``nn``) stay beside the
code they protect.
"""

from __future__ import annotations

__all__ = ["MAX_FORMULA_CHARS", "MAX_ROWS", "MAX_RUNS"]

MAX_RUNS = 8
"""Optimisers drawn side by side: the colour, dash and marker palettes have eight entries."""

MAX_ROWS = 100_000
"""Data rows of a regression surface, generated or uploaded."""

MAX_FORMULA_CHARS = 200
"""The longest typed formula, and the longest value a link may carry."""
