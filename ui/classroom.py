"""Class mode in the page: the room predicts, the presenter sees the answers live.

An instructor opens a class from the sidebar; the page becomes the presenter's view (join
code, QR code, live histogram, Reveal / Next lesson / Close). Students open ``?class=CODE``
and their page follows the class's lesson and reveal. Everything shared lives in a database
reached through ``st.connection("sql")`` (see ``database_url``); the rules live in
``losslab.classroom``. When the database cannot be reached the lesson still works alone.

The app calls three functions: ``take_from_link()`` before it reads the link, ``follow(s)``
after drawing its controls and before the view, and ``record(lesson_id, choice)`` where a
learner's answer to a lesson's question is taken.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

from losslab import lessons
from losslab.settings import NO_LESSON, Settings
from ui import state

if TYPE_CHECKING:
    import sqlalchemy as sa

    from losslab.classroom import ClassState


# SQLAlchemy, the class store and the QR library load when a class is used, not on every page.
def _db():
    from losslab import classroom

    return classroom


def _sa():
    import sqlalchemy

    return sqlalchemy


def _segno():
    import segno

    return segno

DB_ENV = "LOSSLAB_CLASS_DB"
"""A SQLAlchemy URL in this environment variable wins over secrets and the default file."""
DEFAULT_DB = Path(__file__).resolve().parents[1] / "data" / "classes.sqlite"
POLL_SECONDS = 3
UNREACHABLE = "The class is unreachable right now; the lesson works on its own."

CODE, KEY, ROLE, TOKEN = "class_code", "class_key", "class_role", "class_token"
NOTICE, SEEN, JOINED = "class_notice", "class_seen", "class_joined"
PRESENTER, STUDENT = "presenter", "student"
LINK_CODE, LINK_KEY = state.CLASS_KEYS


# ------------------------------------------------------------------------------ database


def database_url() -> str | None:
    """Where classes are kept: ``$LOSSLAB_CLASS_DB``, else ``[connections.sql]`` in
    ``.streamlit/secrets.toml`` (``None``: Streamlit builds the URL from its fields), else a
    SQLite file under ``data/``."""
    url = os.environ.get(DB_ENV, "").strip()
    if url:
        return url
    if st.secrets.load_if_toml_exists() and "sql" in st.secrets.get("connections", {}):
        return st.secrets["connections"]["sql"].get("url")
    DEFAULT_DB.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB}"


def _engine_options(url: str | None) -> dict[str, object]:
    backend = _sa().make_url(url).get_backend_name() if url else ""
    if backend == "sqlite":
        return {"connect_args": {"timeout": 10}}
    # A replica finds out at once when the shared database went away and came back.
    options: dict[str, object] = {"pool_pre_ping": True}
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": 3}
    return options


@st.cache_resource(ttl=600, show_spinner=False)
def _schema_checked(_engine: sa.Engine, url: str) -> int:
    """Create or upgrade the tables once per database and process (re-checked every 10 min)."""
    return _db().ensure_schema(_engine)


def engine() -> sa.Engine:
    """The class database's engine, its schema ready; ``ClassUnreachable`` if it is not."""
    try:
        url = database_url()
        kwargs = {"url": url} if url else {}
        conn = st.connection("sql", type="sql", **kwargs, **_engine_options(url))
        eng = conn.engine
    except _db().ClassroomError:
        raise
    except Exception as problem:  # a bad URL, a missing driver, an unreadable secrets file
        raise _db().ClassUnreachable(UNREACHABLE) from problem
    _schema_checked(eng, eng.url.render_as_string(hide_password=True))
    return eng


# ------------------------------------------------------------------------------ session


def _token() -> str:
    """This session's random token: the only thing that tells one student from another."""
    if TOKEN not in st.session_state:
        st.session_state[TOKEN] = secrets.token_urlsafe(16)
    return st.session_state[TOKEN]


def active() -> bool:
    return bool(st.session_state.get(CODE))


def take_from_link() -> None:
    """Move ``?class=`` and ``?key=`` from the link into the session, before the link is read
    as settings (they are not settings). ``follow`` puts them back into the address bar."""
    code = st.query_params.get(LINK_CODE)
    key = st.query_params.get(LINK_KEY)
    for name in (LINK_CODE, LINK_KEY):
        if name in st.query_params:
            del st.query_params[name]
    if code is None:
        return
    code, key = code[:64], (key or "")[:256]
    if (code, key) != (st.session_state.get(CODE), st.session_state.get(KEY, "")):
        st.session_state[CODE], st.session_state[KEY] = code, key
        for name in (ROLE, SEEN, JOINED):
            st.session_state.pop(name, None)


