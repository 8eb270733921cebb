"""Join finished charts into one Vega-Lite spec quickly.

``link`` builds the compound chart with Altair, which deep-copies every sub-chart to lift
parameters and validates the whole spec: for the surface view that is most of a rerun's time.
``compose`` gives the same spec by assembling the sub-charts' own dictionaries: each is
converted once without re-validation, their datasets are merged (names are content hashes,
so equal data is sent once) and every parameter is declared once, at the top.

``compose_panels`` draws the same charts as separate specs ("panels", ``charts.panels``) that
each declare the step, for a page that lays them side by side or, on a phone, one above the
other; ``map_panels`` does so for the two-weight figure, its legends above and under the map.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from losslab.charts.panels import LEGEND_ABOVE, LEGEND_BELOW, panel, place_legends

__all__ = ["compose", "compose_panels", "concat_spec", "layer_spec", "link", "map_panels",
           "overlay", "placeholders", "records", "stable_names"]

Spec = dict[str, Any]

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


def _as_spec(chart: alt.TopLevelMixin | Spec) -> Spec:
    # A dictionary is taken as given (callers pass fresh ones, e.g. from a cache).
    return dict(chart) if isinstance(chart, dict) else chart.to_dict(validate=False)


def overlay(base: alt.TopLevelMixin | Spec, top: alt.TopLevelMixin | Spec) -> Spec:
    """``top``'s layers drawn over ``base``'s, as one layer spec (``base`` keeps its size,
    title and axes). Lets a cached background take new layers without being rebuilt."""
    below, above = _as_spec(base), _as_spec(top)
    out = dict(below)
    out["layer"] = list(below.get("layer", [])) + list(above.get("layer", []))
    datasets = {**below.get("datasets", {}), **above.get("datasets", {})}
    if datasets:
        out["datasets"] = datasets
    params = {p["name"]: p for p in [*below.get("params", []), *above.get("params", [])]}
    if params:
        out["params"] = list(params.values())
    return out


def compose(
    step: alt.Parameter | None,
    *charts: alt.TopLevelMixin | Spec,
    columns: int | None = None,
) -> Spec:
    """The spec of ``link(step, *charts)`` as a dictionary, built without Altair's copies.

    ``charts`` are Altair charts or specs already turned into dictionaries. Sub-charts whose
    own parameters are selections fall back to ``link`` (Altair must name their views); plain
    variable parameters (the step, rotation angles) are lifted.
    """
    if not charts:
        raise ValueError("compose needs at least one chart")
    subs = [_as_spec(chart) for chart in charts]
    if any("select" in p for s in subs for p in s.get("params", [])):
        if any(isinstance(chart, dict) for chart in charts):
            raise ValueError("charts with selections must be given as Altair charts")
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


def compose_panels(step: alt.Parameter | None, *charts: alt.TopLevelMixin | Spec
                   ) -> list[Spec]:
    """``compose(step, *charts)``'s views as separate specs, one per chart: each carries its
    own rows and declares ``step`` (and its own variable parameters) itself, so that
    ``shared_controls`` binds the step of every panel to one input outside the charts."""
    out = []
    for chart in charts:
        spec = _as_spec(chart)
        datasets = spec.pop("datasets", {})
        spec.pop("$schema", None)
        config = spec.pop("config", None)
        params: dict[str, dict] = {}
        if step is not None:
            params[step.name] = step.param.to_dict()
        kept = []
        for p in spec.pop("params", []):
            if "views" in p or "select" in p:
                kept.append(p)  # a selection stays with the views it names
            else:
                params.setdefault(p["name"], p)
        out.append(panel(spec, [*params.values(), *kept], datasets, config=config))
    return out


_RUN_CHANNELS = ("color", "shape", "strokeDash")


def map_panels(step: alt.Parameter | None, the_map: alt.TopLevelMixin | Spec,
               *others: alt.TopLevelMixin | Spec) -> list[Spec]:
    """The two-weight figure as panels sharing ``step``: the map (with its paths) first, its
    loss-colour legend above it and its runs' legend under it, so the panel is no wider than
    the map and its axis; then ``others`` (the loss, distance and rate charts: built without
    a legend of their own, as the map's names the runs in the same colours, dashes and
    markers). ``compose(step, the_map, *others)`` is the same figure as one spec."""
    placed = place_legends(_as_spec(the_map), {"fill": LEGEND_ABOVE,
                                               **{c: LEGEND_BELOW for c in _RUN_CHANNELS}})
    return compose_panels(step, placed, *others)


def placeholders(count: int) -> tuple[str, ...]:
    """Stand-in run names: a cache key for a skeleton that reads the real names from its rows."""
    return tuple(f"\u2060run {i}\u2060" for i in range(count))


def stable_names(spec: Spec, prefix: str = "rows") -> Spec:
    """``spec`` with its content-named datasets (``data-<hash>``, as Altair names them) renamed
    ``rows-1``, ``rows-2``, … in the order the spec first uses them.

    A browser showing a chart compares the new spec with the old one: if only the rows of
    named datasets differ it swaps those rows in, otherwise it rebuilds the whole view (three
    to ten times the work). Content names change with every new run; position names do not.
    """
    datasets = spec.get("datasets")
    if not datasets:
        return spec
    order: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict):
                name = data.get("name")
                if isinstance(name, str) and name.startswith("data-") and name in datasets \
                        and name not in order:
                    order.append(name)
            for key, value in node.items():
                if key != "datasets":
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    mapping = {name: f"{prefix}-{i + 1}" for i, name in enumerate(order)}
    if not mapping:
        return spec

    def rename(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "datasets" and node is spec:
                    out[key] = {mapping.get(k, k): v for k, v in value.items()}
                elif key == "data" and isinstance(value, dict) and value.get("name") in mapping:
                    out[key] = {**value, "name": mapping[value["name"]]}
                else:
                    out[key] = rename(value)
            return out
        if isinstance(node, list):
            return [rename(v) for v in node]
        return node

    return rename(spec)


def records(frame) -> list[dict]:
    """A table's rows as JSON-ready dictionaries (NaN becomes null), for a spec's datasets."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _merged(specs: list[Spec]) -> tuple[list[Spec], dict[str, Any], dict[str, dict]]:
    """Sub-specs stripped of what belongs at the top: datasets, variable params, schema."""
    datasets: dict[str, Any] = {}
    params: dict[str, dict] = {}
    out = []
    for spec in specs:
        spec = dict(spec)
        datasets.update(spec.pop("datasets", {}))
        spec.pop("$schema", None)
        spec.pop("config", None)
        _lift_params(spec, params)
        out.append(spec)
    return out, datasets, params


