"""A visitor's records are read in a child process with a time and a memory budget.

Reading records is the one part of a request whose cost the visitor sets: a 2 MB zip can hold
160,000 rows. Read in the web server's own threads, four such checks at once held the
interpreter for about 100 s each, grew the server by half a gigabyte and slowed every page to
seconds. So each check runs in a child process:

- forked from a fork server (one single-threaded process with the dashboard's modules loaded),
  never from the threaded web server, and at a lower priority;
- within ``megabytes`` of memory beyond what it starts with: the server watches its resident
  memory and stops it past that (an address-space limit alone does not do: the fork server holds
  some 300 MB of address space reserved but never touched, which a check can fill), and an
  address-space limit makes a large allocation fail at once;
- within ``seconds``: the server stops it then, and a CPU-time limit stops it even if the server
  is gone;
- at most ``at_once`` run together; a request that finds them all busy waits up to
  ``wait_seconds`` and is then told to try again.

A check's answer is a plain value; what goes wrong comes back as a ``DashboardError`` message.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil

from dashboard.data import DashboardError
from dashboard.jobs import JOB_NICENESS

PRELOADED = ["dashboard.pages.forecast"]
"""What the fork server loads once, so that a check starts in milliseconds."""
WATCH_SECONDS = 0.05
"""How often the server looks at a check's memory."""
ON_YOUR_MACHINE = (
    "Check them on your own machine: `ctdild-sim forecast SCENARIO --actuals RECORDS` reads and checks "
    "the records before it simulates anything."
)


@dataclass(frozen=True)
class CheckBudget:
    """What one records check may take, and how many run at once."""

    seconds: float = 60.0
    megabytes: int = 1024
    at_once: int = 2
    wait_seconds: float = 10.0


class BoundedChecks:
    """Runs functions of a visitor's records in child processes, within a ``CheckBudget``."""

    def __init__(self, budget: CheckBudget | None = None):
        self.budget = budget or CheckBudget()
        self._slots = threading.BoundedSemaphore(self.budget.at_once)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a child process: its value, or a ``DashboardError`` saying what stopped
        it. ``fn`` must be a module-level function; ``args`` and its value are pickled."""
        if not self._slots.acquire(timeout=self.budget.wait_seconds):
            raise DashboardError(
                f"The server is already checking {self.budget.at_once} sets of records, the most it "
                "checks at once; try again in a moment."
            )
        try:
            return _in_child(fn, args, self.budget)
        finally:
            self._slots.release()


def _in_child(fn: Callable[..., Any], args: tuple, budget: CheckBudget) -> Any:
    """``fn(*args)`` in a child of the fork server, watched to its answer or its budget's end."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    receiving, sending = context.Pipe(duplex=False)
    try:
        child = context.Process(target=_child, args=(sending, fn, args, budget), daemon=True)
        child.start()
    finally:
        sending.close()  # the child holds its own end
    try:
        _watch(child.pid, receiving, budget)
        try:
            kind, value = receiving.recv()
        except EOFError:  # it ended without a word: the CPU limit, or killed (the kernel's OOM killer)
            child.join(1)
            if child.exitcode == -signal.SIGXCPU:
                raise DashboardError(_too_long(budget)) from None
            how = (
                f"was killed (signal {-child.exitcode}; the server may be short of memory)"
                if (child.exitcode or 0) < 0
                else f"stopped (exit code {child.exitcode})"
            )
            raise DashboardError(f"Checking the records {how}. Try again. {ON_YOUR_MACHINE}") from None
    finally:
        receiving.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "error":
        raise DashboardError(value)
    if kind == "memory":
        raise DashboardError(_too_large(budget))
    if kind == "crash":
        raise RuntimeError(f"the records check failed in its process:\n{value}")
    return value


def _watch(pid: int | None, receiving: Connection, budget: CheckBudget) -> None:
    """Wait for the child's answer; a ``DashboardError`` if it runs past its time or memory."""
    deadline = time.monotonic() + budget.seconds
    start = _resident(pid)  # the fork server's pages, which it shares
    while not receiving.poll(WATCH_SECONDS):
        if time.monotonic() > deadline:
            raise DashboardError(_too_long(budget))
        if _resident(pid) - start > budget.megabytes * 2**20:
            raise DashboardError(_too_large(budget))


def _resident(pid: int | None) -> int:
    """A process's resident memory in bytes (0 once it has gone)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.Error, ValueError):
        return 0


def _too_large(budget: CheckBudget) -> str:
    return (
        f"Checking the records needed more than {budget.megabytes:,} MB, the dashboard's limit for one check. "
        f"{ON_YOUR_MACHINE}"
    )


def _too_long(budget: CheckBudget) -> str:
    return (
        f"Checking the records took longer than {budget.seconds:g} s, the dashboard's limit for one check. "
        f"{ON_YOUR_MACHINE}"
    )


def _child(sending: Connection, fn: Callable[..., Any], args: tuple, budget: CheckBudget) -> None:
    """In the child: limits first, then the work; every outcome is sent as ``(kind, value)``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a Ctrl-C at the server ends a check without a word
    try:
        with contextlib.suppress(OSError):
            os.nice(JOB_NICENESS)
        _limit(resource.RLIMIT_AS, psutil.Process().memory_info().vms + budget.megabytes * 2**20)
        _limit(resource.RLIMIT_CPU, math.ceil(budget.seconds) + 1)
        answer = ("value", fn(*args))
    except DashboardError as exc:
        answer = ("error", str(exc))
    except MemoryError:
        answer = ("memory", "")
    except Exception:  # a bug: the server logs it, as it would its own
        answer = ("crash", traceback.format_exc())
    try:
        sending.send(answer)
    except MemoryError:
        sending.send(("memory", ""))


def _limit(which: int, value: int) -> None:
    """Lower a resource limit to ``value`` (never above the hard limit the server has). Where the
    system does not enforce it (macOS, for the address space), the server's watch still does."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(which, (value, hard))
