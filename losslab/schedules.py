"""Learning-rate schedules: the rate (and momentum) of each update, as torch's schedulers give.

Two forms. A ``Schedule`` is a function ``t -> factor`` for update t = 0, 1, 2, ... (the t-th
call of the optimiser), like the lambda of ``torch.optim.lr_scheduler.LambdaLR``: the rate
used is ``base_lr * schedule(t)``. A ``Scheduler`` (see ``descent.Scheduler``) is an
``init``/``update`` pair for what a factor cannot say: a rate that reacts to the loss
(``plateau``), a momentum that moves with the rate (``one_cycle``), a floor in absolute
units (``warm_restarts``' ``eta_min``). ``descent.run(..., schedule=...)`` takes either. Each
factory matches a torch scheduler stepped once after every optimiser step:

================= ====================================== =========================================
factory           torch                                  rate at update t (base rate lr)
================= ====================================== =========================================
``constant``      (no scheduler)                         lr
``step_decay``    ``StepLR(step_size, gamma)``           lr · gamma ** (t // step_size)
``exponential``   ``ExponentialLR(gamma)``               lr · gamma ** t
``cosine``        ``CosineAnnealingLR(T_max, 0)``        lr · (1 + cos(π t / t_max)) / 2
``warmup``        ``LinearLR(start_factor, 1.0,          lr · (start_factor + (1 - start_factor)
                  total_iters=warmup_steps)``            · min(t, warmup_steps) / warmup_steps)
``polynomial``    ``PolynomialLR(total_iters, power)``   lr · (1 - min(t, total_iters)
                                                         / total_iters) ** power
``warm_restarts`` ``CosineAnnealingWarmRestarts(T_0,     eta_min + (lr - eta_min)
                  T_mult, eta_min)``                     · (1 + cos(π t_cur / t_i)) / 2
``one_cycle``     ``OneCycleLR(max_lr=lr, total_steps,   up from lr/div_factor to lr, then down
                  ...)``                                 to lr/(div_factor·final_div_factor)
``plateau``       ``ReduceLROnPlateau(mode="min", ...)`` lr, cut by ``factor`` when the loss
                  stepped with the loss at w_t           stops improving for ``patience`` updates
================= ====================================== =========================================

Cosine, like torch's, is periodic: at t = t_max the rate is 0 and after it the rate climbs
back up (period 2·t_max). Use ``t_max`` ≥ the number of steps for a single decay to zero.

``SPECS`` describes every schedule as data — its menu label, one-line explanation and each
parameter's name, link key, range and default — so the settings, the link and the sidebar read
it instead of repeating it; ``build(name, steps, **params)`` makes the schedule from values
given by parameter name, and ``trace`` lists the rates (and momenta) a schedule gives over a
loss sequence, for a chart.

One piece: each factory, its row in the table above and its entry in ``SPECS`` (the settings
and widgets it is given) change together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np

from losslab.descent import MAX_STEPS, Schedule, Scheduler, as_scheduler

__all__ = [
    "Schedule",
    "Scheduler",
    "constant",
    "step_decay",
    "exponential",
    "cosine",
    "warmup",
    "polynomial",
    "warm_restarts",
    "one_cycle",
    "plateau",
    "PlateauState",
    "ScheduleParam",
    "ScheduleSpec",
    "SPECS",
    "SCHEDULES",
    "SCHEDULE_PARAMS",
    "build",
    "make",
    "trace",
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



def _check_whole(name: str, value: int, low: int) -> int:
    """A whole number ≥ ``low`` (floats such as 10.0 are accepted)."""
    try:
        whole = float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or isinstance(value, bool) or int(value) < low:
        raise ValueError(f"Invalid {name} value: {value} (must be a whole number >= {low})")
    return int(value)


def _check_number(name: str, value: float, *, low: float, positive: bool = False) -> float:
    """A finite number ≥ ``low`` (> ``low`` when ``positive``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or v < low or (positive and v == low):
        sign = ">" if positive else ">="
        raise ValueError(f"Invalid {name} value: {value} (must be a finite number {sign} {low})")
    return v


def _check_momentum(name: str, value: float) -> float:
    v = _check_number(name, value, low=0.0)
    if v >= 1.0:
        raise ValueError(f"Invalid {name} value: {value} (must be in [0, 1))")
    return v


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"Invalid {name} value: {value!r} (choose one of: {', '.join(choices)})")
    return value


