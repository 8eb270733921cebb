"""Every view in a real browser: surfaces, scrubbing without the server, formulas, links."""

from __future__ import annotations

import pytest

from tests.e2e.browser import (
    click_map,
    open_at,
    pictures,
    pictures_changed,
    set_range,
    wait_for_app,
)

NO_EXCEPTION = '[data-testid="stException"]'


def step_input(page):
    return page.locator(".vega-bindings input[type=range][name=step]").first


def test_rosenbrock_renders_the_surface_image_contours_and_paths(page, server_url, tmp_path):
    page.goto(server_url + "/?surface=rosenbrock&opt=sgd,adam&lr=0.001,0.05&steps=150")
    wait_for_app(page, charts=1)
    assert page.locator(NO_EXCEPTION).count() == 0
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    assert chart.locator("canvas, svg.marks").count() >= 1
    page.screenshot(path=str(tmp_path / "rosenbrock.png"))


def test_the_legend_follows_a_new_learning_rate_without_a_new_chart(page, server_url):
    """Run names are rows: after a key press the legend says the new outcome, and the chart
    took the new rows into the view it had (the step slider it drew is the same element)."""
    page.goto(server_url + "/?surface=rosenbrock&opt=sgd&lr=0.0008&start=-1.6,2.6&steps=30")
    wait_for_app(page, charts=1)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    page.wait_for_function("() => [...document.querySelectorAll('svg text')].some("
                           "t => t.textContent.includes('Gradient descent: converging'))")
    step_input(page).evaluate("el => el.dataset.mark = 'first view'")
    thumb = page.locator(".st-key-w_lr").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")  # 0.0008 → 0.001: plain gradient descent now oscillates
    page.wait_for_function(
        "() => [...document.querySelectorAll('svg text')].some("
        "t => t.textContent.includes('Gradient descent: oscillating'))", timeout=15_000)
    assert page.locator(NO_EXCEPTION).count() == 0
    assert chart.locator("svg text", has_text="Gradient descent: converging").count() == 0
    assert step_input(page).evaluate("el => el.dataset.mark") == "first view"


def test_scrubbing_the_step_sends_nothing_to_the_server(page, server_url):
    frames: list[object] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
    page.goto(server_url + "/?surface=himmelblau&lr=0.01&steps=60")
    wait_for_app(page, charts=1)
    page.wait_for_timeout(500)
    slider = step_input(page)
    before = len(frames)
    for value in range(0, 61, 5):
        set_range(slider, value)
        page.wait_for_timeout(30)
    page.wait_for_timeout(500)
    assert len(frames) == before
    assert slider.input_value() == "60"


def test_play_advances_the_step_in_the_browser(page, server_url):
    page.goto(server_url + "/?steps=40")
    wait_for_app(page, charts=1)
    slider = step_input(page)
    set_range(slider, 0)
    page.locator(".losslab-playback [data-act=play]").click()
    page.wait_for_function(
        "() => { const i = document.querySelector("
        "'.vega-bindings input[type=range][name=step]');"
        " return Number(i.value) >= 10; }",
        timeout=15_000,
    )


@pytest.mark.parametrize(
    "formula",
    ["(w*x - y)^2 + 0.1*abs(w)", "(1 - w1)^2 + 5*(w2 - w1^2)^2", "log(1 + exp(-w*x)) + 0.1*w^2"],
)
def test_a_typed_loss_draws_its_surface_gradient_and_paths(page, server_url, formula):
    two = "w1" in formula
    page.goto(server_url + ("/?view=surface" if two else "/"))
    wait_for_app(page, charts=1)
    page.get_by_label("Surface", exact=True).first.click()
    page.get_by_role("option", name="Your own formula").click()
    box = page.get_by_role("textbox", name="Formula")
    box.wait_for()
    box.fill(formula)
    box.press("Enter")
    page.wait_for_timeout(1500)
    wait_for_app(page, charts=1)
    assert page.locator(NO_EXCEPTION).count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.locator(".katex").count() >= 1  # the formula in LaTeX
    if two:
        page.get_by_text("Gradient and Hessian").click()
        page.locator(".katex").nth(2).wait_for()


