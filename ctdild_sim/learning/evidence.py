"""What a trial's records say about each assumption: counts, exposures and durations.

Read from the trace (the records by component) and from the history the engine made of it up to the
restart (``model.trace.Observed``): every count is of observed events, so a record the engine reads
is a record the learning counts. A duration recorded in whole days lay within half a day of its value
(an interval); one still running at the restart lasted at least until the end of the as-of date (right
censored). Durations are kept as sufficient statistics, how many observations fell on each value, so
the cost of learning grows with the distinct values (a few thousand days at most), not with the rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ctdild_sim.learning.beliefs import interval_of_day
from ctdild_sim.model.referrals import DAYS_PER_MONTH
from ctdild_sim.model.trace import Observed, Trace
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import EventName as E

DAYS_PER_YEAR = 365.25


@dataclass
class Durations:
    """Observations of one duration: how many were known to lie within each interval, and how many
    were still running at each value."""

    within: Counter[tuple[float, float]] = field(default_factory=Counter)
    beyond: Counter[float] = field(default_factory=Counter)

    def __len__(self) -> int:
        return self.observed + self.running

    @property
    def observed(self) -> int:
        return sum(self.within.values())

    @property
    def running(self) -> int:
        return sum(self.beyond.values())

    def add(self, days: float) -> None:
        """A duration known to a day."""
        self.within[interval_of_day(days)] += 1

    def add_running(self, days: float) -> None:
        """A duration still running after ``days``."""
        self.beyond[max(0.0, days)] += 1

    def mean(self) -> float:
        n = self.observed
        return sum((a + b) / 2 * k for (a, b), k in self.within.items()) / n if n else math.nan

    def describe(self, unit: str = "days") -> str:
        if not self:
            return "no data"
        text = f"{self.observed} observed"
        if self.observed:
            text += f" (mean {self.mean():.1f} {unit})"
        if self.running:
            text += f", {self.running} still running"
        return text


@dataclass
class Evidence:
    """The records' counts, exposures and durations, as of the restart."""

    referrals: dict[str, tuple[int, float]]  # site -> (referrals, active months)
    referral_days: dict[str, list[float]]  # site -> the day of each referral (an active site's)
    active_spells: dict[str, list[tuple[float, float]]]  # site -> the days it could refer (recruitment open)
    activation: dict[int, Durations]  # site entry (index in scenario.sites) -> activation delays
    screened: tuple[int, int]  # candidates passing, failing their first screening
    criteria: Counter  # criteria failed at candidates' first screening
    durations: dict[str, Durations]  # scenario field path -> observations
    infusions: int  # infusions given
    adverse_events: dict[str, tuple[int, float]]  # AE kind -> (events, infusions whose AE would be seen by now)
    review_outcomes: Counter
    lot_qc: tuple[int, int]  # made lots failing, passing QC
    yields: Durations  # cells per lot (vials x cells per vial, to one vial)
    withdrawals: tuple[int, float]  # events, person-years on study
    deaths: tuple[int, float]


def gather(scenario: Scenario, trace: Trace, observed: Observed) -> Evidence:
    restart = trace.restart_day
    last_day = restart - 1  # the as-of date: everything still running lasted at least until then
    history = observed.history
    counts = Counter(e.event for e in history)
    screened, criteria = _screened(history)
    years = _years_on_study(trace)
    spells = _active_spells(scenario, observed)
    days = {name: [] for name in spells}
    for e in observed.history:
        if e.event == E.REFERRED and e.site in days:
            days[e.site].append(e.day)
    return Evidence(
        referrals={name: (len(days[name]), _length(s) / DAYS_PER_MONTH) for name, s in spells.items()},
        referral_days=days,
        active_spells=spells,
        activation=_activation(scenario, trace),
        screened=screened,
        criteria=criteria,
        durations=_durations(scenario, trace, last_day),
        infusions=counts[E.INFUSED],
        adverse_events=_adverse_events(scenario, history, last_day),
        review_outcomes=Counter(e.detail for e in history if e.event == E.REVIEW_COMPLETED),
        lot_qc=_lot_qc(history),
        yields=_yields(scenario, trace),
        withdrawals=(counts[E.WITHDRAWN], years),
        deaths=(counts[E.DIED], years),
    )


def _closed_spells(observed: Observed) -> list[tuple[float, float]]:
    """When recruitment was closed (the last cohort full): sites refer nobody then."""
    spells, closed = [], None
    for e in observed.history:
        if e.event == E.RECRUITMENT_CLOSED:
            closed = e.day
        elif e.event == E.RECRUITMENT_REOPENED and closed is not None:
            spells.append((closed, e.day))
            closed = None
    if closed is not None:
        spells.append((closed, observed.restart_day))
    return spells


def _active_spells(scenario: Scenario, observed: Observed) -> dict[str, list[tuple[float, float]]]:
    """Each activated site's spells of referring: from its activation to the restart, recruitment's
    closed spells (the last cohort full) taken out."""
    activated = {e.site: e.day for e in observed.history if e.event == E.SITE_ACTIVATED}
    closed, restart = _closed_spells(observed), observed.restart_day
    out = {}
    for name in scenario.site_names:
        start = activated.get(name)
        if start is None:
            continue
        spells, day = [], start
        for a, b in sorted(closed):
            if b <= day or a >= restart:
                continue
            if a > day:
                spells.append((day, a))
            day = max(day, b)
        if day < restart:
            spells.append((day, restart))
        out[name] = spells
    return out


