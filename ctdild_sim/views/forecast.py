"""A forecast of a trial under way (``ctdild-sim forecast``, the Forecast page), from its stored
tables: the milestones observed or still to come, the chance of the dates that matter, the
records and the forecast after them against the plan, what was learned, and the product."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from ctdild_sim.actuals.sources import source_name
from ctdild_sim.analysis.summary import probability_done_by, run_warnings
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.studies.lot_plan import FRESH_SEED_OFFSET
from ctdild_sim.views.columns import fmt_date, fmt_probability, fmt_share
from ctdild_sim.views.figures import forecast_milestone_figure, progress_figure
from ctdild_sim.views.lot_plan import currency_of, lot_plan_parts, savings_of
from ctdild_sim.views.view import View, kind_view

FORECAST_TABLES = ("progress_weekly", "plan_progress_weekly", "observed_progress", "milestones", "plan_vs_actual")
"""The tables a forecast holds besides a run's (a forecast stored by an early version lacks some)."""


def forecast_view(runs: list[RunRecord], targets: Sequence[dt.date] = ()) -> View:
    """Each forecast among ``runs`` (the others are named as not shown), with the chance of the
    dates it was asked about and of ``targets``."""
    view, named = kind_view(  # each name says "forecast as of" its date
        runs,
        "forecast",
        "forecasts",
        "Forecast",
        "Pick a forecast run above, or make one here: choose the scenario file, the trial's "
        "records and the as-of date, then Forecast.",
    )
    for name, run in named.items():
        _forecast_parts(view, name, run, targets)
    return view


def _forecast_parts(view: View, name: str, run: RunRecord, targets: Sequence[dt.date]) -> None:
    scenario, manifest, tables = run.scenario, run.manifest, run.tables
    missing = [t for t in FORECAST_TABLES if t not in tables]
    if missing:
        view.notes.append(
            f"{name}: this forecast was stored by an earlier version, without {', '.join(missing)}; "
            "make it again to see it here."
        )
        return
    as_of = dt.date.fromisoformat(manifest["as_of"])
    view.notes += [f"Warning: {name}: {w}" for w in manifest.get("warnings", [])]
    view.notes += [f"Warning: {name}: {w}" for w in run_warnings(tables["metrics"])]
    learned = "assumptions learned from the records" if manifest.get("learning") else "the scenario's assumptions"
    folder = source_name(str(manifest.get("actuals_folder", "?")))
    if manifest.get("records_cut"):
        folder += f" as they stood on {manifest['as_of']} (later rows left out)"
    view.notes.append(
        f"{name}: from the records {folder}, with {learned}; {run.replicates} replicates, seed {run.seed}."
    )
    model = manifest.get("enrolment_model")
    if model:
        view.notes.append(
            f"{name}: enrolment model {model} ({manifest.get('enrolment_parameters', '')}), "
            f"because: {manifest.get('enrolment_reason', '')}."
        )
    _answers(view, name, run, targets)
    milestones = tables["milestones"]
    restart = float(manifest.get("restart_day", scenario.day_of(as_of) + 1))
    progress = (tables["observed_progress"], tables["progress_weekly"], tables["plan_progress_weekly"])
    view.figure(f"progress-{name}", progress_figure, *progress, as_of, restart)
    horizon = scenario.start_date + dt.timedelta(days=scenario.horizon_days)
    registered = scenario.registered_completion_date
    view.figure(f"forecast-milestones-{name}", forecast_milestone_figure, milestones, as_of, registered, horizon)
    view.table(f"{name}: milestones (observed or forecast)", milestones)
    if "assumptions" in tables:
        view.table(f"{name}: assumptions, prior against posterior (mean and 90% interval)", tables["assumptions"])
    view.table(f"{name}: where the trial stands against the plan made at its start", tables["plan_vs_actual"])
    if "forecast_supply" in tables:
        _product_parts(view, name, run, as_of)


