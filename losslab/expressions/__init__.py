"""Type your own loss: a formula in ``w`` (1-D), ``w`` and ``b``, or ``w1`` and ``w2`` (2-D).

>>> from losslab import expressions
>>> s = expressions.parse("(w*x - y)^2", constants={"x": 2.0, "y": 4.0})
>>> float(s.loss([1.0])), float(s.grad([1.0])[0]), float(s.hessian([1.0])[0, 0])
(4.0, -8.0, 8.0)

``parse`` is the single entry point (the text box and permalinks both go through it); it
returns a ``Surface`` like the registry's. ``compile_expression`` returns the same surface
with the LaTeX of the gradient and Hessian and notes in words. Gradient and Hessian are sympy's
symbolic derivatives of the formula as built here, evaluated with NumPy:

* where the formula is undefined (log of a negative number, division by zero, sqrt of a
  negative number) the loss, gradient and Hessian are NaN — never inf, never complex;
* at a kink the gradient takes a one-sided average: ``abs`` uses sign(0) = 0, ``max``/``min``
  and ``relu`` use ½ of each side. The second derivative at a kink is a spike (a Dirac delta);
  the Hessian uses 0 there, its value everywhere else, so Newton's method can still run.

Safety, for a public server: the text is never given to ``eval``, ``exec``, ``sympify`` or
``lambdify``. It is length- and character-checked, parsed by ``ast.parse`` into a tree that is
checked against an allow-list, and rebuilt into sympy by this package from its own symbols
(see ``_syntax`` and ``_build``). Only those built expressions are lambdified.
Results hold no cache: the app caches ``parse`` keyed by ``normalise(text)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter

from losslab import cpu_limit
from losslab.expressions._build import (
    MAX_EXPONENT,
    MAX_KINKS,
    MAX_LITERAL,
    MAX_ROOT_NESTING,
    Built,
    build,
)
from losslab.expressions._numeric import evaluator, lambdify_built
from losslab.expressions._symbolic import check_expression, sigmoid, softplus
from losslab.expressions._syntax import (
    FUNCTION_ARITY,
    MAX_LENGTH,
    MAX_NESTING,
    ExpressionError,
    normalise,
    read,
)
from losslab.surfaces import Surface

__all__ = [
    "DEFAULT_CONSTANTS",
    "DEFAULT_WINDOW",
    "FUNCTIONS",
    "FUNCTION_ARITY",
    "MAX_GRADIENT_NODES",
    "MAX_HESSIAN_NODES",
    "MAX_EXPONENT",
    "MAX_KINKS",
    "MAX_LENGTH",
    "MAX_LITERAL",
    "MAX_NESTING",
    "MAX_RESOLUTION",
    "MAX_ROOT_NESTING",
    "PREPARE_SECONDS",
    "Compiled",
    "ExpressionError",
    "compile_expression",
    "normalise",
    "parse",
    "undefined_fraction",
]

Array = np.ndarray
WindowLike = tuple[float, float] | Sequence[tuple[float, float]]

FUNCTIONS = tuple(FUNCTION_ARITY)
"""The functions a formula may call (``max`` and ``min`` take two arguments, the rest one)."""
DEFAULT_CONSTANTS: Mapping[str, float] = MappingProxyType({"x": 2.0, "y": 4.0})
"""The data values ``x`` and ``y`` when the caller gives none (the lesson's data point)."""
DEFAULT_WINDOW = (-3.0, 3.0)
"""The plot window on every axis unless the caller chooses one."""
MAX_RESOLUTION = 400
"""The most grid points per axis ``undefined_fraction`` samples."""
MAX_GRADIENT_NODES = 600
"""The largest gradient accepted, in sympy tree nodes over all components."""
MAX_HESSIAN_NODES = 6000
"""The largest Hessian accepted, in sympy tree nodes over its distinct entries."""
PREPARE_SECONDS = 0.5
"""The CPU seconds a server gives a formula's preparation (``parse(..., cpu_seconds=…)``):
sympy runs in a child process stopped after that; a formula prepared in time is prepared again
where it is used, so an accepted formula costs at most about twice this."""
_PROBE_RESOLUTION = 21  # points per axis checked for "undefined everywhere in the window"
_MAX_SHOWN_NODES = 400  # longer equations are not worth reading, nor sending to the browser
_TOO_LONG = r"\text{(too long to show)}"
_NOT_SHOWN = r"\text{(cannot be typeset)}"

_HESSIAN_AT_KINKS = (
    "at a kink the second derivative is a spike (infinite); the Hessian uses 0 there, its "
    "value everywhere else, so Newton's method can still run"
)
_ALLOWED_NODES = (
    sp.Symbol, sp.Number, sp.NumberSymbol, sp.Add, sp.Mul, sp.Pow,
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.atan, sp.sinh, sp.cosh, sp.tanh,
    sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sigmoid, softplus,
)  # fmt: skip


@dataclass(frozen=True)
class Compiled:
    """A typed formula, ready to plot and to explain.

    Attributes:
        text: the normalised formula.
        surface: the loss as a ``Surface`` (name "custom").
        latex: ``L(w) = …`` as LaTeX.
        grad_latex: one LaTeX equation per gradient component, ``\\frac{dL}{dw} = …``.
        hessian_latex: LaTeX equations of the Hessian entries, ``[i][j]`` for ∂²L/∂p_i∂p_j.
        notes: sentences on where the formula is undefined or has kinks, and how kinks are
            treated; empty for a smooth formula defined everywhere.
        nodes: the size of the loss's sympy tree, what evaluating it on a grid costs per point
            (``budget.SurfaceRequest.formula_nodes``).
    """

    text: str
    surface: Surface
    latex: str
    grad_latex: tuple[str, ...]
    hessian_latex: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...]
    nodes: int = 0


