"""Class mode in the app (AppTest): presenter and student pages over a shared database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from losslab import classroom, lessons
from tests import chartdata

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def engine(db_url, monkeypatch):
    """The class database, and the app pointed at it."""
    monkeypatch.setenv("LOSSLAB_CLASS_DB", db_url)
    engine = sa.create_engine(db_url)
    classroom.ensure_schema(engine)
    yield engine
    engine.dispose()


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [w.value for w in at.warning]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [c.value for c in at.caption]
    return "\n".join(parts)


def histogram_counts(at: AppTest) -> list[int]:
    charts = [c for c in at.get("vega_lite_chart") if "answers" in c.proto.spec]
    assert len(charts) == 1, "the presenter page draws one histogram"
    (table,) = [df for df in chartdata.frames(charts[0]).values() if "answers" in df.columns]
    return table["answers"].tolist()


def answer(at: AppTest, lesson_id: str, choice: int) -> AppTest:
    question = lessons.get(lesson_id).question
    at.radio(key=f"answer_{lesson_id}").set_value(question.choices[choice]).run()
    at.button(key="check").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def run_is_drawn(at: AppTest) -> bool:
    return "After 30 steps" in text(at) or any(
        "step" in df.columns for c in at.get("vega_lite_chart")
        for df in chartdata.frames(c).values() if len(df)
    ) and "Predict first" not in text(at)


def test_opening_a_class_turns_the_page_into_the_presenters_view(engine):
    at = open_page()
    assert "class_open" not in [b.key for b in at.button], "class mode waits folded"
    at.session_state["x_class"] = True  # the teacher unfolds "Class mode"
    at.run()
    at.button(key="class_open").click().run()
    assert not at.exception
    code = at.session_state["class_code"]
    assert len(code) == classroom.CODE_LENGTH
    assert f"# :blue[{code}]" in [m.value for m in at.markdown]  # the large join code
    assert at.get("image"), "the QR code is drawn"
    assert "0 students have joined · 0 answered" in text(at)
    assert histogram_counts(at) == [0, 0, 0, 0]
    assert at.button(key="class_reveal").disabled is False
    # The presenter's own link holds the key; the students' link does not.
    links = [c.value for c in at.sidebar.code]
    assert any(f"class={code}&key=" in v for v in links)
    assert any(v.endswith(f"class={code}") for v in links)
    assert classroom.state(engine, code, time.time()).lesson_id == "slope"


def test_students_answers_reach_the_presenters_histogram_once_each(engine):
    code, key = classroom.open_class(engine, "learning_rate", time.time())
    students = [open_page({"class": code}) for _ in range(3)]
    for at in students:
        assert "You are in class " + code in text(at)
        assert "Predict first" in text(at), "the student sees the class's lesson question"
    for at, choice in zip(students, (2, 2, 0), strict=True):
        answer(at, "learning_rate", choice)
        assert "Your answer is in" in text(at)
        assert "Predict first" in text(at), "the run stays hidden until the presenter reveals it"
    answer(students[2], "learning_rate", 1)  # a changed answer moves, it is not counted twice
    presenter = open_page({"class": code, "key": key})
    assert "3 students have joined · 3 answered" in text(presenter)
    assert histogram_counts(presenter) == [0, 1, 2, 0]
    assert "Answers: A 0 · B 1 · C 2 · D 0" in text(presenter)


def test_the_reveal_shows_the_run_on_every_page_and_closes_the_answers(engine):
    code, key = classroom.open_class(engine, "slope", time.time())
    student = open_page({"class": code})
    answer(student, "slope", 0)
    presenter = open_page({"class": code, "key": key})
    assert "Predict first" in text(presenter)
    presenter.button(key="class_reveal").click().run()
    assert not presenter.exception
    assert "Predict first" not in text(presenter) and "After 30 steps" in text(presenter)
    assert presenter.button(key="class_reveal").disabled
    student.run()  # what the student's page does when its watcher sees the reveal
    assert "Predict first" not in text(student)
    assert "Right: They give the slope" in text(student), "the student's own answer is judged"


def test_skipping_to_the_run_on_the_presenters_page_reveals_it_to_the_class(engine):
    code, key = classroom.open_class(engine, "slope", time.time())
    presenter = open_page({"class": code, "key": key})
    presenter.button(key="skip").click().run()
    assert not presenter.exception
    assert "After 30 steps" in text(presenter)
    assert classroom.state(engine, code, time.time()).revealed


def test_the_presenter_moves_the_class_to_the_next_lesson(engine):
    code, key = classroom.open_class(engine, "slope", time.time())
    student = open_page({"class": code})
    presenter = open_page({"class": code, "key": key})
    presenter.button(key="class_next").click().run()
    assert not presenter.exception
    assert lessons.get("learning_rate").title in [s.value for s in presenter.subheader]
    assert classroom.state(engine, code, time.time()).lesson_id == "learning_rate"
    student.run()
    assert lessons.get("learning_rate").title in [s.value for s in student.subheader]
    assert lessons.get("learning_rate").question.prompt in text(student)


def test_a_student_cannot_open_the_presenters_view_without_the_key(engine):
    code, key = classroom.open_class(engine, "slope", time.time())
    for wrong in ("guess", key[:-2], "x" * 300):
        at = open_page({"class": code, "key": wrong})
        assert "needs the instructor's link" in text(at)
        assert not [b for b in at.button if b.key in ("class_reveal", "class_next", "class_close")]
        assert not [c for c in at.get("vega_lite_chart") if "answers" in c.proto.spec]
        assert "You are in class " + code in text(at), "they can follow as a student"
        assert not classroom.state(engine, code, time.time()).revealed


def test_unknown_and_malformed_codes_are_explained_and_the_lesson_still_works(engine):
    for code, words in (("ZZZZZZ", "no class with the code ZZZZZZ"),
                        ("<b>*x*</b>", "not a class code")):
        at = open_page({"class": code})
        assert words in text(at)
        assert "<b>" not in text(at)
        assert "Predict first" in text(at) or at.get("vega_lite_chart")
        assert "class_code" not in at.session_state


def test_a_closed_class_tells_its_students_and_lets_them_go(engine):
    code, key = classroom.open_class(engine, "slope", time.time())
    student = open_page({"class": code})
    presenter = open_page({"class": code, "key": key})
    presenter.button(key="class_close").click().run()
    assert not presenter.exception
    assert f"Class {code} is closed" in text(presenter)
    student.run()
    assert "closed by its presenter" in text(student)
    assert "class_code" not in student.session_state
    late = open_page({"class": code})
    assert "closed by its presenter" in text(late)


def test_a_database_that_is_down_leaves_the_lesson_working(monkeypatch):
    monkeypatch.setenv("LOSSLAB_CLASS_DB", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    at = open_page({"class": "ABCDEF", "lesson": "slope"})
    assert "The class is unreachable right now; the lesson works on its own." in text(at)
    assert at.get("vega_lite_chart"), "the lesson's figure is still drawn"
    at.button(key="skip").click().run()
    assert not at.exception
    assert "After 30 steps" in text(at), "the learner can still see the run on their own"
