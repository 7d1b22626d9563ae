"""Lot size as a decision: the fill, the vials past it, what lots cost, and a plan that finds the
cheapest (lot size, policy) where the optimum is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ctdild_sim.analysis.costs import lot_costs, lot_totals, plan_savings, replicate_costs
from ctdild_sim.analysis.supply_metrics import lot_table
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.scenario.trial import with_lot_size
from ctdild_sim.studies.lot_plan import cost_risk_frontier, plan_lots

from conftest import BASE_SCENARIO, fixed, make_scenario, with_product

F, C = 1000.0, 100.0
"""A campaign's fixed cost and the cost of each vial it fills, in the hand-worked plan."""


def one_cohort(fill_range=(2, 20)) -> object:
    """Four subjects, one infusion of 2 vials each (8 vials in all), lots of 20 whole vials
    (1.025e9 cells) made in 5 days and released 2 days later, never failing or expiring; only
    lots cost (F a campaign, C a vial filled)."""
    product = with_product(
        lots={
            "lead_time_days": fixed(5),
            "yield_cells": fixed(1.025e9),
            "qc_release_days": fixed(2),
            "fill_range": {"min_vials": fill_range[0], "max_vials": fill_range[1]},
        },
        initial_lots=0,
        policy={"kind": "reorder_point", "reorder_point_vials": 4},
        order_on_stockout=True,
        costs={"lot_fixed": F, "per_vial": C, "storage_per_vial_month": 0.0, "delay_per_day": 0.0},
    )
    return make_scenario(
        cohorts=[{"name": "one", "size": 4, "infusions": 1, "dose_cells_per_kg": 1e6}], product=product
    )


def test_the_cheapest_lot_size_and_point_are_found_where_the_optimum_is_known_by_hand():
    # n lots of f vials cost n (F + C f). A reorder point p orders until the lots' vials reach the
    # 8 the subjects need plus p, so n = ceil((8 + p) / f); p = 0 never orders before a subject
    # waits. With p = 1 one lot of 9 vials (F + 9C = 1,900) covers everyone from day 7, and every
    # other choice costs more: 10 vials 2,000; 8 vials need two lots (3,600).
    scenario = one_cohort()
    plan = plan_lots(scenario, 0.2, replicates=20, seed=1, extra_lookaheads=(0.0, 56.0))
    assert plan.met
    assert (plan.fresh.fill_vials, plan.fresh.point) == (9, 1)
    assert plan.fresh.mean_cost == pytest.approx(F + 9 * C) and plan.fresh.risk == 0.0
    assert plan.fresh.mean_lots_started == 1 and plan.fresh.mean_vials_not_filled == 11  # 20 whole vials, 9 filled
    sizes = {e.fill_vials for e in plan.tried}
    assert sizes >= {2, 11, 20, 9, 10}  # the grid, then around the cheapest down to single vials
    costs = {e.fill_vials: e.mean_cost for e in plan.tried if e.seeds == "search" and e.point == 1}
    assert costs[10] == pytest.approx(F + 10 * C) and costs[8] == pytest.approx(2 * (F + 8 * C))


def test_a_lot_fills_at_most_its_size_and_the_rest_is_counted():
    scenario = with_lot_size(one_cohort(), 9)
    result = run_replicate(scenario, 4, 0)
    lots = lot_table([result])
    assert len(lots) == 2  # one ordered on day 0, one when the claims took the projection below 4
    assert set(lots["vials"]) == {9} and set(lots["vials_not_filled"]) == {11}