def test_a_permalink_opens_exactly_the_encoded_state(page, server_url):
    query = "surface=himmelblau&opt=adam,sgd&lr=0.05,0.01&start=-1,-1&steps=80&step=40"
    page.goto(f"{server_url}/?{query}")
    wait_for_app(page, charts=1)
    assert page.locator(NO_EXCEPTION).count() == 0
    assert page.locator('[data-testid="stAlertContentWarning"]').count() == 0
    assert step_input(page).input_value() == "40"
    sidebar = page.locator('[data-testid="stSidebar"]')
    for i, rate in ((1, "0.05"), (2, "0.01")):
        slider = sidebar.locator('[data-testid="stSlider"]', has_text=f"Learning rate {i}")
        assert rate in slider.inner_text()
    page.locator('[data-testid="stSidebar"]').get_by_text("Share this view").click()
    # The chart has rate controls, so the link is built in the browser from what it shows.
    page.locator(".losslab-link").wait_for()
    page.wait_for_timeout(1500)
    shared = page.locator(".losslab-link").inner_text()
    for part in query.split("&"):
        assert part in shared


BAD_LINKS = ["lr=inf", "steps=10**9", "surface=nope", "expr=__import__('os')"]


@pytest.mark.parametrize("query", BAD_LINKS)
def test_a_malformed_link_opens_cleanly_with_a_warning(page, server_url, query):
    page.goto(f"{server_url}/?{query}")
    wait_for_app(page, charts=1)
    assert page.locator(NO_EXCEPTION).count() == 0
    assert page.locator('[data-testid="stAlertContentWarning"]').count() >= 1


def test_presenter_view_and_a_narrow_screen_render(browser, server_url, tmp_path):
    for name, size, query in (
        ("presenter", {"width": 1280, "height": 720}, "/?surface=rosenbrock&present=1"),
        ("narrow", {"width": 390, "height": 844}, "/"),
    ):
        context = browser.new_context(viewport=size)
        page = context.new_page()
        page.goto(server_url + query)
        wait_for_app(page, charts=1)
        assert page.locator(NO_EXCEPTION).count() == 0
        page.screenshot(path=str(tmp_path / f"{name}.png"))
        context.close()


ANSWER_SIZES = """() => [...document.querySelectorAll(
    '[data-testid=stMain] [data-testid=stRadioOption] p')]
    .map(p => parseFloat(getComputedStyle(p).fontSize))"""
PROSE_SIZE = """() => parseFloat(getComputedStyle(
    document.querySelector('.stMarkdown p')).fontSize)"""


def test_a_projected_question_shows_its_answers_as_large_as_its_prose(browser, server_url):
    # The room reads the choices off the projector: 14 px answers under 20 px prose were
    # too small from the back of a room.
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(f"{server_url}/?lesson=learning_rate&present=1")
    wait_for_app(page, charts=1)
    sizes = page.evaluate(ANSWER_SIZES)
    assert len(sizes) == 4 and min(sizes) >= page.evaluate(PROSE_SIZE) * 0.9, sizes
    context.close()


CHART_BOXES = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] canvas,'
    + ' [data-testid=stVegaLiteChart] svg.marks')].map(e => {
      const r = e.getBoundingClientRect();
      const box = e.viewBox && e.viewBox.baseVal;
      return {right: r.right, width: r.width, height: r.height,
              scale: box && box.width ? r.width / box.width : 1};
    })"""


@pytest.mark.parametrize("query", ["/", "/?surface=rosenbrock&opt=sgd,adam", "/?view=nn"])
def test_no_chart_is_wider_than_a_phone(browser, server_url, query):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(server_url + query)
    wait_for_app(page, charts=1)
    page.wait_for_timeout(1500)
    boxes = page.evaluate(CHART_BOXES)
    assert boxes and max(b["right"] for b in boxes) <= 390, boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()


FORMULAS = """() => [...document.querySelectorAll('.katex-display')]
    .filter(e => e.offsetParent !== null)
    .map(e => ({text: e.querySelector('.katex-mathml').textContent.slice(0, 40),
                // an aligned block's first column: one span per line, and one strut after them
                lines: Math.max(e.querySelectorAll(
                  '.katex-html .mtable .col-align-r .vlist > span').length - 1, 0),
                width: e.scrollWidth, room: e.clientWidth}))"""


@pytest.mark.parametrize(("surface", "viewport", "lines"), [
    ("goldstein_price", "phone", 6),  # the longest formula: six lines on a phone,
    ("goldstein_price", "desktop", 2),  # two on a desktop
    ("six_hump_camel", "phone", 0),  # the longest that fits a phone in one line
])
def test_every_formula_fits_its_column_whole(browser, server_url, surface, viewport, lines):
    """A formula too long for a phone's column is set in shorter lines there (it was cut off
    at the screen's edge, to be scrolled inside its box); on a desktop it keeps its width."""
    context = browser.new_context(viewport=PHONE if viewport == "phone" else DESKTOP)
    page = context.new_page()
    page.goto(server_url + "/?surface=" + surface)
    wait_for_app(page, charts=1)
    formulas = page.evaluate(FORMULAS)
    assert len(formulas) == 1, formulas
    assert formulas[0]["width"] <= formulas[0]["room"] + 2, formulas
    assert formulas[0]["lines"] == lines, formulas
    assert formulas[0]["text"].startswith("L"), formulas
    context.close()


