"""What each page shows for a set of runs: figures and tables, built by the library and ``figures``.

A ``View`` is plain data (plotly figures and DataFrames), so the page and its HTML export are
made from the same thing, and the views can be tested without a browser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from ctdild_sim.analysis.compare import headline, milestone_differences, milestone_quantiles
from ctdild_sim.analysis.summary import (
    milestone_summary,
    overview,
    phase_durations,
    probability_done_by,
    run_warnings,
    screen_failure_summary,
    typical_replicates,
)
from ctdild_sim.analysis.supply_summary import active_periods, lot_starts, supply_overview
from ctdild_sim.reports.figures import earliest_registered_completion, lplv_ecdf_figure
from ctdild_sim.scenario.parameters import scenario_parameters
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.lot_plan import LotPlan
from dashboard import figures
from dashboard.data import Run, comparable


@dataclass
class View:
    """One page's content: notes (plain sentences), figures and tables, in display order."""

    title: str
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)


def _names(runs: list[Run]) -> dict[str, Run]:
    """Display names: the scenario name, with the run id when two runs share it."""
    names = [r.scenario.name for r in runs]
    return {(r.scenario.name if names.count(r.scenario.name) == 1 else r.label): r for r in runs}


def _warnings(named: dict[str, Run]) -> list[str]:
    """Each run's warnings (nobody enrolled, nothing completed, ...), for a view's first notes."""
    return [f"Warning: {name}: {w}" for name, run in named.items() for w in run_warnings(run.tables["metrics"])]


def _kept_replicates(run: Run) -> list[int]:
    """Replicates whose full records (events, patients) the run kept."""
    return sorted(int(r) for r in run.tables["events"]["replicate"].unique())


def typical_options(run: Run) -> list[dict]:
    """The Gantt chart's picker of typical replicates (P10/P50/P90 of LPLV, stopped early with its
    reason), among the replicates the run kept."""
    kept = _kept_replicates(run)
    events = run.tables["events"]
    out = []
    for what, replicate in typical_replicates(run.tables["metrics"], kept):
        if what == "stopped early":
            reason = events[(events["replicate"] == replicate) & (events["event"] == "trial_stopped")]["detail"]
            what = f"stopped early ({reason.iloc[0]})" if len(reason) else what
        out.append({"label": f"{what}: replicate {replicate}", "value": replicate})
    return out


def timeline_view(runs: list[Run], replicate: int | None = None) -> View:
    view = View("Timeline")
    named = _names(runs)
    view.notes += _warnings(named)
    fans, kept_by_name = {}, {}
    for name, run in named.items():
        kept = kept_by_name[name] = _kept_replicates(run)
        if kept:
            fans[name] = (figures.enrolment_quantiles(run.tables["patients"], kept), run.scenario)
            view.notes.append(f"{name}: enrolment fan from the {len(kept)} replicates with full records "
                              f"(of {run.replicates}).")  # fmt: skip
        else:
            view.notes.append(f"{name}: no replicate kept its full records (the run used --keep-events 0), "
                              "so there is no enrolment fan or Gantt chart for it.")  # fmt: skip
        registered = run.scenario.registered_completion_date
        if registered is not None:
            p = probability_done_by(run.tables["metrics"], run.scenario, registered)
            view.notes.append(f"{name}: P(last patient last visit by the registered completion date {registered}) "
                              f"= {p:.1%} over {run.replicates} replicates.")  # fmt: skip
    if fans:
        view.figures.append(("enrolment", figures.enrolment_fan_figure(fans)))
    view.figures.append(("lplv", lplv_ecdf_figure({n: r.tables["metrics"] for n, r in named.items()},
                                                  {n: r.scenario for n, r in named.items()})))  # fmt: skip
    registered = earliest_registered_completion(r.scenario for r in runs)
    dates = {n: figures.milestone_dates(r.tables["metrics"], r.scenario) for n, r in named.items()}
    view.figures.append(("milestones", figures.milestone_box_figure(dates, registered)))
    shown = next(((n, r) for n, r in named.items() if n in fans), None)
    if shown is not None:
        first_name, first = shown
        kept = kept_by_name[first_name]
        chosen = int(replicate) if replicate in kept else kept[0]
        events, screenings = first.tables["events"], first.tables["screenings"]
        segments = figures.gantt_segments(events, screenings, chosen)
        view.figures.append(("gantt", figures.gantt_figure(segments, figures.pauses(events, chosen),
                                                           first.scenario, chosen)))  # fmt: skip
        view.notes.append(f"Gantt chart: {first_name}, replicate {chosen} (replicates 0 to {kept[-1]} are kept).")
    for name, run in named.items():
        view.tables.append((f"{name}: milestones", milestone_summary(run.tables["metrics"], run.scenario)))
        view.tables.append((f"{name}: where time goes", phase_durations(run.tables["metrics"], run.scenario)))
    return view


