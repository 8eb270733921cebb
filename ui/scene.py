"""The scene: what the page shows, decided once per rerun from the settings.

``build`` is the one place that decides which surface the settings describe — a registry
surface, a typed formula or the learner's uploaded rows — which runs go on it and how its
learning rate meets the curvature at the start. Views only draw a ``Scene``; a view that needs
to ask one of these questions again is a sign the scene is missing a field.

Work is lazy and cached: the runs (``histories``) and the grid are computed when a view first
asks for them, through ``ui.compute``'s bounded caches keyed by plain values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from losslab import budget, descent, grids, landscape, stability, whatif
from losslab.descent import History
from losslab.settings import CUSTOM, Settings, clamp_rate, network_kwargs, opening_fields
from losslab.surfaces import Surface
from ui import compute, state, sweeps

if TYPE_CHECKING:
    from losslab import expressions

Source = Literal["registry", "formula", "upload", "network"]


class once:  # noqa: N801 (a decorator, named like functools.cached_property)
    """``functools.cached_property`` without its lock. Before Python 3.12 that lock is one per
    property for every instance, so a session computing its scene's runs held every other
    session's scene waiting on it (in a room, most of a change's time was spent queued
    there). A scene belongs to one script run, so nothing else computes it at the same time."""

    def __init__(self, compute):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, scene, owner=None):
        if scene is None:
            return self
        value = self.compute(scene)
        scene.__dict__[self.name] = value  # read from here next time (no __set__ here)
        return value

WHATIF_RUNS = 4
"""Runs drawn over a window of rates at most: beyond it a rate change goes to the server."""
SWEEP_FACTORS = (0.5, 1.0, 2.0, 4.0)
"""The learning-rate sweep runs one optimiser at these multiples of its rate."""

OPTIMIZER_LABELS = {
    "sgd": "Gradient descent (SGD)",
    "momentum": "Momentum",
    "nesterov": "Nesterov momentum",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "adamw": "AdamW",
    "newton": "Newton",
}


def short_label(optimizer: str) -> str:
    """``Gradient descent`` for ``sgd``: the optimiser's name as a legend says it."""
    return OPTIMIZER_LABELS[optimizer].split(" (")[0]


