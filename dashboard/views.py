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

from ctdild_sim.analysis.compare import (
    headline,
    mean_difference,
    milestone_differences,
    milestone_quantiles,
    screen_failure_differences,
)
from ctdild_sim.analysis.costs import cost_per_dose, cost_summary, replicate_costs
from ctdild_sim.analysis.ranking import drawn_inputs, ranking
from ctdild_sim.analysis.summary import (
    milestone_summary,
    overview,
    phase_durations,
    probability_done_by,
    run_warnings,
    screen_failure_summary,
    typical_replicates,
)
from ctdild_sim.analysis.supply_summary import (
    active_periods,
    cumulative_released,
    lot_starts,
    monthly_lot_events,
    supply_overview,
    waste_by_cause,
)
from ctdild_sim.reports.figures import (
    earliest_registered_completion,
    lplv_ecdf_figure,
    ranking_figure,
    tornado_figure,
)
from ctdild_sim.scenario.comments import Comment
from ctdild_sim.scenario.parameters import parameter_tree
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
    captions: dict[str, str] = field(default_factory=dict)  # a table's title -> a line under it
    folded: bool = False  # tables shown folded under their titles (a scenario's sections)


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
            view.notes.append(
                f"{name}: enrolment fan from the {len(kept)} replicates with full records (of {run.replicates})."
            )
        else:
            view.notes.append(
                f"{name}: no replicate kept its full records (the run used --keep-events 0), "
                "so there is no enrolment fan or Gantt chart for it."
            )
        registered = run.scenario.registered_completion_date
        if registered is not None:
            p = probability_done_by(run.tables["metrics"], run.scenario, registered)
            view.notes.append(
                f"{name}: P(last patient last visit by the registered completion date {registered}) "
                f"= {p:.1%} over {run.replicates} replicates."
            )
    if fans:
        view.figures.append(("enrolment", figures.enrolment_fan_figure(fans)))
    view.figures.append(
        (
            "lplv",
            lplv_ecdf_figure(
                {n: r.tables["metrics"] for n, r in named.items()}, {n: r.scenario for n, r in named.items()}
            ),
        )
    )
    registered = earliest_registered_completion(r.scenario for r in runs)
    dates = {n: figures.milestone_dates(r.tables["metrics"], r.scenario) for n, r in named.items()}
    view.figures.append(("milestones", figures.milestone_box_figure(dates, registered)))
    shown = [(n, r) for n, r in named.items() if n in fans]
    if shown:
        first_kept = kept_by_name[shown[0][0]]
        chosen = int(replicate) if replicate in first_kept else first_kept[0]
        for name, run in shown:
            if chosen not in kept_by_name[name]:
                view.notes.append(f"Gantt chart: {name} did not keep replicate {chosen}.")
                continue
            events = run.tables["events"]
            segments = figures.gantt_segments(events, run.tables["screenings"], chosen, run.tables["patients"])
            fig = figures.gantt_figure(
                segments,
                figures.pauses(events, chosen),
                run.scenario,
                chosen,
                figures.gantt_exits(events, chosen),
                name if len(shown) > 1 else "",
            )
            view.figures.append((f"gantt-{len(view.figures)}", fig))
        runs_note = (
            " the same replicate of each run: on common random numbers it meets the same referrals and draws"
            if len(shown) > 1
            else ""
        )
        view.notes.append(f"Gantt chart: replicate {chosen} (replicates 0 to {first_kept[-1]} are kept){runs_note}.")
    for name, run in named.items():
        view.tables.append((f"{name}: milestones", milestone_summary(run.tables["metrics"], run.scenario)))
        view.tables.append((f"{name}: where time goes", phase_durations(run.tables["metrics"], run.scenario)))
    return view