def _leave() -> None:
    for name in (CODE, KEY, ROLE, SEEN, JOINED):
        st.session_state.pop(name, None)
    for name in (LINK_CODE, LINK_KEY):
        if name in st.query_params:
            del st.query_params[name]


def _notify(kind: str, text: str) -> None:
    """A message for the next run (buttons and callbacks run before the page is drawn)."""
    st.session_state[NOTICE] = (kind, text)


def _show_notice() -> None:
    kind, text = st.session_state.pop(NOTICE, (None, ""))
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(text)
    elif kind == "error":
        st.error(text)


# ------------------------------------------------------------------------------ the hooks


def record(lesson_id: str, choice: int | None) -> None:
    """A student's answer to the current lesson: recorded for the class (once per session;
    a new answer replaces it). Nothing happens outside a class or on the presenter's page."""
    if choice is None or not active() or st.session_state.get(ROLE) != STUDENT:
        return
    try:
        _db().record_answer(engine(), st.session_state[CODE], _token(), lesson_id,
                                int(choice), time.time())
    except _db().ClassroomError as problem:
        _notify("warning", str(problem))
    else:
        _notify("success", "Your answer is in. The run appears when the presenter reveals it; "
                "until then you can change your answer and press Check again.")


def offer(settings: Settings) -> None:
    """Outside a class: the panel to open or join one, and what the last attempt said.
    Drawn with the page, not with the runs: opening or joining a class redraws the page."""
    _show_notice()
    _sidebar_panel(settings)


def follow(settings: Settings) -> Settings:
    """Class mode for this run: in a class the page follows the class's lesson and reveal
    (rerunning when they change) and draws the class panel and the presenter's or the
    student's panel. Outside a class (``offer`` draws its panel) it does nothing."""
    if not active():
        return settings
    _show_notice()
    try:
        eng = engine()
        current = _class_state(eng)
        if st.session_state[ROLE] == PRESENTER:
            current = _presenter_sync(eng, settings, current)
        _follow_lesson(settings, current)
    except (_db().ClassNotFound, _db().ClassClosed, _db().ClassFull) as problem:
        _leave()
        st.error(str(problem))
        _sidebar_panel(settings)
        return settings
    except _db().ClassroomError as problem:  # unreachable: keep the class and try at the next run
        st.warning(str(problem))
        _sidebar_panel(settings)
        st.query_params[LINK_CODE] = st.session_state[CODE]
        return settings
    _sidebar_panel(settings)
    _show_notice()
    st.query_params[LINK_CODE] = current.join_code
    if st.session_state[ROLE] == PRESENTER:
        st.query_params[LINK_KEY] = st.session_state[KEY]
        presenter_panel(current)
    else:
        student_panel(current)
    return settings


def _class_state(eng: sa.Engine) -> ClassState:
    """Who this session is in the class (decided once), and the class's state now."""
    now = time.time()
    code = _db().normalise_code(st.session_state[CODE])
    st.session_state[CODE] = code
    if ROLE not in st.session_state:
        key = st.session_state.get(KEY, "")
        if key:
            try:
                _db().check_instructor(eng, code, key, now)
                st.session_state[ROLE] = PRESENTER
            except _db().NotInstructor as problem:
                st.session_state[KEY] = ""
                st.session_state[ROLE] = STUDENT
                _notify("error", str(problem))  # shown after the page has followed the class
        else:
            st.session_state[ROLE] = STUDENT
    if st.session_state[ROLE] == STUDENT and not st.session_state.get(JOINED):
        current = _db().join(eng, code, _token(), now)
        st.session_state[JOINED] = True
        return current
    return _db().state(eng, code, now)


def _presenter_sync(eng: sa.Engine, s: Settings, current: ClassState) -> ClassState:
    """The presenter steers with the page's own controls too: picking another lesson in the
    sidebar moves the class, and "Check" or "Skip and show the run" reveals the run."""
    code, key, now = current.join_code, st.session_state[KEY], time.time()
    # Only a page that was already showing the class's lesson can move it: a page opening
    # the presenter's link follows the class first.
    seen = st.session_state.get(SEEN)
    if s.lesson not in (NO_LESSON, current.lesson_id) and seen == current.lesson_id:
        return _db().set_lesson(eng, code, key, s.lesson, now)
    shown_here = s.lesson == current.lesson_id and state.revealed(s.lesson)
    if shown_here and not current.revealed:
        return _db().reveal(eng, code, key, now)
    return current


