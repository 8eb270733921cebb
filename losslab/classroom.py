"""Class mode's shared state: a class, who joined it and how the room answered, in a database.

Many sessions (and several server replicas) meet here, so nothing lives in memory: every
function takes a SQLAlchemy ``Engine`` and the current time, and does its work in one
transaction. The same SQL runs on SQLite and PostgreSQL; every value goes in as a bound
parameter.

    ensure_schema(engine)
    code, key = open_class(engine, "slope", now)
    join(engine, code, token, now)
    record_answer(engine, code, token, "slope", 0, now)
    tally(engine, code, "slope")  # Tally(joined=1, answered=1, counts=(1, 0, 0, 0))
    reveal(engine, code, key, now)

A class has a short join code for students and a long instructor key; only the key's SHA-256
is stored. Students are known by a random session token only: no names, nothing personal.
Everything about a class is deleted when it expires, ``CLASS_LIFETIME`` after it opened.

One piece: the schema, the queries on it and the rules they enforce (rate limit, caps,
expiry) read the same tables and change together.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exc

from losslab import lessons

__all__ = [
    "ALPHABET",
    "CLASS_LIFETIME",
    "CODE_LENGTH",
    "MAX_MEMBERS",
    "MAX_OPEN_CLASSES",
    "RATE_LIMIT",
    "RATE_WINDOW",
    "SCHEMA_VERSION",
    "AnswersClosed",
    "ClassClosed",
    "ClassFull",
    "ClassNotFound",
    "ClassState",
    "ClassUnreachable",
    "ClassroomError",
    "NotInstructor",
    "RateLimited",
    "Tally",
    "check_instructor",
    "close",
    "ensure_schema",
    "expire_old",
    "join",
    "normalise_code",
    "open_class",
    "reveal",
    "set_lesson",
    "state",
    "tally",
    "record_answer",
]

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Join codes use letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L)."""
CODE_LENGTH = 6
KEY_BYTES = 24
"""The instructor key: 192 random bits, URL-safe text."""
CLASS_LIFETIME = 24 * 3600.0
"""Seconds after opening when a class and everything recorded in it is deleted."""
RATE_LIMIT = 20
RATE_WINDOW = 60.0
"""A session may record at most ``RATE_LIMIT`` answers per ``RATE_WINDOW`` seconds."""
MAX_MEMBERS = 1000
MAX_OPEN_CLASSES = 2000
SCHEMA_VERSION = 1

