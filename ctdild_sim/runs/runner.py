"""Many replicates of one scenario: in chunks, on one core, many cores or a Dask cluster.

Replicate ``r`` always uses the streams of ``(seed, r)`` (see ``streams``), each chunk of
replicates returns its rows keyed by replicate, and chunks are put back together in replicate
order with integer-only aggregates (``bands``): so the tables are the same, byte for byte,
whatever the number of workers, the chunk size or the scheduler, and a run of N replicates is
the first N replicates of any longer run with the same seed.

Memory stays bounded: every replicate contributes its metrics row, its lots and its weekly demand
(folded into histograms), but events, patients, screenings and weekly rows are kept only for the
first ``keep_events`` replicates.
"""

from __future__ import annotations

import atexit
import ctypes
import datetime as dt
import functools
import gc
import itertools
import logging
import math
import multiprocessing
import multiprocessing.pool
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from ctdild_sim.analysis.bands import DemandBands, ProgressBands
from ctdild_sim.analysis.compare import Z95
from ctdild_sim.analysis.metrics import LEAN_KEEP, counts_by, progress_days, replicate_metrics
from ctdild_sim.analysis.supply_metrics import ReplicateLots, lot_table, weekly_series, weekly_supply_table
from ctdild_sim.analysis.tables import RunTables, events_table, patients_table, screenings_table
from ctdild_sim.learning.draws import draw, draw_key
from ctdild_sim.learning.posterior import Posterior
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.model.trace import Trace
from ctdild_sim.runs.local_dask import CLOSE_SECONDS, LocalWorkers, WorkersLost
from ctdild_sim.scenario.trial import Scenario

DEFAULT_KEEP_EVENTS = 1000
"""Replicates whose full event logs a run keeps unless told otherwise."""


@dataclass
class ChunkResult:
    """What replicates ``start..stop-1`` produced."""

    start: int
    stop: int
    metrics: pd.DataFrame
    lots: pd.DataFrame
    bands: DemandBands | None  # handed over to the run's accumulator as soon as the chunk arrives
    progress: ProgressBands | None  # likewise
    events: pd.DataFrame
    patients: pd.DataFrame
    screenings: pd.DataFrame
    supply_weekly: pd.DataFrame


def horizon_weeks(scenario: Scenario) -> int:
    return int(scenario.horizon_days // 7) + 1


def simulate_chunk(
    scenario: Scenario,
    seed: int,
    start: int,
    stop: int,
    keep_events: int,
    metrics_only: bool = False,
    trace: Trace | None = None,
    counts_day: float | None = None,
    posterior: Posterior | None = None,
    progress: bool = False,
    cancelled: Callable[[], bool] | None = None,
) -> ChunkResult:
    """Run replicates ``start..stop-1``; keep full records for those below ``keep_events``.

    ``metrics_only`` skips the lot table and the demand histograms (searches need neither);
    ``trace``: a trial's records drive every replicate up to their restart; with ``counts_day`` each
    metrics row also holds the counts reached before that day (``metrics.counts_by``); with a
    ``posterior`` each replicate draws its parameters from it (its own stream); ``progress``
    counts cumulative referrals, enrolments and infusions by week (``bands.ProgressBands``). Once
    ``cancelled()`` is true (asked before each replicate) the chunk is abandoned: ``ChunkCancelled``."""
    n_weeks = horizon_weeks(scenario)
    bands = None if metrics_only else DemandBands(scenario.start_date, n_weeks)
    weekly_progress = ProgressBands(scenario.start_date, n_weeks) if progress else None
    metrics, lots, kept = [], [], []
    # a search's policies draw the same parameters for replicate r: remembered across its chunks
    key = draw_key(scenario, posterior) if posterior is not None and metrics_only else None
    for r in range(start, stop):
        if cancelled is not None and cancelled():
            raise ChunkCancelled(r)
        drawn, share, learned = (scenario, None, {}) if posterior is None else draw(posterior, scenario, seed, r, key)
        # a replicate whose records are not kept logs only the events its figures read (and counts all)
        result = run_replicate(drawn, seed, r, trace, share, None if r < keep_events else LEAN_KEEP)
        row = replicate_metrics(result, scenario)
        row.update(learned)  # the parameters this replicate drew from the posterior (ranked like the sites')
        if counts_day is not None:
            row.update(counts_by(result.events, counts_day))
        metrics.append(row)
        if bands is not None:
            bands.add(weekly_series(result, n_weeks), result.end_day)
            lots.append(ReplicateLots(r, result.lots))
        if weekly_progress is not None:
            weekly_progress.add(progress_days(result.events))
        if r < keep_events:
            kept.append(result)
    if bands is not None:
        bands.fold()  # send histograms back, not per-replicate values
    if weekly_progress is not None:
        weekly_progress.fold()
    return ChunkResult(
        start=start,
        stop=stop,
        metrics=pd.DataFrame(metrics),
        lots=lot_table(lots),
        bands=bands,
        progress=weekly_progress,
        **(_records(kept, scenario.start_date) if kept else _no_records(scenario.start_date)),
    )


class ChunkCancelled(Exception):
    """A chunk whose reader stopped reading was abandoned (at the replicate given)."""


def _records(kept: list, start: dt.date) -> dict[str, pd.DataFrame]:
    """The tables of the replicates whose records are kept."""
    return {
        "events": events_table(kept, start),
        "patients": patients_table(kept),
        "screenings": screenings_table(kept),
        "supply_weekly": weekly_supply_table(kept),
    }


@functools.lru_cache(maxsize=8)
def _empty_records(start: dt.date) -> dict[str, pd.DataFrame]:
    return _records([], start)


def _no_records(start: dt.date) -> dict[str, pd.DataFrame]:
    """The record tables of a chunk that keeps none, with their columns and types: built once (a
    sweep's chunks keep none, and building empty tables cost a chunk 5 ms)."""
    return {name: frame.copy() for name, frame in _empty_records(start).items()}


def chunk_bounds(replicates: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk_size, replicates)) for a in range(0, replicates, chunk_size)]


