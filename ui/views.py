"""The main area: one function per view, each drawing a ``Scene`` and nothing else."""

from __future__ import annotations

import numpy as np
import streamlit as st

from losslab import charts
from ui import browser, compute, panels, questions, state, sweeps
from ui.chart import METRICS_WIDTH, panel_map_size, presenter_scale, show, show_panels
from ui.scene import Scene
from ui.sidebar import Controls
from ui.text import plain


def draw(scene: Scene, controls: Controls) -> None:
    """Draw the view the scene's settings ask for; the stability note goes into the place the
    sidebar kept for it under the learning-rate control."""
    stability_note(scene, controls.stability_slot)
    view = scene.settings.view
    if view == "nn":
        nn_view(scene)
    elif view == "lesson":
        one_weight_view(scene)
    else:
        two_weight_view(scene, gradient_field=controls.gradient_field)


def stability_note(scene: Scene, slot) -> None:
    """The bound lr < 2/λmax and how the first run's rate meets it, under its control."""
    a = scene.assessment
    if slot is None or a is None:
        return
    with slot.container():
        if a.curvature == 0:  # flat, or straight pieces: no bound to hold the rate against
            st.info(a.lines[0])
            return
        for line in a.lines[:-1]:
            st.caption(line)
        if len(a.lines) > 1:
            (st.warning if a.warning else st.caption)(a.lines[-1])


def window_names(scene: Scene) -> tuple[str, ...]:
    return tuple(w.name for w in scene.windows)


def _problem(scene: Scene) -> bool:
    """Say why there is nothing to draw; ``True`` if so."""
    if scene.surface is not None:
        return False
    st.error(plain(scene.problem))
    if scene.source == "formula":
        st.caption("Your text is kept in the box: edit it and press Enter.")
    return True


def formula_block(scene: Scene, *, brief: bool = False) -> None:
    compiled, surface = scene.formula, scene.surface
    if compiled is not None:
        st.latex(compiled.latex)
        with st.expander("Gradient and Hessian (worked out symbolically)"):
            for line in compiled.grad_latex:
                st.latex(line)
            for row in compiled.hessian_latex:
                for line in row if isinstance(row, (list, tuple)) else [row]:
                    st.latex(line)
    elif surface.latex and not brief:
        if surface.latex_narrow:  # both drawn, the browser shows the one that fits its width
            with st.container(key="formula-wide"):
                st.latex(surface.latex)
            with st.container(key="formula-narrow"):
                st.latex(surface.latex_narrow)
        else:
            st.latex(surface.latex)
    for note in scene.notes:
        st.info(plain(note))
    if compiled is None and surface.teaches:
        st.caption(surface.teaches)


def _runs_or_problem(scene: Scene, shown: bool):
    """The runs when shown; an unusable start is explained in words."""
    if not shown:
        return []
    histories, problem = scene.outcome
    if problem:
        st.error(f"The runs cannot start: {plain(problem)}. Choose another start point.")
    return histories


# ------------------------------------------------------------------------------ one weight


def one_weight_view(scene: Scene) -> None:
    """One weight: the course chapter's figure, with every run drawn on it."""
    if _problem(scene):
        return
    s, surface = scene.settings, scene.surface
    if surface.dim != 1:
        st.info("This formula has two weights: open the “Two weights” view to see it.")
        return
    if s.surface == "single_point":
        st.markdown(
            "$L(w) = (w\\cdot x - y_{true})^2$, and its slope "
            "$\\frac{dL}{dw} = 2(w\\cdot x - y_{true})\\,x$ — "
            f"here with x = {s.x:g} and y_true = {s.y_true:g}."
        )
        for note in scene.notes:  # what the work budget lowered, as every other view says
            st.info(plain(note))
    else:
        formula_block(scene)
    histories = _runs_or_problem(scene, questions.gate(scene))
    scale = presenter_scale(s)
    width, height = int(320 * scale), int(280 * scale)
    window, _ = scene.rate_window if histories else (None, "")
    if window is not None:  # the loss and gradient panels, stacked on a phone
        if scene.source == "registry":
            figure = sweeps.whatif_lesson(
                compute.surface_key(scene.runs), compute.run_key(scene.runs),
                window_names(scene), (s.w_min, s.w_max), s.step, width, height)
        else:
            figure = charts.whatif_lesson_panels(surface, window, w_range=(s.w_min, s.w_max),
                                                 step=s.step, width=width, height=height,
                                                 as_frames=True)
        show_panels(figure, s, "lesson_chart", widths=(1, 1))
    else:  # the same two panels, at the sidebar's rates
        curve, path = charts.lesson_frames(
            surface, list(zip(scene.names, histories, strict=True)) if histories else None,
            w_range=(s.w_min, s.w_max),
        )
        # The specs are cached by the runs' names and length; only this run's rows are new.
        skeletons = compute.lesson_panels(charts.lesson_shape(path), s.step, width, height)
        show_panels(charts.fill_lesson_panels(skeletons, curve, path, width=width), s,
                    "lesson_chart", widths=(1, 1))
    if not histories:
        return
    if window is not None:  # the panels' shared controls play the run themselves
        browser.rate_hint()
    questions.result(scene)
    first = histories[0]
    st.write(
        "At the start, "
        + charts.step_sentence(float(first.params[0, 0]), float(first.grad[0, 0]))
        + "."
    )
    bound = scene.assessment.bound if scene.assessment else None
    rates = scene.runs.rates()
    for name, h, rate in zip(scene.names, histories, rates, strict=True):
        last = len(h) - 1
        prefix = f"{name}: " if len(histories) > 1 else ""
        # The chart may show another rate than the sidebar's: say which one these numbers are.
        at = f" at lr = {rate:g} (the sidebar's)" if window is not None else ""
        if h.diverged_at is not None:
            hint = (f" Lower the learning rate below {bound:.3g}."
                    if bound is not None and np.isfinite(bound) else "")
            st.warning(
                f"{prefix}Diverged at step {h.diverged_at}{at}: w ran away, so the path is "
                f"drawn up to step {last}.{hint}"
            )
        else:
            w, g = float(h.params[last, 0]), float(h.grad[last, 0])
            st.write(
                f"{prefix}After {last} steps{at} w = {w:.4g} with loss {h.loss[last]:.3g}; "
                f"{charts.step_sentence(w, g)}."
            )
    st.caption(
        "Drag the Step slider under the chart to walk through the run; the black tangent's "
        "slope is the gradient."
    )
    panels.details(scene)


