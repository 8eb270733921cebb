"""The floor under ``app.py``'s first chart: ``one_chart_app.py``'s chart with a sidebar of the
widget types the lesson's page draws, and nothing computed.

``first_chart.py --floor`` measures it beside the app and the one-chart app: what a Streamlit
page with these widgets costs the browser before its chart appears, whatever the app does. Its
widgets mirror the lesson's sidebar (pickers, sliders, number inputs, folded panels, the run's
optimiser and rate) and set nothing but the rate: as in ``one_chart_app.py``, the chart follows
the "Learning rate" slider (key ``lr``), so ``latency.py --app benchmarks/sidebar_chart_app.py
--reference benchmarks/one_chart_app.py`` measures what a rerun costs with these widgets on the
page, unchanged. Its text mirrors the page's sentences with a formula.

With ``?fragment=1`` the slider and the chart are one ``st.fragment``, as the app's run
controls and view are (``app.lab``): a move reruns and re-sends only them, and the widgets
around them stay as they are. ``latency.py --app benchmarks/sidebar_chart_app.py --query
"?fragment=1"`` measures that floor.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_chart import RATES, path_chart  # noqa: E402

st.set_page_config(layout="wide")
st.title("Loss surfaces and gradients")
side = st.sidebar


def lab() -> None:
    lr = st.sidebar.select_slider("Learning rate", options=RATES, value=0.05, key="lr",
                                  help="rate")
    path_chart(lr)


if st.query_params.get("fragment"):
    st.fragment(lab)()
else:
    lab()
side.selectbox("Lesson", ["Free exploration", "A lesson"], help="Which lesson")
side.radio("View", ["One weight", "Two weights", "Learning-rate sweep", "Neural network"])
side.subheader("Loss surface")
side.selectbox("Surface", ["One weight, one data point", "Rosenbrock's valley"], help="Surface")
side.slider("Input x", 0.0, 4.0, 2.0, help="x")
side.slider("Target y", 0.0, 8.0, 4.0, help="y")
low, high = side.columns(2)
low.number_input("w from", value=-1.0, help="from")
high.number_input("w to", value=3.0, help="to")
# Folded panels draw their widgets only once opened, as the app's do: their headers only here.
side.expander("Class mode", key="class", on_change="rerun")
side.subheader("Optimisers")
side.number_input("How many to compare", 1, 4, 1, help="runs")
for name in ("Optimiser settings", "Learning-rate schedule", "Display"):
    side.expander(name, key=name, on_change="rerun")
side.selectbox("Optimiser", ["Gradient descent (SGD)", "Momentum", "Adam"])
side.number_input("Start w", value=-1.0, help="start")
side.number_input("Steps", 1, 1000, 30, help="steps")
st.markdown("$L(w) = (w\\cdot x - y_{true})^2$, and its slope $\\frac{dL}{dw}$ — here with x = 2.")
for k in range(4):
    st.markdown(f"Step {k}: the gradient at *w* is negative, so the step **increases** w.")
st.caption("Move a run's *learning rate* control under the chart to try other rates at once.")
