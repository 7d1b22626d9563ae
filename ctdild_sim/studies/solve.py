"""What would it take: the value of one lever (a referral rate, a number of sites, a review's
length, ...) at which a target is met, by bisection on common random numbers.

A target is a probability over replicates compared with a number:

    P(lplv_by 2027-12-31) >= 0.8        P(cohort2_gate_by 2027-06-30) >= 0.5
    P(product_wait) <= 0.05             (a milestone's P50 by a date is P(milestone_by DATE) >= 0.5)

Every value of the lever is simulated on the same seed, so the estimate moves with the lever, not
with the draws, and the search converges on one crossing. The answer comes with its uncertainty:
the lever values at which the target is met by the 95% Wilson interval's bounds (met for sure
beyond one, not met for sure before the other).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ctdild_sim.analysis.metrics import milestone_columns
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.runs.runner import simulate_metrics
from ctdild_sim.scenario.loading import ScenarioError
from ctdild_sim.scenario.paths import PathError, check_path, get_value, with_value
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.lot_plan import wilson_interval

TARGET = re.compile(
    r"^\s*P\(\s*(?P<what>[a-z0-9_]+)(?:\s+(?P<date>\d{4}-\d{2}-\d{2}))?\s*\)\s*(?P<op>>=|<=)\s*(?P<p>[0-9.]+%?)\s*$"
)
MAX_STEPS = 40


class SolveError(ValueError):
    """A target, lever or range that cannot be used (the message says which and why)."""


@dataclass(frozen=True)
class Target:
    """``P(event) op p``: ``event(metrics, scenario)`` is each replicate's yes/no."""

    text: str
    event: Callable[[pd.DataFrame, Scenario], np.ndarray]
    at_least: bool  # ">=": met when the probability is at least p
    p: float

    def met(self, probability: float) -> bool:
        return probability >= self.p if self.at_least else probability <= self.p


def parse_target(text: str, scenario: Scenario) -> Target:
    """A target from its text (``SolveError`` saying what is accepted otherwise)."""
    found = TARGET.match(text or "")
    if found is None:
        raise SolveError(f"--target {text!r}: write P(MILESTONE_by YYYY-MM-DD) >= p or P(product_wait) <= p")
    what, date, op, p_text = found["what"], found["date"], found["op"], found["p"]
    try:
        p = float(p_text.rstrip("%")) / (100 if p_text.endswith("%") else 1)
    except ValueError:
        raise SolveError(f"--target {text!r}: {p_text!r} is not a probability") from None
    if not 0 < p < 1:
        raise SolveError(f"--target {text!r}: the probability must be between 0 and 1 (got {p:g})")
    if what == "product_wait":
        if date is not None:
            raise SolveError(f"--target {text!r}: P(product_wait) takes no date")
        return Target(text, lambda m, _: stocked_out(m).to_numpy(), op == ">=", p)
    milestones = [c.removesuffix("_day") for c in milestone_columns(len(scenario.cohorts))]
    name = what.removesuffix("_by")
    if not what.endswith("_by") or name not in milestones or date is None:
        raise SolveError(
            f"--target {text!r}: P(MILESTONE_by YYYY-MM-DD), with MILESTONE one of "
            f"{', '.join(milestones)}; or P(product_wait)"
        )
    try:
        day = (dt.date.fromisoformat(date) - scenario.start_date).days
    except ValueError:
        raise SolveError(f"--target {text!r}: {date} is not a date") from None
    column = f"{name}_day"
    return Target(text, lambda m, _: (m[column].fillna(np.inf) < day + 1).to_numpy(), op == ">=", p)


@dataclass(frozen=True)
class Evaluation:
    value: float
    probability: float
    low: float
    high: float
    replicates: int


