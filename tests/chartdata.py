"""Read back what a Streamlit chart element actually sends to the browser, and check a spec
against Vega-Lite's schema."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema import load_schema


def spec(element) -> dict:
    """The Vega-Lite spec of an AppTest ``vega_lite_chart`` element (datasets sent separately)."""
    return json.loads(element.proto.spec)


def _tables(element) -> dict[str, pa.Table]:
    return {ds.name: pa.ipc.open_stream(ds.data.data).read_all() for ds in element.proto.datasets}


def frames(element) -> dict[str, pd.DataFrame]:
    """Every dataset of a chart element, decoded from Arrow, by name."""
    out = {name: table.to_pandas() for name, table in _tables(element).items()}
    inline = spec(element).get("datasets", {})
    for name, rows in inline.items():
        out[name] = pd.DataFrame(rows)
    return out


def assert_same_figure(mine: list[dict], theirs: list[dict]) -> None:
    """Two figures (lists of panel specs) are the same: equal specs, the same datasets, and
    equal rows in each (rows given as DataFrames or as the Arrow bytes Streamlit sends)."""

    def rows(value: object) -> object:
        return pa.ipc.open_stream(value).read_all().to_pandas() \
            if isinstance(value, bytes) else value

    assert len(mine) == len(theirs)
    for one, other in zip(mine, theirs, strict=True):
        one, other = dict(one), dict(other)
        one_rows, other_rows = one.pop("datasets"), other.pop("datasets")
        assert one == other
        assert one_rows.keys() == other_rows.keys()
        for name in other_rows:
            a, b = rows(one_rows[name]), rows(other_rows[name])
            if isinstance(b, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b, check_dtype=False)
            else:
                assert a == b, name


def datasets(charts, name: str) -> list[pd.DataFrame]:
    """The rows of dataset ``name`` in each of ``charts`` that has it (e.g. ``at.get(
    "vega_lite_chart")``), in page order."""
    found = []
    for element in charts:
        table = frames(element).get(name)
        if table is not None:
            found.append(table)
    return found


def rows_with(charts, *columns: str) -> list[pd.DataFrame]:
    """Every dataset of ``charts`` that has all of ``columns`` (e.g. ``"step", "w"``)."""
    return [
        df for element in charts for df in frames(element).values()
        if all(c in df.columns for c in columns)
    ]


def _non_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _walk(node: object) -> bool:
    if isinstance(node, dict):
        return any(_walk(v) for v in node.values())
    if isinstance(node, list):
        return any(_walk(v) for v in node)
    return _non_finite(node)


def non_finite_cells(element) -> list[str]:
    """Where a chart element holds NaN or ±inf: numeric dataset columns (a null, which is how
    a gap is sent, is not counted) and anywhere in the spec itself (``NaN``/``Infinity`` in
    the JSON, which a browser's JSON parser rejects)."""
    bad = []
    for name, table in _tables(element).items():
        for col, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_floating(column.type) and (
                pc.any(pc.is_nan(column)).as_py() or pc.any(pc.is_inf(column)).as_py()
            ):
                bad.append(f"{name}.{col}")
    if _walk(json.loads(element.proto.spec)):
        bad.append("spec")
    return bad


def fingerprint(element) -> str:
    """A string that changes whenever the chart's spec or data change."""
    parts = [element.proto.spec] + [ds.data.data.hex() for ds in element.proto.datasets]
    return "|".join(parts)


def assert_valid_vega_lite(spec: dict) -> None:
    """``spec`` is valid Vega-Lite (v6 schema, as Altair ships it).

    The schema asks one thing of an inline dataset's rows: each is an object. jsonschema checks
    that by trying every other kind of array on every row first, which took most of a minute
    for a what-if spec of ~40 000 rows; so the rows are checked here in Python, and the schema
    validates each dataset's first rows with the rest of the spec."""
    trimmed = dict(spec)
    if "datasets" in spec:
        for name, rows in spec["datasets"].items():
            assert isinstance(rows, list) and all(isinstance(row, dict) for row in rows), name
        trimmed["datasets"] = {name: rows[:3] for name, rows in spec["datasets"].items()}
    validate_jsonschema(trimmed, load_schema())
