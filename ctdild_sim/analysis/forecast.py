"""What a forecast from a trial's records says: pure functions of its tables and of what the engine
made of the records up to the restart (``model.trace.Observed``).

- the milestones: observed (reached before the restart, the same day in every replicate: it is
  in the records) with their actual date, or forecast, with P10/P50/P90 dates as everywhere;
- where the trial stands against the plan made at its start: each milestone reached, and the
  counts so far (referred, screened, enrolled, infused), placed in the distribution of a
  from-start forecast of the same scenario, as a percentile (P38: 38% of planned trials were
  there sooner or with less, counting half of the ties);
- the product from the restart: P(a subject waits), vials still needed, stock on hand at the
  restart that expires unused, and when further lots are ordered.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ctdild_sim.analysis.metrics import COUNTED_BY, counts_by, milestone_columns, progress_days
from ctdild_sim.analysis.summary import QUANTILES, censored_quantiles, milestone_labels, milestone_summary, to_date
from ctdild_sim.analysis.supply_summary import lot_starts, stockout_risk
from ctdild_sim.model.trace import Observed
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import Event
from ctdild_sim.sim.events import EventName as E

COUNT_LABELS = {
    "referred": "Candidates referred",
    "screened": "Candidates screened",
    "enrolled": "Subjects enrolled",
    "infused": "Infusions given",
}


def observed_progress(history: Iterable[Event], start: dt.date, as_of: dt.date) -> pd.DataFrame:
    """The records' cumulative referrals, enrolments and infusions, a row per day something was
    counted (day, date, and each count by the end of that day), from day 0 to the as-of date."""
    days = progress_days(history)
    grid = np.unique(np.concatenate([[0.0], *[np.floor(d) for d in days.values()], [float((as_of - start).days)]]))
    out = pd.DataFrame({"day": grid})
    out["date"] = [start + dt.timedelta(days=int(d)) for d in grid]
    for name, d in days.items():
        out[name] = np.searchsorted(np.sort(np.floor(d)), grid, side="right")
    return out


def observed_milestones(history: Iterable[Event], n_cohorts: int) -> dict[str, float]:
    """The milestones a trial's records reached (the restart's history), by their metrics column.
    A milestone reached may still move (a repeated cohort is enrolled again): the forecast's
    quantiles show where it ends; this is the day the records give."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    enrolled: dict[int, float] = {}
    gates: dict[int, float] = {}
    for ev in history:
        first.setdefault(ev.event, ev.day)
        last[ev.event] = ev.day
        if ev.event == E.COHORT_ENROLLED:
            enrolled[ev.cohort] = ev.day
        elif ev.event == E.GATE_PASSED:
            gates[ev.cohort] = ev.day
    out = {}
    if E.INFUSED in first:
        out["first_infusion_day"] = first[E.INFUSED]
    for k in range(1, n_cohorts + 1):
        if k in enrolled:
            out[f"cohort{k}_enrolled_day"] = enrolled[k]
        if k in gates:
            out[f"cohort{k}_gate_day"] = gates[k]
    if n_cohorts in enrolled:
        out["lpi_day"] = last[E.ENROLLED]
    if n_cohorts in gates:
        out["last_infusion_day"] = last[E.INFUSED]
    if E.TRIAL_COMPLETED in first:
        out["lplv_day"] = first[E.TRIAL_COMPLETED]
    return out


def forecast_milestones(metrics: pd.DataFrame, scenario: Scenario, records: Observed) -> pd.DataFrame:
    """The milestone table (``summary.milestone_summary``) with ``status`` (observed or forecast)
    and the ``observed_date`` of those the records reached."""
    table = milestone_summary(metrics, scenario)
    observed = observed_milestones(records.history, len(scenario.cohorts))
    table["status"] = ["observed" if m in observed else "forecast" for m in table["milestone"]]
    table["observed_date"] = [
        to_date(scenario.start_date, observed[m]) if m in observed else None for m in table["milestone"]
    ]
    return table


def percentile(plan: np.ndarray, actual: float) -> float:
    """Where ``actual`` stands in ``plan`` (NaN = never = later than any value): 100 x (share below
    + half the share equal)."""
    values = np.nan_to_num(np.asarray(plan, dtype=float), nan=np.inf)
    if not len(values):
        return math.nan
    return float(100 * ((values < actual).mean() + 0.5 * (values == actual).mean()))


