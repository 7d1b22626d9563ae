"""The lot plan: the reorder policy that meets the planner's stock-out target with the fewest lots.

A stock-out is a subject ready for a dose that is not in stock; the risk is the share of
replicates with at least one. A reorder-point policy has two knobs: *how much* stock to keep
(the reorder point, in vials) and *how early* expiring stock is replaced (the look-ahead, in
days). For each look-ahead on a grid, the plan bisects the smallest reorder point that meets the
target (below the last look-ahead's point first: looking further ahead rarely needs more stock),
then keeps the feasible pair that starts the fewest lots on average (ties: less expiry).

Every candidate is simulated on the same seeds (common random numbers), which keeps the risk
monotone enough to bisect; a candidate is accepted only if the one-sided 95% Wilson upper bound
of its risk is within the target. A candidate is simulated a chunk of replicates at a time (the
workers simulating the next chunks meanwhile) and stopped as soon as its stock-outs so far fail
the target whatever the rest would show: the same decisions as running it to the end, at a
fraction of the cost for the clearly failing ones. Picking the cheapest of many candidates on the
same seeds flatters the winner, so each look-ahead's winner is then confirmed on independent
validation seeds (where its point fails there, the smallest larger point that holds is bisected).
Choosing among the validated candidates flatters again, a little, so the plan's headline
figures come from a third set of seeds neither step saw: the fresh check, whose tables the supply
report is made from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ctdild_sim.analysis.compare import Z95
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.runs.runner import metrics_in_order, run_scenario
from ctdild_sim.scenario.product import ReorderPoint
from ctdild_sim.scenario.trial import Scenario, with_stock_policy

Z_ONE_SIDED_95 = 1.6448536269514722
VALIDATION_SEED_OFFSET = 7_919_191
"""Added to the seed for the validation simulations (streams no search replicate used)."""
FRESH_SEED_OFFSET = 1_000_003
"""Added to the seed for the fresh check of the plan (streams neither search nor validation used)."""
Seeds = Literal["search", "validation", "fresh"]
DECISION_CHUNK = 25
"""Replicates a task simulates; after each (in replicate order), a candidate that can no longer meet
the target is stopped (most failing candidates fail clearly within a few dozen replicates)."""
EXTRA_LOOKAHEAD_DAYS = (0.0, 14.0, 28.0, 56.0, 84.0, 112.0, 168.0)
"""Look-aheads tried by default, in days beyond the mean campaign plus QC release time."""


def wilson_upper(successes: int, n: int, z: float = Z_ONE_SIDED_95) -> float:
    """One-sided Wilson score upper bound of a binomial proportion."""
    return wilson_interval(successes, n, z)[1]


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% two-sided by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def with_reorder_policy(scenario: Scenario, point: int, lookahead_days: float | None = None) -> Scenario:
    """The scenario with its stock policy replaced by a reorder point (and look-ahead)."""
    if scenario.product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    policy = ReorderPoint(kind="reorder_point", reorder_point_vials=point, lookahead_days=lookahead_days)
    return with_stock_policy(scenario, policy)


@dataclass(frozen=True)
class Evaluation:
    """One simulated (reorder point, look-ahead) pair."""

    point: int
    lookahead_days: float
    replicates: int
    stockouts: int
    mean_lots_started: float
    mean_vials_expired: float
    seeds: Seeds = "search"  # which seeds it was simulated on

    @property
    def risk(self) -> float:
        return self.stockouts / self.replicates

    @property
    def upper(self) -> float:
        """One-sided 95% upper bound of the risk: what the search compares with the target."""
        return wilson_upper(self.stockouts, self.replicates)

    @property
    def interval(self) -> tuple[float, float]:
        """Two-sided 95% interval of the risk: what a headline figure is shown with."""
        return wilson_interval(self.stockouts, self.replicates)


@dataclass
class LotPlan:
    """The search's answer and every evaluation it made."""

    target: float
    best: Evaluation | None = None  # the cheapest candidate confirmed on the validation seeds
    scenario: Scenario | None = None
    tried: list[Evaluation] = field(default_factory=list)
    fresh: Evaluation | None = None  # the plan on fresh seeds: the headline figure
    fresh_tables: RunTables | None = None  # the fresh run's tables (for the supply report)
    fresh_seed: int | None = None

    @property
    def met(self) -> bool:
        return self.best is not None

    def search_table(self) -> pd.DataFrame:
        """Every evaluation of the search, in the order it was made."""
        return pd.DataFrame(
            [
                {
                    "seeds": t.seeds,
                    "lookahead_days": t.lookahead_days,
                    "reorder_point": t.point,
                    "replicates": t.replicates,
                    "stockout_risk": t.risk,
                    "upper_95": t.upper,
                    "mean_lots_started": t.mean_lots_started,
                    "mean_vials_expired": t.mean_vials_expired,
                }
                for t in self.evaluations()
            ],
            columns=[
                "seeds",
                "lookahead_days",
                "reorder_point",
                "replicates",
                "stockout_risk",
                "upper_95",
                "mean_lots_started",
                "mean_vials_expired",
            ],
        )

    def output_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """What a stored lot plan holds: the product as the plan runs it on its fresh seeds (its
        metrics, lots and demand) and every evaluation of the search."""
        if self.fresh_tables is None:
            raise ValueError("no plan met the target: there is nothing to store")
        return [*self.fresh_tables.supply(), ("lot_plan_search", self.search_table())]

    def manifest(self, search_seed: int) -> dict:
        """What a stored lot plan's manifest says besides a run's (whose seed is the fresh one)."""
        assert self.fresh is not None
        return {
            "kind": "lot_plan",
            "target_stockout": self.target,
            "lot_plan_fresh_seed": self.fresh_seed,
            "search_seed": search_seed,
            "reorder_point": self.fresh.point,
            "lookahead_days": self.fresh.lookahead_days,
        }

    def evaluations(self) -> list[Evaluation]:
        """Every evaluation: the search's and the validation's in order, then the fresh check."""
        return [*self.tried, *([self.fresh] if self.fresh is not None else [])]