def _length(spells: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in spells)


def _activation(scenario: Scenario, trace: Trace) -> dict[int, Durations]:
    out: dict[int, Durations] = defaultdict(Durations)
    names = iter(scenario.site_names)
    for index, site in enumerate(scenario.sites):
        for _ in range(site.count):
            name = next(names)
            referrals = trace.referrals.get(name, ())
            if name in trace.activated:
                out[index].add(trace.activated[name])
            elif referrals:  # active at the latest on its first referral
                out[index].within[(0.0, referrals[0].referred_day + 0.5)] += 1
            else:
                out[index].add_running(trace.restart_day - 1)
    return dict(out)


def _screened(history) -> tuple[tuple[int, int], Counter]:
    first: dict[int, tuple[str, str]] = {}
    for e in history:
        if e.event in (E.SCREEN_PASSED, E.SCREEN_FAILED) and e.patient_id not in first:
            first[e.patient_id] = (e.event, e.detail)
    passed = sum(1 for kind, _ in first.values() if kind == E.SCREEN_PASSED)
    criteria = Counter(c for kind, detail in first.values() if kind == E.SCREEN_FAILED for c in detail.split(",") if c)
    return (passed, len(first) - passed), criteria


def _durations(scenario: Scenario, trace: Trace, last_day: float) -> dict[str, Durations]:
    out: dict[str, Durations] = defaultdict(Durations)
    screening = out["screening.duration_days"]
    for candidates in trace.referrals.values():
        for candidate in candidates:
            for s in candidate.screenings:
                if s.decided_day is not None:
                    if s.outcome != "withdrew":
                        screening.add(s.decided_day - s.started_day)
                else:
                    screening.add_running(last_day - s.started_day)
    first, stay = out["dosing.enrolment_to_first_infusion_days"], out["dosing.length_of_stay_days"]
    for subject in trace.subjects.values():
        if subject.infusions:
            first.add(subject.infusions[0].infused_day - subject.enrolled_day)
        else:
            end = subject.status_day if subject.status_day is not None else last_day
            first.add_running(end - subject.enrolled_day)
        for infusion in subject.infusions:
            if infusion.discharged_day is not None:
                stay.add(infusion.discharged_day - infusion.admitted_day)
            else:
                stay.add_running(last_day - infusion.admitted_day)
    review = out["safety.review_days"]
    for r in trace.reviews:
        if r.closed_day is not None:
            review.add(r.closed_day - r.opened_day)
        else:
            review.add_running(last_day - r.opened_day)
    lead, qc = out["product.lots.lead_time_days"], out["product.lots.qc_release_days"]
    for lot in trace.lots or ():
        if lot.initial_stock:
            continue
        if lot.started_day is not None:
            if lot.filled_day is not None:
                lead.add(lot.filled_day - lot.started_day)
            else:
                lead.add_running(last_day - lot.started_day)
        if lot.filled_day is not None:
            done = lot.released_day if lot.released_day is not None else lot.failed_day
            if done is not None:
                qc.add(done - lot.filled_day)
            else:
                qc.add_running(last_day - lot.filled_day)
    return dict(out)


def _adverse_events(scenario: Scenario, history, last_day: float) -> dict[str, tuple[int, float]]:
    """Per scalar AE kind: events seen, and the infusions counted by the chance their AE would
    have been seen by now (its onset come): recent infusions are only partly observed."""
    counts = Counter(e.detail.removesuffix(" (triggers review)") for e in history if e.event == E.ADVERSE_EVENT)
    elapsed = Counter(max(0.0, last_day - e.day) for e in history if e.event == E.INFUSED)
    out = {}
    for ae in scenario.safety.adverse_events:
        if isinstance(ae.probability, list):
            continue
        seen = sum(k * (1.0 - ae.onset_days.survival(t)) for t, k in elapsed.items())
        out[ae.name] = (counts.get(ae.name, 0), seen)
    return out


def _lot_qc(history) -> tuple[int, int]:
    """Made lots failing and passing QC (the initial stock is not a lot the trial made)."""
    failed = sum(1 for e in history if e.event == E.LOT_FAILED)
    released = sum(1 for e in history if e.event == E.LOT_RELEASED and not e.detail.endswith("(initial stock)"))
    return failed, released


def _yields(scenario: Scenario, trace: Trace) -> Durations:
    out = Durations()
    if scenario.product is None:
        return out
    cells = scenario.product.vial_cells
    for lot in trace.lots or ():
        if lot.vials is not None and not lot.initial_stock:
            out.within[(lot.vials * cells, (lot.vials + 1) * cells)] += 1
    return out


def _years_on_study(trace: Trace) -> float:
    """Person-years on study: each subject from enrolment to leaving, completing or the restart."""
    restart = trace.restart_day
    days = 0.0
    for subject in trace.subjects.values():
        end = subject.status_day if subject.status_day is not None else restart
        days += max(0.0, min(end, restart) - subject.enrolled_day)
    return days / DAYS_PER_YEAR
