"""A tiny multilayer perceptron in NumPy: 2-D toy data, forward pass, backpropagation, training.

The network maps a point ``x`` in the plane to the probability of class 1::

    a_0 = x                                   (2 inputs)
    a_l = act(W_l a_{l-1} + b_l)              (1 or 2 hidden layers, act = tanh or ReLU)
    z   = W_out a_L + b_out                   (one logit)
    p   = sigmoid(z)

and the loss is the mean binary cross-entropy over the n rows, computed from the logit so it
never overflows: ``L = mean(log(1 + exp(z)) - y z)``, whose derivative is ``dL/dz = (p - y) / n``.

All parameters live in ONE flat vector ``theta`` so any losslab optimiser can train them. The
layout is layer by layer: ``W_1`` row-major (row i holds the incoming weights of neuron i), then
``b_1``, then ``W_2``, ``b_2``, ... The forward pass also takes a stack ``(G, P)`` of parameter
vectors and evaluates all G networks at once with batched matrix products; that is how a whole
landscape grid is evaluated in one go.

One piece: the data sets, the forward pass, backpropagation and training share one flat
parameter layout, and the landscape code evaluates that layout in batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from losslab import descent
from losslab.optimizers import Optimizer
from losslab.surfaces import Dataset

Array = np.ndarray
Schedule = Callable[[int], float]

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULT",
    "MAX_DEPTH",
    "MAX_NOISE",
    "MAX_ROWS",
    "MAX_STEPS",
    "MAX_WIDTH",
    "MIN_ROWS",
    "MLP",
    "Training",
    "TrainingConfig",
    "UNDERTRAINED",
    "accuracy",
    "init_params",
    "logits",
    "loss",
    "loss_and_grad",
    "make_dataset",
    "predict_proba",
    "train",
]

MAX_WIDTH = 32
"""The most neurons in one hidden layer; wider requests are capped."""
MAX_DEPTH = 2
"""The most hidden layers."""
MAX_ROWS = 2000
"""The most data rows; larger requests are capped."""
MIN_ROWS = 8
"""The fewest data rows (at least a few of each class)."""
MAX_STEPS = descent.MAX_STEPS
"""The most training steps; larger requests are capped (the same cap as any descent run)."""
MAX_NOISE = 1.0
"""The largest noise level a dataset accepts."""
MAX_PARAM = descent.MAX_PARAM
"""A parameter beyond this magnitude counts as diverged (as in any descent run)."""
_CHUNK_FLOATS = 1 << 20
"""Hidden activations kept at once in a stacked forward pass (about 8 MB of float64)."""
_SERIAL_MACS = 1 << 18
"""Multiply-adds per matrix product, at most (OpenBLAS's one-thread limit, 65536 × 4)."""
_MAX_SNAPSHOTS = 500
"""Training keeps at most this many parameter vectors (evenly spaced, always the last)."""

DATASETS = ("moons", "circles", "xor", "spirals")
ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class TrainingConfig:
    """The settings of one network experiment, as ``landscape.experiment`` takes them.

    ``batch`` is a mini-batch size, or ``None`` for the full data; ``caption`` says in one
    sentence what the configuration shows.
    """

    dataset: str = "moons"
    noise: float = 0.2
    n: int = 200
    hidden: tuple[int, ...] = (8,)
    activation: str = "tanh"
    optimizer: str = "adam"
    learning_rate: float = 0.05
    steps: int = 300
    batch: int | None = None
    seed: int = 0
    caption: str = ""

    def kwargs(self) -> dict[str, object]:
        """The keyword arguments of ``landscape.experiment`` (all fields but ``caption``)."""
        return {
            "dataset": self.dataset, "noise": self.noise, "n": self.n, "hidden": self.hidden,
            "activation": self.activation, "optimizer": self.optimizer,
            "learning_rate": self.learning_rate, "steps": self.steps, "batch": self.batch,
            "seed": self.seed,
        }


DEFAULT = TrainingConfig(
    caption="A 2-8-1 tanh network trained by Adam for 300 steps separates the two moons "
    "(97 % of the points) with a curved boundary, and its weights sit at the bottom of the "
    "landscape around them.",
)
"""What the network view opens on: a network that has learned. On this machine the 300 steps
take about 0.03 s of CPU and the whole experiment (with both landscape planes) about 0.2 s."""
UNDERTRAINED = TrainingConfig(
    optimizer="sgd",
    learning_rate=0.05,
    steps=30,
    caption="Thirty small steps of gradient descent leave the network under-trained: its "
    "boundary is still almost straight (79 % of the points), and lower loss lies nearby in "
    "the landscape.",
)
"""The same network after 30 steps of plain gradient descent: a lesson in under-training."""


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def make_dataset(
    name: str = "moons", *, n: int = 200, noise: float = 0.2, seed: int = 0
) -> Dataset:
    """``n`` labelled points in the plane, half of each class, centred near the origin.

    - ``moons``: two interleaving half circles (as scikit-learn's ``make_moons``).
    - ``circles``: a circle of radius 0.5 inside one of radius 1.
    - ``xor``: uniform points in the square [-1, 1]^2, class 1 where x1 * x2 > 0.
    - ``spirals``: two interleaved arms, r = t / (3 pi) at angle t (+ pi for class 1).

    Gaussian noise of standard deviation ``noise`` (in data units; for spirals, a third of
    it) is added to every coordinate after labelling. ``n`` is capped to [MIN_ROWS, MAX_ROWS];
    the same seed gives the same rows. Returns ``Dataset(x (n, 2), y (n,) in {0, 1},
    "classification")``.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    noise = float(noise)
    if not math.isfinite(noise) or not 0.0 <= noise <= MAX_NOISE:
        raise ValueError(f"Invalid noise level: {noise} (must be in [0, {MAX_NOISE}])")
    n = int(min(max(int(n), MIN_ROWS), MAX_ROWS))
    rng = np.random.default_rng(seed)
    n1 = n // 2
    y = np.r_[np.zeros(n - n1), np.ones(n1)]
    if name == "moons":
        t0, t1 = np.linspace(0, np.pi, n - n1), np.linspace(0, np.pi, n1)
        x = np.r_[np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]]
        x -= (0.5, 0.25)
    elif name == "circles":
        t = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(y == 1, 0.5, 1.0)
        x = radius[:, None] * np.c_[np.cos(t), np.sin(t)]
    elif name == "xor":
        x = rng.uniform(-1, 1, (n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(float)
    else:
        t = 3 * np.pi * np.sqrt(rng.uniform(0.02, 1, n))
        angle = t + np.pi * y
        x = (t / (3 * np.pi))[:, None] * np.c_[np.cos(angle), np.sin(angle)]
        noise /= 3.0
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(n)
    return Dataset(x=x[order], y=y[order], kind="classification")


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLP:
    """Architecture of a 2-input, 1-output perceptron with 1 or 2 hidden layers.

    ``hidden`` gives each hidden layer's width (capped to [1, MAX_WIDTH]); more than MAX_DEPTH
    layers, or none, is a ``ValueError``. ``activation`` is ``"tanh"`` or ``"relu"``.
    """

    hidden: tuple[int, ...] = (8,)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        hidden = (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)
        if not 1 <= len(hidden) <= MAX_DEPTH:
            raise ValueError(
                f"Invalid hidden layers {hidden}: give 1 to {MAX_DEPTH} widths, as (8,) or (16, 16)"
            )
        object.__setattr__(self, "hidden", tuple(min(max(int(w), 1), MAX_WIDTH) for w in hidden))
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )

    @property
    def sizes(self) -> tuple[int, ...]:
        """Units per layer, input to output: ``(2, *hidden, 1)``."""
        return (2, *self.hidden, 1)

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(out, in)`` of each weight matrix, first layer first."""
        s = self.sizes
        return tuple((s[i + 1], s[i]) for i in range(len(s) - 1))

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return sum(o * i + o for o, i in self.shapes)

    @property
    def label(self) -> str:
        """``"2-8-1 tanh"``."""
        return "-".join(map(str, self.sizes)) + f" {self.activation}"

    def layers(self, theta: Array) -> list[tuple[Array, Array]]:
        """Views ``(W (..., out, in), b (..., out))`` into ``theta`` of shape ``(..., P)``."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape[-1] != self.n_params:
            raise ValueError(
                f"{self.label} has {self.n_params} parameters; got a vector of {theta.shape[-1]}"
            )
        lead, out, start = theta.shape[:-1], [], 0
        for o, i in self.shapes:
            w = theta[..., start : start + o * i].reshape(*lead, o, i)
            start += o * i
            out.append((w, theta[..., start : start + o]))
            start += o
        return out

    def filters(self) -> tuple[slice, ...]:
        """Slices of ``theta`` holding each neuron's incoming weights (rows of each ``W``).

        These are the "filters" that Li et al. (2018) normalise; biases are in none of them.
        """
        out, start = [], 0
        for o, i in self.shapes:
            out += [slice(start + r * i, start + (r + 1) * i) for r in range(o)]
            start += o * i + o
        return tuple(out)


def init_params(net: MLP, seed: int = 0) -> Array:
    """Random starting weights: ``W ~ N(0, g^2 / fan_in)``, biases 0.

    ``g = 1`` for tanh (LeCun) and ``g = sqrt(2)`` for ReLU (He), so activations keep a
    similar scale from layer to layer.
    """
    rng = np.random.default_rng(seed)
    gain = 1.0 if net.activation == "tanh" else math.sqrt(2.0)
    parts = []
    for o, i in net.shapes:
        parts += [rng.standard_normal(o * i) * gain / math.sqrt(i), np.zeros(o)]
    return np.concatenate(parts)


def _matmul(a: Array, b: Array) -> Array:
    """``a @ b`` as products of at most ``_SERIAL_MACS`` multiply-adds, each on one thread.

    OpenBLAS splits a larger product over threads. For the many small products here, starting
    threads and waiting for busy cores costs far more than the arithmetic: on this 2-core shared
    machine a training step ran 25× slower threaded. So the rows of ``a`` are taken in blocks
    small enough for one thread (with the caps, every block fits).
    """
    n, k = a.shape[-2:]
    m = b.shape[-1]
    rows = max(1, _SERIAL_MACS // (k * m))
    if n <= rows:
        return np.matmul(a, b)
    return np.concatenate([np.matmul(a[..., r : r + rows, :], b) for r in range(0, n, rows)], -2)


def _act(net: MLP, pre: Array) -> Array:
    return np.tanh(pre) if net.activation == "tanh" else np.maximum(pre, 0.0)


def _stacked_logits(net: MLP, thetas: Array, x: Array) -> Array:
    """Logits ``(G, n)`` of G networks on the same rows, one chunk of G at a time.

    Pre-activations are updated in place: on a landscape grid the element-wise work on these
    ``(chunk, n, width)`` arrays, not the matrix products, is most of the cost.
    """
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    n = len(x)
    chunk = max(1, _CHUNK_FLOATS // (n * max(net.hidden)))
    out = np.empty((len(thetas), n))
    for start in range(0, len(thetas), chunk):
        layers = net.layers(thetas[start : start + chunk])
        a = x
        for w, b in layers[:-1]:
            pre = _matmul(a, np.swapaxes(w, -1, -2))
            pre += b[:, None, :]
            a = np.tanh(pre, out=pre) if net.activation == "tanh" else np.maximum(pre, 0, out=pre)
        w, b = layers[-1]
        out[start : start + chunk] = _matmul(a, np.swapaxes(w, -1, -2))[..., 0] + b
    return out


def _check_data(x: Array, y: Array | None = None) -> tuple[Array, Array | None]:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"x must have shape (n, 2) with n > 0; got {x.shape}")
    if y is None:
        return x, None
    y = np.asarray(y, dtype=float).reshape(-1)
    if y.shape != (len(x),):
        raise ValueError(f"y must have one label per row of x ({len(x)}); got {y.shape}")
    return x, y


def logits(net: MLP, theta: Array, x: Array) -> Array:
    """Logits ``z`` of rows ``x (n, 2)``: shape ``(n,)`` for ``theta (P,)``, ``(G, n)`` for G."""
    x, _ = _check_data(x)
    z = _stacked_logits(net, theta, x)
    return z[0] if np.ndim(theta) == 1 else z


def predict_proba(net: MLP, theta: Array, x: Array) -> Array:
    """``P(class 1 | x) = sigmoid(z)``, shaped like ``logits``."""
    z = logits(net, theta, x)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow warnings


def _bce(z: Array, y: Array) -> Array:
    """Mean over the last axis of ``log(1 + e^z) - y z``, stable for any finite z."""
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)


def loss(net: MLP, theta: Array, x: Array, y: Array) -> Array | float:
    """Mean binary cross-entropy: a float for ``theta (P,)``, shape ``(G,)`` for ``(G, P)``."""
    x, y = _check_data(x, y)
    values = _bce(_stacked_logits(net, theta, x), y)
    return float(values[0]) if np.ndim(theta) == 1 else values


def accuracy(net: MLP, theta: Array, x: Array, y: Array) -> Array | float:
    """Fraction of rows with ``(z > 0) == y``; shaped like ``loss``."""
    x, y = _check_data(x, y)
    values = np.mean((_stacked_logits(net, theta, x) > 0) == (y > 0.5), axis=-1)
    return float(values[0]) if np.ndim(theta) == 1 else values


def _forward_backward(net: MLP, theta: Array, x: Array, y: Array) -> tuple[float, Array, Array]:
    """Loss, its gradient ``(P,)`` and the logits ``(n,)``, by backpropagation."""
    layers = net.layers(theta)
    acts = [x]
    for w, b in layers[:-1]:
        acts.append(_act(net, _matmul(acts[-1], w.T) + b))
    w_out, b_out = layers[-1]
    z = _matmul(acts[-1], w_out.T)[:, 0] + b_out[0]
    # dL/dz for the mean cross-entropy of sigmoid(z): (sigmoid(z) - y) / n.
    delta = ((0.5 * (1.0 + np.tanh(0.5 * z)) - y) / len(y))[:, None]
    grads: list[Array] = []
    for k in range(len(layers) - 1, -1, -1):
        w, _ = layers[k]
        # Going backwards, so each layer's (dW, db) goes in front of the later layers'.
        grads = [_matmul(delta.T, acts[k]).ravel(), delta.sum(axis=0), *grads]
        if k > 0:
            a = acts[k]
            # tanh' = 1 - tanh^2; relu' = 1 where the unit is on (0 at the kink).
            slope = 1.0 - a * a if net.activation == "tanh" else (a > 0.0).astype(float)
            delta = _matmul(delta, w) * slope
    return float(_bce(z, y)), np.concatenate(grads), z


def loss_and_grad(net: MLP, theta: Array, x: Array, y: Array) -> tuple[float, Array]:
    """Mean cross-entropy at ``theta (P,)`` and its gradient ``(P,)`` by backpropagation.

    With ``delta_out = (p - y) / n`` at the logit and, going back one layer,
    ``delta_{l} = (delta_{l+1} W_{l+1}) * act'(pre_l)``: ``dL/dW_l = delta_l^T a_{l-1}`` and
    ``dL/db_l = sum over rows of delta_l``.
    """
    x, y = _check_data(x, y)
    value, grad, _ = _forward_backward(net, np.asarray(theta, dtype=float), x, y)
    return value, grad


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    """One training run. Step 0 is the start; ``len(self.loss) - 1`` updates were kept.

    Attributes:
        loss: full-data loss after each update, shape ``(k,)``.
        accuracy: full-data accuracy after each update, shape ``(k,)``.
        snapshot_steps: the steps whose parameters were kept (at most ``_MAX_SNAPSHOTS``,
            evenly spaced, always including 0 and the last kept step), shape ``(s,)``.
        snapshots: those parameter vectors, shape ``(s, P)``.
        diverged_at: the first update whose result was non-finite, beyond ``MAX_PARAM`` or an
            exploded loss (it is not kept), else ``None``.
        steps_requested: the number of updates asked for, after capping.
    """

    loss: Array
    accuracy: Array
    snapshot_steps: Array
    snapshots: Array
    diverged_at: int | None
    steps_requested: int

    @property
    def initial(self) -> Array:
        return self.snapshots[0]

    @property
    def final(self) -> Array:
        """The last kept parameters."""
        return self.snapshots[-1]


def train(
    net: MLP,
    theta0: Array,
    x: Array,
    y: Array,
    optimizer: Optimizer,
    *,
    steps: int,
    schedule: Schedule | None = None,
    batch: int | None = None,
    seed: int = 0,
) -> Training:
    """Train from ``theta0`` with any losslab optimiser; stop cleanly on divergence.

    Each update is ``step, state = optimizer.update(g, state, theta, learning_rate=lr)``,
    ``theta <- theta + step``, with ``lr = optimizer.learning_rate * schedule(t)`` at update
    t = 0, 1, ... ``g`` is the full-data gradient, or with ``batch`` the gradient on ``batch``
    rows drawn without replacement by a generator seeded with ``seed``. The recorded loss and
    accuracy are always on all rows. The rules are those of ``descent.run``: ``steps`` is
    capped at MAX_STEPS, a step is kept only if ``descent.healthy`` (else ``diverged_at``), and
    a negative or non-finite schedule factor is a ``ValueError``. (The loop is its own because
    a network keeps at most ``_MAX_SNAPSHOTS`` parameter vectors and the accuracy of each
    step, not every iterate and gradient.)
    """
    if optimizer.needs_hessian:
        raise ValueError(f"{optimizer.name} needs a Hessian, which the network does not provide")
    x, y = _check_data(x, y)
    steps = descent.capped_steps(steps)
    n = len(x)
    batch = None if batch is None else int(min(max(int(batch), 1), n))
    rng = np.random.default_rng(seed)
    theta = np.asarray(theta0, dtype=float).copy()
    value, grad, z = _forward_backward(net, theta, x, y)
    if not descent.healthy(theta, value, grad, np.inf):
        raise ValueError("the starting weights give a non-finite loss")
    limit = descent.loss_limit(value)
    stride = max(1, math.ceil(steps / (_MAX_SNAPSHOTS - 1)))
    losses, accs = [value], [float(np.mean((z > 0) == (y > 0.5)))]
    snap_steps, snaps = [0], [theta]
    state = optimizer.init(theta)
    diverged_at = None
    with np.errstate(all="ignore"):
        for t in range(steps):
            lr = optimizer.learning_rate * descent.rate_factor(schedule, t)
            used = grad
            if batch is not None and batch < n:
                rows = rng.choice(n, size=batch, replace=False)
                used = _forward_backward(net, theta, x[rows], y[rows])[1]
            step, state = optimizer.update(used, state, theta, learning_rate=lr)
            nxt = theta + step
            if np.all(np.isfinite(nxt)):
                value, grad, z = _forward_backward(net, nxt, x, y)
            else:
                value, grad = math.nan, nxt
            if not descent.healthy(nxt, value, grad, limit):
                diverged_at = t + 1
                break
            theta = nxt
            losses.append(value)
            accs.append(float(np.mean((z > 0) == (y > 0.5))))
            if (t + 1) % stride == 0:
                snap_steps.append(t + 1)
                snaps.append(theta)
    last = len(losses) - 1
    if snap_steps[-1] != last:
        snap_steps.append(last)
        snaps.append(theta)
    return Training(
        loss=np.array(losses),
        accuracy=np.array(accs),
        snapshot_steps=np.array(snap_steps),
        snapshots=np.array(snaps),
        diverged_at=diverged_at,
        steps_requested=steps,
    )
