"""Benchmark figures for the runner and the engine (a script that prints figures, not a test).

    python benchmarks/bench.py                      # everything, full sizes (several minutes)
    python benchmarks/bench.py --quick              # smaller sizes, for a first look

Figures printed, against the targets of the runner issue:
- replicates/s for the base scenario with 1 and 2 workers      (target >= 1,000/s on 2 cores)
- where a base replicate's time goes: streams, building, simulation, metrics, demand bands
- engine time per simpy event over a bare simpy loop's         (target within 2x), with the
  engine's events, log rows and random draws per replicate, and what a bare loop costs that
  also logs one row and makes one draw per event
- peak memory for many replicates in summary mode               (target < 500 MB at 100,000)
- cost per patient at 10, 100 and 1,000 patients, 1 and 50 sites (target 1,000 within 1.2x of 10),
  with the simpy events per patient and the cost per event; without safety reviews (the per-subject
  work stays the same at every size) and, at 10 and 1,000 patients, with them (see ``scaled``)
"""

from __future__ import annotations

import argparse
import copy
import math
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctdild_sim.analysis.bands import DemandBands  # noqa: E402
from ctdild_sim.analysis.metrics import replicate_metrics  # noqa: E402
from ctdild_sim.analysis.supply_metrics import weekly_series  # noqa: E402
from ctdild_sim.model import engine  # noqa: E402
from ctdild_sim.runs import runner  # noqa: E402
from ctdild_sim.runs.runner import horizon_weeks, run_scenario  # noqa: E402
from ctdild_sim.scenario.loading import _deep_merge, load_scenario  # noqa: E402
from ctdild_sim.scenario.trial import Scenario  # noqa: E402
from ctdild_sim.sim.events import Event  # noqa: E402
from ctdild_sim.sim.streams import COMPONENTS, ReplicateStreams  # noqa: E402

BASE_FILE = ROOT / "scenarios" / "nct06574581.yaml"


def replicates_per_second(
    scenario: Scenario, replicates: int, worker_counts: tuple[int, ...], repeats: int = 3
) -> dict[int, tuple[float, float]]:
    """Replicates/s of whole runs (pool start, simulation, tables) for each worker count: the
    slowest and the fastest of ``repeats`` runs, taken in turns."""
    rates: dict[int, list[float]] = {w: [] for w in worker_counts}
    for _ in range(repeats):
        for workers in worker_counts:
            start = time.perf_counter()
            run_scenario(scenario, replicates, seed=1, workers=workers, keep_events=0)
            rates[workers].append(replicates / (time.perf_counter() - start))
    return {w: (min(r), max(r)) for w, r in rates.items()}


