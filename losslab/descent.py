"""Run an optimiser on a surface and keep the whole history, stopping cleanly on divergence.

``run`` takes the steps; ``label`` sorts a finished run into one of five outcomes and
``summary`` says it in one plain sentence. The rules of a run (the step cap, what counts as
diverged, how a schedule scales the rate) are public here so the network's training loop
(``nn.train``) follows the very same ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from losslab.optimizers import Optimizer
from losslab.surfaces import Surface

Array = np.ndarray
Schedule = Callable[[int], float]
"""Update index t = 0, 1, ... → multiplier of the base learning rate (see ``schedules``)."""


class Scheduler(NamedTuple):
    """A schedule that keeps state: it may read the loss and set the momentum.

    ``init(base_lr) -> state`` takes the optimiser's own learning rate. Then, at each update
    t = 0, 1, ..., ``update(t, loss, state) -> (lr, momentum, state)``: ``loss`` is the loss at
    the iterate the update starts from (``History.loss[t]``), ``lr`` the rate this update uses
    and ``momentum`` the optimiser's momentum (SGD) or β1 (Adam) for it, or ``None`` to leave it
    alone. A torch training loop computes that loss, steps the optimiser, then steps its
    scheduler with the loss; to match it, ``lr`` must be decided before ``loss`` is read and
    ``loss`` kept in the state for later updates (``schedules.plateau`` does this).
    """

    init: Callable[[float], Any]
    update: Callable[[int, float, Any], tuple[float, float | None, Any]]


def as_scheduler(schedule: Schedule | Scheduler) -> Scheduler:
    """``schedule`` as a ``Scheduler``: a pure factor schedule gives ``base_lr · schedule(t)``
    and leaves the momentum alone; a ``Scheduler`` is returned as it is."""
    if isinstance(schedule, Scheduler):
        return schedule

    def update(t: int, loss: float, base_lr: float) -> tuple[float, None, float]:
        return base_lr * rate_factor(schedule, t), None, base_lr

    return Scheduler(init=float, update=update)

Label = Literal["converged", "converging", "oscillating", "jittering", "stalled", "diverged"]

__all__ = [
    "EXPLODED",
    "MAX_STEPS",
    "MAX_PARAM",
    "WINDOW",
    "History",
    "Label",
    "Schedule",
    "Scheduler",
    "as_scheduler",
    "capped_steps",
    "healthy",
    "loss_limit",
    "rate_factor",
    "run",
    "label",
    "settled_at",
    "start_values",
    "step_sentence",
    "summary",
]

MAX_STEPS = 5000
"""The most steps one run may take; larger requests are capped, never trusted."""
MAX_PARAM = 1e6
"""A parameter beyond this magnitude counts as diverged."""
EXPLODED = 1e8
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
        momentum: the momentum (SGD) or β1 (Adam) used for the update from step t to t + 1,
            shape ``(n - 1,)``, when a schedule set it at some update (the optimiser's own
            value fills the others); else ``None`` (its own value was used throughout).
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
    momentum: Array | None = None

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


def capped_steps(steps: int) -> int:
    """``steps`` as a count of updates in [0, ``MAX_STEPS``]: requests are capped, never trusted."""
    return int(min(max(int(steps), 0), MAX_STEPS))


def loss_limit(initial_loss: float) -> float:
    """The loss beyond which a run that started at ``initial_loss`` counts as diverged."""
    return EXPLODED * (1.0 + abs(float(initial_loss)))


def start_values(surface: Surface, start: Array) -> tuple[float, Array]:
    """The loss and the gradient where a run starts; ``ValueError`` in words where the
    surface is not defined there (a log of a negative number) or the start is not finite."""
    loss = float(surface.loss(start))
    g = surface.grad(start)
    if not healthy(start, loss, g, np.inf):
        where = ", ".join(f"{float(v):g}" for v in np.ravel(start))
        raise ValueError(f"the loss is not defined at the start point ({where})")
    return loss, g


def healthy(p: Array, loss: float, g: Array, limit: float) -> bool:
    """Whether an iterate may be kept: every parameter finite and within ``MAX_PARAM``, the loss
    finite and at most ``limit`` in size (see ``loss_limit``), the gradient finite."""
    # The hot path of every run: a few reductions on tiny arrays, so no np.all wrappers.
    # A NaN or infinity in p fails ``<= MAX_PARAM`` (NaN compares false), and so does one in g.
    return bool(
        math.isfinite(loss)
        and abs(loss) <= limit
        and np.abs(p).max() <= MAX_PARAM
        and np.abs(g).max() < math.inf
    )


def rate_factor(schedule: Schedule | None, t: int) -> float:
    """``schedule(t)``, the multiplier of the base rate at update t (1 without a schedule); a
    negative or non-finite factor is a ``ValueError``."""
    if schedule is None:
        return 1.0
    factor = float(schedule(t))
    if not math.isfinite(factor) or factor < 0.0:
        raise ValueError(f"the schedule gave factor {factor} at update {t}; it must be >= 0")
    return factor


def _scheduled(
    scheduler: Scheduler, t: int, loss: float, state: Any
) -> tuple[float, float | None, Any]:
    lr, momentum, state = scheduler.update(t, loss, state)
    lr = float(lr)
    if not math.isfinite(lr) or lr < 0.0:
        raise ValueError(f"the schedule gave learning rate {lr} at update {t}; it must be >= 0")
    if momentum is not None:
        momentum = float(momentum)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(
                f"the schedule gave momentum {momentum} at update {t}; it must be in [0, 1)"
            )
    return lr, momentum, state


def run(
    surface: Surface,
    optimizer: Optimizer,
    *,
    start: Sequence[float] | Array,
    steps: int,
    schedule: Schedule | Scheduler | None = None,
    batch: int | None = None,
    seed: int = 0,
) -> History:
    """Take ``steps`` optimiser steps on ``surface`` from ``start``; step 0 is the start.

    ``schedule(t)`` multiplies the optimiser's learning rate at update t = 0, 1, ...
    (a negative or non-finite factor is a ``ValueError``). A ``Scheduler`` instead starts
    from the optimiser's rate, is fed the loss at each iterate and gives each update's rate
    (≥ 0) and, if it wants, its momentum (in [0, 1)); the momentum is passed to optimisers
    that have one (``Optimizer.momentum_param``) and recorded in ``History.momentum``, and
    ignored by the others, which keep their own update rule.
    ``batch`` is a mini-batch size for data-driven surfaces: each update then uses the gradient
    of ``batch`` rows drawn without replacement by a generator seeded with ``seed`` (same seed,
    same path). ``steps`` is capped at ``MAX_STEPS``. Optimisers with ``needs_hessian`` get the
    surface's Hessian at the current iterate, which is kept in ``History.hessian``.
    """
    steps = capped_steps(steps)
    p = np.asarray(start, dtype=float).reshape(-1)
    if p.shape != (surface.dim,):
        raise ValueError(f"start must have {surface.dim} coordinate(s); got {p.size}")
    if batch is not None and (surface.data is None or surface.batch_grad is None):
        raise ValueError(f"{surface.name} has no data rows, so it has no mini-batches")
    rng = np.random.default_rng(seed)
    n_rows = 0 if surface.data is None else len(surface.data.x)
    batch = None if batch is None else int(min(max(int(batch), 1), max(n_rows, 1)))

    loss0, g = start_values(surface, p)
    limit = loss_limit(loss0)

    state = optimizer.init(p)
    scheduler = None if schedule is None else as_scheduler(schedule)
    schedule_state = None if scheduler is None else scheduler.init(optimizer.learning_rate)
    params, losses, grads, rates, batch_grads, hessians = [p], [loss0], [g], [], [], []
    momenta: list[float] = []
    momentum_set = False
    states = [{k: np.zeros_like(v) for k, v in _state_arrays(optimizer, state, p.size).items()}]
    diverged_at = None
    loss = loss0
    with np.errstate(all="ignore"):
        for t in range(steps):
            lr, momentum = optimizer.learning_rate, None
            if scheduler is not None:
                lr, momentum, schedule_state = _scheduled(scheduler, t, loss, schedule_state)
            extra = {}
            if momentum is not None and optimizer.momentum_param is not None:
                extra["momentum"] = momentum
            used = g
            if batch is not None:
                rows = rng.choice(n_rows, size=batch, replace=False)
                used = np.asarray(surface.batch_grad(p, rows), dtype=float)
            hessian = surface.hessian(p) if optimizer.needs_hessian else None
            step, state = optimizer.update(
                used, state, p, learning_rate=lr, hessian=hessian, **extra
            )
            p_next = p + step
            loss_next = float(surface.loss(p_next)) if np.all(np.isfinite(p_next)) else np.nan
            g_next = surface.grad(p_next) if np.isfinite(loss_next) else p_next * np.nan
            kept = _state_arrays(optimizer, state, surface.dim)
            # A gradient beyond ~1e154 squares to inf in Adam's, RMSProp's or AdaGrad's state;
            # the step then divides by inf and is 0, so the run would stand still and look
            # converged. An overflowed state is divergence at this step.
            overflowed = not all(np.isfinite(v).all() for v in kept.values())
            if overflowed or not healthy(p_next, loss_next, g_next, limit):
                diverged_at = t + 1
                break
            p, g, loss = p_next, g_next, loss_next
            params.append(p)
            losses.append(loss_next)
            grads.append(g)
            rates.append(lr)
            if optimizer.momentum_param is not None:
                own = float(optimizer.hyperparams[optimizer.momentum_param])
                momenta.append(extra.get("momentum", own))
                momentum_set = momentum_set or bool(extra)
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
        momentum=np.array(momenta, dtype=float) if momentum_set else None,
    )


# --- labels ---------------------------------------------------------------------------------------

WINDOW = 20
"""How many of the last updates ``label`` looks at for oscillation and progress."""
_LOSS_RTOL = 1e-6  # converged: loss gap ≤ this × the start's gap (+ _ABS_TOL)
_GRAD_RTOL = 1e-6  # a gradient this small relative to the start's is "at a stationary point"
_ABS_TOL = 1e-12
_BELOW_RTOL = 1e-9  # a loss this far (relative) below the declared optimum is rounding
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
    gap (+ 1e-12), and not below −(1e-12 + 1e-9·|L*|). Otherwise: the gradient norm is at
    most ``_GRAD_RTOL`` × the start's (+ 1e-12) — a stationary point.
    """
    if surface is not None and surface.optimal_value is not None:
        gap = history.loss - surface.optimal_value
        # Below L* by more than rounding, the run has left the domain L* was declared on
        # (McCormick outside its box): that is not the goal either.
        below = _ABS_TOL + _BELOW_RTOL * abs(surface.optimal_value)
        return (gap <= _LOSS_RTOL * max(float(gap[0]), 0.0) + _ABS_TOL) & (gap >= -below)
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
       minimum that is not global does not count), and not below L* beyond rounding (a run
       that left the domain L* holds on does not count either). Otherwise it is a stationary point:
       gradient norm ≤ 1e-6 × the start's + 1e-12, and, when ``surface`` is given, no negative
       Hessian eigenvalue there (a saddle or maximum does not count).
    3. ``"jittering"``: a mini-batch run within 1 % of the start's gap to a declared L* whose
       loss no longer falls (as in rule 5): sampled gradients keep it moving around the
       minimum, at the noise floor (neither stuck nor swinging across a valley).
    4. ``"oscillating"``: over the last ``WINDOW`` updates, the steps' projection on their
       dominant direction (first right-singular vector) changes sign on at least 75% of
       consecutive updates (at least 4 non-negligible steps needed).
    5. ``"stalled"``: the gradient is tiny (as in rule 2) but this is not the goal — a saddle, a
       local minimum, a flat spot — or the loss fell over the last ``WINDOW`` updates by no more
       than 1e-3 × a reference: the gap to L* at the window's start when L* is declared,
       else the fall achieved before the window. Barely moving and rising loss count here.
    6. ``"converging"``: otherwise — the loss is still falling.
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
    if _near_goal_in_noise(history, surface) and not _progressing(history, surface):
        return "jittering"
    if _oscillating(history):
        return "oscillating"
    if stationary or not _progressing(history, surface):
        return "stalled"
    return "converging"


