"""A workshop on one server: N learners at once against one learner alone.

Starts one ``streamlit run app.py`` on a loopback port and one headless Chromium. First ONE page
(its own browser context) loads the app and makes ``--single`` interactions; then N pages (default
20, one context each, all in the same Chromium) load at once and each makes K interactions (default
5) concurrently. Each page has its own setting: page i presses ArrowRight (even i) or ArrowLeft (odd
i) on the "Learning rate" slider, ``1 + i % 5`` times per interaction (the other way when the slider
has too little room that way), so pages ask for different learning rates (pages i and i + 10 repeat
each other: the cache then serves some runs, as it would in a class following the same
instructions).

Interaction latency = last page activity − last key press of the interaction, once the page is quiet
(rules in ``benchmarks/_timing.py``: 500 ms without mutation, canvas draw, long task or WebSocket
message, no status widget, and the rerun's ``script_finished`` after the last rerun request).
Also reported: "finished" = key press → the run's ``script_finished`` message arrived (the server's
share, queueing included), and page load = ``goto`` until the slider is there and the page is quiet.

Errors: an exception element (``[data-testid="stException"]``), uncaught page errors, console
errors, and timeouts (load or interaction). The server's resident memory is read from
``/proc/<pid>/status`` (``VmRSS``, and ``VmHWM``, the peak) at start, after the single page, after
the N pages and a few seconds after they closed; the server's CPU time from ``/proc/<pid>/stat``.

Target: 0 errors; p95 of the N-page interactions ≤ 3 × the single page's median.

Bounded: no interaction starts after ``--budget`` seconds of the N-page phase (default 120 s; the
report says how many of the planned interactions ran), and each load or interaction times out after
``--timeout``. ``--ramp`` spreads the N page loads over some seconds instead of one instant.
``--app benchmarks/bare_app.py`` runs the same load on the one-slider app: the floor of this machine
(the N Chromium renderers share its cores with the server).

    python benchmarks/workshop_load.py --query ""            # the lesson
    python benchmarks/workshop_load.py                       # ?surface=rosenbrock
    python benchmarks/workshop_load.py --pages 30 --interactions 10 --budget 600
    python benchmarks/workshop_load.py --app benchmarks/bare_app.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from _timing import (
    ACTIVITY_SCRIPT,
    CHROMIUM,
    CHROMIUM_ARGS,
    DIAGNOSIS,
    LAST_INTERACTION,
    QUIET,
    ROOT,
    SLIDER_ROOM,
    VIEWPORT,
    add_common_arguments,
    lr_thumb,
    machine,
    rss_kib,
    server_pid,
    streamlit_server,
    summary,
    with_query,
)

TARGET_RATIO = 3.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(
        parser, check_help="exit 1 on any error or when p95 exceeds 3 × the single median"
    )
    parser.add_argument("--pages", type=int, default=20, help="concurrent pages (default 20)")
    parser.add_argument("--interactions", type=int, default=5, help="per concurrent page")
    parser.add_argument("--single", type=int, default=10, help="interactions of the lone page")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds for the N-page phase: no interaction starts after it")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="spread the N page loads evenly over this many seconds (default 0)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py",
                        help="the app to serve (benchmarks/bare_app.py gives this machine's floor)")
    parser.add_argument("--quiet-ms", type=int, default=500, help="quiet window after activity")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds per page load or interaction")
    args = parser.parse_args(argv)
    if not (1 <= args.pages <= 100 and 1 <= args.interactions <= 50 and 1 <= args.single <= 100):
        parser.error("--pages 1..100, --interactions 1..50, --single 1..100")
    return args


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of ``pid`` so far, in seconds (nan if unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan(index: int, interactions: int, room: dict[str, int]) -> tuple[str, int]:
    """Page ``index``'s key and presses per interaction, kept inside the slider's ``room``."""
    presses = 1 + index % 5
    sides = ("right", "left") if index % 2 == 0 else ("left", "right")
    for side in sides:
        if room[side] >= presses * interactions:
            return ("ArrowRight" if side == "right" else "ArrowLeft"), presses
    raise ValueError(f"{interactions} interactions of {presses} presses do not fit the slider "
                     f"({room['left']} positions left, {room['right']} right)")


async def learner(
    browser, index: int, url: str, interactions: int, args, delay: float = 0.0,
    deadline: float = float("inf"),
) -> dict:
    """One page: wait ``delay`` s, load, then up to ``interactions`` timed interactions, starting
    none after ``deadline`` (``time.monotonic()``); never raises, records errors."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    timeout_ms = args.timeout * 1000
    record: dict = {"index": index, "load_ms": None, "latencies": [], "finished": [], "errors": [],
                    "planned": interactions}
    await asyncio.sleep(delay)
    errors = record["errors"]
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(ACTIVITY_SCRIPT)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"console error: {m.text}"))

    async def quiet(round_trip: bool) -> None:
        await page.wait_for_function(QUIET, arg={"quietMs": args.quiet_ms, "roundTrip": round_trip},
                                     polling=100, timeout=timeout_ms)

    async def exception_shown() -> bool:
        return await page.locator('[data-testid="stException"]').count() > 0

    stage = "load"
    try:
        started = time.monotonic()
        await page.goto(url, timeout=timeout_ms)
        thumb = lr_thumb(page)
        await thumb.wait_for(timeout=timeout_ms)
        await quiet(round_trip=False)
        record["load_ms"] = (time.monotonic() - started) * 1000
        if await exception_shown():
            errors.append("exception element after load")
        key, presses = plan(index, interactions, await thumb.evaluate(SLIDER_ROOM))
        await thumb.focus()
        for number in range(interactions):
            if time.monotonic() > deadline:
                break
            stage = f"interaction {number + 1}"
            for _ in range(presses):
                await thumb.press(key)
            await quiet(round_trip=True)
            sample = await page.evaluate(LAST_INTERACTION)
            record["latencies"].append(sample["latency"])
            record["finished"].append(sample["finished"])
            if await exception_shown():
                errors.append(f"exception element after {stage}")
                break
    except PlaywrightTimeout:
        try:
            seen = await page.evaluate(DIAGNOSIS)
        except Exception as exc:  # noqa: BLE001 - the diagnosis is a courtesy
            seen = f"(no diagnosis: {type(exc).__name__})"
        errors.append(f"timeout in {stage} after {args.timeout:.0f} s; page state {seen}")
    except Exception as exc:  # noqa: BLE001 - a learner's failure is a result, not a crash
        errors.append(f"{type(exc).__name__} in {stage}: {exc}")
    finally:
        await context.close()
    return record