def polynomial(*, total_iters: int, power: float = 1.0) -> Schedule:
    """``PolynomialLR(total_iters, power)``: decay to zero along a power of the time left.

    factor(t) = (1 - min(t, total_iters) / total_iters) ** power: 1 at t = 0, 0 from
    t = total_iters on. ``power`` = 1 is a straight line; above 1 the rate falls fast and then
    lingers near zero, below 1 it stays high and drops at the end.
    """
    total_iters = _check_count("total_iters", total_iters)
    power = _check_number("power", power, low=0.0, positive=True)

    def schedule(t: int) -> float:
        return (1.0 - min(total_iters, _check_t(t)) / total_iters) ** power

    return schedule


def _rates_of(rate: Callable[[int, float], tuple[float, float | None]]) -> Scheduler:
    """A ``Scheduler`` whose rate and momentum depend only on t and the base rate."""

    def update(t: int, loss: float, base_lr: float) -> tuple[float, float | None, float]:
        return (*rate(_check_t(t), base_lr), base_lr)

    return Scheduler(init=float, update=update)


def warm_restarts(*, t_0: int, t_mult: int = 1, eta_min: float = 0.0) -> Scheduler:
    """``CosineAnnealingWarmRestarts(T_0=t_0, T_mult=t_mult, eta_min=eta_min)``.

    The rate falls along half a cosine from lr to ``eta_min`` (an absolute rate, as in torch)
    over a cycle of t_i updates, then jumps back to lr: the first cycle lasts ``t_0`` updates
    and each next one ``t_mult`` times longer. At update t, with t_cur updates into the
    current cycle of length t_i::

        rate(t) = eta_min + (lr - eta_min) · (1 + cos(π t_cur / t_i)) / 2
    """
    t_0 = _check_count("t_0", t_0)
    t_mult = _check_count("t_mult", t_mult)
    eta_min = _check_number("eta_min", eta_min, low=0.0)

    def rate(t: int, base_lr: float) -> tuple[float, None]:
        t_cur, t_i = t, t_0
        if t_mult == 1:
            t_cur = t % t_0
        while t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * t_mult
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2, None

    return _rates_of(rate)


