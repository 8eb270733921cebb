"""Chart builders: pure functions from surfaces and runs to Vega-Lite charts.

They never import Streamlit: a notebook displays what they return directly. There is one way in
for each figure, and two forms of the result:

- the figure builders (``lesson_figure``, ``surface_map``, ``metrics_charts``,
  ``slice_charts``, ``three_d_chart``, ``data_space_chart``, the ``nn_*`` charts) return an
  Altair chart, for a notebook or ``.to_dict()``;
- the app draws the same figures from cached *skeletons* (a spec with named, empty datasets:
  ``lesson_skeleton``, ``path_skeleton``, ``metrics_skeleton``) filled with each run's rows
  (``fill_lesson``, ``fill_paths``, ``fill_metrics``), so a new learning rate changes rows,
  never the spec, and the browser swaps rows instead of rebuilding the chart.

Views that follow the browser-side step share one ``step_param`` and are joined with
``compose`` (a dict) or ``link`` (an Altair chart), which declare the parameter once; or drawn
as separate panels (``compose_panels``, ``map_panels``, ``lesson_panels``, the ``whatif_*_panels``)
that each declare it and share one input outside the charts (``shared_controls``), so a phone
stacks them at a readable size.

Modules, by what they draw: ``one_weight`` (the chapter's loss and gradient curves), ``maps``
(a two-weight surface and the paths on it), ``metrics`` (loss, distance and rate over the
steps), ``slices``, ``three_d``, ``network`` (the network view), ``whatif`` (the same
figures over a window of learning rates, chosen in the browser; also as separate ``panels``
sharing their controls, which a phone stacks); ``common`` (palette, step
parameter, thinning) and ``compose`` (joining specs).
"""

from losslab.charts.common import DASHES, PALETTE, SHAPES, STEP, step_param, thin_steps
from losslab.charts.compose import (
    compose,
    compose_panels,
    concat_spec,
    layer_spec,
    link,
    map_panels,
    overlay,
    placeholders,
    records,
    stable_names,
)
from losslab.charts.maps import (
    ARROWS_DATA,
    PATHS_DATA,
    START_PICK,
    PathShape,
    data_space_chart,
    fill_paths,
    path_overlay,
    path_skeleton,
    path_tables,
    start_picker,
    surface_map,
)
from losslab.charts.metrics import (
    MetricShape,
    fill_metrics,
    metric_source,
    metrics_charts,
    metrics_skeleton,
    metrics_tables,
)
from losslab.charts.network import (
    nn_decision_chart,
    nn_interpolation_chart,
    nn_landscape_chart,
    nn_loss_chart,
)
from losslab.charts.one_weight import (
    LESSON_CURVE,
    LESSON_PATH,
    MAX_DRAWN_STEPS,
    LessonShape,
    fill_lesson,
    fill_lesson_panels,
    lesson_figure,
    lesson_frames,
    lesson_panel_skeletons,
    lesson_panels,
    lesson_shape,
    lesson_skeleton,
    lesson_spec,
    step_sentence,
)
from losslab.charts.panels import (
    LEGEND_ABOVE,
    LEGEND_BELOW,
    Control,
    panel,
    place_legends,
    shared_controls,
)
from losslab.charts.slices import slice_charts
from losslab.charts.three_d import three_d_chart
from losslab.charts.whatif import (
    WHATIF_OUTCOMES,
    WHATIF_PATHS,
    MapRows,
    MapShape,
    paths_name,
    whatif_lesson_panels,
    whatif_lesson_spec,
    whatif_map_figure,
    whatif_map_panels,
    whatif_map_rows,
    whatif_map_spec,
    with_choices,
)

__all__ = [
    "ARROWS_DATA",
    "Control",
    "LEGEND_ABOVE",
    "LEGEND_BELOW",
    "DASHES",
    "LESSON_CURVE",
    "LESSON_PATH",
    "MAX_DRAWN_STEPS",
    "PALETTE",
    "PATHS_DATA",
    "SHAPES",
    "STEP",
    "START_PICK",
    "LessonShape",
    "MetricShape",
    "PathShape",
    "compose",
    "compose_panels",
    "concat_spec",
    "data_space_chart",
    "fill_lesson",
    "fill_lesson_panels",
    "fill_metrics",
    "fill_paths",
    "layer_spec",
    "lesson_figure",
    "lesson_frames",
    "lesson_panel_skeletons",
    "lesson_panels",
    "lesson_shape",
    "lesson_skeleton",
    "lesson_spec",
    "link",
    "map_panels",
    "metric_source",
    "metrics_charts",
    "metrics_skeleton",
    "metrics_tables",
    "nn_decision_chart",
    "nn_interpolation_chart",
    "nn_landscape_chart",
    "nn_loss_chart",
    "overlay",
    "panel",
    "path_overlay",
    "path_skeleton",
    "path_tables",
    "place_legends",
    "placeholders",
    "records",
    "shared_controls",
    "slice_charts",
    "stable_names",
    "start_picker",
    "step_param",
    "step_sentence",
    "surface_map",
    "thin_steps",
    "three_d_chart",
    "paths_name",
    "whatif_lesson_panels",
    "whatif_lesson_spec",
    "whatif_map_figure",
    "whatif_map_panels",
    "whatif_map_rows",
    "whatif_map_spec",
    "MapRows",
    "MapShape",
    "with_choices",
    "WHATIF_OUTCOMES",
    "WHATIF_PATHS",
]
