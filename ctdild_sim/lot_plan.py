"""The lot plan: the smallest reorder point whose stock-out risk meets the planner's target.

A stock-out is a subject ready for a dose that is not in stock; the risk is the share of
replicates with at least one. Raising the reorder point starts lots earlier (more lots, more
expiry, fewer stock-outs), so the plan searches the smallest point that meets the target, which
is also the plan with the fewest lots. Every candidate point is simulated on the same seeds
(common random numbers), which keeps the risk monotone enough to bisect; a point is accepted
only if the one-sided 95% Wilson upper bound of its risk is within the target, so the plan still
meets the target when it is re-simulated on fresh seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from ctdild_sim.product_spec import ReorderPoint
from ctdild_sim.runner import simulate_metrics
from ctdild_sim.scenario import Scenario

Z_ONE_SIDED_95 = 1.6448536269514722


def wilson_upper(successes: int, n: int, z: float = Z_ONE_SIDED_95) -> float:
    """One-sided Wilson score upper bound of a binomial proportion."""
    if n == 0:
        return 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def stockout_count(metrics: pd.DataFrame) -> int:
    """Replicates in which at least one subject waited for product."""
    return int((metrics["stockout_events"] > 0).sum())


def with_reorder_point(scenario: Scenario, point: int) -> Scenario:
    """The scenario with its stock policy replaced by a reorder point."""
    if scenario.product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    policy = ReorderPoint(kind="reorder_point", reorder_point_vials=point)
    return scenario.model_copy(update={"product": scenario.product.model_copy(update={"policy": policy})})


@dataclass
class Evaluation:
    """One evaluated reorder point."""

    point: int
    stockouts: int
    replicates: int

    @property
    def risk(self) -> float:
        return self.stockouts / self.replicates

    @property
    def upper(self) -> float:
        return wilson_upper(self.stockouts, self.replicates)


@dataclass
class LotPlan:
    """The search's answer and everything it tried."""

    target: float
    point: int | None
    scenario: Scenario | None
    metrics: pd.DataFrame | None
    tried: list[Evaluation] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.point is not None


def plan_reorder_point(
    scenario: Scenario,
    target: float,
    replicates: int,
    seed: int,
    max_point: int | None = None,
    on_evaluated: Callable[[Evaluation], None] | None = None,
) -> LotPlan:
    """Bisect the smallest reorder point whose stock-out risk's upper bound is within ``target``."""
    if not 0 < target < 1:
        raise ValueError(f"target (={target}) must be between 0 and 1")
    product = scenario.product
    if product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    if max_point is None:
        mean_weight = scenario.population.body_weight_kg.mean
        largest = max(c.size * c.infusions * product.vials_per_dose(mean_weight, c.dose_cells_per_kg)
                      for c in scenario.cohorts)  # fmt: skip
        max_point = max(8, 2 * largest)
    plan = LotPlan(target, None, None, None)
    results: dict[int, pd.DataFrame] = {}

    def evaluate(point: int) -> bool:
        metrics = simulate_metrics(with_reorder_point(scenario, point), replicates, seed)
        results[point] = metrics
        tried = Evaluation(point, stockout_count(metrics), replicates)
        plan.tried.append(tried)
        if on_evaluated is not None:
            on_evaluated(tried)
        return tried.upper <= target

    if not evaluate(max_point):
        return plan
    low, high = -1, max_point  # invariant: high meets the target, low does not (or is untried)
    while high - low > 1:
        mid = (low + high) // 2
        if evaluate(mid):
            high = mid
        else:
            low = mid
    plan.point = high
    plan.scenario = with_reorder_point(scenario, high)
    plan.metrics = results[high]
    return plan
