"""Run an optimiser on a surface and keep the whole history, stopping cleanly on divergence.

``run`` takes the steps; ``label`` sorts a finished run into one of five outcomes and
``summary`` says it in one plain sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from losslab.optimizers import Optimizer
from losslab.surfaces import Surface

Array = np.ndarray
Schedule = Callable[[int], float]
"""Update index t = 0, 1, ... → multiplier of the base learning rate (see ``schedules``)."""
Label = Literal["converged", "converging", "oscillating", "stalled", "diverged"]

__all__ = [
    "MAX_STEPS",
    "MAX_PARAM",
    "WINDOW",
    "History",
    "Label",
    "Schedule",
    "run",
    "label",
    "summary",
]

MAX_STEPS = 5000
"""The most steps one run may take; larger requests are capped, never trusted."""
MAX_PARAM = 1e6
"""A parameter beyond this magnitude counts as diverged."""
_EXPLODED = 1e8
"""A loss above this many times (1 + |initial loss|) counts as diverged."""


@dataclass(frozen=True)
class History:
    """What happened in one run. Step 0 is the start; ``n = len(self)`` iterates were kept.

    Update t (t = 1, ..., n - 1) took iterate t - 1 to iterate t.

    Attributes:
        params: iterates, shape ``(n, dim)``.
        loss: loss at each iterate, shape ``(n,)``.
        grad: full gradient at each iterate, shape ``(n, dim)``.
        learning_rate: rate used for the update from step t to t + 1, shape ``(n - 1,)``.
        state: the optimiser's ``explain(state)`` after the update that produced each iterate,
            one ``(n, dim)`` array per name (zeros at step 0 where nothing was kept yet).
        batch_grad: the sampled gradient that was used, shape ``(n - 1, dim)``, in mini-batch
            runs; ``None`` in full-batch runs.
        diverged_at: the first step whose value was non-finite, beyond ``MAX_PARAM``, an
            exploded loss, or whose optimiser state overflowed to infinity (that step is not
            kept), else ``None``.
        steps_requested: the number of steps asked for, after capping.
        hessian: the Hessian used for the update from step t to t + 1, shape
            ``(n - 1, dim, dim)``, for optimisers that need one (Newton); else ``None``.
    """

    params: Array
    loss: Array
    grad: Array
    learning_rate: Array
    state: dict[str, Array] = field(default_factory=dict)
    batch_grad: Array | None = None
    diverged_at: int | None = None
    steps_requested: int = 0
    hessian: Array | None = None

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def final(self) -> Array:
        """The last kept iterate."""
        return self.params[-1]


def _state_arrays(optimizer: Optimizer, state: object, dim: int) -> dict[str, Array]:
    """The optimiser's named, parameter-shaped numbers for ``state``."""
    out = {}
    for name, value in optimizer.explain(state).items():
        arr = np.asarray(value, dtype=float)
        if arr.shape == (dim,):
            out[name] = arr
    return out


def _healthy(p: Array, loss: float, g: Array, loss_limit: float) -> bool:
    return bool(
        np.all(np.isfinite(p))
        and np.all(np.abs(p) <= MAX_PARAM)
        and np.isfinite(loss)
        and abs(loss) <= loss_limit
        and np.all(np.isfinite(g))
    )


