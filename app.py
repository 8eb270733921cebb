"""losslab — see how neural networks are optimised.

UI only: widgets, layout and calls into ``losslab``. Run with ``streamlit run app.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from losslab import charts, descent, optimizers, stability, surfaces


@dataclass(frozen=True)
class LessonControls:
    x: float
    y_true: float
    w_range: tuple[float, float]
    w0: float
    learning_rate: float
    steps: int


@st.cache_data(max_entries=256, show_spinner=False)
def lesson_run(x: float, y_true: float, w0: float, learning_rate: float, steps: int):
    """Gradient descent on the one-weight lesson; cached because it is a pure function."""
    surface = surfaces.get("single_point", x=x, y_true=y_true)
    return descent.run(
        surface, optimizers.sgd(learning_rate=learning_rate), start=[w0], steps=steps
    )


def lesson_controls() -> LessonControls:
    side = st.sidebar
    side.header("The lesson")
    x = side.slider("Input x", -4.0, 4.0, 2.0, 0.1, key="x", help="The one data point's input.")
    y_true = side.slider(
        "Target y_true", -8.0, 8.0, 4.0, 0.1, key="y_true", help="The output the model should give."
    )
    w_range = side.slider(
        "Weights shown", -10.0, 10.0, (-1.0, 3.0), 0.5, key="w_range",
        help="The range of w drawn on both charts.",
    )
    side.header("Gradient descent")
    w0 = side.slider("Starting weight w0", -10.0, 10.0, -1.0, 0.1, key="w0")
    learning_rate = side.slider(
        "Learning rate", 0.001, 1.0, 0.05, 0.001, format="%.3f", key="lr",
        help="How far each step moves against the gradient: w ← w − lr · dL/dw.",
    )
    steps = side.slider("Steps", 1, 200, 30, 1, key="steps")
    return LessonControls(x, y_true, (float(w_range[0]), float(w_range[1])), w0, learning_rate, steps)


def stability_note(c: LessonControls) -> None:
    """The bound 0 < lr < 2/L'' = 1/x² next to the learning-rate control, in words."""
    curvature = 2.0 * c.x * c.x
    bound = stability.gd_bound(curvature)
    if curvature == 0:
        st.sidebar.info("With x = 0 the loss is flat in w: every learning rate leaves w where it is.")
        return
    regime = stability.regime(c.learning_rate, curvature)
    words = {
        "monotone": "creeps straight to the minimum",
        "oscillating": "overshoots and oscillates, but converges",
        "borderline": "bounces between two points for ever",
        "diverging": "overshoots further each step: it diverges",
    }[regime]
    st.sidebar.caption(
        f"L''(w) = 2x² = {curvature:.3g}, so descent converges only for lr < 2/L'' = 1/x² = "
        f"{bound:.3g}; above 1/(2x²) = {bound / 2:.3g} it oscillates."
    )
    message = f"lr = {c.learning_rate:.3g}: descent {words}."
    if regime == "diverging":
        st.sidebar.warning(message)
    else:
        st.sidebar.caption(message)


def lesson_view(c: LessonControls) -> None:
    surface = surfaces.get("single_point", x=c.x, y_true=c.y_true)
    history = lesson_run(c.x, c.y_true, c.w0, c.learning_rate, c.steps)
    st.markdown(
        "$L(w) = (w\\cdot x - y_{true})^2$, and its slope "
        "$\\frac{dL}{dw} = 2(w\\cdot x - y_{true})\\,x$ — "
        f"here with x = {c.x:g} and y_true = {c.y_true:g}."
    )
    figure = charts.lesson_figure(surface, history, w_range=c.w_range)
    st.altair_chart(figure, width="stretch", key="lesson_chart")

    last = len(history) - 1
    w_last, g_last = float(history.params[last, 0]), float(history.grad[last, 0])
    first = charts.step_sentence(float(history.params[0, 0]), float(history.grad[0, 0]))
    st.write(f"At the start, {first}.")
    if history.diverged_at is not None:
        st.warning(
            f"Diverged at step {history.diverged_at}: w ran away (the path is drawn up to step "
            f"{last}). Lower the learning rate below {stability.gd_bound(2 * c.x * c.x):.3g}."
        )
    else:
        st.write(
            f"After {last} steps w = {w_last:.4g} with loss {history.loss[last]:.3g}; "
            f"{charts.step_sentence(w_last, g_last)}."
        )
    st.caption("Drag the Step slider under the chart to walk through the run; the tangent's slope is the gradient.")


def main() -> None:
    st.set_page_config(page_title="losslab — loss surfaces and gradients", layout="wide")
    st.title("Loss surfaces and gradients")
    controls = lesson_controls()
    stability_note(controls)
    lesson_view(controls)


if __name__ == "__main__":
    main()
