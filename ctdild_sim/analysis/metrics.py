"""Per-replicate metrics: pure functions of one replicate's records.

Milestone days are NaN when the replicate never reached them (stopped, or cut off at the
horizon). Counts are integers, durations are days. The column names are part of the output
contract (``metrics`` table, one row per replicate).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from operator import attrgetter

import numpy as np

from ctdild_sim.analysis.supply_metrics import supply_metrics
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.model.engine import ReplicateResult
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import Event
from ctdild_sim.sim.events import EventName as E

NAN = math.nan


_READ = frozenset(
    e.value
    for e in (
        E.SCREEN_PASSED,
        E.SCREEN_FAILED,
        E.INFUSED,
        E.COHORT_ENROLLED,
        E.GATE_PASSED,
        E.PAUSE_STARTED,
        E.PAUSE_ENDED,
        E.TRIAL_STOPPED,
        E.ENROLLED,
        E.TRIAL_COMPLETED,
    )
)
"""Events whose day, detail or value a metric reads (the rest are only counted)."""
# plain-string constants for the loop below: looking an enum member up costs more than comparing
_INFUSED, _SCREEN_FAILED, _COHORT_ENROLLED, _GATE_PASSED = (
    E.INFUSED.value,
    E.SCREEN_FAILED.value,
    E.COHORT_ENROLLED.value,
    E.GATE_PASSED.value,
)
_PAUSE_STARTED, _PAUSE_ENDED, _TRIAL_STOPPED = E.PAUSE_STARTED.value, E.PAUSE_ENDED.value, E.TRIAL_STOPPED.value
_SCREENED = frozenset((E.SCREEN_PASSED.value, _SCREEN_FAILED))
_EVENT_NAME = attrgetter("event")


def milestone_columns(n_cohorts: int) -> list[str]:
    """Milestone columns in the order a trial reaches them."""
    cols = ["first_infusion_day"]
    for k in range(1, n_cohorts + 1):
        cols += [f"cohort{k}_enrolled_day", f"cohort{k}_gate_day"]
    return [*cols, "lpi_day", "last_infusion_day", "lplv_day"]


def screen_failure_column(criterion: str) -> str:
    return f"sf_{criterion}"


def replicate_metrics(result: ReplicateResult, scenario: Scenario) -> dict[str, float | int | bool | str]:
    """The metrics record of one replicate: milestones, counts, time lost, and product supply."""
    n_cohorts = len(scenario.cohorts)
    counts: Counter[str] = (
        Counter(result.counts) if result.counts is not None else Counter(map(_EVENT_NAME, result.events))
    )
    failure_lists: list[str] = []
    first_time: dict[str, float] = {}
    last_time: dict[str, float] = {}
    enrolled_day: dict[int | None, float] = {}  # an event row's cohort and patient may be None
    gate_day: dict[int | None, float] = {}
    screened_ids: set[int | None] = set()
    failed_ids: set[int | None] = set()
    pause_open: float | None = None
    pause_days = 0.0
    cells = 0.0
    stop_day = NAN
    for ev in result.events:
        name = ev.event
        if name not in _READ:  # most events only count
            continue
        first_time.setdefault(name, ev.day)
        last_time[name] = ev.day
        if name == _INFUSED:
            cells += ev.value
        elif name in _SCREENED:
            screened_ids.add(ev.patient_id)
            if name == _SCREEN_FAILED and ev.patient_id not in failed_ids:
                failed_ids.add(ev.patient_id)
                failure_lists.append(ev.detail)
        elif name == _COHORT_ENROLLED:
            enrolled_day[ev.cohort] = ev.day
        elif name == _GATE_PASSED:
            gate_day[ev.cohort] = ev.day
        elif name == _PAUSE_STARTED:
            pause_open = ev.day
        elif name == _PAUSE_ENDED and pause_open is not None:
            pause_days += ev.day - pause_open
            pause_open = None
        elif name == _TRIAL_STOPPED:
            stop_day = ev.day
    failures = Counter(",".join(failure_lists).split(",")) if failure_lists else Counter()
    if pause_open is not None:
        pause_days += result.end_day - pause_open
    dosing_complete = n_cohorts in gate_day
    record: dict[str, float | int | bool | str] = {
        "replicate": result.replicate,
        "outcome": result.outcome,
        "end_day": result.end_day,
        "first_infusion_day": first_time.get(E.INFUSED, NAN),
    }
    for k in range(1, n_cohorts + 1):
        record[f"cohort{k}_enrolled_day"] = enrolled_day.get(k, NAN)
        record[f"cohort{k}_gate_day"] = gate_day.get(k, NAN)
    record["lpi_day"] = last_time.get(E.ENROLLED, NAN) if n_cohorts in enrolled_day else NAN
    record["last_infusion_day"] = last_time.get(E.INFUSED, NAN) if dosing_complete else NAN
    record["lplv_day"] = first_time.get(E.TRIAL_COMPLETED, NAN)
    record.update(
        {
            "n_referred": counts[E.REFERRED],
            "n_screened": len(screened_ids),
            "n_screen_failed": len(failed_ids),
            "n_screen_expired": counts[E.SCREEN_EXPIRED],
            "n_candidates_lost": counts[E.CANDIDATE_LOST],
            "n_enrolled": counts[E.ENROLLED],
            "n_infusions": counts[E.INFUSED],
            "n_ae": counts[E.ADVERSE_EVENT],
            "n_triggering_ae": counts[E.REVIEW_OPENED],
            "n_pauses": counts[E.PAUSE_STARTED],
            "pause_days": pause_days,
            "n_cohort_repeats": counts[E.COHORT_REPEATED],
            "n_died": counts[E.DIED],
            "n_withdrawn": counts[E.WITHDRAWN],
            "n_replacements": counts[E.REPLACEMENT_ADDED],
            "stopped_early": result.outcome == "stopped",
            "stop_day": stop_day,
            "cells_infused": cells,
            "slot_wait_days": sum(p.waited_for_slot_days for p in result.patients),
            "bed_wait_days": sum(p.bed_wait_days for p in result.patients),
        }
    )
    for criterion in CRITERION_NAMES:
        record[screen_failure_column(criterion)] = failures[criterion]
    record.update(supply_metrics(result, scenario.product, counts))
    record.update(result.drawn)
    return record


LEAN_KEEP = _READ | frozenset(
    e.value
    for e in (
        E.REFERRED,  # progress bands and counts by a day
        E.VIALS_THAWED,
        E.VIALS_WASTED,
        E.LOT_RELEASED,
        E.VIALS_EXPIRED,  # weekly supply, stock-days
    )
)
"""The events whose rows a replicate with no kept records logs (``LeanEventLog``): everything its
metrics, demand series and progress read; the others are only counted."""


COUNTED_BY = {
    "referred": (E.REFERRED.value,),
    "screened": (E.SCREEN_PASSED.value, E.SCREEN_FAILED.value),
    "enrolled": (E.ENROLLED.value,),
    "infused": (E.INFUSED.value,),
}
"""What ``counts_by`` counts: candidates referred and screened, subjects enrolled, infusions given."""


def progress_days(events: Iterable[Event]) -> dict[str, np.ndarray]:
    """The days of each referral, enrolment and infusion (``bands.PROGRESS_MEASURES``)."""
    wanted = {E.REFERRED.value: "referred", E.ENROLLED.value: "enrolled", E.INFUSED.value: "infused"}
    days: dict[str, list[float]] = {name: [] for name in wanted.values()}
    for ev in events:
        name = wanted.get(ev.event)
        if name is not None:
            days[name].append(ev.day)
    return {name: np.asarray(d, dtype=float) for name, d in days.items()}


def counts_by(events: Iterable[Event], day: float) -> dict[str, int]:
    """How many candidates were referred and screened, subjects enrolled and infusions given
    before ``day`` (a trial's progress on a date, to set the actual progress against the plan)."""
    out = {f"{name}_by_day": 0 for name in COUNTED_BY}
    screened: set[int | None] = set()
    kinds = {event: name for name, events in COUNTED_BY.items() for event in events}
    for ev in events:
        if ev.day >= day:
            continue
        name = kinds.get(ev.event)
        if name == "screened":
            screened.add(ev.patient_id)
        elif name is not None:
            out[f"{name}_by_day"] += 1
    out["screened_by_day"] = len(screened)
    return out
