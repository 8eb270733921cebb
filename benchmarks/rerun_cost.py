"""Server CPU per sidebar change once its results are cached: what every learner's move costs.

Starts ``streamlit run APP`` on a loopback port and opens ``--query`` over Streamlit's own
protocol (``learners.Learner``, no browser). Then, for each of a few sidebar widgets (the
learning rate, the first optimiser, the steps), it moves the widget to a neighbouring value
and back a few times (so both values are cached), then ``--changes`` more times, and reports the
server process's CPU time per change (``/proc/PID/stat``) and the median wall time to
``script_finished``. The first change of each widget, uncached, is reported too.

Run it with the reference app as well: its only widget is its rate slider.

    python benchmarks/rerun_cost.py                                  # ?surface=rosenbrock
    python benchmarks/rerun_cost.py --query ""                       # the lesson
    python benchmarks/rerun_cost.py --app benchmarks/one_chart_app.py --query ""
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from learners import Learner, cpu_seconds, load_average  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from tests.e2e.browser import ROOT, free_port, launch, wait_healthy  # noqa: E402

WIDGETS = ("w_lr", "w_opt_0", "w_steps", "lr")  # the app's, then the reference app's slider


def neighbour(widget) -> WidgetState | None:
    """The widget's state moved to a neighbouring value."""
    state = WidgetState()
    state.CopyFrom(widget.state)
    if widget.kind == "slider" and widget.options:
        i = widget.options.index(state.string_array_value.data[0])
        state.string_array_value.data[:] = [widget.options[i + 1 if i + 1 < len(widget.options)
                                                            else i - 1]]
    elif widget.kind in ("selectbox", "radio"):
        state.string_value = next(o for o in widget.options if o != state.string_value)
    elif widget.kind == "number_input" and state.HasField("int_value"):
        state.int_value += 10
    else:
        return None
    return state


async def measure(url: str, query: str, pid: int, changes: int) -> list[dict]:
    learner = Learner(url, query, random.Random(0), timeout=120)
    out = []
    try:
        await learner.open()
        for key in WIDGETS:
            widget = learner.widgets.get(key)
            moved = neighbour(widget) if widget is not None else None
            if moved is None:
                continue
            back = WidgetState()
            back.CopyFrom(widget.state)
            cpu = cpu_seconds([pid])
            first = await learner.rerun(moved)
            first_cpu = cpu_seconds([pid]) - cpu
            for state in (back, moved, back):
                await learner.rerun(state)
            cpu, walls = cpu_seconds([pid]), []
            for i in range(changes):
                walls.append(await learner.rerun(moved if i % 2 == 0 else back))
            out.append({"widget": key, "first_ms": 1000 * first, "first_cpu_ms": 1000 * first_cpu,
                        "cpu_ms": 1000 * (cpu_seconds([pid]) - cpu) / changes,
                        "wall_ms": 1000 * statistics.median(walls), "status": learner.status})
    finally:
        await learner.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", type=Path, default=ROOT / "app.py")
    parser.add_argument("--query", default="surface=rosenbrock")
    parser.add_argument("--changes", type=int, default=30, help="cached changes per widget")
    args = parser.parse_args(argv)
    port = free_port()
    process = launch(args.app.resolve(), port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        print(f"{args.app.name} ?{args.query}; load average {load_average()}", flush=True)
        started = time.monotonic()
        rows = asyncio.run(measure(url, args.query.lstrip("?"), process.pid,
                                   max(int(args.changes), 2)))
    finally:
        process.terminate()
        process.wait(timeout=20)
    for r in rows:
        print(f"{r['widget']:8} cached: {r['cpu_ms']:5.1f} CPU-ms per change, median "
              f"{r['wall_ms']:5.1f} ms to script_finished ({r['status']}); first change "
              f"{r['first_cpu_ms']:.0f} CPU-ms, {r['first_ms']:.0f} ms")
    print(f"load average at end {load_average()}; {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
