"""Summaries across replicates: milestone quantiles, completion probability, screen failures, safety.

A milestone a replicate never reached (stopped trial, horizon) counts as +infinity, so a quantile
is "not reached" when more than that share of replicates never got there; quantiles are the
empirical inverse CDF (an observed value, never an interpolation across "never").
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from ctdild_sim.analysis.metrics import milestone_columns, screen_failure_column
from ctdild_sim.model.eligibility import CRITERIA, criteria
from ctdild_sim.scenario.eligibility import Eligibility
from ctdild_sim.scenario.trial import Scenario

QUANTILES = (0.1, 0.5, 0.9)


def censored_quantiles(days: pd.Series | np.ndarray, qs: tuple[float, ...] = QUANTILES) -> list[float]:
    """Empirical quantiles with never-reached (NaN) values taken as +inf."""
    values = np.asarray(days, dtype=float)
    values = np.where(np.isnan(values), np.inf, values)
    return [float(np.quantile(values, q, method="inverted_cdf")) for q in qs]


def milestone_labels(scenario: Scenario) -> dict[str, str]:
    labels = {"first_infusion_day": "First infusion"}
    last = len(scenario.cohorts)
    for k, cohort in enumerate(scenario.cohorts, start=1):
        labels[f"cohort{k}_enrolled_day"] = f"Cohort {k} ({cohort.name}) enrolled"
        labels[f"cohort{k}_gate_day"] = f"Cohort {k} gate passed" if k < last else f"Cohort {k} hold complete"
    labels.update(
        {
            "lpi_day": "Last patient in",
            "last_infusion_day": "Last infusion",
            "lplv_day": "Last patient last visit",
        }
    )
    return labels


def to_date(start: dt.date, day: float) -> dt.date | None:
    return None if not math.isfinite(day) else start + dt.timedelta(days=math.floor(day))


def milestone_summary(metrics: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One row per milestone: share of replicates reaching it, P10/P50/P90 day and date."""
    rows = []
    labels = milestone_labels(scenario)
    for column in milestone_columns(len(scenario.cohorts)):
        values = metrics[column]
        p10, p50, p90 = censored_quantiles(values)
        rows.append(
            {
                "milestone": column,
                "label": labels[column],
                "reached": float(values.notna().mean()),
                "p10_day": p10,
                "p50_day": p50,
                "p90_day": p90,
                "p10_date": to_date(scenario.start_date, p10),
                "p50_date": to_date(scenario.start_date, p50),
                "p90_date": to_date(scenario.start_date, p90),
            }
        )
    return pd.DataFrame(rows)


def done_by(metrics: pd.DataFrame, scenario: Scenario, date: dt.date) -> pd.Series:
    """Per replicate, 1.0 if the last patient's last visit falls on or before ``date``, else 0.0."""
    deadline = scenario.day_of(date) + 1  # any time during that day
    return (metrics["lplv_day"] < deadline).astype(float)


def probability_done_by(metrics: pd.DataFrame, scenario: Scenario, date: dt.date) -> float:
    """Share of replicates whose last patient last visit falls on or before ``date``."""
    return float(done_by(metrics, scenario, date).mean())


def screen_failure_summary(metrics: pd.DataFrame, rules: Eligibility | None = None) -> pd.DataFrame:
    """Per criterion: candidates it screened out, per replicate and as a share of those screened
    (``rules``: the scenario's thresholds, for the criteria's texts; the listing's by default)."""
    screened = metrics["n_screened"].sum()
    rows = []
    for rule in criteria(rules) if rules is not None else CRITERIA:
        failed = metrics[screen_failure_column(rule.name)]
        rows.append(
            {
                "criterion": rule.name,
                "kind": rule.kind,
                "text": rule.text,
                "mean_per_replicate": float(failed.mean()),
                "share_of_screened": float(failed.sum() / screened) if screened else math.nan,
            }
        )
    return pd.DataFrame(rows).sort_values("share_of_screened", ascending=False, ignore_index=True)


