"""Moving the what-if chart's in-chart controls: no WebSocket message, and the time per move.

Opens ``benchmarks/whatif_app.py`` (or ``--app``) in headless Chromium at the 3-run Rosenbrock
view (``--query``, default ``?surface=rosenbrock&opt=sgd,momentum,adam&steps=300``) and then at
the lesson (``?view=lesson``), and walks every range input of the chart one position at a time,
end to start and back (``--passes``): each run's learning rate (``lr_<k>``), its decay
(``beta_<k>``) where it has one, and the step. Each move is timed inside the page exactly as
``scrub.py`` times the step (from setting the value, through the first chart draw, to the end of
the first frame after which nothing more was drawn), so the figures compare with it. WebSocket
frames sent are counted by Playwright while walking (target: 0). Main-thread work per move is
Chromium's ``TaskDuration`` metric (CDP ``Performance.getMetrics`` with thread-time ticks) read
before and after each move: CPU time of the page's main thread, so a loaded machine inflates it
far less than the wall-clock time from input to settled frame, which is printed beside it.
``--app app.py`` measures the app's own step control the same way (its only range input).

Target: 0 frames sent; median main-thread work per move ≤ 50 ms for every control.

    python benchmarks/whatif.py
    python benchmarks/whatif.py --passes 10 --json benchmarks/results/whatif.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from _timing import (
    ACTIVITY_SCRIPT,
    QUIET,
    ROOT,
    VIEWPORT,
    chromium,
    machine,
    streamlit_server,
    summary,
)
from scrub import SCRUB, back_msg_kind, walks

BUDGET_MS = 50.0
RANGE = ".vega-bindings input[type=range]"
MAP_QUERY = "?surface=rosenbrock&opt=sgd,momentum,adam&steps=300"
LESSON_QUERY = "?view=lesson"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", type=Path, default=ROOT / "app.py")
    parser.add_argument("--query", default=MAP_QUERY, help=f"the map's page (default {MAP_QUERY})")
    parser.add_argument("--lesson-query", default=LESSON_QUERY,
                        help=f'the lesson\'s page (default {LESSON_QUERY}; "" skips it)')
    parser.add_argument("--passes", type=int, default=4, help="walks per control (default 4)")
    parser.add_argument("--max-steps", type=int, default=100,
                        help="at most this many values per walk (a longer range is strided)")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a frame was sent or a median exceeds 50 ms")
    return parser.parse_args(argv)


def task_seconds(cdp) -> float:
    """The page's main-thread busy time so far (Chromium's ``TaskDuration``, in thread time)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def walk_page(browser, url: str, args, sent: list) -> tuple[dict, float]:
    """Every range input of the page walked in turn: {name: steps} and the load time (s)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(ACTIVITY_SCRIPT)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    page.on("websocket", lambda ws: ws.on(
        "framesent", lambda payload: sent.append((time.monotonic(), back_msg_kind(payload)))))
    began = time.monotonic()
    page.goto(url, timeout=args.timeout * 1000)
    page.locator(f"{RANGE}[name=step]").wait_for(state="attached", timeout=args.timeout * 1000)
    page.wait_for_function(QUIET, arg={"quietMs": 500, "roundTrip": False}, polling=100,
                           timeout=args.timeout * 1000)
    loaded = time.monotonic() - began - 0.5
    names = page.evaluate(f"() => [...document.querySelectorAll('{RANGE}')].map(e => e.name)")
    out = {}
    for name in names:
        selector = f'{RANGE}[name="{name}"]'
        low, high, step, start = page.locator(selector).evaluate(
            "e => [Number(e.min), Number(e.max), Number(e.step) || 1, Number(e.value)]")
        values = walks(low, high, step, args.passes, args.max_steps)
        # The walks start at the top: move there first (not timed), so no move repeats a value.
        page.evaluate(SCRUB, {"selector": selector, "index": 0, "values": [high],
                              "timeoutMs": args.timeout * 100})
        t0 = time.monotonic()
        steps = []
        for value in values:
            before = task_seconds(cdp)
            [move] = page.evaluate(SCRUB, {"selector": selector, "index": 0, "values": [value],
                                           "timeoutMs": args.timeout * 100})
            move["taskMs"] = (task_seconds(cdp) - before) * 1000
            steps.append(move)
        page.wait_for_timeout(300)
        out[name] = {"steps": steps, "sent": [k for t, k in sent if t >= t0]}
        # Back to where the learner left it, so the next control is walked from the default.
        page.evaluate(SCRUB, {"selector": selector, "index": 0, "values": [start],
                              "timeoutMs": args.timeout * 100})
    if page.locator('[data-testid="stException"]').count():
        raise SystemExit(f"the page shows an exception at {url}")
    context.close()
    return out, loaded


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    print(f"start: {machine()}", flush=True)
    results: dict[str, dict] = {}
    failed = False
    with (
        streamlit_server(args.app) as url,
        sync_playwright() as playwright,
        chromium(playwright) as browser,
    ):
        for label, query in (("map", args.query), ("lesson", args.lesson_query)):
            if query is None or (label == "lesson" and not query):
                continue
            sent: list = []
            walked, loaded = walk_page(browser, f"{url}/{query}", args, sent)
            print(f"\n{label}: {query} (page quiet after {loaded:.1f} s)")
            for name, res in walked.items():
                times = [s["ms"] for s in res["steps"] if s["drawn"]]
                stats = summary(times)
                work = summary([s["taskMs"] for s in res["steps"]])
                not_drawn = sum(not s["drawn"] for s in res["steps"])
                kinds = dict(Counter(res["sent"]))
                print(f"  {name:>7}: {len(res['steps'])} moves, frames sent {len(res['sent'])} "
                      f"{kinds or ''}; main-thread work ms median {work['median']:.1f}, "
                      f"p95 {work['p95']:.1f}; input → settled frame ms median "
                      f"{stats['median']:.1f}, p95 {stats['p95']:.1f}; no repaint {not_drawn}")
                failed |= bool(res["sent"]) or work["median"] > BUDGET_MS or not_drawn > 0
                results[f"{label}:{name}"] = {"query": query, "stats": stats, "work": work,
                                              "frames_sent": kinds, "steps": res["steps"]}
    print(f"\nend: {machine()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
