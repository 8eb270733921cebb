"""Data-driven surfaces over (w, b): linear and logistic regression on one feature.

The loss is a mean over rows plus a penalty on the weight only (the bias is not penalised, as
in scikit-learn's ``Ridge``/``Lasso``)::

    L(w, b) = (1/n) Σᵢ φ(w·xᵢ + b, yᵢ) + l1·|w| + l2·w²

Regression losses φ follow ``torch.nn``: ``"mse"`` (MSELoss, no ½), ``"mae"`` (L1Loss) and
``"huber"`` (HuberLoss with ``delta``); classification uses cross-entropy on the logit
(BCEWithLogitsLoss). Squared error is evaluated from sufficient statistics, so a grid costs the
same for any number of rows; the others cost O(points × rows).

Row cap. Every public builder refuses more than ``MAX_ROWS`` rows with a ``ValueError``
(generated ``n`` and uploaded data alike): the rows are kept on the surface for mini-batches
and scatter plots, and the non-MSE losses scale with them. The cap guards what a user can ask
for, not the maths: the benchmark builds 10⁶-row surfaces through the private
``_linear_surface`` to show that MSE grids do not grow with the rows.

Minimisers are computed when a surface is built (see ``_fit``) and declared only with a
certificate: MSE always (closed form) unless ``x`` is constant without a penalty; MAE, Huber
and cross-entropy when ``x`` has two distinct values, and cross-entropy only when its minimum
is finite (the classes overlap, or ``l1``/``l2`` > 0). MAE minimisers need not be unique: the
one declared is one of them. Without a minimiser, ``optimal_value`` is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType

import numpy as np

from losslab.surfaces._base import Array, Dataset, Surface
from losslab.surfaces._checks import check_choice, check_number, check_whole
from losslab.surfaces._datarows import (
    MAX_ROWS,
    classification_rows,
    regression_rows,
    rows_index,
    user_rows,
)
from losslab.surfaces._fit import lad_minimiser, mse_minimiser, smooth_l1_minimiser
from losslab.surfaces._opening import Opening, round_rate, same_start
from losslab.surfaces._parts import fmt, stack_grad, stack_hessian
from losslab.surfaces._rowwise import (
    ABSOLUTE,
    LOGISTIC,
    SQUARED,
    MseStats,
    RowLoss,
    huber,
    mse_grad,
    mse_hessian,
    mse_stats,
    mse_value,
    row_mean_grad,
    row_mean_hessian,
    row_mean_value,
)

__all__ = [
    "MAX_ROWS",
    "REGRESSION_LOSSES",
    "linear_regression",
    "linear_regression_from_data",
    "logistic_regression",
    "logistic_regression_from_data",
]

REGRESSION_LOSSES = ("mse", "mae", "huber")

_MAX_NOISE = 10.0
_MAX_PENALTY = 100.0
_MAX_DELTA = 100.0
_MAX_SEED = 2**32 - 1
_AXES = ("w", "b")
_OPENING_START = (0.0, 0.0)
"""The flat line (or the coin-flip classifier) every data surface's opening starts from."""
_OPENING_STEPS = 100
_RATE_RANGE = (1e-4, 10.0)
"""Rates an opening may use: those every optimiser allows."""


def _penalties(surface: str, l1: object, l2: object) -> tuple[float, float]:
    return (
        check_number(surface, "l1", l1, 0.0, _MAX_PENALTY),
        check_number(surface, "l2", l2, 0.0, _MAX_PENALTY),
    )


# --- the surfaces -----------------------------------------------------------------------------


