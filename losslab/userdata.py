"""A learner's own (x, y) data, read from an uploaded CSV file, with a clear message per problem.

Accepted: UTF-8 text (a byte-order mark is fine), comma-, semicolon- or tab-separated, an optional
header row, blank lines anywhere, spaces around values. The data are exactly two numeric columns,
or any columns of which two are headed ``x`` and ``y``. Numbers are plain decimals (``-1.5``,
``2e-3``) of size at most ``MAX_VALUE``; nothing is evaluated, and ``nan``, ``inf``, ``1_000``
or a quote left open at the end of a line are refused, naming the line.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np

from losslab.surfaces import Dataset

__all__ = ["MAX_BYTES", "MAX_ROWS", "MAX_VALUE", "UserDataError", "parse_csv"]

MAX_BYTES = 2_000_000
"""The largest file accepted; a caller may lower the limit, never raise it."""
MAX_ROWS = 100_000
"""The most data rows accepted; a caller may lower the limit, never raise it."""
MAX_VALUE = 1e12
"""The largest size of a value accepted. Losses square residuals and sum them over up to
``MAX_ROWS`` rows, so values near 1e154 would overflow to infinity on the loss surface; up to
1e12 every loss, gradient and Hessian stays far inside float range."""
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_SEPARATORS = (("\t", "tabs"), (";", "semicolons"), (",", "commas"))
_SHOWN_CHARS = 30


class UserDataError(ValueError):
    """The uploaded data cannot be used; the message says why in plain words."""


def _shown(text: str) -> str:
    safe = "".join(c if c.isprintable() else "?" for c in text[: _SHOWN_CHARS + 1])
    return safe if len(safe) <= _SHOWN_CHARS else safe[: _SHOWN_CHARS - 1] + "…"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserDataError(
            f"The file is not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}). "
            "Save it as 'CSV UTF-8' and upload it again."
        ) from None
    if "\x00" in text:
        raise UserDataError("The file is not text: it contains NUL bytes. Upload a CSV file.")
    return text


def _separator(line: str) -> str:
    """Tab, then semicolon, then comma: the first that occurs in the first line."""
    for sep, _ in _SEPARATORS:
        if sep in line:
            return sep
    return ","


def _rows(text: str, max_rows: int) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of every non-blank line; at most a header + ``max_rows``."""
    numbered = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise UserDataError("The file is empty: it has no data rows.")
    if len(numbered) > max_rows + 1:  # checked before the cells are split: that is the cost
        raise UserDataError(
            f"The file has more than {max_rows:,} data rows ({len(numbered):,} lines); "
            f"the limit is {max_rows:,}."
        )
    sep = _separator(numbered[0][1])
    lines = [line for _, line in numbered]
    if '"' in text:
        cells = [_quoted(line, number, sep) for number, line in numbered]
    else:  # no quoting, so a plain split is the same as csv and much faster
        cells = [line.split(sep) for line in lines]
    rows = []
    for (number, _), row in zip(numbered, cells, strict=True):
        row = [c.strip() for c in row]
        if any(row):
            rows.append((number, row))
    if not rows:
        raise UserDataError("The file is empty: it has no data rows.")
    return rows


def _quoted(line: str, number: int, sep: str) -> list[str]:
    """The cells of one line that may hold quotes. Each line is read on its own: a quoted
    value spanning lines would make the rows and their line numbers disagree."""
    if '"' not in line:
        return line.split(sep)
    try:
        return next(csv.reader([line], delimiter=sep, strict=True))
    except csv.Error:
        raise UserDataError(
            f'Line {number} has a quote (") that is not closed on the same line. Close it, or '
            "remove the quotes: each value must open and close its quotes on one line."
        ) from None


def _columns(header: list[str] | None, width: int) -> tuple[int, int]:
    """Which two columns hold x and y."""
    names = [h.lower() for h in header] if header else []
    if "x" in names and "y" in names:
        return names.index("x"), names.index("y")
    if width == 2:
        return 0, 1
    found = f"{width} column{'s' if width != 1 else ''}"
    raise UserDataError(
        f"The file has {found}. It needs exactly two columns of numbers (x, then y), or "
        "columns headed x and y; separate values with commas, semicolons or tabs."
    )