_CODE_SHAPE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Schema migrations: entry i takes the database from version i to version i + 1. Types are the
# ones SQLite and PostgreSQL share (times are DOUBLE PRECISION epoch seconds: PostgreSQL's REAL
# would round them to minutes).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS classes (
            join_code VARCHAR(16) PRIMARY KEY,
            key_hash VARCHAR(64) NOT NULL,
            lesson_id VARCHAR(64) NOT NULL,
            revealed INTEGER NOT NULL DEFAULT 0,
            opened_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            closed_at DOUBLE PRECISION
        )""",
        "CREATE INDEX IF NOT EXISTS classes_expiry ON classes (expires_at)",
        """CREATE TABLE IF NOT EXISTS members (
            join_code VARCHAR(16) NOT NULL REFERENCES classes (join_code) ON DELETE CASCADE,
            session_token VARCHAR(64) NOT NULL,
            joined_at DOUBLE PRECISION NOT NULL,
            window_start DOUBLE PRECISION NOT NULL,
            writes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (join_code, session_token)
        )""",
        """CREATE TABLE IF NOT EXISTS answers (
            join_code VARCHAR(16) NOT NULL REFERENCES classes (join_code) ON DELETE CASCADE,
            session_token VARCHAR(64) NOT NULL,
            question_id VARCHAR(64) NOT NULL,
            answer INTEGER NOT NULL,
            answered_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (join_code, session_token, question_id)
        )""",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


# ------------------------------------------------------------------------------ errors


class ClassroomError(Exception):
    """A class-mode problem; ``str(error)`` is a sentence a learner can read."""


class ClassNotFound(ClassroomError):
    """No class has this join code (or it was never valid)."""


class ClassClosed(ClassroomError):
    """The class was closed by its instructor or has expired."""


class NotInstructor(ClassroomError):
    """The instructor key is missing or does not match the class."""


class RateLimited(ClassroomError):
    """One session sent too many answers in a short time."""


class ClassFull(ClassroomError):
    """The class (or the server) has reached its cap."""


class AnswersClosed(ClassroomError):
    """The question is not open for answers: the run was revealed or the class moved on."""


class ClassUnreachable(ClassroomError):
    """The database cannot be reached."""

    def __init__(self, message: str = "The class is unreachable right now; the lesson works "
                 "on its own.") -> None:
        super().__init__(message)


# ------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class ClassState:
    """What every page of a class follows: the lesson on screen and whether its run is shown."""

    join_code: str
    lesson_id: str
    revealed: bool
    opened_at: float
    expires_at: float


@dataclass(frozen=True)
class Tally:
    """How the room answered one question: ``counts[i]`` sessions chose choice ``i``."""

    joined: int
    answered: int
    counts: tuple[int, ...]


# ------------------------------------------------------------------------------ plumbing


@contextlib.contextmanager
def _transaction(engine: sa.Engine, *, write: bool = True) -> Iterator[sa.Connection]:
    """One transaction; a database that cannot be reached becomes ``ClassUnreachable``.

    On SQLite a writing transaction takes the write lock at its start (``BEGIN IMMEDIATE``):
    two sessions that both read and then write would otherwise deadlock, and SQLite resolves
    that by failing one of them at once instead of letting it wait.
    """
    try:
        with engine.connect() as conn:
            if write and conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
    except (exc.OperationalError, exc.InterfaceError) as problem:
        raise ClassUnreachable() from problem
    except exc.DBAPIError as problem:
        if problem.connection_invalidated:
            raise ClassUnreachable() from problem
        raise


def _schema_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar()
    return int(found or 0)


def ensure_schema(engine: sa.Engine) -> int:
    """Create or upgrade the tables to ``SCHEMA_VERSION``; return the version found before.

    Safe to call from many processes at once: a lost race to create a table is retried once.
    A database written by a newer version is refused rather than misread.
    """
    if engine.dialect.name == "sqlite":
        # Readers then never wait for a writer (the polling pages read every few seconds).
        with contextlib.suppress(exc.DBAPIError), engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    for attempt in (1, 2):
        try:
            with _transaction(engine) as conn:
                before = _schema_version(conn)
                if before > SCHEMA_VERSION:
                    raise ClassUnreachable(
                        f"The class database was made by a newer losslab (schema {before}); "
                        "the lesson works on its own."
                    )
                if before == SCHEMA_VERSION:
                    return before
                conn.execute(sa.text(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                ))
                for version in range(before, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[version]:
                        conn.execute(sa.text(statement))
                conn.execute(sa.text("DELETE FROM schema_version"))
                conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"),
                             {"v": SCHEMA_VERSION})
                return before
        except (exc.IntegrityError, exc.ProgrammingError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def normalise_code(text: str) -> str:
    """A typed or linked join code in canonical form (upper case, no spaces or dashes);
    ``ClassNotFound`` if it cannot be a code at all, so it never reaches the database."""
    code = re.sub(r"[\s-]", "", str(text)[:64]).upper()
    if not _CODE_SHAPE.fullmatch(code):
        raise ClassNotFound(
            f"That is not a class code: codes are {CODE_LENGTH} letters and digits, "
            "like K7QX3M. Check the code on the presenter's screen."
        )
    return code


def _check_token(token: str) -> str:
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise ValueError("a session token is 16 to 64 URL-safe characters")
    return token


def _key_hash(key: str) -> str:
    return hashlib.sha256(str(key)[:256].encode("utf-8")).hexdigest()


def _lesson(lesson_id: str) -> lessons.Lesson:
    try:
        return lessons.get(lesson_id)
    except ValueError:
        raise ClassroomError("A class follows one of the app's lessons; pick a lesson "
                             "first.") from None


def _row(conn: sa.Connection, code: str, now: float, *, lock: bool = False) -> sa.Row:
    """The class's row; ``ClassNotFound`` or ``ClassClosed`` when it cannot be followed."""
    query = (
        "SELECT join_code, key_hash, lesson_id, revealed, opened_at, expires_at, closed_at "
        "FROM classes WHERE join_code = :code"
    )
    if lock and conn.dialect.name == "postgresql":
        query += " FOR UPDATE"
    row = conn.execute(sa.text(query), {"code": code}).first()
    if row is None:
        raise ClassNotFound(
            f"There is no class with the code {code}. Check the code on the presenter's screen; "
            "the lesson works on its own meanwhile."
        )
    if row.closed_at is not None:
        raise ClassClosed(f"Class {code} has been closed by its presenter. The lesson works on "
                          "its own.")
    if row.expires_at <= now:
        raise ClassClosed(f"Class {code} has ended: classes expire a day after they open. The "
                          "lesson works on its own.")
    return row


