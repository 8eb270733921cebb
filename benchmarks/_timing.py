"""Shared by the browser benchmarks: page instrumentation, the "quiet page" rule and statistics.

Run the benchmarks as scripts from the repository root (``python benchmarks/latency.py``); this
module puts the root on ``sys.path`` so that they reuse ``tests/e2e/browser.py`` (server, Chromium).

Instrumentation (``ACTIVITY_SCRIPT``, injected with ``page.add_init_script`` before any page script)
records, in the page's ``performance.now()`` clock:

- ``lastKeyDown``: ``event.timeStamp`` of the last ``keydown`` (capture phase, before any handler);
  the time stamp is when Chromium created the event, so main-thread queueing counts as latency;
- ``lastMutation``: last ``MutationObserver`` delivery for the whole document (childList,
  attributes, text); ``lastChartMutation``: the same, restricted to nodes inside ``svg.marks``;
- ``lastCanvasDraw``: last call of a 2-D canvas drawing method (Vega's canvas renderer draws there,
  which no ``MutationObserver`` sees);
- ``lastFrame``: the first frame after a mutation or canvas draw, stamped in a ``setTimeout(0)``
  queued from ``requestAnimationFrame``, i.e. just after that frame was rendered;
- ``lastLongTaskEnd``: end (start + duration) of the last ``longtask`` performance entry (> 50 ms);
- WebSocket traffic (the constructor is wrapped): ``lastWsSent``, ``lastWsReceived``, counts, and
  ``lastScriptFinished``: arrival of a ``ForwardMsg`` whose top-level field 6 (``script_finished``)
  is set to anything but ``FINISHED_EARLY_FOR_RERUN`` (a run interrupted by a newer rerun request),
  found by reading the protobuf's top-level tags only.

The page is QUIET when, for ``quietMs`` (500 ms by default), none of mutation, canvas draw, frame,
long task or WebSocket message has happened, and no ``[data-testid="stStatusWidget"]`` is in the
DOM.
After a key press we also require the rerun's round trip: a message sent after the key press, and a
``script_finished`` received after that send. Latency = last activity − key press.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.browser import (  # noqa: E402  (needs ROOT on sys.path first)
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium,
    streamlit_server,
)

__all__ = [
    "ACTIVITY_SCRIPT",
    "BARE_APP",
    "DIAGNOSIS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LAST_INTERACTION",
    "QUIET",
    "QUIET_MS",
    "ROOT",
    "SLIDER_ROOM",
    "VIEWPORT",
    "chromium",
    "fresh_blocks",
    "lr_thumb",
    "machine",
    "percentile",
    "rss_kib",
    "server_pid",
    "streamlit_server",
    "summary",
    "with_query",
]

BARE_APP = ROOT / "benchmarks" / "bare_app.py"
QUIET_MS = 500
VIEWPORT = {"width": 1400, "height": 1000}

ACTIVITY_SCRIPT = r"""
(() => {
  if (window.__losslabBench) return;
  const now = () => performance.now();
  const b = window.__losslabBench = {
    lastKeyDown: -1, keyDowns: 0,
    lastMutation: 0, lastChartMutation: 0, mutations: 0,
    lastCanvasDraw: 0, canvasDraws: 0,
    lastFrame: 0, lastLongTaskEnd: 0, longTasks: 0,
    lastWsSent: 0, wsSent: 0, lastWsReceived: 0, wsReceived: 0,
    lastScriptFinished: 0, scriptFinished: 0,
    onChartActivity: null,
  };

  let framePending = false;
  const markFrame = () => {
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => setTimeout(() => {
      framePending = false;
      b.lastFrame = now();
    }, 0));
  };
  const chartActivity = () => {
    const notify = b.onChartActivity;
    b.onChartActivity = null;
    if (notify) notify();
  };

  const inChart = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    return !!(el && el.closest && el.closest('svg.marks'));
  };
  new MutationObserver((records) => {
    const t = now();
    b.mutations += records.length;
    b.lastMutation = t;
    if (records.some((r) => inChart(r.target))) { b.lastChartMutation = t; chartActivity(); }
    markFrame();
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });

  const ctx = window.CanvasRenderingContext2D && CanvasRenderingContext2D.prototype;
  if (ctx) {
    for (const name of ['clearRect', 'fillRect', 'strokeRect', 'fill', 'stroke', 'fillText',
                        'strokeText', 'drawImage', 'putImageData']) {
      const original = ctx[name];
      if (typeof original !== 'function') continue;
      ctx[name] = function (...args) {
        b.lastCanvasDraw = now();
        b.canvasDraws += 1;
        markFrame();
        chartActivity();
        return original.apply(this, args);
      };
    }
  }

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        b.longTasks += 1;
        b.lastLongTaskEnd = Math.max(b.lastLongTaskEnd, e.startTime + e.duration);
      }
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* longtask entries unsupported: the other signals still apply */ }

  window.addEventListener('keydown', (e) => {
    b.lastKeyDown = e.timeStamp;
    b.keyDowns += 1;
  }, true);

  // Top-level protobuf fields of one binary message as [number, varint value or null]; bodies of
  // length-delimited fields are skipped, not decoded.
  const topFields = (data) => {
    const a = new Uint8Array(data);
    const fields = [];
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do {
        if (i >= a.length) throw new Error('truncated');
        byte = a[i++];
        value += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte & 0x80);
      return value;
    };
    try {
      while (i < a.length) {
        const tag = varint();
        const wire = tag & 7;
        const field = Math.floor(tag / 8);
        fields.push([field, wire === 0 ? varint() : null]);
        if (wire === 1) i += 8;
        else if (wire === 2) { const length = varint(); i += length; }
        else if (wire === 5) i += 4;
        else if (wire !== 0) break;
      }
    } catch (e) { /* a partial scan is enough */ }
    return fields;
  };
  const SCRIPT_FINISHED = 6;
  const FINISHED_EARLY_FOR_RERUN = 2;  // an interrupted run: another one follows
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      b.socket = this;
      this.addEventListener('message', (event) => {
        const t = now();
        b.wsReceived += 1;
        b.lastWsReceived = t;
        if (!(event.data instanceof ArrayBuffer)) return;
        const finished = topFields(event.data).find(([field]) => field === SCRIPT_FINISHED);
        if (finished && finished[1] !== FINISHED_EARLY_FOR_RERUN) {
          b.scriptFinished += 1;
          b.lastScriptFinished = t;
        }
      });
    }
    send(data) {
      b.wsSent += 1;
      b.lastWsSent = now();
      return super.send(data);
    }
  };
})();
"""

# Argument: {quietMs, roundTrip}. True once the page is quiet (see the module docstring).
QUIET = r"""
({ quietMs, roundTrip }) => {
  const b = window.__losslabBench;
  if (!b) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const answered = b.lastWsSent > b.lastKeyDown && b.lastScriptFinished > b.lastWsSent;
  if (roundTrip && !answered) return false;
  const last = Math.max(b.lastMutation, b.lastCanvasDraw, b.lastFrame, b.lastLongTaskEnd,
                        b.lastWsReceived);
  return performance.now() - last >= quietMs;
}
"""

# What a page that never became quiet was doing: ms since each signal, relative to the last press.
DIAGNOSIS = r"""
() => {
  const b = window.__losslabBench;
  if (!b) return 'no instrumentation in the page';
  const t = performance.now();
  const ago = (x) => (x > 0 ? Math.round(t - x) : null);
  return JSON.stringify({
    keyDownAgo: ago(b.lastKeyDown), sentAgo: ago(b.lastWsSent),
    scriptFinishedAgo: ago(b.lastScriptFinished), receivedAgo: ago(b.lastWsReceived),
    mutationAgo: ago(b.lastMutation), frameAgo: ago(b.lastFrame),
    longTaskEndAgo: ago(b.lastLongTaskEnd),
    statusWidget: !!document.querySelector('[data-testid="stStatusWidget"]'),
    socketState: b.socket ? b.socket.readyState : null,
  });
}
"""

# Timings of the last key press, in ms after it (call once the page is quiet).
LAST_INTERACTION = r"""
() => {
  const b = window.__losslabBench;
  const sources = {
    mutation: b.lastMutation, canvas: b.lastCanvasDraw, frame: b.lastFrame,
    longtask: b.lastLongTaskEnd, websocket: b.lastWsReceived,
  };
  const [lastSource, last] = Object.entries(sources).reduce((a, c) => (c[1] > a[1] ? c : a));
  const press = b.lastKeyDown;
  return {
    latency: last - press,
    lastSource,
    sent: b.lastWsSent - press,
    finished: b.lastScriptFinished - press,
    afterFinished: last - b.lastScriptFinished,
    longTasks: b.longTasks,
  };
}
"""


def add_common_arguments(parser, *, check_help: str) -> None:
    """The flags every browser benchmark shares: which page, which resolution, where to keep
    the samples, and whether a missed target sets the exit status."""
    parser.add_argument("--query", default="?surface=rosenbrock",
                        help='query string for app.py (default "?surface=rosenbrock"; "" = lesson)')
    parser.add_argument("--res", type=int, nargs="?", const=400, default=None,
                        help="append res=N to the query (bare flag: 400)")
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    parser.add_argument("--check", action="store_true", help=check_help)


def with_query(query: str, res: int | None = None) -> str:
    """The query string to open, with ``res=<n>`` appended when given: ``?surface=x&res=400``."""
    query = query.strip()
    if query and not query.startswith("?"):
        query = "?" + query
    if res is not None:
        query += ("&" if query else "?") + f"res={int(res)}"
    return query


def lr_thumb(page):
    """The learning-rate slider's focusable thumb (``role=slider``), in the app and the bare app.

    Streamlit marks a widget's container with ``st-key-<key>`` (the app's key is ``w_lr``, the bare
    app's ``lr``); the label filter is the fallback.
    """
    keyed = page.locator(".st-key-lr, .st-key-w_lr").get_by_role("slider")
    sliders = page.locator('[data-testid="stSlider"]')
    labelled = sliders.filter(has_text="Learning rate").get_by_role("slider")
    return keyed.or_(labelled).first


# Positions a slider's thumb (the focusable range input) can still move, each way.
SLIDER_ROOM = r"""
(e) => {
  const step = Number(e.step) || 1;
  return { left: Math.round((Number(e.value) - Number(e.min)) / step),
           right: Math.round((Number(e.max) - Number(e.value)) / step) };
}
"""


def fresh_blocks(left: int, right: int, size: int, count: int) -> list[tuple[str, int]]:
    """``count`` blocks of ``size`` key presses, as (key, positions to move before the block),
    each block reaching slider values no earlier block reached: rightwards first, then leftwards.

    With ``left``/``right`` positions free of the start, there are ``right // size + left // size``
    such blocks; beyond them the blocks repeat from the first (and the app's cache may serve them).
    """
    right_blocks, left_blocks = right // size, left // size
    if right_blocks + left_blocks == 0:
        raise ValueError(
            f"the slider has {left} positions to the left and {right} to the right: "
            f"too few for blocks of {size} presses"
        )
    blocks = []
    for index in range(count):
        block = index % (right_blocks + left_blocks)
        if block < right_blocks:
            blocks.append(("ArrowRight", block * size))
        else:
            blocks.append(("ArrowLeft", (block - right_blocks) * size))
    return blocks


def machine() -> str:
    """Cores and the 1/5/15-minute load averages: other work on the machine skews every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between order statistics (NumPy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, median, p90, p95, min and max of ``values``."""
    if not values:
        return {"n": 0, "median": math.nan, "p90": math.nan, "p95": math.nan,
                "min": math.nan, "max": math.nan}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
    }


def server_pid(url: str, timeout: float = 10.0) -> int | None:
    """Pid of the ``streamlit run`` child of this process serving ``url`` (None if not found)."""
    port = str(urlsplit(url).port)
    me = str(os.getpid())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = stat.rsplit(")", 1)[1].split()[1]
            if parent == me and b"--server.port" in args and port.encode() in args:
                return int(entry.name)
        time.sleep(0.2)
    return None


def rss_kib(pid: int | None) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of ``pid`` in KiB, from /proc."""
    if pid is None:
        return {}
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    except OSError:
        return {}
    return fields
