"""Over Streamlit's own protocol: a change to what the runs do reruns only the lab.

The page has two parts (``app.py``): what it is about (lesson, view, surface), drawn by the
whole script, and the lab (the run controls, the scene and its view), a fragment. A learner
switching an optimiser must get the lab redrawn, with the new optimiser's words, and nothing
else re-sent; a new surface redraws the whole page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import sys

import pytest

from tests.e2e.browser import ROOT, free_port, launch, wait_healthy

sys.path.insert(0, str(ROOT / "benchmarks"))
from learners import Learner  # noqa: E402  (the load test's protocol client)
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

pytestmark = pytest.mark.timeout(180)
LINK = "surface=rosenbrock&opt=sgd,momentum,adam&steps=300"


@pytest.fixture(scope="module")
def server_url():
    port = free_port()
    process = launch(ROOT / "app.py", port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def picked(learner: Learner, key: str, name: str) -> WidgetState:
    """The menu ``key`` with the entry whose label contains ``name`` picked."""
    widget = learner.widgets[key]
    labels = [label for label in widget.options if name in label]
    assert labels, widget.options
    state = WidgetState()
    state.CopyFrom(widget.state)
    state.string_value = labels[0]
    return state


def texts(learner: Learner) -> str:
    return "\n".join(text for _, _, text in learner.drawn)


async def switch_optimiser_then_surface(url: str) -> dict[str, object]:
    learner = Learner(url, LINK, random.Random(0), timeout=120)
    try:
        await learner.open()
        opened = {"status": learner.status, "elements": len(learner.drawn),
                  "fragments": {f for _, f, _ in learner.drawn}}
        lab = learner.widgets["w_opt_0"].fragment
        await learner.rerun(picked(learner, "w_opt_0", "Nesterov momentum"))
        switched = {"status": learner.status, "fragments": {f for _, f, _ in learner.drawn},
                    "kinds": [kind for kind, _, _ in learner.drawn], "text": texts(learner),
                    "query": learner.query}
        await learner.rerun(picked(learner, "w_surface", "Himmelblau"))
        surface = {"status": learner.status, "fragments": {f for _, f, _ in learner.drawn},
                   "text": texts(learner)}
        return {"opened": opened, "lab": lab, "switched": switched, "surface": surface,
                "surface_fragment": learner.widgets["w_surface"].fragment}
    finally:
        await learner.close()


def test_switching_an_optimiser_redraws_only_the_lab_and_a_surface_the_page(server_url):
    # Its own thread: Playwright's sync API may have left an event loop running on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        seen = pool.submit(asyncio.run, switch_optimiser_then_surface(server_url)).result()
    lab = seen["lab"]
    assert lab, "the run controls are drawn by a fragment"
    assert seen["surface_fragment"] == "", "the surface menu is drawn by the whole page"
    assert seen["opened"]["status"] == "FINISHED_SUCCESSFULLY"
    assert seen["opened"]["fragments"] == {"", lab}

    switched = seen["switched"]
    assert switched["status"] == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"
    assert switched["fragments"] == {lab}, "only the lab is re-sent"
    assert "vega_lite_chart" in switched["kinds"]
    assert "Loss surfaces and gradients" not in switched["text"]  # the title stays as it was
    # The lab's words follow the new optimiser, and the link records it.
    assert "With Nesterov momentum (β = 0.9) the bound is" in switched["text"]
    assert "opt=nesterov%2Cmomentum%2Cadam" in switched["query"] \
        or "opt=nesterov,momentum,adam" in switched["query"]

    surface = seen["surface"]
    assert surface["status"] == "FINISHED_SUCCESSFULLY"
    assert "" in surface["fragments"] and lab in surface["fragments"]
    assert "Loss surfaces and gradients" in surface["text"]