def product_view(runs: list[Run]) -> View:
    """Cell product for a trial of ten subjects: supply against demand (cumulative, by month), the
    monthly demand, the stock projection with lot events, waste by cause, when lots are ordered,
    and the cost block where the scenario declares costs."""
    view = View("Cell product")
    named = {n: r for n, r in _names(runs).items() if r.scenario.product is not None}
    view.notes += _warnings(named)
    if not named:
        view.notes.append("None of these runs has a product section: supply was not simulated.")
        return view
    supply, demand, stock, waste, costs = {}, {}, {}, {}, {}
    for name, run in named.items():
        monthly, lots, metrics, start = (
            run.tables["demand_monthly"],
            run.tables["lots"],
            run.tables["metrics"],
            run.scenario.start_date,
        )
        supply[name] = (monthly, cumulative_released(lots, run.replicates, start, monthly["period"]))
        demand[name] = monthly
        stock[name] = (monthly, monthly_lot_events(lots, run.replicates, start, monthly["period"]))
        waste[name] = waste_by_cause(metrics)
        o = supply_overview(metrics)
        view.notes.append(
            f"{name}: P(a subject waits for product) {o['p_stockout']:.1%} (± {1.96 * o['p_stockout_se']:.1%}); "
            f"vials used {o['mean_vials_used']:.1f}, expired {o['mean_vials_expired']:.1f}, "
            f"wasted at thaw {o['mean_vials_wasted']:.1f} per replicate; lots started P50 "
            f"{o['lots_started_p50']:.0f}, P90 {o['lots_started_p90']:.0f}."
        )
        view.tables.append((f"{name}: when the k-th lot is ordered", lot_starts(lots, run.replicates, start)))
        view.tables.append((f"{name}: vials lost by cause", waste[name]))
        view.tables.append((f"{name}: monthly demand", active_periods(monthly)))
        view.tables.append((f"{name}: supply overview", pd.DataFrame([o])))
        if run.scenario.product.costs is not None and "vial_days_in_stock" in metrics:
            costs[name] = (replicate_costs(metrics, lots, run.scenario), run.scenario.product.costs.currency)
            _cost_parts(view, name, *costs[name])
        elif run.scenario.product.costs is None:
            view.notes.append(f"{name}: the scenario declares no product.costs, so there is no cost block.")
        else:
            view.notes.append(
                f"{name}: this run was stored before storage was measured (no vial_days_in_stock); "
                "run it again for its costs."
            )
    view.figures.append(("supply", figures.supply_cumulative_figure(supply)))
    view.figures.append(("demand", figures.monthly_demand_figure(demand)))
    view.figures.append(("stock", figures.stock_projection_figure(stock)))
    view.figures.append(("waste", figures.waste_figure(waste)))
    if costs:
        view.figures.append(("costs", figures.cost_figure(costs)))
    return view


def _cost_parts(view: View, name: str, per_replicate: pd.DataFrame, currency: str) -> None:
    """A run's cost block: its note (cost per infused dose, censored delays) and table."""
    per_dose = cost_per_dose(per_replicate)
    note = (
        f"{name}: product cost per infused dose {per_dose:,.0f} {currency}; cost of wasted product "
        f"{per_replicate['waste'].mean():,.0f} {currency} per replicate (mean)."
    )
    censored = float(per_replicate["delay_censored"].mean())
    if censored:
        note += (
            f" {censored:.1%} of replicates never reached last patient last visit: their delay is counted to "
            "the end of the simulation, so the delay cost is a lower bound."
        )
    view.notes.append(note)
    table = cost_summary(per_replicate)
    view.tables.append((f"{name}: costs per replicate ({currency})", table))


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
            rows.append(
                {
                    "cohort": k,
                    "name": cohort.name,
                    "size": cohort.size,
                    "infusions": cohort.infusions,
                    "p_gate_passed": gate["reached"],
                    "p10_gate_date": gate["p10_date"],
                    "p50_gate_date": gate["p50_date"],
                    "p90_gate_date": gate["p90_date"],
                }
            )
        view.tables.append((f"{name}: cohorts", pd.DataFrame(rows)))
    return view


