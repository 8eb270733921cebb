"""Optimisers as pairs of pure functions, following optax and PyTorch's ``torch.optim``.

An optimiser is ``init(params) -> state`` and
``update(grad, state, params, learning_rate=..., hessian=None) -> (step, new_state)``;
the new parameters are ``params + step``. State is a small ``NamedTuple`` returned fresh each
step; nothing is mutated in place. ``learning_rate`` is passed to every ``update`` call so a
schedule can change it per step; ``descent.run`` does that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

Array = np.ndarray

__all__ = ["Optimizer", "SGDState", "sgd"]


class Optimizer(NamedTuple):
    """A named optimiser: its hyperparameters and its ``init``/``update`` pair.

    ``update(grad, state, params, *, learning_rate, hessian=None)`` returns ``(step, state)``.
    ``needs_hessian`` tells the caller to pass the Hessian at ``params``.
    """

    name: str
    learning_rate: float
    hyperparams: Mapping[str, float | bool]
    init: Callable[[Array], Any]
    update: Callable[..., tuple[Array, Any]]
    needs_hessian: bool = False


def _check_learning_rate(learning_rate: float) -> float:
    lr = float(learning_rate)
    if not math.isfinite(lr) or lr <= 0.0:
        raise ValueError(f"Invalid learning rate: {learning_rate} (must be a finite number > 0)")
    return lr


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
    """
    lr = _check_learning_rate(learning_rate)
    mu = float(momentum)
    if not math.isfinite(mu) or not 0.0 <= mu < 1.0:
        raise ValueError(f"Invalid momentum value: {momentum} (must be in [0, 1))")
    if nesterov and mu == 0.0:
        raise ValueError("Nesterov momentum requires a momentum > 0")

    def init(params: Array) -> SGDState:
        return SGDState(count=0, velocity=np.zeros_like(np.asarray(params, dtype=float)))

    def update(
        grad: Array,
        state: SGDState,
        params: Array | None = None,
        *,
        learning_rate: float = lr,
        hessian: Array | None = None,
    ) -> tuple[Array, SGDState]:
        g = np.asarray(grad, dtype=float)
        if mu == 0.0:
            return -learning_rate * g, SGDState(state.count + 1, state.velocity)
        buf = g.copy() if state.count == 0 else mu * state.velocity + g
        direction = g + mu * buf if nesterov else buf
        return -learning_rate * direction, SGDState(state.count + 1, buf)

    name = "SGD" if mu == 0.0 else ("Nesterov" if nesterov else "Momentum")
    return Optimizer(
        name=name,
        learning_rate=lr,
        hyperparams={"learning_rate": lr, "momentum": mu, "nesterov": bool(nesterov)},
        init=init,
        update=update,
    )
