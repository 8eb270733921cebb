"""Run export: the DataFrame's rows and columns, CSV and JSON round trips, no NaN in JSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from losslab import descent, optimizers, schedules, surfaces
from losslab.export import from_json, to_csv, to_frame, to_json
from losslab.optimizers import OPTIMIZERS, make
from losslab.surfaces import Dataset, Surface


def _bowl() -> Surface:
    c = np.array([1.0, 4.0])

    def shaped(p):
        return c.reshape((2,) + (1,) * (p.ndim - 1))

    return Surface(
        name="bowl", title="bowl", dim=2,
        loss_fn=lambda p: 0.5 * np.sum(shaped(p) * p**2, axis=0),
        grad_fn=lambda p: shaped(p) * p,
        hessian_fn=lambda p: np.diag(c).reshape((2, 2) + (1,) * (p.ndim - 1)),
        window=((-3.0, 3.0),) * 2, minimizers=((0.0, 0.0),), optimal_value=0.0,
        axis_labels=("a", "b"), params={"tilt": 0.0},
    )


BOWL = _bowl()


def _run(name="adam", steps=4, **hyperparams):
    opt = make(name, **hyperparams)
    return opt, descent.run(BOWL, opt, start=[1.0, -1.0], steps=steps)


def _assert_same_history(a: descent.History, b: descent.History) -> None:
    for field in ("params", "loss", "grad", "learning_rate"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.state.keys() == b.state.keys()
    for key in a.state:
        np.testing.assert_array_equal(a.state[key], b.state[key], err_msg=key)
    for field in ("batch_grad", "hessian", "momentum"):
        left, right = getattr(a, field), getattr(b, field)
        assert (left is None) == (right is None), field
        if left is not None:
            np.testing.assert_array_equal(left, right, err_msg=field)
    assert (a.diverged_at, a.steps_requested) == (b.diverged_at, b.steps_requested)


# --- frame ----------------------------------------------------------------------------------------


def test_frame_has_one_row_per_step_and_the_documented_columns():
    _, history = _run("adam")
    frame = to_frame(history)
    assert frame["step"].tolist() == [0, 1, 2, 3, 4]
    assert list(frame.columns) == [
        "step", "w1", "w2", "loss", "grad_w1", "grad_w2", "learning_rate",
        "m_w1", "m_w2", "v_w1", "v_w2", "m_hat_w1", "m_hat_w2", "v_hat_w1", "v_hat_w2",
    ]
    np.testing.assert_array_equal(frame[["w1", "w2"]].to_numpy(), history.params)
    np.testing.assert_array_equal(frame["v_hat_w2"].to_numpy(), history.state["v_hat"][:, 1])


def test_frame_puts_each_updates_rate_on_the_row_it_produced():
    _, history = _run("sgd")
    rates = to_frame(history)["learning_rate"]
    assert np.isnan(rates[0])
    np.testing.assert_array_equal(rates[1:].to_numpy(), history.learning_rate)


def test_frame_uses_given_labels_for_parameter_columns():
    _, history = _run("sgd")
    assert list(to_frame(history, labels=("a", "b")).columns[:3]) == ["step", "a", "b"]


@pytest.mark.parametrize("labels", [("a",), ("a", "a"), ("loss", "b")])
def test_frame_refuses_labels_that_do_not_name_the_parameters(labels):
    _, history = _run("sgd")
    with pytest.raises(ValueError, match="labels must be 2 distinct name"):
        to_frame(history, labels=labels)


def test_newton_frame_has_the_hessian_columns():
    _, history = _run("newton")
    frame = to_frame(history)
    assert {"hessian_w1_w1", "hessian_w1_w2", "hessian_w2_w1", "hessian_w2_w2"} <= set(frame)
    assert frame["hessian_w2_w2"].tolist()[1:] == [4.0] * 4


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_reads_back_to_the_same_frame():
    _, history = _run("adamw")
    back = pd.read_csv(io.StringIO(to_csv(history)))
    pd.testing.assert_frame_equal(back, to_frame(history))


def test_csv_leaves_missing_values_empty():
    _, history = _run("sgd")
    second_line = to_csv(history).splitlines()[1]
    assert ",," in second_line or second_line.endswith(",")
    assert "nan" not in to_csv(history).lower()


# --- JSON -----------------------------------------------------------------------------------------


def _strict_loads(text: str):
    def refuse(constant):
        raise AssertionError(f"JSON contains {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_carries_the_optimiser_surface_and_outcome():
    opt, history = _run("adamw", learning_rate=0.2, weight_decay=0.05)
    doc = _strict_loads(to_json(history, opt, surface=BOWL))
    assert doc["optimizer"] == {
        "name": "AdamW", "kind": "adamw",
        "hyperparams": {"learning_rate": 0.2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                        "weight_decay": 0.05},
    }
    assert doc["surface"] == {"name": "bowl", "params": {"tilt": 0.0}}
    assert doc["diverged_at"] is None
    assert doc["labels"] == ["a", "b"]
    assert len(doc["steps"]) == len(history)


def test_json_writes_null_never_nan():
    _, history = _run("sgd")
    text = to_json(history)
    assert "NaN" not in text and "Infinity" not in text
    assert _strict_loads(text)["steps"][0]["learning_rate"] is None


def test_json_records_where_a_run_diverged():
    opt = optimizers.sgd(learning_rate=1.0)
    history = descent.run(surfaces.get("single_point"), opt, start=[3.0], steps=50)
    doc = _strict_loads(to_json(history, opt))
    assert doc["diverged_at"] == 5
    assert len(doc["steps"]) == 5


def test_json_adds_extra_items():
    _, history = _run("sgd")
    doc = _strict_loads(to_json(history, extra={"schedule": {"name": "cosine", "t_max": 9}}))
    assert doc["schedule"] == {"name": "cosine", "t_max": 9}


def test_json_refuses_extra_items_that_would_overwrite_its_own():
    _, history = _run("sgd")
    with pytest.raises(ValueError, match="overwrite the export's own 'steps'"):
        to_json(history, extra={"steps": []})


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_json_reads_back_to_the_same_history(name):
    opt, history = _run(name, steps=6)
    _assert_same_history(from_json(to_json(history, opt, surface=BOWL)), history)


def test_mini_batch_json_reads_back_to_the_same_history():
    x = np.array([1.0, 2.0, 3.0])
    surface = Surface(
        name="rows", title="rows", dim=1,
        loss_fn=lambda p: np.mean((p[0][..., None] * x - x) ** 2, axis=-1),
        grad_fn=lambda p: np.mean(2 * (p[0][..., None] * x - x) * x, axis=-1)[None],
        hessian_fn=lambda p: np.full((1, 1, *p.shape[1:]), 2 * np.mean(x * x)),
        window=((0.0, 2.0),), data=Dataset(x, x),
        batch_grad=lambda p, rows: np.array([np.mean(2 * (p[0] * x[rows] - x[rows]) * x[rows])]),
    )
    history = descent.run(surface, optimizers.sgd(learning_rate=0.05), start=[0.0], steps=4,
                          batch=2, seed=0)
    _assert_same_history(from_json(to_json(history)), history)


def test_one_cycle_runs_export_the_momentum_of_each_update():
    opt = make("adam")
    history = descent.run(BOWL, opt, start=[1.0, 1.0], steps=5,
                          schedule=schedules.build("onecycle", 5))
    frame = to_frame(history)
    assert np.isnan(frame["momentum"][0])
    np.testing.assert_array_equal(frame["momentum"][1:], history.momentum)
    assert frame["momentum"][1] == 0.95
    _assert_same_history(from_json(to_json(history, opt)), history)
    assert "momentum" not in to_frame(_run("adam", steps=3)[1])


def test_from_json_refuses_text_that_is_not_an_export():
    with pytest.raises(ValueError, match="not a losslab run export"):
        from_json('{"rows": []}')


def test_a_non_finite_value_in_a_history_is_an_empty_cell_never_inf():
    history = descent.History(
        params=np.array([[0.0, 1.0], [0.5, 1.0]]),
        loss=np.array([1.0, 0.5]),
        grad=np.array([[1.0, 0.0], [0.5, 0.0]]),
        learning_rate=np.array([0.5]),
        hessian=np.array([[[np.inf, 0.0], [0.0, 1.0]]]),
    )
    text = to_csv(history)
    assert "inf" not in text.lower()
    assert pd.read_csv(io.StringIO(text))["hessian_w1_w1"].isna().all()
