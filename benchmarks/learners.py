"""A workshop of simulated learners speaking Streamlit's own protocol: no browsers.

Each learner does what a student's browser does on the wire, over one WebSocket to
``/_stcore/stream`` (``streamlit.proto`` ``BackMsg`` out, ``ForwardMsg`` in):

1. loads the page (``GET /?QUERY``; through nginx this sets the affinity cookie, which the
   WebSocket then carries, as a browser's would);
2. opens the WebSocket and sends ``rerun_script`` with the link's query string, then reads
   ``ForwardMsg``s until ``script_finished``: the **open** time;
3. every ``--think`` seconds (uniformly 0.5–1.5 × it, human pace) changes one setting the way the
   sidebar does — the learning rate (a few notches along the slider, 60 %), the optimiser (25 %)
   or the surface (15 %) — by sending ``rerun_script`` with ALL its widget states (as the browser
   does: every widget of the last run, with the new value) and the query string the app last
   wrote (``page_info_changed``); time until ``script_finished`` is the **interaction** time.

Widget states come from the widget elements of the last run's deltas (``selectbox.id``,
``slider.id``…); a widget is found by its key (the suffix of its id, e.g. ``w_lr``).

Errors: a page load or WebSocket open that fails or takes more than 10 s (**connection**
errors), an ``exception`` element, a run that does not finish within ``--timeout``, a socket
closed by the server. Server cost: CPU time (``/proc/PID/stat``) and resident memory
(``VmRSS``) of each server process, so ``--pid`` or ``--replicas``.

Two ways to run it (loopback only):

    # against a server you started (name its process(es) for CPU and memory)
    python benchmarks/learners.py --url http://127.0.0.1:8501 --pid 1234 --learners 40
    # start deploy/run-local.sh REPLICAS (replicas behind nginx) and measure it
    python benchmarks/learners.py --replicas 1 --learners 25,50,100 --minutes 1
    python benchmarks/learners.py --replicas 2 --learners 100,200 --minutes 1

``--learners`` takes a list: one step per count, on the same server, one after the other (each
step's learners open the link within ``--ramp`` seconds, then interact for ``--minutes``). Before
the first step one learner opens the link alone on each replica (``--no-warm`` to skip): the
instructor who opened it first. The report gives, per step, the open and interaction times
(median, p95, max; interactions also per kind), errors, server CPU-ms per script run and memory
per session; then the largest step with p95 ≤ ``--p95-ms`` (500) and 0 errors, per process.
``--check`` exits 1 unless the last step meets that target. ``--json PATH`` keeps every sample.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.browser import free_port  # noqa: E402  (needs ROOT on sys.path first)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_LEARNERS = 400
MAX_MINUTES = 10.0
CONNECT_TIMEOUT = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
FINISHED = {ForwardMsg.ScriptFinishedStatus.Value(name)
            for name in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")}
ACTIONS = (("lr", 0.60), ("optimiser", 0.25), ("surface", 0.15))


# --- widget states, as the browser reports them -----------------------------------------------

def _widget_state(kind: str, w, previous: WidgetState | None) -> WidgetState | None:
    """The state the browser reports for widget element ``w``: the value the server set
    (``set_value``), else the value the page already held, else the widget's default."""
    if previous is not None and not w.set_value:
        return previous
    s = WidgetState(id=w.id)
    if kind in ("selectbox", "radio"):
        if w.set_value and w.raw_value:
            s.string_value = w.raw_value
        elif 0 <= w.default < len(w.options):
            s.string_value = w.options[w.default]
        else:
            return None
    elif kind == "slider":
        if w.options:  # select_slider: the formatted options
            if w.set_value and w.raw_value:
                s.string_array_value.data.extend(w.raw_value)
            else:
                s.string_array_value.data.extend(w.options[int(i)] for i in w.default)
        else:
            s.double_array_value.data.extend(w.value if w.set_value else w.default)
    elif kind == "number_input":
        value = w.value if w.set_value else w.default
        if w.data_type == w.DataType.Value("INT"):
            s.int_value = int(value)
        else:
            s.double_value = value
    elif kind == "checkbox":
        s.bool_value = w.value if w.set_value else w.default
    elif kind in ("text_input", "text_area"):
        s.string_value = w.value if w.set_value else w.default
    else:
        return None
    return s


