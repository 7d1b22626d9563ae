"""What a trial's records say about each assumption: counts, exposures and durations.

Read from the records (``actuals``) and from the state derived from them (its history rows), up
to the restart day. A duration recorded in whole days lay within half a day of its value (an
interval); one still running at the restart lasted at least until the end of the as-of date
(right censored).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ctdild_sim.actuals.reader import Actuals, site_names
from ctdild_sim.learning.beliefs import interval_of_day
from ctdild_sim.model.referrals import DAYS_PER_MONTH
from ctdild_sim.model.state import TrialState
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import EventName as E

DAYS_PER_YEAR = 365.25


@dataclass
class Durations:
    """Observations of one duration: those known to a day, and those still running."""

    within: list[tuple[float, float]] = field(default_factory=list)
    beyond: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.within) + len(self.beyond)

    def describe(self, unit: str = "days") -> str:
        if not self:
            return "no data"
        text = f"{len(self.within)} observed"
        if self.within:
            mean = sum((a + b) / 2 for a, b in self.within) / len(self.within)
            text += f" (mean {mean:.1f} {unit})"
        if self.beyond:
            text += f", {len(self.beyond)} still running"
        return text


@dataclass
class Evidence:
    """The records' counts, exposures and durations, as of the restart."""

    referrals: dict[str, tuple[int, float]]  # site -> (referrals, active months)
    activation: dict[int, Durations]  # site entry (index in scenario.sites) -> activation delays
    screened: tuple[int, int]  # candidates passing, failing their first screening
    criteria: Counter  # criteria failed at candidates' first screening
    durations: dict[str, Durations]  # scenario field path -> observations
    adverse_events: dict[str, tuple[int, float]]  # AE kind -> (events, infusions whose AE would be seen by now)
    review_outcomes: Counter
    lot_qc: tuple[int, int]  # made lots failing, passing QC
    yields: Durations  # cells per lot (vials x cells per vial, to one vial)
    withdrawals: tuple[int, float]  # events, person-years on study
    deaths: tuple[int, float]


def gather(scenario: Scenario, actuals: Actuals, state: TrialState) -> Evidence:
    restart = state.restart_day
    last_day = restart - 1  # the as-of date: everything still running lasted at least until then
    history = state.history
    screened, criteria = _screened(history)
    return Evidence(
        referrals=_referrals(scenario, state),
        activation=_activation(scenario, actuals, state),
        screened=screened,
        criteria=criteria,
        durations=_durations(scenario, actuals, state, last_day),
        adverse_events=_adverse_events(scenario, state, last_day),
        review_outcomes=Counter(e.detail for e in history if e.event == E.REVIEW_COMPLETED),
        lot_qc=_lot_qc(actuals),
        yields=_yields(scenario, actuals),
        withdrawals=_exits(actuals, scenario.start_date, restart, "withdrawn"),
        deaths=_exits(actuals, scenario.start_date, restart, "died"),
    )


def _closed_spells(state: TrialState) -> list[tuple[float, float]]:
    """When recruitment was closed (the last cohort full): sites refer nobody then."""
    spells, closed = [], None
    for e in state.history:
        if e.event == E.RECRUITMENT_CLOSED:
            closed = e.day
        elif e.event == E.RECRUITMENT_REOPENED and closed is not None:
            spells.append((closed, e.day))
            closed = None
    if closed is not None:
        spells.append((closed, state.restart_day))
    return spells


def _referrals(scenario: Scenario, state: TrialState) -> dict[str, tuple[int, float]]:
    counts = Counter(e.site for e in state.history if e.event == E.REFERRED)
    spells = _closed_spells(state)
    out = {}
    for name in site_names(scenario):
        site = state.sites.get(name)
        if site is None or site.activated_day is None:
            continue
        start = site.activated_day
        days = state.restart_day - start - sum(max(0.0, min(b, state.restart_day) - max(a, start)) for a, b in spells)
        out[name] = (counts.get(name, 0), max(0.0, days) / DAYS_PER_MONTH)
    return out


def _activation(scenario: Scenario, actuals: Actuals, state: TrialState) -> dict[int, Durations]:
    recorded = {row.site: row.activated_on for row in actuals.rows("sites.csv") if row.activated_on is not None}
    first_referral: dict[str, float] = {}
    for e in state.history:
        if e.event == E.REFERRED:
            first_referral.setdefault(e.site, e.day)
    out: dict[int, Durations] = defaultdict(Durations)
    names = iter(site_names(scenario))
    for index, site in enumerate(scenario.sites):
        for _ in range(site.count):
            name = next(names)
            if name in recorded:
                out[index].within.append(interval_of_day(float((recorded[name] - scenario.start_date).days)))
            elif name in first_referral:  # active at the latest on its first referral
                out[index].within.append((0.0, first_referral[name] + 0.5))
            else:
                out[index].beyond.append(state.restart_day - 1)
    return dict(out)