def default_chunk_size(replicates: int, workers: int) -> int:
    """About four chunks per worker (load balance), at most 200 replicates (progress, memory)."""
    return max(1, min(200, math.ceil(replicates / (4 * workers))))


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the kernel sends a process when the thread that made it ends."""


def die_with_parent(parent_pid: int, kernel: bool = True) -> None:
    """Make this process end when ``parent_pid`` does, however it ends (``kill -9`` included): on
    Linux the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG) when the thread that started this
    process ends; with ``kernel=False`` (a process started from a short-lived thread), or where
    prctl is missing, a watchdog thread polls instead. A parent already gone ends it at once."""
    try:
        if not kernel:
            raise OSError("the parent-death signal is not wanted here")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl failed")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _watch_parent(parent_pid: int, every_seconds: float = 1.0) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every_seconds)
    os._exit(1)


def _init_worker(parent_pid: int, cancelled: ctypes.Array[ctypes.c_bool] | None = None) -> None:
    """Workers leave Ctrl-C to the parent, which stops them all (no traceback from every worker),
    and end with the parent even when it is killed outright (no orphan keeps computing). What the
    worker has imported is frozen out of the garbage collector's sight and collections are made
    rarer: a replicate builds thousands of short-lived objects, none of them in cycles that matter."""
    global _CANCELLED
    _CANCELLED = cancelled
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)


WORKER_GC_THRESHOLD = (50_000, 20, 20)
"""Generation-0 threshold of the workers' collector (Python's default is 700)."""


class ChunkTask(NamedTuple):
    """``simulate_chunk``'s arguments for one chunk, in its order: what a worker is sent (a run's
    chunks differ in ``start`` and ``stop`` only: the rest travels pickled once for all of them)."""

    scenario: Scenario
    seed: int
    start: int
    stop: int
    keep_events: int
    metrics_only: bool
    trace: Trace | None
    counts_day: float | None
    posterior: Posterior | None
    progress: bool

    def for_chunk(self, start: int, stop: int) -> ChunkTask:
        return self._replace(start=start, stop=stop)


def _pickled(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _simulate_pickled(chunk: tuple[bytes, int, int]) -> bytes:
    """A pool worker's chunk: replicates ``start..stop-1`` of a run's task, which travels pickled
    once for all the run's chunks (``_unpickled_once``). The task and the chunk's result travel as
    bytes this process (un)pickles itself, so an object that fails to unpickle is an error of the
    task, raised in the caller, instead of killing the worker (or the pool's result thread) and
    leaving the caller waiting forever."""
    task, start, stop = chunk
    return _pickled(simulate_chunk(*_unpickled_once(task).for_chunk(start, stop)))


def _simulate_unless_cancelled(slot: int, task: bytes, start: int, stop: int) -> bytes | None:
    """A pool worker's chunk of an in-order stream (``metrics_in_order``), as ``_simulate_pickled``
    but its metrics only, and nothing once the stream's reader has stopped reading (its ``slot`` of
    the stopped flags set), whether the chunk has not started yet or is between replicates."""
    flags = _CANCELLED
    if flags is not None and flags[slot]:
        return None
    try:
        chunk = simulate_chunk(
            *_unpickled_once(task).for_chunk(start, stop), cancelled=None if flags is None else lambda: flags[slot]
        )
    except ChunkCancelled:
        return None
    return _pickled(chunk.metrics)


_UNPICKLED: dict[bytes, ChunkTask] = {}
"""A worker's last run task, unpickled (a chunk reads its scenario, trace and posterior, and
changes none of them, as every replicate of a chunk reads the same ones)."""


def _unpickled_once(task: bytes) -> ChunkTask:
    """The task unpickled, once for all the chunks of its run a worker simulates (a forecast's task
    holds the trace and the posterior: 140 kB, half a millisecond to unpickle)."""
    unpickled = _UNPICKLED.get(task)
    if unpickled is None:
        _UNPICKLED.clear()
        unpickled = _UNPICKLED[task] = pickle.loads(task)
    return unpickled


CANCEL_SLOTS = 4096
"""In-order streams whose "stopped" flags the pool's shared array holds at once (a search reads
one stream at a time)."""
_CANCELLED: ctypes.Array[ctypes.c_bool] | None = None
"""A worker's view of its pool's stopped flags (set by ``_init_worker``)."""
_SLOTS = itertools.count()
_OPEN_SLOTS: set[int] = set()
"""The slots of this process's streams still being read (never given to another stream)."""


