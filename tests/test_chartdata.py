"""The chart reader the app tests rely on finds NaN and ±inf wherever a browser would get them."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pyarrow as pa
import pytest

from tests import chartdata


def element(spec: dict, **tables: pa.Table):
    """A stand-in for an AppTest chart element: a spec and Arrow datasets, as Streamlit sends."""
    datasets = []
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        datasets.append(SimpleNamespace(name=name, data=SimpleNamespace(
            data=sink.getvalue().to_pybytes())))
    return SimpleNamespace(proto=SimpleNamespace(spec=json.dumps(spec), datasets=datasets))


def test_finite_rows_and_null_gaps_pass():
    rows = pa.table({"w": pa.array([1.0, None, 3.0]), "name": ["a", "b", "c"]})
    assert chartdata.non_finite_cells(element({"mark": "line"}, paths=rows)) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_rows_are_found(bad):
    rows = pa.table({"w": pa.array([1.0, bad, None]), "loss": [1.0, 2.0, 3.0]})
    assert chartdata.non_finite_cells(element({}, paths=rows)) == ["paths.w"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_numbers_in_the_spec_are_found(bad):
    spec = {"datasets": {"inline": [{"w": 1.0}, {"w": bad}]}, "mark": "point"}
    assert chartdata.non_finite_cells(element(spec)) == ["spec"]
    scale = {"encoding": {"x": {"scale": {"domain": [0.0, bad]}}}}
    assert chartdata.non_finite_cells(element(scale)) == ["spec"]


def test_named_datasets_are_read_back():
    rows = pa.table({"step": [0, 1], "w": [0.5, 0.25]})
    chart = element({"datasets": {"curve": [{"w": 0.0, "loss": 1.0}]}}, path=rows)
    assert chartdata.datasets([chart], "path")[0]["w"].tolist() == [0.5, 0.25]
    assert chartdata.datasets([chart], "curve")[0]["loss"].tolist() == [1.0]
    assert [list(df.columns) for df in chartdata.rows_with([chart], "step")] == [["step", "w"]]