ANNEAL_STRATEGIES = ("cos", "linear")


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    """torch's ``OneCycleLR._annealing_cos`` / ``_annealing_linear``, same arithmetic."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def one_cycle(
    *,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> Scheduler:
    """``OneCycleLR(max_lr=lr, total_steps, pct_start, anneal_strategy, ...)``, two phases.

    The optimiser's rate lr is the peak. Over the first ``pct_start`` of the run the rate
    climbs from lr / ``div_factor`` to lr, then anneals down to lr / (``div_factor`` ·
    ``final_div_factor``) at the last update, along half a cosine (``"cos"``) or a straight
    line (``"linear"``). Phase 1 ends at update pct_start · total_steps − 1, phase 2 at
    total_steps − 1; within a phase from update a to b, pct = (t − a) / (b − a).

    With ``cycle_momentum`` the momentum (SGD) or β1 (Adam) moves the other way, from
    ``max_momentum`` down to ``base_momentum`` while the rate climbs and back up while it
    falls, as torch sets ``param_group["momentum"]`` or ``betas[0]`` at every step. Optimisers
    without momentum (plain SGD, AdaGrad, RMSProp, Newton) keep their own rule; torch would
    refuse AdaGrad and would switch momentum on for plain SGD and RMSProp.

    ``total_steps`` is the run's length; asking for a later update is a ``ValueError``, as in
    torch. A phase of zero length (pct_start · total_steps = 1) gives its end value where
    torch would divide by zero.
    """
    total_steps = _check_count("total_steps", total_steps)
    pct_start = _check_number("pct_start", pct_start, low=0.0)
    if pct_start > 1.0:
        raise ValueError(f"Invalid pct_start value: {pct_start} (must be in [0, 1])")
    strategy = _check_choice("anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
    div_factor = _check_number("div_factor", div_factor, low=0.0, positive=True)
    final_div_factor = _check_number("final_div_factor", final_div_factor, low=0.0, positive=True)
    if not isinstance(cycle_momentum, bool):
        raise ValueError(f"Invalid cycle_momentum value: {cycle_momentum} (must be True or False)")
    base_momentum = _check_momentum("base_momentum", base_momentum)
    max_momentum = _check_momentum("max_momentum", max_momentum)
    phases = (
        (float(pct_start * total_steps) - 1, "initial", "max", max_momentum, base_momentum),
        (total_steps - 1, "max", "min", base_momentum, max_momentum),
    )

    def rate(t: int, base_lr: float) -> tuple[float, float | None]:
        if t >= total_steps:
            raise ValueError(f"one-cycle spans {total_steps} updates; update {t} is past its end")
        initial = base_lr / div_factor
        lrs = {"initial": initial, "max": base_lr, "min": initial / final_div_factor}
        start_step = 0.0
        for i, (end_step, lr_from, lr_to, mom_from, mom_to) in enumerate(phases):
            if t <= end_step or i == len(phases) - 1:
                span = end_step - start_step
                pct = (t - start_step) / span if span != 0 else 1.0
                lr = _anneal(strategy, lrs[lr_from], lrs[lr_to], pct)
                momentum = _anneal(strategy, mom_from, mom_to, pct) if cycle_momentum else None
                return lr, momentum
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")

    return _rates_of(rate)


THRESHOLD_MODES = ("rel", "abs")


class PlateauState(NamedTuple):
    """``ReduceLROnPlateau``'s counters: the rate now, the best loss seen, how many updates in
    a row did not beat it, and how many cooldown updates are left."""

    lr: float
    best: float
    bad_steps: int
    cooldown_left: int


def plateau(
    *,
    factor: float = 0.5,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: Literal["rel", "abs"] = "rel",
    cooldown: int = 0,
    min_lr: float = 0.0,
    eps: float = 1e-8,
) -> Scheduler:
    """``ReduceLROnPlateau(mode="min", factor, patience, threshold, threshold_mode, cooldown,
    min_lr, eps)`` stepped with the loss of every update: cut the rate when the loss stalls.

    Update t uses the current rate; then, as torch's ``step(loss)`` after ``optimizer.step()``,
    the loss at the iterate the update started from is judged. It *improves* when it is below
    best · (1 − threshold) (``"rel"``) or best − threshold (``"abs"``); then it becomes the
    best and the count of bad updates restarts, else the count grows. During a cooldown the
    count stays 0. When it exceeds ``patience``, the rate becomes max(rate · factor, min_lr)
    (unless that changes it by no more than ``eps``), the cooldown starts and the count
    restarts. ``min_lr`` is an absolute rate, as in torch.
    """
    factor = _check_number("factor", factor, low=0.0)
    if factor >= 1.0:
        raise ValueError(f"Invalid factor value: {factor} (must be in [0, 1))")
    patience = _check_whole("patience", patience, 0)
    threshold = _check_number("threshold", threshold, low=0.0)
    mode = _check_choice("threshold_mode", threshold_mode, THRESHOLD_MODES)
    cooldown = _check_whole("cooldown", cooldown, 0)
    min_lr = _check_number("min_lr", min_lr, low=0.0)
    eps = _check_number("eps", eps, low=0.0)

    def init(base_lr: float) -> PlateauState:
        return PlateauState(lr=float(base_lr), best=math.inf, bad_steps=0, cooldown_left=0)

    def improves(loss: float, best: float) -> bool:
        if mode == "rel":
            return loss < best * (1.0 - threshold)
        return loss < best - threshold

    def update(t: int, loss: float, state: PlateauState) -> tuple[float, None, PlateauState]:
        _check_t(t)
        lr, best, bad, cooldown_left = state
        loss = float(loss)
        if improves(loss, best):
            best, bad = loss, 0
        else:
            bad += 1
        if cooldown_left > 0:
            cooldown_left, bad = cooldown_left - 1, 0
        new_lr = lr
        if bad > patience:
            cut = max(lr * factor, min_lr)
            if lr - cut > eps:
                new_lr = cut
            cooldown_left, bad = cooldown, 0
        return state.lr, None, PlateauState(new_lr, best, bad, cooldown_left)

    return Scheduler(init=init, update=update)


# --- the registry, as data ------------------------------------------------------------------------


class ScheduleParam(NamedTuple):
    """One parameter of a schedule, for the settings, the link and the sidebar.

    ``name`` is the factory's keyword (``build(..., name=value)``), ``key`` the link's query
    key. Two schedules may share a key only with the same meaning, range and default, so one
    setting serves both (``tests/test_schedules.py`` checks it). ``min_value``/``max_value``
    bound the widget; ``step`` is its increment. A ``None`` default means the run's number of
    steps. ``choices`` lists a ``"choice"`` parameter's values.
    """

    name: str
    key: str
    label: str
    default: float | int | bool | str | None
    min_value: float | int | None
    max_value: float | int | None
    help: str
    kind: Literal["float", "int", "bool", "choice"] = "float"
    step: float | int | None = None
    log: bool = False
    choices: tuple[str, ...] = ()


class ScheduleSpec(NamedTuple):
    """A schedule as data: ``name`` is its registry name and link value (``sched=``),
    ``label`` its menu entry, ``explanation`` one line for the sidebar, ``torch`` the class it
    matches. ``reads_loss``: its rates depend on the run's loss; ``sets_momentum``: it can set
    the momentum (then ``History.momentum`` holds what was used)."""

    name: str
    label: str
    explanation: str
    torch: str
    factory: Callable[..., Schedule | Scheduler]
    params: tuple[ScheduleParam, ...] = ()
    reads_loss: bool = False
    sets_momentum: bool = False


_GAMMA = ScheduleParam(
    "gamma", "gamma", "Decay factor", 0.5, 0.01, 1.0,
    "Step and exponential schedules multiply the rate by this.", step=0.01,
)
_PERIOD_HELP = "Step schedule: steps between decays; cosine: steps in one cycle."

_SPECS = (
    ScheduleSpec("constant", "Constant", "The same rate at every step.", "no scheduler",
                 constant),
    ScheduleSpec(
        "step", "Step decay", "Multiplies the rate by the decay factor every period steps.",
        "StepLR", step_decay,
        (
            ScheduleParam("step_size", "period", "Period", 10, 1, MAX_STEPS, _PERIOD_HELP,
                          kind="int", step=1),
            _GAMMA,
        ),
    ),
    ScheduleSpec(
        "exponential", "Exponential", "Multiplies the rate by the decay factor after every step.",
        "ExponentialLR", exponential, (_GAMMA,),
    ),
    ScheduleSpec(
        "cosine", "Cosine annealing",
        "Lowers the rate along half a cosine to zero at the period's end, then back up.",
        "CosineAnnealingLR", cosine,
        (ScheduleParam("t_max", "period", "Period", 10, 1, MAX_STEPS, _PERIOD_HELP, kind="int",
                       step=1),),
    ),
    ScheduleSpec(
        "warmup", "Linear warm-up",
        "Starts at a fraction of the rate and ramps up in a straight line, then holds it.",
        "LinearLR", warmup,
        (
            ScheduleParam("warmup_steps", "warmup", "Warm-up steps", 5, 1, MAX_STEPS,
                          "Steps over which the rate rises to its full value.", kind="int",
                          step=1),
            ScheduleParam("start_factor", "start_factor", "Starting fraction", 0.1, 0.01, 1.0,
                          "Fraction of the rate at the first step.", step=0.01),
        ),
    ),
    ScheduleSpec(
        "onecycle", "One-cycle",
        "Climbs to the full rate, then anneals far below where it started; momentum moves the "
        "other way.",
        "OneCycleLR", one_cycle,
        (
            ScheduleParam("pct_start", "pct", "Rising share", 0.3, 0.05, 0.95,
                          "Share of the run spent climbing to the full rate.", step=0.05),
            ScheduleParam("anneal_strategy", "anneal", "Shape", "cos", None, None,
                          "Half a cosine or a straight line between the rates.",
                          kind="choice", choices=ANNEAL_STRATEGIES),
            ScheduleParam("div_factor", "div", "Start divisor", 25.0, 1.0, 1e4,
                          "The run starts at the rate divided by this.", step=1.0, log=True),
            ScheduleParam("final_div_factor", "final_div", "End divisor", 1e4, 1.0, 1e6,
                          "The run ends at the starting rate divided by this.", step=10.0,
                          log=True),
            ScheduleParam("cycle_momentum", "cycle_mom", "Cycle momentum", True, None, None,
                          "Move momentum (or Adam's β₁) against the rate.", kind="bool"),
            ScheduleParam("base_momentum", "base_mom", "Lowest momentum", 0.85, 0.0, 0.99,
                          "Momentum (or β₁) at the peak rate.", step=0.01),
            ScheduleParam("max_momentum", "max_mom", "Highest momentum", 0.95, 0.0, 0.99,
                          "Momentum (or β₁) at the lowest rates, at the start and the end.",
                          step=0.01),
        ),
        sets_momentum=True,
    ),
    ScheduleSpec(
        "plateau", "Reduce on plateau",
        "Cuts the rate by a factor whenever the loss has stopped improving for a while.",
        "ReduceLROnPlateau", plateau,
        (
            ScheduleParam("factor", "factor", "Cut factor", 0.5, 0.01, 0.99,
                          "Each cut multiplies the rate by this.", step=0.05),
            ScheduleParam("patience", "patience", "Patience", 10, 0, MAX_STEPS,
                          "Steps without improvement tolerated before a cut.", kind="int",
                          step=1),
            ScheduleParam("threshold", "thresh", "Threshold", 1e-4, 0.0, 1.0,
                          "How much lower the loss must be to count as an improvement.",
                          step=1e-4),
            ScheduleParam("threshold_mode", "thresh_mode", "Threshold mode", "rel", None, None,
                          "rel: a fraction of the best loss; abs: loss units.", kind="choice",
                          choices=THRESHOLD_MODES),
            ScheduleParam("cooldown", "cooldown", "Cooldown", 0, 0, MAX_STEPS,
                          "Steps after a cut before the loss is watched again.", kind="int",
                          step=1),
            ScheduleParam("min_lr", "min_lr", "Lowest rate", 0.0, 0.0, 10.0,
                          "The rate is never cut below this.", step=1e-4),
        ),
        reads_loss=True,
    ),
    ScheduleSpec(
        "polynomial", "Polynomial decay",
        "Lowers the rate along (1 − t/T)^power, reaching zero after T steps.",
        "PolynomialLR", polynomial,
        (
            ScheduleParam("total_iters", "iters", "Decay steps T", None, 1, MAX_STEPS,
                          "Steps until the rate reaches zero (empty: the whole run).",
                          kind="int", step=1),
            ScheduleParam("power", "power", "Power", 1.0, 0.1, 10.0,
                          "1 is a straight line; larger falls fast, then lingers near zero.",
                          step=0.1),
        ),
    ),
    ScheduleSpec(
        "restarts", "Cosine with warm restarts",
        "Cosine down to the lowest rate, then back to the full rate; each cycle can be longer.",
        "CosineAnnealingWarmRestarts", warm_restarts,
        (
            ScheduleParam("t_0", "t0", "First cycle", 10, 1, MAX_STEPS,
                          "Steps in the first cycle.", kind="int", step=1),
            ScheduleParam("t_mult", "t_mult", "Cycle growth", 2, 1, 10,
                          "Each cycle is this many times longer than the one before.",
                          kind="int", step=1),
            ScheduleParam("eta_min", "eta_min", "Lowest rate", 0.0, 0.0, 10.0,
                          "The rate at the bottom of each cycle.", step=1e-4),
        ),
    ),
)

SPECS: Mapping[str, ScheduleSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Registry name (the link's ``sched=`` value) → the schedule described as data."""

