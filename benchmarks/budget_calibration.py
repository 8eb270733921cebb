"""How well ``losslab.budget`` predicts the CPU a request costs: measured over predicted.

For each kind of work the budget counts (a surface map with and without data rows, optimiser
runs on a formula, on a registry surface and on data with each loss, network training and its
landscapes), the script builds a request, computes it as the app does, measures the CPU time
(``time.process_time``, steady when the machine is busy with other work) and prints
``measured / predicted`` with predicted = ``budget.cost(request) × SECONDS_PER_UNIT``. Ratios
near 1 mean ``budget.COSTS`` fits this machine; outside roughly 0.5–2, adjust ``COSTS``.
The last rows compute the heavy requests of the hardening corpus after ``fit_surface`` /
``fit_network``: their CPU should be about ``BUDGET × SECONDS_PER_UNIT`` (2 s) or less.

Run from the repository root:  python benchmarks/budget_calibration.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losslab import budget, descent, expressions, grids, landscape, optimizers, surfaces  # noqa: E402
from losslab.budget import NetworkRequest, SurfaceRequest  # noqa: E402

_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "newton")


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _data_surface(loss: str, rows: int, seed: int):
    if loss == "logistic":
        return surfaces.get("logistic_regression", n=rows, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return surfaces.linear_regression_from_data(x, 2 * x + rng.normal(size=rows), loss=loss)


def surface_page(request: SurfaceRequest, *, name: str = "", formula: str = "", seed: int = 1):
    """Compute what a surface page computes for ``request``: build, map, runs."""

    def work() -> None:
        if formula:
            surface = expressions.parse(formula)
        elif request.loss != "none":
            surface = _data_surface(request.loss, request.rows, seed)
        else:
            surface = surfaces.get(name)
        if request.resolution:
            if surface.dim == 2:
                grids.evaluate(surface, request.resolution)
            else:
                grids.evaluate_1d(surface, request.resolution)
        start = [0.5] * surface.dim
        for index in range(request.runs):
            optimizer = optimizers.make(_OPTIMIZERS[index % len(_OPTIMIZERS)], learning_rate=1e-3)
            if optimizer.needs_hessian and request.batch:
                optimizer = optimizers.make("adam", learning_rate=1e-3)
            descent.run(surface, optimizer, start=start, steps=request.steps,
                        batch=request.batch or None, seed=seed)  # fmt: skip

    return work


def network_page(request: NetworkRequest, seed: int = 1):
    def work() -> None:
        landscape.experiment(hidden=request.hidden, n=request.rows, steps=request.steps,
                             batch=request.batch or None, grid=request.grid, seed=seed)  # fmt: skip

    return work


def _built_expr(text: str):
    from losslab.expressions._build import build
    from losslab.expressions._syntax import read

    return build(read(text), dict(expressions.DEFAULT_CONSTANTS)).expr


HIMMELBLAU = "(w1^2 + w2 - 11)^2 + (w1 + w2^2 - 7)^2"

def cases() -> list[tuple[str, SurfaceRequest | NetworkRequest, Callable[[], None]]]:
    nodes = expressions._size(_built_expr(HIMMELBLAU), 10_000)
    out: list[tuple[str, SurfaceRequest | NetworkRequest, Callable[[], None]]] = []

    def add(label: str, request, work) -> None:
        out.append((label, request, work))

    r = SurfaceRequest(resolution=400)
    add("map, registry surface, 400²", r, surface_page(r, name="rosenbrock"))
    r = SurfaceRequest(resolution=400, formula_nodes=nodes)
    add(f"map, formula ({nodes} nodes), 400²", r, surface_page(r, formula=HIMMELBLAU))
    for loss, rows, res in (("mae", 10_000, 100), ("huber", 10_000, 60), ("logistic", 2000, 100)):
        r = SurfaceRequest(resolution=res, rows=rows, loss=loss)
        add(f"map, {loss}, {rows} rows, {res}²", r, surface_page(r))
    r = SurfaceRequest(runs=8, steps=1000)
    add("8 runs × 1000 steps, registry surface", r, surface_page(r, name="rosenbrock"))
    r = SurfaceRequest(runs=4, steps=1000, formula_nodes=nodes)
    add("4 runs × 1000 steps, formula", r, surface_page(r, formula=HIMMELBLAU))
    for loss, rows, batch in (("mse", 10_000, 0), ("huber", 10_000, 0), ("logistic", 2000, 1999)):
        r = SurfaceRequest(rows=rows, loss=loss, runs=4, steps=300, batch=batch)
        add(f"4 runs × 300 steps, {loss}, {rows} rows, batch {batch}", r, surface_page(r))
    r = NetworkRequest(hidden=(32, 32), rows=2000, steps=100, grid=5)
    add("network 32,32, 2000 rows, 100 steps, grid 5", r, network_page(r))
    r = NetworkRequest(hidden=(8,), rows=200, steps=300, grid=41)
    add("network 8, 200 rows, 300 steps, grid 41", r, network_page(r))
    r = NetworkRequest(hidden=(32, 32), rows=2000, steps=50, grid=21)
    add("network 32,32, 2000 rows, 50 steps, grid 21", r, network_page(r))
    # The heavy requests of the hardening corpus, after the budget scaled them down.
    heavy = (
        ("logistic n=2000 res=400", SurfaceRequest(resolution=400, rows=2000, loss="logistic",
                                                   runs=1, steps=30)),
        ("8 × 5000 steps batch 1999", SurfaceRequest(resolution=100, rows=2000, loss="logistic",
                                                     runs=8, steps=5000, batch=1999)),
        ("10 000-row Huber paste", SurfaceRequest(resolution=400, rows=10_000, loss="huber",
                                                  runs=8, steps=5000)),
    )  # fmt: skip
    for label, request in heavy:
        fitted = budget.fit_surface(request).request
        add(f"fitted: {label}", fitted, surface_page(fitted))
    fitted = budget.fit_network(NetworkRequest(hidden=(32, 32), rows=2000, steps=300)).request
    add("fitted: network 32,32, 2000 rows", fitted, network_page(fitted))
    return out


def main() -> None:
    expressions.parse(HIMMELBLAU)  # warm sympy, as a running server is
    print(f"{'case':58s} {'predicted s':>11s} {'measured s':>10s} {'ratio':>6s}")
    ratios = []
    for label, request, work in cases():
        predicted = budget.cost(request) * budget.SECONDS_PER_UNIT
        measured = _cpu(work)
        ratios.append(measured / predicted)
        print(f"{label:58s} {predicted:11.3f} {measured:10.3f} {measured / predicted:6.2f}")
    print(f"ratio: min {min(ratios):.2f}, median {float(np.median(ratios)):.2f}, "
          f"max {max(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
