"""The main area: one function per view, each drawing from settings and cached results."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import altair as alt
import numpy as np
import streamlit as st

from losslab import (
    charts,
    descent,
    export,
    expressions,
    grids,
    landscape,
    ledger,
    lessons,
    optimizers,
    stability,
    userdata,
)
from losslab.descent import History
from losslab.permalink import CUSTOM, NO_LESSON, Settings
from losslab.surfaces import Surface
from ui import browser, classroom, compute
from ui.sidebar import FIELD_KEY, OPTIMIZER_LABELS
from ui.text import plain

SWEEP_FACTORS = (0.5, 1.0, 2.0, 4.0)
UPLOADED = "uploaded_data"


def run_names(s: Settings) -> list[str]:
    """Legend names: the optimiser, with its learning rate when two runs share a name."""
    names = [OPTIMIZER_LABELS[n].split(" (")[0] for n in s.optimizers]
    rates = s.rates()
    out = []
    for i, (name, lr) in enumerate(zip(names, rates, strict=True)):
        label = f"{name}, lr {lr:g}" if names.count(name) > 1 or len(set(rates)) > 1 else name
        out.append(label if label not in out else f"{label} ({i + 1})")
    return out


def presenter_scale(s: Settings) -> float:
    """Presenter mode draws the figure a little larger, still fitting a 1280×720 projector."""
    return 1.15 if s.presenter else 1.0


_PRESENTER_CONFIG = {
    "axis": {"labelFontSize": 15, "titleFontSize": 17},
    "legend": {"labelFontSize": 15, "titleFontSize": 16, "labelLimit": 320},
    "title": {"fontSize": 20},
    "text": {"fontSize": 16},
}


def show(spec: dict | alt.TopLevelMixin, s: Settings, key: str, container=st) -> None:
    """Draw a chart spec (built by ``charts.compose``, or an Altair chart), larger type on a
    projector. Specs are passed as dictionaries so Altair does not copy and re-validate them."""
    if not isinstance(spec, dict):
        spec = spec.to_dict(validate=False)
    config = {**spec.get("config", {}), "legend": {"labelLimit": 320}}
    if s.presenter:
        config.update(_PRESENTER_CONFIG)
    # Charts keep their own size ("pad"): "fit" is meant for single views, and re-fitting a
    # compound chart makes every step of the scrubber re-lay out axes and legends.
    spec = {**spec, "config": config, "autosize": {"type": "pad", "contains": "padding"}}
    # Datasets named by position, not content: a rerun with new rows then keeps the spec
    # identical and the browser swaps the rows in instead of rebuilding the chart.
    spec = charts.stable_names(spec)
    container.vega_lite_chart(spec=spec, width="content", key=key)


# ------------------------------------------------------------------------------ surfaces


def resolve_surface(s: Settings) -> tuple[Surface | None, expressions.Compiled | None]:
    """The surface to draw; a formula's errors are shown in words and ``None`` returned."""
    if s.surface == CUSTOM:
        try:
            compiled = compute.compiled_formula(expressions.normalise(s.expr), s.x, s.y_true)
        except expressions.ExpressionError as problem:
            st.error(f"That formula cannot be used: {plain(problem)}")
            st.caption("Your text is kept in the box: edit it and press Enter.")
            return None, None
        return compiled.surface, compiled
    uploaded = st.session_state.get(UPLOADED)
    if s.surface == "linear_regression" and uploaded is not None:
        x, y = thinned_upload(s)
        return compute.uploaded_surface(x, y, s.loss_kind, s.l1, s.l2, s.delta), None
    try:
        return compute.surface_for(s), None
    except ValueError as problem:
        st.error(f"This surface cannot be built with these settings: {plain(problem)}")
        return None, None


