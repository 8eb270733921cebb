"""The surface map and the data-space chart, read back through ``.to_dict()``.

``.to_dict()`` validates against the Vega-Lite schema, so every test here also checks that.
"""

from __future__ import annotations

import base64
import io
import json
import math

import altair as alt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from losslab import descent, optimizers, surfaces
from losslab.charts import DASHES, PALETTE, SHAPES, step_param
from losslab.charts.maps import (
    MAX_PATH_POINTS,
    MAX_RUNS,
    arrow_frame,
    data_space_chart,
    path_frame,
    surface_map,
)
from losslab.grids import evaluate
from losslab.raster import to_png_data_url
from losslab.surfaces import Dataset, Surface

WINDOW = ((-2.0, 2.0), (-1.0, 3.0))


def _bowl(minimizers=((1.0, 1.0),)) -> Surface:
    """L = (w1 − 1)² + 4 (w2 − 1)², undefined (NaN) where w1 < −1.5 to leave a gap."""

    def loss(p):
        with np.errstate(invalid="ignore"):
            return (p[0] - 1) ** 2 + 4 * (p[1] - 1) ** 2 + 0 * np.sqrt(p[0] + 1.5)

    def grad(p):
        return np.stack([2 * (p[0] - 1), 8 * (p[1] - 1)])

    return Surface(
        name="bowl", title="A bowl", dim=2, loss_fn=loss, grad_fn=grad,
        hessian_fn=lambda p: np.array([[2.0, 0.0], [0.0, 8.0]]), window=WINDOW,
        minimizers=minimizers, optimal_value=0.0, axis_labels=("weight", "bias"),
    )


def _runs(surface: Surface, steps: int = 30) -> list[tuple[str, descent.History]]:
    start = [-1.0, 2.5]
    return [
        ("GD", descent.run(surface, optimizers.sgd(learning_rate=0.05), start=start,
                           steps=steps)),
        ("Momentum", descent.run(surface, optimizers.sgd(learning_rate=0.05, momentum=0.9),
                                 start=start, steps=steps)),
    ]


def _spec(chart) -> dict:
    return chart.to_dict()


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def _mark(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _dataset(spec: dict, layer: dict) -> list[dict]:
    """The rows a layer draws (Altair lifts the data of a lone layer to the top)."""
    return spec["datasets"][layer.get("data", spec.get("data"))["name"]]


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, float):
        yield value


@pytest.fixture(scope="module")
def bowl_map() -> dict:
    surface = _bowl()
    chart = surface_map(surface, evaluate(surface, 60), histories=_runs(surface),
                        step_param=step_param(30), show_gradient_field=True)
    return _spec(chart)


def test_the_surface_is_one_image_layer_stretched_over_the_window(bowl_map):
    images = [layer for layer in _layers(bowl_map) if _mark(layer) == "image"]
    assert len(images) == 1
    image = images[0]
    assert image["mark"]["aspect"] is False
    assert {"x", "x2", "y", "y2", "url"} <= set(image["encoding"])
    (row,) = _dataset(bowl_map, image)
    assert row["url"].startswith("data:image/png;base64,")
    assert (row["x"], row["x2"], row["y"], row["y2"]) == (-2.0, 2.0, -1.0, 3.0)


def test_axes_are_quantitative_over_exactly_the_window_with_the_surfaces_labels(bowl_map):
    encoding = _layers(bowl_map)[0]["encoding"]
    assert encoding["x"]["type"] == encoding["y"]["type"] == "quantitative"
    assert encoding["x"]["scale"]["domain"] == [-2.0, 2.0]
    assert encoding["y"]["scale"]["domain"] == [-1.0, 3.0]
    assert (encoding["x"]["title"], encoding["y"]["title"]) == ("weight", "bias")


def test_the_map_is_square(bowl_map):
    assert bowl_map["width"] == bowl_map["height"]


def test_contours_are_lines_drawn_per_line_id_in_vertex_order(bowl_map):
    (contours,) = [layer for layer in _layers(bowl_map)
                   if _mark(layer) == "line" and "detail" in layer["encoding"]]
    assert contours["encoding"]["detail"]["field"] == "line"
    assert contours["encoding"]["order"]["field"] == "order"
    assert len(_dataset(bowl_map, contours)) > 0


def test_the_path_is_a_line_ordered_by_step_and_filtered_by_the_step_param(bowl_map):
    paths = [layer for layer in _layers(bowl_map) if _mark(layer) == "line"
             and layer["encoding"].get("order", {}).get("field") == "step"]
    assert len(paths) == 1
    filters = [t["filter"] for t in paths[0].get("transform", []) if "filter" in t]
    assert "datum.step <= step" in filters


