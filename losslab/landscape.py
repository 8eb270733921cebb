"""Loss landscapes of a trained network: lines and planes through weight space.

Three views, each a low-dimensional slice of a loss that lives in P dimensions:

- 1-D interpolation (Goodfellow et al. 2015): ``L(theta_0 + alpha (theta_1 - theta_0))`` from
  the initial weights (alpha = 0) to the trained weights (alpha = 1), alpha in [-0.5, 1.5].
- 2-D random plane (Li et al. 2018): ``L(theta* + a d1 + b d2)`` for two random Gaussian
  directions, each *filter-normalised*: every neuron's block of incoming weights in ``d`` is
  rescaled to the norm of the same block of ``theta*``, so a step of 1 means "as large as the
  weights themselves" in every layer. Bias entries of ``d`` are set to zero, as Li et al. do by
  default (``ignore='biasbn'``).
- 2-D PCA plane (Li et al. 2018, section 7): directions are the top two principal components of
  the trajectory differences ``theta_i - theta*``; the trajectory is drawn on that plane, with the
  share of the variance the two components explain.

``experiment`` runs the whole thing from simple, hashable settings and returns everything the
charts draw. The network and its training are in ``losslab.nn``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from losslab import nn, optimizers
from losslab.optimizers import Optimizer
from losslab.surfaces import Dataset

Array = np.ndarray
LossMany = Callable[[Array], Array]
"""Loss of a stack of parameter vectors ``(G, P) -> (G,)``."""

__all__ = [
    "ALPHA_RANGE",
    "DEFAULT_GRID",
    "MAX_GRID",
    "ACTIVATION_WORK",
    "MAX_PLANE_WORK",
    "OPTIMIZER_NAMES",
    "DecisionMap",
    "Experiment",
    "Interpolation",
    "PCA",
    "Plane",
    "affordable_grid",
    "caution",
    "experiment",
    "filter_normalized_direction",
    "interpolate",
    "make_optimizer",
    "pca_directions",
    "plane_loss",
    "random_plane",
    "pca_plane",
]

MAX_GRID = 81
"""The most grid points per side of a landscape; larger requests are capped."""
MIN_GRID = 5
DEFAULT_GRID = 41
ALPHA_RANGE = (-0.5, 1.5)
N_ALPHAS = 81
RANDOM_EXTENT = 1.0
"""The random plane spans [-1, 1] along each filter-normalised direction, as in Li et al."""
DECISION_RESOLUTION = 96
"""Pixels per side of the decision-boundary raster."""
OPTIMIZER_NAMES = tuple(name for name in optimizers.OPTIMIZERS if name != "newton")
"""The registry optimisers a network can be trained with (all but Newton)."""
MAX_PLANE_WORK = 2e10
"""Work one plane may cost, in multiply-adds (about 1.5 s here); bigger cases get a coarser grid."""
ACTIVATION_WORK = 64
"""Element-wise work per hidden unit and row, in multiply-adds (measured: tanh dominates)."""
_STACK_FLOATS = 1 << 19
"""Parameter vectors stacked at once when evaluating a plane (about 4 MB of float64)."""


def caution(n_params: int) -> str:
    """The plain-words warning every landscape picture carries."""
    return (
        f"This picture is a 2-D slice through a loss that depends on {n_params} weights: it is a "
        "projection. Hills, valleys and the path can look different, or vanish, in the "
        f"{max(n_params - 2, 0)} directions it leaves out."
    )


# --------------------------------------------------------------------------------------------
# Directions
# --------------------------------------------------------------------------------------------


def filter_normalized_direction(
    theta: Array, filters: Sequence[slice], rng: np.random.Generator
) -> Array:
    """A Gaussian direction with each filter block rescaled to the norm of ``theta``'s block.

    ``d_f <- d_f * ||theta_f|| / ||d_f||`` for every slice f in ``filters`` (for an MLP: the
    incoming weights of one neuron); entries in no filter (the biases) are 0.
    """
    theta = np.asarray(theta, dtype=float)
    raw = rng.standard_normal(theta.shape)
    d = np.zeros_like(theta)
    for f in filters:
        norm = np.linalg.norm(raw[f])
        if norm > 0:
            d[f] = raw[f] * (np.linalg.norm(theta[f]) / norm)
    return d


@dataclass(frozen=True)
class PCA:
    """Top two principal directions of a trajectory and where each point lies on them.

    Attributes:
        directions: unit vectors, shape ``(2, P)``.
        explained_variance_ratio: share of the (centred) variance of ``theta_i - theta*`` along
            each direction, in [0, 1], summing to at most 1.
        coords: ``(theta_i - theta*) . d_k`` for every point, shape ``(s, 2)``; the last point
            (``theta*`` itself) is the origin.
    """

    directions: Array
    explained_variance_ratio: Array
    coords: Array


def _orthonormal_fill(directions: list[Array], dim: int, rng: np.random.Generator) -> list[Array]:
    """Complete ``directions`` to two orthonormal vectors with random ones (Gram-Schmidt)."""
    out = list(directions)
    while len(out) < 2:
        v = rng.standard_normal(dim)
        for u in out:
            v -= (v @ u) * u
        out.append(v / np.linalg.norm(v))
    return out


def pca_directions(trajectory: Array, *, seed: int = 0) -> PCA:
    """PCA of ``M = [theta_0 - theta*; ...; theta_{s-2} - theta*]``, ``theta* = trajectory[-1]``.

    As Li et al. (2018, section 7) with scikit-learn's ``PCA``: M is centred, the directions are
    its top two right singular vectors, and the ratio is ``sigma_k^2 / sum sigma^2``. Each
    direction's sign is chosen so the start has a coordinate >= 0. When the trajectory spans
    fewer than two directions (too few steps), the missing ones are random unit vectors
    orthogonal to the rest, with ratio 0.
    """
    trajectory = np.atleast_2d(np.asarray(trajectory, dtype=float))
    final = trajectory[-1]
    diffs = trajectory - final
    m = diffs[:-1]
    found: list[Array] = []
    ratio = np.zeros(2)
    if len(m) >= 2:
        centred = m - m.mean(axis=0)
        _, sigma, vt = np.linalg.svd(centred, full_matrices=False)
        total = float(np.sum(sigma**2))
        scale = max(float(sigma[0]), 1.0) if len(sigma) else 1.0
        for k in range(min(2, len(sigma))):
            if sigma[k] > 1e-12 * scale and total > 0:
                found.append(vt[k])
                ratio[k] = sigma[k] ** 2 / total
    directions = np.array(
        _orthonormal_fill(found, trajectory.shape[1], np.random.default_rng(seed))
    )
    signs = np.where(diffs[0] @ directions.T < 0, -1.0, 1.0)
    directions *= signs[:, None]
    return PCA(directions=directions, explained_variance_ratio=ratio, coords=diffs @ directions.T)


# --------------------------------------------------------------------------------------------
# Evaluating lines and planes
# --------------------------------------------------------------------------------------------


def interpolate(loss_many: LossMany, start: Array, end: Array, alphas: Array) -> Array:
    """``L(start + alpha (end - start))`` for each alpha; shape ``(len(alphas),)``."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    alphas = np.asarray(alphas, dtype=float).reshape(-1)
    return np.asarray(loss_many(start + alphas[:, None] * (end - start)), dtype=float)