def _open_slot() -> int:
    """A slot of the stopped flags no open stream has, taken in turn."""
    for _ in range(CANCEL_SLOTS):
        slot = next(_SLOTS) % CANCEL_SLOTS
        if slot not in _OPEN_SLOTS:
            _OPEN_SLOTS.add(slot)
            return slot
    raise RuntimeError(f"more than {CANCEL_SLOTS} in-order streams are being read at once")


_POOL: tuple[int, int, multiprocessing.pool.Pool, ctypes.Array[ctypes.c_bool]] | None = None
"""The worker pool of this process (its pid, its size, the pool, its in-order streams' stopped
flags): started by the first parallel run and kept for the next ones (a sweep runs dozens), ended
at exit or on any interruption."""


def _pool(workers: int) -> multiprocessing.pool.Pool:
    return _pool_and_flags(workers)[0]


def _pool_and_flags(workers: int) -> tuple[multiprocessing.pool.Pool, ctypes.Array[ctypes.c_bool]]:
    global _POOL
    if _POOL is not None and _POOL[0] == os.getpid() and _POOL[1] == workers:
        return _POOL[2], _POOL[3]
    _drop_pool()
    flags = multiprocessing.RawArray(ctypes.c_bool, CANCEL_SLOTS)  # shared with the workers
    # Ctrl-C is held back while the pool starts, so it cannot leave half-started workers behind
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = multiprocessing.Pool(workers, initializer=_init_worker, initargs=(os.getpid(), flags))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    _POOL = (os.getpid(), workers, pool, flags)
    return pool, flags


def _drop_pool() -> None:
    """End this process's pool (a forked child's copy of its parent's pool is only forgotten)."""
    global _POOL
    if _POOL is not None:
        owner, _, pool, _ = _POOL
        _POOL = None
        if owner == os.getpid():
            pool.terminate()
            pool.join()


atexit.register(_drop_pool)


def _local_pool(
    workers: int, task: ChunkTask, bounds: list[tuple[int, int]], on_done: Callable[[ChunkResult], None]
) -> None:
    """The chunks (``bounds``) of a run's ``task`` on the pool, each handed on as it finishes."""
    pool = _pool(workers)
    try:
        pickled = _pickled(task)
        for chunk in pool.imap_unordered(_simulate_pickled, [(pickled, a, b) for a, b in bounds]):
            on_done(pickle.loads(chunk))
    except BaseException:
        _drop_pool()
        raise


