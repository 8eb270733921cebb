"""Sidebar controls. Each section draws its widgets (seeded from the settings) and returns the
fields it changed; ``controls`` merges them into new settings.

The pickers that change many fields at once (lesson, view, surface) call ``ui.state``'s
callbacks, which apply ``losslab.settings``' pure moves; nothing here decides what a surface
or a lesson implies.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import streamlit as st

from losslab import (
    lessons,
    nn,
    optimizers,
    permalink,
    settings,
    stability,
    surfaces,
)
from losslab.limits import MAX_FORMULA_CHARS, MAX_RUNS
from losslab.settings import CUSTOM, FIELD, NO_LESSON, Settings
from ui import browser, state
from ui.scene import OPTIMIZER_LABELS
from ui.schedule_controls import schedule_controls
from ui.state import seed
from ui.text import plain

LR_GRID = stability.RATE_LADDER  # the rates a slider offers
VIEW_LABELS = {
    "lesson": "One weight",
    "surface": "Two weights",
    "sweep": "Learning-rate sweep",
    "nn": "Neural network",
}
FIELD_KEY = "show_field"
"""Session-only display choice (not part of the link): draw the gradient field. Its toggle is
drawn only while the Display panel is open; ``FIELD_KEPT`` holds the choice meanwhile."""
FIELD_KEPT = "gradient_field"


def folded(label: str, key: str, container=None):
    """A sidebar panel whose widgets are drawn only while it is open, or ``None`` while folded.

    Folded panels hold settings a learner changes now and then. Drawn hidden, their ~13
    widgets cost the browser time before the first chart (a warm reload of the lesson: 1427
    ms with them, 1369 ms without) and every full rerun the server's widget registration;
    folded, their settings keep the values the link or the learner gave them (``seed``).
    Opening one reruns the page once to draw its widgets."""
    panel = (container or st.sidebar).expander(label, key=key, on_change="rerun")
    return panel if panel.open else None


def surface_title(name: str) -> str:
    if name == CUSTOM:
        return "Your own formula"
    surface = surfaces.SURFACES[name]
    if "loss" in surface.params:  # the loss is picked below the menu: the menu names no loss
        return surface.title.split(" (")[0]
    return surface.title


def _lr_options(value: float) -> list[float]:
    """The slider's rates, with ``value`` added when a link or lesson chose one off the grid."""
    return sorted(set(LR_GRID) | {float(value)})


def _rate_text(value: float) -> str:
    return f"{value:g}"


def _layers_text(value: str) -> str:
    return " then ".join(value.split(",")) + " neurons"


def lesson_picker(s: Settings) -> None:
    ids = (NO_LESSON, *lessons.LESSON_IDS)
    titles = {NO_LESSON: "Free exploration", **{ls.id: ls.title for ls in lessons.LESSONS}}
    st.sidebar.selectbox("Lesson", ids, format_func=titles.__getitem__,
                         key=seed("lesson", s.lesson), on_change=state.pick_lesson,
                         help=FIELD["lesson"].help)


def view_picker(s: Settings) -> str:
    view = view_of(s)
    return st.sidebar.radio(
        "View",
        list(VIEW_LABELS),
        format_func=VIEW_LABELS.__getitem__,
        key=seed("view", view),
        on_change=state.pick_view,
        horizontal=True,
    )


def _number(container, name: str, s: Settings, *, slider: bool = False, **kw) -> float | int:
    f = FIELD[name]
    value = getattr(s, name)
    lo = kw.pop("min_value", f.low)
    hi = kw.pop("max_value", f.high)
    if f.kind == "int":
        lo, hi, value = int(lo), int(hi), int(value)
    else:
        lo, hi, value = float(lo), float(hi), float(value)
    value = min(max(value, lo), hi)
    widget = container.slider if slider else container.number_input
    return widget(
        kw.pop("label", f.label), min_value=lo, max_value=hi, key=seed(name, value),
        help=kw.pop("help", f.help), **kw,
    )


