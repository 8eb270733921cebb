"""Class mode in real browsers: one presenter and five students against one server, on SQLite
and on PostgreSQL; the server is killed and restarted and no answer is lost."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa

from losslab import classroom, lessons
from tests.e2e.browser import ROOT, free_port, launch, wait_healthy

LESSON = "learning_rate"
CHOICES = (2, 2, 0, 1, 2)  # what the five students answer; one changes B -> C below
EXPECTED = "Answers: A 1 · B 0 · C 4 · D 0"
WAIT = 60_000


@contextlib.contextmanager
def server(db_url: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = launch(ROOT / "app.py", port, {"LOSSLAB_CLASS_DB": db_url})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def new_page(browser, width: int = 1280, height: int = 900):
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def student_answers(page, code: str, choice: int) -> None:
    question = lessons.get(LESSON).question
    page.get_by_text(f"You are in class {code}: this page").wait_for(timeout=WAIT)
    page.get_by_text(question.prompt).wait_for(timeout=WAIT)
    page.get_by_text(question.choices[choice], exact=True).click()
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Your answer is in").wait_for(timeout=WAIT)
    no_exception(page)


def test_a_class_of_five_answers_and_the_presenter_sees_it_across_a_restart(browser, db_url):
    with server(db_url) as (url, proc):
        presenter = new_page(browser)
        presenter.goto(f"{url}/?lesson={LESSON}")
        presenter.get_by_text("Class mode").click()
        presenter.get_by_role("button", name="Open a class on this lesson").click()
        presenter.get_by_role("button", name="Reveal the run").wait_for(timeout=WAIT)
        presenter.wait_for_function("() => location.search.includes('key=')", timeout=WAIT)
        link = parse_qs(urlparse(presenter.url).query)
        code, key = link["class"][0], link["key"][0]
        assert re.fullmatch(f"[{classroom.ALPHABET}]{{6}}", code)
        assert presenter.get_by_text(code, exact=True).is_visible(), "the code, large"
        presenter.get_by_text("0 students have joined · 0 answered").wait_for(timeout=WAIT)

        students = [new_page(browser, 420, 900) for _ in CHOICES]
        for page in students:  # all five load at once, as in a room
            page.goto(f"{url}/?class={code}")
        for page, choice in zip(students, CHOICES, strict=True):
            student_answers(page, code, choice)
        # A changed mind replaces the earlier answer: B becomes C.
        students[3].get_by_text(lessons.get(LESSON).question.choices[2], exact=True).click()
        students[3].get_by_role("button", name="Check").click()
        students[3].get_by_text("Your answer is in").wait_for(timeout=WAIT)

        # The presenter's panel refreshes on its own, without a reload.
        presenter.get_by_text("5 students have joined · 5 answered").wait_for(timeout=WAIT)
        presenter.get_by_text(EXPECTED).wait_for(timeout=WAIT)
        no_exception(presenter)
        assert "Predict first" in students[0].inner_text("body"), "the run is still hidden"

        # A student who tries the presenter's page gets the student's page and a reason.
        intruder = new_page(browser)
        intruder.goto(f"{url}/?class={code}&key=not-the-key")
        intruder.get_by_text("needs the instructor's link").wait_for(timeout=WAIT)
        assert intruder.get_by_role("button", name="Reveal the run").count() == 0
        assert intruder.get_by_text("students have joined").count() == 0

        proc.kill()  # no shutdown: whatever was recorded must already be in the database
        proc.wait(timeout=10)

    with server(db_url) as (url, _):
        again = new_page(browser)
        again.goto(f"{url}/?class={code}&key={key}")
        again.get_by_text(EXPECTED).wait_for(timeout=WAIT)
        again.get_by_text("6 students have joined · 5 answered").wait_for(timeout=WAIT)
        # The reveal reaches a student's page on its own, from the restarted server.
        student = new_page(browser, 420, 900)
        student.goto(f"{url}/?class={code}")
        student.get_by_text(lessons.get(LESSON).question.prompt).wait_for(timeout=WAIT)
        again.get_by_role("button", name="Reveal the run").click()
        student.get_by_text("The run is shown.").wait_for(timeout=WAIT)
        student.get_by_text("Predict first").wait_for(state="detached", timeout=WAIT)
        no_exception(again)
        no_exception(student)

    engine = sa.create_engine(db_url)
    try:
        assert classroom.tally(engine, code, LESSON).counts == (1, 0, 4, 0)
    finally:
        engine.dispose()

