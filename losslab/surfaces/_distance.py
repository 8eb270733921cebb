"""How far an optimiser's iterates are from the surface's declared minimisers."""

from __future__ import annotations

import numpy as np

from losslab.surfaces._base import Array, Surface

__all__ = ["nearest_minimum_distance"]


def nearest_minimum_distance(surface: Surface, params_path: Array) -> Array | None:
    """Euclidean distance from each iterate to the nearest declared minimiser.

    ``params_path`` has shape ``(n, dim)`` (``History.params``); the result has shape ``(n,)``.
    Returns ``None`` when the surface declares no minimiser. Raises ``ValueError`` for a path
    of the wrong shape or with non-finite coordinates, so the result is always finite.
    """
    path = np.asarray(params_path, dtype=float)
    if path.ndim != 2 or path.shape[1] != surface.dim:
        raise ValueError(
            f"params_path must have shape (n, {surface.dim}) for {surface.name}; "
            f"got shape {path.shape}"
        )
    if not np.all(np.isfinite(path)):
        row = int(np.flatnonzero(~np.all(np.isfinite(path), axis=1))[0])
        raise ValueError(f"params_path row {row} is not finite: {path[row].tolist()}")
    if not surface.minimizers:
        return None
    minima = np.asarray(surface.minimizers, dtype=float)  # (m, dim)
    # Scale before squaring so that huge but finite coordinates cannot overflow to inf.
    offsets = path[:, np.newaxis, :] - minima[np.newaxis, :, :]
    scale = np.max(np.abs(offsets), axis=2, keepdims=True)
    safe = np.where(scale > 0, scale, 1.0)
    lengths = scale[..., 0] * np.sqrt(np.sum((offsets / safe) ** 2, axis=2))
    return np.min(lengths, axis=1)