def thinned_upload(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    x, y = st.session_state[UPLOADED]
    if s.loss_kind != "mse" and len(x) > compute.ROWWISE_ROWS:
        keep = np.linspace(0, len(x) - 1, compute.ROWWISE_ROWS).round().astype(int)
        st.caption(
            f"This loss is computed row by row, so {compute.ROWWISE_ROWS:,} evenly spaced rows "
            f"of your {len(x):,} are used (squared error uses them all)."
        )
        return x[keep], y[keep]
    return x, y


def current_surface(s: Settings) -> Surface:
    """The surface of the settings without drawing anything; ``ValueError`` if it has none."""
    if s.surface == CUSTOM:
        return compute.compiled_formula(expressions.normalise(s.expr), s.x, s.y_true).surface
    if s.surface == "linear_regression" and st.session_state.get(UPLOADED) is not None:
        x, y = st.session_state[UPLOADED]
        return compute.uploaded_surface(x, y, s.loss_kind, s.l1, s.l2, s.delta)
    return compute.surface_for(s)


def histories_for(s: Settings, surface: Surface, *, uploaded: bool = False) -> list[History]:
    """Every optimiser's run; a start where the loss is undefined is explained, not raised."""
    try:
        if not uploaded:
            return compute.runs_for(s)
        # Uploaded rows are per session: run directly (small, and not worth a shared cache).
        return compute.run_on(
            surface, compute.run_specs(s), tuple(s.start), s.steps, compute.schedule_key(s),
            s.batch, s.seed,
        )
    except ValueError as problem:
        st.error(f"The runs cannot start: {plain(problem)}. Choose another start point.")
        return []


def formula_block(
    surface: Surface, compiled: expressions.Compiled | None, *, brief: bool = False
) -> None:
    if compiled is not None:
        st.latex(compiled.latex)
        with st.expander("Gradient and Hessian (worked out symbolically)"):
            for line in compiled.grad_latex:
                st.latex(line)
            for row in compiled.hessian_latex:
                for line in row if isinstance(row, (list, tuple)) else [row]:
                    st.latex(line)
        for note in compiled.notes:
            st.info(plain(note))
        return
    if surface.latex and not brief:
        st.latex(surface.latex)
    if surface.teaches:
        st.caption(surface.teaches)


# ------------------------------------------------------------------------------ questions


def question_gate(s: Settings) -> bool:
    """Ask the lesson's question before the run; ``True`` once answered or skipped."""
    if s.lesson == NO_LESSON:
        return True
    lesson = lessons.get(s.lesson)
    st.subheader(lesson.title)
    st.write(lesson.notice)
    if st.session_state.get("revealed") == s.lesson:
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
            st.session_state["revealed"] = s.lesson
            st.session_state["answer"] = choice
            classroom.record(s.lesson, choice)  # in a class, the room's answer is counted
            st.rerun()
        if right.button("Skip and show the run", key="skip"):
            st.session_state["revealed"] = s.lesson
            st.session_state["answer"] = None
            st.rerun()
    st.caption("The run is hidden until you answer, so you can predict what it will do.")
    return False


def question_result(s: Settings, surface: Surface, histories: Sequence[History]) -> None:
    if s.lesson == NO_LESSON or st.session_state.get("revealed") != s.lesson:
        return
    lesson = lessons.get(s.lesson)
    answer = st.session_state.get("answer")
    right = lesson.question.choices[lesson.question.answer]
    try:
        facts = lessons.live_facts(s, surface, histories)
        words = lessons.explain(lesson, facts)
    except (ValueError, IndexError):
        words = ""
    if answer is None:
        st.info(f"The answer: {right}\n\n{words}")
    elif answer == lesson.question.answer:
        st.success(f"Right: {right}\n\n{words}")
    else:
        st.warning(f"Not quite. The answer: {right}\n\n{words}")


# ------------------------------------------------------------------------------ run details


def run_summaries(s: Settings, surface: Surface, histories: Sequence[History]) -> None:
    lines = [
        descent.summary(name, h, surface) for name, h in zip(run_names(s), histories, strict=True)
    ]
    st.markdown("\n".join(f"- {line.rstrip('.')}." for line in lines))


def ledger_panel(s: Settings, surface: Surface, histories: Sequence[History]) -> None:
    names = run_names(s)
    cols = st.columns(2)
    which = cols[0].selectbox(
        "Run", range(len(names)), format_func=names.__getitem__, key="ledger_run"
    )
    h = histories[which]
    if len(h) < 2:
        st.caption("This run stopped before its first update, so there is no step to explain.")
        return
    t = cols[1].number_input("Update", 1, len(h) - 1, min(1, len(h) - 1), key="ledger_step")
    optimizer = optimizers.make(s.optimizers[which], **dict(compute.run_specs(s)[which][1]))
    try:
        entry = ledger.explain_step(h, optimizer, int(t))
    except ValueError as problem:
        st.caption(plain(str(problem)))
        return
    for line in entry.lines:
        st.markdown(f"{line.label}")
        st.latex(line.latex)


def downloads(s: Settings, surface: Surface, histories: Sequence[History]) -> None:
    names = run_names(s)
    cols = st.columns(min(len(names), 4) or 1)
    for i, (name, h) in enumerate(zip(names, histories, strict=True)):
        col = cols[i % len(cols)]
        labels = surface.axis_labels or None
        slug = f"{s.optimizers[i]}-{i + 1}"
        # Files are made on click (a callable), so reruns never replace a file mid-download.
        optimizer = optimizers.make(s.optimizers[i], **dict(compute.run_specs(s)[i][1]))
        col.download_button(
            f"{name}: CSV", functools.partial(export.to_csv, h, labels),
            file_name=f"losslab-{slug}.csv", mime="text/csv", key=f"csv_{i}",
            on_click="ignore",
        )
        col.download_button(
            f"{name}: JSON",
            functools.partial(export.to_json, h, labels=labels, optimizer=optimizer),
            file_name=f"losslab-{slug}.json", mime="application/json", key=f"json_{i}",
            on_click="ignore",
        )


def stability_line(surface: Surface, s: Settings) -> str:
    try:
        curvature = stability.largest_curvature(surface, s.start)
    except (ValueError, np.linalg.LinAlgError):
        return ""
    if not np.isfinite(curvature):
        return ""
    bound = stability.gd_bound(curvature)
    if curvature <= 0:
        return (
            f"At the start the largest curvature λmax = {curvature:.3g} ≤ 0: no learning rate "
            "overshoots here, but the surface curves downwards."
        )
    return (
        f"At the start λmax = {curvature:.3g} (largest Hessian eigenvalue), so plain gradient "
        f"descent is stable only for lr < 2/λmax = {bound:.3g}."
    )


# ------------------------------------------------------------------------------ views


def lesson_view(s: Settings) -> None:
    """One weight: the course chapter's figure, with every run drawn on it."""
    surface, compiled = resolve_surface(s)
    if surface is None:
        return
    if surface.dim != 1:
        st.info("This formula has two weights: open the “Two weights” view to see it.")
        return
    if s.surface == "single_point":
        st.markdown(
            "$L(w) = (w\\cdot x - y_{true})^2$, and its slope "
            "$\\frac{dL}{dw} = 2(w\\cdot x - y_{true})\\,x$ — "
            f"here with x = {s.x:g} and y_true = {s.y_true:g}."
        )
    else:
        formula_block(surface, compiled)
    shown = question_gate(s)
    histories = histories_for(s, surface) if shown else []
    names = run_names(s)
    scale = presenter_scale(s)
    curve, path = charts.lesson_frames(
        surface, list(zip(names, histories, strict=True)) if histories else None,
        w_range=(s.w_min, s.w_max),
    )
    # The spec is cached by the runs' names and length; only this run's rows are new.
    skeleton = compute.lesson_skeleton(
        charts.lesson_shape(path), s.step, int(320 * scale), int(280 * scale)
    )
    show(charts.fill_lesson(skeleton, curve, path), s, "lesson_chart")
    if not histories:
        return
    browser.playback_controls()
    question_result(s, surface, histories)
    first = histories[0]
    st.write(
        "At the start, "
        + charts.step_sentence(float(first.params[0, 0]), float(first.grad[0, 0]))
        + "."
    )
    for name, h in zip(names, histories, strict=True):
        last = len(h) - 1
        prefix = f"{name}: " if len(histories) > 1 else ""
        if h.diverged_at is not None:
            bound = stability_bound_1d(surface, s)
            hint = f" Lower the learning rate below {bound:.3g}." if bound else ""
            st.warning(
                f"{prefix}Diverged at step {h.diverged_at}: w ran away, so the path is drawn "
                f"up to step {last}.{hint}"
            )
        else:
            w, g = float(h.params[last, 0]), float(h.grad[last, 0])
            st.write(
                f"{prefix}After {last} steps w = {w:.4g} with loss {h.loss[last]:.3g}; "
                f"{charts.step_sentence(w, g)}."
            )
    st.caption(
        "Drag the Step slider under the chart to walk through the run; the black tangent's "
        "slope is the gradient."
    )
    details(s, surface, histories)


def stability_bound_1d(surface: Surface, s: Settings) -> float | None:
    try:
        bound = stability.gd_bound(stability.largest_curvature(surface, s.start))
    except (ValueError, np.linalg.LinAlgError):
        return None
    return bound if np.isfinite(bound) else None


def details(s: Settings, surface: Surface, histories: Sequence[History]) -> None:
    if s.presenter:
        return
    panel = st.expander("Explain a step: the update with its numbers", key="x_ledger",
                        on_change="rerun")
    if panel.open:
        with panel:
            ledger_panel(s, surface, histories)
    panel = st.expander("Download the runs", key="x_downloads", on_change="rerun")
    if panel.open:
        with panel:
            downloads(s, surface, histories)


def surface_view(s: Settings, *, sweep: bool = False) -> None:
    surface, compiled = resolve_surface(s)
    if surface is None:
        return
    if surface.dim != 2:
        st.info("This formula has one weight: open the “One weight” view to see it.")
        return
    formula_block(surface, compiled, brief=s.presenter)
    if s.surface == "linear_regression" and not s.presenter:
        upload_panel()
    if sweep:
        s = dataclasses.replace(
            s,
            optimizers=(s.optimizers[0],) * len(SWEEP_FACTORS),
            learning_rates=tuple(sweep_rates(s.optimizers[0], s.rates()[0])),
        )
    shown = question_gate(s)
    uploaded = s.surface == "linear_regression" and st.session_state.get(UPLOADED) is not None
    histories = histories_for(s, surface, uploaded=uploaded) if shown else []
    names = run_names(s) if not sweep else [
        f"{f:g}× lr = {lr:g}" for f, lr in zip(SWEEP_FACTORS, s.rates(), strict=True)
    ]
    # The legend says how each run ended, so a diverged or stalled run is named as such.
    names = [legend_name(n, h, surface) for n, h in zip(names, histories, strict=False)]
    runs = list(zip(names, histories, strict=False))
    scale = presenter_scale(s)
    if s.surface == CUSTOM:
        grid = grids.evaluate(surface, s.resolution)
    elif uploaded:
        grid = compute.uploaded_grid(*thinned_upload(s), s.loss_kind, s.l1, s.l2, s.delta,
                                     s.resolution)
    else:
        grid = compute.grid(compute.surface_key(s), s.resolution)
    if not np.isfinite(grid.values).any():
        st.error("The formula is undefined everywhere in the window, so there is nothing to draw.")
        return
    undefined = float(np.mean(~np.isfinite(grid.values)))
    if undefined > 0:
        st.info(
            f"The loss is undefined on {undefined:.0%} of this window (for example a log of a "
            "negative number); those places are left blank."
        )
    last = max((len(h) - 1 for h in histories), default=0)
    size = int(420 * scale)
    field = bool(st.session_state.get(FIELD_KEY, False))
    if s.surface == CUSTOM or uploaded:
        spec = compute.map_spec_of(surface, grid, runs, s.step, size,
                                   rates=s.schedule != "constant", field=field)
    else:
        spec = compute.map_spec(
            compute.surface_key(s), compute.run_key(s), s.resolution,
            tuple(names), s.step, size, field,
        )
    show(spec, s, "surface_chart")
    if not histories:
        return
    browser.playback_controls()
    question_result(s, surface, histories)
    st.caption(stability_line(surface, s))
    run_summaries(s, surface, histories)
    if s.presenter:
        return
    # Expanders track their state, so closed ones cost nothing on a rerun.
    if surface.data is not None:
        panel = st.expander("The data and the model at the step", expanded=True, key="x_data",
                            on_change="rerun")
        if panel.open:
            data_step = charts.step_param(last, s.step)
            show(charts.compose(data_step, charts.data_space_chart(
                surface, runs, step_param=data_step)), s, "data_chart", panel)
            if s.batch:
                with panel:
                    batch_noise(histories[0])
    panel = st.expander("Slices through the current point", key="x_slices", on_change="rerun")
    if panel.open:
        slice_step = charts.step_param(len(histories[0]) - 1, s.step)
        show(charts.compose(slice_step, charts.slice_charts(surface, histories[0], slice_step)),
             s, "slice_chart", panel)
        panel.caption(
            f"Slices of the surface through {names[0]}'s iterate: along w1 with w2 held, and "
            "along w2 with w1 held. Each tangent's slope is one component of the gradient."
        )
    panel = st.expander("3-D view", key="x_three_d", on_change="rerun")
    if panel.open:
        three_step = charts.step_param(len(histories[0]) - 1, s.step)
        show(charts.compose(three_step, charts.three_d_chart(surface, histories[0], three_step)),
             s, "three_d_chart", panel)
        panel.caption("Drag the azimuth and elevation sliders to turn the surface; no rerun.")
    details(s, surface, histories)


def sweep_rates(name: str, rate: float) -> list[float]:
    """The sweep's rates, each kept within what the optimiser accepts."""
    hp = next(h for h in optimizers.HYPERPARAMS[name] if h.name == "learning_rate")
    return [min(max(rate * f, float(hp.min_value)), float(hp.max_value)) for f in SWEEP_FACTORS]


def legend_name(name: str, h: History, surface: Surface) -> str:
    outcome = descent.label(h, surface)
    if outcome == "diverged":
        return f"{name}: diverged at step {h.diverged_at}"
    return f"{name}: {outcome}"


def batch_noise(h: History) -> None:
    if h.batch_grad is None or not len(h.batch_grad):
        return
    t = len(h.batch_grad) - 1
    full, sampled = h.grad[t], h.batch_grad[t]
    st.caption(
        f"At the last update the mini-batch gradient was ({sampled[0]:.3g}, {sampled[1]:.3g}) "
        f"while the full-batch gradient was ({full[0]:.3g}, {full[1]:.3g}): the difference "
        "is the noise that makes the path jitter."
    )


def upload_panel() -> None:
    with st.expander("Use your own data (x, y as CSV)"):
        file = st.file_uploader(
            "CSV with two columns x and y", type=["csv", "txt", "tsv"], key="upload",
            help=f"Up to {userdata.MAX_ROWS:,} rows and {userdata.MAX_BYTES // 1_000_000} MB.",
        )
        text = st.text_area("…or paste rows here", key="paste", height=100,
                            placeholder="x,y\n1,2.1\n2,3.9\n3,6.2")
        if st.button("Use these rows", key="use_rows"):
            raw = file.getvalue() if file is not None else text.encode("utf-8")
            try:
                data = userdata.parse_csv(raw)
            except userdata.UserDataError as problem:
                st.error(f"Those rows cannot be used: {plain(problem)} Your previous data is kept.")
            else:
                st.session_state[UPLOADED] = (data.x, data.y)
                st.success(f"Using your {len(data.x):,} rows.")
        if st.session_state.get(UPLOADED) is not None:
            st.caption(f"Drawing the surface of your {len(st.session_state[UPLOADED][0]):,} rows "
                       "(your data is not part of the page's link).")
            if st.button("Back to generated data", key="drop_rows"):
                del st.session_state[UPLOADED]
                st.rerun()


def nn_view(s: Settings) -> None:
    st.subheader("A real neural network's loss landscape")
    name = s.optimizers[0] if s.optimizers[0] in landscape.OPTIMIZER_NAMES else "adam"
    try:
        exp = compute.network(
            s.dataset, s.noise, s.n, tuple(s.hidden), s.activation, name,
            float(s.rates()[0]), min(s.steps, 2000), s.batch, s.seed,
        )
    except ValueError as problem:
        st.error(f"The network cannot be trained with these settings: {plain(problem)}")
        return
    st.write(exp.message)
    left, right = st.columns(2)
    show(charts.nn_decision_chart(exp), s, "nn_decision", left)
    show(charts.nn_loss_chart(exp), s, "nn_loss", right)
    left, right = st.columns(2)
    show(charts.nn_interpolation_chart(exp), s, "nn_interp", left)
    show(charts.nn_landscape_chart(exp, kind="random"), s, "nn_random", right)
    show(charts.nn_landscape_chart(exp, kind="pca"), s, "nn_pca")
    st.info(exp.caution)