def overview(metrics: pd.DataFrame) -> dict[str, float]:
    """Headline figures across replicates."""
    screened = metrics["n_screened"].sum()
    return {
        "replicates": float(len(metrics)),
        "screen_failure_rate": float(metrics["n_screen_failed"].sum() / screened) if screened else math.nan,
        "mean_referred": float(metrics["n_referred"].mean()),
        "mean_enrolled": float(metrics["n_enrolled"].mean()),
        "mean_triggering_ae": float(metrics["n_triggering_ae"].mean()),
        "mean_pauses": float(metrics["n_pauses"].mean()),
        "p_any_pause": float((metrics["n_pauses"] > 0).mean()),
        "mean_pause_days": float(metrics["pause_days"].mean()),
        "p_stopped_early": float(metrics["stopped_early"].mean()),
        "p_horizon": float((metrics["outcome"] == "horizon").mean()),
        "mean_deaths": float(metrics["n_died"].mean()),
        "mean_withdrawals": float(metrics["n_withdrawn"].mean()),
        "mean_slot_wait_days": float(metrics["slot_wait_days"].mean()),
        "mean_bed_wait_days": float(metrics["bed_wait_days"].mean()),
    }


def phase_durations(metrics: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Where the time goes: P10/P50/P90 days of each phase, over the replicates that finished it.

    Cohort k recruits from its opening (the previous gate, or study start) until it is fully
    enrolled, then doses and holds until its gate; follow-up runs from the last gate to LPLV.
    """
    phases: list[tuple[str, pd.Series]] = []
    opened = pd.Series(0.0, index=metrics.index)
    for k in range(1, len(scenario.cohorts) + 1):
        enrolled, gate = metrics[f"cohort{k}_enrolled_day"], metrics[f"cohort{k}_gate_day"]
        phases.append((f"Cohort {k}: recruiting (opened to fully enrolled)", enrolled - opened))
        phases.append((f"Cohort {k}: dosing and hold (enrolled to gate)", gate - enrolled))
        opened = gate
    phases.append(("Follow-up after the last gate", metrics["lplv_day"] - opened))
    phases.append(("Safety pauses (all, whether or not on the critical path)", metrics["pause_days"]))
    rows = []
    for name, days in phases:
        done = days.dropna()
        p10, p50, p90 = (np.quantile(done, q, method="inverted_cdf") if len(done) else math.nan for q in QUANTILES)
        rows.append({"phase": name, "replicates": len(done), "p10_days": p10, "p50_days": p50, "p90_days": p90})
    return pd.DataFrame(rows)


def run_warnings(metrics: pd.DataFrame) -> list[str]:
    """Sentences for the first lines of a report when a run's figures would otherwise mislead:
    nobody referred, every screened candidate failing, nobody enrolled, nothing completed."""
    n = len(metrics)
    out = []
    screened = int(metrics["n_screened"].sum())
    if int(metrics["n_referred"].sum()) == 0:
        out.append(
            f"No candidate was referred in any of the {n:,} replicates: check the sites (activation, "
            "referral rate, never_enrols_probability)."
        )
    elif screened and int(metrics["n_screen_failed"].sum()) == screened:
        top = screen_failure_summary(metrics).iloc[0]
        out.append(
            f"Every one of the {screened:,} candidates screened in {n:,} replicates failed screening, so "
            f"nobody can be enrolled: check the population (most failed {top.criterion}: "
            f"{top.text})."
        )
    if int(metrics["n_enrolled"].sum()) == 0:
        out.append(f"No subject was enrolled in any of the {n:,} replicates: every milestone is 'not reached'.")
    elif metrics["lplv_day"].isna().all():
        stopped = int(metrics["stopped_early"].sum())
        out.append(
            f"No replicate reached last patient last visit ({stopped:,} of {n:,} stopped early, the rest ran "
            "past the horizon): the trial never completes under this scenario."
        )
    return out


def typical_replicates(metrics: pd.DataFrame, kept: list[int]) -> list[tuple[str, int]]:
    """Replicates to look at, among ``kept`` (those with full records): the ones nearest the P10,
    P50 and P90 of last patient last visit over all replicates (never counting as later than any
    date), and the first that stopped early. Each as (what it is, replicate)."""
    frame = metrics[metrics["replicate"].isin(kept)]
    if frame.empty:
        return []
    out = []
    lplv = censored_quantiles(metrics["lplv_day"], (0.1, 0.5, 0.9))
    days = frame["lplv_day"].fillna(math.inf).to_numpy(dtype=float)
    for q, target in zip((10, 50, 90), lplv, strict=True):
        if math.isinf(target):
            never = frame[frame["lplv_day"].isna()]
            if len(never):
                out.append((f"P{q} of last patient last visit: never reached", int(never["replicate"].iloc[0])))
            continue
        nearest = int(np.where(np.isfinite(days), np.abs(days - target), math.inf).argmin())
        out.append((f"P{q} of last patient last visit (day {target:.0f})", int(frame["replicate"].iloc[nearest])))
    stopped = frame[frame["stopped_early"]]
    if len(stopped):
        out.append(("stopped early", int(stopped["replicate"].iloc[0])))
    return out
