"""A hard time limit on preparing a formula: sympy runs in a child process that can be stopped.

Preparing a formula (building it in sympy, differentiating it twice, checking the results) is
bounded in size by the parser and the builder, but sympy's simplification asks questions about
signs and reality whose cost is not bounded by the size: a 30-node formula with a few
fractional powers took 3 s to differentiate. So a formula is first prepared in a child process
forked from the calling one (sympy is already imported and warm there, and a fork costs a few
milliseconds); the child stops itself once it has used ``cpu_seconds`` of CPU
(``ITIMER_PROF``), and the parent kills it if it has not answered after a generous wall-clock
limit (the machine may be busy, or the child may be stuck on a lock another thread held at the
fork). Only a formula that was prepared in time is then prepared again in the calling process,
where the result is kept.

``fork`` (not ``forkserver`` or ``spawn``): those re-import the ``__main__`` module in every
child — the Streamlit command line, pytest or a notebook kernel. Fork is safe on Linux only;
elsewhere the formula is prepared without a limit.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence

__all__ = ["GuardError", "available", "within_limit"]

_WALL_FACTOR = 8.0  # wall-clock seconds allowed per CPU second, for a busy machine
_WALL_EXTRA = 3.0  # and for starting the child


class GuardError(Exception):
    """The formula took more than its CPU allowance to prepare (or the child failed)."""


def available() -> bool:
    """Whether formulas can be prepared in a child process here."""
    return sys.platform == "linux"


class _OutOfTime(BaseException):
    """Raised inside the child when its CPU allowance is spent (not an Exception: nothing in
    sympy may catch it)."""


def _on_timer(signum: int, frame: object) -> None:
    raise _OutOfTime


def _child(connection, task: Callable[..., object], args: Sequence, kwargs: Mapping,
           cpu_seconds: float) -> None:  # fmt: skip
    signal.signal(signal.SIGPROF, _on_timer)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    start = time.process_time()
    outcome: tuple[str, BaseException | None]
    try:
        task(*args, **kwargs)
        outcome = ("done", None)
    except _OutOfTime:
        outcome = ("slow", None)
    except Exception as err:
        outcome = ("raised", err)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    try:
        connection.send((*outcome, time.process_time() - start))
    except Exception:  # an exception that cannot be pickled: the caller meets it again
        connection.send(("done", None, time.process_time() - start))
    connection.close()


def within_limit(
    task: Callable[..., object],
    args: Sequence = (),
    kwargs: Mapping | None = None,
    *,
    cpu_seconds: float,
) -> float:
    """Run ``task(*args, **kwargs)`` in a child process; its CPU seconds if it finished in time.

    Raises ``GuardError`` if the child used more than ``cpu_seconds`` of CPU, or did not answer
    within a wall-clock limit, or died; re-raises the exception the task raised, if any. The
    task's result stays in the child: the caller runs the task again to get it.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, task, tuple(args), dict(kwargs or {}), cpu_seconds),
        daemon=True,
    )  # fmt: skip
    child.start()
    sender.close()
    try:
        if not receiver.poll(cpu_seconds * _WALL_FACTOR + _WALL_EXTRA):
            raise GuardError("no answer in time")
        try:
            status, error, used = receiver.recv()
        except EOFError:
            raise GuardError("the child stopped without answering") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
        child.close()
    if status == "slow":
        raise GuardError(f"more than {cpu_seconds:g} s of CPU")
    if status == "raised" and error is not None:
        raise error
    return used