def test_the_step_param_is_declared_once_at_the_top(bowl_map):
    assert [p["name"] for p in bowl_map["params"]] == ["step"]
    assert all("params" not in layer for layer in _layers(bowl_map))


def test_each_optimiser_gets_its_own_colour_dash_and_marker(bowl_map):
    encodings = [layer["encoding"] for layer in _layers(bowl_map)]
    colour = next(e["color"] for e in encodings if e.get("color", {}).get("field") == "optimizer")
    dash = next(e["strokeDash"] for e in encodings if "strokeDash" in e)
    shape = next(e["shape"] for e in encodings if "shape" in e)
    assert colour["scale"] == {"domain": ["GD", "Momentum"], "range": PALETTE[:2]}
    assert dash["scale"]["range"] == DASHES[:2]
    assert shape["scale"]["range"] == SHAPES[:2]


def test_no_dataset_holds_nan_or_infinity(bowl_map):
    numbers = list(_numbers(bowl_map["datasets"]))
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert "NaN" not in json.dumps(bowl_map) and "Infinity" not in json.dumps(bowl_map)


@settings(max_examples=8, deadline=None)
@given(a=st.floats(0.01, 100), gap=st.floats(-2.5, 2.5), lr=st.floats(1e-3, 3.0))
def test_no_nan_reaches_a_dataset_whatever_the_surface_gap_and_learning_rate(a, gap, lr):
    def loss(p):
        with np.errstate(invalid="ignore"):
            return a * p[0] ** 2 + p[1] ** 2 + 0 * np.log(p[0] - gap)

    surface = Surface(name="gap", title="gap", dim=2, loss_fn=loss,
                      grad_fn=lambda p: np.stack([2 * a * p[0], 2 * p[1]]),
                      hessian_fn=lambda p: np.diag([2 * a, 2.0]), window=WINDOW,
                      minimizers=((0.0, 0.0),), optimal_value=0.0)
    # The path comes from the gap-free bowl, so it may cross the gap or diverge off the map.
    runs = [("GD", descent.run(_bowl(), optimizers.sgd(learning_rate=lr), start=[1.9, 2.5],
                               steps=40))]
    try:
        chart = surface_map(surface, evaluate(surface, 24), histories=runs,
                            step_param=step_param(40), show_gradient_field=True)
    except ValueError as err:  # only when the window holds no finite value at all
        assert "no finite" in str(err)
        return
    assert all(math.isfinite(v) for v in _numbers(chart.to_dict()["datasets"]))


def test_hover_comes_from_a_coarse_lattice_never_the_full_grid():
    surface = _bowl()
    spec = _spec(surface_map(surface, evaluate(surface, 400), hover_resolution=10_000))
    hover = next(layer for layer in _layers(spec) if _mark(layer) == "rect")
    assert hover["mark"]["opacity"] == 0
    assert {t["field"] for t in hover["encoding"]["tooltip"]} == {"w1", "w2", "loss"}
    assert 0 < len(_dataset(spec, hover)) <= 60 * 60


def test_the_loss_legend_reproduces_the_images_colour_scale(bowl_map):
    hover = next(layer for layer in _layers(bowl_map) if _mark(layer) == "rect")
    scale = hover["encoding"]["fill"]["scale"]
    assert scale["type"] == "symlog"
    # On the log scale the legend's field is loss − vmin; each stop must be the colour the
    # image gives that loss.
    raster = to_png_data_url(evaluate(_bowl(), 60).values)
    assert scale["constant"] == raster.offset
    losses = np.array([[raster.vmin + d for d in scale["domain"]]])
    strip = to_png_data_url(losses, vmin=raster.vmin, vmax=raster.vmax)
    with Image.open(io.BytesIO(base64.b64decode(strip.url.split(",", 1)[1]))) as image:
        drawn = ["#{:02x}{:02x}{:02x}".format(*px) for px in np.asarray(image.convert("RGB"))[0]]
    assert drawn == scale["range"]


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "ackley", "rastrigin"])
def test_the_loss_legends_labels_never_crowd_each_other(name):
    """On a log legend the lowest loss and the first decade above it can sit side by side
    ("0.0196 10" on Rosenbrock's map): a label too close to the one before it is left out."""
    from losslab import surfaces

    surface = surfaces.get(name)
    spec = _spec(surface_map(surface, evaluate(surface, 80)))
    fill = next(layer for layer in _layers(spec) if _mark(layer) == "rect")["encoding"]["fill"]
    c = fill["scale"]["constant"]
    values = np.asarray(fill["legend"]["values"])
    span = fill["scale"]["domain"][-1]
    positions = np.log1p(values / c) / math.log1p(span / c)  # where the symlog scale puts them
    assert values[0] == 0.0  # the lowest loss is always labelled
    assert len(values) >= 2
    assert np.all(np.diff(positions) >= 0.25)


