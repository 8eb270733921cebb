"""Predict first: a lesson asks its question before the run is shown, then explains the run."""

from __future__ import annotations

import streamlit as st

from losslab import lessons
from losslab.settings import NO_LESSON
from ui import classroom, state
from ui.scene import Scene


def gate(scene: Scene) -> bool:
    """Ask the lesson's question before the run; ``True`` once answered or skipped."""
    s = scene.settings
    if s.lesson == NO_LESSON:
        return True
    lesson = lessons.get(s.lesson)
    st.subheader(lesson.title)
    st.write(lesson.notice)
    if state.revealed(s.lesson):
        return True
    with st.container(border=True):
        st.markdown("**Predict first.** " + lesson.question.prompt)
        picked = st.radio(
            "Your answer", lesson.question.choices, index=None, key=f"answer_{s.lesson}",
            label_visibility="collapsed",
        )
        choice = None if picked is None else lesson.question.choices.index(picked)
        left, right = st.columns([1, 5])
        if left.button("Check", type="primary", disabled=choice is None, key="check"):
            state.reveal(s.lesson, choice)
            classroom.record(s.lesson, choice)  # in a class, the room's answer is counted
            st.rerun()
        if right.button("Skip and show the run", key="skip"):
            state.reveal(s.lesson, None)
            st.rerun()
    st.caption("The run is hidden until you answer, so you can predict what it will do.")
    return False


def result(scene: Scene) -> None:
    """After the reveal: right or not, and the explanation filled with the run's numbers."""
    s = scene.settings
    if s.lesson == NO_LESSON or not state.revealed(s.lesson):
        return
    lesson = lessons.get(s.lesson)
    answer = state.answer()
    right = lesson.question.choices[lesson.question.answer]
    try:
        words = lessons.explain(lesson, lessons.live_facts(s, scene.surface, scene.histories))
    except (ValueError, IndexError):
        words = ""
    if answer is None:
        st.info(f"The answer: {right}\n\n{words}")
    elif answer == lesson.question.answer:
        st.success(f"Right: {right}\n\n{words}")
    else:
        st.warning(f"Not quite. The answer: {right}\n\n{words}")
