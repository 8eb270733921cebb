"""Two replicas behind nginx (deploy/run-local.sh): a page whose replica dies comes back on the
other one with the settings of its link, and keeps working."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.e2e.browser import ROOT, free_port, wait_for_app

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(NGINX is None, reason="needs nginx (apt-get install nginx)"),
]


@pytest.fixture
def two_replicas(tmp_path):
    """deploy/run-local.sh 2 PORT; yields (url, run directory); stops everything afterwards."""
    run = tmp_path / "run"
    port = free_port(3)  # nginx, then the two replicas
    proc = subprocess.Popen(
        ["bash", str(ROOT / "deploy" / "run-local.sh"), "2", str(port)],
        env={**os.environ, "LOSSLAB_RUN_DIR": str(run), "PYTHON": sys.executable,
             "LOSSLAB_NGINX": NGINX},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.match(r"losslab: (http://127\.0\.0\.1:\d+) ", line)
        assert match, "run-local.sh did not start: " + line + proc.stdout.read()
        yield match.group(1), run
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert not (run / "nginx.pid").exists() or not _alive(run), "nginx outlived run-local.sh"


def _alive(run: Path) -> bool:
    try:
        os.kill(int((run / "nginx.pid").read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def replicas(run: Path) -> dict[str, int]:
    """Replica address → process id, from run-local.sh's replicas.txt."""
    pairs = (line.split() for line in (run / "replicas.txt").read_text().splitlines())
    return {f"127.0.0.1:{port}": int(pid) for port, pid in pairs}


def served(run: Path, affinity: str) -> list[tuple[str, str]]:
    """(replica that answered, request) for each logged request of one affinity id."""
    rows = []
    for line in (run / "logs" / "upstream.log").read_text().splitlines():
        head, _, request = line.partition(' "')
        who, tried = head.split(" ", 1)
        if who == affinity:
            rows.append((tried.rsplit(" ", 1)[0].split(", ")[-1], request.rstrip('"')))
    return rows


def thumb_value(page) -> str:
    return page.locator(".st-key-w_lr [data-testid='stSliderThumbValue']").inner_text()


def watch_runs(ws, finished: list[int]) -> None:
    """Count the ``script_finished`` messages arriving on one of the page's WebSockets."""
    finished.append(0)
    index = len(finished) - 1

    def on_frame(payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "script_finished":
                finished[index] += 1

    ws.on("framereceived", on_frame)


def press_until(page, key: str, value: str) -> None:
    """Press ``key`` on the learning-rate thumb until it shows ``value``: right after a
    reconnection the slider may still be disabled for a moment and drop the key."""
    for _ in range(10):
        thumb = page.locator(".st-key-w_lr").get_by_role("slider")
        thumb.focus()
        thumb.press(key)
        for _ in range(10):
            if thumb_value(page) == value:
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"the slider shows {thumb_value(page)}, not {value}")


def legend_says(page, text: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('svg text')].some(e => e.textContent.includes(t))",
        arg=text, timeout=timeout)


def test_a_page_whose_replica_dies_comes_back_on_the_other_with_its_settings(
        two_replicas, browser):
    url, run = two_replicas
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    finished: list[int] = []  # per WebSocket the page opened: runs finished on it
    page.on("websocket", lambda ws: watch_runs(ws, finished))
    try:
        page.goto(url + "/?surface=rosenbrock&opt=sgd&lr=0.0008&start=-1.6,2.6&steps=30")
        wait_for_app(page, charts=1)
        legend_says(page, "Gradient descent: converging")

        # A move through the proxy's WebSocket: the server answers with the new outcome.
        press_until(page, "ArrowRight", "0.001")  # gradient descent now oscillates
        legend_says(page, "Gradient descent: oscillating")
        page.wait_for_function("() => location.search.includes('lr=0.001')")

        cookie = next(c["value"] for c in context.cookies() if c["name"] == "losslab_replica")
        mine = served(run, cookie)[-1][0]
        pids = replicas(run)
        assert mine in pids, (mine, pids)
        opened = len(finished)
        os.kill(pids[mine], signal.SIGKILL)  # the replica crashes

        # The page reconnects through nginx to the live replica; it keeps showing what it drew.
        for _ in range(240):
            if len(finished) > opened:
                break
            page.wait_for_timeout(250)
        assert len(finished) > opened, "the page did not open a new WebSocket"
        assert thumb_value(page) == "0.001"

        # The next move runs on the live replica, which rebuilds the session from the link.
        # (Streamlit does not rerun on reconnection, and the app reads a new session's settings
        # from the link, so that first move may snap back to the link's value: README, "What a
        # failover keeps". Then the learner moves again.)
        for _ in range(3):
            before = finished[-1]
            thumb = page.locator(".st-key-w_lr").get_by_role("slider")
            thumb.focus()
            thumb.press("ArrowLeft")  # 0.001 → 0.0008
            for _ in range(120):
                if finished[-1] > before:
                    break
                page.wait_for_timeout(250)
            wait_for_app(page, charts=1, timeout=60_000)
            assert thumb_value(page) in ("0.001", "0.0008")  # the link's setting, or the move
            if thumb_value(page) == "0.0008":
                break
        assert finished[-1] > 0, f"no run finished on the new WebSocket: {finished}"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert thumb_value(page) == "0.0008"
        legend_says(page, "Gradient descent: converging")
        page.wait_for_function("() => location.search.includes('lr=0.0008')")
        assert "surface=rosenbrock" in page.url
    finally:
        context.close()
    # nginx logs a WebSocket when it closes: the page's second one went to the live replica.
    (live,) = set(pids) - {mine}
    for _ in range(50):
        streams = [who for who, request in served(run, cookie) if "/_stcore/stream" in request]
        if len(streams) >= 2:
            break
        time.sleep(0.1)
    assert streams[:1] == [mine] and streams[-1] == live, streams