def test_minimisers_are_drawn_as_labelled_stars_only_inside_the_window():
    inside = _spec(surface_map(_bowl(), evaluate(_bowl(), 20)))
    outside = _spec(surface_map(_bowl(minimizers=((9.0, 9.0),)), evaluate(_bowl(), 20)))
    assert any(_mark(layer) == "text" for layer in _layers(inside))
    assert not any(_mark(layer) == "text" for layer in _layers(outside))


def test_saddles_are_marked_and_named_beside_the_minima():
    def landmarks(surface):
        spec = _spec(surface_map(surface, evaluate(surface, 20)))
        named = [(layer, rows) for layer in _layers(spec) if _mark(layer) == "text"
                 for rows in [_dataset(spec, layer)] if rows and "label" in rows[0]]
        return {(row["label"], row["w1"], row["w2"], row["loss"]) for _, rows in named
                for row in rows}

    assert landmarks(surfaces.get("saddle")) == {
        ("minimum", 0.0, -1.0, -1.0), ("minimum", 0.0, 1.0, -1.0), ("saddle", 0.0, 0.0, 0.0)}
    passes = [m for m in landmarks(surfaces.get("himmelblau")) if m[0] == "saddle"]
    assert len(passes) == 4 and all(m[3] > 0 for m in passes)  # above the minima's 0
    assert {m[0] for m in landmarks(_bowl())} == {"minimum"}
    # Near the right edge a name goes to the left of its mark, where the map has room.
    spec = _spec(surface_map(surfaces.get("himmelblau"), evaluate(surfaces.get("himmelblau"), 20)))
    sides = [(layer["mark"]["align"], layer.get("transform", [{}])[0].get("filter"))
             for layer in _layers(spec) if _mark(layer) == "text"]
    assert ("right", "datum.w1 > 2.5") in sides and ("left", "datum.w1 <= 2.5") in sides
    # Local minima are named as such: Styblinski–Tang's three shallower basins.
    shallow = [m for m in landmarks(surfaces.get("styblinski_tang")) if m[0] == "local minimum"]
    assert len(shallow) == 3 and all(m[3] > -78.34 for m in shallow)


def test_the_gradient_field_is_drawn_only_when_asked():
    surface = _bowl()
    plain = _spec(surface_map(surface, evaluate(surface, 20)))
    field = _spec(surface_map(surface, evaluate(surface, 20), show_gradient_field=True))
    assert not any(_mark(layer) == "rule" for layer in _layers(plain))
    assert any(_mark(layer) == "rule" for layer in _layers(field))


def test_without_a_step_param_the_map_declares_no_param():
    surface = _bowl()
    spec = _spec(surface_map(surface, evaluate(surface, 20), histories=_runs(surface)))
    assert "params" not in spec


def test_a_map_and_a_data_chart_sharing_the_step_compose_with_one_param():
    surface, data = _bowl(), _data_surface()
    param = step_param(30)
    both = alt.hconcat(
        surface_map(surface, evaluate(surface, 20), histories=_runs(surface), step_param=param),
        data_space_chart(data, _runs(data), step_param=param),
    ).to_dict()
    assert [p["name"] for p in both["params"]] == ["step"]


def test_at_most_eight_optimisers_are_drawn_and_names_stay_unique():
    surface = _bowl()
    runs = _runs(surface, steps=3) * 6
    frame = path_frame(runs)
    assert frame["optimizer"].nunique() == MAX_RUNS
    assert "GD (2)" in set(frame["optimizer"])


def test_long_runs_are_thinned_keeping_the_start_and_the_end():
    surface = _bowl()
    run = descent.run(surface, optimizers.sgd(learning_rate=1e-4), start=[-1.0, 2.5], steps=5000)
    frame = path_frame([("slow", run)])
    assert len(frame) <= MAX_PATH_POINTS
    assert frame["step"].iloc[0] == 0 and frame["step"].iloc[-1] == len(run) - 1
    assert (frame["next_step"].iloc[:-1].to_numpy() == frame["step"].iloc[1:].to_numpy()).all()


