"""Every setting of the app in one frozen ``Settings``: fields, defaults, ranges and repairs.

``Settings`` holds each default once; ``FIELDS`` describes each field once (URL key, kind,
range, label, help) and reads its default from ``Settings``. Construction checks every field on
its own; ``repair`` makes fields agree with each other (a start with as many coordinates as the
surface has, one rate per optimiser within what it allows, ``step <= steps``…) and says in
words what it changed. The moves a learner makes — open a lesson, pick a surface, switch view —
are pure functions here (``with_lesson``, ``with_surface``, ``with_view``), so the sidebar's
callbacks and links share one rule.

``permalink`` turns settings into a query string and back; ``optimizer_kwargs``,
``surface_params`` and ``network_kwargs`` turn them into the arguments of ``optimizers.make``,
``surfaces.get`` and ``landscape.experiment``.

One piece: the field table, the checks that read it, and the repairs and moves that keep fields
in agreement change together whenever a setting is added.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from losslab import (
    descent,
    grids,
    landscape,
    lessons,
    nn,
    optimizers,
    schedules,
    stability,
    surfaces,
)
from losslab.limits import MAX_FORMULA_CHARS, MAX_ROWS, MAX_RUNS
from losslab.surfaces import SURFACES

__all__ = [
    "CUSTOM",
    "FIELD",
    "FIELDS",
    "NETWORK_STEPS",
    "NO_LESSON",
    "OPTIMIZER_NAMES",
    "SCHEDULE_FIELDS",
    "ScheduleKey",
    "SURFACE_DEFAULTS",
    "TWO_WEIGHT_OPENING",
    "TWO_WEIGHT_VIEWS",
    "VIEWS",
    "Field",
    "Notes",
    "Settings",
    "baseline",
    "clamp_rate",
    "default_start",
    "fit_dimension",
    "network_kwargs",
    "network_opening",
    "number_text",
    "opening_fields",
    "opening_of",
    "optimizer_kwargs",
    "quoted",
    "rate_range",
    "reconcile",
    "repair",
    "replaced",
    "run_starts",
    "schedule_from_key",
    "schedule_key",
    "schedule_of",
    "steady_rates",
    "surface_params",
    "with_lesson",
    "with_surface",
    "with_schedule",
    "with_view",
]

CUSTOM = "custom"
"""The ``surface`` value of a user-typed formula (carried in ``expr``)."""
NO_LESSON = "none"
"""The ``lesson`` value of free exploration."""
OPTIMIZER_NAMES = tuple(optimizers.OPTIMIZERS)
"""sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, newton: the optimiser registry."""
VIEWS = ("lesson", "surface", "compare", "sweep", "nn")
"""``lesson`` is the one-weight view (its link value predates the guided lessons)."""
TWO_WEIGHT_VIEWS = ("surface", "compare", "sweep")
"""Views drawn over two weights (``compare`` is the map view's old name)."""
TWO_WEIGHT_OPENING = "rosenbrock"
"""The surface a two-weight view opens on when the surface had one weight."""
_MAX_WARNINGS = 12
_SHOWN_CHARS = 30
_FORMULA = re.compile(r"[A-Za-z0-9_+\-*/^()., ]*")
# Each schedule parameter is one setting named by its link key; schedules that share a key
# share its meaning, range and default (``tests/test_schedules.py`` checks it), so the first
# description of a key serves all of them.
_SCHEDULE_PARAM: Mapping[str, schedules.ScheduleParam] = MappingProxyType({
    key: next(p for spec in schedules.SPECS.values() for p in spec.params if p.key == key)
    for key in dict.fromkeys(p.key for spec in schedules.SPECS.values() for p in spec.params)
})
_SCHEDULE_DEFAULT = {key: p.default for key, p in _SCHEDULE_PARAM.items()}


@dataclass(frozen=True)
class Settings:
    """Everything the app shows, with the opening view (the chapter's lesson) as defaults.

    Each field is described by ``FIELD[name]``. Construction checks every field on its own and
    raises ``ValueError`` naming the field and value; floats are rounded to 6 significant
    digits. Whether fields agree with each other is ``repair``'s job. ``step=None`` means the
    last step.
    """

    lesson: str = NO_LESSON
    view: str = "lesson"
    presenter: bool = False
    surface: str = "single_point"
    expr: str = ""
    x: float = 2.0
    y_true: float = 4.0
    w_min: float = -1.0
    w_max: float = 3.0
    kappa: float = 10.0
    angle: float = 0.0
    n: int = 200
    noise: float = 0.2
    loss_kind: str = "mse"
    delta: float = 1.0
    l1: float = 0.0
    l2: float = 0.0
    optimizers: tuple[str, ...] = ("sgd",)
    learning_rates: tuple[float, ...] = (0.05,)
    momentum: float = 0.9
    decay: float = 0.99
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.01
    damping: float = 0.0
    schedule: str = "constant"
    period: int = _SCHEDULE_DEFAULT["period"]
    gamma: float = _SCHEDULE_DEFAULT["gamma"]
    warmup: int = _SCHEDULE_DEFAULT["warmup"]
    start_factor: float = _SCHEDULE_DEFAULT["start_factor"]
    pct: float = _SCHEDULE_DEFAULT["pct"]
    anneal: str = _SCHEDULE_DEFAULT["anneal"]
    div: float = _SCHEDULE_DEFAULT["div"]
    final_div: float = _SCHEDULE_DEFAULT["final_div"]
    cycle_mom: bool = _SCHEDULE_DEFAULT["cycle_mom"]
    base_mom: float = _SCHEDULE_DEFAULT["base_mom"]
    max_mom: float = _SCHEDULE_DEFAULT["max_mom"]
    factor: float = _SCHEDULE_DEFAULT["factor"]
    patience: int = _SCHEDULE_DEFAULT["patience"]
    thresh: float = _SCHEDULE_DEFAULT["thresh"]
    thresh_mode: str = _SCHEDULE_DEFAULT["thresh_mode"]
    cooldown: int = _SCHEDULE_DEFAULT["cooldown"]
    min_lr: float = _SCHEDULE_DEFAULT["min_lr"]
    iters: int | None = _SCHEDULE_DEFAULT["iters"]
    power: float = _SCHEDULE_DEFAULT["power"]
    t0: int = _SCHEDULE_DEFAULT["t0"]
    t_mult: int = _SCHEDULE_DEFAULT["t_mult"]
    eta_min: float = _SCHEDULE_DEFAULT["eta_min"]
    start: tuple[float, ...] = (-1.0,)
    starts: tuple[float, ...] = ()
    steps: int = 30
    step: int | None = None
    batch: int = 0
    seed: int = 0
    resolution: int = 100
    dataset: str = "moons"
    hidden: tuple[int, ...] = (8,)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        for f in FIELDS:
            object.__setattr__(self, f.name, _checked(f, getattr(self, f.name)))

    def rates(self) -> tuple[float, ...]:
        """The learning rate of each optimiser, aligned with ``optimizers``."""
        lr = self.learning_rates
        return lr * len(self.optimizers) if len(lr) == 1 else lr


def replaced(settings: Settings, **changes: object) -> Settings:
    """``dataclasses.replace(settings, **changes)``, checking only the changed fields: the
    others were checked when ``settings`` was made, and checking is idempotent. Raises
    ``ValueError`` naming a refused field and value, ``TypeError`` for an unknown field.
    (Building the settings anew checked all 64 fields; a rerun does it a dozen times.)"""
    new = object.__new__(Settings)
    new.__dict__.update(settings.__dict__)
    for name, value in changes.items():
        f = FIELD.get(name)
        if f is None:
            raise TypeError(f"Settings has no field {name!r}")
        object.__setattr__(new, name, _checked(f, value))
    return new


class Field(NamedTuple):
    """One setting. ``kind`` is one of:

    ``float``/``int``/``bool``; ``choice`` (one of ``choices``); ``text`` (a formula);
    ``floats``/``ints``/``names``: comma lists of 1..``max_items`` numbers or choices.
    Numbers (and each list item) lie in ``[low, high]``. In a link a bool is ``0`` or ``1``.
    ``default`` is read from ``Settings``.
    """

    name: str
    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    label: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    max_items: int = 1
    default: object = None
    min_items: int = 1


def _hyper(optimizer: str, name: str) -> tuple[float, float]:
    """(low, high) of an optimiser hyperparameter, from the optimiser registry."""
    hp = next(h for h in optimizers.HYPERPARAMS[optimizer] if h.name == name)
    return hp.min_value, hp.max_value


def rate_range(optimizer: str) -> tuple[float, float]:
    """The learning rates ``optimizer`` accepts (Newton: at most 2)."""
    low, high = _hyper(optimizer, "learning_rate")
    return float(low), float(high)


def clamp_rate(optimizer: str, learning_rate: float) -> float:
    """``learning_rate`` moved into ``rate_range(optimizer)``: the one rate clamp."""
    low, high = rate_range(optimizer)
    return min(max(float(learning_rate), low), high)


# Surface builder parameter -> Settings field.
_SURFACE_PARAMS = MappingProxyType({
    "x": "x", "y_true": "y_true", "condition": "kappa", "angle": "angle", "n": "n",
    "noise": "noise", "seed": "seed", "loss": "loss_kind", "delta": "delta", "l1": "l1",
    "l2": "l2",
})
_SHARED_HYPERPARAMS = ("momentum", "decay", "beta1", "beta2", "weight_decay", "damping")
_RATE_RANGE = (min(rate_range(n)[0] for n in OPTIMIZER_NAMES),
               max(rate_range(n)[1] for n in OPTIMIZER_NAMES))
_MAX_DATA_NOISE = 10.0
"""Generated rows of the data surfaces take up to this noise; the network's data less."""

_FIELDS: tuple[Field, ...] = (
    Field("lesson", "lesson", "choice", label="Lesson",
          help="A guided preset with a question; 'none' for free exploration.",
          choices=(NO_LESSON, *lessons.LESSON_IDS)),
    Field("view", "view", "choice", label="View",
          help="Which page of the app is open.", choices=VIEWS),
    Field("presenter", "present", "bool", label="Presenter mode",
          help="Large type and fewer controls, for a projector."),
    Field("surface", "surface", "choice", label="Surface",
          help="The loss surface, or 'custom' for your own formula.",
          choices=(*SURFACES, CUSTOM)),
    Field("expr", "expr", "text", label="Formula",
          help="Your own loss formula (used when the surface is 'custom')."),
    Field("x", "x", "float", -10.0, 10.0, "Input x",
          help="The one input of the single-point surface L(w) = (w·x − y)²."),
    Field("y_true", "y", "float", -10.0, 10.0, "Target y",
          help="The true output of the single-point surface."),
    Field("w_min", "wmin", "float", -100.0, 100.0, "w from",
          help="Left end of the plotted w range (one-weight surfaces)."),
    Field("w_max", "wmax", "float", -100.0, 100.0, "w to",
          help="Right end of the plotted w range (one-weight surfaces)."),
    Field("kappa", "kappa", "float", 1.0, 1000.0, "Condition number",
          help="Steepest over flattest curvature of the ravine."),
    Field("angle", "angle", "float", -90.0, 90.0, "Ravine angle (°)",
          help="Turns the ravine: at 0 its floor lies along w1, at 45 it runs diagonally."),
    Field("n", "n", "int", nn.MIN_ROWS, MAX_ROWS, "Data rows",
          help="How many data points are generated."),
    Field("noise", "noise", "float", 0.0, _MAX_DATA_NOISE, "Noise",
          help="How much noise is added to the generated data."),
    Field("loss_kind", "loss", "choice", label="Loss",
          help="Squared error, absolute error, or Huber (squared near 0, absolute far away).",
          choices=("mse", "mae", "huber")),
    Field("delta", "delta", "float", 0.01, 100.0, "Huber δ",
          help="Where Huber loss turns from squared (small residuals) to absolute (large ones)."),
    Field("l1", "l1", "float", 0.0, 10.0, "L1 penalty",
          help="Adds l1·Σ|w| to the loss: pulls weights to exactly zero."),
    Field("l2", "l2", "float", 0.0, 10.0, "L2 penalty",
          help="Adds l2·Σw² to the loss: pulls weights towards zero."),
    Field("optimizers", "opt", "names", label="Optimisers",
          help="One to eight optimisers run side by side (a name may repeat).",
          choices=OPTIMIZER_NAMES, max_items=MAX_RUNS),
    Field("learning_rates", "lr", "floats", *_RATE_RANGE, "Learning rate",
          help="Step size: one for all optimisers, or one per optimiser.", max_items=MAX_RUNS),
    Field("momentum", "mom", "float", *_hyper("momentum", "momentum"), "Momentum",
          help="How much of the previous step carries over (momentum and Nesterov)."),
    Field("decay", "decay", "float", *_hyper("rmsprop", "decay"), "RMSProp decay",
          help="RMSProp: how slowly the running mean of squared gradients forgets "
               "(torch's alpha)."),
    Field("beta1", "b1", "float", *_hyper("adam", "beta1"), "β₁",
          help="Adam's decay rate of the running mean of gradients."),
    Field("beta2", "b2", "float", *_hyper("adam", "beta2"), "β₂",
          help="Adam's decay rate of the running mean of squared gradients."),
    Field("weight_decay", "wd", "float", *_hyper("adamw", "weight_decay"), "Weight decay",
          help="AdamW: shrinks the weights a little every step."),
    Field("damping", "damp", "float", *_hyper("newton", "damping"), "Damping",
          help="Newton: added to the curvature so steps stay small where it is flat."),
    Field("schedule", "sched", "choice", label="Schedule",
          help="How the learning rate changes over the steps.",
          choices=tuple(schedules.SPECS)),
    *(Field(key, key, p.kind, p.min_value, p.max_value, p.label, p.help, p.choices)
      for key, p in _SCHEDULE_PARAM.items()),
    Field("start", "start", "floats", -100.0, 100.0, "Start",
          help="Where the optimisers start: w, or w1,w2.", max_items=2),
    Field("starts", "starts", "floats", -100.0, 100.0, "Starts of each run",
          help="Where each run starts when they start apart: w1,w2 of run 1, then of run 2, "
               "… (empty: every run starts at Start).", max_items=2 * MAX_RUNS, min_items=0),
    Field("steps", "steps", "int", 1, descent.MAX_STEPS, "Steps",
          help="How many steps each optimiser takes."),
    Field("step", "step", "int", 0, descent.MAX_STEPS, "Shown step",
          help="The step on screen (empty: the last one)."),
    Field("batch", "batch", "int", 0, MAX_ROWS, "Batch size",
          help="Rows per gradient estimate; 0 uses all rows."),
    Field("seed", "seed", "int", 0, 2**31 - 1, "Random seed",
          help="Same seed, same data and same mini-batches."),
    Field("resolution", "res", "int", grids.MIN_RESOLUTION, grids.MAX_RESOLUTION,
          "Grid resolution", help="Points per axis when the surface is drawn."),
    Field("dataset", "data", "choice", label="Data set",
          help="The toy classification data of the network view.", choices=nn.DATASETS),
    Field("hidden", "hidden", "ints", 1, nn.MAX_WIDTH, "Hidden layers",
          help="Neurons per hidden layer, e.g. 8 or 16,16.", max_items=nn.MAX_DEPTH),
    Field("activation", "act", "choice", label="Activation",
          help="The hidden layers' non-linearity.", choices=nn.ACTIVATIONS),
)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}
FIELDS: tuple[Field, ...] = tuple(f._replace(default=_DEFAULTS[f.name]) for f in _FIELDS)
"""Every setting, in ``Settings`` order, with its default."""
FIELD: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})
"""``FIELDS`` by attribute name."""