def parse(
    text: str,
    *,
    constants: Mapping[str, float] | None = None,
    window: WindowLike | None = None,
    cpu_seconds: float | None = None,
) -> Surface:
    """The loss surface of a typed formula; raises ``ExpressionError`` with a message to show.

    Args:
        text: the formula, at most ``MAX_LENGTH`` characters: ``w`` alone gives a 1-D surface,
            ``w`` with ``b`` or ``w1`` with ``w2`` a 2-D one. ``^`` and ``**`` are powers.
        constants: values of the data names ``x`` and ``y`` (default ``DEFAULT_CONSTANTS``).
        window: plot window, one ``(lo, hi)`` for every axis or one pair per axis
            (default ``DEFAULT_WINDOW`` on every axis).
        cpu_seconds: the most CPU seconds preparing the formula may take, or ``None`` for no
            bound (see ``compile_expression``).
    """
    return compile_expression(
        text, constants=constants, window=window, cpu_seconds=cpu_seconds
    ).surface


def compile_expression(
    text: str,
    *,
    constants: Mapping[str, float] | None = None,
    window: WindowLike | None = None,
    cpu_seconds: float | None = None,
) -> Compiled:
    """``parse``, plus the LaTeX of the formula, gradient and Hessian, and notes in words.

    ``cpu_seconds`` bounds the preparation: the formula is first prepared in a child process
    stopped after that much CPU. ``None`` (the default, for notebooks and tests) prepares it
    here without a bound; a public server passes ``PREPARE_SECONDS``.
    """
    values = _constant_values(constants)
    syntax = read(text)
    if cpu_seconds is not None and cpu_limit.available():
        try:
            cpu_limit.within_limit(
                compile_expression,
                (syntax.text,),
                {"constants": values, "window": window, "cpu_seconds": None},
                cpu_seconds=cpu_seconds,
            )
        except cpu_limit.GuardError:
            raise ExpressionError(
                f"this formula takes too long to prepare (more than {cpu_seconds:g} s of the "
                "server's time): use fewer nested powers, roots or functions"
            ) from None
    try:
        built = build(syntax, values)
        return _compile(syntax.text, built, values, window, cpu_seconds)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply") from None
    except Exception as err:
        # sympy is large: whatever else it raises on a formula that passed every check must
        # reach the user as a message, not as a traceback from a public server.
        raise ExpressionError(
            "this formula is too complicated to differentiate here; try a simpler one"
        ) from err


def undefined_fraction(surface: Surface, grid: int | Array = 101) -> float:
    """The share of points where ``surface.loss`` is undefined (NaN), in ``[0, 1]``.

    ``grid`` is either the number of evenly spaced points per axis across ``surface.window``
    (2 to ``MAX_RESOLUTION``, edges included) or the points themselves, shape ``(dim, ...)``.
    """
    if isinstance(grid, int | np.integer) and not isinstance(grid, bool):
        n = int(grid)
        if not 2 <= n <= MAX_RESOLUTION:
            raise ValueError(f"grid resolution must be 2 to {MAX_RESOLUTION}; got {n}")
        axes = [np.linspace(lo, hi, n) for lo, hi in surface.window]
        points = np.stack(np.meshgrid(*axes, indexing="ij"))
    else:
        points = np.asarray(grid, dtype=float)
    values = surface.loss(points)
    return float(np.mean(np.isnan(values))) if values.size else 0.0


def _constant_values(constants: Mapping[str, float] | None) -> dict[str, float]:
    given = DEFAULT_CONSTANTS if constants is None else constants
    values = {}
    for name, value in given.items():
        if name not in ("x", "y"):
            raise ExpressionError(f"unknown data value {name!r}: formulas know x and y")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ExpressionError(
                f"the data value {name} must be a number; got {value!r}"
            ) from None
        if not (math.isfinite(number) and abs(number) <= MAX_LITERAL):
            raise ExpressionError(
                f"the data value {name} must be a finite number of size at most "
                f"{MAX_LITERAL:,.0f}; got {value!r}"
            )
        values[name] = number
    return values


