"""Cached computations behind the in-chart rate controls: each run over a window of rates.

A run's part of a sweep (``run_sweep``: its rows at every rate of its window, read from the
ladder's pages) is computed once per server and shared; the runs shown are joined from their
parts, so a learner who moves one run's rate, or picks another optimiser for it, computes that
run alone. The map's rows are kept run by run (``_map_rows``): each run's paths as the Arrow
bytes Streamlit sends, a dataset of their own in the figure, so every rerun that draws a run
sends the same bytes object and the browser keeps the rows it has; only the outcomes are joined
(``_stacked_rows``), so a combination of runs nobody drew before costs little more than that.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from losslab import charts, settings, whatif
from losslab.surfaces import Surface
from ui import rows
from ui.caching import TTL, by_name, shared
from ui.compute import Key, at_rates, map_background, named


def _sweep_plan(key: tuple, names: tuple[str, ...], dim: int
                ) -> tuple[list[whatif.RunSetting], list[whatif.RunWindow]]:
    """The runs of a sweep and their windows of rates (and decays). The windows narrow as
    runs are added, so a request stays within about sixty runs."""
    specs, starts, _, _, _, _ = key
    count = len(specs)
    runs_ = [whatif.RunSetting(name, label, dict(kwargs), tuple(start))
             for (name, kwargs), label, start in zip(specs, names, starts, strict=False)]
    rungs = 8 if dim == 1 and count == 1 else 3 if count <= 3 else 2
    betas = 1 if count <= 3 else 0
    return runs_, [whatif.run_window(run, rungs, betas) for run in runs_]


def sweep_on(surface: Surface, key: tuple, names: tuple[str, ...]) -> whatif.Sweep:
    """Every run over a window of learning rates (and decays) around its own: the rows the
    browser selects from when the learner moves a run's rate in the chart."""
    _, starts, steps, schedule, _, _ = key
    runs_, windows = _sweep_plan(key, names, surface.dim)
    return whatif.sweep(surface, runs_, start=starts[0], steps=steps,
                        schedule=settings.schedule_from_key(schedule), windows=windows)


def _parts(surface: tuple[str, str, Key], key: tuple, names: tuple[str, ...]
           ) -> tuple[list[tuple], list[whatif.RunWindow]]:
    """Each run's part of a sweep (what ``run_sweep`` computes), and the runs' windows with
    their chosen rungs. The window stands for the rate and the decay, so they are left out
    of the part: every choice within a window asks for the same part."""
    _, starts, steps, schedule, _, _ = key
    runs_, windows = _sweep_plan(key, names, named(surface).dim)
    budget = whatif.path_budget(windows)
    parts = []
    for run, window in zip(runs_, windows, strict=True):
        own = tuple(sorted((k, v) for k, v in run.hyperparams.items()
                           if k not in ("learning_rate", window.knob)))
        parts.append((surface, run.optimizer, run.name, own, run.start,
                      window._replace(rate_index=0, beta_index=0), starts[0], steps, schedule,
                      budget))
    return parts, windows


def sweep(surface: tuple[str, str, Key], key: tuple, names: tuple[str, ...]) -> whatif.Sweep:
    """``sweep_on`` for a named surface, each run's part from a shared cache
    (``run_sweep``): a room opening the same link computes it once, and a learner changing
    one run computes only that run again."""
    parts, windows = _parts(surface, key, names)
    return dataclasses.replace(_combined(repr(parts), parts), windows=tuple(windows))


def windows(surface: tuple[str, str, Key], key: tuple, names: tuple[str, ...]
            ) -> tuple[whatif.RunWindow, ...]:
    """The runs' windows with their chosen rungs, once every run's part is computed: what the
    app needs of ``sweep`` before drawing the map, whose rows are kept run by run. Raises
    ``ValueError`` (in words) when a run cannot be computed."""
    parts, windows_ = _parts(surface, key, names)
    _computed(repr(parts), parts)
    return tuple(windows_)


@shared(max_entries=256)
def _computed(key: str, _run_parts: tuple[tuple, ...]) -> bool:
    """Every part computed (a failure raises, and is not kept). Keyed by the parts' ``repr``
    (``_combined``)."""
    for part in _run_parts:
        run_sweep(repr(part), part)
    return True


@shared(max_entries=256)
def _combined(key: str, _run_parts: tuple[tuple, ...]) -> whatif.Sweep:
    """The runs' parts as one sweep, cached too: a rerun reads one entry, not one per run.
    Keyed by the parts' ``repr`` (exact for these tuples of names and floats): Streamlit's
    hasher walks a nested tuple element by element, which cost more than reading the entry."""
    return whatif.combine([run_sweep(repr(part), part) for part in _run_parts])


@shared(max_entries=256)
def run_sweep(key: str, _part: tuple) -> whatif.Sweep:
    """One run over its window (``whatif.sweep``), cached across sessions and read as it is
    (its tables are only ever copied); at a constant rate its runs are read from the ladder's
    pages (``at_rates``). ``_part`` is one of ``_parts``; ``key`` its ``repr``."""
    (surface, optimizer, name, hyperparams, start, window, sweep_start, steps, schedule,
     max_points) = _part
    run = whatif.RunSetting(optimizer, name, dict(hyperparams), start)
    scheduled = settings.schedule_from_key(schedule)
    histories = None
    if scheduled is None:
        own = tuple(start if start is not None else sweep_start)
        histories = [[at_rates(surface, optimizer, tuple(sorted(
            {**dict(hyperparams), **({window.knob: beta} if window.knob else {})}.items())),
            own, steps, window.rates) for beta in window.betas or (None,)]]
    return whatif.sweep(named(surface), [run], start=sweep_start, steps=steps,
                        schedule=scheduled, windows=[window], max_points=max_points,
                        histories=histories)