def _rounded(value: float) -> float:
    """Six significant digits, so links stay short and round-trip exactly; −0 becomes 0."""
    return float(format(value, ".6g")) + 0.0


def normal(f: Field, value: float) -> float | int:
    """A number already within ``f``'s range, in its stored form. Rounding may push a value
    just past a bound (0.99995 → 1.0), so the rounded value is clamped again; the bounds are
    themselves short decimals, so the result stays short."""
    if f.kind in ("int", "ints"):
        return int(value)
    return min(max(_rounded(value), float(f.low)), float(f.high))


def _checked(f: Field, value: object) -> object:
    """``value`` converted to ``f``'s type, or ``ValueError`` naming the field and value.
    ``None`` is valid where it is the default (``step``, ``iters``: the run's length)."""
    if value is None and f.default is None:
        return None

    def bad(why: str) -> ValueError:
        return ValueError(f"Invalid {f.name}: {value!r} ({why})")

    def number(v: object) -> float | int:
        if isinstance(v, (bool, str)) or not hasattr(v, "__float__"):
            raise bad("not a number")
        as_float = float(v)
        if not (math.isfinite(as_float) and f.low <= as_float <= f.high):
            raise bad(f"must be a finite number in [{f.low}, {f.high}]")
        if f.kind in ("int", "ints") and as_float != int(as_float):
            raise bad("not a whole number")
        return normal(f, as_float)

    if f.kind in ("float", "int"):
        return number(value)
    if f.kind == "bool":
        if value not in (True, False):
            raise bad("must be True or False")
        return bool(value)
    if f.kind == "text":
        if not isinstance(value, str) or formula_problem(value):
            raise bad(formula_problem(value) if isinstance(value, str) else "not text")
        return value
    if f.kind == "choice":
        if value not in f.choices:
            raise bad(f"choose one of {', '.join(f.choices)}")
        return value
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or not f.min_items <= len(items) <= f.max_items:
        raise bad(f"give {f.min_items} to {f.max_items} values")
    if f.kind == "names":
        if any(i not in f.choices for i in items):
            raise bad(f"choose from {', '.join(f.choices)}")
        return items
    return tuple(number(i) for i in items)