def _window(window: WindowLike | None, dim: int) -> tuple[tuple[float, float], ...]:
    if window is None:
        return (DEFAULT_WINDOW,) * dim
    try:
        pairs = np.asarray(window, dtype=float)
    except (TypeError, ValueError):
        raise ExpressionError(f"window must be (lo, hi) pairs of numbers; got {window!r}") from None
    if pairs.shape == (2,):
        pairs = np.tile(pairs, (dim, 1))
    if pairs.shape != (dim, 2):
        raise ExpressionError(
            f"window must be one (lo, hi) pair or {dim} of them; got {window!r}"
        )
    for lo, hi in pairs:
        if not (math.isfinite(lo) and math.isfinite(hi) and -MAX_LITERAL <= lo < hi <= MAX_LITERAL):
            raise ExpressionError(
                f"each window needs finite lo < hi within ±{MAX_LITERAL:,.0f}; got ({lo}, {hi})"
            )
    return tuple((float(lo), float(hi)) for lo, hi in pairs)


class _Latex(LatexPrinter):
    """sympy's LaTeX, with the step function written as an indicator a learner can read."""

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        # H(b - w) reads better as [b > w]: move the negative terms to the right-hand side.
        terms = sp.Add.make_args(expr.args[0])
        left = sp.Add(*(t for t in terms if not t.could_extract_minus_sign()))
        right = sp.Add(*(-t for t in terms if t.could_extract_minus_sign()))
        tex = rf"\mathbb{{1}}\left[{self._print(left)} > {self._print(right)}\right]"
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"

    def _print_sigmoid(self, expr: sigmoid, exp: str | None = None) -> str:
        tex = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_softplus(self, expr: softplus, exp: str | None = None) -> str:
        tex = rf"\operatorname{{softplus}}\left({self._print(expr.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _check_allowed(expr: sp.Expr) -> None:
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, _ALLOWED_NODES) or isinstance(node, sp.Derivative | sp.Subs):
            raise ExpressionError(
                f"cannot differentiate this formula here ({type(node).__name__} appears)"
            )


def _compile(
    text: str,
    built: Built,
    values: Mapping[str, float],
    window: WindowLike | None,
    cpu_seconds: float | None,
) -> Compiled:
    dim = len(built.symbols)
    bounds = _window(window, dim)
    grads, hessian, spikes = _derivatives(built.expr, built.symbols)
    for part in (built.expr, *grads, *(h for row in hessian for h in row)):
        _check_allowed(part)
    for part in (*grads, *(h for row in hessian for h in row)):
        check_expression(part)
    latex, grad_latex, hessian_latex = _equations(built.symbols, built.expr, grads, hessian)

    # The data values x, y are arguments of the NumPy functions, not numbers put into sympy:
    # sympy would evaluate exp(exp(x)) at x = 1e6 in arbitrary precision, for minutes.
    arguments = (*built.symbols, *built.data.values())
    data = tuple(values[name] for name in built.data)
    loss_fn = evaluator(lambdify_built(arguments, built.expr), (), data)
    kinks = built.kinks or any(g.has(sp.sign, sp.Heaviside) for g in grads)
    surface = Surface(
        name="custom",
        title=f"Your loss: {text}",
        dim=dim,
        loss_fn=loss_fn,
        grad_fn=evaluator(lambdify_built(arguments, grads), (dim,), data),
        hessian_fn=evaluator(lambdify_built(arguments, hessian), (dim, dim), data),
        window=bounds,
        minimizers=(),
        optimal_value=None if _varies(built) else _value_at_origin(loss_fn, dim),
        smooth=not (kinks or spikes),
        latex=latex,
        teaches="Your own formula: see how its shape steers each optimiser.",
        axis_labels=built.axis_labels,
        params=MappingProxyType(dict(zip(built.data, data, strict=True))),
        build=partial(_rebuild, text=text, window=bounds, cpu_seconds=cpu_seconds),
    )
    notes = list(built.notes)
    if undefined_fraction(surface, _PROBE_RESOLUTION) == 1.0:
        given = "".join(f", {name} = {value:g}" for name, value in surface.params.items())
        notes.append(f"undefined everywhere in the plot window{given}")
    if spikes:
        notes.append(_HESSIAN_AT_KINKS)
    nodes = _size(built.expr, MAX_GRADIENT_NODES + MAX_HESSIAN_NODES)
    return Compiled(text, surface, latex, grad_latex, hessian_latex, tuple(notes), nodes)


