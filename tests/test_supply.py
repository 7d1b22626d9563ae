"""The AD-MSC product supply: dose arithmetic, lots, FEFO inventory, stock-outs and their delays."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.scenario.loading import load_scenario

from conftest import BASE_SCENARIO, fixed, make_scenario, with_product


def metrics_of(scenario, seed=1, replicate=0):
    result = run_replicate(scenario, seed, replicate)
    return result, replicate_metrics(result, scenario)


class TestDoseArithmetic:
    def test_vials_per_dose_round_up(self):
        product = make_scenario(product=with_product()).product
        assert product.vials_per_dose(60, 1e6) == 2  # 6e7 cells in 5e7-cell vials
        assert product.vials_per_dose(50, 1e6) == 1  # exactly one vial
        assert product.vials_per_dose(50.01, 1e6) == 2
        assert product.vials_per_dose(150, 1e6) == 3

    def test_overage_is_added_before_rounding(self):
        product = make_scenario(product=with_product(overage_fraction=0.1)).product
        assert product.vials_per_dose(50, 1e6) == 2  # 5.5e7
        assert product.vials_per_dose(100, 1e6) == 3  # 1.1e8 is 2.2 vials
        assert product.vials_per_dose(90.9090909090909, 1e6) == 2  # 1e8 up to float noise: 2, not 3

    def test_no_product_section_means_no_vials(self, deterministic):
        _, m = metrics_of(deterministic)
        assert m["vials_used"] == 0 and m["stockout_events"] == 0 and m["lots_ordered"] == 0


def test_ample_stock_exact_totals_and_no_delay(deterministic):
    # 20 infusions of 60 kg x 1e6 cells/kg = 6e7 cells -> 2 vials of 5e7 each: 40 vials, exactly
    # the initial lot. The timeline is that of the scenario without a product section.
    scenario = make_scenario(product=with_product())
    result, m = metrics_of(scenario)
    _, plain = metrics_of(deterministic)
    assert m["vials_used"] == 40
    assert m["cells_in_vials_used"] == pytest.approx(40 * 5e7)
    assert m["cells_infused"] == pytest.approx(20 * 6e7)
    assert m["stockout_events"] == 0 and m["patient_days_waiting_for_product"] == 0
    assert m["vials_on_hand"] == 0 and m["vials_expired"] == 0
    assert m["lplv_day"] == plain["lplv_day"] == 228
    [lot] = result.lots
    assert (lot.vials, lot.used, lot.free) == (40, 40, 0)


def test_scarce_stock_delays_infusions_and_gates_by_hand():
    # No stock on day 0; one lot ordered on day 0: 50 days' campaign + 20 days' QC -> released on
    # 70. Cohort 1's subjects are ready on 36, 41 and 46 and all wait for day 70 (waits of 34, 29
    # and 24 days, three stock-outs). Their holds end on 98 instead of 74: every later milestone
    # moves by 24 days (gate 2: 137 -> 161, LPLV: 228 -> 252).
    scenario = make_scenario(
        product=with_product(
            initial_lots=0,
            lots={"lead_time_days": fixed(50), "qc_release_days": fixed(20)},
            policy={"kind": "schedule", "start_days": [0]},
        )
    )
    result, m = metrics_of(scenario)
    assert m["first_infusion_day"] == 70
    assert m["cohort1_gate_day"] == 98
    assert m["cohort2_gate_day"] == 161
    assert m["lplv_day"] == 252
    assert m["stockout_events"] == 3
    assert m["patient_days_waiting_for_product"] == pytest.approx(34 + 29 + 24)
    assert [e.day for e in result.events if e.event == "lot_released"] == [70]


def test_one_short_dose_waits_for_the_next_lot_by_hand():
    # 38 vials on day 0 and the next lot ordered on day 190 (released 190 + 30 + 14 = 234). Before
    # cohort 3, 3 + 8 infusions use 22 vials; cohort 3 needs 18 and 16 are left, so the last of
    # the three third doses (due on day 200) waits 34 days, whether doses are claimed at
    # enrolment (the third subject's third claim is the one left unserved) or at admission
    # (the last of the three admissions on day 200 finds the shelf empty). LPLV moves 228 -> 262.
    for reserve_at in ("enrolment", "admission"):
        scenario = make_scenario(
            product=with_product(
                reserve_at=reserve_at,
                lots={"yield_cells": fixed(1.9e9)},  # 38 vials
                policy={"kind": "schedule", "start_days": [190]},
            )
        )
        result, m = metrics_of(scenario)
        assert m["vials_used"] == 40, reserve_at
        assert m["stockout_events"] == 1, reserve_at
        assert m["patient_days_waiting_for_product"] == pytest.approx(34), reserve_at
        assert m["lplv_day"] == 262, reserve_at
        assert result.outcome == "completed"


def test_thaw_window_waste_is_rethawed():
    # With a 1-hour window and a uniform 0-2 h thaw-to-infusion time about half the thaws are
    # wasted; each wasted thaw costs a dose's vials and is followed by another thaw.
    scenario = make_scenario(
        product=with_product(
            thaw_to_infusion_hours={"dist": "uniform", "low": 0, "high": 2},
            thaw_window_hours=1.0,
            lots={"yield_cells": fixed(2e10)},  # 400 vials: plenty
        )
    )
    result, m = metrics_of(scenario, seed=3)
    thawed = sum(e.value for e in result.events if e.event == "vials_thawed")
    assert m["vials_wasted"] > 0
    assert thawed == m["vials_used"] + m["vials_wasted"]
    assert m["vials_used"] == 40


def test_lot_failure_destroys_the_lot_and_the_safety_net_orders_another():
    scenario = make_scenario(
        product=with_product(
            initial_lots=0,
            lots={"failure_probability": 0.5},
            policy={"kind": "schedule", "start_days": [0]},
            order_on_stockout=True,
        )
    )
    outcomes = Counter()
    for r in range(40):
        result, m = metrics_of(scenario, replicate=r)
        assert result.outcome == "completed"
        outcomes[m["lots_failed"] > 0] += 1
        assert m["vials_destroyed"] == 40 * m["lots_failed"]
    assert outcomes[True] > 0 and outcomes[False] > 0


def test_screen_expiry_while_waiting_for_product_loses_the_subject():
    # Window of 20 days and product only on day 70: cohort 1's subjects (screens passed on 29,
    # 34, 39) are lost on 49, 54, 59 and replaced by the next candidates, who also wait.
    scenario = make_scenario(
        screening={"window_days": 20},
        retention={"replace_non_evaluable": True},
        product=with_product(
            initial_lots=0,
            on_screen_expiry="lost",
            lots={"lead_time_days": fixed(50), "qc_release_days": fixed(20)},
            policy={"kind": "schedule", "start_days": [0]},
        ),
    )
    result, m = metrics_of(scenario)
    lost = [(e.day, e.patient_id) for e in result.events if e.event == "lost"]
    assert lost[:3] == [(49, 1), (54, 2), (59, 3)]
    assert m["n_lost_waiting_for_product"] >= 3
    assert result.outcome == "completed"


HARSH = {
    "thaw_to_infusion_hours": {"dist": "lognormal", "median": 1.0, "p90": 2.5},
    "lots": {
        "lead_time_days": {"dist": "lognormal", "median": 30, "p90": 60},
        "yield_cells": {"dist": "lognormal", "median": 8e8, "p90": 2e9},
        "qc_release_days": {"dist": "uniform", "low": 10, "high": 30},
        "failure_probability": 0.3,
        "shelf_life_days": 150,
        "max_parallel_campaigns": 1,
    },
    "initial_stock_age_days": 100,
    "min_remaining_shelf_life_days": 10,
    "order_on_stockout": True,
}

POLICIES = [
    {"kind": "reorder_point", "reorder_point_vials": 6},
    {"kind": "reorder_point", "reorder_point_vials": 20, "lookahead_days": 90},
    {"kind": "make_to_order", "cover": 1.0},
    {"kind": "schedule", "start_days": [0, 100, 200, 400]},
]

BASE = load_scenario(BASE_SCENARIO)
HARSH_SCENARIOS = {
    (i, reserve_at): make_scenario(
        sites=[s.model_dump(by_alias=True) for s in BASE.sites],
        population=BASE.population.model_dump(by_alias=True),
        product=with_product(**HARSH, policy=policy, reserve_at=reserve_at),
    )
    for i, policy in enumerate(POLICIES)
    for reserve_at in ("enrolment", "admission")
}

cases = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 1000), st.sampled_from(sorted(HARSH_SCENARIOS)))
common = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(cases)
def test_every_vial_is_accounted_for(case):
    seed, r, key = case
    scenario = HARSH_SCENARIOS[key]
    result, m = metrics_of(scenario, seed, r)
    for lot in result.lots:
        if math.isnan(lot.filled_day):
            assert lot.used == lot.wasted == lot.expired == lot.destroyed == lot.on_hand == 0
            continue
        assert lot.vials == lot.used + lot.wasted + lot.expired + lot.destroyed + lot.on_hand, lot
        assert min(lot.free, lot.reserved, lot.used, lot.wasted, lot.expired, lot.destroyed) >= 0
    assert (
        m["vials_filled"]
        == m["vials_used"] + m["vials_wasted"] + m["vials_expired"] + m["vials_destroyed"] + m["vials_on_hand"]
    )
    vial_cells = scenario.product.vial_cells
    assert m["cells_filled"] == pytest.approx(m["vials_filled"] * vial_cells)
    assert sum(lot.yield_cells for lot in result.lots if not math.isnan(lot.filled_day)) >= m["cells_filled"]
    # each infusion uses exactly its dose's vials, which hold at least the dose
    assert m["vials_used"] == sum(p.infusions_given * p.vials_per_dose for p in result.patients)
    for p in result.patients:
        assert p.infusions_given * p.vials_per_dose * vial_cells >= p.cells_infused - 1e-3


@common
@given(cases)
def test_allocation_is_fefo_from_released_unexpired_lots(case):
    seed, r, key = case
    scenario = HARSH_SCENARIOS[key]
    result = run_replicate(scenario, seed, r)
    lots = {lot.lot_id: lot for lot in result.lots}
    min_left = scenario.product.min_remaining_shelf_life_days
    for a in result.allocations:
        for lot_id, k in a.taken:
            lot = lots[lot_id]
            assert k > 0
            assert lot.released_day <= a.day, "allocated from an unreleased lot"
            assert math.isnan(lot.failed_day), "allocated from a failed lot"
            assert lot.expiry_day - a.day >= min_left, "allocated from an expired or expiring lot"
        latest = max(lots[lot_id].expiry_day for lot_id, _ in a.taken)
        for lot_id, expiry, free in a.usable_after:
            if expiry < latest:
                assert free == 0, f"lot {lot_id} expires sooner but kept {free} vials"


@common
@given(cases)
def test_no_infusion_without_its_vials(case):
    seed, r, key = case
    result = run_replicate(HARSH_SCENARIOS[key], seed, r)
    thawed = Counter()
    infused = Counter()
    for e in result.events:
        if e.event == "vials_thawed":
            thawed[e.patient_id] += 1
        elif e.event == "infused":
            infused[e.patient_id] += 1
            assert thawed[e.patient_id] >= infused[e.patient_id]


def test_make_to_order_by_hand():
    # No stock; cohort 1 opens on day 0 needing 3 x 1 x 2 = 6 vials, so one 40-vial lot is ordered
    # then and released on day 44. Subjects ready on 36 and 41 wait 8 and 3 days, the one ready on
    # 46 does not; the last hold still ends on 74, so gate 1 does not move. Cohorts 2 and 3 need
    # 16 and 18 vials, which the 34 left cover: no further lot.
    scenario = make_scenario(product=with_product(initial_lots=0, policy={"kind": "make_to_order", "cover": 1.0}))
    result, m = metrics_of(scenario)
    assert [e.day for e in result.events if e.event == "lot_ordered"] == [0]
    assert m["stockout_events"] == 2
    assert m["patient_days_waiting_for_product"] == pytest.approx(8 + 3)
    assert m["cohort1_gate_day"] == 74 and m["lplv_day"] == 228
    assert m["vials_used"] == 40 and m["vials_on_hand"] == 0
