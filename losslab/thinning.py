"""Thinning a long run for drawing: keep few rows, never lose a large jump.

Pure NumPy, shared by the charts and by ``losslab.whatif``: a browser redraws every row of a
path on every move, so paths arrive thinned, and the numbers said in words come from the full
run.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray

__all__ = ["thin_steps"]


def thin_steps(points: Array, max_points: int) -> Array:
    """Indices of at most ``max_points`` rows of ``points`` (shape ``(n, k)``) to draw.

    All rows are kept when ``n <= max_points``. Otherwise the polyline through the rows is cut
    into ``max_points - 1`` equal lengths and the first row of each piece is kept, plus the last
    row. A dropped row then lies within ``length / (max_points - 1)`` (Euclidean) of the kept
    row before it, so a long still tail costs nothing and every large jump is kept.
    """
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    # An undefined coordinate adds no length (its row is drawn, or not, by the caller).
    points = np.nan_to_num(points, nan=0.0, posinf=0.0, neginf=0.0)
    n = len(points)
    max_points = max(int(max_points), 3)
    if n <= max_points:
        return np.arange(n)
    walked = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if walked[-1] <= 0.0:
        return np.array([0, n - 1])
    piece = np.minimum(np.floor(walked / (walked[-1] / (max_points - 1))), max_points - 2)
    first = np.flatnonzero(np.diff(piece, prepend=-1.0) > 0)
    return np.union1d(first, [n - 1])
