"""Tests for losslab.cpu_limit: a task in a child process, stopped after its CPU allowance."""

from __future__ import annotations

import time

import pytest

from losslab import cpu_limit
from losslab.expressions import ExpressionError

pytestmark = pytest.mark.skipif(not cpu_limit.available(), reason="needs fork (Linux)")


def _spin(seconds: float) -> None:
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def _refuse() -> None:
    raise ExpressionError("log of a negative number is not a real number", 4)


def test_task_over_its_allowance_is_stopped():
    with pytest.raises(cpu_limit.GuardError, match="more than 0.2 s of CPU"):
        cpu_limit.within_limit(_spin, (30.0,), cpu_seconds=0.2)


def test_task_within_its_allowance_reports_the_cpu_it_used():
    used = cpu_limit.within_limit(_spin, (0.05,), cpu_seconds=1.0)
    assert 0.05 <= used < 1.0


def test_refusal_raised_in_the_child_reaches_the_caller_whole():
    with pytest.raises(ExpressionError, match="not a real number") as info:
        cpu_limit.within_limit(_refuse, cpu_seconds=1.0)
    assert info.value.position == 4
