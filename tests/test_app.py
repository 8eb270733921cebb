"""The app's wiring, driven by Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import chartdata

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception
    return app


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_opens_without_exception_and_shows_the_lesson_figure(at):
    specs = charts(at)
    assert specs, "no chart drawn"
    text = json.dumps(specs[0])
    assert "Loss surface" in text and "Gradient of loss w.r.t. w" in text


def test_changing_the_learning_rate_changes_the_drawn_path(at):
    before = chartdata.frames(at.get("vega_lite_chart")[0])
    at.slider(key="lr").set_value(0.2).run()
    assert not at.exception
    after = chartdata.frames(at.get("vega_lite_chart")[0])
    paths_before = [df for df in before.values() if "step" in df.columns]
    paths_after = [df for df in after.values() if "step" in df.columns]
    assert paths_before and paths_after
    assert not paths_before[0]["w"].equals(paths_after[0]["w"])


def test_a_diverging_rate_warns_and_does_not_raise(at):
    at.slider(key="lr").set_value(0.9).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Diverged at step" in warnings
