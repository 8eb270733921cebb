"""The rotatable 3-D wireframe: projection in the browser, bounded data, depth cues."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import surfaces
from losslab.charts import PALETTE, link, step_param
from losslab.charts.common import STAR
from losslab.charts.three_d import (
    AZIMUTH,
    ELEVATION,
    MAX_GRID,
    MAX_PATH_POINTS,
    height_scale,
    projection,
    three_d_chart,
)
from losslab.descent import MAX_STEPS, History, run
from losslab.optimizers import sgd
from losslab.surfaces import Surface, single_point


def bowl() -> Surface:
    """L(w) = w1² + 4 w2², minimum 0 at the origin."""
    return Surface(
        name="bowl",
        title="Bowl",
        dim=2,
        loss_fn=lambda p: p[0] ** 2 + 4 * p[1] ** 2,
        grad_fn=lambda p: np.stack([2 * p[0], 8 * p[1]]),
        hessian_fn=lambda p: np.array([[2.0, 0.0], [0.0, 8.0]]),
        window=((-2.0, 2.0), (-2.0, 2.0)),
        minimizers=((0.0, 0.0),),
        optimal_value=0.0,
        axis_labels=("a", "b"),
    )


def valley() -> Surface:
    """Rosenbrock, L(w) = (1 - w1)² + 100 (w2 - w1²)²: a narrow curved valley."""
    return Surface(
        name="valley",
        title="Valley",
        dim=2,
        loss_fn=lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
        grad_fn=lambda p: np.stack(
            [-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)]
        ),
        hessian_fn=lambda p: np.array(
            [[1200 * p[0] ** 2 - 400 * p[1] + 2, -400 * p[0]], [-400 * p[0], 200 + 0 * p[0]]]
        ),
        window=((-2.0, 2.0), (-1.0, 3.0)),
        minimizers=((1.0, 1.0),),
        optimal_value=0.0,
    )


def half_plane() -> Surface:
    """L(w) = sqrt(w1) + w2², undefined for w1 < 0."""
    return Surface(
        name="half_plane",
        title="Half plane",
        dim=2,
        loss_fn=lambda p: np.sqrt(p[0]) + p[1] ** 2,
        grad_fn=lambda p: np.stack([0.5 / np.sqrt(p[0]), 2 * p[1]]),
        hessian_fn=lambda p: np.array([[-0.25 * p[0] ** -1.5, 0 * p[0]], [0 * p[0], 2 + 0 * p[0]]]),
        window=((-1.0, 1.0), (-1.0, 1.0)),
    )


def descend(surface: Surface, steps: int, start=(1.5, 1.0), lr: float = 0.01) -> History:
    return run(surface, sgd(learning_rate=lr), start=list(start), steps=steps)


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def marks(spec: dict) -> list[dict]:
    return [n for n in walk(spec["layer"]) if "mark" in n]


def rows_with(spec: dict, column: str) -> list[dict]:
    (rows,) = [r for r in spec["datasets"].values() if r and column in r[0]]
    return rows


def finite_everywhere(spec: dict) -> bool:
    return all(
        not (isinstance(v, float) and not math.isfinite(v))
        for rows in spec["datasets"].values()
        for row in rows
        for v in row.values()
    )


def project(azimuth: float, elevation: float, u: float, v: float, h: float) -> dict[str, float]:
    """Evaluate the chart's own projection expressions in Python."""
    scope = {
        "datum": SimpleNamespace(u=u, v=v, h=h),
        "PI": math.pi,
        "cos": math.cos,
        "sin": math.sin,
        AZIMUTH: azimuth,
        ELEVATION: elevation,
    }
    return {name: eval(expr, scope) for name, expr in projection().items()}  # noqa: S307


@pytest.fixture(scope="module")
def long_history():
    return descend(bowl(), 5000, lr=0.001)


def test_chart_validates_and_declares_both_angles_bound_to_range_inputs():
    spec = three_d_chart(bowl(), descend(bowl(), 20)).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {AZIMUTH, ELEVATION}
    assert params[AZIMUTH]["bind"]["input"] == "range"
    assert (params[AZIMUTH]["bind"]["min"], params[AZIMUTH]["bind"]["max"]) == (-180, 180)
    assert params[ELEVATION]["bind"]["input"] == "range"
    assert (params[ELEVATION]["bind"]["min"], params[ELEVATION]["bind"]["max"]) == (0, 90)


def test_linked_chart_declares_each_param_once_at_the_top():
    step = step_param(20)
    spec = link(step, three_d_chart(bowl(), descend(bowl(), 20), step)).to_dict()
    assert sorted(p["name"] for p in spec["params"]) == sorted([AZIMUTH, ELEVATION, "step"])
    nested = [p["name"] for n in walk(spec["concat"]) for p in n.get("params", [])]
    assert nested == []


def test_two_views_in_one_spec_share_one_rotation():
    step = step_param(20)
    views = [three_d_chart(bowl(), descend(bowl(), 20), step), three_d_chart(valley())]
    spec = link(step, *views).to_dict()
    assert sorted(p["name"] for p in spec["params"]) == sorted([AZIMUTH, ELEVATION, "step"])


