"""Classic test functions of two variables with many local minima, with analytic derivatives.

Formulas, domains and minima follow Surjanovic & Bingham, *Virtual Library of Simulation
Experiments* (https://www.sfu.ca/~ssurjano/optimization.html); minimisers that the library
rounds are given here to full double precision (solved with 40-digit Newton iterations).
"""

from __future__ import annotations

import math

import numpy as np

from losslab.surfaces._base import Array, Surface
from losslab.surfaces._checks import check_number
from losslab.surfaces._opening import Opening, Run, same_start
from losslab.surfaces._parts import AXES_W1_W2, fmt, stack_grad, stack_hessian

__all__ = [
    "ackley",
    "mccormick",
    "rastrigin",
    "six_hump_camel",
    "styblinski_tang",
    "three_hump_camel",
]

_TWO_PI = 2.0 * math.pi


def rastrigin(a: float = 10.0) -> Surface:
    """Rastrigin's function, ``f = 2a + Σᵢ (wᵢ² − a·cos 2πwᵢ)``, a bowl with a grid of dips.

    ``∂ᵢf = 2wᵢ + 2πa·sin 2πwᵢ``; the Hessian is diagonal, ``∂ᵢᵢf = 2 + 4π²a·cos 2πwᵢ``.
    Minimum 0 at (0, 0) for every ``a ≥ 0`` (``f = Σ wᵢ² + a(1 − cos 2πwᵢ) ≥ 0``);
    ``a`` is limited to [0, 20] (the literature uses 10; 0 leaves the plain bowl).
    """
    a = check_number("rastrigin", "a", a, 0.0, 20.0)

    def loss(p: Array) -> Array:
        return 2 * a + np.sum(p**2 - a * np.cos(_TWO_PI * p), axis=0)

    def grad(p: Array) -> Array:
        return 2 * p + _TWO_PI * a * np.sin(_TWO_PI * p)

    def hessian(p: Array) -> Array:
        diag = 2 + _TWO_PI**2 * a * np.cos(_TWO_PI * p)
        return stack_hessian(p, diag[0], 0.0, diag[1])

    return Surface(
        name="rastrigin",
        title="Rastrigin's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-5.12, 5.12), (-5.12, 5.12)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        latex=rf"L(w_1,w_2) = {fmt(2 * a)} + \sum_{{i=1}}^{{2}}"
        rf"\left(w_i^2 - {fmt(a)}\cos 2\pi w_i\right)",
        teaches="A bowl covered with a regular grid of local minima: gradient methods settle "
        "in the nearest dip, far from the global minimum.",
        axis_labels=AXES_W1_W2,
        params={"a": a},
        opening=same_start(
            (1.3, 0.4), 100,
            "Started one dip away from the global minimum, gradient descent and Adam both "
            "settle in the nearest dip, (0.99, 0), at loss 1 instead of 0.",
            ("sgd", 0.002), ("adam", 0.1),
        ),
        build=rastrigin,
    )


_ACKLEY_A, _ACKLEY_B = 20.0, 0.2
_KINK = 1e-300
"""Below this radius the cone term counts as being at its tip (its 1/s factors would overflow)."""