def default_max_point(scenario: Scenario) -> int:
    """Twice the largest cohort's vial need at mean weight (at least 8)."""
    product = scenario.product
    assert product is not None
    weight = scenario.population.body_weight_kg.mean
    largest = max(c.size * c.infusions * product.vials_per_dose(weight, c.dose_cells_per_kg) for c in scenario.cohorts)
    return max(8, 2 * largest)


def plan_lots(
    scenario: Scenario,
    target: float,
    replicates: int,
    seed: int,
    max_point: int | None = None,
    on_evaluated: Callable[[Evaluation], None] | None = None,
    extra_lookaheads: tuple[float, ...] = EXTRA_LOOKAHEAD_DAYS,
    on_fresh_replicate: Callable[[int], None] | None = None,
    **run_options,
) -> LotPlan:
    """Search (reorder point, look-ahead) for the fewest lots whose stock-out risk meets ``target``,
    confirm it on validation seeds, then simulate the plan on fresh seeds (``plan.fresh``).

    ``run_options`` (workers, chunk_size, scheduler) go to every simulation of the search.
    """
    if not 0 < target < 1:
        raise ValueError(f"target (={target}) must be between 0 and 1")
    product = scenario.product
    if product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    max_point = default_max_point(scenario) if max_point is None else max_point
    base = product.mean_replenishment_days
    plan = LotPlan(target)

    def evaluate(point: int, lookahead: float, validation: bool = False) -> Evaluation:
        seeds = seed + VALIDATION_SEED_OFFSET if validation else seed
        metrics = _simulate_until_decided(
            with_reorder_policy(scenario, point, lookahead), replicates, seeds, target, **run_options
        )
        result = _evaluation(point, lookahead, metrics, "validation" if validation else "search")
        plan.tried.append(result)
        if on_evaluated is not None:
            on_evaluated(result)
        return result

    feasible: list[Evaluation] = []
    for extra in extra_lookaheads:
        lookahead = base + extra
        top = None
        if not feasible:  # until one look-ahead holds, check the largest point first: short ones fail there
            top = evaluate(max_point, lookahead)
            if top.upper > target:
                continue
        # stock replaced earlier runs out less: a longer look-ahead's point is rarely above a shorter one's
        guess = feasible[-1].point if feasible and lookahead > feasible[-1].lookahead_days else max_point
        best = _smallest_from(lambda point, at=lookahead: evaluate(point, at), target, guess, max_point, top)
        if best is None:
            continue
        feasible.append(best)
        if len(feasible) >= 2 and feasible[-1].mean_lots_started > feasible[-2].mean_lots_started:
            break  # looking further ahead now costs lots
    # The search picked the cheapest pairs on its own seeds, which flatters them (the smallest point
    # that happened to look good). Confirm them on independent seeds, cheapest first: its own point,
    # else the smallest larger one that holds there (bisected); keep the cheapest confirmed one. A
    # candidate that already costs more than a confirmed plan is left (confirming only raises points).
    confirmed: list[Evaluation] = []
    for candidate in sorted(feasible, key=_cost):
        if confirmed and _cost(candidate) > min(map(_cost, confirmed)):
            continue
        check = evaluate(candidate.point, candidate.lookahead_days, validation=True)
        if check.upper > target:
            check = _smallest_meeting(
                lambda point, at=candidate.lookahead_days: evaluate(point, at, validation=True),
                target,
                candidate.point,
                max_point,
            )
        if check is not None:
            confirmed.append(check)
    if confirmed:
        plan.best = best = min(confirmed, key=_cost)
        plan.scenario = with_reorder_policy(scenario, best.point, best.lookahead_days)
        plan.fresh_seed = seed + FRESH_SEED_OFFSET
        options = {k: v for k, v in run_options.items() if k != "keep_events"}
        plan.fresh_tables = run_scenario(
            plan.scenario, replicates, plan.fresh_seed, on_replicate=on_fresh_replicate, keep_events=0, **options
        )
        plan.fresh = _evaluation(best.point, best.lookahead_days, plan.fresh_tables.metrics, "fresh")
        if on_evaluated is not None:
            on_evaluated(plan.fresh)
    return plan


