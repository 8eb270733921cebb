"""The opening lesson in a real browser: charts draw, the slider reruns, nothing raises."""

from __future__ import annotations

from tests.e2e.browser import wait_for_app


def test_opening_view_draws_the_lesson_without_exception(page, server_url, tmp_path):
    page.goto(server_url)
    wait_for_app(page, charts=2)
    assert page.locator('[data-testid="stException"]').count() == 0
    # The lesson figure: the loss and the gradient panels, and under them the step and the
    # rate controls both panels follow.
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    assert charts.count() == 2
    assert charts.locator("svg.marks").count() == 2
    # (Gradient descent has no decay: its decay control is there, hidden, so another
    # optimiser would keep the figure as it is.)
    controls = page.locator('.losslab-controls input[type="range"]')
    assert controls.evaluate_all("els => els.map(e => e.name)") == ["step", "lr_1", "beta_1"]
    shown = page.locator('.losslab-controls input[type="range"]:visible')
    assert shown.evaluate_all("els => els.map(e => e.name)") == ["step", "lr_1"]
    page.screenshot(path=str(tmp_path / "lesson.png"), full_page=True)
    assert (tmp_path / "lesson.png").stat().st_size > 10_000


def test_moving_the_learning_rate_slider_reruns_and_redraws(page, server_url):
    page.goto(server_url)
    wait_for_app(page, charts=1)
    summary = page.get_by_text("After 30 steps")
    before = summary.inner_text()
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Learning rate")
    thumb = slider.get_by_role("slider")
    thumb.focus()
    for _ in range(4):  # 0.05 -> 0.06 -> 0.08 -> 0.1 -> 0.12: still converging
        thumb.press("ArrowRight")
    page.wait_for_function(
        "(old) => { const el = [...document.querySelectorAll('p')]"
        ".find(p => p.innerText.startsWith('After 30 steps'));"
        " return el && el.innerText !== old; }",
        arg=before,
        timeout=20_000,
    )
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_diverging_rate_shows_a_warning_in_the_page(page, server_url):
    page.goto(server_url + "/?lr=0.9")
    wait_for_app(page, charts=1)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Learning rate")
    thumb = slider.get_by_role("slider")
    thumb.focus()
    thumb.press("End")
    page.locator('[data-testid="stAlertContentWarning"]', has_text="Diverged at step").wait_for(
        timeout=20_000)
    assert page.locator('[data-testid="stException"]').count() == 0
