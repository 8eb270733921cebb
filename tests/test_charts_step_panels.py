"""The figures drawn at the sidebar's rates (no window of rates to move) as panels: the map
beside its loss charts, and the loss curve beside the gradient curve, each a whole spec with
its own rows, all following one step."""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest

from losslab import charts, descent, grids, optimizers, schedules, surfaces
from tests.chartdata import assert_valid_vega_lite

STEPS = 60


@pytest.fixture(scope="module")
def valley():
    """Two runs on Rosenbrock's valley under a cosine schedule, and the grid drawn."""
    s = surfaces.get("rosenbrock")
    runs = [(f"{name}: converging", descent.run(
        s, optimizers.make(name, learning_rate=lr), start=[-1.2, 1.0], steps=STEPS,
        schedule=schedules.make("cosine", t_max=STEPS)))
        for name, lr in (("momentum", 0.001), ("adam", 0.05))]
    return s, grids.evaluate(s, 60), runs


def map_figure(valley, *, legend: bool = False) -> list[dict]:
    """The two panels as the app builds them: a cached map, path and metric skeletons."""
    s, grid, runs = valley
    step = charts.step_param(STEPS)
    background = charts.surface_map(s, grid, size=380).to_dict(validate=False)
    paths, arrows, shape = charts.path_tables(grid.window, runs)
    tables, metric_shape = charts.metrics_tables(runs, minimizers=s.minimizers,
                                                 optimal_value=s.optimal_value)
    the_map = charts.overlay(background, charts.fill_paths(
        charts.path_skeleton(grid, shape, "step", size=380), paths, arrows))
    metrics = charts.fill_metrics(charts.metrics_skeleton(
        metric_shape, "step", width=280, height=150, legend=legend), tables)
    return charts.map_panels(step, the_map, metrics)


def views(node) -> list[dict]:
    """Every unit view (a spec with a mark) in ``node``."""
    if isinstance(node, dict):
        found = [node] if "mark" in node else []
        for key, value in node.items():
            if key not in ("datasets", "data"):
                found += views(value)
        return found
    if isinstance(node, list):
        return [v for value in node for v in views(value)]
    return []


LEGENDED = ("color", "fill", "stroke", "shape", "strokeDash", "size", "opacity")


def legends(spec: dict) -> dict[str, list[dict]]:
    """The legends each channel draws, over every view of ``spec``."""
    out: dict[str, list[dict]] = {}
    for view in views(spec):
        for channel, enc in view.get("encoding", {}).items():
            if channel in LEGENDED and isinstance(enc, dict) and "field" in enc \
                    and enc.get("legend", {}) is not None:
                out.setdefault(channel, []).append(enc.get("legend", {}))
    return out


def mark(view: dict) -> str:
    return view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"]


def test_the_map_panel_draws_the_surface_the_paths_and_the_marker_at_the_step(valley):
    the_map, _ = map_figure(valley)
    marks = [mark(v) for v in views(the_map)]
    assert "image" in marks and marks.count("line") >= 2  # contours and paths
    paths = [v for v in views(the_map) if v.get("data", {}).get("name") == charts.PATHS_DATA]
    filters = json.dumps([v.get("transform", []) for v in paths])
    assert "datum.step <= step" in filters  # walked up to the step
    assert "step < datum.next_step" in filters  # the marker at the step
    rows = pd.DataFrame(the_map["datasets"][charts.PATHS_DATA])
    assert set(rows["optimizer"]) == {"momentum: converging", "adam: converging"}
    assert_valid_vega_lite(the_map)


def test_the_map_panel_puts_the_loss_legend_above_and_the_runs_under_the_map(valley):
    the_map, _ = map_figure(valley)
    placed = legends(the_map)
    assert {legend["orient"] for legend in placed["fill"]} == {"top"}
    assert all(legend["direction"] == "horizontal" for legend in placed["fill"])
    runs = placed["color"] + placed["shape"]
    assert runs and {legend["orient"] for legend in runs} == {"bottom"}
    # Untitled: each entry names its run (in the sweep, rates of one optimiser)
    assert all(legend.get("title") is None for legend in runs)