class CountingEnvironment(simpy.Environment):
    """A simpy environment that counts the events it processes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


@contextmanager
def counting_events() -> Iterator[None]:
    """Within the block, every trial the engine builds runs on a ``CountingEnvironment``."""
    original = engine.simpy.Environment
    engine.simpy.Environment = CountingEnvironment
    try:
        yield
    finally:
        engine.simpy.Environment = original


def engine_versus_bare_simpy(scenario: Scenario, replicates: int, repeats: int = 3) -> tuple[float, float, int]:
    """Seconds per event in the engine and in a bare loop of timeouts, and the engine's event count.

    Each is the fastest of ``repeats`` runs, taken in turns, so that a slow spell of a shared machine
    does not land on one side of the ratio only."""
    engine_seconds, bare_per_event = math.inf, math.inf
    for _ in range(repeats):
        events = 0
        start = time.perf_counter()
        with counting_events():
            for r in range(replicates):
                trial = engine.Trial(scenario, ReplicateStreams.for_replicate(1, r))
                trial.run(r)
                events += trial.env.processed
        engine_seconds = min(engine_seconds, time.perf_counter() - start)
        bare_per_event = min(bare_per_event, simpy_loop_per_event(events // 2))
    return engine_seconds / events, bare_per_event, events


def simpy_loop_per_event(n: int, log_and_draw: bool = False, log_length: int = 280) -> float:
    """Seconds per event of a process that only waits ``n`` unit timeouts (the bare-simpy floor).

    With ``log_and_draw`` it also appends one event-log row and makes one scalar random draw per
    event, as the engine's ``EventLog.record`` and its distributions do, starting a new log every
    ``log_length`` rows as each replicate does: the least a model that keeps an event log and draws
    its random numbers one at a time can cost."""
    rng = np.random.default_rng(0)
    new_row = tuple.__new__

    def ticker(env: simpy.Environment):
        for _ in range(n):
            yield env.timeout(1.0)

    def logging_ticker(env: simpy.Environment):
        rows: list[tuple] = []
        for _ in range(n):
            yield env.timeout(1.0)
            rows.append(new_row(Event, (float(env.now), None, None, None, "visit", "", math.nan)))
            rng.standard_normal()
            if len(rows) == log_length:
                rows = []

    env = CountingEnvironment()
    env.process(logging_ticker(env) if log_and_draw else ticker(env))
    start = time.perf_counter()
    env.run()
    return (time.perf_counter() - start) / env.processed


class CountingGenerator:
    """Forwards to a numpy Generator and counts the draw calls made on it."""

    calls = 0

    def __init__(self, rng: np.random.Generator):
        self._rng = rng

    def __getattr__(self, name: str):
        method = getattr(self._rng, name)

        def counted(*args, **kwargs):
            CountingGenerator.calls += 1
            return method(*args, **kwargs)

        return counted


def engine_work(scenario: Scenario, replicates: int) -> tuple[float, float, float]:
    """Per replicate: simpy events, event-log rows and random draw calls (counted, not timed)."""
    events = rows = 0
    CountingGenerator.calls = 0
    with counting_events():
        for r in range(replicates):
            real = ReplicateStreams.for_replicate(1, r)
            streams = ReplicateStreams(**{name: CountingGenerator(getattr(real, name)) for name in COMPONENTS})
            trial = engine.Trial(scenario, streams)
            trial.run(r)
            events += trial.env.processed
            rows += len(trial.log.rows)
    return events / replicates, rows / replicates, CountingGenerator.calls / replicates


def replicate_breakdown(scenario: Scenario, replicates: int) -> dict[str, float]:
    """Seconds per replicate in each step the runner takes (``runner.simulate_chunk``)."""
    n_weeks = horizon_weeks(scenario)
    bands = DemandBands(scenario.start_date, n_weeks)
    spent = dict.fromkeys(["random streams", "building the trial", "simulation", "metrics", "demand bands"], 0.0)
    for r in range(replicates):
        t0 = time.perf_counter()
        streams = ReplicateStreams.for_replicate(1, r)
        t1 = time.perf_counter()
        trial = engine.Trial(scenario, streams)
        t2 = time.perf_counter()
        result = trial.run(r)
        t3 = time.perf_counter()
        replicate_metrics(result, scenario)
        t4 = time.perf_counter()
        bands.add(weekly_series(result, n_weeks), result.end_day)
        t5 = time.perf_counter()
        for key, (a, b) in zip(spent, [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)], strict=True):
            spent[key] += b - a
    t = time.perf_counter()
    bands.fold()
    spent["demand bands"] += time.perf_counter() - t
    return {key: seconds / replicates for key, seconds in spent.items()}


def scaled(scenario: Scenario, factor: int, sites: int, reviews: bool = False) -> Scenario:
    """The base design with every cohort ``factor`` times larger, spread over ``sites`` sites whose
    referrals, beds and manufacturing campaigns scale with the cohorts (so the trial's length
    stays comparable).

    Safety reviews always resume here: with 1,000 subjects most replicates would otherwise be
    stopped by a review after a few dozen, and the figure would measure when trials stop rather
    than what a subject costs the engine. Unless ``reviews``, no adverse event or death opens a
    review at all, at every size: reviews come one per triggering event (3% of infusions, and
    every death, in the base), so with 1,000 subjects they keep enrolment paused most of the
    time, passed screens expire by the thousand and new candidates are referred to replace them,
    and the figure would measure pause time rather than what a subject costs the engine."""
    data = copy.deepcopy(scenario.model_dump(by_alias=True, mode="json"))
    data["safety"]["review_outcomes"] = {"resume": 1.0, "repeat_cohort": 0.0, "stop": 0.0}
    if not reviews:
        for adverse_event in data["safety"]["adverse_events"]:
            adverse_event["triggers_review"] = False
        data["safety"]["death_triggers_review"] = False
    data["dosing"]["beds"] *= factor  # else 1,000 subjects queue for the base's beds past the horizon
    for cohort in data["cohorts"]:
        cohort["size"] *= factor
    site = data["sites"][0]
    site.update(count=sites, referral_rate_per_month=site["referral_rate_per_month"] * factor / sites)
    data["sites"] = [site]
    product = data.get("product")
    if product:
        product = _deep_merge(product, {"lots": {"max_parallel_campaigns": max(1, factor)}})
        data["product"] = product
    return Scenario.model_validate(data)


def costs_per_patient(scenarios: dict[int, tuple[Scenario, int]], repeats: int = 5) -> dict[int, tuple[float, float]]:
    """For each size: seconds per enrolled subject and simpy events per enrolled subject.

    ``scenarios`` maps a size to its scenario and replicate count. The sizes are timed in turns,
    ``repeats`` times, and the fastest run of each is kept, so that a slow spell of a shared
    machine does not land on one size only; events are counted in a separate, untimed pass."""
    seconds = dict.fromkeys(scenarios, math.inf)
    patients = dict.fromkeys(scenarios, 0)
    for _ in range(repeats):
        for size, (scenario, replicates) in scenarios.items():
            start = time.perf_counter()
            patients[size] = sum(len(engine.run_replicate(scenario, 1, r).patients) for r in range(replicates))
            seconds[size] = min(seconds[size], time.perf_counter() - start)
    out = {}
    for size, (scenario, replicates) in scenarios.items():
        events = engine_work(scenario, replicates)[0] * replicates
        n = max(patients[size], 1)
        out[size] = (seconds[size] / n, events / n)
    return out


def peak_memory_mb(scenario: Scenario, replicates: int, workers: int) -> tuple[float, float, float]:
    start = time.perf_counter()
    run_scenario(scenario, replicates, seed=1, workers=workers, keep_events=100)
    seconds = time.perf_counter() - start
    runner._drop_pool()  # the pool outlives a run: end (and reap) its workers, or they are not counted
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--only",
        default="throughput,breakdown,engine,scaling,memory",
        help="comma-separated sections to run (default: all)",
    )
    parser.add_argument("--memory-replicates", type=int, default=None, help="replicates for the memory figure")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    base = load_scenario(BASE_FILE)
    n = 200 if args.quick else 1000
    print(f"ctdild-sim benchmark ({'quick' if args.quick else 'full'}), base scenario {BASE_FILE.name}")

    if "throughput" in sections:
        for workers, (slowest, fastest) in replicates_per_second(base, n, (1, 2)).items():
            print(
                f"replicates/s, {workers} worker(s), {n} replicates, 3 runs: {slowest:6.1f} to {fastest:6.1f}"
                "   (target >= 1000 on 2 cores)"
            )

    if "breakdown" in sections:
        reps = 100 if args.quick else 500
        spent = replicate_breakdown(base, reps)
        total = sum(spent.values())
        print(f"one base replicate in the runner, {reps} replicates: {total * 1e3:.2f} ms")
        for step, seconds in spent.items():
            print(f"  {step:20s} {seconds * 1e6:7.0f} us  {seconds / total:5.1%}")

    if "engine" in sections:
        reps = 50 if args.quick else 200
        per_event, bare_per_event, events = engine_versus_bare_simpy(base, reps)
        ratio = per_event / bare_per_event
        print(
            f"engine: {per_event * 1e6:.2f} us/event over {events} events; bare simpy loop "
            f"{bare_per_event * 1e6:.2f} us/event; ratio {ratio:.2f}   (target <= 2)"
        )
        per_replicate, rows, draws = engine_work(base, reps)
        bare, floor = math.inf, math.inf
        for _ in range(5):  # the fastest of five, in turns (see engine_versus_bare_simpy)
            bare = min(bare, simpy_loop_per_event(events // 2))
            floor = min(floor, simpy_loop_per_event(events // 2, log_and_draw=True, log_length=round(rows)))
        print(
            f"  per replicate: {per_replicate:.0f} events, {rows:.0f} log rows, {draws:.0f} random draw calls; "
            f"the bare loop with one log row and one scalar draw per event: {floor * 1e6:.2f} us/event, "
            f"{floor / bare:.2f}x the bare loop's {bare * 1e6:.2f} us"
        )

    for reviews in (False, True) if "scaling" in sections else ():
        label = "reviews on, as in the base" if reviews else "no reviews"
        factors = (1, 100) if reviews else (1, 10, 100)
        for sites in (1, 50):
            reps = {1: 200, 10: 20, 100: 4} if not args.quick else {1: 40, 10: 6, 100: 2}
            costs = costs_per_patient({f: (scaled(base, f, sites, reviews), reps[f]) for f in factors})
            for factor, (cost, events) in costs.items():
                print(
                    f"cost per patient ({label}), {10 * factor:5d} patients, {sites:2d} sites: "
                    f"{cost * 1e3:7.3f} ms; {events:5.1f} simpy events per patient, "
                    f"{cost / events * 1e6:5.1f} us per event"
                )
            ratio = costs[100][0] / costs[1][0]
            print(f"cost per patient ({label}) 1,000 / 10 patients, {sites} sites: {ratio:.2f}   (target <= 1.2)")

    if "memory" not in sections:
        return
    memory_n = args.memory_replicates or (5000 if args.quick else 100_000)
    me, children, seconds = peak_memory_mb(base, memory_n, 2)
    print(
        f"peak RSS for {memory_n} replicates in summary mode (2 workers, events kept for 100): "
        f"parent {me:.0f} MB, largest worker {children:.0f} MB, {seconds:.0f} s   (target < 500 MB)"
    )


if __name__ == "__main__":
    main()
