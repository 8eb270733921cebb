"""How ``ui.compute`` caches: Streamlit's caches called by name, and results shared read-only.

A room of learners shares one server process, so every result a rerun reads comes from a cache
shared by all sessions; these make each read cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np
import streamlit as st

TTL = 3600
"""Seconds a cached result lives."""


def by_name(cache):
    """A Streamlit cache (``st.cache_data(...)``) whose calls pass every argument by name:
    Streamlit looks a positional argument's name up with ``inspect.signature`` on every call,
    once per argument, which cost more than the dozen cache reads of a rerun themselves."""
    def decorate(fn):
        cached = cache(fn)
        names = tuple(inspect.signature(fn).parameters)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            return cached(**dict(zip(names, args, strict=False)), **kwargs)

        call.clear = cached.clear
        return call
    return decorate


def frozen(value):
    """``value`` with every NumPy array in it made read-only (in place), and returned."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for item in value.values():
            frozen(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            frozen(item)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            frozen(getattr(value, field.name))
    return value


def shared(max_entries: int):
    """A cache whose results every rerun and session read as they are, without the copy
    ``st.cache_data`` makes on each read (unpickling a run's arrays or a sweep's tables on
    every rerun was a tenth of its cost). Their arrays are made read-only, so code that tried
    to change a result would fail instead of changing it for every learner; the sweep's
    tables are only ever copied (``charts.whatif``). Bounded in entries (a run is ~50 kB, a
    page of the ladder ~0.4 MB, a sweep ~1 MB)."""
    def decorate(fn):
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            return frozen(fn(*args, **kwargs))

        return by_name(st.cache_resource(max_entries=max_entries, ttl=TTL,
                                          show_spinner=False))(compute)
    return decorate
