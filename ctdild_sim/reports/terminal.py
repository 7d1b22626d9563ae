"""Terminal reports: the summaries of ``summary`` and ``supply_summary`` as rich tables.

Every figure printed here is computed by the library from a run's tables; this module only
formats. Text that comes from a file (scenario, site and cohort names, run manifests) is never
read as rich markup: a name like ``[/b]`` is printed as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ctdild_sim.analysis.bands import PeriodKind
from ctdild_sim.analysis.costs import cost_per_dose, cost_summary, replicate_costs
from ctdild_sim.analysis.summary import (
    milestone_summary,
    overview,
    phase_durations,
    probability_done_by,
    run_warnings,
    screen_failure_summary,
    to_date,
)
from ctdild_sim.analysis.supply_summary import active_periods, lot_starts, stockout_risk, supply_overview
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.learning.posterior import Posterior
from ctdild_sim.reports.columns import (
    COLUMNS,
    fmt_cells,
    fmt_date,
    fmt_probability,
    fmt_share,
    label,
    missing,
    not_reached,
    numeric,
    present,
)
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.forecast import Forecast
from ctdild_sim.studies.lot_plan import Evaluation, LotPlan
from ctdild_sim.studies.sensitivity import Sensitivity
from ctdild_sim.studies.solve import Solution


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A rich table whose first column is left-aligned and the rest right-aligned; titles and
    cells are plain text, never markup."""
    out = Table(title=Text(title))
    for i, column in enumerate(columns):
        out.add_column(Text(column), justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*(Text(str(cell)) for cell in row))
    return out


def frame_table(title: str, frame: pd.DataFrame, drop: Sequence[str] = ()) -> Table:
    """A table as people read it (``columns.present``), less the ``drop`` columns; numbers are
    right-aligned, text left."""
    shown = present(frame)
    keep = [c for c in shown.columns if c not in drop]
    right = {label(name) for name in frame.columns if name in COLUMNS and numeric(name)}
    out = Table(title=Text(title))
    for c in keep:
        longest_word = max((len(w) for cell in shown[c] for w in str(cell).split()), default=0)
        out.add_column(
            Text(c), justify="right" if c in right else "left", min_width=min(longest_word, 36), overflow="fold"
        )
    for row in shown[keep].itertuples(index=False):
        out.add_row(*(Text(str(cell)) for cell in row))
    return out


def print_warnings(console: Console, warnings: list[str], prefix: str = "") -> None:
    """A run's warnings (``summary.run_warnings``), first and in bold red."""
    for warning in warnings:
        console.print(Text(f"Warning: {prefix}{warning}", style="bold red"))


def fmt_day(scenario: Scenario, day: float, reached: float | None = None) -> str:
    """A simulation day as its date, or "not reached" (with the share that never reaches it)."""
    return not_reached(reached) if not math.isfinite(day) else fmt_date(to_date(scenario.start_date, day))


def trial_report(console: Console, scenario: Scenario, tables: RunTables, seed: int) -> None:
    """Milestones, completion probability, screening, safety, time lost and product waits."""
    metrics = tables.metrics
    print_warnings(console, run_warnings(metrics))
    milestones = milestone_summary(metrics, scenario)
    console.print(
        frame_table(f"{scenario.name}: milestone dates over {len(metrics)} replicates (seed {seed})", milestones)
    )
    o = overview(metrics)
    if scenario.registered_completion_date is not None:
        p = probability_done_by(metrics, scenario, scenario.registered_completion_date)
        console.print(
            f"P(last patient last visit by registered completion {scenario.registered_completion_date}): "
            f"[bold]{fmt_probability(p, len(metrics))}[/bold]"
        )
    console.print(
        f"Screen failure {o['screen_failure_rate']:.1%} of screened candidates; "
        f"mean {o['mean_referred']:.1f} referred, {o['mean_enrolled']:.1f} enrolled per replicate."
    )
    console.print(
        f"Safety: {o['mean_triggering_ae']:.2f} triggering AEs and "
        f"{o['mean_pauses']:.2f} pauses per replicate "
        f"(P(any pause) {o['p_any_pause']:.1%}, mean {o['mean_pause_days']:.1f} paused days); "
        f"P(stopped early) {o['p_stopped_early']:.1%}; P(not finished within horizon) {o['p_horizon']:.1%}."
    )
    console.print(
        f"Time lost per replicate (mean): {o['mean_slot_wait_days']:.0f} candidate-days waiting for a cohort "
        f"slot, {o['mean_bed_wait_days']:.1f} subject-days waiting for a bed, "
        f"{metrics['patient_days_waiting_for_product'].mean():.1f} subject-days waiting for product "
        f"(P(any wait for product) {stockout_risk(metrics):.1%}); "
        f"{o['mean_deaths']:.2f} deaths, {o['mean_withdrawals']:.2f} withdrawals."
    )
    console.print(
        frame_table(
            "Where the time goes (days, over the replicates that completed each phase)",
            phase_durations(metrics, scenario),
        )
    )
    console.print(
        frame_table(
            "Screen failures by criterion (a candidate can fail several)",
            screen_failure_summary(metrics, scenario.eligibility),
            drop=("Kind",),
        )
    )


