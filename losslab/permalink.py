"""Every setting of the app in one frozen ``Settings``, and the permalinks that carry it.

A permalink is the page's query string: ``?surface=rosenbrock&opt=adam,sgd&lr=0.01&steps=200``.
It holds only what differs from the *baseline*: the defaults (the course chapter's lesson), or
the preset of the lesson named by ``lesson=``. So ``?lesson=ravine`` alone opens that lesson.

A link is untrusted input. ``parse_query`` never raises: malformed or non-finite values are
ignored, out-of-range numbers are clamped, unknown keys and names are dropped, and each such
repair adds a plain-words warning for the learner. ``to_query`` writes the shortest link, and
``parse_query(to_query(s)) == (s, [])`` for every consistent ``s`` (see ``reconcile``).

``FIELDS`` describes every setting once (attribute, URL key, kind, default, range, label, help);
the parser, ``Settings`` validation and the UI's widgets all read it. ``surface_params`` and
``optimizer_kwargs`` turn settings into the arguments of ``surfaces.get`` and
``optimizers.make``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from losslab import descent, grids, lessons, nn, optimizers, stability, surfaces
from losslab.surfaces import SURFACES

__all__ = [
    "CUSTOM",
    "FIELD",
    "FIELDS",
    "MAX_OPTIMIZERS",
    "MAX_VALUE_CHARS",
    "NO_LESSON",
    "OPTIMIZER_NAMES",
    "Field",
    "SURFACE_DEFAULTS",
    "Settings",
    "baseline",
    "default_start",
    "optimizer_kwargs",
    "parse_query",
    "reconcile",
    "steady_rates",
    "surface_params",
    "to_query",
]

CUSTOM = "custom"
"""The ``surface`` value of a user-typed formula (carried in ``expr``)."""
NO_LESSON = "none"
"""The ``lesson`` value of free exploration."""
OPTIMIZER_NAMES = tuple(optimizers.OPTIMIZERS)
"""sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, newton: the optimiser registry."""
MAX_OPTIMIZERS = 8
MAX_VALUE_CHARS = 200
"""Longer link values are rejected unread; also the longest formula."""
_MAX_WARNINGS = 12
_SHOWN_CHARS = 30
# Added to shared links by mail and social sites, or reserved by Streamlit: not ours to judge.
_FOREIGN_KEYS = frozenset({"embed", "embed_options", "fbclid", "gclid", "mc_cid", "mc_eid"})
# Plain decimals only: no "inf"/"nan", "1_000", "0x10", spaces or non-ASCII digits.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FORMULA = re.compile(r"[A-Za-z0-9_+\-*/^()., ]*")


class Field(NamedTuple):
    """One setting. ``kind`` is one of:

    ``float``/``int``/``bool``; ``choice`` (one of ``choices``); ``text`` (a formula);
    ``floats``/``ints``/``names``: comma lists of 1..``max_items`` numbers or choices.
    Numbers (and each list item) lie in ``[low, high]``. In a link a bool is ``0`` or ``1``.
    """

    name: str
    key: str
    kind: str
    default: object
    low: float | None = None
    high: float | None = None
    label: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    max_items: int = 1


def _hyper(optimizer: str, name: str) -> tuple[float, float, float]:
    """(default, low, high) of an optimiser hyperparameter, from the optimiser registry."""
    hp = next(h for h in optimizers.HYPERPARAMS[optimizer] if h.name == name)
    return hp.default, hp.min_value, hp.max_value


# Surface builder parameter -> Settings field.
_SURFACE_PARAMS = MappingProxyType({
    "x": "x", "y_true": "y_true", "condition": "kappa", "angle": "angle", "n": "n",
    "noise": "noise", "seed": "seed", "loss": "loss_kind", "delta": "delta", "l1": "l1",
    "l2": "l2",
})
_SHARED_HYPERPARAMS = ("momentum", "decay", "beta1", "beta2", "weight_decay", "damping")
_RATES = {name: _hyper(name, "learning_rate")[1:] for name in OPTIMIZER_NAMES}
_RATE_RANGE = (min(lo for lo, _ in _RATES.values()), max(hi for _, hi in _RATES.values()))

FIELDS: tuple[Field, ...] = (
    Field("lesson", "lesson", "choice", "none", label="Lesson",
          help="A guided preset with a question; 'none' for free exploration.",
          choices=(NO_LESSON, *lessons.LESSON_IDS)),
    Field("view", "view", "choice", "lesson", label="View",
          help="Which page of the app is open.",
          choices=("lesson", "surface", "compare", "sweep", "nn")),
    Field("presenter", "present", "bool", False, label="Presenter mode",
          help="Large type and fewer controls, for a projector."),
    Field("surface", "surface", "choice", "single_point", label="Surface",
          help="The loss surface, or 'custom' for your own formula.",
          choices=(*SURFACES, CUSTOM)),
    Field("expr", "expr", "text", "", label="Formula",
          help="Your own loss formula (used when the surface is 'custom')."),
    Field("x", "x", "float", 2.0, -10.0, 10.0, "Input x",
          help="The one input of the single-point surface L(w) = (w·x − y)²."),
    Field("y_true", "y", "float", 4.0, -10.0, 10.0, "Target y",
          help="The true output of the single-point surface."),
    Field("w_min", "wmin", "float", -1.0, -100.0, 100.0, "w from",
          help="Left end of the plotted w range (one-weight surfaces)."),
    Field("w_max", "wmax", "float", 3.0, -100.0, 100.0, "w to",
          help="Right end of the plotted w range (one-weight surfaces)."),
    Field("kappa", "kappa", "float", 10.0, 1.0, 1000.0, "Condition number",
          help="Steepest over flattest curvature of the ravine."),
    Field("angle", "angle", "float", 0.0, -90.0, 90.0, "Ravine angle (°)",
          help="Turns the ravine: at 0 its floor lies along w1, at 45 it runs diagonally."),
    Field("n", "n", "int", 200, nn.MIN_ROWS, nn.MAX_ROWS, "Data rows",
          help="How many data points are generated."),
    Field("noise", "noise", "float", 0.2, 0.0, nn.MAX_NOISE, "Noise",
          help="How much noise is added to the generated data."),
    Field("loss_kind", "loss", "choice", "mse", label="Loss",
          help="Squared error, absolute error, or Huber (squared near 0, absolute far away).",
          choices=("mse", "mae", "huber")),
    Field("delta", "delta", "float", 1.0, 0.01, 100.0, "Huber δ",
          help="Where Huber loss turns from squared (small residuals) to absolute (large ones)."),
    Field("l1", "l1", "float", 0.0, 0.0, 10.0, "L1 penalty",
          help="Adds l1·Σ|w| to the loss: pulls weights to exactly zero."),
    Field("l2", "l2", "float", 0.0, 0.0, 10.0, "L2 penalty",
          help="Adds l2·Σw² to the loss: pulls weights towards zero."),
    Field("optimizers", "opt", "names", ("sgd",), label="Optimisers",
          help="One to eight optimisers run side by side (a name may repeat).",
          choices=OPTIMIZER_NAMES, max_items=MAX_OPTIMIZERS),
    Field("learning_rates", "lr", "floats", (0.05,), *_RATE_RANGE, "Learning rate",
          help="Step size: one for all optimisers, or one per optimiser.",
          max_items=MAX_OPTIMIZERS),
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
    Field("schedule", "sched", "choice", "constant", label="Schedule",
          help="How the learning rate changes over the steps.",
          choices=("constant", "step", "exponential", "cosine", "warmup")),
    Field("gamma", "gamma", "float", 0.5, 0.01, 1.0, "Decay factor",
          help="Step and exponential schedules multiply the rate by this."),
    Field("period", "period", "int", 10, 1, descent.MAX_STEPS, "Period",
          help="Step schedule: steps between decays; cosine: steps in one cycle."),
    Field("warmup", "warmup", "int", 5, 0, descent.MAX_STEPS, "Warm-up steps",
          help="Warm-up schedule: steps over which the rate rises from 0."),
    Field("start", "start", "floats", (-1.0,), -100.0, 100.0, "Start",
          help="Where the optimisers start: w, or w1,w2.", max_items=2),
    Field("steps", "steps", "int", 30, 1, descent.MAX_STEPS, "Steps",
          help="How many steps each optimiser takes."),
    Field("step", "step", "int", None, 0, descent.MAX_STEPS, "Shown step",
          help="The step on screen (empty: the last one)."),
    Field("batch", "batch", "int", 0, 0, 100_000, "Batch size",
          help="Rows per gradient estimate; 0 uses all rows."),
    Field("seed", "seed", "int", 0, 0, 2**31 - 1, "Random seed",
          help="Same seed, same data and same mini-batches."),
    Field("resolution", "res", "int", 100, grids.MIN_RESOLUTION, grids.MAX_RESOLUTION,
          "Grid resolution", help="Points per axis when the surface is drawn."),
    Field("dataset", "data", "choice", "moons", label="Data set",
          help="The toy classification data of the network view.", choices=nn.DATASETS),
    Field("hidden", "hidden", "ints", (8,), 1, nn.MAX_WIDTH, "Hidden layers",
          help="Neurons per hidden layer, e.g. 8 or 16,16.", max_items=nn.MAX_DEPTH),
    Field("activation", "act", "choice", "tanh", label="Activation",
          help="The hidden layers' non-linearity.", choices=nn.ACTIVATIONS),
)
FIELD: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})
"""``FIELDS`` by attribute name."""
_BY_KEY: Mapping[str, Field] = MappingProxyType({f.key: f for f in FIELDS})


def _rounded(value: float) -> float:
    """Six significant digits, so links stay short and round-trip exactly; −0 becomes 0."""
    return float(format(value, ".6g")) + 0.0


def _normal(f: Field, value: float) -> float | int:
    """A number already within ``f``'s range, in its stored form. Rounding may push a value
    just past a bound (0.99995 → 1.0), so the rounded value is clamped again; the bounds are
    themselves short decimals, so the result stays short."""
    if f.kind in ("int", "ints"):
        return int(value)
    return min(max(_rounded(value), float(f.low)), float(f.high))


@dataclass(frozen=True)
class Settings:
    """Everything the app shows, with the opening view (the chapter's lesson) as defaults.

    Each field is described by ``FIELD[name]``. Construction checks every field on its own and
    raises ``ValueError`` naming the field and value; floats are rounded to 6 significant
    digits. Whether fields agree with each other (start point vs surface dimension, …) is
    ``reconcile``'s job. ``step=None`` means the last step.
    """

    lesson: str = "none"
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
    gamma: float = 0.5
    period: int = 10
    warmup: int = 5
    start: tuple[float, ...] = (-1.0,)
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


def _checked(f: Field, value: object) -> object:
    """``value`` converted to ``f``'s type, or ``ValueError`` naming the field and value."""
    if f.name == "step" and value is None:
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
        return _normal(f, as_float)

    if f.kind in ("float", "int"):
        return number(value)
    if f.kind == "bool":
        if value not in (True, False):
            raise bad("must be True or False")
        return bool(value)
    if f.kind == "text":
        if not isinstance(value, str) or _formula_problem(value):
            raise bad(_formula_problem(value) if isinstance(value, str) else "not text")
        return value
    if f.kind == "choice":
        if value not in f.choices:
            raise bad(f"choose one of {', '.join(f.choices)}")
        return value
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if not items or len(items) > f.max_items:
        raise bad(f"give 1 to {f.max_items} values")
    if f.kind == "names":
        if any(i not in f.choices for i in items):
            raise bad(f"choose from {', '.join(f.choices)}")
        return items
    return tuple(number(i) for i in items)


def _formula_problem(text: str) -> str:
    """Why ``text`` cannot be a formula, or ``""``. The expression parser checks the rest."""
    if len(text) > MAX_VALUE_CHARS:
        return f"it is {len(text)} characters long; the limit is {MAX_VALUE_CHARS}"
    bad = sorted({c for c in text if not _FORMULA.fullmatch(c)})
    if bad:
        return f'it contains "{_shown("".join(bad[:5]))}", which a formula cannot use'
    if "__" in text:
        return 'it contains "__", which a formula cannot use'
    return ""


# ---------------------------------------------------------------------------- parsing helpers


def _shown(text: str) -> str:
    """``text`` fit to quote in a message: invisible characters as ``?``, at most ~30 chars."""
    safe = "".join(c if c.isprintable() else "?" for c in text[: _SHOWN_CHARS + 1])
    return safe if len(safe) <= _SHOWN_CHARS else safe[: _SHOWN_CHARS - 1] + "…"


def _number_text(v: float | int) -> str:
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    return text[:-2] if text.endswith(".0") else text


class _Notes:
    """Warnings for the learner, capped so a hostile link cannot flood the page."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.dropped = 0

    def add(self, text: str) -> None:
        if len(self.kept) < _MAX_WARNINGS:
            self.kept.append(text)
        else:
            self.dropped += 1

    def final(self) -> list[str]:
        extra = [f"…and {self.dropped} more problems in the link."] if self.dropped else []
        return self.kept + extra


class _Invalid(Exception):
    """A link value that cannot be used; its message is the learner's warning."""


def _number(f: Field, text: str, notes: _Notes, shown: str) -> float | int:
    kind_is_int = f.kind in ("int", "ints")
    if kind_is_int and _DECIMAL.fullmatch(text) and not _INTEGER.fullmatch(text):
        raise _Invalid(f'Ignored {f.key}="{shown}": write it as a whole number, like 10.')
    if not (_INTEGER if kind_is_int else _DECIMAL).fullmatch(text):
        example = "10" if kind_is_int else "0.05 or 1e-3"
        raise _Invalid(f'Ignored {f.key}="{shown}": not a number (write it like {example}).')
    value: float | int = int(text) if kind_is_int else float(text)
    if not math.isfinite(value):
        raise _Invalid(f'Ignored {f.key}="{shown}": the number is too large.')
    if not f.low <= value <= f.high:
        value = min(max(value, f.low), f.high)
        notes.add(f'{f.label} in the link ({f.key}="{shown}") is outside the allowed range '
                  f"{_number_text(f.low)} to {_number_text(f.high)}, "
                  f"so {_number_text(_normal(f, value))} was used.")
    return _normal(f, value)


def _menu(f: Field) -> str:
    """The choices of ``f`` in a warning; a long list is left to the app's menu."""
    if len(f.choices) <= 8:
        return f"choose one of {', '.join(f.choices)}"
    return f"choose one from the {f.label.lower()} menu"


def _parse_value(f: Field, text: str, notes: _Notes) -> object:
    """The value of ``f`` written as ``text`` in a link; raises ``_Invalid`` if unusable."""
    shown = _shown(text)
    if text == "":
        raise _Invalid(f'Ignored "{f.key}": it has no value.')
    if len(text) > MAX_VALUE_CHARS:
        raise _Invalid(f'Ignored "{f.key}": its value is {len(text)} characters long; '
                       f"the limit is {MAX_VALUE_CHARS}.")
    if f.kind in ("float", "int"):
        return _number(f, text, notes, shown)
    if f.kind == "bool":
        if text not in ("0", "1"):
            raise _Invalid(f'Ignored {f.key}="{shown}": write 1 for on or 0 for off.')
        return text == "1"
    if f.kind == "text":
        problem = _formula_problem(text)
        if problem:
            raise _Invalid(f"Ignored the formula ({f.key}): {problem}.")
        return text
    if f.kind == "choice":
        name = text.strip().lower()
        if name not in f.choices:
            raise _Invalid(f'Ignored {f.key}="{shown}": not a known {f.label.lower()}; '
                           f"{_menu(f)}.")
        return name
    items = text.split(",")
    if len(items) > f.max_items:
        notes.add(f'{f.key}="{shown}" lists {len(items)} values; only the first '
                  f"{f.max_items} were used.")
        items = items[: f.max_items]
    if f.kind != "names":
        return tuple(_number(f, i, notes, shown) for i in items)
    names = [i.strip().lower() for i in items]
    unknown = [i for i in names if i not in f.choices]
    if unknown:
        notes.add(f'Ignored the unknown name "{_shown(unknown[0])}" in {f.key}; '
                  f"{_menu(f)}.")
    kept = tuple(i for i in names if i in f.choices)
    if not kept:
        raise _Invalid(f'Ignored {f.key}="{shown}": no known names in it.')
    return kept


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


def _implied_start(surface: str, base: Settings) -> tuple[float, ...]:
    s = SURFACES.get(surface)
    return base.start if s is None or len(base.start) == s.dim else default_start(surface)


# Settings a surface reads differently from the others, and its own default for them: a link
# or a switch to the surface that leaves them out gets these (with the shared noise of 0.2,
# logistic regression's classes would not overlap, so it would have no minimum).
SURFACE_DEFAULTS = MappingProxyType({
    "logistic_regression": MappingProxyType({"noise": 1.0}),
})


def _implied_surface_settings(surface: str, base: Settings) -> dict[str, object]:
    """The fields a link to ``surface`` that leaves them out means (see ``SURFACE_DEFAULTS``)."""
    if surface == base.surface:
        return {}
    return dict(SURFACE_DEFAULTS.get(surface, {}))


# Optimisers whose stable rate is set by the curvature alone (the adaptive ones rescale steps).
_CURVATURE_BOUND = ("sgd", "momentum", "nesterov")


def steady_rates(s: Settings) -> tuple[float, ...]:
    """``s``'s learning rates with gradient descent and its momentum variants at the surface's
    steady rate at the start (``stability.steady_rate``); adaptive optimisers keep theirs.
    Unchanged for a formula, or where the surface cannot be built or does not curve up."""
    if s.surface not in SURFACES:
        return s.learning_rates
    try:
        steady = stability.steady_rate(surfaces.get(s.surface, **surface_params(s)), s.start)
    except ValueError:
        return s.learning_rates
    if steady is None:
        return s.learning_rates
    out = tuple(
        steady if name in _CURVATURE_BOUND else rate
        for name, rate in zip(s.optimizers, s.rates(), strict=True)
    )
    return out if len(set(out)) > 1 else out[:1]


def _implied_rates(s: Settings, base: Settings) -> tuple[float, ...]:
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
    return steady_rates(dataclasses.replace(s, learning_rates=rates))


def _reconcile(s: Settings, base: Settings, given: set[str], notes: _Notes) -> Settings:
    """``s`` with fields that contradict each other repaired; a note for each given one."""
    implied = {k: v for k, v in _implied_surface_settings(s.surface, base).items()
               if k not in given}
    s = dataclasses.replace(s, **implied) if implied else s
    changes: dict[str, object] = dict(implied)
    dim = SURFACES[s.surface].dim if s.surface in SURFACES else None
    if dim is not None and len(s.start) != dim:
        changes["start"] = _implied_start(s.surface, base)
        if "start" in given:
            shown = ",".join(map(_number_text, s.start))
            notes.add(f'Ignored start="{shown}": the surface {s.surface} needs {dim} '
                      f"coordinate{'s' if dim > 1 else ''}.")
    if s.w_min >= s.w_max:
        changes.update(w_min=base.w_min, w_max=base.w_max)
        notes.add(f"Ignored the w range {_number_text(s.w_min)} to {_number_text(s.w_max)}: "
                  f"the left end (wmin) must be less than the right end (wmax).")
    rates = s.learning_rates
    if "learning_rates" not in given:
        rates = _implied_rates(dataclasses.replace(s, start=changes.get("start", s.start)), base)
    fitted = _fit_rates(rates, len(s.optimizers))
    if fitted != s.learning_rates and "learning_rates" in given:
        notes.add(f"lr has {len(s.learning_rates)} values for {len(s.optimizers)} "
                  f"optimiser{'s' if len(s.optimizers) > 1 else ''}; "
                  f"{','.join(map(_number_text, fitted))} was used.")
    per_run = fitted * len(s.optimizers) if len(fitted) == 1 else fitted
    allowed = tuple(
        min(max(lr, _RATES[name][0]), _RATES[name][1])
        for name, lr in zip(s.optimizers, per_run, strict=True)
    )
    if allowed != per_run:
        runs = zip(s.optimizers, per_run, allowed, strict=True)
        name, lr = next((n, r) for n, r, a in runs if r != a)
        low, high = _RATES[name]
        fitted = allowed
        notes.add(f"The learning rate {_number_text(lr)} is outside what {name} allows "
                  f"({_number_text(low)} to {_number_text(high)}), "
                  f"so lr={','.join(map(_number_text, allowed))} was used.")
    if fitted != s.learning_rates:
        changes["learning_rates"] = fitted
    if s.step is not None and s.step > s.steps:
        changes["step"] = s.steps
        notes.add(f"The shown step {s.step} is beyond the last step {s.steps}, "
                  f"so step {s.steps} is shown.")
    return dataclasses.replace(s, **changes) if changes else s


def baseline(lesson: str) -> Settings:
    """What a link with only ``lesson=<lesson>`` means: that lesson's preset, or the defaults
    (with ``lesson`` set) for ``NO_LESSON``. Raises ``ValueError`` for an unknown lesson."""
    if lesson == NO_LESSON:
        return Settings(lesson=NO_LESSON)
    return lessons.apply(lessons.get(lesson), Settings())


def reconcile(settings: Settings) -> tuple[Settings, list[str]]:
    """``settings`` made consistent, with a note per repair (none when already consistent):
    a start point with as many coordinates as the surface has (else the surface's default),
    ``w_min < w_max`` (else the baseline's range), one learning rate or one per optimiser
    (extra ones dropped, missing ones copied from the last), each rate within what its
    optimiser allows (Newton: at most 2), and ``step <= steps``."""
    notes = _Notes()
    out = _reconcile(settings, baseline(settings.lesson), {f.name for f in FIELDS}, notes)
    return out, notes.final()


# ---------------------------------------------------------------------------- public API


def parse_query(query: Mapping[str, str | list[str]]) -> tuple[Settings, list[str]]:
    """The settings a link describes, and warnings (plain words) for what had to be repaired.

    ``query`` maps URL keys to values, as Streamlit's ``st.query_params`` gives them; pass
    ``{k: st.query_params.get_all(k) for k in st.query_params}`` so repeated keys are seen
    (the last value wins). Never raises for any mapping of strings; the result is consistent.
    """
    notes = _Notes()
    texts: dict[str, str] = {}
    for key, value in query.items():
        key = str(key)
        if key.lower() in _FOREIGN_KEYS or key.lower().startswith("utm_"):
            continue
        f = _BY_KEY.get(key)
        if f is None:
            notes.add(f'Ignored "{_shown(key)}": this app has no setting with that name.')
            continue
        if isinstance(value, (list, tuple)):
            if len(value) > 1:
                notes.add(f'The link sets "{key}" {len(value)} times; the last one was used.')
            value = value[-1] if value else ""
        if not isinstance(value, str):
            notes.add(f'Ignored "{key}": its value is not text.')
            continue
        texts[f.name] = value

    base = Settings()
    if "lesson" in texts:
        text = texts.pop("lesson")
        try:
            base = baseline(_parse_value(FIELD["lesson"], text, notes))
        except _Invalid as problem:
            notes.add(str(problem))
        except ValueError:  # a preset the installed surfaces or optimisers cannot build
            notes.add(f'The lesson "{_shown(text)}" cannot be opened here, so it was skipped.')
    values: dict[str, object] = {}
    for name, text in texts.items():
        try:
            values[name] = _parse_value(FIELD[name], text, notes)
        except _Invalid as problem:
            notes.add(str(problem))
    settings = _reconcile(dataclasses.replace(base, **values), base, set(values), notes)
    return settings, notes.final()


def _as_text(f: Field, value: object) -> str:
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind in ("floats", "ints", "names"):
        return ",".join(v if isinstance(v, str) else _number_text(v) for v in value)
    return value if isinstance(value, str) else _number_text(value)


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


def to_query(settings: Settings) -> dict[str, str]:
    """The shortest link to ``settings``: only values that differ from the baseline of its
    lesson (``lesson`` itself only when it is not the default), in ``FIELDS`` order."""
    base = baseline(settings.lesson)
    implied = {
        "start": _implied_start(settings.surface, base),
        "learning_rates": _implied_rates(settings, base),
        **_implied_surface_settings(settings.surface, base),
    }
    out = {}
    if settings.lesson != FIELD["lesson"].default:
        out["lesson"] = settings.lesson
    for f in FIELDS:
        if f.name == "lesson":
            continue
        value = getattr(settings, f.name)
        if value != implied.get(f.name, getattr(base, f.name)):
            out[f.key] = _as_text(f, value)
    return out
