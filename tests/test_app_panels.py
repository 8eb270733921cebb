"""The panels under the figure, opened as a learner opens them: the step ledger, downloads,
the learner's own data, slices, the 3-D view and the share link."""

from __future__ import annotations

from urllib.parse import parse_qsl

import numpy as np
import pytest

from losslab import descent, optimizers, surfaces
from tests import chartdata
from tests.apppage import (
    charts,
    expander,
    legend_names,
    line_with,
    main_text,
    numbers,
    ok,
    open_app,
    open_panel,
    path_rows,
    runs_of,
    starts,
    text,
    widget,
)

ROWS = np.array([[0.0, 1.0], [1.0, 3.2], [2.0, 4.9], [3.0, 7.1], [4.0, 8.8], [5.0, 11.3]])
CSV = ("x,y\n" + "\n".join(f"{x:g},{y:g}" for x, y in ROWS)).encode()


def ledger_lines(at) -> list[str]:
    """The ledger's equations, one string each."""
    return [e.value for e in expander(at.main, "Explain a step").get("latex")]


def result(line: str) -> list[float]:
    """The numbers after the last "=" of an equation: its result (a number or a vector)."""
    return numbers(line.rsplit("=", 1)[1])


def pick_step(at, run: int, update: int):
    at.selectbox(key="ledger_run").set_value(run)
    ok(at.run())
    at.number_input(key="ledger_step").set_value(update)
    return ok(at.run())


@pytest.mark.parametrize("run", [0, 1])
def test_the_ledger_explains_the_picked_run_with_its_numbers(run):
    at = open_app(opt="sgd,momentum", lr="0.05,0.02", steps="10")
    open_panel(at, "x_ledger")
    open_panel(at, "x_optimizer_settings")
    pick_step(at, run, 3)
    name, lr = [("sgd", 0.05), ("momentum", 0.02)][run]
    hyper = {"momentum": float(widget(at, "w_momentum").value)} if name == "momentum" else {}
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    h = descent.run(surface, optimizers.make(name, learning_rate=lr, **hyper),
                    start=starts(at), steps=10)
    lines = ledger_lines(at)
    assert result(line_with("\n".join(lines), r"\eta_{3}", "="))[0] == pytest.approx(lr)
    assert result(line_with("\n".join(lines), "g_{3}"))[0] == pytest.approx(h.grad[2, 0],
                                                                            rel=1e-3)
    assert result(lines[-1])[0] == pytest.approx(h.params[3, 0], rel=1e-3)


def test_the_ledger_explains_a_two_weight_step():
    at = open_app(surface="booth", opt="sgd,adam", lr="0.02,0.3", steps="12")
    open_panel(at, "x_ledger")
    pick_step(at, 1, 5)
    h = descent.run(surfaces.get("booth"), optimizers.make("adam", learning_rate=0.3),
                    start=starts(at), steps=12)
    np.testing.assert_allclose(result(ledger_lines(at)[-1]), h.params[5], rtol=1e-3)


def test_downloads_offer_each_run_as_csv_and_json():
    at = open_app(opt="sgd,momentum", lr="0.05,0.02")
    open_panel(at, "x_downloads")
    labels = [b.label for b in expander(at.main, "Download").get("download_button")]
    names = ["Gradient descent, lr 0.05", "Momentum, lr 0.02"]  # each run, with its own rate
    assert labels == [f"{n}: {kind}" for n in names for kind in ("CSV", "JSON")]


def regression_run(at, x, y, steps=30):
    surface = surfaces.linear_regression_from_data(x, y)
    lr = float(at.select_slider(key="w_lr").value)
    return descent.run(surface, optimizers.make("sgd", learning_rate=lr), start=starts(at),
                       steps=steps)


def drawn_path(at) -> np.ndarray:
    return runs_of(path_rows(at))[0][["w1", "w2"]].to_numpy()


def use_rows(at, *, upload: bytes | None = None, paste: str | None = None):
    if upload is not None:
        at.file_uploader(key="upload").upload("rows.csv", upload, "text/csv")
        ok(at.run())
    if paste is not None:
        at.text_area(key="paste").input(paste)
    at.button(key="use_rows").click()
    return ok(at.run())


def test_using_uploaded_rows_redraws_the_path_at_once():
    at = use_rows(open_app(surface="linear_regression", lr="0.02"), upload=CSV)
    h = regression_run(at, ROWS[:, 0], ROWS[:, 1])
    np.testing.assert_allclose(drawn_path(at), h.params, rtol=1e-3, atol=1e-3)