def formula_problem(text: str) -> str:
    """Why ``text`` cannot be a formula, or ``""``. The expression parser checks the rest."""
    if len(text) > MAX_FORMULA_CHARS:
        return f"it is {len(text)} characters long; the limit is {MAX_FORMULA_CHARS}"
    bad = sorted({c for c in text if not _FORMULA.fullmatch(c)})
    if bad:
        return f'it contains "{quoted("".join(bad[:5]))}", which a formula cannot use'
    if "__" in text:
        return 'it contains "__", which a formula cannot use'
    return ""


# ---------------------------------------------------------------------------- words


def quoted(text: str) -> str:
    """``text`` fit to quote in a message: invisible characters as ``?``, at most ~30 chars."""
    safe = "".join(c if c.isprintable() else "?" for c in text[: _SHOWN_CHARS + 1])
    return safe if len(safe) <= _SHOWN_CHARS else safe[: _SHOWN_CHARS - 1] + "…"


def number_text(v: float | int) -> str:
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    return text[:-2] if text.endswith(".0") else text


class Notes:
    """Warnings for the learner, capped so a hostile link cannot flood the page."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.dropped = 0

    @property
    def full(self) -> bool:
        """Whether a further warning would only be counted, not shown."""
        return len(self.kept) >= _MAX_WARNINGS

    def add(self, text: str) -> None:
        if len(self.kept) < _MAX_WARNINGS:
            self.kept.append(text)
        else:
            self.dropped += 1

    def final(self) -> list[str]:
        extra = [f"…and {self.dropped} more problems in the link."] if self.dropped else []
        return self.kept + extra


# ---------------------------------------------------------------------------- consistency


def default_start(surface: str) -> tuple[float, ...]:
    """The start of a surface when none is given: the left end of a 1-D window (the chapter's
    w = −1), or the point 10 % in from the top-left corner of a 2-D window. A custom formula
    starts at (−1,)."""
    s = SURFACES.get(surface)
    if s is None:
        return (-1.0,)
    if s.dim == 1:
        return (_rounded(s.window[0][0]),)
    (lo1, hi1), (lo2, hi2) = s.window[:2]
    return (_rounded(lo1 + 0.1 * (hi1 - lo1)), _rounded(hi2 - 0.1 * (hi2 - lo2)))


def _fit_rates(rates: tuple[float, ...], count: int) -> tuple[float, ...]:
    if len(rates) in (1, count):
        return rates
    return rates[:count] if len(rates) > count else rates + rates[-1:] * (count - len(rates))


def implied_start(surface: str, base: Settings) -> tuple[float, ...]:
    """The start a link to ``surface`` that gives none means."""
    s = SURFACES.get(surface)
    return base.start if s is None or len(base.start) == s.dim else default_start(surface)


def run_starts(s: Settings) -> tuple[tuple[float, ...], ...]:
    """Where each run starts: its point in ``starts`` when given, else ``start``."""
    dim = len(s.start)
    given = [tuple(s.starts[i:i + dim]) for i in range(0, len(s.starts) - dim + 1, dim)]
    return tuple(given[i] if i < len(given) else s.start for i in range(len(s.optimizers)))


def opening_of(surface: str, s: Settings) -> dict[str, object]:
    """The fields a surface's opening sets (``Surface.opening``: the runs that show what it
    teaches), for ``surface`` built with ``s``'s parameters; empty for a formula or a surface
    without one."""
    if surface not in SURFACES:
        return {}
    try:
        opening = surfaces.get(surface, **surface_params(
            replaced(s, surface=surface))).opening
    except ValueError:
        return {}
    return opening_fields(opening)


def opening_fields(opening: surfaces.Opening | None) -> dict[str, object]:
    """The settings fields of a surface's opening (empty for ``None``)."""
    if opening is None:
        return {}
    rates = opening.learning_rates
    out: dict[str, object] = {
        "optimizers": opening.optimizers,
        "learning_rates": rates[:1] if len(set(rates)) == 1 else rates,
        "steps": opening.steps,
        "start": opening.starts[0],
        "starts": () if opening.start is not None else tuple(
            c for point in opening.starts for c in point),
    }
    return {k: (tuple(_rounded(v) for v in value) if k in ("learning_rates", "start", "starts")
                else value) for k, value in out.items()}


