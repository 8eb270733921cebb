"""Scrubbing the chart's browser-side "Step" control: no WebSocket message, a quick repaint a step.

Opens the app in headless Chromium, finds the Vega range binding of the ``step`` parameter
(``.vega-bindings input[type=range][name=step]``; ``--name`` and ``--chart`` pick another, the
latter counting matches in page order) and walks it one input step at a time from its end to its
start and back (``--passes`` walks in all; a range of more than ``--max-steps`` values is strided).

WebSocket frames are counted by Playwright outside the page (``page.on("websocket")`` →
``ws.on("framesent")`` / ``"framereceived"``), and again inside the page by the wrapped
``WebSocket`` of ``benchmarks/_timing.py``. Frames sent are decoded to their ``BackMsg`` field name,
so a frame would say what it was (a rerun request, a heartbeat...). Required: 0 frames sent while
scrubbing. For comparison the same count is taken over an idle period as long as the scrub.

Timing one step, entirely inside the page (no DevTools round trip inside the measurement):
``t0 = performance.now()``; set the input's value through the native setter and dispatch ``input``
(what a drag dispatches; Vega's binding listens to it); wait for the first chart draw after ``t0``
(a DOM mutation inside ``svg.marks`` for Vega's SVG renderer, or a 2-D canvas drawing call for its
canvas renderer); then wait for frames — ``requestAnimationFrame`` and a ``setTimeout(0)`` queued in
it, which runs just after that frame has been rendered — until a frame passes with no further chart
draw. The step's time is from ``t0`` to the end of that frame: input handling, Vega's dataflow,
drawing, style, layout and paint. Each step starts on a fresh frame after the previous one settled.
Vega's own ``view`` is not reachable (Streamlit keeps it inside React, nothing on ``window``), so
draws are observed rather than awaited through ``view.runAsync()``. A step with no draw within
``--timeout``/10 counts as "no repaint"; the value label's text change is outside ``svg.marks``
and does not count as a draw.

Target: 0 frames sent; each step repaints within 50 ms.

    python benchmarks/scrub.py --query ""            # the lesson (opening view)
    python benchmarks/scrub.py                       # ?surface=rosenbrock
    python benchmarks/scrub.py --res --passes 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from _timing import (
    ACTIVITY_SCRIPT,
    QUIET,
    ROOT,
    VIEWPORT,
    add_common_arguments,
    chromium,
    machine,
    streamlit_server,
    summary,
    with_query,
)

BUDGET_MS = 50.0
RANGE = ".vega-bindings input[type=range]"

SCRUB = r"""
async ({ selector, index, values, timeoutMs }) => {
  const input = document.querySelectorAll(selector)[index];
  const b = window.__losslabBench;
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const lastDraw = () => Math.max(b.lastChartMutation, b.lastCanvasDraw);
  const afterFrame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const firstDraw = (t0) => new Promise((done) => {
    if (lastDraw() > t0) return done(true);
    const timer = setTimeout(() => { b.onChartActivity = null; done(false); }, timeoutMs);
    b.onChartActivity = () => { clearTimeout(timer); done(true); };
  });
  const steps = [];
  for (const value of values) {
    await afterFrame();
    const t0 = performance.now();
    setValue.call(input, String(value));
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const drawn = await firstDraw(t0);
    let seen = lastDraw();
    let frames = 0;
    while (frames < 60) {
      await afterFrame();
      frames += 1;
      if (lastDraw() === seen) break;
      seen = lastDraw();
    }
    steps.push({ value, drawn, ms: performance.now() - t0, drawMs: seen - t0, frames });
  }
  return steps;
}
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(
        parser, check_help="exit 1 when a frame was sent or the p95 step exceeds 50 ms"
    )
    parser.add_argument("--passes", type=int, default=4,
                        help="walks across the range, alternately down and up (default 4)")
    parser.add_argument("--max-steps", type=int, default=200,
                        help="at most this many values per walk (a longer range is strided)")
    parser.add_argument("--name", default="step", help="the bound parameter (default step)")
    parser.add_argument("--chart", type=int, default=0,
                        help="which of the matching range inputs, in page order (default 0)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds for the load; a tenth of it per step")
    args = parser.parse_args(argv)
    if args.passes < 1 or args.max_steps < 2:
        parser.error("--passes must be ≥ 1 and --max-steps ≥ 2")
    return args


def back_msg_kind(payload: bytes | str) -> str:
    """The ``BackMsg`` field a sent frame carries (``rerun_script``, ``app_heartbeat``...)."""
    if isinstance(payload, str):
        return "text"
    from streamlit.proto.BackMsg_pb2 import BackMsg

    message = BackMsg()
    try:
        message.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - any undecodable frame is still a frame
        return "undecodable"
    return message.WhichOneof("type") or "empty"


