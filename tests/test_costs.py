"""The cost block: storage measured in vial-days, lot and waste costs, delay, cost per dose."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pydantic
import pytest

from ctdild_sim.analysis.compare import mean_difference
from ctdild_sim.analysis.costs import (
    DAYS_PER_MONTH,
    cost_per_dose,
    cost_summary,
    lot_costs,
    replicate_costs,
)
from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.analysis.supply_metrics import lot_table
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.scenario.product import Costs
from ctdild_sim.views import run_figures as figures

from conftest import make_scenario, with_product

# fmt: off
COSTS = {"currency": "EUR", "lot_fixed": 1000.0, "per_vial": 10.0, "storage_per_vial_month": 2.0,
         "delay_per_day": 100.0}
# fmt: on


def test_vial_days_in_stock_is_the_time_each_vial_waits():
    # One lot of exactly 40 vials released on day 0 and used up by 20 infusions of 2 vials: the
    # stock integrates to the sum over thaws of (vials x day thawed).
    scenario = make_scenario(product=with_product())
    result = run_replicate(scenario, 1, 0)
    m = replicate_metrics(result, scenario)
    assert m["vials_on_hand"] == 0 and m["vials_used"] == 40
    thaws = [(e.day, e.value) for e in result.events if e.event == "vials_thawed"]
    assert sum(v for _, v in thaws) == 40
    assert m["vial_days_in_stock"] == pytest.approx(sum(day * v for day, v in thaws))


def test_replicate_costs_on_a_deterministic_trial():
    scenario = make_scenario(product=with_product(costs=COSTS))
    result = run_replicate(scenario, 1, 0)
    metrics = pd.DataFrame([{"replicate": 0, **replicate_metrics(result, scenario)}])
    costs = replicate_costs(metrics, lot_table([result]), scenario).iloc[0]
    assert costs["manufacturing"] == 1000 + 10 * 40
    assert costs["storage"] == pytest.approx(2.0 * metrics["vial_days_in_stock"][0] / DAYS_PER_MONTH)
    late = max(0.0, math.floor(metrics["lplv_day"][0]) - scenario.day_of(scenario.registered_completion_date))
    assert costs["delay"] == 100.0 * late
    assert costs["total"] == pytest.approx(costs["manufacturing"] + costs["storage"] + costs["delay"])
    assert costs["waste"] == 0 and costs["infusions"] == 20 and not costs["delay_censored"]


def test_wasted_vials_carry_their_lots_cost_and_an_unfilled_failed_lot_is_waste_whole():
    lots = pd.DataFrame(
        {
            "replicate": [0, 0, 1],
            "lot_id": [1, 2, 1],
            "vials": [10, 0, 20],
            "failed_day": [math.nan, 80.0, math.nan],
            "vials_expired": [6, 0, 0],
            "vials_wasted": [1, 0, 0],
            "vials_destroyed": [0, 0, 20],
        }
    )
    per_lot = lot_costs(lots, Costs(**COSTS))
    assert list(per_lot["cost"]) == [1100.0, 1000.0, 1200.0]
    assert list(per_lot["waste_cost"]) == [7 * 110.0, 1000.0, 1200.0]  # a lot destroyed at QC is wasted whole


def test_delay_of_a_trial_that_never_finishes_is_a_censored_lower_bound():
    scenario = make_scenario(product=with_product(costs=COSTS))
    registered = scenario.day_of(scenario.registered_completion_date)
    metrics = pd.DataFrame(
        {
            "replicate": [0, 1, 2],
            "lplv_day": [registered + 10.5, math.nan, math.nan],
            "end_day": [registered + 11, registered + 500, registered + 20],
            "stopped_early": [False, False, True],
            "n_infusions": [20, 12, 3],
            "vial_days_in_stock": [0.0, 0.0, 0.0],
        }
    )
    lots = pd.DataFrame(
        {
            "replicate": [0],
            "lot_id": [1],
            "vials": [40],
            "failed_day": [math.nan],
            "vials_expired": [0],
            "vials_wasted": [0],
            "vials_destroyed": [0],
        }
    )
    costs = replicate_costs(metrics, lots, scenario)
    assert list(costs["delay"]) == [1000.0, 50_000.0, 2000.0]
    # a stopped trial is charged until it stopped: not censored
    assert list(costs["delay_censored"]) == [
        False,
        True,
        False,
    ]  # a stopped trial is charged until it stopped: not censored
    assert list(costs["manufacturing"]) == [1400.0, 0.0, 0.0]  # replicates without lots cost nothing to make
    assert cost_per_dose(costs) == pytest.approx(1400.0 / 35)


def test_cost_summary_and_paired_difference():
    a = pd.DataFrame(
        {
            "replicate": [0, 1, 2, 3],
            "manufacturing": [1.0, 2, 3, 4],
            "storage": 0.0,
            "delay": 0.0,
            "waste": [0.0, 1, 0, 0],
            "infusions": 1,
        }
    )
    a["total"] = a["manufacturing"]
    summary = cost_summary(a).set_index("item")
    assert summary.loc["Total", "cost_mean"] == 2.5 and summary.loc["Total", "cost_p50"] == 2.0
    assert summary.loc["Total", "cost_p90"] == 4.0
    b = a.assign(total=a["total"] + np.array([1.0, 2.0, 3.0, 2.0]))
    d = mean_difference(a["total"], b["total"])  # the paired difference Compare shows
    se = np.std([1, 2, 3, 2], ddof=1) / 2
    assert (d.estimate, d.pairs) == (2.0, 4) and (d.low, d.high) == pytest.approx(
        (2.0 - 1.96 * se, 2.0 + 1.96 * se), rel=1e-3
    )
    fig = figures.cost_figure({"A": (a, "EUR"), "B": (b, "EUR")})
    assert fig.layout.xaxis.title.text == "EUR"
    assert [t.name for t in fig.data] == [*figures.COST_PARTS.values(), "of which wasted product"]
    assert list(fig.data[0].x) == [2.5, 2.5]


@pytest.mark.parametrize("field", ["lot_fixed", "per_vial", "storage_per_vial_month", "delay_per_day"])
def test_costs_are_checked(field):
    with pytest.raises(pydantic.ValidationError):
        Costs(**{**COSTS, field: -1.0})
    with pytest.raises(pydantic.ValidationError):
        Costs(**{**COSTS, field: float("inf")})