def test_the_map_grows_with_a_wide_desktop_column_and_stays_square(page, server_url):
    """At 1400 px the surface map fills its part of the main column (it was 420 px wide,
    with half the page empty beside it), scaled as a whole, so it stays square."""
    page.goto(server_url + "/?surface=rosenbrock")
    wait_for_app(page, charts=1)
    page.wait_for_timeout(1000)
    image = page.locator('[data-testid="stVegaLiteChart"] svg.marks image').first
    box = image.bounding_box()
    assert box is not None and box["width"] > 440, box
    assert abs(box["width"] - box["height"]) <= 2, box
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    figure = page.locator('[data-testid="stVegaLiteChart"] svg.marks').first.bounding_box()
    assert figure["x"] + figure["width"] <= main["x"] + main["width"] + 1, (figure, main)


def test_a_narrow_desktop_column_shrinks_the_figure_instead_of_scrolling(browser, server_url):
    context = browser.new_context(viewport={"width": 900, "height": 800})
    page = context.new_page()
    page.goto(server_url + "/?surface=rosenbrock")
    wait_for_app(page, charts=1)
    page.wait_for_timeout(1000)
    boxes = page.evaluate(CHART_BOXES)
    assert boxes[0]["scale"] < 1, boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 900
    context.close()


def test_a_presenter_figure_fits_the_projector(browser, server_url):
    """Every panel of the figure fits a 1280×720 projector, and the panels side by side are
    drawn at one scale (the tall map was smaller than the loss charts, which overflowed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(server_url + "/?surface=rosenbrock&present=1")
    wait_for_app(page, charts=2)
    page.wait_for_timeout(1000)
    boxes = page.evaluate(CHART_BOXES)
    assert len(boxes) == 2, boxes
    assert all(b["right"] <= 1280 and b["height"] <= 720 - 56 + 1 for b in boxes), boxes
    assert abs(boxes[0]["scale"] - boxes[1]["scale"]) < 0.01, boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    context.close()


def test_the_three_d_view_rotates_in_the_browser(page, server_url):
    frames: list[object] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
    page.goto(server_url + "/?surface=himmelblau&lr=0.01&steps=40")
    wait_for_app(page, charts=1)
    page.get_by_text("3-D view").click()
    wait_for_app(page, charts=2)
    azimuth = page.locator(".vega-bindings label", has_text="Azimuth").locator("input").first
    azimuth.wait_for()
    page.wait_for_timeout(500)
    before = len(frames)
    for value in (-150, -90, 0, 60, 120):
        set_range(azimuth, value)
        page.wait_for_timeout(50)
    page.wait_for_timeout(500)
    assert len(frames) == before
    assert page.locator(NO_EXCEPTION).count() == 0


@pytest.mark.parametrize("dataset", ["moons", "circles", "xor", "spirals"])
def test_the_network_view_draws_every_dataset(page, server_url, dataset):
    page.goto(f"{server_url}/?view=nn&data={dataset}&opt=adam&lr=0.05&steps=150")
    wait_for_app(page, charts=5, timeout=60_000)
    assert page.locator(NO_EXCEPTION).count() == 0
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 5


DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE])
def test_a_click_on_the_fitted_map_restarts_the_runs_where_it_was_clicked(browser, server_url,
                                                                          viewport):
    """The figure is scaled to its column; a click still lands on the point under the pointer."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(server_url + "/?surface=booth&opt=sgd&steps=20")  # window −10 … 10 on both axes
    wait_for_app(page, charts=1)
    page.wait_for_timeout(1000)
    w1, w2 = click_map(page, 0.75, 0.25)
    assert abs(w1 - 5) < 0.8 and abs(w2 - 5) < 0.8, (w1, w2)
    context.close()


