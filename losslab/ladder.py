"""One optimiser at every rung of a learning-rate ladder at once.

``run_rates`` gives, for each rate r, exactly the ``History`` that ``descent.run`` gives for the
same optimiser built at rate r (same iterates, losses, gradients, states, the same step of
divergence), but takes the steps of all rates together: the iterates are one ``(dim, R)`` array,
one column per rate, and the rate is a length-R vector broadcast against them. Surfaces
broadcast over a leading coordinate axis and the optimisers' update rules are element-wise, so
each column goes through the very same floating-point operations as a run of its own; only the
Python loop over steps is shared. The what-if sweep (``whatif.sweep``) pays one loop per
optimiser and decay instead of one per rung.

Full batch and a constant rate only (a schedule or a mini-batch is ``descent.run``'s). An
optimiser whose update is not element-wise (Newton solves a linear system with the Hessian)
still shares the loop over steps and each evaluation of the surface, its gradient and its
Hessian, but updates column by column; any other kind is run rate by rate through
``descent.run``, with the same result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from losslab import descent
from losslab.descent import MAX_PARAM, History
from losslab.optimizers import Optimizer
from losslab.surfaces import Surface

__all__ = ["MAX_RATES", "run_rates", "shares_updates"]

MAX_RATES = 32
"""The most rates one call takes: the what-if sweep needs at most 21 (ten rungs either side)."""

_ELEMENTWISE = frozenset({"sgd", "adagrad", "rmsprop", "adam", "adamw"})
"""Optimiser kinds whose update rule broadcasts a ``(dim, R)`` iterate and a length-R rate."""
_BY_COLUMN = frozenset({"newton"})
"""Optimiser kinds updated column by column (their update solves a system per iterate)."""

Array = np.ndarray


def shares_updates(optimizer: Optimizer) -> bool:
    """Whether ``run_rates`` takes every rate in one element-wise update per step. Otherwise
    (Newton, column by column; any other kind, one run per rate) a rate costs about as much
    taken with others as on its own, so a caller gains nothing by asking for extra rates."""
    return optimizer.kind in _ELEMENTWISE and not optimizer.needs_hessian


def _checked_rates(rates: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(r) for r in rates)
    if len(out) > MAX_RATES:
        raise ValueError(f"{len(out)} learning rates at once; at most {MAX_RATES} are taken")
    for r in out:
        if not math.isfinite(r) or r <= 0.0:
            raise ValueError(f"Invalid learning rate: {r} (must be a finite number > 0)")
    return out


def _at_rate(optimizer: Optimizer, rate: float) -> Optimizer:
    """``optimizer`` with learning rate ``rate``: ``descent.run`` passes its ``learning_rate``
    to every update, so this runs exactly as the optimiser built at ``rate``."""
    hyperparams = MappingProxyType({**optimizer.hyperparams, "learning_rate": rate})
    return optimizer._replace(learning_rate=rate, hyperparams=hyperparams)


class _ColumnStates(tuple):
    """The states of an optimiser updated column by column, one per column."""


def _by_column(optimizer: Optimizer) -> Optimizer:
    """``optimizer`` over ``(dim, R)`` iterates, each column updated by the optimiser's own
    rule (with that column's rate and Hessian), so each gets the bits a run of its own gets."""

    def init(params: Array) -> _ColumnStates:
        return _ColumnStates(optimizer.init(params[:, c]) for c in range(params.shape[1]))

    def update(grad: Array, state: _ColumnStates, params: Array, *, learning_rate: Array,
               hessian: Array | None = None) -> tuple[Array, _ColumnStates]:
        steps, states = np.empty_like(grad), []
        for c, own in enumerate(state):
            # Contiguous copies: a LAPACK solve may round differently on a strided view.
            step, new = optimizer.update(
                np.ascontiguousarray(grad[:, c]), own, np.ascontiguousarray(params[:, c]),
                learning_rate=learning_rate[c],
                hessian=None if hessian is None else np.ascontiguousarray(hessian[:, :, c]))
            steps[:, c] = step
            states.append(new)
        return steps, _ColumnStates(states)

    def explain(state: _ColumnStates) -> dict[str, Array]:
        columns = [optimizer.explain(own) for own in state]
        if not columns:
            return {}
        return {k: np.stack([np.asarray(c[k], dtype=float) for c in columns], axis=-1)
                for k in columns[0]}

    return optimizer._replace(init=init, update=update, explain=explain)


def _columns(state: Any, keep: Array, width: int) -> Any:
    """``state`` with only the columns ``keep`` of its per-rate arrays (last axis ``width``)."""
    if isinstance(state, _ColumnStates):
        return _ColumnStates(own for own, k in zip(state, keep, strict=True) if k)
    return type(state)(*(
        v[..., keep] if isinstance(v, np.ndarray) and v.ndim and v.shape[-1] == width else v
        for v in state
    ))


def _state_arrays(optimizer: Optimizer, state: Any, shape: tuple[int, int]) -> dict[str, Array]:
    """The optimiser's named numbers of ``state`` that have one value per coordinate and rate,
    as ``descent.run`` keeps those with one value per coordinate."""
    out = {}
    for name, value in optimizer.explain(state).items():
        arr = np.asarray(value, dtype=float)
        if arr.shape == shape:
            out[name] = arr
    return out


def _where_defined(fn, points: Array, defined: Array, shape: tuple[int, ...]) -> Array:
    """``fn(points)`` on the columns ``defined``, NaN on the others (never evaluated, as
    ``descent.run`` never evaluates a surface at a point it has already given up)."""
    if defined.all():
        return np.asarray(fn(points), dtype=float)
    out = np.full(shape, np.nan)
    if defined.any():
        out[..., defined] = fn(points[:, defined])
    return out


def run_rates(
    surface: Surface,
    optimizer: Optimizer,
    *,
    rates: Sequence[float],
    start: Sequence[float] | Array,
    steps: int,
) -> list[History]:
    """``optimizer`` (its other settings fixed) at each of ``rates`` from ``start``: one
    ``History`` per rate, in order, each equal to ``descent.run(surface, optimizer at that
    rate, start=start, steps=steps)``.

    A column that diverges (``descent.healthy`` fails, or its optimiser state overflows) stops
    being recorded at that step and is dropped from the later steps; the others go on.
    ``steps`` is capped at ``descent.MAX_STEPS``. Raises ``ValueError`` for more than
    ``MAX_RATES`` rates, a rate that is not a finite number > 0, or a start where the surface
    is undefined.
    """
    rates = _checked_rates(rates)
    if optimizer.kind in _BY_COLUMN:
        optimizer = _by_column(optimizer)
    elif optimizer.needs_hessian or optimizer.kind not in _ELEMENTWISE:
        return [descent.run(surface, _at_rate(optimizer, r), start=start, steps=steps)
                for r in rates]
    steps = descent.capped_steps(steps)
    p0 = np.asarray(start, dtype=float).reshape(-1)
    dim, width = surface.dim, len(rates)
    if p0.shape != (dim,):
        raise ValueError(f"start must have {dim} coordinate(s); got {p0.size}")
    loss0, g0 = descent.start_values(surface, p0)
    if not rates:
        return []
    limit = descent.loss_limit(loss0)

    p = np.repeat(p0[:, np.newaxis], width, axis=1)
    g = np.repeat(g0[:, np.newaxis], width, axis=1)
    state = optimizer.init(p)
    names = list(_state_arrays(optimizer, state, (dim, width)))
    # Row t holds step t of every column still running then; a column's rows stop where it
    # diverged, so its history is the first rows of its column.
    params = np.empty((steps + 1, dim, width))
    grads = np.empty((steps + 1, dim, width))
    losses = np.empty((steps + 1, width))
    states = {k: np.empty((steps + 1, dim, width)) for k in names}
    hessians = np.empty((steps, dim, dim, width)) if optimizer.needs_hessian else None
    params[0], grads[0], losses[0] = p, g, loss0
    for k in names:
        states[k][0] = 0.0
    alive = np.arange(width)
    lr = np.array(rates)
    diverged_at: list[int | None] = [None] * width
    with np.errstate(all="ignore"):
        for t in range(steps):
            columns = slice(None) if len(alive) == width else alive
            if hessians is None:
                step, state = optimizer.update(g, state, p, learning_rate=lr)
            else:
                hessian = surface.hessian(p)
                hessians[t][..., columns] = hessian
                step, state = optimizer.update(g, state, p, learning_rate=lr, hessian=hessian)
            p_next = p + step
            count = len(alive)
            # Fast paths: a finite sum means every number in it is finite (NaN and inf
            # propagate); when it is not, the columns are checked one by one.
            if math.isfinite(p_next.sum()):
                loss_next = np.asarray(surface.loss(p_next), dtype=float)
            else:
                loss_next = _where_defined(surface.loss, p_next,
                                           np.isfinite(p_next).all(axis=0), (count,))
            if math.isfinite(loss_next.sum()):
                g_next = surface.grad(p_next)
            else:
                g_next = _where_defined(surface.grad, p_next, np.isfinite(loss_next),
                                        (dim, count))
            explained = optimizer.explain(state)
            kept = {k: explained[k] for k in names}
            if not (np.abs(loss_next).max() <= limit and np.abs(p_next).max() <= MAX_PARAM
                    and math.isfinite(g_next.sum() + sum(v.sum() for v in kept.values()))):
                # descent.healthy, column by column; an overflowed state is divergence too.
                good = ((np.abs(loss_next) <= limit)
                        & (np.abs(p_next).max(axis=0) <= MAX_PARAM)
                        & (np.abs(g_next).max(axis=0) < math.inf))
                for v in kept.values():
                    good &= np.isfinite(v).all(axis=0)
                for column in alive[~good]:
                    diverged_at[column] = t + 1
                alive = alive[good]
                if not len(alive):
                    break
                p_next, loss_next, g_next, lr = (p_next[:, good], loss_next[good],
                                                 g_next[:, good], lr[good])
                kept = {k: v[:, good] for k, v in kept.items()}
                state = _columns(state, good, count)
            columns = slice(None) if len(alive) == width else alive
            params[t + 1][:, columns] = p_next
            grads[t + 1][:, columns] = g_next
            losses[t + 1][columns] = loss_next
            for k in names:
                states[k][t + 1][:, columns] = kept[k]
            p, g = p_next, g_next

    histories = []
    for column, rate in enumerate(rates):
        n = steps + 1 if diverged_at[column] is None else diverged_at[column]
        histories.append(History(
            params=np.ascontiguousarray(params[:n, :, column]),
            loss=losses[:n, column].copy(),
            grad=np.ascontiguousarray(grads[:n, :, column]),
            learning_rate=np.full(n - 1, rate),
            state={k: np.ascontiguousarray(v[:n, :, column]) for k, v in states.items()},
            diverged_at=diverged_at[column],
            steps_requested=steps,
            hessian=None if hessians is None
            else np.ascontiguousarray(hessians[:n - 1, :, :, column]),
        ))
    return histories