def _dask(scheduler: str, workers: int, tasks: list[tuple], on_done: Callable[[ChunkResult], None]) -> None:
    from distributed import Client, KilledWorker
    from distributed import as_completed as dask_completed

    local: LocalWorkers | None = None
    client = None
    try:
        if scheduler != "local":  # before Ctrl-C is only noted: connecting waits up to Dask's timeout
            client = Client(scheduler)
        with _ctrl_c_noted() as interrupted:
            if scheduler == "local":
                local = LocalWorkers(workers)
                local.wait_until_joined(interrupted, DASK_POLL_SECONDS)
                client = Client(local.cluster)
            arriving = dask_completed()
            for task in tasks:  # a run's thousands of chunks take a while to send
                arriving.add(client.submit(simulate_chunk, *task, pure=False))
                if interrupted.is_set():
                    raise KeyboardInterrupt
            while arriving.count():
                for future in arriving.next_batch(block=False):
                    try:
                        chunk = _result(future, local, interrupted)
                    except KilledWorker:
                        raise WorkersLost(
                            "Dask's workers died running the same chunk of replicates 3 times; the "
                            "machine may be short of memory: try fewer --workers"
                        ) from None
                    on_done(chunk)
                if local is not None:
                    local.replace_ended()
                if interrupted.wait(DASK_POLL_SECONDS):
                    raise KeyboardInterrupt
            with _quiet_dask_logs():  # closing logs each connection it drops: not the user's news
                _close(client, local)  # a Ctrl-C meanwhile is noted, and raised once it is closed
            client = local = None
            if interrupted.is_set():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        quiet_dask()  # what is dropped on the way out is not the user's news
        if local is not None:
            local.kill()  # the workers killed, not asked to finish their tasks (that took 0.8-1.5 s)
        _close(client, None)
        raise
    except BaseException:
        _close(client, local)
        raise


DASK_POLL_SECONDS = 0.05
"""How often a run on dask looks for finished chunks, ended workers and a Ctrl-C."""


def _result(future: Any, local: Any, interrupted: threading.Event) -> ChunkResult:
    """A finished chunk's result. Fetching it can wait: if the worker holding it ended, Dask runs
    the chunk again, which needs a worker, so ended workers are replaced while it waits (waiting
    without, a run whose only worker was killed at that moment hung for ever)."""
    while True:
        try:
            return future.result(timeout=DASK_POLL_SECONDS)
        except TimeoutError:
            if local is not None:
                local.replace_ended()
            if interrupted.is_set():
                raise KeyboardInterrupt from None


@contextmanager
def _ctrl_c_noted() -> Iterator[threading.Event]:
    """Within the block, a first Ctrl-C (in the main thread) is noted on the event, and the block's
    waits raise ``KeyboardInterrupt`` themselves; a second one raises where it lands. Raised
    wherever the signal landed, one was swallowed (inside a garbage-collector callback of dask's:
    "Exception ignored") and the run went on, and one inside dask's ``sync`` left its event loop
    logging errors."""
    noted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return

    previous = signal.getsignal(signal.SIGINT)

    def note(signum: int, frame: object) -> None:
        noted.set()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def _close(client: Any, local: Any) -> None:
    """Close a run's Dask client, then its local scheduler and workers (either may be None)."""
    if client is not None:
        client.close(timeout=CLOSE_SECONDS)
    if local is not None:
        local.close()


