"""The surface as one PNG: size, orientation, transparent gaps, colour order, legend facts."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from losslab import expressions, grids
from losslab.raster import LOG_OFFSET, MAX_COLOUR_VALUE, colour_position, to_png_data_url


def _decode(url: str) -> np.ndarray:
    """RGBA pixels of a PNG data URL, shape (rows, columns, 4)."""
    assert url.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGBA"))


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(float) @ np.array([0.2126, 0.7152, 0.0722])


def _rosenbrock(n: int) -> np.ndarray:
    w1, w2 = np.meshgrid(np.linspace(-2, 2, n), np.linspace(-1, 3, n))
    return (1 - w1) ** 2 + 100 * (w2 - w1**2) ** 2


def test_the_png_has_one_pixel_per_cell():
    raster = to_png_data_url(np.arange(15.0).reshape(3, 5))
    assert _decode(raster.url).shape == (3, 5, 4)
    assert (raster.width, raster.height) == (5, 3)


def test_nan_cells_are_fully_transparent_and_the_rest_opaque():
    values = np.arange(12.0).reshape(3, 4)
    values[0, 1] = np.nan
    alpha = _decode(to_png_data_url(values).url)[..., 3]
    flipped = alpha[::-1]  # image row 0 is the highest w2 row
    assert flipped[0, 1] == 0
    assert (np.delete(flipped.ravel(), 1) == 255).all()


def test_w2_grows_upwards_so_the_top_image_row_is_the_last_grid_row():
    values = np.array([[0.0, 0.0], [1.0, 1.0]])  # row 1 is the higher w2
    pixels = _decode(to_png_data_url(values, scale="linear").url)
    assert _luminance(pixels[0]).min() > _luminance(pixels[1]).max()


@pytest.mark.parametrize("cmap", ["viridis", "cividis"])
@pytest.mark.parametrize("scale", ["linear", "log", "percentile"])
def test_larger_values_get_lighter_colours(cmap, scale):
    ramp = np.linspace(0.0, 10.0, 64)[np.newaxis]
    lum = _luminance(_decode(to_png_data_url(ramp, cmap=cmap, scale=scale).url)[0])
    assert np.all(np.diff(lum) >= -1e-9)
    assert lum[-1] > lum[0]


def test_the_log_scale_spreads_the_low_values_over_more_colours():
    values = np.array([[0.0, 10.0, 1000.0]])
    log = to_png_data_url(values, scale="log")
    linear = to_png_data_url(values, scale="linear")
    kw = {"vmin": 0.0, "vmax": 1000.0}
    assert colour_position(10.0, scale="log", offset=log.offset, **kw) > 0.3
    assert colour_position(10.0, scale="linear", **kw) == pytest.approx(0.01)
    assert log.offset == pytest.approx(LOG_OFFSET * 1000.0)
    assert linear.offset == 0.0


def test_the_log_position_is_vegas_symlog_of_the_distance_to_the_minimum():
    c, vmin, vmax = 2.0, 5.0, 105.0
    v = np.array([5.0, 7.0, 50.0, 105.0])
    expected = np.log1p((v - vmin) / c) / math.log1p((vmax - vmin) / c)
    got = colour_position(v, scale="log", vmin=vmin, vmax=vmax, offset=c)
    np.testing.assert_allclose(got, expected)


def test_percentile_limits_ignore_a_few_huge_values():
    values = np.linspace(0.0, 1.0, 100)[np.newaxis].copy()
    values[0, -1] = 1e9
    raster = to_png_data_url(values, scale="percentile")
    assert raster.vmax == pytest.approx(np.percentile(values, 98))
    assert raster.vmin == pytest.approx(np.percentile(values, 2))


def test_explicit_limits_override_the_data_and_clip_it():
    raster = to_png_data_url(np.array([[-5.0, 0.5, 50.0]]), scale="linear", vmin=0.0, vmax=1.0)
    assert (raster.vmin, raster.vmax) == (0.0, 1.0)
    pixels = _decode(raster.url)[0]
    assert tuple(pixels[0, :3]) == tuple(int(raster.stops[0][i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(pixels[2, :3]) == tuple(int(raster.stops[-1][i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"scale": "cubic"}, "scale"), ({"cmap": "no-such-map"}, "colormap"),
     ({"vmin": 2.0, "vmax": 1.0}, "vmin"), ({"vmin": np.nan}, "finite"),
     ({"scale": "percentile", "percentiles": (90, 10)}, "percentiles")],
)
def test_bad_settings_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_png_data_url(np.arange(4.0).reshape(2, 2), **kwargs)


@pytest.mark.parametrize("values", [np.full((2, 2), np.nan), np.arange(3.0), np.zeros((0, 3))])
def test_values_without_a_finite_2d_grid_are_refused(values):
    with pytest.raises(ValueError):
        to_png_data_url(values)


def test_a_flat_grid_gets_its_one_colour_from_the_middle_of_the_scale():
    raster = to_png_data_url(np.full((2, 3), 7.0), scale="linear")
    assert raster.vmin < 7.0 < raster.vmax
    assert len(set(map(tuple, _decode(raster.url).reshape(-1, 4)))) == 1


@pytest.mark.parametrize("scale", ["log", "linear", "percentile"])
def test_ticks_lie_within_the_limits_and_carry_the_colour_of_their_position(scale):
    raster = to_png_data_url(_rosenbrock(50), scale=scale)
    assert 2 <= len(raster.ticks) == len(raster.tick_colors) <= 8
    assert all(raster.vmin - 1e-9 <= t <= raster.vmax + 1e-9 for t in raster.ticks)
    assert np.all(np.diff(raster.ticks) > 0)
    # The ticks drawn as a one-row image with the same limits show the tick colours.
    strip = to_png_data_url(np.array([raster.ticks]), scale=scale, vmin=raster.vmin,
                            vmax=raster.vmax)
    drawn = ["#{:02x}{:02x}{:02x}".format(*px[:3]) for px in _decode(strip.url)[0]]
    assert tuple(drawn) == raster.tick_colors


def test_log_ticks_are_the_minimum_and_whole_decades_above_it():
    raster = to_png_data_url(np.array([[0.0, 2500.0]]), scale="log")
    assert raster.ticks == (0.0, 10.0, 100.0, 1000.0)


def test_a_400_by_400_surface_makes_a_small_png():
    raster = to_png_data_url(_rosenbrock(400))
    assert (raster.width, raster.height) == (400, 400)
    # Measured: about 36 kB of PNG, 49 000 characters of data URL (a rect per cell: megabytes).
    assert raster.png_bytes < 80_000
    assert len(raster.url) < 110_000


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
               elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
    st.sampled_from(["log", "linear", "percentile"]),
)
def test_every_finite_cell_is_opaque_and_every_nan_cell_transparent(values, scale):
    if not np.isfinite(values).any():
        values[0, 0] = 1.0
    alpha = _decode(to_png_data_url(values, scale=scale).url)[::-1, :, 3]
    np.testing.assert_array_equal(alpha == 255, np.isfinite(values))
    np.testing.assert_array_equal(alpha == 0, np.isnan(values))


# --- grids that once raised: a large constant, a range too wide to colour --------------------


def _raster_facts_are_finite(raster) -> bool:
    return all(map(math.isfinite, (raster.vmin, raster.vmax, raster.offset, *raster.ticks)))


@pytest.mark.parametrize("scale", ["log", "linear", "percentile"])
def test_a_large_constant_with_a_tiny_slope_is_one_colour_with_a_note(scale):
    # e^40 + (w1² + w2²)/1000: the slope is below a float's spacing at 2.35e17.
    surface = expressions.parse("exp(40) + (w1^2 + w2^2)/1000")
    values = grids.evaluate(surface, 60).values
    raster = to_png_data_url(values, scale=scale)
    assert _raster_facts_are_finite(raster)
    assert raster.vmin < math.exp(40) < raster.vmax
    assert len(set(map(tuple, _decode(raster.url).reshape(-1, 4)))) == 1
    assert "same everywhere" in raster.note and "2.354e+17" in raster.note


@pytest.mark.parametrize("scale", ["log", "linear", "percentile"])
def test_a_range_too_wide_for_a_float_is_coloured_within_the_colour_limit(scale):
    surface = expressions.parse("exp(700)*w1*w2*1000")
    values = grids.evaluate(surface, 400).values
    assert not math.isfinite(float(np.nanmax(values)) - float(np.nanmin(values)))
    raster = to_png_data_url(values, scale=scale)
    assert _raster_facts_are_finite(raster)
    assert raster.vmin >= -MAX_COLOUR_VALUE and raster.vmax <= MAX_COLOUR_VALUE
    assert "beyond ±1e300" in raster.note
    pixels = _decode(raster.url)
    assert (pixels[..., 3] == 255).all()  # every finite cell is coloured
    # Nearly all of ±1e307·w1·w2 lies beyond the limit: the two end colours, both present.
    assert len(set(map(tuple, pixels.reshape(-1, 4)))) >= 2


def test_values_all_beyond_the_colour_limit_say_so_rather_than_flat():
    raster = to_png_data_url(np.array([[1e305, 2e305], [3e305, 4e305]]))
    assert _raster_facts_are_finite(raster)
    assert "beyond" in raster.note


def test_an_ordinary_grid_has_no_note():
    assert to_png_data_url(np.arange(6.0).reshape(2, 3)).note == ""


def test_colour_position_with_equal_limits_is_mid_scale_not_an_error():
    t = colour_position(np.array([1.0, np.nan]), scale="log", vmin=3.0, vmax=3.0, offset=0.0)
    assert t[0] == 0.5 and np.isnan(t[1])
