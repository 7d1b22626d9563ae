"""The lot plan: the reorder policy and lot size that meet the planner's stock-out target at the
least expected cost.

A stock-out is a subject ready for a dose that is not in stock; the risk is the share of
replicates with at least one. The plan decides three things: *how much* stock to keep (the reorder
point, in vials), *how early* expiring stock is replaced (the look-ahead, in days) and *how big* a
lot is (the vials a campaign fills, within the range the process allows: ``lots.fill_range``).
What it minimises is the expected cost per replicate under the scenario's ``product.costs``: lots
(fixed and per vial filled), storage and delay, waste being part of the lots' cost; a scenario that
prices nothing gets the fewest lots (then the least expiry).

For each lot size, and each look-ahead on a grid, the plan bisects the smallest reorder point that
meets the target (a larger point orders lots sooner, never fewer: it costs more). Lot sizes are
tried on a grid across the allowed range, then around the cheapest one at halving steps down to
the resolution (``lot_size_resolution``: a vial in a narrow range). Every candidate is simulated
on the same seeds (common random numbers), which keeps the risk monotone enough to bisect and the
costs' differences precise; a candidate meets the target only if the one-sided 95% Wilson upper
bound of its risk is within it.

A candidate is simulated a chunk of replicates at a time (the workers simulating the next chunks
meanwhile) and stopped as soon as its stock-outs so far fail the target whatever the rest would
show: the same decisions as running it to the end, at a fraction of the cost for the clearly
failing ones. Picking the cheapest of many candidates on the same seeds flatters the winner, so the
cheapest are confirmed on independent validation seeds (where a point fails there, the smallest
larger point that holds is bisected), and so are the candidates that trade cost against risk best
on the search seeds: the validated ones that no other beats on both make the cost-risk frontier,
and the cheapest of them within the target is the plan. Choosing among them flatters again, a
little, so the plan's headline figures come from a third set of seeds neither step saw: the fresh
check, on which the scenario's own policy and lot size are simulated too, so the savings are paired.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ctdild_sim.analysis.compare import wilson_interval, wilson_upper
from ctdild_sim.analysis.costs import replicate_costs
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.runs.runner import metrics_in_order, run_scenario
from ctdild_sim.scenario.product import ReorderPoint
from ctdild_sim.scenario.trial import Scenario, with_lot_size, with_stock_policy

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
LOT_SIZE_GRID = 3
"""Lot sizes tried first, evenly across the allowed range (its ends included); the search then
tries sizes around the cheapest at halving steps."""
FRONTIER_CONFIRMATIONS = 8
"""Most candidates of the search seeds' cost-risk frontier confirmed on the validation seeds (evenly
along it), besides the cheapest ones the plan is chosen from."""
LOT_SIZE_STEPS = 25
"""The search places the lot size to a vial in a range up to this many vials wide, and to this
share of a wider range (``lot_size_resolution``)."""
CONFIRMED_CANDIDATES = 3
"""The cheapest candidates of the search seeds confirmed on the validation seeds (the frontier's are
confirmed too): where validation raises the cheapest's point, the next may be cheaper."""
KEEP = "keep"
"""A lot size argument meaning: the scenario's own."""


def with_reorder_policy(
    scenario: Scenario, point: int, lookahead_days: float | None = None, fill_vials: int | str | None = KEEP
) -> Scenario:
    """The scenario with its stock policy replaced by a reorder point (and look-ahead), and its lot
    size by ``fill_vials`` (unless ``KEEP``)."""
    if scenario.product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    policy = ReorderPoint(kind="reorder_point", reorder_point_vials=point, lookahead_days=lookahead_days)
    planned = with_stock_policy(scenario, policy)
    return planned if fill_vials == KEEP else with_lot_size(planned, fill_vials)  # type: ignore[arg-type]


