"""Reloading an open link: first chart drawn, page quiet, and the browser's main-thread work.

Starts one ``streamlit run`` of ``--app`` on a loopback port, opens each of ``--queries`` once
(the server's caches fill), then reloads them in turn (the order flipping every round, so
drifting background load hits all alike), each from ``about:blank`` in the same tab. Per load,
in the page's own clock from the navigation's start: the first ``svg.marks`` or ``canvas``
inside a ``[data-testid="stVegaLiteChart"]`` (first chart), and the last activity once the page
has been quiet for 700 ms (``_timing.ACTIVITY_SCRIPT``'s signals); and Chromium's count of
main-thread task time over the load (``Performance.getMetrics``' ``TaskDuration``). Prints the
medians per query. Used to compare two pages of one app measured in the same run, e.g. what
carrying every optimiser's rows costs a page load:

    python benchmarks/page_load.py --app benchmarks/figure_app.py --queries "?" "?every=1"
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _timing import ACTIVITY_SCRIPT, ROOT, VIEWPORT, chromium, machine, streamlit_server

DRAWN = ("() => !!document.querySelector('[data-testid=stVegaLiteChart] canvas, "
         "[data-testid=stVegaLiteChart] svg.marks')")
QUIET_AFTER = ("() => { const b = window.__losslabBench; return performance.now() - Math.max("
               "b.lastMutation, b.lastCanvasDraw, b.lastFrame, b.lastWsReceived, "
               "b.lastLongTaskEnd) > 700; }")
LAST = ("() => { const b = window.__losslabBench; return Math.max(b.lastMutation, "
        "b.lastCanvasDraw, b.lastFrame, b.lastWsReceived, b.lastLongTaskEnd); }")


def task_ms(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return 1000 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "app.py")
    parser.add_argument("--queries", nargs="+", default=["?surface=rosenbrock"])
    parser.add_argument("--rounds", type=int, default=8, help="reloads per query (default 8)")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    timeout = args.timeout * 1000
    queries = [q if q.startswith("?") or not q else f"?{q}" for q in args.queries]
    samples = {q: {"first": [], "quiet": [], "work": []} for q in queries}
    print(f"start: {machine()}", flush=True)
    with (streamlit_server(args.app) as url, sync_playwright() as playwright,
          chromium(playwright) as browser):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.add_init_script(ACTIVITY_SCRIPT)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        for query in queries:  # caches fill
            page.goto(f"{url}/{query}", timeout=timeout)
            page.wait_for_function(DRAWN, timeout=timeout)
            page.wait_for_function(QUIET_AFTER, timeout=timeout, polling=50)
        for round_index in range(args.rounds):
            for query in queries if round_index % 2 == 0 else queries[::-1]:
                page.goto("about:blank")
                before = task_ms(cdp)
                page.goto(f"{url}/{query}", timeout=timeout)
                page.wait_for_function(DRAWN, timeout=timeout, polling=5)
                first = page.evaluate("performance.now()")
                page.wait_for_function(QUIET_AFTER, timeout=timeout, polling=50)
                sample = samples[query]
                sample["first"].append(first)
                sample["quiet"].append(page.evaluate(LAST))
                sample["work"].append(task_ms(cdp) - before)
    print(f"\nreloading {args.app.name}, {args.rounds} loads each, medians (ms)")
    print(f"{'query':40}{'first chart':>13}{'quiet':>8}{'main-thread work':>18}")
    for query, sample in samples.items():
        print(f"{query or '(none)':40}{statistics.median(sample['first']):>13.0f}"
              f"{statistics.median(sample['quiet']):>8.0f}"
              f"{statistics.median(sample['work']):>18.0f}")
    print(f"end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