def test_projection_expressions_use_both_angle_params():
    exprs = projection()
    assert AZIMUTH in exprs["sx"]
    for name in ("sy", "depth"):
        assert AZIMUTH in exprs[name] and ELEVATION in exprs[name]


def test_top_view_shows_the_floor_plan():
    at = project(0.0, 90.0, u=0.3, v=-0.7, h=0.9)
    assert (at["sx"], at["sy"]) == pytest.approx((0.3, -0.7))


def test_side_view_shows_the_height():
    at = project(0.0, 0.0, u=0.3, v=-0.7, h=0.9)
    assert (at["sx"], at["sy"]) == pytest.approx((0.3, 0.4))


def test_higher_points_are_nearer_a_viewer_above():
    low, high = project(30.0, 40.0, 0.1, 0.2, 0.1), project(30.0, 40.0, 0.1, 0.2, 0.9)
    assert high["depth"] < low["depth"]


@settings(max_examples=50, deadline=None)
@given(
    azimuth=st.floats(-180, 180),
    elevation=st.floats(0, 90),
    u=st.floats(-1, 1),
    v=st.floats(-1, 1),
    h=st.floats(0, 1),
)
def test_projection_is_a_rotation_that_stays_inside_the_fixed_axes(azimuth, elevation, u, v, h):
    at = project(azimuth, elevation, u, v, h)
    z = h - 0.5
    norm = math.sqrt(at["sx"] ** 2 + at["sy"] ** 2 + at["depth"] ** 2)
    assert norm == pytest.approx(math.sqrt(u * u + v * v + z * z), abs=1e-9)
    assert max(abs(at["sx"]), abs(at["sy"])) < 1.6


def test_wireframe_segments_are_rules_ordered_and_faded_by_depth():
    spec = three_d_chart(bowl(), n=8).to_dict()
    (wire,) = [m for m in marks(spec) if m["mark"].get("type") == "rule"]
    enc = wire["encoding"]
    assert {enc[c]["field"] for c in ("x", "y", "x2", "y2")} == {"sx1", "sy1", "sx2", "sy2"}
    assert enc["order"] == {"field": "depth", "sort": "descending", "type": "quantitative"}
    assert enc["opacity"]["field"] == "depth" and enc["opacity"]["scale"]["range"] == [1.0, 0.15]
    assert enc["color"]["field"] == "height"


def test_wireframe_has_every_neighbour_segment_of_the_grid():
    spec = three_d_chart(bowl(), n=8).to_dict()
    assert len(rows_with(spec, "u1")) == 2 * 8 * 7


def test_grid_is_capped_for_any_requested_resolution():
    spec = three_d_chart(bowl(), n=10_000).to_dict()
    assert len(rows_with(spec, "u1")) == 2 * MAX_GRID * (MAX_GRID - 1)


def test_given_grid_is_thinned_to_the_cap():
    w1, w2 = np.linspace(-1, 1, 300), np.linspace(0, 2, 120)
    loss = w1[None, :] ** 2 + w2[:, None]
    spec = three_d_chart(bowl(), grid=(w1, w2, loss)).to_dict()
    assert len(rows_with(spec, "u1")) == 2 * MAX_GRID * (MAX_GRID - 1)


def test_given_grid_of_the_wrong_shape_is_rejected():
    w1, w2 = np.linspace(-1, 1, 5), np.linspace(0, 2, 4)
    with pytest.raises(ValueError, match="grid must be"):
        three_d_chart(bowl(), grid=(w1, w2, np.zeros((5, 4))))


def test_undefined_points_drop_their_segments_and_leave_no_nan():
    spec = three_d_chart(half_plane(), n=11).to_dict()
    rows = rows_with(spec, "u1")
    # w1 < 0 on columns 0..4 of 11: defined columns 5..10 give 5 segments along w1 per row
    # and 6 columns of 10 segments along w2.
    assert len(rows) == 11 * 5 + 6 * 10
    assert min(min(r["u1"], r["u2"]) for r in rows) == 0.0
    assert finite_everywhere(spec)


def test_surface_undefined_everywhere_is_rejected():
    s = half_plane()
    with pytest.raises(ValueError, match="undefined everywhere"):
        three_d_chart(s, window=((-3.0, -1.0), (0.0, 1.0)))


def test_heights_lie_in_the_unit_interval():
    spec = three_d_chart(valley(), n=20).to_dict()
    values = [r[k] for r in rows_with(spec, "u1") for k in ("h1", "h2", "height")]
    assert min(values) == 0.0 and max(values) == 1.0


def test_height_scale_log_lifts_low_values_and_keeps_the_ends():
    loss = np.array([0.0, 1.0, 10.0, 1000.0])
    log, linear = height_scale(loss, 0.0, 1000.0, "log"), height_scale(loss, 0.0, 1000.0, "linear")
    assert log[0] == 0.0 and log[-1] == pytest.approx(1.0)
    assert np.all(log[1:3] > linear[1:3])


