"""Views that follow the browser-side step: metrics over steps, 1-D slices, and `link`."""

from __future__ import annotations

import math
import re

import altair as alt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab.charts import DASHES, PALETTE, SHAPES, link, step_param, thin_steps
from losslab.charts.metrics import (
    LOG_FLOOR,
    MAX_METRIC_POINTS,
    MAX_METRIC_ROWS,
    MAX_RUNS,
    metrics_charts,
)
from losslab.charts.slices import (
    MAX_SLICE_POINTS,
    MAX_SLICE_STEPS,
    MAX_SLICE_VALUES,
    slice_charts,
)
from losslab.descent import MAX_STEPS, History, run
from losslab.optimizers import sgd
from losslab.surfaces import Surface, single_point


def bowl(a: float = 1.0, b: float = 4.0) -> Surface:
    """L(w) = a w1² + b w2², minimum 0 at the origin."""
    return Surface(
        name="bowl",
        title="Bowl",
        dim=2,
        loss_fn=lambda p: a * p[0] ** 2 + b * p[1] ** 2,
        grad_fn=lambda p: np.stack([2 * a * p[0], 2 * b * p[1]]),
        hessian_fn=lambda p: np.array([[2 * a, 0.0], [0.0, 2 * b]]),
        window=((-2.0, 2.0), (-2.0, 2.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        axis_labels=("w1", "w2"),
    )


def log_valley() -> Surface:
    """L(w) = w1 - log(w1) + w2², undefined for w1 <= 0; minimum 1 at (1, 0)."""
    return Surface(
        name="log_valley",
        title="Log valley",
        dim=2,
        loss_fn=lambda p: p[0] - np.log(p[0]) + p[1] ** 2,
        grad_fn=lambda p: np.stack([1 - 1 / p[0], 2 * p[1]]),
        hessian_fn=lambda p: np.array([[1 / p[0] ** 2, 0 * p[0]], [0 * p[0], 2 + 0 * p[0]]]),
        window=((-1.0, 3.0), (-2.0, 2.0)),
        minimizers=((1.0, 0.0),),
        optimal_value=1.0,
    )


def descend(surface: Surface, steps: int, lr: float = 0.01, momentum: float = 0.0) -> History:
    return run(surface, sgd(learning_rate=lr, momentum=momentum), start=[1.5, 1.0], steps=steps)


def walk(node, path=""):
    """Every (path, dict) in a spec, depth first."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


AXIS_BOUND = re.compile(r"_axis_(extent|steps|low|high)$")
"""The metric charts' own parameters: their axes' bounds, computed from their rows."""


def declared_params(spec: dict) -> list[tuple[str, str]]:
    """The parameters declared in ``spec`` (where, and their names), the axes' bounds aside."""
    return [
        (path, p["name"])
        for path, node in walk({k: v for k, v in spec.items() if k != "datasets"})
        for p in node.get("params", [])
        if not AXIS_BOUND.search(p["name"])
    ]


def bounded_by_rows(scale: dict, value: str) -> dict:
    """``scale`` without its domain, once checked to be the one its rows bound."""
    assert scale["domain"] == [{"expr": f"{value}_axis_low"}, {"expr": f"{value}_axis_high"}]
    return {k: v for k, v in scale.items() if k != "domain"}


def filters(spec: dict) -> list[str]:
    return [
        node["filter"]
        for _, node in walk(spec)
        if isinstance(node.get("filter"), str) and "transform" not in node
    ]


def finite_everywhere(spec: dict) -> bool:
    for rows in spec["datasets"].values():
        for row in rows:
            for value in row.values():
                if isinstance(value, float) and not math.isfinite(value):
                    return False
    return True


def y_encoding(view: dict) -> dict:
    """The y encoding of a layered view (its first layer carries it)."""
    return view["layer"][0]["encoding"]["y"]


def dataset_with(spec: dict, column: str) -> list[list[dict]]:
    return [rows for rows in spec["datasets"].values() if rows and column in rows[0]]


# thin_steps


def test_thin_steps_keeps_every_row_of_a_short_path():
    assert thin_steps(np.random.default_rng(0).normal(size=(40, 2)), 50).tolist() == list(range(40))


def test_thin_steps_of_a_still_path_keeps_first_and_last():
    assert thin_steps(np.ones((1000, 2)), 50).tolist() == [0, 999]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 3000),
    cap=st.integers(3, 400),
    seed=st.integers(0, 2**16),
    jump=st.floats(0.0, 100.0),
)
def test_thin_steps_bounds_the_count_and_the_distance_to_each_dropped_row(n, cap, seed, jump):
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n, 2)) * np.where(rng.random((n, 1)) < 0.01, jump, 1.0)
    points = np.cumsum(steps, axis=0)
    kept = thin_steps(points, cap)
    assert len(kept) <= max(cap, 3)
    assert kept[0] == 0 and kept[-1] == n - 1
    assert np.all(np.diff(kept) > 0)
    if n > max(cap, 3):
        length = np.linalg.norm(np.diff(points, axis=0), axis=1).sum()
        owner = kept[np.searchsorted(kept, np.arange(n), side="right") - 1]
        gap = np.linalg.norm(points - points[owner], axis=1)
        assert np.all(gap <= length / (max(cap, 3) - 1) * (1 + 1e-9) + 1e-12)


