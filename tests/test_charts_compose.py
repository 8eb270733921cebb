"""``compose`` gives exactly the spec ``link`` gives, without Altair's copies."""

from __future__ import annotations

import json
import re

import pytest

from losslab import charts, descent, grids, optimizers, surfaces
from tests.chartdata import assert_valid_vega_lite


@pytest.fixture(scope="module")
def runs():
    s = surfaces.get("himmelblau")
    hs = [
        (name, descent.run(s, optimizers.make(name, learning_rate=0.01), start=[-4, 4], steps=40))
        for name in ("sgd", "adam")
    ]
    return s, hs


def same(a: dict, b: dict) -> bool:
    """Equal specs; the order in which parameters are declared does not matter."""

    def normal(spec: dict) -> str:
        spec = {**spec, "params": sorted(spec.get("params", []), key=lambda p: p["name"])}
        # Altair suffixes a named view inside a concat ("losslab_cells_0"); the name is ours.
        return re.sub(r'"(losslab_cells)_\d+"', r'"\1"', json.dumps(spec, sort_keys=True))

    return normal(a) == normal(b)


def test_map_and_metrics_compose_to_the_linked_spec(runs):
    s, hs = runs
    step = charts.step_param(40)
    m = charts.surface_map(s, grids.evaluate(s, 60), histories=hs, step_param=step)
    metrics = charts.metrics_charts(hs, step, minimizers=s.minimizers)
    spec = charts.compose(step, m, metrics)
    assert same(spec, charts.link(step, m, metrics).to_dict())
    assert_valid_vega_lite(spec)
    names = [p["name"] for p in spec["params"]]
    assert names[0] == "step"
    # the rest bound the metric charts' axes (computed in the browser from their rows)
    assert {n.split("_axis_")[0] for n in names[1:]} == {"loss", "distance", "learning_rate"}


def test_three_d_view_keeps_its_rotation_params_at_the_top(runs):
    s, hs = runs
    step = charts.step_param(40)
    view = charts.three_d_chart(s, hs[0][1], step)
    spec = charts.compose(step, view)
    assert same(spec, charts.link(step, view).to_dict())
    assert {"step", "azimuth", "elevation"} <= {p["name"] for p in spec["params"]}


def test_slices_compose_to_the_linked_spec(runs):
    s, hs = runs
    step = charts.step_param(40)
    view = charts.slice_charts(s, hs[0][1], step)
    assert same(charts.compose(step, view), charts.link(step, view).to_dict())


def test_compose_needs_a_chart():
    with pytest.raises(ValueError):
        charts.compose(None)


