"""Cell product (``ctdild-sim supply``, the Cell product page): the chance a subject waits for
product, lots needed and when to order them, demand by period, waste and cost."""

from __future__ import annotations

import pandas as pd

from ctdild_sim.analysis.costs import cost_per_dose, cost_summary, replicate_costs
from ctdild_sim.analysis.supply_summary import (
    active_periods,
    cumulative_released,
    lot_starts,
    monthly_lot_events,
    supply_overview,
    waste_by_cause,
)
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.views import run_figures as figures
from ctdild_sim.views.columns import fmt_cells, fmt_money, fmt_probability, label, missing
from ctdild_sim.views.view import View, display_names, runs_title, warnings

PERIODS = ("week", "month", "quarter")


def policy_text(scenario: Scenario) -> str:
    """The scenario's stock policy and lot size in words."""
    product = scenario.product
    if product is None:
        return "none (no product section: supply never limits)"
    policy = product.policy
    size = lot_size_text(product.fill_vials)
    if policy.kind == "reorder_point":
        ahead = "" if policy.lookahead_days is None else f", look-ahead {policy.lookahead_days:.0f} days"
        return f"reorder point {policy.reorder_point_vials} vials{ahead}, {size}"
    if policy.kind == "make_to_order":
        return f"make to order (cover {policy.cover:g}x), {size}"
    return f"schedule (days {', '.join(f'{d:g}' for d in policy.start_days)}), {size}"


def lot_size_text(fill: object) -> str:
    """A lot size in words (none: every whole vial the yield gives)."""
    return "lots of every vial the yield gives" if missing(fill) else f"lots of {float(fill):.0f} vials"


CHARTED_SHARE = 0.95
"""The product's charts run to the month by which replicates have thawed, on average, this share of
all the vials they thaw (then ``MARGIN_MONTHS`` more): the tail of trials that drag on for years
thaws a vial now and then, and would stretch every chart flat."""
MARGIN_MONTHS = 2


def charted_months(monthly: pd.DataFrame) -> pd.DataFrame:
    """The months a chart shows (``CHARTED_SHARE``), not the flat years to the simulation's horizon."""
    thawed = monthly["mean_vials_thawed"].cumsum().to_numpy()
    if not len(thawed) or thawed[-1] <= 0:
        return monthly
    last = int((thawed >= CHARTED_SHARE * thawed[-1]).argmax())
    return monthly.iloc[: last + 1 + MARGIN_MONTHS]


def product_view(runs: list[RunRecord], period: str = "month") -> View:
    """Supply against demand (cumulative, by month), the demand per ``period``, the stock
    projection with lot events, waste by cause, when lots are ordered, and the cost block where
    the scenario declares costs."""
    every = display_names(runs)
    named = {n: r for n, r in every.items() if r.scenario.product is not None}
    view = View(runs_title("Cell product", every))
    view.notes += warnings(named)
    if not named:
        view.notes.append("None of these runs has a product section: supply was not simulated.")
        return view
    supply, demand, stock, waste, costs = {}, {}, {}, {}, {}
    for name, run in named.items():
        monthly, lots, start = charted_months(run.tables["demand_monthly"]), run.tables["lots"], run.scenario.start_date
        supply[name] = (monthly, cumulative_released(lots, run.replicates, start, monthly["period"]))
        demand[name] = monthly
        stock[name] = (monthly, monthly_lot_events(lots, run.replicates, start, monthly["period"]))
        waste[name] = waste_by_cause(run.tables["metrics"])
        _supply_parts(view, name, run, period)
        view.table(f"{name}: vials lost by cause", waste[name])
        cost = _cost_parts(view, name, run)
        if cost is not None:
            costs[name] = cost
    view.figure("supply", figures.supply_cumulative_figure, supply)
    view.figure("demand", figures.monthly_demand_figure, demand)
    view.figure("stock", figures.stock_projection_figure, stock)
    view.figure("waste", figures.waste_figure, waste)
    if costs:
        view.figure("costs", figures.cost_figure, costs)
    view.brief = [t for t, _ in view.tables if not t.endswith(": supply overview")]  # its figures are in the notes
    return view


