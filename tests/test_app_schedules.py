"""Learning-rate schedules in the app: the sidebar, the link and the rate chart they draw."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from losslab import descent, lessons, optimizers, schedules, surfaces
from losslab.settings import optimizer_kwargs, surface_params
from tests import chartdata
from tests.apppage import open_panel
from tests.test_app import open_app

SCHEDULE_PANEL = "x_schedule"
"""The sidebar's folded "Learning-rate schedule" panel: its widgets are drawn once it is open."""


def open_schedules(query: dict[str, str]) -> AppTest:
    """The page from ``query`` with the schedule panel unfolded, as a learner opens it."""
    return open_panel(open_app(query), SCHEDULE_PANEL)

NEW_SCHEDULES = ("onecycle", "plateau", "polynomial", "restarts")
LINK = {"surface": "rosenbrock", "opt": "sgd,adam", "steps": "120"}
# Rosenbrock's runs keep improving, so the plateau schedule is shown where a run stalls.
STALLING = {"surface": "linear_regression", "loss": "mae", "opt": "sgd,adam", "lr": "0.3,0.05",
            "steps": "120"}


def rate_rows(at: AppTest) -> pd.DataFrame | None:
    """The learning-rate chart's rows in the surface figure, the map's panel or the loss
    charts' beside it (``None`` when it is not drawn)."""
    for element in at.get("vega_lite_chart")[:2]:
        for frame in chartdata.frames(element).values():
            if "learning_rate" in frame.columns:
                return frame
    return None


def direct_runs(at: AppTest, schedule: schedules.Schedule | schedules.Scheduler):
    """The app's runs redone here, straight from the registries, with ``schedule``."""
    s = at.session_state["settings"]
    surface = surfaces.get(s.surface, **surface_params(s))
    return [
        descent.run(surface, optimizers.make(name, **kw), start=s.start, steps=s.steps,
                    schedule=schedule)
        for name, kw in optimizer_kwargs(s)
    ]


def assert_chart_shows(rows: pd.DataFrame, histories: list[descent.History]) -> None:
    """Every drawn rate is the rate the run used at that step (to the 6 digits sent)."""
    for i, h in enumerate(histories):
        drawn = rows[rows["run"] == str(i + 1)]
        assert len(drawn) > 10
        steps = drawn["step"].to_numpy(dtype=int)
        np.testing.assert_allclose(drawn["learning_rate"].to_numpy(dtype=float),
                                   h.learning_rate[steps], rtol=1e-5)


def sidebar_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption]


@pytest.mark.parametrize("name", NEW_SCHEDULES)
def test_picking_a_schedule_draws_the_rates_it_gives(name):
    at = open_schedules(STALLING if name == "plateau" else LINK)
    assert rate_rows(at) is None, "a constant rate draws no rate chart"
    at.selectbox(key="w_schedule").set_value(name).run()
    assert not at.exception, [e.message for e in at.exception]
    spec = schedules.SPECS[name]
    assert spec.explanation in sidebar_captions(at)
    assert at.query_params["sched"] in (name, [name])
    # only this schedule's own settings are shown, each seeded with its default
    for other in schedules.SPECS.values():
        for p in other.params:
            shown = [w for w in (*at.number_input, *at.selectbox, *at.toggle)
                     if w.key == f"w_{p.key}"]
            assert bool(shown) == (p in spec.params), (name, p.key)
            if shown:
                assert shown[0].value == p.default, p.key
    rows = rate_rows(at)
    assert rows is not None
    histories = direct_runs(at, schedules.build(name, 120))
    assert_chart_shows(rows, histories)
    sgd, adam = histories
    assert len(set(sgd.learning_rate)) > 3  # the rate really moves
    assert sgd.learning_rate[0] != adam.learning_rate[0]  # each optimiser's rate is scaled


def test_one_cycle_climbs_and_anneals_and_moves_the_momentum():
    at = open_schedules({**LINK, "sched": "onecycle"})
    rows = rate_rows(at)
    adam = direct_runs(at, schedules.build("onecycle", 120))[1]
    drawn = rows[rows["run"] == "2"]
    peak = int(drawn.loc[drawn["learning_rate"].idxmax(), "step"])
    assert peak == pytest.approx(0.3 * 120 - 1, abs=2)
    lr = at.session_state["settings"].rates()[1]
    assert adam.learning_rate.max() == pytest.approx(lr)
    assert adam.learning_rate[0] == pytest.approx(lr / 25)
    # Adam's β1 moved against the rate: 0.95 at both ends, 0.85 at the peak
    assert adam.momentum[0] == pytest.approx(0.95) and adam.momentum[-1] == pytest.approx(0.95)
    assert adam.momentum[int(np.argmax(adam.learning_rate))] == pytest.approx(0.85)


def test_changing_a_schedule_setting_changes_the_chart_and_the_link():
    at = open_schedules({**LINK, "sched": "onecycle"})
    before = rate_rows(at)
    at.number_input(key="w_pct").set_value(0.6).run()
    assert not at.exception
    assert at.query_params["pct"] in ("0.6", ["0.6"])
    after = rate_rows(at)
    assert_chart_shows(after, direct_runs(at, schedules.build("onecycle", 120, pct_start=0.6)))
    assert not after["learning_rate"].equals(before["learning_rate"])


