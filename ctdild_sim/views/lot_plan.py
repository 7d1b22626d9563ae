"""A lot plan (``ctdild-sim supply --target-stockout``, the Plan lots button, a forecast's plan):
the reorder policy found, headlined by its figures on fresh seeds, and every evaluation made."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdild_sim.analysis.costs import plan_savings
from ctdild_sim.analysis.supply_summary import lot_starts
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.lot_plan import LotPlan, cost_risk_frontier, wilson_interval, wilson_upper
from ctdild_sim.views.columns import counted, fmt_in_unit, missing
from ctdild_sim.views.figures import frontier_figure
from ctdild_sim.views.product import lot_size_text, product_view
from ctdild_sim.views.view import View, display_names


def lot_plan_parts(
    view: View,
    name: str,
    search: pd.DataFrame,
    target: float | None,
    fresh_seed: int | None,
    savings: pd.DataFrame | None = None,
    currency: str = "",
) -> list[tuple[str, pd.DataFrame]]:
    """The plan's answer from its search table (every evaluation; the fresh check last), what it
    saves against the scenario's own decisions (``savings``, from ``plan_savings``), its cost-risk
    frontier and the search table. ``target`` is None for a forecast stored before its target was
    kept with it. Returns the tables made here (savings, frontier), named for ``--out``."""
    within = f"under {target:.1%}" if target is not None else "under its target (not recorded with this run)"
    question = f"{name}: which lot size and reorder policy keep P(a subject waits for product) {within} at least cost?"
    fresh = search[search["seeds"] == "fresh"]
    chosen = None
    if fresh.empty:
        view.answer(
            question,
            "none up to the search's limit, with 95% confidence: the stock-outs come from something a reorder "
            "policy cannot fix (campaign capacity, lead time, lot failures, shelf life)",
        )
    else:
        f = fresh.iloc[-1]
        fill = f.get("fill_vials", np.nan)
        chosen = (fill, f["reorder_point"], f["lookahead_days"])
        replicates = int(f["replicates"])
        stockouts = round(f["stockout_risk"] * replicates)
        low, high = wilson_interval(stockouts, replicates)
        verdict = "" if target is None else _verdict(f["stockout_risk"], wilson_upper(stockouts, replicates), target)
        cost = f.get("mean_cost", np.nan)
        priced = (
            ""
            if missing(cost)
            else (
                f" expected cost {fmt_in_unit(cost, 'money', currency)} per replicate (of which wasted product "
                f"{fmt_in_unit(f['mean_waste_cost'], 'money', currency)}, delay "
                f"{fmt_in_unit(f['mean_delay_cost'], 'money', currency)});"
            )
        )
        view.answer(
            question,
            f"{lot_size_text(fill)}, reorder point {int(f['reorder_point'])} vials looking {f['lookahead_days']:.0f} "
            f"days ahead: on {replicates} fresh replicates (seed {fresh_seed}, unseen by the search), P(a subject "
            f"waits for product) {f['stockout_risk']:.1%} (95% interval {low:.1%} to {high:.1%}),{verdict}{priced} "
            f"{f['mean_lots_started']:.1f} lots started and {f['mean_vials_expired']:.1f} vials expired per "
            "replicate on average",
        )
        same = (search["reorder_point"] == f["reorder_point"]) & (search["lookahead_days"] == f["lookahead_days"])
        if "fill_vials" in search.columns:
            same &= (search["fill_vials"] == fill) | (search["fill_vials"].isna() & missing(fill))
        validated = search[(search["seeds"] == "validation") & same]  # the plan's own confirmation
        if len(validated):
            v = validated.iloc[-1]
            view.notes.append(
                f"{name}: on the validation seeds that confirmed the plan, {v['stockout_risk']:.1%} (upper bound "
                f"{v['upper_95']:.1%}); figures on the seeds that picked a plan flatter it, so quote the fresh ones."
            )
    made: list[tuple[str, pd.DataFrame]] = []
    if savings is not None and len(savings):
        made.append(("lot_plan_savings", savings))
        rows = savings.set_index("measure")
        said = [
            f"{_in_a_sentence(label)} {_signed(r, 'saving_difference')} (95% {_signed(r, 'saving_low')} to "
            f"{_signed(r, 'saving_high')})"
            for label, r in rows.iterrows()
            if not label.startswith("of which")
        ]
        view.answer(
            f"{name}: the plan against the scenario's own lot size and stock policy, on the same fresh replicates",
            "; ".join(said),
        )
        view.table(
            f"{name}: the plan against the scenario's own decisions (plan minus scenario, paired on the fresh seeds)",
            savings,
            "Negative differences are savings, positive ones what the plan costs more. Both are simulated on the "
            "plan's fresh seeds, replicate by replicate; a P(wait) difference is in percentage points.",
        )
    frontier = cost_risk_frontier(search, target)
    made.append(("lot_plan_frontier", frontier))
    if len(frontier) > 1:
        view.table(
            f"{name}: the cost-risk frontier, on the validation seeds (candidates no other beats on cost and risk)",
            frontier,
            "Each candidate is simulated on the validation seeds with every replicate, so its costs compare with the "
            "other rows', not with the headline's fresh seeds; the cost of one point less risk is against the next "
            "riskier candidate. A candidate meets the target when its one-sided 95% upper bound does.",
        )
        view.figure(
            f"frontier: {name}",
            frontier_figure,
            frontier,
            chosen,
            target,
            currency,
            caption=(
                "What each point of stock-out risk costs: the plan is the cheapest candidate whose one-sided 95% "
                "upper bound of risk is within the target; hollow points, whose bound is above it, do not meet it."
            ),
        )
    title = f"{name}: lot plan search (P(stock-out) upper 95% bound {within})"
    view.long.add(title)  # every evaluation: the dashboard, the packs and --out have it, not the terminal
    view.notes.append(
        f"{name}: the search made {counted(len(search), 'evaluation')}; the dashboard and the report list them, "
        "--out writes them (lot_plan_search)."
    )
    view.table(
        title,
        search,
        "A candidate with fewer replicates was stopped once its stock-outs so far failed the target whatever "
        "the rest would show: the same decision as running them all.",
    )
    return made


def _verdict(risk: float, upper: float, target: float) -> str:
    """Whether the fresh check meets the target, by the rule the search applies (the one-sided 95%
    upper bound), and where only the estimate is within it, saying so."""
    if upper <= target:
        return " within the target with 95% confidence;"
    if risk <= target:
        return f" within the target, though not with 95% confidence (upper bound {upper:.1%});"
    return " ABOVE the target;"


def _in_a_sentence(label: str) -> str:
    """A measure's label inside a sentence: lower case, but "P(...)" kept."""
    return label if label.startswith("P(") else label[0].lower() + label[1:]


