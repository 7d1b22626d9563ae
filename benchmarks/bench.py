"""Benchmark figures for the runner and the engine (a script that prints figures, not a test).

    python benchmarks/bench.py                      # everything, full sizes (several minutes)
    python benchmarks/bench.py --quick              # smaller sizes, for a first look

Figures printed, against the targets of the runner issue:
- replicates/s for the base scenario with 1 and 2 workers      (target >= 1,000/s on 2 cores)
- engine time per simpy event over a bare simpy loop's         (target within 2x)
- peak memory for many replicates in summary mode               (target < 500 MB at 100,000)
- cost per patient at 10, 100 and 1,000 patients, 1 and 50 sites (target 1,000 within 1.2x of 10)
"""

from __future__ import annotations

import argparse
import copy
import resource
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctdild_sim import engine  # noqa: E402
from ctdild_sim.loading import _deep_merge, load_scenario  # noqa: E402
from ctdild_sim.runner import run_scenario  # noqa: E402
from ctdild_sim.scenario import Scenario  # noqa: E402

BASE_FILE = ROOT / "scenarios" / "nct06574581.yaml"


def replicates_per_second(scenario: Scenario, replicates: int, workers: int) -> float:
    start = time.perf_counter()
    run_scenario(scenario, replicates, seed=1, workers=workers, keep_events=0)
    return replicates / (time.perf_counter() - start)


class CountingEnvironment(simpy.Environment):
    """A simpy environment that counts the events it processes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


def engine_versus_bare_simpy(scenario: Scenario, replicates: int) -> tuple[float, float, int]:
    """Seconds per event in the engine and in a bare loop of timeouts, and the engine's event count."""
    original = engine.simpy.Environment
    engine.simpy.Environment = CountingEnvironment
    events = 0
    try:
        start = time.perf_counter()
        for r in range(replicates):
            trial = engine.Trial(scenario, engine.ReplicateStreams.for_replicate(1, r))
            horizon = trial.env.timeout(scenario.horizon_days)
            trial.env.run(until=trial.env.any_of([trial.completed, trial.stopped, horizon]))
            events += trial.env.processed
        engine_seconds = time.perf_counter() - start
    finally:
        engine.simpy.Environment = original

    def ticker(env: simpy.Environment, n: int):
        for _ in range(n):
            yield env.timeout(1.0)

    env = CountingEnvironment()
    env.process(ticker(env, events // 2))  # a timeout and a process resumption per iteration
    start = time.perf_counter()
    env.run()
    bare_seconds = time.perf_counter() - start
    return engine_seconds / events, bare_seconds / env.processed, events


def scaled(scenario: Scenario, factor: int, sites: int) -> Scenario:
    """The base design with every cohort ``factor`` times larger, spread over ``sites`` sites whose
    referrals, beds and manufacturing campaigns scale with the cohorts (so the trial's length
    stays comparable).

    Safety reviews always resume here: with 1,000 subjects most replicates would otherwise be
    stopped by a review after a few dozen, and the figure would measure when trials stop rather
    than what a subject costs the engine."""
    data = copy.deepcopy(scenario.model_dump(by_alias=True, mode="json"))
    data["safety"]["review_outcomes"] = {"resume": 1.0, "repeat_cohort": 0.0, "stop": 0.0}
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


def cost_per_patient(scenario: Scenario, replicates: int) -> float:
    start = time.perf_counter()
    patients = 0
    for r in range(replicates):
        result = engine.run_replicate(scenario, 1, r)
        patients += len(result.patients)
    return (time.perf_counter() - start) / max(patients, 1)


def peak_memory_mb(scenario: Scenario, replicates: int, workers: int) -> tuple[float, float, float]:
    start = time.perf_counter()
    run_scenario(scenario, replicates, seed=1, workers=workers, keep_events=100)
    seconds = time.perf_counter() - start
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", default="throughput,engine,scaling,memory",
                        help="comma-separated sections to run (default: all)")  # fmt: skip
    parser.add_argument("--memory-replicates", type=int, default=None, help="replicates for the memory figure")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    base = load_scenario(BASE_FILE)
    n = 200 if args.quick else 1000
    print(f"ctdild-sim benchmark ({'quick' if args.quick else 'full'}), base scenario {BASE_FILE.name}")

    for workers in (1, 2) if "throughput" in sections else ():
        rate = replicates_per_second(base, n, workers)
        print(f"replicates/s, {workers} worker(s), {n} replicates: {rate:8.1f}   (target >= 1000 on 2 cores)")

    if "engine" in sections:
        per_event, bare_per_event, events = engine_versus_bare_simpy(base, 50 if args.quick else 200)
        ratio = per_event / bare_per_event
        print(f"engine: {per_event * 1e6:.2f} us/event over {events} events; bare simpy loop "
              f"{bare_per_event * 1e6:.2f} us/event; ratio {ratio:.2f}   (target <= 2)")  # fmt: skip

    costs = {}
    for factor in (1, 10, 100) if "scaling" in sections else ():
        for sites in (1, 50):
            scenario = scaled(base, factor, sites)
            reps = {1: 200, 10: 20, 100: 4}[factor] if not args.quick else {1: 40, 10: 6, 100: 2}[factor]
            costs[(factor, sites)] = cost_per_patient(scenario, reps)
            print(f"cost per patient, {10 * factor:5d} patients, {sites:2d} sites: "
                  f"{costs[(factor, sites)] * 1e3:7.3f} ms")  # fmt: skip
    for sites in (1, 50) if costs else ():
        ratio = costs[(100, sites)] / costs[(1, sites)]
        print(f"cost per patient 1,000 / 10 patients, {sites} sites: {ratio:.2f}   (target <= 1.2)")

    if "memory" not in sections:
        return
    memory_n = args.memory_replicates or (5000 if args.quick else 100_000)
    me, children, seconds = peak_memory_mb(base, memory_n, 2)
    print(f"peak RSS for {memory_n} replicates in summary mode (2 workers, events kept for 100): "
          f"parent {me:.0f} MB, largest worker {children:.0f} MB, {seconds:.0f} s   (target < 500 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
