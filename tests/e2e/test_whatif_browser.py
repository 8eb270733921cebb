"""The in-chart learning-rate control in a real browser: the picture follows, the server hears
nothing. Runs against ``benchmarks/whatif_app.py`` (the what-if charts on a page of their own)."""

from __future__ import annotations

import pytest

from tests.e2e.browser import ROOT, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e

NO_EXCEPTION = '[data-testid="stException"]'
MAP = "/?surface=rosenbrock&opt=sgd,momentum,adam&steps=300"


@pytest.fixture(scope="module")
def whatif_url():
    with streamlit_server(ROOT / "benchmarks" / "whatif_app.py") as url:
        yield url


def control(page, name: str):
    return page.locator(f".vega-bindings input[type=range][name={name}]")


def move(locator, value: int) -> None:
    locator.evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def chart_texts(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll("
                         "'[data-testid=stVegaLiteChart] svg text')].map(t => t.textContent)")


def picture(page) -> bytes:
    return page.locator('[data-testid="stVegaLiteChart"]').first.screenshot()


def open_page(page, url: str, sent: list) -> None:
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(url)
    wait_for_app(page, charts=1, timeout=90_000)
    control(page, "lr_1").wait_for(state="attached")
    page.wait_for_timeout(800)


def test_moving_a_runs_rate_redraws_its_path_and_words_without_a_message(page, whatif_url):
    sent: list = []
    open_page(page, whatif_url + MAP, sent)
    assert page.locator(NO_EXCEPTION).count() == 0
    before_texts, before_picture = chart_texts(page), picture(page)
    assert "Gradient descent: converging   (lr = 0.001)" in before_texts
    quiet = len(sent)
    move(control(page, "lr_1"), 6)  # 0.001 → 0.002
    page.wait_for_function(
        "() => [...document.querySelectorAll('svg text')].some("
        "t => t.textContent.includes('(lr = 0.002)'))", timeout=10_000)
    after_texts = chart_texts(page)
    assert "Gradient descent: converging   (lr = 0.002)" in after_texts
    assert any(t.startswith("lr = 0.002: gradient descent overshoots further each step")
               for t in after_texts)
    assert picture(page) != before_picture  # the path on the map and the loss line moved
    for name, value in (("lr_2", 0), ("beta_2", 2), ("lr_3", 6), ("beta_3", 0), ("step", 40)):
        move(control(page, name), value)
        page.wait_for_timeout(100)
    assert "Momentum: converging   (lr = 0.0005, μ = 0.95)" in chart_texts(page)
    page.wait_for_timeout(800)
    assert len(sent) == quiet


def test_the_lesson_rate_walks_from_creep_to_divergence_without_a_message(page, whatif_url):
    sent: list = []
    open_page(page, whatif_url + "/?view=lesson&steps=30", sent)
    quiet = len(sent)
    rate = control(page, "lr_1")
    top = int(rate.get_attribute("max"))
    seen = []
    for value in range(top + 1):
        move(rate, value)
        page.wait_for_timeout(60)
        seen += [t for t in chart_texts(page) if t.startswith("lr = ")]
    assert any("creeps straight to the minimum" in t for t in seen)
    assert any("overshoots and oscillates, but converges" in t for t in seen)
    assert any("bounces between two points for ever" in t for t in seen)
    assert any("overshoots further each step: it diverges" in t for t in seen)
    assert any("diverged at step" in t for t in chart_texts(page))
    page.wait_for_timeout(800)
    assert len(sent) == quiet