def surface_controls(s: Settings, view: str) -> dict[str, object]:
    side = st.sidebar
    changes: dict[str, object] = {}
    side.subheader("Loss surface")
    dim = 1 if view == "lesson" else 2
    names = [*surfaces.names(dim), CUSTOM]
    current = s.surface if s.surface in names else names[0]
    surface = side.selectbox(
        "Surface", names, format_func=surface_title, key=seed("surface", current),
        on_change=state.pick_surface, help=FIELD["surface"].help,
    )
    if surface == CUSTOM:
        example = "(w*x - y)^2 + 0.1*abs(w)" if dim == 1 else "(1 - w1)^2 + 5*(w2 - w1^2)^2"
        changes["expr"] = side.text_input(
            "Formula", key=seed("expr", s.expr or example), max_chars=MAX_FORMULA_CHARS,
            help="A loss in w (one weight) or in w1 and w2 (two weights). Use + − * / ^ and "
            "exp, log, sqrt, abs, sin, cos, tan, tanh, sigmoid, max, min; constants pi, e, "
            "and the data point's x and y.",
        )
        if not changes["expr"]:
            changes["expr"] = example
        return changes
    params = surfaces.SURFACES[surface].params
    if "x" in params:
        changes["x"] = _number(side, "x", s, slider=True, step=0.1, min_value=-5.0, max_value=5.0)
        changes["y_true"] = _number(side, "y_true", s, slider=True, step=0.1)
    if "condition" in params:
        changes["kappa"] = _number(side, "kappa", s, step=1.0, format="%g")
        changes["angle"] = _number(side, "angle", s, slider=True, step=5.0)
    if "n" in params:
        changes["n"] = _number(side, "n", s, step=10)
        changes["noise"] = _number(side, "noise", s, slider=True, step=0.05)
        changes["seed"] = _number(side, "seed", s, step=1)
    if "loss" in params:
        changes["loss_kind"] = side.selectbox(
            "Loss", FIELD["loss_kind"].choices, key=seed("loss_kind", s.loss_kind),
            format_func={"mse": "Squared error (MSE)", "mae": "Absolute error (MAE)",
                         "huber": "Huber"}.__getitem__,
            help=FIELD["loss_kind"].help,
        )
        if changes["loss_kind"] == "huber":
            changes["delta"] = _number(side, "delta", s, step=0.1, format="%g")
    if "l1" in params:
        changes["l1"] = _number(side, "l1", s, step=0.01, format="%g")
        changes["l2"] = _number(side, "l2", s, step=0.01, format="%g")
    return changes


def w_range_controls(s: Settings) -> dict[str, object]:
    left, right = st.sidebar.columns(2)
    return {
        "w_min": _number(left, "w_min", s, step=0.5, format="%g"),
        "w_max": _number(right, "w_max", s, step=0.5, format="%g"),
    }


def optimizer_controls(s: Settings, view: str) -> tuple[dict[str, object], object]:
    """Which optimisers run, each with its learning rate; shared hyperparameters below.
    Also returns the place kept under the first learning rate for the stability note."""
    side = st.sidebar
    if view == "nn":
        side.subheader("Optimiser")
    count = min(len(s.optimizers), MAX_RUNS) if view not in ("sweep", "nn") else 1
    names: list[str] = []
    rates: list[float] = []
    slot = None
    all_names = list(settings.OPTIMIZER_NAMES)
    if view == "nn":
        all_names.remove("newton")
    for i in range(count):
        name = s.optimizers[i] if i < len(s.optimizers) else all_names[i % len(all_names)]
        name = name if name in all_names else "adam"
        rate = s.rates()[i] if i < len(s.optimizers) else 0.05
        label_suffix = f" {i + 1}" if count > 1 else ""
        box = side.container(border=count > 1)
        chosen = box.selectbox(
            "Optimiser" + label_suffix, all_names, format_func=OPTIMIZER_LABELS.__getitem__,
            key=seed(f"opt_{i}", name),
        )
        key = "lr" if i == 0 else f"lr_{i}"
        low, high = settings.rate_range(chosen)
        options = [v for v in _lr_options(rate) if low <= v <= high]
        rate = min(max(rate, low), high)
        if rate not in options:
            options = sorted({*options, rate})
        value = box.select_slider(
            "Learning rate" + label_suffix, options=options, key=seed(key, rate),
            format_func=_rate_text,
            help="Step size: each update moves the weights by lr times the optimiser's "
            "direction. Too large and the steps overshoot.",
        )
        names.append(chosen)
        rates.append(float(value))
        if i == 0:
            slot = side.empty() if view != "nn" else None
    changes: dict[str, object] = {
        "optimizers": tuple(names),
        "learning_rates": tuple(rates) if len(set(rates)) > 1 else (rates[0],),
    }
    if view == "nn":
        changes.update(shared_settings(s, names))
    return changes, slot


