"""Chart builders for the network experiment: valid Vega-Lite, the right marks, finite data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losslab import landscape
from losslab.charts import network as charts

SMALL = {"n": 40, "hidden": (3,), "steps": 25, "grid": 7, "optimizer": "adam"}


@pytest.fixture(scope="module")
def exp() -> landscape.Experiment:
    return landscape.experiment(**SMALL)


@pytest.fixture(scope="module")
def diverged() -> landscape.Experiment:
    return landscape.experiment(**{**SMALL, "optimizer": "sgd", "learning_rate": 1e9})


def _layers(spec: dict) -> list[dict]:
    """Every unit spec (those with a mark) in a layered or concatenated spec."""
    if "mark" in spec:
        return [spec]
    out = []
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for child in spec.get(key, []):
            out += _layers(child)
    return out


def _mark(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _field(layer: dict, channel: str) -> str | None:
    return layer.get("encoding", {}).get(channel, {}).get("field")


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, float):
        yield value


def _all_finite(spec: dict) -> bool:
    return all(math.isfinite(v) for v in _numbers(spec.get("datasets", {})))


def _subtitle(spec: dict) -> str:
    sub = spec["title"]["subtitle"]
    return " ".join(sub) if isinstance(sub, list) else sub


def _titles(spec: dict) -> str:
    title = spec["title"]["text"]
    return " ".join(title) if isinstance(title, list) else title


# --- decision boundary --------------------------------------------------------------------------


def test_decision_chart_is_an_image_with_boundary_and_points(exp):
    spec = charts.nn_decision_chart(exp).to_dict()
    marks = [_mark(layer) for layer in _layers(spec)]
    assert marks == ["image", "line", "point"]


def test_decision_image_is_a_png_data_url_on_quantitative_axes(exp):
    spec = charts.nn_decision_chart(exp).to_dict()
    image = _layers(spec)[0]
    rows = spec["datasets"][image["data"]["name"]]
    assert rows[0]["url"].startswith("data:image/png;base64,")
    assert image["encoding"]["x"]["type"] == "quantitative"
    assert (image["encoding"]["x2"]["field"], image["encoding"]["y2"]["field"]) == ("x1", "y0")


def test_decision_points_are_coloured_and_shaped_by_class(exp):
    points = _layers(charts.nn_decision_chart(exp).to_dict())[2]
    assert _field(points, "color") == "class" and _field(points, "shape") == "class"


def test_decision_points_are_every_data_row(exp):
    spec = charts.nn_decision_chart(exp).to_dict()
    points = _layers(spec)[2]
    assert len(spec["datasets"][points["data"]["name"]]) == len(exp.data.y)


def test_decision_chart_data_are_finite(exp):
    assert _all_finite(charts.nn_decision_chart(exp).to_dict())


# --- training curves ----------------------------------------------------------------------------


def test_loss_chart_shows_loss_and_accuracy_against_step(exp):
    layers = _layers(charts.nn_loss_chart(exp).to_dict())
    assert [(_field(lyr, "x"), _field(lyr, "y")) for lyr in layers] == [
        ("step", "loss"),
        ("step", "accuracy"),
    ]


def test_loss_chart_thins_long_runs():
    long_run = landscape.experiment(**{**SMALL, "steps": 3000, "grid": 5})
    spec = charts.nn_loss_chart(long_run).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) <= charts.MAX_CURVE_POINTS and rows[-1]["step"] == 3000


def test_loss_chart_marks_divergence(diverged):
    spec = charts.nn_loss_chart(diverged).to_dict()
    marks = [_mark(layer) for layer in _layers(spec)]
    assert "rule" in marks and "text" in marks
    assert "diverged" in _subtitle(spec)
    assert _all_finite(spec)


def test_loss_chart_says_what_its_curves_measure_not_the_pages_outcome_again(exp):
    subtitle = _subtitle(charts.nn_loss_chart(exp).to_dict())
    assert "Cross-entropy and accuracy on all" in subtitle and "full-batch step" in subtitle
    assert exp.message not in subtitle  # the page says the outcome once, above the charts
    batched = landscape.experiment(**{**SMALL, "batch": 8})
    assert "after each step on a mini-batch of 8." in _subtitle(
        charts.nn_loss_chart(batched).to_dict())


def test_loss_chart_without_divergence_has_no_marker(exp):
    marks = [_mark(layer) for layer in _layers(charts.nn_loss_chart(exp).to_dict())]
    assert "rule" not in marks


# --- 1-D interpolation --------------------------------------------------------------------------


def test_interpolation_chart_draws_loss_against_alpha(exp):
    curve = _layers(charts.nn_interpolation_chart(exp).to_dict())[0]
    assert (_mark(curve), _field(curve, "x"), _field(curve, "y")) == ("line", "alpha", "loss")


def test_interpolation_chart_marks_initial_and_trained_weights(exp):
    spec = charts.nn_interpolation_chart(exp).to_dict()
    text = next(lyr for lyr in _layers(spec) if _mark(lyr) == "text")
    rows = spec["datasets"][text["data"]["name"]]
    assert [(r["alpha"], r["label"]) for r in rows] == [(0.0, "initial θ₀"), (1.0, "trained θ*")]


def test_interpolation_chart_data_are_finite(diverged):
    assert _all_finite(charts.nn_interpolation_chart(diverged).to_dict())


# --- 2-D landscapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["random", "pca"])
def test_landscape_is_one_image_with_contours_and_the_trained_point(exp, kind):
    spec = charts.nn_landscape_chart(exp, kind).to_dict()
    marks = [_mark(layer) for layer in _layers(spec)]
    assert marks.count("image") == 1 and marks[0] == "image"
    contours = _layers(spec)[1]
    assert (_mark(contours), _field(contours, "detail")) == ("line", "line")
    assert "point" in marks


@pytest.mark.parametrize("kind", ["random", "pca"])
def test_landscape_subtitle_cautions_that_a_slice_is_a_projection(exp, kind):
    assert "projection" in _subtitle(charts.nn_landscape_chart(exp, kind).to_dict())


def test_random_landscape_says_filter_normalised_and_biases_fixed(exp):
    spec = charts.nn_landscape_chart(exp, "random").to_dict()
    assert "filter-normalised" in _subtitle(spec) and "biases held fixed" in _subtitle(spec)


def test_random_landscape_has_no_path(exp):
    layers = _layers(charts.nn_landscape_chart(exp, "random").to_dict())
    assert all(_field(layer, "order") != "step" for layer in layers)


def test_pca_landscape_draws_the_path_in_step_order(exp):
    spec = charts.nn_landscape_chart(exp, "pca").to_dict()
    path = next(lyr for lyr in _layers(spec) if _field(lyr, "order") == "step")
    assert _mark(path) == "line"
    assert len(spec["datasets"][path["data"]["name"]]) == len(exp.pca_plane.path)


def test_pca_landscape_shows_the_explained_variance(exp):
    spec = charts.nn_landscape_chart(exp, "pca").to_dict()
    r1, r2 = exp.pca_plane.explained_variance_ratio
    assert f"{r1:.1%}" in _subtitle(spec) and f"{r2:.1%}" in _subtitle(spec)
    image = _layers(spec)[0]
    assert f"{r1:.1%}" in image["encoding"]["x"]["title"]


@pytest.mark.parametrize("kind", ["random", "pca"])
def test_landscape_legend_is_the_maps_gradient_over_the_planes_losses(exp, kind):
    # The same legend as the two-weight maps: a gradient from the plane's least loss to its
    # greatest, on the image's own log scale, labelled with losses.
    spec = charts.nn_landscape_chart(exp, kind).to_dict()
    (fill,) = [lyr["encoding"]["fill"] for lyr in _layers(spec) if "fill" in lyr["encoding"]]
    plane = exp.random_plane if kind == "random" else exp.pca_plane
    least, most = float(np.nanmin(plane.loss)), float(np.nanmax(plane.loss))
    assert fill["field"] == "shade" and fill["scale"]["type"] == "symlog"
    assert fill["legend"]["title"] == "Loss (log)"
    assert f"datum.value + {least!r}" in fill["legend"]["labelExpr"]
    domain = fill["scale"]["domain"]
    assert domain[0] == 0 and domain[-1] == pytest.approx(most - least, rel=1e-9)
    assert fill["scale"]["range"][0] == "#440154" and fill["scale"]["range"][-1] == "#fde725"
    assert fill["legend"]["values"] == sorted(fill["legend"]["values"])


@pytest.mark.parametrize("kind", ["random", "pca"])
def test_landscape_data_are_finite_after_divergence(diverged, kind):
    assert _all_finite(charts.nn_landscape_chart(diverged, kind).to_dict())


def test_landscape_image_spans_the_grid_cells(exp):
    spec = charts.nn_landscape_chart(exp, "random").to_dict()
    image = _layers(spec)[0]
    row = spec["datasets"][image["data"]["name"]][0]
    a = exp.random_plane.a
    half = (a[1] - a[0]) / 2
    assert (row["x0"], row["x1"]) == pytest.approx((a[0] - half, a[-1] + half))


def test_unknown_landscape_kind_is_rejected(exp):
    with pytest.raises(ValueError, match="hessian"):
        charts.nn_landscape_chart(exp, "hessian")


def test_decision_chart_with_the_most_rows_stays_below_altairs_row_guard():
    big = landscape.experiment(n=10**6, hidden=(3,), steps=2, grid=5)
    charts.nn_decision_chart(big).to_dict()  # raises MaxRowsError beyond 5,000 rows