# metrics_charts


@pytest.fixture(scope="module")
def long_runs():
    s = bowl()
    return [("GD", descend(s, 5000)), ("momentum", descend(s, 5000, momentum=0.9))]


def test_linked_metrics_declare_step_once_at_the_top(long_runs):
    step = step_param(5000)
    spec = link(step, metrics_charts(long_runs, step, minimizers=[(0.0, 0.0)])).to_dict()
    assert declared_params(spec) == [("", "step")]


def test_metrics_current_markers_filter_on_the_step_interval(long_runs):
    step = step_param(5000)
    spec = link(step, metrics_charts(long_runs, step, minimizers=[(0.0, 0.0)])).to_dict()
    current = [f for f in filters(spec) if "step" in f and "datum.until" in f]
    assert current == ["datum.step <= step && step < datum.until"] * 3


def test_metrics_rule_sits_at_the_step_param(long_runs):
    step = step_param(5000)
    spec = link(step, metrics_charts(long_runs, step)).to_dict()
    rules = [
        n
        for _, n in walk(spec)
        if n.get("mark", {}) == {"type": "rule", "color": "#555555", "strokeDash": [3, 3]}
    ]
    assert rules and all({"calculate": "step", "as": "current"} in r["transform"] for r in rules)


def test_metrics_rows_stay_bounded_for_eight_runs_of_5000_steps():
    s = bowl()
    runs = [(f"run {i}", descend(s, 5000, lr=0.001 * (i + 1))) for i in range(MAX_RUNS + 3)]
    spec = metrics_charts(runs, step_param(5000), minimizers=[(0.0, 0.0)]).to_dict()
    for rows in dataset_with(spec, "optimizer"):
        assert len(rows) <= MAX_METRIC_ROWS
        per_run = {}
        for row in rows:
            per_run[row["optimizer"]] = per_run.get(row["optimizer"], 0) + 1
        assert len(per_run) == MAX_RUNS
        assert max(per_run.values()) <= MAX_METRIC_POINTS


def test_metrics_data_is_finite_even_when_the_loss_underflows(long_runs):
    spec = metrics_charts(long_runs, step_param(5000), minimizers=[(0.0, 0.0)]).to_dict()
    assert finite_everywhere(spec)


def test_metrics_give_each_run_colour_dash_and_marker_from_the_palette(long_runs):
    spec = metrics_charts(long_runs, step_param(5000)).to_dict()
    encodings = [n["encoding"] for _, n in walk(spec) if "encoding" in n]
    scales = {
        channel: enc[channel]["scale"]
        for enc in encodings
        for channel in ("color", "strokeDash", "shape")
        if channel in enc
    }
    assert scales["color"] == {"domain": ["GD", "momentum"], "range": PALETTE[:2]}
    assert scales["strokeDash"] == {"domain": ["GD", "momentum"], "range": DASHES[:2]}
    assert scales["shape"] == {"domain": ["GD", "momentum"], "range": SHAPES[:2]}


def test_dashes_stay_out_of_the_legend(long_runs):
    spec = metrics_charts(long_runs, step_param(5000)).to_dict()
    dashes = [
        n["encoding"]["strokeDash"] for _, n in walk(spec) if "strokeDash" in n.get("encoding", {})
    ]
    assert dashes and all(d["field"] == "dash" and d["legend"] is None for d in dashes)


