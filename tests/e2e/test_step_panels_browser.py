"""Figures drawn at the sidebar's rates (a schedule, five runs, 2000 steps, mini-batches) in a
real browser: panels one above the other on a phone, side by side on a desktop, and the step
control and Play moving every panel without a message to the server."""

from __future__ import annotations

import pytest

from tests.e2e.browser import click_map, open_at, pictures, pictures_changed, set_range

NO_EXCEPTION = '[data-testid="stException"]'
DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}
PROJECTOR = {"width": 1280, "height": 720}
SCHEDULE = "/?surface=rosenbrock&sched=cosine"
FIVE_RUNS = "/?surface=rosenbrock&opt=sgd,momentum,nesterov,adam,rmsprop&steps=300"
LESSON = "/?sched=cosine&opt=sgd,momentum"
# (More steps than a window of rates takes draws the schedule's panels without its rate chart.)
FIGURES = [SCHEDULE, FIVE_RUNS, "/?surface=logistic_regression&batch=8", LESSON]

PANEL_BOXES = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')]
    .slice(0, 2).map(e => { const r = e.getBoundingClientRect(), box = e.viewBox.baseVal;
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                height: r.height, scale: r.width / box.width}; })"""


@pytest.mark.parametrize("query", FIGURES)
def test_a_phone_stacks_the_panels_at_a_readable_size(browser, server_url, query):
    context, page = open_at(browser, server_url + query, PHONE)
    upper, lower = page.evaluate(PANEL_BOXES)
    assert lower["top"] >= upper["bottom"] - 1, (upper, lower)
    assert all(b["scale"] >= 0.78 and b["right"] <= 390 for b in (upper, lower)), (upper, lower)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator(NO_EXCEPTION).count() == 0
    context.close()


@pytest.mark.parametrize("query", [FIVE_RUNS, LESSON])
def test_a_desktop_shows_the_panels_side_by_side_no_smaller_than_before(browser, server_url,
                                                                       query):
    """As one spec these figures were drawn at 0.96 (the map) and 1.19 (the lesson)."""
    context, page = open_at(browser, server_url + query, DESKTOP)
    left, right = page.evaluate(PANEL_BOXES)
    assert right["left"] >= left["right"] and abs(right["top"] - left["top"]) < 60
    assert min(left["scale"], right["scale"]) >= 1.0, (left, right)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400
    context.close()


@pytest.mark.parametrize("query", [SCHEDULE, LESSON])
def test_the_step_and_play_move_every_panel_without_a_message(browser, server_url, query):
    sent: list = []
    context, page = open_at(browser, server_url + query, PHONE, sent)
    quiet = len(sent)
    step = page.locator(".losslab-controls input[name=step]")
    assert page.locator(".vega-bindings input[name=step]").count() == 1  # one control
    before = pictures(page, 2)
    set_range(step, 3)
    stepped = pictures_changed(page, before)
    assert all(a != b for a, b in zip(before, stepped, strict=True))
    set_range(step, 0)
    page.locator(".losslab-playback [data-act=play]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('.losslab-controls input[name=step]').value) >= 8",
        timeout=15_000)
    page.locator(".losslab-playback [data-act=play]").click()  # pause
    assert all(a != b for a, b in zip(stepped, pictures_changed(page, stepped), strict=True))
    page.wait_for_timeout(500)
    assert len(sent) == quiet
    assert page.locator(NO_EXCEPTION).count() == 0
    context.close()


def test_a_presenter_figure_fits_the_projector(browser, server_url):
    context, page = open_at(browser, server_url + SCHEDULE + "&present=1", PROJECTOR)
    boxes = page.evaluate(PANEL_BOXES)
    assert all(b["height"] <= 720 for b in boxes), boxes
    assert boxes[1]["left"] >= boxes[0]["right"], boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    context.close()


@pytest.mark.parametrize("viewport", [PHONE])  # a desktop's click: test_views_browser
def test_a_click_on_the_map_panel_restarts_the_runs_there(browser, server_url, viewport):
    context, page = open_at(browser, server_url + "/?surface=booth&opt=sgd&steps=20&sched=step",
                            viewport)  # window −10 … 10 on both axes
    w1, w2 = click_map(page, 0.75, 0.25)
    assert abs(w1 - 5) < 0.8 and abs(w2 - 5) < 0.8, (w1, w2)
    context.close()