PANEL_BOXES = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')]
    .map(e => { const r = e.getBoundingClientRect(), box = e.viewBox.baseVal;
                return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                        scale: r.width / box.width}; })"""
FIGURES = ["/", "/?surface=rosenbrock&opt=sgd,adam", "/?surface=rosenbrock"]


@pytest.mark.parametrize("query", FIGURES)
def test_a_phone_shows_the_panels_one_above_the_other_at_a_readable_size(browser, server_url,
                                                                         query):
    """The lesson's two curves, and the map beside its loss charts, stack on a 390 px phone,
    each drawn at least at 0.78 of its size (11 px axis labels stay over 8.5 px)."""
    context, page = open_at(browser, server_url + query, PHONE)
    boxes = page.evaluate(PANEL_BOXES)
    assert len(boxes) == 2, boxes
    upper, lower = boxes
    assert lower["top"] >= upper["bottom"] - 1, boxes
    assert all(b["scale"] >= 0.78 and b["right"] <= 390 for b in boxes), boxes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator(NO_EXCEPTION).count() == 0
    context.close()


@pytest.mark.parametrize("query", FIGURES[1:])
def test_a_desktop_shows_the_map_and_its_loss_charts_side_by_side(browser, server_url, query):
    context, page = open_at(browser, server_url + query, DESKTOP)
    left, right = page.evaluate(PANEL_BOXES)
    assert right["left"] >= left["right"] and abs(right["top"] - left["top"]) < 60
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400
    context.close()


@pytest.mark.parametrize("query", ["/", "/?surface=rosenbrock"])
def test_the_shared_step_and_rate_move_every_panel_without_a_message(browser, server_url,
                                                                      query):
    sent: list = []
    context, page = open_at(browser, server_url + query, PHONE, sent)
    quiet = len(sent)
    before = pictures(page)
    controls = page.locator(".losslab-controls")
    set_range(controls.locator("input[name=step]"), 3)
    stepped = pictures_changed(page, before)
    assert all(a != b for a, b in zip(before, stepped, strict=True)), "a chart missed the step"
    rate = controls.locator("input[name=lr_1]")
    set_range(rate, int(rate.get_attribute("max")))  # the fastest rate of the window
    rated = pictures_changed(page, stepped)
    assert all(a != b for a, b in zip(stepped, rated, strict=True)), "a chart missed the rate"
    page.wait_for_timeout(500)
    assert sent[quiet:] == []
    assert page.locator(NO_EXCEPTION).count() == 0
    context.close()


def test_after_a_rerun_the_controls_still_move_every_panel(browser, server_url):
    """A rerun either keeps the controls (a new rate in the sidebar: the panels take new rows)
    or brings new ones (more steps: a longer step control), and the panels then drawn listen
    to them, not to inputs that have left the page."""
    sent: list = []
    context, page = open_at(browser, server_url + "/", DESKTOP, sent)
    sidebar = page.locator('[data-testid="stSidebar"]')
    thumb = sidebar.locator('[data-testid="stSlider"]').filter(
        has_text="Learning rate").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")  # 0.05 → 0.06
    page.get_by_text("After 30 steps at lr = 0.06").wait_for(timeout=20_000)
    steps = sidebar.get_by_label("Steps", exact=True)
    for expected in ("30", "40"):
        page.wait_for_timeout(1500)
        step = page.locator(".losslab-controls input[name=step]")
        assert step.get_attribute("max") == expected
        quiet = len(sent)
        before = pictures(page)
        set_range(step, 2)
        after = pictures_changed(page, before)
        assert all(a != b for a, b in zip(before, after, strict=True)), expected
        assert len(sent) == quiet
        steps.fill("40")
        steps.press("Enter")
        page.get_by_text("After 40 steps at lr = 0.06").wait_for(timeout=20_000)
    assert page.locator(".losslab-controls").count() == 1
    context.close()


MAP_TEXT = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')][0]
    .querySelector('svg.marks').textContent"""
