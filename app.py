"""losslab — see how neural networks are optimised.

UI only: widgets, layout and calls into ``losslab``. Run with ``streamlit run app.py``.
The sidebar and views live in ``ui/``; all maths lives in ``losslab/``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from losslab import expressions, permalink, stability, surfaces
from losslab.permalink import CUSTOM, Settings
from ui import browser, classroom, compute, sidebar, state, views
from ui.text import plain

TITLE = "losslab — loss surfaces and gradients"


_REGIME_WORDS = {
    "monotone": "creeps straight to the minimum",
    "oscillating": "overshoots and oscillates, but converges",
    "borderline": "bounces between two points for ever",
    "diverging": "overshoots further each step: it diverges",
}


def stability_note(s: Settings):
    """Returns the callback the optimiser section calls with the first run's optimiser and rate:
    the stability bound goes right under the learning-rate control."""

    def note(name: str, learning_rate: float) -> None:
        if s.view == "nn":
            return
        if s.surface == "single_point":
            curvature = 2.0 * s.x * s.x
            if curvature == 0:
                st.sidebar.info("With x = 0 the loss is flat in w: no learning rate moves w.")
                return
            bound = stability.gd_bound(curvature)
            st.sidebar.caption(
                f"L''(w) = 2x² = {curvature:.3g}, so gradient descent converges only for "
                f"lr < 2/L'' = 1/x² = {bound:.3g}; above 1/(2x²) = {bound / 2:.3g} it oscillates."
            )
        else:
            try:
                curvature = stability.largest_curvature(views.current_surface(s), s.start)
            except (ValueError, ArithmeticError):
                return
            if not np.isfinite(curvature):
                return
            if curvature <= 0:
                st.sidebar.caption(
                    f"λmax = {curvature:.3g} at the start: the surface curves down there, so no "
                    "learning rate overshoots yet."
                )
                return
            bound = stability.gd_bound(curvature)
            st.sidebar.caption(
                f"At the start the largest curvature is λmax = {curvature:.3g}: plain gradient "
                f"descent is stable for lr < 2/λmax = {bound:.3g}."
            )
        if name not in ("sgd",):
            st.sidebar.caption("(The bound is for plain gradient descent; other optimisers "
                               "rescale their steps.)")
            return
        regime = stability.regime(learning_rate, curvature)
        message = f"lr = {learning_rate:g}: gradient descent {_REGIME_WORDS[regime]}."
        if regime == "diverging":
            st.sidebar.warning(message)
        else:
            st.sidebar.caption(message)

    return note


def consistent_view(s: Settings) -> Settings:
    """A two-weight surface opens in the two-weight view and a one-weight one in the lesson
    view, whichever way it was chosen (a lesson, a link)."""
    dim = surfaces.SURFACES[s.surface].dim if s.surface in surfaces.SURFACES else None
    if s.surface == CUSTOM:
        try:
            dim = compute.compiled_formula(expressions.normalise(s.expr), s.x, s.y_true).surface.dim
        except expressions.ExpressionError:
            dim = None  # the view explains the error
    view = s.view
    if dim == 2 and view == "lesson":
        view = "surface"
    elif dim == 1 and view in ("surface", "compare", "sweep"):
        view = "lesson"
    start = s.start
    if dim is not None and len(start) != dim:
        start = permalink.default_start(s.surface) if s.surface != CUSTOM else (-1.0,) * dim
    if (view, start) == (s.view, s.start):
        return s
    for key in [k for k in st.session_state if str(k).startswith(state.widget_key("start_"))]:
        del st.session_state[key]
    st.session_state.pop(state.widget_key("view"), None)
    return dataclasses.replace(s, view=view, start=start)


def controls(s: Settings) -> Settings:
    """Draw the sidebar; return the settings its widgets now hold."""
    s = consistent_view(s)
    sidebar.lesson_picker(s)
    view = sidebar.view_picker(s)
    changes: dict[str, object] = {}
    if view == "nn":
        changes.update(sidebar.nn_controls(s))
    else:
        changes.update(sidebar.surface_controls(s, view))
        if view == "lesson" and s.surface == "single_point":
            changes.update(sidebar.w_range_controls(s))
    changes.update(sidebar.optimizer_controls(s, view, stability_note(s)))
    dim = 1 if view == "lesson" else 2
    data_driven = view == "nn" or (
        s.surface in surfaces.SURFACES and surfaces.SURFACES[s.surface].data is not None
    )
    changes.update(sidebar.run_controls(s, dim, data_driven) if view != "nn" else
                   sidebar.nn_run_controls(s))
    changes.update(sidebar.display_controls(s, view))
    new, problems = sidebar.safe_replace(s, changes)
    for problem in problems:
        st.sidebar.warning(plain(problem))
    return new


def link_panel(s: Settings) -> None:
    """The page's link, ready to copy (the code block has a copy button).

    The link changes with every setting, so it is drawn only while the panel is open: a folded
    panel costs the browser nothing on a rerun (redrawing the code block cost ~30 ms a press)."""
    panel = st.sidebar.expander("Share this view", key="x_share", on_change="rerun")
    if not panel.open:
        return
    query = permalink.to_query(s)
    base = (st.context.url or "").split("?")[0]
    text = base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    with panel:
        st.code(text or "(the opening view)", language=None, wrap_lines=True)
        st.caption("The link holds every setting shown here, so others see exactly this view.")


def main() -> None:
    classroom.take_from_link()  # ?class= and ?key= are not settings
    settings = state.current()
    # A presenter's link opens with the sidebar folded away: the figure gets the projector.
    st.set_page_config(
        page_title=TITLE, page_icon="📉", layout="wide",
        initial_sidebar_state="collapsed" if settings.presenter else "auto",
    )
    warnings = st.session_state.get(state.LINK_WARNINGS) or []
    if warnings:
        st.warning(
            "Some of the link could not be used, so the page opened with what was valid:\n\n"
            + "\n".join(f"- {plain(w)}" for w in warnings)
        )
    settings = controls(settings)
    consistent = consistent_view(settings)
    state.store(consistent)
    if consistent != settings:
        st.rerun()  # a typed formula changed dimension: redraw the controls to match
    link_panel(settings)
    settings = classroom.follow(settings)  # class mode: the class sets the lesson and reveal
    if settings.presenter:
        browser.presenter_style()
    if not settings.presenter:
        st.title("Loss surfaces and gradients")
    if settings.view == "nn":
        views.nn_view(settings)
    elif settings.view in ("surface", "compare"):
        views.surface_view(settings)
    elif settings.view == "sweep":
        views.surface_view(settings, sweep=True)
    else:
        views.lesson_view(settings)
    if settings.surface == CUSTOM:
        st.caption("Formulas are read by a strict parser: only numbers, w/w1/w2/b, x, y, "
                   "operators and the listed functions are accepted.")


if __name__ == "__main__":
    main()
