"""Formulas for tests/test_expressions.py: hostile or clumsy ones that must be refused, valid ones.

``HOSTILE`` pairs each input with a fragment its error message must contain. Payloads that
would touch the file system name a file ``canary`` in the working directory: the test runs them
from an empty temporary directory and checks afterwards that no ``canary`` appeared.
``LIVE_PAYLOAD`` uses only characters the formula box allows; the test's positive control
evaluates it with Python's ``eval`` to prove that it really would create the canary.
"""

from __future__ import annotations

from typing import NamedTuple


def _bytes_call(function: str, code: str) -> str:
    """``function(bytes((…)))``: Python source hidden as numbers, so only + - ( ) , and
    letters and digits are needed — every character passes the character check."""
    return f"{function}(bytes(({','.join(str(c) for c in code.encode())})))"


LIVE_PAYLOAD = _bytes_call("exec", "open('canary','w')")
"""Creates ``./canary`` when evaluated by Python; the parser must refuse it."""


class Hostile(NamedTuple):
    text: str
    expect: str  # a fragment of the error message


HOSTILE: tuple[Hostile, ...] = (
    # running code
    Hostile("__import__('os').system('touch canary')", "'_'"),
    Hostile("().__class__.__bases__[0].__subclasses__()", "'_'"),
    Hostile("lambda: open('canary', 'w')", "':'"),
    Hostile("lambda w, b", "'lambda' is not allowed"),
    Hostile(LIVE_PAYLOAD, "unknown function 'exec'"),
    Hostile(_bytes_call("eval", "open('canary','w')"), "unknown function 'eval'"),
    Hostile(_bytes_call("exec", "__import__('os').system('touch canary')"), "unknown function"),
    Hostile("exec(w)", "unknown function 'exec'"),
    Hostile("getattr(w, real)", "unknown function 'getattr'"),
    Hostile("open(canary)", "unknown function 'open'"),
    Hostile("compile(w, w, w)", "unknown function 'compile'"),
    Hostile("breakpoint()", "unknown function 'breakpoint'"),
    Hostile("w.real", "a dot may only be a decimal point"),
    Hostile("(1).real", "a dot may only be a decimal point"),
    Hostile("w .conjugate()", "a dot may only be a decimal point"),
    Hostile("'w'", "quotes"),
    Hostile('f"{w}"', "quotes"),
    Hostile("b'w'", "quotes"),
    Hostile("(w := 3)", "':'"),
    Hostile("w < 3", "comparisons are not allowed"),
    Hostile("w == 3", "'='"),
    Hostile("log(w, base=2)", "'='"),
    Hostile("w if w else b", "'if' is not allowed"),
    Hostile("[w for w in b]", "only round brackets"),
    Hostile("max(w for w in b)", "'for' is not allowed"),
    Hostile("max(*w)", "needs a number or name before it"),
    Hostile("w[0]", "only round brackets"),
    Hostile("import os", "'import' is not allowed"),
    Hostile("not w", "'not' is not allowed"),
    Hostile("True", "'True' is not allowed"),
    Hostile("w % 2", "'%'"),
    Hostile("w // 2", "'/' at character 4 needs a number or name before it"),
    Hostile("w @ w", "'@'"),
    Hostile("...", "a dot may only be a decimal point"),
    Hostile("1j*w", "missing operator"),
    Hostile("0x1f*w", "missing operator"),
    Hostile("1_000*w", "'_'"),
    Hostile("007*w", "cannot start with 0"),
    # resource exhaustion
    Hostile("9**9**9", "powers must be small numbers"),
    Hostile("9^9^9^9", "powers must be small numbers"),
    Hostile("2**(w-w+10**8)", "powers must be small numbers"),
    Hostile("factorial(10**10)", "unknown function 'factorial'"),
    Hostile("w**10**100", "powers must be small numbers"),
    Hostile("w^100", "powers must be small numbers"),
    Hostile("w^-20", "powers must be small numbers"),
    Hostile("w^w", "powers must be small numbers"),
    Hostile("w^(1/0)", "division by zero in an exponent"),
    Hostile("((2^10)^10)^10", "numbers too large"),
    Hostile("exp(999999*log(999999))", "numbers too large"),
    Hostile("exp(1000)*w", "numbers too large"),
    Hostile("e^(w - w + 800)", "numbers too large"),
    Hostile("cosh(100000)*w", "numbers too large"),
    Hostile("1e999", "number too large"),
    Hostile("1e999*w - 1e999*w", "number too large"),
    Hostile("2000000*w", "number too large"),
    Hostile("9" * 10_000, "expression too long (200 characters max)"),
    Hostile("9" * 199, "number too large"),
    Hostile("w+" * 150 + "w", "expression too long"),
    Hostile("-" * 150 + "w", "nested too deeply"),
    Hostile("(" * 99 + "w" + ")" * 99, "nested too deeply"),
    Hostile("(" * 200 + "w" + ")" * 200, "expression too long"),
    Hostile("sin(" * 39 + "w" + ")" * 39, "nested too deeply"),
    Hostile("sin(" * 21 + "w" + ")" * 21, "nested too deeply"),
    Hostile("*".join(f"sin(w1+{i})" for i in range(1, 20)), "too complicated"),
    Hostile("+".join(f"abs(w-{i})" for i in range(12)), "too many kinks"),
    # empty, invisible and look-alike characters
    Hostile("", "empty expression"),
    Hostile("   \t\n  ", "empty expression"),
    Hostile("w\x00+1", "invisible character (U+0000)"),
    Hostile("w\u202e+1", "invisible character (U+202E)"),
    Hostile("w\u00a0+ 1", "invisible character (U+00A0)"),
    Hostile("\uff57^2", "FULLWIDTH LATIN SMALL LETTER W"),
    Hostile("\U0001d464^2", "MATHEMATICAL ITALIC SMALL W"),
    Hostile("\u0435xp(w)", "CYRILLIC SMALL LETTER IE"),
    Hostile("w\u00b2", "SUPERSCRIPT TWO"),
    Hostile("w \u2212 1", "MINUS SIGN"),
    # clumsy typing
    Hostile("w^", "ends too early"),
    Hostile("^w", "needs a number or name before it"),
    Hostile("w^^2", "needs a number or name before it"),
    Hostile("w +", "ends too early"),
    Hostile("2w", "missing operator between '2' and 'w'"),
    Hostile("w(1 + b)", "missing operator between 'w' and '('"),
    Hostile("(w - 3", "'(' at character 1 is never closed"),
    Hostile("w - 3)", "')' at character 6 closes nothing"),
    Hostile("()", "empty brackets"),
    Hostile("(w, b)", "a comma only separates"),
    Hostile("max(w,)", "something is missing before ')'"),
    Hostile("q*w1", "unknown name 'q' — use w1 and w2"),
    Hostile("q*w", "unknown name 'q'"),
    Hostile("W^2", "names are lower case"),
    Hostile("sinn(w)", "did you mean 'sin'"),
    Hostile("w + w1", "not both"),
    Hostile("max(w)", "max takes 2 arguments"),
    Hostile("sin()", "sin takes 1 argument"),
    Hostile("sin(w, b)", "sin takes 1 argument"),
    Hostile("log(w, 2)", "log takes 1 argument"),
    Hostile("sin w", "'sin' is a function"),
    Hostile("exp", "'exp' is a function"),
    Hostile("w(2)", "missing operator"),
    # undefined everywhere or complex
    Hostile("log(0)*w", "undefined everywhere"),
    Hostile("1/(w - w)", "divides by zero"),
    Hostile("tan(pi/2) + w", "undefined everywhere"),
    Hostile("0^-1 + w", "divides by zero"),
    Hostile("sqrt(-1)*w", "not a real number"),
    Hostile("log(-2) + w", "not a real number"),
    Hostile("(-8)^(1/3) + w", "negative number to a fractional power"),
    Hostile("max(w, (1/tan(e))^0.5)", "negative number to a fractional power"),
    Hostile("log(log(log(2)))*w", "not a real number"),
    Hostile("exp(700)*exp(700)*w", "numbers too large"),
)


