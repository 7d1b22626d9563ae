"""Comparing scenarios on common random numbers.

Every scenario is run with the same seed, so replicate ``r`` of each draws its sites, candidates,
AEs, lots and so on from the same streams: where two scenarios agree, replicate ``r`` is the same
trial in both, and the difference between them in replicate ``r`` is the effect of what the files
change, not of luck. The paired difference of a milestone (mean over the replicates where both
scenarios reached it, with a normal 95% interval from the paired standard error) is then far more
precise than the difference of two independent runs, whose unpaired interval is shown beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdild_sim.metrics import milestone_columns
from ctdild_sim.scenario import Scenario
from ctdild_sim.summary import censored_quantiles, done_by, milestone_labels, to_date
from ctdild_sim.supply_summary import stockout_risk

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Difference:
    """Scenario minus reference, paired by replicate."""

    mean: float
    low: float
    high: float
    unpaired_half_width: float
    pairs: int


def paired_difference(reference: pd.Series, other: pd.Series) -> Difference:
    """Mean of ``other - reference`` over replicates where both are known, with 95% intervals."""
    both = reference.notna() & other.notna()
    d = (other[both] - reference[both]).to_numpy(dtype=float)
    n = len(d)
    if n == 0:
        return Difference(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    a, b = reference.dropna().to_numpy(dtype=float), other.dropna().to_numpy(dtype=float)
    unpaired = (
        Z95 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) if len(a) > 1 and len(b) > 1 else math.nan
    )
    return Difference(mean, mean - Z95 * se, mean + Z95 * se, unpaired, n)


def milestone_quantiles(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Long table: scenario, milestone, reached, P10/P50/P90 day and date."""
    rows = []
    for name, frame in metrics.items():
        scenario = scenarios[name]
        labels = milestone_labels(scenario)
        for column in milestone_columns(len(scenario.cohorts)):
            p10, p50, p90 = censored_quantiles(frame[column])
            rows.append({
                "scenario": name, "milestone": column, "label": labels[column],
                "reached": float(frame[column].notna().mean()),
                "p10_day": p10, "p50_day": p50, "p90_day": p90,
                "p10_date": to_date(scenario.start_date, p10), "p50_date": to_date(scenario.start_date, p50),
                "p90_date": to_date(scenario.start_date, p90),
            })  # fmt: skip
    return pd.DataFrame(rows)


def milestone_differences(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Paired differences (days) of each milestone, each scenario against the first one."""
    names = list(metrics)
    reference = names[0]
    ref_frame = metrics[reference].set_index("replicate")
    rows = []
    for name in names[1:]:
        frame = metrics[name].set_index("replicate")
        if not frame.index.equals(ref_frame.index):
            raise ValueError(f"{name} and {reference} were not run on the same replicates")
        scenario = scenarios[name]
        labels = milestone_labels(scenario)
        shared = [c for c in milestone_columns(len(scenario.cohorts)) if c in ref_frame.columns]
        measures = [*shared, "pause_days", "patient_days_waiting_for_product", "vials_expired", "lots_started"]
        for column in measures:
            diff = paired_difference(ref_frame[column], frame[column])
            rows.append(_row(name, reference, column, labels.get(column, column), diff))
        done = _done_by_registered(ref_frame, scenarios[reference]), _done_by_registered(frame, scenario)
        if done[0] is not None and done[1] is not None:
            diff = paired_difference(done[0], done[1])
            rows.append(_row(name, reference, "p_done_by_registered_date", "P(LPLV by registered completion)", diff))
    return pd.DataFrame(rows)


def _row(name: str, reference: str, measure: str, label: str, diff: Difference) -> dict:
    return {
        "scenario": name, "reference": reference, "measure": measure, "label": label,
        "mean_difference": diff.mean, "ci_low": diff.low, "ci_high": diff.high,
        "unpaired_half_width": diff.unpaired_half_width, "pairs": diff.pairs,
    }  # fmt: skip


def _done_by_registered(frame: pd.DataFrame, scenario: Scenario) -> pd.Series | None:
    if scenario.registered_completion_date is None:
        return None
    return done_by(frame, scenario, scenario.registered_completion_date)


def headline(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Per scenario: P(LPLV by the registered date), P(stopped early), P(any wait for product)."""
    rows = []
    for name, frame in metrics.items():
        done = _done_by_registered(frame, scenarios[name])
        rows.append({
            "scenario": name,
            "p_done_by_registered_date": float(done.mean()) if done is not None else math.nan,
            "p_stopped_early": float(frame["stopped_early"].mean()),
            "p_product_wait": stockout_risk(frame),
            "mean_pause_days": float(frame["pause_days"].mean()),
            "median_lplv_day": float(np.nanmedian(frame["lplv_day"])) if frame["lplv_day"].notna().any() else math.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
