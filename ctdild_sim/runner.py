"""Many replicates of one scenario, each on its own seeded streams.

Replicate ``r`` always uses the streams of ``(seed, r)`` (see ``streams``), so a run of N
replicates is the first N replicates of any larger run with the same seed. This loop is
sequential; the parallel runner builds on the same ``run_replicate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd

from ctdild_sim.engine import ReplicateResult, run_replicate
from ctdild_sim.metrics import replicate_metrics
from ctdild_sim.scenario import Scenario
from ctdild_sim.supply_metrics import lot_table, weekly_supply_table
from ctdild_sim.tables import RunTables, events_table, patients_table, screenings_table


def replicates_of(
    scenario: Scenario, replicates: int, seed: int, on_replicate: Callable[[int], None] | None = None
) -> Iterator[ReplicateResult]:
    """Replicates 0..replicates-1 of (scenario, seed), one at a time."""
    if replicates < 1:
        raise ValueError(f"replicates (={replicates}) must be >= 1")
    for r in range(replicates):
        yield run_replicate(scenario, seed, r)
        if on_replicate is not None:
            on_replicate(r)


def simulate_metrics(
    scenario: Scenario, replicates: int, seed: int, on_replicate: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """Only the metrics table: what searches over many runs need, without keeping events."""
    rows = [replicate_metrics(r, scenario) for r in replicates_of(scenario, replicates, seed, on_replicate)]
    return pd.DataFrame(rows)


def run_scenario(
    scenario: Scenario,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int], None] | None = None,
) -> RunTables:
    """Simulate ``replicates`` replicates and return the run's tables."""
    results = list(replicates_of(scenario, replicates, seed, on_replicate))
    return RunTables(
        events=events_table(results, scenario.start_date),
        patients=patients_table(results),
        screenings=screenings_table(results),
        metrics=pd.DataFrame([replicate_metrics(r, scenario) for r in results]),
        lots=lot_table(results),
        supply_weekly=weekly_supply_table(results),
    )
