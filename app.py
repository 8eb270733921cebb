"""losslab — see how neural networks are optimised. Run with ``streamlit run app.py``.

One pipeline per rerun: the settings (from the link, then the sidebar) → the scene (the
surface, its runs, their stability; ``ui/scene.py``) → the view that draws it (``ui/views.py``).
All maths lives in ``losslab/``.
"""

from __future__ import annotations

import streamlit as st

from losslab import settings as settings_rules
from losslab.settings import CUSTOM
from ui import browser, classroom, scene, sidebar, state, views
from ui.text import plain

TITLE = "losslab — loss surfaces and gradients"


def page(presenter: bool) -> None:
    """Page set-up, and what the opening link asked for that could not be used."""
    # A presenter's link opens with the sidebar folded away: the figure gets the projector.
    st.set_page_config(
        page_title=TITLE, page_icon="📉", layout="wide",
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


def main() -> None:
    classroom.take_from_link()  # ?class= and ?key= are not settings
    settings = state.current()
    page(settings.presenter)
    controls = sidebar.controls(settings)
    settings = classroom.follow(controls.settings)  # in a class: its lesson and its reveal
    current = scene.build(settings, state.uploaded())
    fitted = settings_rules.fit_dimension(settings, current.dim)
    if fitted != settings:  # a typed formula changed dimension: redraw the controls to match
        state.replace_all(fitted)
        st.rerun()
    state.store(settings)
    sidebar.share_panel(settings, lambda: current.windows)
    views.draw(current, controls)
    if settings.surface == CUSTOM:
        st.caption("Formulas are read by a strict parser: only numbers, w/w1/w2/b, x, y, "
                   "operators and the listed functions are accepted.")


if __name__ == "__main__":
    main()
