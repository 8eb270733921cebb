"""losslab — see how neural networks are optimised. Run with ``streamlit run app.py``.

One pipeline per rerun: the settings (from the link, then the sidebar) → the scene (the
surface, its runs, their stability; ``ui/scene.py``) → the view that draws it (``ui/views.py``).
All maths lives in ``losslab/``.

The page has two parts. What it is about (lesson, view, surface) and the settings that change
now and then (how many optimisers, their shared settings, the schedule, the display) are drawn
by ``main``; a change there redraws everything. What the runs do (each run's optimiser and
learning rate, the start, the steps) and the view are drawn by ``lab``, a fragment: a change
there reruns and redraws only the lab. Runs of one server process take turns (``ui/turns.py``).
"""

from __future__ import annotations

import streamlit as st

from losslab import settings as settings_rules
from losslab.settings import CUSTOM
from ui import browser, classroom, scene, sidebar, state, turns, views
from ui.text import plain

# isort: split
from ui import imported  # noqa: F401  (last: it freezes what the imports allocated)

TITLE = "losslab — loss surfaces and gradients"
# A falling loss curve over a grid, drawn inline: an emoji icon made Streamlit load its emoji
# catalogue (~60 ms of a cold start), a Material icon is fetched from another server.
ICON = ("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
        "<rect width='16' height='16' rx='3' fill='%23f0f2f6'/>"
        "<path d='M2 3 C4 9 7 12 14 13' fill='none' stroke='%231c83e1' stroke-width='2'/>"
        "<circle cx='14' cy='13' r='1.6' fill='%23d62728'/></svg>")


def page(presenter: bool) -> None:
    """Page set-up, and what the opening link asked for that could not be used."""
    # A presenter's link opens with the sidebar folded away: the figure gets the projector.
    st.set_page_config(
        page_title=TITLE, page_icon=ICON, layout="wide",
        initial_sidebar_state="collapsed" if presenter else "auto",
    )
    warnings = state.link_warnings()
    if warnings:
        st.warning(
            "Some of the link could not be used, so the page opened with what was valid:\n\n"
            + "\n".join(f"- {plain(w)}" for w in warnings)
        )
    browser.page_style()
    if presenter:
        browser.presenter_style()
    else:
        st.title("Loss surfaces and gradients")


def lab(fragment: bool = False) -> None:
    """The run controls, the scene they make and its view."""
    if fragment and (state.take_redraw() or classroom.active()):
        st.rerun()  # a move re-seeded every widget, or a class began: redraw the whole page
    before = state.current()
    controls = sidebar.controls(before)
    settings = classroom.follow(controls.settings)  # in a class: its lesson and its reveal
    current = scene.build(settings, state.uploaded())
    fitted = settings_rules.fit_dimension(settings, current.dim)
    if fitted != settings:  # a typed formula changed dimension: redraw the controls to match
        state.replace_all(fitted)
        st.rerun()
    state.store(settings)
    if fragment and settings.presenter != before.presenter:
        st.rerun()  # presenter mode changes the page itself
    sidebar.share_panel(settings, lambda: current.windows)
    views.draw(current, controls)
    if settings.surface == CUSTOM:
        st.caption("Formulas are read by a strict parser: only numbers, w/w1/w2/b, x, y, "
                   "operators and the listed functions are accepted.")


lab_fragment = st.fragment(turns.in_turn(lab))


def main() -> None:
    classroom.take_from_link()  # ?class= and ?key= are not settings
    state.take_redraw()  # this run draws everything
    settings = state.current()
    page(settings.presenter)
    picked = sidebar.pickers(settings)
    if not classroom.active():
        classroom.offer(picked)
    # Drawn with the page, before the lab: the lab's sidebar controls come after them.
    state.keep(sidebar.page_settings(picked))
    if classroom.active():
        lab()  # a class's panels poll in fragments of their own, which may not nest
    else:
        lab_fragment(fragment=True)


if __name__ == "__main__":
    turns.in_turn(main)()