@dataclass
class Solution:
    """The search's answer: the lever value meeting the target (None: not within the range), the
    values at which the interval's bounds meet it, and every value simulated."""

    lever: str
    target: Target
    low: float
    high: float
    value: float | None = None
    sure_from: float | None = None  # beyond this the target is met even by the interval's worse bound
    possible_from: float | None = None  # before this it is not met even by the better bound
    evaluations: list[Evaluation] = field(default_factory=list)
    met_low: bool = False  # the target met (by the estimate) at the range's low end
    met_high: bool = False

    @property
    def upwards(self) -> bool:
        """Whether the target is met from the answer upwards (else from it downwards)."""
        return self.met_high and not self.met_low

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [e.__dict__ for e in sorted(self.evaluations, key=lambda e: e.value)],
            columns=["value", "probability", "low", "high", "replicates"],
        )


def lever_range(scenario: Scenario, lever: str, given: tuple[float, float] | None) -> tuple[float, float]:
    """The range searched: ``given``, else a quarter to four times the lever's value."""
    try:
        check_path(scenario, lever, numeric=True)
    except PathError as exc:
        raise SolveError(f"--lever {exc}") from None
    if given is not None:
        low, high = sorted(given)
        if low == high or not all(math.isfinite(v) for v in given):
            raise SolveError(f"--range {given[0]:g} {given[1]:g}: give two different finite values")
        return low, high
    value = float(get_value(scenario, lever))
    if value <= 0:
        raise SolveError(f"--lever {lever}: its value is {value:g}; give --range LOW HIGH")
    return value / 4, value * 4


def solve(
    scenario: Scenario,
    lever: str,
    target: Target,
    replicates: int,
    seed: int,
    given_range: tuple[float, float] | None = None,
    tolerance: float = 0.01,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> Solution:
    """Bisect the lever over its range on common random numbers until the crossing of the
    estimate (and of each interval bound) is pinned to ``tolerance`` x the range (whole numbers:
    to one)."""
    low, high = lever_range(scenario, lever, given_range)
    whole = isinstance(get_value(scenario, lever), int) and not isinstance(get_value(scenario, lever), bool)
    if whole:
        low, high = math.ceil(low), math.floor(high)
    solution = Solution(lever, target, low, high)
    cache: dict[float, Evaluation] = {}

    def evaluate(value: float) -> Evaluation:
        if value not in cache:
            try:
                changed = with_value(scenario, lever, value, source=f"--lever {lever}")
            except ScenarioError as exc:
                raise SolveError(
                    f"--lever {lever} = {value:g} is not a valid scenario: "
                    + "; ".join(f"{f}: {m}" for f, m in exc.problems)
                ) from None
            metrics = simulate_metrics(changed, replicates, seed, on_replicate=on_replicate, **options)
            hits = target.event(metrics, changed)
            lo, hi = wilson_interval(int(hits.sum()), len(hits))
            cache[value] = Evaluation(value, float(hits.mean()), lo, hi, len(hits))
            solution.evaluations.append(cache[value])
        return cache[value]

    def crossing(measure: Callable[[Evaluation], float]) -> float | None:
        """Where ``measure`` starts to meet the target (None: the same at both ends of the range)."""
        met_low, met_high = target.met(measure(evaluate(low))), target.met(measure(evaluate(high)))
        if met_low == met_high:
            return None
        bad, good = (low, high) if met_high else (high, low)
        for _ in range(MAX_STEPS):
            if (abs(good - bad) <= 1) if whole else (abs(good - bad) <= tolerance * (high - low)):
                break
            middle = round((bad + good) / 2) if whole else (bad + good) / 2
            if middle in (bad, good):
                break
            if target.met(measure(evaluate(middle))):
                good = middle
            else:
                bad = middle
        return good

    met_low, met_high = (target.met(evaluate(v).probability) for v in (low, high))
    solution.met_low, solution.met_high = met_low, met_high
    if met_low != met_high:
        solution.value = crossing(lambda e: e.probability)
        solution.sure_from = crossing((lambda e: e.low) if target.at_least else (lambda e: e.high))
        solution.possible_from = crossing((lambda e: e.high) if target.at_least else (lambda e: e.low))
    return solution
