"""Time the network-landscape experiment against its 2 s budget.

Run: ``cd /work/main && python benchmarks/bench_nn.py [--runs 5] [--worst]``

Each case is timed end to end (data, training, decision raster, 1-D line, random and PCA
planes), plus the five chart builders with ``to_dict()``; the median of ``--runs`` runs is
reported with its ratio to the budget. ``--worst`` adds one run at the caps. The load average
is printed because the machine is shared: a high load inflates every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losslab import landscape  # noqa: E402
from losslab.charts import _nn as nn_charts  # noqa: E402

BUDGET_S = 2.0

CASES = {
    "default 2-8-1 tanh, Adam, 300 steps, n=200, grid 41": {},
    "2-16-16-1 tanh, Adam, 300 steps, n=200, grid 41": {"hidden": (16, 16)},
    "2-16-16-1 relu, SGD, 300 steps, batch 32, grid 41": {
        "hidden": (16, 16),
        "activation": "relu",
        "optimizer": "sgd",
        "learning_rate": 0.5,
        "batch": 32,
    },
}
WORST = {
    "caps: 2-32-32-1 tanh, 5000 steps, n=2000, grid 81 asked": {
        "hidden": (32, 32),
        "n": 2000,
        "steps": 5000,
        "grid": 81,
    },
}


def _charts(exp: landscape.Experiment) -> None:
    for chart in (
        nn_charts.nn_decision_chart(exp),
        nn_charts.nn_loss_chart(exp),
        nn_charts.nn_interpolation_chart(exp),
        nn_charts.nn_landscape_chart(exp, "random"),
        nn_charts.nn_landscape_chart(exp, "pca"),
    ):
        chart.to_dict()


def _time(settings: dict, runs: int) -> tuple[float, float, landscape.Experiment]:
    compute, draw = [], []
    exp = None
    for _ in range(runs):
        start = time.perf_counter()
        exp = landscape.experiment(**settings)
        middle = time.perf_counter()
        _charts(exp)
        compute.append(middle - start)
        draw.append(time.perf_counter() - middle)
    return statistics.median(compute), statistics.median(draw), exp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worst", action="store_true", help="also time one run at the caps")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    cases = [(name, s, max(args.runs, 1)) for name, s in CASES.items()]
    if args.worst:
        cases += [(name, s, 1) for name, s in WORST.items()]
    for name, settings, runs in cases:
        compute, draw, exp = _time(settings, runs)
        total = compute + draw
        print(
            f"{name}\n  median of {runs}: experiment {compute:.3f} s + charts {draw:.3f} s "
            f"= {total:.3f} s  ({total / BUDGET_S:.2f} × the {BUDGET_S:.0f} s budget); "
            f"grid used {exp.settings['grid']}, {exp.net.n_params} weights; {exp.message}"
        )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
