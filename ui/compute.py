"""Cached computations behind the views.

Everything here is keyed by plain, hashable values (never objects), looks surfaces up by name
inside, and has a bounded cache, so a room of students shares results while the server's
memory stays bounded. Surfaces hold functions, so they live in ``st.cache_resource`` (they are
immutable). Results every rerun reads (runs, pages of the ladder, sweeps, grids) are shared as
they are, read-only (``caching.shared``); specs and other data live in ``st.cache_data``, bounded in
bytes too, and are copied on each read. The runs over windows of rates that the in-chart
controls move through are cached the same way, in ``ui/sweeps.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from losslab import (
    charts,
    descent,
    grids,
    ladder,
    landscape,
    optimizers,
    settings,
    stability,
    surfaces,
)
from losslab.limits import MAX_RUNS
from losslab.settings import CUSTOM, Settings
from losslab.surfaces import Surface
from ui import rows
from ui.caching import TTL, by_name, shared
from ui.chart import METRICS_WIDTH

if TYPE_CHECKING:
    from losslab import expressions

Key = tuple[tuple[str, object], ...]


def surface_key(s: Settings) -> tuple[str, str, Key]:
    """What identifies the surface the settings describe: (name, formula, its parameters)."""
    if s.surface == CUSTOM:
        from losslab import expressions  # sympy loads only when a formula is used

        return CUSTOM, expressions.normalise(s.expr), (("x", s.x), ("y", s.y_true))
    return s.surface, "", tuple(sorted(settings.surface_params(s).items()))


@by_name(st.cache_resource(max_entries=128, ttl=TTL, show_spinner=False))
def _surface(name: str, expr: str, params: Key) -> Surface:
    if name == CUSTOM:
        values = dict(params)
        from losslab import expressions

        return expressions.parse(expr, constants={"x": values["x"], "y": values["y"]},
                                 cpu_seconds=expressions.PREPARE_SECONDS)
    return surfaces.get(name, **dict(params))


@by_name(st.cache_resource(max_entries=64, ttl=TTL, show_spinner=False))
def compiled_formula(expr: str, x: float, y: float) -> expressions.Compiled:
    from losslab import expressions

    # Sympy's cost is not bounded by a formula's size: it is prepared under a hard CPU limit.
    return expressions.compile_expression(expr, constants={"x": x, "y": y},
                                          cpu_seconds=expressions.PREPARE_SECONDS)


def named(surface: tuple[str, str, Key]) -> Surface:
    """The surface a ``surface_key`` names (built once per server)."""
    return _surface(*surface)


def surface_for(s: Settings) -> Surface:
    """The surface; raises ``ValueError`` (an ``ExpressionError`` for formulas) with words."""
    return _surface(*surface_key(s))


ROWWISE_ROWS = 10_000
"""Losses other than MSE cost (grid points × rows) to draw: larger uploads are thinned."""


@by_name(st.cache_resource(max_entries=16, ttl=TTL, show_spinner=False))
def uploaded_surface(
    x: np.ndarray, y: np.ndarray, loss: str, l1: float, l2: float, delta: float = 1.0
) -> Surface:
    """The regression surface of a learner's own rows (keyed by their content)."""
    return surfaces.linear_regression_from_data(x, y, loss=loss, l1=l1, l2=l2, delta=delta)


@by_name(st.cache_data(max_entries=16, max_size="8MB", ttl=TTL, show_spinner=False))
def uploaded_grid(
    x: np.ndarray, y: np.ndarray, loss: str, l1: float, l2: float, delta: float, resolution: int
) -> grids.Grid:
    return grids.evaluate(uploaded_surface(x, y, loss, l1, l2, delta), resolution)


RunSpec = tuple[str, tuple[tuple[str, float], ...]]


def run_specs(s: Settings) -> tuple[RunSpec, ...]:
    return tuple((name, tuple(sorted(kw.items()))) for name, kw in settings.optimizer_kwargs(s))


schedule_key = settings.schedule_key
"""The schedule's cache key: one rule with ``losslab.settings`` (``schedule_from_key``)."""