def supply_report(console: Console, scenario: Scenario, tables: RunTables, period: PeriodKind, seeds: str = "") -> None:
    """Stock-out risk, lots needed and when to start them, demand by period, waste."""
    metrics = tables.metrics
    print_warnings(console, run_warnings(metrics))
    o = supply_overview(metrics)
    n = int(o["replicates"])
    console.print(
        f"[bold]{escape(scenario.name)}[/bold]: product supply over {n} replicates{seeds}, "
        f"policy {_policy_text(scenario)}."
    )
    console.print(
        f"P(a subject waits for product) {fmt_probability(o['p_stockout'], n)}; "
        f"{o['mean_stockout_events']:.2f} stock-outs and {o['mean_patient_days_waiting']:.1f} subject-days "
        f"waiting per replicate (P90 {o['p90_patient_days_waiting']:.0f}); "
        f"{o['mean_lost_waiting']:.2f} subjects lost waiting."
    )
    console.print(
        f"Lots consumed P50 {o['lots_consumed_p50']:.0f}, P90 {o['lots_consumed_p90']:.0f}; lots started "
        f"during the trial P50 {o['lots_started_p50']:.0f}, P90 {o['lots_started_p90']:.0f} "
        f"({o['mean_lots_failed']:.2f} failing QC per replicate)."
    )
    console.print(
        f"Vials per replicate (mean): {o['mean_vials_used']:.1f} infused, "
        f"{o['mean_vials_wasted']:.2f} wasted after thaw, {o['mean_vials_expired']:.1f} expired, "
        f"{o['mean_vials_destroyed']:.1f} destroyed in failed lots; "
        f"cells infused P50 {fmt_cells(o['cells_infused_p50'])}."
    )
    starts = lot_starts(tables.lots, n, scenario.start_date)
    console.print(frame_table("When lots are ordered (k-th lot ordered during the trial)", starts))
    bands = active_periods(tables.bands.table(period))
    console.print(
        table(
            f"Product demand per {period} across replicates (cells in units of 1e6)",
            (
                "Period",
                "Vials thawed mean / P90",
                "Cells infused (mean)",
                "Cumulative vials P10 / P50 / P90",
                "Released vials in stock P10 / P50 / P90",
            ),
            (
                (
                    _period_label(r, period),
                    f"{r.mean_vials_thawed:.1f} / {r.vials_thawed_p90:.0f}",
                    f"{r.mean_cells_infused / 1e6:.0f}",
                    _band(r, "cumulative_vials_thawed"),
                    _band(r, "vials_in_stock"),
                )
                for r in bands.itertuples()
            ),
        )
    )
    costs = scenario.product.costs if scenario.product is not None else None
    if costs is not None:
        per_replicate = replicate_costs(metrics, tables.lots, scenario)
        console.print(
            f"Product cost per infused dose {costs.currency} {cost_per_dose(per_replicate):,.0f}; wasted product "
            f"{costs.currency} {per_replicate['waste'].mean():,.0f} per replicate (mean)"
            + (
                f"; the delay cost is a lower bound: {per_replicate['delay_censored'].mean():.1%} of replicates never "
                "reached last patient last visit."
                if per_replicate["delay_censored"].any()
                else "."
            )
        )
        console.print(frame_table(f"Costs per replicate ({costs.currency})", cost_summary(per_replicate)))


