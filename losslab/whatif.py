"""What if the learning rate (or β) were different? Every run computed over a window of settings.

The browser only selects rows: each optimiser's run is computed here at every learning rate
of a window of ``stability.RATE_LADDER`` rungs around the chosen rate and, for the optimisers
whose behaviour hangs on a decay (momentum's μ, RMSProp's decay, Adam's β1), at a few values of
that decay too; all rates of one decay in one loop over steps (``ladder.run_rates``; one
``descent.run`` per rate under a schedule). ``sweep`` returns two tables:

- ``paths``: the iterates to draw, one row per (run, rung, beta, kept step), thinned along
  each path (``MAX_POINTS`` rows per path at most; a dropped step lies close to the kept one
  before it, in the map's and the loss curve's own coordinates);
- ``outcomes``: one row per (run, rung, beta) with the words and numbers a learner reads
  (outcome, the legend's text, the run's summary, final loss, the stability sentence for that
  rate), all from the full, unthinned history.

Every size a learner controls is capped here: runs (``MAX_RUNS``), rungs each side of the
chosen rate (``MAX_RUNGS_EACH_SIDE``), decay values each side (``MAX_BETA_EACH_SIDE``), steps
(``MAX_STEPS``) and rows (``MAX_ROWS``: paths are thinned harder when a window is wide).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from losslab import descent, ladder, limits, optimizers, stability
from losslab.descent import History, Schedule, step_sentence
from losslab.surfaces import Surface
from losslab.thinning import thin_steps

__all__ = [
    "BETA_KNOBS",
    "BETA_LADDER",
    "DEFAULT_BETA_EACH_SIDE",
    "DEFAULT_RUNGS_EACH_SIDE",
    "MAX_BETA_EACH_SIDE",
    "MAX_POINTS",
    "MAX_ROWS",
    "MAX_RUNGS_EACH_SIDE",
    "MAX_RUNS",
    "MAX_STEPS",
    "HOLD",
    "RunSetting",
    "RunWindow",
    "Sweep",
    "beta_window",
    "combine",
    "legend_text",
    "path_budget",
    "rate_window",
    "run_window",
    "sweep",
]

BETA_KNOBS: dict[str, str] = {
    "momentum": "momentum",
    "nesterov": "momentum",
    "rmsprop": "decay",
    "adam": "beta1",
    "adamw": "beta1",
}
"""Optimiser → the decay that is its run's second knob (its β control in the chart)."""
BETA_LADDER = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
"""Decay values a learner picks from (clipped to each optimiser's range)."""

MAX_RUNS = limits.MAX_RUNS
MAX_RUNGS_EACH_SIDE = 10
DEFAULT_RUNGS_EACH_SIDE = 3
MAX_BETA_EACH_SIDE = 2
DEFAULT_BETA_EACH_SIDE = 1
MAX_STEPS = 1000
"""The most steps a what-if run takes (each is taken once per rung and decay value)."""
MAX_POINTS = 100
"""Rows per drawn path at most: a move redraws every drawn row of the moved run, and a
100-row path already reads as a curve on a 420-pixel map and a 320-pixel chart."""
MAX_ROWS = 30_000
"""Path rows over all runs, rungs and decays at most: a move filters them all in the browser."""
HOLD = descent.MAX_STEPS + 1
"""``until`` of a path's last row: it stays the current point for every later step."""

class RunSetting(NamedTuple):
    """One run as the learner set it: registry name, legend name, its settings (the learning
    rate among them) and, when runs start apart, its own start (else ``sweep``'s)."""

    optimizer: str
    name: str
    hyperparams: Mapping[str, float | bool]
    start: tuple[float, ...] | None = None


class RunWindow(NamedTuple):
    """The settings one run is computed at: rates (and decays) in increasing order, and the
    index of the learner's own choice in each. Without a decay ladder ``knob`` is "",
    ``betas`` is ``()`` and ``beta_index`` 0."""

    optimizer: str
    name: str
    rates: tuple[float, ...]
    rate_index: int
    knob: str
    betas: tuple[float, ...]
    beta_index: int