def ackley() -> Surface:
    """Ackley's function with a = 20, b = 0.2, c = 2π:
    ``f = −a·exp(−b·s) − exp(½(cos c·w1 + cos c·w2)) + a + e``, ``s = √(½(w1² + w2²))``.

    The first (cone) term has gradient ``k·w`` with ``k = a·b·e^{−bs}/(2s)`` and Hessian
    ``(a·b·e^{−bs}/s)·(½I − (1 + bs)·n nᵀ)``, ``n = w/(2s)``; the second term
    ``−E``, ``E = exp(½Σcos c·wᵢ)``, has ``∂ᵢ = ½c·sin(c·wᵢ)·E``,
    ``∂ᵢᵢ = (½c²cos c·wᵢ − ¼c²sin² c·wᵢ)·E`` and ``∂₁₂ = −¼c²·sin c·w1·sin c·w2·E``.

    The cone is not differentiable at its tip, the global minimum 0 at (0, 0), so the surface
    is not smooth there. At the tip the cone's gradient and Hessian are taken as 0 (0 is its
    smallest subgradient), which keeps every value finite; its Hessian grows like 1/s nearby.
    """
    a, b, c = _ACKLEY_A, _ACKLEY_B, _TWO_PI

    def radius(p: Array) -> Array:
        return np.hypot(p[0], p[1]) / math.sqrt(2.0)

    def loss(p: Array) -> Array:
        cosines = 0.5 * (np.cos(c * p[0]) + np.cos(c * p[1]))
        return -a * np.exp(-b * radius(p)) - np.exp(cosines) + a + math.e

    def cone_scale(p: Array) -> tuple[Array, Array, Array]:
        """``a·b·e^{−bs}/s`` (0 at the tip), ``s``, and the mask of points off the tip."""
        s = radius(p)
        off_tip = s > _KINK
        safe_s = np.where(off_tip, s, 1.0)
        return np.where(off_tip, a * b * np.exp(-b * safe_s) / safe_s, 0.0), safe_s, off_tip

    def grad(p: Array) -> Array:
        scale, _, _ = cone_scale(p)
        e = np.exp(0.5 * (np.cos(c * p[0]) + np.cos(c * p[1])))
        return 0.5 * scale * p + 0.5 * c * np.sin(c * p) * e

    def hessian(p: Array) -> Array:
        scale, s, off_tip = cone_scale(p)
        n = np.where(off_tip, p / (2 * s), 0.0)
        e = np.exp(0.5 * (np.cos(c * p[0]) + np.cos(c * p[1])))
        sin, cos = np.sin(c * p), np.cos(c * p)
        bend = scale * (1 + b * s)

        def wave(i: int) -> Array:
            return (0.5 * c**2 * cos[i] - 0.25 * c**2 * sin[i] ** 2) * e

        return stack_hessian(
            p,
            scale * 0.5 - bend * n[0] ** 2 + wave(0),
            -bend * n[0] * n[1] - 0.25 * c**2 * sin[0] * sin[1] * e,
            scale * 0.5 - bend * n[1] ** 2 + wave(1),
        )

    return Surface(
        name="ackley",
        title="Ackley's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        smooth=False,
        latex=r"L = -20\exp\!\left(-0.2\sqrt{\tfrac12(w_1^2 + w_2^2)}\right)"
        r" - \exp\!\left(\tfrac12(\cos 2\pi w_1 + \cos 2\pi w_2)\right) + 20 + e",
        latex_narrow=r"\begin{aligned} L ={}& -20\exp\!\left(-0.2\sqrt{\tfrac12(w_1^2 + w_2^2)}"
        r"\right) \\ &- \exp\!\left(\tfrac12(\cos 2\pi w_1 + \cos 2\pi w_2)\right) + 20 + e"
        r" \end{aligned}",
        teaches="A nearly flat, bumpy plain around one deep funnel: the local gradient says "
        "little about where the global minimum is.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (-3.2, 2.8), 100,
            "Gradient descent, momentum and Adam all stop in the nearest bump's dip at loss "
            "9, though the funnel to the global minimum 0 is only three units away.",
            ("sgd", 0.01), ("momentum", 0.01), ("adam", 0.05),
        ),
        build=ackley,
    )


