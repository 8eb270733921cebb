"""The two-weight views as a learner drives them: the stability bound and regime beside the
learning rate, the legend's outcomes, switching views, the sweep, schedules, mini-batches and
formulas. Expected numbers come from running losslab directly with the same settings."""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, optimizers, schedules, stability, surfaces
from losslab.settings import default_start
from tests import chartdata
from tests.apppage import (
    charts,
    legend_names,
    line_with,
    main_text,
    number_after,
    ok,
    open_app,
    open_panel,
    path_rows,
    runs_of,
    sidebar_text,
    starts,
    widget,
)

BOOTH = surfaces.get("booth")  # a constant Hessian [[10, 8], [8, 10]]: λmax = 18


def largest_curvature(surface, at) -> float:
    return float(np.linalg.eigvalsh(surface.hessian(np.asarray(at, dtype=float))).max())


def own_run(surface, name, lr, start, steps=30, **kw):
    return descent.run(surface, optimizers.make(name, learning_rate=lr), start=start,
                       steps=steps, **kw)


@pytest.mark.parametrize("name", ["booth", "rosenbrock", "himmelblau"])
def test_the_bound_beside_the_rate_is_two_over_the_largest_curvature(name):
    at = open_app(surface=name, start=",".join(f"{c:g}" for c in default_start(name)))
    curvature = largest_curvature(surfaces.get(name), starts(at))
    for line in (line_with(sidebar_text(at), "2/λmax"), line_with(main_text(at), "2/λmax")):
        assert number_after(line, "λmax =") == pytest.approx(curvature, rel=5e-3)
        assert number_after(line, "2/λmax =") == pytest.approx(2.0 / curvature, rel=5e-3)


def test_the_bound_follows_a_new_start_at_once():
    at = open_app(surface="rosenbrock")
    at.number_input(key="w_start_0_rosenbrock").set_value(0.5)
    ok(at.run())
    curvature = largest_curvature(surfaces.get("rosenbrock"), starts(at))
    line = line_with(sidebar_text(at), "2/λmax")
    assert number_after(line, "2/λmax =") == pytest.approx(2.0 / curvature, rel=5e-3)


# Booth: λmax = 18, so 1/λ ≈ 0.056 and 2/λ ≈ 0.111.
@pytest.mark.parametrize(
    ("lr", "words"),
    [(0.05, "creeps straight"), (0.06, "oscillates, but converges"), (0.12, "diverges")],
)
def test_two_weight_regime_sentence_matches_what_the_run_does(lr, words):
    at = open_app(surface="booth")
    at.select_slider(key="w_lr").set_value(lr)
    ok(at.run())
    sentence = line_with(sidebar_text(at), f"lr = {lr:g}:")
    assert words in sentence
    others = {"creeps straight", "oscillates, but converges", "diverges"} - {words}
    assert not any(o in sentence for o in others)
    warned = any("diverges" in w.value for w in at.sidebar.warning)
    assert warned == (words == "diverges")
    h = own_run(BOOTH, "sgd", lr, starts(at))
    (name,) = legend_names(at)
    if words != "diverges":
        assert h.diverged_at is None and "diverged" not in name
    # Along the steepest direction the error keeps its sign when creeping, flips when
    # oscillating, and grows when diverging.
    steep = np.linalg.eigh(BOOTH.hessian(np.zeros(2)))[1][:, -1]
    along = (h.params[:8] - np.array(BOOTH.minimizers[0])) @ steep
    flips = np.sign(along[:-1]) != np.sign(along[1:])
    assert flips.all() if words != "creeps straight" else not flips.any()
    growing = np.abs(along[1:]) > np.abs(along[:-1])
    assert growing.all() if words == "diverges" else not growing.any()