_OPENING_RUNS = ("optimizers", "learning_rates", "starts")
"""An opening's runs go together: a link naming any of these keeps its own runs."""


def implied_opening(s: Settings, base: Settings, given: set[str]) -> dict[str, object]:
    """What a link to ``s.surface`` means for the fields it leaves out: the surface's opening,
    when the surface is not the baseline's. Its runs (optimisers, rates, starts) come as one
    unit, only when the link names none of them; its start and steps each when not given."""
    if s.surface == base.surface:
        return {}
    opening = opening_of(s.surface, s)
    if not opening:
        return {}
    if given & set(_OPENING_RUNS):
        opening = {k: v for k, v in opening.items() if k not in _OPENING_RUNS}
    return {k: v for k, v in opening.items() if k not in given}


def network_opening(config: nn.TrainingConfig = nn.DEFAULT) -> dict[str, object]:
    """The fields a network configuration sets: ``nn.DEFAULT`` is a network that has learned
    (the network view opens on it), ``nn.UNDERTRAINED`` the same after 30 plain steps."""
    return {"optimizers": (config.optimizer,), "learning_rates": (config.learning_rate,),
            "steps": config.steps}


def implied_network(s: Settings, base: Settings, given: set[str]) -> dict[str, object]:
    """What a link to the network view means for the run fields it leaves out: the trained
    network's optimiser, rate and steps, when the baseline is not the network view."""
    if s.view != "nn" or base.view == "nn":
        return {}
    opening = network_opening()
    if given & {"optimizers", "learning_rates"}:
        opening = {k: v for k, v in opening.items() if k == "steps"}
    return {k: v for k, v in opening.items() if k not in given}