SCHEDULES: Mapping[str, Callable[..., Schedule | Scheduler]] = MappingProxyType(
    {name: spec.factory for name, spec in SPECS.items()}
)
"""Registry name → schedule factory."""

SCHEDULE_PARAMS: Mapping[str, tuple[ScheduleParam, ...]] = MappingProxyType(
    {name: spec.params for name, spec in SPECS.items()}
)
"""Registry name → its parameters (see ``SPECS``)."""

_FILLED_BY_STEPS = {"onecycle": "total_steps"}
"""Factory keywords that always take the run's length rather than a setting."""


def build(name: str, steps: int, **params: float | int | bool | str | None) -> Schedule | Scheduler:
    """The registry schedule ``name`` for a run of ``steps`` updates (capped at MAX_STEPS).

    ``params`` are given by parameter name (``ScheduleParam.name``); unset ones take their
    defaults, and ``None`` (the default of polynomial's ``total_iters``) means ``steps``.
    One-cycle spans the run. The result takes the optimiser's own rate as its base, so one
    schedule serves every optimiser of a comparison. Raises ``ValueError`` for an unknown
    name or parameter (listing the valid ones) and for invalid values.
    """
    if name not in SPECS:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SPECS)}")
    spec = SPECS[name]
    declared = {p.name: p.default for p in spec.params}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise ValueError(f"{name} has no setting {', '.join(unknown)}; its settings: {allowed}")
    steps = min(_check_count("steps", steps), MAX_STEPS)
    values = {**declared, **params}
    values = {k: steps if v is None else v for k, v in values.items()}
    if name in _FILLED_BY_STEPS:
        values[_FILLED_BY_STEPS[name]] = steps
    return spec.factory(**values)


