"""The app's what-if map figure alone, for the floors of #15 (``latency.py``, ``whatif.py``,
``page_load.py`` with ``--app benchmarks/figure_app.py``).

The link ``?surface=rosenbrock&opt=sgd,momentum,adam&steps=300`` drawn as the app draws it
(``charts.whatif_map_figure`` through ``ui.chart.show_panels``: the map with its outcome text,
the loss charts, the in-chart controls), and nothing else on the page. Query keys:

- ``menu=1``: run 1's optimiser menu (key ``opt_0``, as the app's) above the figure, both in one
  ``st.fragment``: a switch reruns the menu and the figure and nothing else, the least a server
  change that redraws this figure can cost (``latency.py --gesture optimiser``);
- ``every=1``: each run's path datasets also carry every other optimiser's rows
  (``every_optimiser.figure_rows``), what choosing the optimiser in the browser would send; the
  figure drawn is today's.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from every_optimiser import figure_rows, link_settings  # noqa: E402

from losslab import charts, grids, settings, surfaces  # noqa: E402
from ui import rows  # noqa: E402
from ui.chart import METRICS_WIDTH, PANEL_MAP_SIZE, show_panels  # noqa: E402

LABELS = {"sgd": "Gradient descent (SGD)", "momentum": "Momentum",
          "nesterov": "Nesterov momentum", "adagrad": "AdaGrad", "rmsprop": "RMSProp",
          "adam": "Adam", "adamw": "AdamW", "newton": "Newton"}


@st.cache_resource(max_entries=32, show_spinner=False)
def figure(first: str, every: bool) -> list[dict]:
    """The two panels' specs, their rows as Arrow bytes (built once, then the same objects)."""
    s = link_settings()
    s = settings.replaced(s, optimizers=(first, *s.optimizers[1:]),
                          learning_rates=(settings.clamp_rate(first, s.rates()[0]),
                                          *s.rates()[1:]))
    surface = surfaces.get(s.surface)
    sweep, drawn, _ = figure_rows(s, every)
    drawn = drawn._replace(on_map=tuple(rows.arrow_bytes(t) for t in drawn.on_map),
                           over_steps=tuple(rows.arrow_bytes(t) for t in drawn.over_steps),
                           outcomes=rows.arrow_bytes(drawn.outcomes))
    background = charts.surface_map(surface, grids.evaluate(surface, 100),
                                    size=PANEL_MAP_SIZE).to_dict(validate=False)
    panels = charts.whatif_map_figure(sweep.windows, sweep.steps, drawn, background,
                                      optimal_value=surface.optimal_value)
    return [charts.with_choices(spec, sweep.windows) for spec in panels]


def body(menu: bool, every: bool) -> None:
    first = "sgd"
    if menu:
        first = st.selectbox("Optimiser 1", list(LABELS), format_func=LABELS.get,
                             key="w_opt_0")
    show_panels(figure(first, every), settings.Settings(), "surface_chart",
                widths=(PANEL_MAP_SIZE + 90, METRICS_WIDTH + 60))


menu = st.query_params.get("menu") == "1"
every = st.query_params.get("every") == "1"
if menu:
    st.fragment(body)(menu, every)
else:
    body(menu, every)