@dataclass(frozen=True)
class Sweep:
    """What ``sweep`` computed: the windows, the drawn rows and the outcomes.

    ``paths`` columns: ``run, rung, beta, step, until`` (ints; ``beta`` is 0 without a decay
    ladder; a row is current for ``step <= t < until``, the last row of a path for every later
    step), then ``w1, w2`` (two weights) or ``w, gradient, step_words`` (one weight: what the
    gradient tells that step, in words), ``loss`` and, when
    the surface declares minimisers, ``distance`` (to the nearest one).

    ``outcomes`` columns: ``run, rung, beta`` (ints), ``optimizer`` (registry name), ``name``,
    ``learning_rate``, ``knob`` ("" or the decay's name), ``beta_value`` (0 without a knob),
    ``outcome`` (``descent.label``), ``legend`` ("Adam: converging", "SGD: diverged at step
    7"), ``summary`` (``descent.summary``), ``final_loss``, ``diverged_at`` (-1 if it did not),
    ``last_step``, ``regime`` (``stability.regime`` or "any"), ``sentence``
    (``stability_sentence``).
    """

    windows: tuple[RunWindow, ...]
    paths: pd.DataFrame
    outcomes: pd.DataFrame
    steps: int
    curvature: float | None


def _ladder_window(
    ladder: Sequence[float], value: float, each_side: int, low: float, high: float, *, log: bool
) -> tuple[tuple[float, ...], int]:
    """``2·each_side + 1`` neighbouring rungs of ``ladder`` within [low, high] around ``value``
    (fewer where the ladder ends), the rung nearest ``value`` replaced by ``value`` itself."""
    rungs = [r for r in ladder if low <= r <= high]
    value = min(max(float(value), low), high)
    if not rungs:
        return (value,), 0
    keys = np.log(rungs) if log else np.asarray(rungs)
    at = float(np.log(value)) if log else value
    nearest = int(np.argmin(np.abs(keys - at)))
    rungs[nearest] = value
    size = 2 * each_side + 1
    first = min(max(nearest - each_side, 0), max(len(rungs) - size, 0))
    window = tuple(rungs[first : first + size])
    return window, nearest - first


def rate_window(
    optimizer: str, rate: float, each_side: int = DEFAULT_RUNGS_EACH_SIDE
) -> tuple[tuple[float, ...], int]:
    """The learning rates ``optimizer``'s run is computed at and the index of ``rate`` among
    them: ``each_side`` (capped at ``MAX_RUNGS_EACH_SIDE``) rungs of ``RATE_LADDER`` either
    side, within the optimiser's learning-rate range, shifted inwards at the ladder's ends so
    the window keeps its width. ``rate`` itself is always in the window (replacing its nearest
    rung when it is not on the ladder). Centred, so the chosen rung keeps its place when the
    rate moves: the chart's spec then stays the same and the browser only swaps its rows.
    Raises ``ValueError`` for an unknown optimiser or a rate that is not a finite number > 0."""
    if optimizer not in optimizers.HYPERPARAMS:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    rate = float(rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"Invalid learning rate: {rate} (must be a finite number > 0)")
    hp = next(h for h in optimizers.HYPERPARAMS[optimizer] if h.name == "learning_rate")
    each_side = int(min(max(int(each_side), 0), MAX_RUNGS_EACH_SIDE))
    return _ladder_window(stability.RATE_LADDER, rate, each_side, float(hp.min_value),
                          float(hp.max_value), log=True)


