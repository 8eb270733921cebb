"""Latency of one learning-rate key press: the app against a bare one-slider Streamlit app.

Starts ``app.py`` and ``benchmarks/bare_app.py`` on loopback ports, opens each in its own context of
one headless Chromium, focuses the "Learning rate" slider thumb (``role=slider`` inside
``.st-key-lr``) and presses ArrowRight, alternating between the two apps press by press (the order
flips every press, so drifting background load hits both alike).

Latency of a press = last page activity − the ``keydown`` event's time stamp, both in the page's
``performance.now()`` clock, measured once the page is quiet: 500 ms without DOM mutation, canvas
draw, frame after either, long task or WebSocket message; no status widget; and the rerun's round
trip seen (a message sent after the press, then a ``script_finished`` message). The rules and the
injected observers are in ``benchmarks/_timing.py``. Also reported, as medians: ``sent`` (press →
rerun request sent), ``finished`` (press → ``script_finished`` arrived: mostly server time) and
``tail`` (``script_finished`` → last activity: browser rendering after the run).

Each round reloads both pages, then moves the slider some positions ahead (not measured) so that the
measured presses reach values no earlier round reached (the app caches runs by value): the first
rounds go rightwards, later ones leftwards; when the slider has no fresh values left, rounds repeat
earlier values and the script says so.

Targets (``?surface=rosenbrock``): median app/bare ≤ 1.25 at the default resolution, ≤ 1.4 with
``--res`` (``&res=400``). The script prints figures; it asserts nothing unless ``--check`` is given.

``--gesture optimiser`` measures what still needs the server once the learning rate moves in the
browser: switching the first run's optimiser (the sidebar's "Optimiser" menu: opened and moved one
entry down, not measured; the ``Enter`` that picks it is the press). The
reference is then ``--reference benchmarks/one_chart_app.py`` (its learning-rate slider, pressed
as above), and the target is median app/reference ≤ 2. A switch meets an optimiser the server has
not run yet in the first round only (later rounds find it in the cache): both are reported.

    python benchmarks/latency.py                     # ?surface=rosenbrock, default resolution
    python benchmarks/latency.py --res               # ... at 400×400
    python benchmarks/latency.py --query ""          # the lesson (opening view)
    python benchmarks/latency.py --rounds 10 --presses 8 --json benchmarks/results/latency.json
    python benchmarks/latency.py --gesture optimiser --reference benchmarks/one_chart_app.py \
        --query "?surface=rosenbrock&opt=sgd,momentum,adam&steps=300"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from _timing import (
    ACTIVITY_SCRIPT,
    BARE_APP,
    DIAGNOSIS,
    LAST_INTERACTION,
    QUIET,
    ROOT,
    SLIDER_ROOM,
    VIEWPORT,
    add_common_arguments,
    chromium,
    fresh_blocks,
    lr_thumb,
    machine,
    streamlit_server,
    summary,
    with_query,
)

TARGETS = {None: 1.25, 400: 1.4}  # median app/bare, by --res
OPTIMISER_TARGET = 2.0  # median app/one-chart reference, switching an optimiser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(
        parser, check_help="exit 1 when the median ratio misses its target"
    )
    parser.add_argument("--app", type=Path, default=ROOT / "app.py",
                        help="the app to compare with the bare app (default app.py; e.g. "
                             "benchmarks/one_chart_app.py for the cost of redrawing any chart)")
    parser.add_argument("--reference", type=Path, default=BARE_APP,
                        help="the app to compare with (default the bare app)")
    parser.add_argument("--gesture", choices=("rate", "optimiser"), default="rate",
                        help="what the app's press changes: the learning rate (default) or the "
                             "first run's optimiser")
    parser.add_argument("--presses", type=int, default=5, help="measured presses per app per round")
    parser.add_argument("--rounds", type=int, default=4, help="page loads per app")
    parser.add_argument("--quiet-ms", type=int, default=500, help="quiet window after activity")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per press or load")
    args = parser.parse_args(argv)
    if args.presses < 1 or args.rounds < 1:
        parser.error("--presses and --rounds must be at least 1")
    if args.gesture == "optimiser" and args.presses > 7:
        parser.error("--gesture optimiser walks down the menu's 8 entries: at most 7 presses")
    return args


class Target:
    """One app in one browser context, with its own page and error log."""

    def __init__(self, name: str, browser, url: str, timeout_ms: float, quiet_ms: int):
        self.name, self.url = name, url
        self.timeout_ms, self.quiet_ms = timeout_ms, quiet_ms
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(ACTIVITY_SCRIPT)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self._console)
        self.samples: list[dict] = []

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def _wait_quiet(self, round_trip: bool) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                QUIET, arg={"quietMs": self.quiet_ms, "roundTrip": round_trip},
                polling=100, timeout=self.timeout_ms,
            )
        except PlaywrightTimeout:
            raise RuntimeError(f"{self.name}: the page never became quiet; page state "
                               f"{self.page.evaluate(DIAGNOSIS)}") from None

    def _raise_on_exception(self) -> None:
        if self.page.locator('[data-testid="stException"]').count():
            raise RuntimeError(f"{self.name}: the page shows an exception at {self.page.url}")

    def open(self) -> dict[str, int]:
        """Open the page and let it settle; return the slider's room (positions left and right)."""
        self.page.goto(self.url, timeout=self.timeout_ms)
        self.thumb = lr_thumb(self.page)
        self.thumb.wait_for(timeout=self.timeout_ms)
        self._wait_quiet(round_trip=False)
        self._raise_on_exception()
        self.charts = self.page.locator('[data-testid="stVegaLiteChart"]').count()
        return self.thumb.evaluate(SLIDER_ROOM)

    def move(self, key: str, ahead: int) -> None:
        """Focus the slider and press ``key`` ``ahead`` times (not measured); let it settle."""
        self.key = key
        self.thumb.focus()
        for _ in range(ahead):
            self.thumb.press(key)
        self._wait_quiet(round_trip=ahead > 0)
        self._raise_on_exception()

    def press(self) -> dict:
        self.thumb.press(self.key)
        self._wait_quiet(round_trip=True)
        self._raise_on_exception()
        sample = self.page.evaluate(LAST_INTERACTION)
        self.samples.append(sample)
        return sample