def screening_view(runs: list[Run]) -> View:
    view = View("Screening")
    view.notes += _warnings(_names(runs))
    failures = {}
    for name, run in _names(runs).items():
        table = screen_failure_summary(run.tables["metrics"], run.scenario.eligibility)
        failures[name] = table
        view.tables.append((f"{name}: screen failures by criterion", table))
        o = overview(run.tables["metrics"])
        view.notes.append(
            f"{name}: {o['mean_referred']:.1f} referred and {o['mean_enrolled']:.1f} enrolled per "
            f"replicate; {o['screen_failure_rate']:.1%} of screened candidates fail."
        )
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
    view.notes.append(
        f"Differences are each scenario minus {reference}, paired replicate by replicate "
        f"(common random numbers, seed {runs[0].seed}, {runs[0].replicates} replicates)."
    )
    view.notes.append(
        "Milestones are compared by their P50 over all replicates (a trial that never reaches a "
        "milestone counts as later than any date), with 95% bootstrap intervals; "
        "pairs_both_reached says in how many pairs both scenarios reached it."
    )
    for row in headline(metrics, scenarios).itertuples():
        p50 = row.lplv_p50_date.isoformat() if row.lplv_p50_date is not None else "not reached"
        view.notes.append(
            f"{row.scenario}: last patient last visit P50 {p50}; P(by the registered date) "
            f"{row.p_done_by_registered_date:.1%}; reached in {row.p_lplv_reached:.1%} of "
            f"{row.replicates} replicates."
        )
    view.figures.append(("compare-lplv", lplv_ecdf_figure(metrics, scenarios)))
    view.figures.append(("compare-differences", figures.differences_figure(differences)))
    differing = scenario_differences(runs)
    title = f"What differs from {reference}'s scenario"
    view.tables.append((title, differing))
    view.captions[title] = (
        f"{differing['parameter'].nunique()} parameter(s) differ."
        if len(differing)
        else "The scenarios are the same in every parameter."
    )
    _compare_costs(view, named, reference)
    view.tables.append(("Headline", headline(metrics, scenarios)))
    view.tables.append(("Paired differences", differences))
    view.tables.append(("Milestones P10/P50/P90", milestone_quantiles(metrics, scenarios)))
    title = "Screen failures by criterion (candidates screened out per replicate, paired)"
    view.tables.append((title, screen_failure_differences(metrics)))
    view.captions[title] = (
        "A protocol amendment (the scenario's eligibility thresholds) moves its own criterion; on "
        "common random numbers the others move only through who enrols."
    )
    return view


def _compare_costs(view: View, named: dict[str, Run], reference: str) -> None:
    """Costs side by side and the paired difference in total cost, for the runs that have them."""
    costs = {
        n: (replicate_costs(r.tables["metrics"], r.tables["lots"], r.scenario), r.scenario.product.costs.currency)
        for n, r in named.items()
        if r.scenario.product is not None
        and r.scenario.product.costs is not None
        and "vial_days_in_stock" in r.tables["metrics"]
    }
    if not costs:
        return
    view.figures.append(("compare-costs", figures.cost_figure(costs)))
    rows = []
    for name, (per_replicate, currency) in costs.items():
        row = {
            "scenario": name,
            "currency": currency,
            "cost_total_mean": per_replicate["total"].mean(),
            "cost_per_dose": cost_per_dose(per_replicate),
            "cost_waste_mean": per_replicate["waste"].mean(),
        }
        if reference in costs and name != reference:  # both runs hold replicates 0 to n-1 (comparable)
            a, b = (frame.sort_values("replicate")["total"] for frame in (costs[reference][0], per_replicate))
            d = mean_difference(a, b)
            row.update(
                cost_difference=d.estimate, cost_difference_low=d.low, cost_difference_high=d.high, pairs=d.pairs
            )
        rows.append(row)
    columns = [
        "scenario",
        "currency",
        "cost_total_mean",
        "cost_per_dose",
        "cost_waste_mean",
        "cost_difference",
        "cost_difference_low",
        "cost_difference_high",
        "pairs",
    ]
    title = "Costs per replicate"
    view.tables.append((title, pd.DataFrame(rows, columns=columns)))
    view.captions[title] = (
        f"Differences are each scenario minus {reference}, paired replicate by replicate on "
        "common random numbers, with 95% intervals."
    )


FORECAST_TABLES = ("progress_weekly", "plan_progress_weekly", "observed_progress", "milestones", "plan_vs_actual")