def plan_report(console: Console, plan: LotPlan) -> None:
    """The policy search, its answer, and the answer's figures on fresh seeds (the headline)."""
    console.print(
        table(
            f"Lot plan search: reorder policies with P(stock-out) upper 95% bound <= {plan.target:.1%}",
            (
                "Seeds",
                "Look-ahead (days)",
                "Reorder point (vials)",
                "Stock-out risk",
                "Upper 95% bound",
                "Lots started (mean)",
                "Vials expired (mean)",
                "Meets target",
                "Replicates",
            ),
            (_evaluation_row(t, plan.target) for t in sorted(plan.tried, key=_evaluation_order)),
        )
    )
    if len({t.replicates for t in plan.tried}) > 1:
        console.print(
            "(A candidate with fewer replicates was stopped once its stock-outs so far failed the target "
            "whatever the rest would show: the same decision as running them all.)"
        )
    if plan.best is None or plan.fresh is None:
        console.print(
            "[bold red]No reorder policy tried meets the target[/]: the stock-outs come from something "
            "a reorder policy cannot fix (campaign capacity, lead time, lot failures, shelf life); change "
            "the product section, or allow a higher --max-reorder-point."
        )
        return
    fresh = plan.fresh
    low, high = fresh.interval
    verdict = "within the target" if fresh.risk <= plan.target else "ABOVE the target"
    console.print(
        f"[bold]Plan: start a lot whenever vials still allocatable {fresh.lookahead_days:.0f} days ahead "
        f"(less vials owed, plus lots in process) fall below {fresh.point}.[/bold]"
    )
    console.print(
        f"[bold]On {fresh.replicates} fresh replicates (seed {plan.fresh_seed}, used by neither the search nor "
        f"the validation): P(a subject waits for product) {fresh.risk:.1%} (95% interval {low:.1%} to "
        f"{high:.1%}), {verdict} of {plan.target:.1%}; {fresh.mean_lots_started:.2f} lots started per "
        f"replicate on average.[/bold]"
    )
    console.print(
        f"(On the validation seeds that confirmed it: {plan.best.risk:.1%}, upper bound {plan.best.upper:.1%}; "
        "the seeds that picked a plan flatter it, so the figures above are the ones to quote.)"
    )


_SEEDS_ORDER = {"search": 0, "validation": 1, "fresh": 2}


def _evaluation_order(t: Evaluation) -> tuple:
    return (_SEEDS_ORDER[t.seeds], t.lookahead_days, t.point)


def _evaluation_row(t: Evaluation, target: float) -> tuple[str, ...]:
    return (
        t.seeds,
        f"{t.lookahead_days:.0f}",
        str(t.point),
        f"{t.risk:.1%}",
        f"{t.upper:.1%}",
        f"{t.mean_lots_started:.2f}",
        f"{t.mean_vials_expired:.1f}",
        "yes" if t.upper <= target else "no",
        str(t.replicates),  # fewer where the candidate was stopped once it could no longer pass
    )


def _policy_text(scenario: Scenario) -> str:
    product = scenario.product
    if product is None:
        return "none (no product section: supply never limits)"
    policy = product.policy
    if policy.kind == "reorder_point":
        ahead = "" if policy.lookahead_days is None else f", look-ahead {policy.lookahead_days:.0f} days"
        return f"reorder point {policy.reorder_point_vials} vials{ahead}"
    if policy.kind == "make_to_order":
        return f"make to order (cover {policy.cover:g}x)"
    return f"schedule (days {', '.join(f'{d:g}' for d in policy.start_days)})"


def _dates(scenario: Scenario, row) -> tuple[str, str, str]:
    return tuple(fmt_day(scenario, d, row.reached) for d in (row.p10_day, row.p50_day, row.p90_day))


def _band(row, column: str) -> str:
    return " / ".join(f"{getattr(row, f'{column}_p{q}'):.0f}" for q in (10, 50, 90))


def _period_label(row, period: PeriodKind) -> str:
    if period == "week":
        return f"week {row.period} ({row.start_date.isoformat()})"
    return str(row.period)


