"""Where a fresh session's first run goes, on a link that is already open (py-spy).

Starts one ``streamlit run app.py`` on a loopback port, opens ``--query`` once (the instructor:
caches fill), then samples the server with ``py-spy record`` while ``--opens`` fresh sessions
open the same link one after the other (``benchmarks/learners.py``'s protocol client, each
session closed after its first run). Prints the server CPU-ms per open and, for the functions
that take the most samples, their inclusive share of the busy samples: what every learner's
session recomputes although the link is the same for all.

    pip install py-spy        # not a project dependency
    python benchmarks/profile_open.py --opens 30
    python benchmarks/profile_open.py --query "" --opens 30   # the lesson
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from learners import Learner, cpu_seconds  # noqa: E402

from tests.e2e.browser import ROOT, free_port, wait_healthy  # noqa: E402


@contextlib.contextmanager
def server():
    """One ``streamlit run app.py`` on a free loopback port: yields (url, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def open_many(url: str, query: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        learner = Learner(url, query, random.Random(i), 60)
        try:
            times.append(await learner.open())
        finally:
            await learner.close()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--query", default="surface=rosenbrock")
    p.add_argument("--opens", type=int, default=30)
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args()
    with server() as (url, pid):
        asyncio.run(open_many(url, args.query, 1))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "stacks.txt")
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "200",
                                    "--format", "raw", "--output", str(out), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            cpu0 = cpu_seconds([pid])
            times = asyncio.run(open_many(url, args.query, args.opens))
            cpu = cpu_seconds([pid]) - cpu0
            spy.send_signal(2)
            spy.wait(timeout=60)
            stacks = out.read_text().splitlines()
    median = 1000 * sorted(times)[len(times) // 2]
    print(f"{args.opens} fresh sessions on ?{args.query}: wall median {median:.0f} ms; "
          f"server CPU {1000 * cpu / args.opens:.0f} ms per open")
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks:
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            inclusive[frame] += n
    print(f"{total} busy samples; inclusive share of the top frames:")
    for frame, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