def run_on(
    surface: Surface, specs: Sequence[RunSpec], starts: Sequence[tuple[float, ...]], steps: int,
    schedule: settings.ScheduleKey, batch: int, seed: int,
) -> list[descent.History]:
    """Every optimiser's run; ``schedule`` is a ``schedule_key`` (one schedule serves every
    optimiser: it scales each one's own rate)."""
    scheduled = settings.schedule_from_key(schedule)
    histories = []
    for (name, kwargs), start in zip(specs[:MAX_RUNS], starts, strict=False):
        optimizer = optimizers.make(name, **dict(kwargs))
        histories.append(
            descent.run(
                surface, optimizer, start=start, steps=steps, schedule=scheduled,
                batch=batch if batch > 0 and surface.data is not None else None, seed=seed,
            )
        )
    return histories


def runs(
    surface: tuple[str, str, Key], specs: tuple[RunSpec, ...],
    starts: tuple[tuple[float, ...], ...], steps: int, schedule: settings.ScheduleKey,
    batch: int, seed: int,
) -> list[descent.History]:
    """Every optimiser's run on the named surface, each from a shared cache (``one_run``): a
    room computes a run once, and changing one run leaves the others' cached."""
    return [one_run(surface, spec, start, steps, schedule, batch, seed)
            for spec, start in zip(specs[:MAX_RUNS], starts, strict=False)]


@shared(max_entries=1024)
def one_run(
    surface: tuple[str, str, Key], spec: RunSpec, start: tuple[float, ...], steps: int,
    schedule: settings.ScheduleKey, batch: int, seed: int,
) -> descent.History:
    """One optimiser's run on the named surface (pure, so cached across users). A full-batch
    run at a constant rate on a rung of the ladder is read from its page (``at_rates``):
    the same numbers, and the window of rates drawn around it is read from the same pages."""
    name, kwargs = spec
    hyperparams = dict(kwargs)
    rate = hyperparams.pop("learning_rate", None)
    full_batch = batch <= 0 or _surface(*surface).data is None
    if _on_page(name, rate) and full_batch and settings.schedule_from_key(schedule) is None:
        return at_rates(surface, name, tuple(sorted(hyperparams.items())), start, steps,
                        (rate,))[0]
    return run_on(_surface(*surface), [spec], [start], steps, schedule, batch, seed)[0]


LADDER_PAGE = 8
"""Rungs of ``stability.RATE_LADDER`` computed and cached together: a learner moving a rate a
few notches, and every learner after, reads the neighbouring rungs from the same pages (for
optimisers that take all rates in one update, eight rungs cost about what one does)."""
_RUNG = {rate: index for index, rate in enumerate(stability.RATE_LADDER)}


def _page_size(optimizer: str) -> int:
    """Rungs per page: one where each rate costs a run of its own (``ladder.shares_updates``)."""
    return LADDER_PAGE if ladder.shares_updates(optimizers.make(optimizer)) else 1


def _page_rates(optimizer: str, page: int) -> tuple[float, ...]:
    """The rungs of ``page`` within the optimiser's learning-rate range."""
    size = _page_size(optimizer)
    hp = next(h for h in optimizers.HYPERPARAMS[optimizer] if h.name == "learning_rate")
    return tuple(r for r in stability.RATE_LADDER[page * size:(page + 1) * size]
                 if hp.min_value <= r <= hp.max_value)


@shared(max_entries=768)
def ladder_page(surface: tuple[str, str, Key], optimizer: str, hyperparams: Key,
                start: tuple[float, ...], steps: int, page: int) -> list[descent.History]:
    """``optimizer`` (its other settings ``hyperparams``) at every rung of ``page``, full
    batch at a constant rate, in one loop over steps (``ladder.run_rates``): each history is
    ``descent.run``'s at that rate, bit for bit."""
    rates = _page_rates(optimizer, page)
    if not rates:
        return []
    made = optimizers.make(optimizer, **{**dict(hyperparams), "learning_rate": rates[0]})
    return ladder.run_rates(_surface(*surface), made, rates=rates, start=start, steps=steps)


