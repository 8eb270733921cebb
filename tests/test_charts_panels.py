"""A figure as separate panels: each panel a whole spec with its own rows, and the parameters
they share bound to one input each, outside the charts."""

from __future__ import annotations

from losslab import charts
from tests.chartdata import assert_valid_vega_lite

RANGE = {"input": "range", "min": 0, "max": 6, "step": 1, "name": "Adam: learning rate "}


def two_panels(lr_max: int = 6) -> list[dict]:
    step = {"name": "step", "value": 40, "bind": {"input": "range", "min": 0, "max": 40,
                                                   "step": 1, "name": "Step "}}
    rate = {"name": "lr_1", "value": 3, "bind": {**RANGE, "max": lr_max}}
    angle = {"name": "angle", "value": 0}  # not bound: left as it is
    body = {"mark": "point", "data": {"name": "rows"},
            "encoding": {"x": {"field": "step", "type": "quantitative"}}}
    return [charts.panel(body, [step, rate, angle], {"rows": [{"step": 1}], "other": []}),
            charts.panel({"layer": [body]}, [step, rate], {"rows": [{"step": 1}]})]


def test_a_panel_carries_only_the_rows_it_reads():
    first, second = two_panels()
    assert set(first["datasets"]) == {"rows"} and set(second["datasets"]) == {"rows"}
    assert first["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


def test_each_shared_parameter_listens_to_one_input_outside_the_charts():
    panels, controls = charts.shared_controls(two_panels())
    assert [(c.name, c.label, c.minimum, c.maximum, c.value) for c in controls] == [
        ("step", "Step ", 0, 40, 40), ("lr_1", "Adam: learning rate ", 0, 6, 3)]
    ids = {c.name: c.element for c in controls}
    for spec in panels:
        params = {p["name"]: p for p in spec["params"]}
        assert params["step"]["bind"] == {"element": f"#{ids['step']}"}
        assert params["lr_1"]["bind"] == {"element": f"#{ids['lr_1']}"}
        assert params["lr_1"]["value"] == 3
    assert "bind" not in {p["name"]: p for p in panels[0]["params"]}["angle"]
    assert all(c.element.replace("-", "").isalnum() for c in controls)


def test_a_changed_control_changes_every_input_id_so_the_charts_bind_anew():
    _, before = charts.shared_controls(two_panels())
    _, same = charts.shared_controls(two_panels())
    _, wider = charts.shared_controls(two_panels(lr_max=8))
    assert [c.element for c in same] == [c.element for c in before]
    assert not {c.element for c in wider} & {c.element for c in before}


def test_a_panel_with_the_shared_inputs_is_valid_vega_lite():
    panels, _ = charts.shared_controls(two_panels())
    for spec in panels:
        assert_valid_vega_lite(spec)
