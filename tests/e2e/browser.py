"""A real Streamlit server and a headless Chromium, shared by end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(count: int = 1) -> int:
    """The first of ``count`` consecutive free loopback ports.

    Chosen below the kernel's ephemeral range: a port the kernel hands out (bind to 0) can be
    taken by any outgoing connection before the server we start binds it ("Port … is not
    available"), and the ports after it were never checked at all."""
    rng = random.Random()  # not seeded: parallel runs should not pick the same ports
    low, high = 20000, max(20000 + 2 * count, _ephemeral_low() - count)
    for _ in range(200):
        first = rng.randrange(low, high)
        if all(_bindable(first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} free consecutive ports in {low}-{high}")


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no healthy Streamlit server at {url} after {timeout:.0f} s")


def launch(app: Path | str, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``streamlit run app`` on loopback ``port`` with ``env`` added to the environment."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(app),
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@contextlib.contextmanager
def streamlit_server(
    app: Path | str = ROOT / "app.py", port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``streamlit run app`` on a free loopback port; yield its URL; stop it afterwards."""
    port = port or free_port()
    proc = launch(app, port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium(playwright) -> Iterator[object]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def wait_for_app(page, charts: int = 1, timeout: float = 30_000) -> None:
    """Wait until the script has finished and at least ``charts`` Vega charts have drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """(n) => document.querySelectorAll('[data-testid="stVegaLiteChart"] canvas, '
             + '[data-testid="stVegaLiteChart"] svg.marks').length >= n
             && !document.querySelector('[data-testid="stStatusWidget"]')""",
        arg=charts,
        timeout=timeout,
    )


def open_at(browser, url: str, viewport: dict, sent: list | None = None):
    """A new browser context at ``viewport`` on ``url``, once its figure's two panels and
    their step input are drawn; ``sent`` collects the WebSocket frames the page sends."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    if sent is not None:
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(url)
    wait_for_app(page, charts=2, timeout=60_000)
    page.locator(".losslab-controls input[name=step]").wait_for(state="attached")
    page.wait_for_timeout(1000)
    settled(page)
    return context, page


def settled(page, timeout: float = 10.0) -> None:
    """Wait until two pictures of the charts 300 ms apart agree: a chart still being laid out
    (a late image, a width that changes when a scroll bar appears) may be drawn anew, with its
    controls back at their first values, and undo a move made before it."""
    deadline = time.monotonic() + timeout
    last = pictures(page)
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        now = pictures(page)
        if now == last:
            return
        last = now


def set_range(locator, value: int) -> None:
    """Move a range input to ``value`` as a learner's drag does (an ``input`` event)."""
    locator.evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def click_map(page, across: float, up_from_top: float) -> tuple[float, float]:
    """Click the first map's image at fractions of its width and height (from its top left)
    and return the start the page's link then holds (the runs restart there)."""
    image = page.locator('[data-testid="stVegaLiteChart"] svg.marks image').first
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    page.mouse.click(box["x"] + across * box["width"], box["y"] + up_from_top * box["height"])
    page.wait_for_function("() => new URLSearchParams(location.search).has('start')",
                           timeout=20_000)
    start = page.evaluate("() => new URLSearchParams(location.search).get('start')")
    w1, w2 = (float(v) for v in start.split(","))
    return w1, w2


def pictures(page, count: int | None = None) -> list[bytes]:
    """Screenshots of the page's first ``count`` charts (all of them by default): a move that
    changes what a learner sees changes them."""
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    return [charts.nth(i).screenshot() for i in range(charts.count() if count is None else count)]


def pictures_changed(page, before: list[bytes], timeout: float = 10.0) -> list[bytes]:
    """The charts' pictures once every one differs from ``before``; on a busy machine the
    browser may take more than a frame to redraw. Returns the last pictures taken, changed
    or not, after ``timeout`` seconds, so the caller's assertion reports what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        now = pictures(page, len(before))
        if all(a != b for a, b in zip(before, now, strict=True)) or time.monotonic() > deadline:
            return now
        page.wait_for_timeout(200)
