"""The folding panels under a view: run summaries, the update ledger, downloads, the learner's
own data, the data-space model, slices and the 3-D view.

Each panel draws from the scene. Panels that are folded cost nothing on a rerun: an expander
tracks whether it is open, and a closed one draws nothing inside.
"""

from __future__ import annotations

import functools

import streamlit as st

from losslab import charts, descent, export, ledger, optimizers, userdata
from losslab.descent import History
from ui import compute, state
from ui.chart import show
from ui.scene import Scene
from ui.text import plain


def summaries(scene: Scene) -> None:
    lines = [descent.summary(name, h, scene.surface)
             for name, h in zip(scene.names, scene.histories, strict=True)]
    st.markdown("\n".join(f"- {line.rstrip('.')}." for line in lines))


def _optimizer(scene: Scene, i: int) -> optimizers.Optimizer:
    name, kwargs = compute.run_specs(scene.runs)[i]
    return optimizers.make(name, **dict(kwargs))


def ledger_panel(scene: Scene) -> None:
    names, histories = scene.names, scene.histories
    cols = st.columns(2)
    which = cols[0].selectbox(
        "Run", range(len(names)), format_func=names.__getitem__, key="ledger_run"
    )
    h = histories[which]
    if len(h) < 2:
        st.caption("This run stopped before its first update, so there is no step to explain.")
        return
    t = cols[1].number_input("Update", 1, len(h) - 1, min(1, len(h) - 1), key="ledger_step")
    try:
        entry = ledger.explain_step(h, _optimizer(scene, which), int(t))
    except ValueError as problem:
        st.caption(plain(str(problem)))
        return
    for line in entry.lines:
        st.markdown(f"{line.label}")
        st.latex(line.latex)


def downloads(scene: Scene) -> None:
    names = scene.names
    cols = st.columns(min(len(names), 4) or 1)
    labels = scene.surface.axis_labels or None
    for i, (name, h) in enumerate(zip(names, scene.histories, strict=True)):
        col = cols[i % len(cols)]
        slug = f"{scene.runs.optimizers[i]}-{i + 1}"
        # Files are made on click (a callable), so reruns never replace a file mid-download.
        col.download_button(
            f"{name}: CSV", functools.partial(export.to_csv, h, labels),
            file_name=f"losslab-{slug}.csv", mime="text/csv", key=f"csv_{i}",
            on_click="ignore",
        )
        col.download_button(
            f"{name}: JSON",
            functools.partial(export.to_json, h, labels=labels, optimizer=_optimizer(scene, i)),
            file_name=f"losslab-{slug}.json", mime="application/json", key=f"json_{i}",
            on_click="ignore",
        )


def details(scene: Scene) -> None:
    """The ledger and the downloads, each in its own folding panel."""
    if scene.settings.presenter:
        return
    panel = st.expander("Explain a step: the update with its numbers", key="x_ledger",
                        on_change="rerun")
    if panel.open:
        with panel:
            ledger_panel(scene)
    panel = st.expander("Download the runs", key="x_downloads", on_change="rerun")
    if panel.open:
        with panel:
            downloads(scene)


def upload(scene: Scene) -> None:
    """Use the learner's own rows (a CSV file or pasted text) for linear regression."""
    with st.expander("Use your own data (x, y as CSV)"):
        file = st.file_uploader(
            "CSV with two columns x and y", type=["csv", "txt", "tsv"], key="upload",
            help=f"Up to {userdata.MAX_ROWS:,} rows and {userdata.MAX_BYTES // 1_000_000} MB.",
        )
        text = st.text_area("…or paste rows here", key="paste", height=100,
                            max_chars=userdata.MAX_BYTES,
                            placeholder="x,y\n1,2.1\n2,3.9\n3,6.2")
        if st.button("Use these rows", key="use_rows"):
            raw = file.getvalue() if file is not None else text.encode("utf-8")
            try:
                data = userdata.parse_csv(raw)
            except (userdata.UserDataError, ValueError) as problem:
                st.error(f"Those rows cannot be used: {plain(problem)} Your previous data is kept.")
            else:
                state.keep_uploaded(data.x, data.y)
                # The scene was built before this click: draw the new rows' surface at once.
                state.flash(f"Using your {len(data.x):,} rows.")
                st.rerun()
        done = state.take_flash()
        if done:
            st.success(done)
        rows = state.uploaded()
        if rows is not None:
            st.caption(f"Drawing the surface of your {len(rows.x):,} rows "
                       "(your data is not part of the page's link).")
            if st.button("Back to generated data", key="drop_rows"):
                state.drop_uploaded()
                st.rerun()


def _batch_noise(h: History) -> None:
    if h.batch_grad is None or not len(h.batch_grad):
        return
    t = len(h.batch_grad) - 1
    full, sampled = h.grad[t], h.batch_grad[t]
    st.caption(
        f"At the last update the mini-batch gradient was ({sampled[0]:.3g}, {sampled[1]:.3g}) "
        f"while the full-batch gradient was ({full[0]:.3g}, {full[1]:.3g}): the difference "
        "is the noise that makes the path jitter."
    )


def data_space(scene: Scene, legend: list[str]) -> None:
    """The rows and each run's model at the shown step (data surfaces only)."""
    s, histories = scene.settings, scene.histories
    panel = st.expander("The data and the model at the step", expanded=True, key="x_data",
                        on_change="rerun")
    if not panel.open:
        return
    last = max(len(h) - 1 for h in histories)
    step = charts.step_param(last, s.step)
    runs = list(zip(legend, histories, strict=False))
    show(charts.compose(step, charts.data_space_chart(scene.surface, runs, step_param=step)),
         s, "data_chart", panel)
    if s.batch:
        with panel:
            _batch_noise(histories[0])


def slices(scene: Scene) -> None:
    s, first = scene.settings, scene.histories[0]
    panel = st.expander("Slices through the current point", key="x_slices", on_change="rerun")
    if not panel.open:
        return
    step = charts.step_param(len(first) - 1, s.step)
    show(charts.compose(step, charts.slice_charts(scene.surface, first, step)),
         s, "slice_chart", panel)
    # The run's name, not its legend entry: "Gradient descent: converging's iterate" read
    # as if the outcome owned the point.
    panel.caption(
        f"Slices of the surface through the first run's current point ({scene.names[0]}): "
        "along w1 with w2 held, and along w2 with w1 held. Each tangent's slope is one "
        "component of the gradient."
    )


def three_d(scene: Scene) -> None:
    s, first = scene.settings, scene.histories[0]
    panel = st.expander("3-D view", key="x_three_d", on_change="rerun")
    if not panel.open:
        return
    step = charts.step_param(len(first) - 1, s.step)
    show(charts.compose(step, charts.three_d_chart(scene.surface, first, step)),
         s, "three_d_chart", panel)
    panel.caption("Drag the azimuth and elevation sliders to turn the surface; no rerun.")