def six_hump_camel() -> Surface:
    """The six-hump camel function, ``f = (4 − 2.1w1² + w1⁴/3)w1² + w1w2 + (−4 + 4w2²)w2²``.

    Gradient ``(8w1 − 8.4w1³ + 2w1⁵ + w2, w1 − 8w2 + 16w2³)``; Hessian
    ``[[8 − 25.2w1² + 10w1⁴, 1], [1, −8 + 48w2²]]``. Six local minima; two global,
    −1.0316 at ±(0.0898, −0.7126). Domain [−3, 3] × [−2, 2].
    """

    def loss(p: Array) -> Array:
        x, y = p
        return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3)

    def hessian(p: Array) -> Array:
        x, y = p
        return stack_hessian(p, 8 - 25.2 * x**2 + 10 * x**4, 1.0, -8 + 48 * y**2)

    x_star, y_star = 0.089842013100318062, -0.71265640302073963
    return Surface(
        name="six_hump_camel",
        title="Six-hump camel function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-2.0, 2.0), (-1.0, 1.0)),
        minimizers=((x_star, y_star), (-x_star, -y_star)),
        optimal_value=-1.0316284534898774,
        local_minima=(
            (-1.703606714969981, 0.7960835686726251),
            (1.703606714969981, -0.7960835686726251),
            (-1.6071047529201974, -0.5686514548841314),
            (1.6071047529201974, 0.5686514548841314),
        ),
        latex=r"L = \left(4 - 2.1w_1^2 + \tfrac{w_1^4}{3}\right)w_1^2 + w_1 w_2"
        r" + (-4 + 4w_2^2)\,w_2^2",
        teaches="Six local minima, two of them global and mirror images of each other: the "
        "same optimiser lands in different ones from different starts.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=Opening(
            (
                Run("sgd", 0.05, (-1.0, 0.0)),
                Run("sgd", 0.05, (1.0, 0.0)),
                Run("sgd", 0.05, (-1.5, -0.5)),
            ),
            100,
            "The same gradient descent from three starts: two runs reach the two global "
            "minima, mirror images at loss −1.03, and one stops in a side minimum at 2.10.",
        ),
        build=six_hump_camel,
    )


def three_hump_camel() -> Surface:
    """The three-hump camel function, ``f = 2w1² − 1.05w1⁴ + w1⁶/6 + w1w2 + w2²``.

    Gradient ``(4w1 − 4.2w1³ + w1⁵ + w2, w1 + 2w2)``; Hessian
    ``[[4 − 12.6w1² + 5w1⁴, 1], [1, 2]]``. Global minimum 0 at (0, 0); two local minima
    ≈ 0.2986 at ±(1.7476, −0.8738). Domain [−5, 5]².
    """

    def loss(p: Array) -> Array:
        x, y = p
        return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, 4 * x - 4.2 * x**3 + x**5 + y, x + 2 * y)

    def hessian(p: Array) -> Array:
        x, _ = p
        return stack_hessian(p, 4 - 12.6 * x**2 + 5 * x**4, 1.0, 2.0)

    return Surface(
        name="three_hump_camel",
        title="Three-hump camel function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-2.0, 2.0), (-2.0, 2.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        local_minima=((1.747552345830289, -0.8737761729151445),
                      (-1.747552345830289, 0.8737761729151445)),
        latex=r"L(w_1,w_2) = 2w_1^2 - 1.05w_1^4 + \tfrac{w_1^6}{6} + w_1 w_2 + w_2^2",
        teaches="One global minimum flanked by two shallower ones: a local minimum looks "
        "exactly like the global one to the gradient.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=Opening(
            (Run("sgd", 0.05, (-1.0, 1.6)), Run("sgd", 0.05, (-0.6, 1.6))),
            150,
            "Two runs of gradient descent start 0.4 apart: one stops in a side minimum at "
            "loss 0.30, the other reaches the global minimum 0; both end where the gradient "
            "is zero.",
        ),
        build=three_hump_camel,
    )