def test_a_diverged_run_is_drawn_up_to_its_last_finite_step_and_says_so():
    surface = _bowl()
    run = descent.run(surface, optimizers.sgd(learning_rate=2.0), start=[-1.0, 2.5], steps=400)
    assert run.diverged_at is not None
    spec = _spec(surface_map(surface, evaluate(surface, 20), histories=[("wild", run)]))
    assert all(math.isfinite(v) for v in _numbers(spec["datasets"]))
    assert f"diverged at step {run.diverged_at}" in json.dumps(spec)


def test_the_gradient_arrow_points_downhill_and_has_a_fixed_screen_length():
    surface = _bowl()
    runs = _runs(surface)
    arrows = arrow_frame(runs, WINDOW)
    down = arrows[arrows["kind"] == "−gradient"]
    g = surface.grad(np.array([down["x"], down["y"]]))
    dx, dy = down["x2"] - down["x"], down["y2"] - down["y"]
    assert (dx * g[0] + dy * g[1] < 0).all()
    np.testing.assert_allclose(np.hypot(dx / 4.0, dy / 4.0), 0.12)


def test_momentum_arrows_come_only_from_runs_that_keep_a_momentum_buffer():
    arrows = arrow_frame(_runs(_bowl()), WINDOW)
    kinds = arrows.groupby("optimizer")["kind"].unique()
    assert set(kinds["GD"]) == {"−gradient"}
    assert set(kinds["Momentum"]) == {"−gradient", "−momentum"}


def test_no_arrow_is_drawn_where_the_gradient_has_vanished():
    surface = _bowl()
    run = descent.run(surface, optimizers.sgd(learning_rate=0.2), start=[-1.0, 2.5], steps=200)
    norms = np.hypot(*np.asarray(run.grad).T)
    assert norms[-1] < 1e-6 * norms[0]  # converged: the last directions are noise
    arrows = arrow_frame([("GD", run)], WINDOW)
    drawn = arrows["magnitude"]
    assert len(drawn) and drawn.min() >= 1e-3 * norms.max()
    assert arrows["step"].max() < len(run) - 1


def test_a_one_parameter_surface_has_no_map():
    flat = Surface(name="line", title="line", dim=1, loss_fn=lambda p: p[0] ** 2,
                   grad_fn=lambda p: 2 * p, hessian_fn=lambda p: np.full((1, 1), 2.0),
                   window=((-1.0, 1.0),))
    with pytest.raises(ValueError, match="two parameters"):
        surface_map(flat)


def _data_surface(kind: str = "regression", rows: int = 50) -> Surface:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    y = (x > 0).astype(float) if kind == "classification" else 2 * x + 1 + rng.normal(size=rows)

    def loss(p):
        residual = p[0][..., None] * x + p[1][..., None] - y
        return np.mean(residual**2, axis=-1)

    def grad(p):
        residual = p[0][..., None] * x + p[1][..., None] - y
        return np.stack([np.mean(2 * residual * x, axis=-1), np.mean(2 * residual, axis=-1)])

    return Surface(
        name="fit", title="fit", dim=2, loss_fn=loss, grad_fn=grad,
        hessian_fn=lambda p: np.array([[2 * np.mean(x * x), 2 * np.mean(x)],
                                       [2 * np.mean(x), 2.0]]),
        window=WINDOW, axis_labels=("w", "b"), data=Dataset(x, y, kind),
    )


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_the_data_chart_shows_the_rows_and_each_model_at_the_step(kind):
    surface = _data_surface(kind)
    spec = data_space_chart(surface, _runs(surface), step_param=step_param(30)).to_dict()
    points, model = _layers(spec)
    assert _mark(points) == "circle" and len(_dataset(spec, points)) == 50
    transforms = json.dumps(model["transform"])
    assert "sequence(" in transforms and "flatten" in transforms
    assert ("exp(" in transforms) == (kind == "classification")
    assert "datum.step <= step" in transforms
    assert [p["name"] for p in spec["params"]] == ["step"]
    assert all(math.isfinite(v) for v in _numbers(spec["datasets"]))
    # The runs' legend under the plot, not beside it (a phone drew the figure at half size).
    assert model["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_the_data_chart_draws_at_most_two_thousand_rows():
    spec = data_space_chart(_data_surface(rows=50_000)).to_dict()
    (points,) = _layers(spec)
    assert len(_dataset(spec, points)) <= 2000


def test_a_surface_without_data_has_no_data_chart():
    with pytest.raises(ValueError, match="data rows"):
        data_space_chart(_bowl())
