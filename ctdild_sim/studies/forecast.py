"""A forecast from a trial's actual state: read its records, learn the assumptions from them,
restart the simulation from them, set the trial against the plan made at its start, and plan the
lots still to start.

Three runs of the same scenario: the forecast (the records drive every replicate up to the day
after the as-of date, then it draws, its parameters from the posterior the records give, unless
learning is off), the plan (the scenario as written, from day 0, with the counts each replicate
had reached by the as-of date, for ``analysis.forecast.plan_vs_actual``), and, for a scenario with
a product, the lot-plan search started from the actual stock (on the same posterior).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ctdild_sim.actuals.reader import Actuals, RecordFiles
from ctdild_sim.actuals.records import TrialRecords, read_records
from ctdild_sim.analysis.forecast import (
    forecast_milestones,
    forecast_supply,
    lots_after,
    observed_milestones,
    observed_progress,
    plan_vs_actual,
    stock_on_hand,
)
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.learning.posterior import Posterior, learn
from ctdild_sim.model.trace import Observed
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.lot_plan import LotPlan, plan_lots

Progress = Callable[[str, int | None, int], None]
"""``progress(step, total, done)``: a step of the forecast has advanced by ``done`` of ``total``."""


@dataclass
class Forecast:
    """A forecast and everything it was made from."""

    scenario: Scenario
    as_of: dt.date
    records: TrialRecords
    tables: RunTables
    plan: pd.DataFrame  # the from-start forecast's metrics, with counts by the as-of date
    plan_progress: pd.DataFrame  # the from-start forecast's weekly progress bands (``bands.ProgressBands``)
    seed: int
    replicates: int
    lot_plan: LotPlan | None = None
    target_dates: tuple[dt.date, ...] = ()  # the dates the forecast was asked the chance of
    warnings: list[str] = field(default_factory=list)
    posterior: Posterior | None = None  # None: learning was off
    kept_events: int | None = None  # replicates whose full records were kept (``kept_replicates``)
    records_cut: bool = False  # the records were read as they stood on the as-of date (``actuals.cut``)

    @property
    def restart_day(self) -> float:
        return self.records.restart_day

    @property
    def actuals(self) -> Actuals:
        return self.records.actuals

    @property
    def observed(self) -> Observed:
        return self.records.observed

    def milestones(self) -> pd.DataFrame:
        return forecast_milestones(self.tables.metrics, self.scenario, self.observed)

    def manifest(self) -> dict:
        """What a stored forecast's manifest says about it, besides what every run's says."""
        return {
            "kind": "forecast",
            "as_of": self.as_of.isoformat(),
            "actuals_folder": str(self.actuals.folder),
            "actuals_sha256": self.actuals.sha256,
            "learning": self.posterior is not None,
            "records_cut": self.records_cut,
            **enrolment_manifest(self.posterior),
            "restart_day": self.restart_day,
            "target_dates": [d.isoformat() for d in self.target_dates],
            "warnings": list(self.warnings),
            "kept_events": self.kept_events,
            "target_stockout": self.lot_plan.target if self.lot_plan is not None else None,
            "lot_plan_fresh_seed": self.lot_plan.fresh_seed if self.lot_plan is not None else None,
        }

    def observed_progress(self) -> pd.DataFrame:
        return observed_progress(self.observed.history, self.scenario.start_date, self.as_of)

    def plan_vs_actual(self) -> pd.DataFrame:
        reached = observed_milestones(self.observed.history, len(self.scenario.cohorts))
        return plan_vs_actual(self.plan, self.observed, reached, self.scenario)

    def supply(self) -> dict[str, float] | None:
        if self.scenario.product is None:
            return None
        return forecast_supply(self.tables.metrics, self.tables.lots, self.observed)

    def lots_to_start(self) -> pd.DataFrame:
        """When the k-th lot after the as-of date is ordered: under the lot plan if one was made
        (on its fresh seeds), else under the scenario's stock policy."""
        if self.lot_plan is not None and self.lot_plan.fresh_tables is not None:
            # the fresh check's own replicates, which may be fewer than the forecast's
            lots, replicates = self.lot_plan.fresh_tables.lots, len(self.lot_plan.fresh_tables.metrics)
        else:
            lots, replicates = self.tables.lots, self.replicates
        return lots_after(lots, replicates, self.scenario.start_date, self.restart_day)

    def output_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """What a stored forecast holds: the run's tables, the milestones with observed dates, the
        plan against the actuals, the supply figures, the lots to start and the lot-plan search."""
        tables = [
            *self.tables.items(),
            ("milestones", self.milestones()),
            ("plan_vs_actual", self.plan_vs_actual()),
            ("lots_to_start", self.lots_to_start()),
            ("plan_progress_weekly", self.plan_progress),
            ("observed_progress", self.observed_progress()),
        ]
        if self.posterior is not None:
            tables.append(("assumptions", self.posterior.table()))
        supply = self.supply()
        if supply is not None:
            tables.append(("forecast_supply", pd.DataFrame([supply])))
            tables.append(("stock_on_hand", stock_on_hand(self.observed, self.scenario.start_date, self.as_of)))
        if self.lot_plan is not None:
            tables += self.lot_plan.search_tables()
            if self.lot_plan.fresh_tables is not None:  # the plan's own run, for its savings
                tables.append(("lot_plan_metrics", self.lot_plan.fresh_tables.metrics))
        return tables


