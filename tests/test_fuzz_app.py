"""Hypothesis drives the whole app through hundreds of settings: nothing raises, nothing
non-finite reaches a chart. Each example is a fresh session opened from a link, the way a
learner or a hostile link would set every control at once."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from losslab import optimizers, surfaces
from tests import chartdata
from tests.permalink_corpus import HEAVY_LINKS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EXAMPLES = int(os.environ.get("LOSSLAB_FUZZ_EXAMPLES", "120"))  # ~0.7–1.1 s each

FORMULAS = (
    "(w*x - y)^2",
    "log(w)",
    "sqrt(w1) + w2^2",
    "abs(w1) + abs(w2)",
    "1/w1 + w2^2",
    "(1 - w1)^2 + 100*(w2 - w1^2)^2",
    "exp(w^2)",
    "tanh(w1*w2) + 0.01*(w1^2 + w2^2)",
    "q + w",
)
NUMBERS = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.6g}"),
    st.sampled_from(["0", "-0", "1e-300", "1e300", "inf", "nan", "abc", "", "-1e5"]),
)
RATES = st.one_of(
    st.floats(1e-6, 50, allow_nan=False).map(lambda v: f"{v:.3g}"),
    st.sampled_from(["1e-4", "10", "0.25", "2", "inf"]),
)


HEAVY = st.sampled_from([dict(query) for _, query, _ in HEAVY_LINKS])
"""The heavy corners of the hardening corpus: every run also opens some of them."""


@st.composite
def links(draw) -> dict[str, str]:
    if draw(st.integers(0, 9)) == 0:  # one link in ten from the heavy corners
        return draw(HEAVY)
    query: dict[str, str] = {}
    surface = draw(st.sampled_from([*surfaces.SURFACES, "custom"]))
    query["surface"] = surface
    if surface == "custom":
        query["expr"] = draw(st.sampled_from(FORMULAS))
    query["view"] = draw(st.sampled_from(["lesson", "surface", "sweep", "compare"]))
    names = draw(st.lists(st.sampled_from(list(optimizers.OPTIMIZERS)), min_size=1, max_size=9))
    query["opt"] = ",".join(names)
    query["lr"] = ",".join(draw(st.lists(RATES, min_size=1, max_size=len(names))))
    query["start"] = ",".join(draw(st.lists(NUMBERS, min_size=1, max_size=3)))
    query["steps"] = draw(st.sampled_from(["1", "2", "30", "200", "5000", "0", "-5"]))
    optional = {
        "x": NUMBERS, "y": NUMBERS, "kappa": NUMBERS, "res": st.sampled_from(["2", "50", "400"]),
        "sched": st.sampled_from(["constant", "step", "exponential", "cosine", "warmup",
                                  "onecycle", "plateau", "polynomial", "restarts"]),
        "gamma": NUMBERS, "period": st.sampled_from(["1", "10", "5000"]),
        "batch": st.sampled_from(["0", "1", "7", "100000"]),
        "mom": NUMBERS, "b1": NUMBERS, "b2": NUMBERS, "damp": NUMBERS,
        "loss": st.sampled_from(["mse", "mae", "huber"]), "l1": NUMBERS, "l2": NUMBERS,
        "n": st.sampled_from(["8", "100", "2000"]), "noise": NUMBERS,
        "wmin": NUMBERS, "wmax": NUMBERS, "step": NUMBERS,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=6)):
        query[key] = draw(optional[key])
    return query


def resident_mb() -> float:
    """This process's resident memory, from the kernel."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


MEMORY_GROWTH_MB = 150
"""Bound on resident-memory growth over the whole fuzz run: the caches are bounded."""


def warmed_up_memory_mb() -> float:
    """Resident memory after the first imports and caches (the baseline for growth)."""
    for query in ({}, {"surface": "rosenbrock"}, {"view": "nn", "steps": "50"}):
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
    gc.collect()
    return resident_mb()


def check_link(query: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, (query, [e.message for e in at.exception])
    for element in at.get("vega_lite_chart"):
        assert not chartdata.non_finite_cells(element), query


def test_any_link_opens_without_exception_finite_charts_and_bounded_memory():
    """Hundreds of distinct settings in one process: nothing raises, nothing non-finite is
    drawn, and the bounded caches fill, then hold. The memory bound is checked within this
    one test, so it holds whatever order the tests run in."""
    baseline = warmed_up_memory_mb()
    examples = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(query=links())
    def any_link(query):
        nonlocal examples
        check_link(query)
        examples += 1

    any_link()
    assert examples >= min(EXAMPLES, 100)
    gc.collect()
    growth = resident_mb() - baseline
    assert growth <= MEMORY_GROWTH_MB, f"resident memory grew {growth:.0f} MB"