def describe(name: str, records: list[dict]) -> dict:
    latencies = [t for r in records for t in r["latencies"]]
    loads = [r["load_ms"] for r in records if r["load_ms"] is not None]
    errors = [f"page {r['index']}: {e}" for r in records for e in r["errors"]]
    planned = sum(r["planned"] for r in records)
    stats, load = summary(latencies), summary(loads)
    finished = summary([t for r in records for t in r["finished"]])
    print(f"{name:8}{len(records):>6}{stats['n']:>6}{stats['median']:>9.0f}{stats['p95']:>8.0f}"
          f"{stats['max']:>8.0f}{finished['median']:>9.0f}{finished['p95']:>8.0f}"
          f"{load['median']:>10.0f}{load['max']:>9.0f}{len(errors):>8}{planned:>9}")
    return {"interaction": stats, "finished": finished, "load": load, "errors": errors,
            "planned": planned, "records": records}


async def run(args: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    query = with_query(args.query, args.res)
    memory: dict[str, dict] = {}
    with streamlit_server(args.app) as base:
        url = f"{base}/{query}"
        pid = server_pid(base)
        memory["start"] = rss_kib(pid)
        cpu_start = cpu_seconds(pid)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                single = [await learner(browser, 0, url, args.single, args)]
                memory["after single"] = rss_kib(pid)
                cpu_single = cpu_seconds(pid)
                started = time.monotonic()
                deadline = started + args.budget
                many = await asyncio.gather(*(
                    learner(browser, i, url, args.interactions, args,
                            delay=args.ramp * i / args.pages, deadline=deadline)
                    for i in range(args.pages)
                ))
                wall_many = time.monotonic() - started
                memory[f"after {args.pages} pages"] = rss_kib(pid)
                cpu_many = cpu_seconds(pid)
            finally:
                await browser.close()
        await asyncio.sleep(5)
        memory["5 s after closing"] = rss_kib(pid)

    print(f"\napp: {args.app.name}, query: {query or '(none)'}; latencies and loads in ms")
    print("interaction = key press → quiet page; finished = key press → script_finished arrived")
    print(f"{'':8}{'pages':>6}{'n':>6}{'median':>9}{'p95':>8}{'max':>8}{'fin p50':>9}{'fin p95':>8}"
          f"{'load p50':>10}{'load max':>9}{'errors':>8}{'planned':>9}")
    result = {"query": query, "single": describe("single", single),
              f"{args.pages} pages": describe(f"{args.pages} pages", list(many))}
    base_median = result["single"]["interaction"]["median"]
    p95 = result[f"{args.pages} pages"]["interaction"]["p95"]
    ratio = p95 / base_median
    errors = result["single"]["errors"] + result[f"{args.pages} pages"]["errors"]
    verdict = "meets" if ratio <= TARGET_RATIO and not errors else "MISSES"
    print(f"p95 ({args.pages} pages) / median (single page) = {ratio:.2f}; "
          f"{len(errors)} errors ({verdict} target: 0 errors, ratio ≤ {TARGET_RATIO:g}); "
          f"{args.pages} pages took {wall_many:.0f} s")
    done = result[f"{args.pages} pages"]["interaction"]["n"]
    if done < result[f"{args.pages} pages"]["planned"]:
        print(f"only {done} of {result[f'{args.pages} pages']['planned']} interactions ran within "
              f"the {args.budget:g} s budget (--budget to allow more)")
    print("server memory, MiB: " + "; ".join(
        f"{when}: RSS {m.get('VmRSS', 0) / 1024:.0f} (peak {m.get('VmHWM', 0) / 1024:.0f})"
        for when, m in memory.items()))
    print(f"server CPU: {cpu_single - cpu_start:.1f} s for the single page, "
          f"{cpu_many - cpu_single:.1f} s for the {args.pages} pages")
    for error in errors[:20]:
        print(error)
    if len(errors) > 20:
        print(f"... and {len(errors) - 20} more errors")
    result |= {"memory_kib": memory, "ratio": ratio, "errors": errors}
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(f"start: {machine()}", flush=True)
    result = asyncio.run(run(args))
    print(f"end: {machine()}; wall time {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    failed = bool(result["errors"]) or result["ratio"] > TARGET_RATIO
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
