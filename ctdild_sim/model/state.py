"""The trial's state on a date: what the engine can start from instead of day 0.

A ``TrialState`` is plain data (it is sent to worker processes): who is in screening and since
when, who waits with a passed screen, every enrolled subject and how far along the protocol they
are, each cohort's slots, an open safety review, the sites, the lots, and the history (the event
rows of everything that happened before the restart, which the replicate's log starts with and
marks as observed). ``ctdild_sim.actuals`` builds one from a trial's records; ``engine.Trial``
starts from one. Days count from the scenario's start date, as everywhere; ``restart_day`` is the
first moment not covered by the records (the day after the as-of date).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ctdild_sim.sim.events import Event
from ctdild_sim.supply.lot_state import LotState


@dataclass(frozen=True)
class SiteState:
    """A site as of the restart: when it was activated (None: not yet), its last referral."""

    name: str
    activated_day: float | None
    last_referral_day: float | None = None
    referrals: int = 0


@dataclass(frozen=True)
class ScreeningState:
    """A candidate whose screening is under way at the restart."""

    candidate_id: int
    site: str
    started_day: float
    rescreens: int  # screenings of this candidate before this one


@dataclass(frozen=True)
class WaitingState:
    """A candidate with a passed screen, waiting for a slot at the restart."""

    candidate_id: int
    site: str
    passed_day: float
    rescreens: int


@dataclass(frozen=True)
class SubjectState:
    """An enrolled subject as of the restart."""

    candidate_id: int
    site: str
    cohort: int  # 0-based index
    enrolled_day: float
    screen_passed_day: float
    body_weight_kg: float | None  # None: not recorded, drawn from the population
    infusion_days: tuple[float, ...] = ()
    in_hospital_since: float | None = None  # admitted for the last infusion given, not yet discharged
    hold_completed: bool = False
    status: str = "ongoing"  # ongoing, completed, withdrawn, died, lost
    end_day: float = math.nan

    @property
    def ongoing(self) -> bool:
        return self.status == "ongoing"


@dataclass(frozen=True)
class CohortProgress:
    """A cohort's slots at the restart (see ``cohorts.CohortState``)."""

    slots_total: int = 0
    slots_filled: int = 0
    settled: int = 0
    repeats: int = 0
    last_first_infusion_day: float | None = None  # for sentinel spacing


@dataclass(frozen=True)
class ReviewState:
    """A safety review open at the restart."""

    opened_day: float
    patient_id: int | None
    cohort: int | None  # 1-based, as in the event log


@dataclass(frozen=True)
class AdverseEventState:
    """An AE observed before the restart (so it is not drawn again as still to come)."""

    patient_id: int
    day: float
    name: str


@dataclass(frozen=True)
class TrialState:
    """Everything the engine needs to continue a trial from ``restart_day``."""

    restart_day: float
    history: tuple[Event, ...] = ()
    screening_history: tuple[tuple[int, str, float, float, tuple[str, ...]], ...] = ()
    sites: dict[str, SiteState] = field(default_factory=dict)
    next_candidate_id: int = 1
    screening: tuple[ScreeningState, ...] = ()
    waiting: tuple[WaitingState, ...] = ()
    subjects: tuple[SubjectState, ...] = ()
    cohorts: tuple[CohortProgress, ...] = ()
    open_cohort: int | None = 0  # None: every cohort has passed its gate
    recruitment_closed: bool = False
    recruitment_reopened_day: float | None = None
    pause_started_day: float | None = None  # a pause in force at the restart
    pause_total_days: float = 0.0  # paused days of pauses already ended
    pause_count: int = 0
    open_reviews: tuple[ReviewState, ...] = ()
    adverse_events: tuple[AdverseEventState, ...] = ()
    lots: tuple[LotState, ...] | None = None  # None: the scenario's initial stock, less vials_used_unassigned
    vials_used_unassigned: int = 0
    stopped: bool = False
    completed: bool = False