def _derivatives(
    expr: sp.Expr, symbols: tuple[sp.Symbol, ...]
) -> tuple[list[sp.Expr], list[list[sp.Expr]], bool]:
    """Gradient, Hessian (Dirac spikes at kinks replaced by 0), and whether spikes were found.

    Sizes are capped as they are made: a formula of 200 characters can have derivatives too
    long to print or to evaluate quickly.
    """
    dim = len(symbols)
    grads = [sp.diff(expr, s) for s in symbols]
    if sum(_size(g, MAX_GRADIENT_NODES + 1) for g in grads) > MAX_GRADIENT_NODES:
        raise ExpressionError(
            "formula too complicated: its gradient is too long (use fewer factors or less "
            "nesting)"
        )
    hessian = [[sp.S.Zero] * dim for _ in range(dim)]
    spikes = False
    budget = MAX_HESSIAN_NODES
    for i in range(dim):
        for j in range(i, dim):
            entry = sp.diff(grads[i], symbols[j])
            deltas = entry.atoms(sp.DiracDelta)
            spikes = spikes or bool(deltas)
            hessian[i][j] = hessian[j][i] = entry.xreplace(dict.fromkeys(deltas, sp.S.Zero))
            budget -= _size(hessian[i][j], budget + 1)
            if budget < 0:
                raise ExpressionError(
                    "formula too complicated: its second derivatives are too long (use fewer "
                    "factors or less nesting)"
                )
    return grads, hessian, spikes


def _equations(
    symbols: tuple[sp.Symbol, ...],
    expr: sp.Expr,
    grads: list[sp.Expr],
    hessian: list[list[sp.Expr]],
) -> tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """LaTeX of ``L(…) = …``, of each gradient component and of each Hessian entry."""
    printer = _Latex()
    names = [printer.doprint(s) for s in symbols]
    latex = rf"L({', '.join(names)}) = {_show(printer, expr)}"
    if len(symbols) == 1:
        (name,) = names
        grad_latex = (rf"\frac{{dL}}{{d{name}}} = {_show(printer, grads[0])}",)
        second = rf"\frac{{d^{{2}}L}}{{d{name}^{{2}}}} = {_show(printer, hessian[0][0])}"
        return latex, grad_latex, ((second,),)
    grad_latex = tuple(
        rf"\frac{{\partial L}}{{\partial {n}}} = {_show(printer, g)}"
        for n, g in zip(names, grads, strict=True)
    )
    hessian_latex = tuple(
        tuple(
            rf"\frac{{\partial^{{2}} L}}{{{_second(names[i], names[j])}}} = "
            rf"{_show(printer, entry)}"
            for j, entry in enumerate(row)
        )
        for i, row in enumerate(hessian)
    )
    return latex, grad_latex, hessian_latex


def _size(expr: sp.Expr, limit: int) -> int:
    """Nodes in ``expr``'s tree, counting no further than ``limit``."""
    count = 0
    for count, _ in enumerate(sp.preorder_traversal(expr), start=1):
        if count >= limit:
            break
    return count


def _show(printer: LatexPrinter, expr: sp.Expr) -> str:
    if _size(expr, _MAX_SHOWN_NODES + 1) > _MAX_SHOWN_NODES:
        return _TOO_LONG
    try:
        return printer.doprint(expr)
    except (TypeError, ValueError):
        # sympy's printer tests whether a product is constant by substituting values, and
        # min(-1, log(w)) at w = 0 raises; the formula still evaluates, only its LaTeX is lost.
        return _NOT_SHOWN


def _second(first: str, second: str) -> str:
    return rf"\partial {first}^{{2}}" if first == second else rf"\partial {first} \partial {second}"


def _varies(built: Built) -> bool:
    return not built.expr.free_symbols.isdisjoint(built.symbols)


def _value_at_origin(loss_fn: Callable[[Array], Array], dim: int) -> float | None:
    """The value of a formula without parameters (every point minimises it), if finite."""
    value = float(loss_fn(np.zeros(dim)))
    return value if math.isfinite(value) else None


def _rebuild(
    *,
    text: str,
    window: tuple[tuple[float, float], ...],
    cpu_seconds: float | None,
    **constants: float,
) -> Surface:
    return parse(text, constants=constants, window=window, cpu_seconds=cpu_seconds)


# The first formula a process prepares also loads what sympy imports lazily (lambdify's NumPy
# namespace, the code printers and their modules): ~0.3 s of CPU, most of the 0.5 s that
# ``PREPARE_SECONDS`` allows. A formula prepared in a forked child (``cpu_limit``) paid it every
# time, until the parent had prepared one itself; on a slower CPU, or traced by coverage, the
# app's own example formula was refused. So one is prepared here, when this module is imported
# (the app imports it only once a formula is used).
compile_expression("(w*x - y)^2 + abs(w) + sin(w) + sigmoid(w)")
