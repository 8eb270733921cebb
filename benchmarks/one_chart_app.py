"""A reference for the browser benchmarks: the bare app plus one chart that follows the slider.

The same "Learning rate" ``select_slider`` (key ``lr``) as ``bare_app.py``, and below it one
Vega-Lite line of the 100-step gradient-descent path on Rosenbrock's surface at that rate. Nothing
else. Compared with the bare app (``python benchmarks/latency.py --app
benchmarks/one_chart_app.py``) it measures what redrawing any chart on a rerun costs in
Streamlit, before the app adds anything of its own.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_chart import RATES, path_chart  # noqa: E402

lr = st.select_slider("Learning rate", options=RATES, value=0.05, key="lr")
path_chart(lr)
