"""Turn a grid of loss values into one small PNG image, sent to the browser as a data URL.

A browser repaints one image as fast as an empty chart, whereas one rectangle per cell costs
time with every cell. The colour of a value ``v`` is ``cmap(t)`` at its position ``t ∈ [0, 1]``:

    linear, percentile:  t = (v − vmin) / (vmax − vmin)
    log:                 t = log(1 + (v − vmin)/c) / log(1 + (vmax − vmin)/c),
                         c = LOG_OFFSET · (vmax − vmin)

with ``v`` first clipped to ``[vmin, vmax]``. The log position is Vega's ``symlog`` scale
with constant ``c`` applied to ``v − vmin``, so a legend can reproduce it exactly. It spreads
the low values, where ravines and minima live, over most of the colours. ``percentile`` takes
``vmin``/``vmax`` from the 2nd and 98th percentiles so a few huge values do not wash out the
rest. Cells holding NaN are fully transparent: a gap, not a colour.

Any finite grid gets an image: limits beyond ``±MAX_COLOUR_VALUE`` are pulled in (the range
``vmax − vmin`` must itself be a float), and a flat grid — even one whose few distinct values
a float cannot tell apart, such as ``e^40 + w²/1000`` — is widened around its value. Both
cases are said in words in ``Raster.note``.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from cmap import Colormap
from PIL import Image

Array = np.ndarray
Scale = Literal["log", "linear", "percentile"]

__all__ = [
    "LOG_OFFSET",
    "MAX_COLOUR_VALUE",
    "SCALES",
    "Raster",
    "colour_position",
    "to_png_data_url",
]

SCALES: tuple[str, ...] = ("log", "linear", "percentile")
LOG_OFFSET = 1e-3
"""The log scale's constant ``c`` as a fraction of the value range."""
MAX_COLOUR_VALUE = 1e300
"""The largest size of a colour limit: losses beyond it take the end colours of the scale."""
_FLAT_WIDTH = 1e-9  # a flat grid's limits: its value ± this share of it (at least ± 0.5)
_LEVELS = 255
"""Colour levels in the PNG palette; palette index 255 is the transparent gap."""
_GAP = 255


@dataclass(frozen=True)
class Raster:
    """A PNG data URL and the facts of its colour scale, enough to draw its legend.

    Attributes:
        url: ``data:image/png;base64,…``; row 0 of the image is the *highest* ``w2`` row.
        width, height: image size in pixels (grid columns, grid rows).
        png_bytes: size of the PNG file (the URL is about 4/3 of it).
        cmap: the colormap's name.
        scale: "log", "linear" or "percentile".
        vmin, vmax: values mapped to the first and the last colour (others are clipped).
        offset: the log scale's constant ``c`` (see module docstring); 0 for other scales.
        ticks: a few round values in ``[vmin, vmax]`` to label a legend with.
        tick_colors: the colour of each tick value, as ``#rrggbb``.
        stops: colours at evenly spaced positions ``t = 0, …, 1``; a Vega scale whose range is
            these stops and whose type matches ``scale`` reproduces the image's colours.
        note: a sentence for the learner when the colours needed care (a flat grid, losses
            beyond ``MAX_COLOUR_VALUE``); empty otherwise.
    """

    url: str
    width: int
    height: int
    png_bytes: int
    cmap: str
    scale: str
    vmin: float
    vmax: float
    offset: float
    ticks: tuple[float, ...]
    tick_colors: tuple[str, ...]
    stops: tuple[str, ...]
    note: str = ""


def colour_position(
    values: Array, *, scale: str, vmin: float, vmax: float, offset: float = 0.0
) -> Array:
    """The position ``t ∈ [0, 1]`` of each value on the colour scale (NaN stays NaN).

    Limits no float can tell apart (``vmin == vmax``) put every value mid-scale.
    """
    array = np.asarray(values, dtype=float)
    span = vmax - vmin
    if not (span > 0 and math.isfinite(span)):
        return np.where(np.isnan(array), np.nan, 0.5)
    u = (np.clip(array, vmin, vmax) - vmin) / span
    r = offset / span
    if scale == "log" and r > 0:
        return np.log1p(u / r) / math.log1p(1.0 / r)
    return u


def _palette(name: str) -> Array:
    try:
        colormap = Colormap(name)
    except Exception as err:  # cmap raises several types for unknown names
        raise ValueError(f"unknown colormap {name!r}: {err}") from None
    # Sampled explicitly: ``lut(n)`` returns a listed map's native table whatever n is.
    rgba = np.asarray(colormap(np.linspace(0.0, 1.0, _LEVELS)), dtype=float)
    return np.round(np.clip(rgba[:, :3], 0.0, 1.0) * 255).astype(np.uint8)


def _hex(rgb: Array) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def _nice_step(span: float, count: int) -> float:
    """The step among 1, 2, 2.5 and 5 times a power of ten closest to ``span / count``."""
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return min((m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0)), key=lambda s: abs(s - raw))


def _linear_ticks(vmin: float, vmax: float, count: int = 5) -> list[float]:
    step = _nice_step(vmax - vmin, count - 1)
    first = math.ceil(vmin / step - 1e-9)
    ticks = [k * step for k in range(first, math.floor(vmax / step + 1e-9) + 1)]
    # Round away float noise (0.30000000000000004) without moving a tick off its grid.
    ticks = [round(t, 3 - math.floor(math.log10(step))) for t in ticks]
    return ticks if len(ticks) >= 2 else [vmin, vmax]