def mccormick() -> Surface:
    """McCormick's function, ``f = sin(w1 + w2) + (w1 − w2)² − 1.5w1 + 2.5w2 + 1``.

    Gradient ``(cos σ + 2δ − 1.5, cos σ − 2δ + 2.5)`` with ``σ = w1 + w2``, ``δ = w1 − w2``;
    Hessian ``[[2 − sin σ, −2 − sin σ], [−2 − sin σ, 2 − sin σ]]``. On its domain
    [−1.5, 4] × [−3, 4] (the window) the minimum is −√3/2 − π/3 ≈ −1.9132 at
    (½ − π/3, −½ − π/3) ≈ (−0.5472, −1.5472); outside the domain it is unbounded below.
    """

    def loss(p: Array) -> Array:
        x, y = p
        return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1

    def grad(p: Array) -> Array:
        x, y = p
        cos = np.cos(x + y)
        return stack_grad(p, cos + 2 * (x - y) - 1.5, cos - 2 * (x - y) + 2.5)

    def hessian(p: Array) -> Array:
        sin = np.sin(p[0] + p[1])
        return stack_hessian(p, 2 - sin, -2 - sin, 2 - sin)

    return Surface(
        name="mccormick",
        title="McCormick's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-1.5, 4.0), (-3.0, 4.0)),
        minimizers=((0.5 - math.pi / 3, -0.5 - math.pi / 3),),
        optimal_value=-math.sqrt(3.0) / 2 - math.pi / 3,
        latex=r"L(w_1,w_2) = \sin(w_1 + w_2) + (w_1 - w_2)^2 - 1.5w_1 + 2.5w_2 + 1",
        latex_narrow=r"\begin{aligned} L(w_1,w_2) ={}& \sin(w_1 + w_2) + (w_1 - w_2)^2 \\"
        r" &- 1.5w_1 + 2.5w_2 + 1 \end{aligned}",
        teaches="A minimum is only a minimum on its domain: inside the box the valley has a "
        "floor, outside it the loss falls without end.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (3.5, 3.5), 150,
            "Gradient descent settles in a dip at (2.59, 1.59); momentum rolls through it, "
            "past the box's minimum and out of the box, where the loss falls without end.",
            ("sgd", 0.05), ("momentum", 0.08),
        ),
        build=mccormick,
    )


def styblinski_tang() -> Surface:
    """The Styblinski–Tang function, ``f = ½ Σᵢ (wᵢ⁴ − 16wᵢ² + 5wᵢ)``.

    ``∂ᵢf = 2wᵢ³ − 16wᵢ + 2.5``; the Hessian is diagonal, ``∂ᵢᵢf = 6wᵢ² − 16``.
    Four basins of different depth; the global minimum −39.16617·2 = −78.33233 is at
    wᵢ = −2.903534 (the root of 4w³ − 32w + 5 = 0). Domain [−5, 5]².
    """

    def loss(p: Array) -> Array:
        return 0.5 * np.sum(p**4 - 16 * p**2 + 5 * p, axis=0)

    def grad(p: Array) -> Array:
        return 2 * p**3 - 16 * p + 2.5

    def hessian(p: Array) -> Array:
        diag = 6 * p**2 - 16
        return stack_hessian(p, diag[0], 0.0, diag[1])

    w_star = -2.9035340277711771
    return Surface(
        name="styblinski_tang",
        title="Styblinski–Tang function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        minimizers=((w_star, w_star),),
        optimal_value=-78.332331407542831,
        local_minima=(
            (2.746802770990837, 2.746802770990837),
            (-2.903534027771177, 2.746802770990837),
            (2.746802770990837, -2.903534027771177),
        ),
        latex=r"L(w_1,w_2) = \tfrac12 \sum_{i=1}^{2} \left(w_i^4 - 16w_i^2 + 5w_i\right)",
        teaches="Four basins of different depth: the deepest is at (−2.90, −2.90), but from "
        "the other side gradient descent ends in a shallower one.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=Opening(
            (
                Run("sgd", 0.03, (-0.5, -0.5)),
                Run("sgd", 0.03, (-1.0, 1.0)),
                Run("sgd", 0.03, (1.0, 1.0)),
            ),
            150,
            "The same gradient descent from three starts near the centre ends in three basins "
            "of different depth: −78.3 (the deepest), −64.2 and −50.1.",
        ),
        build=styblinski_tang,
    )
