"""Small pieces shared by the 2-D surface builders: stacking derivatives and formatting numbers."""

from __future__ import annotations

import numpy as np

from losslab.surfaces._base import Array

__all__ = ["AXES_W1_W2", "fmt", "stack_grad", "stack_hessian"]

AXES_W1_W2 = ("w1", "w2")


def stack_grad(p: Array, g1: Array | float, g2: Array | float) -> Array:
    """The gradient ``(2, ...)`` from its two components, each broadcast to ``p.shape[1:]``."""
    if p.ndim == 1:  # one point, the hot path of every run: no broadcasting machinery
        return np.array([float(g1), float(g2)])
    out = np.empty((2, *p.shape[1:]))  # assignment broadcasts, without np.stack's overhead
    out[0] = g1
    out[1] = g2
    return out


def stack_hessian(p: Array, h11: Array | float, h12: Array | float, h22: Array | float) -> Array:
    """The symmetric Hessian ``(2, 2, ...)`` from its three distinct entries."""
    out = np.empty((2, 2, *p.shape[1:]))  # assignment broadcasts, as in ``stack_grad``
    out[0, 0] = h11
    out[0, 1] = h12
    out[1, 0] = h12
    out[1, 1] = h22
    return out


def fmt(value: float) -> str:
    """A setting as it should read inside a formula: ``100``, ``0.5``, ``1e-05``."""
    return f"{value:g}"
