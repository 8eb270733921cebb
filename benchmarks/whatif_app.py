"""A standalone page drawing the what-if charts, for ``benchmarks/whatif.py`` and the browser test.

``?surface=rosenbrock&opt=sgd,momentum,adam&steps=300`` (the default) draws the two-weight map
with a learning-rate control per run (and μ / β1 for momentum and Adam); ``?view=lesson`` draws
the one-weight lesson figure (one data point, x = 2, y = 4) with its rate control. Only these
query keys are read: ``view``, ``opt`` (comma-separated registry names, at most 3), ``steps``.
The learner's rates are the app's defaults for these optimisers (sgd 0.001, momentum 0.001,
adam 0.05 on Rosenbrock: the steady rate of the start; 0.05 in the lesson).
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from losslab import charts, grids, optimizers, surfaces, whatif  # noqa: E402
from losslab.charts import whatif as whatif_charts  # noqa: E402

NAMES = {"sgd": "Gradient descent", "momentum": "Momentum", "nesterov": "Nesterov",
         "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW", "adagrad": "AdaGrad"}
ROSENBROCK_RATES = {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001}


@st.cache_data(max_entries=8, show_spinner=False)
def map_spec(names: tuple[str, ...], steps: int, points: int = whatif.MAX_POINTS,
             dots: bool = True) -> dict:
    surface = surfaces.get("rosenbrock")
    runs = [whatif.RunSetting(n, NAMES[n], {"learning_rate": ROSENBROCK_RATES.get(n, 0.05)})
            for n in names]
    sweep = whatif.sweep(surface, runs, start=(-1.5, 2.0), steps=steps,
                         max_points=points)
    background = charts.surface_map(surface, grids.evaluate(surface, 100), size=420)
    return whatif_charts.whatif_map_spec(sweep, background.to_dict(validate=False),
                                   optimal_value=surface.optimal_value, dots=dots,
                                   as_frames=True)


@st.cache_data(max_entries=8, show_spinner=False)
def lesson_spec(steps: int) -> dict:
    surface = surfaces.get("single_point", x=2.0, y_true=4.0)
    sweep = whatif.sweep(surface, [whatif.RunSetting("sgd", "Gradient descent",
                                                     {"learning_rate": 0.05})],
                         start=(-1.0,), steps=steps, rungs_each_side=8)
    return whatif_charts.whatif_lesson_spec(surface, sweep, as_frames=True)


query = st.query_params
opt = tuple(n for n in query.get("opt", "sgd,momentum,adam").split(",")
            if n in optimizers.OPTIMIZERS and n in NAMES)[:3] or ("sgd",)
try:
    steps = min(max(int(query.get("steps", "300")), 1), whatif.MAX_STEPS)
except ValueError:
    steps = 300
if query.get("view") == "lesson":
    st.vega_lite_chart(spec=lesson_spec(min(steps, 60) if "steps" not in query else steps),
                       width="content", key="whatif_lesson")
else:
    points = min(max(int(query.get("points", whatif.MAX_POINTS)), 3), whatif.MAX_POINTS)
    spec = map_spec(opt, steps, points, query.get("dots", "1") == "1")
    st.vega_lite_chart(spec=spec, width="content", key="whatif_map")