class Valid(NamedTuple):
    text: str
    axis_labels: tuple[str, ...]
    window: tuple[float, float] = (-3.0, 3.0)


VALID: tuple[Valid, ...] = (
    Valid("(w*x - y)^2", ("w",)),
    Valid("(w*x - y)^2 + 0.1*abs(w)", ("w",)),
    Valid("(w*x + b - y)^2", ("w", "b")),
    Valid("(1 - w1)^2 + 100*(w2 - w1^2)^2", ("w1", "w2"), (-2.0, 2.0)),
    Valid("(w1^2 + w2 - 11)^2 + (w1 + w2^2 - 7)^2", ("w1", "w2")),
    Valid("log(w1) + w2^2", ("w1", "w2")),
    Valid("0.5*w1^2 + 5*w2^2", ("w1", "w2")),
    Valid("sin(w1)*cos(w2) + 0.1*(w1^2 + w2^2)", ("w1", "w2")),
    Valid("-exp(-(w1^2 + w2^2))", ("w1", "w2")),
    Valid("e^(w/2) + pi*w", ("w",)),
    Valid("sqrt(w^2 + 1)", ("w",)),
    Valid("w^(1/2) + w^-1", ("w",)),
    Valid("-log(sigmoid(w*x + b))", ("w", "b")),
    Valid("softplus(-y*(w*x + b)) + 0.01*w**2", ("w", "b")),
    Valid("max(w1, w2)^2 + min(w1, -w2)", ("w1", "w2")),
    Valid("relu(w - 1)^2 + relu(-w - 1)^2", ("w",)),
    Valid("tanh(w1)*w2^2 + atan(w1*w2)", ("w1", "w2")),
    Valid("w^4 - 3*w^2 + w", ("w",)),
    Valid("1/(1 + w^2)", ("w",)),
    Valid("abs(w1) + 2*abs(w2)", ("w1", "w2")),
    Valid("cosh(w) - sinh(w/2)", ("w",)),
    Valid("log1p(w^2) + ln(b^2 + 1)", ("w", "b")),
    Valid("tan(w)/4", ("w",), (-1.2, 1.2)),
    Valid("w**3 - 2*w**2", ("w",)),
    Valid("b^2 + 1", ("w", "b")),
    Valid("w2^2", ("w1", "w2")),
)


