"""A lot plan (``ctdild-sim supply --target-stockout``, the Plan lots button, a forecast's plan):
the reorder policy found, headlined by its figures on fresh seeds, and every evaluation made."""

from __future__ import annotations

import pandas as pd

from ctdild_sim.analysis.supply_summary import lot_starts
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.studies.lot_plan import LotPlan, wilson_interval
from ctdild_sim.views.product import product_view
from ctdild_sim.views.view import View, display_names


def lot_plan_parts(view: View, name: str, search: pd.DataFrame, target: float | None, fresh_seed: int | None) -> None:
    """The plan's answer from its search table (every evaluation; the fresh check last), and the
    table. ``target`` is None for a forecast stored before its target was kept with it."""
    within = f"under {target:.1%}" if target is not None else "under its target (not recorded with this run)"
    question = f"{name}: which reorder policy keeps P(a subject waits for product) {within}?"
    fresh = search[search["seeds"] == "fresh"]
    if fresh.empty:
        view.answer(
            question,
            "none up to the search's limit, with 95% confidence: the stock-outs come from something a reorder "
            "policy cannot fix (campaign capacity, lead time, lot failures, shelf life)",
        )
    else:
        f = fresh.iloc[-1]
        replicates = int(f["replicates"])
        low, high = wilson_interval(round(f["stockout_risk"] * replicates), replicates)
        verdict = (
            "" if target is None else (" within the target;" if f["stockout_risk"] <= target else " ABOVE the target;")
        )
        view.answer(
            question,
            f"reorder point {int(f['reorder_point'])} vials looking {f['lookahead_days']:.0f} days ahead: on "
            f"{replicates} fresh replicates (seed {fresh_seed}, unseen by the search), P(a subject waits for "
            f"product) {f['stockout_risk']:.1%} (95% interval {low:.1%} to {high:.1%}),{verdict} "
            f"{f['mean_lots_started']:.1f} lots started and {f['mean_vials_expired']:.1f} vials expired per "
            "replicate on average",
        )
        same = (search["reorder_point"] == f["reorder_point"]) & (search["lookahead_days"] == f["lookahead_days"])
        validated = search[(search["seeds"] == "validation") & same]  # the plan's own confirmation
        if len(validated):
            v = validated.iloc[-1]
            view.notes.append(
                f"{name}: on the validation seeds that confirmed the plan, {v['stockout_risk']:.1%} (upper bound "
                f"{v['upper_95']:.1%}); figures on the seeds that picked a plan flatter it, so quote the fresh ones."
            )
    view.table(
        f"{name}: lot plan search (P(stock-out) upper 95% bound {within})",
        search,
        "A candidate with fewer replicates was stopped once its stock-outs so far failed the target whatever "
        "the rest would show: the same decision as running them all.",
    )


def lot_plan_view(plan: LotPlan, name: str, seed: int, schedule: bool = True) -> View:
    """The reorder policy the lot planner found for one scenario, the dated lot starts of its
    fresh check (unless ``schedule`` is False: a product view of that check follows), and every
    evaluation the search made (search seeds ``seed``)."""
    view = View(f"Lot plan: {name} (search seeds {seed})")
    lot_plan_parts(view, name, plan.search_table(), plan.target, plan.fresh_seed)
    view.exports.append(("lot_plan_search", plan.search_table()))
    if schedule and plan.fresh is not None and plan.fresh_tables is not None and plan.scenario is not None:
        schedule = lot_starts(plan.fresh_tables.lots, plan.fresh.replicates, plan.scenario.start_date)
        view.table(f"{name}: the plan's dated lot starts (reorder point {plan.fresh.point}, fresh seeds)", schedule)
    return view


def stored_lot_plan_view(runs: list[RunRecord]) -> View:
    """Stored lot plans (``supply --target-stockout``, the Plan lots button): each plan's answer
    and search, then the product as the plan runs it on its fresh seeds."""
    named = display_names(runs)
    view = View("Lot plans: " + ", ".join(named) if named else "Lot plans")
    for name, run in named.items():
        m = run.manifest
        lot_plan_parts(
            view, name, run.tables["lot_plan_search"], m.get("target_stockout"), m.get("lot_plan_fresh_seed")
        )
        view.notes.append(
            f"{name}: searched on seeds {m.get('search_seed')}; the product below is the plan's fresh run."
        )
    view.extend(product_view(runs))
    return view
