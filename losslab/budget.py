"""A work budget per request: estimate the cost before computing, and scale down what is over.

A public page must stay quick for everyone sharing the server, whatever a link or a paste asks
for. Each request is described by plain numbers (a ``SurfaceRequest`` or a ``NetworkRequest``,
independent of the app's settings), its cost is estimated in work units by counting what the
computation does — grid cells × data rows, runs × steps × rows, network multiply-adds × rows ×
steps — and ``fit_surface`` / ``fit_network`` return the request scaled down to ``BUDGET`` with
one sentence per change, or refused with a sentence saying what to change.

``SECONDS_PER_UNIT``: one work unit is about 10 ns of CPU on the reference machine (a shared
2-core server), so ``BUDGET`` = 2e8 units ≈ 2 s. The weights in ``COSTS`` were measured there with
``benchmarks/budget_calibration.py``, which prints measured CPU over predicted for each kind
of work; rerun it on a new machine and adjust ``COSTS`` if the ratios leave roughly 0.5–2.

>>> request = SurfaceRequest(resolution=400, rows=2000, loss="logistic", runs=8, steps=5000,
...                          batch=1999)
>>> fitted = fit_surface(request)
>>> fitted.request.resolution < 400 and cost(fitted.request) <= BUDGET
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

__all__ = [
    "BUDGET",
    "COSTS",
    "DATA_LOSSES",
    "MIN_GRID",
    "MIN_NETWORK_STEPS",
    "MIN_RESOLUTION",
    "MIN_STEPS",
    "Fitted",
    "NetworkRequest",
    "SECONDS_PER_UNIT",
    "SurfaceRequest",
    "cost",
    "fit_network",
    "fit_surface",
]

SECONDS_PER_UNIT = 1e-8
"""CPU seconds of one work unit on the reference machine."""
BUDGET = 2e8
"""Work units one request may cost (≈ 2 s of CPU on the reference machine)."""
MIN_RESOLUTION = 20
"""The coarsest surface map the budget lowers to."""
MIN_STEPS = 50
"""The fewest steps per optimiser the budget lowers to."""
MIN_NETWORK_STEPS = 50
"""The fewest training steps the budget lowers a network to."""
MIN_GRID = 5
"""The coarsest landscape grid (points per axis) the budget lowers to."""

DATA_LOSSES = ("none", "mse", "mae", "huber", "logistic")
"""``"none"``: a surface without data rows; the others: the loss over the rows."""

COSTS: Mapping[str, float] = MappingProxyType({
    # building the surface and drawing the page, whatever was asked
    "request": 1e6,
    # preparing a typed formula (sympy and lambdify; the app caches it)
    "formula": 2e6,
    # one cell of a surface map, whatever the surface (NumPy on a meshgrid)
    "cell": 0.05,
    # one cell × one node of a typed formula's tree
    "cell_node": 0.02,
    # one optimiser step: the update, the loss and the gradient at the new point (Python)
    "step": 9_000.0,
    # one step × one node of a typed formula (its loss and gradient are evaluated per step)
    "step_node": 100.0,
    # one data row when a surface is built (minimisers are fitted then)
    "build_row": 5.0,
    # per row: the loss of one map cell, and one step's loss and gradient (mse: none, it is
    # evaluated from sufficient statistics)
    "cell_row_mse": 0.0, "step_row_mse": 0.0,
    "cell_row_mae": 0.55, "step_row_mae": 1.0,
    "cell_row_huber": 2.5, "step_row_huber": 2.5,
    "cell_row_logistic": 3.5, "step_row_logistic": 10.0,
    # network: one multiply-add-equivalent (see ``NetworkRequest.row_work``) × row, in a
    # training step (forward and backward) and in a landscape point (forward only, stacked)
    "train_work": 0.042,
    "plane_work": 0.008,
    # network: making the data, the decision map and the charts' rows
    "network_fixed": 1.5e7,
})  # fmt: skip
"""Work units per counted operation, measured by ``benchmarks/budget_calibration.py``."""

_WHY = "so the page stays quick for everyone on this server"
_INTERPOLATION_POINTS = 81  # landscape.N_ALPHAS: the line from the start to the end weights
_PLANES = 2  # a random plane and a PCA plane


@dataclass(frozen=True)
class SurfaceRequest:
    """What a surface page computes, as plain numbers.

    Attributes:
        resolution: map points per axis (0: no map).
        dim: parameters of the surface (1: the map is a curve of ``resolution`` points).
        rows: data rows behind the surface (0 for a surface without data).
        loss: the loss over the rows, one of ``DATA_LOSSES``.
        formula_nodes: the size of a typed formula's tree (0: not a typed formula).
        runs: optimiser runs (one per optimiser shown).
        steps: steps per run.
        batch: mini-batch rows per step (0: full batch).
    """

    resolution: int = 0
    dim: int = 2
    rows: int = 0
    loss: str = "none"
    formula_nodes: int = 0
    runs: int = 1
    steps: int = 0
    batch: int = 0

    def __post_init__(self) -> None:
        if self.loss not in DATA_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of: {', '.join(DATA_LOSSES)}")
        for name in ("resolution", "dim", "rows", "formula_nodes", "runs", "steps", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0; got {value!r}")

    @property
    def cells(self) -> int:
        return self.resolution**self.dim

    def map_cost(self) -> float:
        per_cell = COSTS["cell"] + COSTS["cell_node"] * self.formula_nodes
        if self.loss != "none":
            per_cell += COSTS[f"cell_row_{self.loss}"] * self.rows
        return self.cells * per_cell

    def step_cost(self) -> float:
        """One step of one run: the update, plus the loss and gradient on every row (and the
        mini-batch gradient on ``batch`` rows)."""
        per_step = COSTS["step"] + COSTS["step_node"] * self.formula_nodes
        if self.loss != "none":
            per_step += COSTS[f"step_row_{self.loss}"] * (self.rows + min(self.batch, self.rows))
        return per_step

    def runs_cost(self) -> float:
        return self.runs * self.steps * self.step_cost()

    def build_cost(self) -> float:
        formula = COSTS["formula"] if self.formula_nodes else 0.0
        return COSTS["request"] + formula + COSTS["build_row"] * self.rows


@dataclass(frozen=True)
class NetworkRequest:
    """What the network page computes, as plain numbers.

    Attributes:
        hidden: the hidden layers' widths, input 2 and output 1 (as ``losslab.nn.MLP``).
        rows: data rows.
        steps: training steps.
        batch: mini-batch rows per step (0: full batch).
        grid: landscape points per axis of each of the two planes.
    """

    hidden: tuple[int, ...] = (8,)
    rows: int = 200
    steps: int = 300
    batch: int = 0
    grid: int = 41

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for name in ("rows", "steps", "batch", "grid"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0; got {value!r}")
        if not all(isinstance(w, int) and w > 0 for w in self.hidden):
            raise ValueError(f"hidden widths must be whole numbers > 0; got {self.hidden!r}")

    @property
    def row_work(self) -> float:
        """Multiply-add equivalents of one forward pass on one row: the weight matrices plus
        about 64 per hidden unit for its bias and activation (as ``landscape.affordable_grid``)."""
        widths = (2, *self.hidden, 1)
        macs = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        return macs + 64 * sum(self.hidden)

    def training_cost(self) -> float:
        rows_per_step = self.rows + (min(self.batch, self.rows) if self.batch else 0)
        return COSTS["train_work"] * self.steps * rows_per_step * self.row_work

    def landscape_cost(self) -> float:
        points = _PLANES * self.grid**2 + _INTERPOLATION_POINTS
        return COSTS["plane_work"] * points * self.rows * self.row_work


def cost(request: SurfaceRequest | NetworkRequest) -> float:
    """The estimated work units of ``request``."""
    if isinstance(request, NetworkRequest):
        return COSTS["network_fixed"] + request.training_cost() + request.landscape_cost()
    return request.build_cost() + request.map_cost() + request.runs_cost()


@dataclass(frozen=True)
class Fitted:
    """A request within the budget, and what was changed to get it there.

    Attributes:
        request: the request to compute (the one given, if it was within the budget).
        notes: one sentence per change, for the learner.
        refused: a sentence saying why nothing may be computed, or ``None``. When it is set,
            ``request`` is the smallest one tried and is still over the budget.
        units: the estimated cost of ``request``, in work units.
    """

    request: SurfaceRequest | NetworkRequest
    notes: tuple[str, ...]
    refused: str | None
    units: float


def _lowered(what: str, before: int, after: int) -> str:
    return f"{what} lowered from {before:,} to {after:,} {_WHY}."


def fit_surface(request: SurfaceRequest, budget: float = BUDGET) -> Fitted:
    """``request`` scaled down to ``budget``: first the map's resolution (to at least
    ``MIN_RESOLUTION``, leaving the runs at least half the budget when they need it), then the
    steps per run (to at least ``MIN_STEPS``); refused in words if that is not enough.
    """
    notes = []
    fitted = request
    if cost(fitted) > budget and fitted.resolution > MIN_RESOLUTION:
        runs_need = fitted.build_cost() + fitted.runs_cost()
        map_share = max(budget - runs_need, budget / 2)
        per_cell = fitted.map_cost() / max(fitted.cells, 1)
        fits = int(math.floor((map_share / per_cell) ** (1.0 / fitted.dim))) if per_cell else 0
        resolution = max(min(fitted.resolution, fits), MIN_RESOLUTION)
        if resolution < fitted.resolution:
            notes.append(_lowered("Resolution", fitted.resolution, resolution))
            fitted = replace(fitted, resolution=resolution)
    if cost(fitted) > budget and fitted.steps > MIN_STEPS and fitted.runs:
        left = budget - fitted.build_cost() - fitted.map_cost()
        fits = int(left // (fitted.runs * fitted.step_cost())) if left > 0 else 0
        steps = max(min(fitted.steps, fits), MIN_STEPS)
        if steps < fitted.steps:
            notes.append(_lowered("Steps per optimiser", fitted.steps, steps))
            fitted = replace(fitted, steps=steps)
    refused = None
    if cost(fitted) > budget:
        refused = (
            "This asks for more work than one page may take on this shared server, even at "
            f"resolution "
            f"{fitted.resolution:,} and {fitted.steps:,} steps: choose fewer optimisers, fewer "
            "data rows or a smaller batch."
        )
    return Fitted(fitted, tuple(notes), refused, cost(fitted))


def fit_network(request: NetworkRequest, budget: float = BUDGET) -> Fitted:
    """``request`` scaled down to ``budget``: first the landscape grid (to at least
    ``MIN_GRID``, leaving training at least half the budget when it needs it), then the
    training steps (to at least ``MIN_NETWORK_STEPS``); refused in words if that is not enough.
    """
    notes = []
    fitted = request
    if cost(fitted) > budget and fitted.grid > MIN_GRID:
        share = max(budget - COSTS["network_fixed"] - fitted.training_cost(), budget / 2)
        per_point = COSTS["plane_work"] * fitted.rows * fitted.row_work
        points = share / per_point - _INTERPOLATION_POINTS
        fits = math.isqrt(int(points / _PLANES)) if points > 0 else 0
        grid = max(min(fitted.grid, fits - (fits % 2 == 0)), MIN_GRID)  # odd, as landscape's
        if grid < fitted.grid:
            notes.append(_lowered("Landscape grid", fitted.grid, grid))
            fitted = replace(fitted, grid=grid)
    if cost(fitted) > budget and fitted.steps > MIN_NETWORK_STEPS:
        left = budget - COSTS["network_fixed"] - fitted.landscape_cost()
        per_step = fitted.training_cost() / fitted.steps
        steps = max(min(fitted.steps, int(left // per_step) if left > 0 else 0), MIN_NETWORK_STEPS)
        if steps < fitted.steps:
            notes.append(_lowered("Training steps", fitted.steps, steps))
            fitted = replace(fitted, steps=steps)
    refused = None
    if cost(fitted) > budget:
        refused = (
            "This network asks for more work than one page may take on this shared server, "
            "even with "
            f"{fitted.steps:,} steps and a {fitted.grid}×{fitted.grid} landscape: choose fewer "
            "or narrower hidden layers, fewer rows or a smaller batch."
        )
    return Fitted(fitted, tuple(notes), refused, cost(fitted))
