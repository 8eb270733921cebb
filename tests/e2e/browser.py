"""A real Streamlit server and a headless Chromium, shared by end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
