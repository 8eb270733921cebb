"""Everything a session remembers, in one place: its settings (mirrored in the link), its
uploaded rows and which lesson's answer it has revealed.

The single source of truth for the settings is ``st.session_state["settings"]`` (a frozen
``Settings``). Widgets are seeded from it by key before they are drawn, so a widget that was
hidden for a while (and lost its own state, as Streamlit does) comes back with the value the
learner left. Only class mode (``ui/classroom.py``) keeps keys of its own besides these.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

from losslab import permalink, settings
from losslab.settings import Settings

SETTINGS = "settings"
_LINK_WARNINGS = "link_warnings"
_UPLOADED = "uploaded_data"
_LINKED = "linked_settings"
_REVEALED = "revealed"
_ANSWER = "answer"
_WIDGET_PREFIX = "w_"
"""Widget keys start with this, so they can be cleared together when a lesson loads."""


def widget_key(name: str) -> str:
    return _WIDGET_PREFIX + name


def current() -> Settings:
    """This session's settings; on its first run, the ones the link describes."""
    if SETTINGS not in st.session_state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        parsed, warnings = permalink.parse_query(query)
        st.session_state[SETTINGS] = parsed
        st.session_state[_LINK_WARNINGS] = warnings
    return st.session_state[SETTINGS]


def link_warnings() -> list[str]:
    """What the opening link asked for that could not be used, in words."""
    return st.session_state.get(_LINK_WARNINGS) or []


CLASS_KEYS = ("class", "key")
"""Class mode's own link keys (``ui/classroom.py``): not settings, kept in the address bar."""


def keep(new: Settings) -> None:
    """Keep ``new`` as this session's settings (``store`` also writes the link)."""
    st.session_state[SETTINGS] = new


def store(new: Settings) -> None:
    """Keep ``new`` and mirror it in the address bar (only what differs from defaults)."""
    st.session_state[SETTINGS] = new
    if st.session_state.get(_LINKED) == new:
        return  # the link already says this (most reruns: a chart or a panel changed)
    st.session_state[_LINKED] = new
    query = permalink.to_query(new)
    query.update({k: st.query_params[k] for k in CLASS_KEYS if k in st.query_params})
    if query != {key: st.query_params.get(key) for key in st.query_params}:
        st.query_params.from_dict(query)


def seed(key: str, value: object) -> str:
    """Give widget ``key`` its value from the settings unless it already holds one."""
    full = widget_key(key)
    if full not in st.session_state:
        st.session_state[full] = value
    return full


def widget_value(key: str, default: object = None) -> object:
    """The value a widget drawn with ``key`` holds (``default`` before it is drawn)."""
    return st.session_state.get(widget_key(key), default)


_REDRAW = "redraw_page"


def replace_all(new: Settings) -> None:
    """Switch to ``new`` wholesale (a lesson, a surface, a view): widgets re-seed from it,
    all of them, so the whole page is redrawn (``take_redraw``)."""
    st.session_state[SETTINGS] = new
    st.session_state[_REDRAW] = True
    st.session_state.pop(_REVEALED, None)
    for key in [k for k in st.session_state if str(k).startswith(_WIDGET_PREFIX)]:
        del st.session_state[key]


def take_redraw() -> bool:
    """Whether a move since the last run re-seeded every widget, so the whole page, not just
    the runs and their view, must be drawn again (asked once)."""
    return bool(st.session_state.pop(_REDRAW, False))


# ---------------------------------------------------------------------------- sidebar moves
# Callbacks of the pickers: each applies one of ``settings``' pure moves.


def load_lesson(lesson_id: str) -> None:
    """Open ``lesson_id`` (a class moving on does this, as the lesson picker does)."""
    replace_all(settings.with_lesson(current(), lesson_id))


def pick_lesson() -> None:
    load_lesson(st.session_state[widget_key("lesson")])


def pick_surface() -> None:
    replace_all(settings.with_surface(current(), st.session_state[widget_key("surface")]))


def pick_schedule() -> None:
    """A new schedule may start a setting elsewhere than it was (``settings.with_schedule``:
    cosine's period at the run's steps): that widget takes the new value."""
    old = current()
    new = settings.with_schedule(old, st.session_state[widget_key("schedule")])
    if new.period != old.period:
        st.session_state[widget_key("period")] = new.period


def pick_view() -> None:
    old = current()
    new = settings.with_view(old, st.session_state[widget_key("view")])
    replace_all(new)


def pick_network(trained: bool) -> None:
    """The network view's presets: a network that has learned, or one stopped after 30 steps."""
    import dataclasses

    from losslab import nn

    config = nn.DEFAULT if trained else nn.UNDERTRAINED
    replace_all(dataclasses.replace(current(), **settings.network_opening(config)))


_PICKED = "picked_start"


def start_picked(point: tuple[float, float]) -> bool:
    """A point clicked on the map: when it is a new click, the runs restart there (the link
    records it) and ``True`` is returned. The chart keeps reporting its last click, so the
    same point is applied once."""
    if st.session_state.get(_PICKED) == point:
        return False
    st.session_state[_PICKED] = point
    import dataclasses

    start = tuple(min(max(round(v, 4), -100.0), 100.0) for v in point)
    replace_all(dataclasses.replace(current(), start=start, starts=(), step=None))
    return True


# ---------------------------------------------------------------------------- uploaded rows


class Rows(NamedTuple):
    x: np.ndarray
    y: np.ndarray


def uploaded() -> Rows | None:
    """The learner's own rows (x, y), if any: per session, never in the link."""
    rows = st.session_state.get(_UPLOADED)
    return None if rows is None else Rows(*rows)


def keep_uploaded(x: np.ndarray, y: np.ndarray) -> None:
    st.session_state[_UPLOADED] = (x, y)


def drop_uploaded() -> None:
    st.session_state.pop(_UPLOADED, None)


_FLASH = "flash"


def flash(text: str) -> None:
    """A sentence to show once, on the next run (after a rerun that redraws the page)."""
    st.session_state[_FLASH] = text


def take_flash() -> str:
    return st.session_state.pop(_FLASH, "")


# ---------------------------------------------------------------------------- lesson answers


def revealed(lesson: str) -> bool:
    """Whether this session has answered (or skipped) ``lesson``'s question."""
    return st.session_state.get(_REVEALED) == lesson


def reveal(lesson: str, answer: int | None) -> None:
    """Record the answer (``None``: skipped) and show the run."""
    st.session_state[_REVEALED] = lesson
    st.session_state[_ANSWER] = answer


def hide(lesson: str) -> None:
    """Hide ``lesson``'s run again (a class that has not revealed it yet)."""
    if revealed(lesson):
        st.session_state.pop(_REVEALED, None)


def answer() -> int | None:
    return st.session_state.get(_ANSWER)