def user_key(widget_id: str) -> str:
    """``$$ID-<hash>-w_lr`` → ``w_lr`` (the key the app gave the widget)."""
    parts = widget_id.split("-", 2)
    return parts[2] if len(parts) == 3 else widget_id


@dataclass
class Widget:
    kind: str
    state: WidgetState
    options: list[str]
    fragment: str = ""  # the fragment that drew it: a change reruns only that fragment


# --- one learner -------------------------------------------------------------------------------

@dataclass
class Tally:
    opens: list[float] = field(default_factory=list)  # seconds
    changes: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    opened_at: list[float] = field(default_factory=list)

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_examples) < 5:
            self.error_examples.append(f"{kind}: {detail}"[:200])


class RunFailed(Exception):
    pass


class Learner:
    def __init__(self, url: str, query: str, rng: random.Random, timeout: float):
        self.url = url.rstrip("/")
        self.query = query.lstrip("?")
        self.rng = rng
        self.timeout = timeout
        self.widgets: dict[str, Widget] = {}
        self.ws = None
        self.drawn: list[tuple[str, str, str]] = []  # last run: (element, fragment id, text)
        self.status = ""  # how the last run finished

    async def load_page(self) -> str | None:
        """``GET /?query`` like a browser opening the link; returns the affinity cookie, if any."""
        parts = urllib.parse.urlsplit(self.url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write(
                f"GET /?{self.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        if " 200 " not in head[0] + " ":
            raise OSError(f"page load: {head[0]}")
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                return value.strip().split(";", 1)[0]
        return None

    async def open(self) -> float:
        cookie = await asyncio.wait_for(self.load_page(), CONNECT_TIMEOUT)
        ws_url = "ws" + self.url[len("http"):] + "/_stcore/stream"
        headers = {"Cookie": cookie} if cookie else {}
        self.ws = await connect(
            ws_url, subprotocols=["streamlit"], additional_headers=headers,
            max_size=None, open_timeout=CONNECT_TIMEOUT, ping_interval=None,
        )
        return await self.rerun()

    async def rerun(self, changed: WidgetState | None = None) -> float:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query
        rerun.page_script_hash = ""
        fragment = ""
        if changed is not None:
            for w in self.widgets.values():
                if w.state.id == changed.id:
                    w.state = changed  # the page now holds the new value
                    fragment = w.fragment
                rerun.widget_states.widgets.append(w.state)
        # As the browser does: a widget drawn by a fragment reruns only that fragment.
        rerun.fragment_id = fragment
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._read_run(fragment), self.timeout)
        return time.perf_counter() - start

    async def _read_run(self, fragment: str = "") -> None:
        """Read ForwardMsgs up to ``script_finished``; keep the run's widgets and query string.
        A fragment's run redraws only its own widgets: the others stay as they were."""
        widgets: dict[str, Widget] = {
            k: w for k, w in self.widgets.items() if fragment and w.fragment != fragment}
        held = {w.state.id: w.state for w in self.widgets.values()}
        self.drawn = []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "exception":
                    raise RunFailed("exception element: " + el.exception.message)
                w = getattr(el, etype)
                self.drawn.append((etype, fwd.delta.fragment_id, getattr(w, "body", "")))
                if getattr(w, "id", "") and etype != "vega_lite_chart":
                    state = _widget_state(etype, w, held.get(w.id))
                    if state is not None:
                        options = list(getattr(w, "options", []))
                        widgets[user_key(w.id)] = Widget(etype, state, options,
                                                         fwd.delta.fragment_id)
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string
            elif kind == "script_finished":
                if fwd.script_finished not in FINISHED:
                    raise RunFailed(f"script finished with status {fwd.script_finished}")
                self.status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                self.widgets = widgets
                return

    def next_change(self) -> tuple[str, WidgetState] | None:
        """One sidebar change a learner makes: a new learning rate, optimiser or surface."""
        actions, weights = zip(*ACTIONS, strict=True)
        action = self.rng.choices(actions, weights)[0]
        key = {"lr": "w_lr", "optimiser": "w_opt_0", "surface": "w_surface"}[action]
        w = self.widgets.get(key)
        if action == "surface" and w is not None and not [
                o for o in w.options if o != w.state.string_value and "formula" not in o]:
            # The one-weight view has one surface besides a typed formula: move the rate.
            action, w = "lr", self.widgets.get("w_lr")
        if w is None and "lr" in self.widgets:
            # A reference app (benchmarks/one_chart_app.py) has only its rate slider, "lr".
            action, w = "lr", self.widgets["lr"]
        if w is None:
            return None
        new = WidgetState()
        new.CopyFrom(w.state)
        if action == "lr":
            current = list(new.string_array_value.data)
            i = w.options.index(current[0]) if current and current[0] in w.options else 0
            step = self.rng.choice((-3, -2, -1, 1, 2, 3))
            j = min(max(i + step, 0), len(w.options) - 1)
            if j == i:
                j = min(max(i - step, 0), len(w.options) - 1)
            new.string_array_value.data[:] = [w.options[j]]
        else:
            # The surface menu's last entry is "Your own formula": a learner types one later.
            choices = [o for o in w.options if o != new.string_value and "formula" not in o]
            new.string_value = self.rng.choice(choices)
        return action, new

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


async def learner_life(i: int, args, start_at: float, stop_at: float, tally: Tally,
                       opened: asyncio.Event | None = None) -> None:
    rng = random.Random(args.seed * 1000 + i)
    learner = Learner(args.url, args.query, rng, args.timeout)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        try:
            tally.opens.append(await learner.open())
            tally.opened_at.append(time.monotonic())
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            tally.error("connection" if learner.ws is None else "timeout", repr(exc))
            return
        except RunFailed as exc:
            tally.error("app", str(exc))
            return
        except Exception as exc:  # the server closed the socket, a protocol error…
            tally.error("connection", repr(exc))
            return
        while True:
            pause = args.think * rng.uniform(0.5, 1.5)
            if time.monotonic() + pause >= stop_at:
                break
            await asyncio.sleep(pause)
            change = learner.next_change()
            if change is None:
                tally.error("app", "widget not found")
                break
            action, state = change
            try:
                seconds = await learner.rerun(state)
                tally.changes.append(seconds)
                tally.by_kind.setdefault(action, []).append(seconds)
            except (TimeoutError, asyncio.TimeoutError):
                tally.error("timeout", action)
                break
            except RunFailed as exc:
                tally.error("app", str(exc))
            except Exception as exc:
                tally.error("disconnected", repr(exc))
                break
    finally:
        await learner.close()


# --- server processes ---------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def local_topology(replicas: int):
    """``deploy/run-local.sh REPLICAS PORT``: yields (url, server pids); stops it afterwards."""
    port = free_port(replicas + 1)  # nginx, then one per replica
    with tempfile.TemporaryDirectory(prefix="losslab-learners-") as run:
        env = {**os.environ, "LOSSLAB_RUN_DIR": run, "PYTHON": sys.executable}
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "run-local.sh"), str(replicas), str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            line = proc.stdout.readline()
            if not line.startswith("losslab: http://"):
                raise RuntimeError("run-local.sh failed: " + line + proc.stdout.read())
            rows = [x.split() for x in Path(run, "replicas.txt").read_text().splitlines()]
            yield (f"http://127.0.0.1:{port}", [int(pid) for _, pid in rows],
                   [f"http://127.0.0.1:{p}" for p, _ in rows])
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- a step: N learners -------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