def product_view(runs: list[Run]) -> View:
    view = View("Cell product")
    named = {n: r for n, r in _names(runs).items() if r.scenario.product is not None}
    view.notes += _warnings(named)
    if not named:
        view.notes.append("None of these runs has a product section: supply was not simulated.")
        return view
    demand, stock = {}, {}
    for name, run in named.items():
        weekly = run.tables["demand_weekly"]
        demand[name] = weekly
        releases = figures.lot_release_rate(run.tables["lots"], run.replicates, run.scenario.start_date)
        stock[name] = (weekly, releases)
        o = supply_overview(run.tables["metrics"])
        view.notes.append(
            f"{name}: P(a subject waits for product) {o['p_stockout']:.1%} (± {1.96 * o['p_stockout_se']:.1%}); "
            f"vials used {o['mean_vials_used']:.1f}, expired {o['mean_vials_expired']:.1f}, "
            f"wasted at thaw {o['mean_vials_wasted']:.1f} per replicate; lots started P50 "
            f"{o['lots_started_p50']:.0f}, P90 {o['lots_started_p90']:.0f}."
        )
        view.tables.append((f"{name}: lot plan (when the k-th lot is ordered)",
                            lot_starts(run.tables["lots"], run.replicates, run.scenario.start_date)))  # fmt: skip
        view.tables.append((f"{name}: weekly demand", active_periods(weekly)))
        view.tables.append((f"{name}: supply overview", pd.DataFrame([o])))
    view.figures.append(("demand", figures.demand_figure(demand)))
    cells = {n: (demand[n], r.scenario.product.vial_cells) for n, r in named.items()}
    view.figures.append(("cells", figures.cells_figure(cells)))
    view.figures.append(("stock", figures.stock_figure(stock)))
    return view


def cohorts_view(runs: list[Run]) -> View:
    view = View("Cohorts")
    view.notes += _warnings(_names(runs))
    for name, run in _names(runs).items():
        m = run.tables["metrics"]
        view.figures.append((f"cohorts-{name}", figures.cohort_completion_figure(m, run.scenario, name)))
        o = overview(m)
        view.notes.append(
            f"{name}: P(stopped early) {o['p_stopped_early']:.1%}; {o['mean_triggering_ae']:.2f} triggering AEs, "
            f"{o['mean_pauses']:.2f} safety pauses and {o['mean_pause_days']:.0f} paused days per replicate; "
            f"{m['n_cohort_repeats'].mean():.2f} cohort repeats."
        )
        gates = milestone_summary(m, run.scenario).set_index("milestone")
        rows = []
        for k, cohort in enumerate(run.scenario.cohorts, start=1):
            gate = gates.loc[f"cohort{k}_gate_day"]  # quantiles as everywhere: never passed counts as never
            rows.append({"cohort": k, "name": cohort.name, "size": cohort.size, "infusions": cohort.infusions,
                         "p_gate_passed": gate["reached"], "p10_gate_date": gate["p10_date"],
                         "p50_gate_date": gate["p50_date"], "p90_gate_date": gate["p90_date"]})  # fmt: skip
        view.tables.append((f"{name}: cohorts", pd.DataFrame(rows)))
    return view


def screening_view(runs: list[Run]) -> View:
    view = View("Screening")
    view.notes += _warnings(_names(runs))
    failures = {}
    for name, run in _names(runs).items():
        table = screen_failure_summary(run.tables["metrics"])
        failures[name] = table
        view.tables.append((f"{name}: screen failures by criterion", table))
        o = overview(run.tables["metrics"])
        view.notes.append(f"{name}: {o['mean_referred']:.1f} referred and {o['mean_enrolled']:.1f} enrolled per "
                          f"replicate; {o['screen_failure_rate']:.1%} of screened candidates fail.")  # fmt: skip
    view.figures.append(("screen-failures", figures.screen_failure_figure(failures)))
    return view


