"""The one chart the reference apps draw (``one_chart_app.py``, ``sidebar_chart_app.py``):
the 100-step gradient-descent path on Rosenbrock's surface at the slider's rate, one Vega-Lite
line. Kept in one place so the two references draw exactly the same chart."""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from losslab import descent, optimizers, surfaces  # noqa: E402  (needs the root on sys.path)

# The bare app's rate ladder (importing bare_app would draw its slider too).
MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
RATES = [float(f"{m}e{k}") for k in range(-4, 1) for m in MANTISSAS] + [10.0]


def path_chart(lr: float) -> None:
    """Draw the path at learning rate ``lr``."""
    history = descent.run(
        surfaces.get("rosenbrock"), optimizers.sgd(learning_rate=lr), start=(-1.5, 2.0),
        steps=100,
    )
    path = pd.DataFrame(history.params, columns=["w1", "w2"]).assign(
        step=range(len(history.params)))
    st.vega_lite_chart(
        path,
        {
            "mark": "line",
            "encoding": {
                "x": {"field": "w1", "type": "quantitative", "scale": {"domain": [-2, 2]}},
                "y": {"field": "w2", "type": "quantitative", "scale": {"domain": [-1, 3]}},
                "order": {"field": "step"},
            },
            "width": 420,
            "height": 420,
        },
        width="content",
    )
