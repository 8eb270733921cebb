"""Build the Rosenbrock surface map, save it as HTML, and look at it in headless Chromium.

    python benchmarks/render_surface_png.py [--out /tmp/surface_map.png] [--html /tmp/x.html]

Prints the size of the PNG layer and of the chart's JSON. The saved HTML loads Vega from a CDN,
which a machine without internet cannot reach, so the visual check instead serves the same
chart with ``st.altair_chart`` from a throwaway Streamlit script (Streamlit bundles Vega),
takes a screenshot, hovers the map (a tooltip must appear) and scrubs the step slider to time
repaints.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from losslab import descent, optimizers, surfaces  # noqa: E402
from losslab.charts import step_param, surface_map  # noqa: E402
from losslab.grids import evaluate  # noqa: E402
from losslab.raster import to_png_data_url  # noqa: E402

STEPS = 400


def rosenbrock() -> surfaces.Surface:
    """The registry's Rosenbrock surface, or an inline one while the registry lacks it."""
    if "rosenbrock" in surfaces.SURFACES:
        return surfaces.get("rosenbrock")

    def loss(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    def grad(p):
        return np.stack([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2),
                         200 * (p[1] - p[0] ** 2)])

    def hessian(p):
        return np.array([[2 - 400 * p[1] + 1200 * p[0] ** 2, -400 * p[0]],
                         [-400 * p[0], 200 + 0 * p[0]]])

    return surfaces.Surface(
        name="rosenbrock", title="Rosenbrock (inline)", dim=2, loss_fn=loss, grad_fn=grad,
        hessian_fn=hessian, window=((-2.0, 2.0), (-1.0, 3.0)), minimizers=((1.0, 1.0),),
        optimal_value=0.0, axis_labels=("w1", "w2"),
    )


def build_chart(resolution: int = 400, field: bool = True):
    surface = rosenbrock()
    start = [-1.5, 2.0]
    runs = [
        ("SGD", descent.run(surface, optimizers.sgd(learning_rate=1e-3), start=start,
                            steps=STEPS)),
        ("Momentum 0.9", descent.run(surface, optimizers.sgd(learning_rate=1e-3, momentum=0.9),
                                     start=start, steps=STEPS)),
    ]
    grid = evaluate(surface, resolution)
    return surface, grid, surface_map(surface, grid, histories=runs,
                                      step_param=step_param(STEPS, 60),
                                      show_gradient_field=field)


_APP = """
import streamlit as st
from benchmarks.render_surface_png import build_chart
# Streamlit's default autosize "fit" would squeeze the plot to make room for the legends.
st.altair_chart(build_chart()[2].properties(autosize="pad"), width="content")
"""


def visual_check(png_out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import chromium, streamlit_server, wait_for_app

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "surface_app.py"
        app.write_text(textwrap.dedent(_APP))
        with streamlit_server(app) as url, sync_playwright() as p, chromium(p) as browser:
            page = browser.new_page(viewport={"width": 1000, "height": 900},
                                    device_scale_factor=2)
            page.goto(url)
            wait_for_app(page)
            page.wait_for_timeout(1500)
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.screenshot(path=str(png_out))
            print(f"screenshot: {png_out}")
            box = chart.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
            page.wait_for_timeout(600)
            tip = page.locator("#vg-tooltip-element")
            shown = tip.count() > 0 and "visible" in (tip.first.get_attribute("class") or "")
            print("hover tooltip:", tip.first.inner_text().replace("\n", " | ") if shown
                  else "none shown")
            page.mouse.move(0, 0)
            ms = page.evaluate(
                """async () => {
                  const input = document.querySelector('input[type=range]');
                  const frame = () => new Promise(r => requestAnimationFrame(
                      () => requestAnimationFrame(r)));
                  const t0 = performance.now();
                  for (let s = 0; s <= 400; s += 10) {
                    input.value = s; input.dispatchEvent(new Event('input', {bubbles: true}));
                    await frame();
                  }
                  return (performance.now() - t0) / 41;
                }"""
            )
            print(f"scrubbing the step: {ms:.1f} ms per step (two animation frames each)")
            page.evaluate("""() => { const i = document.querySelector('input[type=range]');
                i.value = 250; i.dispatchEvent(new Event('input', {bubbles: true})); }""")
            page.wait_for_timeout(500)
            later = png_out.with_name(png_out.stem + "_step250.png")
            chart.screenshot(path=str(later))
            print(f"screenshot at step 250: {later}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/surface_map.png"))
    parser.add_argument("--html", type=Path, default=Path("/tmp/surface_map.html"))
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    surface, grid, chart = build_chart()
    spec = chart.to_dict()
    built = time.perf_counter() - t0
    raster = to_png_data_url(grid.values)
    rows = {name: len(v) for name, v in spec.get("datasets", {}).items()}
    print(f"surface: {surface.title}; grid {grid.shape}")
    print(f"PNG layer: {raster.png_bytes} bytes, data URL {len(raster.url)} characters")
    print(f"chart JSON: {len(json.dumps(spec))} characters; dataset rows: {sorted(rows.values())}")
    print(f"build + to_dict: {built * 1000:.0f} ms")
    chart.save(str(args.html))
    print(f"saved {args.html} (needs internet for Vega's scripts)")
    if not args.no_browser:
        visual_check(args.out)


if __name__ == "__main__":
    main()