def compare_report(
    console: Console,
    quantiles: pd.DataFrame,
    differences: pd.DataFrame,
    summary: pd.DataFrame,
    replicates: int,
    seed: int,
    warnings: dict[str, list[str]] | None = None,
) -> None:
    """Per-scenario headline and milestone quantiles, then paired differences from the first."""
    for name, found in (warnings or {}).items():
        print_warnings(console, found, prefix=f"{name}: ")
    console.print(
        frame_table(
            f"Scenarios on common random numbers ({replicates} replicates, seed {seed})", summary, drop=("Replicates",)
        )
    )
    console.print(
        table(
            "Milestone dates P10 / P50 / P90 (over all replicates; a trial that never reaches a milestone counts "
            "as later than any date)",
            ("Milestone", *summary["scenario"]),
            (
                (label, *(_date_band(group[group["scenario"] == name].iloc[0]) for name in summary["scenario"]))
                for label, group in quantiles.groupby("label", sort=False)
            ),
        )
    )
    for name, group in differences.groupby("scenario", sort=False):
        console.print(
            frame_table(
                f"{name} minus {group['reference'].iloc[0]}, paired replicate by replicate, with 95% intervals",
                group,
                drop=("Scenario", "Against"),
            )
        )
    console.print(
        "Milestones are compared by their P50 over all replicates, with bootstrap intervals; 'Both reached' counts "
        "the pairs in which both scenarios reached the milestone."
    )


def _date(value) -> str:
    return fmt_date(value) if not missing(value) else "not reached"


def runs_report(console: Console, root, stored) -> None:
    """The runs in the results store, with their whole run ids (what ``?runs=`` and
    ``results.load`` take)."""
    readable = [r for r in stored if r.manifest is not None]
    if not readable:
        console.print(Text(f"No runs in {root}/."))
        return
    out = Table(title=Text(f"Runs in {root}/"))
    out.add_column("Run id", no_wrap=True, min_width=max(len(r.run_id) for r in readable))  # whole: what ?runs= takes
    longest = max(len(str(r.manifest["scenario_name"])) for r in readable)
    out.add_column("Scenario", overflow="fold", min_width=min(max(longest, 11), 24))
    for name in ("Label", "Kind"):
        out.add_column(name, overflow="fold", min_width=11)
    out.add_column("Replicates (seed)", justify="right", overflow="fold")
    out.add_column("Finished", justify="right")
    for r in readable:
        m = r.manifest
        kind = {
            "forecast": f"forecast as of {m.get('as_of')}",
            "sensitivity": f"sensitivity of {len(m.get('assumptions') or [])} assumptions",
        }.get(str(m.get("kind")), "plan from day 0")
        finished = str(m.get("finished", ""))[:10]  # the time is in the run id
        cells = (
            r.run_id,
            m["scenario_name"],
            str(m.get("label", "")),
            kind,
            f"{m['replicates']} ({m['seed']})",
            finished,
        )
        out.add_row(*(Text(c) for c in cells))
    console.print(out)


def _date_band(row) -> str:
    dates = [row.p10_date, row.p50_date, row.p90_date]
    return " / ".join(_date(d) for d in dates)


def forecast_report(console: Console, forecast: Forecast) -> None:
    """A forecast from a trial's records: milestones observed or still to come, the trial against
    its plan, the chance of finishing by the dates that matter, the product still needed."""
    scenario, metrics = forecast.scenario, forecast.tables.metrics
    for warning in forecast.warnings:
        console.print(Text(f"Warning: {warning}", style="bold red"))
    print_warnings(console, run_warnings(metrics))
    console.print(
        table(
            f"{scenario.name}: forecast as of {forecast.as_of} from the records in {forecast.actuals.folder} "
            f"({forecast.replicates} replicates, seed {forecast.seed})",
            ("Milestone", "Status", "Date / P10", "P50", "P90"),
            (
                (r.label, "observed", r.observed_date.isoformat(), "", "")
                if r.status == "observed"
                else (r.label, f"forecast ({fmt_share(r.reached)} reach it)", *_dates(scenario, r))
                for r in forecast.milestones().itertuples()
            ),
        )
    )
    if forecast.posterior is not None:
        assumptions_report(console, forecast.posterior)
    else:
        console.print("Assumptions as the scenario writes them (--no-learning).")
    chances = forecast.probabilities()
    if "registered" in chances:
        console.print(
            f"P(last patient last visit by the registered completion {scenario.registered_completion_date}): "
            f"[bold]{fmt_probability(chances['registered'], forecast.replicates)}[/bold]"
        )
    if "target" in chances:
        console.print(
            f"P(last patient last visit by {forecast.target_date}): "
            f"[bold]{fmt_probability(chances['target'], forecast.replicates)}[/bold]"
        )
    console.print(
        frame_table(
            f"Where the trial stands against the plan made at its start (a from-day-0 forecast, "
            f"{forecast.replicates} replicates)",
            forecast.plan_vs_actual(),
        )
    )
    supply = forecast.supply()
    if supply is None:
        return
    console.print(
        f"Product from {forecast.as_of}: P(a subject waits for product) "
        f"{fmt_probability(supply['p_wait_for_product'], forecast.replicates)}; "
        f"vials still to be thawed P50 {supply['vials_needed_p50']:.0f}, P90 {supply['vials_needed_p90']:.0f}; "
        f"of the stock at hand, {supply['stock_expiring_unused_mean']:.1f} vials expire unused on average "
        f"(P90 {supply['stock_expiring_unused_p90']:.0f})."
    )
    if forecast.lot_plan is not None:
        plan_report(console, forecast.lot_plan)
    starts = forecast.lots_to_start()
    source = (
        "under the lot plan, on its fresh seeds"
        if forecast.lot_plan is not None and forecast.lot_plan.met
        else ("under the scenario's stock policy")
    )
    console.print(frame_table(f"Lots to start from {forecast.as_of} ({source}): when the k-th lot is ordered", starts))


