"""The lot planner: its statistics, and that its plan holds on fresh seeds."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from ctdild_sim.analysis.supply_summary import stockout_risk
from ctdild_sim.runs.runner import simulate_metrics
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.studies import lot_plan
from ctdild_sim.studies.lot_plan import (
    Evaluation,
    _smallest_from,
    _smallest_meeting,
    plan_lots,
    wilson_upper,
    with_reorder_policy,
)

from conftest import BASE_SCENARIO


@pytest.mark.parametrize(("k", "n"), [(0, 50), (3, 60), (30, 100), (99, 100)])
def test_wilson_upper_bound_against_its_definition(k, n):
    # The Wilson bound solves (p_hat - p)^2 = z^2 p (1 - p) / n for the root above p_hat.
    z = stats.norm.ppf(0.95)
    upper = wilson_upper(k, n)
    p_hat = k / n
    assert upper >= p_hat
    assert (p_hat - upper) ** 2 == pytest.approx(z * z * upper * (1 - upper) / n)


def test_policy_replacement_keeps_everything_else():
    scenario = load_scenario(BASE_SCENARIO)
    changed = with_reorder_policy(scenario, 7, 99.0)
    assert changed.product.policy.reorder_point_vials == 7
    assert changed.product.policy.lookahead_days == 99.0
    assert changed.product.lots == scenario.product.lots
    assert changed.cohorts == scenario.cohorts


@pytest.mark.slow
def test_plan_meets_its_target_on_fresh_seeds():
    scenario = load_scenario(BASE_SCENARIO)
    target = 0.10
    plan = plan_lots(scenario, target, replicates=60, seed=11, extra_lookaheads=(0.0, 56.0, 112.0), fills=[None])
    assert plan.met
    assert plan.best.seeds == "validation" and plan.best.upper <= target  # confirmed on seeds the search never used
    # at the chosen look-ahead, every smaller point the search tried failed on the search seeds
    search = [e for e in plan.tried if e.seeds == "search" and e.lookahead_days == plan.best.lookahead_days]
    assert all(e.upper > target for e in search if e.point < min(x.point for x in search if x.upper <= target))
    # the plan's own fresh check: the same policy on a third set of seeds, its figures from that run's tables
    assert plan.fresh.seeds == "fresh" and plan.fresh_seed not in (11, 11 + 7_919_191)
    assert (plan.fresh.point, plan.fresh.lookahead_days) == (plan.best.point, plan.best.lookahead_days)
    assert plan.fresh.risk == stockout_risk(plan.fresh_tables.metrics) and plan.fresh.replicates == 60
    assert plan.fresh_tables.metrics.equals(simulate_metrics(plan.scenario, 60, seed=plan.fresh_seed))
    fresh = simulate_metrics(plan.scenario, 300, seed=987_654)
    risk = stockout_risk(fresh)
    assert risk <= target + 2 * math.sqrt(target * (1 - target) / len(fresh))


def test_without_a_policy_the_base_scenario_misses_the_target():
    # the shipped reorder point of 12 with the default look-ahead stocks out often: the planner
    # has something to fix (this guards the test above against a trivially safe scenario)
    scenario = load_scenario(BASE_SCENARIO)
    assert stockout_risk(simulate_metrics(scenario, 100, seed=5)) > 0.10


@pytest.mark.slow
def test_stopping_failing_candidates_early_keeps_every_decision(monkeypatch):
    scenario = load_scenario(BASE_SCENARIO)
    options = {"replicates": 60, "seed": 11, "extra_lookaheads": (0.0, 56.0), "fills": [None, 24]}
    monkeypatch.setattr(lot_plan, "DECISION_CHUNK", 60)  # one chunk: every candidate runs all 60
    whole = plan_lots(scenario, 0.10, **options)
    monkeypatch.setattr(lot_plan, "DECISION_CHUNK", 10)
    stopped = plan_lots(scenario, 0.10, **options)
    pairs = [(e.seeds, e.point, e.lookahead_days) for e in whole.evaluations()]
    assert [(e.seeds, e.point, e.lookahead_days) for e in stopped.evaluations()] == pairs  # the same path
    assert (stopped.best, stopped.fresh) == (whole.best, whole.fresh)
    early = [e for e in stopped.tried if e.replicates < 60]
    assert early, "no candidate was stopped early"
    for short, full in zip(stopped.tried, whole.tried, strict=True):
        assert (short.upper <= 0.10) == (full.upper <= 0.10)
        if short.replicates < 60:  # stopped: its stock-outs so far already fail the target at 60
            assert full.upper > 0.10 and short.stockouts <= full.stockouts
            assert lot_plan.fails_whatever_follows(short.stockouts, 60, 0.10)
        else:
            assert short == full


def _stub(point: int, risk_point: int) -> Evaluation:
    """A candidate that meets a 5% target from ``risk_point`` up (none of 100 replicates stock out)."""
    return Evaluation(point, 0.0, 100, 0 if point >= risk_point else 50, float(point), 0.0)


@pytest.mark.parametrize(
    ("smallest", "failing", "max_point"), [(0, -1, 20), (7, -1, 20), (20, -1, 20), (13, 9, 20), (10, 9, 20), (5, -1, 1)]
)
def test_bisection_finds_the_smallest_point_and_tries_the_largest_only_when_needed(smallest, failing, max_point):
    tried: list[int] = []

    def evaluate(point: int) -> Evaluation:
        tried.append(point)
        return _stub(point, smallest)

    found = _smallest_meeting(evaluate, 0.05, failing, max_point)
    if smallest > max_point:
        assert found is None and tried[-1] == max_point
    else:
        assert found.point == smallest
        assert (max_point in tried) == (smallest == max_point)  # never simulated when a smaller point holds
    assert len(tried) <= math.ceil(math.log2(max_point - failing)) + 1 and len(set(tried)) == len(tried)
    known = _stub(max_point, 0)
    assert _smallest_meeting(lambda p: _stub(p, 99), 0.05, failing, max_point, known) is known  # not simulated again


@pytest.mark.parametrize("smallest", [0, 3, 7, 8, 12, 30, 36, 40])
@pytest.mark.parametrize("guess", [0, 1, 8, 36])
def test_a_guessed_point_is_bisected_below_first_and_the_answer_is_the_same(smallest, guess):
    max_point, tried = 36, []

    def evaluate(point: int) -> Evaluation:
        tried.append(point)
        return _stub(point, smallest)

    found = _smallest_from(evaluate, 0.05, guess, max_point)
    assert (found is None) if smallest > max_point else (found.point == smallest)
    assert len(set(tried)) == len(tried)
    if smallest <= guess:  # the guess held: only points up to it were simulated
        assert max(tried) <= guess and len(tried) <= math.ceil(math.log2(guess + 1)) + 1
    else:
        assert len(tried) <= math.ceil(math.log2(guess + 1)) + math.ceil(math.log2(max(max_point - guess, 1))) + 2


@pytest.mark.slow
def test_the_plan_is_the_cheapest_confirmed_candidate_and_the_cheapest_searched_are_confirmed():
    scenario = load_scenario(BASE_SCENARIO)
    plan = plan_lots(scenario, 0.10, replicates=60, seed=11, extra_lookaheads=(0.0, 56.0, 112.0), fills=[20, 40])
    confirmed = [e for e in plan.tried if e.seeds == "validation" and e.upper <= 0.10 and e.replicates == 60]
    assert plan.best == min(confirmed, key=lambda e: e.objective)
    assert not math.isnan(plan.best.mean_cost)  # the base scenario prices its product: cost is the objective
    # the cheapest candidates of each lot size and look-ahead on the search seeds were each confirmed
    validated = {(e.fill_vials, e.lookahead_days) for e in plan.tried if e.seeds == "validation"}
    winners = {}
    for e in plan.tried:
        if e.seeds == "search" and e.upper <= 0.10:
            key = (e.fill_vials, e.lookahead_days)
            winners[key] = min(winners.get(key, e), e, key=lambda x: x.point)
    cheapest = sorted(winners.values(), key=lambda e: e.objective)[: lot_plan.CONFIRMED_CANDIDATES]
    assert all((e.fill_vials, e.lookahead_days) in validated for e in cheapest)


def test_the_plan_is_the_same_on_one_worker_and_on_a_pool():
    scenario = load_scenario(BASE_SCENARIO)
    options = {"replicates": 40, "seed": 3, "extra_lookaheads": (0.0, 56.0), "fills": [None]}
    alone = plan_lots(scenario, 0.10, workers=1, **options)
    pooled = plan_lots(scenario, 0.10, workers=2, **options)
    assert alone.tried == pooled.tried and alone.fresh == pooled.fresh
