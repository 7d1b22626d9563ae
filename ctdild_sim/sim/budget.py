"""What one replicate may do at most: the last line of defence against a runaway replicate.

Validation keeps every field in a plausible range, but a combination of plausible values can
still ask for absurd work: a population nobody in which passes screening at a thousand referrals
a month, a thaw window no thaw can meet, a reorder point far above what lots yield. A replicate
therefore carries a budget derived from its scenario (candidates referred, lots ordered, rows of
the event log) far above what the design needs; past it the replicate stops with
``BudgetExceeded``, naming the field most likely at fault, instead of running for hours or
filling the memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ctdild_sim.scenario.product import MakeToOrder, ReorderPoint, Schedule

if TYPE_CHECKING:
    from ctdild_sim.model.trace import Trace
    from ctdild_sim.scenario.trial import Scenario

CANDIDATES_PER_SUBJECT = 1000
"""Candidates a replicate may refer per subject the design can need (the base refers about 4)."""
ROWS_PER_CANDIDATE = 10
"""Event-log rows per candidate screening (a candidate's own rows are 2 to 4 per screening)."""
ROWS_PER_LOT = 10
"""Event-log rows per lot (ordered, started, filled, released or failed, expiries)."""
LOTS_PER_NEED = 20
"""Lots a replicate may order per lot its design, stock policy and expiry need on average."""
FLOOR = 1000
"""Every budget is at least this (small designs still need slack)."""


class BudgetExceeded(Exception):
    """A replicate went past its budget; ``field`` is the scenario field most likely at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


EVENT_FIELDS = {
    "referred": "sites[].referral_rate_per_month",
    "screen_failed": "population",
    "screen_passed": "screening",
    "screen_expired": "screening.window_days",
    "candidate_lost": "screening",
    "vials_thawed": "product.thaw_window_hours",
    "vials_wasted": "product.thaw_window_hours",
    "vials_expired": "product.lots.shelf_life_days",
    "lot_ordered": "product.policy",
    "adverse_event": "safety.adverse_events",
    "review_opened": "safety.adverse_events",
    "replacement_added": "retention",
}
"""Where to look when one kind of event floods the log."""


@dataclass(frozen=True)
class ReplicateBudget:
    """Most candidates, lots and event-log rows one replicate of a scenario may produce."""

    candidates: int
    lots: int
    rows: int

    @classmethod
    def for_scenario(cls, scenario: Scenario, trace: Trace | None = None) -> ReplicateBudget:
        """The scenario's budget; a trial's records (``trace``) add their own rows and lots to it
        (a recorded candidate is not a drawn one: the candidate budget counts drawn candidates)."""
        subjects = scenario.target_enrolment * (1 + scenario.safety.max_cohort_repeats)
        candidates = FLOOR + CANDIDATES_PER_SUBJECT * subjects
        lots = FLOOR + LOTS_PER_NEED * lots_needed(scenario)
        rescreens = 1 + scenario.screening.max_rescreens
        rows = FLOOR + ROWS_PER_CANDIDATE * rescreens * candidates + ROWS_PER_LOT * lots
        if trace is not None:
            lots += len(trace.lots or ())
            rows += trace.rows
        return cls(candidates, lots, rows)

    def candidates_exceeded(self, scenario: Scenario) -> BudgetExceeded:
        return BudgetExceeded(
            "sites[].referral_rate_per_month",
            f"more than {self.candidates:,} candidates referred for a design of {scenario.target_enrolment} "
            "subjects: are referrals far too frequent, or does (almost) no candidate pass screening "
            "(population)?",
        )

    def lots_exceeded(self) -> BudgetExceeded:
        return BudgetExceeded(
            "product.policy",
            f"more than {self.lots:,} lots ordered: does the stock policy ask for far more than lots "
            "yield (product.lots.yield_cells / product.vial_cells), or do lots keep failing or expiring?",
        )

    def rows_exceeded(self, counts: Mapping[str, int]) -> BudgetExceeded:
        top, count = Counter(counts).most_common(1)[0]
        return BudgetExceeded(
            EVENT_FIELDS.get(top, ""),
            f"more than {self.rows:,} events in one replicate, {count:,} of them '{top}': the scenario "
            "makes the trial repeat something without end",
        )


def lots_needed(scenario: Scenario) -> int:
    """Lots a replicate needs on average: the design's doses, the stock policy's holding and
    expiry replacements over the horizon, scheduled lots and the initial stock."""
    product = scenario.product
    if product is None:
        return 0
    per_lot = max(product.expected_good_vials_per_lot, 1e-9)
    repeats = 1 + scenario.safety.max_cohort_repeats
    vials = sum(c.size * c.infusions * scenario.vials_per_dose(c) for c in scenario.cohorts)
    policy = product.policy
    cover = math.ceil(policy.cover) if isinstance(policy, MakeToOrder) else 1
    need = math.ceil(vials * repeats * cover / per_lot)
    held = math.ceil(policy.reorder_point_vials / per_lot) + 1 if isinstance(policy, ReorderPoint) else 1
    renewals = math.ceil(scenario.horizon_days / product.lots.shelf_life_days) + 1
    scheduled = len(policy.start_days) if isinstance(policy, Schedule) else 0
    return need + held * renewals + scheduled + product.initial_lots