def test_the_legend_names_each_runs_outcome():
    at = open_app(surface="booth", opt="sgd,adam,sgd", lr="0.12,0.05,0.01", steps="40")
    names = legend_names(at)
    assert len(names) == 3
    lines = [line for df in chartdata.frames(charts(at.main)[0]).values()
             if "line" in df.columns and "rung" in df.columns for line in df["line"]]
    for name, (opt, lr) in zip(names, [("sgd", 0.12), ("adam", 0.05), ("sgd", 0.01)],
                               strict=True):
        h = own_run(BOOTH, opt, lr, starts(at), steps=40)
        outcome = descent.label(h, BOOTH)
        if outcome == "diverged":
            assert name.endswith(f": diverged at step {h.diverged_at}")
        else:
            assert name.endswith(f": {outcome}")
        # The legend's line for the run at its chosen rate says the rate.
        assert any(line.startswith(f"{name}   (lr = {lr:g}") for line in lines), lines


def test_each_drawn_path_is_the_run_of_its_optimiser():
    at = open_app(surface="himmelblau", opt="momentum,adam", lr="0.01,0.1", steps="25")
    for drawn, (opt, lr) in zip(runs_of(path_rows(at)), [("momentum", 0.01), ("adam", 0.1)],
                                strict=True):
        h = own_run(surfaces.get("himmelblau"), opt, lr, starts(at), steps=25)
        np.testing.assert_allclose(drawn[["w1", "w2"]].to_numpy(), h.params, rtol=1e-3,
                                   atol=1e-3)


def test_switching_view_starts_where_a_link_to_that_view_starts():
    at = open_app()
    at.radio(key="w_view").set_value("surface")
    ok(at.run())
    picked = at.selectbox(key="w_surface").value
    linked = open_app(view="surface", surface=picked)
    assert starts(at) == starts(linked) and len(starts(at)) == 2
    first = runs_of(path_rows(at))[0].iloc[0]
    assert (first["w1"], first["w2"]) == pytest.approx(starts(at))
    at.radio(key="w_view").set_value("lesson")
    ok(at.run())
    assert starts(at) == starts(open_app())
    assert runs_of(path_rows(at))[0]["w"].iloc[0] == pytest.approx(starts(at)[0])


def test_the_sweep_runs_the_rate_times_each_factor():
    at = open_app(view="sweep", surface="booth", lr="0.02")
    names = legend_names(at)
    assert [n.split(":")[0] for n in names] == [
        "0.5× lr = 0.01", "1× lr = 0.02", "2× lr = 0.04", "4× lr = 0.08"]
    for drawn, lr in zip(runs_of(path_rows(at)), (0.01, 0.02, 0.04, 0.08), strict=True):
        h = own_run(BOOTH, "sgd", lr, starts(at))
        np.testing.assert_allclose(drawn[["w1", "w2"]].to_numpy(), h.params, rtol=1e-3,
                                   atol=1e-3)


def test_the_sweeps_stability_note_speaks_of_the_rate_its_slider_shows():
    # The sweep runs 0.5×, 1×, 2× and 4× the sidebar's rate; the note under the slider
    # judges the slider's own rate (the 1× run), not the first run's half of it.
    at = open_app(view="sweep", surface="rosenbrock", lr="0.0013")
    note = sidebar_text(at)
    expected = stability.assess(surfaces.get("rosenbrock"), starts(at), 0.0013, "sgd")
    assert expected.lines[-1].startswith("lr = 0.0013:")
    assert expected.lines[-1] in note
    assert "lr = 0.00065:" not in note


def test_absolute_errors_flat_facets_are_not_said_to_curve_down():
    # The plateau lesson's surface (absolute error) has no curvature: the note under the rate
    # must not promise that no rate overshoots, since bouncing past the crease is the lesson.
    note = sidebar_text(open_app({"lesson": "plateau"}))
    assert "it is made of flat pieces" in note and "a fixed step can still jump past" in note
    assert "curves down" not in note and "no learning rate overshoots" not in note