def by_content(spec: dict) -> str:
    """A spec with every dataset reference replaced by its rows: names may differ."""
    datasets = spec.get("datasets", {})

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"name"} and node["name"] in datasets:
                return sorted(json.dumps(r, sort_keys=True) for r in datasets[node["name"]])
            return {k: walk(v) for k, v in node.items() if k != "datasets"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    body = walk(spec)
    body["params"] = sorted(spec.get("params", []), key=lambda p: p["name"])
    return json.dumps(body, sort_keys=True)


def test_paths_over_a_cached_background_give_the_full_map(runs):
    s, hs = runs
    grid = grids.evaluate(s, 60)
    step = charts.step_param(40)
    full = charts.surface_map(s, grid, histories=hs, step_param=step)
    background = charts.surface_map(s, grid).to_dict(validate=False)
    layered = charts.overlay(background, charts.path_overlay(grid, hs, step))
    assert by_content(labels_inline(charts.compose(step, layered), [n for n, _ in hs])) == (
        by_content(charts.link(step, full).to_dict()))


def test_a_path_skeleton_filled_with_a_new_run_draws_that_run(runs):
    s, hs = runs
    grid = grids.evaluate(s, 60)
    other = [(name, descent.run(s, optimizers.make(name, learning_rate=0.02), start=[3, -3],
                                steps=40)) for name, _ in hs]
    paths, arrows, shape = charts.path_tables(grid.window, hs)
    skeleton = charts.path_skeleton(grid, shape, "step")
    new_paths, new_arrows, new_shape = charts.path_tables(grid.window, other)
    assert new_shape == shape  # same names and length: the skeleton is reused
    filled = charts.fill_paths(skeleton, new_paths, new_arrows)
    direct = charts.path_overlay(grid, other, charts.step_param(40))
    assert by_content(filled) == by_content(direct)
    assert by_content(filled) != by_content(charts.fill_paths(skeleton, paths, arrows))


def test_the_lesson_spec_is_the_lesson_figure():
    s = surfaces.get("single_point")
    runs = [
        (f"lr {lr}", descent.run(s, optimizers.sgd(learning_rate=lr), start=[-1.0], steps=30))
        for lr in (0.01, 0.1, 0.3)
    ]
    for history in (runs, runs[0][1]):
        spec = charts.lesson_spec(s, history)
        assert by_content(spec) == by_content(charts.lesson_figure(s, history).to_dict())
        assert_valid_vega_lite(spec)
    curves_only = charts.lesson_spec(s, None)  # Altair hoists the shared data: compare rows
    assert_valid_vega_lite(curves_only)
    assert curves_only["datasets"][charts.LESSON_CURVE] == charts.records(
        charts.lesson_frames(s, None)[0])


def test_a_lesson_skeleton_filled_with_new_rows_draws_those_rows():
    s = surfaces.get("single_point")
    first, other = (descent.run(s, optimizers.sgd(learning_rate=lr), start=[-1.0], steps=30)
                    for lr in (0.05, 0.07))
    curve, path = charts.lesson_frames(s, first)
    skeleton = charts.lesson_skeleton(charts.lesson_shape(path), step=10)
    new_curve, new_path = charts.lesson_frames(s, other)
    assert charts.lesson_shape(new_path) == charts.lesson_shape(path)  # the skeleton is reused
    filled = charts.fill_lesson(skeleton, charts.records(new_curve), charts.records(new_path))
    assert by_content(filled) == by_content(charts.lesson_spec(s, other, step=10))
    assert by_content(filled) != by_content(charts.lesson_spec(s, first, step=10))


def test_layer_and_concat_specs_lift_datasets_and_params():
    s = surfaces.get("single_point")
    h = descent.run(s, optimizers.sgd(learning_rate=0.1), start=[-1.0], steps=10)
    spec = charts.lesson_spec(s, h)
    assert "datasets" in spec and all("datasets" not in part for part in spec["vconcat"])
    assert [p["name"] for p in spec["params"]] == ["step"]
    assert_valid_vega_lite(spec)
    with pytest.raises(ValueError):
        charts.concat_spec("diagonal", spec)


def test_metrics_as_a_spec_equal_the_altair_chart(runs):
    s, hs = runs
    step = charts.step_param(40)
    for rates in (True, False):
        chart = charts.metrics_charts(hs, step, minimizers=s.minimizers, rates=rates)
        spec = charts.metrics_charts(hs, step, minimizers=s.minimizers, rates=rates, as_spec=True)
        assert same(spec, chart.to_dict())
        assert ("learning rate" in json.dumps(spec)) == rates


def test_a_metrics_skeleton_filled_with_runs_draws_those_runs(runs):
    s, hs = runs
    tables, shape = charts.metrics_tables(hs, minimizers=s.minimizers, rates=False)
    filled = charts.fill_metrics(charts.metrics_skeleton(shape, "step"), tables)
    direct = charts.metrics_charts(
        hs, charts.step_param(40), minimizers=s.minimizers, rates=False, as_spec=True
    )
    # The skeleton's axes read their bounds from its named rows, the direct spec's are written
    # out: the same bounds, checked where they are computed (test_charts_step_panels).
    assert by_content(without_axis_bounds(labels_inline(filled, list(shape.names)))) == \
        by_content(without_axis_bounds(direct))
    assert_valid_vega_lite(charts.compose(charts.step_param(40), filled))


def test_skeletons_do_not_depend_on_the_run_names(runs):
    """The legend reads each name from the rows, so a run that now "diverged" or has another
    rate leaves the spec as it was: the browser swaps rows instead of rebuilding the chart."""
    s, hs = runs
    grid = grids.evaluate(s, 60)
    named = [(f"{name}, lr 0.01: diverged at step 3", h) for name, h in hs]
    _, _, shape = charts.path_tables(grid.window, named)
    _, metric_shape = charts.metrics_tables(named, minimizers=s.minimizers)
    stand_ins = charts.placeholders(len(named))
    assert charts.path_skeleton(grid, shape._replace(names=stand_ins), "step") == (
        charts.path_skeleton(grid, shape, "step"))
    assert charts.metrics_skeleton(metric_shape._replace(names=stand_ins), "step") == (
        charts.metrics_skeleton(metric_shape, "step"))


def without_axis_bounds(spec: dict) -> dict:
    """``spec`` without the metric axes' bound parameters and the domains that read them."""

    def walk(node):
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            if isinstance(out.get("params"), list):
                out["params"] = [p for p in out["params"] if "_axis_" not in p.get("name", "")]
                if not out["params"]:
                    del out["params"]
            if isinstance(out.get("scale"), dict):
                out["scale"] = {k: v for k, v in out["scale"].items() if k != "domain"}
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(spec)


def labels_inline(spec: dict, names: list[str]) -> dict:
    """A skeleton-built spec as the direct builders write it: colour, dash and marker keyed on
    the names rather than on run keys whose labels the legend looks up in the rows."""
    keys = [str(i + 1) for i in range(len(names))]

    def walk(node):
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            if out.get("field") == "run":
                out["field"] = "optimizer"
            if out.get("domain") == keys:
                out["domain"] = list(names)
            legend = out.get("legend")
            if isinstance(legend, dict) and "data('" in str(legend.get("labelExpr", "")):
                out["legend"] = {k: v for k, v in legend.items() if k != "labelExpr"}
            if out.get("calculate") == "datum.run":
                out["calculate"] = "datum.optimizer"
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(spec)


def test_stable_names_keep_a_spec_identical_when_only_rows_change():
    s = surfaces.get("single_point")
    specs = [
        charts.stable_names(charts.lesson_figure(
            s, descent.run(s, optimizers.sgd(learning_rate=lr), start=[-1.0], steps=20)
        ).to_dict())
        for lr in (0.05, 0.06)
    ]
    body = [{k: v for k, v in spec.items() if k != "datasets"} for spec in specs]
    assert body[0] == body[1]
    assert specs[0]["datasets"] != specs[1]["datasets"]
    assert all(name.startswith("rows-") for name in specs[0]["datasets"])
    raw = charts.lesson_figure(s, descent.run(s, optimizers.sgd(learning_rate=0.05),
                                              start=[-1.0], steps=20)).to_dict()
    assert by_content(specs[0]) == by_content(raw)  # same rows, only names differ
    assert_valid_vega_lite(specs[0])


def test_stable_names_leave_fixed_names_and_other_name_keys_alone():
    spec = {
        "datasets": {"data-abc": [{"a": 1}], "losslab-paths": [{"a": 2}]},
        "params": [{"name": "step", "value": 1}],
        "layer": [{"data": {"name": "losslab-paths"}, "mark": "point"},
                  {"data": {"name": "data-abc"}, "mark": "line"}],
    }
    out = charts.stable_names(spec)
    assert set(out["datasets"]) == {"rows-1", "losslab-paths"}
    assert out["layer"][1]["data"] == {"name": "rows-1"}
    assert out["params"] == spec["params"] and spec["layer"][1]["data"]["name"] == "data-abc"