def forecast_view(runs: list[Run]) -> View:
    """A stored forecast (``ctdild-sim forecast`` or this page's Forecast button): the records and
    the forecast after them against the plan, the milestones, what was learned, the product."""
    view = View("Forecast")
    forecasts = [r for r in runs if r.manifest.get("kind") == "forecast"]
    if not forecasts:
        view.notes.append(
            "Pick a forecast run above, or make one here: choose the scenario file, the trial's "
            "records and the as-of date, then Forecast."
        )
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
        view.notes.append(
            f"{name}: this forecast was stored by an earlier version, without {', '.join(missing)}; "
            "make it again to see it here."
        )
        return
    as_of = dt.date.fromisoformat(manifest["as_of"])
    learned = "assumptions learned from the records" if manifest.get("learning") else "the scenario's assumptions"
    folder = Path(str(manifest.get("actuals_folder", "?"))).name
    view.notes.append(
        f"{name}: forecast as of {as_of} from the records {folder}, with {learned}; "
        f"{run.replicates} replicates, seed {run.seed}."
    )
    view.notes += [f"Warning: {name}: {w}" for w in manifest.get("warnings", [])]
    view.notes += [f"Warning: {name}: {w}" for w in run_warnings(tables["metrics"])]
    milestones = tables["milestones"]
    lplv = milestones.set_index("milestone").loc["lplv_day"]
    if lplv["status"] == "observed":
        view.notes.append(f"{name}: the last patient's last visit is in the records: {lplv['observed_date']}.")
    else:
        p50 = lplv["p50_date"] if isinstance(lplv["p50_date"], dt.date) else "never (over half the replicates)"
        view.notes.append(
            f"{name}: last patient last visit P50 {p50}, P10 {lplv['p10_date']}, P90 "
            f"{lplv['p90_date'] if isinstance(lplv['p90_date'], dt.date) else 'never'}; reached in "
            f"{lplv['reached']:.1%} of replicates."
        )
    registered = scenario.registered_completion_date
    if registered is not None:
        p = probability_done_by(tables["metrics"], scenario, registered)
        view.notes.append(
            f"{name}: P(last patient last visit by the registered completion date {registered}) = {p:.1%}."
        )
    restart = float(manifest.get("restart_day", scenario.day_of(as_of) + 1))
    progress = figures.progress_figure(
        tables["observed_progress"], tables["progress_weekly"], tables["plan_progress_weekly"], as_of, restart
    )
    view.figures.append((f"progress-{name}", progress))
    horizon = scenario.start_date + dt.timedelta(days=scenario.horizon_days)
    view.figures.append(
        (f"forecast-milestones-{name}", figures.forecast_milestone_figure(milestones, as_of, registered, horizon))
    )
    view.tables.append((f"{name}: milestones (observed or forecast)", milestones))
    view.tables.append((f"{name}: where the trial stands against the plan made at its start", tables["plan_vs_actual"]))
    if "assumptions" in tables:
        view.tables.append(
            (f"{name}: assumptions, prior against posterior (mean and 90% interval)", tables["assumptions"])
        )
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
        view.tables.append(
            (f"{name}: lots still to start (the k-th lot ordered after {as_of})", tables["lots_to_start"])
        )
        view.tables.append((f"{name}: product from {as_of}", tables["forecast_supply"]))


def lot_plan_view(plan: LotPlan, name: str, seed: int) -> View:
    """The reorder policy the lot planner found for one scenario, headlined by its figures on fresh
    seeds, and every evaluation it made (each labelled with the seeds it was simulated on)."""
    view = View(f"Lot plan: {name}")
    best, fresh = plan.best, plan.fresh
    if best is None or fresh is None:
        view.notes.append(
            f"{name}: no reorder point up to the search's limit keeps P(a subject waits for product) "
            f"under {plan.target:.1%} with 95% confidence."
        )
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
    if fresh is not None and plan.fresh_tables is not None and plan.scenario is not None:
        schedule = lot_starts(plan.fresh_tables.lots, fresh.replicates, plan.scenario.start_date)
        view.tables.append(
            (f"{name}: the plan's dated lot starts (reorder point {fresh.point}, fresh seeds)", schedule)
        )
    view.tables.append((f"{name}: lot plan search", plan.search_table()))
    return view