def plane_loss(loss_many: LossMany, center: Array, directions: Array, a: Array, b: Array) -> Array:
    """``L(center + a_j d1 + b_i d2)`` on the grid; shape ``(len(b), len(a))``, row i is ``b_i``.

    Rows of the grid are stacked a few at a time so memory stays bounded for any grid.
    """
    center = np.asarray(center, dtype=float)
    d1, d2 = np.asarray(directions, dtype=float)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = np.empty((len(b), len(a)))
    rows = max(1, _STACK_FLOATS // (len(a) * center.size))
    along_a = center + a[:, None] * d1
    for i in range(0, len(b), rows):
        stack = along_a[None, :, :] + b[i : i + rows, None, None] * d2
        out[i : i + rows] = np.asarray(loss_many(stack.reshape(-1, center.size))).reshape(
            -1, len(a)
        )
    return out


@dataclass(frozen=True)
class Plane:
    """Loss on ``theta* + a d1 + b d2``.

    Attributes:
        kind: ``"random"`` (filter-normalised) or ``"pca"``.
        a, b: grid coordinates along ``d1`` and ``d2``, shapes ``(A,)`` and ``(B,)``.
        loss: shape ``(B, A)``; row i is ``b[i]``.
        directions: ``(2, P)``.
        explained_variance_ratio: PCA planes only, shape ``(2,)``.
        path: PCA planes only: the trajectory's coordinates ``(s, 2)``, the steps they were
            taken at ``path_steps (s,)`` and the true (full-dimensional) loss there ``path_loss``.
    """

    kind: str
    a: Array
    b: Array
    loss: Array
    directions: Array
    explained_variance_ratio: Array | None = None
    path: Array | None = None
    path_steps: Array | None = None
    path_loss: Array | None = None


def _grid_size(grid: int) -> int:
    """Cap to [MIN_GRID, MAX_GRID] and make it odd, so 0 is a grid point of a symmetric axis."""
    g = int(min(max(int(grid), MIN_GRID), MAX_GRID))
    return g if g % 2 else g + 1  # MAX_GRID is odd, so g + 1 stays within it


def affordable_grid(net: nn.MLP, n_rows: int, grid: int) -> int:
    """``grid`` capped and made odd, then lowered until a plane costs at most MAX_PLANE_WORK.

    One network evaluation on ``n_rows`` rows costs ``n_rows * (sum(out * in) + k * units)``:
    the multiply-adds of the weight matrices plus the element-wise work on each hidden unit
    (bias, activation), which costs about ``k = ACTIVATION_WORK`` multiply-adds. A plane makes
    ``grid**2`` evaluations.
    """
    units = sum(net.hidden)
    per_point = max(int(n_rows), 1) * (sum(o * i for o, i in net.shapes) + ACTIVATION_WORK * units)
    fits = int(math.isqrt(int(MAX_PLANE_WORK // per_point)))
    g = min(_grid_size(grid), max(fits, MIN_GRID))
    return g if g % 2 else g - 1


def random_plane(
    loss_many: LossMany,
    center: Array,
    filters: Sequence[slice],
    *,
    grid: int = DEFAULT_GRID,
    seed: int = 0,
    extent: float = RANDOM_EXTENT,
) -> Plane:
    """Loss on the plane through ``center`` spanned by two filter-normalised random directions.

    Both axes run over ``[-extent, extent]`` with ``grid`` points (capped, made odd), so the
    middle grid point is ``center`` itself.
    """
    rng = np.random.default_rng(seed)
    directions = np.array([filter_normalized_direction(center, filters, rng) for _ in range(2)])
    axis = np.linspace(-extent, extent, _grid_size(grid))
    return Plane(
        "random", axis, axis, plane_loss(loss_many, center, directions, axis, axis), directions
    )


def pca_plane(
    loss_many: LossMany,
    trajectory: Array,
    steps: Array,
    path_loss: Array,
    *,
    grid: int = DEFAULT_GRID,
    seed: int = 0,
) -> Plane:
    """Loss on the PCA plane through the last point of ``trajectory``, with the path on it.

    Each axis spans the path's range padded by a quarter of the larger of the two ranges
    (or [-1, 1] when the path does not move).
    """
    pca = pca_directions(trajectory, seed=seed)
    lo, hi = pca.coords.min(axis=0), pca.coords.max(axis=0)
    span = float(np.max(hi - lo))
    pad = 0.25 * span if span > 0 else 1.0
    n = _grid_size(grid)
    a = np.linspace(lo[0] - pad, hi[0] + pad, n)
    b = np.linspace(lo[1] - pad, hi[1] + pad, n)
    return Plane(
        kind="pca",
        a=a,
        b=b,
        loss=plane_loss(loss_many, trajectory[-1], pca.directions, a, b),
        directions=pca.directions,
        explained_variance_ratio=pca.explained_variance_ratio,
        path=pca.coords,
        path_steps=np.asarray(steps),
        path_loss=np.asarray(path_loss, dtype=float),
    )


# --------------------------------------------------------------------------------------------
# The whole experiment
# --------------------------------------------------------------------------------------------


def make_optimizer(name: str, learning_rate: float) -> Optimizer:
    """``optimizers.make(name, learning_rate=...)``: a registry optimiser, other settings default.

    Newton is left out: it needs the Hessian of the loss, which the network does not provide.
    """
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    return optimizers.make(name, learning_rate=learning_rate)


@dataclass(frozen=True)
class DecisionMap:
    """``P(class 1)`` on a raster over the data: ``proba[i, j]`` at ``(x[j], y[i])``."""

    x: Array
    y: Array
    proba: Array


@dataclass(frozen=True)
class Interpolation:
    """Loss along ``theta_0 + alpha (theta* - theta_0)``."""

    alpha: Array
    loss: Array


@dataclass(frozen=True)
class Experiment:
    """Everything the network-landscape charts draw, from one set of settings.

    ``settings`` are the arguments after capping; ``message`` says in plain words how training
    went (including divergence); ``caution`` is the projection warning.
    """

    settings: Mapping[str, object]
    net: nn.MLP
    data: Dataset
    optimizer_name: str
    training: nn.Training
    decision: DecisionMap
    interpolation: Interpolation
    random_plane: Plane
    pca_plane: Plane
    message: str
    caution: str


def _decision_map(net: nn.MLP, theta: Array, x: Array) -> DecisionMap:
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-3)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], DECISION_RESOLUTION)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], DECISION_RESOLUTION)
    xx, yy = np.meshgrid(gx, gy)
    proba = nn.predict_proba(net, theta, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    return DecisionMap(gx, gy, proba)


def _message(training: nn.Training) -> str:
    last = len(training.loss) - 1
    summary = (
        f"loss {training.loss[0]:.3f} → {training.loss[-1]:.3f}, "
        f"accuracy {training.accuracy[-1]:.0%}"
    )
    if training.diverged_at is not None:
        return (
            f"Training diverged at step {training.diverged_at} (the weights blew up; try a "
            f"smaller learning rate). The charts show the last finite weights, step {last}: "
            + summary
            + "."
        )
    return f"Trained for {last} steps: {summary}."


def experiment(
    dataset: str = nn.DEFAULT.dataset,
    noise: float = nn.DEFAULT.noise,
    n: int = nn.DEFAULT.n,
    hidden: int | tuple[int, ...] = nn.DEFAULT.hidden,
    activation: str = nn.DEFAULT.activation,
    optimizer: str = nn.DEFAULT.optimizer,
    learning_rate: float = nn.DEFAULT.learning_rate,
    steps: int = nn.DEFAULT.steps,
    batch: int | None = nn.DEFAULT.batch,
    seed: int = nn.DEFAULT.seed,
    grid: int = DEFAULT_GRID,
    schedule: Callable[[int], float] | None = None,
) -> Experiment:
    """Generate data, train the network, and compute every landscape view.

    The defaults are ``nn.DEFAULT``: a network that has learned. ``experiment(**config.kwargs())``
    runs any ``nn.TrainingConfig`` (``nn.UNDERTRAINED`` for the 30-step lesson).

    A pure function of its arguments (the same seed gives the same result), so a caller may
    cache it by them. ``seed`` seeds, independently, the data, the initial weights, the
    mini-batches and the random directions. Sizes are capped as in ``losslab.nn``; ``grid`` is
    capped to [5, MAX_GRID], made odd, and lowered for large networks by ``affordable_grid``
    (``settings["grid"]`` is the grid used).
    """
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(4)]
    data = nn.make_dataset(dataset, n=n, noise=noise, seed=seeds[0])
    net = nn.MLP(hidden=hidden, activation=activation)
    opt = make_optimizer(optimizer, learning_rate)
    theta0 = nn.init_params(net, seeds[1])
    training = nn.train(
        net,
        theta0,
        data.x,
        data.y,
        opt,
        steps=steps,
        schedule=schedule,
        batch=batch,
        seed=seeds[2],
    )
    final = training.final
    size = affordable_grid(net, len(data.y), grid)

    def loss_many(thetas: Array) -> Array:
        return nn.loss(net, thetas, data.x, data.y)

    alphas = np.linspace(*ALPHA_RANGE, N_ALPHAS)
    settings = {
        "dataset": dataset,
        "noise": float(noise),
        "n": len(data.y),
        "hidden": net.hidden,
        "activation": activation,
        "optimizer": optimizer,
        "learning_rate": float(learning_rate),
        "steps": training.steps_requested,
        "batch": None if batch is None else min(max(int(batch), 1), len(data.y)),
        "seed": int(seed),
        "grid": size,
    }
    return Experiment(
        settings=settings,
        net=net,
        data=data,
        optimizer_name=opt.name,
        training=training,
        decision=_decision_map(net, final, data.x),
        interpolation=Interpolation(alphas, interpolate(loss_many, theta0, final, alphas)),
        random_plane=random_plane(loss_many, final, net.filters(), grid=size, seed=seeds[3]),
        pca_plane=pca_plane(
            loss_many,
            training.snapshots,
            training.snapshot_steps,
            training.loss[training.snapshot_steps],
            grid=size,
            seed=seeds[3],
        ),
        message=_message(training)
        + (
            f" The landscapes use a {size}×{size} grid to keep the cost bounded."
            if size < _grid_size(grid)
            else ""
        ),
        caution=caution(net.n_params),
    )