def make(name: str, **params: float | int | bool | str | None) -> Schedule | Scheduler:
    """``build(name, MAX_STEPS, **params)``: for schedules that do not depend on the run's
    length (one-cycle and an unset polynomial ``total_iters`` then span ``MAX_STEPS``)."""
    return build(name, MAX_STEPS, **params)


def trace(
    schedule: Schedule | Scheduler,
    base_lr: float,
    steps: int,
    losses: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The rate of updates 0 … steps − 1 (and the momentum, or ``None`` if never set).

    ``losses[t]`` is fed to update t, as ``descent.run`` feeds the loss at each iterate;
    without ``losses`` the loss is flat, so a plateau schedule shows the cuts it makes when
    nothing improves. ``steps`` is capped at MAX_STEPS. For a finished run the rates used are
    in ``History.learning_rate`` and ``History.momentum``.
    """
    steps = int(min(max(int(steps), 0), MAX_STEPS))
    feed = np.zeros(steps) if losses is None else np.asarray(losses, dtype=float).reshape(-1)
    if len(feed) < steps:
        raise ValueError(f"{steps} updates need {steps} losses; got {len(feed)}")
    scheduler = as_scheduler(schedule)
    state = scheduler.init(float(base_lr))
    rates, momenta = np.empty(steps), np.full(steps, np.nan)
    for t in range(steps):
        lr, momentum, state = scheduler.update(t, float(feed[t]), state)
        rates[t] = lr
        if momentum is not None:
            momenta[t] = momentum
    return rates, (None if np.isnan(momenta).all() else momenta)