def test_a_start_where_the_formula_is_undefined_is_said_in_words_without_a_verdict():
    at = open_app({"surface": "custom", "view": "surface", "expr": "log(w1)+w2^2"})
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes
    assert ("The runs cannot start: the loss is not defined at the start point (-1, -1). "
            "Choose another start point.") in errors
    assert "custom" not in errors
    assert "2/λmax" not in sidebar_text(at) and "lr = 0.05:" not in sidebar_text(at)


@pytest.mark.parametrize(("surface", "labels"), [
    ("linear_regression", ["Start w", "Start b"]),
    ("logistic_regression", ["Start w", "Start b"]),
    ("rosenbrock", ["Start w1", "Start w2"]),
])
def test_the_start_inputs_are_named_as_the_maps_axes(surface, labels):
    # A regression's map is drawn over (w, b): its start inputs say so too.
    at = open_app(surface=surface)
    assert [n.label for n in at.sidebar.number_input if n.label.startswith("Start")] == labels
    assert [n.label for n in open_app().sidebar.number_input
            if n.label.startswith("Start")] == ["Starting weight w0"]


def test_the_sweep_keeps_rates_within_what_the_optimiser_accepts():
    at = open_app(view="sweep", surface="booth", lr="6")
    rates = [number_after(n, "lr =") for n in legend_names(at)]
    assert max(rates) <= 10 and rates == sorted(rates) and rates[0] == 3


@pytest.mark.parametrize(
    ("schedule", "controls", "make"),
    [
        ("step", {"w_gamma": 0.5, "w_period": 5},
         lambda: schedules.make("step", step_size=5, gamma=0.5)),
        ("exponential", {"w_gamma": 0.9}, lambda: schedules.make("exponential", gamma=0.9)),
        ("cosine", {"w_period": 20}, lambda: schedules.make("cosine", t_max=20)),
        ("warmup", {"w_warmup": 8}, lambda: schedules.make("warmup", warmup_steps=8)),
    ],
)
def test_a_schedule_picked_in_the_sidebar_shapes_the_run(schedule, controls, make):
    at = open_panel(open_app(surface="booth", lr="0.05"), "x_schedule")
    at.selectbox(key="w_schedule").set_value(schedule)
    ok(at.run())
    for key, value in controls.items():
        widget(at, key).set_value(value)
    ok(at.run())
    assert at.query_params["sched"] in (schedule, [schedule])
    h = own_run(BOOTH, "sgd", 0.05, starts(at), schedule=make())
    drawn = runs_of(path_rows(at))[0]
    np.testing.assert_allclose(drawn[["w1", "w2"]].to_numpy(), h.params, rtol=1e-3, atol=1e-3)
    rates = chartdata.rows_with(charts(at.main), "learning_rate")
    assert rates, "a scheduled run draws its learning rate"
    drawn_rates = rates[0].sort_values("step")["learning_rate"].to_numpy()
    np.testing.assert_allclose(drawn_rates[: len(h.learning_rate)], h.learning_rate, rtol=1e-3)


def test_huber_delta_in_the_sidebar_reshapes_the_surface_and_the_run():
    at = open_app(surface="linear_regression", loss="huber", lr="0.1")
    drawn = {}
    for delta in (0.2, 3.0):
        widget(at, "w_delta").set_value(delta)
        ok(at.run())
        surface = surfaces.get("linear_regression", loss="huber", delta=delta,
                               n=int(widget(at, "w_n").value),
                               noise=float(widget(at, "w_noise").value),
                               seed=int(widget(at, "w_seed").value))
        h = own_run(surface, "sgd", 0.1, starts(at))
        drawn[delta] = runs_of(path_rows(at))[0][["w1", "w2"]].to_numpy()
        np.testing.assert_allclose(drawn[delta], h.params, rtol=1e-3, atol=1e-4)
    assert not np.allclose(drawn[0.2], drawn[3.0])