def _column(values: list[str], lines: list[int], name: str) -> np.ndarray:
    """Strictly parsed finite floats, or an error naming the first bad line."""
    if not all(map(_DECIMAL.fullmatch, values)):
        i = next(i for i, v in enumerate(values) if not _DECIMAL.fullmatch(v))
        value, line = values[i], lines[i]
        if value == "":
            raise UserDataError(
                f"Line {line} has no value for {name}. Fill it in or delete the line."
            )
        if _NOT_FINITE.fullmatch(value):
            raise UserDataError(
                f'Line {line}: {name} is "{value}"; only finite numbers can be used.'
            )
        comma = re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value)
        hint = " Use a point for decimals, like 1.5." if comma else ""
        raise UserDataError(
            f'Line {line}: {name} is "{_shown(value)}", which is not a number.{hint}'
        )
    column = np.array(values, dtype=float)
    infinite = np.flatnonzero(~np.isfinite(column))
    if infinite.size:
        i = int(infinite[0])
        raise UserDataError(
            f'Line {lines[i]}: {name} is "{_shown(values[i])}", too large to be used as a number.'
        )
    large = np.flatnonzero(np.abs(column) > MAX_VALUE)
    if large.size:
        i = int(large[0])
        raise UserDataError(
            f'Line {lines[i]}: {name} is "{_shown(values[i])}", larger than '
            f"1e{round(math.log10(MAX_VALUE))} in size; losslab fits values up to that. Rescale "
            "the column (for example, measure in thousands or millions)."
        )
    return column


def parse_csv(raw: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> Dataset:
    """The (x, y) rows of a CSV file as a regression ``Dataset`` with ``x`` and ``y`` of shape
    ``(n,)``. Raises ``UserDataError`` naming the problem (and the line, where there is one):
    too large, not UTF-8 text, empty, an unclosed quote, wrong columns, a missing or non-numeric
    or non-finite value, a value larger than ``MAX_VALUE`` in size, fewer than 2 rows, all x
    equal, or more than ``max_rows`` rows.
    ``max_bytes`` and ``max_rows`` are capped at ``MAX_BYTES`` and ``MAX_ROWS``.
    """
    max_bytes = min(int(max_bytes), MAX_BYTES)
    max_rows = min(int(max_rows), MAX_ROWS)
    if len(raw) > max_bytes:
        raise UserDataError(f"The file is {_size(len(raw))}; the limit is {_size(max_bytes)}.")
    rows = _rows(_decode(raw), max_rows)
    first = rows[0][1]
    # A header names columns: none of its cells reads as a number (or as nan/inf).
    numeric = any(_DECIMAL.fullmatch(c) or _NOT_FINITE.fullmatch(c) for c in first)
    header = None if numeric else first
    data = rows[1:] if header else rows
    if len(data) > max_rows:
        raise UserDataError(f"The file has {len(data):,} data rows; the limit is {max_rows:,}.")
    width = len(first)
    ix, iy = _columns(header, width)
    for line, row in data:
        if len(row) != width:
            raise UserDataError(
                f"Line {line} has {len(row)} value{'s' if len(row) != 1 else ''}; "
                f"the first line has {width}."
            )
    if len(data) < 2:
        raise UserDataError(
            f"The file has {len(data)} data row{'s' if len(data) != 1 else ''}; "
            "at least 2 rows with different x values are needed."
        )
    lines = [line for line, _ in data]
    named = header is not None and [header[ix].lower(), header[iy].lower()] != ["x", "y"]
    x_name, y_name = (f"x ({header[ix]})", f"y ({header[iy]})") if named else ("x", "y")
    x = _column([row[ix] for _, row in data], lines, x_name)
    y = _column([row[iy] for _, row in data], lines, y_name)
    if np.all(x == x[0]):
        raise UserDataError(
            f"Every x value is {x[0]:g}, so the data cannot tell the slope apart from the "
            "intercept and the loss surface would be degenerate. Give at least two different "
            "x values."
        )
    return Dataset(x=x, y=y, kind="regression")