def _smallest_meeting(
    evaluate: Callable[[int], Evaluation], target: float, failing: int, max_point: int, top: Evaluation | None = None
) -> Evaluation | None:
    """The evaluation of the smallest point in (``failing``, ``max_point``] that meets the target,
    by bisection (the risk falls as the point rises), or None if none does. ``max_point`` is
    simulated (unless ``top`` is its evaluation) only if no smaller point meets the target: a
    look-ahead long enough for one point is almost always long enough for the largest."""
    best, low, high = None, failing, max_point
    while high - low > 1:
        mid = (low + high) // 2
        result = evaluate(mid)
        if result.upper <= target:
            best, high = result, mid
        else:
            low = mid
    if best is None and low < max_point:
        top = evaluate(max_point) if top is None else top
        best = top if top.upper <= target else None
    return best


def _smallest_from(
    evaluate: Callable[[int], Evaluation], target: float, guess: int, max_point: int, top: Evaluation | None = None
) -> Evaluation | None:
    """``_smallest_meeting`` bisecting below ``guess`` first (a point expected to meet the target),
    then above it if it does not: log2(guess) evaluations instead of log2(max_point) when it does."""
    best = _smallest_meeting(evaluate, target, -1, guess, top if guess == max_point else None)
    if best is None and guess < max_point:
        best = _smallest_meeting(evaluate, target, guess, max_point, top)
    return best


def fails_whatever_follows(stockouts: int, replicates: int, target: float) -> bool:
    """Whether a candidate with ``stockouts`` so far must fail the target after all ``replicates``:
    the bound grows with the stock-outs, and the replicates still to run can add some but remove none."""
    return wilson_upper(stockouts, replicates) > target


def _simulate_until_decided(policy: Scenario, replicates: int, seed: int, target: float, **run_options) -> pd.DataFrame:
    """The metrics of replicates 0, 1, ... of ``policy``, a chunk at a time, stopped early once the
    candidate fails the target whatever its remaining replicates show. Replicate r is the same in
    any chunk, so the decision is the one all ``replicates`` give; a stopped candidate's figures
    are from the replicates it ran (the search table's replicates column)."""
    passed = ("workers", "scheduler", "trace", "posterior", "counts_day")
    options = {k: v for k, v in run_options.items() if k in passed}
    chunks = metrics_in_order(policy, replicates, seed, run_options.get("chunk_size") or DECISION_CHUNK, **options)
    frames: list[pd.DataFrame] = []
    stockouts = 0
    for frame in chunks:
        frames.append(frame)
        stockouts += int(stocked_out(frame).sum())
        if fails_whatever_follows(stockouts, replicates, target):
            break
    chunks.close()
    return pd.concat(frames, ignore_index=True)


def _cost(evaluation: Evaluation) -> tuple[float, float]:
    """What the plan minimises: lots started on average, then vials expired."""
    return evaluation.mean_lots_started, evaluation.mean_vials_expired


def _evaluation(point: int, lookahead: float, metrics: pd.DataFrame, seeds: Seeds) -> Evaluation:
    return Evaluation(
        point,
        lookahead,
        len(metrics),
        int(stocked_out(metrics).sum()),
        float(metrics["lots_started"].mean()),
        float(metrics["vials_expired"].mean()),
        seeds,
    )
