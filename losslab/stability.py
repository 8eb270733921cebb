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
from typing import Literal, NamedTuple

import numpy as np

from losslab.surfaces import Surface

__all__ = [
    "CURVATURE_BOUND",
    "RATE_LADDER",
    "Assessment",
    "Regime",
    "assess",
    "gd_bound",
    "largest_curvature",
    "rate_bound",
    "regime",
    "steady_rate",
]

# Learning rates a learner picks from: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade, 1e-4 to 10.
_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
RATE_LADDER = tuple(float(f"{m}e{k}") for k in range(-4, 1) for m in _MANTISSAS) + (10.0,)

Regime = Literal["monotone", "oscillating", "borderline", "diverging", "any"]


def _curvatures(surface: Surface, at: Sequence[float]) -> np.ndarray:
    """The Hessian's eigenvalues at ``at``, in increasing order."""
    h = surface.hessian(np.asarray(at, dtype=float).reshape(surface.dim))
    return np.linalg.eigvalsh(h.reshape(surface.dim, surface.dim))


def largest_curvature(surface: Surface, at: Sequence[float]) -> float:
    """λmax: the largest eigenvalue of the Hessian at ``at`` (negative on a concave spot)."""
    return float(_curvatures(surface, at).max())


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


CURVATURE_BOUND = ("sgd", "momentum", "nesterov")
"""Optimisers whose largest stable rate the curvature alone sets: plain gradient descent
(lr < 2/λ), heavy-ball momentum (lr < 2(1+β)/λ) and torch's Nesterov (lr < 2(1+β)/((1+2β)λ)).
A rate steady for gradient descent is stable for both momentum variants. The adaptive
optimisers rescale each step by the gradients they have seen, so no such bound holds for them."""


def rate_bound(curvature: float, optimizer: str = "sgd", momentum: float = 0.0) -> float:
    """The largest stable learning rate of ``optimizer`` at curvature ``curvature`` (on a
    quadratic, exactly): 2/λ for ``sgd``, 2(1+β)/λ for ``momentum`` and 2(1+β)/((1+2β)λ) for
    ``nesterov`` with β = ``momentum``; infinite when λ ≤ 0. ``ValueError`` for an optimiser
    without a curvature bound."""
    if optimizer not in CURVATURE_BOUND:
        raise ValueError(f"{optimizer} rescales its steps: no curvature bound applies")
    if curvature <= 0:
        return math.inf
    if optimizer == "momentum":
        return 2.0 * (1.0 + momentum) / curvature
    if optimizer == "nesterov":
        return 2.0 * (1.0 + momentum) / ((1.0 + 2.0 * momentum) * curvature)
    return gd_bound(curvature)


_REGIME_WORDS = {
    "monotone": "creeps straight to the minimum",
    "oscillating": "overshoots and oscillates, but converges",
    "borderline": "bounces between two points for ever",
    "diverging": "overshoots further each step: it diverges",
}
_BENT_WORDS = {  # along the curved-up direction of a start that also curves down
    "monotone": "creeps without overshooting",
    "oscillating": "overshoots and oscillates",
    "borderline": "bounces between two points",
    "diverging": "overshoots further each step",
}


def _g(value: float) -> str:
    return format(value, ".3g")


class Assessment(NamedTuple):
    """How a learning rate meets the curvature where a run starts, in numbers and in words.

    ``bound`` is the largest stable rate for plain gradient descent (2/λmax; infinite where
    the surface does not curve up) and ``regime`` how plain gradient descent behaves at
    ``learning_rate``; ``lines`` says both for a learner (the bound first, then the verdict
    for ``optimizer``) and ``warning`` is whether the run is expected to diverge.
    """

    optimizer: str
    learning_rate: float
    curvature: float
    bound: float
    regime: Regime
    lines: tuple[str, ...]
    warning: bool


