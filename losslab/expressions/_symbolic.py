"""The sympy pieces the formula builder and the compiler share.

``sigmoid`` and ``softplus`` are sympy functions with their derivatives (sympy has neither);
``check_expression`` is the test every built or derived expression must pass;
``constant_value`` evaluates a constant, refusing complex values; ``plain`` writes a small
expression back as typed text for the notes.
"""

from __future__ import annotations

import re

import sympy as sp

from losslab.expressions._syntax import ExpressionError

__all__ = [
    "MAX_EXP_ARGUMENT",
    "MAX_MAGNITUDE",
    "check_expression",
    "constant_value",
    "plain",
    "sigmoid",
    "softplus",
]

MAX_MAGNITUDE = 1e300
"""The largest constant a formula may produce (a float must hold it)."""
MAX_EXP_ARGUMENT = 700.0
"""The largest constant allowed inside exp (e^700 ≈ 1e304, near the largest float)."""
_MAX_BITS = 1000  # ≈ MAX_MAGNITUDE: bounds exact integers and fraction parts
_MAX_NOTE_NODES = 24
_MAX_NOTE_CHARACTERS = 40


class sigmoid(sp.Function):  # lower case: sympy prints, and lambdify looks up, this name
    """σ(u) = 1 / (1 + e^(−u)), with dσ/du = σ(u)(1 − σ(u))."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        return sp.S.Half if arg.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)


class softplus(sp.Function):  # lower case, as for sigmoid
    """softplus(u) = log(1 + e^u), with d softplus/du = σ(u)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_evalf(self, prec: int) -> sp.Expr:
        # mpmath has no softplus: a constant softplus(2) is evaluated from its definition.
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)


def plain(expr: sp.Expr, fallback: str = "its argument") -> str:
    """``expr`` as typed text, ``^`` for powers, for notes in words; ``fallback`` if long."""
    if any(i > _MAX_NOTE_NODES for i, _ in enumerate(sp.preorder_traversal(expr))):
        return fallback
    text = sp.sstr(expr, order="none").replace("**", "^")
    if len(text) > _MAX_NOTE_CHARACTERS:
        return fallback
    return re.sub(r"\b(Max|Min|Abs)\(", lambda m: f"{m.group(1).lower()}(", text)


def constant_value(expr: sp.Expr, position: int | None = None) -> float:
    """The value of an expression without symbols; ExpressionError if it is not real.

    sympy cannot always tell the sign of a constant such as tan(e) = −0.45 symbolically; the
    number decides.
    """
    value = complex(expr.evalf())
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        raise _complex(position)
    return value.real


def _complex(position: int | None) -> ExpressionError:
    return ExpressionError(
        "this gives a complex number (log, sqrt or a fractional power of a negative "
        "constant): the formula must be real",
        position,
    )


def check_expression(expr: sp.Expr, position: int | None = None) -> sp.Expr:
    """``expr`` if it is a real, finite formula with moderate constants; else ExpressionError."""
    if expr.has(sp.zoo):
        raise ExpressionError(
            "the formula is undefined everywhere: it divides by zero, or takes log(0) or similar",
            position,
        )
    if expr.has(sp.nan):
        raise ExpressionError("the formula is undefined everywhere (0/0 or similar)", position)
    if expr.has(sp.oo, -sp.oo):
        raise ExpressionError("the formula is infinite everywhere", position)
    if expr.has(sp.I) or any(
        not p.base.free_symbols and not p.exp.is_integer and constant_value(p.base) < 0
        for p in expr.atoms(sp.Pow)
    ):
        raise _complex(position)
    for number in expr.atoms(sp.Number):
        too_big = (
            max(abs(number.p), number.q).bit_length() > _MAX_BITS
            if number.is_Rational
            else not (abs(number) <= MAX_MAGNITUDE)
        )
        if too_big:
            raise ExpressionError(
                "numbers too large: a constant in the formula exceeds 1e300", position
            )
    for power in expr.atoms(sp.exp):
        # sympy merges exp(a)·exp(b) into exp(a + b): keep merged constants bounded too.
        if not power.free_symbols and not abs(constant_value(power.args[0])) <= MAX_EXP_ARGUMENT:
            raise ExpressionError(
                f"numbers too large: a constant inside exp exceeds {MAX_EXP_ARGUMENT:g}", position
            )
    return expr