def test_a_log_axis_that_clips_says_so_on_a_second_line_within_a_short_chart():
    """Newton reaches the minimum exactly: its gap is drawn at 1e-12, and the axis title says so
    in a second line, so that the title is no taller than the 150 px chart."""
    s = surfaces.get("rosenbrock")
    runs = [("Newton: converging", descent.run(s, optimizers.make("newton", learning_rate=1.0),
                                                start=[-1.2, 1.0], steps=STEPS))]
    tables, shape = charts.metrics_tables(runs, minimizers=s.minimizers,
                                          optimal_value=s.optimal_value)
    metrics = charts.fill_metrics(charts.metrics_skeleton(shape, "step", width=280, height=150),
                                  tables)
    titles = [v["encoding"]["y"]["title"] for v in views(metrics)
              if v["encoding"].get("y", {}).get("title")]
    assert ["loss − optimum (log)", "≤ 1e-12 drawn at 1e-12"] in titles
    # about 6 px a character: each line fits the chart's 150 px height
    assert all(len(line) <= 25 for title in titles if isinstance(title, list) for line in title)


def test_the_loss_panel_draws_loss_distance_and_rate_over_the_steps_without_a_legend(valley):
    _, metrics = map_figure(valley)
    titles = [v["encoding"]["y"]["title"] for v in views(metrics)
              if v["encoding"].get("y", {}).get("title")]
    titles = [" ".join(t) if isinstance(t, list) else t for t in titles]  # lines of a title
    assert any(t.startswith("loss − optimum") for t in titles)
    assert any(t.startswith("distance to nearest minimum") for t in titles)
    assert any(t.startswith("learning rate") for t in titles)
    assert not legends(metrics)  # the map's legend names the runs
    assert {part["width"] for part in metrics["vconcat"]} == {280}
    rates = pd.DataFrame(metrics["datasets"][charts.metric_source("learning_rate")])
    _, _, runs = valley
    drawn = rates[rates["run"] == "2"]
    expected = runs[1][1].learning_rate[drawn["step"].to_numpy(dtype=int)]
    assert drawn["learning_rate"].to_numpy(dtype=float) == pytest.approx(expected, rel=1e-5)
    assert_valid_vega_lite(metrics)


def test_each_map_panel_carries_only_its_own_rows(valley):
    the_map, metrics = map_figure(valley)
    assert charts.PATHS_DATA in the_map["datasets"]
    assert not any(name.startswith("losslab-metric") for name in the_map["datasets"])
    assert charts.PATHS_DATA not in metrics["datasets"]
    assert {name for name in metrics["datasets"] if name.startswith("losslab-")} == {
        charts.metric_source(v) for v in ("loss", "distance", "learning_rate")}


def test_every_panel_follows_one_step_input(valley):
    panels, controls = charts.shared_controls(map_figure(valley))
    assert [(c.name, c.minimum, c.maximum, c.value) for c in controls] == [
        ("step", 0, STEPS, STEPS)]
    for spec in panels:
        (step,) = [p for p in spec["params"] if p["name"] == "step"]
        assert step["bind"] == {"element": f"#{controls[0].element}"}
        assert "datum.step" in json.dumps(spec)  # and the panel reads it


def test_the_map_and_loss_panels_hold_the_composed_figures_views(valley):
    """The same figure as ``compose`` draws it in one spec: the same views and rows."""
    s, grid, runs = valley
    step = charts.step_param(STEPS)
    background = charts.surface_map(s, grid, size=380).to_dict(validate=False)
    the_map = charts.overlay(background, charts.path_overlay(grid, runs, step, size=380))
    metrics = charts.metrics_charts(runs, step, minimizers=s.minimizers,
                                    optimal_value=s.optimal_value, as_spec=True)
    whole = charts.compose(step, the_map, metrics)
    apart = charts.map_panels(step, the_map, metrics)
    assert len(views(whole)) == sum(len(views(p)) for p in apart)
    merged = {name: rows for p in apart for name, rows in p["datasets"].items()}
    assert merged == whole["datasets"]


def test_a_click_on_the_map_panel_picks_a_start(valley):
    the_map, _ = map_figure(valley)
    picking = charts.start_picker(the_map)
    (pick,) = [p for p in picking["params"] if p["name"] == charts.START_PICK]
    (cells,) = pick["views"]  # the map's invisible cells, under the pointer anywhere
    assert any(v.get("name") == cells and mark(v) == "rect" for v in views(picking))
    assert_valid_vega_lite(picking)


def test_a_map_without_runs_is_one_panel_without_a_step():
    s = surfaces.get("booth")
    background = charts.surface_map(s, grids.evaluate(s, 40)).to_dict(validate=False)
    (alone,) = charts.map_panels(None, background)
    assert alone["params"] == []
    assert charts.shared_controls([alone])[1] == []