def _screened(history) -> tuple[tuple[int, int], Counter]:
    first: dict[int, tuple[str, str]] = {}
    for e in history:
        if e.event in (E.SCREEN_PASSED, E.SCREEN_FAILED) and e.patient_id not in first:
            first[e.patient_id] = (e.event, e.detail)
    passed = sum(1 for kind, _ in first.values() if kind == E.SCREEN_PASSED)
    criteria = Counter(c for kind, detail in first.values() if kind == E.SCREEN_FAILED for c in detail.split(",") if c)
    return (passed, len(first) - passed), criteria


def _days(date, start) -> float:
    return float((date - start).days)


def _durations(scenario: Scenario, actuals: Actuals, state: TrialState, last_day: float) -> dict[str, Durations]:
    start = scenario.start_date
    out: dict[str, Durations] = defaultdict(Durations)
    screening = out["screening.duration_days"]
    for _, _, started, decided, _ in state.screening_history:
        screening.within.append(interval_of_day(decided - started))
    screening.beyond.extend(max(0.0, last_day - s.started_day) for s in state.screening)
    first = out["dosing.enrolment_to_first_infusion_days"]
    for s in state.subjects:
        if s.infusion_days:
            first.within.append(interval_of_day(s.infusion_days[0] - s.enrolled_day))
        else:
            end = s.end_day if not math.isnan(s.end_day) else last_day
            first.beyond.append(max(0.0, end - s.enrolled_day))
    stay = out["dosing.length_of_stay_days"]
    for row in actuals.rows("infusions.csv"):
        if row.discharged_on is not None:
            stay.within.append(interval_of_day(_days(row.discharged_on, start) - _days(row.admitted_on, start)))
        else:
            stay.beyond.append(max(0.0, last_day - _days(row.admitted_on, start)))
    review = out["safety.review_days"]
    for row in actuals.rows("reviews.csv"):
        if row.closed_on is not None:
            review.within.append(interval_of_day(_days(row.closed_on, start) - _days(row.opened_on, start)))
        else:
            review.beyond.append(max(0.0, last_day - _days(row.opened_on, start)))
    lead, qc = out["product.lots.lead_time_days"], out["product.lots.qc_release_days"]
    for row in actuals.rows("lots.csv"):
        if row.initial_stock:
            continue
        if row.started_on is not None:
            if row.filled_on is not None:
                lead.within.append(interval_of_day(_days(row.filled_on, start) - _days(row.started_on, start)))
            else:
                lead.beyond.append(max(0.0, last_day - _days(row.started_on, start)))
        if row.filled_on is not None:
            done = row.released_on or row.failed_on
            if done is not None:
                qc.within.append(interval_of_day(_days(done, start) - _days(row.filled_on, start)))
            else:
                qc.beyond.append(max(0.0, last_day - _days(row.filled_on, start)))
    return dict(out)


def _adverse_events(scenario: Scenario, state: TrialState, last_day: float) -> dict[str, tuple[int, float]]:
    """Per scalar AE kind: events seen, and the infusions counted by the chance their AE would
    have been seen by now (its onset come): recent infusions are only partly observed."""
    counts = Counter(e.detail.removesuffix(" (triggers review)") for e in state.history if e.event == E.ADVERSE_EVENT)
    infusions = [day for s in state.subjects for day in s.infusion_days]
    out = {}
    for ae in scenario.safety.adverse_events:
        if isinstance(ae.probability, list):
            continue
        seen = sum(1.0 - ae.onset_days.survival(max(0.0, last_day - day)) for day in infusions)
        out[ae.name] = (counts.get(ae.name, 0), seen)
    return out


def _lot_qc(actuals: Actuals) -> tuple[int, int]:
    made = [row for row in actuals.rows("lots.csv") if not row.initial_stock]
    return sum(1 for r in made if r.failed_on is not None), sum(1 for r in made if r.released_on is not None)


def _yields(scenario: Scenario, actuals: Actuals) -> Durations:
    out = Durations()
    if scenario.product is None:
        return out
    cells = scenario.product.vial_cells
    for row in actuals.rows("lots.csv"):
        if row.vials is not None and not row.initial_stock:
            out.within.append((row.vials * cells, (row.vials + 1) * cells))
    return out


def _exits(actuals: Actuals, start, restart: float, status: str) -> tuple[int, float]:
    """Subjects who left with ``status``, and person-years on study (enrolment to leaving or now)."""
    events, years = 0, 0.0
    for row in actuals.rows("subjects.csv"):
        enrolled = _days(row.enrolled_on, start)
        end = _days(row.status_on, start) if row.status_on is not None else restart
        years += max(0.0, min(end, restart) - enrolled) / DAYS_PER_YEAR
        events += row.status == status
    return events, years
