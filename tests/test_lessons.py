"""Lesson presets: well-formed data, real registry names, and answers the live run bears out."""

from __future__ import annotations

import dataclasses
import re
import string

import numpy as np
import pytest

from losslab import descent, optimizers, schedules, surfaces
from losslab.lessons import (
    KEPT_SETTINGS,
    LESSON_IDS,
    LESSONS,
    Lesson,
    explain,
    get,
    live_facts,
)
from losslab.settings import (
    Settings,
    optimizer_kwargs,
    schedule_of,
    surface_params,
    with_lesson,
)

IDS = [lesson.id for lesson in LESSONS]


def run(s: Settings):
    """Build the surface and run every optimiser of ``s`` with its schedule, as the app does."""
    surface = surfaces.get(s.surface, **surface_params(s))
    histories = [
        descent.run(surface, optimizers.make(name, **kw), start=s.start, steps=s.steps,
                    schedule=schedule_of(s))
        for name, kw in optimizer_kwargs(s)
    ]
    return surface, histories, live_facts(s, surface, histories)


def lesson_run(lesson_id: str):
    s = with_lesson(Settings(), lesson_id)
    return (s, *run(s))


def placeholders(template: str) -> list[tuple[str, str, str | None]]:
    return [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
            if name is not None]


# ---------------------------------------------------------------------------- the data


def test_there_are_at_least_eight_lessons_with_unique_url_safe_ids():
    assert len(LESSONS) >= 8 and len(set(IDS)) == len(IDS) and LESSON_IDS == tuple(IDS)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,19}", i) and i != "none" for i in IDS)


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_each_notice_is_two_sentences(lesson):
    sentences = re.split(r"(?<=[.!?])\s+", lesson.notice.strip())
    assert len(sentences) == 2 and lesson.notice.endswith("."), lesson.notice


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_each_question_has_one_valid_answer_among_distinct_choices(lesson):
    q = lesson.question
    assert q.prompt.endswith("?") and lesson.title
    assert 3 <= len(q.choices) <= 5 and len(set(q.choices)) == len(q.choices)
    assert 0 <= q.answer < len(q.choices)


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_lesson_settings_name_scenario_fields_only(lesson):
    names = {f.name for f in dataclasses.fields(Settings)}
    changed = [name for name, _ in lesson.settings]
    assert set(changed) <= names and len(set(changed)) == len(changed)
    assert not set(changed) & {"lesson", "expr", "view", *KEPT_SETTINGS}


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_every_lesson_names_registered_surfaces_and_optimisers(lesson):
    s = with_lesson(Settings(), lesson.id)
    assert s.surface in surfaces.SURFACES, f"{s.surface} is not in surfaces.SURFACES"
    assert set(s.optimizers) <= set(optimizers.OPTIMIZERS)


def test_the_seed_lesson_asks_the_chapters_question_about_the_opening_view():
    seed = get("slope")
    assert seed.question.prompt == (
        "Which statement best describes the role of gradients in optimizing neural networks?")
    # The opening view is free exploration of the same scenario: the path is shown at once.
    assert with_lesson(Settings(), seed.id) == dataclasses.replace(Settings(), lesson="slope")


def test_lessons_cover_the_required_scenarios():
    scenario = {i: with_lesson(Settings(), i) for i in IDS}
    assert scenario["slope"].surface == scenario["learning_rate"].surface == "single_point"
    assert scenario["ravine"].surface == "ravine" and "momentum" in scenario["ravine"].optimizers
    assert scenario["saddle"].surface == "saddle"
    assert scenario["rosenbrock"].surface == "rosenbrock"
    assert {"adam", "sgd"} <= set(scenario["rosenbrock"].optimizers)
    assert scenario["himmelblau"].surface == "himmelblau"
    assert scenario["l2"].surface == "linear_regression" and scenario["l2"].l2 > 0
    assert {"newton", "sgd"} <= set(scenario["newton"].optimizers)


def test_the_learning_rate_lesson_straddles_the_bound_one_over_x_squared():
    s = with_lesson(Settings(), "learning_rate")
    bound = 1.0 / s.x**2
    assert bound == 0.25
    rates = s.rates()
    assert min(rates) < bound / 2 and max(rates) > bound


def test_apply_keeps_display_preferences_and_resets_the_scenario():
    mine = Settings(presenter=True, resolution=250, steps=999, l1=3.0, lesson="none")
    s = with_lesson(mine, "ravine")
    assert s.presenter and s.resolution == 250 and s.lesson == "ravine"
    assert s.l1 == 0.0 and s.steps == dict(get("ravine").settings)["steps"]


def test_an_unknown_lesson_id_is_a_value_error_listing_the_ids():
    with pytest.raises(ValueError, match="slope"):
        get("nope")


def test_lessons_are_frozen_data():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LESSONS[0].title = "changed"  # type: ignore[misc]
    assert isinstance(LESSONS, tuple) and isinstance(LESSONS[0].settings, tuple)
    hash(LESSONS[0])


# ---------------------------------------------------------------------------- templates


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_placeholders_are_plain_names(lesson):
    for name, spec, conv in placeholders(lesson.question.explanation):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and spec == "" and conv is None, name