def walks(low: float, high: float, step: float, passes: int, max_steps: int) -> list[float]:
    """Values from ``high`` down to ``low`` and back, ``passes`` walks, one input step apart."""
    count = int(round((high - low) / step)) + 1
    stride = max(1, -(-count // max_steps))
    down = [high - i * step for i in range(0, count, stride)]
    if down[-1] != low:
        down.append(low)
    values: list[float] = []
    for walk in range(passes):
        values += down[1:] if walk % 2 == 0 else down[::-1][1:]
    return [round(v, 10) for v in values]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    query = with_query(args.query, args.res)
    from playwright.sync_api import sync_playwright

    sent: list[tuple[float, str]] = []
    received: list[float] = []

    def on_websocket(ws) -> None:
        ws.on("framesent", lambda payload: sent.append((time.monotonic(), back_msg_kind(payload))))
        ws.on("framereceived", lambda payload: received.append(time.monotonic()))

    errors: list[str] = []
    selector = f'{RANGE}[name="{args.name}"]'
    print(f"start: {machine()}", flush=True)
    with (
        streamlit_server(ROOT / "app.py") as url,
        sync_playwright() as playwright,
        chromium(playwright) as browser,
    ):
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(ACTIVITY_SCRIPT)
        page = context.new_page()
        page.on("websocket", on_websocket)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
        page.goto(f"{url}/{query}", timeout=args.timeout * 1000)
        try:
            page.locator(selector).nth(args.chart).wait_for(state="attached",
                                                         timeout=args.timeout * 1000)
        except Exception as exc:  # noqa: BLE001 - say what the page shows instead
            shown = page.locator('[data-testid="stException"]').all_inner_texts()
            charts = page.locator('[data-testid="stVegaLiteChart"]').count()
            raise SystemExit(f"no range input #{args.chart} ({selector}) at {page.url} after "
                             f"{args.timeout:g} s: {charts} Vega charts, exceptions: {shown}; "
                             f"{type(exc).__name__}") from None
        page.wait_for_function(QUIET, arg={"quietMs": 500, "roundTrip": False},
                               polling=100, timeout=args.timeout * 1000)
        if page.locator('[data-testid="stException"]').count():
            raise SystemExit(f"the page shows an exception at {page.url}")
        bounds = page.locator(selector).nth(args.chart).evaluate(
            "e => [Number(e.min), Number(e.max), Number(e.step) || 1, Number(e.value)]")
        low, high, step, start = bounds
        values = walks(low, high, step, args.passes, args.max_steps)
        in_page_sent = page.evaluate("window.__losslabBench.wsSent")

        began = time.monotonic()
        steps = page.evaluate(SCRUB, {"selector": selector, "index": args.chart, "values": values,
                                      "timeoutMs": args.timeout * 100})
        ended = time.monotonic()
        # Frames in flight at the end still arrive: wait a little before counting.
        page.wait_for_timeout(1000)
        scrub_sent = [kind for t, kind in sent if began <= t]
        scrub_received = [t for t in received if began <= t]
        in_page_scrub_sent = page.evaluate("window.__losslabBench.wsSent") - in_page_sent

        idle_began = time.monotonic()
        page.wait_for_timeout((ended - began) * 1000)
        idle_sent = [kind for t, kind in sent if idle_began <= t]
        has_exception = page.locator('[data-testid="stException"]').count() > 0
        context.close()

    times = [s["ms"] for s in steps if s["drawn"]]
    stats = summary(times)
    not_drawn = sum(not s["drawn"] for s in steps)
    over = sum(t > BUDGET_MS for t in times)
    print(f"app query: {query or '(none: the lesson)'}; range {low:g}..{high:g} step {step:g} "
          f"(started at {start:g}); {len(steps)} steps in {ended - began:.1f} s")
    kinds = dict(Counter(scrub_sent))
    print(f"frames sent while scrubbing: {len(scrub_sent)} {kinds or ''} (in-page count: "
          f"{in_page_scrub_sent}); received: {len(scrub_received)}; "
          f"sent while idle as long: {len(idle_sent)}")
    print(f"ms per step (input → frame after last draw): median {stats['median']:.1f}, "
          f"p95 {stats['p95']:.1f}, max {stats['max']:.1f}; over {BUDGET_MS:.0f} ms: {over}; "
          f"no repaint: {not_drawn}")
    draw = summary([s["drawMs"] for s in steps if s["drawn"]])
    print(f"ms to the last chart draw alone: median {draw['median']:.1f}, p95 {draw['p95']:.1f}")
    slowest = sorted(enumerate(steps), key=lambda item: -item[1]["ms"])[:3]
    print("slowest steps (index: value, ms): " + ", ".join(
        f"{i}: {s['value']:g}, {s['ms']:.0f}" for i, s in slowest))
    for error in errors:
        print(error)
    print(f"end: {machine()}")
    if has_exception:
        print("the page shows an exception after scrubbing")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "query": query, "frames_sent": kinds, "frames_received": len(scrub_received),
            "idle_frames_sent": len(idle_sent), "stats": stats, "steps": steps, "errors": errors,
        }, indent=1))
    failed = bool(scrub_sent) or stats["p95"] > BUDGET_MS or not_drawn or has_exception
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