def scenario_view(scenario: Scenario, source: str, comments: dict[str, Comment] | None = None) -> View:
    """A scenario's parameters section by section, as the file groups them, each with its
    description, checked range and the file's comment (source, WEAK flag)."""
    view = View("Scenario", folded=True)
    tree = parameter_tree(scenario, comments)
    weak = int(tree["weak"].sum())
    view.notes.append(
        f"{source}: {scenario.name}, {len(scenario.cohorts)} cohorts, {scenario.target_enrolment} "
        f"subjects by design; {len(tree)} parameters in {tree['group'].nunique()} sections, {weak} "
        "marked WEAK in the file (a guess, not a published figure)."
    )
    for group, rows in tree.groupby("group", sort=False):
        flagged = int(rows["weak"].sum())
        title = f"{group}: {len(rows)} parameters" + (f", {flagged} WEAK" if flagged else "")
        view.tables.append((title, rows.drop(columns="group").reset_index(drop=True)))
        comment = (comments or {}).get("" if group == "trial" else group)
        if comment is not None:
            view.captions[title] = comment.text
    return view


def scenario_differences(runs: list[Run]) -> pd.DataFrame:
    """The parameters whose value differs from the first run's scenario: one row per parameter
    and other scenario (parameter, reference_value, scenario, value)."""
    named = _names(runs)
    trees = {
        n: parameter_tree(r.scenario).assign(key=lambda t: t["group"] + "." + t["parameter"]) for n, r in named.items()
    }
    reference = next(iter(trees))
    base = trees[reference].set_index("key")["value"]
    rows = []
    for name, tree in list(trees.items())[1:]:
        values = tree.set_index("key")["value"]
        for key in list(dict.fromkeys([*base.index, *values.index])):
            a, b = base.get(key, "(not set)"), values.get(key, "(not set)")
            if a != b:
                rows.append(
                    {"parameter": key.removeprefix("trial."), "reference_value": a, "scenario": name, "value": b}
                )
    return pd.DataFrame(rows, columns=["parameter", "reference_value", "scenario", "value"])


RANK_RESAMPLES = 100
"""Bootstrap resamples of the ranking drawn on the page (the CLI's ``rank`` takes more)."""


def sensitivity_view(runs: list[Run]) -> View:
    """For each run: its tornado if it is a sensitivity run, and the ranking of what its replicates
    drew once."""
    view = View("Sensitivity")
    named = _names(runs)
    view.notes += _warnings(named)
    view.notes.append(
        "A what-if: edit a scenario on the Scenario page and run it with the same seed and replicates "
        "as the base, then pick both runs on Compare (they pair on common random numbers). A tornado "
        "comes from ctdild-sim sensitivity SCENARIO."
    )
    for name, run in named.items():
        if "tornado" in run.tables:
            tornado = run.tables["tornado"]
            assumptions = tornado["parameter"].nunique()
            view.notes.append(
                f"{name}: tornado of {assumptions} assumptions, each moved alone on {run.replicates} "
                f"replicates (seed {run.seed}), changes paired with the base."
            )
            for key, rows in tornado.groupby("outcome", sort=False):
                if rows["swing"].isna().all():  # never reached at the base and at every end
                    view.notes.append(
                        f"{name}: {rows['outcome_label'].iloc[0]} is never reached at the base or at "
                        "either end of any range: no tornado for it."
                    )
                    continue
                view.figures.append((f"tornado-{len(view.figures)}", tornado_figure(tornado, key)))
            view.tables.append((f"{name}: tornado", tornado))
        else:
            view.notes.append(f"{name}: not a sensitivity run (no tornado); its ranking is below.")
        metrics = run.tables["metrics"]
        if not drawn_inputs(metrics):
            view.notes.append(
                f"{name}: its replicates recorded no drawn quantity that varies (a run made before "
                "they were recorded, or fixed rates): no ranking."
            )
            continue
        table = ranking(metrics, run.scenario, run.seed, resamples=RANK_RESAMPLES)
        title = f"{name}: share of each outcome's variance explained by what replicates drew once"
        view.tables.append((title, table))
        for key in ("lplv_day", "product_wait"):
            if (table["outcome"] == key).any():
                view.figures.append((f"ranking-{len(view.figures)}", ranking_figure(table, key)))
        bins = int(table["bins"].iloc[0])
        view.captions[title] = (
            f"First-order indices in {bins} equal-count bins, 95% Bayesian bootstrap intervals "
            f"({RANK_RESAMPLES} resamples); near zero: it does not matter."
        )
    return view


PAGES = {
    "timeline": timeline_view,
    "product": product_view,
    "cohorts": cohorts_view,
    "screening": screening_view,
    "compare": compare_view,
    "forecast": forecast_view,
    "sensitivity": sensitivity_view,
}
