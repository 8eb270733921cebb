"""Script runs of one server process take turns (``ui/turns.py``): one at a time, in order,
and never held up longer than the patience allows."""

from __future__ import annotations

import threading
import time

from ui import turns


def test_a_run_waits_for_the_run_in_progress_then_goes():
    order: list[str] = []
    holding, go_on = threading.Event(), threading.Event()

    def first() -> None:
        with turns.turn() as had:
            assert had
            holding.set()
            go_on.wait(5)
            order.append("first done")

    def second() -> None:
        with turns.turn() as had:
            order.append(f"second starts (had the turn: {had})")

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(5)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.2)
    assert order == []  # the second run is waiting, not running beside the first
    go_on.set()
    one.join(5)
    two.join(5)
    assert order == ["first done", "second starts (had the turn: True)"]


def test_a_run_that_waited_its_patience_goes_ahead_and_leaves_the_turn_alone():
    holding, done = threading.Event(), threading.Event()

    def heavy() -> None:
        with turns.turn():
            holding.set()
            done.wait(5)

    thread = threading.Thread(target=heavy)
    thread.start()
    assert holding.wait(5)
    started = time.monotonic()
    with turns.turn(patience=0.2) as had:
        waited = time.monotonic() - started
    assert not had and 0.15 < waited < 2.0
    # The heavy run still holds its turn: a third run waits for it.
    with turns.turn(patience=0.1) as had:
        assert not had
    done.set()
    thread.join(5)
    with turns.turn(patience=0.1) as had:
        assert had  # free again


def test_a_page_run_holding_the_turn_draws_its_fragment_without_waiting():
    calls: list[str] = []

    @turns.in_turn
    def fragment() -> str:
        calls.append("fragment")
        return "drawn"

    started = time.monotonic()
    with turns.turn() as had:
        assert had
        assert fragment() == "drawn"
    assert calls == ["fragment"]
    assert time.monotonic() - started < turns.PATIENCE / 2


def test_the_apps_page_and_lab_runs_wait_for_the_run_in_progress():
    """The app's own runs take turns: while another learner's run holds the turn, opening the
    page and moving a run's rate (the lab fragment) each wait for it — here at most the
    patience, since the other run never ends — and then draw as usual."""
    from tests.apppage import ok, open_app, widget

    at = open_app({"surface": "rosenbrock"})  # computed once, so the timings below are waits
    holding, done = threading.Event(), threading.Event()

    def another_learner() -> None:
        with turns.turn():
            holding.set()
            done.wait(30)

    thread = threading.Thread(target=another_learner)
    thread.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        ok(open_app({"surface": "rosenbrock"}))
        assert time.monotonic() - started >= 0.9 * turns.PATIENCE
        started = time.monotonic()
        ok(widget(at, "w_lr").set_value(0.0015).run())
        assert time.monotonic() - started >= 0.9 * turns.PATIENCE
    finally:
        done.set()
        thread.join(5)
    started = time.monotonic()
    ok(widget(at, "w_lr").set_value(0.0013).run())
    assert time.monotonic() - started < turns.PATIENCE  # nobody else's turn: no wait