def lot_size_resolution(span: int) -> int:
    """How finely the search places the lot size in a range ``span`` vials wide: to the vial up to
    ``LOT_SIZE_STEPS`` vials, else to a ``LOT_SIZE_STEPS``-th of the range (a vial more or less in
    a wide range costs a few hundred of what a lot costs tens of thousands, and each size tried is
    a dozen simulations)."""
    return max(1, round(span / LOT_SIZE_STEPS))


def lot_sizes(scenario: Scenario, count: int = LOT_SIZE_GRID) -> list[int | None]:
    """The lot sizes the search starts from: ``count`` evenly across ``lots.fill_range``, or the
    scenario's own lot size when it allows no other."""
    product = scenario.product
    assert product is not None
    allowed = product.lots.fill_range
    if allowed is None:
        return [product.fill_vials]
    grid = np.linspace(allowed.min_vials, allowed.max_vials, max(1, count))
    return sorted({round(v) for v in grid})


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
    fill_vials: int | None = None  # the lot size (None: every vial the yield gives)
    mean_cost: float = math.nan  # expected total cost per replicate (NaN: the scenario prices nothing)
    mean_waste_cost: float = math.nan  # of which the cost of wasted product
    mean_delay_cost: float = math.nan  # of which the cost of finishing after the registered date
    mean_vials_not_filled: float = 0.0  # vials' worth of cells past the lot size, discarded

    @property
    def decisions(self) -> tuple[int | None, int, float]:
        """What the candidate decides: lot size, reorder point, look-ahead."""
        return self.fill_vials, self.point, self.lookahead_days

    @property
    def objective(self) -> tuple[float, float]:
        """What the plan minimises: the expected cost (then vials expired), or, where the scenario
        prices nothing, lots started (then vials expired)."""
        first = self.mean_lots_started if math.isnan(self.mean_cost) else self.mean_cost
        return first, self.mean_vials_expired

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


SEARCH_COLUMNS = [
    "seeds",
    "fill_vials",
    "lookahead_days",
    "reorder_point",
    "replicates",
    "stockout_risk",
    "upper_95",
    "mean_cost",
    "mean_waste_cost",
    "mean_delay_cost",
    "mean_lots_started",
    "mean_vials_expired",
    "mean_vials_not_filled",
]
"""The search table's columns: one row per evaluation."""


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
    baseline_metrics: pd.DataFrame | None = None  # the scenario's own policy and lot size on the fresh seeds

    @property
    def met(self) -> bool:
        return self.best is not None

    def search_table(self) -> pd.DataFrame:
        """Every evaluation of the search, in the order it was made."""
        return pd.DataFrame(
            [
                {
                    "seeds": t.seeds,
                    "fill_vials": np.nan if t.fill_vials is None else t.fill_vials,
                    "lookahead_days": t.lookahead_days,
                    "reorder_point": t.point,
                    "replicates": t.replicates,
                    "stockout_risk": t.risk,
                    "upper_95": t.upper,
                    "mean_cost": t.mean_cost,
                    "mean_waste_cost": t.mean_waste_cost,
                    "mean_delay_cost": t.mean_delay_cost,
                    "mean_lots_started": t.mean_lots_started,
                    "mean_vials_expired": t.mean_vials_expired,
                    "mean_vials_not_filled": t.mean_vials_not_filled,
                }
                for t in self.evaluations()
            ],
            columns=SEARCH_COLUMNS,
        )

    def output_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """What a stored lot plan holds: the product as the plan runs it on its fresh seeds (its
        metrics, lots and demand) and every evaluation of the search."""
        if self.fresh_tables is None:
            raise ValueError("no plan met the target: there is nothing to store")
        return [*self.fresh_tables.supply(), *self.search_tables()]

    def search_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """The search's evaluations and the scenario's own decisions on the fresh seeds (what the
        plan's savings are paired against): what a forecast keeps of its lot plan."""
        baseline = [] if self.baseline_metrics is None else [("lot_plan_baseline", self.baseline_metrics)]
        return [("lot_plan_search", self.search_table()), *baseline]

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
            "fill_vials": self.fresh.fill_vials,
        }

    def evaluations(self) -> list[Evaluation]:
        """Every evaluation: the search's and the validation's in order, then the fresh check."""
        return [*self.tried, *([self.fresh] if self.fresh is not None else [])]


