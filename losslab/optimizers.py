"""Optimisers as pairs of pure functions, following optax and PyTorch's ``torch.optim``.

An optimiser is ``init(params) -> state`` and
``update(grad, state, params, learning_rate=..., hessian=None) -> (step, new_state)``;
the new parameters are ``params + step``. State is a small ``NamedTuple`` returned fresh each
step; nothing is mutated in place. ``learning_rate`` is passed to every ``update`` call so a
schedule can change it per step; ``descent.run`` does that.

Conventions shared by every docstring below: updates are counted t = 1, 2, ...; update t uses
the gradient ``g_t = ∇L(w_{t-1})`` and the learning rate ``lr_t`` and produces ``w_t``. Every
optimiser but Newton reproduces ``torch.optim`` (float64, no weight decay unless named) to
floating-point rounding; ``tests/test_torch_parity.py`` checks it against torch itself.

One piece: eight optimisers written the same way (state, factory with checked hyperparameters,
the update rule in its docstring) and the registry that lists them, read side by side.

Each optimiser also has ``explain(state) -> dict[str, ndarray]``: the named, parameter-shaped
numbers that describe its state after an update (Adam's ``m``, ``v``, ``m_hat``, ``v_hat``, ...).
``descent.run`` records them in ``History.state`` so the app can explain any step.

The app builds optimisers by name: ``OPTIMIZERS`` maps registry names to factories,
``HYPERPARAMS`` describes each one's settings as data (for widgets), and ``make`` builds one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

import numpy as np

Array = np.ndarray

__all__ = [
    "Optimizer",
    "HyperParam",
    "SGDState",
    "AdaGradState",
    "RMSPropState",
    "AdamState",
    "NewtonState",
    "sgd",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "newton",
    "OPTIMIZERS",
    "HYPERPARAMS",
    "make",
]


def _state_fields(state: Any) -> dict[str, Array]:
    """The default ``explain``: a state NamedTuple's fields that are float vectors."""
    fields = getattr(state, "_asdict", dict)()
    return {
        k: np.asarray(v, dtype=float)
        for k, v in fields.items()
        if np.ndim(v) == 1 and np.asarray(v).dtype.kind == "f"
    }


class Optimizer(NamedTuple):
    """A named optimiser: its hyperparameters and its ``init``/``update`` pair.

    ``update(grad, state, params, *, learning_rate, hessian=None)`` returns ``(step, state)``.
    ``needs_hessian`` tells the caller to pass the Hessian at ``params``.
    ``momentum_param`` names the momentum-like hyperparameter (SGD's ``"momentum"``, Adam's
    ``"beta1"``) that a schedule may set per update through ``update(..., momentum=value)``,
    as torch's ``OneCycleLR`` sets ``param_group["momentum"]`` or ``betas[0]``; ``None`` when
    the optimiser has none (plain SGD, AdaGrad, RMSProp, Newton).
    ``explain(state)`` names the parameter-shaped numbers in a state (see the module docstring;
    by default the state's float-vector fields);
    ``kind`` is the update rule's family ("sgd", "adagrad", "rmsprop", "adam", "adamw",
    "newton"), which the ledger uses to write the rule out.
    """

    name: str
    learning_rate: float
    hyperparams: Mapping[str, float | bool]
    init: Callable[[Array], Any]
    update: Callable[..., tuple[Array, Any]]
    needs_hessian: bool = False
    explain: Callable[[Any], dict[str, Array]] = _state_fields
    kind: str = ""
    momentum_param: str | None = None


# --- validation -------------------------------------------------------------------------------


def _check_learning_rate(learning_rate: float) -> float:
    lr = float(learning_rate)
    if not math.isfinite(lr) or lr <= 0.0:
        raise ValueError(f"Invalid learning rate: {learning_rate} (must be a finite number > 0)")
    return lr


def _check_unit(name: str, value: float) -> float:
    """A decay rate in [0, 1): momentum, betas, RMSProp's decay."""
    v = float(value)
    if not math.isfinite(v) or not 0.0 <= v < 1.0:
        raise ValueError(f"Invalid {name} value: {value} (must be in [0, 1))")
    return v


def _check_positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"Invalid {name} value: {value} (must be a finite number > 0)")
    return v


def _check_nonnegative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"Invalid {name} value: {value} (must be a finite number >= 0)")
    return v


def _zeros(params: Array) -> Array:
    return np.zeros_like(np.asarray(params, dtype=float))


# --- SGD, momentum, Nesterov --------------------------------------------------------------------


