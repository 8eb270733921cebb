"""The in-chart learning-rate control of the app in a real browser: the picture, the words and
the share link follow, and the server hears nothing."""

from __future__ import annotations

import pytest

from tests.e2e.browser import ROOT, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e

NO_EXCEPTION = '[data-testid="stException"]'
MAP = "/?surface=rosenbrock&opt=sgd,momentum,adam&steps=300"


@pytest.fixture(scope="module")
def whatif_url():
    with streamlit_server(ROOT / "app.py") as url:
        yield url


def control(page, name: str):
    return page.locator(f".vega-bindings input[type=range][name={name}]")


def move(locator, value: int) -> None:
    locator.evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def chart_texts(page) -> list[str]:
    """Every text the charts draw, a text broken into lines read as one line."""
    return page.evaluate("() => [...document.querySelectorAll("
                         "'[data-testid=stVegaLiteChart] svg text')].map(t => {"
                         " const lines = [...t.querySelectorAll('tspan')];"
                         " return lines.length ? lines.map(l => l.textContent).join(' ')"
                         " : t.textContent; })")


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
    page.locator('[data-testid="stSidebar"]').get_by_text("Share this view").click()
    page.locator(".losslab-link").wait_for()
    page.wait_for_timeout(1500)
    assert "lr=0.0005,0.0005,0.05" in page.locator(".losslab-link").inner_text()
    before_texts, before_picture = chart_texts(page), picture(page)
    assert "Gradient descent: converging   (lr = 0.0005)" in before_texts
    quiet = len(sent)
    rung = int(control(page, "lr_1").input_value())
    move(control(page, "lr_1"), rung + 2)  # 0.0005 → 0.0008
    page.wait_for_function(
        "() => [...document.querySelectorAll('svg text')].some("
        "t => t.textContent.includes('(lr = 0.0008)'))", timeout=10_000)
    after_texts = chart_texts(page)
    assert "Gradient descent: converging   (lr = 0.0008)" in after_texts
    assert ("lr = 0.0008: gradient descent overshoots and oscillates, but converges."
            in after_texts)
    assert picture(page) != before_picture  # the path on the map and the loss line moved
    assert "lr=0.0008,0.0005,0.05" in page.locator(".losslab-link").inner_text()
    for name, value in (("lr_2", 0), ("beta_2", 2), ("lr_3", 6), ("beta_3", 0), ("step", 40)):
        move(control(page, name), value)
        page.wait_for_timeout(100)
    assert any(t.startswith("Momentum: ") and "μ = 0.95" in t for t in chart_texts(page))
    assert "step=40" in page.locator(".losslab-link").inner_text()
    page.wait_for_timeout(800)
    assert len(sent) == quiet


def test_the_lesson_rate_walks_from_creep_to_divergence_without_a_message(page, whatif_url):
    sent: list = []
    open_page(page, whatif_url + "/", sent)  # the opening view: the chapter's lesson
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


def test_clicking_the_map_restarts_the_runs_from_the_point_clicked(page, whatif_url):
    page.goto(whatif_url + MAP)
    wait_for_app(page, charts=1, timeout=90_000)
    control(page, "lr_1").wait_for(state="attached")
    starts = page.locator('[data-testid="stSidebar"] input[aria-label^="Start"]')
    before = [s.input_value() for s in starts.all()]
    box = page.locator('[data-testid="stVegaLiteChart"] svg.marks image').first.bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_function(
        "(old) => { const v = [...document.querySelectorAll("
        "'[data-testid=stSidebar] input[aria-label^=\"Start\"]')].map(i => i.value);"
        " return v.length === 2 && v.join() !== old.join(); }", arg=before, timeout=30_000)
    w1, w2 = (float(s.input_value()) for s in starts.all())
    assert 0.5 < w1 < 1.6 and 1.5 < w2 < 2.6  # the upper right quarter of [-2, 2] × [-1, 3]
    page.wait_for_function("() => location.search.includes('start=')", timeout=15_000)
    assert f"start={w1:g},{w2:g}" in page.evaluate("() => decodeURIComponent(location.search)")
    assert page.locator(NO_EXCEPTION).count() == 0