def plan_vs_actual(
    plan: pd.DataFrame, records: Observed, observed: dict[str, float], scenario: Scenario
) -> pd.DataFrame:
    """Each milestone and each count so far, against a from-start forecast (``plan``: its metrics,
    with the counts ``counts_by`` the restart day). Columns: kind (milestone or count), measure,
    label, actual_day and actual_date (a milestone reached) or actual_count, the plan's P10/P50/P90
    (days or counts, and dates for milestones), the actual's percentile in the plan, and, for a
    milestone not yet reached, the share of planned trials past it by the as-of date."""
    start, restart = scenario.start_date, records.restart_day
    labels = milestone_labels(scenario)
    rows = []
    for column in milestone_columns(len(scenario.cohorts)):
        days = plan[column].to_numpy(dtype=float)
        q = censored_quantiles(days)
        actual = observed.get(column, math.nan)
        reached = math.nan if column in observed else float(np.mean(np.nan_to_num(days, nan=np.inf) < restart))
        rows.append(
            {
                "kind": "milestone",
                "measure": column,
                "label": labels[column],
                "actual_day": actual,
                "actual_date": to_date(start, actual),
                "actual_count": math.nan,
                "plan_p10": q[0],
                "plan_p50": q[1],
                "plan_p90": q[2],
                **{f"plan_p{p}_date": to_date(start, v) for p, v in zip((10, 50, 90), q, strict=True)},
                "percentile": percentile(days, actual) if column in observed else math.nan,
                "plan_p_reached_by_as_of": reached,
            }
        )
    actual_counts = counts_by(records.history, restart)
    for name in COUNTED_BY:
        column = f"{name}_by_day"
        values = plan[column].to_numpy(dtype=float)
        q = [float(np.quantile(values, x, method="inverted_cdf")) for x in QUANTILES]
        rows.append(
            {
                "kind": "count",
                "measure": name,
                "label": COUNT_LABELS[name],
                "actual_day": math.nan,
                "actual_date": None,
                "actual_count": float(actual_counts[column]),
                "plan_p10": q[0],
                "plan_p50": q[1],
                "plan_p90": q[2],
                "plan_p10_date": None,
                "plan_p50_date": None,
                "plan_p90_date": None,
                "percentile": percentile(values, actual_counts[column]),
                "plan_p_reached_by_as_of": math.nan,
            }
        )
    return pd.DataFrame(rows)


def forecast_supply(metrics: pd.DataFrame, lots: pd.DataFrame, records: Observed) -> dict[str, float]:
    """Product figures from the restart: P(a subject waits), vials still to be thawed (P50/P90),
    vials of the stock at the restart that expire unused (mean, P50/P90)."""
    known = {lot.lot_id: lot for lot in records.lots}
    used_before = sum(lot.used + lot.wasted for lot in known.values())
    thawed = (metrics["vials_used"] + metrics["vials_wasted"] - used_before).clip(lower=0)
    expiring = pd.Series(0.0, index=metrics["replicate"])
    if len(lots):
        at_restart = lots[lots["lot_id"].isin(list(known)) | lots["initial_stock"]].copy()
        before = at_restart["lot_id"].map(lambda i: known[i].expired if i in known else 0)
        at_restart["later"] = at_restart["vials_expired"] - before.fillna(0)
        expiring = expiring.add(at_restart.groupby("replicate")["later"].sum(), fill_value=0.0)

    def q(series: pd.Series, x: float) -> float:
        return float(np.quantile(series.to_numpy(dtype=float), x, method="inverted_cdf")) if len(series) else math.nan

    return {
        "replicates": float(len(metrics)),
        "p_wait_for_product": stockout_risk(metrics),
        "vials_needed_p50": q(thawed, 0.5),
        "vials_needed_p90": q(thawed, 0.9),
        "stock_expiring_unused_mean": float(expiring.mean()),
        "stock_expiring_unused_p50": q(expiring, 0.5),
        "stock_expiring_unused_p90": q(expiring, 0.9),
    }


def lots_after(lots: pd.DataFrame, replicates: int, start: dt.date, restart_day: float) -> pd.DataFrame:
    """When the k-th lot ordered after the restart is ordered (``supply_summary.lot_starts``)."""
    if not len(lots):
        return lot_starts(lots, replicates, start)
    return lot_starts(lots[lots["ordered_day"] >= restart_day], replicates, start)


def stock_on_hand(records: Observed, start: dt.date, as_of: dt.date) -> pd.DataFrame:
    """Each lot the records know at the as-of date: where it is (ordered, in manufacturing, in QC,
    released, used up, expired or failed), its vials and what became of them, the vials on hand
    and when they expire. Empty when the records have no lots (the scenario's stock is assumed)."""
    today = float((as_of - start).days)
    rows = []
    for lot in records.lots if records.lots_recorded else ():
        if not math.isnan(lot.failed_day):
            where = "failed QC"
        elif not math.isnan(lot.released_day):
            expired = not math.isnan(lot.expiry_day) and lot.expiry_day <= today
            where = "expired" if expired else ("used up" if lot.free == 0 else "released")
        elif not math.isnan(lot.filled_day):
            where = "in QC"
        elif not math.isnan(lot.started_day):
            where = "in manufacturing"
        else:
            where = "ordered"
        on_hand = lot.free if where == "released" else 0
        rows.append(
            {
                "lot_id": lot.lot_id,
                "status": where,
                "vials": lot.vials,
                "used": lot.used,
                "wasted": lot.wasted,
                "expired": lot.expired,
                "on_hand": on_hand,
                "released_date": to_date(start, lot.released_day),
                "expiry_date": to_date(start, lot.expiry_day),
                "days_to_expiry": lot.expiry_day - today if on_hand else math.nan,
            }
        )
    columns = [
        "lot_id",
        "status",
        "vials",
        "used",
        "wasted",
        "expired",
        "on_hand",
        "released_date",
        "expiry_date",
        "days_to_expiry",
    ]
    return pd.DataFrame(rows, columns=columns)