DASK_LOGGERS = ("distributed", "tornado", "asyncio")
"""The loggers a Dask client, scheduler and their event loop write to in this process."""


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Within the block, dask's loggers in this process say only what is critical."""
    loggers = [logging.getLogger(name) for name in DASK_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def quiet_dask() -> None:
    """Silence dask's loggers in this process (its workers' logging is set where they start)."""
    for name in DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def execute_chunks(
    scenario: Scenario,
    replicates: int,
    seed: int,
    *,
    workers: int = 1,
    chunk_size: int | None = None,
    scheduler: str | None = None,
    keep_events: int = DEFAULT_KEEP_EVENTS,
    on_progress: Callable[[int], None] | None = None,
    metrics_only: bool = False,
    trace: Trace | None = None,
    counts_day: float | None = None,
    posterior: Posterior | None = None,
    progress: bool = False,
    first: int = 0,
) -> tuple[list[ChunkResult], DemandBands, ProgressBands | None]:
    """Every chunk's result, in replicate order, and the demand bands and (with ``progress``)
    progress bands of all of them (``trace``, ``counts_day``, ``posterior`` and ``progress``: see
    ``simulate_chunk``); the replicates are ``first`` to ``first + replicates - 1``."""
    if replicates < 1:
        raise ValueError(f"replicates (={replicates}) must be >= 1")
    if workers < 1:
        raise ValueError(f"workers (={workers}) must be >= 1")
    size = chunk_size or default_chunk_size(replicates, workers)
    task = ChunkTask(scenario, seed, 0, 0, keep_events, metrics_only, trace, counts_day, posterior, progress)
    bounds = [(first + a, first + b) for a, b in chunk_bounds(replicates, size)]
    bands = DemandBands(scenario.start_date, horizon_weeks(scenario))
    weekly_progress = ProgressBands(scenario.start_date, horizon_weeks(scenario)) if progress else None
    done: list[ChunkResult] = []

    def collect(chunk: ChunkResult) -> None:
        if chunk.bands is not None:
            bands.merge(chunk.bands)  # integer counts: the order chunks arrive in does not matter
            chunk.bands = None  # keep memory flat: a chunk's histograms are megabytes
        if chunk.progress is not None and weekly_progress is not None:
            weekly_progress.merge(chunk.progress)
            chunk.progress = None
        done.append(chunk)
        if on_progress is not None:
            on_progress(chunk.stop - chunk.start)

    if scheduler is not None:
        _dask(scheduler, workers, [task.for_chunk(a, b) for a, b in bounds], collect)
    elif workers == 1 or len(bounds) == 1:
        for a, b in bounds:
            collect(simulate_chunk(*task.for_chunk(a, b)))
    else:
        _local_pool(workers, task, bounds, collect)
    return sorted(done, key=lambda c: c.start), bands, weekly_progress


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Row-bind the chunks' tables; an all-empty table keeps its columns."""
    frames = list(frames)
    rows = [f for f in frames if len(f)]
    return pd.concat(rows, ignore_index=True) if rows else frames[0]


def merge_chunks(chunks: list[ChunkResult], bands: DemandBands, progress: ProgressBands | None = None) -> RunTables:
    """The run's tables from its chunks (already in replicate order) and its merged bands."""
    return RunTables(
        events=_concat(c.events for c in chunks),
        patients=_concat(c.patients for c in chunks),
        screenings=_concat(c.screenings for c in chunks),
        metrics=_concat(c.metrics for c in chunks),
        lots=_concat(c.lots for c in chunks),
        supply_weekly=_concat(c.supply_weekly for c in chunks),
        bands=bands,
        progress=progress,
    )


def run_scenario(
    scenario: Scenario,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> RunTables:
    """Simulate ``replicates`` replicates and return the run's tables.

    ``options``: workers, chunk_size, scheduler ("local" or a scheduler address), keep_events,
    trace (a trial's records, which drive every replicate up to their restart), counts_day, posterior,
    progress, metrics_only.
    ``on_replicate`` is called with the number of replicates each finished chunk held.
    """
    return merge_chunks(*execute_chunks(scenario, replicates, seed, on_progress=on_replicate, **options))


def simulate_metrics(
    scenario: Scenario,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> pd.DataFrame:
    """Only the metrics table: what searches over many runs need."""
    options.setdefault("keep_events", 0)
    chunks, _, _ = execute_chunks(scenario, replicates, seed, on_progress=on_replicate, metrics_only=True, **options)
    return _concat(c.metrics for c in chunks)


def metrics_in_order(
    scenario: Scenario,
    replicates: int,
    seed: int,
    chunk_size: int,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    keep_events: int = 0,
    trace: Trace | None = None,
    posterior: Posterior | None = None,
    counts_day: float | None = None,
) -> Iterator[pd.DataFrame]:
    """The metrics of replicates 0..``replicates``-1, a chunk at a time in replicate order, for a
    caller that may stop reading once it has decided (a search). The local pool keeps every worker
    busy: while the caller reads chunk k, the next ``IN_FLIGHT_PER_WORKER`` chunks a worker are
    queued or simulated, and once the caller stops they are cancelled (a running one before its
    next replicate). What is read is the same whatever the workers (replicate r is the same in any
    chunk)."""
    bounds = chunk_bounds(replicates, chunk_size)
    if workers > 1 and scheduler is None:
        task = ChunkTask(scenario, seed, 0, 0, keep_events, True, trace, counts_day, posterior, False)
        yield from _pool_in_order(workers, task, bounds)
        return
    # one process, or a Dask cluster: a group of one chunk a worker at a time
    for group in range(0, len(bounds), workers):
        first, stop = bounds[group][0], bounds[min(group + workers, len(bounds)) - 1][1]
        chunks, _, _ = execute_chunks(
            scenario,
            stop - first,
            seed,
            workers=workers,
            chunk_size=chunk_size,
            scheduler=scheduler,
            keep_events=keep_events,
            metrics_only=True,
            trace=trace,
            counts_day=counts_day,
            posterior=posterior,
            first=first,
        )
        for chunk in chunks:
            yield chunk.metrics


IN_FLIGHT_PER_WORKER = 2
"""Chunks of an in-order stream submitted ahead per worker: a worker finds its next chunk waiting
instead of idling while the caller reads and sends one (what the caller does not read is cancelled)."""


def _pool_in_order(workers: int, task: ChunkTask, bounds: list[tuple[int, int]]) -> Iterator[pd.DataFrame]:
    """The metrics of ``task`` chunk by chunk (``bounds``) in order, with
    ``IN_FLIGHT_PER_WORKER`` chunks a worker submitted ahead; once the caller stops reading, the
    stream's chunks still queued or running are cancelled."""
    pool, flags = _pool_and_flags(workers)
    slot = _open_slot()
    flags[slot] = False
    waiting: deque[multiprocessing.pool.AsyncResult] = deque()
    queued = iter(bounds)
    pickled = _pickled(task)

    def submit() -> None:
        chunk = next(queued, None)
        if chunk is not None:
            waiting.append(pool.apply_async(_simulate_unless_cancelled, (slot, pickled, *chunk)))

    try:
        for _ in range(IN_FLIGHT_PER_WORKER * workers):
            submit()
        while waiting:
            metrics: pd.DataFrame = pickle.loads(waiting.popleft().get())
            submit()
            yield metrics
    except GeneratorExit:
        raise  # the caller has decided: what is left of the stream is cancelled below and dropped
    except BaseException:
        _drop_pool()
        raise
    finally:
        flags[slot] = True
        _OPEN_SLOTS.discard(slot)


ADAPTIVE_BATCH = 200
"""Replicates added at a time by ``run_to_precision`` (the stopping rule is checked between batches)."""


def half_width(successes: int, n: int) -> float:
    """The 95% half-width of a proportion's estimate, from the Agresti-Coull adjusted proportion
    (never zero: a run with no successes yet still has an error)."""
    adjusted = (successes + 2) / (n + 4)
    return Z95 * math.sqrt(adjusted * (1 - adjusted) / (n + 4))


def run_to_precision(
    scenario: Scenario,
    seed: int,
    precision: float,
    max_replicates: int,
    event: Callable[[pd.DataFrame], pd.Series],
    batch: int = ADAPTIVE_BATCH,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> RunTables:
    """Add replicates a batch at a time until the 95% half-width of P(``event``) is at most
    ``precision`` (or ``max_replicates`` are run). Replicate r is the same whatever the batches, so
    the result is the run of that many replicates, for any split."""
    if not 0 < precision < 1:
        raise ValueError(f"precision (={precision}) must be between 0 and 1")
    bands = DemandBands(scenario.start_date, horizon_weeks(scenario))
    chunks: list[ChunkResult] = []
    done = 0
    while done < max_replicates:
        size = min(batch, max_replicates - done)
        more, more_bands, _ = execute_chunks(scenario, size, seed, on_progress=on_replicate, first=done, **options)
        chunks += more
        bands.merge(more_bands)
        done += size
        hits = pd.concat([c.metrics for c in chunks], ignore_index=True).pipe(event)
        if half_width(int(hits.sum()), done) <= precision:
            break
    return merge_chunks(chunks, bands)