def test_the_expected_vials_a_lot_fills_is_the_sum_of_its_yields_survival():
    # E[min(f, floor(Y / v))] = sum over k = 1..f of P(Y >= k v), against lots drawn by the engine
    scenario = load_scenario(BASE_SCENARIO)
    product = with_lot_size(scenario, 30).product
    closed = product.expected_vials_per_lot
    rng = np.random.default_rng(7)
    cells = product.lots.yield_cells.sample_many(rng, 200_000)
    drawn = np.array([product.vials_filled(c)[0] for c in cells])
    assert closed == pytest.approx(drawn.mean(), abs=4 * drawn.std() / math.sqrt(len(drawn)))
    assert closed < 30 and product.expected_good_vials_per_lot == pytest.approx(closed * 0.9)
    # without a lot size: the mean yield in vials, as before lot size was a decision
    assert scenario.product.expected_vials_per_lot == scenario.product.lots.yield_cells.mean / 5e7


def test_lots_priced_from_the_metrics_cost_what_the_lot_table_says():
    scenario = with_lot_size(load_scenario(BASE_SCENARIO), 25)
    tables = run_scenario(scenario, 12, seed=3, keep_events=0)
    metrics, lots = tables.metrics, tables.lots
    assert (lots["vials"] <= 25).all() or lots["initial_stock"].any()
    from_metrics = replicate_costs(metrics, None, scenario)
    old_style = metrics.drop(columns=["lots_made", "vials_made", "lot_shares_wasted"])
    from_lots = replicate_costs(old_style, lots, scenario)
    pd.testing.assert_frame_equal(from_metrics, from_lots, check_exact=False, rtol=1e-12)
    per_lot = lot_costs(lots, scenario.product.costs).groupby("replicate")[["cost", "waste_cost"]].sum()
    assert from_metrics["manufacturing"].to_numpy() == pytest.approx(per_lot["cost"].to_numpy())
    assert from_metrics["waste"].to_numpy() == pytest.approx(per_lot["waste_cost"].to_numpy())
    assert (from_metrics["waste"] > 0).any()
    totals = lot_totals(lots)
    assert list(totals["lots_made"]) == list(metrics["lots_made"])
    assert metrics["vials_not_filled"].sum() == lots["vials_not_filled"].sum() > 0


