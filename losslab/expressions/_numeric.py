"""Evaluating built formulas with NumPy: lambdify, then clean and broadcast the results.

Only expressions built by ``_build`` (and their sympy derivatives) are lambdified, never
text. Results are float arrays of the grid's shape: complex and non-finite values become NaN,
so a chart shows a gap where the formula is undefined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

__all__ = ["evaluator", "lambdify_built", "real_values"]

Array = np.ndarray


def _np_sigmoid(u: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -u))


def _np_softplus(u: Array) -> Array:
    return np.logaddexp(0.0, u)


class _NumPyCode(NumPyPrinter):
    """NumPy code with H(0) = ½ written as ``heaviside(u, 0.5)``, which broadcasts, and whole
    numbers beyond 2**53 written as floats: as Python ints NumPy would hold them as objects."""

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        return f"heaviside({self._print(expr.args[0])}, 0.5)"

    def _print_Integer(self, expr: sp.Integer) -> str:
        return repr(float(expr)) if abs(expr.p) > 2**53 else str(expr.p)


def lambdify_built(symbols: Sequence[sp.Symbol], expr: object) -> Callable[..., object]:
    """Lambdify an expression (or nested list) built here — never text from the user."""
    functions = {"sigmoid": _np_sigmoid, "softplus": _np_softplus}
    printer = _NumPyCode({
        "fully_qualified_modules": False,
        "inline": True,
        "allow_unknown_functions": True,
        "user_functions": {name: name for name in functions},
        "order": "none",  # sorting the terms of a long sum only costs time here
    })  # fmt: skip
    # A fresh namespace per call: lambdify must not share a mutable dict between formulas.
    return sp.lambdify(symbols, expr, modules=[functions, "numpy"], printer=printer, cse=True)


def real_values(value: object, shape: tuple[int, ...]) -> Array:
    """``value`` as floats of ``shape``: complex or non-finite entries become NaN."""
    array = np.asarray(value)
    if array.dtype.kind == "c":
        array = np.where(array.imag == 0, array.real, np.nan)
    array = np.asarray(array, dtype=float)
    array = np.where(np.isfinite(array), array, np.nan)
    return np.broadcast_to(array, shape).copy()


def evaluator(
    function: Callable[..., object], leading: tuple[int, ...], data: tuple[float, ...] = ()
) -> Callable[[Array], Array]:
    """Wrap a lambdified ``function(*coordinates, *data)`` into ``P (dim, ...) -> (*leading, ...)``.

    Constant entries (a gradient component ``2``) come back as scalars from lambdify and are
    broadcast to the grid here; nested lists (gradient, Hessian) are stacked.
    """

    # NumPy scalars, not Python floats: 1/x at x = 0 must give inf (then NaN), not raise.
    values = tuple(np.float64(v) for v in data)

    def evaluate(points: Array) -> Array:
        shape = points.shape[1:]
        with np.errstate(all="ignore"):
            out = function(*points, *values)
        if not leading:
            return real_values(out, shape)
        if len(leading) == 1:
            return np.stack([real_values(v, shape) for v in out])
        return np.stack([np.stack([real_values(v, shape) for v in row]) for row in out])

    return evaluate
