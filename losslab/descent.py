"""Run an optimiser on a surface and keep the whole history, stopping cleanly on divergence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from losslab.optimizers import Optimizer
from losslab.surfaces import Surface

Array = np.ndarray
Schedule = Callable[[int], float]

__all__ = ["MAX_STEPS", "MAX_PARAM", "History", "run"]

MAX_STEPS = 5000
"""The most steps one run may take; larger requests are capped, never trusted."""
MAX_PARAM = 1e6
"""A parameter beyond this magnitude counts as diverged."""
_EXPLODED = 1e8
"""A loss above this many times (1 + |initial loss|) counts as diverged."""


@dataclass(frozen=True)
class History:
    """What happened in one run. Step 0 is the start; ``n = len(self)`` iterates were kept.

    Attributes:
        params: iterates, shape ``(n, dim)``.
        loss: loss at each iterate, shape ``(n,)``.
        grad: full gradient at each iterate, shape ``(n, dim)``.
        learning_rate: rate used for the update from step t to t + 1, shape ``(n - 1,)``.
        state: the optimiser's state after the update that produced each iterate, one
            ``(n, dim)`` array per state field (zeros at step 0 where nothing was kept yet).
        batch_grad: the sampled gradient that was used, shape ``(n - 1, dim)``, in mini-batch
            runs; ``None`` in full-batch runs.
        diverged_at: the first step whose value was non-finite, beyond ``MAX_PARAM`` or an
            exploded loss (that step is not kept), else ``None``.
        steps_requested: the number of steps asked for, after capping.
    """

    params: Array
    loss: Array
    grad: Array
    learning_rate: Array
    state: dict[str, Array] = field(default_factory=dict)
    batch_grad: Array | None = None
    diverged_at: int | None = None
    steps_requested: int = 0

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def final(self) -> Array:
        """The last kept iterate."""
        return self.params[-1]


def _state_arrays(state: object, dim: int) -> dict[str, Array]:
    """The fields of a state NamedTuple that are parameter-shaped vectors."""
    fields = getattr(state, "_asdict", lambda: {})()
    out = {}
    for name, value in fields.items():
        arr = np.asarray(value)
        if arr.shape == (dim,) and arr.dtype.kind == "f":
            out[name] = arr.astype(float)
    return out


def _healthy(p: Array, loss: float, g: Array, loss_limit: float) -> bool:
    return bool(
        np.all(np.isfinite(p))
        and np.all(np.abs(p) <= MAX_PARAM)
        and np.isfinite(loss)
        and abs(loss) <= loss_limit
        and np.all(np.isfinite(g))
    )


def run(
    surface: Surface,
    optimizer: Optimizer,
    *,
    start: Sequence[float] | Array,
    steps: int,
    schedule: Schedule | None = None,
    batch: int | None = None,
    seed: int = 0,
) -> History:
    """Take ``steps`` optimiser steps on ``surface`` from ``start``; step 0 is the start.

    ``schedule(t)`` multiplies the optimiser's learning rate at update t = 0, 1, ...
    ``batch`` is a mini-batch size for data-driven surfaces: each update then uses the gradient
    of ``batch`` rows drawn without replacement by a generator seeded with ``seed`` (same seed,
    same path). ``steps`` is capped at ``MAX_STEPS``.
    """
    steps = int(min(max(int(steps), 0), MAX_STEPS))
    p = np.asarray(start, dtype=float).reshape(-1)
    if p.shape != (surface.dim,):
        raise ValueError(f"start must have {surface.dim} coordinate(s); got {p.size}")
    if batch is not None and (surface.data is None or surface.batch_grad is None):
        raise ValueError(f"{surface.name} has no data rows, so it has no mini-batches")
    rng = np.random.default_rng(seed)
    n_rows = 0 if surface.data is None else len(surface.data.x)
    batch = None if batch is None else int(min(max(int(batch), 1), max(n_rows, 1)))

    loss0 = float(surface.loss(p))
    g = surface.grad(p)
    if not _healthy(p, loss0, g, np.inf):
        raise ValueError(f"the start point {p.tolist()} is outside where {surface.name} is defined")
    loss_limit = _EXPLODED * (1.0 + abs(loss0))

    state = optimizer.init(p)
    params, losses, grads, rates, batch_grads = [p], [loss0], [g], [], []
    states = [{k: np.zeros_like(v) for k, v in _state_arrays(state, surface.dim).items()}]
    diverged_at = None
    with np.errstate(all="ignore"):
        for t in range(steps):
            lr = optimizer.learning_rate * (1.0 if schedule is None else float(schedule(t)))
            used = g
            if batch is not None:
                rows = rng.choice(n_rows, size=batch, replace=False)
                used = np.asarray(surface.batch_grad(p, rows), dtype=float)
            hessian = surface.hessian(p) if optimizer.needs_hessian else None
            step, state = optimizer.update(used, state, p, learning_rate=lr, hessian=hessian)
            p_next = p + step
            loss_next = float(surface.loss(p_next)) if np.all(np.isfinite(p_next)) else np.nan
            g_next = surface.grad(p_next) if np.isfinite(loss_next) else p_next * np.nan
            if not _healthy(p_next, loss_next, g_next, loss_limit):
                diverged_at = t + 1
                break
            p, g = p_next, g_next
            params.append(p)
            losses.append(loss_next)
            grads.append(g)
            rates.append(lr)
            states.append(_state_arrays(state, surface.dim))
            if batch is not None:
                batch_grads.append(used)

    keys = states[0].keys()
    return History(
        params=np.array(params),
        loss=np.array(losses),
        grad=np.array(grads),
        learning_rate=np.array(rates, dtype=float),
        state={k: np.array([s[k] for s in states]) for k in keys},
        batch_grad=None if batch is None else np.array(batch_grads).reshape(-1, surface.dim),
        diverged_at=diverged_at,
        steps_requested=steps,
    )
