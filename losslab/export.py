"""Export a run: a pandas DataFrame with one row per step, CSV text, or JSON text.

Row t describes iterate t and how the run got there (the update t that produced it):

==========================  ======================================================================
column                      meaning at row t
==========================  ======================================================================
``step``                    t (0 is the start)
``w1``, ``w2``              the parameters w_t (names from ``labels``, e.g. a surface's axis labels)
``loss``                    L(w_t)
``grad_w1``, ...            the full gradient ∇L(w_t)
``learning_rate``           the rate η_t of update t (empty at row 0)
``momentum``                when a schedule set it: the momentum or β1 of update t (empty at 0)
``batch_grad_w1``, ...      mini-batch runs: the sampled gradient update t used (empty at row 0)
``<state>_w1``, ...         each recorded state array after update t (``m_w1``, ``v_hat_w2``, ...)
``hessian_w1_w2``, ...      Newton runs: the Hessian update t used, taken at w_{t-1} (empty at 0)
==========================  ======================================================================

The JSON text is ``{"optimizer": {...}, "surface": {...}, "diverged_at", "steps_requested",
"labels", "state_names", "steps": [row, ...]}`` plus any ``extra`` items; non-finite numbers are
written as ``null``, never ``NaN``. ``from_json`` reads it back into a ``History``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from losslab.descent import History
from losslab.optimizers import Optimizer
from losslab.surfaces import Surface

Array = np.ndarray

__all__ = ["to_frame", "to_csv", "to_json", "from_json"]


_FIXED_COLUMNS = frozenset({"step", "loss", "learning_rate", "momentum"})


def _labels(dim: int, labels: Sequence[str] | None) -> list[str]:
    if labels is None or len(labels) == 0:
        return [f"w{i + 1}" for i in range(dim)]
    labels = [str(x) for x in labels]
    if len(labels) != dim or len(set(labels)) != dim or set(labels) & _FIXED_COLUMNS:
        raise ValueError(
            f"labels must be {dim} distinct name(s) other than {sorted(_FIXED_COLUMNS)}; "
            f"got {labels}"
        )
    return labels


def _after_start(values: Array, n: int) -> Array:
    """Per-update values (n − 1 rows) shifted to rows 1..n − 1, with NaN at row 0."""
    out = np.full((n, *values.shape[1:]), np.nan)
    out[1:] = values
    return out


def to_frame(history: History, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per kept step, columns as in the module docstring."""
    n, dim = history.params.shape
    names = _labels(dim, labels)
    columns: dict[str, Array] = {"step": np.arange(n)}
    for i, name in enumerate(names):
        columns[name] = history.params[:, i]
    columns["loss"] = history.loss
    for i, name in enumerate(names):
        columns[f"grad_{name}"] = history.grad[:, i]
    columns["learning_rate"] = _after_start(history.learning_rate, n)
    if history.momentum is not None:
        columns["momentum"] = _after_start(history.momentum, n)
    if history.batch_grad is not None:
        batch = _after_start(history.batch_grad, n)
        for i, name in enumerate(names):
            columns[f"batch_grad_{name}"] = batch[:, i]
    for key, values in history.state.items():
        for i, name in enumerate(names):
            columns[f"{key}_{name}"] = values[:, i]
    if history.hessian is not None:
        hess = _after_start(history.hessian, n)
        for i, row in enumerate(names):
            for j, col in enumerate(names):
                columns[f"hessian_{row}_{col}"] = hess[:, i, j]
    # A run keeps only finite steps, but a surface's Hessian may overflow where its loss does
    # not: an export holds an empty cell there, never "inf".
    finite = {k: np.where(np.isfinite(v), v, np.nan) for k, v in columns.items() if k != "step"}
    return pd.DataFrame({"step": columns["step"], **finite})


def to_csv(history: History, labels: Sequence[str] | None = None) -> str:
    """``to_frame`` as CSV text (no index; empty cells where a value does not apply)."""
    return to_frame(history, labels).to_csv(index=False)


def _plain(value: Any) -> Any:
    """JSON-ready: NumPy scalars to Python, non-finite floats to ``None``, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as JSON")


def to_json(
    history: History,
    optimizer: Optimizer | None = None,
    *,
    surface: Surface | None = None,
    labels: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The run as JSON text: metadata plus ``steps``, one object per ``to_frame`` row.

    ``optimizer`` adds ``{"name", "kind", "hyperparams"}``; ``surface`` adds ``{"name",
    "params"}`` and supplies ``labels`` (its axis labels) when none are given; ``extra`` items
    (e.g. ``{"schedule": {"name": "cosine", "t_max": 200}}``) are added at the top level.
    """
    if labels is None and surface is not None:
        labels = surface.axis_labels
    frame = to_frame(history, labels)
    doc: dict[str, Any] = {}
    if optimizer is not None:
        doc["optimizer"] = {
            "name": optimizer.name,
            "kind": optimizer.kind,
            "hyperparams": dict(optimizer.hyperparams),
        }
    if surface is not None:
        doc["surface"] = {"name": surface.name, "params": dict(surface.params)}
    doc["diverged_at"] = history.diverged_at
    doc["steps_requested"] = history.steps_requested
    doc["labels"] = _labels(history.params.shape[1], labels)
    doc["state_names"] = list(history.state)
    for key, value in (extra or {}).items():
        if key in doc or key == "steps":
            raise ValueError(f"extra item {key!r} would overwrite the export's own {key!r}")
        doc[key] = value
    doc["steps"] = frame.to_dict(orient="records")
    return json.dumps(_plain(doc), allow_nan=False)


def from_json(text: str) -> History:
    """Read ``to_json`` text back into a ``History`` (the metadata is in ``json.loads(text)``)."""
    doc = json.loads(text)
    try:
        names, rows = doc["labels"], doc["steps"]
        state_names = doc["state_names"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a losslab run export: missing {err}") from err
    frame = pd.DataFrame.from_records(rows).astype(float)
    n = len(frame)

    def block(prefix: str) -> Array:
        return frame[[f"{prefix}{name}" for name in names]].to_numpy(dtype=float)

    def per_update(values: Array) -> Array:
        return values[1:] if n > 0 else values

    has_batch = f"batch_grad_{names[0]}" in frame
    has_hessian = f"hessian_{names[0]}_{names[0]}" in frame
    hessian = None
    if has_hessian:
        hessian = np.stack(
            [np.stack([frame[f"hessian_{r}_{c}"].to_numpy() for c in names], axis=-1)
             for r in names],
            axis=1,
        )[1:]
    return History(
        params=block(""),
        loss=frame["loss"].to_numpy(dtype=float),
        grad=block("grad_"),
        learning_rate=per_update(frame["learning_rate"].to_numpy(dtype=float)),
        state={key: block(f"{key}_") for key in state_names},
        batch_grad=per_update(block("batch_grad_")) if has_batch else None,
        diverged_at=doc.get("diverged_at"),
        steps_requested=int(doc.get("steps_requested", 0)),
        hessian=hessian,
        momentum=per_update(frame["momentum"].to_numpy(dtype=float))
        if "momentum" in frame else None,
    )