def test_mini_batches_show_their_gradient_noise_with_the_runs_numbers():
    at = open_app(surface="linear_regression", batch="8", lr="0.05", steps="20")
    surface = surfaces.get("linear_regression", n=int(widget(at, "w_n").value),
                           noise=float(widget(at, "w_noise").value),
                           seed=int(widget(at, "w_seed").value))
    h = own_run(surface, "sgd", 0.05, starts(at), steps=20, batch=8,
                seed=int(widget(at, "w_seed").value))
    line = line_with(main_text(at), "mini-batch gradient was")
    shown = [float(v) for v in line.split("was (")[1].split(")")[0].split(",")]
    np.testing.assert_allclose(shown, h.batch_grad[-1], rtol=5e-3)
    full = [float(v) for v in line.split("full-batch gradient was (")[1].split(")")[0].split(",")]
    np.testing.assert_allclose(full, h.grad[len(h.batch_grad) - 1], rtol=5e-3)
    assert not np.allclose(shown, full, rtol=1e-2)


def test_the_data_panel_draws_the_surfaces_rows():
    at = open_app(surface="linear_regression", n="40", seed="4")
    surface = surfaces.get("linear_regression", n=40, seed=4,
                           noise=float(widget(at, "w_noise").value))
    panel = [e for e in at.main.expander if e.label.startswith("The data")][0]
    rows = chartdata.rows_with(charts(panel), "x", "y")
    assert rows, "the data panel draws the rows"
    drawn = rows[0].sort_values("x")
    np.testing.assert_allclose(drawn["x"], np.sort(surface.data.x))


def test_a_formula_that_changes_dimension_switches_the_view():
    at = open_app(surface="custom", expr="(w - 1)^2")
    assert at.radio(key="w_view").value == "lesson"
    at.text_input(key="w_expr").input("(w1 - 1)^2 + 3*(w2 + 2)^2")
    ok(at.run())
    assert at.radio(key="w_view").value == "surface" and len(starts(at)) == 2
    first = runs_of(path_rows(at))[0].iloc[0]
    assert (first["w1"], first["w2"]) == pytest.approx(starts(at))
    at.text_input(key="w_expr").input("abs(w - 2)")
    ok(at.run())
    assert at.radio(key="w_view").value == "lesson" and len(starts(at)) == 1
    assert "w" in path_rows(at).columns


def test_a_formula_undefined_on_part_of_the_window_says_so():
    at = open_app(surface="custom", expr="log(w1) + w2^2", start="1,1")
    assert any("undefined on" in i.value for i in at.info)
    assert all(not chartdata.non_finite_cells(c) for c in charts(at))


def test_a_formula_undefined_everywhere_says_there_is_nothing_to_draw():
    at = open_app(surface="custom", expr="log(-1 - w1^2) + w2")
    assert any("undefined everywhere" in e.value or "cannot" in e.value for e in at.error)


def test_a_start_where_the_formula_is_undefined_is_explained():
    at = open_app(surface="custom", expr="sqrt(w1) + w2^2", start="-1,1")
    assert any("cannot start" in e.value for e in at.error)


def test_the_surface_menu_names_no_loss_where_the_loss_is_picked_below_it():
    at = open_app({"surface": "linear_regression", "loss": "mae"})
    menu = widget(at, "w_surface")
    assert menu.format_func("linear_regression") == "Linear regression"
    assert widget(at, "w_loss_kind").value == "mae"


def test_the_sweep_says_which_local_minimum_its_runs_stalled_in():
    # Styblinski–Tang from the far corner: every rate of the sweep ends in the shallow basin
    # at (2.75, 2.75), and each line says so, beside the map that marks it.
    at = open_app({"view": "sweep", "surface": "styblinski_tang", "start": "4.5,4.5",
                   "lr": "0.01", "steps": "200"})
    assert not at.exception
    lines = [line for line in main_text(at).splitlines() if "lr = " in line and "step 200" in line]
    assert len(lines) >= 3, lines
    assert all("stalled in the local minimum (2.75, 2.75): loss -50.1 at step 200" in line
               for line in lines), lines
