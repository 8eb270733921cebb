"""Drawing the MSE surface costs the same for 10⁶ rows as for 10²: it reads six statistics.

Times the loss (and gradient, Hessian) of a linear-regression surface over a 200×200 grid of
(w, b) — what a heat map or contour plot needs — for 10² and for 10⁶ generated rows, repeats
each measurement and prints the medians and their ratio (target: ≤ 1.2).

The 10⁶-row surface is above the public row cap (``surfaces.MAX_ROWS`` = 100 000), so it is
built through the private constructor ``_linear_surface``: the cap guards what users may ask
for; this shows that the grid cost of MSE does not depend on it. ``--rowwise`` adds, for
contrast, MAE (which has no sufficient statistics) at 10² and 10⁴ rows.

Run from the repository root:  python benchmarks/bench_sufficient_stats.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losslab.surfaces._data import _linear_surface  # noqa: E402
from losslab.surfaces._datarows import regression_rows  # noqa: E402

GRID = 200
SMALL, LARGE = 10**2, 10**6


def build(n: int, loss: str = "mse"):
    x, y = regression_rows(n, noise=1.0, seed=0)
    return _linear_surface(
        x,
        y,
        loss=loss,
        l1=0.0,
        l2=0.0,
        delta=1.0,
        name="bench",
        title="bench",
        params={},
        build=lambda **_: None,
    )


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call costs are not what is measured
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rowwise", action="store_true", help="also time MAE (row by row)")
    args = parser.parse_args()

    w, b = np.meshgrid(np.linspace(-1.0, 5.0, GRID), np.linspace(-2.0, 4.0, GRID))
    grid = np.array([w, b])
    print(f"{GRID}x{GRID} grid, median of {args.repeats} runs")
    surfaces = {}
    for n in SMALL, LARGE:
        start = time.perf_counter()
        surfaces[n] = build(n)
        print(f"  built MSE surface with {n:>9,} rows in {time.perf_counter() - start:.3f} s")
    ratio_loss = None
    for what in "loss", "grad", "hessian":
        medians = {
            n: median_seconds(partial(getattr(s, what), grid), args.repeats)
            for n, s in surfaces.items()
        }
        ratio = medians[LARGE] / medians[SMALL]
        ratio_loss = ratio if what == "loss" else ratio_loss
        print(
            f"  MSE {what:<8} {SMALL:>9,} rows: {medians[SMALL] * 1e3:7.3f} ms   "
            f"{LARGE:>9,} rows: {medians[LARGE] * 1e3:7.3f} ms   ratio {ratio:.2f}"
        )
    if args.rowwise:
        for n in 10**2, 10**4:
            s = build(n, loss="mae")
            seconds = median_seconds(lambda s=s: s.loss(grid), 3)
            print(f"  MAE loss     {n:>9,} rows: {seconds * 1e3:9.1f} ms (row by row)")
    verdict = "OK" if ratio_loss <= 1.2 else "ABOVE TARGET"
    print(f"loss-grid time ratio 10^6 / 10^2 rows: {ratio_loss:.2f} (target <= 1.2: {verdict})")


if __name__ == "__main__":
    main()
