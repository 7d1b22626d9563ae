"""Long jobs started from the page (runs, lot plans): one at a time, low priority, never orphaned.

Dash runs each background callback in a process of its own. Without limits a few visitors could
start as many oversized jobs as they like, and the jobs' worker processes would take every core
from the web server. So a job:

- holds the server's one ``JobSlot`` (a lock on a file in the cache folder, released by the
  kernel however the job's process ends); a second job is refused with a message naming the
  running one;
- lowers its priority (``nice``), and its worker processes inherit it, so the page keeps answering;
- ends when the server ends, even if the server is killed outright, and at once on the Ctrl-C
  that stops the server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctdild_sim.runs.runner import die_with_parent
from dashboard.data import DashboardError

JOB_NICENESS = 10
"""How much a job lowers its priority (and its workers'), so the web server stays responsive."""


class JobSlot:
    """The one job the server runs at a time: a lock file, held while the job runs."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def hold(self, what: str) -> Iterator[None]:
        """Run the block as the server's job, or raise ``DashboardError`` if another job holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                running = os.pread(fd, 500, 0).decode("utf-8", "replace").strip() or "another job"
                raise DashboardError(
                    f"Another job is running ({running}): one job runs at a time on this dashboard. "
                    "Wait for it to finish, or cancel it from the page that started it."
                ) from None
            started = dt.datetime.now().strftime("%H:%M:%S")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what}, started {started}".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the lock, as does the process ending in any way


def prepare_job_process(server_pid: int) -> None:
    """In a job's own process: lower its priority and end it when the server ends.

    The job's process is started from a request thread, and the kernel's parent-death signal
    follows the thread, not the process, so a watchdog on the server's pid is used instead."""
    if os.getpid() == server_pid:
        return  # run in the server's own process (tests): nothing to prepare
    # the terminal's Ctrl-C reaches the job too: it ends with the server, without a traceback
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError):  # not allowed here: the job still runs, at normal priority
        os.nice(JOB_NICENESS)
    die_with_parent(server_pid, kernel=False)