def implied_view(surface: str, base: Settings) -> str:
    """The view a link to ``surface`` that gives none means: the baseline's, or the view of
    the surface's dimension when the baseline's cannot show it."""
    s = SURFACES.get(surface)
    if s is None:
        return base.view
    return fit_dimension(replaced(base, start=(0.0,) * s.dim), s.dim).view


SURFACE_DEFAULTS = MappingProxyType({
    "logistic_regression": MappingProxyType({"noise": 1.0}),
})
"""Settings a surface reads differently from the others, and its own default for them: a link
or a switch to the surface that leaves them out gets these (with the shared noise of 0.2,
logistic regression's classes would not overlap, so it would have no minimum)."""


def implied_surface_settings(surface: str, base: Settings) -> dict[str, object]:
    """The fields a link to ``surface`` that leaves them out means (see ``SURFACE_DEFAULTS``)."""
    if surface == base.surface:
        return {}
    return dict(SURFACE_DEFAULTS.get(surface, {}))


def steady_rates(s: Settings) -> tuple[float, ...]:
    """``s``'s learning rates with the curvature-bound optimisers
    (``stability.CURVATURE_BOUND``) at the surface's steady rate at the start
    (``stability.steady_rate``); adaptive optimisers keep theirs. Unchanged for a formula, or
    where the surface cannot be built or does not curve up."""
    if s.surface not in SURFACES:
        return s.learning_rates
    try:
        steady = stability.steady_rate(surfaces.get(s.surface, **surface_params(s)), s.start)
    except ValueError:
        return s.learning_rates
    if steady is None:
        return s.learning_rates
    out = tuple(
        steady if name in stability.CURVATURE_BOUND else rate
        for name, rate in zip(s.optimizers, s.rates(), strict=True)
    )
    return out if len(set(out)) > 1 else out[:1]


