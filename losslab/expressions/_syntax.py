"""Reading a typed loss formula safely: text checks, tokens, then Python's own parser.

Nothing here runs the text. The steps, each cheap and bounded:

1. the text must be a ``str`` of at most ``MAX_LENGTH`` characters, made only of ASCII letters,
   digits, spaces and ``+-*/^().,`` — checked before any parsing, because Python folds
   look-alike Unicode letters (``ｗ``, ``𝑤``) into ASCII names;
2. a small tokenizer checks brackets (with positions and a nesting cap), Python keywords,
   numbers, and that operands and operators alternate ("2w" → "write * to multiply");
3. the tokens, with ``^`` as ``**``, go to ``ast.parse(..., mode="eval")``, which only builds a
   syntax tree; node count and depth are capped before anything walks the tree recursively.

``_build`` then checks the tree against its allow-list and builds the sympy expression.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "FUNCTION_ARITY",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "MAX_NODES",
    "NAMED_CONSTANTS",
    "VARIABLES",
    "ExpressionError",
    "Syntax",
    "arity_message",
    "normalise",
    "read",
    "unknown_function_message",
]

MAX_LENGTH = 200
"""The longest formula accepted, in characters."""
MAX_NESTING = 20
"""The most brackets open at once."""
MAX_DEPTH = 120
"""The deepest syntax tree accepted; a flat sum of 100 terms is 101 deep."""
MAX_NODES = 400
"""The most syntax-tree nodes accepted (200 characters make fewer than this)."""

VARIABLES = ("w", "b", "w1", "w2")
"""Parameter names: ``w`` alone (1-D), ``w`` and ``b`` (2-D), or ``w1`` and ``w2`` (2-D)."""
NAMED_CONSTANTS = ("pi", "e", "x", "y")
"""Constant names: ``pi``, ``e``, and the data values ``x`` and ``y`` given by the caller."""
FUNCTION_ARITY: Mapping[str, int] = MappingProxyType({
    "exp": 1, "log": 1, "ln": 1, "log1p": 1, "sqrt": 1, "abs": 1,
    "sin": 1, "cos": 1, "tan": 1, "atan": 1, "sinh": 1, "cosh": 1, "tanh": 1,
    "sigmoid": 1, "softplus": 1, "relu": 1, "max": 2, "min": 2,
})  # fmt: skip
"""The functions a formula may call, with their number of arguments (read-only)."""

_ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + " +-*/^().,")
_COLLAPSED_WHITESPACE = re.compile(r"[ \t\r\n]+")
_CHARACTER_HINTS = MappingProxyType({
    "=": "type only the loss itself, e.g. (w - 3)^2",
    "_": "names are w, b, w1, w2, x, y, pi, e and the listed functions",
    "'": "a formula holds no text in quotes",
    '"': "a formula holds no text in quotes",
    "[": "only round brackets ( ) are allowed",
    "]": "only round brackets ( ) are allowed",
    "{": "only round brackets ( ) are allowed",
    "}": "only round brackets ( ) are allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "comparisons are not allowed",
    ":": "a formula is a single expression",
    ";": "a formula is a single expression",
})
_TOKEN = re.compile(
    r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z][A-Za-z0-9]*)"
    r"|(?P<op>\*\*|[-+*/^(),.])"
    r"|(?P<space> +)"
)
_BINARY_ONLY = frozenset({"*", "/", "**", "^"})


class ExpressionError(ValueError):
    """A formula that cannot be used; ``str(error)`` is the message to show the user.

    ``position`` is the 0-based index in the normalised text the message points at, or ``None``.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[type[ExpressionError], tuple[str, int | None]]:
        # Pickled whole (with its position) when a child process prepared the formula.
        return (ExpressionError, (self.message, self.position))