def _factor(schedule: Schedule | None, t: int) -> float:
    if schedule is None:
        return 1.0
    factor = float(schedule(t))
    if not math.isfinite(factor) or factor < 0.0:
        raise ValueError(f"the schedule gave factor {factor} at update {t}; it must be >= 0")
    return factor


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
    (a negative or non-finite factor is a ``ValueError``).
    ``batch`` is a mini-batch size for data-driven surfaces: each update then uses the gradient
    of ``batch`` rows drawn without replacement by a generator seeded with ``seed`` (same seed,
    same path). ``steps`` is capped at ``MAX_STEPS``. Optimisers with ``needs_hessian`` get the
    surface's Hessian at the current iterate, which is kept in ``History.hessian``.
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
    params, losses, grads, rates, batch_grads, hessians = [p], [loss0], [g], [], [], []
    states = [{k: np.zeros_like(v) for k, v in _state_arrays(optimizer, state, p.size).items()}]
    diverged_at = None
    with np.errstate(all="ignore"):
        for t in range(steps):
            lr = optimizer.learning_rate * _factor(schedule, t)
            used = g
            if batch is not None:
                rows = rng.choice(n_rows, size=batch, replace=False)
                used = np.asarray(surface.batch_grad(p, rows), dtype=float)
            hessian = surface.hessian(p) if optimizer.needs_hessian else None
            step, state = optimizer.update(used, state, p, learning_rate=lr, hessian=hessian)
            p_next = p + step
            loss_next = float(surface.loss(p_next)) if np.all(np.isfinite(p_next)) else np.nan
            g_next = surface.grad(p_next) if np.isfinite(loss_next) else p_next * np.nan
            kept = _state_arrays(optimizer, state, surface.dim)
            # A gradient beyond ~1e154 squares to inf in Adam's, RMSProp's or AdaGrad's state;
            # the step then divides by inf and is 0, so the run would stand still and look
            # converged. An overflowed state is divergence at this step.
            overflowed = not all(np.all(np.isfinite(v)) for v in kept.values())
            if overflowed or not _healthy(p_next, loss_next, g_next, loss_limit):
                diverged_at = t + 1
                break
            p, g = p_next, g_next
            params.append(p)
            losses.append(loss_next)
            grads.append(g)
            rates.append(lr)
            states.append(kept)
            if batch is not None:
                batch_grads.append(used)
            if hessian is not None:
                hessians.append(hessian.reshape(surface.dim, surface.dim))

    keys = states[0].keys()
    dim = surface.dim
    return History(
        params=np.array(params),
        loss=np.array(losses),
        grad=np.array(grads),
        learning_rate=np.array(rates, dtype=float),
        state={k: np.array([s[k] for s in states]) for k in keys},
        batch_grad=None if batch is None else np.array(batch_grads).reshape(-1, dim),
        diverged_at=diverged_at,
        steps_requested=steps,
        hessian=np.array(hessians).reshape(-1, dim, dim) if optimizer.needs_hessian else None,
    )


# --- labels ---------------------------------------------------------------------------------------

WINDOW = 20
"""How many of the last updates ``label`` looks at for oscillation and progress."""
_LOSS_RTOL = 1e-6  # converged: loss gap ≤ this × the start's gap (+ _ABS_TOL)
_GRAD_RTOL = 1e-6  # a gradient this small relative to the start's is "at a stationary point"
_ABS_TOL = 1e-12
_PROGRESS_RTOL = 1e-3  # less fall than this fraction of the reference is "no progress"
_FLIP_SHARE = 0.75  # this share of sign flips along the dominant direction is oscillation
_MIN_FLIPS_SEEN = 4  # steps needed to judge oscillation


def _norms(rows: Array) -> Array:
    """Euclidean norm of each row, without overflow: a gradient of 1e170 has norm 1e170, not
    inf (its square would overflow)."""
    rows = np.asarray(rows, dtype=float)
    scale = np.max(np.abs(rows), axis=1, keepdims=True, initial=0.0)
    safe = np.where(scale > 0, scale, 1.0)
    return scale[:, 0] * np.linalg.norm(rows / safe, axis=1)


def _grad_norms(history: History) -> Array:
    return _norms(history.grad.reshape(len(history), -1))


def _at_goal(history: History, surface: Surface | None) -> Array:
    """Per step: is this iterate where the run should end up?

    With a declared optimal value L*: the gap L − L* is at most ``_LOSS_RTOL`` × the start's
    gap (+ 1e-12). Otherwise: the gradient norm is at most ``_GRAD_RTOL`` × the start's
    (+ 1e-12) — a stationary point.
    """
    if surface is not None and surface.optimal_value is not None:
        gap = history.loss - surface.optimal_value
        return gap <= _LOSS_RTOL * max(float(gap[0]), 0.0) + _ABS_TOL
    norms = _grad_norms(history)
    return norms <= _GRAD_RTOL * norms[0] + _ABS_TOL


def _is_saddle_or_max(surface: Surface, at: Array) -> bool:
    h = surface.hessian(at).reshape(surface.dim, surface.dim)
    curvature = np.linalg.eigvalsh((h + h.T) / 2.0)
    return bool(curvature.min() < -1e-9 * max(1.0, float(np.abs(curvature).max())))


