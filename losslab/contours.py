"""Contour lines of a grid, computed by contourpy, as a small table of vertices for a chart.

Levels are spaced so that ravines and minima show, not only the steep walls:

    log:       level_k = vmin + c·(exp(t_k · log(1 + (vmax − vmin)/c)) − 1),  t_k = k/(n + 1),
               c = LOG_OFFSET·(vmax − vmin) — evenly spaced on the raster's log colour scale,
               so each line marks one equal step of colour;
    quantile:  level_k = the (k/(n + 1))-quantile of the finite values — each band between
               neighbouring lines holds the same share of the window;
    linear:    level_k = vmin + (vmax − vmin)·k/(n + 1).

Levels are rounded to three significant figures so tooltips read cleanly. NaN cells are
masked: no line crosses a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import contourpy
import numpy as np
import pandas as pd

from losslab.grids import Grid
from losslab.raster import LOG_OFFSET

Array = np.ndarray

__all__ = [
    "CONTOUR_COLUMNS",
    "MAX_CONTOUR_ROWS",
    "MAX_LEVELS",
    "SPACINGS",
    "contour_levels",
    "contour_lines",
]

MAX_CONTOUR_ROWS = 4000
"""The most vertices a contour table may hold; longer lines are thinned, tiny ones dropped."""
MAX_LEVELS = 40
"""The most contour levels; larger requests are capped."""
SPACINGS: tuple[str, ...] = ("log", "quantile", "linear")
CONTOUR_COLUMNS = ("level", "line", "order", "w1", "w2")


def _round3(x: float) -> float:
    return float(f"{x:.3g}")


def contour_levels(values: Array, count: int = 10, spacing: str = "log") -> Array:
    """``count`` contour levels for ``values`` (NaN ignored), strictly between min and max.

    ``count`` is clamped to ``[1, MAX_LEVELS]``; see the module docstring for the spacings.
    Returns an increasing array, empty when the values are flat or hold nothing finite.
    """
    if spacing not in SPACINGS:
        raise ValueError(f"unknown level spacing {spacing!r}; choose one of: {', '.join(SPACINGS)}")
    if not math.isfinite(float(count)):
        raise ValueError(f"count must be a finite number; got {count!r}")
    n = int(min(max(round(float(count)), 1), MAX_LEVELS))
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.empty(0)
    vmin, vmax = float(finite.min()), float(finite.max())
    span = vmax - vmin
    if not (span > 0 and math.isfinite(span)):
        return np.empty(0)
    t = np.arange(1, n + 1) / (n + 1)
    if spacing == "log":
        offset = LOG_OFFSET * span
        raw = vmin + offset * np.expm1(t * math.log1p(span / offset))
    elif spacing == "quantile":
        raw = np.quantile(finite, t)
    else:
        raw = vmin + span * t
    levels = np.unique([_round3(v) for v in raw])
    return levels[(levels > vmin) & (levels < vmax)]


def _lines_at(generator: contourpy.ContourGenerator, levels: Array) -> tuple[Array, ...]:
    """All vertices (n, 2) with each one's level and line id, lines numbered from 0."""
    points, level_of, line_of, first_line = [], [], [], 0
    for level in levels:
        chunk_points, chunk_offsets = generator.lines(level)
        for pts, offsets in zip(chunk_points, chunk_offsets, strict=True):
            if pts is None:
                continue
            counts = np.diff(offsets.astype(np.int64))
            points.append(np.asarray(pts, dtype=float))
            level_of.append(np.full(len(pts), float(level)))
            line_of.append(np.repeat(np.arange(first_line, first_line + len(counts)), counts))
            first_line += len(counts)
    if not points:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.int64)
    return np.concatenate(points), np.concatenate(level_of), np.concatenate(line_of)


def _positions(line_of: Array) -> tuple[Array, Array]:
    """Each vertex's position along its line, and its line's vertex count."""
    starts = np.flatnonzero(np.r_[True, line_of[1:] != line_of[:-1]])
    counts = np.diff(np.r_[starts, len(line_of)])
    order = np.arange(len(line_of)) - np.repeat(starts, counts)
    return order, np.repeat(counts, counts)


def _thin_mask(order: Array, count: Array, stride: int) -> Array:
    """Every ``stride``-th vertex of each line, always with its last (closed loops stay closed)."""
    return (order % stride == 0) | (order == count - 1)


def _budget_mask(points: Array, line_of: Array, max_rows: int) -> Array:
    """Which vertices to keep: lines thinned evenly, then the shortest lines dropped if need be."""
    order, count = _positions(line_of)
    stride, longest = 1, int(count.max(initial=0))
    keep = np.ones(len(points), dtype=bool)
    while keep.sum() > max_rows and stride < longest:
        stride = max(stride + 1, math.ceil(stride * keep.sum() / max_rows))
        keep = _thin_mask(order, count, stride)
    if keep.sum() <= max_rows:
        return keep
    # Still too many (a rough surface makes many tiny lines): keep the longest lines.
    ids, first = np.unique(line_of, return_index=True)
    steps = np.hypot(*np.diff(points, axis=0).T) * (line_of[1:] == line_of[:-1])
    arc = np.add.reduceat(np.r_[steps, 0.0], first)
    rows = np.bincount(line_of[keep], minlength=int(ids.max()) + 1)[ids]
    by_length = np.argsort(-arc, kind="stable")
    chosen = ids[by_length[np.cumsum(rows[by_length]) <= max_rows]]
    return keep & np.isin(line_of, chosen)


def contour_lines(
    grid: Grid,
    levels: int | Sequence[float] = 10,
    *,
    spacing: str = "log",
    max_rows: int = MAX_CONTOUR_ROWS,
) -> pd.DataFrame:
    """Contour lines of ``grid`` as rows ``(level, line, order, w1, w2)``.

    ``levels`` is a count (spaced by ``spacing``) or explicit level values (non-finite ones
    are dropped). Each line has its own ``line`` id and its vertices run in ``order``; a
    closed line repeats its first vertex at the end. Lines are thinned evenly, and if need be
    the shortest dropped, so that the table has at most ``max_rows`` rows (capped at
    ``MAX_CONTOUR_ROWS``). Every number in the table is finite.
    """
    max_rows = int(min(max(int(max_rows), 2), MAX_CONTOUR_ROWS))
    if isinstance(levels, (int, np.integer)):
        chosen = contour_levels(grid.values, int(levels), spacing)
    else:
        chosen = np.unique(np.asarray(levels, dtype=float))
        chosen = chosen[np.isfinite(chosen)][:MAX_LEVELS]
    points, level_of, line_of = np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.int64)
    if chosen.size and grid.mask.any():
        generator = contourpy.contour_generator(
            grid.w1, grid.w2, np.ma.masked_invalid(grid.values), line_type="ChunkCombinedOffset"
        )
        points, level_of, line_of = _lines_at(generator, chosen)
    if len(points):
        keep = _budget_mask(points, line_of, max_rows)
        points, level_of, line_of = points[keep], level_of[keep], line_of[keep]
    # Renumber lines 0, 1, … and vertices 0, 1, … along each kept line.
    line_ids = np.unique(line_of, return_inverse=True)[1].astype(np.int64)
    order = _positions(line_of)[0] if len(line_of) else np.empty(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "level": level_of.astype(float),
            "line": line_ids,
            "order": order.astype(np.int64),
            "w1": points[:, 0],
            "w2": points[:, 1],
        },
        columns=list(CONTOUR_COLUMNS),
    )
