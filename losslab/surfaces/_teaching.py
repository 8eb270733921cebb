"""Surfaces made to show one behaviour of an optimiser each: a saddle, a ravine, a plateau."""

from __future__ import annotations

import math

import numpy as np

from losslab.surfaces._base import Array, Surface
from losslab.surfaces._checks import check_number
from losslab.surfaces._opening import same_start
from losslab.surfaces._parts import AXES_W1_W2, fmt, stack_grad, stack_hessian

__all__ = ["MAX_CONDITION", "plateau", "ravine", "saddle"]

MAX_CONDITION = 1000.0
"""The largest condition number a ravine may have: beyond it no learning rate shows anything."""


def saddle() -> Surface:
    """A saddle between two minima, ``f = w1² − 2w2² + w2⁴``.

    Gradient ``(2w1, −4w2 + 4w2³)``; Hessian ``diag(2, −4 + 12w2²)``. At the origin the
    gradient vanishes and the Hessian is ``diag(2, −4)``: a strict saddle, attracting along
    w1 and repelling along w2. The plain saddle ``w1² − w2²`` has no minimum, so every run that
    escapes it diverges; the quartic ``w2⁴`` bends the falling direction back up, so escaping
    runs end in one of two equal minima, −1 at (0, ±1). Gradient descent started on the line
    w2 = 0 converges to the saddle and stays; started a hair off it, it lingers near the
    saddle for many steps before the tiny w2 grows; momentum or gradient noise escapes sooner.
    """

    def loss(p: Array) -> Array:
        x, y = p
        return x**2 - 2 * y**2 + y**4

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, 2 * x, -4 * y + 4 * y**3)

    def hessian(p: Array) -> Array:
        return stack_hessian(p, 2.0, 0.0, -4 + 12 * p[1] ** 2)

    return Surface(
        name="saddle",
        title="Saddle point",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-2.0, 2.0), (-2.0, 2.0)),
        minimizers=((0.0, -1.0), (0.0, 1.0)),
        optimal_value=-1.0,
        saddles=((0.0, 0.0),),
        latex=r"L(w_1,w_2) = w_1^2 - 2w_2^2 + w_2^4",
        teaches="At a saddle the gradient vanishes without a minimum: gradient descent started "
        "near the line w2 = 0 stalls there, while momentum or noise escapes to a minimum.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (-1.5, 0.0001), 150,
            "Started a hair off the line w2 = 0, gradient descent slides into the saddle and "
            "lingers there; momentum at the same rate escapes to the minimum at (0, 1).",
            ("sgd", 0.01), ("momentum", 0.01),
        ),
        build=saddle,
    )


