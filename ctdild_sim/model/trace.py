"""A trial's records as the engine reads them: what happened, day by day, component by component.

A trace-driven replicate (``engine.Trial`` given a ``Trace``) runs the same processes as a plan,
from day 0. Up to the restart (the day after the as-of date) each component takes its recorded
outcome: referrals, screening durations and results, enrolments, admissions, infusions and
discharges, AEs, reviews and their outcomes, withdrawals, deaths and completions, lots' orders,
campaigns, fills, QC results and expiries. What the records leave open (a screening still under
way, a subject still on study, a review still open, a lot still in QC) continues from the restart
with a draw conditioned on the time it has already lasted. The protocol's decisions (holds,
visits, gates, cohorts opening, replacements, repeats, pauses, recruitment closing, expiries of
passed screens) are the engine's own, made by the same code as in a plan; where a record
contradicts one (a subject enrolled into a cohort not yet open), the record wins and the engine
reports a protocol deviation.

Plain data in days since the study's start, built by ``ctdild_sim.actuals.trace`` from checked
records, sent to worker processes (so not compiled: compiled classes do not unpickle). ``Observed``
is what the engine makes of a trace up to the restart: the forecast's history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ctdild_sim.sim.events import Event
from ctdild_sim.supply.lot_state import LotRecord, LotState


@dataclass(frozen=True)
class ScreeningRecord:
    """One screening of a candidate: ``decided_day`` None while it is still under way."""

    started_day: float
    decided_day: float | None
    outcome: str | None  # passed, failed, withdrew (None while under way)
    criteria: tuple[str, ...] = ()
    enrolled_day: float | None = None  # a passed screening that led to enrolment


@dataclass(frozen=True)
class CandidateRecord:
    """A referred candidate and their screenings, in order (a rescreen follows a passed screen)."""

    candidate_id: int
    site: str
    referred_day: float
    screenings: tuple[ScreeningRecord, ...]


@dataclass(frozen=True)
class InfusionRecord:
    """One admission for an infusion; ``discharged_day`` None while still in hospital."""

    admitted_day: float
    infused_day: float
    discharged_day: float | None
    lot_id: int | None = None
    vials: int | None = None
    discarded: int = 0  # vials thawed for it but not infused in time
    source: str = ""  # where its row is, for deviation messages


@dataclass(frozen=True)
class AdverseEventRecord:
    day: float
    name: str
    triggers_review: bool
    source: str = ""


@dataclass(frozen=True)
class SubjectRecord:
    """An enrolled subject: their cohort (0-based), infusions in order, AEs, and where they stand.
    ``source`` is where their row is (``records/subjects.csv:4``), for deviation messages."""

    candidate_id: int
    cohort: int
    enrolled_day: float
    body_weight_kg: float | None
    status: str  # ongoing, completed, withdrawn, died, lost
    status_day: float | None
    infusions: tuple[InfusionRecord, ...] = ()
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    source: str = ""

    @property
    def ongoing(self) -> bool:
        return self.status == "ongoing"

    @property
    def left_day(self) -> float:
        """The day the subject withdrew, died or was lost (inf if they did not)."""
        if self.status in ("withdrawn", "died", "lost") and self.status_day is not None:
            return self.status_day
        return math.inf


@dataclass(frozen=True)
class ReviewRecord:
    """A safety review; ``closed_day`` and ``outcome`` None while it is still open."""

    opened_day: float
    closed_day: float | None
    outcome: str | None
    patient_id: int | None
    source: str = ""


@dataclass(frozen=True)
class Trace:
    """Everything the records say, by component, and the day the simulation takes over."""

    restart_day: float
    activated: dict[str, float] = field(default_factory=dict)  # site -> recorded activation day
    referrals: dict[str, tuple[CandidateRecord, ...]] = field(default_factory=dict)  # by site, in order
    subjects: dict[int, SubjectRecord] = field(default_factory=dict)
    reviews: tuple[ReviewRecord, ...] = ()
    lots: tuple[LotRecord, ...] | None = None  # None: no lot records (the scenario's initial stock)
    last_day: float = 0.0  # the last day anything was recorded (an expiry, known in advance, aside)

    @property
    def next_candidate_id(self) -> int:
        """The number a candidate referred after the restart gets (ids are labels: any gap is fine)."""
        return 1 + max((c.candidate_id for cs in self.referrals.values() for c in cs), default=0)

    @property
    def candidates(self) -> int:
        return sum(len(cs) for cs in self.referrals.values())

    @property
    def rows(self) -> int:
        """How many event rows the records may give (the replicate's budget grows by them)."""
        screenings = sum(len(c.screenings) for cs in self.referrals.values() for c in cs)
        infusions = sum(len(s.infusions) + len(s.adverse_events) for s in self.subjects.values())
        return 8 * (self.candidates + screenings + infusions + len(self.reviews) + len(self.lots or ()))


@dataclass(frozen=True)
class Observed:
    """A trial as its records leave it at the restart, made by the engine from a trace: every event
    it logged before the restart (the forecast's history, the same in every replicate), each lot
    as it stands at the restart, and the protocol deviations found on the way (the records win)."""

    restart_day: float
    history: tuple[Event, ...]
    lots: tuple[LotState, ...]
    lots_recorded: bool  # False: no lot records, the lots are the scenario's initial stock
    warnings: tuple[str, ...] = ()  # protocol deviations the records show, and what they leave unknown
    stopped: bool = False
    completed: bool = False
