"""Figures drawn at the sidebar's rates — a schedule, more runs or steps than a window of rates
takes, mini-batches — come as panels, as the what-if figures do: the map beside its loss
charts, the loss curve beside the gradient curve, all moved by one step input and one Play."""

from __future__ import annotations

import re

import pytest

from tests import chartdata
from tests.apppage import charts, open_app, path_rows, runs_of

LINKS = {
    "a schedule": ({"surface": "rosenbrock", "sched": "cosine"}, 1),
    "many steps": ({"surface": "rosenbrock", "steps": "2000"}, 1),
    "five runs": ({"surface": "rosenbrock", "opt": "sgd,momentum,nesterov,adam,rmsprop",
                   "steps": "80"}, 5),
    "mini-batches": ({"surface": "linear_regression", "batch": "8", "steps": "40"}, 1),
}


def step_inputs(at) -> dict[str, int]:
    """The shared step inputs on the page: their element ids and maxima."""
    found = {}
    for element in at.get("html"):
        for tag in re.findall(r"<input [^>]*>", element.proto.body):
            if 'name="step"' in tag:
                found[re.search(r'id="([^"]+)"', tag).group(1)] = int(
                    re.search(r'max="(\d+)"', tag).group(1))
    return found


def plays(at) -> int:
    return sum(element.proto.body.count('data-act="play"') for element in at.get("html"))


def bound_step(element) -> str:
    (step,) = [p for p in chartdata.spec(element)["params"] if p["name"] == "step"]
    return step["bind"]["element"].lstrip("#")


@pytest.mark.parametrize("link", list(LINKS.values()), ids=list(LINKS))
def test_the_map_and_its_loss_charts_are_two_panels_moved_by_one_step(link):
    query, count = link
    at = open_app(**query)
    the_map, losses = charts(at.main)[:2]
    map_rows, loss_rows = chartdata.frames(the_map), chartdata.frames(losses)
    paths = path_rows(at)
    assert len(runs_of(paths)) == count  # every run's path on the map panel
    assert '"type": "image"' in str(chartdata.spec(the_map)).replace("'", '"')
    assert not any("w1" in df for df in loss_rows.values())
    assert any("loss" in df and "marker" in df for df in loss_rows.values())
    assert not any("marker" in df for df in map_rows.values())
    inputs = step_inputs(at)
    # One step input, as long as the longest run, moves both panels.
    last = int(paths["step"].max())
    assert bound_step(the_map) == bound_step(losses) and inputs == {bound_step(the_map): last}
    assert plays(at) == 1


def test_a_schedule_draws_its_rates_beside_the_map_not_in_it():
    at = open_app(surface="booth", opt="sgd,adam", lr="0.05,0.1", steps="40", sched="step")
    the_map, losses = charts(at.main)[:2]
    assert not chartdata.rows_with([the_map], "learning_rate")
    (rates,) = chartdata.rows_with([losses], "learning_rate")
    assert sorted(set(rates["run"])) == ["1", "2"]


def test_the_one_weight_figure_at_a_schedule_is_the_loss_and_the_gradient_panel():
    at = open_app(sched="cosine", opt="sgd,momentum")
    loss, gradient = charts(at.main)[:2]
    (words,) = chartdata.rows_with([loss], "sentence")
    assert words["sentence"].str.contains("\n").all()  # in lines as wide as the curve
    assert words["sentence"].str.replace("\n", " ").str.contains("the gradient at w").all()
    (iterates,) = chartdata.rows_with([gradient], "gradient", "step")
    assert "sentence" not in iterates and set(iterates["run"]) == set(words["run"])
    inputs = step_inputs(at)
    assert bound_step(loss) == bound_step(gradient) and list(inputs) == [bound_step(loss)]
    assert plays(at) == 1
