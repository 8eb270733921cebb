"""Classic test functions of two variables (valleys and bowls), with analytic derivatives.

Formulas, domains and minima follow Surjanovic & Bingham, *Virtual Library of Simulation
Experiments* (https://www.sfu.ca/~ssurjano/optimization.html); minimisers that the library
rounds are given here to full double precision (solved with 40-digit Newton iterations).
Each builder's window is the region worth plotting, which may be smaller than the domain.
"""

from __future__ import annotations

from losslab.surfaces._base import Array, Surface
from losslab.surfaces._checks import check_number
from losslab.surfaces._opening import Opening, Run, same_start
from losslab.surfaces._parts import AXES_W1_W2, fmt, stack_grad, stack_hessian

__all__ = [
    "beale",
    "booth",
    "goldstein_price",
    "himmelblau",
    "matyas",
    "rosenbrock",
]


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's banana valley, ``f = (a − w1)² + b·(w2 − w1²)²``.

    Gradient ``(−2(a − w1) − 4b·w1·(w2 − w1²), 2b·(w2 − w1²))``; Hessian
    ``[[2 − 4b·w2 + 12b·w1², −4b·w1], [−4b·w1, 2b]]``. Minimum 0 at ``(a, a²)``.
    ``a`` is limited to [−1.5, 1.5] so the minimiser stays in the window, ``b`` to [0.1, 1000].
    """
    a = check_number("rosenbrock", "a", a, -1.5, 1.5)
    b = check_number("rosenbrock", "b", b, 0.1, 1000.0)

    def loss(p: Array) -> Array:
        return (a - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, -2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2))

    def hessian(p: Array) -> Array:
        x, y = p
        return stack_hessian(p, 2 - 4 * b * y + 12 * b * x**2, -4 * b * x, 2 * b)

    return Surface(
        name="rosenbrock",
        title="Rosenbrock's valley",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-2.0, 2.0), (-1.0, 3.0)),
        minimizers=((a, a * a),),
        optimal_value=0.0,
        latex=rf"L(w_1,w_2) = ({fmt(a)} - w_1)^2 + {fmt(b)}\,(w_2 - w_1^2)^2",
        teaches="A curved, narrow valley is easy to fall into and slow to follow: gradient "
        "descent crawls along its floor while momentum, Adam and Newton's method reach the "
        "minimum.",
        axis_labels=AXES_W1_W2,
        params={"a": a, "b": b},
        opening=same_start(
            # lr 0.0013 is below 2/λmax = 0.00133 at the start: stable there, as the sidebar says.
            (-1.2, 1.0), 500,
            "From the classic start (−1.2, 1), gradient descent reaches the valley floor and "
            "then crawls along it; momentum at the same rate, Adam and Newton's method reach "
            "the minimum at (1, 1).",
            ("sgd", 0.0013), ("momentum", 0.0013), ("adam", 0.5), ("newton", 1.0),
        ),
        build=rosenbrock,
    )


def himmelblau() -> Surface:
    """Himmelblau's function, ``f = (w1² + w2 − 11)² + (w1 + w2² − 7)²``.

    With ``u = w1² + w2 − 11`` and ``v = w1 + w2² − 7``: gradient ``(4w1·u + 2v, 2u + 4w2·v)``;
    Hessian ``[[4u + 8w1² + 2, 4w1 + 4w2], [4w1 + 4w2, 4v + 8w2² + 2]]``.
    Four global minima, all 0: (3, 2), (−2.805118, 3.131312), (−3.779310, −3.283186),
    (3.584428, −1.848126). Between them four saddles, the passes from one basin to the next,
    at (0.086678, 2.884255), (−3.073026, −0.081353), (3.385154, 0.073852) and
    (−0.127961, −1.953715), around a local maximum near (−0.270845, −0.923039).
    """

    def loss(p: Array) -> Array:
        x, y = p
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(p: Array) -> Array:
        x, y = p
        u, v = x**2 + y - 11, x + y**2 - 7
        return stack_grad(p, 4 * x * u + 2 * v, 2 * u + 4 * y * v)

    def hessian(p: Array) -> Array:
        x, y = p
        u, v = x**2 + y - 11, x + y**2 - 7
        return stack_hessian(p, 4 * u + 8 * x**2 + 2, 4 * x + 4 * y, 4 * v + 8 * y**2 + 2)

    return Surface(
        name="himmelblau",
        title="Himmelblau's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        minimizers=(
            (3.0, 2.0),
            (-2.8051180869527449, 3.1313125182505730),
            (-3.7793102533777469, -3.2831859912861694),
            (3.5844283403304917, -1.8481265269644036),
        ),
        optimal_value=0.0,
        saddles=(
            (0.08667750455539636, 2.884254701174776),
            (-3.0730257507643897, -0.08135304428796751),
            (3.385154183607021, 0.07385187983774928),
            (-0.12796134673068008, -1.9537149802445763),
        ),
        latex=r"L(w_1,w_2) = (w_1^2 + w_2 - 11)^2 + (w_1 + w_2^2 - 7)^2",
        teaches="Four minima of equal depth: where the optimiser starts decides which one it "
        "reaches.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=Opening(
            (Run("sgd", 0.01, (-0.4, 0.0)), Run("sgd", 0.01, (0.0, 0.0))),
            100,
            "Two runs of gradient descent start 0.4 apart and end in two different minima: "
            "(−2.81, 3.13) and (3, 2).",
        ),
        build=himmelblau,
    )


def beale() -> Surface:
    """Beale's function, ``f = Σₖ tₖ²`` with ``t₁ = 1.5 − w1 + w1·w2``,
    ``t₂ = 2.25 − w1 + w1·w2²``, ``t₃ = 2.625 − w1 + w1·w2³``.

    A sum of squares: gradient ``2 Σ tₖ ∇tₖ``, Hessian ``2 Σ (∇tₖ ∇tₖᵀ + tₖ ∇²tₖ)``, where
    ``∇tₖ = (w2ᵏ − 1, k·w1·w2ᵏ⁻¹)`` and ``∇²tₖ = [[0, k·w2ᵏ⁻¹], [k·w2ᵏ⁻¹, k(k−1)·w1·w2ᵏ⁻²]]``.
    Minimum 0 at (3, 0.5); domain [−4.5, 4.5]².
    """
    consts = (1.5, 2.25, 2.625)

    def loss(p: Array) -> Array:
        x, y = p
        return sum((c - x + x * y**k) ** 2 for k, c in enumerate(consts, start=1))

    def grad(p: Array) -> Array:
        x, y = p
        g1 = g2 = 0.0
        for k, c in enumerate(consts, start=1):
            t = c - x + x * y**k
            g1 = g1 + 2 * t * (y**k - 1)
            g2 = g2 + 2 * t * k * x * y ** (k - 1)
        return stack_grad(p, g1, g2)

    def hessian(p: Array) -> Array:
        x, y = p
        h11 = h12 = h22 = 0.0
        for k, c in enumerate(consts, start=1):
            t = c - x + x * y**k
            t1, t2 = y**k - 1, k * x * y ** (k - 1)
            t22 = k * (k - 1) * x * y ** (k - 2) if k >= 2 else 0.0
            h11 = h11 + 2 * t1 * t1
            h12 = h12 + 2 * (t1 * t2 + t * k * y ** (k - 1))
            h22 = h22 + 2 * (t2 * t2 + t * t22)
        return stack_hessian(p, h11, h12, h22)

    return Surface(
        name="beale",
        title="Beale's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-4.5, 4.5), (-4.5, 4.5)),
        minimizers=((3.0, 0.5),),
        optimal_value=0.0,
        latex=r"L(w_1,w_2) = (1.5 - w_1 + w_1 w_2)^2 + (2.25 - w_1 + w_1 w_2^2)^2"
        r" + (2.625 - w_1 + w_1 w_2^3)^2",
        latex_narrow=r"\begin{aligned} L(w_1,w_2) ={}& (1.5 - w_1 + w_1 w_2)^2 \\"
        r" &+ (2.25 - w_1 + w_1 w_2^2)^2 \\ &+ (2.625 - w_1 + w_1 w_2^3)^2 \end{aligned}",
        teaches="Steep walls around a flat basin: gradients span many orders of magnitude, so a "
        "fixed learning rate is either too slow in the basin or explodes on the walls.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (1.0, 1.5), 300,
            "Gradient descent at lr 0.005 is still crawling through the flat basin, at lr "
            "0.05 it is thrown off the steep walls, while Adam's normalised steps reach the "
            "minimum at (3, 0.5).",
            ("sgd", 0.005), ("sgd", 0.05), ("adam", 0.2),
        ),
        build=beale,
    )


def booth() -> Surface:
    """Booth's function, ``f = (w1 + 2w2 − 7)² + (2w1 + w2 − 5)²``, a quadratic.

    Gradient ``(2u + 4v, 4u + 2v)`` with ``u = w1 + 2w2 − 7``, ``v = 2w1 + w2 − 5``;
    Hessian ``[[10, 8], [8, 10]]`` (condition number 9). Minimum 0 at (1, 3).
    """

    def loss(p: Array) -> Array:
        x, y = p
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def grad(p: Array) -> Array:
        x, y = p
        u, v = x + 2 * y - 7, 2 * x + y - 5
        return stack_grad(p, 2 * u + 4 * v, 4 * u + 2 * v)

    def hessian(p: Array) -> Array:
        return stack_hessian(p, 10.0, 8.0, 10.0)

    return Surface(
        name="booth",
        title="Booth's function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-10.0, 10.0), (-10.0, 10.0)),
        minimizers=((1.0, 3.0),),
        optimal_value=0.0,
        latex=r"L(w_1,w_2) = (w_1 + 2w_2 - 7)^2 + (2w_1 + w_2 - 5)^2",
        teaches="A plain tilted bowl (a quadratic): every sensible optimiser reaches its one "
        "minimum, so it is the baseline for comparing them.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (-8.0, 8.0), 150,
            "Gradient descent, momentum, Adam and Newton's method all reach the one minimum "
            "(1, 3): compare how they get there (Newton in one step).",
            ("sgd", 0.05), ("momentum", 0.02), ("adam", 0.5), ("newton", 1.0),
        ),
        build=booth,
    )


def goldstein_price() -> Surface:
    """The Goldstein–Price function ``f = A·B`` with
    ``A = 1 + u²·P``, ``u = w1 + w2 + 1``, ``P = 19 − 14w1 + 3w1² − 14w2 + 6w1w2 + 3w2²`` and
    ``B = 30 + v²·Q``, ``v = 2w1 − 3w2``, ``Q = 18 − 32w1 + 12w1² + 48w2 − 36w1w2 + 27w2²``.

    Product rule: ``∂ᵢf = ∂ᵢA·B + A·∂ᵢB``, ``∂ᵢⱼf = ∂ᵢⱼA·B + ∂ᵢA·∂ⱼB + ∂ⱼA·∂ᵢB + A·∂ᵢⱼB``,
    with ``∂ᵢA = 2u·uᵢ·P + u²·Pᵢ`` and
    ``∂ᵢⱼA = 2uᵢuⱼP + 2u(uᵢPⱼ + uⱼPᵢ) + u²Pᵢⱼ`` (likewise for B with v, Q).
    Minimum 3 at (0, −1); domain [−2, 2]².
    """

    def parts(p: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
        x, y = p
        u, v = x + y + 1, 2 * x - 3 * y
        P = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
        Q = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
        return u, v, P, Q, x, y

    def loss(p: Array) -> Array:
        u, v, P, Q, _, _ = parts(p)
        return (1 + u**2 * P) * (30 + v**2 * Q)

    def factors(p: Array) -> tuple[Array, list[Array], list[list[Array]], Array, list, list]:
        """A, ∇A, ∇²A and B, ∇B, ∇²B as nested lists of arrays."""
        u, v, P, Q, x, y = parts(p)
        du, dv = (1.0, 1.0), (2.0, -3.0)
        dP = (-14 + 6 * x + 6 * y, -14 + 6 * x + 6 * y)
        dQ = (-32 + 24 * x - 36 * y, 48 - 36 * x + 54 * y)
        hP = ((6.0, 6.0), (6.0, 6.0))
        hQ = ((24.0, -36.0), (-36.0, 54.0))
        A, B = 1 + u**2 * P, 30 + v**2 * Q
        dA = [2 * u * du[i] * P + u**2 * dP[i] for i in range(2)]
        dB = [2 * v * dv[i] * Q + v**2 * dQ[i] for i in range(2)]
        hA = [
            [
                2 * du[i] * du[j] * P + 2 * u * (du[i] * dP[j] + du[j] * dP[i]) + u**2 * hP[i][j]
                for j in range(2)
            ]
            for i in range(2)
        ]
        hB = [
            [
                2 * dv[i] * dv[j] * Q + 2 * v * (dv[i] * dQ[j] + dv[j] * dQ[i]) + v**2 * hQ[i][j]
                for j in range(2)
            ]
            for i in range(2)
        ]
        return A, dA, hA, B, dB, hB

    def grad(p: Array) -> Array:
        A, dA, _, B, dB, _ = factors(p)
        return stack_grad(p, dA[0] * B + A * dB[0], dA[1] * B + A * dB[1])

    def hessian(p: Array) -> Array:
        A, dA, hA, B, dB, hB = factors(p)

        def entry(i: int, j: int) -> Array:
            return hA[i][j] * B + dA[i] * dB[j] + dA[j] * dB[i] + A * hB[i][j]

        return stack_hessian(p, entry(0, 0), entry(0, 1), entry(1, 1))

    return Surface(
        name="goldstein_price",
        title="Goldstein–Price function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-2.0, 2.0), (-2.0, 2.0)),
        minimizers=((0.0, -1.0),),
        optimal_value=3.0,
        local_minima=((-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)),  # losses 30, 84 and 840
        latex=r"\begin{aligned} L ={}& \left[1 + (w_1 + w_2 + 1)^2 (19 - 14w_1 + 3w_1^2"
        r" - 14w_2 + 6w_1w_2 + 3w_2^2)\right] \\ &\times \left[30 + (2w_1 - 3w_2)^2"
        r" (18 - 32w_1 + 12w_1^2 + 48w_2 - 36w_1w_2 + 27w_2^2)\right] \end{aligned}",
        latex_narrow=r"\begin{aligned} L ={}& \big[1 + (w_1 + w_2 + 1)^2 \\"
        r" &\quad\times (19 - 14w_1 + 3w_1^2 - 14w_2 \\ &\qquad + 6w_1w_2 + 3w_2^2)\big] \\"
        r" &\times \big[30 + (2w_1 - 3w_2)^2 \\"
        r" &\quad\times (18 - 32w_1 + 12w_1^2 + 48w_2 \\ &\qquad - 36w_1w_2 + 27w_2^2)\big]"
        r" \end{aligned}",
        teaches="Values spanning six orders of magnitude and several local minima: why losses "
        "are often drawn on a log scale, and why the step size must adapt.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (-1.0, -1.5), 150,
            "The walls are so steep that gradient descent blows up even at the smallest "
            "rate, 0.0001, while Adam's normalised steps reach the global minimum 3 at (0, −1).",
            ("sgd", 0.0001), ("adam", 0.1),
        ),
        build=goldstein_price,
    )


def matyas() -> Surface:
    """Matyas' function, ``f = 0.26(w1² + w2²) − 0.48·w1·w2``, a flat quadratic.

    Gradient ``(0.52w1 − 0.48w2, 0.52w2 − 0.48w1)``; Hessian ``[[0.52, −0.48], [−0.48, 0.52]]``
    (eigenvalues 1 and 0.04, condition number 25). Minimum 0 at (0, 0).
    """

    def loss(p: Array) -> Array:
        x, y = p
        return 0.26 * (x**2 + y**2) - 0.48 * x * y

    def grad(p: Array) -> Array:
        x, y = p
        return stack_grad(p, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x)

    def hessian(p: Array) -> Array:
        return stack_hessian(p, 0.52, -0.48, 0.52)

    return Surface(
        name="matyas",
        title="Matyas' function",
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-10.0, 10.0), (-10.0, 10.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        latex=r"L(w_1,w_2) = 0.26\,(w_1^2 + w_2^2) - 0.48\,w_1 w_2",
        teaches="A flat bowl stretched along the diagonal: the gradient along the valley floor "
        "is 25 times weaker than across it, so gradient descent slows to a crawl there.",
        axis_labels=AXES_W1_W2,
        params={},
        opening=same_start(
            (-8.0, -6.0), 150,
            "Gradient descent quickly reaches the diagonal valley, then crawls along its "
            "floor; momentum at the same rate builds up speed there and reaches (0, 0).",
            ("sgd", 0.5), ("momentum", 0.5),
        ),
        build=matyas,
    )
