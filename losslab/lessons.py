"""Lesson presets: a scenario, what to notice, and a question to answer before pressing play.

Each lesson is data: the settings it changes from the opening view, a title, two sentences on
what to notice, and a predict-then-reveal question whose explanation is a template bound to the
live run (``{final_loss_2}``, ``{bound}``, …). ``settings.with_lesson`` opens a lesson,
``live_facts`` measures a finished run, and ``explain`` fills the template from those facts.

    s = settings.with_lesson(current, "ravine")
    ...run each optimiser of s...
    text = explain(get("ravine"), live_facts(s, surface, histories))

Templates are ours: they never contain user text, and every placeholder is a plain name.

One piece: each lesson's scenario, question and explanation template sit beside the facts
that fill the templates, so a lesson and its numbers are read together.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losslab import descent, stability

if TYPE_CHECKING:  # settings imports this module; Settings is only needed for annotations.
    from losslab.descent import History
    from losslab.settings import Settings
    from losslab.surfaces import Surface

__all__ = [
    "KEPT_SETTINGS",
    "LESSONS",
    "LESSON_IDS",
    "Fact",
    "Lesson",
    "Question",
    "explain",
    "get",
    "live_facts",
]

Fact = float | int | str | None
KEPT_SETTINGS = ("presenter", "resolution")
"""Settings a lesson leaves as the learner had them: display preferences, not the scenario."""


@dataclass(frozen=True)
class Question:
    """A multiple-choice question asked before the run; ``choices[answer]`` is right.

    ``explanation`` is shown after the answer, with ``{name}`` placeholders filled by
    ``explain`` from the run's facts.
    """

    prompt: str
    choices: tuple[str, ...]
    answer: int
    explanation: str


@dataclass(frozen=True)
class Lesson:
    """A preset scenario. ``settings`` are ``(Settings field, value)`` pairs applied to the
    defaults; ``notice`` is two sentences on what to look for."""

    id: str
    title: str
    notice: str
    settings: tuple[tuple[str, object], ...]
    question: Question


def _preset(**changes: object) -> tuple[tuple[str, object], ...]:
    return tuple(changes.items())


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        id="slope",
        title="The slope tells the direction",
        notice=(
            "The gradient is the slope of the loss at the current w: negative left of the "
            "minimum, positive right of it and zero at the bottom. Each step moves w against "
            "the gradient, so w heads downhill and the steps shrink as the slope flattens."
        ),
        settings=_preset(),
        question=Question(
            prompt=(
                "Which statement best describes the role of gradients in optimizing neural "
                "networks?"
            ),
            choices=(
                "They give the slope of the loss at the current weights; moving against them "
                "lowers the loss.",
                "They are the loss values themselves; training makes them as large as possible.",
                "They say exactly how far the weights are from the best ones, so one step "
                "always lands there.",
                "They matter only at the minimum, where they are largest.",
            ),
            answer=0,
            explanation=(
                "At the start, w = {start}, the gradient is {start_grad}, so the loss falls if "
                "you {downhill}. Gradient descent moved w against the gradient at every step: "
                "after {steps} steps w = {final_w}, the loss is {final_loss} and the gradient "
                "has shrunk to {final_grad}. At the minimum, w = {minimum}, the slope is zero, "
                "so the steps die away there."
            ),
        ),
    ),
    Lesson(
        id="learning_rate",
        title="Learning rate: too small, just right, too large",
        notice=(
            "The same gradient descent runs three times with different learning rates. Too "
            "small crawls, a good one arrives in a few steps, and above 2 ÷ curvature every "
            "step overshoots further than the last."
        ),
        settings=_preset(optimizers=("sgd", "sgd", "sgd"), learning_rates=(0.01, 0.1, 0.3)),
        question=Question(
            prompt=(
                "Three runs of gradient descent start at w = −1 with learning rates 0.01, 0.1 "
                "and 0.3. What will the run with 0.3 do?"
            ),
            choices=(
                "Reach the minimum fastest of the three.",
                "Creep towards the minimum, more slowly than 0.1.",
                "Jump past the minimum, further every step, and diverge.",
                "Stop moving after one step.",
            ),
            answer=2,
            explanation=(
                "The loss curves with curvature 2x² = {curvature}, so gradient descent is "
                "stable only for learning rates below 2 ÷ {curvature} = {bound}. Each step "
                "multiplies the distance to the minimum by 1 − learning rate × curvature: "
                "{factor_1} at {lr_1}, {factor_2} at {lr_2} and {factor_3} at {lr_3}. Between "
                "−1 and 1 the distance shrinks; below −1 every overshoot is bigger than the "
                "last. Learning rate {lr_1} {outcome_1}; {lr_2} {outcome_2}; {lr_3} {outcome_3}."
            ),
        ),
    ),
    Lesson(
        id="ravine",
        title="A narrow ravine, and why momentum helps",
        notice=(
            "The ravine curves far more steeply across than along its floor, and the learning "
            "rate must suit the steep direction, so gradient descent zig-zags across and creeps "
            "along. Momentum lets the zig-zags cancel out while the small steps along the floor "
            "add up."
        ),
        settings=_preset(
            surface="ravine", kappa=100.0, optimizers=("sgd", "momentum"),
            learning_rates=(0.019,), start=(-3.5, 1.5), steps=100,
        ),
        question=Question(
            prompt=(
                "Gradient descent and momentum (0.9) start on the side of a narrow ravine with "
                "the same learning rate. Which gets nearer the bottom in 100 steps?"
            ),
            choices=(
                "Gradient descent: momentum overshoots and wastes its steps.",
                "Momentum: the back-and-forth cancels out while the steps along the floor "
                "add up.",
                "Both equally: they follow the same gradient.",
                "Neither moves: the ravine's floor is flat.",
            ),
            answer=1,
            explanation=(
                "The steepest curvature is {curvature}, so the learning rate must stay below "
                "{bound}; along the floor, {kappa} times flatter, such a step barely moves. "
                "Gradient descent {outcome_1}; momentum, whose zig-zags cancel while its steps "
                "along the floor add up, {outcome_2}."
            ),
        ),
    ),
    Lesson(
        id="saddle",
        title="A saddle point: stalling and escaping",
        notice=(
            "At a saddle the loss curves up one way and down the other, and the gradient is "
            "zero in the middle. Started almost on the ridge, gradient descent slows to a crawl "
            "near the saddle before it slides off; momentum keeps its speed and leaves sooner."
        ),
        settings=_preset(
            surface="saddle", optimizers=("sgd", "momentum"), learning_rates=(0.05,),
            start=(-1.5, 0.0001), steps=100,
        ),
        question=Question(
            prompt=(
                "Gradient descent starts almost exactly on the line that runs into the saddle "
                "point. What happens?"
            ),
            choices=(
                "It stops at the saddle for good: the gradient there is zero.",
                "It slows down near the saddle, then slides off downhill; momentum gets away "
                "sooner.",
                "It goes straight downhill without slowing down.",
                "It diverges at once.",
            ),
            answer=1,
            explanation=(
                "Both runs started at {start}, a hair off the line w2 = 0 that runs into the "
                "saddle. They slid towards the saddle, where the gradient almost vanishes, and "
                "waited while the tiny w2 grew step by step. Gradient descent came within 1 % of "
                "a minimum's loss at step {arrived_at_1}; momentum, which keeps its speed, at "
                "step {arrived_at_2}. Started exactly on the line, neither would ever leave: "
                "only noise, such as mini-batch sampling, knocks it off."
            ),
        ),
    ),
    Lesson(
        id="rosenbrock",
        title="Rosenbrock's valley: Adam against gradient descent",
        notice=(
            "Rosenbrock's function has a curved, nearly flat valley between steep walls. "
            "Gradient descent needs a tiny learning rate for the walls and then crawls along the "
            "floor; Adam scales each coordinate's step by its recent gradients and keeps going."
        ),
        settings=_preset(
            surface="rosenbrock", optimizers=("sgd", "adam"), learning_rates=(0.0009, 0.05),
            start=(-1.5, 2.0), steps=500,
        ),
        question=Question(
            prompt=(
                "Gradient descent and Adam start at (−1.5, 2) on Rosenbrock's valley. After 500 "
                "steps, which one is nearer the minimum at (1, 1)?"
            ),
            choices=(
                "Gradient descent: it follows the exact gradient.",
                "Adam: its step size adapts to each coordinate, so it keeps moving along the "
                "flat floor.",
                "Both end at the same point.",
                "Neither gets into the valley.",
            ),
            answer=1,
            explanation=(
                "The walls curve about {curvature} at the start, so gradient descent needs a "
                "learning rate below {bound} and then crawls along the nearly flat floor: it "
                "ended at {final_w_1} with loss {final_loss_1}. Adam divides each coordinate's "
                "step by the size of its recent gradients, so its steps stay useful on the "
                "floor: it ended at {final_w_2} with loss {final_loss_2}. The minimum is at "
                "{minimum}."
            ),
        ),
    ),
    Lesson(
        id="himmelblau",
        title="Himmelblau: the start decides the minimum",
        notice=(
            "Himmelblau's function has four minima, all with loss 0, separated by ridges. "
            "Gradient descent only feels the slope where it stands, so the basin the start lies "
            "in decides where it ends."
        ),
        settings=_preset(
            surface="himmelblau", optimizers=("sgd",), learning_rates=(0.01,),
            start=(-0.3, -1.0), steps=200,
        ),
        question=Question(
            prompt=(
                "Gradient descent starts at (−0.3, −1), near the hilltop in the middle of "
                "Himmelblau's function; the nearest minimum is (3.58, −1.85). Which of the four "
                "minima does it reach?"
            ),
            choices=("(3, 2)", "(−2.81, 3.13)", "(−3.78, −3.28)", "(3.58, −1.85)"),
            answer=2,
            explanation=(
                "From {start} gradient descent rolled downhill to {final_w_1} (loss "
                "{final_loss_1}), the minimum {nearest_minimum_1}; the minimum nearest the start "
                "was {nearest_to_start}. What decides is the basin the start lies in, not the "
                "distance. Move the start across a ridge and it ends in another minimum, just "
                "as good."
            ),
        ),
    ),
    Lesson(
        id="l2",
        title="L2 regularisation reshapes the bowl",
        notice=(
            "An L2 penalty adds l2 × w² to the data's loss of the line y = w·x + b. The bowl "
            "gets steeper along w, and its lowest point moves towards w = 0."
        ),
        settings=_preset(
            surface="linear_regression", l2=1.0, optimizers=("sgd",), learning_rates=(0.1,),
            start=(-1.0, -1.0), steps=100,
        ),
        question=Question(
            prompt=(
                "Fitting the line y = w·x + b, an L2 penalty adds l2 × w² to the loss. What "
                "does it do to the bowl and its lowest point?"
            ),
            choices=(
                "The bowl gets steeper along w and its lowest point moves towards w = 0.",
                "Its lowest point moves away from w = 0.",
                "Only the loss values rise; the lowest point stays where it was.",
                "The bowl becomes flat.",
            ),
            answer=0,
            explanation=(
                "With l2 = {l2} the penalty adds 2 × {l2} to the curvature along w (the "
                "steepest curvature is now {curvature}) and pulls w towards 0: gradient descent "
                "settled at (w, b) = {final_w_1}, loss {final_loss_1}, where the data's pull and "
                "the penalty's pull balance. The bias b is not penalised, so it shifts to keep "
                "the line near the data. Set l2 to 0 to see where the data alone put the line."
            ),
        ),
    ),
    Lesson(
        id="newton",
        title="Newton's method against gradient descent",
        notice=(
            "Newton's method divides the gradient by the curvature, so on a quadratic bowl it "
            "jumps to the minimum in one step. Gradient descent's learning rate is held back by "
            "the steepest direction, and it needs many steps."
        ),
        settings=_preset(
            surface="ravine", kappa=10.0, optimizers=("sgd", "newton"),
            learning_rates=(0.18, 1.0), start=(-3.5, 1.5), steps=30,
        ),
        question=Question(
            prompt=(
                "On a quadratic bowl, how many steps does Newton's method with learning rate 1 "
                "need to reach the minimum?"
            ),
            choices=(
                "One.",
                "About as many as gradient descent.",
                "It never arrives without a learning-rate schedule.",
                "Hundreds: each of its steps costs more.",
            ),
            answer=0,
            explanation=(
                "Newton's method solves Hessian × step = −gradient; on a quadratic that step "
                "lands exactly on the minimum, and it {outcome_2}. Gradient descent must keep "
                "its learning rate below 2 ÷ {curvature} = {bound} for the steepest direction, "
                "and it {outcome_1}. The price: Newton needs all second derivatives and a "
                "linear solve at every step."
            ),
        ),
    ),
    Lesson(
        id="plateau",
        title="Reduce on plateau: calming a run that bounces",
        notice=(
            "Absolute error makes a V-shaped valley whose slope keeps its size down to the "
            "bottom, so gradient descent at a fixed rate overshoots at every step and bounces "
            "for ever. The plateau schedule halves the rate whenever the loss has not improved "
            "for 10 steps: watch the rate chart step down and the bounces shrink with it."
        ),
        settings=_preset(
            surface="linear_regression", loss_kind="mae", optimizers=("sgd",),
            learning_rates=(0.3,), start=(-1.0, -1.0), steps=200, schedule="plateau",
            factor=0.5, patience=10,
        ),
        question=Question(
            prompt=(
                "At a fixed rate, gradient descent bounces across the bottom of this "
                "absolute-error valley without settling. With the plateau schedule, which halves "
                "the rate after 10 steps without improvement, what happens?"
            ),
            choices=(
                "Nothing changes: the rate is only cut when the loss rises.",
                "Each cut halves the bounces, and the run settles at the bottom.",
                "It stops dead at the first cut, wherever it is.",
                "It bounces for ever: the slope never shrinks, whatever the rate.",
            ),
            answer=1,
            explanation=(
                "The slope of absolute error does not shrink near the bottom, so at rate {lr_1} "
                "each step jumped across the valley. The loss soon stopped improving, so the "
                "schedule cut the rate for the first time at step {first_cut_1}, and "
                "{rate_cuts_1} times in all, down to {final_rate_1}; every cut shortened the "
                "jumps. Gradient descent {outcome_1}, loss {final_loss_1}; the lowest loss "
                "possible is {optimal_loss}. Set the schedule to Constant to watch the same run "
                "bounce."
            ),
        ),
    ),
)
LESSON_IDS: tuple[str, ...] = tuple(lesson.id for lesson in LESSONS)


def get(lesson_id: str) -> Lesson:
    """The lesson called ``lesson_id``; ``ValueError`` listing the ids if there is none."""
    for lesson in LESSONS:
        if lesson.id == lesson_id:
            return lesson
    raise ValueError(f"unknown lesson {lesson_id!r}; choose one of: {', '.join(LESSON_IDS)}")


# ---------------------------------------------------------------------------- live facts


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _num(value: float) -> str:
    """A number as a learner reads it: 3 significant digits, plain from 0.0001 to 999 999,
    else ``1.76 × 10⁻¹²``; a true minus sign; words for the non-finite."""
    if math.isnan(value):
        return "not a number"
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinity"
    rounded = float(format(value, ".3g"))
    if rounded == 0 or 1e-4 <= abs(rounded) < 1e6:
        text = format(rounded + 0.0, "g")
    else:
        mantissa, exponent = format(rounded, ".2e").split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−")


def _point(p: Sequence[float]) -> str:
    values = [_num(float(v)) for v in p]
    return values[0] if len(values) == 1 else f"({', '.join(values)})"


def _downhill(g: np.ndarray) -> str:
    if not np.any(g):
        return "stay where you are"
    if g.size == 1:
        return "increase w" if g[0] < 0 else "decrease w"
    return f"move along {_point(-g / np.linalg.norm(g))}"


def _nearest(surface: Surface, point: np.ndarray) -> str | None:
    """The known minimiser nearest ``point``, as text."""
    if not surface.minimizers:
        return None
    return _point(min(surface.minimizers, key=lambda m: float(np.linalg.norm(point - m))))


def _run_facts(h: History, surface: Surface, lr: float, curvature: float) -> dict[str, Fact]:
    final = h.params[-1]
    facts: dict[str, Fact] = {
        "lr": lr,
        "final_loss": float(h.loss[-1]),
        "final_w": _point(final),
        "final_grad": _point(h.grad[-1]),
        "diverged_at": h.diverged_at,
        "factor": 1.0 - lr * curvature,
        "converged_at": None,
        "settled_at": None,
        "arrived_at": None,
        "nearest_minimum": None,
        "optimal_loss": surface.optimal_value,
    }
    facts["nearest_minimum"] = _nearest(surface, final)
    rates = np.asarray(h.learning_rate, dtype=float)
    cuts = np.flatnonzero(rates[1:] < rates[:-1]) + 2  # update t + 1 used rates[t]
    facts["rate_cuts"] = int(cuts.size)
    facts["first_cut"] = int(cuts[0]) if cuts.size else None
    facts["final_rate"] = float(rates[-1]) if rates.size else lr
    if surface.optimal_value is not None:
        gap = h.loss - surface.optimal_value
        for key, share in (("converged_at", 1e-6), ("arrived_at", 1e-2)):
            hits = np.flatnonzero(gap <= max(share * gap[0], 1e-12))
            facts[key] = int(hits[0]) if hits.size else None
        facts["settled_at"] = descent.settled_at(h, surface)
    if h.diverged_at is not None:
        facts["outcome"] = f"diverged at step {h.diverged_at}"
    elif facts["converged_at"] is not None:
        facts["outcome"] = f"reached the minimum at step {facts['converged_at']}"
        # A run that bounced out again: the step it stayed from is the one its summary names.
        settled = facts["settled_at"]
        if settled is None:
            facts["outcome"] += " but did not stay there"
        elif settled > facts["converged_at"]:
            facts["outcome"] += f" and stayed there from step {settled}"
    else:
        facts["outcome"] = f"ended at loss {_num(float(h.loss[-1]))} after {len(h) - 1} steps"
    return facts


def live_facts(
    settings: Settings, surface: Surface, histories: Sequence[History]
) -> dict[str, Fact]:
    """What a finished run showed, for ``explain``. ``histories[i]`` is the run of
    ``settings.optimizers[i]`` on ``surface`` from ``settings.start``.

    Keys: every number setting by its field name (``kappa``, ``l2``, ``steps``, …); ``start``,
    ``start_grad`` and ``downhill`` (which way the loss falls at the start); ``curvature``
    (λmax, the largest Hessian eigenvalue at the start) and ``bound`` = 2/λmax; ``minimum``
    (the known minimisers) and ``nearest_to_start``. Per run i = 1, 2, …: ``optimizer_i``,
    ``lr_i``, ``final_loss_i``, ``final_w_i``, ``final_grad_i``, ``diverged_at_i``,
    ``converged_at_i`` and ``arrived_at_i`` (first step within a millionth, resp. 1 %, of the
    start's gap to the optimal loss), ``settled_at_i`` (``descent.settled_at``: the step from
    which it stays at the minimum, as the run's summary says), ``factor_i`` = 1 − lr·λmax,
    ``nearest_minimum_i`` and ``outcome_i`` (a phrase); from the rates the schedule gave,
    ``rate_cuts_i`` (how often the rate fell), ``first_cut_i`` (the first update at a lower
    rate) and ``final_rate_i``; and ``optimal_loss_i``, the surface's lowest loss if known.
    Run 1's facts also appear unsuffixed.
    """
    facts: dict[str, Fact] = {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if isinstance(getattr(settings, f.name), (int, float))
        and not isinstance(getattr(settings, f.name), bool)
    }
    start = np.asarray(settings.start, dtype=float)
    curvature = stability.largest_curvature(surface, start)
    g0 = surface.grad(start)
    facts.update(
        start=_point(start),
        start_grad=_point(g0),
        downhill=_downhill(g0),
        curvature=curvature,
        bound=stability.gd_bound(curvature),
        minimum=", ".join(_point(m) for m in surface.minimizers) or None,
        nearest_to_start=_nearest(surface, start),
    )
    for i, (name, lr, h) in enumerate(
        zip(settings.optimizers, settings.rates(), histories, strict=False), start=1
    ):
        run = {"optimizer": name, **_run_facts(h, surface, lr, curvature)}
        facts.update({f"{key}_{i}": value for key, value in run.items()})
        if i == 1:
            facts.update(run)
    return facts


class _Shown(dict):
    """Facts as text; a fact the run did not produce reads as a dash, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return "—"


def _text(value: Fact) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _num(value)
    return str(value)


def explain(lesson: Lesson, facts: Mapping[str, Fact]) -> str:
    """The lesson's explanation with its ``{placeholders}`` filled from ``facts``.

    Floats show 3 significant digits, ``None`` and missing facts a dash.
    """
    shown = _Shown({key: _text(value) for key, value in facts.items()})
    return lesson.question.explanation.format_map(shown)