def _top(body: Spec, datasets: dict[str, Any], params: dict[str, dict], schema: str | None) -> Spec:
    if params:
        body["params"] = list(params.values())
    if datasets:
        body["datasets"] = datasets
    if schema:  # a top-level spec, as Altair writes one
        body["$schema"] = schema
        body.setdefault("config", {"view": {"continuousWidth": 300, "continuousHeight": 300}})
    return body


def layer_spec(*charts: alt.TopLevelMixin | Spec, **properties: Any) -> Spec:
    """``alt.layer(*charts).properties(**properties)`` as a dictionary, converting each layer
    once instead of letting Altair deep-copy the whole stack at every step of assembly."""
    specs = [_as_spec(c) for c in charts]
    schema = specs[0].get("$schema") if specs else None
    layers, datasets, params = _merged(specs)
    return _top({"layer": layers, **properties}, datasets, params, schema)


def concat_spec(
    direction: str, *charts: alt.TopLevelMixin | Spec, **properties: Any
) -> Spec:
    """``alt.hconcat``/``alt.vconcat`` (``direction`` "hconcat" or "vconcat") as a dictionary."""
    if direction not in ("hconcat", "vconcat"):
        raise ValueError(f"direction must be hconcat or vconcat, not {direction!r}")
    specs = [_as_spec(c) for c in charts]
    schema = specs[0].get("$schema") if specs else None
    parts, datasets, params = _merged(specs)
    return _top({direction: parts, **properties}, datasets, params, schema)


def link(
    step: alt.Parameter, *charts: alt.TopLevelMixin, columns: int | None = None
) -> alt.ConcatChart:
    """One compound chart of ``charts`` in which ``step`` is declared exactly once.

    Call it last, on every view that follows the step. Colour, opacity, shape, dash and size
    scales are resolved independently between the views (a run's colours in the metrics must
    not merge with a surface's height colours); each view's own sub-views still share theirs.
    ``columns`` wraps the views into rows of that many (``None``: one row).
    """
    if not charts:
        raise ValueError("link needs at least one chart")
    composed = alt.concat(*charts) if columns is None else alt.concat(*charts, columns=columns)
    return composed.add_params(step).resolve_scale(
        color="independent",
        opacity="independent",
        shape="independent",
        strokeDash="independent",
        size="independent",
    )
