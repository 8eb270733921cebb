"""Drawing a chart spec on the page: one function, so every chart gets the same treatment."""

from __future__ import annotations

import altair as alt
import streamlit as st

from losslab import charts
from losslab.settings import Settings
from ui import compute

_PRESENTER_CONFIG = {
    "axis": {"labelFontSize": 15, "titleFontSize": 17},
    "legend": {"labelFontSize": 15, "titleFontSize": 16, "labelLimit": 320},
    "title": {"fontSize": 20},
    "text": {"fontSize": 16},
}


MAP_SIZE = 520
"""The surface map's side in the spec (px). The browser then fits the whole figure to its
column (``ui/browser.py``): about 490 px on a 1400 px desktop, smaller in a narrow window."""
PRESENTER_MAP_SIZE = 480
"""On a projector the figure must fit 720 px in height with its larger type: a smaller map
leaves the browser less to shrink, so the type stays large."""


def presenter_scale(s: Settings) -> float:
    """Presenter mode draws the figure a little larger; the browser keeps it within the
    projector's 1280×720."""
    return 1.15 if s.presenter else 1.0


def map_size(s: Settings) -> int:
    return PRESENTER_MAP_SIZE if s.presenter else MAP_SIZE


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
    spec = compute.arrow_datasets(charts.stable_names(spec))
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
