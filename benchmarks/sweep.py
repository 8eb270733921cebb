"""The what-if sweep, one run per rung (as it was) against all rungs at once (``ladder``).

``whatif.sweep`` computes every run of a view at every rate of its window of learning rates
(and, for momentum, RMSProp and Adam, at a few decays). It used to call ``descent.run`` once per
(run, rate, decay) and build a pandas DataFrame per path; it now takes each (run, decay) at all
its rates in one loop over steps (``ladder.run_rates``) and builds its tables once. This script
times both on the same inputs, in the same process, alternating them (``--repeats`` times,
CPU time of this process, median), checks that they give the same tables, and prints the ratio.

Cases: the Rosenbrock opening as the app sweeps it (its four runs, SGD, momentum, Adam and
Newton, 500 steps, two rungs either side, no decay ladder: 20 runs), the same surface with
three runs (SGD, momentum, Adam: three rungs either side and three decays, 49 runs), the linear
regression opening (data rows, 100 steps) and the Rastrigin opening. Newton needs the Hessian
and is still taken one rate at a time, so the first case is bounded by its five runs.

``per_run_sweep`` below is the previous ``whatif.sweep``, kept here as the baseline.

Run from the repository root:  python benchmarks/sweep.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losslab import descent, optimizers, stability, surfaces, whatif  # noqa: E402
from losslab.descent import History, step_sentence  # noqa: E402
from losslab.thinning import thin_steps  # noqa: E402
from losslab.whatif import RunSetting, RunWindow, Sweep  # noqa: E402

TARGET = 5.0


# --- the previous sweep: one descent.run and one DataFrame per (run, rate, decay) --------------

def per_run_sweep(surface, runs, *, start, steps, rungs_each_side=3, beta_each_side=1,
                  max_points=whatif.MAX_POINTS) -> Sweep:
    runs = list(runs)[:whatif.MAX_RUNS]
    steps = int(min(max(int(steps), 0), whatif.MAX_STEPS))
    start = [float(v) for v in np.asarray(start, dtype=float).reshape(-1)]
    window = surface.window
    try:
        curvature = stability.largest_curvature(surface, start)
        curvature = curvature if math.isfinite(curvature) else None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        curvature = None
    minimizers = np.asarray(surface.minimizers, dtype=float).reshape(-1, surface.dim) \
        if surface.minimizers else None
    windows = []
    for run in runs:
        settings = dict(run.hyperparams)
        rate = settings["learning_rate"]
        rates, rate_index = whatif.rate_window(run.optimizer, rate, rungs_each_side)
        knob, betas, beta_index = whatif.beta_window(run.optimizer, settings.get(
            whatif.BETA_KNOBS.get(run.optimizer, ""), None), beta_each_side)
        windows.append(RunWindow(run.optimizer, run.name, rates, rate_index, knob, betas,
                                 beta_index))
    paths_count = sum(len(w.rates) * max(len(w.betas), 1) for w in windows)
    budget = int(min(max(int(max_points), 3), whatif.MAX_POINTS,
                     max(whatif.MAX_ROWS // paths_count, 3)))
    path_frames, outcome_rows = [], []
    for index, (run, win) in enumerate(zip(runs, windows, strict=True)):
        for rung, rate in enumerate(win.rates):
            for beta, beta_value in enumerate(win.betas or (None,)):
                settings = {**dict(run.hyperparams), "learning_rate": rate}
                if win.knob:
                    settings[win.knob] = beta_value
                own = start if run.start is None else [float(v) for v in run.start]
                h = descent.run(surface, optimizers.make(run.optimizer, **settings),
                                start=own, steps=steps)
                path_frames.append(_path_rows(h, index, rung, beta, window, minimizers,
                                              budget))
                outcome_rows.append(_outcome_row(h, surface, run, index, rung, beta, rate,
                                                 win.knob, beta_value, curvature, own))
    return Sweep(tuple(windows), pd.concat(path_frames, ignore_index=True),
                 pd.DataFrame(outcome_rows), steps, curvature)


def _path_rows(h: History, run, rung, beta, window, minimizers, budget) -> pd.DataFrame:
    loss = np.asarray(h.loss, dtype=float)
    log_loss = np.log10(np.maximum(np.abs(loss), 1e-300))
    n = len(h)
    spans = np.array([max(hi - lo, 1e-12) for lo, hi in window])
    lows = np.array([lo for lo, _ in window])
    spread = float(np.ptp(log_loss)) or 1.0
    points = np.column_stack([np.arange(n) / max(n - 1, 1), (h.params - lows) / spans,
                              (log_loss - log_loss.min()) / spread])
    kept = thin_steps(points, budget)
    params = h.params[kept]
    rows: dict[str, object] = {"run": run, "rung": rung, "beta": beta, "step": kept,
                               "until": np.append(kept[1:], whatif.HOLD)}
    if h.params.shape[1] == 1:
        rows["w"] = params[:, 0]
        rows["gradient"] = h.grad[kept, 0]
        rows["step_words"] = [f"Step {k}: " + step_sentence(float(w), float(g))
                              for k, w, g in zip(kept, params[:, 0], h.grad[kept, 0],
                                                 strict=True)]
    else:
        rows["w1"] = params[:, 0]
        rows["w2"] = params[:, 1]
    rows["loss"] = loss[kept]
    if minimizers is not None:
        rows["distance"] = np.linalg.norm(params[:, None, :] - minimizers[None],
                                          axis=2).min(axis=1)
    return pd.DataFrame(rows)


def _outcome_row(h, surface, run, index, rung, beta, rate, knob, beta_value, curvature, start):
    last = len(h) - 1
    momentum = beta_value if knob == "momentum" and beta_value is not None else 0.9
    assessment = stability.assess(surface, start, rate, run.optimizer, momentum=momentum)
    sentence = (f"lr = {rate:g}: the curvature at the start is not defined."
                if assessment is None else assessment.lines[-1])
    return {
        "run": index, "rung": rung, "beta": beta, "optimizer": run.optimizer,
        "name": run.name, "learning_rate": rate, "knob": knob,
        "beta_value": 0.0 if beta_value is None else float(beta_value),
        "outcome": descent.label(h, surface),
        "legend": whatif.legend_text(run.name, h, surface),
        "summary": descent.summary(run.name, h, surface),
        "final_loss": float(h.loss[last]),
        "diverged_at": -1 if h.diverged_at is None else int(h.diverged_at),
        "last_step": last,
        "regime": "any" if curvature is None else stability.regime(rate, curvature),
        "sentence": sentence,
    }


# --- the cases --------------------------------------------------------------------------------

def opening_case(name: str, optimizers_: Sequence[str] | None = None, rungs: int | None = None,
                 betas: int | None = None) -> tuple[str, Callable, Callable]:
    """The surface's opening swept as ``ui.sweeps.sweep_on`` sweeps it (window widths by run
    count), optionally with only ``optimizers_`` and other window widths."""
    surface = surfaces.get(name)
    opening = surface.opening
    chosen = [r for r in opening.runs if optimizers_ is None or r.optimizer in optimizers_]
    runs = [RunSetting(r.optimizer, r.optimizer, {"learning_rate": r.learning_rate}, r.start)
            for r in chosen]
    count = len(runs)
    kwargs = {
        "start": chosen[0].start, "steps": opening.steps,
        "rungs_each_side": rungs if rungs is not None else
        8 if surface.dim == 1 and count == 1 else 3 if count <= 3 else 2,
        "beta_each_side": betas if betas is not None else 1 if count <= 3 else 0,
    }
    paths = sum(len(whatif.rate_window(r.optimizer, r.hyperparams["learning_rate"],
                                       kwargs["rungs_each_side"])[0])
                * max(len(whatif.beta_window(r.optimizer, None, kwargs["beta_each_side"])[1]), 1)
                for r in runs)
    label = (f"{name}: {', '.join(r.optimizer for r in runs)}; {opening.steps} steps, "
             f"{paths} runs")
    return (label, lambda: per_run_sweep(surface, runs, **kwargs),
            lambda: whatif.sweep(surface, runs, **kwargs))


def cpu_seconds(fn: Callable[[], object]) -> float:
    began = time.process_time()
    fn()
    return time.process_time() - began


def same(old: Sweep, new: Sweep) -> bool:
    try:
        pd.testing.assert_frame_equal(old.paths, new.paths, check_exact=True)
        pd.testing.assert_frame_equal(old.outcomes, new.outcomes, check_exact=True)
    except AssertionError:
        return False
    return old.windows == new.windows and old.curvature == new.curvature


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    cases = [
        opening_case("rosenbrock"),
        opening_case("rosenbrock", ("sgd", "momentum", "adam"), rungs=3, betas=1),
        opening_case("linear_regression"),
        opening_case("rastrigin"),
    ]
    ratios = []
    for label, old, new in cases:
        identical = same(old(), new())  # also the warm-up
        old_times, new_times = [], []
        for i in range(args.repeats):  # alternate, so background load hits both alike
            pair = [(old, old_times), (new, new_times)]
            for fn, times in pair if i % 2 == 0 else pair[::-1]:
                times.append(cpu_seconds(fn))
        o, n = statistics.median(old_times), statistics.median(new_times)
        ratios.append(o / n)
        print(f"{label}\n  one run per rung {o * 1000:7.1f} ms   all rungs at once "
              f"{n * 1000:7.1f} ms   ratio {o / n:5.1f}x   same tables: {identical}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"target: >= {TARGET:g}x on the three-run Rosenbrock sweep "
          f"({'met' if ratios[1] >= TARGET else 'missed'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
