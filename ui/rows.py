"""Chart rows in the form Streamlit sends them: Arrow IPC bytes, converted once in a cached
spec, so a rerun that reads the spec sends them as they are."""

from __future__ import annotations

import pandas as pd


def arrow_bytes(frame: pd.DataFrame) -> bytes | pd.DataFrame:
    """A chart's rows as Arrow IPC bytes, the form Streamlit sends them in (it passes bytes
    through untouched). Converted once in a cached spec, a rerun that reads the spec sends
    them as they are: converting the same rows again for every learner was about a fifth of
    a cached rerun (pyarrow also starts a thread pool for each multi-column frame, so this
    converts on one thread). Rows pyarrow cannot type stay a DataFrame for Streamlit."""
    import pyarrow as pa  # Streamlit's own dependency

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def arrow_datasets(spec: dict) -> dict:
    """``spec`` with its DataFrame datasets as Arrow bytes (``arrow_bytes``)."""
    datasets = spec.get("datasets")
    if not datasets or not any(isinstance(v, pd.DataFrame) for v in datasets.values()):
        return spec
    return {**spec, "datasets": {
        name: arrow_bytes(rows) if isinstance(rows, pd.DataFrame) else rows
        for name, rows in datasets.items()}}


def with_frames(spec: dict, frames: dict[str, pd.DataFrame]) -> dict:
    """``spec`` with these named datasets as DataFrames (NaN is sent as null)."""
    return {**spec, "datasets": {**spec.get("datasets", {}), **frames}}


def as_frames(spec: dict) -> dict:
    """``spec`` with its row lists turned into DataFrames once (for a cached spec)."""
    datasets = {
        name: pd.DataFrame.from_records(rows) if isinstance(rows, list) else rows
        for name, rows in spec.get("datasets", {}).items()
    }
    return {**spec, "datasets": datasets} if datasets else spec


def arrow_panels(panels: list[dict]) -> list[dict]:
    """``arrow_datasets`` for panels sharing rows: each table is converted once."""
    converted: dict[int, bytes | pd.DataFrame] = {}
    out = []
    for spec in panels:
        datasets = {}
        for name, rows in spec.get("datasets", {}).items():
            if isinstance(rows, pd.DataFrame):
                if id(rows) not in converted:
                    converted[id(rows)] = arrow_bytes(rows)
                rows = converted[id(rows)]
            datasets[name] = rows
        out.append({**spec, "datasets": datasets})
    return out
