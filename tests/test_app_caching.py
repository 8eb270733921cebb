"""What a learner's change costs the server: only what it changes is computed again.

A room shares one server process; each run, and each run's window of rates for the in-chart
controls, is computed once and cached on its own, so moving one run's rate in the sidebar
computes that run and its window, not the other runs (Newton's among them).
"""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, ladder
from tests.apppage import ok, open_app, widget
from tests.chartdata import assert_same_figure

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
    # Every run and its window of rates are read from pages of the ladder: eight rungs at
    # once for the optimisers that update every rate together, Newton rung by rung.
    assert not [c for c in computed if c[0] == "run"]
    assert sorted(computed) == sorted([("rates", "sgd", 8)] * 2 + [("rates", "adam", 8)]
                                      + [("rates", "newton", 1)] * 5)

    computed.clear()
    ok(widget(at, "w_lr").set_value(0.0012).run())
    # A notch along the ladder: the run and its window are on the page already computed.
    assert computed == []

    computed.clear()
    ok(widget(at, "w_lr").set_value(0.05).run())
    # Far along the ladder: gradient descent's new page only, not the other runs.
    assert computed == [("rates", "sgd", 8)]

    computed.clear()
    ok(widget(at, "w_lr").set_value(0.001).run())
    assert computed == []  # back to a rate this server has met: all from the cache


def test_a_run_read_from_a_page_is_the_run_itself():
    """The run the sidebar's numbers come from is ``descent.run``'s, bit for bit, whether it
    is read from a page of the ladder or run on its own (a rate off the ladder)."""
    from losslab import optimizers, surfaces
    from ui import compute

    key = ("rosenbrock", "", ())
    start, steps = (-0.7, 1.6), 61
    cases = [("sgd", {"learning_rate": 0.0015}), ("momentum", {"learning_rate": 0.004,
                                                              "momentum": 0.8}),
             ("adam", {"learning_rate": 0.3, "beta1": 0.9, "beta2": 0.999}),
             ("newton", {"learning_rate": 0.5, "damping": 0.0}),
             ("sgd", {"learning_rate": 0.0017}),  # off the ladder
             ("newton", {"learning_rate": 2.5, "damping": 0.0})]  # a rung beyond Newton's range
    assert compute.at_rates(key, "newton", (("damping", 0.0),), start, steps, (2.5, 1.0))[0] \
        .learning_rate[0] == 2.5
    for name, kwargs in cases:
        spec = (name, tuple(sorted(kwargs.items())))
        got = compute.one_run(key, spec, start, steps, ("constant", steps, ()), 0, 0)
        want = descent.run(surfaces.get("rosenbrock"), optimizers.make(name, **kwargs),
                           start=start, steps=steps)
        assert got.diverged_at == want.diverged_at, name
        for field in ("params", "loss", "grad", "learning_rate"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), (name, field)
        assert got.state.keys() == want.state.keys()
        for k in want.state:
            assert np.array_equal(got.state[k], want.state[k]), (name, k)
        assert (got.hessian is None) == (want.hessian is None)
        if want.hessian is not None:
            assert np.array_equal(got.hessian, want.hessian)


def test_one_sessions_scene_never_waits_for_anothers():
    """A scene's lazily computed fields are computed by its own script run alone: a room's
    sessions computing their scenes at once must not queue behind each other."""
    import threading

    from ui.scene import once

    class Lazy:
        entered, finished = threading.Event(), threading.Event()

        def __init__(self, first: bool):
            self.first = first

        @once
        def value(self) -> str:
            if self.first:  # the slow one: holds on until the other one has been computed
                Lazy.entered.set()
                return "overlapped" if Lazy.finished.wait(10) else "queued"
            Lazy.finished.set()
            return "quick"

    slow, quick = Lazy(True), Lazy(False)
    results = {}
    thread = threading.Thread(target=lambda: results.setdefault("slow", slow.value))
    thread.start()
    assert Lazy.entered.wait(10)
    assert quick.value == "quick"
    thread.join(15)
    assert results == {"slow": "overlapped"}
    assert slow.value == "overlapped"  # computed once, then read


def test_the_map_joins_rows_kept_run_by_run_into_the_figure_of_all_the_runs(monkeypatch):
    """The what-if map's rows are kept run by run and joined for the runs shown: a learner
    who moves one run's rate has that run's rows made anew, not the others'; and the joined
    figure is the one drawn from all the runs at once, row for row."""
    import pyarrow as pa

    from losslab import charts, permalink, whatif
    from ui import compute, sweeps
    from ui.scene import run_names

    made: list[str] = []
    real = charts.whatif_map_rows

    def rows_of(sweep, **kw):
        made.append(sweep.windows[0].optimizer)
        return real(sweep, **kw)

    joins: list[int] = []
    real_combine = whatif.combine

    def combine(parts):
        joins.append(len(parts))
        return real_combine(parts)

    monkeypatch.setattr(charts, "whatif_map_rows", rows_of)
    monkeypatch.setattr(whatif, "combine", combine)
    link = {**LINK, "steps": "167"}  # nothing else asks for these steps
    at = open_app(link)
    assert sorted(made) == ["adam", "momentum", "newton", "sgd"]
    made.clear()
    ok(widget(at, "w_lr").set_value(0.05).run())
    assert made == ["sgd"]
    assert joins == []  # the map never needed the runs as one sweep

    s, _ = permalink.parse_query(link)
    surface, key, names = compute.surface_key(s), compute.run_key(s), run_names(s,
                                                                                with_rates=False)
    joined = sweeps.whatif_map(surface, key, names, s.resolution, 9, 380)
    whole_sweep = sweeps.sweep(surface, key, names)
    whole = [charts.with_choices(spec, whole_sweep.windows) for spec in sweeps.whatif_map_of(
        compute.surface_for(s), whole_sweep,
        compute.map_background(surface, s.resolution, 380), 9)]
    assert_same_figure(joined, whole)
    # Each run's paths go as a dataset of their own, the same bytes on every rerun that
    # draws that run: the browser keeps a dataset whose bytes have not changed.
    again = sweeps.whatif_map(surface, key, names, s.resolution, 9, 380)
    for k in range(4):
        name = charts.paths_name(k)
        sent = pa.ipc.open_stream(joined[0]["datasets"][name]).read_all()
        assert sent.num_rows > 0 and "run" not in sent.column_names
        assert again[0]["datasets"][name] is joined[0]["datasets"][name]
        assert again[1]["datasets"][name] is joined[1]["datasets"][name]
