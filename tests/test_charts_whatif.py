"""What-if specs: valid Vega-Lite, one rate control per run, every view reading the chosen rows,
fixed scales, and small enough to send."""

from __future__ import annotations

import json

import pytest

from losslab import charts, grids, surfaces, whatif
from losslab.charts import whatif as whatif_charts
from losslab.charts.maps import CELLS_VIEW
from losslab.whatif import RunSetting
from tests.chartdata import assert_same_figure, assert_valid_vega_lite

RUNS = [RunSetting("sgd", "Gradient descent", {"learning_rate": 0.001}),
        RunSetting("momentum", "Momentum", {"learning_rate": 0.001}),
        RunSetting("adam", "Adam", {"learning_rate": 0.05})]


@pytest.fixture(scope="module")
def rosenbrock():
    surface = surfaces.get("rosenbrock")
    background = charts.surface_map(surface, grids.evaluate(surface, 60), size=420)
    return surface, background.to_dict(validate=False)


@pytest.fixture(scope="module")
def rosenbrock_sweep(rosenbrock):
    surface, _ = rosenbrock
    return whatif.sweep(surface, RUNS, start=(-1.5, 2.0), steps=60)


@pytest.fixture(scope="module")
def map_spec(rosenbrock, rosenbrock_sweep):
    _, background = rosenbrock
    return rosenbrock_sweep, whatif_charts.whatif_map_spec(rosenbrock_sweep, background,
                                                           optimal_value=0.0)


@pytest.fixture(scope="module")
def lesson():
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    sweep = whatif.sweep(surface, [RunSetting("sgd", "Gradient descent", {"learning_rate": 0.05})],
                         start=(-1.0,), steps=30, rungs_each_side=8)
    return sweep, whatif_charts.whatif_lesson_spec(surface, sweep)