def whatif_map_of(surface: Surface, sweep_: whatif.Sweep, background: dict, step: int | None
                  ) -> list[dict]:
    """The map with the outcome panel, and the loss and distance charts, over the runs' rate
    windows: two panels sharing their controls (``charts.whatif_map_panels``)."""
    return charts.whatif_map_panels(sweep_, background, optimal_value=surface.optimal_value,
                                    step=step, as_frames=True)


def whatif_map(
    surface: tuple[str, str, Key], key: tuple, names: tuple[str, ...], resolution: int,
    step: int | None, size: int, field: bool = False,
) -> list[dict]:
    """``whatif_map_of`` for a named surface, its rows kept run by run (``_map_rows``): a
    learner who moves one run's rate, or picks another optimiser for it, makes one run's rows
    anew, and a combination of runs nobody drew before costs only joining their rows. The
    controls start at this choice of rates."""
    parts, windows = _parts(surface, key, names)
    optimal_value = named(surface).optimal_value
    background = map_background(surface, resolution, size, field)
    if optimal_value is None or not np.isfinite(optimal_value):
        # The loss axis then reads the lowest loss of all the runs: drawn as a whole.
        figure = _whatif_map(repr(parts), resolution, step, size, field, parts)
    else:
        width = int(background.get("width", size))
        rows_, steps = _stacked_rows(repr(parts), width, parts)
        figure = charts.whatif_map_figure(windows, steps, rows_, background,
                                          optimal_value=optimal_value, step=step)
    return [charts.with_choices(spec, windows) for spec in figure]


@shared(max_entries=256)
def _stacked_rows(key: str, width: int, _run_parts: tuple[tuple, ...]
                  ) -> tuple[charts.MapRows, int]:
    """The what-if map's rows of these runs, and the steps: each run's paths as they are
    (the same bytes object on every rerun that draws that run, so the browser keeps them), the
    outcomes joined. Keyed by the parts' ``repr`` (``_combined``)."""
    pieces = [_map_rows(repr(part), width, part) for part in _run_parts]
    return charts.MapRows(
        tuple(piece.on_map[0] for piece, _ in pieces),
        tuple(piece.over_steps[0] for piece, _ in pieces),
        rows.stacked_bytes([piece.outcomes for piece, _ in pieces]),
        charts.MapShape.merge([piece.shape for piece, _ in pieces])), pieces[0][1]


@shared(max_entries=1024)
def _map_rows(key: str, width: int, _part: tuple) -> tuple[charts.MapRows, int]:
    """One run's rows of the what-if map (``charts.whatif_map_rows``): its paths as the Arrow
    bytes Streamlit sends, its outcomes (``run`` 0) as an Arrow table to be joined, shared
    by every combination of runs it is drawn in, and the run's steps. Keyed by the part's
    ``repr`` (``_combined``)."""
    one = run_sweep(key, _part)
    drawn = charts.whatif_map_rows(one, width=width,
                                   optimal_value=named(_part[0]).optimal_value)
    return drawn._replace(on_map=(rows.arrow_bytes(drawn.on_map[0]),),
                          over_steps=(rows.arrow_bytes(drawn.over_steps[0]),),
                          outcomes=rows.arrow_table(drawn.outcomes)), one.steps


@by_name(st.cache_data(max_entries=64, max_size="48MB", ttl=TTL, show_spinner=False))
def _whatif_map(key: str, resolution: int, step: int | None, size: int, field: bool,
                _run_parts: tuple[tuple, ...]) -> list[dict]:
    """The figure drawn as a whole (``whatif_map``). Keyed by the parts' ``repr``
    (``_combined``)."""
    surface = _run_parts[0][0]
    sweep_ = _combined(key, _run_parts)
    return rows.arrow_panels(whatif_map_of(named(surface), sweep_,
                                       map_background(surface, resolution, size, field), step))


def whatif_lesson(
    surface: tuple[str, str, Key], key: tuple, names: tuple[str, ...],
    w_range: tuple[float, float], step: int | None, width: int, height: int,
) -> list[dict]:
    """The lesson figure over the runs' rate windows (``charts.whatif_lesson_panels``) for a
    named surface, cached like ``whatif_map``."""
    parts, windows = _parts(surface, key, names)
    return [charts.with_choices(spec, windows)
            for spec in _whatif_lesson(repr(parts), w_range, step, width, height, parts)]


@by_name(st.cache_data(max_entries=512, max_size="128MB", ttl=TTL, show_spinner=False))
def _whatif_lesson(key: str, w_range: tuple[float, float], step: int | None, width: int,
                   height: int, _run_parts: tuple[tuple, ...]) -> list[dict]:
    """Keyed by the parts' ``repr`` (``_combined``)."""
    return rows.arrow_panels(charts.whatif_lesson_panels(
        named(_run_parts[0][0]), _combined(key, _run_parts), w_range=w_range, step=step,
        width=width, height=height, as_frames=True))