_NEAR_GOAL = 1e-2
"""``"jittering"``: the loss within this share of the start's gap to L*."""


def _near_goal_in_noise(history: History, surface: Surface | None) -> bool:
    """A mini-batch run whose loss is within ``_NEAR_GOAL`` of the start's gap to L*."""
    if history.batch_grad is None or not len(history.batch_grad):
        return False
    if surface is None or surface.optimal_value is None:
        return False
    gap = history.loss - surface.optimal_value
    return bool(gap[-1] <= _NEAR_GOAL * max(float(gap[0]), 0.0))


def settled_at(history: History, surface: Surface | None = None) -> int | None:
    """The first step from which every later iterate is at the goal (``label``'s rule 2),
    or ``None`` when the last one is not. A run that touches the minimum, bounces out and
    comes back settles at its return, not at its first touch."""
    goal = _at_goal(history, surface)
    if not goal[-1]:
        return None
    away = np.flatnonzero(~goal)
    return 0 if len(away) == 0 else int(away[-1]) + 1


def _number(x: float) -> str:
    return f"{x:.3g}"


def summary(
    name: str, history: History, surface: Surface | None = None, *, outcome: Label | None = None
) -> str:
    """One plain sentence on a run, built on ``label`` (``outcome``, when the caller already
    has ``label(history, surface)``).

    - diverged: "SGD diverged at step 7"
    - converged: "Adam converged: loss 0.003 at step 120", naming the first step from which
      every later iterate is at the goal (see ``label``)
    - otherwise: "Momentum is oscillating: loss 2.5 at step 200" ("is still converging",
      "stalled", "is jittering near the minimum (mini-batch noise)") with the last step's
      loss; a stalled run at one of the surface's declared saddles or local minima names it:
      "stalled at the saddle (0, 0)", "stalled in the local minimum (2.75, 2.75)".
    """
    outcome = label(history, surface) if outcome is None else outcome
    if outcome == "diverged":
        return f"{name} diverged at step {history.diverged_at}"
    last = len(history) - 1
    if outcome == "converged":
        first = min(settled_at(history, surface) or 0, last)
        return f"{name} converged: loss {_number(history.loss[first])} at step {first}"
    verb = {
        "jittering": "is jittering near the minimum (mini-batch noise)",
        "oscillating": "is oscillating",
        "stalled": "stalled",
        "converging": "is still converging",
    }[outcome]
    landmark = None
    if surface is not None and outcome == "stalled":
        landmark = surface.landmark_at(history.final)
    if landmark is not None:
        kind, where = landmark
        verb += f" {'at' if kind == 'saddle' else 'in'} the {kind} (" + ", ".join(
            _number(v) for v in where) + ")"
    return f"{name} {verb}: loss {_number(history.loss[last])} at step {last}"


def step_sentence(w: float, gradient: float, *, label: str = "w", flat: float = 1e-4) -> str:
    """Plain words for one step: which way the gradient says to move the weight.

    A gradient smaller than ``flat`` in magnitude counts as zero: the bottom is reached.
    """
    if abs(gradient) < flat:
        move = f"practically zero, so {label} stays: this is the bottom"
    elif gradient > 0:
        move = "positive, so the step decreases " + label
    else:
        move = "negative, so the step increases " + label
    return f"the gradient at {label} = {w:.3g} is {gradient:.3g}: {move}"
