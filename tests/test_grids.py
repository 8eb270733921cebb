"""Sampling surfaces on grids: shapes, cell centres, caps, NaN for undefined cells."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import surfaces
from losslab.grids import MAX_RESOLUTION, MIN_RESOLUTION, evaluate, evaluate_1d
from losslab.surfaces import Surface


def _surface(loss, dim: int = 2, window=((-1.0, 1.0), (-2.0, 2.0)), labels=("a", "b")) -> Surface:
    return Surface(
        name="test", title="test", dim=dim, loss_fn=loss, grad_fn=lambda p: 0 * p,
        hessian_fn=lambda p: np.zeros((dim, dim, *p.shape[1:])), window=window,
        axis_labels=labels,
    )


def _tilted(p):
    return 3.0 * p[0] + p[1] ** 2


def test_values_hold_w1_along_columns_and_w2_along_rows():
    grid = evaluate(_surface(_tilted), 7)
    assert grid.values.shape == (7, 7) and grid.shape == (7, 7)
    i, j = 2, 5
    assert grid.values[i, j] == pytest.approx(_tilted(np.array([grid.w1[j], grid.w2[i]])))


def test_samples_sit_at_the_centres_of_cells_covering_the_window():
    grid = evaluate(_surface(_tilted), 4)
    np.testing.assert_allclose(grid.w1, [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(grid.w2, [-1.5, -0.5, 0.5, 1.5])
    assert grid.window == ((-1.0, 1.0), (-2.0, 2.0))


def test_resolution_beyond_the_cap_is_capped_at_400():
    grid = evaluate(_surface(_tilted), 10_000)
    assert MAX_RESOLUTION == 400
    assert grid.values.shape == (400, 400)


@pytest.mark.parametrize("resolution", [0, 1, -5])
def test_resolution_below_two_is_raised_to_two(resolution):
    assert evaluate(_surface(_tilted), resolution).values.shape == (MIN_RESOLUTION,) * 2


@pytest.mark.parametrize("resolution", [float("nan"), float("inf"), "many", None])
def test_resolution_that_is_not_a_finite_number_is_refused(resolution):
    with pytest.raises(ValueError, match="resolution"):
        evaluate(_surface(_tilted), resolution)


def test_cells_where_the_loss_is_undefined_hold_nan():
    grid = evaluate(_surface(lambda p: np.sqrt(p[0]) + p[1]), 10)
    assert np.isnan(grid.values[:, grid.w1 < 0]).all()
    assert np.isfinite(grid.values[:, grid.w1 > 0]).all()
    np.testing.assert_array_equal(grid.mask, np.isfinite(grid.values))


def test_infinite_values_become_nan():
    grid = evaluate(_surface(lambda p: np.where(p[0] > 0, np.inf, -np.inf * (p[1] > 0))), 6)
    assert not np.isinf(grid.values).any()
    assert np.isnan(grid.values[:, grid.w1 > 0]).all()


def test_a_constant_loss_is_broadcast_over_the_grid():
    grid = evaluate(_surface(lambda p: 2.5), 5)
    assert grid.values.shape == (5, 5) and (grid.values == 2.5).all()


def test_an_explicit_window_replaces_the_surfaces_own():
    grid = evaluate(_surface(_tilted), 2, window=((0.0, 4.0), (10.0, 12.0)))
    np.testing.assert_allclose(grid.w1, [1.0, 3.0])
    np.testing.assert_allclose(grid.w2, [10.5, 11.5])


@pytest.mark.parametrize(
    "window",
    [((1.0, 1.0), (0.0, 1.0)), ((2.0, 1.0), (0.0, 1.0)), ((0.0, np.inf), (0.0, 1.0)),
     ((0.0, 1.0),), ((0.0, 1.0), (0.0,))],
)
def test_a_bad_window_is_refused(window):
    with pytest.raises(ValueError, match="window"):
        evaluate(_surface(_tilted), 5, window=window)


def test_the_axis_labels_come_from_the_surface():
    assert evaluate(_surface(_tilted), 3).axis_labels == ("a", "b")


def test_grid_arrays_are_read_only_so_a_cached_grid_cannot_be_changed():
    grid = evaluate(_surface(_tilted), 3)
    with pytest.raises(ValueError):
        grid.values[0, 0] = 1.0


def test_a_one_parameter_surface_has_no_grid():
    with pytest.raises(ValueError, match="two-parameter"):
        evaluate(_surface(lambda p: p[0] ** 2, dim=1, window=((-1.0, 1.0),)), 5)


def test_a_curve_samples_a_one_parameter_surface_at_cell_centres():
    curve = evaluate_1d(_surface(lambda p: p[0] ** 2, dim=1, window=((0.0, 2.0),),
                                 labels=("w",)), 4)
    np.testing.assert_allclose(curve.w, [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(curve.values, curve.w**2)
    assert curve.axis_label == "w"


def test_a_curve_takes_a_plain_window_and_caps_its_points():
    surface = _surface(lambda p: np.log(p[0]), dim=1, window=((-1.0, 1.0),))
    curve = evaluate_1d(surface, 10_000, (-1.0, 1.0))
    assert len(curve.w) == MAX_RESOLUTION
    assert np.isnan(curve.values[curve.w < 0]).all() and curve.mask[curve.w > 0].all()


def test_a_two_parameter_surface_has_no_curve():
    with pytest.raises(ValueError, match="one-parameter"):
        evaluate_1d(_surface(_tilted), 5)


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(-5, 5), b=st.floats(-5, 5),
    lo=st.floats(-100, 100), width=st.floats(1e-3, 100), n=st.integers(2, 40),
)
def test_every_cell_equals_the_loss_at_its_centre(a, b, lo, width, n):
    surface = _surface(lambda p: a * p[0] ** 2 + b * p[0] * p[1], window=((lo, lo + width),) * 2)
    grid = evaluate(surface, n)
    w1, w2 = np.meshgrid(grid.w1, grid.w2)
    np.testing.assert_allclose(grid.values, a * w1**2 + b * w1 * w2, rtol=1e-12, atol=1e-12)
    assert grid.w1[0] > lo and grid.w1[-1] < lo + width


def test_a_window_wider_than_a_float_is_refused_by_name():
    with pytest.raises(ValueError, match="window"):
        evaluate(surfaces.get("rosenbrock"), 10, window=((-1e308, 1e308), (-1, 1)))
