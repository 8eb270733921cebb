"""Learning-rate schedules: the multiplier of the base learning rate at each update.

A ``Schedule`` is a function ``t -> factor`` for update t = 0, 1, 2, ... (the t-th call of
the optimiser), like the lambda of ``torch.optim.lr_scheduler.LambdaLR``: the rate used is
``base_lr * schedule(t)``. ``descent.run(..., schedule=...)`` applies it. Each factory below
matches a torch scheduler stepped once after every optimiser step, whose closed forms are:

=============== ================================== =============================================
factory         torch                              factor at update t
=============== ================================== =============================================
``constant``    (no scheduler)                     1
``step_decay``  ``StepLR(step_size, gamma)``       gamma ** (t // step_size)
``exponential`` ``ExponentialLR(gamma)``           gamma ** t
``cosine``      ``CosineAnnealingLR(T_max, 0)``    (1 + cos(π t / t_max)) / 2
``warmup``      ``LinearLR(start_factor, 1.0,      start_factor + (1 - start_factor)
                total_iters=warmup_steps)``        * min(t, warmup_steps) / warmup_steps
=============== ================================== =============================================

Cosine, like torch's, is periodic: at t = t_max the rate is 0 and after it the rate climbs
back up (period 2·t_max). Use ``t_max`` ≥ the number of steps for a single decay to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from losslab.descent import MAX_STEPS, Schedule
from losslab.optimizers import HyperParam

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "exponential",
    "cosine",
    "warmup",
    "SCHEDULES",
    "SCHEDULE_PARAMS",
    "make",
]

def _check_count(name: str, value: int) -> int:
    """A positive whole number of updates (floats such as 10.0 are accepted)."""
    try:
        whole = float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or isinstance(value, bool) or int(value) < 1:
        raise ValueError(f"Invalid {name} value: {value} (must be a whole number >= 1)")
    return int(value)


def _check_factor(name: str, value: float, *, zero_ok: bool) -> float:
    """A factor in (0, 1], or [0, 1] when ``zero_ok``."""
    v = float(value)
    low_ok = v >= 0.0 if zero_ok else v > 0.0
    if not math.isfinite(v) or not low_ok or v > 1.0:
        interval = "[0, 1]" if zero_ok else "(0, 1]"
        raise ValueError(f"Invalid {name} value: {value} (must be in {interval})")
    return v


def _check_t(t: int) -> int:
    if t < 0:
        raise ValueError(f"Invalid update index: {t} (must be >= 0)")
    return int(t)


def constant() -> Schedule:
    """The base learning rate at every update: factor 1."""

    def schedule(t: int) -> float:
        _check_t(t)
        return 1.0

    return schedule


def step_decay(*, step_size: int, gamma: float = 0.1) -> Schedule:
    """``StepLR``: multiply the rate by ``gamma`` every ``step_size`` updates.

    factor(t) = gamma ** (t // step_size), for ``step_size`` ≥ 1 and ``gamma`` in (0, 1].
    """
    step_size = _check_count("step_size", step_size)
    gamma = _check_factor("gamma", gamma, zero_ok=False)

    def schedule(t: int) -> float:
        return gamma ** (_check_t(t) // step_size)

    return schedule


def exponential(*, gamma: float) -> Schedule:
    """``ExponentialLR``: multiply the rate by ``gamma`` after every update.

    factor(t) = gamma ** t, for ``gamma`` in (0, 1].
    """
    gamma = _check_factor("gamma", gamma, zero_ok=False)

    def schedule(t: int) -> float:
        return gamma ** _check_t(t)

    return schedule


def cosine(*, t_max: int) -> Schedule:
    """``CosineAnnealingLR(T_max=t_max, eta_min=0)``: half a cosine from 1 down to 0.

    factor(t) = (1 + cos(π t / t_max)) / 2: 1 at t = 0, 1/2 at t_max/2, 0 at t = t_max.
    As in torch the formula is not clipped, so after t_max the factor rises again.
    """
    t_max = _check_count("t_max", t_max)

    def schedule(t: int) -> float:
        return (1.0 + math.cos(math.pi * _check_t(t) / t_max)) / 2.0

    return schedule


def warmup(*, warmup_steps: int, start_factor: float = 0.1) -> Schedule:
    """``LinearLR(start_factor, end_factor=1, total_iters=warmup_steps)``: ramp up, then hold.

    factor(t) = start_factor + (1 - start_factor) · min(t, warmup_steps) / warmup_steps,
    so the rate grows linearly from ``start_factor``·lr to lr over ``warmup_steps`` updates and
    stays at lr. ``start_factor`` must be in (0, 1], as torch requires.
    """
    warmup_steps = _check_count("warmup_steps", warmup_steps)
    start = _check_factor("start_factor", start_factor, zero_ok=False)

    def schedule(t: int) -> float:
        return start + (1.0 - start) * min(_check_t(t), warmup_steps) / warmup_steps

    return schedule


SCHEDULES: Mapping[str, Callable[..., Schedule]] = MappingProxyType({
    "constant": constant,
    "step": step_decay,
    "exponential": exponential,
    "cosine": cosine,
    "warmup": warmup,
})
"""Registry name → schedule factory (read-only: every session shares it)."""

SCHEDULE_PARAMS: Mapping[str, tuple[HyperParam, ...]] = MappingProxyType({
    "constant": (),
    "step": (
        HyperParam(
            "step_size", 50, 1, MAX_STEPS, "Updates between two decays.", kind="int"
        ),
        HyperParam("gamma", 0.5, 0.01, 1.0, "Factor applied at each decay."),
    ),
    "exponential": (
        HyperParam("gamma", 0.99, 0.5, 1.0, "Factor applied after every update."),
    ),
    "cosine": (
        HyperParam(
            "t_max", 200, 1, MAX_STEPS, "Updates until the rate reaches zero.", kind="int"
        ),
    ),
    "warmup": (
        HyperParam(
            "warmup_steps", 20, 1, MAX_STEPS, "Updates spent ramping up to the full rate.",
            kind="int",
        ),
        HyperParam("start_factor", 0.1, 0.01, 1.0, "Fraction of the rate at the first update."),
    ),
})
"""Registry name → its settings (the app's widgets)."""


def make(name: str, **params: float) -> Schedule:
    """The registry schedule ``name`` with ``params``; unset ones take their defaults.

    Raises ``ValueError`` for an unknown name or setting, listing the valid ones.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    declared = {p.name: p.default for p in SCHEDULE_PARAMS[name]}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise ValueError(f"{name} has no setting {', '.join(unknown)}; its settings: {allowed}")
    return SCHEDULES[name](**{**declared, **params})