def shared_settings(s: Settings, names: list[str]) -> dict[str, object]:
    """The settings the optimisers ``names`` share (momentum, β₁…), each once, folded away."""
    used = {hp.name for n in names for hp in optimizers.HYPERPARAMS[n]}
    shared = [n for n in SHARED if n in used]
    changes: dict[str, object] = {}
    panel = folded("Optimiser settings", "x_optimizer_settings") if shared else None
    if panel is not None:
        with panel:
            for n in shared:
                changes[n] = _number(st, n, s, step=0.01 if n != "beta2" else 0.0001,
                                     format="%g", label=f"{FIELD[n].label} ({_users(n)})")
    return changes


SHARED = ("momentum", "decay", "beta1", "beta2", "weight_decay", "damping")
"""Settings several optimisers read: one widget each, under the runs' optimisers."""


def _users(name: str) -> str:
    """Which optimisers read setting ``name``: "Momentum, Nesterov momentum"."""
    return ", ".join(OPTIMIZER_LABELS[o].split(" (")[0] for o, hps in optimizers.HYPERPARAMS.items()
                     if any(hp.name == name for hp in hps))


def settings_controls(s: Settings, view: str) -> dict[str, object]:
    """The settings a learner changes now and then — how many optimisers, their shared
    settings, the schedule, the display — drawn with the page, above the runs' own controls:
    a change here redraws the page, and a change of a run (``controls``) does not draw them
    again. Every shared setting is offered (with the optimisers that read it), since the
    optimisers can change without this part being drawn again."""
    side = st.sidebar
    changes: dict[str, object] = {}
    side.subheader("Optimisers" if view != "sweep" else "Optimiser")
    if view != "sweep":
        count = int(side.number_input(
            "How many to compare", 1, MAX_RUNS,
            key=seed("runs", min(len(s.optimizers), MAX_RUNS)),
            help="Run up to eight optimisers side by side, each with its own learning rate.",
        ))
        changes.update(resized(s, count))
    changes.update(shared_settings(s, list(settings.OPTIMIZER_NAMES)))
    panel = folded("Learning-rate schedule", "x_schedule")
    if panel is not None:
        with panel:
            changes.update(schedule_controls(s))
    display, _ = display_controls(s, view)
    changes.update(display)
    return changes


def resized(s: Settings, count: int) -> dict[str, object]:
    """The optimisers and rates for ``count`` runs: the first ones kept, new ones added."""
    names = list(s.optimizers[:count])
    rates = list(s.rates()[:count])
    for i in range(len(names), count):
        names.append(settings.OPTIMIZER_NAMES[i % len(settings.OPTIMIZER_NAMES)])
        rates.append(0.05)
    return {"optimizers": tuple(names),
            "learning_rates": tuple(rates) if len(set(rates)) > 1 else (rates[0],)}


def run_controls(s: Settings, dim: int, data_driven: bool) -> dict[str, object]:
    side = st.sidebar
    changes: dict[str, object] = {}
    side.subheader("The run")
    start = list(s.start) if len(s.start) == dim else list(settings.default_start(s.surface))
    if len(start) != dim:
        start = [-1.0] * dim
    # Named as the map's axes: a regression's weights are (w, b).
    axes = getattr(surfaces.SURFACES.get(s.surface), "axis_labels", ())
    labels = (("Starting weight w0",) if dim == 1 else
              tuple(f"Start {a}" for a in (axes if len(axes) == 2 else ("w1", "w2"))))
    cols = side.columns(dim)
    changes["start"] = tuple(
        float(cols[i].number_input(
            labels[i], -100.0, 100.0, key=seed(f"start_{i}_{s.surface}", float(start[i])),
            step=0.1, format="%g", help=FIELD["start"].help,
        ))
        for i in range(dim)
    )
    changes["steps"] = _number(side, "steps", s, step=10)
    if data_driven:
        changes["batch"] = _number(
            side, "batch", s, step=1, max_value=max(s.n, 1),
            help="Rows per gradient estimate (mini-batch SGD); 0 uses every row.",
        )
    return changes