def test_compose_panels_keeps_a_selection_with_its_views():
    rows = pd.DataFrame({"x": [1.0, 2.0]})
    picked = alt.selection_point(name="picked", fields=["x"])
    chart = alt.Chart(rows).mark_point().encode(x="x:Q").add_params(picked)
    (spec,) = charts.compose_panels(charts.step_param(5), chart)
    names = [p["name"] for p in spec["params"]]
    assert names[0] == "step" and "picked" in names
    assert_valid_vega_lite(spec)


def test_place_legends_leaves_a_channel_without_a_legend_alone():
    spec = {"layer": [{"mark": "point", "encoding": {
        "color": {"field": "run", "type": "nominal", "legend": None},
        "shape": {"field": "run", "type": "nominal"},
        "x": {"field": "x", "type": "quantitative"}}}]}
    placed = charts.place_legends(spec, {"color": charts.LEGEND_BELOW,
                                         "shape": charts.LEGEND_BELOW})
    encoding = placed["layer"][0]["encoding"]
    assert encoding["color"]["legend"] is None
    assert encoding["shape"]["legend"] == charts.LEGEND_BELOW
    assert "legend" not in spec["layer"][0]["encoding"]["shape"]  # a copy: not mutated


# ------------------------------------------------------------------------------ one weight


@pytest.fixture(scope="module")
def lesson():
    s = surfaces.get("single_point")
    runs = [(name, descent.run(s, optimizers.make(key, learning_rate=0.05), start=[-1.0],
                               steps=30, schedule=schedules.make("cosine", t_max=30)))
            for key, name in (("sgd", "Gradient descent"), ("momentum", "Momentum"),
                              ("adam", "Adam"))]
    return s, runs


def test_the_lesson_panels_are_the_loss_curve_and_the_gradient_curve(lesson):
    s, runs = lesson
    loss, gradient = charts.lesson_panels(s, runs, step=10)
    assert json.dumps(loss).count('"Loss surface"') == 1
    assert '"Gradient of loss w.r.t. w"' in json.dumps(gradient)
    assert "Gradient of loss" not in json.dumps({k: v for k, v in loss.items()
                                                  if k != "datasets"})
    # The tangent at the step (a rule from one end to the other) is on the loss curve;
    # the dashed zero line on the gradient curve.
    assert any(mark(v) == "rule" and "x2" in v["encoding"] for v in views(loss))
    assert any(mark(v) == "rule" and v["mark"].get("strokeDash") for v in views(gradient))
    for spec in (loss, gradient):
        assert_valid_vega_lite(spec)
        assert [p["name"] for p in spec["params"]] == ["step"]
        assert spec["params"][0]["value"] == 10


def test_the_loss_panel_says_what_the_gradient_tells_each_run_in_lines_as_wide_as_it(lesson):
    s, runs = lesson
    loss, gradient = charts.lesson_panels(s, runs, step=10, width=320)
    _, path = charts.lesson_frames(s, runs)
    drawn = pd.DataFrame(loss["datasets"][charts.LESSON_PATH])
    (words,) = [v for v in views(loss) if mark(v) == "text"]
    assert words["mark"]["lineBreak"] == "\n" and words["width"] == 320
    lines = drawn["sentence"].str.split("\n")
    assert (lines.map(len) >= 2).all()  # a sentence is longer than one line this wide
    assert (lines.map(lambda ls: max(len(line) for line in ls)) <= 320 / 7).all()
    assert [" ".join(ls) for ls in lines] == list(path["sentence"])
    # The rows each run's sentence takes do not overlap the next run's.
    row = words["height"] / len(runs)
    assert max(lines.map(len)) * words["mark"]["lineHeight"] <= row
    # The gradient panel gets only the columns it draws, not the sentences.
    assert "sentence" not in pd.DataFrame(gradient["datasets"][charts.LESSON_PATH])


def test_the_step_is_compared_loosely_since_the_shared_input_holds_text(lesson):
    """An input outside the chart gives Vega its value as a string: ``datum.step === step``
    would never hold, and the tangent, marker and sentence would vanish."""
    s, runs = lesson
    for spec in charts.lesson_panels(s, runs, step=10):
        assert "=== step" not in json.dumps(spec)
        assert "datum.step == step" in json.dumps(spec)