def compare_view(runs: list[Run]) -> View:
    view = View("Compare")
    problem = comparable(runs)
    if problem:
        view.notes.append(problem)
        return view
    named = _names(runs)
    view.notes += _warnings(named)
    metrics = {n: r.tables["metrics"] for n, r in named.items()}
    scenarios = {n: r.scenario for n, r in named.items()}
    differences = milestone_differences(metrics, scenarios, runs[0].seed)
    reference = next(iter(named))
    view.notes.append(f"Differences are each scenario minus {reference}, paired replicate by replicate "
                      f"(common random numbers, seed {runs[0].seed}, {runs[0].replicates} replicates).")  # fmt: skip
    view.notes.append("Milestones are compared by their P50 over all replicates (a trial that never reaches a "
                      "milestone counts as later than any date), with 95% bootstrap intervals; "
                      "pairs_both_reached says in how many pairs both scenarios reached it.")  # fmt: skip
    for row in headline(metrics, scenarios).itertuples():
        p50 = row.lplv_p50_date.isoformat() if row.lplv_p50_date is not None else "not reached"
        view.notes.append(f"{row.scenario}: last patient last visit P50 {p50}; P(by the registered date) "
                          f"{row.p_done_by_registered_date:.1%}; reached in {row.p_lplv_reached:.1%} of "
                          f"{row.replicates} replicates.")  # fmt: skip
    view.figures.append(("compare-lplv", lplv_ecdf_figure(metrics, scenarios)))
    view.figures.append(("compare-differences", figures.differences_figure(differences)))
    view.tables.append(("Headline", headline(metrics, scenarios)))
    view.tables.append(("Paired differences", differences))
    view.tables.append(("Milestones P10/P50/P90", milestone_quantiles(metrics, scenarios)))
    return view


FORECAST_TABLES = ("progress_weekly", "plan_progress_weekly", "observed_progress", "milestones", "plan_vs_actual")


def forecast_view(runs: list[Run]) -> View:
    """A stored forecast (``ctdild-sim forecast`` or this page's Forecast button): the records and
    the forecast after them against the plan, the milestones, what was learned, the product."""
    view = View("Forecast")
    forecasts = [r for r in runs if r.manifest.get("kind") == "forecast"]
    if not forecasts:
        view.notes.append("Pick a forecast run above, or make one here: choose the scenario file, the trial's "
                          "records and the as-of date, then Forecast.")  # fmt: skip
        return view
    if len(forecasts) < len(runs):
        view.notes.append(f"{len(runs) - len(forecasts)} of the picked runs are not forecasts; not shown here.")
    for name, run in _names(forecasts).items():
        _forecast_parts(view, name, run)
    return view