def default_max_point(scenario: Scenario) -> int:
    """Twice the largest cohort's vial need at mean weight (at least 8)."""
    product = scenario.product
    assert product is not None
    largest = max(c.size * c.infusions * scenario.vials_per_dose(c) for c in scenario.cohorts)
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
    fills: list[int | None] | None = None,
    **run_options,
) -> LotPlan:
    """Search (lot size, reorder point, look-ahead) for the least expected cost whose stock-out risk
    meets ``target``, confirm it on validation seeds, then simulate the plan and the scenario's own
    decisions on fresh seeds (``plan.fresh``, ``plan.baseline_metrics``).

    ``fills``: the lot sizes to try (default: ``lot_sizes``, then around the cheapest). ``run_options``
    (workers, chunk_size, scheduler) go to every simulation of the search.
    """
    if not 0 < target < 1:
        raise ValueError(f"target (={target}) must be between 0 and 1")
    product = scenario.product
    if product is None:
        raise ValueError("the scenario has no product section: there is no supply to plan")
    max_point = default_max_point(scenario) if max_point is None else max_point
    base = product.mean_replenishment_days
    plan = LotPlan(target)

    made: dict[tuple, Evaluation] = {}

    def evaluate(point: int, lookahead: float, fill: int | None, validation: bool = False, decide: bool = True):
        key = (fill, point, lookahead, validation, decide)
        if key in made:  # a candidate is simulated once (the sweeps of two lot sizes can meet)
            return made[key]
        seeds = seed + VALIDATION_SEED_OFFSET if validation else seed
        candidate = with_reorder_policy(scenario, point, lookahead, fill)
        # a frontier candidate runs every replicate (``decide`` False): its risk may be above the target
        metrics = _simulate_until_decided(candidate, replicates, seeds, target if decide else 1.0, **run_options)
        result = made[key] = _evaluation(candidate, metrics, "validation" if validation else "search")
        plan.tried.append(result)
        if on_evaluated is not None:
            on_evaluated(result)
        return result

    def sweep(fill: int | None, lookaheads: tuple[float, ...] = extra_lookaheads, guess: int = max_point):
        """For one lot size: each look-ahead's smallest reorder point that meets the target."""
        feasible: list[Evaluation] = []
        for extra in lookaheads:
            lookahead = float(round(base + extra))  # whole days: what a planner would write down
            top = None
            if not feasible and guess == max_point:  # until one look-ahead holds, check the largest point first
                top = evaluate(max_point, lookahead, fill)
                if top.upper > target:
                    continue
            # stock replaced earlier runs out less: a longer look-ahead's point is rarely above a shorter one's
            start = feasible[-1].point if feasible and lookahead > feasible[-1].lookahead_days else guess
            best = _smallest_from(lambda point, at=lookahead: evaluate(point, at, fill), target, start, max_point, top)
            if best is None:
                continue
            feasible.append(best)
            if len(feasible) >= 2 and feasible[-1].objective > feasible[-2].objective:
                break  # looking further ahead now costs more
        return feasible

    sizes = lot_sizes(scenario) if fills is None else list(fills)
    # Coordinate by coordinate: every look-ahead at the first lot size; each other size at the
    # cheapest look-ahead so far (its point bisected from the cheapest's); then, where another size
    # is cheaper, every look-ahead again at it.
    first = _first_size(sizes, product.fill_vials)
    by_size = {first: sweep(first)}
    for fill in sizes:
        if fill not in by_size:
            by_size[fill] = _sweep_near(sweep, fill, _cheapest(by_size), base)
    allowed = product.lots.fill_range
    if fills is None and allowed is not None and len(by_size) > 1:
        # around the cheapest lot size, at halving steps down to the resolution
        step = max(b - a for a, b in itertools.pairwise(sorted(by_size)))  # type: ignore[type-var]
        finest = lot_size_resolution(allowed.max_vials - allowed.min_vials)
        while step > finest and (cheapest := _cheapest(by_size)) is not None:
            step = math.ceil(step / 2)
            for fill in (cheapest.fill_vials - step, cheapest.fill_vials + step):  # type: ignore[operator]
                if allowed.min_vials <= fill <= allowed.max_vials and fill not in by_size:
                    by_size[fill] = _sweep_near(sweep, fill, cheapest, base)
    cheapest = _cheapest(by_size)
    if cheapest is not None and cheapest.fill_vials != first and len(extra_lookaheads) > 1:
        by_size[cheapest.fill_vials] += sweep(cheapest.fill_vials, guess=cheapest.point)
    found = {e.decisions: e for found in by_size.values() for e in found}  # once each
    feasible = sorted(found.values(), key=lambda e: e.objective)
    # The search picked the cheapest candidates on its own seeds, which flatters them (the smallest
    # point that happened to look good). Confirm the cheapest few on independent seeds: its own
    # point, else the smallest larger one that holds there (bisected).
    confirmed: list[Evaluation] = []
    for candidate in feasible[:CONFIRMED_CANDIDATES]:
        fill, at = candidate.fill_vials, candidate.lookahead_days
        check = evaluate(candidate.point, at, fill, validation=True)
        if check.upper > target:
            check = _smallest_meeting(
                lambda point, at=at, fill=fill: evaluate(point, at, fill, validation=True),
                target,
                candidate.point,
                max_point,
            )
        if check is not None:
            confirmed.append(check)
    # The cost-risk frontier: the search's candidates within the target (each ran every replicate)
    # that no other beats on both cost and risk, each confirmed on the validation seeds with every
    # replicate. (Failing candidates are left: how many replicates one ran depends on when it failed.)
    validated = {e.decisions for e in plan.tried if e.seeds == "validation" and e.upper <= target}
    meeting = [e for e in plan.tried if e.seeds == "search" and e.upper <= target]
    for candidate in _spread(pareto(meeting), FRONTIER_CONFIRMATIONS):
        if candidate.decisions not in validated:
            fill, point, at = candidate.decisions
            check = evaluate(point, at, fill, validation=True, decide=False)
            validated.add(check.decisions)
            if check.upper <= target:
                confirmed.append(check)
    if confirmed:
        plan.best = best = min(confirmed, key=lambda e: e.objective)
        plan.scenario = with_reorder_policy(scenario, best.point, best.lookahead_days, best.fill_vials)
        plan.fresh_seed = seed + FRESH_SEED_OFFSET
        options = {k: v for k, v in run_options.items() if k != "keep_events"}
        plan.fresh_tables = run_scenario(
            plan.scenario, replicates, plan.fresh_seed, on_replicate=on_fresh_replicate, keep_events=0, **options
        )
        plan.fresh = _evaluation(plan.scenario, plan.fresh_tables.metrics, "fresh")
        if on_evaluated is not None:
            on_evaluated(plan.fresh)
        plan.baseline_metrics = run_scenario(
            scenario, replicates, plan.fresh_seed, keep_events=0, metrics_only=True, **options
        ).metrics
    return plan