def _follow_lesson(s: Settings, current: ClassState) -> None:
    """Show the class's lesson, its run hidden until the class reveals it."""
    presenter_exploring = (st.session_state[ROLE] == PRESENTER and s.lesson == NO_LESSON
                           and SEEN in st.session_state)
    st.session_state[SEEN] = current.lesson_id
    if s.lesson != current.lesson_id and not presenter_exploring:
        state.load_lesson(current.lesson_id)
        st.rerun()
    if current.revealed:
        if not state.revealed(current.lesson_id):
            state.reveal(current.lesson_id, state.answer())
    else:
        state.hide(current.lesson_id)


# ------------------------------------------------------------------------------ sidebar


def _open(lesson_id: str) -> None:
    try:
        code, key = _db().open_class(engine(), lesson_id, time.time())
    except _db().ClassroomError as problem:
        _notify("error", str(problem))
        return
    for name in (JOINED, NOTICE):
        st.session_state.pop(name, None)
    st.session_state.update({CODE: code, KEY: key, ROLE: PRESENTER, SEEN: lesson_id})
    if state.current().lesson != lesson_id:
        state.load_lesson(lesson_id)


def _join_typed() -> None:
    typed = str(st.session_state.get("class_typed") or "")
    try:
        code = _db().normalise_code(typed)
    except _db().ClassroomError as problem:
        _notify("error", str(problem))
        return
    _leave()
    st.session_state[CODE] = code


def _sidebar_panel(s: Settings) -> None:
    if active():
        panel = st.sidebar.expander("Class mode", expanded=True)
    else:  # folded until a teacher or a student opens it: its widgets are drawn only then
        panel = st.sidebar.expander("Class mode", key="x_class", on_change="rerun")
        if not panel.open:
            return
    with panel:
        if not active():
            lesson_id = s.lesson if s.lesson != NO_LESSON else lessons.LESSON_IDS[0]
            st.caption("The room answers each lesson's question on their own devices; your "
                       "screen shows how they answered, then the run.")
            st.button("Open a class on this lesson", key="class_open", on_click=_open,
                      args=(lesson_id,))
            st.text_input("Join a class: its code", key="class_typed", max_chars=16,
                          placeholder="K7QX3M", on_change=_join_typed)
            return
        code = st.session_state[CODE]
        if st.session_state.get(ROLE) == PRESENTER:
            st.markdown("**Students' link**")
            st.code(_link(code), language=None, wrap_lines=True)
            st.markdown("**Your presenter link** — keep it to yourself: it steers the class.")
            st.code(_link(code, st.session_state[KEY]), language=None, wrap_lines=True)
        else:
            st.caption(f"You are in class {code}.")
            st.button("Leave the class", key="class_leave", on_click=_leave)


def _link(code: str, key: str = "") -> str:
    base = (st.context.url or "").split("?")[0] or "/"
    return f"{base}?{LINK_CODE}={code}" + (f"&{LINK_KEY}={key}" if key else "")


# ------------------------------------------------------------------------------ presenter