@dataclass(frozen=True)
class Syntax:
    """A checked syntax tree and the way back from its node positions to the typed text.

    Attributes:
        text: the normalised text that was read.
        tree: the body of ``ast.parse(source, mode="eval")``.
        source: what Python parsed: the tokens joined by spaces, ``^`` written as ``**``.
        starts: ``{offset in source: offset in text}`` for every token start.
        ends: ``{offset in source: offset in text}`` for every token end.
    """

    text: str
    tree: ast.expr
    source: str
    starts: Mapping[int, int]
    ends: Mapping[int, int]

    def position(self, node: ast.AST) -> int | None:
        """Where ``node`` starts in the typed text (0-based), if known."""
        return self.starts.get(getattr(node, "col_offset", -1))

    def snippet(self, node: ast.AST) -> str:
        """The typed text of ``node``, as the user wrote it."""
        start = self.starts.get(getattr(node, "col_offset", -1))
        end = self.ends.get(getattr(node, "end_col_offset", -1) or -1)
        if start is None or end is None:
            return ast.get_source_segment(self.source, node) or "?"
        return self.text[start:end]


def normalise(text: str) -> str:
    """``text`` with runs of spaces, tabs and newlines collapsed to one space, ends stripped.

    Equal formulas typed with different spacing normalise to the same string, so a cache keyed
    by ``normalise(text)`` shares one entry. Other characters are kept for ``read`` to judge.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the formula must be text, not {type(text).__name__}")
    return _COLLAPSED_WHITESPACE.sub(" ", text).strip(" ")


def read(text: str) -> Syntax:
    """Check ``text`` and parse it into a syntax tree, or raise ``ExpressionError``.

    The tree is not yet checked against the allow-list of node types; ``_build`` does that.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the formula must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({MAX_LENGTH} characters max)")
    text = normalise(text)
    if not text:
        raise ExpressionError("empty expression: type a loss such as (w - 3)^2")
    _check_characters(text)
    tokens = _tokens(text)
    _check_brackets(tokens)
    _check_sequence(tokens)
    source, starts, ends = _source(tokens)
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as err:
        offset = (err.offset or 1) - 1
        position = max((t for s, t in starts.items() if s <= offset), default=0)
        raise ExpressionError(
            f"cannot read the formula near character {position + 1}", position
        ) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply") from None
    except ValueError:  # e.g. a NUL byte, which the character check already refuses
        raise ExpressionError("cannot read the formula") from None
    _check_size(tree)
    return Syntax(text=text, tree=tree, source=source, starts=starts, ends=ends)


def _describe(ch: str) -> str:
    if ch.isprintable() and not ch.isspace():
        name = unicodedata.name(ch, "")
        return f"'{ch}' ({name})" if name and not ch.isascii() else f"'{ch}'"
    return f"an invisible character (U+{ord(ch):04X})"


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch in _ALLOWED_CHARACTERS:
            continue
        where = f"{_describe(ch)} at character {i + 1} is not allowed"
        if ch in _CHARACTER_HINTS:
            raise ExpressionError(f"{where}: {_CHARACTER_HINTS[ch]}", i)
        if not ch.isascii() and ch.isprintable():
            raise ExpressionError(
                f"{where}: retype it with plain keyboard letters, digits and + - * / ^ ( ) . ,",
                i,
            )
        raise ExpressionError(f"{where}: use letters, digits and + - * / ^ ( ) . , only", i)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name" or "op"
    text: str
    start: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append(_Token(kind, match.group(), match.start()))
    return tokens


def _check_brackets(tokens: list[_Token]) -> None:
    open_at: list[int] = []
    for tok in tokens:
        if tok.text == "(":
            open_at.append(tok.start)
            if len(open_at) > MAX_NESTING:
                raise ExpressionError(
                    f"expression nested too deeply (more than {MAX_NESTING} brackets open "
                    f"at character {tok.start + 1})",
                    tok.start,
                )
        elif tok.text == ")":
            if not open_at:
                raise ExpressionError(
                    f"unbalanced parentheses: ')' at character {tok.start + 1} closes nothing",
                    tok.start,
                )
            open_at.pop()
    if open_at:
        raise ExpressionError(
            f"unbalanced parentheses: '(' at character {open_at[-1] + 1} is never closed",
            open_at[-1],
        )