def assess(
    surface: Surface, at: Sequence[float], learning_rate: float, optimizer: str = "sgd",
    *, momentum: float = 0.9,
) -> Assessment | None:
    """The stability of ``optimizer`` at ``learning_rate`` from ``at`` on ``surface``: the one
    place the curvature rule is put into words (the sidebar, the views and the lessons read
    it). ``None`` where the loss or the curvature cannot be computed or is not finite."""
    try:
        # Where the loss itself is undefined (log of a negative) no run starts: nothing to judge.
        if not math.isfinite(float(surface.loss(np.asarray(at, dtype=float).reshape(
                surface.dim)))):
            return None
        curvatures = _curvatures(surface, at)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    curvature = float(curvatures.max())
    if not math.isfinite(curvature):
        return None
    bound = gd_bound(curvature)
    kind = regime(learning_rate, curvature)
    # No curvature in any direction: flat, or straight pieces (|w|, absolute error).
    uncurved = bool(np.all(curvatures == 0))
    straight = uncurved and _moving(surface, at)
    lines = [_bound_sentence(surface, curvature, bound, uncurved, straight)]
    # Curved up one way and down another (near a saddle or a ridge): the rate is judged
    # along the way that curves up; the other way no step overshoots, and no minimum is near.
    bent = curvature > 0 and float(curvatures.min()) < 0
    if bent:
        lines[0] += (f" The surface also curves down there (λmin = {_g(float(curvatures.min()))}),"
                     " as near a saddle or ridge: that way no step overshoots, "
                     "and each step pushes the run further away.")
    warning = False
    if optimizer == "sgd" and curvature > 0:
        words = (_BENT_WORDS if bent else _REGIME_WORDS)[kind]
        if kind == "diverging" and surface.dim > 1:  # λmax is local: the path may reach
            words = ("overshoots further each step here: it diverges unless it reaches "
                     "flatter ground")
        along = "along the direction that curves up, " if bent else ""
        lines.append(f"lr = {learning_rate:g}: {along}gradient descent {words}.")
        warning = kind == "diverging"
    elif optimizer in ("momentum", "nesterov") and curvature > 0:
        limit = rate_bound(curvature, optimizer, momentum)
        rule = "2(1+β)/λmax" if optimizer == "momentum" else "2(1+β)/((1+2β)λmax)"
        warning = learning_rate > limit
        verdict = "diverges" if warning else "stays stable"
        if warning and surface.dim > 1:  # as for gradient descent: λmax is local
            verdict = "overshoots here: it diverges unless it reaches flatter ground"
        name = "momentum" if optimizer == "momentum" else "Nesterov momentum"
        lines.append(f"With {name} (β = {momentum:g}) the bound is {rule} = {_g(limit)}: "
                     f"at lr = {learning_rate:g} it {verdict}.")
    elif curvature > 0:
        lines.append("(The bound is for plain gradient descent; other optimisers rescale "
                     "their steps.)")
    return Assessment(optimizer, float(learning_rate), curvature, bound, kind, tuple(lines),
                      warning)


def _moving(surface: Surface, at: Sequence[float]) -> bool:
    """Whether the gradient at ``at`` moves the weights."""
    try:
        grad = np.asarray(surface.grad(np.asarray(at, dtype=float).reshape(surface.dim)))
    except (ValueError, ArithmeticError):
        return False
    return bool(np.all(np.isfinite(grad)) and np.any(grad != 0))


def _bound_sentence(surface: Surface, curvature: float, bound: float, uncurved: bool,
                    straight: bool) -> str:
    """The curvature rule at the start in words; ``uncurved``: the Hessian is 0, and
    ``straight``: with a slope there (straight pieces, not a flat loss)."""
    if surface.dim == 1:
        second, stable, monotone = surface.bound_formulas or ("", "", "")

        def named(symbol: str) -> str:
            return f" = {symbol}" if symbol else ""

        if straight:  # |w|, absolute error: a slope that never shrinks
            return ("L''(w) = 0 here: the loss is a straight slope around w, so curvature sets "
                    "no bound on the learning rate; each step moves w by lr × |slope| however "
                    "near the minimum, so it can jump past a kink.")
        if curvature == 0:
            return (f"L''(w){named(second)} = 0 here: the loss is flat, so gradient descent "
                    "does not move w and no learning rate overshoots.")
        if curvature < 0:
            return (f"L''(w) = {_g(curvature)} here: the loss curves down, so no step "
                    "overshoots here; where it curves up, the curvature there sets the bound.")
        return (f"L''(w){named(second)} = {_g(curvature)}, so gradient descent converges only "
                f"for lr < 2/L''{named(stable)} = {_g(bound)}; above "
                f"1/L''{named(monotone)} = {_g(bound / 2)} it oscillates.")
    if straight:  # absolute error: flat facets meeting at creases
        return ("λmax = 0 at the start: the surface does not curve there (it is made of flat "
                "pieces), so curvature sets no bound on the learning rate; a fixed step can "
                "still jump past a crease.")
    if uncurved:
        return ("λmax = 0 at the start: the surface is flat there, so gradient descent does "
                "not move and no learning rate overshoots.")
    if curvature <= 0:
        return (f"λmax = {_g(curvature)} at the start: the surface curves down there, so no "
                "step overshoots here; where the run meets ground that curves up, its "
                "curvature sets the bound.")
    return (f"At the start the largest curvature is λmax = {_g(curvature)}: plain gradient "
            f"descent is stable for lr < 2/λmax = {_g(bound)}.")
