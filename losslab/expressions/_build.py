"""Turning a checked syntax tree into a sympy expression, node by node, against an allow-list.

The user's text never reaches ``sympify``, ``eval`` or ``lambdify``: every sympy object here is
built by this module from symbols it creates. The allow-list is numbers, the names in
``VARIABLES``/``NAMED_CONSTANTS``, ``+ - * /``, unary ``+ -``, powers with a small constant
exponent, and calls of ``FUNCTION_ARITY`` functions by bare name. Every other node type is an
error.

sympy evaluates as it builds, and a few of its rules turn a large coefficient into exact
integer arithmetic (``exp(c·log t) → t**c``). So magnitudes are bounded before each step that
could grow them, and every built node goes through ``check_expression``: no number beyond
1e300, no complex unit, no ``zoo``/``nan``/``oo``.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

import sympy as sp

from losslab.expressions._symbolic import (
    MAX_EXP_ARGUMENT,
    check_expression,
    constant_value,
    plain,
    sigmoid,
    softplus,
)
from losslab.expressions._syntax import (
    FUNCTION_ARITY,
    NAMED_CONSTANTS,
    VARIABLES,
    ExpressionError,
    Syntax,
    arity_message,
    unknown_function_message,
)

__all__ = [
    "MAX_EXPONENT",
    "MAX_KINKS",
    "MAX_LITERAL",
    "MAX_ROOT_NESTING",
    "Built",
    "build",
]

MAX_LITERAL = 1e6
"""The largest number that may be typed."""
MAX_EXPONENT = 10
"""Exponents must lie in ``[-MAX_EXPONENT, MAX_EXPONENT]``."""
MAX_KINKS = 8
"""The most calls of abs, max, min and relu in one formula (sympy differentiates them slowly)."""
MAX_ROOT_NESTING = 5
"""The most roots and fractional powers nested inside one another (``sqrt((w^1.5)^1.5)`` is 3).

