"""The opening of a surface: the runs that show, on first sight, what the surface teaches.

A surface's ``teaches`` sentence makes a promise ("gradient descent crawls along the floor while
momentum moves faster"); its ``opening`` is the experiment that keeps it: which optimisers, at
which learning rates, from where and for how many steps. Openings are plain data (frozen, made
of tuples) so the app can turn one into settings, a test can run it, and a lesson can cite it.

>>> from losslab import surfaces
>>> o = surfaces.SURFACES["rosenbrock"].opening
>>> o.optimizers, o.steps
(('sgd', 'momentum', 'adam', 'newton'), 500)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Opening", "Run", "round_rate", "same_start"]


@dataclass(frozen=True)
class Run:
    """One optimiser run of an opening.

    Attributes:
        optimizer: a name of ``losslab.optimizers.OPTIMIZERS``; its other settings keep their
            ``HYPERPARAMS`` defaults.
        learning_rate: the base learning rate.
        start: where this run starts, one coordinate per parameter.
    """

    optimizer: str
    learning_rate: float
    start: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "learning_rate", float(self.learning_rate))
        object.__setattr__(self, "start", tuple(float(c) for c in self.start))


@dataclass(frozen=True)
class Opening:
    """What a surface opens on: its runs side by side, each taking ``steps`` steps.

    Attributes:
        runs: the runs, in the order they are listed (and coloured).
        steps: how many steps every run takes.
        caption: one sentence on what to look for in this picture.
    """

    runs: tuple[Run, ...]
    steps: int
    caption: str

    def __post_init__(self) -> None:
        runs = tuple(self.runs)
        if not runs:
            raise ValueError("an opening needs at least one run")
        if len({len(r.start) for r in runs}) != 1:
            raise ValueError("every run of an opening must start in the same dimension")
        if int(self.steps) < 1:
            raise ValueError(f"an opening takes at least one step; got {self.steps}")
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "steps", int(self.steps))

    @property
    def optimizers(self) -> tuple[str, ...]:
        """The optimiser of each run (the settings' ``optimizers``)."""
        return tuple(r.optimizer for r in self.runs)

    @property
    def learning_rates(self) -> tuple[float, ...]:
        """The learning rate of each run (the settings' ``learning_rates``, one per run)."""
        return tuple(r.learning_rate for r in self.runs)

    @property
    def starts(self) -> tuple[tuple[float, ...], ...]:
        """The start of each run."""
        return tuple(r.start for r in self.runs)

    @property
    def start(self) -> tuple[float, ...] | None:
        """The start every run shares, or ``None`` when the runs start in different places."""
        first = self.runs[0].start
        return first if all(r.start == first for r in self.runs) else None


def same_start(
    start: tuple[float, ...], steps: int, caption: str, *runs: tuple[str, float]
) -> Opening:
    """An opening whose ``(optimizer, learning_rate)`` runs all start at ``start``."""
    return Opening(tuple(Run(name, lr, start) for name, lr in runs), steps, caption)


def round_rate(limit: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``limit`` (> 0): a rate a learner can read."""
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"a learning rate limit must be a positive number; got {limit}")
    power = 10.0 ** math.floor(math.log10(limit))
    mantissa = max(m for m in (1.0, 2.0, 5.0, 10.0) if m * power <= limit * (1 + 1e-12))
    return float(f"{mantissa * power:.1g}")
