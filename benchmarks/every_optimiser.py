"""What choosing a run's optimiser in the browser would cost: every optimiser computed ahead.

The learning rate and the decay move in the browser because every rate of a run's window is
computed ahead and sent as rows. Doing the same for the optimiser means each run carrying every
optimiser's rows, each at the run's rate (clamped to that optimiser's range, as the sidebar's
menu does), over the same window of rates and decays. This script builds those rows with the
app's own functions (``whatif.sweep``, ``charts.whatif_map_rows``, ``ui.rows.arrow_bytes``) and
prints, for today's rows and for every optimiser's: paths, rows, the bytes of the two panels'
path datasets and the server CPU to compute them cold. ``benchmarks/figure_app.py`` draws both
in a browser (page load, in-chart moves).

    python benchmarks/every_optimiser.py                  # the three-run Rosenbrock link
    python benchmarks/every_optimiser.py --steps 500
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from losslab import charts, permalink, settings, surfaces, whatif  # noqa: E402
from ui import rows  # noqa: E402

QUERY = {"surface": "rosenbrock", "opt": "sgd,momentum,adam", "steps": "300"}
"""The link of #15's measurements: three runs at the app's Rosenbrock rates."""
NAMES = {"sgd": "Gradient descent", "momentum": "Momentum", "nesterov": "Nesterov momentum",
         "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW",
         "newton": "Newton"}
"""The legend's names (``ui.scene.short_label``, which imports Streamlit)."""
SHIFT = 100
"""Added to the rung of another optimiser's rows: today's filters never draw them, so a page
carrying them draws today's figure while the browser parses and filters every row."""


def link_settings(steps: int | None = None) -> settings.Settings:
    query = dict(QUERY, steps=str(steps)) if steps else QUERY
    parsed, _ = permalink.parse_query(query)
    return parsed


def _one(s: settings.Settings, optimizer: str, rate: float) -> whatif.Sweep:
    """One run of ``optimizer`` at ``rate`` (clamped) over its window, as the app sweeps it."""
    alone = settings.replaced(s, optimizers=(optimizer,),
                              learning_rates=(settings.clamp_rate(optimizer, rate),))
    (name, kwargs), = settings.optimizer_kwargs(alone)
    run = whatif.RunSetting(name, NAMES[name], kwargs)
    return whatif.sweep(surfaces.get(s.surface), [run], start=s.start, steps=s.steps)


def figure_rows(s: settings.Settings, every: bool
                ) -> tuple[whatif.Sweep, charts.MapRows, int]:
    """The runs' sweep, the what-if map's rows and how many paths they hold; with ``every``,
    each run's path datasets also hold every other optimiser's rows at that run's rate (rungs
    shifted by ``SHIFT``)."""
    surface = surfaces.get(s.surface)
    own = [_one(s, name, rate) for name, rate in zip(s.optimizers, s.rates(), strict=True)]
    sweep = whatif.combine(own)
    drawn = charts.whatif_map_rows(sweep, width=380, optimal_value=surface.optimal_value)
    paths = len(sweep.outcomes)
    if not every:
        return sweep, drawn, paths
    on_map, over_steps = [], []
    for k, (name, rate) in enumerate(zip(s.optimizers, s.rates(), strict=True)):
        maps, steps_ = [drawn.on_map[k]], [drawn.over_steps[k]]
        for other in settings.OPTIMIZER_NAMES:
            if other == name:
                continue
            other_sweep = _one(s, other, rate)
            paths += len(other_sweep.outcomes)
            alt = charts.whatif_map_rows(other_sweep, width=380,
                                         optimal_value=surface.optimal_value)
            maps.append(alt.on_map[0].assign(rung=alt.on_map[0]["rung"] + SHIFT))
            steps_.append(alt.over_steps[0].assign(rung=alt.over_steps[0]["rung"] + SHIFT))
        on_map.append(pd.concat(maps, ignore_index=True))
        over_steps.append(pd.concat(steps_, ignore_index=True))
    return sweep, drawn._replace(on_map=tuple(on_map), over_steps=tuple(over_steps)), paths


def path_bytes(drawn: charts.MapRows) -> int:
    return sum(len(rows.arrow_bytes(t)) for t in (*drawn.on_map, *drawn.over_steps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="steps (default the link's 300)")
    args = parser.parse_args(argv)
    s = link_settings(args.steps)
    print(f"?{'&'.join(f'{k}={v}' for k, v in QUERY.items())}, steps {s.steps}, "
          f"rates {s.rates()}")
    for every in (False, True):
        started = time.process_time()
        _, drawn, paths = figure_rows(s, every)
        cpu = 1000 * (time.process_time() - started)
        count = sum(len(t) for t in drawn.on_map)
        print(f"{'every optimiser' if every else 'today':>16}: {paths:4d} paths, {count:6d} rows "
              f"on the map, {path_bytes(drawn) / 1e6:.2f} MB of path datasets (both panels), "
              f"{cpu:.0f} CPU-ms cold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
