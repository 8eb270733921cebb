"""Tables every session shares are read-only: an attempt to change one raises TypeError."""

from __future__ import annotations

import numpy as np
import pytest

from losslab import expressions, optimizers, schedules, surfaces

_TABLES = {
    "FUNCTION_ARITY": expressions.FUNCTION_ARITY,
    "SURFACES": surfaces.SURFACES,
    "OPTIMIZERS": optimizers.OPTIMIZERS,
    "HYPERPARAMS": optimizers.HYPERPARAMS,
    "SCHEDULES": schedules.SCHEDULES,
    "SCHEDULE_PARAMS": schedules.SCHEDULE_PARAMS,
}


@pytest.mark.parametrize("name", list(_TABLES))
def test_a_shared_table_refuses_a_new_entry(name):
    with pytest.raises(TypeError):
        _TABLES[name]["evil"] = None  # type: ignore[index]


@pytest.mark.parametrize("name", list(_TABLES))
def test_a_shared_table_refuses_removing_an_entry(name):
    table = _TABLES[name]
    with pytest.raises(TypeError):
        del table[next(iter(table))]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", surfaces.names())
def test_a_registry_surfaces_settings_cannot_be_changed(name):
    surface = surfaces.SURFACES[name]
    with pytest.raises(TypeError):
        surface.params["evil"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        surface.params = {}  # type: ignore[misc]


def test_a_data_surfaces_rows_are_read_only_but_the_callers_stay_writable():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])
    surface = surfaces.linear_regression_from_data(x, y)
    assert surface.data is not None
    with pytest.raises(ValueError, match="read-only"):
        surface.data.x[0] = 99.0
    x[0] = 7.0  # the caller's own array is not frozen behind its back
    assert x[0] == 7.0


def test_a_hyperparameter_entry_is_an_immutable_tuple():
    with pytest.raises(TypeError):
        optimizers.HYPERPARAMS["adam"][0] = None  # type: ignore[index]