def views(spec: dict):
    """Every unit or layer spec with a mark, anywhere in the tree."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            yield from views(sub)


def test_the_map_spec_is_valid_vega_lite(map_spec):
    assert_valid_vega_lite(map_spec[1])


def test_the_lesson_spec_is_valid_vega_lite(lesson):
    assert_valid_vega_lite(lesson[1])


def test_each_run_has_a_rate_control_and_the_decay_runs_a_beta_control(map_spec):
    sweep, spec = map_spec
    params = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert set(params) == {"step", "lr_1", "lr_2", "lr_3", "beta_2", "beta_3"}
    for k, win in enumerate(sweep.windows):
        rate = params[f"lr_{k + 1}"]
        assert rate["value"] == win.rate_index
        assert rate["bind"] == {"input": "range", "min": 0, "max": len(win.rates) - 1,
                                "step": 1, "name": f"{win.name}: learning rate "}
    assert params["beta_2"]["bind"]["name"] == "Momentum: μ "
    assert params["beta_3"]["bind"]["name"] == "Adam: β1 "
    assert params["step"]["bind"]["max"] == 60


def test_every_view_of_the_runs_starts_with_the_one_rung_filter(map_spec):
    """Each run's paths are read by views of their own, all starting with that run's filter
    (so a move of one run's rate filters its rows only); the outcome text reads every run."""
    _, spec = map_spec
    run_filters = ["datum.rung == lr_1 && datum.beta == 0",
                   "datum.rung == lr_2 && datum.beta == beta_2",
                   "datum.rung == lr_3 && datum.beta == beta_3"]
    for k, expected in enumerate(run_filters):
        readers = [v for v in views(spec)
                   if v.get("data", {}).get("name") == whatif_charts.paths_name(k)]
        # map: path line, dots, marker; two metric charts: line, marker
        assert len(readers) == 3 + 2 * 2
        assert {json.dumps(v["transform"][0]) for v in readers} == {
            json.dumps({"filter": expected})}
    outcomes = [v for v in views(spec)
                if v.get("data", {}).get("name") == whatif_charts.WHATIF_OUTCOMES]
    assert len(outcomes) == 3
    assert {json.dumps(v["transform"][0]) for v in outcomes} == {
        json.dumps({"filter": "datum.rung == [lr_1, lr_2, lr_3][datum.run] && "
                              "datum.beta == [0, beta_2, beta_3][datum.run]"})}


def test_every_scale_the_runs_use_has_a_fixed_domain(map_spec):
    _, spec = map_spec
    for view in views(spec):
        if not view.get("data", {}).get("name", "").startswith(whatif_charts.WHATIF_PATHS):
            continue
        for channel in ("x", "y"):
            assert "domain" in view["encoding"][channel]["scale"], (channel, view["mark"])


def test_the_loss_charts_log_axes_span_every_row_in_whole_decades(map_spec):
    """The loss and distance axes are computed by the browser from all the rows the chart
    holds (every rung, not the chosen one), so moving a rate never moves them."""
    sweep, spec = map_spec
    params = {p["name"]: p["expr"] for p in spec["params"] if "expr" in p}
    start_loss = float(sweep.paths.loc[sweep.paths["step"] == 0, "loss"].max())
    assert start_loss == pytest.approx(12.5)  # Rosenbrock at (-1.5, 2)
    # A thousand times the start's loss above the optimum; a thousand away from the minimum.
    for field, top in (("gap", "12500.0"), ("distance", "1000.0")):
        for k in range(3):  # each run's rows are a dataset of their own
            assert params[f"{field}_extent_{k + 1}"] == (
                f"extent(pluck(data('{whatif_charts.paths_name(k)}'), '{field}'))")
            assert f"{field}_extent_{k + 1}[0]" in params[f"{field}_least"]
            assert f"{field}_extent_{k + 1}[1]" in params[f"{field}_most"]
        assert params[f"{field}_low"].startswith("pow(10, floor(log(")
        assert params[f"{field}_high"].startswith("pow(10, ceil(log(")
        assert f"{top})" in params[f"{field}_high"]  # values beyond the top leave the chart
        metric = [v for v in views(spec) if v["encoding"].get("y", {}).get("field") == field]
        assert metric and all(v["encoding"]["y"]["scale"]["domain"] == [
            {"expr": f"{field}_low"}, {"expr": f"{field}_high"}] for v in metric)


def test_a_run_that_changes_optimiser_changes_the_rows_not_the_spec(rosenbrock):
    """Newton's and RMSProp's losses reach other decades than gradient descent's: the figure
    keeps its spec (so the browser only swaps the rows in) and only the rows differ. (The
    controls' labels are drawn beside the inputs, outside the specs.)"""
    surface, background = rosenbrock

    def figure(first: RunSetting) -> list[dict]:
        sweep = whatif.sweep(surface, [first, *RUNS[1:]], start=(-1.5, 2.0), steps=60)
        panels = whatif_charts.whatif_map_panels(sweep, background, optimal_value=0.0)
        return charts.shared_controls(panels)[0]

    base = figure(RUNS[0])
    for other in (RunSetting("newton", "Newton", {"learning_rate": 0.5}),
                  RunSetting("rmsprop", "RMSProp", {"learning_rate": 0.01})):
        panels = figure(other)
        assert [{k: v for k, v in p.items() if k != "datasets"} for p in panels] == [
            {k: v for k, v in p.items() if k != "datasets"} for p in base]
        for panel, before in zip(panels, base, strict=True):
            first = whatif_charts.paths_name(0)
            assert panel["datasets"][first] != before["datasets"][first]
            # The other runs' rows are as they were: the browser keeps them.
            for k in (1, 2):
                name = whatif_charts.paths_name(k)
                assert panel["datasets"][name] == before["datasets"][name]


def test_the_paths_sent_are_the_sweeps_rows(map_spec):
    sweep, spec = map_spec
    for k in range(3):
        rows = spec["datasets"][whatif_charts.paths_name(k)]
        mine = sweep.paths[sweep.paths["run"] == k]
        assert len(rows) == len(mine) and "run" not in rows[0]
        assert [r["step"] for r in rows] == mine["step"].tolist()
    assert whatif_charts.WHATIF_PATHS not in spec["datasets"]
    outcomes = spec["datasets"][whatif_charts.WHATIF_OUTCOMES]
    assert len(outcomes) == 7 + 7 * 3 + 7 * 3
    chosen = [o for o in outcomes if (o["run"], o["rung"], o["beta"]) == (2, 3, 1)]
    assert chosen[0]["line"] == "Adam: converging   (lr = 0.05, β1 = 0.9)"


def test_the_lesson_shows_the_stability_sentence_of_the_chosen_rate(lesson):
    sweep, spec = lesson
    texts = [v for v in views(spec) if v["mark"].get("type") == "text"
             and v["encoding"]["text"]["field"] == "sentence"]
    assert len(texts) == 1
    by_rung = {o["rung"]: o["sentence"] for o in spec["datasets"][whatif_charts.WHATIF_OUTCOMES]}
    assert by_rung[sweep.windows[0].rate_index].startswith(
        "lr = 0.05: gradient descent creeps straight to the minimum")


def test_three_runs_over_the_window_for_500_steps_stay_under_2_mb(rosenbrock):
    surface, background = rosenbrock
    sweep = whatif.sweep(surface, RUNS, start=(-1.5, 2.0), steps=500)
    spec = whatif_charts.whatif_map_spec(sweep, background, optimal_value=0.0)
    assert len(json.dumps(spec).encode()) < 2_000_000
    assert sweep.paths.groupby(["run", "rung", "beta"]).size().max() <= whatif.MAX_POINTS


def test_a_one_weight_sweep_is_not_drawn_on_a_map(lesson, rosenbrock):
    with pytest.raises(ValueError, match="two-weight"):
        whatif_charts.whatif_map_spec(lesson[0], rosenbrock[1])


def test_with_choices_starts_the_controls_at_the_chosen_rungs_and_changes_nothing_else():
    surface = surfaces.get("rosenbrock")
    runs = [whatif.RunSetting("momentum", "Momentum", {"learning_rate": 0.001})]
    swept = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=40, rungs_each_side=2)
    grid = grids.evaluate(surface, 40)
    background = charts.surface_map(surface, grid).to_dict(validate=False)
    spec = charts.whatif_map_spec(swept, background)
    chosen = swept.windows[0]._replace(rate_index=4, beta_index=2)
    moved = charts.with_choices(spec, [chosen])
    values = {p["name"]: p.get("value") for p in moved["params"]}
    assert values[whatif_charts.rate_param_name(0)] == 4
    assert values[whatif_charts.beta_param_name(0)] == 2
    assert {k: v for k, v in moved.items() if k != "params"} == \
        {k: v for k, v in spec.items() if k != "params"}