def _on_page(optimizer: str, rate: float) -> bool:
    """Whether ``rate`` is a rung on one of ``optimizer``'s ladder pages (a rung outside the
    optimiser's range is on none)."""
    rung = _RUNG.get(rate)
    return rung is not None and rate in _page_rates(optimizer, rung // _page_size(optimizer))


def at_rates(surface: tuple[str, str, Key], optimizer: str, hyperparams: Key,
             start: tuple[float, ...], steps: int, rates: Sequence[float]
             ) -> list[descent.History]:
    """The run (full batch, constant rate) at each of ``rates``: a rung of the ladder from
    its cached page (each page read once), any other rate run on its own (``one_run``)."""
    size = _page_size(optimizer)
    pages: dict[int, dict[float, descent.History]] = {}
    out = []
    for rate in rates:
        rung = _RUNG.get(rate) if _on_page(optimizer, rate) else None
        if rung is None:  # the run the scene itself reads (``one_run``): computed once
            spec = (optimizer, tuple(sorted({**dict(hyperparams), "learning_rate": rate}.items())))
            out.append(one_run(surface, spec, start, steps, ("constant", steps, ()), 0, 0))
            continue
        page = rung // size
        if page not in pages:
            pages[page] = dict(zip(_page_rates(optimizer, page),
                                   ladder_page(surface, optimizer, hyperparams, start, steps,
                                               page), strict=True))
        out.append(pages[page][rate])
    return out


@shared(max_entries=1024)
def labels(
    surface: tuple[str, str, Key], specs: tuple[RunSpec, ...],
    starts: tuple[tuple[float, ...], ...], steps: int, schedule: settings.ScheduleKey,
    batch: int, seed: int,
) -> list[str]:
    """How each of ``runs`` ended (``descent.label``), computed once per runs."""
    named = _surface(*surface)
    return [descent.label(h, named) for h in runs(surface, specs, starts, steps, schedule,
                                                   batch, seed)]


def run_key(s: Settings) -> tuple:
    """Everything besides the surface that decides the runs."""
    return run_specs(s), settings.run_starts(s), s.steps, schedule_key(s), s.batch, s.seed


def map_panels_of(
    surface: Surface, grid_: grids.Grid, named_runs: Sequence[tuple[str, descent.History]],
    step: int | None, size: int, background: dict | None = None, rates: bool = False,
    field: bool = False, cache_key: tuple | None = None, resolution: int = 0,
) -> list[dict]:
    """The surface map, and the loss/distance/rate charts beside it: two panels sharing one
    step control (``charts.map_panels``); the map alone while no run is shown.

    ``background`` is the map without paths (``charts.surface_map(...).to_dict()``); given,
    only the paths and the metrics are built. ``rates`` adds the learning-rate chart (worth
    drawing when a schedule changes the rate). With ``cache_key`` (a registry surface),
    the path layers' spec comes from a cache and only this run's rows are filled in.
    """
    if background is None:
        background = charts.surface_map(
            surface, grid_, size=size, show_gradient_field=field
        ).to_dict(validate=False)
    if not named_runs:
        return charts.map_panels(None, background)
    last = max(len(h) - 1 for _, h in named_runs)
    param = charts.step_param(last, step)
    paths, arrows, shape = charts.path_tables(grid_.window, named_runs)
    metric_tables, metric_shape = charts.metrics_tables(
        named_runs, minimizers=surface.minimizers or None,
        optimal_value=surface.optimal_value, rates=rates,
    )
    # The skeletons read the runs' names from their rows (the legend looks them up in the
    # browser), so one cached skeleton serves however the runs are called this time.
    stand_ins = charts.placeholders(len(shape.names))
    shape, metric_shape = shape._replace(names=stand_ins), metric_shape._replace(names=stand_ins)
    skeleton = (
        skeleton_of(grid_, shape, param.name, size) if cache_key is None
        else path_skeleton(cache_key, resolution, shape, param.name, size)
    )
    # Three charts (with the rate) as tall together as two, and as the map beside them.
    height = 150 if len(metric_shape.charts) > 2 else 200
    # Rows go in as DataFrames: Streamlit sends datasets as Arrow, and a DataFrame converts
    # directly where a list of records would first be rebuilt into one.
    return charts.map_panels(
        param,
        charts.overlay(background, rows.with_frames(skeleton, {
            charts.PATHS_DATA: paths, charts.ARROWS_DATA: arrows})),
        rows.with_frames(metrics_skeleton(metric_shape, param.name, METRICS_WIDTH, height), {
            charts.metric_source(value): frame for value, frame in metric_tables.items()}),
    )


@by_name(st.cache_data(max_entries=128, max_size="8MB", ttl=TTL, show_spinner=False))
def lesson_panels(shape: charts.LessonShape, step: int | None, width: int, height: int
                  ) -> list[dict]:
    """The lesson figure's panels without data: they change only with the runs' names and
    length (``charts.fill_lesson_panels`` adds the rows)."""
    return charts.lesson_panel_skeletons(shape, step=step, width=width, height=height)


@by_name(st.cache_data(max_entries=128, max_size="8MB", ttl=TTL, show_spinner=False))
def metrics_skeleton(shape: charts.MetricShape, step: str, width: int, height: int) -> dict:
    """The metric charts' spec without data, without a legend (the map's names the runs): it
    changes only with names, titles and scales."""
    return charts.metrics_skeleton(shape, step, width=width, height=height, legend=False)


def skeleton_of(grid_: grids.Grid, shape: charts.PathShape, step: str, size: int) -> dict:
    return charts.path_skeleton(grid_, shape, step, size=size)


@by_name(st.cache_data(max_entries=128, max_size="8MB", ttl=TTL, show_spinner=False))
def path_skeleton(
    surface: tuple[str, str, Key], resolution: int, shape: charts.PathShape, step: str,
    size: int,
) -> dict:
    """The path layers' spec without data: it changes only with the runs' names and length."""
    return skeleton_of(grid(surface, resolution), shape, step, size)


@by_name(st.cache_data(max_entries=32, max_size="24MB", ttl=TTL, show_spinner=False))
def map_background(
    surface: tuple[str, str, Key], resolution: int, size: int, field: bool = False
) -> dict:
    """The map's image, contours, minimisers, hover layer and optional gradient field: they
    do not depend on the run."""
    # Rows as Arrow bytes once here: every spec built on this background reuses them.
    return rows.arrow_datasets(rows.as_frames(charts.surface_map(
        _surface(*surface), grid(surface, resolution), size=size, show_gradient_field=field
    ).to_dict(validate=False)))


@by_name(st.cache_data(max_entries=64, max_size="32MB", ttl=TTL, show_spinner=False))
def map_panels(
    surface: tuple[str, str, Key], key: tuple, resolution: int, names: tuple[str, ...],
    step: int | None, size: int, field: bool = False,
) -> list[dict]:
    """``map_panels_of`` for a named surface, cached: a room of students opening the same
    link (or a learner returning to a setting) gets the finished panels at once."""
    histories = runs(surface, *key) if names else []
    return rows.arrow_panels(map_panels_of(
        _surface(*surface), grid(surface, resolution), list(zip(names, histories, strict=True)),
        step, size, background=map_background(surface, resolution, size, field),
        rates=key[3][0] != "constant", cache_key=surface, resolution=resolution,
    ))


@shared(max_entries=64)
def grid(surface: tuple[str, str, Key], resolution: int) -> grids.Grid:
    return grids.evaluate(_surface(*surface), resolution)


@by_name(st.cache_data(max_entries=32, max_size="16MB", ttl=TTL,
                        show_spinner="Training the network…"))
def network(
    dataset: str, noise: float, n: int, hidden: tuple[int, ...], activation: str,
    optimizer: str, learning_rate: float, steps: int, batch: int, seed: int,
    grid: int = landscape.DEFAULT_GRID,
) -> landscape.Experiment:
    return landscape.experiment(
        dataset=dataset, noise=noise, n=n, hidden=hidden, activation=activation,
        optimizer=optimizer, learning_rate=learning_rate, steps=steps,
        batch=batch or None, seed=seed, grid=grid,
    )
