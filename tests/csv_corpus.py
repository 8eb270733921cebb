"""Pastes and uploads for tests/test_userdata.py: hostile or clumsy ones that must be refused
with a sentence naming the problem, and large valid ones whose cost the work budget bounds.

``HOSTILE_CSV`` pairs raw bytes with a fragment the ``UserDataError`` message must contain.
"""

from __future__ import annotations

from typing import NamedTuple


class HostileCsv(NamedTuple):
    raw: bytes
    expect: str  # a fragment of the error message


def _rows(n: int, first: str = "x,y") -> bytes:
    return (first + "\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(n))).encode()


HOSTILE_CSV: tuple[HostileCsv, ...] = (
    # quoting
    HostileCsv(b'x,y\n"1,2\n3,4\n', 'Line 2 has a quote (") that is not closed'),
    HostileCsv(b'x,y\n1,"2\n3",4\n', 'Line 2 has a quote (") that is not closed'),
    HostileCsv(b'x,y\n1,2\n3,"4""\n', 'Line 3 has a quote (") that is not closed'),
    HostileCsv(b'"x,y\n1,2\n3,4\n', 'Line 1 has a quote (") that is not closed'),
    HostileCsv(b'x,y\n"1"x,2\n3,4\n', "Line 2 has a quote"),
    HostileCsv(b'x,y\n"",2\n3,4\n', "Line 2 has no value for x"),
    # magnitudes: squared residuals of values near 1e154 overflow
    HostileCsv(b"x,y\n1e200,1e200\n-1e200,-1e200\n", 'Line 2: x is "1e200", larger than 1e12'),
    HostileCsv(b"x,y\n1,1e154\n2,3\n", 'Line 2: y is "1e154", larger than 1e12'),
    HostileCsv(b"x,y\n1,2\n-2e12,3\n", 'Line 3: x is "-2e12", larger than 1e12'),
    HostileCsv(b"x,y\n1,2\n2,1000000000000.5\n", "larger than 1e12"),
    HostileCsv(b"x,y\n1e999,2\n3,4\n", "too large to be used as a number"),
    HostileCsv(b"x,y\n1,inf\n3,4\n", 'Line 2: y is "inf"; only finite numbers'),
    HostileCsv(b"x,y\n1,-Infinity\n3,4\n", "only finite numbers"),
    HostileCsv(b"x,y\nnan,2\n3,4\n", "only finite numbers"),
    # not numbers, nothing evaluated
    HostileCsv(b"x,y\n=cmd|' /C calc'!A0,2\n3,4\n", "which is not a number"),
    HostileCsv(b"x,y\n__import__('os'),2\n3,4\n", "which is not a number"),
    HostileCsv(b"x,y\n1_000,2\n3,4\n", "which is not a number"),
    HostileCsv(b"x,y\n0x10,2\n3,4\n", "which is not a number"),
    HostileCsv("x,y\n١٢٣,2\n3,4\n".encode(), "which is not a number"),
    HostileCsv(b"x,y\n1,2\n3,4,5\n", "Line 3 has 3 values; the first line has 2"),
    HostileCsv(b"x;y\n1,5;2\n3;4\n", "Use a point for decimals"),
    # sizes, encodings, degenerate data
    HostileCsv(b"", "The file is empty"),
    HostileCsv(b"\n\n  \n", "The file is empty"),
    HostileCsv(b"x,y\n", "has 0 data rows"),
    HostileCsv(b"x,y\n1,2\n", "has 1 data row"),
    HostileCsv(b"x,y\n1,2\n1,3\n", "Every x value is 1"),
    HostileCsv(b"x,y\n\xff\xfe1,2\n", "not UTF-8 text"),
    HostileCsv(b"x,y\n1,2\x00\n3,4\n", "NUL bytes"),
    HostileCsv(b"a,b,c\n1,2,3\n4,5,6\n", "The file has 3 columns"),
    HostileCsv(_rows(100_001), "more than 100,000 data rows"),
    HostileCsv(b"x,y\n" + b"1," * 2_000_000, "the limit is 2.0 MB"),
)
"""Each must raise ``UserDataError`` whose message contains ``expect``."""

LARGE_PASTE = _rows(10_000)
"""A valid 10 000-row paste: accepted; its cost is what the work budget scales down."""