def test_loss_axis_is_log_and_names_the_floor_when_values_reach_it(long_runs):
    spec = metrics_charts(long_runs, step_param(5000)).to_dict()
    y = y_encoding(spec["vconcat"][0])
    assert bounded_by_rows(y["scale"], "loss") == {"type": "log"}
    assert f"{LOG_FLOOR:g}" in y["title"][1]  # a second line of the title
    assert {"calculate": f"max(datum.loss, {LOG_FLOOR!r})", "as": "plotted"} in (
        spec["vconcat"][0]["layer"][0]["transform"]
    )


def test_without_an_optimum_the_loss_axis_draws_the_gap_to_the_lowest_loss_seen():
    """A loss that goes negative (a typed formula) must not look like a crash to the floor."""
    shifted = [("GD", descend(bowl(), 20)), ("GD slow", descend(bowl(), 20, lr=0.01))]
    shifted = [(n, h.__class__(**{**h.__dict__, "loss": h.loss - 10.0})) for n, h in shifted]
    spec = metrics_charts(shifted, step_param(20)).to_dict()
    title = y_encoding(spec["vconcat"][0])["title"]
    assert " ".join(title).startswith("loss − lowest seen (log")  # its lines
    rows = [r for rows in spec["datasets"].values() for r in rows if "loss" in r]
    lowest = min(float(h.loss.min()) for _, h in shifted)
    gaps = {round(r["loss"], 9) for r in rows}
    assert min(gaps) == 0.0 and all(g >= 0 for g in gaps) and lowest < 0


def test_optimal_value_turns_the_loss_into_the_gap_above_it():
    h = descend(log_valley(), 30, lr=0.1)
    spec = metrics_charts([("GD", h)], step_param(30), optimal_value=1.0).to_dict()
    assert y_encoding(spec["vconcat"][0])["title"].startswith("loss − optimum")
    (rows,) = dataset_with(spec, "loss")
    assert rows[0]["loss"] == pytest.approx(h.loss[0] - 1.0, rel=1e-5)


def test_distance_chart_measures_to_the_nearest_minimiser():
    h = descend(bowl(), 10)
    spec = metrics_charts(
        [("GD", h)], step_param(10), minimizers=[(0.0, 0.0), (1.5, 1.0)]
    ).to_dict()
    (rows,) = dataset_with(spec, "distance")
    assert rows[0]["distance"] == 0.0  # the start is a minimiser here
    nearest = min(np.linalg.norm(h.params[5]), np.linalg.norm(h.params[5] - [1.5, 1.0]))
    assert rows[5]["distance"] == pytest.approx(nearest, rel=1e-5)


def test_distance_chart_is_left_out_without_minimisers(long_runs):
    spec = metrics_charts(long_runs, step_param(5000)).to_dict()
    titles = [y_encoding(c)["title"] for c in spec["vconcat"]]
    assert len(titles) == 2 and titles[1].startswith("learning rate")


def test_short_runs_keep_every_step_so_the_current_row_is_the_step_itself():
    h = descend(bowl(), 30)
    spec = metrics_charts([("GD", h)], step_param(30)).to_dict()
    (rows,) = dataset_with(spec, "loss")
    assert [(r["step"], r["until"]) for r in rows] == [(t, t + 1) for t in range(31)]


def test_learning_rate_axis_turns_log_when_a_schedule_spans_decades():
    s = bowl()
    decayed = run(
        s, sgd(learning_rate=0.1), start=[1.5, 1.0], steps=200, schedule=lambda t: 0.97**t
    )
    steady = descend(s, 200)
    y_decayed = metrics_charts([("a", decayed)], step_param(200)).to_dict()["vconcat"][1]
    y_steady = metrics_charts([("a", steady)], step_param(200)).to_dict()["vconcat"][1]
    assert bounded_by_rows(y_encoding(y_decayed)["scale"], "learning_rate") == {"type": "log"}
    assert bounded_by_rows(y_encoding(y_steady)["scale"], "learning_rate") == {"zero": False}


def test_learning_rate_rows_stop_one_step_before_the_last_iterate():
    h = descend(bowl(), 12)
    spec = metrics_charts([("GD", h)], step_param(12)).to_dict()
    (rows,) = dataset_with(spec, "learning_rate")
    assert rows[-1]["step"] == 11 and rows[-1]["until"] == 12