def assumptions_report(console: Console, posterior: Posterior) -> None:
    """Prior against posterior: each learned assumption, what was planned, what the records said."""
    console.print(
        frame_table(
            "Assumptions learned from the records: planned, prior and posterior (mean [90% interval])",
            posterior.table(),
        )
    )


def sensitivity_report(console: Console, name: str, result: Sensitivity, replicates: int, seed: int) -> None:
    """The tornado: per outcome, the assumptions by the size of the change they make."""
    from ctdild_sim.reports.pack import sensitivity_notes  # its figures import plotly: only when needed

    console.print(
        f"[bold]{escape(name)}[/bold]: sensitivity on common random numbers, {replicates} replicates a "
        f"value, seed {seed}."
    )
    for note in sensitivity_notes(result):
        console.print(Text(note))
    for _, rows in result.tornado.groupby("outcome", sort=False):
        label = rows["outcome_label"].iloc[0]
        console.print(
            frame_table(
                f"{label} (base {rows['base_outcome_text'].iloc[0]})",
                rows,
                drop=("Outcome", "Outcome at base", "Pairs"),
            )
        )


def rank_report(console: Console, name: str, table: pd.DataFrame, replicates: int) -> None:
    """Per outcome, the drawn inputs by the share of its variance each explains."""
    bins = int(table["bins"].iloc[0]) if len(table) else 0
    console.print(
        f"[bold]{escape(name)}[/bold]: share of each outcome's variance explained by what the replicates "
        f"drew once (first-order indices, {replicates} replicates in {bins} equal-count bins, 95% "
        "bootstrap intervals; near zero: the input does not matter for it)."
    )
    for _, rows in table.groupby("outcome", sort=False):
        console.print(frame_table(rows["outcome_label"].iloc[0], rows, drop=("Outcome",)))


def solve_report(console: Console, name: str, solution: Solution, replicates: int, seed: int) -> None:
    """The lever value that meets the target, its uncertainty, or plainly that none in range does."""
    lever, target = solution.lever, solution.target
    span = f"{solution.low:g} to {solution.high:g}"
    console.print(
        f"[bold]{escape(name)}[/bold]: {escape(lever)} for {escape(target.text)}, searched from {span} on "
        f"common random numbers ({replicates} replicates a value, seed {seed})."
    )
    ends = {e.value: e for e in solution.evaluations}
    at = ", ".join(
        f"{v:g}: {fmt_probability(ends[v].probability, ends[v].replicates)}"
        for v in (solution.low, solution.high)
        if v in ends
    )
    if solution.value is None:
        verdict = "is met across the whole range" if solution.met_low else "cannot be met within the range"
        console.print(Text(f"The target {verdict} (P at the ends: {at}).", style="bold"))
    else:
        side = "or more" if solution.upwards else "or less"
        e = ends[solution.value]
        there = fmt_probability(e.probability, e.replicates)
        console.print(
            Text(f"Answer: {lever} = {solution.value:.4g} {side} (P there {there}; at the ends: {at}).", style="bold")
        )
        values = [v for v in (solution.possible_from, solution.sure_from) if v is not None]
        if solution.sure_from is None:
            console.print(
                Text(
                    "With 95% confidence the target is not met anywhere in the range: more replicates or "
                    "a wider range would tell."
                )
            )
        if values:
            console.print(
                Text(
                    f"Uncertainty: the 95% interval of P meets the target from {min(values):.4g} (its "
                    f"better bound) to {max(values):.4g} (its worse bound)."
                )
            )
    console.print(frame_table("Values simulated", solution.table().rename(columns={"value": "lever_value"})))
