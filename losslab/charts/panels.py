"""One figure drawn as several charts ("panels") that share their controls.

A wide figure composed into one spec can only be shrunk as a whole: on a 390 px phone its
text ends up 4–5 px high. Drawn as separate charts, side by side where there is room and one
above the other where there is not, each panel keeps a readable size. The panels still move
together, in the browser: every parameter they share (the step, each run's rate and decay)
listens to one input outside the charts, through Vega's element binding, so a move of that
input reaches every panel and nothing else (no message to the server).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import altair as alt

__all__ = ["LEGEND_ABOVE", "LEGEND_BELOW", "Control", "panel", "place_legends", "shared_controls"]

Spec = dict[str, Any]


class Control(NamedTuple):
    """One input shared by the panels: a range over whole numbers, drawn once on the page."""

    name: str
    """The parameter it sets in every panel (``step``, ``lr_1``, …); also the input's name."""
    label: str
    minimum: int
    maximum: int
    value: int
    element: str
    """The input's id: the panels' parameters listen to ``#<element>``."""


def _used_data(node: Any, names: set[str]) -> set[str]:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.add(data["name"])
        for key, value in node.items():
            if key not in ("datasets", "values"):  # rows name no dataset: not walked
                _used_data(value, names)
    elif isinstance(node, list):
        for value in node:
            _used_data(value, names)
    return names


def panel(body: Spec, params: Sequence[dict], datasets: dict[str, Any], *,
          config: dict | None = None, resolve: dict | None = None) -> Spec:
    """``body`` (a view, layer or concat) as a top-level spec with ``params`` and only the
    ``datasets`` it reads: a panel sends its own rows, not its neighbours'."""
    used = _used_data(body, set())
    out: Spec = {"$schema": alt.SCHEMA_URL, **body, "params": [dict(p) for p in params],
                 "datasets": {name: rows for name, rows in datasets.items() if name in used},
                 "autosize": {"type": "pad", "contains": "padding"}}
    if config:
        out["config"] = config
    if resolve:
        out["resolve"] = resolve
    return out


def _bound(param: dict) -> bool:
    bind = param.get("bind")
    return isinstance(bind, dict) and bind.get("input") == "range"


def shared_controls(panels: Sequence[Spec], prefix: str = "losslab") -> tuple[list[Spec],
                                                                           list[Control]]:
    """``panels`` whose range-bound parameters listen to one input each outside the charts
    (``{"bind": {"element": "#<id>"}}``), and those inputs (``Control``), to be drawn once.

    A parameter bound in several panels gets one control (the first panel's bounds and
    value). The ids carry a digest of every control's name, bounds and value, so changing
    any of them (a new maximum, a new starting rung) changes every panel's spec: the browser
    then builds the charts anew, bound to the new inputs, instead of swapping rows into charts
    still listening to inputs that have left the page. Labels are not in the digest: they are
    drawn beside the inputs (``ui.browser``), so a run that changes optimiser keeps its inputs
    and its charts, which only take new rows. A control with an empty label is not shown.
    """
    found: dict[str, dict] = {}
    for spec in panels:
        for p in spec.get("params", []):
            if _bound(p):
                found.setdefault(p["name"], p)
    described = [(name, str(p["bind"].get("name", name)), int(p["bind"].get("min", 0)),
                  int(p["bind"].get("max", 1)), int(p.get("value", 0)))
                 for name, p in found.items()]
    # Labels are left out: they are drawn beside the inputs, not in them, so a run that
    # changes optimiser keeps its inputs, and the charts stay bound to them.
    digest = hashlib.blake2b(json.dumps([(n, lo, hi, v) for n, _, lo, hi, v in described])
                             .encode(), digest_size=4).hexdigest()
    controls = [Control(name, label, lo, hi, min(max(value, lo), hi),
                        f"{prefix}-{name.replace('_', '-')}-{digest}")
                for name, label, lo, hi, value in described]
    element = {c.name: c.element for c in controls}
    rebound = []
    for spec in panels:
        params = [{**p, "bind": {"element": f"#{element[p['name']]}"}} if _bound(p) else p
                  for p in spec.get("params", [])]
        rebound.append({**spec, "params": params})
    return rebound, controls


LEGEND_ABOVE = {"orient": "top", "direction": "horizontal", "gradientLength": 220,
                "titleOrient": "left", "titleAnchor": "middle"}
"""A colour-scale legend in one row above the plot (``place_legends``)."""
LEGEND_BELOW = {"orient": "bottom", "direction": "vertical"}
"""A legend of runs under the plot, one run a line (``place_legends``)."""


def place_legends(spec: Spec, where: dict[str, dict]) -> Spec:
    """``spec`` with the legends of the channels in ``where`` (``{"fill": LEGEND_ABOVE}``)
    given those properties, in every view: a panel whose legends sit above and under its
    plot, not beside it, is no wider than the plot. A channel drawn without a legend
    (``"legend": None``) stays without one; rows are not walked."""

    def placed(encoding: dict) -> dict:
        changed = {}
        for channel, props in where.items():
            enc = encoding.get(channel)
            if isinstance(enc, dict) and "field" in enc and enc.get("legend", {}) is not None:
                changed[channel] = {**enc, "legend": {**enc.get("legend", {}), **props}}
        return {**encoding, **changed} if changed else encoding

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: (placed(value) if key == "encoding" and isinstance(value, dict)
                          else value if key in ("datasets", "values", "data") else walk(value))
                    for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return walk(spec)
