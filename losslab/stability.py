"""When does plain gradient descent converge? Curvature versus learning rate.

On a quadratic with curvature λ (the Hessian's eigenvalue along a direction), one gradient
step multiplies the distance to the minimum along that direction by (1 − lr·λ). So descent

- creeps monotonically when 0 < lr < 1/λ,
- oscillates but converges when 1/λ < lr < 2/λ,
- diverges when lr > 2/λ (the factor's magnitude exceeds 1).

Away from quadratics the same rule holds locally with λ the largest Hessian eigenvalue.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from losslab.surfaces import Surface

__all__ = ["Regime", "largest_curvature", "gd_bound", "regime"]

Regime = Literal["monotone", "oscillating", "borderline", "diverging", "any"]


def largest_curvature(surface: Surface, at: Sequence[float]) -> float:
    """λmax: the largest eigenvalue of the Hessian at ``at`` (negative on a concave spot)."""
    h = surface.hessian(np.asarray(at, dtype=float).reshape(surface.dim))
    return float(np.linalg.eigvalsh(h.reshape(surface.dim, surface.dim)).max())


def gd_bound(curvature: float) -> float:
    """The largest stable learning rate 2/λ; infinite when λ ≤ 0 (no curvature to overshoot)."""
    return 2.0 / curvature if curvature > 0 else math.inf


def regime(learning_rate: float, curvature: float) -> Regime:
    """How plain gradient descent with ``learning_rate`` behaves at curvature ``curvature``."""
    if curvature <= 0:
        return "any"
    q = learning_rate * curvature
    if math.isclose(q, 2.0, rel_tol=1e-9):
        return "borderline"
    if q > 2.0:
        return "diverging"
    return "oscillating" if q > 1.0 else "monotone"