# ------------------------------------------------------------------------------ two weights


def two_weight_view(scene: Scene, *, gradient_field: bool = False) -> None:
    """Two weights: the surface map with every run's path, the metrics and the panels."""
    if _problem(scene):
        return
    s, surface = scene.settings, scene.surface
    if surface.dim != 2:
        st.info("This formula has one weight: open the “One weight” view to see it.")
        return
    formula_block(scene, brief=s.presenter)
    if s.surface == "linear_regression" and not s.presenter:
        panels.upload(scene)
    histories = _runs_or_problem(scene, questions.gate(scene))
    legend = scene.legend(histories)
    grid = scene.grid
    if not np.isfinite(grid.values).any():
        st.error("The formula is undefined everywhere in the window, so there is nothing to draw.")
        return
    undefined = float(np.mean(~np.isfinite(grid.values)))
    if undefined > 0:
        st.info(
            f"The loss is undefined on {undefined:.0%} of this window (for example a log of a "
            "negative number); those places are left blank."
        )
    size = panel_map_size(s)  # the map and the loss charts, stacked on a phone
    field = gradient_field
    windows = scene.windows if histories else None
    if windows is not None:  # the figure's legend names runs without their rate
        legend = scene.legend(histories, window_names(scene))
        if scene.source == "registry":
            figure = sweeps.whatif_map(compute.surface_key(scene.runs),
                                        compute.run_key(scene.runs), window_names(scene),
                                        s.resolution, s.step, size, field)
        else:
            background = charts.surface_map(surface, grid, size=size,
                                            show_gradient_field=field).to_dict(validate=False)
            figure = sweeps.whatif_map_of(surface, scene.rate_window[0], background, s.step)
        # The map's column a little wider than its share: on a desktop it is drawn as large
        # as the single figure drew it, the loss charts a little smaller.
        picked = show_panels(figure, s, "surface_chart", widths=(size + 90, METRICS_WIDTH + 60),
                             pick=not s.presenter)
    else:  # the same two panels: the map, and the loss (and rate) charts
        if scene.source == "registry":
            figure = compute.map_panels(compute.surface_key(scene.runs),
                                        compute.run_key(scene.runs), s.resolution,
                                        tuple(legend), s.step, size, field)
        else:
            figure = compute.map_panels_of(surface, grid,
                                           list(zip(legend, histories, strict=False)), s.step,
                                           size, rates=s.schedule != "constant", field=field)
        widths = (size + 90, METRICS_WIDTH + 60)[:len(figure)]
        picked = show_panels(figure, s, "surface_chart", widths=widths, pick=not s.presenter)
    if picked is not None and state.start_picked(picked):
        st.rerun()  # the runs restart from the point clicked on the map
    if not histories:
        return
    if windows is not None:  # the panels' shared controls play the run themselves
        browser.rate_hint()
    questions.result(scene)
    if scene.story:
        st.info(scene.story)
    if scene.assessment is not None:
        st.caption(scene.assessment.lines[0])
    if windows is None:
        panels.summaries(scene)
    if s.presenter:
        return
    if surface.data is not None:
        panels.data_space(scene, legend)
    panels.slices(scene)
    panels.three_d(scene)
    panels.details(scene)


# ------------------------------------------------------------------------------ network


def nn_view(scene: Scene) -> None:
    s = scene.settings
    st.subheader("A real neural network's loss landscape")
    for note in scene.notes:
        st.info(plain(note))
    exp, problem = scene.network
    if exp is None:
        st.error(f"The network cannot be trained with these settings: {plain(problem)}")
        return
    if exp.training.diverged_at is None:
        st.write(exp.message)
    else:
        st.warning(exp.message)
    left, right = st.columns(2)
    show(charts.nn_decision_chart(exp), s, "nn_decision", left)
    show(charts.nn_loss_chart(exp), s, "nn_loss", right)
    left, right = st.columns(2)
    show(charts.nn_interpolation_chart(exp), s, "nn_interp", left)
    show(charts.nn_landscape_chart(exp, kind="random"), s, "nn_random", right)
    show(charts.nn_landscape_chart(exp, kind="pca"), s, "nn_pca")
    st.info(exp.caution)