@dataclass(frozen=True)
class Scene:
    """The current surface and its runs.

    ``settings`` are what the learner chose; ``runs`` the settings the runs use (the sweep's
    four rates expanded). ``surface`` is ``None`` when it cannot be built, and ``problem``
    then says why in words. ``notes`` are sentences on what was adapted (rows thinned, a cap
    applied). ``assessment`` is the stability of the first learning rate the learner
    set, at the start.
    """

    settings: Settings
    runs: Settings
    source: Source
    surface: Surface | None = None
    problem: str = ""
    formula: expressions.Compiled | None = None
    notes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    rows: state.Rows | None = None

    @property
    def story(self) -> str:
        """What to look for, when the runs are the surface's own opening (its story)."""
        if self.surface is None or self.surface.opening is None or self.sweep:
            return ""
        opening = opening_fields(self.surface.opening)  # the built surface's: no rebuild
        runs = ("optimizers", "learning_rates", "starts", "start", "steps")
        if opening and all(getattr(self.settings, k) == opening[k] for k in runs):
            return self.surface.opening.caption
        return ""

    @property
    def dim(self) -> int | None:
        return self.surface.dim if self.surface is not None else None

    @property
    def sweep(self) -> bool:
        return self.settings.view == "sweep"

    @once
    def assessment(self) -> stability.Assessment | None:
        """How the first run's learning rate, as the learner set it, meets the curvature at
        the start. The sweep's runs take half that rate first: its note judges the rate its
        slider shows (the 1× run)."""
        if self.surface is None or len(self.runs.start) != self.surface.dim:
            return None
        s = self.settings
        return stability.assess(self.surface, self.runs.start, s.rates()[0], s.optimizers[0],
                                momentum=s.momentum)

    @once
    def outcome(self) -> tuple[list[History], str]:
        """Every run's history, and why the runs could not start (``""`` when they did)."""
        if self.surface is None:
            return [], ""
        try:
            if self.source == "registry":
                return compute.runs(compute.surface_key(self.runs), *compute.run_key(self.runs)), ""
            # Formulas and uploads: run directly (per session, not worth a shared cache).
            return compute.run_on(self.surface, *compute.run_key(self.runs)), ""
        except ValueError as problem:
            return [], str(problem)

    @property
    def histories(self) -> list[History]:
        return self.outcome[0]

    @property
    def what_if(self) -> bool:
        """Whether the runs are drawn over a window of rates the learner moves in the chart:
        full-batch runs of a surface view (not the sweep, which is its own ladder), up to
        ``WHATIF_RUNS`` runs and ``whatif.MAX_STEPS`` steps, at a constant rate (a schedule's
        page shows its rate chart instead)."""
        s = self.runs
        return (self.surface is not None and not self.sweep and s.view != "nn"
                and s.schedule == "constant"
                and len(s.optimizers) <= WHATIF_RUNS and s.steps <= whatif.MAX_STEPS
                and not (s.batch and self.surface.data is not None))

    @once
    def rate_window(self) -> tuple[whatif.Sweep | None, str]:
        """The runs over windows of rates (``what_if``), or why they could not start. Their
        names leave the rate out: the chart's legend says the rate each run is drawn at."""
        if not self.what_if:
            return None, ""
        key = compute.run_key(self.runs)
        names = run_names(self.runs, with_rates=False)
        try:
            if self.source == "registry":
                return sweeps.sweep(compute.surface_key(self.runs), key, names), ""
            return sweeps.sweep_on(self.surface, key, names), ""
        except ValueError as problem:
            return None, str(problem)

    @once
    def labels(self) -> list[str]:
        """How each run ended ("converging", "diverged"…), read from a shared cache for a
        registry surface: every rerun's legend needs them, and labelling walks every step."""
        histories = self.histories
        if self.source == "registry" and histories:
            return compute.labels(compute.surface_key(self.runs), *compute.run_key(self.runs))
        return [descent.label(h, self.surface) for h in histories]

    def legend(self, histories: list[History], names: tuple[str, ...] | None = None
               ) -> list[str]:
        """Run names (``names``, else the scene's) with how each run ended ("Adam:
        converging", "… diverged at step 3"); empty while the runs are hidden."""
        out = []
        labels = self.labels if histories is self.histories else [
            descent.label(h, self.surface) for h in histories]
        for name, h, outcome in zip(names or self.names, histories, labels, strict=False):
            out.append(f"{name}: diverged at step {h.diverged_at}" if outcome == "diverged"
                       else f"{name}: {outcome}")
        return out

    @once
    def windows(self) -> tuple[whatif.RunWindow, ...] | None:
        """Each run's window of rates when the chart has rate controls, else ``None`` (also
        when the runs over their windows could not be computed). A registry surface's map
        needs only these: its rows are kept run by run (``sweeps.whatif_map``)."""
        if self.what_if and self.source == "registry" and self.surface.dim == 2:
            try:
                return sweeps.windows(compute.surface_key(self.runs), compute.run_key(self.runs),
                                      run_names(self.runs, with_rates=False))
            except ValueError:
                return None
        sweep, _ = self.rate_window
        return None if sweep is None else sweep.windows

    @once
    def grid(self) -> grids.Grid:
        s = self.settings
        if self.source == "registry":
            return compute.grid(compute.surface_key(s), s.resolution)
        if self.source == "upload":
            return compute.uploaded_grid(*self.rows, s.loss_kind, s.l1, s.l2, s.delta,
                                         s.resolution)
        return grids.evaluate(self.surface, s.resolution)

    @once
    def network(self) -> tuple[landscape.Experiment | None, str]:
        """The trained network of the network view, or why it could not be trained."""
        kwargs, _ = network_kwargs(self.settings)
        fitted = network_budget(kwargs)
        if fitted.refused:
            return None, fitted.refused
        kwargs = {**kwargs, "steps": fitted.request.steps, "grid": fitted.request.grid}
        try:
            return compute.network(**kwargs), ""
        except ValueError as problem:
            return None, str(problem)


def network_budget(kwargs: dict[str, object]) -> budget.Fitted:
    """The network request within the work budget (fewer landscape points, then steps)."""
    return budget.fit_network(budget.NetworkRequest(
        hidden=tuple(kwargs["hidden"]), rows=int(kwargs["n"]), steps=int(kwargs["steps"]),
        batch=int(kwargs["batch"] or 0), grid=landscape.DEFAULT_GRID))


def run_names(s: Settings, *, with_rates: bool = True) -> tuple[str, ...]:
    """Legend names: the optimiser, with its learning rate when two runs share a name (or
    when rates differ, unless ``with_rates`` is off); a repeated name gets its run number."""
    names = [short_label(n) for n in s.optimizers]
    rates = s.rates()
    out: list[str] = []
    for i, (name, lr) in enumerate(zip(names, rates, strict=True)):
        rated = with_rates and (names.count(name) > 1 or len(set(rates)) > 1)
        label = f"{name}, lr {lr:g}" if rated else name
        out.append(label if label not in out else f"{label} ({i + 1})")
    return tuple(out)