LOSS_TEXT = MAP_TEXT.replace("[0]", "[1]")


def test_switching_a_runs_optimiser_keeps_the_map_and_swaps_its_rows(browser, server_url):
    """Another optimiser in a run is a server change, but the map panel (image, contours,
    controls) and the loss charts keep their views: only their rows are swapped, and the
    controls are relabelled. Newton's losses reach decades gradient descent's do not: the
    loss axis follows in the browser, still without a new chart."""
    context, page = open_at(
        browser, server_url + "/?surface=rosenbrock&opt=sgd,momentum,adam&steps=300", DESKTOP)
    page.evaluate("""() => document.querySelectorAll('[data-testid=stVegaLiteChart] svg.marks')
                              .forEach(svg => svg.setAttribute('data-kept', 'yes'))""")
    assert "1e-12" not in page.evaluate(LOSS_TEXT)
    assert "Gradient descent:" in page.evaluate(MAP_TEXT)
    label = """() => getComputedStyle(document.querySelector(
        '.losslab-controls input[name=lr_1]').previousElementSibling, '::before').content"""
    assert "Gradient descent: learning rate" in page.evaluate(label)
    assert not page.locator(".losslab-controls input[name=beta_1]").is_visible()
    menu = page.locator(".st-key-w_opt_0 input")
    menu.click()
    page.get_by_role("option", name="Momentum", exact=True).click()
    page.wait_for_function(f"() => ({MAP_TEXT})().includes('Momentum (2)')", timeout=30_000)
    assert page.locator("svg.marks[data-kept=yes]").count() == 2  # the same views, new rows
    assert "Momentum: learning rate" in page.evaluate(label)
    assert page.locator(".losslab-controls input[name=beta_1]").is_visible()
    third = page.locator(".st-key-w_opt_2 input")  # Adam, at lr 0.05, becomes Newton
    third.scroll_into_view_if_needed()
    third.click()
    page.wait_for_selector('[role="listbox"]')
    page.get_by_role("option", name="Newton", exact=True).click()
    page.wait_for_function(f"() => ({MAP_TEXT})().includes('Newton')", timeout=30_000)
    page.wait_for_function(f"() => ({LOSS_TEXT})().includes('1e-12')", timeout=30_000)
    assert page.locator("svg.marks[data-kept=yes]").count() == 2  # both views kept
    assert page.locator(NO_EXCEPTION).count() == 0
    context.close()


SLIDERS = """() => [...document.querySelectorAll('.losslab-controls input[type=range]')]
    .filter(input => input.offsetParent).map(input => input.getBoundingClientRect().toJSON())"""


def test_the_in_chart_sliders_line_up_and_a_phone_gives_them_its_width(browser, server_url):
    """Labels of different lengths ("Step", "Nesterov momentum: learning rate") do not push
    their sliders about; on a phone each label heads its own row and the slider takes the
    width a finger needs."""
    context, page = open_at(
        browser, server_url + "/?surface=rosenbrock&opt=sgd,nesterov,adam&steps=300", DESKTOP)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)
        boxes = page.evaluate(SLIDERS)
        assert len(boxes) == 6  # step, three rates, Nesterov's μ and Adam's β1
        assert len({round(b["left"]) for b in boxes}) == 1, boxes
        assert len({round(b["width"]) for b in boxes}) == 1, boxes
    assert all(b["width"] >= 0.75 * 390 and b["right"] <= 390 for b in boxes), boxes
    context.close()


def test_the_page_asks_nothing_of_any_other_server(browser, server_url):
    """Everything the page loads (scripts, fonts, the icon, images) comes from the app's own
    server: it works offline, on a private network, and tells no third party who opened it."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(
        (server_url, "data:", "blob:", "about:")) else None)
    for query in ("/", "/?view=nn"):  # the lesson (formulas, KaTeX) and the network's view
        page.goto(server_url + query)
        wait_for_app(page, charts=2, timeout=60_000)
        page.wait_for_timeout(1500)
    assert elsewhere == []
    icon = page.evaluate("() => document.querySelector('link[rel~=icon]')?.href || ''")
    assert icon.startswith("data:image/svg+xml"), icon  # drawn inline, no emoji catalogue
    context.close()
