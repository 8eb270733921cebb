"""Drawing a chart spec on the page: one function, so every chart gets the same treatment."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import streamlit as st

from losslab import charts
from losslab.settings import Settings
from ui import browser, rows

_PRESENTER_CONFIG = {
    "axis": {"labelFontSize": 15, "titleFontSize": 17},
    "legend": {"labelFontSize": 15, "titleFontSize": 16, "labelLimit": 320},
    "title": {"fontSize": 20},
    "text": {"fontSize": 16},
}


PRESENTER_MAP_SIZE = 480
"""On a projector the figure must fit 720 px in height with its larger type: a smaller map
leaves the browser less to shrink, so the type stays large."""


PANEL_MAP_SIZE = 380
"""The map's side when it is a panel of its own (``show_panels``): with its axis and its
legend under it the panel is about 450 px wide, so a 390 px phone shows it at 0.8× and a
1400 px desktop, beside the loss charts, at about 1.15× (a 440 px map, as before)."""
METRICS_WIDTH = 280
"""The loss and distance charts' width beside a map panel (px)."""


def presenter_scale(s: Settings) -> float:
    """Presenter mode draws the figure a little larger; the browser keeps it within the
    projector's 1280×720."""
    return 1.15 if s.presenter else 1.0


def panel_map_size(s: Settings) -> int:
    # On a projector the panel also holds the legend and the outcome text within 720 px.
    return PRESENTER_MAP_SIZE - 40 if s.presenter else PANEL_MAP_SIZE


def show_panels(panels: Sequence[dict], s: Settings, key: str, *, widths: Sequence[float],
                pick: bool = False):
    """A figure drawn as separate charts (``charts.whatif_map_panels``, …) that share their
    controls: side by side in columns of ``widths`` (Streamlit stacks columns one above the
    other on a narrow screen, so a phone shows each panel at a readable size), and the shared
    step, rate and decay inputs once under them, moving every panel in the browser. With
    ``pick``, the first panel's clicked point is returned (see ``show``)."""
    bound, controls = charts.shared_controls(panels)
    figure = st.container()
    # Written before the charts reach the page, so each chart finds the inputs it binds to.
    if controls:  # a figure without runs has no step to move
        browser.shared_controls(controls)
    columns = figure.columns(list(widths))
    picked = None
    for i, (column, spec) in enumerate(zip(columns, bound, strict=True)):
        point = show(spec, s, f"{key}_{i}", column, pick=pick and i == 0)
        picked = point if i == 0 else picked
    return picked


def show(spec: dict | alt.TopLevelMixin, s: Settings, key: str, container=st, *,
         pick: bool = False):
    """Draw a chart spec (built by ``charts.compose``, or an Altair chart), larger type on a
    projector. Specs are passed as dictionaries so Altair does not copy and re-validate them.
    With ``pick``, a click on the map's cells is sent back: the point clicked (w1, w2) is
    returned, else ``None``."""
    if not isinstance(spec, dict):
        spec = spec.to_dict(validate=False)
    config = {**spec.get("config", {}), "legend": {"labelLimit": 320}}
    if s.presenter:
        config.update(_PRESENTER_CONFIG)
    # Charts keep their own size ("pad"): "fit" is meant for single views, and re-fitting a
    # compound chart makes every step of the scrubber re-lay out axes and legends.
    spec = {**spec, "config": config, "autosize": {"type": "pad", "contains": "padding"}}
    # Datasets named by position, not content: a rerun with new rows then keeps the spec
    # identical and the browser swaps the rows in instead of rebuilding the chart.
    spec = rows.arrow_datasets(charts.stable_names(spec))
    if not pick:
        container.vega_lite_chart(spec=spec, width="content", key=key)
        return None
    event = container.vega_lite_chart(spec=charts.start_picker(spec), width="content", key=key,
                                      on_select="rerun", selection_mode=[charts.START_PICK])
    points = (event or {}).get("selection", {}).get(charts.START_PICK) or []
    point = points[0] if isinstance(points, list) and points else None
    if not isinstance(point, dict) or "w1" not in point or "w2" not in point:
        return None
    return float(point["w1"]), float(point["w2"])