def _signed(row: pd.Series, column: str) -> str:
    return fmt_in_unit(row[column], row["unit"], row["currency"], signed=True)


def savings_of(
    plan_metrics: pd.DataFrame | None, baseline: pd.DataFrame | None, scenario: Scenario
) -> pd.DataFrame | None:
    """``plan_savings`` where both runs are there (a plan stored before they were kept has none)."""
    if plan_metrics is None or baseline is None:
        return None
    return plan_savings(plan_metrics, baseline, scenario)


def currency_of(scenario: Scenario) -> str:
    product = scenario.product
    return product.costs.currency if product is not None and product.costs is not None else ""


def lot_plan_view(plan: LotPlan, name: str, seed: int, schedule: bool = True) -> View:
    """The reorder policy the lot planner found for one scenario, the dated lot starts of its
    fresh check (unless ``schedule`` is False: a product view of that check follows), and every
    evaluation the search made (search seeds ``seed``)."""
    view = View(f"Lot plan: {name} (search seeds {seed})")
    savings = None
    if plan.fresh_tables is not None and plan.scenario is not None:
        savings = savings_of(plan.fresh_tables.metrics, plan.baseline_metrics, plan.scenario)
    currency = currency_of(plan.scenario) if plan.scenario is not None else ""
    search = plan.search_table()
    made = lot_plan_parts(view, name, search, plan.target, plan.fresh_seed, savings, currency)
    view.exports += [("lot_plan_search", search), *made]
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
        baseline = run.tables.get("lot_plan_baseline")
        savings = savings_of(run.tables["metrics"], baseline, run.scenario)
        lot_plan_parts(
            view,
            name,
            run.tables["lot_plan_search"],
            m.get("target_stockout"),
            m.get("lot_plan_fresh_seed"),
            savings,
            currency_of(run.scenario),
        )
        view.notes.append(
            f"{name}: searched on seeds {m.get('search_seed')}; the product below is the plan's fresh run."
        )
    view.extend(product_view(runs))
    return view