def _log_ticks(vmin: float, vmax: float, offset: float) -> list[float]:
    """``vmin`` and ``vmin + m·10^k`` for the decades between the offset and the range."""
    span = vmax - vmin
    lo, hi = math.ceil(math.log10(offset)), math.floor(math.log10(span))
    mantissas = (1.0,) if hi - lo >= 2 else (1.0, 2.0, 5.0)
    above = [m * 10.0**k for k in range(lo, hi + 1) for m in mantissas if m * 10.0**k <= span]
    return [vmin] + [vmin + d for d in above if d >= offset]


def _limits(
    finite: Array, scale: str, vmin: float | None, vmax: float | None, percentiles: tuple
) -> tuple[float, float, str]:
    if scale == "percentile":
        lo_q, hi_q = (float(q) for q in percentiles)
        if not 0.0 <= lo_q < hi_q <= 100.0:
            raise ValueError(f"percentiles must satisfy 0 <= lo < hi <= 100; got {percentiles}")
        auto_lo, auto_hi = (float(v) for v in np.percentile(finite, [lo_q, hi_q]))
    else:
        auto_lo, auto_hi = float(finite.min()), float(finite.max())
    lo = auto_lo if vmin is None else float(vmin)
    hi = auto_hi if vmax is None else float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"vmin and vmax must be finite; got vmin={vmin}, vmax={vmax}")
    if not lo < hi and (vmin is not None or vmax is not None):
        raise ValueError(f"vmin must be below vmax; got vmin={lo}, vmax={hi}")
    note = ""
    if max(abs(lo), abs(hi)) > MAX_COLOUR_VALUE:
        lo, hi = (min(max(v, -MAX_COLOUR_VALUE), MAX_COLOUR_VALUE) for v in (lo, hi))
        limit = f"{MAX_COLOUR_VALUE:.0e}".replace("e+", "e")
        note = (
            f"Losses here reach beyond ±{limit}; those beyond are drawn in the end colours of "
            "the scale."
        )
    if not lo < hi:
        # A flat grid, or one whose values a float cannot tell apart at this size: its one
        # colour sits mid-scale, and the limits are wide enough to differ as floats.
        pad = max(0.5, abs(lo) * _FLAT_WIDTH)
        note = note or f"The loss is the same everywhere in this window (about {lo:.4g})."
        lo, hi = lo - pad, hi + pad
    return lo, hi, note


def to_png_data_url(
    values: Array,
    *,
    cmap: str = "viridis",
    scale: Scale = "log",
    vmin: float | None = None,
    vmax: float | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0),
) -> Raster:
    """Encode ``values`` (shape ``(H, W)``, row 0 the lowest ``w2``) as a palette PNG.

    The image is flipped vertically so ``w2`` grows upwards on screen; NaN cells are
    transparent. ``vmin``/``vmax`` override the automatic limits (the grid's minimum and
    maximum, or its ``percentiles`` for ``scale="percentile"``). ``cmap`` is any name the
    ``cmap`` package knows; the default viridis is perceptually uniform and reads with every
    common colour-vision deficiency.

    Raises ``ValueError`` for an unknown scale or colormap, bad limits given by the caller, a
    non-2-D array, or a grid without one finite value; any finite values get an image.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 2 or min(grid.shape) < 1:
        raise ValueError(f"values must be a 2-D array of shape (H, W); got shape {grid.shape}")
    finite_mask = np.isfinite(grid)
    if not finite_mask.any():
        raise ValueError("values hold no finite number: nothing to colour")
    palette = _palette(cmap)
    lo, hi, note = _limits(grid[finite_mask], scale, vmin, vmax, percentiles)
    offset = LOG_OFFSET * (hi - lo) if scale == "log" else 0.0

    def position(v: Array) -> Array:
        return colour_position(v, scale=scale, vmin=lo, vmax=hi, offset=offset)

    def index(t: Array) -> Array:
        return np.rint(np.asarray(t) * (_LEVELS - 1)).astype(np.int64)

    pixels = np.full(grid.shape, _GAP, dtype=np.uint8)
    pixels[finite_mask] = index(position(grid[finite_mask]))
    pixels = np.ascontiguousarray(pixels[::-1])  # image rows run top-down; w2 runs bottom-up

    image = Image.frombytes("P", (grid.shape[1], grid.shape[0]), pixels.tobytes())
    image.putpalette(np.vstack([palette, np.zeros((1, 3), np.uint8)]).ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, transparency=_GAP)
    png = buffer.getvalue()

    ticks = _log_ticks(lo, hi, offset) if scale == "log" else _linear_ticks(lo, hi)
    tick_colors = tuple(_hex(palette[i]) for i in index(position(np.array(ticks))))
    stops = tuple(_hex(palette[i]) for i in index(np.linspace(0.0, 1.0, 16)))
    return Raster(
        url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        width=grid.shape[1],
        height=grid.shape[0],
        png_bytes=len(png),
        cmap=cmap,
        scale=scale,
        vmin=lo,
        vmax=hi,
        offset=offset,
        ticks=tuple(float(t) for t in ticks),
        tick_colors=tick_colors,
        stops=stops,
        note=note,
    )
