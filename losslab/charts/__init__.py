"""Chart builders: pure functions from surfaces and histories to ``alt.Chart``.

They never import Streamlit: a notebook displays the returned chart directly.
"""

from losslab.charts._common import DASHES, PALETTE, SHAPES, STEP, step_param

__all__ = ["DASHES", "PALETTE", "SHAPES", "STEP", "step_param"]
from losslab.charts._lesson import MAX_DRAWN_STEPS, lesson_figure, lesson_frames, step_sentence

__all__ += ["MAX_DRAWN_STEPS", "lesson_figure", "lesson_frames", "step_sentence"]
