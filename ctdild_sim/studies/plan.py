"""The plan from day 0: a scenario's replicates, or as many as it takes to pin down the chance of
the registered completion date to a stated precision."""

from __future__ import annotations

from ctdild_sim.analysis.summary import done_by
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.runs.runner import run_scenario, run_to_precision
from ctdild_sim.scenario.trial import Scenario


def run_plan(scenario: Scenario, replicates: int, seed: int, precision: float | None = None, **options) -> RunTables:
    """``replicates`` replicates; with ``precision``, replicates added 200 at a time until the 95%
    half-width of P(last patient last visit by the registered completion date) is at most it
    (``replicates`` is then the most that may run)."""
    if precision is None:
        return run_scenario(scenario, replicates, seed, **options)
    registered = scenario.registered_completion_date
    if registered is None:
        raise ValueError("precision is on P(LPLV by the registered completion date), and the scenario has none")
    return run_to_precision(
        scenario, seed, precision, replicates, lambda m: done_by(m, scenario, registered), **options
    )
