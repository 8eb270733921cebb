"""The baseline for the browser benchmarks: a Streamlit app with one slider and nothing else.

Like the app's learning-rate control it is a ``select_slider`` labelled "Learning rate" with key
``lr`` over 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade from 1e-4 to 10, starting at 0.05: the
same selector finds it and a key press asks for the same kind of rerun. What remains is
Streamlit's own cost of a rerun, against which the app's cost is compared.
"""

import streamlit as st

MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
RATES = [float(f"{m}e{k}") for k in range(-4, 1) for m in MANTISSAS] + [10.0]

st.select_slider("Learning rate", options=RATES, value=0.05, key="lr")