async def run_step(args, learners: int, pids: list[int]) -> dict:
    tally = Tally()
    cpu0, rss0, wall0 = cpu_seconds(pids), rss_mib(pids), time.monotonic()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    stop_at = wall0 + args.ramp + args.minutes * 60
    starts = sorted(wall0 + random.Random(args.seed + learners).uniform(0, args.ramp)
                    for _ in range(learners))
    tasks = [asyncio.create_task(learner_life(i, args, t, stop_at, tally))
             for i, t in enumerate(starts)]
    # Memory with every session open: sampled once the last learner has opened (or given up).
    rss_open = cpu_open = None
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.25)
        if rss_open is None and len(tally.opens) + sum(tally.errors.values()) >= learners:
            rss_open, cpu_open, open_wall = rss_mib(pids), cpu_seconds(pids), time.monotonic()
    await asyncio.gather(*tasks)
    cpu1, wall1 = cpu_seconds(pids), time.monotonic()
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    runs = len(tally.opens) + len(tally.changes)
    result = {
        "learners": learners,
        "replicas": len(pids),
        "seconds": round(wall1 - wall0, 1),
        "opens": len(tally.opens),
        "changes": len(tally.changes),
        "change_ms_by_kind": {k: summary(v) for k, v in sorted(tally.by_kind.items())},
        "errors": tally.errors,
        "error_examples": tally.error_examples,
        "open_ms": summary(tally.opens),
        "change_ms": summary(tally.changes),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "server_cpu_share": round((cpu1 - cpu0) / (wall1 - wall0), 2),
        "cpu_ms_per_run": round(1000 * (cpu1 - cpu0) / runs, 1) if runs else None,
        "cpu_ms_per_open": (round(1000 * (cpu_open - cpu0) / len(tally.opens), 1)
                            if cpu_open is not None and tally.opens else None),
        "cpu_ms_per_change_after_opening": None,
        "rss_mib_before": round(rss0, 1),
        "rss_mib_all_open": round(rss_open, 1) if rss_open is not None else None,
        "rss_mib_end": round(rss_mib(pids), 1),
        "mib_per_session": (round((rss_open - rss0) / len(tally.opens), 2)
                            if rss_open is not None and tally.opens else None),
        "generator_cpu_s": round(self1.ru_utime + self1.ru_stime
                                 - self0.ru_utime - self0.ru_stime, 2),
        "load_average_end": load_average(),
        "samples": {"open_s": tally.opens, "change_s": tally.changes},
    }
    if cpu_open is not None:
        late = [t for t in tally.opened_at if t > open_wall]
        changes_after = len(tally.changes) - len(late)
        if changes_after > 0:
            # Changes made after every learner had opened: their CPU alone.
            result["cpu_ms_per_change_after_opening"] = round(
                1000 * (cpu1 - cpu_open) / changes_after, 1)
    return result