def implied_rates(s: Settings, base: Settings) -> tuple[float, ...]:
    """The learning rates a link that gives none means: the baseline's, except on a formula-free
    surface the baseline does not use. There they are ``steady_rates``, as when the surface is
    picked in the app, so ``?surface=rosenbrock`` does not open on a run that diverges at once.
    (Data-driven surfaces keep the baseline's: building their rows on every rerun's link would
    cost more than their gentle curvature is worth.)"""
    rates = _fit_rates(base.learning_rates, len(s.optimizers))
    shape = SURFACES.get(s.surface)
    if s.surface == base.surface or shape is None or shape.data is not None:
        return rates
    if len(s.start) != shape.dim:
        return rates
    return steady_rates(replaced(s, learning_rates=rates))


def repair(s: Settings, base: Settings, given: set[str], notes: Notes) -> Settings:
    """``s`` with fields that contradict each other repaired, a note for each given one.

    ``base`` is what the fields not in ``given`` default to (a link's baseline)."""
    implied = {k: v for k, v in implied_surface_settings(s.surface, base).items()
               if k not in given}
    s = replaced(s, **implied) if implied else s
    opening = implied_opening(s, base, given) or implied_network(s, base, given)
    s = replaced(s, **opening) if opening else s
    given = given | set(opening)
    changes: dict[str, object] = {**implied, **opening}
    dim = SURFACES[s.surface].dim if s.surface in SURFACES else None
    if dim is not None and len(s.start) != dim:
        changes["start"] = implied_start(s.surface, base)
        if "start" in given:
            shown = ",".join(map(number_text, s.start))
            notes.add(f'Ignored start="{shown}": the surface {s.surface} needs {dim} '
                      f"coordinate{'s' if dim > 1 else ''}.")
    if dim is not None:  # a registry surface opens in the view of its dimension
        view = fit_dimension(replaced(s, start=changes.get("start", s.start)),
                             dim).view
        if view != s.view:
            changes["view"] = view
    if s.w_min >= s.w_max:
        changes.update(w_min=base.w_min, w_max=base.w_max)
        notes.add(f"Ignored the w range {number_text(s.w_min)} to {number_text(s.w_max)}: "
                  f"the left end (wmin) must be less than the right end (wmax).")
    rates = s.learning_rates
    if "learning_rates" not in given:
        rates = implied_rates(replaced(s, start=changes.get("start", s.start)), base)
    fitted = _fit_rates(rates, len(s.optimizers))
    if fitted != s.learning_rates and "learning_rates" in given:
        notes.add(f"lr has {len(s.learning_rates)} values for {len(s.optimizers)} "
                  f"optimiser{'s' if len(s.optimizers) > 1 else ''}; "
                  f"{','.join(map(number_text, fitted))} was used.")
    per_run = fitted * len(s.optimizers) if len(fitted) == 1 else fitted
    allowed = tuple(
        clamp_rate(name, lr) for name, lr in zip(s.optimizers, per_run, strict=True)
    )
    if allowed != per_run:
        runs = zip(s.optimizers, per_run, allowed, strict=True)
        name, lr = next((n, r) for n, r, a in runs if r != a)
        low, high = rate_range(name)
        fitted = allowed
        notes.add(f"The learning rate {number_text(lr)} is outside what {name} allows "
                  f"({number_text(low)} to {number_text(high)}), "
                  f"so lr={','.join(map(number_text, allowed))} was used.")
    if fitted != s.learning_rates:
        changes["learning_rates"] = fitted
    start = changes.get("start", s.start)
    if s.starts and (len(s.starts) % len(start) or len(s.starts) > len(start) * len(s.optimizers)):
        changes["starts"] = ()
        if "starts" in given:
            notes.add(f"Ignored starts: it needs {len(start)} coordinates for each of at most "
                      f"{len(s.optimizers)} runs, so every run starts at start.")
    if s.step is not None and s.step > s.steps:
        changes["step"] = s.steps
        notes.add(f"The shown step {s.step} is beyond the last step {s.steps}, "
                  f"so step {s.steps} is shown.")
    return replaced(s, **changes) if changes else s