def _window(centre: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """Each axis spans 0 (the usual start) and the centre, padded by ¾|centre|, at least 1.5."""
    window = []
    for c in centre:
        pad = 0.75 * max(abs(c), 2.0)
        window.append((min(0.0, c) - pad, max(0.0, c) + pad))
    return tuple(window)


def _penalty_latex(l1: float, l2: float) -> str:
    return (rf" + {fmt(l1)}\,\lvert w \rvert" if l1 else "") + (rf" + {fmt(l2)}\,w^2" if l2 else "")


def _opening(
    x: Array, weight: float, l2: float, stable: float, caption: str
) -> Opening | None:
    """Gradient descent from ``_OPENING_START`` at a round rate below ``stable``/λ, where λ bounds
    the curvature everywhere: ``weight``·λmax(mean of (xᵢ, 1)(xᵢ, 1)ᵀ) + 2·l2. ``None`` when that
    rate falls outside ``_RATE_RANGE`` (rows far from the origin)."""
    moments = np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    curvature = weight * float(np.linalg.eigvalsh(moments)[-1]) + 2.0 * l2
    rate = round_rate(stable / curvature)
    if not _RATE_RANGE[0] <= rate <= _RATE_RANGE[1]:
        return None
    return same_start(_OPENING_START, _OPENING_STEPS, caption, ("sgd", rate))


_OPENING_TEXT = {
    "mse": "Gradient descent turns the flat line y = 0 into the least-squares fit: the line "
    "swings onto the data while (w, b) rolls to the bottom of the bowl.",
    "mae": "With absolute error the slope does not shrink near the best fit, so gradient "
    "descent at a fixed step gets there and then keeps jittering around it.",
    "huber": "Gradient descent turns the flat line y = 0 into the best Huber fit: the line "
    "swings onto the data, in steps that shrink once every residual is small.",
}


Minimiser = Callable[[Callable, Callable, Callable], tuple[float, float] | None]


def _make(
    x: Array,
    y: Array,
    *,
    stats: MseStats,
    row_loss: RowLoss,
    mse: bool,
    l1: float,
    l2: float,
    minimiser: Minimiser,
    fallback_window: tuple[tuple[float, float], ...],
    **facts: object,
) -> Surface:
    """A (w, b) surface: mean ``row_loss`` (MSE from statistics when ``mse``) plus the penalty.

    ``minimiser(value, grad, hessian)`` gets the objective without its ``l1`` term and returns a
    certified minimiser or ``None``; the window is drawn around it, else ``fallback_window``.
    ``stats`` are ``mse_stats(x, y)``, computed once by the caller.
    """

    def loss(p: Array) -> Array:
        data = mse_value(p, stats) if mse else row_mean_value(p, x, y, row_loss)
        return data + l1 * np.abs(p[0]) + l2 * p[0] ** 2

    def smooth_value(p: Array) -> Array:
        data = mse_value(p, stats) if mse else row_mean_value(p, x, y, row_loss)
        return data + l2 * p[0] ** 2

    def smooth_grad(p: Array) -> Array:
        data = mse_grad(p, stats) if mse else row_mean_grad(p, x, y, row_loss)
        return data + stack_grad(p, 2.0 * l2 * p[0], 0.0)

    def grad(p: Array) -> Array:
        # sign(0) = 0: at the kink of l1·|w| the smallest subgradient is used.
        return smooth_grad(p) + stack_grad(p, l1 * np.sign(p[0]), 0.0)

    def hessian(p: Array) -> Array:
        data = mse_hessian(p, stats) if mse else row_mean_hessian(p, x, y, row_loss)
        return data + stack_hessian(p, 2.0 * l2, 0.0, 0.0)

    def batch_grad(p: Array, rows: Array) -> Array:
        """The gradient of the same loss over the rows ``rows`` only (penalty included once)."""
        p = np.asarray(p, dtype=float)
        if p.ndim == 0 or p.shape[0] != 2:
            raise ValueError(f"batch_grad takes points of shape (2, ...); got shape {p.shape}")
        idx = rows_index(rows, x.size)
        data = row_mean_grad(p, x[idx], y[idx], SQUARED if mse else row_loss)
        return data + stack_grad(p, l1 * np.sign(p[0]) + 2.0 * l2 * p[0], 0.0)

    found = minimiser(smooth_value, smooth_grad, hessian)
    return Surface(
        dim=2,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=fallback_window if found is None else _window(found),
        minimizers=() if found is None else (found,),
        optimal_value=None if found is None else float(loss(np.array(found))),
        axis_labels=_AXES,
        batch_grad=batch_grad,
        **facts,
    )


_REGRESSION_TEXT = MappingProxyType({
    "mse": (
        "squared error",
        r"\frac{1}{n}\sum_{i=1}^{n} (w x_i + b - y_i)^2",
        "Squared error makes a smooth bowl shaped by the data: the spread and the mean of x "
        "decide how stretched and how tilted it is.",
    ),
    "mae": (
        "absolute error",
        r"\frac{1}{n}\sum_{i=1}^{n} \lvert w x_i + b - y_i \rvert",
        "Absolute error makes a bowl of flat facets and sharp creases: the gradient does not "
        "shrink near the minimum, so a fixed step keeps overshooting it.",
    ),
    "huber": (
        "Huber loss",
        r"\frac{1}{n}\sum_{i=1}^{n} \rho(w x_i + b - y_i),\ "
        r"\rho(r) = \begin{cases} \tfrac12 r^2 & \lvert r \rvert \le \delta \\"
        r" \delta\,(\lvert r \rvert - \tfrac{\delta}{2}) & \lvert r \rvert > \delta \end{cases}",
        "Huber loss is a bowl near the best fit and a cone far from it: smooth where it "
        "matters, while no outlier pulls harder than δ.",
    ),
})


def _linear_surface(
    x: Array,
    y: Array,
    *,
    loss: str,
    l1: float,
    l2: float,
    delta: float,
    name: str,
    title: str,
    params: Mapping[str, object],
    build: Callable[..., Surface],
) -> Surface:
    """Linear regression on checked rows. No row cap here: the public builders enforce it."""
    stats = mse_stats(x, y)
    ridge = mse_minimiser(stats, l1, l2)
    distinct = bool(np.ptp(x) > 0)

    def minimiser(value: Callable, grad: Callable, hessian: Callable):
        if loss == "mse":
            return ridge
        if not distinct or ridge is None:
            return None
        if loss == "mae":
            return lad_minimiser(x, y, l1, l2)
        return smooth_l1_minimiser(value, grad, hessian, l1, np.array(ridge))

    label, data_latex, teaches = _REGRESSION_TEXT[loss]
    if loss == "huber":
        data_latex = data_latex.replace(r"\delta", fmt(delta))
        label = f"{label}, δ = {fmt(delta)}"
    ols = (stats.slope, stats.y_mean - stats.slope * stats.x_mean)
    return _make(
        x,
        y,
        stats=stats,
        row_loss={"mse": SQUARED, "mae": ABSOLUTE, "huber": huber(delta)}[loss],
        mse=loss == "mse",
        l1=l1,
        l2=l2,
        minimiser=minimiser,
        fallback_window=_window(ols),
        name=name,
        title=f"{title} ({label})",
        smooth=loss == "mse" and l1 == 0.0,
        latex=r"L(w,b) = " + data_latex + _penalty_latex(l1, l2),
        teaches=teaches,
        params=dict(params),
        data=Dataset(x, y, "regression"),
        # Squared error's curvature is 2·mean((x, 1)(x, 1)ᵀ) everywhere; Huber's is at most
        # half of it and absolute error's is 0 (its steps are the rate times the slope).
        opening=_opening(x, 2.0, l2, 1.0, _OPENING_TEXT[loss]),
        build=build,
    )


def linear_regression(
    n: int = 100,
    noise: float = 1.0,
    seed: int = 0,
    loss: str = "mse",
    l1: float = 0.0,
    l2: float = 0.0,
    delta: float = 1.0,
) -> Surface:
    """Linear regression ``y ≈ w·x + b`` on ``n`` generated rows (see ``_datarows.TRUE_LINE``).

    ``loss`` is one of ``REGRESSION_LOSSES``; ``delta`` is Huber's threshold (used only by
    ``"huber"``). The same ``seed`` gives the same rows. Limits: ``n`` in [1, ``MAX_ROWS``],
    ``noise`` in [0, 10], ``l1``, ``l2`` in [0, 100], ``delta`` in (0, 100], ``seed`` in
    [0, 2³²−1]; anything else is a ``ValueError``.
    """
    name = "linear_regression"
    n = check_whole(name, "n", n, 1, MAX_ROWS)
    noise = check_number(name, "noise", noise, 0.0, _MAX_NOISE)
    seed = check_whole(name, "seed", seed, 0, _MAX_SEED)
    loss = check_choice(name, "loss", loss, REGRESSION_LOSSES)
    l1, l2 = _penalties(name, l1, l2)
    delta = _check_delta(name, delta)
    x, y = regression_rows(n, noise, seed)
    return _linear_surface(
        x,
        y,
        loss=loss,
        l1=l1,
        l2=l2,
        delta=delta,
        name=name,
        title="Linear regression",
        params={
            "n": n,
            "noise": noise,
            "seed": seed,
            "loss": loss,
            "l1": l1,
            "l2": l2,
            "delta": delta,
        },
        build=linear_regression,
    )


def linear_regression_from_data(
    x: Array, y: Array, *, loss: str = "mse", l1: float = 0.0, l2: float = 0.0, delta: float = 1.0
) -> Surface:
    """Linear regression ``y ≈ w·x + b`` on the user's rows ``x``, ``y`` (1-D, finite, equal
    length, at most ``MAX_ROWS``). Settings as in ``linear_regression``; ``build`` keeps the rows,
    so ``surface.build(loss="mae", ...)`` refits the same data.
    """
    name = "linear_regression_from_data"
    xa, ya = user_rows(name, x, y)
    loss = check_choice(name, "loss", loss, REGRESSION_LOSSES)
    l1, l2 = _penalties(name, l1, l2)
    delta = _check_delta(name, delta)
    return _linear_surface(
        xa,
        ya,
        loss=loss,
        l1=l1,
        l2=l2,
        delta=delta,
        name=name,
        title="Linear regression on your data",
        params={"loss": loss, "l1": l1, "l2": l2, "delta": delta},
        build=partial(linear_regression_from_data, xa, ya),
    )


def _check_delta(surface: str, delta: object) -> float:
    value = check_number(surface, "delta", delta, 0.0, _MAX_DELTA)
    if value == 0.0:
        raise ValueError(f"{surface}: delta must be greater than 0; got {delta!r}")
    return value


def _logistic_surface(
    x: Array,
    y: Array,
    *,
    l1: float,
    l2: float,
    name: str,
    title: str,
    params: Mapping[str, object],
    build: Callable[..., Surface],
) -> Surface:
    """Logistic regression on checked rows with labels in {0, 1}."""
    ones, zeros = x[y == 1.0], x[y == 0.0]
    both = ones.size > 0 and zeros.size > 0
    # With one feature, the unpenalised minimum is finite exactly when neither class lies
    # wholly on one side of the other (else the loss keeps falling as |w| grows).
    overlap = both and ones.min() < zeros.max() and zeros.min() < ones.max()
    finite = both and np.ptp(x) > 0 and (overlap or l1 > 0 or l2 > 0)

    def minimiser(value: Callable, grad: Callable, hessian: Callable):
        if not finite:
            return None
        return smooth_l1_minimiser(value, grad, hessian, l1, np.zeros(2))

    return _make(
        x,
        y,
        stats=mse_stats(x, y),
        row_loss=LOGISTIC,
        mse=False,
        l1=l1,
        l2=l2,
        minimiser=minimiser,
        fallback_window=((-6.0, 6.0), (-6.0, 6.0)),
        name=name,
        title=title,
        smooth=l1 == 0.0,
        latex=r"L(w,b) = \frac{1}{n}\sum_{i=1}^{n}\left[\log\left(1 + e^{z_i}\right)"
        r" - y_i z_i\right]" + _penalty_latex(l1, l2) + r",\quad z_i = w x_i + b",
        teaches="Cross-entropy of a classifier: while the classes overlap it has one minimum, "
        "but once they separate the loss keeps falling as w grows, unless L2 holds it back.",
        params=dict(params),
        data=Dataset(x, y, "classification"),
        # σ' ≤ ¼, so ¼·mean((x, 1)(x, 1)ᵀ) bounds the curvature everywhere: a rate just
        # under 2/λ of that bound is stable, and the true curvature is smaller.
        opening=_opening(
            x, 0.25, l2, 1.9,
            "Gradient descent starts from the coin flip w = b = 0 (probability ½ for every "
            "point) and turns it into the best classifier: the S-curve steepens and shifts "
            "until the loss reaches its minimum."
            if finite
            else "The classes do not overlap, so the loss has no minimum: gradient descent "
            "keeps making the S-curve steeper, and w keeps growing.",
        ),
        build=build,
    )


def logistic_regression(
    n: int = 100, noise: float = 1.0, seed: int = 0, l1: float = 0.0, l2: float = 0.0
) -> Surface:
    """Logistic regression ``P(y = 1 | x) = σ(w·x + b)`` on ``n`` generated rows.

    Half the rows are class 0 around x = −0.5, half class 1 around x = 1.5 (see
    ``_datarows.CLASS_CENTRES``), each spread by ``noise`` (a standard deviation); small noise
    separates the classes. The best logit is about ``(2/noise²)·(x − 0.5)``. Limits as in
    ``linear_regression``.
    """
    name = "logistic_regression"
    n = check_whole(name, "n", n, 1, MAX_ROWS)
    noise = check_number(name, "noise", noise, 0.0, _MAX_NOISE)
    seed = check_whole(name, "seed", seed, 0, _MAX_SEED)
    l1, l2 = _penalties(name, l1, l2)
    x, y = classification_rows(n, noise, seed)
    return _logistic_surface(
        x,
        y,
        l1=l1,
        l2=l2,
        name=name,
        title="Logistic regression (cross-entropy)",
        params={"n": n, "noise": noise, "seed": seed, "l1": l1, "l2": l2},
        build=logistic_regression,
    )


def logistic_regression_from_data(
    x: Array, y: Array, *, l1: float = 0.0, l2: float = 0.0
) -> Surface:
    """Logistic regression on the user's rows: ``x`` finite, ``y`` in {0, 1}, at most
    ``MAX_ROWS`` rows. ``build`` keeps the rows, so ``surface.build(l2=0.1)`` refits them.
    """
    name = "logistic_regression_from_data"
    xa, ya = user_rows(name, x, y)
    if not np.all((ya == 0.0) | (ya == 1.0)):
        bad = ya[(ya != 0.0) & (ya != 1.0)][0]
        raise ValueError(f"{name}: labels y must be 0 or 1; got {bad}")
    l1, l2 = _penalties(name, l1, l2)
    return _logistic_surface(
        xa,
        ya,
        l1=l1,
        l2=l2,
        name=name,
        title="Logistic regression on your data",
        params={"l1": l1, "l2": l2},
        build=partial(logistic_regression_from_data, xa, ya),
    )
