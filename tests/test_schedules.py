"""Schedules: each factor against its torch formula at several updates, validation, registry."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import descent, optimizers, schedules, surfaces
from losslab.descent import MAX_STEPS, Scheduler
from losslab.schedules import SCHEDULE_PARAMS, SCHEDULES, SPECS, build, make, trace


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


def test_polynomial_falls_along_a_power_of_the_time_left_then_stays_at_zero():
    schedule = schedules.polynomial(total_iters=4, power=2.0)
    # (1 − t/4)²
    assert [schedule(t) for t in range(7)] == [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0, 0.0]


def test_warm_restarts_jump_back_to_the_full_rate_in_longer_and_longer_cycles():
    rates, _ = trace(schedules.warm_restarts(t_0=2, t_mult=2, eta_min=0.1), 1.1, 8)
    # cycles of 2, 4, 8 updates starting at 0, 2, 6; within one: 0.1 + 1·(1 + cos(π c/len))/2
    c = math.cos(math.pi / 4)  # a quarter of the 4-update cycle
    np.testing.assert_allclose(rates, [1.1, 0.6, 1.1, 0.1 + (1 + c) / 2, 0.6, 0.1 + (1 - c) / 2,
                                       1.1, 0.1 + (1 + math.cos(math.pi / 8)) / 2], atol=1e-15)
    same, _ = trace(schedules.warm_restarts(t_0=3), 1.0, 7)
    np.testing.assert_allclose(same, [1.0, 0.75, 0.25] * 2 + [1.0], atol=1e-15)


def test_one_cycle_climbs_then_anneals_with_the_momentum_opposite():
    rates, momenta = trace(schedules.one_cycle(total_steps=10, pct_start=0.3,
                                               anneal_strategy="linear", div_factor=10.0,
                                               final_div_factor=100.0), 1.0, 10)
    # phase 1: updates 0 → 2, from 0.1 to 1; phase 2: updates 2 → 9, from 1 to 0.001
    np.testing.assert_allclose(rates[:3], [0.1, 0.55, 1.0], atol=1e-15)
    np.testing.assert_allclose(rates[2:], 1.0 - 0.999 * np.arange(8) / 7, atol=1e-15)
    np.testing.assert_allclose(momenta[:3], [0.95, 0.9, 0.85], atol=1e-15)
    np.testing.assert_allclose(momenta[2:], 0.85 + 0.1 * np.arange(8) / 7, atol=1e-15)
    assert trace(schedules.one_cycle(total_steps=10, cycle_momentum=False), 1.0, 10)[1] is None


def test_one_cycle_with_a_climb_of_one_update_starts_at_the_peak():
    # pct_start · total_steps = 1: phase 1 has no length (torch divides by zero here)
    rates, _ = trace(schedules.one_cycle(total_steps=10, pct_start=0.1), 2.0, 10)
    assert rates[0] == 2.0 and rates.argmax() == 0


def _plateau_rates(losses, **params):
    return trace(schedules.plateau(**params), 1.0, len(losses), losses)[0].tolist()


def test_plateau_cuts_after_patience_updates_without_improvement():
    # loss 5 is the best; 5, 5, 5 are 1, 2, 3 bad updates: the third exceeds patience 2,
    # so the update after it runs at half the rate
    assert _plateau_rates([5, 5, 5, 5, 5, 5], factor=0.5, patience=2) == [1, 1, 1, 1, 0.5, 0.5]
    assert _plateau_rates([5, 4, 3, 2, 1, 0.5], factor=0.5, patience=2) == [1.0] * 6


def test_plateau_thresholds_relative_and_absolute():
    losses = [1.0, 0.9999, 0.9998, 0.9997, 0.9996]
    # relative 1e-3: 0.9999 is not below 1·(1 − 0.001), so nothing counts as an improvement
    assert _plateau_rates(losses, patience=1, threshold=1e-3) == [1, 1, 1, 0.5, 0.5]
    # absolute 5e-5: each 1e-4 fall beats best − 5e-5
    assert _plateau_rates(losses, patience=1, threshold=5e-5, threshold_mode="abs") == [1] * 5


def test_plateau_cooldown_waits_before_counting_again_and_min_lr_is_the_floor():
    flat = [1.0] * 12
    # patience 0: every non-improvement cuts, but after a cut a cooldown of 2 ignores two
    assert _plateau_rates(flat, patience=0, cooldown=2) == [
        1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625]
    assert _plateau_rates(flat, patience=0, factor=0.1, min_lr=0.05)[-1] == 0.05
    # a cut smaller than eps is not made
    assert _plateau_rates(flat, patience=0, factor=0.99, eps=0.02) == [1.0] * 12


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


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (schedules.polynomial, {"total_iters": 0}, "Invalid total_iters value: 0"),
        (schedules.polynomial, {"total_iters": 5, "power": 0.0}, "Invalid power value: 0.0"),
        (schedules.warm_restarts, {"t_0": 0}, "Invalid t_0 value: 0"),
        (schedules.warm_restarts, {"t_0": 5, "t_mult": 1.5}, "Invalid t_mult value: 1.5"),
        (schedules.warm_restarts, {"t_0": 5, "eta_min": -1}, "Invalid eta_min value: -1"),
        (schedules.one_cycle, {"total_steps": 9, "pct_start": 1.5},
         "Invalid pct_start value: 1.5"),
        (schedules.one_cycle, {"total_steps": 9, "anneal_strategy": "exp"},
         "Invalid anneal_strategy value: 'exp' \\(choose one of: cos, linear\\)"),
        (schedules.one_cycle, {"total_steps": 9, "div_factor": 0}, "Invalid div_factor value: 0"),
        (schedules.one_cycle, {"total_steps": 9, "max_momentum": 1.0},
         "Invalid max_momentum value: 1.0"),
        (schedules.one_cycle, {"total_steps": 9, "cycle_momentum": "yes"},
         "Invalid cycle_momentum value: yes"),
        (schedules.plateau, {"factor": 1.0}, "Invalid factor value: 1.0"),
        (schedules.plateau, {"patience": -1}, "Invalid patience value: -1"),
        (schedules.plateau, {"threshold_mode": "pct"}, "Invalid threshold_mode value: 'pct'"),
        (schedules.plateau, {"min_lr": float("inf")}, "Invalid min_lr value: inf"),
        (schedules.plateau, {"cooldown": 1.5}, "Invalid cooldown value: 1.5"),
    ],
)
def test_bad_settings_of_the_new_schedules_are_refused_with_their_value(factory, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        factory(**kwargs)


def test_whole_floats_count_as_update_counts():
    assert schedules.step_decay(step_size=2.0, gamma=0.5)(2) == 0.5


def test_registry_and_descriptions_name_the_same_schedules():
    assert set(SCHEDULES) == set(SCHEDULE_PARAMS) == set(SPECS) == {
        "constant", "step", "exponential", "cosine", "warmup",
        "onecycle", "plateau", "polynomial", "restarts",
    }
    assert all(name == spec.name for name, spec in SPECS.items())


def test_the_registry_is_read_only_data():
    with pytest.raises(TypeError):
        SPECS["linear"] = SPECS["constant"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        SPECS["plateau"].params[0].default = 0.9  # type: ignore[misc]


@pytest.mark.parametrize("name", list(SPECS))
def test_each_schedule_has_a_label_and_a_one_line_explanation(name):
    spec = SPECS[name]
    assert spec.label and spec.label[0].isupper()
    assert "\n" not in spec.explanation and spec.explanation.endswith(".")
    assert 20 <= len(spec.explanation) <= 100, spec.explanation
    for param in spec.params:
        assert param.label and param.help.endswith("."), param


def _values(param):
    """The values a widget for ``param`` can give, at its ends."""
    if param.kind == "choice":
        return param.choices
    if param.kind == "bool":
        return (False, True)
    return (param.min_value, param.max_value)


@pytest.mark.parametrize("name", list(SPECS))
def test_widget_ranges_hold_their_default_and_are_accepted(name):
    for param in SCHEDULE_PARAMS[name]:
        if param.kind == "choice":
            assert param.default in param.choices, param
        elif param.kind == "bool":
            assert isinstance(param.default, bool), param
        elif param.default is not None:
            assert param.min_value <= param.default <= param.max_value, param
        for value in _values(param):
            rates, _ = trace(build(name, 50, **{param.name: value}), 0.1, 50)
            assert np.all(np.isfinite(rates)) and np.all(rates >= 0.0)


def test_parameters_sharing_a_link_key_mean_the_same_thing():
    by_key = {}
    for spec in SPECS.values():
        for param in spec.params:
            assert re.fullmatch(r"[a-z][a-z0-9_]{0,11}", param.key), param.key
            by_key.setdefault(param.key, set()).add(param._replace(name=""))
    assert {key: len(meanings) for key, meanings in by_key.items() if len(meanings) > 1} == {}
    # the links' existing keys keep their meaning: period, gamma and warmup
    assert {p.key for p in SPECS["step"].params} == {"period", "gamma"}
    assert [p.key for p in SPECS["cosine"].params] == ["period"]
    assert [p.key for p in SPECS["warmup"].params][0] == "warmup"


@pytest.mark.parametrize("name", list(SPECS))
def test_flags_say_which_schedules_read_the_loss_and_set_the_momentum(name):
    schedule = build(name, 60)
    flat, flat_momenta = trace(schedule, 0.1, 60)
    falling, _ = trace(schedule, 0.1, 60, np.linspace(10.0, 1.0, 60))
    assert (not np.array_equal(flat, falling)) == SPECS[name].reads_loss
    assert (flat_momenta is not None) == SPECS[name].sets_momentum
    assert isinstance(schedule, Scheduler) == (name in ("onecycle", "plateau", "restarts"))


def test_make_refuses_an_unknown_schedule():
    with pytest.raises(ValueError, match="unknown schedule 'linear'.*cosine"):
        make("linear")


def test_make_refuses_a_setting_the_schedule_does_not_have():
    with pytest.raises(ValueError, match="constant has no setting gamma; its settings: none"):
        make("constant", gamma=0.5)


def test_build_refuses_an_unknown_parameter_listing_the_valid_ones():
    with pytest.raises(ValueError, match="plateau has no setting power; its settings: factor, "
                                         "patience, threshold, threshold_mode, cooldown, min_lr"):
        build("plateau", 30, power=2.0)


@pytest.mark.parametrize("steps", [0, -3, 2.5, "many", True])
def test_build_refuses_a_run_length_that_is_not_a_count(steps):
    with pytest.raises(ValueError, match=f"Invalid steps value: {steps}"):
        build("onecycle", steps)


def test_build_spans_the_run_with_one_cycle_and_polynomial():
    rates, momenta = trace(build("onecycle", 40), 0.1, 40)
    assert rates.argmax() == 11  # the climb ends at update 0.3·40 − 1
    assert rates[-1] == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)
    np.testing.assert_allclose(momenta[[0, 11, 39]], [0.95, 0.85, 0.95], atol=1e-15)
    poly, _ = trace(build("polynomial", 40), 1.0, 40)
    np.testing.assert_allclose(poly, 1.0 - np.arange(40) / 40, atol=1e-15)
    capped, _ = trace(build("polynomial", 10 * MAX_STEPS), 1.0, 3)
    np.testing.assert_allclose(capped, 1.0 - np.arange(3) / MAX_STEPS, atol=1e-15)


def test_one_cycle_refuses_an_update_past_its_end():
    with pytest.raises(ValueError, match="one-cycle spans 10 updates; update 10 is past its end"):
        trace(build("onecycle", 10), 0.1, 11)


@settings(deadline=None)
@given(
    name=st.sampled_from([n for n in SPECS if n != "onecycle"]),
    t=st.integers(0, 100_000),
)
def test_default_factors_stay_in_the_unit_interval(name, t):
    scheduler = descent.as_scheduler(make(name))
    state = scheduler.init(1.0)
    for update in range(t % 50):
        state = scheduler.update(update, 1.0, state)[2]
    factor = scheduler.update(t, 1.0, state)[0]
    assert math.isfinite(factor)
    assert 0.0 <= factor <= 1.0


def test_run_multiplies_the_base_rate_by_the_schedule():
    surface = surfaces.get("single_point")
    history = descent.run(
        surface, optimizers.sgd(learning_rate=0.01), start=[0.0], steps=6,
        schedule=schedules.step_decay(step_size=2, gamma=0.5),
    )
    np.testing.assert_allclose(history.learning_rate, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025])


def test_picking_cosine_sets_its_period_to_the_runs_steps():
    # The period cosine shares with step decay defaults to 10: one anneal over 10 steps,
    # then climbing back. Picked, cosine anneals over the whole run; leaving it keeps it.
    from losslab.settings import Settings, replaced, with_schedule

    s = replaced(Settings(), steps=300)
    assert s.period == 10
    cosine = with_schedule(s, "cosine")
    assert (cosine.schedule, cosine.period) == ("cosine", 300)
    assert with_schedule(cosine, "cosine").period == 300  # picked again: unchanged
    assert with_schedule(replaced(cosine, period=40), "cosine").period == 40
    assert with_schedule(s, "step").period == 10
    assert with_schedule(cosine, "step").period == 300
