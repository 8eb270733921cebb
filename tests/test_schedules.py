"""Schedules: each factor against its torch formula at several updates, validation, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, optimizers, schedules, surfaces
from losslab.schedules import SCHEDULE_PARAMS, SCHEDULES, make


def test_constant_is_one_at_every_update():
    schedule = schedules.constant()
    assert [schedule(t) for t in (0, 1, 7, 4999)] == [1.0, 1.0, 1.0, 1.0]


def test_step_decay_drops_by_gamma_every_step_size_updates():
    schedule = schedules.step_decay(step_size=3, gamma=0.5)
    # gamma ** (t // 3)
    assert [schedule(t) for t in range(8)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_exponential_multiplies_by_gamma_each_update():
    schedule = schedules.exponential(gamma=0.9)
    assert schedule(0) == 1.0
    assert schedule(1) == pytest.approx(0.9, abs=1e-15)
    assert schedule(2) == pytest.approx(0.81, abs=1e-15)
    assert schedule(10) == pytest.approx(0.3486784401, abs=1e-12)


def test_cosine_runs_from_one_through_a_half_to_zero():
    schedule = schedules.cosine(t_max=10)
    assert schedule(0) == 1.0
    assert schedule(5) == pytest.approx(0.5, abs=1e-15)
    assert schedule(10) == pytest.approx(0.0, abs=1e-15)
    # (1 + cos(π/10)) / 2 = (1 + 0.9510565163) / 2
    assert schedule(1) == pytest.approx(0.97552825815, abs=1e-11)


def test_cosine_climbs_again_after_t_max_as_torch_does():
    schedule = schedules.cosine(t_max=10)
    assert schedule(15) == pytest.approx(0.5, abs=1e-15)
    assert schedule(20) == pytest.approx(1.0, abs=1e-15)


def test_warmup_ramps_linearly_then_holds():
    schedule = schedules.warmup(warmup_steps=4, start_factor=0.2)
    # 0.2 + 0.8 · min(t, 4) / 4
    expected = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    np.testing.assert_allclose([schedule(t) for t in range(7)], expected, atol=1e-15)


def test_a_negative_update_index_is_refused():
    with pytest.raises(ValueError, match="Invalid update index: -1"):
        schedules.cosine(t_max=5)(-1)


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (schedules.step_decay, {"step_size": 0}, "Invalid step_size value: 0"),
        (schedules.step_decay, {"step_size": 2.5}, "Invalid step_size value: 2.5"),
        (schedules.step_decay, {"step_size": True}, "Invalid step_size value: True"),
        (schedules.step_decay, {"step_size": 5, "gamma": 0.0}, "Invalid gamma value: 0.0"),
        (schedules.exponential, {"gamma": 1.5}, "Invalid gamma value: 1.5"),
        (schedules.exponential, {"gamma": float("nan")}, "Invalid gamma value: nan"),
        (schedules.cosine, {"t_max": -3}, "Invalid t_max value: -3"),
        (schedules.cosine, {"t_max": "ten"}, "Invalid t_max value: ten"),
        (schedules.warmup, {"warmup_steps": 5, "start_factor": 0.0},
         "Invalid start_factor value: 0.0"),
        (schedules.warmup, {"warmup_steps": 0}, "Invalid warmup_steps value: 0"),
    ],
)
def test_bad_schedule_settings_are_refused_with_their_value(factory, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        factory(**kwargs)


def test_whole_floats_count_as_update_counts():
    assert schedules.step_decay(step_size=2.0, gamma=0.5)(2) == 0.5


def test_registry_and_descriptions_name_the_same_schedules():
    assert set(SCHEDULES) == set(SCHEDULE_PARAMS) == {
        "constant", "step", "exponential", "cosine", "warmup"
    }


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_widget_ranges_hold_their_default_and_are_accepted(name):
    for param in SCHEDULE_PARAMS[name]:
        assert param.min_value <= param.default <= param.max_value, param
        for value in (param.min_value, param.max_value):
            assert make(name, **{param.name: value})(3) >= 0.0


def test_make_refuses_an_unknown_schedule():
    with pytest.raises(ValueError, match="unknown schedule 'linear'.*cosine"):
        make("linear")


def test_make_refuses_a_setting_the_schedule_does_not_have():
    with pytest.raises(ValueError, match="constant has no setting gamma; its settings: none"):
        make("constant", gamma=0.5)


@settings(deadline=None)
@given(
    name=st.sampled_from(list(SCHEDULES)),
    t=st.integers(0, 100_000),
)
def test_default_factors_stay_in_the_unit_interval(name, t):
    factor = make(name)(t)
    assert math.isfinite(factor)
    assert 0.0 <= factor <= 1.0


def test_run_multiplies_the_base_rate_by_the_schedule():
    surface = surfaces.get("single_point")
    history = descent.run(
        surface, optimizers.sgd(learning_rate=0.01), start=[0.0], steps=6,
        schedule=schedules.step_decay(step_size=2, gamma=0.5),
    )
    np.testing.assert_allclose(history.learning_rate, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025])
