"""The one-weight view and the lessons, as a learner drives them: pick a lesson, answer or
skip, move the learning rate; then read what the page says and draws."""

from __future__ import annotations

import numpy as np
import pytest

from losslab import descent, lessons, optimizers, surfaces
from tests.apppage import (
    line_with,
    main_text,
    number_after,
    numbers,
    ok,
    open_app,
    path_rows,
    runs_of,
    sidebar_text,
    starts,
    widget,
)


def own_run(lr: float, steps: int, x: float = 2.0, y: float = 4.0, start: float = -1.0):
    surface = surfaces.get("single_point", x=x, y_true=y)
    return descent.run(surface, optimizers.make("sgd", learning_rate=lr),
                       start=(start,), steps=steps)


def test_picking_a_lesson_opens_it_as_its_link_does():
    at = open_app()
    assert "Predict first" not in main_text(at)
    at.selectbox(key="w_lesson").set_value("learning_rate")
    ok(at.run())
    lesson = lessons.get("learning_rate")
    body = main_text(at)
    assert lesson.title in body and lesson.question.prompt in body
    assert at.radio(key="answer_learning_rate").options == list(lesson.question.choices)
    linked = open_app(lesson="learning_rate")
    for key in ("w_lr", "w_lr_1", "w_lr_2", "w_steps", "w_runs"):
        assert widget(at, key).value == widget(linked, key).value, key
    assert at.query_params["lesson"] in ("learning_rate", ["learning_rate"])
    at.selectbox(key="w_lesson").set_value("none")
    ok(at.run())
    assert lesson.title not in main_text(at) and path_rows(at).size


# One lesson in one weight, one in two weights, one with several optimisers (test_app.py
# answers every lesson's question).
@pytest.mark.parametrize("lesson", ["learning_rate", "ravine", "newton"])
def test_skip_shows_the_hidden_run_and_the_answer(lesson):
    at = open_app(lesson=lesson)
    assert path_rows(at).empty, "the run is hidden until the question is answered"
    at.button(key="skip").click()
    ok(at.run())
    rows = path_rows(at)
    assert not rows.empty, "skipping reveals the run"
    first = runs_of(rows)[0].iloc[0]
    drawn_start = (first["w"],) if "w" in rows.columns else (first["w1"], first["w2"])
    np.testing.assert_allclose(drawn_start, starts(at))
    question = lessons.get(lesson).question
    answer = [i.value for i in at.info if i.value.startswith("The answer")]
    assert answer and question.choices[question.answer] in answer[0]
    assert widget(at, f"answer_{lesson}") is None, "the question is answered"


def test_checking_the_right_answer_reveals_the_run_and_says_right():
    at = open_app(lesson="slope")
    question = lessons.get("slope").question
    at.radio(key="answer_slope").set_value(question.choices[question.answer])
    ok(at.run())  # Check is enabled once a choice is made
    at.button(key="check").click()
    ok(at.run())
    assert any(s.value.startswith("Right") for s in at.success)
    assert len(path_rows(at)) == 31  # start plus 30 steps


def test_after_n_steps_reports_the_last_iterate_of_the_run():
    at = open_app()
    at.number_input(key="w_steps").set_value(17)
    at.select_slider(key="w_lr").set_value(0.1)
    ok(at.run())
    h = own_run(0.1, 17)
    line = line_with(main_text(at), "After")
    assert number_after(line, "After") == 17
    assert number_after(line, "w =") == pytest.approx(h.params[-1, 0], rel=1e-3)
    assert number_after(line, "loss") == pytest.approx(h.loss[-1], rel=1e-2, abs=1e-12)
    rows = path_rows(at)
    assert rows["step"].max() == 17
    assert rows.sort_values("step")["w"].iloc[-1] == pytest.approx(h.params[-1, 0])
    start_line = line_with(main_text(at), "At the start")
    assert number_after(start_line, "is") == pytest.approx(h.grad[0, 0])


def test_each_of_several_runs_reports_its_own_last_iterate():
    at = open_app(opt="sgd,sgd", lr="0.02,0.1", steps="12")
    body = main_text(at)
    for lr in (0.02, 0.1):
        line = line_with(body, f"lr {lr:g}:", "After")
        assert number_after(line, "w =") == pytest.approx(own_run(lr, 12).params[-1, 0], rel=1e-3)


# Single point, x = 2: L'' = 2x² = 8, so the bound is 2/8 = 0.25 and 1/8 = 0.125 splits the
# creeping rates from the oscillating ones.
@pytest.mark.parametrize(
    ("lr", "words"),
    [(0.1, "creeps straight"), (0.15, "oscillates, but converges"), (0.3, "diverges")],
)
def test_one_weight_regime_sentence_matches_what_the_run_does(lr, words):
    at = open_app()
    at.select_slider(key="w_lr").set_value(lr)
    ok(at.run())
    side = sidebar_text(at)
    assert number_after(line_with(side, "1/x²"), "1/x² =") == pytest.approx(0.25)
    sentence = line_with(side, f"lr = {lr:g}:")
    assert words in sentence
    others = {"creeps straight", "oscillates, but converges", "diverges"} - {words}
    assert not any(o in sentence for o in others)
    w = path_rows(at).sort_values("step")["w"].to_numpy()
    error = w - 2.0  # the minimum is at y/x = 2
    if words == "creeps straight":
        assert (np.diff(w) >= 0).all() and abs(error[-1]) < abs(error[0])
    elif words.startswith("oscillates"):
        crossing = np.sign(error[:-1]) != np.sign(error[1:])
        assert crossing[:5].all() and abs(error[-1]) < abs(error[0])
    if words == "diverges":
        assert any("diverges" in w.value for w in at.sidebar.warning)
        warning = line_with("\n".join(w.value for w in at.main.warning), "Diverged at step")
        assert number_after(warning, "below") == pytest.approx(0.25)
        assert number_after(warning, "step") == own_run(lr, 30).diverged_at
    else:
        assert not at.sidebar.warning and not at.main.warning


def test_a_link_with_another_input_x_states_its_bound():
    line = line_with(sidebar_text(open_app(x="1.5")), "1/x²")
    assert number_after(line, "2x² =") == pytest.approx(4.5)
    assert number_after(line, "1/x² =") == pytest.approx(1 / 2.25, rel=1e-3)


def test_the_one_weight_bound_follows_the_input_x_at_once():
    at = open_app()
    at.slider(key="w_x").set_value(1.5)
    ok(at.run())
    line = line_with(sidebar_text(at), "1/x²")
    assert number_after(line, "2x² =") == pytest.approx(4.5)
    assert number_after(line, "1/x² =") == pytest.approx(1 / 2.25, rel=1e-3)


def test_with_input_x_zero_no_rate_moves_w():
    at = open_app(x="0")
    assert any("flat" in i.value for i in at.sidebar.info)


def test_another_optimiser_is_told_the_bound_is_for_gradient_descent():
    at = open_app(opt="adam", lr="0.1")
    side = sidebar_text(at)
    assert "for plain gradient descent" in side
    assert "lr = 0.1:" not in side  # no gradient-descent regime for Adam's rate


def test_a_formula_in_one_weight_draws_its_curve_and_run():
    at = open_app(surface="custom", expr="(w - 3)^2")
    rows = path_rows(at)
    # w − 3 shrinks by 1 − 2·lr = 0.9 a step from w0 = −1.
    expected = 3.0 - 4.0 * 0.9**30
    assert rows.sort_values("step")["w"].iloc[-1] == pytest.approx(expected, rel=1e-9)
    assert numbers(line_with(main_text(at), "After"))[0] == 30