def _first_size(sizes: list[int | None], own: int | None) -> int | None:
    """The lot size every look-ahead is tried at: the scenario's own if it is among ``sizes``, else
    the middle one."""
    return own if own in sizes else sizes[len(sizes) // 2]


def _sweep_near(sweep: Callable[..., list[Evaluation]], fill: int | None, near: Evaluation | None, base: float):
    """One lot size at ``near``'s look-ahead, its point bisected from ``near``'s (every look-ahead
    when there is none yet)."""
    if near is None:
        return sweep(fill)
    return sweep(fill, (near.lookahead_days - base,), near.point)


def _cheapest(by_size: dict[int | None, list[Evaluation]]) -> Evaluation | None:
    """The cheapest candidate of any lot size (None if none met the target)."""
    found = [e for fill, found in by_size.items() if fill is not None for e in found]
    return min(found, key=lambda e: e.objective) if found else None


def pareto(evaluations: list[Evaluation]) -> list[Evaluation]:
    """The evaluations no other beats on both risk and cost (``objective``), by rising risk:
    the cost-risk frontier."""
    ordered = sorted(evaluations, key=lambda e: (e.risk, e.objective))
    return [ordered[i] for i in cheaper_than_all_before([e.objective for e in ordered])]


def cheaper_than_all_before(costs: Sequence) -> list[int]:
    """Positions of the items, ordered by rising risk (then cost), each cheaper than every item
    before it: the ones no other beats on both risk and cost."""
    kept: list[int] = []
    for i, cost in enumerate(costs):
        if not kept or cost < costs[kept[-1]]:
            kept.append(i)
    return kept


def _spread(frontier: list[Evaluation], most: int) -> list[Evaluation]:
    """At most ``most`` of a frontier, evenly along it, both ends kept."""
    if len(frontier) <= most:
        return frontier
    picks = np.unique(np.round(np.linspace(0, len(frontier) - 1, most)).astype(int))
    return [frontier[i] for i in picks]


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


def _evaluation(candidate: Scenario, metrics: pd.DataFrame, seeds: Seeds) -> Evaluation:
    """A candidate's figures from the metrics of the replicates it ran."""
    product = candidate.product
    assert product is not None and isinstance(product.policy, ReorderPoint)
    policy = product.policy
    lookahead = product.mean_replenishment_days if policy.lookahead_days is None else policy.lookahead_days
    priced: dict[str, float] = {}
    if product.costs is not None:
        costs = replicate_costs(metrics, None, candidate)
        priced = {
            "mean_cost": float(costs["total"].mean()),
            "mean_waste_cost": float(costs["waste"].mean()),
            "mean_delay_cost": float(costs["delay"].mean()),
        }
    return Evaluation(
        policy.reorder_point_vials,
        lookahead,
        len(metrics),
        int(stocked_out(metrics).sum()),
        float(metrics["lots_started"].mean()),
        float(metrics["vials_expired"].mean()),
        seeds,
        product.fill_vials,
        mean_vials_not_filled=float(metrics["vials_not_filled"].mean()),
        **priced,
    )


def cost_risk_frontier(search: pd.DataFrame, target: float | None) -> pd.DataFrame:
    """The cost-risk frontier from a search table: the candidates confirmed on the validation
    seeds with every replicate that no other beats on both expected cost (lots started, where the
    scenario prices nothing) and risk, by rising risk, each with what one percentage point of risk
    less costs against the next riskier one, and whether it meets ``target``."""
    columns = [c for c in FRONTIER_COLUMNS if c in search.columns]
    if "mean_cost" not in search.columns or search.empty:
        return pd.DataFrame(columns=columns)
    full = search[(search["seeds"] == "validation") & (search["replicates"] == search["replicates"].max())]
    priced = full["mean_cost"].notna().all()
    cost = full["mean_cost"] if priced else full["mean_lots_started"]
    rows = full.assign(_cost=cost).sort_values(["stockout_risk", "_cost"])
    kept = cheaper_than_all_before(rows["_cost"].tolist())
    frontier = rows.iloc[kept].drop_duplicates(["fill_vials", "lookahead_days", "reorder_point"]).reset_index(drop=True)
    costs, risks = frontier["_cost"].to_numpy(dtype=float), frontier["stockout_risk"].to_numpy(dtype=float)
    per_point = np.full(len(frontier), np.nan)
    if priced and len(frontier) > 1:
        per_point[:-1] = (costs[:-1] - costs[1:]) / ((risks[1:] - risks[:-1]) * 100)
    frontier["cost_per_point"] = per_point
    frontier["meets_target"] = frontier["upper_95"] <= target if target is not None else np.nan
    return frontier[[*columns, "cost_per_point", "meets_target"]]


FRONTIER_COLUMNS = [c for c in SEARCH_COLUMNS if c not in ("seeds", "replicates", "mean_vials_not_filled")]
"""The search table's columns the frontier shows (besides its own)."""
