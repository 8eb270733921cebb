"""Chart builders: pure functions from surfaces and histories to ``alt.Chart``.

They never import Streamlit: a notebook displays the returned chart directly. Views that
follow the browser-side step share one ``step_param`` and are joined with ``link``.
"""

from losslab.charts._common import DASHES, PALETTE, SHAPES, STEP, step_param
from losslab.charts._compose import (
    compose,
    concat_spec,
    layer_spec,
    overlay,
    placeholders,
    records,
    stable_names,
)
from losslab.charts._lesson import (
    LESSON_CURVE,
    LESSON_PATH,
    MAX_DRAWN_STEPS,
    LessonShape,
    fill_lesson,
    lesson_figure,
    lesson_frames,
    lesson_shape,
    lesson_skeleton,
    lesson_spec,
    step_sentence,
)
from losslab.charts._nn import (
    nn_decision_chart,
    nn_interpolation_chart,
    nn_landscape_chart,
    nn_loss_chart,
)
from losslab.charts._playback import (
    MetricShape,
    fill_metrics,
    link,
    metric_source,
    metrics_charts,
    metrics_skeleton,
    metrics_tables,
    slice_charts,
)
from losslab.charts._surface import (
    ARROWS_DATA,
    PATHS_DATA,
    PathShape,
    data_space_chart,
    fill_paths,
    path_overlay,
    path_skeleton,
    path_tables,
    surface_map,
)
from losslab.charts._three_d import three_d_chart

__all__ = [
    "ARROWS_DATA",
    "PATHS_DATA",
    "DASHES",
    "MAX_DRAWN_STEPS",
    "PALETTE",
    "SHAPES",
    "STEP",
    "compose",
    "concat_spec",
    "PathShape",
    "data_space_chart",
    "fill_paths",
    "layer_spec",
    "LESSON_CURVE",
    "LESSON_PATH",
    "LessonShape",
    "fill_lesson",
    "lesson_figure",
    "lesson_shape",
    "lesson_skeleton",
    "lesson_frames",
    "lesson_spec",
    "link",
    "MetricShape",
    "metric_source",
    "fill_metrics",
    "metrics_skeleton",
    "metrics_tables",
    "metrics_charts",
    "nn_decision_chart",
    "nn_interpolation_chart",
    "nn_landscape_chart",
    "nn_loss_chart",
    "overlay",
    "path_overlay",
    "path_skeleton",
    "path_tables",
    "placeholders",
    "records",
    "slice_charts",
    "stable_names",
    "step_param",
    "step_sentence",
    "surface_map",
    "three_d_chart",
]
