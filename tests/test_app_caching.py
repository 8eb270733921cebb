"""What a learner's change costs the server: only what it changes is computed again.

A room shares one server process; each run, and each run's window of rates for the in-chart
controls, is computed once and cached on its own, so moving one run's rate in the sidebar
computes that run and its window, not the other runs (Newton's among them).
"""

from __future__ import annotations

import pytest

from losslab import descent, ladder
from tests.apppage import ok, open_app, widget

LINK = {"surface": "rosenbrock", "opt": "sgd,momentum,adam,newton",
        "lr": "0.001,0.001,0.05,1", "steps": "173", "start": "-1.1,1.3"}
"""Steps no other test asks for, so nothing is cached before this test computes it."""


@pytest.fixture
def computed(monkeypatch):
    """The optimiser kinds the server runs: ``("run", kind)`` per single run,
    ``("rates", kind, count)`` per window of rates taken at once."""
    calls: list[tuple] = []
    real_run, real_rates = descent.run, ladder.run_rates

    def run(surface, optimizer, **kw):
        calls.append(("run", optimizer.kind))
        return real_run(surface, optimizer, **kw)

    def run_rates(surface, optimizer, *, rates, **kw):
        calls.append(("rates", optimizer.kind, len(rates)))
        return real_rates(surface, optimizer, rates=rates, **kw)

    monkeypatch.setattr(descent, "run", run)
    monkeypatch.setattr(ladder, "run_rates", run_rates)
    return calls


def test_moving_one_runs_rate_computes_that_run_and_its_window_only(computed):
    at = open_app(LINK)
    opened = sorted(c[1] for c in computed if c[0] == "run")
    assert opened == ["adam", "newton", "sgd", "sgd"]  # the four runs (momentum: kind sgd)
    assert {c[1] for c in computed if c[0] == "rates"} == {"sgd", "adam", "newton"}

    computed.clear()
    ok(widget(at, "w_lr").set_value(0.0012).run())
    # Gradient descent at its new rate, and its window of rates: nothing else.
    assert computed == [("run", "sgd"), ("rates", "sgd", 5)]

    computed.clear()
    ok(widget(at, "w_lr").set_value(0.001).run())
    assert computed == []  # back to a rate this server has met: all from the cache
