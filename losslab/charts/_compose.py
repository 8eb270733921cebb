"""Join finished charts into one Vega-Lite spec quickly.

``link`` builds the compound chart with Altair, which deep-copies every sub-chart to lift
parameters and validates the whole spec: for the surface view that is most of a rerun's time.
``compose`` gives the same spec by assembling the sub-charts' own dictionaries: each is
converted once without re-validation, their datasets are merged (names are content hashes,
so equal data is sent once) and every parameter is declared once, at the top.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from losslab.charts._playback import link

__all__ = ["compose"]

_INDEPENDENT = ("color", "opacity", "shape", "strokeDash", "size")


def _lift_params(spec: dict[str, Any], params: dict[str, dict]) -> None:
    """Move top-level variable parameters of a sub-spec into ``params`` (first one wins)."""
    kept = []
    for p in spec.pop("params", []):
        if "views" in p or "select" in p:
            kept.append(p)  # selections belong to their views
        else:
            params.setdefault(p["name"], p)
    if kept:
        spec["params"] = kept


def compose(
    step: alt.Parameter | None, *charts: alt.TopLevelMixin, columns: int | None = None
) -> dict[str, Any]:
    """The spec of ``link(step, *charts)`` as a dictionary, built without Altair's copies.

    Sub-charts whose own parameters are selections fall back to ``link`` (Altair must name
    their views); plain variable parameters (the step, rotation angles) are lifted.
    """
    if not charts:
        raise ValueError("compose needs at least one chart")
    subs = [chart.to_dict(validate=False) for chart in charts]
    if any("select" in p for s in subs for p in s.get("params", [])):
        linked = link(step, *charts, columns=columns) if step is not None else alt.concat(*charts)
        return linked.to_dict(validate=False)
    params: dict[str, dict] = {}
    if step is not None:
        params[step.name] = step.param.to_dict()
    datasets: dict[str, Any] = {}
    schema = subs[0].get("$schema")
    config = subs[0].get("config")
    for spec in subs:
        datasets.update(spec.pop("datasets", {}))
        spec.pop("$schema", None)
        spec.pop("config", None)
        _lift_params(spec, params)
    out: dict[str, Any] = {
        "$schema": schema,
        "concat": subs,
        "resolve": {"scale": {channel: "independent" for channel in _INDEPENDENT}},
    }
    if config:
        out["config"] = config
    if columns is not None:
        out["columns"] = columns
    if params:
        out["params"] = list(params.values())
    if datasets:
        out["datasets"] = datasets
    return out
