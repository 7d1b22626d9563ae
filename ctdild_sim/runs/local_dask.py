"""``--scheduler local``: a Dask scheduler in this process and worker processes of our own.

Dask's ``LocalCluster`` starts its workers through multiprocessing, in the terminal's process
group, and a Ctrl-C while it does so could not be handled well: ignored, it was lost (the run went
on); caught, the workers half-way through starting printed tracebacks when this process left
them, and Dask's resource tracker warned of leaked semaphores. So the scheduler runs here (a
``LocalCluster`` of no workers), and each worker is a process started here:

- in a session of its own, so a Ctrl-C at the terminal reaches this process only;
- with its output discarded (what a worker logs is about its own connections; a task that fails
  reaches this process as its exception);
- ending with this process however it ends (the kernel's parent-death signal), and killed at once
  when this process is interrupted.

``python -m ctdild_sim.runs.local_dask ADDRESS PARENT_PID`` is a worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading

CLOSE_SECONDS = 10
"""Longest a run waits for Dask to close its client, and its local scheduler."""
WORKER_START_SECONDS = 120
"""How long the workers may take to join the scheduler before the run gives up."""
MAX_REPLACED = 3
"""Workers that may end during a run (killed for memory, say) and be replaced, as Dask's nanny
would, before the run stops with ``WorkersLost``."""


class WorkersLost(Exception):
    """The local workers kept ending, or never joined the scheduler."""


class LocalWorkers:
    """A scheduler in this process and ``workers`` worker processes of one thread each."""

    def __init__(self, workers: int):
        from distributed import LocalCluster

        # its dashboard on a free port: the default, 8787, may be another program's (Dask warned)
        self.cluster = LocalCluster(
            n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=":0"
        )
        self.workers = workers
        self.replaced = 0
        self.processes: list[subprocess.Popen] = []
        try:
            self.processes = [self._start() for _ in range(workers)]
        except BaseException:
            self.kill()
            raise

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "ctdild_sim.runs.local_dask", self.cluster.scheduler_address, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "DASK_LOGGING__DISTRIBUTED": "critical"},
        )

    def wait_until_joined(self, interrupted: threading.Event, poll_seconds: float) -> None:
        """Until every worker has joined the scheduler; ``KeyboardInterrupt`` as soon as
        ``interrupted`` is set, ``WorkersLost`` if they do not join."""
        waited = 0.0
        while len(self.cluster.scheduler.workers) < self.workers:
            if interrupted.wait(poll_seconds):
                raise KeyboardInterrupt
            waited += poll_seconds
            ended = [p.returncode for p in self.processes if p.poll() is not None]
            if ended or waited > WORKER_START_SECONDS:
                raise WorkersLost(
                    f"the local Dask workers did not start: {len(ended)} of {self.workers} ended (exit codes {ended})"
                    if ended
                    else f"the local Dask workers did not start within {WORKER_START_SECONDS} s"
                )

    def replace_ended(self) -> None:
        """Start a worker in place of each that has ended; Dask runs its tasks again elsewhere.
        Without this, a run whose workers had all been killed waited for ever."""
        for k, process in enumerate(self.processes):
            if process.poll() is None:
                continue
            self.replaced += 1
            if self.replaced > MAX_REPLACED:
                raise WorkersLost(
                    f"local Dask workers ended {self.replaced} times (the last with exit code "
                    f"{process.returncode}{', killed' if process.returncode < 0 else ''}); the "
                    "machine may be short of memory: try fewer --workers"
                )
            self.processes[k] = self._start()

    def kill(self) -> None:
        """End the workers at once, then the scheduler."""
        self._end_workers()
        self.cluster.close(timeout=CLOSE_SECONDS)

    def close(self) -> None:
        """After a run: the scheduler closed, then the workers, which have nothing left to do."""
        self.cluster.close(timeout=CLOSE_SECONDS)
        self._end_workers()

    def _end_workers(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            process.wait()


def _serve(address: str, parent_pid: int) -> None:
    """A worker process: one thread, until the scheduler goes or the parent ends."""
    from ctdild_sim.runs.runner import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the run, and this process
    die_with_parent(parent_pid)
    from distributed import Worker

    async def work() -> None:
        async with Worker(address, nthreads=1, dashboard=False) as worker:
            await worker.finished()

    asyncio.run(work())


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