class OptimiserTarget(Target):
    """The app, where a press picks the next entry of the first run's optimiser
    menu: the menu is opened and moved down by one entry (not measured), ``Enter`` is the
    press."""

    MENU = '.st-key-w_opt_0 input'

    def open(self) -> dict[str, int]:
        self.page.goto(self.url, timeout=self.timeout_ms)
        self.menu = self.page.locator(self.MENU)
        self.menu.wait_for(timeout=self.timeout_ms)
        self._wait_quiet(round_trip=False)
        self._raise_on_exception()
        self.charts = self.page.locator('[data-testid="stVegaLiteChart"]').count()
        return {"left": 1000, "right": 1000}

    def move(self, key: str, ahead: int) -> None:
        # Each round reloads the link, so each round walks the same entries down from it.
        self.key = "ArrowDown"

    def press(self) -> dict:
        self.menu.click()
        self.page.wait_for_selector('[role="listbox"]', timeout=self.timeout_ms)
        self.page.keyboard.press(self.key)
        self.page.wait_for_timeout(150)
        self.page.keyboard.press("Enter")
        self._wait_quiet(round_trip=True)
        self._raise_on_exception()
        sample = self.page.evaluate(LAST_INTERACTION)
        sample["round"] = self.round
        self.samples.append(sample)
        return sample