def _check_sequence(tokens: list[_Token]) -> None:
    """Operands and operators must alternate; commas only inside function calls."""
    expect_operand = True
    calls: list[str | None] = []  # each open bracket: the function it calls, or None
    previous: _Token | None = None
    for tok in tokens:
        at = f"at character {tok.start + 1}"
        if tok.kind == "name" and keyword.iskeyword(tok.text):
            raise ExpressionError(
                f"'{tok.text}' is not allowed: a formula holds numbers, w, b, w1, w2, x, y, "
                "pi, e, operators and functions",
                tok.start,
            )
        if tok.kind == "number" and re.fullmatch(r"0\d+", tok.text) and int(tok.text):
            raise ExpressionError(
                f"'{tok.text}' {at}: whole numbers cannot start with 0", tok.start
            )
        if tok.text == ".":
            raise ExpressionError(
                f"'.' {at}: a dot may only be a decimal point, as in 0.5", tok.start
            )
        if previous is not None and previous.text in FUNCTION_ARITY and tok.text != "(":
            raise ExpressionError(
                f"'{previous.text}' is a function: write {previous.text}(...)", previous.start
            )
        if expect_operand:
            if tok.kind in ("number", "name"):
                expect_operand = tok.text in FUNCTION_ARITY
            elif tok.text == "(":
                called = previous is not None and previous.text in FUNCTION_ARITY
                calls.append(previous.text if called and previous is not None else None)
            elif tok.text in _BINARY_ONLY:
                raise ExpressionError(
                    f"'{tok.text}' {at} needs a number or name before it", tok.start
                )
            elif tok.text == ")" and previous is not None and previous.text == "(":
                function = calls[-1]
                if function is not None:
                    raise ExpressionError(arity_message(function, 0), tok.start)
                raise ExpressionError(f"empty brackets {at}", tok.start)
            elif tok.text in (")", ","):
                raise ExpressionError(f"something is missing before '{tok.text}' {at}", tok.start)
        else:
            if tok.text == "(" and previous is not None and previous.kind == "name":
                if previous.text not in (*VARIABLES, *NAMED_CONSTANTS):
                    raise ExpressionError(unknown_function_message(previous.text), previous.start)
            if tok.kind in ("number", "name") or tok.text == "(":
                assert previous is not None
                raise ExpressionError(
                    f"missing operator between '{previous.text}' and '{tok.text}' {at}: "
                    "write * to multiply",
                    tok.start,
                )
            if tok.text == ")":
                calls.pop()
            elif tok.text == ",":
                if not (calls and calls[-1] is not None):
                    raise ExpressionError(
                        f"',' {at}: a comma only separates a function's arguments, "
                        "as in max(w, b)",
                        tok.start,
                    )
                expect_operand = True
            else:
                expect_operand = True
        previous = tok
    if previous is not None and previous.text in FUNCTION_ARITY:
        raise ExpressionError(
            f"'{previous.text}' is a function: write {previous.text}(...)", previous.start
        )
    if expect_operand and previous is not None:
        raise ExpressionError(
            f"the formula ends too early: something is missing after '{previous.text}'",
            previous.start,
        )


def arity_message(function: str, given: int) -> str:
    """The message for calling ``function`` with the wrong number of arguments."""
    needed = FUNCTION_ARITY[function]
    example = f"{function}(w, b)" if needed == 2 else f"{function}(w)"
    plural = "argument" if needed == 1 else "arguments"
    return f"{function} takes {needed} {plural}, as in {example} (got {given})"


def unknown_function_message(name: str) -> str:
    """The message for calling a function that is not in ``FUNCTION_ARITY``."""
    close = difflib.get_close_matches(name.lower(), list(FUNCTION_ARITY), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown function '{name}' — {hint}available: {', '.join(FUNCTION_ARITY)}"


def _source(tokens: list[_Token]) -> tuple[str, dict[int, int], dict[int, int]]:
    parts: list[str] = []
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    offset = 0
    for tok in tokens:
        piece = "**" if tok.text == "^" else tok.text
        starts[offset] = tok.start
        ends[offset + len(piece)] = tok.start + len(tok.text)
        parts.append(piece)
        offset += len(piece) + 1
    return " ".join(parts), starts, ends


def _check_size(tree: ast.expr) -> None:
    # Iterative on purpose: the depth must be known before anything recurses over the tree.
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply")
        if count > MAX_NODES:
            raise ExpressionError("expression too complicated: use fewer terms")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
