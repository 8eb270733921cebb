"""Script runs on one server process take turns.

Python runs one thread at a time (the GIL), so learners' script runs never truly run at once:
interleaved, each run is stretched by every other one in progress (a room's every change
waited for most of the room), and switching between dozens of threads cost a third more CPU
per run (``benchmarks/learners.py``). Taking turns, each run finishes in its own time and
the queue is served in order. A run that has waited ``PATIENCE`` seconds goes ahead anyway,
sharing the processor as before: a heavy run (a network trained, a formula prepared, a
surface computed for the first time) delays the others by at most that, and an overloaded
server degrades as it did without turns.

The lock is the process's own resource, like a connection pool (``st.cache_resource``): it
holds no one's data.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import streamlit as st

PATIENCE = 1.0
"""Seconds a run waits for its turn before going ahead beside the run in progress."""


@st.cache_resource(show_spinner=False)
def _turn() -> threading.RLock:
    # Re-entrant: a whole-page run holds the turn while it draws the lab's fragment.
    return threading.RLock()


@contextlib.contextmanager
def turn(patience: float = PATIENCE) -> Iterator[bool]:
    """Hold this process's turn while the block runs; yields whether the turn was had
    (``False``: waited ``patience`` seconds and went ahead anyway)."""
    lock = _turn()
    had = lock.acquire(timeout=patience)
    try:
        yield had
    finally:
        if had:
            lock.release()


P = ParamSpec("P")
R = TypeVar("R")


def in_turn(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run in this process's turn (``turn``)."""
    @functools.wraps(fn)
    def taking_turns(*args: P.args, **kwargs: P.kwargs) -> R:
        with turn():
            return fn(*args, **kwargs)

    return taking_turns