def test_metrics_reject_duplicate_run_names():
    h = descend(bowl(), 5)
    with pytest.raises(ValueError, match="unique"):
        metrics_charts([("GD", h), ("GD", h)], step_param(5))


def test_metrics_reject_no_runs():
    with pytest.raises(ValueError, match="at least one run"):
        metrics_charts([], step_param(5))


def test_metrics_reject_minimisers_of_the_wrong_dimension():
    with pytest.raises(ValueError, match="2 coordinates"):
        metrics_charts([("GD", descend(bowl(), 5))], step_param(5), minimizers=[(1.0,)])


def test_metrics_never_declare_the_step_themselves(long_runs):
    spec = metrics_charts(long_runs, step_param(5000)).to_dict()
    assert declared_params(spec) == []


# slice_charts


def slices_spec(surface: Surface, history: History, **kwargs) -> dict:
    step = step_param(len(history) - 1)
    return link(step, slice_charts(surface, history, step, **kwargs)).to_dict()


def slice_rows(spec: dict) -> list[list[dict]]:
    return dataset_with(spec, "values")


def decode(text: str) -> np.ndarray:
    return np.array([float(v) if v else np.nan for v in text.split(",")])


def test_slices_declare_step_once_and_filter_on_it():
    spec = slices_spec(bowl(), descend(bowl(), 50))
    assert declared_params(spec) == [("", "step")]
    assert set(filters(spec)) == {"datum.step <= step && step < datum.until"}
    assert len(filters(spec)) == 8  # four layers in each of the two slices


def test_slices_precompute_a_bounded_number_of_steps_for_a_5000_step_run():
    spec = slices_spec(bowl(), descend(bowl(), 5000, lr=0.001))
    for rows in slice_rows(spec):
        assert len(rows) <= MAX_SLICE_STEPS
        assert all(len(decode(r["values"])) == 100 for r in rows)
    assert sum(len(decode(r["values"])) for rows in slice_rows(spec) for r in rows) <= (
        MAX_SLICE_VALUES
    )


def test_slices_cap_points_per_slice_and_trade_steps_for_points():
    spec = slices_spec(bowl(), descend(bowl(), 5000, lr=0.001), n=100_000)
    rows = slice_rows(spec)[0]
    assert len(decode(rows[0]["values"])) == MAX_SLICE_POINTS
    assert len(rows) <= MAX_SLICE_VALUES // (2 * MAX_SLICE_POINTS)


def test_slice_values_are_the_surface_through_the_iterate():
    s, h = bowl(), descend(bowl(), 40)
    spec = slices_spec(s, h, n=21)
    along_w1, along_w2 = slice_rows(spec)
    row = along_w1[7]
    grid = np.linspace(-2.0, 2.0, 21)
    w2_t = h.params[row["step"], 1]
    assert decode(row["values"]) == pytest.approx(
        s.loss(np.stack([grid, 0 * grid + w2_t])), rel=1e-5
    )
    row = along_w2[7]
    w1_t = h.params[row["step"], 0]
    assert decode(row["values"]) == pytest.approx(
        s.loss(np.stack([0 * grid + w1_t, grid])), rel=1e-5
    )


def test_slice_tangent_has_the_partial_derivative_as_slope():
    s, h = bowl(), descend(bowl(), 40)
    for axis, rows in enumerate(slice_rows(slices_spec(s, h))):
        for row in rows[::5]:
            t = row["step"]
            slope = (row["y_b"] - row["y_a"]) / (row["x_b"] - row["x_a"])
            assert slope == pytest.approx(h.grad[t, axis], rel=1e-9, abs=1e-12)
            assert (row["x_a"] + row["x_b"]) / 2 == pytest.approx(h.params[t, axis])
            assert (row["y_a"] + row["y_b"]) / 2 == pytest.approx(h.loss[t])


def test_slice_tangent_stays_within_a_third_of_the_slice_height():
    s, h = bowl(1.0, 400.0), descend(bowl(1.0, 400.0), 20, lr=0.001)
    for rows in slice_rows(slices_spec(s, h)):
        for row in rows:
            values = decode(row["values"])
            height = np.nanmax(values) - np.nanmin(values)
            assert abs(row["y_b"] - row["y_a"]) <= height * 2 / 3 * (1 + 1e-5)