def target_dates(manifest: dict) -> list[dt.date]:
    """The dates a stored forecast was asked the chance of (one, as ``target_date``, before it
    could be asked several)."""
    asked = manifest.get("target_dates") or ([manifest["target_date"]] if manifest.get("target_date") else [])
    return [dt.date.fromisoformat(str(d)) for d in asked]


def _answers(view: View, name: str, run: RunRecord, targets: Sequence[dt.date]) -> None:
    """When the last patient's last visit comes, and the chance of the registered date and of each
    target date, with its Monte Carlo error."""
    scenario, metrics = run.scenario, run.tables["metrics"]
    lplv = run.tables["milestones"].set_index("milestone").loc["lplv_day"]
    question = f"{name}: when is the last patient's last visit?"
    if lplv["status"] == "observed":
        view.answer(question, f"in the records: {fmt_date(lplv['observed_date'])}")
    else:
        p50 = fmt_date(lplv["p50_date"]) or "never (over half the replicates)"
        band = " to ".join(fmt_date(lplv[c]) or "never" for c in ("p10_date", "p90_date"))
        view.answer(question, f"P50 {p50} (P10 to P90: {band}); reached in {fmt_share(lplv['reached'])} of replicates")
    dates = [("the registered completion date ", scenario.registered_completion_date)]
    dates += [("", d) for d in sorted(set(target_dates(run.manifest)) | set(targets))]
    as_of = dt.date.fromisoformat(run.manifest["as_of"])
    for what, date in dates:
        if date is None:
            continue
        p = probability_done_by(metrics, scenario, date)
        answer = fmt_probability(p, run.replicates)
        if lplv["status"] == "observed":
            met = lplv["observed_date"] is not None and pd.Timestamp(lplv["observed_date"]).date() <= date
            answer = f"{'met' if met else 'missed'}: the records date it {fmt_date(lplv['observed_date'])}"
        elif date < as_of:
            answer = f"missed: the date passed on {date}, before last patient last visit"
        view.answer(f"{name}: P(last patient last visit by {what}{date})", answer)


def _product_parts(view: View, name: str, run: RunRecord, as_of: dt.date) -> None:
    """The product still needed from the as-of date, the stock on hand, the lots still to start."""
    tables, manifest = run.tables, run.manifest
    s = tables["forecast_supply"].iloc[0]
    view.answer(
        f"{name}: P(a subject waits for product) from {as_of}, under the scenario's stock policy",
        fmt_probability(s["p_wait_for_product"], run.replicates),
    )
    view.notes.append(
        f"{name}: product from {as_of}: vials still to be thawed P50 {s['vials_needed_p50']:.0f}, P90 "
        f"{s['vials_needed_p90']:.0f}; of the stock on hand, {s['stock_expiring_unused_mean']:.1f} vials expire "
        f"unused on average (P90 {s['stock_expiring_unused_p90']:.0f})."
    )
    search = tables.get("lot_plan_search")
    planned = search is not None and (search["seeds"] == "fresh").any()
    if search is not None:
        target = manifest.get("target_stockout")
        fresh_seed = manifest.get("lot_plan_fresh_seed", run.seed + FRESH_SEED_OFFSET)
        savings = savings_of(tables.get("lot_plan_metrics"), tables.get("lot_plan_baseline"), run.scenario)
        target = None if target is None else float(target)
        lot_plan_parts(view, name, search, target, fresh_seed, savings, currency_of(run.scenario))
    if "stock_on_hand" in tables:
        view.table(f"{name}: stock on {as_of}, lot by lot", tables["stock_on_hand"])
    source = "under the lot plan, on its fresh seeds" if planned else "under the scenario's stock policy"
    view.table(
        f"{name}: lots still to start ({source}): when the k-th lot is ordered after {as_of}", tables["lots_to_start"]
    )
    view.table(f"{name}: product from {as_of}", tables["forecast_supply"])
