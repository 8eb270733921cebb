"""Read back what a Streamlit chart element actually sends to the browser."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa


def spec(element) -> dict:
    """The Vega-Lite spec of an AppTest ``vega_lite_chart`` element (datasets sent separately)."""
    return json.loads(element.proto.spec)


def frames(element) -> dict[str, pd.DataFrame]:
    """Every dataset of a chart element, decoded from Arrow, by name."""
    out = {}
    for ds in element.proto.datasets:
        table = pa.ipc.open_stream(ds.data.data).read_all()
        out[ds.name] = table.to_pandas()
    inline = spec(element).get("datasets", {})
    for name, rows in inline.items():
        out[name] = pd.DataFrame(rows)
    return out


def non_finite_cells(element) -> list[str]:
    """Names of datasets holding NaN or ±inf in a numeric column (nulls from gaps excepted)."""
    bad = []
    for name, df in frames(element).items():
        for col in df.columns:
            values = df[col]
            if values.dtype.kind == "f" and np.isinf(values.to_numpy()).any():
                bad.append(f"{name}.{col}")
    return bad


def fingerprint(element) -> str:
    """A string that changes whenever the chart's spec or data change."""
    parts = [element.proto.spec] + [ds.data.data.hex() for ds in element.proto.datasets]
    return "|".join(parts)