def baseline(lesson: str) -> Settings:
    """What a link with only ``lesson=<lesson>`` means: that lesson's preset, or the defaults
    (with ``lesson`` set) for ``NO_LESSON``. Raises ``ValueError`` for an unknown lesson."""
    known = _BASELINES.get(lesson)
    return known if known is not None else with_lesson(Settings(), lesson)


def reconcile(settings: Settings) -> tuple[Settings, list[str]]:
    """``settings`` made consistent, with a note per repair (none when already consistent):
    a start point with as many coordinates as the surface has (else the surface's default),
    ``w_min < w_max`` (else the baseline's range), one learning rate or one per optimiser
    (extra ones dropped, missing ones copied from the last), each rate within what its
    optimiser allows (Newton: at most 2), and ``step <= steps``."""
    notes = Notes()
    out = repair(settings, baseline(settings.lesson), {f.name for f in FIELDS}, notes)
    return out, notes.final()


# ---------------------------------------------------------------------------- a learner's moves


def with_lesson(current: Settings, lesson_id: str) -> Settings:
    """Open a lesson: the defaults with the lesson's changes (``lessons.KEPT_SETTINGS`` kept
    from ``current``), or ``current`` in free exploration for ``NO_LESSON``. Raises
    ``ValueError`` for an unknown lesson."""
    if lesson_id == NO_LESSON:
        return replaced(current, lesson=NO_LESSON)
    lesson = lessons.get(lesson_id)
    kept = {name: getattr(current, name) for name in lessons.KEPT_SETTINGS}
    new = replaced(Settings(), **kept, **dict(lesson.settings), lesson=lesson.id)
    shape = SURFACES.get(new.surface)
    return fit_dimension(new, shape.dim if shape is not None else None)


def with_surface(current: Settings, name: str) -> Settings:
    """Pick a surface: its opening (the runs that show its story), its own defaults
    (``SURFACE_DEFAULTS``) — the same a link naming only the surface gets."""
    start = default_start(name) if name != CUSTOM else current.start
    new = replaced(current, surface=name, start=start, starts=(), step=None,
                              **SURFACE_DEFAULTS.get(name, {}))
    opening = opening_of(name, new)
    if opening:
        new = replaced(new, **opening)
    elif name != CUSTOM:
        new = replaced(new, learning_rates=steady_rates(new))
    return reconcile(new)[0]


def with_schedule(current: Settings, name: str) -> Settings:
    """Pick a schedule. Cosine annealing's period (the ``period`` it shares with step decay,
    10 steps by default) becomes the run's steps: over 10 steps torch's cosine climbs back
    every 20, a wave rather than an anneal."""
    changes: dict[str, object] = {"schedule": name}
    if name == "cosine" and current.schedule != "cosine":
        changes["period"] = current.steps
    return reconcile(replaced(current, **changes))[0]


def with_view(current: Settings, view: str) -> Settings:
    """Switch view, keeping the surface's dimension consistent with it: the one-weight view
    opens the chapter's surface, a two-weight view Rosenbrock, when the surface has the other
    dimension."""
    dim = SURFACES[current.surface].dim if current.surface in SURFACES else None
    new = replaced(current, view=view)
    if view == "nn" and current.view != "nn":
        return reconcile(replaced(new, **network_opening()))[0]
    if view == "lesson" and dim == 2:
        return with_surface(new, "single_point")
    if view in TWO_WEIGHT_VIEWS and dim == 1:
        return with_surface(new, TWO_WEIGHT_OPENING)
    return reconcile(new)[0]


def fit_dimension(s: Settings, dim: int | None) -> Settings:
    """``s`` with its view and start made to fit a surface of ``dim`` weights (a typed formula
    decides its dimension only once parsed): a two-weight surface opens in the two-weight view
    and a one-weight one in the one-weight view, whichever way it was chosen."""
    if dim is None:
        return s
    view = s.view
    if dim == 2 and view == "lesson":
        view = "surface"
    elif dim == 1 and view in TWO_WEIGHT_VIEWS:
        view = "lesson"
    start = s.start
    if len(start) != dim:
        start = default_start(s.surface) if s.surface != CUSTOM else (-1.0,) * dim
    if (view, start) == (s.view, s.start):
        return s
    return replaced(s, view=view, start=start)