class SGDState(NamedTuple):
    """``velocity`` is torch's momentum buffer; ``count`` the number of updates made."""

    count: int
    velocity: Array


def sgd(*, learning_rate: float, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """Stochastic gradient descent exactly as ``torch.optim.SGD(lr, momentum, nesterov)``.

    With dampening 0 and no weight decay, torch computes, at update t = 1, 2, ...::

        b_1 = g_1                      (the buffer starts as the first gradient)
        b_t = momentum * b_{t-1} + g_t (t > 1)
        d_t = g_t + momentum * b_t     if nesterov else b_t
        w_t = w_{t-1} - lr * d_t

    With ``momentum = 0`` this is plain gradient descent, ``w_t = w_{t-1} - lr * g_t``.
    Nesterov is torch's form: the look-ahead is folded into the direction ``g_t + μ b_t``,
    no gradient is evaluated at a shifted point. ``explain`` gives ``velocity`` (b_t) when
    momentum > 0, nothing otherwise.

    With momentum > 0, ``update(..., momentum=μ_t)`` uses μ_t for this update in both
    formulas, as torch does when a scheduler changes ``param_group["momentum"]``; the buffer
    still starts as the first gradient. Plain SGD has no buffer and takes no ``momentum=``.
    """
    lr = _check_learning_rate(learning_rate)
    mu = _check_unit("momentum", momentum)
    if nesterov and mu == 0.0:
        raise ValueError("Nesterov momentum requires a momentum > 0")

    def init(params: Array) -> SGDState:
        return SGDState(count=0, velocity=_zeros(params))

    def update(
        grad: Array,
        state: SGDState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
        momentum: float | None = None,
    ) -> tuple[Array, SGDState]:
        g = np.asarray(grad, dtype=float)
        if mu == 0.0:
            if momentum is not None:
                raise ValueError("plain SGD has no momentum for a schedule to set")
            return -learning_rate * g, SGDState(state.count + 1, state.velocity)
        m = mu if momentum is None else _check_unit("momentum", momentum)
        buf = g.copy() if state.count == 0 else m * state.velocity + g
        direction = g + m * buf if nesterov else buf
        return -learning_rate * direction, SGDState(state.count + 1, buf)

    def explain(state: SGDState) -> dict[str, Array]:
        return {} if mu == 0.0 else {"velocity": state.velocity}

    name = "SGD" if mu == 0.0 else ("Nesterov" if nesterov else "Momentum")
    return Optimizer(
        name=name,
        learning_rate=lr,
        hyperparams={"learning_rate": lr, "momentum": mu, "nesterov": bool(nesterov)},
        init=init,
        update=update,
        explain=explain,
        kind="sgd",
        momentum_param=None if mu == 0.0 else "momentum",
    )


# --- AdaGrad, RMSProp -----------------------------------------------------------------------------


class AdaGradState(NamedTuple):
    """``sum_sq`` is the running sum of squared gradients (torch's ``state_sum``)."""

    count: int
    sum_sq: Array


def adagrad(*, learning_rate: float, eps: float = 1e-10) -> Optimizer:
    """AdaGrad exactly as ``torch.optim.Adagrad(lr, eps=eps)`` (lr_decay 0, accumulator from 0).

    At update t = 1, 2, ... (element-wise)::

        s_t = s_{t-1} + g_t²           (s_0 = 0)
        w_t = w_{t-1} - lr * g_t / (√s_t + eps)

    eps is added after the square root, as torch does. Each coordinate's rate only shrinks,
    so AdaGrad slows down on long runs. ``explain`` gives ``sum_sq`` (s_t).
    """
    lr = _check_learning_rate(learning_rate)
    eps = _check_positive("epsilon", eps)

    def init(params: Array) -> AdaGradState:
        return AdaGradState(count=0, sum_sq=_zeros(params))

    def update(
        grad: Array,
        state: AdaGradState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
    ) -> tuple[Array, AdaGradState]:
        g = np.asarray(grad, dtype=float)
        sum_sq = state.sum_sq + g * g
        return -learning_rate * (g / (np.sqrt(sum_sq) + eps)), AdaGradState(
            state.count + 1, sum_sq
        )

    return Optimizer(
        name="AdaGrad",
        learning_rate=lr,
        hyperparams={"learning_rate": lr, "eps": eps},
        init=init,
        update=update,
        explain=lambda state: {"sum_sq": state.sum_sq},
        kind="adagrad",
    )


class RMSPropState(NamedTuple):
    """``square_avg`` is the moving average of squared gradients (torch's name)."""

    count: int
    square_avg: Array


def rmsprop(*, learning_rate: float, decay: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSProp exactly as ``torch.optim.RMSprop(lr, alpha=decay, eps=eps)``.

    Not centred, no momentum. At update t = 1, 2, ... (element-wise)::

        a_t = decay * a_{t-1} + (1 - decay) * g_t²   (a_0 = 0, no bias correction)
        w_t = w_{t-1} - lr * g_t / (√a_t + eps)

    eps is added after the square root, as torch does. With no bias correction the first
    steps are large: a_1 = (1 - decay) g_1², so the first step is about lr/√(1 - decay)
    (10·lr for decay 0.99). ``explain`` gives ``square_avg`` (a_t).
    """
    lr = _check_learning_rate(learning_rate)
    alpha = _check_unit("decay", decay)
    eps = _check_positive("epsilon", eps)

    def init(params: Array) -> RMSPropState:
        return RMSPropState(count=0, square_avg=_zeros(params))

    def update(
        grad: Array,
        state: RMSPropState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
    ) -> tuple[Array, RMSPropState]:
        g = np.asarray(grad, dtype=float)
        square_avg = alpha * state.square_avg + (1.0 - alpha) * g * g
        return -learning_rate * (g / (np.sqrt(square_avg) + eps)), RMSPropState(
            state.count + 1, square_avg
        )

    return Optimizer(
        name="RMSProp",
        learning_rate=lr,
        hyperparams={"learning_rate": lr, "decay": alpha, "eps": eps},
        init=init,
        update=update,
        explain=lambda state: {"square_avg": state.square_avg},
        kind="rmsprop",
    )


# --- Adam, AdamW ----------------------------------------------------------------------------------


class AdamState(NamedTuple):
    """First and second moment estimates ``m``, ``v`` (torch's ``exp_avg``, ``exp_avg_sq``);
    ``beta1`` is the β1 of the last update when a schedule set it, else ``None``."""

    count: int
    m: Array
    v: Array
    beta1: float | None = None


def _adam(
    name: str, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> Optimizer:
    decoupled = name == "AdamW"

    def init(params: Array) -> AdamState:
        return AdamState(count=0, m=_zeros(params), v=_zeros(params))

    def update(
        grad: Array,
        state: AdamState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
        momentum: float | None = None,
    ) -> tuple[Array, AdamState]:
        g = np.asarray(grad, dtype=float)
        t = state.count + 1
        b1 = beta1 if momentum is None else _check_unit("beta1", momentum)
        m = b1 * state.m + (1.0 - b1) * g
        v = beta2 * state.v + (1.0 - beta2) * g * g
        bias1 = 1.0 - b1**t
        bias2 = 1.0 - beta2**t
        # torch's arithmetic order: denom = √v / √(1 - β2^t) + eps, then a step of lr/(1 - β1^t).
        denom = np.sqrt(v) / bias2**0.5 + eps
        step = -(learning_rate / bias1) * (m / denom)
        if decoupled and weight_decay != 0.0:
            if params is None:
                raise ValueError("AdamW needs the current parameters for its weight decay")
            step = step - learning_rate * weight_decay * np.asarray(params, dtype=float)
        return step, AdamState(t, m, v, None if momentum is None else b1)

    def explain(state: AdamState) -> dict[str, Array]:
        if state.count == 0:
            return {"m": state.m, "v": state.v, "m_hat": state.m, "v_hat": state.v}
        b1 = beta1 if state.beta1 is None else state.beta1
        return {
            "m": state.m,
            "v": state.v,
            "m_hat": state.m / (1.0 - b1**state.count),
            "v_hat": state.v / (1.0 - beta2**state.count),
        }

    hyperparams: dict[str, float | bool] = {
        "learning_rate": lr,
        "beta1": beta1,
        "beta2": beta2,
        "eps": eps,
    }
    if decoupled:
        hyperparams["weight_decay"] = weight_decay
    return Optimizer(
        name=name,
        learning_rate=lr,
        hyperparams=hyperparams,
        init=init,
        update=update,
        explain=explain,
        kind="adamw" if decoupled else "adam",
        momentum_param="beta1",
    )


def adam(
    *, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> Optimizer:
    """Adam exactly as ``torch.optim.Adam(lr, betas=(beta1, beta2), eps=eps)``.

    At update t = 1, 2, ... (element-wise; m_0 = v_0 = 0)::

        m_t = β1 m_{t-1} + (1 - β1) g_t
        v_t = β2 v_{t-1} + (1 - β2) g_t²
        m̂_t = m_t / (1 - β1^t)          v̂_t = v_t / (1 - β2^t)      (bias correction)
        w_t = w_{t-1} - lr * m̂_t / (√v̂_t + eps)

    eps is added to √v̂_t, not to v̂_t, and torch evaluates the step as
    ``-(lr / (1 - β1^t)) * m_t / (√v_t / √(1 - β2^t) + eps)``, which this code copies.
    The first step therefore has size ≈ lr in every coordinate whatever the gradient's
    scale. ``explain`` gives ``m``, ``v``, ``m_hat`` and ``v_hat``.

    ``update(..., momentum=β1_t)`` uses β1_t for this update, as torch does when a scheduler
    sets ``betas[0]``: ``m_t = β1_t m_{t-1} + (1 - β1_t) g_t`` and the bias correction is
    ``1 - β1_t^t`` with the current β1, not a product of the past ones.
    """
    lr = _check_learning_rate(learning_rate)
    return _adam(
        "Adam",
        lr,
        _check_unit("beta1", beta1),
        _check_unit("beta2", beta2),
        _check_positive("epsilon", eps),
        0.0,
    )


def adamw(
    *,
    learning_rate: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> Optimizer:
    """AdamW exactly as ``torch.optim.AdamW(lr, betas, eps, weight_decay)``.

    Decoupled weight decay, applied to the weights before Adam's step and never fed into
    the moments::

        w'  = w_{t-1} (1 - lr * weight_decay)
        w_t = w' - lr * m̂_t / (√v̂_t + eps)      (m̂, v̂ as in ``adam``, from g_t alone)

    So the step returned is ``-lr * weight_decay * w_{t-1} - lr * m̂_t / (√v̂_t + eps)``.
    With ``weight_decay = 0`` AdamW is Adam. The decay pulls every weight towards 0, so
    AdamW's resting point is not the loss's minimiser unless that is at the origin.
    """
    lr = _check_learning_rate(learning_rate)
    return _adam(
        "AdamW",
        lr,
        _check_unit("beta1", beta1),
        _check_unit("beta2", beta2),
        _check_positive("epsilon", eps),
        _check_nonnegative("weight_decay", weight_decay),
    )


# --- Newton ---------------------------------------------------------------------------------------


class NewtonState(NamedTuple):
    """``curvature``: the Hessian's eigenvalues (ascending) where the last step was taken."""

    count: int
    curvature: Array


def newton(*, learning_rate: float = 1.0, damping: float = 0.0) -> Optimizer:
    """Damped Newton's method: ``Δw = -lr · (H + damping·I)⁻¹ g`` with H the surface's Hessian.

    At update t = 1, 2, ..., with ``H_t = ∇²L(w_{t-1})``::

        w_t = w_{t-1} - lr * (H_t + damping * I)⁺ g_t

    ``⁺`` is the minimum-norm least-squares solve (``numpy.linalg.lstsq``, the pseudo-inverse),
    which is the ordinary inverse whenever ``H_t + damping·I`` is invertible. On a quadratic
    bowl, ``lr = 1`` and ``damping = 0`` land on the minimum in one step.

    What it does where plain Newton is in trouble — shown, not hidden:

    - Indefinite H (a saddle) or negative definite H (a maximum): the raw step is followed.
      It goes to where the local quadratic model is stationary, so plain Newton is *attracted*
      to saddles and maxima. ``explain`` records ``curvature`` (H's eigenvalues) so the app can
      point at the negative one. A ``damping`` larger than ``-λ_min`` makes the matrix positive
      definite and the step a descent direction again (Levenberg–Marquardt style).
    - Singular H + damping·I (a flat direction): no ``LinAlgError``. The pseudo-inverse drops
      the part of the gradient along the flat direction, so Newton does not move along it; it
      stalls there rather than taking an infinite step. Nearly singular matrices give huge
      steps, which ``descent.run`` reports as divergence.
    - A non-finite gradient or Hessian gives a non-finite step (again reported as divergence).

    ``needs_hessian`` is True: ``descent.run`` passes ``hessian=`` to every update.
    """
    lr = _check_learning_rate(learning_rate)
    damp = _check_nonnegative("damping", damping)

    def init(params: Array) -> NewtonState:
        return NewtonState(count=0, curvature=_zeros(params))

    def update(
        grad: Array,
        state: NewtonState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
    ) -> tuple[Array, NewtonState]:
        if hessian is None:
            raise ValueError("Newton's method needs the Hessian: pass hessian=")
        g = np.asarray(grad, dtype=float).reshape(-1)
        h = np.asarray(hessian, dtype=float).reshape(g.size, g.size)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            nan = np.full(g.shape, np.nan)
            return nan, NewtonState(state.count + 1, nan)
        curvature = np.linalg.eigvalsh((h + h.T) / 2.0)
        direction = np.linalg.lstsq(h + damp * np.eye(g.size), g, rcond=None)[0]
        return -learning_rate * direction, NewtonState(state.count + 1, curvature)

    return Optimizer(
        name="Newton",
        learning_rate=lr,
        hyperparams={"learning_rate": lr, "damping": damp},
        init=init,
        update=update,
        needs_hessian=True,
        explain=lambda state: {"curvature": state.curvature},
        kind="newton",
    )


# --- registry -------------------------------------------------------------------------------------


class HyperParam(NamedTuple):
    """One setting of an optimiser, described as data for the app's widgets (schedules have
    ``schedules.ScheduleParam``, which adds the link key).

    ``min_value``/``max_value`` bound the widget (a sensible teaching range), which may be
    narrower than what the factory accepts. ``log`` suggests a logarithmic slider.
    """

    name: str
    default: float | int | bool
    min_value: float | int | None
    max_value: float | int | None
    help: str
    kind: Literal["float", "int", "bool"] = "float"
    log: bool = False


def _rate(default: float, max_value: float = 10.0) -> HyperParam:
    return HyperParam(
        "learning_rate", default, 1e-4, max_value,
        "Base step size lr; a schedule multiplies it at each update.", log=True,
    )


_EPS_HELP = "Added to the square root in the denominator so it is never zero."
_MOMENTUM = HyperParam(
    "momentum", 0.9, 0.0, 0.99, "How much of the previous direction is kept (μ)."
)
_ADAM_HYPERPARAMS = (
    _rate(0.05),
    HyperParam("beta1", 0.9, 0.0, 0.999, "Decay of the gradient's moving average m."),
    HyperParam("beta2", 0.999, 0.0, 0.9999, "Decay of the squared gradient's moving average v."),
    HyperParam("eps", 1e-8, 1e-12, 1.0, _EPS_HELP, log=True),
)

OPTIMIZERS: Mapping[str, Callable[..., Optimizer]] = MappingProxyType({
    "sgd": sgd,
    "momentum": partial(sgd, momentum=0.9),
    "nesterov": partial(sgd, momentum=0.9, nesterov=True),
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
    "newton": newton,
})
"""Registry name → factory. ``momentum`` and ``nesterov`` are ``sgd`` presets. Read-only:
every session shares it."""

HYPERPARAMS: Mapping[str, tuple[HyperParam, ...]] = MappingProxyType({
    "sgd": (_rate(0.05),),
    "momentum": (_rate(0.05), _MOMENTUM),
    "nesterov": (_rate(0.05), _MOMENTUM._replace(min_value=0.01)),
    "adagrad": (_rate(0.5), HyperParam("eps", 1e-10, 1e-12, 1.0, _EPS_HELP, log=True)),
    "rmsprop": (
        _rate(0.01),
        HyperParam("decay", 0.99, 0.0, 0.999, "Decay of the squared gradient's moving average."),
        HyperParam("eps", 1e-8, 1e-12, 1.0, _EPS_HELP, log=True),
    ),
    "adam": _ADAM_HYPERPARAMS,
    "adamw": (
        *_ADAM_HYPERPARAMS,
        HyperParam("weight_decay", 0.01, 0.0, 1.0, "Shrinks the weights towards 0 each step."),
    ),
    "newton": (
        _rate(1.0, max_value=2.0),
        HyperParam(
            "damping", 0.0, 0.0, 10.0,
            "Added to the Hessian's diagonal; large enough, it turns saddles into bowls.",
        ),
    ),
})
"""Registry name → its settings (the app's widgets); defaults are teaching defaults.
Read-only: every session shares it."""


def make(name: str, **hyperparams: float | bool) -> Optimizer:
    """The registry optimiser ``name``; settings not given take their ``HYPERPARAMS`` defaults.

    Raises ``ValueError`` for an unknown name or setting (listing the valid ones) and for
    invalid values.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    declared = {p.name: p.default for p in HYPERPARAMS[name]}
    unknown = sorted(set(hyperparams) - set(declared))
    if unknown:
        raise ValueError(
            f"{name} has no setting {', '.join(unknown)}; its settings: {', '.join(declared)}"
        )
    return OPTIMIZERS[name](**{**declared, **hyperparams})