def display_controls(s: Settings, view: str) -> tuple[dict[str, object], bool]:
    """Resolution and presenter mode (settings), and the gradient field (this session only)."""
    changes: dict[str, object] = {}
    field = bool(st.session_state.get(FIELD_KEPT))
    panel = folded("Display", "x_display")
    if panel is None:
        return changes, field
    with panel:
        if view in ("surface", "sweep"):
            changes["resolution"] = _number(
                st, "resolution", s, slider=True, step=10, min_value=20,
                help="Points per axis of the surface image (up to 400 × 400).",
            )
        if view in ("surface", "sweep"):
            if FIELD_KEY not in st.session_state:
                st.session_state[FIELD_KEY] = field
            field = st.toggle(
                "Gradient field", key=FIELD_KEY,
                help="Arrows pointing downhill (−gradient) on a coarse lattice over the map.",
            )
            st.session_state[FIELD_KEPT] = field
        changes["presenter"] = st.toggle(
            "Presenter mode", key=seed("presenter", s.presenter), help=FIELD["presenter"].help
        )
    return changes, field


def nn_controls(s: Settings) -> dict[str, object]:
    side = st.sidebar
    changes: dict[str, object] = {}
    side.subheader("Network and data")
    changes["dataset"] = side.selectbox(
        "Data set", FIELD["dataset"].choices, key=seed("dataset", s.dataset),
        format_func=str.capitalize, help=FIELD["dataset"].help,
    )
    changes["noise"] = _number(side, "noise", s, slider=True, step=0.05)
    hidden = ",".join(str(h) for h in s.hidden)
    options = ["4", "8", "16", "32", "8,8", "16,16"]
    if hidden not in options:
        options.append(hidden)
    text = side.selectbox(
        "Hidden layers", options, key=seed("hidden", hidden), help=FIELD["hidden"].help,
        format_func=_layers_text,
    )
    changes["hidden"] = tuple(int(v) for v in text.split(","))
    changes["activation"] = side.selectbox(
        "Activation", FIELD["activation"].choices, key=seed("activation", s.activation),
        help=FIELD["activation"].help,
    )
    changes["seed"] = _number(side, "seed", s, step=1)
    return changes


def safe_replace(s: Settings, changes: dict[str, object]) -> tuple[Settings, list[str]]:
    """``s`` with the widgets' values; a value the settings refuse is reported, not raised."""
    problems = []
    changed = {}
    for name, value in changes.items():
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{FIELD[name].label}: {value} is not a number; kept the old value.")
        elif getattr(s, name) != value:
            changed[name] = value
    try:  # the usual case, checked once: every rerun goes through here
        new = settings.replaced(s, **changed) if changed else s
    except ValueError:  # find the values the settings refuse, keep the others
        good = {}
        for name, value in changed.items():
            try:
                dataclasses.replace(s, **{name: value})
            except ValueError as problem:
                problems.append(str(problem))
                continue
            good[name] = value
        new = dataclasses.replace(s, **good)
    new, notes = settings.reconcile(new)
    return new, problems + notes