@pytest.fixture(scope="module")
def map_panels(rosenbrock, rosenbrock_sweep):
    _, background = rosenbrock
    return rosenbrock_sweep, whatif_charts.whatif_map_panels(rosenbrock_sweep, background,
                                                             optimal_value=0.0)


@pytest.fixture(scope="module")
def lesson_panels(lesson):
    sweep, _ = lesson
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    return sweep, whatif_charts.whatif_lesson_panels(surface, sweep)


def test_the_map_panels_are_valid_vega_lite_with_the_same_controls(map_panels):
    _, panels = map_panels
    assert len(panels) == 2
    for spec in panels:
        assert_valid_vega_lite(spec)
        # Every run has its decay control, gradient descent's unnamed (hidden on the page).
        assert [p["name"] for p in spec["params"] if "bind" in p] == [
            "step", "lr_1", "beta_1", "lr_2", "beta_2", "lr_3", "beta_3"]


def test_the_map_panel_holds_the_map_and_outcomes_and_the_other_the_loss_charts(map_panels):
    _, (the_map, metrics) = map_panels
    assert the_map["title"] and len(the_map["vconcat"]) == 2
    texts = {v["encoding"]["text"]["field"] for v in views(the_map)
             if v["mark"].get("type") == "text" and "field" in v["encoding"].get("text", {})}
    assert {"line", "sentence"} <= texts
    # One line per run in each: the loss above the optimum, then the distance.
    assert [v["encoding"]["y"]["field"] for v in views(metrics) if v["mark"]["type"] == "line"] \
        == ["gap"] * 3 + ["distance"] * 3
    # The click that restarts the runs needs the map's cells in the map panel.
    assert any(v.get("name") == CELLS_VIEW for v in views(the_map))
    runs = [whatif_charts.paths_name(k) for k in range(3)]
    assert set(metrics["datasets"]) == set(runs)
    on_map = set(the_map["datasets"][runs[0]][0])
    over_steps = set(metrics["datasets"][runs[0]][0])
    assert {"w1", "w2"} <= on_map and not {"gap", "distance"} & on_map
    assert {"gap", "distance"} <= over_steps and not {"w1", "w2"} & over_steps


def test_every_panel_view_of_the_runs_starts_with_the_one_rung_filter(map_panels,
                                                                       lesson_panels):
    for _, panels in (map_panels, lesson_panels):
        for spec in panels:
            readers = [v for v in views(spec) if v.get("data", {}).get("name", "")
                       .startswith((whatif_charts.WHATIF_PATHS, whatif_charts.WHATIF_OUTCOMES))]
            assert readers
            assert all(v["transform"][0]["filter"].startswith("datum.rung == ")
                       for v in readers)


