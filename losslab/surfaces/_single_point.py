"""The course chapter's one-weight lesson: L(w) = (w·x − y_true)²."""

from __future__ import annotations

import numpy as np

from losslab.surfaces._base import Array, Surface
from losslab.surfaces._opening import round_rate, same_start


def single_point(x: float = 2.0, y_true: float = 4.0) -> Surface:
    """One input ``x``, one weight ``w``, no bias, squared error against ``y_true``.

    L(w) = (w·x − y_true)²,  dL/dw = 2(w·x − y_true)·x,  d²L/dw² = 2x².
    The minimiser is w* = y_true / x (loss 0); with x = 0 every w is optimal.
    """
    x, y_true = float(x), float(y_true)
    if not (np.isfinite(x) and np.isfinite(y_true)):
        raise ValueError(f"x and y_true must be finite numbers; got x={x}, y_true={y_true}")

    def loss(p: Array) -> Array:
        return (p[0] * x - y_true) ** 2

    def grad(p: Array) -> Array:
        return (2.0 * (p[0] * x - y_true) * x)[np.newaxis]

    def hessian(p: Array) -> Array:
        return np.full((1, 1, *p.shape[1:]), 2.0 * x * x)

    minimizers = ((y_true / x,),) if x != 0 else ()
    optimal_value = 0.0 if x != 0 else y_true**2
    return Surface(
        name="single_point",
        title="One weight, one data point",
        dim=1,
        loss_fn=loss,
        grad_fn=grad,
        hessian_fn=hessian,
        window=((-1.0, 3.0),),
        minimizers=minimizers,
        optimal_value=optimal_value,
        smooth=True,
        latex=r"L(w) = (w \cdot x - y_{\mathrm{true}})^2",
        teaches="The slope of the loss tells which way to move w: against the gradient.",
        axis_labels=("w",),
        params={"x": x, "y_true": y_true},
        opening=same_start(
            (-1.0,), 30,
            "Each step moves w against the slope: downhill towards the minimum, in steps that "
            "shrink as the slope flattens.",
            ("sgd", 0.05 if 0.05 * 2.0 * x * x <= 1.0 else round_rate(0.5 / (x * x))),
        ),
        build=single_point,
        bound_formulas=("2x²", "1/x²", "1/(2x²)"),
    )