def _supply_parts(view: View, name: str, run: RunRecord, period: str) -> None:
    """A run's stock-out answer, its supply sentences, its lot starts and its demand table."""
    o = supply_overview(run.tables["metrics"])
    n = int(o["replicates"])
    policy = policy_text(run.scenario)
    view.answer(f"{name}: P(a subject waits for product), policy {policy}", fmt_probability(o["p_stockout"], n))
    view.notes.append(
        f"{name}: {o['mean_stockout_events']:.2f} stock-outs and {o['mean_patient_days_waiting']:.1f} subject-days "
        f"waiting for product per replicate (P90 {o['p90_patient_days_waiting']:.0f}); "
        f"{o['mean_lost_waiting']:.2f} subjects lost waiting."
    )
    view.notes.append(
        f"{name}: lots consumed P50 {o['lots_consumed_p50']:.0f}, P90 {o['lots_consumed_p90']:.0f}; lots started "
        f"during the trial P50 {o['lots_started_p50']:.0f}, P90 {o['lots_started_p90']:.0f} "
        f"({o['mean_lots_failed']:.2f} failing QC per replicate)."
    )
    view.notes.append(
        f"{name}: vials per replicate (mean): {o['mean_vials_used']:.1f} infused, {o['mean_vials_wasted']:.2f} "
        f"wasted after thaw, {o['mean_vials_expired']:.1f} expired, {o['mean_vials_destroyed']:.1f} destroyed in "
        f"failed lots; cells infused P50 {fmt_cells(o['cells_infused_p50'])}."
    )
    starts = lot_starts(run.tables["lots"], run.replicates, run.scenario.start_date)
    view.table(f"{name}: when the k-th lot is ordered", starts)
    demand = run.tables.get(f"demand_{period}ly", run.tables["demand_monthly"])
    title = f"{name}: product demand per {period}"
    view.table(title, active_periods(demand))
    view.narrow[title] = (label("vials_thawed_p10"), label("vials_thawed_p50"))
    view.table(f"{name}: supply overview", pd.DataFrame([o]))
    view.exports += [
        (t, run.tables[t]) for t in ("metrics", "lots", *(f"demand_{p}ly" for p in PERIODS)) if t in run.tables
    ]
    view.exports.append(("lot_starts", starts))


def _cost_parts(view: View, name: str, run: RunRecord) -> tuple[pd.DataFrame, str] | None:
    """A run's cost block (cost per infused dose, censored delays) and its costs per replicate."""
    metrics, costs = run.tables["metrics"], run.scenario.product.costs
    if costs is None:
        view.notes.append(f"{name}: the scenario declares no product.costs, so there is no cost block.")
        return None
    if "vial_days_in_stock" not in metrics:
        view.notes.append(
            f"{name}: this run was stored before storage was measured (no vial_days_in_stock); run it again for "
            "its costs."
        )
        return None
    per_replicate = replicate_costs(metrics, run.tables["lots"], run.scenario)
    note = (
        f"{name}: product cost per infused dose {fmt_money(cost_per_dose(per_replicate), costs.currency)}; cost "
        f"of wasted product {fmt_money(per_replicate['waste'].mean(), costs.currency)} per replicate (mean)."
    )
    censored = float(per_replicate["delay_censored"].mean())
    if censored:
        note += (
            f" {censored:.1%} of replicates were still running at the simulation's horizon (neither at last "
            "patient last visit nor stopped early): their delay is counted to the horizon, so the delay cost is a "
            "lower bound."
        )
    view.notes.append(note)
    view.table(f"{name}: costs per replicate ({costs.currency})", cost_summary(per_replicate))
    return per_replicate, costs.currency