def beta_window(
    optimizer: str, value: float | None = None, each_side: int = DEFAULT_BETA_EACH_SIDE
) -> tuple[str, tuple[float, ...], int]:
    """The decay knob of ``optimizer`` (``BETA_KNOBS``), the values its run is computed at and
    the index of ``value`` (default: the optimiser's default) among them; ``("", (), 0)`` for
    an optimiser without one. ``each_side`` is capped at ``MAX_BETA_EACH_SIDE``."""
    knob = BETA_KNOBS.get(optimizer, "")
    if not knob:
        return "", (), 0
    hp = next(h for h in optimizers.HYPERPARAMS[optimizer] if h.name == knob)
    value = float(hp.default if value is None else value)
    if not math.isfinite(value):
        raise ValueError(f"Invalid {knob} value: {value}")
    each_side = int(min(max(int(each_side), 0), MAX_BETA_EACH_SIDE))
    betas, index = _ladder_window(BETA_LADDER, value, each_side, float(hp.min_value),
                                  float(hp.max_value), log=False)
    return knob, betas, index


def legend_text(name: str, history: History, surface: Surface | None = None) -> str:
    """The legend's words for a run: "Adam: converging", "SGD: diverged at step 7"."""
    return _legend(name, history, descent.label(history, surface))


def _legend(name: str, history: History, outcome: descent.Label) -> str:
    if outcome == "diverged":
        return f"{name}: diverged at step {history.diverged_at}"
    return f"{name}: {outcome}"


def _curvature(surface: Surface, start: Sequence[float]) -> float | None:
    try:
        value = stability.largest_curvature(surface, start)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    return value if math.isfinite(value) else None


def _kept(history: History, window: Sequence[Sequence[float]], log_loss: np.ndarray,
          budget: int) -> np.ndarray:
    """Steps to draw: thinned along the path on the map (window-normalised), the loss curve
    (log, rescaled) and time together, so the map and the metric charts both keep their
    shape."""
    n = len(history)
    spans = np.array([max(hi - lo, 1e-12) for lo, hi in window])
    lows = np.array([lo for lo, _ in window])
    on_map = (history.params - lows) / spans
    spread = float(np.ptp(log_loss)) or 1.0
    points = np.column_stack([np.arange(n) / max(n - 1, 1), on_map,
                              (log_loss - log_loss.min()) / spread])
    return thin_steps(points, budget)


def sweep(
    surface: Surface,
    runs: Sequence[RunSetting],
    *,
    start: Sequence[float],
    steps: int,
    schedule: Schedule | None = None,
    rungs_each_side: int = DEFAULT_RUNGS_EACH_SIDE,
    beta_each_side: int = DEFAULT_BETA_EACH_SIDE,
    window: Sequence[Sequence[float]] | None = None,
    max_points: int = MAX_POINTS,
    windows: Sequence[RunWindow] | None = None,
    histories: Sequence[Sequence[Sequence[History]]] | None = None,
) -> Sweep:
    """Every run at every rate of its ``rate_window`` (× every decay of its ``beta_window``).

    ``runs`` carry each optimiser's own settings; its learning rate (and decay) centre the
    windows. ``window`` (default
    ``surface.window``) is the map's extent, used only to thin paths evenly on screen; each
    path keeps at most ``max_points`` rows. ``windows`` (one per run, from ``run_window``)
    give the rates and decays directly; the runs' own rate and decay are then not read.
    ``histories`` (with ``windows``: per run, per decay of its window — one entry without a
    decay ladder — the run at each rate, as ``descent.run`` gives it) are used instead of
    running the optimisers here: a server keeps pages of the ladder and draws any window
    from them.
    Raises ``ValueError`` for no runs, an unknown optimiser or setting, or a start where the
    surface is undefined (from ``descent.run``).
    """
    runs = list(runs)[:MAX_RUNS]
    if not runs:
        raise ValueError("sweep needs at least one run")
    steps = int(min(max(int(steps), 0), MAX_STEPS))
    start = [float(v) for v in np.asarray(start, dtype=float).reshape(-1)]
    window = surface.window if window is None else window
    curvature = _curvature(surface, start)
    minimizers = np.asarray(surface.minimizers, dtype=float).reshape(-1, surface.dim) \
        if surface.minimizers else None

    if windows is None:
        windows = [run_window(run, rungs_each_side, beta_each_side) for run in runs]
    windows = list(windows)
    if len(windows) != len(runs):
        raise ValueError("sweep needs one window per run")
    if histories is not None and [[len(h) for h in by_beta] for by_beta in histories] != [
            [len(w.rates)] * max(len(w.betas), 1) for w in windows]:
        raise ValueError("sweep's histories must give each run at every rate and decay "
                         "of its window")
    budget = path_budget(windows, max_points)
    path_columns: dict[str, list] = {}
    outcome_rows = []
    for index, (run, win) in enumerate(zip(runs, windows, strict=True)):
        own = start if run.start is None else [float(v) for v in run.start]
        by_beta = histories[index] if histories is not None else [
            _histories(surface, run, win, beta_value, own, steps, schedule)
            for beta_value in win.betas or (None,)]
        for rung, rate in enumerate(win.rates):
            for beta, beta_value in enumerate(win.betas or (None,)):
                h = by_beta[beta][rung]
                rows = _path_rows(h, index, rung, beta, window, minimizers, budget)
                for column, values in rows.items():
                    path_columns.setdefault(column, []).append(values)
                outcome_rows.append(_outcome_row(h, surface, run, index, rung, beta, rate,
                                                 win.knob, beta_value, curvature, own))
    # One table built at the end: a DataFrame per path and pd.concat cost as much as the
    # batched runs themselves.
    paths = pd.DataFrame({column: np.concatenate(parts) if column != "step_words"
                          else [w for part in parts for w in part]
                          for column, parts in path_columns.items()})
    outcomes = pd.DataFrame(outcome_rows)
    return Sweep(tuple(windows), paths, outcomes, steps, curvature)