def enrolment_manifest(posterior: Posterior | None) -> dict:
    """What a stored forecast says of its enrolment model: which, why, and its fitted parameters."""
    choice = posterior.enrolment if posterior is not None else None
    if choice is None:
        return {"enrolment_model": None}
    return {
        "enrolment_model": choice.model,
        "enrolment_reason": choice.reason,
        "enrolment_parameters": choice.fit.parameters,
        "enrolment_scores": choice.scores,
    }


KEPT_ROWS = 2_000_000
"""Event rows a forecast keeps at most in its kept replicates' logs: each repeats the records'
history, so records at the format's limits (160,000 rows of history) keep a dozen, not hundreds
(some gigabytes)."""


def as_of_problem(scenario: Scenario, as_of: dt.date) -> str | None:
    """Why a forecast cannot be made as of ``as_of`` (before the study's start, or past the
    scenario's horizon), or None."""
    if as_of < scenario.start_date:
        return f"{as_of} is before the study's start {scenario.start_date}"
    if scenario.day_of(as_of) + 1 >= scenario.horizon_days:
        return f"{as_of} is past the scenario's horizon ({scenario.horizon_days:g} days from the start)"
    return None


def kept_replicates(records: TrialRecords, keep_events: int) -> int:
    """How many replicates' full records a forecast keeps: ``keep_events``, or fewer when its
    records' history would make them more than ``KEPT_ROWS`` rows (a replicate adds a few hundred)."""
    per_replicate = len(records.observed.history) + 500
    return min(keep_events, max(1, KEPT_ROWS // per_replicate)) if keep_events > 0 else 0


PLAN_REPLICATES = 200
"""Replicates a candidate policy of a forecast's lot-plan search is simulated on, as ``ctdild-sim
supply``'s search: the forecast's own replicates need not all be spent on every candidate."""


def forecast(
    scenario: Scenario,
    source: str | Path | RecordFiles | TrialRecords,
    as_of: dt.date,
    replicates: int,
    seed: int,
    *,
    target_dates: tuple[dt.date, ...] = (),
    target_stockout: float | None = None,
    learning: bool = True,
    enrolment_model: str | None = None,
    progress: Progress | None = None,
    plan_replicates: int | None = None,
    lot_sizes: tuple[int, ...] = (),
    records_cut: bool = False,
    **options,
) -> Forecast:
    """Forecast the trial from its records (a folder, a workbook, files held in memory, or records
    already read) as of ``as_of`` (see the module); ``learning=False`` keeps the scenario's
    assumptions as written.

    ``enrolment_model`` forces one (``learning.enrolment``); ``options`` go to every run (workers,
    chunk_size, scheduler, keep_events: see ``kept_replicates``);
    the lot-plan search simulates each candidate policy on ``plan_replicates`` replicates (default:
    ``replicates``), trying the ``lot_sizes`` given (default: across the scenario's range)."""
    records = source if isinstance(source, TrialRecords) else read_records(source, scenario, as_of)
    posterior = learn(scenario, records.trace, records.observed, enrolment_model) if learning else None
    if "keep_events" in options:
        options["keep_events"] = kept_replicates(records, options["keep_events"])

    def step(name: str, total: int | None) -> Callable[[int], None]:
        return (lambda n=1: progress(name, total, n)) if progress is not None else (lambda n=1: None)

    tables = run_scenario(
        scenario,
        replicates,
        seed,
        on_replicate=step("Forecast from the records", replicates),
        trace=records.trace,
        posterior=posterior,
        progress=True,
        **options,
    )
    metrics_options = {k: v for k, v in options.items() if k != "keep_events"}
    plan = run_scenario(
        scenario,
        replicates,
        seed,
        on_replicate=step("The plan from day 0", replicates),
        counts_day=records.restart_day,
        progress=True,
        metrics_only=True,
        keep_events=0,
        **metrics_options,
    )
    lot_plan = None
    if target_stockout is not None and scenario.product is not None:
        advance = step("Lot plan from the actual stock", None)
        lot_plan = plan_lots(
            scenario,
            target_stockout,
            plan_replicates or replicates,
            seed,
            on_evaluated=lambda _: advance(),
            fills=sorted(set(lot_sizes)) or None,
            trace=records.trace,
            posterior=posterior,
            **metrics_options,
        )
    return Forecast(
        scenario,
        as_of,
        records,
        tables,
        plan.metrics,
        plan.progress.table(),
        seed,
        replicates,
        lot_plan,
        tuple(sorted(set(target_dates))),
        records.warnings,
        posterior,
        options.get("keep_events"),
        records_cut,
    )