@pytest.mark.parametrize("lesson_id", IDS)
def test_every_placeholder_is_filled_by_the_live_run(lesson_id):
    *_, facts = lesson_run(lesson_id)
    lesson = get(lesson_id)
    missing = [n for n, _, _ in placeholders(lesson.question.explanation)
               if facts.get(n) is None]
    assert missing == []
    text = explain(lesson, facts)
    assert "{" not in text and "—" not in text and "nan" not in text


def test_explain_shows_three_digits_and_a_dash_for_missing_facts():
    lesson = Lesson("t", "T", "A. B.", (), dataclasses.replace(
        LESSONS[0].question, explanation="{a} {b} {c} {d} {e} {f}"))
    text = explain(lesson, {"a": 0.000123456, "b": 12345.678, "c": None, "d": 7, "e": "x"})
    assert text == "0.000123 12300 — 7 x —"


def test_explain_does_not_reinterpret_braces_in_values():
    lesson = Lesson("t", "T", "A. B.", (), dataclasses.replace(
        LESSONS[0].question, explanation="{a}"))
    assert explain(lesson, {"a": "{a.__class__}"}) == "{a.__class__}"


def test_explain_writes_tiny_and_huge_numbers_with_powers_of_ten():
    lesson = Lesson("t", "T", "A. B.", (), dataclasses.replace(
        LESSONS[0].question, explanation="{a} {b} {c} {d}"))
    assert explain(lesson, {"a": 1.7649e-12, "b": -2.5e7, "c": 1e-4, "d": -0.0}) == (
        "1.76 × 10⁻¹² −2.5 × 10⁷ 0.0001 0")


def test_explain_writes_non_finite_numbers_in_words():
    lesson = Lesson("t", "T", "A. B.", (), dataclasses.replace(
        LESSONS[0].question, explanation="{a} {b} {c}"))
    assert explain(lesson, {"a": float("inf"), "b": float("nan"), "c": -2.5}) == (
        "infinite not a number −2.5")


def test_live_facts_of_the_seed_lesson_match_the_chapters_numbers():
    s, surface, histories, facts = lesson_run("slope")
    assert facts["curvature"] == pytest.approx(8.0) and facts["bound"] == pytest.approx(0.25)
    assert facts["start"] == "−1" and facts["start_grad"] == "−24"
    assert facts["downhill"] == "increase w" and facts["minimum"] == "2"
    assert facts["final_loss"] == facts["final_loss_1"] == pytest.approx(histories[0].loss[-1])
    assert facts["factor_1"] == pytest.approx(1 - 0.05 * 8)
    assert facts["optimizer_1"] == "sgd" and facts["steps"] == 30


# ---------------------------------------------------------------------------- the answers


def _final_distance(h, point) -> float:
    return float(np.linalg.norm(h.final - np.asarray(point)))


def test_slope_answer_moving_against_the_gradient_lowers_the_loss():
    s, surface, (h,), facts = lesson_run("slope")
    assert get("slope").question.answer == 0
    assert facts["start_grad"].startswith("−") and h.final[0] > s.start[0]
    assert np.all(np.diff(h.loss) < 0) and facts["converged_at"] is not None


def test_learning_rate_answer_the_largest_rate_diverges():
    _, _, hs, facts = lesson_run("learning_rate")
    assert facts["diverged_at_3"] is not None
    assert facts["diverged_at_1"] is None and facts["diverged_at_2"] is None
    assert facts["converged_at_2"] is not None and facts["converged_at_1"] is None


def test_ravine_answer_momentum_gets_nearer_the_bottom():
    _, _, (gd, mom), _ = lesson_run("ravine")
    assert mom.loss[-1] < gd.loss[-1] / 10
    assert np.any(np.diff(np.sign(gd.params[:10, 1])) != 0), "gradient descent should zig-zag"


def test_saddle_answer_both_linger_then_escape_momentum_sooner():
    _, _, (gd, mom), facts = lesson_run("saddle")
    for h in (gd, mom):
        assert np.min(np.linalg.norm(h.params, axis=1)) < 0.1, "passes close to the saddle"
    assert facts["arrived_at_2"] < facts["arrived_at_1"]


def test_saddle_started_exactly_on_the_ridge_never_leaves():
    s = dataclasses.replace(with_lesson(Settings(), "saddle"), start=(-1.5, 0.0))
    _, (gd, mom), _ = run(s)
    assert _final_distance(gd, (0, 0)) < 1e-3 and abs(mom.final[1]) == 0.0


def test_rosenbrock_answer_adam_ends_nearer_the_minimum():
    _, _, (gd, adam), _ = lesson_run("rosenbrock")
    assert _final_distance(adam, (1, 1)) < _final_distance(gd, (1, 1)) / 2