def run_window(run: RunSetting, rungs_each_side: int = DEFAULT_RUNGS_EACH_SIDE,
               beta_each_side: int = DEFAULT_BETA_EACH_SIDE) -> RunWindow:
    """The rates and decays ``sweep`` computes ``run`` at (``rate_window``, ``beta_window``)."""
    settings = dict(run.hyperparams)
    rate = settings.get("learning_rate", _default(run.optimizer, "learning_rate"))
    rates, rate_index = rate_window(run.optimizer, rate, rungs_each_side)
    knob, betas, beta_index = beta_window(run.optimizer, settings.get(
        BETA_KNOBS.get(run.optimizer, ""), None), beta_each_side)
    return RunWindow(run.optimizer, run.name, rates, rate_index, knob, betas, beta_index)


def path_budget(windows: Sequence[RunWindow], max_points: int = MAX_POINTS) -> int:
    """Rows per drawn path for these windows: at most ``max_points`` and ``MAX_POINTS``, and
    few enough that all their paths together stay within ``MAX_ROWS``."""
    paths_count = sum(len(w.rates) * max(len(w.betas), 1) for w in windows) or 1
    return int(min(max(int(max_points), 3), MAX_POINTS, max(MAX_ROWS // paths_count, 3)))


def combine(sweeps: Sequence[Sweep]) -> Sweep:
    """Sweeps of one run each (same surface, start and steps), as one sweep of all their
    runs in order: what ``sweep`` of all the runs gives when each is thinned to the same
    ``max_points`` (``path_budget`` of all the windows). A server caches runs one by one,
    so changing one run does not compute the others again."""
    sweeps = list(sweeps)[:MAX_RUNS]
    if not sweeps:
        raise ValueError("combine needs at least one sweep")
    paths, outcomes = [], []
    for index, part in enumerate(sweeps):
        if len(part.windows) != 1:
            raise ValueError("combine takes sweeps of one run each")
        paths.append(part.paths.assign(run=index))
        outcomes.append(part.outcomes.assign(run=index))
    first = sweeps[0]
    return Sweep(tuple(w for part in sweeps for w in part.windows),
                 pd.concat(paths, ignore_index=True), pd.concat(outcomes, ignore_index=True),
                 first.steps, first.curvature)


def _histories(surface: Surface, run: RunSetting, win: RunWindow, beta_value: float | None,
               start: Sequence[float], steps: int, schedule: Schedule | None) -> list[History]:
    """The run at every rate of its window (at decay ``beta_value``): all rates in one loop
    over steps (``ladder.run_rates``), or one run per rate when a schedule sets the rates."""
    settings = dict(run.hyperparams)
    if win.knob:
        settings[win.knob] = beta_value
    if schedule is None:
        optimizer = optimizers.make(run.optimizer, **{**settings, "learning_rate": win.rates[0]})
        return ladder.run_rates(surface, optimizer, rates=win.rates, start=start, steps=steps)
    return [descent.run(surface, optimizers.make(run.optimizer,
                                                 **{**settings, "learning_rate": rate}),
                        start=start, steps=steps, schedule=schedule)
            for rate in win.rates]


def _default(optimizer: str, name: str) -> float:
    if optimizer not in optimizers.HYPERPARAMS:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    return float(next(h.default for h in optimizers.HYPERPARAMS[optimizer] if h.name == name))


def _path_rows(h: History, run: int, rung: int, beta: int, window, minimizers, budget: int
               ) -> dict[str, object]:
    """The columns of one path's rows (see ``Sweep.paths``)."""
    loss = np.asarray(h.loss, dtype=float)
    log_loss = np.log10(np.maximum(np.abs(loss), 1e-300))
    kept = _kept(h, window, log_loss, budget)
    params = h.params[kept]
    count = len(kept)
    rows: dict[str, object] = {
        "run": np.full(count, run), "rung": np.full(count, rung), "beta": np.full(count, beta),
        "step": kept, "until": np.append(kept[1:], HOLD),
    }
    if h.params.shape[1] == 1:
        rows["w"] = params[:, 0]
        rows["gradient"] = h.grad[kept, 0]
        rows["step_words"] = [f"Step {k}: " + step_sentence(float(w), float(g))
                            for k, w, g in zip(kept, params[:, 0], h.grad[kept, 0], strict=True)]
    else:
        rows["w1"] = params[:, 0]
        rows["w2"] = params[:, 1]
    rows["loss"] = loss[kept]
    if minimizers is not None:
        distance = np.linalg.norm(params[:, None, :] - minimizers[None], axis=2).min(axis=1)
        rows["distance"] = distance
    return rows


def _outcome_row(h: History, surface: Surface, run: RunSetting, index: int, rung: int,
                 beta: int, rate: float, knob: str, beta_value: float | None,
                 curvature: float | None, start: Sequence[float]) -> dict[str, object]:
    last = len(h) - 1
    regime = "any" if curvature is None else stability.regime(rate, curvature)
    outcome = descent.label(h, surface)
    return {
        "run": index, "rung": rung, "beta": beta, "optimizer": run.optimizer,
        "name": run.name, "learning_rate": rate, "knob": knob,
        "beta_value": 0.0 if beta_value is None else float(beta_value),
        "outcome": outcome,
        "legend": _legend(run.name, h, outcome),
        "summary": descent.summary(run.name, h, surface, outcome=outcome),
        "final_loss": float(h.loss[last]),
        "diverged_at": -1 if h.diverged_at is None else int(h.diverged_at),
        "last_step": last,
        "regime": regime,
        "sentence": _verdict(surface, start, run.optimizer, rate, knob, beta_value),
    }


def _verdict(surface: Surface, start: Sequence[float], optimizer: str, rate: float, knob: str,
             beta_value: float | None) -> str:
    """The stability verdict at this rate, in ``stability.assess``' words."""
    momentum = beta_value if knob == "momentum" and beta_value is not None else 0.9
    assessment = stability.assess(surface, start, rate, optimizer, momentum=momentum)
    if assessment is None:
        return f"lr = {rate:g}: the curvature at the start is not defined."
    return assessment.lines[-1]