def report(app: Target, bare: Target, args: argparse.Namespace, query: str) -> dict:
    stats = {t.name: summary([s["latency"] for s in t.samples]) for t in (app, bare)}
    parts = {
        t.name: {k: statistics.median(s[k] for s in t.samples) for k in ("sent", "finished")}
        | {"tail": statistics.median(s["afterFinished"] for s in t.samples)}
        for t in (app, bare)
    }
    ratio = {k: stats["app"][k] / stats["bare"][k] for k in ("median", "p90")}
    target = TARGETS.get(args.res, TARGETS[None])
    gesture = "'Learning rate'"
    if args.gesture == "optimiser":
        target, gesture = OPTIMISER_TARGET, "'Optimiser' (app) / 'Learning rate' (reference)"
        first = [s["latency"] for s in app.samples if s.get("round") == 0]
        again = [s["latency"] for s in app.samples if s.get("round", 0) > 0]
        if first and again:
            print(f"\napp: an optimiser met for the first time median "
                  f"{statistics.median(first):.0f} ms ({len(first)}), met again "
                  f"{statistics.median(again):.0f} ms ({len(again)})")
    print(f"\nkey press on {gesture} → quiet page ({args.quiet_ms} ms), ms, "
          f"{args.rounds} rounds × {args.presses} presses, alternating")
    print(f"{'':6}{'n':>4}{'median':>9}{'p90':>8}{'min':>8}{'max':>8}"
          f"   {'sent':>6}{'finished':>10}{'tail':>7}")
    for t in (app, bare):
        s, p = stats[t.name], parts[t.name]
        print(f"{t.name:6}{s['n']:>4}{s['median']:>9.0f}{s['p90']:>8.0f}{s['min']:>8.0f}"
              f"{s['max']:>8.0f}   {p['sent']:>6.0f}{p['finished']:>10.0f}{p['tail']:>7.0f}")
    verdict = "meets" if ratio["median"] <= target else "MISSES"
    print(f"app/bare: median {ratio['median']:.2f} ({verdict} target ≤ {target}), "
          f"p90 {ratio['p90']:.2f}    app query: {query or '(none: the lesson)'}")
    last_sources = statistics.multimode(s["lastSource"] for s in app.samples)
    print(f"app: last activity most often '{'/'.join(last_sources)}'")
    return {"query": query, "stats": stats, "parts": parts, "ratio": ratio, "target": target,
            "samples": {t.name: t.samples for t in (app, bare)}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    query = with_query(args.query, args.res)
    timeout_ms = args.timeout * 1000
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    print(f"start: {machine()}", flush=True)
    with (
        streamlit_server(args.app) as app_url,
        streamlit_server(args.reference) as bare_url,
        sync_playwright() as playwright,
        chromium(playwright) as browser,
    ):
        kind = OptimiserTarget if args.gesture == "optimiser" else Target
        app = kind("app", browser, f"{app_url}/{query}", timeout_ms, args.quiet_ms)
        bare = Target("bare", browser, f"{bare_url}/", timeout_ms, args.quiet_ms)
        blocks: list[tuple[str, int]] = []
        for round_index in range(args.rounds):
            rooms = [target.open() for target in (app, bare)]
            if not blocks:
                room = {side: min(r[side] for r in rooms) for side in ("left", "right")}
                blocks = fresh_blocks(room["left"], room["right"], args.presses, args.rounds)
                fresh = room["right"] // args.presses + room["left"] // args.presses
                if fresh < args.rounds:
                    print(f"the slider has fresh values for {fresh} rounds only: later rounds "
                          "repeat values (the app's cache may serve them)")
                if app.charts == 0:
                    print(f"note: the app draws no chart at {app.url}: is that view open?")
            for target in (app, bare):
                target.round = round_index
                target.move(*blocks[round_index])
            for press_index in range(args.presses):
                flip = (round_index * args.presses + press_index) % 2
                for target in ((app, bare), (bare, app))[flip]:
                    target.press()
            last = {t.name: t.samples[-1]["latency"] for t in (app, bare)}
            print(f"round {round_index + 1}/{args.rounds}: last press app {last['app']:.0f} ms, "
                  f"bare {last['bare']:.0f} ms", flush=True)
        result = report(app, bare, args, query)
        errors = app.errors + bare.errors
    for error in errors:
        print(error)
    print(f"{len(errors)} browser errors; wall time {time.monotonic() - started:.0f} s")
    print(f"end: {machine()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result | {"errors": errors}, indent=1))
    if args.check and result["ratio"]["median"] > result["target"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