# ---------------------------------------------------------------------------- adapters


def optimizer_kwargs(settings: Settings) -> tuple[tuple[str, dict[str, float]], ...]:
    """``(name, hyperparameters)`` of each run, ready for ``optimizers.make(name, **kw)``: its
    learning rate, and of momentum, decay, beta1, beta2, weight_decay and damping those it
    takes."""
    runs = []
    for name, lr in zip(settings.optimizers, settings.rates(), strict=True):
        kwargs = {"learning_rate": lr}
        for hp in optimizers.HYPERPARAMS[name]:
            if hp.name in _SHARED_HYPERPARAMS:
                kwargs[hp.name] = getattr(settings, hp.name)
        runs.append((name, kwargs))
    return tuple(runs)


def surface_params(settings: Settings) -> dict[str, object]:
    """The settings the registry surface ``settings.surface`` takes, ready for
    ``surfaces.get(settings.surface, **kw)``; empty for a custom formula."""
    surface = SURFACES.get(settings.surface)
    if surface is None:
        return {}
    return {p: getattr(settings, f) for p, f in _SURFACE_PARAMS.items() if p in surface.params}


SCHEDULE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    name: tuple(p.key for p in spec.params) for name, spec in schedules.SPECS.items()
})
"""Schedule name → the settings (by attribute name, which is also the link key) it reads."""

ScheduleKey = tuple[str, int, tuple[tuple[str, object], ...]]


def schedule_key(settings: Settings) -> ScheduleKey:
    """What decides the schedule, as plain hashable values: ``(name, steps, ((parameter,
    value), ...))`` with the active schedule's parameters by ``ScheduleParam.name``. The steps
    are part of it because one-cycle (and polynomial decay without ``iters``) span the run."""
    spec = schedules.SPECS[settings.schedule]
    values = tuple((p.name, getattr(settings, p.key)) for p in spec.params)
    return settings.schedule, settings.steps, values


def schedule_from_key(key: ScheduleKey) -> schedules.Schedule | schedules.Scheduler | None:
    """The schedule ``schedule_key`` describes, for ``descent.run(schedule=...)``; ``None``
    for the constant rate (the optimiser's own, with its own momentum)."""
    name, steps, values = key
    if name == "constant":
        return None
    return schedules.build(name, steps, **dict(values))


def schedule_of(settings: Settings) -> schedules.Schedule | schedules.Scheduler | None:
    """The learning-rate schedule of ``settings``' runs (``None``: a constant rate); one
    schedule serves every optimiser, scaled by each one's own rate."""
    return schedule_from_key(schedule_key(settings))


NETWORK_OPTIMIZER = "adam"
"""The network view trains with this when the first optimiser cannot train a network."""
NETWORK_STEPS = 2000
"""The network view trains for at most this many steps, to stay interactive."""


def network_kwargs(settings: Settings) -> tuple[dict[str, object], list[str]]:
    """The keyword arguments of ``landscape.experiment`` for the network view (``batch=0``:
    full batch), and a sentence for each setting the network caps lower than the surfaces do
    (rows, noise, steps)."""
    notes = []
    n, noise, steps = settings.n, settings.noise, settings.steps
    if n > nn.MAX_ROWS:
        notes.append(f"The network trains on at most {nn.MAX_ROWS:,} rows, so {nn.MAX_ROWS:,} "
                     f"of the {n:,} asked for were used.")
        n = nn.MAX_ROWS
    if noise > nn.MAX_NOISE:
        notes.append(f"The network's data takes noise up to {nn.MAX_NOISE:g}, so "
                     f"{nn.MAX_NOISE:g} was used instead of {noise:g}.")
        noise = nn.MAX_NOISE
    if steps > NETWORK_STEPS:
        notes.append(f"The network trains for at most {NETWORK_STEPS:,} steps here, "
                     "to stay interactive.")
        steps = NETWORK_STEPS
    name = settings.optimizers[0]
    optimizer = name if name in landscape.OPTIMIZER_NAMES else NETWORK_OPTIMIZER
    return dict(
        dataset=settings.dataset, noise=noise, n=n, hidden=tuple(settings.hidden),
        activation=settings.activation, optimizer=optimizer,
        learning_rate=float(settings.rates()[0]), steps=steps, batch=min(settings.batch, n),
        seed=settings.seed,
    ), notes


_BASELINES: Mapping[str, Settings] = MappingProxyType({
    lesson: with_lesson(Settings(), lesson)
    for lesson in (NO_LESSON, *(known.id for known in lessons.LESSONS))})
"""``baseline`` of every lesson, made once: every rerun checks the settings against it (when
reconciling them and when writing the link), and building it each time was a tenth of a
cached rerun's own work."""