def test_height_scale_maps_a_flat_surface_to_the_middle():
    assert height_scale(np.array([2.0, 2.0]), 2.0, 2.0, "log").tolist() == [0.5, 0.5]


def test_height_scale_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="height must be"):
        height_scale(np.array([1.0]), 0.0, 2.0, "cubic")


def test_auto_height_is_log_for_a_narrow_valley_and_linear_for_a_bowl():
    assert "log scale" in three_d_chart(valley(), n=40).to_dict()["title"]["subtitle"]
    assert "linear scale" in three_d_chart(bowl(), n=40).to_dict()["title"]["subtitle"]


def test_path_rows_stay_bounded_for_5000_steps(long_history):
    spec = three_d_chart(bowl(), long_history, step_param(5000)).to_dict()
    assert len(rows_with(spec, "piece")) <= MAX_PATH_POINTS
    assert all(len(rows) < 5000 for rows in spec["datasets"].values())


def test_path_follows_the_step_param(long_history):
    spec = three_d_chart(bowl(), long_history, step_param(5000)).to_dict()
    path = [m for m in marks(spec) if "filter" in str(m.get("transform"))]
    assert len(path) == 4
    for m in path:
        assert {"filter": "datum.step <= step"} in m["transform"]
    assert sum({"filter": "step < datum.until"} in m["transform"] for m in path) == 1


def test_path_without_a_step_param_is_whole_and_marks_the_last_point():
    h = descend(bowl(), 30)
    spec = three_d_chart(bowl(), h).to_dict()
    assert "step" not in {p["name"] for p in spec["params"]}
    found = [f for m in marks(spec) for t in m.get("transform", []) if (f := t.get("filter"))]
    assert found == ["datum.until >= 31"]
    rows = rows_with(spec, "piece")
    assert [r["step"] for r in rows if r["until"] >= 31] == [30]


def test_current_point_stays_at_the_end_of_a_run_shorter_than_the_slider():
    h = descend(bowl(), 30)
    rows = rows_with(three_d_chart(bowl(), h, step_param(5000)).to_dict(), "piece")
    assert rows[-1]["step"] == 30 and rows[-1]["until"] > MAX_STEPS


def test_path_lines_are_ordered_by_step_and_split_into_pieces():
    spec = three_d_chart(bowl(), descend(bowl(), 30), color_index=2).to_dict()
    lines = [m for m in marks(spec) if m["mark"]["type"] == "line"]
    assert len(lines) == 2
    for line in lines:
        assert line["encoding"]["detail"]["field"] == "piece"
        assert line["encoding"]["order"]["field"] == "step"
    assert lines[1]["mark"]["color"] == PALETTE[2]


def test_path_points_outside_the_window_are_dropped_and_break_the_line():
    out = History(
        params=np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [1.0, 1.0], [0.5, 0.5]]),
        loss=np.array([0.0, 1.0, 25.0, 5.0, 1.25]),
        grad=np.zeros((5, 2)),
        learning_rate=np.ones(4),
    )
    rows = rows_with(three_d_chart(bowl(), out).to_dict(), "piece")
    assert [r["step"] for r in rows] == [0, 1, 3, 4]
    assert [r["piece"] for r in rows] == [0, 0, 1, 1]


def test_path_heights_match_the_surface_heights():
    h = descend(bowl(), 10)
    spec = three_d_chart(bowl(), h, height="linear", n=31).to_dict()
    lo, hi = 0.0, 20.0  # the bowl's range on its 31 x 31 grid over [-2, 2]², which holds 0
    rows = rows_with(spec, "piece")
    expected = float(height_scale(h.loss[3], lo, hi, "linear"))
    assert rows[3]["h"] == pytest.approx(expected, abs=1e-4)


def test_minimisers_and_saddles_in_the_window_are_marked_as_on_the_map():
    spec = three_d_chart(bowl()).to_dict()
    stars = [m for m in marks(spec) if m["mark"].get("shape") == STAR]
    assert len(stars) == 1 and not [m for m in marks(spec) if m["mark"].get("shape") == "cross"]
    spec = three_d_chart(surfaces.get("saddle")).to_dict()
    (crosses,) = [m for m in marks(spec) if m["mark"].get("shape") == "cross"]
    assert crosses["mark"]["angle"] == 45
    (stars,) = [m for m in marks(spec) if m["mark"].get("shape") == STAR]
    assert len(spec["datasets"][stars["data"]["name"]]) == 2  # the minima at (0, ±1)


def test_axis_names_come_from_the_surface():
    spec = three_d_chart(bowl()).to_dict()
    assert sorted(r["text"] for r in rows_with(spec, "text")) == ["a", "b"]


def test_three_d_rejects_a_one_weight_surface():
    with pytest.raises(ValueError, match="2-D"):
        three_d_chart(single_point())


def test_three_d_data_is_finite_for_a_5000_step_run(long_history):
    assert finite_everywhere(three_d_chart(valley(), long_history, n=50).to_dict())