def test_savings_are_paired_differences_with_their_interval():
    scenario = one_cohort()
    base = {
        "replicate": [0, 1, 2, 3],
        "lplv_day": [100.0] * 4,
        "end_day": [100.0] * 4,
        "stopped_early": [False] * 4,
        "n_infusions": [4] * 4,
        "vial_days_in_stock": [0.0] * 4,
        "vials_expired": [10, 12, 8, 10],
        "vials_wasted": [0] * 4,
        "vials_destroyed": [0] * 4,
        "vials_not_filled": [0] * 4,
        "lots_started": [2, 2, 2, 2],
        "lots_made": [2, 2, 2, 2],
        "vials_made": [20, 20, 20, 20],
        "lot_shares_wasted": [0.5, 0.6, 0.4, 0.5],
        "stockout_events": [1, 0, 0, 0],
        "patient_days_waiting_for_product": [3.0, 0, 0, 0],
    }
    reference = pd.DataFrame(base)
    plan = reference.assign(
        vials_made=[9] * 4,
        lots_made=[1] * 4,
        lots_started=[1] * 4,
        vials_expired=[1, 1, 1, 1],
        lot_shares_wasted=[1 / 9] * 4,
        vials_not_filled=[11] * 4,
        stockout_events=[0] * 4,
        patient_days_waiting_for_product=[0.0] * 4,
    )
    rows = plan_savings(plan.sample(frac=1, random_state=1), reference, scenario).set_index("measure")
    total = rows.loc["Expected cost: total"]
    assert total["scenario_mean"] == pytest.approx(2 * F + 20 * C) and total["plan_mean"] == pytest.approx(F + 9 * C)
    assert total["saving_difference"] == pytest.approx(-(F + 11 * C))
    expired = rows.loc["Vials expired"]
    d = np.array([1, 1, 1, 1]) - np.array([10, 12, 8, 10])
    half = 1.959963984540054 * d.std(ddof=1) / 2
    assert (expired["saving_low"], expired["saving_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert rows.loc["P(a subject waits for product)", "saving_difference"] == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="replicates differ"):
        plan_savings(plan.head(3), reference, scenario)


def test_the_frontier_keeps_the_validated_candidates_no_other_beats_on_cost_and_risk():
    rows = [  # seeds, fill, look-ahead, point, replicates, risk, cost
        ("search", 9, 7, 1, 100, 0.00, 100.0),  # search seeds: never on the frontier
        ("validation", 9, 7, 1, 100, 0.04, 300.0),
        ("validation", 9, 7, 2, 100, 0.02, 350.0),
        ("validation", 9, 7, 3, 100, 0.03, 400.0),  # beaten by point 2 on both
        ("validation", 9, 7, 5, 100, 0.00, 550.0),
        ("validation", 9, 7, 0, 40, 0.20, 50.0),  # stopped early: not every replicate
    ]
    search = pd.DataFrame(
        [
            {
                "seeds": s,
                "fill_vials": f,
                "lookahead_days": a,
                "reorder_point": p,
                "replicates": n,
                "stockout_risk": r,
                "upper_95": r + 0.01,
                "mean_cost": c,
                "mean_waste_cost": 0.0,
                "mean_delay_cost": 0.0,
                "mean_lots_started": 1.0,
                "mean_vials_expired": 0.0,
            }
            for s, f, a, p, n, r, c in rows
        ]
    )
    frontier = cost_risk_frontier(search, target=0.04)
    assert list(frontier["reorder_point"]) == [5, 2, 1]
    # one point of risk less: (550 - 350) / 2 points and (350 - 300) / 2 points
    assert list(frontier["cost_per_point"].iloc[:2]) == pytest.approx([100.0, 25.0])
    assert math.isnan(frontier["cost_per_point"].iloc[2])
    assert list(frontier["meets_target"]) == [True, True, False]


def test_a_lot_size_outside_the_allowed_range_is_refused():
    product = one_cohort().product
    with pytest.raises(ValueError, match=r"fill_vials \(=30\) is outside lots.fill_range \(2 to 20 vials\)"):
        type(product).model_validate({**product.model_dump(), "fill_vials": 30})


def test_the_fresh_check_is_judged_by_the_rule_the_search_applies():
    from ctdild_sim.studies.lot_plan import Evaluation, LotPlan, wilson_upper
    from ctdild_sim.views.lot_plan import lot_plan_view

    best = Evaluation(12, 166.0, 200, 2, 6.8, 90.0, seeds="validation", fill_vials=24)

    def verdict(stockouts: int) -> str:
        fresh = Evaluation(12, 166.0, 200, stockouts, 6.9, 91.0, seeds="fresh", fill_vials=24)
        plan = LotPlan(0.05, best=best, tried=[best], fresh=fresh, fresh_seed=1)
        return lot_plan_view(plan, "base", 7).answers[0].answer

    assert wilson_upper(4, 200) <= 0.05 < wilson_upper(8, 200)
    assert "lots of 24 vials, reorder point 12" in verdict(4)
    assert "within the target with 95% confidence" in verdict(4)
    assert f"though not with 95% confidence (upper bound {wilson_upper(8, 200):.1%})" in verdict(8)
    assert "ABOVE the target" in verdict(12)


@pytest.mark.slow
def test_a_forecast_plans_lots_of_the_sizes_asked_for(tmp_path):
    from click.testing import CliRunner

    from ctdild_sim.cli import main

    from conftest import FORECAST_EXAMPLE

    out = tmp_path / "out"
    args = [*FORECAST_EXAMPLE, "-n", "20", "--plan-replicates", "20", "--target-stockout", "0.3", "--lot-size", "24"]
    result = CliRunner().invoke(main, [*args, "--no-store", "--quiet", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    search = pd.read_parquet(out / "lot_plan_search.parquet")
    assert set(search["fill_vials"]) == {24}
    assert "lots of 24 vials" in " ".join(result.stdout.split())
