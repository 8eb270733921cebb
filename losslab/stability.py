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

__all__ = ["RATE_LADDER", "Regime", "largest_curvature", "gd_bound", "regime", "steady_rate"]

# Learning rates a learner picks from: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade, 1e-4 to 10.
_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
RATE_LADDER = tuple(float(f"{m}e{k}") for k in range(-4, 1) for m in _MANTISSAS) + (10.0,)

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


STEADY = 0.8
"""``steady_rate`` keeps lr·λmax at most this: a creep without overshoot, but not lr = 1/λ
exactly, which would jump to the bottom of the steepest direction in one step."""


def steady_rate(surface: Surface, at: Sequence[float]) -> float | None:
    """The largest ``RATE_LADDER`` rate at most ``STEADY``/λmax at ``at``: plain gradient
    descent from there creeps without overshooting (the smallest rung if even that is too
    large). ``None`` where the surface does not curve up (λmax ≤ 0) or its curvature is not
    finite."""
    try:
        curvature = largest_curvature(surface, at)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    if not math.isfinite(curvature) or curvature <= 0:
        return None
    return max([r for r in RATE_LADDER if r * curvature <= STEADY] or [RATE_LADDER[0]])
