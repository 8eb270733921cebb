"""The app's wiring, driven by Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from losslab import lessons, surfaces
from tests import chartdata
from tests.apppage import open_panel
from tests.permalink_corpus import MALFORMED_LINKS

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_app(query: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def specs(at: AppTest) -> list[dict]:
    return [chartdata.spec(c) for c in at.get("vega_lite_chart")]


def path_frames(at: AppTest) -> list:
    element = at.get("vega_lite_chart")[0]
    return [df for df in chartdata.frames(element).values() if "step" in df.columns]


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [w.value for w in at.warning]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [c.value for c in at.caption]
    return "\n".join(parts)


def test_opens_without_exception_and_shows_the_lesson_figure():
    at = open_app()
    text = json.dumps(specs(at))  # its two panels: the loss and the gradient
    assert "Loss surface" in text and "Gradient of loss w.r.t. w" in text
    assert path_frames(at), "the descent path is drawn in the opening view"


def test_the_opening_view_states_the_stability_bound_beside_the_learning_rate():
    at = open_app()
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "1/x² = 0.25" in sidebar


def test_changing_the_learning_rate_changes_the_drawn_path():
    at = open_app()
    before = path_frames(at)[0]["w"].tolist()
    at.select_slider(key="w_lr").set_value(0.2).run()
    assert not at.exception
    assert path_frames(at)[0]["w"].tolist() != before


def test_a_diverging_rate_warns_and_does_not_raise():
    at = open_app()
    at.select_slider(key="w_lr").set_value(0.8).run()
    assert not at.exception
    assert "Diverged at step" in " ".join(w.value for w in at.warning)
    assert not chartdata.non_finite_cells(at.get("vega_lite_chart")[0])


def test_the_surface_link_opens_the_two_weight_view_with_an_image_layer():
    at = open_app({"surface": "rosenbrock"})
    assert '"type": "image"' in json.dumps(specs(at)[0])
    frames = chartdata.frames(at.get("vega_lite_chart")[0]).values()
    urls = [v for df in frames for col in df.columns for v in df[col].astype(str)
            if v.startswith("data:image/png;base64,")]
    assert len(urls) == 1, "the surface is sent as one PNG"
    assert at.radio(key="w_view").value == "surface"


def test_the_ravine_angle_huber_delta_and_rmsprop_decay_controls_reach_the_link():
    at = open_app({"surface": "ravine", "opt": "rmsprop"})
    at.slider(key="w_angle").set_value(45.0).run()
    assert at.query_params["angle"] in ("45", ["45"])
    open_panel(at, "x_optimizer_settings")
    at.number_input(key="w_decay").set_value(0.9).run()
    assert at.query_params["decay"] in ("0.9", ["0.9"])
    at = open_app({"surface": "linear_regression", "loss": "huber"})
    at.number_input(key="w_delta").set_value(0.5).run()
    assert at.query_params["delta"] in ("0.5", ["0.5"])
    assert not at.exception


def test_picking_a_surface_opens_its_story():
    at = open_app({"surface": "himmelblau", "opt": "sgd,adam", "lr": "0.01,0.05"})
    at.selectbox(key="w_surface").set_value("rosenbrock").run()
    assert not at.exception
    opening = surfaces.SURFACES["rosenbrock"].opening
    picked = [at.selectbox(key=f"w_opt_{i}").value for i in range(len(opening.runs))]
    assert tuple(picked) == opening.optimizers
    assert at.select_slider(key="w_lr").value == opening.learning_rates[0]
    assert at.number_input(key="w_steps").value == opening.steps
    assert opening.caption in all_text(at)  # the story says what to look for
    assert dict(at.query_params) in ({"surface": "rosenbrock"}, {"surface": ["rosenbrock"]},
                                     {"view": "surface", "surface": "rosenbrock"},
                                     {"view": ["surface"], "surface": ["rosenbrock"]})
    at.selectbox(key="w_surface").set_value("logistic_regression").run()
    assert at.slider(key="w_noise").value == 1.0


def test_settings_are_mirrored_in_the_link():
    at = open_app()
    at.select_slider(key="w_lr").set_value(0.1).run()
    assert at.query_params["lr"] in ("0.1", ["0.1"])


@pytest.mark.parametrize("lesson", lessons.LESSON_IDS)
def test_each_lesson_hides_the_run_until_answered_then_explains(lesson):
    at = open_app({"lesson": lesson})
    assert at.button(key="skip") is not None
    assert not [df for df in path_frames(at) if len(df)], "no path before the answer"
    question = lessons.get(lesson).question
    at.radio(key=f"answer_{lesson}").set_value(question.choices[question.answer]).run()
    at.button(key="check").click().run()
    assert not at.exception
    assert any(s.value.startswith("Right") for s in at.success)
    assert [df for df in path_frames(at) if len(df)], "the path is drawn once answered"


def test_a_wrong_answer_is_told_the_right_one():
    at = open_app({"lesson": "learning_rate"})
    question = lessons.get("learning_rate").question
    wrong = next(c for i, c in enumerate(question.choices) if i != question.answer)
    at.radio(key="answer_learning_rate").set_value(wrong).run()
    at.button(key="check").click().run()
    assert any("Not quite" in w.value for w in at.warning)


def test_a_bad_formula_shows_an_error_in_words_not_an_exception():
    at = open_app({"surface": "custom", "expr": "w1^2 + q"})
    assert any("unknown name" in e.value for e in at.error)


def test_a_formula_with_one_weight_draws_the_lesson_figure():
    at = open_app({"surface": "custom", "expr": "(w*x - y)^2 + 0.1*abs(w)"})
    assert at.get("vega_lite_chart") and path_frames(at)


# Links a browser can actually carry (an empty list of values cannot be written in a URL).
URL_LINKS = [
    (c, q) for c, q in MALFORMED_LINKS
    if all(isinstance(v, str) or (isinstance(v, list) and v) for v in q.values())
]


@pytest.mark.parametrize(("case", "query"), URL_LINKS, ids=[c for c, _ in URL_LINKS])
def test_a_malformed_link_opens_with_a_warning(case, query):
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    assert any("link" in w.value or "Ignored" in w.value for w in app.warning)


def test_two_sessions_keep_their_own_settings():
    first = open_app({"lr": "0.01"})
    second = open_app({"surface": "himmelblau"})
    first.select_slider(key="w_lr").set_value(0.2).run()
    second.run()
    assert second.radio(key="w_view").value == "surface"
    assert first.select_slider(key="w_lr").value == 0.2
    assert "lr" not in second.query_params


def test_presenter_mode_hides_the_details():
    at = open_app({"present": "1"})
    assert not at.exception
    assert not [e for e in at.expander if "Explain a step" in e.label]


def test_the_network_view_draws_every_landscape_chart():
    at = open_app({"view": "nn", "steps": "100"})
    assert len(at.get("vega_lite_chart")) == 5


def test_the_network_view_opens_on_a_network_that_has_learned():
    at = open_app({"view": "nn"})
    assert not at.exception
    report = next(m.value for m in at.markdown if "accuracy" in m.value)
    accuracy = int(report.rsplit("accuracy", 1)[1].strip(" %."))
    assert accuracy >= 95, report
    at.button(key="nn_undertrained").click().run()
    report = next(m.value for m in at.markdown if "accuracy" in m.value)
    assert "30 steps" in report and int(report.rsplit("accuracy", 1)[1].strip(" %.")) < 90
    assert at.query_params["opt"] in ("sgd", ["sgd"])