def summary(seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"n": len(ms), "median": round(statistics.median(ms), 1) if ms else None,
            "p95": round(pct(ms, 0.95), 1) if ms else None,
            "max": round(max(ms), 1) if ms else None}


def print_step(r: dict) -> None:
    o, c = r["open_ms"], r["change_ms"]
    errors = sum(r["errors"].values())
    print(f"\n{r['learners']} learners on {r['replicas']} process(es), {r['seconds']} s "
          f"(load average at end {r['load_average_end']}):")
    print(f"  opened {r['opens']}/{r['learners']}: median {o['median']} ms, p95 {o['p95']} ms, "
          f"max {o['max']} ms")
    print(f"  interactions {c['n']}: median {c['median']} ms, p95 {c['p95']} ms, "
          f"max {c['max']} ms")
    for kind, k in r["change_ms_by_kind"].items():
        print(f"    {kind}: {k['n']}, median {k['median']} ms, p95 {k['p95']} ms")
    print(f"  errors {errors} {r['errors'] or ''}")
    for e in r["error_examples"]:
        print("    " + e)
    print(f"  server CPU {r['server_cpu_s']} s ({r['server_cpu_share']} cores): "
          f"{r['cpu_ms_per_run']} CPU-ms per script run; per open {r['cpu_ms_per_open']}, "
          f"per change once all had opened {r['cpu_ms_per_change_after_opening']}")
    print(f"  server memory {r['rss_mib_before']} → {r['rss_mib_all_open']} MiB with all open "
          f"({r['mib_per_session']} MiB per session), {r['rss_mib_end']} MiB at end")
    print(f"  load generator CPU {r['generator_cpu_s']} s")