def _nested(inner: str, wrap: str, depth: int) -> str:
    """``wrap`` applied ``depth`` times around ``inner`` (``wrap`` holds one ``{}``)."""
    for _ in range(depth):
        inner = wrap.format(inner)
    return inner


class Heavy(NamedTuple):
    text: str
    expect: str | None  # a fragment of the refusal, or None: the formula is accepted


_TOO_DEEP = "nests roots and fractional powers too deeply"
_TOO_SLOW = "takes too long to prepare"
_TOO_LONG = "too complicated"

HEAVY: tuple[Heavy, ...] = (
    # nested fractional powers: building each level cost ~3.5x the one inside it
    Heavy(_nested("w", "({}^1.5)", 5), None),
    Heavy(_nested("(w1+w2)", "({}^1.5)", 5), None),
    Heavy(_nested("(w*x-y)", "({}^1.5)", 5), None),
    Heavy(_nested("w", "({}^1.5)", 6), _TOO_DEEP),
    Heavy(_nested("w", "({}^1.5)", 11), _TOO_DEEP),
    Heavy(_nested("w", "({}^1.5)", 12), _TOO_DEEP),
    Heavy(_nested("w", "({}^1.5)", 13), _TOO_DEEP),
    Heavy(_nested("w", "({}^1.5)", 19), _TOO_DEEP),  # the 115-character link
    Heavy(_nested("(w1+w2)", "({}^1.5)", 12), _TOO_DEEP),
    Heavy(_nested("w", "({}^(3/2))", 12), _TOO_DEEP),
    Heavy(_nested("w", "sqrt({}^3)", 12), _TOO_DEEP),
    Heavy(_nested("(w1+w2)", "sqrt({}^3)", 9), _TOO_DEEP),
    Heavy(_nested("w", "({}^-1.5)", 12), _TOO_DEEP),
    Heavy(_nested("w1*w2+1", "({}+w1)^(1/3)", 9), _TOO_DEEP),
    Heavy(_nested("w", "sqrt({}+1)", 12), _TOO_DEEP),
    Heavy(_nested("w", "exp(1.5*log({}))", 7), _TOO_DEEP),  # sympy makes t**1.5 of these
    # a few fractional powers whose second derivative sympy spent seconds simplifying
    Heavy(
        "tanh((((((softplus((y)^(3/2)))^2.5-exp(2.5*log(exp(1.5*log(y))))))^3)^(1/3)"
        "+(sqrt((sqrt((w1)^0.7))^0.7)-sqrt(((w1)^2.5)^3))))",
        _TOO_SLOW,
    ),
    Heavy(
        "tanh(tanh((((((((exp(0.5*log(sigmoid(cosh(x)))))^(1/3))^(3/2)-(((exp(0.5*log(1)))"
        "^-1.5*atan(w1))*((w2+1))^(3/2))))^2.5)^3)^(3/2))^(1/3)))",
        _TOO_SLOW,
    ),
    # towers of functions, long sums and products: the derivatives grow, not the formula
    Heavy(_nested("w", "exp({})", 12), None),
    Heavy(_nested("w1*w2", "sigmoid({})", 12), _TOO_LONG),
    Heavy(_nested("w1", "tanh({}*w2)", 10), _TOO_LONG),
    Heavy(_nested("w", "sin({})^1.5", 5), None),
    Heavy(_nested("w1", "({}+w2)^2", 12), _TOO_LONG),
    Heavy(_nested("w1", "({}+w2)^0.7", 5), None),
    Heavy("+".join(f"w1^{i % 9 + 1}*w2^{i % 7 + 1}" for i in range(18)), None),
    Heavy("*".join(f"(w1+{i}*w2)^1.5" for i in range(1, 13)), _TOO_LONG),
    Heavy("*".join(f"sigmoid(w1-{i}*w2)" for i in range(1, 10)), _TOO_LONG),
    Heavy("*".join(f"sqrt(w1^2+{i}*w2^2)" for i in range(1, 12)), _TOO_LONG),
)
"""Formulas that once cost seconds to minutes to prepare. Each must be answered (accepted, or
refused with ``expect`` in the message) within the CPU bound of tests/test_expressions.py."""
