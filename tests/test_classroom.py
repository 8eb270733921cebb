"""Class mode's shared state, the same tests on SQLite and on a real PostgreSQL (``db_url``)."""

from __future__ import annotations

import secrets
import threading

import pytest
import sqlalchemy as sa

from losslab import classroom, lessons

T0 = 1_800_000_000.0  # a fixed "now": every function takes the time as an argument


@pytest.fixture
def engine(db_url):
    engine = sa.create_engine(db_url)
    classroom.ensure_schema(engine)
    yield engine
    engine.dispose()


def token() -> str:
    return secrets.token_urlsafe(16)


def test_a_new_database_gets_the_current_schema_once(db_url):
    engine = sa.create_engine(db_url)
    try:
        assert classroom.ensure_schema(engine) == 0
        assert classroom.ensure_schema(engine) == classroom.SCHEMA_VERSION
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM schema_version")).all()
        assert versions == [(classroom.SCHEMA_VERSION,)]
    finally:
        engine.dispose()


def test_a_database_from_a_newer_version_is_refused_not_misread(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    with pytest.raises(classroom.ClassUnreachable, match="newer losslab"):
        classroom.ensure_schema(engine)


def test_open_class_makes_a_short_code_and_a_long_key_and_stores_only_its_hash(engine):
    code, key = classroom.open_class(engine, "slope", T0)
    assert len(code) == classroom.CODE_LENGTH and set(code) <= set(classroom.ALPHABET)
    assert len(key) >= 32  # 24 random bytes = 192 bits
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM classes")).mappings().one()
    assert key not in {str(v) for v in stored.values()}
    assert classroom.check_instructor(engine, code, key, T0).lesson_id == "slope"


def test_codes_are_read_forgivingly_and_junk_never_reaches_the_database(engine):
    code, _ = classroom.open_class(engine, "slope", T0)
    spaced = f" {code[:3].lower()}-{code[3:]} "
    assert classroom.state(engine, spaced, T0).join_code == code
    for junk in ("", "1234", "ABCDEFGHIJ", "ab'; DROP TABLE classes; --", "ÄBCDEF", "O0O0O0"):
        with pytest.raises(classroom.ClassNotFound, match="not a class code"):
            classroom.state(engine, junk, T0)


def test_an_unknown_code_says_so(engine):
    with pytest.raises(classroom.ClassNotFound, match="no class with the code ABCDEF"):
        classroom.join(engine, "ABCDEF", token(), T0)


def test_answers_count_once_per_session_and_a_changed_answer_moves(engine):
    code, _ = classroom.open_class(engine, "learning_rate", T0)
    students = [token() for _ in range(5)]
    for s in students:
        classroom.join(engine, code, s, T0)
    for s, answer in zip(students, (2, 2, 0, 1, 2), strict=True):
        classroom.record_answer(engine, code, s, "learning_rate", answer, T0 + 1)
    classroom.record_answer(engine, code, students[2], "learning_rate", 2, T0 + 2)  # changed
    classroom.record_answer(engine, code, students[0], "learning_rate", 2, T0 + 3)  # same again
    result = classroom.tally(engine, code, "learning_rate")
    assert result == classroom.Tally(joined=5, answered=5, counts=(0, 1, 4, 0))


def test_joining_twice_counts_once(engine):
    code, _ = classroom.open_class(engine, "slope", T0)
    s = token()
    for _ in range(3):
        classroom.join(engine, code, s, T0)
    assert classroom.tally(engine, code, "slope").joined == 1


def test_a_flood_of_answers_from_one_session_is_rate_limited_and_the_last_answer_kept(engine):
    code, _ = classroom.open_class(engine, "slope", T0)
    s = token()
    for i in range(classroom.RATE_LIMIT):
        classroom.record_answer(engine, code, s, "slope", i % 4, T0 + i * 0.1)
    with pytest.raises(classroom.RateLimited, match="wait"):
        classroom.record_answer(engine, code, s, "slope", 0, T0 + 5)
    kept = (classroom.RATE_LIMIT - 1) % 4
    assert classroom.tally(engine, code, "slope").counts[kept] == 1
    # Another session is not held back, and the flooding one may answer after the window.
    classroom.record_answer(engine, code, token(), "slope", 1, T0 + 5)
    classroom.record_answer(engine, code, s, "slope", 0, T0 + classroom.RATE_WINDOW + 1)
    assert classroom.tally(engine, code, "slope").counts == (1, 1, 0, 0)


def test_answers_close_when_the_run_is_revealed_or_the_class_moves_on(engine):
    code, key = classroom.open_class(engine, "slope", T0)
    s = token()
    classroom.record_answer(engine, code, s, "slope", 0, T0)
    with pytest.raises(classroom.AnswersClosed):
        classroom.record_answer(engine, code, s, "ravine", 1, T0)  # not the current question
    assert classroom.reveal(engine, code, key, T0).revealed
    with pytest.raises(classroom.AnswersClosed, match="shown the run"):
        classroom.record_answer(engine, code, s, "slope", 3, T0)
    assert classroom.tally(engine, code, "slope").counts == (1, 0, 0, 0)
    moved = classroom.set_lesson(engine, code, key, "ravine", T0)
    assert (moved.lesson_id, moved.revealed) == ("ravine", False)
    classroom.record_answer(engine, code, s, "ravine", 1, T0)
    assert classroom.tally(engine, code, "ravine").counts[1] == 1
    assert classroom.tally(engine, code, "slope").counts == (1, 0, 0, 0)


def test_answers_outside_the_choices_are_refused(engine):
    code, _ = classroom.open_class(engine, "slope", T0)
    for bad in (-1, 4, True, "1", 1.0):
        with pytest.raises(ValueError):
            classroom.record_answer(engine, code, token(), "slope", bad, T0)
    with pytest.raises(ValueError):
        classroom.record_answer(engine, code, "short", "slope", 0, T0)
    with pytest.raises(classroom.ClassroomError, match="lesson"):
        classroom.open_class(engine, "no_such_lesson", T0)


def test_only_the_instructor_key_can_steer_the_class(engine):
    code, key = classroom.open_class(engine, "slope", T0)
    other_code, other_key = classroom.open_class(engine, "slope", T0)
    for wrong in ("", "guess", other_key, key[:-1]):
        with pytest.raises(classroom.NotInstructor, match="instructor's link"):
            classroom.check_instructor(engine, code, wrong, T0)
        with pytest.raises(classroom.NotInstructor):
            classroom.reveal(engine, code, wrong, T0)
        with pytest.raises(classroom.NotInstructor):
            classroom.set_lesson(engine, code, wrong, "ravine", T0)
        with pytest.raises(classroom.NotInstructor):
            classroom.close(engine, code, wrong, T0)
    assert classroom.state(engine, code, T0) == classroom.check_instructor(engine, code, key, T0)
    assert not classroom.state(engine, code, T0).revealed


def test_a_closed_class_refuses_students_and_forgets_their_answers(engine):
    code, key = classroom.open_class(engine, "slope", T0)
    s = token()
    classroom.record_answer(engine, code, s, "slope", 0, T0)
    classroom.close(engine, code, key, T0 + 10)
    for call in (
        lambda: classroom.join(engine, code, token(), T0 + 11),
        lambda: classroom.record_answer(engine, code, s, "slope", 1, T0 + 11),
        lambda: classroom.state(engine, code, T0 + 11),
        lambda: classroom.reveal(engine, code, key, T0 + 11),
    ):
        with pytest.raises(classroom.ClassClosed, match="closed by its presenter"):
            call()
    with engine.connect() as conn:
        left = [conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("members", "answers")]
    assert left == [0, 0]


def test_old_classes_expire_with_everything_recorded_in_them(engine):
    old, _ = classroom.open_class(engine, "slope", T0)
    classroom.record_answer(engine, old, token(), "slope", 0, T0)
    later = T0 + classroom.CLASS_LIFETIME - 1
    young, _ = classroom.open_class(engine, "slope", later)
    with pytest.raises(classroom.ClassClosed, match="expire"):
        classroom.state(engine, old, T0 + classroom.CLASS_LIFETIME)
    assert classroom.expire_old(engine, T0 + classroom.CLASS_LIFETIME) == 1
    with pytest.raises(classroom.ClassNotFound):
        classroom.state(engine, old, T0 + classroom.CLASS_LIFETIME)
    assert classroom.state(engine, young, later).lesson_id == "slope"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM answers")).scalar_one() == 0


def test_answers_survive_a_new_engine_as_after_a_restart(db_url):
    first = sa.create_engine(db_url)
    classroom.ensure_schema(first)
    code, key = classroom.open_class(first, "ravine", T0)
    classroom.record_answer(first, code, token(), "ravine", 1, T0)
    first.dispose()
    second = sa.create_engine(db_url)
    try:
        classroom.ensure_schema(second)
        assert classroom.tally(second, code, "ravine").counts == (0, 1, 0, 0)
        assert classroom.check_instructor(second, code, key, T0).lesson_id == "ravine"
    finally:
        second.dispose()


def test_many_sessions_answering_at_once_are_all_counted(engine):
    code, _ = classroom.open_class(engine, "slope", T0)
    problems: list[BaseException] = []

    def student(answer: int) -> None:
        try:
            s = token()
            classroom.join(engine, code, s, T0)
            classroom.record_answer(engine, code, s, "slope", answer, T0)
            classroom.record_answer(engine, code, s, "slope", answer, T0 + 1)
        except BaseException as problem:  # collected: a thread's failure must fail the test
            problems.append(problem)

    threads = [threading.Thread(target=student, args=(i % 4,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    assert classroom.tally(engine, code, "slope") == classroom.Tally(24, 24, (6, 6, 6, 6))


def test_a_database_that_is_down_is_reported_as_unreachable(tmp_path):
    down = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                            connect_args={"connect_timeout": 2})
    with pytest.raises(classroom.ClassUnreachable, match="lesson works on its own"):
        classroom.ensure_schema(down)
    with pytest.raises(classroom.ClassUnreachable):
        classroom.state(down, "ABCDEF", T0)
    unwritable = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/classes.sqlite")
    with pytest.raises(classroom.ClassUnreachable):
        classroom.open_class(unwritable, "slope", T0)


def test_every_lesson_can_be_a_class_question():
    for lesson in lessons.LESSONS:
        assert len(lesson.question.choices) <= 8, "the presenter's histogram has room for 8"