def test_a_lesson_panel_skeleton_filled_with_new_rows_draws_those_rows(lesson):
    s, runs = lesson
    other = [(name, descent.run(s, optimizers.make("sgd", learning_rate=0.08), start=[3.0],
                                steps=30)) for name, _ in runs]
    curve, path = charts.lesson_frames(s, runs)
    skeletons = charts.lesson_panel_skeletons(charts.lesson_shape(path), step=10)
    new_curve, new_path = charts.lesson_frames(s, other)
    assert charts.lesson_shape(new_path) == charts.lesson_shape(path)
    filled = charts.fill_lesson_panels(skeletons, new_curve, new_path)
    direct = charts.lesson_panels(s, other, step=10, as_frames=True)
    for a, b in zip(filled, direct, strict=True):
        assert {k: v for k, v in a.items() if k != "datasets"} == {
            k: v for k, v in b.items() if k != "datasets"}
        for name, rows in a["datasets"].items():
            other_rows = b["datasets"][name]
            if isinstance(rows, pd.DataFrame):
                pd.testing.assert_frame_equal(rows, other_rows)
            else:
                assert rows == other_rows


def test_the_lesson_without_runs_draws_both_curves_and_no_step(lesson):
    s, _ = lesson
    loss, gradient = charts.lesson_panels(s, None)
    for spec in (loss, gradient):
        assert spec["params"] == [] and charts.LESSON_PATH not in spec["datasets"]
        assert len(spec["datasets"][charts.LESSON_CURVE]) == 100
    assert charts.shared_controls([loss, gradient])[1] == []


def _reads_the_step(expr: str, params: dict[str, str], seen: frozenset = frozenset()) -> bool:
    """Whether a Vega expression reads the ``step`` parameter, itself or through the
    parameters it reads (quoted field names such as 'step' are not reads)."""
    bare = re.sub(r"'[^']*'", "", expr)
    if re.search(r"\bstep\b", bare):
        return True
    return any(_reads_the_step(params[name], params, seen | {name})
               for name in set(re.findall(r"[A-Za-z_]\w*", bare)) & params.keys() - seen)


def test_no_axis_of_the_panels_follows_the_step(valley):
    # An axis whose domain Vega derives from what is drawn up to the step is derived again at
    # every move, and every mark of its chart is then encoded again: scrubbing two runs of
    # 300 steps cost ~110 ms a move instead of ~45.
    panels = map_figure(valley)
    params = {p["name"]: p.get("expr", "") for panel in panels for p in panel.get("params", [])}
    checked = 0
    for view in views(panels):
        for channel in ("x", "y"):
            enc = view.get("encoding", {}).get(channel)
            if not isinstance(enc, dict) or "field" not in enc or enc.get("scale", 0) is None:
                continue
            domain = enc.get("scale", {}).get("domain")
            assert domain is not None, (mark(view), channel, enc["field"])
            for bound in domain:
                if isinstance(bound, dict):
                    assert not _reads_the_step(bound["expr"], params), bound
            checked += 1
    assert checked > 20


def test_the_rate_chart_ends_at_the_same_step_as_the_loss_charts(valley):
    # The rate at step t moves w_t to w_t+1: a run of n steps has rates at 0 … n-1 and losses
    # at 0 … n. Its axis once ended at the last rate's nice tick (250 of 300) under the others.
    s, _, runs = valley
    tables, _ = charts.metrics_tables(runs, minimizers=s.minimizers,
                                      optimal_value=s.optimal_value)
    assert tables["learning_rate"]["step"].max() + 1 == tables["loss"]["step"].max() == STEPS
    spec = charts.metrics_charts(runs, charts.step_param(STEPS), minimizers=s.minimizers,
                                 optimal_value=s.optimal_value, as_spec=True)
    ends = {p["name"]: p["expr"] for p in spec["params"] if p["name"].endswith("_axis_steps")}
    assert set(ends) == {"loss_axis_steps", "distance_axis_steps", "learning_rate_axis_steps"}
    assert len(set(ends.values())) == 1 and str(float(STEPS)) in ends["loss_axis_steps"]
    # The app's skeleton reads the ends from its rows in the browser: the rate's last row + 1.
    skeleton = charts.metrics_skeleton(charts.metrics_tables(runs, minimizers=s.minimizers)[1],
                                       "step")
    ends = {p["name"]: p["expr"] for p in skeleton["params"] if p["name"].endswith("_axis_steps")}
    assert ends["learning_rate_axis_steps"] == ends["loss_axis_steps"].replace(
        charts.metric_source("loss"), charts.metric_source("learning_rate")).replace(
        "[1]", "[1] + 1")
