"""The page's settings: read from the link once, kept per session, mirrored back to the link.

The single source of truth is ``st.session_state["settings"]`` (a frozen ``Settings``). Widgets
are seeded from it by key before they are drawn, so a widget that was hidden for a while (and
lost its own state, as Streamlit does) comes back with the value the learner left.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from losslab import lessons, permalink
from losslab.permalink import Settings

SETTINGS = "settings"
LINK_WARNINGS = "link_warnings"
_WIDGET_PREFIX = "w_"
"""Widget keys start with this, so they can be cleared together when a lesson loads."""


def widget_key(name: str) -> str:
    return _WIDGET_PREFIX + name


def current() -> Settings:
    """This session's settings; on its first run, the ones the link describes."""
    if SETTINGS not in st.session_state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        settings, warnings = permalink.parse_query(query)
        st.session_state[SETTINGS] = settings
        st.session_state[LINK_WARNINGS] = warnings
    return st.session_state[SETTINGS]


def store(settings: Settings) -> None:
    """Keep ``settings`` and mirror them in the address bar (only what differs from defaults)."""
    st.session_state[SETTINGS] = settings
    query = permalink.to_query(settings)
    if query != {key: st.query_params.get(key) for key in st.query_params}:
        st.query_params.from_dict(query)


def seed(key: str, value: object) -> str:
    """Give widget ``key`` its value from the settings unless it already holds one."""
    full = widget_key(key)
    if full not in st.session_state:
        st.session_state[full] = value
    return full


def _forget_widgets() -> None:
    for key in [k for k in st.session_state if str(k).startswith(_WIDGET_PREFIX)]:
        del st.session_state[key]


def replace_all(settings: Settings) -> None:
    """Switch to ``settings`` wholesale (a lesson, a reset): widgets re-seed from them."""
    st.session_state[SETTINGS] = settings
    st.session_state.pop("revealed", None)
    _forget_widgets()


def load_lesson(lesson_id: str) -> None:
    """Callback of the lesson picker: open that lesson's scenario (or free exploration)."""
    old = current()
    if lesson_id == permalink.NO_LESSON:
        replace_all(dataclasses.replace(old, lesson=permalink.NO_LESSON))
    else:
        replace_all(lessons.apply(lessons.get(lesson_id), old))