def meets(r: dict, p95_ms: float) -> bool:
    p95 = r["change_ms"]["p95"]
    return (not r["errors"] and r["opens"] == r["learners"] and p95 is not None
            and p95 <= p95_ms)


async def main_async(args, pids: list[int]) -> list[dict]:
    print(f"{args.url}/?{args.query.lstrip('?')}; server processes {pids}; "
          f"load average {load_average()}; {os.cpu_count()} cores")
    if args.warm:  # each replica directly: the proxy's hash might pick the same one twice
        rss0 = rss_mib(pids)
        tally = Tally()
        stop = time.monotonic()  # open only
        await asyncio.gather(*(
            learner_life(-1 - k, argparse.Namespace(**{**vars(args), "url": url}), 0, stop, tally)
            for k, url in enumerate(args.warm_urls)))
        print(f"warm-up: first open {summary(tally.opens)['max']} ms; "
              f"memory {rss0:.0f} → {rss_mib(pids):.0f} MiB; errors {tally.errors or 0}")
    results = []
    for n in args.learners:
        results.append(await run_step(args, n, pids))
        print_step(results[-1])
        await asyncio.sleep(2)  # let the server drop the closed sessions
    return results


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server or proxy on loopback")
    where.add_argument("--replicas", type=int, help="start deploy/run-local.sh with N replicas")
    p.add_argument("--pid", type=int, action="append", default=[],
                   help="server process to measure (with --url; repeat for replicas)")
    p.add_argument("--learners", default="40",
                   type=lambda s: [int(x) for x in s.split(",")],
                   help="learners per step, e.g. 25,50,100 (default 40)")
    p.add_argument("--minutes", type=float, default=1.0, help="interaction time per step")
    p.add_argument("--ramp", type=float, default=3.0, help="learners open the link within this")
    p.add_argument("--think", type=float, default=3.0, help="mean seconds between changes")
    p.add_argument("--query", default="surface=rosenbrock", help="the link's query string")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a run may take")
    p.add_argument("--p95-ms", type=float, default=500.0)
    p.add_argument("--no-warm", dest="warm", action="store_false")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path)
    p.add_argument("--check", action="store_true", help="exit 1 unless the last step meets "
                   "the target (0 errors, interaction p95 ≤ --p95-ms)")
    args = p.parse_args(argv)
    if any(not 1 <= n <= MAX_LEARNERS for n in args.learners):
        p.error(f"--learners: 1 to {MAX_LEARNERS} per step")
    if not 0 < args.minutes <= MAX_MINUTES:
        p.error(f"--minutes: at most {MAX_MINUTES}")
    if args.replicas is not None and not 1 <= args.replicas <= 8:
        p.error("--replicas: 1 to 8")
    if args.url and urllib.parse.urlsplit(args.url).hostname not in LOOPBACK:
        p.error("--url must be on loopback (127.0.0.1, localhost)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.replicas:
            args.url, pids, args.warm_urls = stack.enter_context(local_topology(args.replicas))
        else:
            pids, args.warm_urls = args.pid, [args.url]
            if not pids:
                print("note: no --pid, so no server CPU or memory figures", file=sys.stderr)
        results = asyncio.run(main_async(args, pids))
    good = [r for r in results if meets(r, args.p95_ms)]
    replicas = max(1, len(pids))
    print()
    if good:
        best = max(good, key=lambda r: r["learners"])
        print(f"largest step with 0 errors and interaction p95 ≤ {args.p95_ms:g} ms: "
              f"{best['learners']} learners on {replicas} process(es) = "
              f"{best['learners'] / replicas:g} learners per process")
    else:
        print(f"no step met 0 errors and interaction p95 ≤ {args.p95_ms:g} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "steps": results}, indent=1))
    return 1 if args.check and not meets(results[-1], args.p95_ms) else 0


if __name__ == "__main__":
    sys.exit(main())