def nn_run_controls(s: Settings) -> dict[str, object]:
    side = st.sidebar
    side.subheader("Training")
    left, right = side.columns(2)
    left.button("Trained", key="nn_trained", on_click=state.pick_network, args=(True,),
                help=nn.DEFAULT.caption, width="stretch")
    right.button("Under-trained", key="nn_undertrained", on_click=state.pick_network,
                 args=(False,), help=nn.UNDERTRAINED.caption, width="stretch")
    return {
        "n": _number(side, "n", s, step=50, max_value=nn.MAX_ROWS),
        "steps": _number(side, "steps", s, step=50, max_value=settings.NETWORK_STEPS,
                         help=f"Training steps (at most {settings.NETWORK_STEPS} here, to "
                              "stay interactive)."),
        "batch": _number(side, "batch", s, step=8, max_value=min(s.n, nn.MAX_ROWS),
                         help="Rows per mini-batch; 0 trains on every row (full batch)."),
    }


class Controls(NamedTuple):
    """What the sidebar gives the page: the settings its widgets hold, the place kept for the
    stability note under the learning rate, and whether to draw the gradient field."""

    settings: Settings
    stability_slot: object
    gradient_field: bool


def view_of(s: Settings) -> str:
    """The view the sidebar's picker shows for ``s`` (the old "compare" view is the map)."""
    return "surface" if s.view == "compare" else s.view


def pickers(s: Settings) -> Settings:
    """The sidebar's first part, what the page is about: lesson, view and surface (or the
    network and its data). A change here redraws the whole page, since it changes which
    controls follow; returns the settings with these widgets' values."""
    lesson_picker(s)
    view = view_picker(s)
    changes: dict[str, object] = {}
    if view == "nn":
        changes.update(nn_controls(s))
    else:
        changes.update(surface_controls(s, view))
        if view == "lesson" and s.surface == "single_point":
            changes.update(w_range_controls(s))
    return _applied(s, changes)


def page_settings(s: Settings) -> Settings:
    """The settings drawn with the page below the pickers (``settings_controls``); the
    network's are all drawn with its runs."""
    view = view_of(s)
    return s if view == "nn" else _applied(s, settings_controls(s, view))


def controls(s: Settings) -> Controls:
    """The sidebar's second part, what the runs do: each run's optimiser and learning rate,
    the start and the steps (for the network, all its training controls). Drawn with the
    view, so a change here reruns only them (``app.lab``); returns the settings these widgets
    now hold."""
    view = view_of(s)
    changes: dict[str, object] = {}
    optimizer_changes, slot = optimizer_controls(s, view)
    changes.update(optimizer_changes)
    dim = 1 if view == "lesson" else 2
    data_driven = view == "nn" or (
        s.surface in surfaces.SURFACES and surfaces.SURFACES[s.surface].data is not None
    )
    if view == "nn":
        changes.update(nn_run_controls(s))
        display, _ = display_controls(s, view)
        changes.update(display)
    else:
        changes.update(run_controls(s, dim, data_driven))
    return Controls(_applied(s, changes), slot, bool(st.session_state.get(FIELD_KEPT)))


def _applied(s: Settings, changes: dict[str, object]) -> Settings:
    new, problems = safe_replace(s, changes)
    for problem in problems:
        st.sidebar.warning(plain(problem))
    return new


def share_panel(s: Settings, windows=None) -> None:
    """The page's link, ready to copy.

    The link changes with every setting, so it is drawn only while the panel is open: a folded
    panel costs the browser nothing on a rerun (redrawing the code block cost ~30 ms a press).
    ``windows()`` gives the runs' rate windows when the chart has rate controls: the link is
    then built in the browser from the rates on screen."""
    panel = st.sidebar.expander("Share this view", key="x_share", on_change="rerun")
    if not panel.open:
        return
    rates = windows() if windows is not None else None
    with panel:
        if rates:
            base = (st.context.url or "").split("?")[0]
            query = {k: v for k, v in permalink.to_query(s).items() if k not in ("lr", "step")}
            browser.share_link(base, query, [[settings.number_text(r) for r in w.rates]
                                             for w in rates],
                               [w.rate_index for w in rates])
            st.caption("The link holds every setting shown here and the learning rates the "
                       "chart shows, so others see exactly this view. *Open this view* makes "
                       "those rates the sidebar's, for the step ledger and the downloads.")
            return
        text = permalink.to_link(s, st.context.url or "")
        st.code(text or "(the opening view)", language=None, wrap_lines=True)
        st.caption("The link holds every setting shown here, so others see exactly this view.")