def test_the_map_panel_keeps_its_loss_legend_above_the_map_so_it_stays_narrow(map_panels):
    _, (the_map, _) = map_panels
    legends = [v["encoding"][c]["legend"] for v in views(the_map) for c in ("fill", "color")
               if isinstance(v.get("encoding", {}).get(c, {}).get("legend"), dict)]
    assert legends and all(legend["orient"] == "top" for legend in legends)


def test_the_panels_sentences_are_broken_into_lines_as_wide_as_a_panel(map_panels,
                                                                      lesson_panels):
    sweep, (the_map, _) = map_panels
    sentences = [o["sentence"] for o in the_map["datasets"][whatif_charts.WHATIF_OUTCOMES]]
    assert any("\n" in s for s in sentences)  # Momentum's bound takes more than a line
    # 12 px text, about half an em a character, in the fixture's 420 px wide map
    assert all(len(line) * 0.5 * 12 <= 420 for s in sentences for line in s.split("\n"))
    assert {s.replace("\n", " ") for s in sentences} == set(sweep.outcomes["sentence"])
    left, _ = lesson_panels[1]
    words = [r["step_words"] for r in left["datasets"][whatif_charts.WHATIF_PATHS]]
    assert any("\n" in w for w in words)
    assert all(len(line) * 0.5 * 14 <= 320 + 40 for w in words for line in w.split("\n"))


def test_the_lesson_panels_are_the_loss_curve_and_the_gradient_curve(lesson_panels):
    _, (left, right) = lesson_panels
    for spec in (left, right):
        assert_valid_vega_lite(spec)
        assert [p["name"] for p in spec["params"]] == ["step", "lr_1", "beta_1"]
    assert left["vconcat"][0]["title"] == "Loss surface"
    assert right["vconcat"][0]["title"] == "Gradient of loss w.r.t. w"
    assert whatif_charts.WHATIF_OUTCOMES not in left["datasets"]
    assert whatif_charts.WHATIF_OUTCOMES in right["datasets"]


def test_another_optimiser_in_a_run_keeps_the_panels_as_they_are_and_changes_only_rows(
        rosenbrock):
    """A learner switching a run's optimiser on the server gets the same map panel (the
    browser then swaps the rows into the chart it has, image and contours kept) and the same
    inputs, newly labelled. (The loss charts' log axes span the rows they hold, so that
    light panel is drawn anew when the new run's losses reach other decades.)"""
    surface, background = rosenbrock
    drawn = {}
    for first in ("sgd", "momentum", "adam"):
        runs = [RunSetting(first, first, {"learning_rate": 0.001}), *RUNS[1:]]
        sweep = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=60)
        panels, controls = charts.shared_controls(
            whatif_charts.whatif_map_panels(sweep, background, optimal_value=0.0,
                                            as_frames=True))
        drawn[first] = ([{k: v for k, v in p.items() if k != "datasets"} for p in panels],
                        controls, panels)
    for first in ("momentum", "adam"):
        assert drawn[first][0][0] == drawn["sgd"][0][0], first
        assert [c.element for c in drawn[first][1]] == [c.element for c in drawn["sgd"][1]]
    labels = {first: {c.name: c.label for c in controls} for first, (_, controls, _)
              in drawn.items()}
    assert labels["sgd"]["lr_1"].startswith("sgd") and labels["sgd"]["beta_1"] == ""
    assert labels["momentum"]["beta_1"].startswith("momentum: μ")
    # Gradient descent's rows pass whatever its (hidden) decay control holds; the others
    # are filtered by theirs.
    datasets = drawn["sgd"][2][0]["datasets"]
    assert datasets[whatif_charts.paths_name(0)]["fixed"].all()
    assert not datasets[whatif_charts.paths_name(1)]["fixed"].any()
    assert not datasets[whatif_charts.paths_name(2)]["fixed"].any()
    first_filter = next(v["transform"][0]["filter"] for v in views(drawn["sgd"][2][0])
                        if v.get("data", {}).get("name") == whatif_charts.paths_name(0))
    assert "datum.fixed ||" in first_filter and "beta_1" in first_filter