def test_an_uploaded_csv_becomes_the_surface_and_back_to_generated_data():
    at = open_app(surface="linear_regression", lr="0.02")
    generated = drawn_path(at)
    use_rows(at, upload=CSV)
    assert any(f"your {len(ROWS)} rows" in s.value for s in at.success)
    ok(at.run())  # the learner's next move (see the test above)
    h = regression_run(at, ROWS[:, 0], ROWS[:, 1])
    np.testing.assert_allclose(drawn_path(at), h.params, rtol=1e-3, atol=1e-3)
    data = chartdata.rows_with(charts(expander(at.main, "The data")), "x", "y")
    assert data and sorted(data[0]["x"]) == sorted(ROWS[:, 0])
    at.button(key="drop_rows").click()
    ok(at.run())
    assert "your 6 rows" not in main_text(at)
    np.testing.assert_allclose(drawn_path(at), generated)


def test_pasted_rows_are_used_and_bad_rows_keep_the_previous_data():
    at = use_rows(open_app(surface="linear_regression", lr="0.02"), paste=CSV.decode())
    ok(at.run())  # the learner's next move
    used = drawn_path(at)
    np.testing.assert_allclose(used, regression_run(at, ROWS[:, 0], ROWS[:, 1]).params,
                               rtol=1e-3, atol=1e-3)
    use_rows(at, paste="x,y\n1,2\nabc,4\n")
    error = line_with(text(at.main, "error"), "cannot be used")
    assert "abc" in error and "previous data is kept" in error
    np.testing.assert_allclose(drawn_path(at), used)


def test_a_large_upload_with_a_row_by_row_loss_is_thinned_and_says_so():
    x = np.linspace(-2.0, 3.0, 10_500)
    csv = ("x,y\n" + "\n".join(f"{v:.5f},{2 * v + 1 + np.sin(40 * v):.5f}" for v in x)).encode()
    at = use_rows(open_app(surface="linear_regression", loss="mae"), upload=csv)
    assert "10,000 evenly spaced rows of your 10,500" in main_text(at)
    assert all(not chartdata.non_finite_cells(c) for c in charts(at))


def test_the_slices_and_3d_panels_draw_through_the_first_run():
    at = open_app(surface="himmelblau", opt="adam,sgd", lr="0.1,0.01")
    open_panel(at, "x_slices")
    open_panel(at, "x_three_d")
    slices = expander(at.main, "Slices")
    caption = text(slices, "caption")
    assert legend_names(at)[0].startswith("Adam")
    # The run and the rate it was drawn at; not its legend entry with the outcome
    # ("Adam: converging's iterate").
    assert "through the first run's current point (Adam, lr 0.1)" in caption
    assert "converging" not in caption
    assert charts(slices) and charts(expander(at.main, "3-D"))
    for chart in charts(at):
        assert not chartdata.non_finite_cells(chart)


def test_the_share_link_reopens_the_same_view():
    # A schedule's page has no in-chart rate controls, so its link is written by the server.
    at = open_app(surface="booth", opt="adam,sgd", lr="0.1,0.02", steps="40", sched="cosine")
    at.number_input(key="w_start_0_booth").set_value(-4.0)
    ok(at.run())
    open_panel(at, "x_share")
    link = at.sidebar.get("code")[0].value
    query = dict(parse_qsl(link.split("?", 1)[1]))
    assert query["start"].startswith("-4")
    again = open_app(query)
    assert starts(again) == starts(at)
    assert legend_names(again) == legend_names(at)
    np.testing.assert_allclose(drawn_path(again), drawn_path(at))


def test_folded_sidebar_panels_draw_no_widgets_and_keep_their_settings():
    at = open_app(opt="momentum", steps="10")
    assert widget(at, "w_momentum") is None, "folded, the panel's widgets are not drawn"
    open_panel(at, "x_optimizer_settings")
    widget(at, "w_momentum").set_value(0.5)
    ok(at.run())
    at.session_state["x_optimizer_settings"] = False  # folded again
    ok(at.run())
    assert widget(at, "w_momentum") is None
    assert at.query_params["mom"] in ("0.5", ["0.5"])
    assert at.session_state["settings"].momentum == 0.5
    open_panel(at, "x_optimizer_settings")
    assert widget(at, "w_momentum").value == 0.5


def test_the_gradient_field_stays_on_while_the_display_panel_is_folded():
    def arrows(at) -> bool:
        return any('"triangle"' in c.proto.spec for c in charts(at))

    at = open_app(surface="rosenbrock")
    assert not arrows(at)
    open_panel(at, "x_display")
    widget(at, "show_field").set_value(True)
    ok(at.run())
    assert arrows(at)
    at.session_state["x_display"] = False
    ok(at.run())
    assert widget(at, "show_field") is None and arrows(at)
    open_panel(at, "x_display")
    assert widget(at, "show_field").value is True
