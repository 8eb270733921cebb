"""The learning-rate schedule's widgets, drawn from the schedule registry's own description of
each schedule and its parameters (``losslab.schedules.SPECS``)."""

from __future__ import annotations

import streamlit as st

from losslab import schedules
from losslab.settings import FIELD, Settings
from ui import state
from ui.state import seed


def _schedule_label(name: str) -> str:
    return schedules.SPECS[name].label


_CHOICE_WORDS = {"cos": "Half a cosine", "linear": "Straight line",
                 "rel": "Share of the best loss (rel)", "abs": "Loss units (abs)"}


def _choice_text(value: str) -> str:
    return _CHOICE_WORDS.get(value, value)


def schedule_controls(s: Settings) -> dict[str, object]:
    """The schedule menu, its one-line explanation and the chosen schedule's own settings,
    each widget drawn from the schedule registry's description of its parameter."""
    name = st.selectbox(
        "Schedule", FIELD["schedule"].choices, key=seed("schedule", s.schedule),
        help=FIELD["schedule"].help, format_func=_schedule_label, on_change=state.pick_schedule,
    )
    st.caption(schedules.SPECS[name].explanation)
    changes: dict[str, object] = {"schedule": name}
    for p in schedules.SPECS[name].params:
        changes[p.key] = _schedule_param(p, getattr(s, p.key))
    return changes


def _schedule_param(p: schedules.ScheduleParam, value: object) -> object:
    """One schedule parameter's widget (keyed by its link key, shared by the schedules that
    share the key): a toggle, a menu, or a number box; ``None`` where empty means the run."""
    key = seed(p.key, value)
    if p.kind == "bool":
        return st.toggle(p.label, key=key, help=p.help)
    if p.kind == "choice":
        return st.selectbox(p.label, p.choices, key=key, help=p.help, format_func=_choice_text)
    if p.kind == "int":
        return st.number_input(
            p.label, min_value=int(p.min_value), max_value=int(p.max_value), step=int(p.step),
            key=key, help=p.help, placeholder="the whole run" if p.default is None else None,
        )
    return st.number_input(
        p.label, min_value=float(p.min_value), max_value=float(p.max_value),
        step=float(p.step), key=key, help=p.help, format="%g",
    )