def test_runs_drawn_one_by_one_and_joined_are_the_runs_drawn_together(rosenbrock):
    """A server keeps each run's rows on its own (``whatif_map_rows`` of a one-run sweep):
    its paths as they are, its outcomes joined with the others'. Those rows, and the figure
    built from their merged shape, are what ``whatif_map_panels`` draws for all the runs at
    once."""
    import pandas as pd

    surface, background = rosenbrock
    runs = [*RUNS, RunSetting("newton", "Newton", {"learning_rate": 1.0})]
    whole = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=60)
    parts = [whatif.sweep(surface, [run], start=(-1.5, 2.0), steps=60, windows=[window])
             for run, window in zip(runs, whole.windows, strict=True)]
    one_by_one = [whatif_charts.whatif_map_rows(part, width=420, optimal_value=0.0)
                  for part in parts]
    assert {rows.shape.lines for rows in one_by_one} == {3}  # room for the longest sentence

    assert all(len(r.on_map) == len(r.over_steps) == 1 for r in one_by_one)
    outcomes = pd.concat([r.outcomes.assign(run=k) for k, r in enumerate(one_by_one)],
                         ignore_index=True)
    rows = whatif_charts.MapRows(tuple(r.on_map[0] for r in one_by_one),
                                 tuple(r.over_steps[0] for r in one_by_one), outcomes,
                                 whatif_charts.MapShape.merge([r.shape for r in one_by_one]))
    figure = whatif_charts.whatif_map_figure(whole.windows, whole.steps, rows, background,
                                             optimal_value=0.0, step=7)
    drawn = whatif_charts.whatif_map_panels(whole, background, optimal_value=0.0, step=7,
                                            as_frames=True)
    assert_same_figure(figure, drawn)
    # The step control ends at the longest path's last drawn step; Newton's run is the
    # fourth row of the outcome text.
    assert next(p for p in figure[0]["params"] if p["name"] == "step")["bind"]["max"] == 60
    assert list(rows.outcomes.loc[rows.outcomes["run"] == 3, "line"].str[:7].unique()) == \
        ["Newton:"]


def test_the_rows_sent_hold_their_integers_in_small_types(rosenbrock_sweep):
    """Rungs, decays and steps go as 8- and 16-bit integers (64-bit ones were half of every
    path row's bytes), with the sweep's values unchanged."""
    sweep = rosenbrock_sweep
    rows = whatif_charts.whatif_map_rows(sweep, optimal_value=0.0)
    for k, (on_map, over_steps) in enumerate(zip(rows.on_map, rows.over_steps, strict=True)):
        mine = sweep.paths[sweep.paths["run"] == k].reset_index(drop=True)
        for frame in (on_map, over_steps):
            assert {c: str(frame[c].dtype) for c in ("rung", "beta", "step", "until")} == {
                "rung": "int8", "beta": "int8", "step": "int16", "until": "int16"}
            for column in ("rung", "beta", "step", "until"):
                assert frame[column].tolist() == mine[column].tolist()
        assert on_map["w1"].tolist() == mine["w1"].tolist()  # floats keep every digit
    assert str(rows.outcomes["run"].dtype) == "int8"
    assert rows.outcomes["diverged_at"].tolist() == sweep.outcomes["diverged_at"].tolist()


@pytest.mark.parametrize("figure", ["panels", "spec"])
def test_a_run_computed_at_one_decay_offers_no_decay_control(rosenbrock, figure):
    """Four runs or more are swept at their own decay only. A decay control from 0 to 1 would
    let the learner pick a decay that was never computed, and the run would vanish from the
    map, the loss charts and the legend: there is no control, and the filter keeps the one
    decay computed."""
    surface, background = rosenbrock
    sweep = whatif.sweep(surface, RUNS, start=(-1.5, 2.0), steps=30, beta_each_side=0)
    assert [len(w.betas) for w in sweep.windows] == [0, 1, 1]
    if figure == "panels":
        specs = whatif_charts.whatif_map_panels(sweep, background, optimal_value=0.0,
                                                as_frames=True)
    else:
        specs = [whatif_charts.whatif_map_spec(sweep, background, optimal_value=0.0)]
    _, controls = charts.shared_controls(specs)
    shown = [c.label for c in controls if c.label]
    if figure == "spec":  # Vega's own bindings show every bound parameter, named or not
        bound = {p["name"] for p in specs[0]["params"] if "bind" in p}
        assert bound == {"step", "lr_1", "lr_2", "lr_3"}
    assert not [label for label in shown if "μ" in label or "β1" in label], shown
    assert [label.strip() for label in shown if "learning rate" in label] == [
        "Gradient descent: learning rate", "Momentum: learning rate", "Adam: learning rate"]
    for control in controls:
        if control.name.startswith("beta_"):
            assert control.value == 0
