"""How long until the first chart is drawn: the app against a one-chart app, in one run.

Two figures, each for ``app.py`` (at ``--query``; default the lesson) and for
``benchmarks/one_chart_app.py`` (one slider and one Vega-Lite line: the least a Streamlit page
with a chart can do), measured alternately, the order flipping every round, so background load
hits both alike:

- **cold**: from starting ``streamlit run`` (a new process: Python, Streamlit, the app's
  imports, the first script run with empty caches) to the first chart drawn in headless
  Chromium. The browser is already running; a fresh context opens the page once the server is
  healthy.
- **warm**: a page already open on the link is reloaded (a new session on a server whose caches
  hold that link) until its first chart is drawn.

"Drawn" is the first ``svg.marks`` or ``canvas`` inside ``[data-testid="stVegaLiteChart"]``,
stamped in the page by a ``MutationObserver`` installed before any page script; warm times are
in the page's own clock from the navigation's start. Prints n, median, min, max per app and the
median ratios app/reference (**target ≤ 1.2 each**). Asserts nothing unless ``--check``.
``--floor`` also measures ``benchmarks/sidebar_chart_app.py`` (the reference's chart under a
sidebar of the lesson's widget types, nothing computed): what such a page costs the browser
before its chart appears, whatever the app does.

    python benchmarks/first_chart.py                      # the lesson, 5 rounds
    python benchmarks/first_chart.py --query "?surface=rosenbrock" --rounds 8
    python benchmarks/first_chart.py --floor              # ... and the sidebar-and-chart floor
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _timing import ROOT, chromium, machine, summary, with_query

from tests.e2e.browser import free_port, launch, wait_healthy

REFERENCE = ROOT / "benchmarks" / "one_chart_app.py"
FLOOR = ROOT / "benchmarks" / "sidebar_chart_app.py"
TARGET = 1.2

FIRST_CHART_SCRIPT = r"""
(() => {
  const seen = () => document.querySelector(
    '[data-testid="stVegaLiteChart"] svg.marks, [data-testid="stVegaLiteChart"] canvas');
  const stamp = () => {
    if (window.__firstChart === undefined && seen()) {
      window.__firstChart = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(stamp);
  const start = () => observer.observe(document.documentElement, {subtree: true, childList: true});
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
})();
"""
DRAWN = "() => window.__firstChart !== undefined"


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cold_start(browser, app: Path, query: str, viewport: dict) -> tuple[float, float]:
    """Seconds from starting the server process to the first chart drawn, and the part of it
    spent before the server answered its health check."""
    port = free_port()
    started = time.monotonic()
    proc = launch(app, port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        context = browser.new_context(viewport=viewport)
        context.add_init_script(FIRST_CHART_SCRIPT)
        page = context.new_page()
        opened = time.monotonic()
        page.goto(url + "/" + query)
        page.wait_for_function(DRAWN, timeout=120_000, polling=50)
        in_page = page.evaluate("() => window.__firstChart") / 1000.0
        context.close()
        return opened - started + in_page, opened - started
    finally:
        _stop(proc)


def warm_reload(page) -> float:
    """Seconds from reloading an open page to its first chart drawn (the page's clock)."""
    page.reload()
    page.wait_for_function(DRAWN, timeout=60_000, polling=50)
    return page.evaluate("() => window.__firstChart") / 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", default="", help='query for app.py (default "": the lesson)')
    parser.add_argument("--rounds", type=int, default=5, help="cold starts per app (default 5)")
    parser.add_argument("--reloads", type=int, default=3,
                        help="warm reloads per app per round (default 3)")
    parser.add_argument("--floor", action="store_true",
                        help=f"also measure {FLOOR.name} (the reference's chart under a sidebar "
                             "of the lesson's widget types: what such a page costs, app aside)")
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when a median ratio is above {TARGET}")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    query = with_query(args.query)
    apps = {"app": (ROOT / "app.py", query), "reference": (REFERENCE, "")}
    if args.floor:
        apps["floor"] = (FLOOR, "")
    viewport = {"width": 1400, "height": 1000}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"cold": [], "warm": [], "healthy": []} for name in apps}
    print(f"first chart, app.py at '/{query}' vs {REFERENCE.name}; {machine()}", flush=True)
    with sync_playwright() as p, chromium(p) as browser:
        for round_ in range(args.rounds):
            order = list(apps) if round_ % 2 == 0 else list(apps)[::-1]
            for name in order:
                app, q = apps[name]
                total, healthy = cold_start(browser, app, q, viewport)
                samples[name]["cold"].append(total)
                samples[name]["healthy"].append(healthy)
            # Warm: both servers up, one open page each; reloads alternate between them.
            procs, pages, contexts = {}, {}, []
            try:
                for name in order:
                    app, q = apps[name]
                    port = free_port()
                    procs[name] = launch(app, port)
                    wait_healthy(f"http://127.0.0.1:{port}")
                    context = browser.new_context(viewport=viewport)
                    context.add_init_script(FIRST_CHART_SCRIPT)
                    contexts.append(context)
                    pages[name] = context.new_page()
                    pages[name].goto(f"http://127.0.0.1:{port}/{q}")
                    pages[name].wait_for_function(DRAWN, timeout=120_000, polling=50)
                    warm_reload(pages[name])  # the link's caches are now filled
                for k in range(args.reloads):
                    for name in (order if k % 2 == 0 else order[::-1]):
                        samples[name]["warm"].append(warm_reload(pages[name]))
            finally:
                for context in contexts:
                    context.close()
                for proc in procs.values():
                    _stop(proc)
            print(f"round {round_ + 1}: " + ", ".join(
                f"{name} cold {samples[name]['cold'][-1]:.2f} s" for name in apps), flush=True)
    failed = False
    for kind in ("cold", "warm"):
        stats = {name: summary(samples[name][kind]) for name in apps}
        for name, s in stats.items():
            print(f"{kind:>4} {name:>9}: n={s['n']} median {s['median'] * 1000:.0f} ms "
                  f"(min {s['min'] * 1000:.0f}, max {s['max'] * 1000:.0f})")
            if kind == "cold":
                print(f"{'':>14}  of which up to the server's health check "
                      f"{summary(samples[name]['healthy'])['median'] * 1000:.0f} ms")
        ratio = stats["app"]["median"] / stats["reference"]["median"]
        failed |= ratio > TARGET
        print(f"{kind:>4} ratio app/reference: {ratio:.2f}× (target ≤ {TARGET}×)")
        if "floor" in stats:
            print(f"{kind:>4} ratio floor/reference: "
                  f"{stats['floor']['median'] / stats['reference']['median']:.2f}×, "
                  f"app/floor: {stats['app']['median'] / stats['floor']['median']:.2f}×")
    print(machine())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"query": query, "samples": samples}, indent=1))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
