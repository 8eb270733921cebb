"""Settings and permalinks: untrusted links never raise; every consistent setting round-trips."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import lessons, optimizers, schedules, stability, surfaces
from losslab.permalink import MAX_VALUE_CHARS, parse_query, to_link, to_query
from losslab.settings import (
    FIELD,
    FIELDS,
    Settings,
    baseline,
    default_start,
    optimizer_kwargs,
    reconcile,
    schedule_of,
    surface_params,
    with_lesson,
)
from losslab.settings import run_starts as settings_run_starts
from tests.permalink_corpus import MALFORMED_LINKS


def parsed(query: dict) -> Settings:
    return parse_query(query)[0]


def warnings_of(query: dict) -> list[str]:
    return parse_query(query)[1]


# ---------------------------------------------------------------------------- the field table


def test_defaults_are_the_course_chapters_opening_view():
    s = Settings()
    assert (s.surface, s.x, s.y_true, s.w_min, s.w_max, s.resolution) == (
        "single_point", 2.0, 4.0, -1.0, 3.0, 100)
    assert (s.optimizers, s.learning_rates, s.start, s.steps, s.step) == (
        ("sgd",), (0.05,), (-1.0,), 30, None)
    assert s.lesson == "none" and s.view == "lesson"


def test_fields_describe_every_settings_attribute_in_order_with_its_default():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert [f.name for f in FIELDS] == names
    assert {f.name: f.default for f in FIELDS} == dataclasses.asdict(Settings())


def test_field_keys_are_unique_short_and_url_safe():
    keys = [f.key for f in FIELDS]
    assert len(set(keys)) == len(keys)
    # lower-case letters, digits and "_" need no escaping in a URL
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,11}", k) for k in keys), keys


def test_schedule_settings_are_the_schedule_registry_as_data():
    assert FIELD["schedule"].choices == tuple(schedules.SPECS)
    for spec in schedules.SPECS.values():
        for p in spec.params:
            f = FIELD[p.key]  # one setting per link key, named as the key
            assert (f.key, f.kind, f.label, f.help) == (p.key, p.kind, p.label, p.help)
            assert (f.low, f.high, f.choices, f.default) == (
                p.min_value, p.max_value, p.choices, p.default), p.key


def test_every_numeric_field_has_a_range_containing_its_default():
    for f in FIELDS:
        if f.kind in ("float", "int", "floats", "ints"):
            assert f.low is not None and f.high is not None and f.low < f.high, f.name
            defaults = f.default if isinstance(f.default, tuple) else (f.default,)
            assert all(d is None or f.low <= d <= f.high for d in defaults), f.name
        assert f.label and f.help, f.name


def test_size_fields_are_capped_at_the_projects_limits():
    assert FIELD["steps"].high == 5000 and FIELD["resolution"].high == 400
    assert FIELD["optimizers"].max_items == 8 and FIELD["resolution"].low == 2
    assert MAX_VALUE_CHARS == 200


def test_optimiser_choices_are_the_optimiser_registry():
    assert set(FIELD["optimizers"].choices) == set(optimizers.OPTIMIZERS)


def test_surface_choices_are_the_registry_plus_custom():
    assert FIELD["surface"].choices == (*surfaces.SURFACES, "custom")


# ---------------------------------------------------------------------------- Settings checks


@pytest.mark.parametrize(
    "change",
    [
        {"steps": 10**9},
        {"steps": 0},
        {"resolution": 100_000},
        {"learning_rates": (math.inf,)},
        {"learning_rates": (math.nan,)},
        {"learning_rates": ()},
        {"optimizers": ("sgd",) * 9},
        {"optimizers": ("lbfgs",)},
        {"surface": "nope"},
        {"expr": "__import__('os')"},
        {"expr": "w" * 201},
        {"steps": 2.5},
        {"steps": "30"},
        {"presenter": "yes"},
        {"hidden": (8, 8, 8)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_settings_refuse_an_invalid_field_naming_it(change):
    name = next(iter(change))
    with pytest.raises(ValueError, match=name):
        Settings(**change)


def test_settings_round_floats_to_six_digits_and_lists_to_tuples():
    s = Settings(learning_rates=[0.1 + 0.2], start=[-0.0], hidden=[16, 16])
    assert s.learning_rates == (0.3,) and s.start == (0.0,) and s.hidden == (16, 16)
    assert math.copysign(1.0, s.start[0]) == 1.0


def test_rates_gives_one_learning_rate_per_optimiser():
    assert Settings(optimizers=("sgd", "adam"), learning_rates=(0.1,)).rates() == (0.1, 0.1)
    two = Settings(optimizers=("sgd", "adam"), learning_rates=(0.1, 0.01))
    assert two.rates() == (0.1, 0.01)


def test_optimizer_kwargs_build_every_registry_optimiser():
    s = Settings(optimizers=tuple(optimizers.OPTIMIZERS)[:8], learning_rates=(0.1,))
    runs = optimizer_kwargs(s)
    assert [name for name, _ in runs] == list(s.optimizers)
    for name, kwargs in runs:
        assert optimizers.make(name, **kwargs).learning_rate == 0.1
    assert dict(runs)["adam"]["beta2"] == s.beta2


# ---------------------------------------------------------------------------- parsing


def test_an_empty_link_is_the_opening_view_without_warnings():
    assert parse_query({}) == (Settings(), [])


def test_the_opening_view_has_an_empty_link():
    assert to_query(Settings()) == {}


def test_a_readable_link_parses_to_what_it_says():
    s, notes = parse_query(
        {"surface": "rosenbrock", "opt": "adam,sgd", "lr": "0.01", "start": "-1.5,2",
         "steps": "200", "step": "40"})
    assert notes == []
    assert (s.surface, s.optimizers, s.learning_rates) == ("rosenbrock", ("adam", "sgd"), (0.01,))
    assert (s.start, s.steps, s.step) == ((-1.5, 2.0), 200, 40)


def test_a_link_is_written_short_and_readable():
    s = Settings(surface="rosenbrock", view="surface", optimizers=("adam", "sgd"),
                 learning_rates=(0.01,), start=(-1.5, 2.0), steps=200, step=40)
    assert to_query(s) == {"surface": "rosenbrock", "opt": "adam,sgd", "lr": "0.01",
                           "start": "-1.5,2", "steps": "200", "step": "40"}


@pytest.mark.parametrize("text, value", [
    ("0.01", 0.01), ("1e-3", 0.001), ("1E-3", 0.001), (".5", 0.5), ("5.", 5.0), ("+2", 2.0),
    ("2", 2.0), ("0.30000000000000004", 0.3),
])
def test_plain_decimals_are_accepted(text, value):
    assert parse_query({"lr": text}) == (Settings(learning_rates=(value,)), [])


@pytest.mark.parametrize("text", [
    "inf", "-inf", "nan", "NaN", "Infinity", "1_000", "0x10", " 0.1", "0.1 ", "0.1\n", "1e",
    ".", "--1", "10**9", "1/2", "١", "１", "0.1.2", "1e5e5", "",
])
def test_anything_else_is_ignored_with_a_warning(text):
    s, notes = parse_query({"lr": text})
    assert s == Settings() and len(notes) == 1
    assert 'lr="' in notes[0] or '"lr"' in notes[0]


def test_a_number_too_large_for_a_float_is_ignored():
    s, notes = parse_query({"x": "1e999"})
    assert s.x == 2.0 and "too large" in notes[0]


def test_an_out_of_range_number_is_clamped_and_the_warning_says_so():
    s, notes = parse_query({"steps": "-5", "res": "100000"})
    assert (s.steps, s.resolution) == (1, 400)
    assert 'steps="-5"' in notes[0] and "1 was used" in notes[0]
    assert 'res="100000"' in notes[1] and "400 was used" in notes[1]


def test_a_whole_number_field_refuses_fractions():
    s, notes = parse_query({"steps": "1.5"})
    assert s.steps == 30 and "whole number" in notes[0]


def test_a_repeated_key_takes_the_last_value_and_warns():
    s, notes = parse_query({"lr": ["0.1", "0.2"]})
    assert s.learning_rates == (0.2,) and "2 times" in notes[0]


def test_a_value_longer_than_the_limit_is_refused_unread():
    s, notes = parse_query({"steps": "1" * 10_000})
    assert s.steps == 30 and "10000 characters" in notes[0] and len(notes[0]) < 120


def test_a_long_bad_value_is_shortened_in_the_warning():
    notes = warnings_of({"lr": "x" * 150})
    assert "x" * 29 + "…" in notes[0] and "x" * 31 not in notes[0]


def test_invisible_characters_are_not_echoed_into_warnings():
    notes = warnings_of({"\u202eevil\nline": "1", "lr": "a\u200bb"})
    assert all("\u202e" not in n and "\n" not in n and "\u200b" not in n for n in notes)


def test_an_unknown_key_is_ignored_with_a_warning():
    s, notes = parse_query({"evil": "1"})
    assert s == Settings() and '"evil"' in notes[0]


def test_tracking_and_streamlit_keys_are_ignored_silently():
    assert parse_query({"utm_source": "mail", "fbclid": "x", "embed": "true"}) == (Settings(), [])


def test_warnings_are_capped_for_a_flood_of_bad_keys():
    notes = warnings_of({f"k{i}": "1" for i in range(1000)})
    assert len(notes) == 13 and notes[-1].startswith("…and 988 more")


def test_an_unknown_surface_keeps_the_default_and_names_the_value():
    s, notes = parse_query({"surface": "no_such_surface"})
    assert s.surface == "single_point" and '"no_such_surface"' in notes[0]


def test_names_are_read_case_insensitively():
    s, notes = parse_query({"opt": "Adam, SGD", "surface": "Single_Point"})
    assert s.optimizers == ("adam", "sgd") and notes == []


def test_unknown_optimiser_names_are_dropped_and_the_rest_kept():
    s, notes = parse_query({"opt": "adam,lbfgs,sgd"})
    assert s.optimizers == ("adam", "sgd") and '"lbfgs"' in notes[0]


def test_only_unknown_optimiser_names_keep_the_default():
    s, notes = parse_query({"opt": "lbfgs"})
    assert s.optimizers == ("sgd",) and notes


def test_more_than_eight_optimisers_keep_the_first_eight():
    s, notes = parse_query({"opt": ",".join(["adam"] * 20)})
    assert s.optimizers == ("adam",) * 8 and "first 8" in notes[0]


def test_extra_learning_rates_are_dropped_and_missing_ones_copied():
    s, notes = parse_query({"opt": "sgd,adam", "lr": "0.1,0.2,0.3"})
    assert s.learning_rates == (0.1, 0.2) and notes
    s, notes = parse_query({"opt": "sgd,adam,sgd", "lr": "0.1,0.2"})
    assert s.learning_rates == (0.1, 0.2, 0.2) and notes


def test_a_learning_rate_beyond_an_optimisers_own_limit_is_clamped_for_that_one():
    s, notes = parse_query({"opt": "sgd,newton", "lr": "5"})
    assert s.learning_rates == (5.0, 2.0) and "newton" in notes[0]


def test_a_formula_keeps_the_allowed_characters():
    s, notes = parse_query({"surface": "custom", "expr": "w1**2 + 10*sin(w2) - 0.5^w1"})
    assert s.expr == "w1**2 + 10*sin(w2) - 0.5^w1" and notes == []


@pytest.mark.parametrize("attack", [
    "__import__('os')", "w1.__class__", "w1;w2", "w1\nw2", "lambda: 1", "w1[0]", "'a'", "w1²",
])
def test_a_formula_with_other_characters_is_refused(attack):
    s, notes = parse_query({"surface": "custom", "expr": attack})
    assert s.expr == "" and notes


def test_a_start_with_the_wrong_number_of_coordinates_takes_the_surfaces_default():
    s, notes = parse_query({"start": "1,2"})
    assert s.start == (-1.0,) and "needs 1 coordinate" in notes[-1]


def test_a_2d_surface_without_a_start_gets_its_openings_start_silently():
    s, notes = parse_query({"surface": "rosenbrock"})
    assert s.start == surfaces.SURFACES["rosenbrock"].opening.starts[0] and notes == []
    s, notes = parse_query({"surface": "rosenbrock", "opt": "adam"})
    assert len(s.start) == 2 and notes == []


@pytest.mark.parametrize("name", [n for n, s in surfaces.SURFACES.items() if s.opening])
def test_a_link_naming_only_a_surface_opens_its_story(name):
    s = parsed({"surface": name})
    opening = surfaces.get(name, **surface_params(s)).opening
    assert s.optimizers == opening.optimizers and s.steps == opening.steps
    assert s.rates() == opening.learning_rates
    assert tuple(settings_run_starts(s)) == opening.starts
    written = {} if name == Settings().surface else {"surface": name}
    assert to_query(s) == written  # the story is implied, not written
    assert parse_query(to_query(s)) == (s, [])


def test_a_link_that_names_its_runs_keeps_them_and_still_gets_the_openings_start():
    s = parsed({"surface": "himmelblau", "opt": "adam"})
    assert s.optimizers == ("adam",) and s.starts == ()
    assert s.start == surfaces.SURFACES["himmelblau"].opening.starts[0]
    s = parsed({"surface": "rosenbrock", "steps": "40"})
    assert s.steps == 40 and s.optimizers == surfaces.SURFACES["rosenbrock"].opening.optimizers


def test_the_steady_rate_goes_to_curvature_bound_optimisers_only():
    s = parsed({"surface": "himmelblau", "opt": "adam,sgd,momentum", "start": "-3.6,3.6"})
    steady = stability.steady_rate(surfaces.get("himmelblau"), s.start)
    assert s.learning_rates == (Settings().learning_rates[0], steady, steady)
    assert "lr" not in to_query(s)


def test_a_given_rate_and_the_baselines_own_surface_keep_their_rates():
    assert parsed({"surface": "rosenbrock", "lr": "0.05"}).learning_rates == (0.05,)
    assert parsed({"x": "5"}).learning_rates == Settings().learning_rates


@pytest.mark.parametrize("name", [n for n, s in surfaces.SURFACES.items()
                                  if s.dim == 2 and s.data is None])
def test_a_link_naming_plain_descent_does_not_overshoot_at_the_start(name):
    s = parsed({"surface": name, "opt": "sgd", "start": "0.5,0.5"})
    curvature = stability.largest_curvature(surfaces.get(name, **surface_params(s)), s.start)
    lr = s.learning_rates[0]
    assert curvature <= 0 or lr * curvature <= 1 or lr == stability.RATE_LADDER[0]


def test_logistic_regression_opens_with_overlapping_classes():
    s = parsed({"surface": "logistic_regression"})
    assert s.noise == 1.0 and "noise" not in to_query(s)
    assert parsed({"surface": "logistic_regression", "noise": "0.2"}).noise == 0.2
    assert parsed({"surface": "linear_regression"}).noise == Settings().noise
    built = surfaces.get("logistic_regression", **surface_params(s))
    assert built.minimizers  # overlapping classes: a finite best fit exists


def test_ravine_angle_huber_delta_and_rmsprop_decay_travel_in_the_link():
    s = parsed({"surface": "ravine", "angle": "30", "opt": "rmsprop", "decay": "0.9"})
    assert surface_params(s) == {"condition": 10.0, "angle": 30.0}
    assert dict(optimizer_kwargs(s))["rmsprop"]["decay"] == 0.9
    assert to_query(s)["angle"] == "30" and to_query(s)["decay"] == "0.9"
    huber = parsed({"surface": "linear_regression", "loss": "huber", "delta": "0.5"})
    assert surface_params(huber)["delta"] == 0.5
    assert surfaces.get("linear_regression", **surface_params(huber)).params["delta"] == 0.5
    clamped, notes = parse_query({"delta": "0"})
    assert clamped.delta == 0.01 and notes


def test_the_default_start_is_inside_the_window():
    for name, surface in surfaces.SURFACES.items():
        start = default_start(name)
        assert len(start) == surface.dim
        assert all(lo <= v <= hi for v, (lo, hi) in zip(start, surface.window, strict=True))
    assert default_start("single_point") == (-1.0,)


def test_a_custom_formula_accepts_one_or_two_coordinates():
    assert parsed({"surface": "custom", "start": "1,2"}).start == (1.0, 2.0)
    assert parsed({"surface": "custom", "start": "1"}).start == (1.0,)


def test_a_reversed_w_range_falls_back_to_the_default_range():
    s, notes = parse_query({"wmin": "5", "wmax": "-5"})
    assert (s.w_min, s.w_max) == (-1.0, 3.0) and "wmin" in notes[0]


def test_a_step_beyond_the_last_is_clamped():
    s, notes = parse_query({"steps": "50", "step": "4000"})
    assert s.step == 50 and notes


@pytest.mark.parametrize("query, name, params", [
    ({"sched": "onecycle", "pct": "0.4"}, "onecycle", {"pct_start": 0.4}),
    ({"sched": "onecycle", "anneal": "linear", "div": "10", "cycle_mom": "0", "max_mom": "0.9"},
     "onecycle", {"anneal_strategy": "linear", "div_factor": 10.0, "cycle_momentum": False,
                  "max_momentum": 0.9}),
    ({"sched": "plateau", "factor": "0.2", "patience": "3", "thresh_mode": "abs",
      "cooldown": "2", "min_lr": "0.001"},
     "plateau", {"factor": 0.2, "patience": 3, "threshold_mode": "abs", "cooldown": 2,
                 "min_lr": 0.001}),
    ({"sched": "polynomial", "iters": "40", "power": "2"},
     "polynomial", {"total_iters": 40, "power": 2.0}),
    ({"sched": "polynomial"}, "polynomial", {"total_iters": 60}),
    ({"sched": "restarts", "t0": "5", "t_mult": "1", "eta_min": "0.0001"},
     "restarts", {"t_0": 5, "t_mult": 1, "eta_min": 0.0001}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_link_to_a_schedule_opens_with_it_and_round_trips(query, name, params):
    link = {"surface": "rosenbrock", "steps": "60", **query}
    s, notes = parse_query(link)
    assert notes == [] and s.schedule == name
    assert to_query(s) == link and parse_query(to_query(s)) == (s, [])
    rates, momenta = schedules.trace(schedule_of(s), 0.1, 60)
    want_rates, want_momenta = schedules.trace(schedules.build(name, 60, **params), 0.1, 60)
    np.testing.assert_array_equal(rates, want_rates)
    assert (momenta is None) == (want_momenta is None)
    if momenta is not None:
        np.testing.assert_array_equal(momenta, want_momenta)


def test_a_one_cycle_link_spans_the_runs_steps():
    s = parsed({"surface": "rosenbrock", "sched": "onecycle", "steps": "200"})
    rates, momenta = schedules.trace(schedule_of(s), 1.0, 200)
    peak = int(np.argmax(rates))
    assert peak == 59 and rates[peak] == 1.0  # 30 % of 200 updates climbing, from 0
    assert rates[0] == pytest.approx(1 / 25) and rates[-1] == pytest.approx(1 / 25 / 1e4)
    assert momenta[0] == 0.95 and momenta[peak] == 0.85 and momenta[-1] == 0.95
    with pytest.raises(ValueError, match="past its end"):
        schedules.trace(schedule_of(s), 1.0, 201)


def test_a_constant_schedule_leaves_the_optimisers_rate_alone():
    assert schedule_of(Settings()) is None


def test_a_warmup_of_zero_steps_is_repaired_to_one():
    s, notes = parse_query({"sched": "warmup", "warmup": "0"})
    assert s.warmup == 1 and 'warmup="0"' in notes[0] and "1 was used" in notes[0]
    assert schedules.trace(schedule_of(s), 1.0, 3)[0].tolist() == [0.1, 1.0, 1.0]


def test_a_schedule_setting_out_of_range_is_clamped_with_a_warning():
    s, notes = parse_query({"sched": "onecycle", "pct": "1.5", "div": "0"})
    assert (s.pct, s.div) == (0.95, 1.0) and len(notes) == 2
    assert 'pct="1.5"' in notes[0] and 'div="0"' in notes[1]
    s, notes = parse_query({"sched": "plateau", "thresh_mode": "max"})
    assert s.thresh_mode == "rel" and 'thresh_mode="max"' in notes[0]


def test_presenter_mode_is_zero_or_one():
    assert parsed({"present": "1"}).presenter is True
    s, notes = parse_query({"present": "yes"})
    assert s.presenter is False and notes


def test_a_lesson_link_opens_the_lesson_preset():
    assert parse_query({"lesson": "learning_rate"}) == (
        with_lesson(Settings(), "learning_rate"), [])


def test_a_lesson_link_with_changes_applies_them_on_top():
    s, notes = parse_query({"lesson": "learning_rate", "lr": "0.2"})
    assert notes == [] and s.lesson == "learning_rate" and s.learning_rates == (0.2,)
    assert s.optimizers == ("sgd", "sgd", "sgd")


def test_a_lesson_link_is_just_the_lesson():
    for lesson in lessons.LESSONS:
        s = with_lesson(Settings(), lesson.id)
        assert to_query(s) == {"lesson": lesson.id}


def test_free_exploration_is_the_default_and_needs_no_lesson_key():
    s = Settings(lesson="none", steps=60)
    assert to_query(s) == {"steps": "60"}
    assert parse_query(to_query(s)) == (s, [])


@pytest.mark.parametrize("case, query", MALFORMED_LINKS, ids=[c for c, _ in MALFORMED_LINKS])
def test_a_malformed_link_parses_with_a_warning_to_consistent_settings(case, query):
    s, notes = parse_query(query)
    assert isinstance(s, Settings) and notes
    assert all(isinstance(n, str) and 0 < len(n) < 300 for n in notes)
    assert reconcile(s) == (s, [])


# ---------------------------------------------------------------------------- reconcile


def test_reconcile_leaves_consistent_settings_alone():
    assert reconcile(Settings()) == (Settings(), [])


def test_reconcile_repairs_a_start_after_the_surface_changes():
    s, notes = reconcile(dataclasses.replace(Settings(), surface="rosenbrock"))
    assert s.start == default_start("rosenbrock") and notes


def test_every_lesson_preset_is_consistent():
    for lesson in lessons.LESSONS:
        s = with_lesson(Settings(), lesson.id)
        assert reconcile(s) == (s, []), lesson.id
        assert baseline(lesson.id) == s


# ---------------------------------------------------------------------------- properties


def _field_values(f) -> st.SearchStrategy:
    if f.default is None:  # step and iters: None means the run's length
        return st.none() | st.integers(f.low, f.high)
    number = (st.integers(f.low, f.high) if f.kind in ("int", "ints")
              else st.floats(f.low, f.high, allow_nan=False, allow_infinity=False))
    if f.kind in ("float", "int"):
        return number
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "choice":
        return st.sampled_from(f.choices)
    if f.kind == "text":
        alphabet = "abcwxyz0123456789_+-*/^()., "
        return st.text(alphabet, max_size=MAX_VALUE_CHARS).filter(lambda t: "__" not in t)
    items = st.sampled_from(f.choices) if f.kind == "names" else number
    return st.lists(items, min_size=1, max_size=f.max_items).map(tuple)


consistent_settings = st.fixed_dictionaries({f.name: _field_values(f) for f in FIELDS}).map(
    lambda values: reconcile(Settings(**values))[0])


@settings(max_examples=200, deadline=None)
@given(consistent_settings)
def test_every_consistent_setting_round_trips_through_its_link(s):
    assert parse_query(to_query(s)) == (s, [])


@settings(max_examples=100, deadline=None)
@given(consistent_settings)
def test_reconcile_is_idempotent(s):
    assert reconcile(s) == (s, [])


@settings(max_examples=150, deadline=None)
@given(consistent_settings, st.fixed_dictionaries({}, optional={
    f.name: _field_values(f) | st.floats(allow_nan=True) | st.text(max_size=5)
    for f in FIELDS}))
def test_replacing_a_few_fields_checks_them_as_building_the_settings_anew_does(s, changes):
    """``replaced`` checks only the changed fields: it gives what ``dataclasses.replace``
    gives, and refuses what it refuses, with the same words."""
    import dataclasses

    from losslab.settings import replaced

    try:
        expected = dataclasses.replace(s, **changes)
    except ValueError as refused:
        with pytest.raises(ValueError) as raised:
            replaced(s, **changes)
        # Fields are checked in another order, so the field named may differ; both name one.
        assert str(raised.value).startswith("Invalid ") and str(refused).startswith("Invalid ")
        return
    got = replaced(s, **changes)
    assert got == expected and hash(got) == hash(expected)
    assert vars(got) == vars(expected)


_keys = st.sampled_from([f.key for f in FIELDS]) | st.text(max_size=8)
_texts = st.text(max_size=40) | st.sampled_from(["inf", "nan", "-0", "1e999", "0", "1", ""])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _texts | st.lists(_texts, max_size=3), max_size=12))
def test_any_link_parses_to_consistent_settings_without_raising(query):
    s, notes = parse_query(query)
    assert reconcile(s) == (s, [])
    assert all(isinstance(n, str) for n in notes)


# ---------------------------------------------------------------------------- share links


def _query_of(link: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(link).query, keep_blank_values=True)


@pytest.mark.parametrize("expr", [
    "w^2+1", "w1^2 + 10*w2^2", "(1 - w1)^2 + 5*(w2 - w1^2)^2", "exp(-w)/(1+w^2)",
    "w*x - y + 2.5e-3",
])
def test_a_share_link_carries_a_formula_with_plus_signs_and_spaces(expr):
    s = reconcile(Settings(surface="custom", expr=expr, view="surface", start=(-1.0, 1.0)))[0]
    link = to_link(s, "http://localhost:8501/?old=1")
    assert link.startswith("http://localhost:8501/?") and "old=1" not in link
    assert "+" not in link.split("?", 1)[1].replace("%2B", ""), "a raw + would read as a space"
    assert parse_query(_query_of(link)) == (s, [])


def test_every_field_round_trips_through_an_encoded_share_link():
    """One setting per field away from its default, each through to_link and back."""
    changed = {
        "presenter": True, "surface": "custom", "expr": "w^2+1", "x": 1.5, "y_true": -3.0,
        "w_min": -2.0, "w_max": 4.0, "kappa": 50.0, "angle": 30.0, "n": 500, "noise": 0.5,
        "loss_kind": "huber", "delta": 2.5, "l1": 0.1, "l2": 0.2,
        "optimizers": ("adam", "sgd"), "learning_rates": (0.01, 0.002), "momentum": 0.5,
        "decay": 0.9, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1, "damping": 0.5,
        "schedule": "step", "gamma": 0.7, "period": 20, "warmup": 3, "start_factor": 0.25,
        "pct": 0.4, "anneal": "linear", "div": 10.0, "final_div": 100.0, "cycle_mom": False,
        "base_mom": 0.8, "max_mom": 0.9, "factor": 0.2, "patience": 3, "thresh": 0.01,
        "thresh_mode": "abs", "cooldown": 2, "min_lr": 0.001, "iters": 25, "power": 2.0,
        "t0": 7, "t_mult": 3, "eta_min": 0.0005, "start": (0.5,), "starts": (1.5,),
        "steps": 200, "step": 40, "batch": 16, "seed": 7, "resolution": 150,
        "dataset": "xor", "hidden": (16, 16), "activation": "relu",
    }
    assert set(changed) == {f.name for f in FIELDS} - {"lesson", "view"}
    for name, value in changed.items():
        assert value != getattr(Settings(), name), name
        base = Settings(surface="custom", expr="w^2") if name in ("expr",) else Settings()
        s = reconcile(dataclasses.replace(base, **{name: value}))[0]
        link = to_link(s, "https://example.org/app")
        assert parse_query(_query_of(link)) == (s, []), name
    assert to_link(Settings(), "https://example.org/app?x=1") == "https://example.org/app"


def test_a_link_to_the_network_view_on_another_surface_keeps_its_steps():
    """Found by the round-trip property: the network view (300 steps) reached from Rosenbrock
    (whose opening runs 500) wrote no ``steps``, and the link reopened with 500."""
    s = reconcile(Settings(view="nn", surface="rosenbrock", optimizers=("sgd",),
                           learning_rates=(1.0,), start=(-1.6, 2.6), steps=300))[0]
    query = to_query(s)
    assert query["steps"] == "300"
    assert parse_query(query) == (s, [])


@pytest.mark.parametrize("view", ["surface", "compare", "sweep"])
def test_a_link_naming_a_two_weight_view_without_a_surface_opens_that_view(view):
    # "?view=sweep" used to open the one-weight lesson without a word: the default surface
    # has one weight. It opens the view on Rosenbrock, as the sidebar's view switch does.
    opened, notes = parse_query({"view": view})
    assert notes == []
    assert (opened.view, opened.surface) == (view, "rosenbrock")
    assert opened == parse_query({"view": view, "surface": "rosenbrock"})[0]
    # A link that names its surface keeps it, and the lesson view keeps the chapter's.
    assert parse_query({"view": view, "surface": "booth"})[0].surface == "booth"
    assert parse_query({"view": "lesson"})[0].surface == "single_point"


@pytest.mark.parametrize(("written", "meant"), [
    ("dataset", "data"), ("activation", "act"), ("optimizer", "opt"), ("Steps", "steps"),
])
def test_a_misspelt_key_is_ignored_with_the_key_it_resembles(written, meant):
    # An instructor writing a link by hand sees which key was meant, not only that theirs
    # was ignored.
    _, notes = parse_query({written: "1"})
    assert notes == [f'Ignored "{written}": this app has no setting with that name; '
                     f'did you mean "{meant}"?']


def test_an_unknown_key_resembling_nothing_gets_no_guess():
    _, notes = parse_query({"colour": "red"})
    assert notes == ['Ignored "colour": this app has no setting with that name.']


def test_a_flood_of_misspelt_keys_is_shown_a_dozen_at_a_time_with_their_guesses():
    _, notes = parse_query({f"dataset{i}": "1" for i in range(200)})
    assert notes[-1] == f"…and {200 - (len(notes) - 1)} more problems in the link."
    assert all(n.endswith('did you mean "data"?') for n in notes[:-1])


@pytest.mark.parametrize(("query", "note"), [
    ({"surface": "rosenbrok"},
     'Ignored surface="rosenbrok": not a known surface; did you mean "rosenbrock"?'),
    ({"surface": "six hump camel"},
     'Ignored surface="six hump camel": not a known surface; did you mean "six_hump_camel"?'),
    ({"sched": "cosin"}, 'Ignored sched="cosin": not a known schedule; did you mean "cosine"?'),
    ({"opt": "sgd,adm"}, 'Ignored the unknown name "adm" in opt; did you mean "adam"?'),
    # Resembling nothing: the menu, as before.
    ({"opt": "sgd,xyz"}, 'Ignored the unknown name "xyz" in opt; choose one of sgd, momentum, '
                         'nesterov, adagrad, rmsprop, adam, adamw, newton.'),
    ({"surface": "bowl"}, 'Ignored surface="bowl": not a known surface; choose one from the '
                          'surface menu.'),
])
def test_a_misspelt_choice_is_ignored_with_the_choice_it_resembles(query, note):
    settings, notes = parse_query(query)
    assert notes == [note]
    if "opt" in query:
        assert settings.optimizers == ("sgd",)  # the known name is kept
