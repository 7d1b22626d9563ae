"""Many replicates of one scenario, each on its own seeded streams.

Replicate ``r`` always uses the streams of ``(seed, r)`` (see ``streams``), so a run of N
replicates is the first N replicates of any larger run with the same seed. This loop is
sequential; the parallel runner builds on the same ``run_replicate``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ctdild_sim.engine import ReplicateResult, run_replicate
from ctdild_sim.metrics import replicate_metrics
from ctdild_sim.scenario import Scenario
from ctdild_sim.supply_metrics import lot_table, weekly_supply_table
from ctdild_sim.tables import RunTables, events_table, patients_table, screenings_table


def run_scenario(
    scenario: Scenario,
    replicates: int,
    seed: int,
    on_replicate: Callable[[int], None] | None = None,
) -> RunTables:
    """Simulate ``replicates`` replicates and return the run's tables."""
    if replicates < 1:
        raise ValueError(f"replicates (={replicates}) must be >= 1")
    results: list[ReplicateResult] = []
    for r in range(replicates):
        results.append(run_replicate(scenario, seed, r))
        if on_replicate is not None:
            on_replicate(r)
    metrics = pd.DataFrame([replicate_metrics(r, scenario) for r in results])
    return RunTables(
        events=events_table(results, scenario.start_date),
        patients=patients_table(results),
        screenings=screenings_table(results),
        metrics=metrics,
        lots=lot_table(results),
        supply_weekly=weekly_supply_table(results),
    )