def test_polynomial_decay_spans_the_run_unless_given_its_steps():
    at = open_schedules({**LINK, "sched": "polynomial"})
    assert at.number_input(key="w_iters").value is None  # empty: the whole run
    at.number_input(key="w_iters").set_value(30).run()
    assert at.query_params["iters"] in ("30", ["30"])
    histories = direct_runs(at, schedules.build("polynomial", 120, total_iters=30))
    assert_chart_shows(rate_rows(at), histories)
    assert histories[0].learning_rate[30:].max() == 0.0


@pytest.mark.parametrize("query, widget, value", [
    ({"sched": "onecycle", "pct": "0.4"}, "w_pct", 0.4),
    ({"sched": "plateau", "patience": "3", "thresh_mode": "abs"}, "w_thresh_mode", "abs"),
    ({"sched": "polynomial", "power": "2"}, "w_power", 2.0),
    ({"sched": "restarts", "t0": "15", "t_mult": "1"}, "w_t0", 15),
])
def test_a_schedule_link_opens_with_it_in_the_sidebar_and_round_trips(query, widget, value):
    link = {"surface": "rosenbrock", **query}
    at = open_app(link)
    link_warnings = [w.value for w in at.warning if "link could not be used" in w.value]
    assert not link_warnings, link_warnings
    assert "w_schedule" not in at.session_state, "the panel is folded: its widgets wait"
    s = at.session_state["settings"]
    params = {p.name: getattr(s, p.key) for p in schedules.SPECS[query["sched"]].params}
    # folded, the link's schedule still shapes the runs, and the link keeps it
    assert_chart_shows(rate_rows(at), direct_runs(
        at, schedules.build(query["sched"], s.steps, **params)))
    open_panel(at, SCHEDULE_PANEL)
    assert at.selectbox(key="w_schedule").value == query["sched"]
    found = [w for w in (*at.number_input, *at.selectbox) if w.key == widget]
    assert found and found[0].value == value
    assert {k: at.query_params[k] for k in at.query_params} in (
        link, {k: [v] for k, v in link.items()})
    assert at.session_state["settings"] == s


def test_the_plateau_lesson_shows_the_rescue_with_the_runs_numbers():
    at = open_schedules({"lesson": "plateau"})
    assert at.selectbox(key="w_schedule").value == "plateau"
    at.button(key="skip").click().run()
    assert not at.exception
    text = "\n".join(i.value for i in at.info)
    lesson = lessons.get("plateau")
    assert lesson.question.choices[lesson.question.answer] in text
    (h,) = direct_runs(at, schedules.build("plateau", 200))
    rates = h.learning_rate
    cuts = np.flatnonzero(rates[1:] < rates[:-1]) + 2
    assert f"cut the rate for the first time at step {cuts[0]}" in text
    assert f"{cuts.size} times in all" in text
    converged = re.search(r"reached the minimum at step (\d+)", text)
    assert converged and int(converged.group(1)) < 200
    # the rate chart steps down in halves from 0.3
    drawn = rate_rows(at)["learning_rate"].to_numpy(dtype=float)
    assert drawn[0] == 0.3 and drawn.min() < 0.3 / 2**5
    halvings = np.log2(0.3 / np.unique(drawn))  # drawn to 6 significant digits
    np.testing.assert_allclose(halvings, np.round(halvings), atol=1e-4)


def test_the_plateau_lessons_run_bounces_for_ever_at_a_constant_rate():
    at = open_schedules({"lesson": "plateau"})
    at.button(key="skip").click().run()
    at.selectbox(key="w_schedule").set_value("constant").run()
    assert not at.exception
    assert rate_rows(at) is None
    (h,) = direct_runs(at, None)
    surface = surfaces.get("linear_regression", loss="mae")
    assert descent.label(h, surface) == "oscillating"
    assert "reached the minimum" not in "\n".join(i.value for i in at.info)


def test_picking_cosine_anneals_once_over_the_run():
    # The period the menu shares with step decay is 10 steps; cosine annealing over 10 steps
    # climbs back every 20 (torch's rule past T_max): 6 cycles in 120 steps, not an anneal.
    # Picking cosine sets the period to the run's steps; the learner can shorten it.
    at = open_schedules(LINK)
    at.selectbox(key="w_schedule").set_value("cosine").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="w_period").value == 120
    assert at.query_params["period"] in ("120", ["120"])
    histories = direct_runs(at, schedules.make("cosine", t_max=120))
    assert_chart_shows(rate_rows(at), histories)
    rates = histories[0].learning_rate
    assert np.all(np.diff(rates) <= 0) and rates[-1] < rates[0] / 100  # one anneal
    # Moving on to step decay keeps the period the learner has.
    at.selectbox(key="w_schedule").set_value("step").run()
    assert at.number_input(key="w_period").value == 120