def test_slice_curve_is_split_in_the_browser_after_the_step_filter():
    spec = slices_spec(bowl(), descend(bowl(), 40), n=30)
    transforms = [n["transform"] for _, n in walk(spec) if "flatten" in str(n.get("transform"))]
    (steps,) = {tuple(next(iter(t)) for t in tr) for tr in transforms}
    assert steps == ("filter", "calculate", "calculate", "flatten", "calculate", "calculate")
    assert any(t.get("calculate") == "sequence(0, 30)" for t in transforms[0])


def test_undefined_slice_values_are_sent_empty_never_as_nan():
    s = log_valley()
    h = run(s, sgd(learning_rate=0.1), start=[2.0, 1.0], steps=30)
    spec = slices_spec(s, h, n=41)
    along_w1 = slice_rows(spec)[0]
    cells = along_w1[0]["values"].split(",")
    grid = np.linspace(-1.0, 3.0, 41)
    assert [c == "" for c in cells] == list(grid <= 0)
    assert "nan" not in str(spec).lower() and "inf" not in along_w1[0]["values"]
    assert finite_everywhere(spec)


def test_slice_range_widens_to_the_path_by_at_most_one_window():
    s = bowl()
    far = History(
        params=np.array([[1.0, 0.0], [9.0, 0.0]]),
        loss=np.array([1.0, 81.0]),
        grad=np.array([[2.0, 0.0], [18.0, 0.0]]),
        learning_rate=np.array([1.0]),
    )
    spec = slices_spec(s, far)
    x = [
        n["encoding"]["x"]["scale"]["domain"]
        for _, n in walk(spec)
        if "scale" in n.get("encoding", {}).get("x", {})
    ]
    assert x == [[-2.0, 6.0], [-2.0, 2.0]]


def test_last_slice_holds_past_the_end_of_a_short_run():
    for rows in slice_rows(slices_spec(bowl(), descend(bowl(), 5))):
        assert rows[-1]["step"] == 5 and rows[-1]["until"] > MAX_STEPS
        assert rows[-2]["until"] == 5


def test_metrics_end_each_run_at_its_last_step():
    short, long = descend(bowl(), 5), descend(bowl(), 50)
    spec = metrics_charts([("short", short), ("long", long)], step_param(50)).to_dict()
    (rows,) = dataset_with(spec, "loss")
    assert max(r["until"] for r in rows if r["optimizer"] == "short") == 6


def test_slices_name_the_step_their_slice_goes_through():
    rows = slice_rows(slices_spec(bowl(), descend(bowl(), 5)))[0]
    assert rows[3]["label"].endswith("(step 3)") and rows[3]["label"].startswith("w2 = ")


def test_slices_reject_a_one_weight_surface():
    s = single_point()
    h = run(s, sgd(learning_rate=0.1), start=[0.0], steps=3)
    with pytest.raises(ValueError, match="2-D"):
        slice_charts(s, h, step_param(3))


def test_slices_reject_an_empty_window():
    with pytest.raises(ValueError, match="lo < hi"):
        slice_charts(bowl(), descend(bowl(), 3), step_param(3), window=((1, 1), (0, 1)))


# link


def test_link_declares_step_once_for_many_views(long_runs):
    step = step_param(5000)
    s = bowl()
    views = [metrics_charts(long_runs, step), slice_charts(s, long_runs[0][1], step)]
    spec = link(step, *views, columns=1).to_dict()
    assert declared_params(spec) == [("", "step")]
    assert spec["columns"] == 1 and len(spec["concat"]) == 2


def test_link_keeps_each_views_colours_to_itself(long_runs):
    step = step_param(5000)
    spec = link(step, metrics_charts(long_runs, step)).to_dict()
    assert spec["resolve"]["scale"]["color"] == "independent"


def test_link_needs_a_chart():
    with pytest.raises(ValueError, match="at least one chart"):
        link(step_param(3))


def test_linked_view_passes_altairs_row_guard(long_runs):
    step = step_param(5000)
    chart = link(step, metrics_charts(long_runs, step, minimizers=[(0.0, 0.0)]))
    with alt.data_transformers.enable("default", max_rows=5000):
        chart.to_dict()