def test_himmelblau_answer_is_the_basin_not_the_nearest_minimum():
    s, surface, (h,), facts = lesson_run("himmelblau")
    q = get("himmelblau").question
    reached = min(surface.minimizers, key=lambda m: _final_distance(h, m))
    nearest = min(surface.minimizers, key=lambda m: np.linalg.norm(np.subtract(s.start, m)))
    assert _final_distance(h, reached) < 1e-3 and reached != nearest
    shown = [float(v) for v in re.findall(r"-?[0-9.]+", q.choices[q.answer].replace("−", "-"))]
    assert np.allclose(shown, reached, atol=0.01)


def test_l2_answer_the_penalty_pulls_w_towards_zero_and_steepens_the_bowl():
    s, surface, (h,), facts = lesson_run("l2")
    plain = surfaces.get(s.surface, **{**surface_params(s), "l2": 0.0})
    assert abs(h.final[0]) < abs(plain.minimizers[0][0]) - 0.3
    start = np.asarray(s.start)
    assert facts["curvature"] > np.linalg.eigvalsh(plain.hessian(start)).max()


def test_newton_answer_one_step_on_a_quadratic():
    _, _, (gd, newton), facts = lesson_run("newton")
    assert facts["converged_at_2"] == 1 and newton.loss[1] < 1e-20
    assert facts["converged_at_1"] is None or facts["converged_at_1"] > 10


# ---------------------------------------------------------------------------- the plateau lesson


def _plateau_scenario(schedule_name: str):
    """The plateau lesson's scenario with ``schedule_name`` as its schedule, run as the app
    runs it (the settings decide the schedule)."""
    s = dataclasses.replace(with_lesson(Settings(), "plateau"), schedule=schedule_name)
    return (s, *run(s))


def test_the_plateau_lesson_opens_with_the_plateau_schedule():
    lesson = get("plateau")
    assert lesson.id in LESSON_IDS
    q = lesson.question
    assert q.prompt.endswith("?") and len(set(q.choices)) == len(q.choices) == 4
    s = with_lesson(Settings(), "plateau")
    assert (s.schedule, s.factor, s.patience, s.view) == ("plateau", 0.5, 10, "surface")
    assert isinstance(schedule_of(s), schedules.Scheduler)
    # the notice and the question name the cut factor and the patience the run uses
    assert "halves" in lesson.notice and f"{s.patience} steps" in lesson.notice
    assert f"after {s.patience} steps" in q.prompt


def test_plateau_answer_the_cuts_calm_the_bouncing_run():
    s, surface, (bouncing,), _ = _plateau_scenario("constant")
    _, _, (rescued,), facts = _plateau_scenario("plateau")
    assert get("plateau").question.answer == 1
    assert descent.label(bouncing, surface) == "oscillating"
    assert descent.label(rescued, surface) == "converged"
    gap = surface.optimal_value
    assert bouncing.loss[-1] - gap > 0.2 and rescued.loss[-1] - gap < 1e-5
    # the rate fell in halves, several times, and the steps shrank with it
    rates = rescued.learning_rate
    assert facts["rate_cuts_1"] >= 5 and facts["final_rate_1"] == rates[-1] < 0.3 / 2**5
    assert set(rates[1:][rates[1:] < rates[:-1]] / rates[:-1][rates[1:] < rates[:-1]]) == {0.5}
    assert rates[facts["first_cut_1"] - 1] == 0.15 and rates[facts["first_cut_1"] - 2] == 0.3
    jumps = np.linalg.norm(np.diff(rescued.params, axis=0), axis=1)
    assert jumps[-20:].max() < jumps[:20].max() / 100


def test_plateau_explanation_is_filled_by_the_live_run():
    _, _, _, facts = _plateau_scenario("plateau")
    text = explain(get("plateau"), facts)
    assert "—" not in text and "{" not in text
    assert f"cut the rate for the first time at step {facts['first_cut_1']}" in text
    assert "the lowest loss possible is 0.159" in text and "reached the minimum at step" in text


def test_a_run_that_reaches_the_minimum_and_bounces_out_says_when_it_stayed():
    # The plateau run first touches the minimum, bounces out, and settles later: the answer
    # names both steps, and the later one is the step the run's summary gives.
    _, surface, (rescued,), facts = _plateau_scenario("plateau")
    settled = descent.settled_at(rescued, surface)
    summary = descent.summary("Gradient descent", rescued, surface)
    assert summary.endswith(f"at step {settled}")
    assert facts["converged_at_1"] < settled == facts["settled_at_1"]
    text = explain(get("plateau"), facts)
    assert (f"reached the minimum at step {facts['converged_at_1']} and stayed there from "
            f"step {settled}") in text


def test_settled_at_is_the_first_step_from_which_the_run_stays_at_the_goal():
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)  # L'' = 8
    calm = descent.run(surface, optimizers.make("sgd", learning_rate=0.05), start=[-1.0],
                       steps=60)
    stays = descent.settled_at(calm, surface)
    gap = calm.loss - surface.optimal_value
    tolerance = 1e-6 * gap[0] + 1e-12
    assert gap[stays] <= tolerance and gap[stays - 1] > tolerance
    assert np.all(gap[stays:] <= tolerance)
    short = descent.run(surface, optimizers.make("sgd", learning_rate=0.05), start=[-1.0],
                        steps=3)
    assert descent.settled_at(short, surface) is None  # not there yet
