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
    return table_bytes(table)


def table_bytes(table) -> bytes:
    """An Arrow table as IPC stream bytes."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def arrow_table(frame: pd.DataFrame):
    """A chart's rows as an Arrow table (``arrow_bytes`` before it is written out); raises
    pyarrow's error for rows it cannot type."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)


def stacked_bytes(tables: list, column: str = "run") -> bytes:
    """One-run tables (each with ``column`` = 0) one under the other as IPC stream bytes,
    ``column`` numbered by position: the rows of runs kept one by one, drawn together. Only
    pointers are joined; the rows are copied once, into the bytes."""
    import numpy as np
    import pyarrow as pa

    numbered = []
    for k, table in enumerate(tables):
        at = table.schema.get_field_index(column)
        field = table.schema.field(at)
        numbered.append(table.set_column(at, field, pa.array(np.full(len(table), k),
                                                             type=field.type)))
    return table_bytes(pa.concat_tables(numbered))


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