def ravine(condition: float = 10.0, angle: float = 0.0) -> Surface:
    """An ill-conditioned quadratic, ``f = ½(u² + κ·v²)``, where ``(u, v)`` is ``w`` rotated.

    ``u = cos θ·w1 + sin θ·w2``, ``v = −sin θ·w1 + cos θ·w2`` with θ = ``angle`` in degrees and
    κ = ``condition``, so ``f = ½ wᵀAw`` with ``A = Rᵀ diag(1, κ) R``: gradient ``A·w``,
    Hessian ``A``, eigenvalues 1 and κ. Minimum 0 at (0, 0). κ is limited to
    [1, ``MAX_CONDITION``] and θ to [−90, 90]. Gradient descent converges only for learning
    rates below 2/κ, and then shrinks the u-error by only (1 − lr) per step; at θ ≠ 0
    no per-coordinate scaling (Adam, RMSprop) can undo the stretch. The default κ = 10 is the
    app's: a stretch that shows at a glance while gradient descent still gets somewhere.

    The opening contrasts gradient descent at 1.9/κ (just inside 2/κ: it zig-zags across the
    floor) and at 0.2/κ (it crawls along it) with momentum at min(0.02, 1.9/κ), which builds
    up speed along the floor (up to κ ≈ 700; beyond, momentum crawls too).
    """
    kappa = check_number("ravine", "condition", condition, 1.0, MAX_CONDITION)
    theta_deg = check_number("ravine", "angle", angle, -90.0, 90.0)
    theta = math.radians(theta_deg)
    c, s = math.cos(theta), math.sin(theta)
    a11, a12, a22 = c * c + kappa * s * s, (1.0 - kappa) * c * s, s * s + kappa * c * c

    def loss(p: Array) -> Array:
        x, y = p
        return 0.5 * (a11 * x**2 + 2 * a12 * x * y + a22 * y**2)

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, a11 * x + a12 * y, a12 * x + a22 * y)

    def hessian(p: Array) -> Array:
        return stack_hessian(p, a11, a12, a22)

    zigzag, crawl = float(f"{1.9 / kappa:.2g}"), float(f"{0.2 / kappa:.2g}")
    # Heavy-ball momentum (μ = 0.9) shrinks every direction by √μ per step once lr > 0.003,
    # and stays stable below 3.8/κ: 0.02, or just under 2/κ for steep ravines.
    glide = min(0.02, zigzag)
    if theta_deg == 0.0:
        latex = rf"L(w_1,w_2) = \tfrac12\left(w_1^2 + {fmt(kappa)}\,w_2^2\right)"
    else:
        latex = (
            rf"L = \tfrac12\left(u^2 + {fmt(kappa)}\,v^2\right),\ "
            rf"\begin{{pmatrix}}u\\v\end{{pmatrix}} = R_{{{fmt(theta_deg)}^\circ}}"
            r"\begin{pmatrix}w_1\\w_2\end{pmatrix}"
        )
    return Surface(
        name="ravine",
        title="Ravine (ill-conditioned bowl)",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-4.0, 4.0), (-4.0, 4.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        latex=latex,
        teaches="When the curvature differs by a factor κ between directions, no single "
        "learning rate suits both: gradient descent zig-zags across the ravine and crawls "
        "along it.",
        axis_labels=AXES_W1_W2,
        params={"condition": kappa, "angle": theta_deg},
        opening=same_start(
            (-3.5, 1.5), 100,
            f"No single rate suits both directions: at {fmt(zigzag)} gradient descent "
            f"zig-zags across the steep one, at {fmt(crawl)} it crawls along the flat one; "
            f"momentum at {fmt(glide)} builds up speed along the floor.",
            ("sgd", zigzag), ("sgd", crawl), ("momentum", glide),
        ),
        build=ravine,
    )


def plateau(width: float = 1.0) -> Surface:
    """A narrow well in a wide plateau, ``f = 1 − exp(−‖w‖²/(2σ²))`` with σ = ``width``.

    With ``E = exp(−‖w‖²/(2σ²))``: gradient ``E·w/σ²``, Hessian ``(E/σ²)(I − w wᵀ/σ²)``.
    Minimum 0 at (0, 0). Beyond a few σ the loss is almost 1 and the gradient almost 0
    (at ‖w‖ = 4σ it is 4e^{−8}/σ ≈ 0.0013/σ). ``width`` is limited to [0.2, 5].
    """
    sigma = check_number("plateau", "width", width, 0.2, 5.0)
    inv_var = 1.0 / sigma**2

    def well(p: Array) -> Array:
        return np.exp(-0.5 * inv_var * (p[0] ** 2 + p[1] ** 2))

    def loss(p: Array) -> Array:
        # −expm1 keeps full precision near the minimum, where 1 − exp(·) would cancel.
        return -np.expm1(-0.5 * inv_var * (p[0] ** 2 + p[1] ** 2))

    def grad(p: Array) -> Array:
        return inv_var * well(p) * p

    def hessian(p: Array) -> Array:
        x, y = p
        e = inv_var * well(p)
        return stack_hessian(
            p, e * (1 - inv_var * x * x), -e * inv_var * x * y, e * (1 - inv_var * y * y)
        )

    return Surface(
        name="plateau",
        title="Plateau with a narrow well",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        latex=rf"L(w_1,w_2) = 1 - \exp\!\left(-\frac{{w_1^2 + w_2^2}}{{2\cdot {fmt(sigma)}^2}}"
        r"\right)",
        teaches="On a plateau the gradient is nearly zero, so gradient descent barely moves; "
        "Adam's normalised steps cross it at a steady pace.",
        axis_labels=AXES_W1_W2,
        params={"width": sigma},
        opening=same_start(
            (-3.0 * sigma, 3.0 * sigma) if sigma <= 4.0 / 3.0 else (-4.0, 4.0), 100,
            "Out on the plateau the gradient has all but vanished: gradient descent barely "
            "moves even at lr 0.5, while Adam's normalised steps cross to the well.",
            ("sgd", 0.5), ("adam", 0.1),
        ),
        build=plateau,
    )