def _state_of(row: sa.Row) -> ClassState:
    return ClassState(row.join_code, row.lesson_id, bool(row.revealed), float(row.opened_at),
                      float(row.expires_at))


def _instructor_row(conn: sa.Connection, code: str, key: str, now: float) -> sa.Row:
    row = _row(conn, normalise_code(code), now, lock=True)
    if not key or not hmac.compare_digest(row.key_hash, _key_hash(key)):
        raise NotInstructor(
            f"This is the presenter's page of class {row.join_code}, and it needs the "
            "instructor's link. You can follow the class as a student."
        )
    return row


# ------------------------------------------------------------------------------ instructor


def open_class(engine: sa.Engine, lesson_id: str, now: float) -> tuple[str, str]:
    """Open a class on ``lesson_id``; return ``(join_code, instructor_key)``.

    The key is shown once, to the instructor: only its hash is kept. Classes past their
    expiry are deleted first.
    """
    _lesson(lesson_id)
    expire_old(engine, now)
    key = secrets.token_urlsafe(KEY_BYTES)
    for _ in range(8):
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with _transaction(engine) as conn:
                open_now = conn.execute(
                    sa.text("SELECT COUNT(*) FROM classes WHERE closed_at IS NULL")
                ).scalar_one()
                if open_now >= MAX_OPEN_CLASSES:
                    raise ClassFull("Too many classes are open on this server right now; try "
                                    "again later.")
                conn.execute(
                    sa.text(
                        "INSERT INTO classes (join_code, key_hash, lesson_id, revealed, "
                        "opened_at, expires_at) VALUES (:code, :hash, :lesson, 0, :now, :end)"
                    ),
                    {"code": code, "hash": _key_hash(key), "lesson": lesson_id, "now": now,
                     "end": now + CLASS_LIFETIME},
                )
            return code, key
        except exc.IntegrityError:
            continue  # the code is taken: draw another
    raise ClassFull("No free class code could be found; try again.")


def check_instructor(engine: sa.Engine, code: str, key: str, now: float) -> ClassState:
    """The class's state if ``key`` is its instructor key, else ``NotInstructor``."""
    with _transaction(engine) as conn:
        return _state_of(_instructor_row(conn, code, key, now))


def set_lesson(engine: sa.Engine, code: str, key: str, lesson_id: str, now: float) -> ClassState:
    """Move the class to ``lesson_id``, its run hidden until ``reveal``."""
    _lesson(lesson_id)
    with _transaction(engine) as conn:
        row = _instructor_row(conn, code, key, now)
        conn.execute(
            sa.text("UPDATE classes SET lesson_id = :lesson, revealed = 0 WHERE join_code = :code"),
            {"lesson": lesson_id, "code": row.join_code},
        )
        return _state_of(_instructor_row(conn, code, key, now))


def reveal(engine: sa.Engine, code: str, key: str, now: float) -> ClassState:
    """Show the current lesson's run on every page; its question takes no more answers."""
    with _transaction(engine) as conn:
        row = _instructor_row(conn, code, key, now)
        conn.execute(sa.text("UPDATE classes SET revealed = 1 WHERE join_code = :code"),
                     {"code": row.join_code})
        return _state_of(_instructor_row(conn, code, key, now))


def close(engine: sa.Engine, code: str, key: str, now: float) -> None:
    """End the class: its members and answers are deleted now, the code itself at expiry (so
    a late student is told the class was closed rather than that it never existed)."""
    with _transaction(engine) as conn:
        row = _instructor_row(conn, code, key, now)
        params = {"code": row.join_code}
        conn.execute(sa.text("DELETE FROM answers WHERE join_code = :code"), params)
        conn.execute(sa.text("DELETE FROM members WHERE join_code = :code"), params)
        conn.execute(sa.text("UPDATE classes SET closed_at = :now WHERE join_code = :code"),
                     {**params, "now": now})


def expire_old(engine: sa.Engine, now: float) -> int:
    """Delete every class past its expiry, with its members and answers; return how many."""
    with _transaction(engine) as conn:
        params = {"now": now}
        old = "SELECT join_code FROM classes WHERE expires_at <= :now"
        conn.execute(sa.text(f"DELETE FROM answers WHERE join_code IN ({old})"), params)
        conn.execute(sa.text(f"DELETE FROM members WHERE join_code IN ({old})"), params)
        return conn.execute(sa.text("DELETE FROM classes WHERE expires_at <= :now"),
                            params).rowcount


# ------------------------------------------------------------------------------ students