def sweep_rates(optimizer: str, rate: float) -> tuple[float, ...]:
    """The sweep's rates, each kept within what the optimiser accepts."""
    return tuple(clamp_rate(optimizer, rate * f) for f in SWEEP_FACTORS)


def _with_runs(s: Settings) -> tuple[Settings, tuple[str, ...]]:
    """The settings the runs use, and their legend names."""
    if s.view != "sweep":
        return s, run_names(s)
    rates = sweep_rates(s.optimizers[0], s.rates()[0])
    runs = dataclasses.replace(s, optimizers=(s.optimizers[0],) * len(SWEEP_FACTORS),
                               learning_rates=rates)
    return runs, tuple(f"{f:g}× lr = {lr:g}" for f, lr in zip(SWEEP_FACTORS, rates, strict=True))


def _thinned(rows: state.Rows, loss: str) -> tuple[state.Rows, str]:
    """Losses other than squared error cost (grid points × rows): larger uploads are thinned."""
    if loss == "mse" or len(rows.x) <= compute.ROWWISE_ROWS:
        return rows, ""
    keep = np.linspace(0, len(rows.x) - 1, compute.ROWWISE_ROWS).round().astype(int)
    note = (f"This loss is computed row by row, so {compute.ROWWISE_ROWS:,} evenly spaced rows "
            f"of your {len(rows.x):,} are used (squared error uses them all).")
    return state.Rows(rows.x[keep], rows.y[keep]), note


def _data_loss(surface: Surface, s: Settings) -> str:
    if surface.data is None:
        return "none"
    return "logistic" if surface.data.kind == "classification" else s.loss_kind


def _within_budget(scene: Scene) -> Scene:
    """The scene with its resolution and steps lowered to what one request may cost (a
    sentence per change), or refused in words: one link must never stall a shared server."""
    surface, s, runs = scene.surface, scene.settings, scene.runs
    if surface is None:
        return scene
    # A rate window multiplies the runs: count every run the page computes, and only those
    # (a page without a window, e.g. over whatif.MAX_STEPS steps, runs each optimiser once).
    factor = (21 if len(runs.optimizers) <= 3 else 5) if scene.what_if else 1
    request = budget.SurfaceRequest(
        resolution=s.resolution, dim=surface.dim,
        rows=0 if surface.data is None else len(surface.data.x),
        loss=_data_loss(surface, s),
        formula_nodes=scene.formula.nodes if scene.formula is not None else 0,
        runs=len(runs.optimizers) * factor, steps=runs.steps, batch=runs.batch,
    )
    fitted = budget.fit_surface(request)
    if fitted.refused:
        return dataclasses.replace(scene, surface=None, problem=fitted.refused)
    if fitted.request == request:
        return scene
    lowered = {"resolution": fitted.request.resolution, "steps": fitted.request.steps}
    step = None if s.step is None else min(s.step, fitted.request.steps)
    return dataclasses.replace(
        scene, settings=dataclasses.replace(s, **lowered, step=step),
        runs=dataclasses.replace(runs, **lowered, step=step),
        notes=(*scene.notes, *fitted.notes))


def build(s: Settings, uploaded: state.Rows | None = None) -> Scene:
    """The scene the settings describe (``uploaded``: the learner's own rows, if any), within
    the work budget."""
    return _within_budget(_build(s, uploaded))


def _build(s: Settings, uploaded: state.Rows | None = None) -> Scene:
    runs, names = _with_runs(s)
    if s.view == "nn":
        kwargs, notes = network_kwargs(s)
        notes = [*notes, *network_budget(kwargs).notes]
        return Scene(s, runs, "network", notes=tuple(notes), names=names)
    if s.surface == CUSTOM:
        try:
            from losslab import expressions  # sympy loads only when a formula is used

            compiled = compute.compiled_formula(expressions.normalise(s.expr), s.x, s.y_true)
        except expressions.ExpressionError as problem:
            return Scene(s, runs, "formula", problem=f"That formula cannot be used: {problem}")
        return Scene(s, runs, "formula", compiled.surface, formula=compiled,
                     notes=tuple(compiled.notes), names=names)
    if s.surface == "linear_regression" and uploaded is not None:
        rows, note = _thinned(uploaded, s.loss_kind)
        try:
            surface = compute.uploaded_surface(*rows, s.loss_kind, s.l1, s.l2, s.delta)
        except ValueError as problem:
            return Scene(s, runs, "upload", problem=f"Your rows cannot be used: {problem}")
        return Scene(s, runs, "upload", surface, notes=(note,) if note else (), names=names,
                     rows=rows)
    try:
        surface = compute.surface_for(s)
    except ValueError as problem:
        return Scene(s, runs, "registry",
                     problem=f"This surface cannot be built with these settings: {problem}")
    return Scene(s, runs, "registry", surface, names=names)