def _oscillating(history: History) -> bool:
    steps = np.diff(history.params[-(WINDOW + 1) :], axis=0)
    scale = 1e-12 * (1.0 + float(_norms(history.final[np.newaxis])[0]))
    moving = steps[_norms(steps) > scale]
    if len(moving) < _MIN_FLIPS_SEEN:
        return False
    dominant = np.linalg.svd(moving, full_matrices=False)[2][0]
    along = moving @ dominant
    along = along[np.abs(along) > scale]
    if len(along) < _MIN_FLIPS_SEEN:
        return False
    flips = np.count_nonzero(along[1:] * along[:-1] < 0)
    return flips >= _FLIP_SHARE * (len(along) - 1)


def _progressing(history: History, surface: Surface | None) -> bool:
    first = max(len(history) - 1 - WINDOW, 0)
    fall = float(history.loss[first] - history.loss[-1])
    if surface is not None and surface.optimal_value is not None:
        reference = float(history.loss[first] - surface.optimal_value)
    else:
        reference = float(history.loss[0] - history.loss[first])
    return fall > _PROGRESS_RTOL * max(reference, 0.0)


def label(history: History, surface: Surface | None = None) -> Label:
    """Sort a run into one outcome; the first rule that applies wins.

    1. ``"diverged"``: the run stopped early (``diverged_at`` is set).
    2. ``"converged"``: the last iterate is at the goal. With ``surface`` declaring an
       ``optimal_value`` L*, that is loss − L* ≤ 1e-6 × (start loss − L*) + 1e-12 (a local
       minimum that is not global does not count). Otherwise it is a stationary point:
       gradient norm ≤ 1e-6 × the start's + 1e-12, and, when ``surface`` is given, no negative
       Hessian eigenvalue there (a saddle or maximum does not count).
    3. ``"oscillating"``: over the last ``WINDOW`` updates, the steps' projection on their
       dominant direction (first right-singular vector) changes sign on at least 75% of
       consecutive updates (at least 4 non-negligible steps needed).
    4. ``"stalled"``: the gradient is tiny (as in rule 2) but this is not the goal — a saddle, a
       local minimum, a flat spot — or the loss fell over the last ``WINDOW`` updates by no more
       than 1e-3 × a reference: the gap to L* at the window's start when L* is declared,
       else the fall achieved before the window. Barely moving and rising loss count here.
    5. ``"converging"``: otherwise — the loss is still falling.
    """
    if history.diverged_at is not None:
        return "diverged"
    norms = _grad_norms(history)
    stationary = bool(norms[-1] <= _GRAD_RTOL * norms[0] + _ABS_TOL)
    if _at_goal(history, surface)[-1] and not (
        surface is not None
        and surface.optimal_value is None
        and _is_saddle_or_max(surface, history.final)
    ):
        return "converged"
    if _oscillating(history):
        return "oscillating"
    if stationary or not _progressing(history, surface):
        return "stalled"
    return "converging"


def _number(x: float) -> str:
    return f"{x:.3g}"


def summary(name: str, history: History, surface: Surface | None = None) -> str:
    """One plain sentence on a run, built on ``label``.

    - diverged: "SGD diverged at step 7"
    - converged: "Adam converged: loss 0.003 at step 120", naming the first step from which
      every later iterate is at the goal (see ``label``)
    - otherwise: "Momentum is oscillating: loss 2.5 at step 200" ("is still converging",
      "stalled") with the last step's loss.
    """
    outcome = label(history, surface)
    if outcome == "diverged":
        return f"{name} diverged at step {history.diverged_at}"
    last = len(history) - 1
    if outcome == "converged":
        goal = _at_goal(history, surface)
        away = np.flatnonzero(~goal)
        first = 0 if len(away) == 0 else int(away[-1]) + 1
        first = min(first, last)
        return f"{name} converged: loss {_number(history.loss[first])} at step {first}"
    verb = {
        "oscillating": "is oscillating",
        "stalled": "stalled",
        "converging": "is still converging",
    }
    return f"{name} {verb[outcome]}: loss {_number(history.loss[last])} at step {last}"
