"""Minimisers of the data-driven surfaces, found once when a surface is built.

The objectives are convex: ``F(w, b) = S(w, b) + l1·|w|`` with ``S`` the mean data loss plus
``l2·w²``. Each function returns a point only when it has a certificate that it is a global
minimiser (the optimality conditions hold to rounding); otherwise ``None``, and the surface
then declares no minimiser rather than a doubtful one.

- squared error: closed form (ridge, with a soft threshold for ``l1``);
- absolute error: ``b`` is the median of ``yᵢ − w·xᵢ`` for each ``w``, and the resulting
  profile in ``w`` (convex) is minimised by golden-section search down to rounding;
- Huber and cross-entropy (smooth ``S``): damped Newton iterations; with ``l1 > 0`` the sign of
  ``w*`` is decided first from the optimality conditions at ``w = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from losslab.surfaces._base import Array
from losslab.surfaces._rowwise import MseStats

__all__ = ["lad_minimiser", "mse_minimiser", "smooth_l1_minimiser"]

Fn = Callable[[Array], Array]

_TIGHT = 1e-13
"""Newton stops once the gradient is this small relative to where it started."""
_LOOSE = 1e-8
"""A stalled Newton run still counts as converged below this relative gradient."""
_FAR = 1e8
"""An iterate this large means the minimum is at infinity (for example separable classes)."""
_ROUNDING = 64.0
"""How many rounding errors of the gradient's own evaluation still count as zero (see
``_attainable``)."""


def mse_minimiser(s: MseStats, l1: float, l2: float) -> tuple[float, float] | None:
    """argmin of ``mse + l1·|w| + l2·w²``, or ``None`` when it is not unique.

    ``b`` is free, so ``b* = ȳ − w*·x̄`` (mean residual 0); the profile in ``w`` is
    ``(sxx/n)(w − slope)² + l2·w² + l1·|w|``, minimised by the soft threshold
    ``w* = sign(z)·max(|z| − l1, 0) / (2·sxx/n + 2·l2)`` with ``z = 2·sxx·slope/n``.
    """
    curvature = 2.0 * s.sxx / s.n + 2.0 * l2
    pull = 2.0 * s.sxx * s.slope / s.n
    if curvature > 0:
        w = math.copysign(max(abs(pull) - l1, 0.0), pull) / curvature
    elif l1 > 0:
        w = 0.0  # constant x and no ridge: the profile is const + l1·|w|
    else:
        return None  # constant x: every w with b = ȳ − w·x̄ fits equally well
    return (w, s.y_mean - w * s.x_mean)


def lad_minimiser(x: Array, y: Array, l1: float, l2: float) -> tuple[float, float] | None:
    """A minimiser of ``(1/n) Σ|w·xᵢ + b − yᵢ| + l1·|w| + l2·w²`` (one of them if not unique).

    For fixed ``w`` the best ``b`` is a median of ``rᵢ = yᵢ − w·xᵢ``, so
    ``g(w) = mean|r − median(r)| + l1|w| + l2w²`` is the (convex) profile; it is bracketed by
    doubling steps and then narrowed by golden-section search until the bracket is at rounding
    level. ``None`` for constant ``x`` (the profile is then flat or not coercive).
    """
    if np.ptp(x) == 0:
        return None

    def profile(w: float) -> float:
        r = y - w * x
        return float(np.mean(np.abs(r - np.median(r)))) + l1 * abs(w) + l2 * w * w

    xc = x - x.mean()
    start = float(xc @ (y - y.mean()) / (xc @ xc))
    step = 1.0 + abs(start)
    lo, mid, hi = start - step, start, start + step
    f_lo, f_mid, f_hi = profile(lo), profile(mid), profile(hi)
    for _ in range(200):
        if f_lo < f_mid:
            hi, f_hi, mid, f_mid = mid, f_mid, lo, f_lo
            step *= 2.0
            lo = mid - step
            f_lo = profile(lo)
        elif f_hi < f_mid:
            lo, f_lo, mid, f_mid = mid, f_mid, hi, f_hi
            step *= 2.0
            hi = mid + step
            f_hi = profile(hi)
        else:
            break
    else:
        return None

    shrink = (math.sqrt(5.0) - 1.0) / 2.0
    a, c = lo, hi
    x1, x2 = c - shrink * (c - a), a + shrink * (c - a)
    f1, f2 = profile(x1), profile(x2)
    for _ in range(300):
        if c - a <= 4.0 * np.finfo(float).eps * (1.0 + abs(x1)):
            break
        if f1 <= f2:  # convexity: a minimiser lies in [a, x2]
            c, x2, f2 = x2, x1, f1
            x1 = c - shrink * (c - a)
            f1 = profile(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + shrink * (c - a)
            f2 = profile(x2)
    w = x1 if f1 <= f2 else x2
    return (w, float(np.median(y - w * x)))


def _attainable(h: Array, p: Array) -> Array:
    """The smallest gradient, per coordinate, that double precision can resolve at ``p``.

    Rounding ``p`` to doubles moves it by up to ε·|p| per coordinate, which moves the gradient
    by up to ``|H|·ε|p|``: with rows far from the origin (x ≈ 10⁴) that is about 10⁻⁷ even at
    the exact minimiser, so a fixed threshold near 10⁻⁸ could never be met there.
    """
    return _ROUNDING * np.finfo(float).eps * (np.abs(h) @ np.abs(p))


def _newton(value: Fn, grad: Fn, hessian: Fn, start: Array) -> Array | None:
    """Damped Newton on a smooth convex function; the point where the gradient vanishes, or None.

    Steps solve ``(H + εI)·d = −g`` (ε tiny, for a singular H) and are halved until the
    Armijo condition holds; a step that is not a descent direction falls back to ``−g``.
    The gradient counts as vanished when each coordinate is within ``_TIGHT`` of its starting
    size or within what rounding allows at that point (``_attainable``), whichever is larger;
    also, within ``_LOOSE``, once a step no longer halves it (its rounding noise is reached).
    """
    p = np.array(start, dtype=float)
    f, g = float(value(p)), grad(p)
    scale = 1.0 + float(np.max(np.abs(g)))

    def vanished(p: Array, g: Array, h: Array, relative: float) -> bool:
        return bool(np.all(np.abs(g) <= np.maximum(relative * scale, _attainable(h, p))))

    previous = np.inf
    for _ in range(200):
        h = hessian(p)
        if vanished(p, g, h, _TIGHT):
            return p
        size = float(np.max(np.abs(g)))
        if size > 0.5 * previous and vanished(p, g, h, _LOOSE):
            # Newton halves the gradient at least once it converges: a step that did not is
            # at the noise of the gradient's own sum over the rows (logistic rows stop near
            # 1e-12), where more steps cannot improve the point (they ran to the limit).
            return p
        previous = size
        ridge = 1e-12 * (1.0 + abs(float(np.trace(h))))
        try:
            d = np.linalg.solve(h + ridge * np.eye(p.size), -g)
        except np.linalg.LinAlgError:
            d = -g
        if not (np.all(np.isfinite(d)) and float(d @ g) < 0):
            d = -g
        t, slope = 1.0, float(d @ g)
        while True:
            q = p + t * d
            fq = float(value(q))
            if fq <= f + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:  # no decrease left at this precision
                return p if vanished(p, g, h, _LOOSE) else None
        p, f, g = q, fq, grad(q)
        if np.max(np.abs(p)) > _FAR:
            return None
    return p if vanished(p, g, hessian(p), _LOOSE) else None


def smooth_l1_minimiser(
    value: Fn, grad: Fn, hessian: Fn, l1: float, start: Array
) -> tuple[float, float] | None:
    """argmin of ``F = S + l1·|w|`` for smooth convex ``S`` given as value/grad/Hessian on (2,).

    With ``l1 = 0``: Newton on ``S``. Otherwise ``b0 = argmin_b S(0, b)`` first; if
    ``|∂S/∂w(0, b0)| ≤ l1`` then ``(0, b0)`` satisfies the optimality conditions of ``F`` and is
    its minimiser. Else the sign of ``w*`` is that of ``−∂S/∂w(0, b0)`` (F decreases that way
    from the best point on ``w = 0``), so ``w*`` minimises the smooth ``S + l1·sign·w``.
    """
    if l1 == 0.0:
        found = _newton(value, grad, hessian, start)
        return None if found is None else (float(found[0]), float(found[1]))

    def along_b(fn: Fn, index: tuple | slice) -> Fn:
        """``fn`` restricted to the line w = 0, as a function of ``(b,)``."""
        return lambda b: np.asarray(fn(np.array([0.0, b[0]])))[index]

    b0 = _newton(
        along_b(value, ()),
        along_b(grad, np.s_[1:]),
        along_b(hessian, np.s_[1:, 1:]),
        np.array([start[1]]),
    )
    if b0 is None:
        return None
    slope = float(grad(np.array([0.0, b0[0]]))[0])
    if abs(slope) <= l1:
        return (0.0, float(b0[0]))
    sign = -math.copysign(1.0, slope)
    tilt = np.array([sign * l1, 0.0])
    found = _newton(lambda p: value(p) + sign * l1 * p[0], lambda p: grad(p) + tilt, hessian, start)
    if found is None or sign * found[0] <= 0:
        return None
    return (float(found[0]), float(found[1]))