sympy's simplification of a power asks questions about its base (sign, reality, being a
polynomial) that ask them again of every power inside: the cost roughly doubles with each
level. Five levels build in ~0.2 s; twelve took minutes."""
_KINDS = MappingProxyType({
    "Attribute": "attribute access ('.name') is not allowed",
    "Subscript": "indexing with [ ] is not allowed",
    "Lambda": "'lambda' is not allowed",
    "Compare": "comparisons are not allowed",
    "BoolOp": "'and' / 'or' are not allowed",
    "IfExp": "'if' is not allowed",
    "NamedExpr": "':=' is not allowed",
    "Starred": "'*' in front of an argument is not allowed",
    "JoinedStr": "strings are not allowed",
    "Tuple": "a comma only separates a function's arguments, as in max(w, b)",
})
_OPERATORS = MappingProxyType({
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "xor", ast.BitAnd: "&",
    ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~",
})  # fmt: skip
_KINKED = frozenset({"abs", "max", "min", "relu"})
_EXPONENT_HELP = "write the exponent as a number such as 2, 0.5 or 1/2"


@dataclass(frozen=True)
class Built:
    """A formula as sympy, with what was learnt while building it.

    Attributes:
        expr: the loss, in the parameter symbols and the data symbols ``x``, ``y``.
        symbols: the parameter symbols, in axis order.
        axis_labels: their names, ``("w",)``, ``("w", "b")`` or ``("w1", "w2")``.
        data: the data symbols the formula uses, by name.
        notes: sentences on undefined regions and kinks, in the order met.
        kinks: whether a non-differentiable function (abs, max, min, relu, sqrt, …) appears.
    """

    expr: sp.Expr
    symbols: tuple[sp.Symbol, ...]
    axis_labels: tuple[str, ...]
    data: Mapping[str, sp.Symbol]
    notes: tuple[str, ...]
    kinks: bool


def build(syntax: Syntax, constants: Mapping[str, float]) -> Built:
    """The sympy expression of a checked syntax tree; ExpressionError if it is not allowed.

    ``constants`` names the data values available (``x``, ``y``); they stay symbols here.
    """
    labels = _axis_labels(syntax)
    kinked = [
        n for n in ast.walk(syntax.tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _KINKED
    ]  # fmt: skip
    if len(kinked) > MAX_KINKS:
        raise ExpressionError(
            f"too many kinks: use at most {MAX_KINKS} of abs, max, min and relu in one formula",
            syntax.position(kinked[MAX_KINKS]),
        )
    symbols = {name: sp.Symbol(name, real=True) for name in labels}
    data = {name: sp.Symbol(name, real=True) for name in ("x", "y")}
    builder = _Builder(syntax, symbols, data, frozenset(constants), labels)
    expr = builder.expression(syntax.tree, 1)
    used = {name: data[name] for name in ("x", "y") if expr.has(data[name])}
    return Built(
        expr=expr,
        symbols=tuple(symbols[name] for name in labels),
        axis_labels=labels,
        data=used,
        notes=tuple(dict.fromkeys(builder.notes)),
        kinks=builder.kinks,
    )


def _axis_labels(syntax: Syntax) -> tuple[str, ...]:
    names = [n for n in ast.walk(syntax.tree) if isinstance(n, ast.Name) and n.id in VARIABLES]
    used = {n.id for n in names}
    numbered = sorted(used & {"w1", "w2"})
    plain_names = sorted(used & {"w", "b"}, reverse=True)
    if numbered and plain_names:
        raise ExpressionError(
            f"use either w (with b) or w1 and w2, not both: found '{plain_names[0]}' "
            f"and '{numbered[0]}'",
            min(syntax.position(n) or 0 for n in names if n.id in numbered),
        )
    if numbered:
        return ("w1", "w2")
    if "b" in used:
        return ("w", "b")
    return ("w",)


@dataclass
class _Builder:
    """Builds one formula; lives for one ``build`` call (it collects that formula's notes)."""

    syntax: Syntax
    symbols: Mapping[str, sp.Symbol]
    data: Mapping[str, sp.Symbol]
    data_given: frozenset[str]
    labels: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    kinks: bool = False
    roots: dict[sp.Expr, int] = field(default_factory=dict)

    def _varies(self, expr: sp.Expr) -> bool:
        """Whether ``expr`` depends on a parameter (not only on the data values x, y)."""
        return not expr.free_symbols.isdisjoint(self.symbols.values())

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, self.syntax.position(node))

    def expression(self, node: ast.AST, depth: int) -> sp.Expr:
        expr = self._node(node, depth)
        # A rule of sympy's can make a root from other nodes (exp(c·log t) is t**c): every
        # result is measured, so no step starts from a base nested deeper than the bound.
        self._check_roots(self._root_depth(expr), node)
        return check_expression(expr, self.syntax.position(node))

    def _root_depth(self, expr: sp.Expr) -> int:
        """How many roots and fractional powers lie inside one another in ``expr``."""
        known = self.roots.get(expr)
        if known is None:
            inner = max((self._root_depth(arg) for arg in expr.args), default=0)
            fractional = isinstance(expr, sp.Pow) and expr.exp.is_integer is not True
            known = self.roots[expr] = inner + fractional
        return known

    def _check_roots(self, depth: int, node: ast.AST) -> None:
        if depth > MAX_ROOT_NESTING:
            raise self.fail(
                f"this formula nests roots and fractional powers too deeply ({depth} inside "
                f"one another); losslab accepts at most {MAX_ROOT_NESTING}, because each "
                "level makes the formula several times slower to prepare",
                node,
            )

    def _root_of(self, base: sp.Expr, node: ast.AST) -> None:
        """Refuse a root of ``base`` before building it, if it would nest too deeply."""
        self._check_roots(self._root_depth(base) + 1, node)

    def _node(self, node: ast.AST, depth: int) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self._literal(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.expression(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self._power(node, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            left = self.expression(node.left, depth + 1)
            right = self.expression(node.right, depth + 1)
            if isinstance(node.op, ast.Add):
                return left + right
            return left - right if isinstance(node.op, ast.Sub) else left * right
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self.expression(node.left, depth + 1)
            right = self.expression(node.right, depth + 1)
            if self._varies(right) and right.is_zero is not False:
                denominator = plain(right, "the denominator")
                self.notes.append(f"undefined where {denominator} = 0 (division by zero)")
            return left / right
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise self.fail(_forbidden(node), node)

    def _literal(self, node: ast.Constant) -> sp.Expr:
        return sp.Integer(v) if isinstance(v := self._number(node), int) else sp.Float(v)

    def _number(self, node: ast.AST) -> int | float:
        if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
            raise self.fail(_forbidden(node), node)
        value = node.value
        if not (math.isfinite(value) and abs(value) <= MAX_LITERAL):
            raise self.fail(
                f"number too large: {_short(self.syntax.snippet(node))} "
                f"(numbers typed may be at most {MAX_LITERAL:,.0f} in size)",
                node,
            )
        return value

    def _name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name == "pi":
            return sp.pi
        if name == "e":
            return sp.E
        if name in self.data:
            if name not in self.data_given:
                raise self.fail(f"'{name}' is a data value, but none is set here", node)
            return self.data[name]
        if name in FUNCTION_ARITY:
            raise self.fail(f"'{name}' is a function: write {name}(...)", node)
        raise self.fail(f"unknown name '{name}' — {self._name_hint(name)}", node)

    def _name_hint(self, name: str) -> str:
        if name.lower() in (*VARIABLES, *NAMED_CONSTANTS) and name.lower() != name:
            return f"names are lower case: write '{name.lower()}'"
        close = difflib.get_close_matches(name, [*self.labels, *NAMED_CONSTANTS], n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        if self.labels == ("w",):
            return "use w (one weight), w and b, or w1 and w2"
        return f"use {' and '.join(self.labels)}"

    def _power(self, node: ast.BinOp, depth: int) -> sp.Expr:
        if isinstance(node.left, ast.Name) and node.left.id == "e":
            return self._exp(self.expression(node.right, depth + 1), node)
        exponent = self._exponent(node.right)
        base = self.expression(node.left, depth + 1)
        if not base.free_symbols and base.is_zero is not True:
            value = constant_value(base, self.syntax.position(node))
            if value < 0 and exponent.denominator != 1:
                raise self.fail(
                    "a negative number to a fractional power is not a real number", node
                )
            magnitude = abs(value)  # 0.0 only when a tiny Float underflows
            if magnitude > 0 and abs(exponent) * math.log(magnitude) > MAX_EXP_ARGUMENT:
                raise self.fail("numbers too large: a constant power exceeds 1e300", node)
        if exponent.denominator != 1:
            self._root_of(base, node)
        if self._varies(base) and exponent < 0 and base.is_zero is not False:
            self.notes.append(
                f"undefined where {plain(base, 'the base')} = 0 (division by zero)"
            )
        if self._varies(base) and exponent.denominator != 1 and base.is_nonnegative is not True:
            self.notes.append(
                f"a power {exponent} is undefined where {plain(base, 'its base')} < 0"
            )
        if self._varies(base) and exponent.denominator != 1 and exponent < 2:
            self.kinks = self.kinks or base.is_positive is not True
        return base ** sp.Rational(exponent.numerator, exponent.denominator)

    def _exponent(self, node: ast.AST) -> Fraction:
        """An exponent: a small constant made of typed numbers and + - * / (no powers)."""
        value = self._constant_fraction(node)
        if abs(value) > MAX_EXPONENT:
            raise self.fail(
                f"powers must be small numbers: exponents lie between -{MAX_EXPONENT} and "
                f"{MAX_EXPONENT} (got {float(value):g})",
                node,
            )
        return value

    def _constant_fraction(self, node: ast.AST, whole: ast.AST | None = None) -> Fraction:
        whole = whole or node  # the whole exponent, for the message
        if isinstance(node, ast.Constant):
            return Fraction(repr(self._number(node)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self._constant_fraction(node.operand, whole)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            left = self._constant_fraction(node.left, whole)
            right = self._constant_fraction(node.right, whole)
            if isinstance(node.op, ast.Add):
                return left + right
            return left - right if isinstance(node.op, ast.Sub) else left * right
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self._constant_fraction(node.left, whole)
            right = self._constant_fraction(node.right, whole)
            if right == 0:
                raise self.fail("division by zero in an exponent", node)
            return left / right
        varying = any(isinstance(n, ast.Name) and n.id in VARIABLES for n in ast.walk(whole))
        hint = (
            "for a varying exponent use exp: 2^w is exp(w*log(2))"
            if varying
            else "an exponent holds only typed numbers and + - * /"
        )
        raise self.fail(
            f"powers must be small numbers: {_EXPONENT_HELP}, not "
            f"{_short(self.syntax.snippet(whole))} ({hint})",
            whole,
        )

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only functions called by name are allowed, as in sin(w)", node)
        name = node.func.id
        if name not in FUNCTION_ARITY:
            if name in self.symbols or name in NAMED_CONSTANTS:
                raise self.fail(f"'{name}' is not a function: write {name}*(...) to multiply", node)
            raise self.fail(unknown_function_message(name), node)
        if node.keywords:
            raise self.fail(f"{name} takes no named arguments (no '=')", node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(_forbidden(arg), arg)
        if len(node.args) != FUNCTION_ARITY[name]:
            raise self.fail(arity_message(name, len(node.args)), node)
        args = [self.expression(arg, depth + 1) for arg in node.args]
        return _FUNCTIONS[name](self, node, *args)

    def _exp(self, arg: sp.Expr, node: ast.AST) -> sp.Expr:
        self._bound_argument(arg, node)
        if arg.has(sp.log):  # exp(c·log t) may become the root t**c
            self._root_of(arg, node)
        return sp.exp(arg)

    def _bound_argument(self, arg: sp.Expr, node: ast.AST) -> None:
        # exp/sinh/cosh/tanh of a constant can turn into an exact power t**c (exp(c·log t)):
        # the constant part must stay where a float can hold the result.
        constant = arg.as_independent(*arg.free_symbols, as_Add=True)[0]
        value = constant_value(constant, self.syntax.position(node)) if constant != 0 else 0.0
        if not abs(value) <= MAX_EXP_ARGUMENT:
            raise self.fail(
                f"numbers too large: keep constants inside exp, sinh, cosh and tanh between "
                f"-{MAX_EXP_ARGUMENT:g} and {MAX_EXP_ARGUMENT:g}",
                node,
            )

    def _refuse_negative_constant(self, arg: sp.Expr, node: ast.AST, name: str) -> None:
        if not arg.free_symbols and constant_value(arg, self.syntax.position(node)) < 0:
            raise self.fail(f"{name} of a negative number is not a real number", node)

    def _log(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        self._refuse_negative_constant(arg, node, "log")
        if self._varies(arg) and arg.is_positive is not True:
            self.notes.append(f"log is undefined where {plain(arg)} ≤ 0")
        return sp.log(arg)

    def _log1p(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        return self._log(node, 1 + arg)

    def _sqrt(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        self._root_of(arg, node)
        self._refuse_negative_constant(arg, node, "sqrt")
        if self._varies(arg) and arg.is_positive is not True:
            self.notes.append(
                f"sqrt is undefined where {plain(arg)} < 0 and has no slope where it is 0"
            )
            self.kinks = True
        return sp.sqrt(arg)

    def _abs(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        result = sp.Abs(arg)
        if isinstance(result, sp.Abs) and self._varies(arg):
            self.notes.append(
                f"abs has a kink where {plain(arg)} = 0: the gradient uses 0 there"
            )
            self.kinks = True
        return result

    def _relu(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        result = _binary(sp.Max, arg, sp.S.Zero)
        if isinstance(result, sp.Max) and self._varies(arg):
            self.notes.append(f"relu has a kink where {plain(arg)} = 0: the slope there is 1/2")
            self.kinks = True
        return result

    def _extreme(self, node: ast.AST, first: sp.Expr, second: sp.Expr, *, name: str) -> sp.Expr:
        result = _binary(sp.Max if name == "max" else sp.Min, first, second)
        if isinstance(result, sp.Max | sp.Min) and self._varies(result):
            self.notes.append(
                f"{name} has a kink where {plain(first, 'one argument')} = "
                f"{plain(second, 'the other')}: "
                "the gradient there averages both sides"
            )
            self.kinks = True
        return result

    def _tan(self, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        if self._varies(arg):
            self.notes.append(f"tan is undefined where cos({plain(arg, '…')}) = 0")
        return sp.tan(arg)


def _short(text: str) -> str:
    """``text``, or its start and its length if it is too long to quote in a message."""
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} characters)"


def _binary(extreme: type[sp.Max] | type[sp.Min], first: sp.Expr, second: sp.Expr) -> sp.Expr:
    """max/min of two, kept binary: sympy's Heaviside derivative of a flattened max(a, b, c)
    adds ½ per tied argument, so at a three-way tie the gradient would leave the subgradient
    set; nested binary max/min average one pair at a time and stay inside it."""
    result = extreme(first, second)
    if isinstance(result, extreme) and len(result.args) > 2:
        return extreme(first, second, evaluate=False)
    return result


def _forbidden(node: ast.AST) -> str:
    kind = type(node).__name__
    if kind in _KINDS:
        return _KINDS[kind]
    op = getattr(node, "op", None)
    if type(op) in _OPERATORS:
        return f"'{_OPERATORS[type(op)]}' is not allowed"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, complex):
            return "complex numbers are not allowed"
        if isinstance(node.value, str | bytes):
            return "strings are not allowed"
        return f"{node.value!r} is not allowed in a formula"
    return f"'{kind}' is not allowed in a formula"


def _simple(function: Callable[[sp.Expr], sp.Expr], *, bounded: bool = False):
    def apply(builder: _Builder, node: ast.AST, arg: sp.Expr) -> sp.Expr:
        if bounded:
            builder._bound_argument(arg, node)
        return function(arg)

    return apply


_FUNCTIONS: Mapping[str, Callable[..., sp.Expr]] = MappingProxyType({
    "exp": lambda builder, node, arg: builder._exp(arg, node),
    "log": _Builder._log,
    "ln": _Builder._log,
    "log1p": _Builder._log1p,
    "sqrt": _Builder._sqrt,
    "abs": _Builder._abs,
    "sin": _simple(sp.sin),
    "cos": _simple(sp.cos),
    "tan": _Builder._tan,
    "atan": _simple(sp.atan),
    "sinh": _simple(sp.sinh, bounded=True),
    "cosh": _simple(sp.cosh, bounded=True),
    "tanh": _simple(sp.tanh, bounded=True),
    "sigmoid": _simple(sigmoid),
    "softplus": _simple(softplus),
    "relu": _Builder._relu,
    "max": lambda builder, node, a, b: builder._extreme(node, a, b, name="max"),
    "min": lambda builder, node, a, b: builder._extreme(node, a, b, name="min"),
})
assert set(_FUNCTIONS) == set(FUNCTION_ARITY)