def _forecast_parts(view: View, name: str, run: Run) -> None:
    scenario, manifest, tables = run.scenario, run.manifest, run.tables
    missing = [t for t in FORECAST_TABLES if t not in tables]
    if missing:
        view.notes.append(f"{name}: this forecast was stored by an earlier version, without {', '.join(missing)}; "
                          "make it again to see it here.")  # fmt: skip
        return
    as_of = dt.date.fromisoformat(manifest["as_of"])
    learned = "assumptions learned from the records" if manifest.get("learning") else "the scenario's assumptions"
    folder = Path(str(manifest.get("actuals_folder", "?"))).name
    view.notes.append(f"{name}: forecast as of {as_of} from the records {folder}, with {learned}; "
                      f"{run.replicates} replicates, seed {run.seed}.")  # fmt: skip
    view.notes += [f"Warning: {name}: {w}" for w in manifest.get("warnings", [])]
    view.notes += [f"Warning: {name}: {w}" for w in run_warnings(tables["metrics"])]
    milestones = tables["milestones"]
    lplv = milestones.set_index("milestone").loc["lplv_day"]
    if lplv["status"] == "observed":
        view.notes.append(f"{name}: the last patient's last visit is in the records: {lplv['observed_date']}.")
    else:
        p50 = lplv["p50_date"] if isinstance(lplv["p50_date"], dt.date) else "never (over half the replicates)"
        view.notes.append(f"{name}: last patient last visit P50 {p50}, P10 {lplv['p10_date']}, P90 "
                          f"{lplv['p90_date'] if isinstance(lplv['p90_date'], dt.date) else 'never'}; reached in "
                          f"{lplv['reached']:.1%} of replicates.")  # fmt: skip
    registered = scenario.registered_completion_date
    if registered is not None:
        p = probability_done_by(tables["metrics"], scenario, registered)
        view.notes.append(f"{name}: P(last patient last visit by the registered completion date {registered}) "
                          f"= {p:.1%}.")  # fmt: skip
    restart = float(manifest.get("restart_day", scenario.day_of(as_of) + 1))
    progress = figures.progress_figure(tables["observed_progress"], tables["progress_weekly"],
                                       tables["plan_progress_weekly"], as_of, restart)  # fmt: skip
    view.figures.append((f"progress-{name}", progress))
    horizon = scenario.start_date + dt.timedelta(days=scenario.horizon_days)
    view.figures.append((f"forecast-milestones-{name}",
                         figures.forecast_milestone_figure(milestones, as_of, registered, horizon)))  # fmt: skip
    view.tables.append((f"{name}: milestones (observed or forecast)", milestones))
    view.tables.append((f"{name}: where the trial stands against the plan made at its start",
                        tables["plan_vs_actual"]))  # fmt: skip
    if "assumptions" in tables:
        view.tables.append((f"{name}: assumptions, prior against posterior (mean and 90% interval)",
                            tables["assumptions"]))  # fmt: skip
    if "forecast_supply" in tables:
        s = tables["forecast_supply"].iloc[0]
        view.notes.append(
            f"{name}: product from {as_of}: P(a subject waits for product) {s['p_wait_for_product']:.1%}; vials still "
            f"to be thawed P50 {s['vials_needed_p50']:.0f}, P90 {s['vials_needed_p90']:.0f}; of the stock on hand, "
            f"{s['stock_expiring_unused_mean']:.1f} vials expire unused on average (P90 "
            f"{s['stock_expiring_unused_p90']:.0f})."
        )
        if "stock_on_hand" in tables:
            view.tables.append((f"{name}: stock on {as_of}, lot by lot", tables["stock_on_hand"]))
        view.tables.append((f"{name}: lots still to start (the k-th lot ordered after {as_of})",
                            tables["lots_to_start"]))  # fmt: skip
        view.tables.append((f"{name}: product from {as_of}", tables["forecast_supply"]))


def lot_plan_view(plan: LotPlan, name: str, seed: int) -> View:
    """The reorder policy the lot planner found for one scenario, headlined by its figures on fresh
    seeds, and every evaluation it made (each labelled with the seeds it was simulated on)."""
    view = View(f"Lot plan: {name}")
    best, fresh = plan.best, plan.fresh
    if best is None or fresh is None:
        view.notes.append(f"{name}: no reorder point up to the search's limit keeps P(a subject waits for product) "
                          f"under {plan.target:.1%} with 95% confidence.")  # fmt: skip
    else:
        low, high = fresh.interval
        verdict = "within" if fresh.risk <= plan.target else "ABOVE"
        view.notes.append(
            f"{name}: reorder point {fresh.point} vials looking {fresh.lookahead_days:.0f} days ahead. On "
            f"{fresh.replicates} fresh replicates (seed {plan.fresh_seed}, unseen by the search): P(a subject waits "
            f"for product) {fresh.risk:.1%} (95% interval {low:.1%} to {high:.1%}), {verdict} the target of "
            f"{plan.target:.1%}; {fresh.mean_lots_started:.1f} lots started and {fresh.mean_vials_expired:.1f} "
            "vials expired per replicate on average."
        )
        view.notes.append(
            f"Search seeds {seed}; on the validation seeds that confirmed the plan: {best.risk:.1%} "
            f"(upper bound {best.upper:.1%}). Figures on the seeds that picked a plan flatter it; quote the fresh ones."
        )
    view.tables.append((f"{name}: lot plan search", plan.search_table()))
    return view


def scenario_view(scenario: Scenario, source: str) -> View:
    view = View("Scenario")
    view.notes.append(f"{source}: {scenario.name}, {len(scenario.cohorts)} cohorts, "
                      f"{scenario.target_enrolment} subjects by design.")  # fmt: skip
    view.tables.append((f"{scenario.name}: parameters", scenario_parameters(scenario)))
    return view


PAGES = {
    "timeline": timeline_view,
    "product": product_view,
    "cohorts": cohorts_view,
    "screening": screening_view,
    "compare": compare_view,
    "forecast": forecast_view,
}