@st.cache_data(max_entries=16, show_spinner=False)
def qr_png(text: str) -> bytes:
    """``text`` as a QR code, a PNG with a quiet zone, readable from the back of a room."""
    buffer = io.BytesIO()
    _segno().make(text, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


def letter(i: int) -> str:
    return "ABCDEFGH"[i]


def histogram(choices: tuple[str, ...], counts: tuple[int, ...],
              right: int | None = None) -> alt.Chart:
    """One bar per choice (letter and text), its count written at its end; the right answer
    green once it is revealed (``right``)."""
    short = [c if len(c) <= 70 else c[:67].rstrip() + "…" for c in choices]
    table = pd.DataFrame({
        "choice": [f"{letter(i)}  {text}" for i, text in enumerate(short)],
        "answers": list(counts),
        "status": ["right" if i == right else "answer" for i in range(len(choices))],
    })
    top = max(max(counts, default=0), 1)
    base = alt.Chart(table).encode(
        y=alt.Y("choice:N", sort=None, title=None, axis=alt.Axis(labelLimit=520, labelFontSize=15)),
        x=alt.X("answers:Q", title="answers", scale=alt.Scale(domain=[0, top * 1.15]),
                axis=alt.Axis(tickMinStep=1, format="d", labelFontSize=13)),
    )
    bars = base.mark_bar(height=28).encode(
        color=alt.Color("status:N", legend=None,
                        scale=alt.Scale(domain=["answer", "right"], range=["#4c78a8", "#2e9e44"])),
        tooltip=["choice:N", "answers:Q"],
    )
    labels = base.mark_text(align="left", dx=6, fontSize=18, fontWeight="bold").encode(
        text="answers:Q")
    return (bars + labels).properties(height=48 * len(choices))


def _next_lesson(lesson_id: str) -> str | None:
    i = lessons.LESSON_IDS.index(lesson_id)
    return lessons.LESSON_IDS[i + 1] if i + 1 < len(lessons.LESSON_IDS) else None


def _steer(action: str, lesson_id: str | None = None) -> None:
    """A presenter's button: reveal, move to a lesson, or close the class."""
    code, key, now = st.session_state[CODE], st.session_state[KEY], time.time()
    try:
        eng = engine()
        if action == "reveal":
            current = _db().reveal(eng, code, key, now)
            state.reveal(current.lesson_id, state.answer())
        elif action == "lesson" and lesson_id:
            _db().set_lesson(eng, code, key, lesson_id, now)
            st.session_state[SEEN] = lesson_id
            state.load_lesson(lesson_id)
        elif action == "close":
            _db().close(eng, code, key, now)
            _leave()
            _notify("success", f"Class {code} is closed and its answers are deleted.")
    except _db().ClassroomError as problem:
        _notify("error", str(problem))


def presenter_panel(current: ClassState) -> None:
    lesson = lessons.get(current.lesson_id)
    with st.container(border=True, key="class_presenter"):
        left, right = st.columns([1, 2], gap="large")
        with left:
            st.markdown("Join on your phone or laptop:")
            st.image(qr_png(_link(current.join_code)), width=220)
            st.markdown(f"# :blue[{current.join_code}]")
            st.caption(f"or open {_link(current.join_code)}")
        with right:
            _room(current.join_code, current.lesson_id, current.revealed)
            a, b, c = st.columns(3)
            a.button("Reveal the run", key="class_reveal", type="primary",
                     disabled=current.revealed, on_click=_steer, args=("reveal",),
                     width="stretch")
            following = _next_lesson(lesson.id)
            b.button("Next lesson", key="class_next", disabled=following is None,
                     on_click=_steer, args=("lesson", following), width="stretch",
                     help=lessons.get(following).title if following else "This is the last lesson.")
            c.button("Close the class", key="class_close", on_click=_steer, args=("close",),
                     width="stretch", help="Ends the class and deletes its answers.")


@st.fragment(run_every=POLL_SECONDS)
def _room(code: str, lesson_id: str, revealed: bool) -> None:
    """The live count and histogram: redrawn every few seconds, without reloading the page."""
    question = lessons.get(lesson_id).question
    try:
        result = _db().tally(engine(), code, lesson_id)
    except _db().ClassroomError:
        st.warning(UNREACHABLE)
        return
    joined = "1 student has" if result.joined == 1 else f"{result.joined} students have"
    st.markdown(f"**{joined} joined · {result.answered} answered**")
    st.altair_chart(histogram(question.choices, result.counts,
                              question.answer if revealed else None),
                    width="stretch", key="class_histogram")
    st.caption("Answers: " + " · ".join(
        f"{letter(i)} {n}" for i, n in enumerate(result.counts)
    ) + (". The run is shown." if revealed else ". The run is hidden until you reveal it."))


# ------------------------------------------------------------------------------ student


def student_panel(current: ClassState) -> None:
    st.info(
        f"You are in class {current.join_code}: this page follows the presenter's lesson. "
        + ("The run is shown." if current.revealed else
           "Pick your answer and press Check; the run appears when the presenter reveals it."),
        icon=":material/groups:",
    )
    _watch(current.join_code, current.lesson_id, current.revealed)


@st.fragment(run_every=POLL_SECONDS)
def _watch(code: str, lesson_id: str, revealed: bool) -> None:
    """Every few seconds: has the presenter revealed the run or moved on? Then redraw the page."""
    try:
        now = _db().state(engine(), code, time.time())
    except _db().ClassUnreachable:
        return  # keep the lesson; try again at the next tick
    except _db().ClassroomError:
        st.rerun()  # closed or expired: the page says so and leaves the class
    if (now.lesson_id, now.revealed) != (lesson_id, revealed):
        st.rerun()