def state(engine: sa.Engine, code: str, now: float) -> ClassState:
    """The lesson every page of the class shows now, and whether its run is revealed."""
    code = normalise_code(code)
    with _transaction(engine, write=False) as conn:
        return _state_of(_row(conn, code, now))


_UPSERT_MEMBER = (
    "INSERT INTO members (join_code, session_token, joined_at, window_start, writes) "
    "VALUES (:code, :token, :now, :now, 0) "
    "ON CONFLICT (join_code, session_token) DO NOTHING"
)


def _enrol(conn: sa.Connection, code: str, token: str, now: float) -> None:
    known = conn.execute(
        sa.text("SELECT 1 FROM members WHERE join_code = :code AND session_token = :token"),
        {"code": code, "token": token},
    ).first()
    if known is not None:
        return
    members = conn.execute(sa.text("SELECT COUNT(*) FROM members WHERE join_code = :code"),
                           {"code": code}).scalar_one()
    if members >= MAX_MEMBERS:
        raise ClassFull(f"Class {code} is full ({MAX_MEMBERS} sessions). The lesson works on "
                        "its own.")
    conn.execute(sa.text(_UPSERT_MEMBER), {"code": code, "token": token, "now": now})


def join(engine: sa.Engine, code: str, session_token: str, now: float) -> ClassState:
    """Count this session as joined (once, however often it calls); return the class state."""
    code = normalise_code(code)
    token = _check_token(session_token)
    with _transaction(engine) as conn:
        row = _row(conn, code, now)
        _enrol(conn, code, token, now)
        return _state_of(row)


def record_answer(
    engine: sa.Engine, code: str, session_token: str, question_id: str, answer: int, now: float
) -> None:
    """Record this session's answer to ``question_id`` (a lesson id); a second answer replaces
    the first, so a session counts once.

    The question must be the class's current one and not yet revealed (``AnswersClosed``);
    ``answer`` must index one of its choices. A session may write ``RATE_LIMIT`` times per
    ``RATE_WINDOW`` seconds (``RateLimited``); the count lives in the database, so it holds
    across server replicas.
    """
    code = normalise_code(code)
    token = _check_token(session_token)
    question = _lesson(question_id).question
    if isinstance(answer, bool) or not isinstance(answer, int) or not (
        0 <= answer < len(question.choices)
    ):
        raise ValueError(f"answer must be a choice index from 0 to {len(question.choices) - 1}")
    with _transaction(engine) as conn:
        row = _row(conn, code, now)
        if row.lesson_id != question_id or row.revealed:
            raise AnswersClosed(
                "Answers to this question are closed: the presenter has shown the run or moved "
                "on. Your earlier answer, if any, still counts."
            )
        _enrol(conn, code, token, now)
        member = {"code": code, "token": token}
        window_start, writes = conn.execute(
            sa.text("SELECT window_start, writes FROM members "
                    "WHERE join_code = :code AND session_token = :token"),
            member,
        ).one()
        if now - window_start >= RATE_WINDOW:
            window_start, writes = now, 0
        if writes >= RATE_LIMIT:
            wait = max(1, round(window_start + RATE_WINDOW - now))
            raise RateLimited(f"That is a lot of answers in a short time: wait {wait} s and "
                              "press Check again. Your last answer still counts.")
        conn.execute(
            sa.text("UPDATE members SET window_start = :start, writes = :writes "
                    "WHERE join_code = :code AND session_token = :token"),
            {**member, "start": window_start, "writes": writes + 1},
        )
        conn.execute(
            sa.text(
                "INSERT INTO answers (join_code, session_token, question_id, answer, answered_at) "
                "VALUES (:code, :token, :question, :answer, :now) "
                "ON CONFLICT (join_code, session_token, question_id) "
                "DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at"
            ),
            {**member, "question": question_id, "answer": answer, "now": now},
        )


def tally(engine: sa.Engine, code: str, question_id: str) -> Tally:
    """How many sessions joined the class and how they answered ``question_id``."""
    code = normalise_code(code)
    choices = len(_lesson(question_id).question.choices)
    with _transaction(engine, write=False) as conn:
        joined = conn.execute(sa.text("SELECT COUNT(*) FROM members WHERE join_code = :code"),
                              {"code": code}).scalar_one()
        rows = conn.execute(
            sa.text("SELECT answer, COUNT(*) AS n FROM answers "
                    "WHERE join_code = :code AND question_id = :question GROUP BY answer"),
            {"code": code, "question": question_id},
        ).all()
    counts = [0] * choices
    for answer, n in rows:
        if 0 <= answer < choices:
            counts[answer] = int(n)
    return Tally(joined=int(joined), answered=sum(counts), counts=tuple(counts))
