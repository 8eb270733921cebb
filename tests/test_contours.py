"""Contour lines: on their level, spaced to show minima, bounded in rows, masked at gaps."""

from __future__ import annotations

import numpy as np
import pytest

from losslab.contours import (
    CONTOUR_COLUMNS,
    MAX_CONTOUR_ROWS,
    MAX_LEVELS,
    contour_levels,
    contour_lines,
)
from losslab.grids import evaluate
from losslab.surfaces import Surface


def _surface(loss, window=((-1.0, 1.0), (-1.0, 1.0))) -> Surface:
    return Surface(
        name="test", title="test", dim=2, loss_fn=loss, grad_fn=lambda p: 0 * p,
        hessian_fn=lambda p: np.zeros((2, 2, *p.shape[1:])), window=window,
    )


def _bowl(p):
    return p[0] ** 2 + p[1] ** 2


def _rough(p):
    return np.sin(13 * p[0]) * np.cos(11 * p[1]) + 0.3 * np.sin(50 * p[0] * p[1])


def test_every_vertex_lies_on_its_level():
    lines = contour_lines(evaluate(_surface(_bowl), 200), 5, spacing="linear")
    assert len(lines)
    radius_squared = lines["w1"] ** 2 + lines["w2"] ** 2
    np.testing.assert_allclose(radius_squared, lines["level"], atol=2e-4)


def test_the_table_has_the_documented_columns_and_finite_numbers():
    lines = contour_lines(evaluate(_surface(_bowl), 50))
    assert tuple(lines.columns) == CONTOUR_COLUMNS
    assert np.isfinite(lines[["level", "w1", "w2"]].to_numpy()).all()


def test_vertices_of_each_line_are_numbered_in_order_from_zero():
    lines = contour_lines(evaluate(_surface(_bowl), 50))
    for _, line in lines.groupby("line"):
        np.testing.assert_array_equal(line["order"], np.arange(len(line)))


def test_a_closed_line_ends_where_it_starts_even_after_thinning():
    lines = contour_lines(evaluate(_surface(_bowl), 300), [0.1, 0.3, 0.6], max_rows=60)
    assert lines["line"].nunique() == 3 and len(lines) <= 60
    for _, line in lines.groupby("line"):
        first, last = line.iloc[0], line.iloc[-1]
        assert (first["w1"], first["w2"]) == (last["w1"], last["w2"])


def test_log_levels_crowd_towards_the_minimum():
    levels = contour_levels(evaluate(_surface(_bowl), 100).values, 8, "log")
    gaps = np.diff(levels)
    assert np.all(gaps[1:] > gaps[:-1])


def test_quantile_levels_split_the_cells_into_equal_shares():
    values = evaluate(_surface(_bowl), 100).values
    levels = contour_levels(values, 3, "quantile")
    shares = [np.mean(values < level) for level in levels]
    np.testing.assert_allclose(shares, [0.25, 0.5, 0.75], atol=0.01)


@pytest.mark.parametrize("spacing", ["log", "quantile", "linear"])
def test_levels_lie_strictly_between_the_smallest_and_largest_value(spacing):
    values = evaluate(_surface(_bowl), 40).values
    levels = contour_levels(values, 12, spacing)
    assert 1 <= len(levels) <= 12
    assert levels.min() > np.nanmin(values) and levels.max() < np.nanmax(values)


def test_the_level_count_is_capped():
    values = evaluate(_surface(_bowl), 100).values
    assert len(contour_levels(values, 10_000, "linear")) <= MAX_LEVELS


def test_an_unknown_spacing_is_refused_by_name():
    with pytest.raises(ValueError, match="cubic"):
        contour_levels(np.ones((2, 2)), 3, "cubic")


def test_a_flat_grid_has_no_contours():
    lines = contour_lines(evaluate(_surface(lambda p: 0 * p[0] + 1.0), 20))
    assert lines.empty and tuple(lines.columns) == CONTOUR_COLUMNS


def test_a_rough_surface_stays_within_the_row_budget():
    grid = evaluate(_surface(_rough, window=((-3.0, 3.0), (-3.0, 3.0))), 400)
    lines = contour_lines(grid, 40, spacing="linear")
    assert 0 < len(lines) <= MAX_CONTOUR_ROWS
    smaller = contour_lines(grid, 40, spacing="linear", max_rows=500)
    assert 0 < len(smaller) <= 500


def test_a_row_budget_beyond_the_cap_is_capped():
    grid = evaluate(_surface(_rough, window=((-3.0, 3.0), (-3.0, 3.0))), 400)
    assert len(contour_lines(grid, 40, spacing="linear", max_rows=10**9)) <= MAX_CONTOUR_ROWS


def test_no_line_enters_cells_where_the_loss_is_undefined():
    grid = evaluate(_surface(lambda p: np.sqrt(p[0]) + p[1] ** 2), 60)
    lines = contour_lines(grid, 8, spacing="linear")
    assert len(lines)
    assert lines["w1"].min() >= grid.w1[grid.w1 > 0].min() - 1e-12


def test_explicit_levels_are_drawn_and_non_finite_ones_ignored():
    lines = contour_lines(evaluate(_surface(_bowl), 80), [0.25, np.nan, 0.5, np.inf])
    assert sorted(lines["level"].unique()) == [0.25, 0.5]
