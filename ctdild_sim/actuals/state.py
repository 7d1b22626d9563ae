"""From a trial's records to the state the engine restarts from (``model.state.TrialState``).

The records say what happened; the protocol says what follows from it. Holds end ``hold_days``
after a subject's last infusion, visits fall on the follow-up schedule, a subject who leaves before
the hold is replaced (if the scenario says so), a cohort's gate passes when every slot it offered
is settled and no safety review is open, the next cohort opens then, a review that repeats the
dose level adds a cohort's worth of slots. This module replays those rules over the records, day
by day, and writes the history the engine's log would hold: so the metrics, the milestones and
the tables of a forecast read observed and simulated days alike.

The restart is the day after the as-of date: everything dated up to and including it has happened.
What the records allow but the protocol does not (a cohort dosed before the previous cohort's
gate) is kept as recorded, with a warning.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from ctdild_sim.actuals.reader import Actuals, Line, site_names
from ctdild_sim.actuals.rows import InfusionRow, LotRow, ReviewRow, ScreeningRow, SubjectRow
from ctdild_sim.model.state import (
    AdverseEventState,
    CohortProgress,
    ReviewState,
    ScreeningState,
    SiteState,
    SubjectState,
    TrialState,
    WaitingState,
)
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import Event, EventName
from ctdild_sim.supply.lot_state import LotState

E = EventName
_ORDER = {name: k for k, name in enumerate([
    E.LOT_ORDERED, E.LOT_STARTED, E.LOT_FILLED, E.LOT_FAILED, E.LOT_RELEASED, E.SITE_ACTIVATED, E.COHORT_OPENED,
    E.REFERRED, E.SCREEN_FAILED, E.SCREEN_PASSED, E.CANDIDATE_LOST, E.ENROLLED, E.COHORT_ENROLLED,
    E.RECRUITMENT_CLOSED, E.ADMITTED, E.VIALS_THAWED, E.INFUSED, E.DISCHARGED, E.ADVERSE_EVENT, E.REVIEW_OPENED,
    E.PAUSE_STARTED, E.REVIEW_COMPLETED, E.COHORT_REPEATED, E.RECRUITMENT_REOPENED, E.PAUSE_ENDED,
    E.HOLD_COMPLETED, E.GATE_PASSED, E.VISIT, E.WITHDRAWN, E.DIED, E.LOST, E.REPLACEMENT_ADDED,
    E.FOLLOW_UP_COMPLETED, E.SCREEN_EXPIRED, E.VIALS_EXPIRED, E.TRIAL_STOPPED, E.TRIAL_COMPLETED,
])}  # fmt: skip
"""Order of events recorded on the same day (the day is all the records give)."""
LEFT = ("withdrawn", "died", "lost")


@dataclass
class _Subject:
    line: Line
    row: SubjectRow
    cohort: int  # 0-based
    passed_day: float
    infusions: list[InfusionRow]
    settle_day: float | None = None  # settled for the gate (hold completed, or left before it)
    hold_completed: bool = False
    replaced_day: float | None = None


class _History:
    """The event rows of the records, in the order of their days."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, int, int, Event]] = []

    def add(self, day: float, event: EventName, *, site=None, patient_id=None, cohort=None, detail="",
            value=math.nan) -> None:  # fmt: skip
        row = Event(float(day), site, patient_id, cohort, event.value, detail, float(value))
        self.rows.append((float(day), _ORDER[event], len(self.rows), row))

    def events(self) -> tuple[Event, ...]:
        return tuple(row for *_, row in sorted(self.rows))


def trial_state(actuals: Actuals, scenario: Scenario) -> TrialState:
    """The trial's state the day after ``actuals.as_of``; warnings go to ``actuals.warnings``."""
    return _Builder(actuals, scenario).build()


class _Builder:
    def __init__(self, actuals: Actuals, scenario: Scenario):
        self.actuals, self.scenario = actuals, scenario
        self.restart = self.day(actuals.as_of) + 1
        self.history = _History()
        self.window = scenario.screening.window_days
        self.sites_by_candidate = {row.candidate_id: row.site for row in actuals.rows("screening.csv")}

    def day(self, date: dt.date | None) -> float | None:
        return None if date is None else float((date - self.scenario.start_date).days)

    def build(self) -> TrialState:
        sites, last_referral, referrals = self._sites_and_referrals()
        screening, waiting, screening_history, passed_day, next_id = self._screening()
        subjects = self._subjects(passed_day)
        pause, open_reviews, review_closes = self._reviews()
        cohorts, open_cohort, recruitment, stop_day = self._cohorts(subjects, review_closes, pause)
        lots, used_unassigned = self._lots(subjects)
        completed = self._completion(subjects, open_cohort, stop_day)
        return TrialState(
            restart_day=self.restart,
            history=self.history.events(),
            screening_history=tuple(screening_history),
            sites={
                name: SiteState(name, sites.get(name), last_referral.get(name), referrals.get(name, 0))
                for name in site_names(self.scenario)
            },
            next_candidate_id=next_id,
            screening=tuple(screening),
            waiting=tuple(waiting),
            subjects=tuple(self._subject_state(s) for s in subjects),
            cohorts=tuple(cohorts),
            open_cohort=open_cohort,
            recruitment_closed=recruitment[0],
            recruitment_reopened_day=recruitment[1],
            pause_started_day=pause["started"],
            pause_total_days=pause["total"],
            pause_count=pause["count"],
            open_reviews=tuple(open_reviews),
            adverse_events=tuple(self._adverse_events()),
            lots=lots,
            vials_used_unassigned=used_unassigned,
            stopped=stop_day is not None,
            completed=completed,
        )

    # -- sites, referrals, screening ---------------------------------------------------------

    def _sites_and_referrals(self) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
        first_rows: dict[int, ScreeningRow] = {}
        for row in self.actuals.rows("screening.csv"):
            first = first_rows.get(row.candidate_id)
            if first is None or (row.screening_started_on or row.referred_on) < (first.screening_started_on
                                                                                 or first.referred_on):  # fmt: skip
                first_rows[row.candidate_id] = row
        last_referral: dict[str, float] = {}
        first_referral: dict[str, float] = {}
        referrals: dict[str, int] = defaultdict(int)
        for cid, row in sorted(first_rows.items()):
            day = self.day(row.referred_on)
            self.history.add(day, E.REFERRED, site=row.site, patient_id=cid)
            referrals[row.site] += 1
            last_referral[row.site] = max(last_referral.get(row.site, -math.inf), day)
            first_referral[row.site] = min(first_referral.get(row.site, math.inf), day)
        recorded = {row.site: self.day(row.activated_on) for row in self.actuals.rows("sites.csv")}
        activated = {}
        for name in site_names(self.scenario):
            day = recorded.get(name)
            if day is None:
                day = first_referral.get(name)  # active at least since its first referral
            if day is not None:
                activated[name] = day
                self.history.add(day, E.SITE_ACTIVATED, site=name)
        return activated, last_referral, referrals

    def _screening(self):
        """Screenings under way, passed screens waiting for a slot, the screenings table's rows, the
        day each candidate's enrolling screen passed, and the next candidate number."""
        by_candidate: dict[int, list[ScreeningRow]] = defaultdict(list)
        for row in self.actuals.rows("screening.csv"):
            by_candidate[row.candidate_id].append(row)
        screening, waiting, history, passed_day = [], [], [], {}
        for cid, rows in sorted(by_candidate.items()):
            rows.sort(key=lambda r: r.screening_started_on or r.referred_on)
            started = self.day(rows[0].referred_on)
            for k, row in enumerate(rows):
                if row.screening_started_on is not None:
                    started = self.day(row.screening_started_on)
                decided = self.day(row.screened_on)
                if decided is None:
                    screening.append(ScreeningState(cid, row.site, started, k))
                    break
                if row.outcome == "withdrew":
                    self.history.add(decided, E.CANDIDATE_LOST, site=row.site, patient_id=cid,
                                     detail="withdrew during screening")  # fmt: skip
                    break
                failed = row.criteria
                history.append((cid, row.site, started, decided, failed))
                if row.outcome == "failed":
                    self.history.add(decided, E.SCREEN_FAILED, site=row.site, patient_id=cid, detail=",".join(failed),
                                     value=len(failed))  # fmt: skip
                    break
                self.history.add(decided, E.SCREEN_PASSED, site=row.site, patient_id=cid, value=k)
                if row.enrolled_on is not None:
                    passed_day[cid] = decided
                    break
                expires = decided + self.window
                if expires >= self.restart:
                    waiting.append(WaitingState(cid, row.site, decided, k))
                    break
                self.history.add(expires, E.SCREEN_EXPIRED, site=row.site, patient_id=cid, value=k)
                if k == len(rows) - 1:
                    self.history.add(expires, E.CANDIDATE_LOST, site=row.site, patient_id=cid, detail="screen expired")
                started = expires
        next_id = max(by_candidate, default=0) + 1
        return screening, waiting, history, passed_day, next_id

    # -- subjects ----------------------------------------------------------------------------

    def _subjects(self, passed_day: dict[int, float]) -> list[_Subject]:
        infusions: dict[int, list[InfusionRow]] = defaultdict(list)
        for row in self.actuals.rows("infusions.csv"):
            infusions[row.subject_id].append(row)
        subjects = []
        for line in sorted(self.actuals.tables.get("subjects.csv", []), key=lambda ln: ln.row.enrolled_on):
            row: SubjectRow = line.row
            subject = _Subject(line, row, row.cohort - 1, passed_day[row.subject_id],
                               sorted(infusions[row.subject_id], key=lambda r: r.infusion))  # fmt: skip
            subjects.append(subject)
            self._journey(subject)
        return subjects

    def _journey(self, s: _Subject) -> None:
        """The subject's own events: enrolment, infusions, the hold, visits, the end."""
        scenario, row, cid = self.scenario, s.row, s.row.subject_id
        spec = scenario.cohorts[s.cohort]
        site = self._site_of(cid)
        cohort = s.cohort + 1
        enrolled = self.day(row.enrolled_on)
        self.history.add(enrolled, E.ENROLLED, site=site, patient_id=cid, cohort=cohort, value=enrolled - s.passed_day)
        weight = row.body_weight_kg if row.body_weight_kg is not None else scenario.population.body_weight_kg.mean
        for inf in s.infusions:
            kw = {"site": site, "patient_id": cid, "cohort": cohort}
            self.history.add(self.day(inf.admitted_on), E.ADMITTED, value=inf.infusion, **kw)
            if inf.lot_id is not None and inf.vials is not None:
                self.history.add(self.day(inf.infused_on), E.VIALS_THAWED, detail=f"lot {inf.lot_id} x{inf.vials}",
                                 value=inf.vials, **kw)  # fmt: skip
            self.history.add(self.day(inf.infused_on), E.INFUSED, detail=f"infusion {inf.infusion} of {spec.infusions}",
                             value=weight * spec.dose_cells_per_kg, **kw)  # fmt: skip
            if inf.discharged_on is not None:
                self.history.add(self.day(inf.discharged_on), E.DISCHARGED, **kw)
        left_day = self.day(row.status_on) if row.status in LEFT else math.inf
        if len(s.infusions) == spec.infusions:
            last = self.day(s.infusions[-1].infused_on)
            hold = last + scenario.safety.hold_days
            if hold < self.restart and hold <= left_day:
                s.hold_completed, s.settle_day = True, hold
                self.history.add(hold, E.HOLD_COMPLETED, site=site, patient_id=cid, cohort=cohort)
            for visit in scenario.follow_up.visit_days:
                if last + visit < self.restart and last + visit <= left_day:
                    self.history.add(last + visit, E.VISIT, site=site, patient_id=cid, cohort=cohort,
                                     detail=f"day {visit:g}", value=visit)  # fmt: skip
        end = self.day(row.status_on)
        if row.status == "completed":
            self.history.add(end, E.FOLLOW_UP_COMPLETED, site=site, patient_id=cid, cohort=cohort)
        elif row.status in LEFT:
            event = {"died": E.DIED, "withdrawn": E.WITHDRAWN, "lost": E.LOST}[row.status]
            given = len([i for i in s.infusions if self.day(i.infused_on) <= end])
            self.history.add(end, event, site=site, patient_id=cid, cohort=cohort,
                             detail=f"after {given} infusion(s)", value=given)  # fmt: skip
            if not s.hold_completed:
                s.settle_day = end
                if scenario.retention.replace_non_evaluable:
                    s.replaced_day = end
                    self.history.add(end, E.REPLACEMENT_ADDED, patient_id=cid, cohort=cohort)

    def _site_of(self, candidate_id: int) -> str | None:
        return self.sites_by_candidate.get(candidate_id)

    def _subject_state(self, s: _Subject) -> SubjectState:
        row = s.row
        days = tuple(self.day(i.infused_on) for i in s.infusions)
        in_hospital = None
        if row.status == "ongoing" and s.infusions and s.infusions[-1].discharged_on is None:
            in_hospital = self.day(s.infusions[-1].admitted_on)
        return SubjectState(
            candidate_id=row.subject_id, site=self._site_of(row.subject_id), cohort=s.cohort,
            enrolled_day=self.day(row.enrolled_on), screen_passed_day=s.passed_day, body_weight_kg=row.body_weight_kg,
            infusion_days=days, in_hospital_since=in_hospital, hold_completed=s.hold_completed, status=row.status,
            end_day=self.day(row.status_on) if row.status_on is not None else math.nan,
        )  # fmt: skip

    def _adverse_events(self) -> list[AdverseEventState]:
        out = []
        subjects = {row.subject_id: row for row in self.actuals.rows("subjects.csv")}
        for row in self.actuals.rows("adverse_events.csv"):
            day = self.day(row.onset_on)
            cohort = subjects[row.subject_id].cohort if row.subject_id in subjects else None
            self.history.add(day, E.ADVERSE_EVENT, site=self._site_of(row.subject_id), patient_id=row.subject_id,
                             cohort=cohort, detail=row.name + (" (triggers review)" if row.triggers_review else ""),
                             value=1.0 if row.triggers_review else 0.0)  # fmt: skip
            out.append(AdverseEventState(row.subject_id, day, row.name))
        return out

    # -- safety reviews and pauses -----------------------------------------------------------

    def _reviews(self):
        """Pause intervals, open reviews, and each decided review's (day, outcome)."""
        reviews: list[ReviewRow] = sorted(self.actuals.rows("reviews.csv"), key=lambda r: r.opened_on)
        subjects = {row.subject_id: row for row in self.actuals.rows("subjects.csv")}
        moments = []
        for r in reviews:
            moments.append((self.day(r.opened_on), 0, r))
            if r.closed_on is not None:
                moments.append((self.day(r.closed_on), 1, r))
        open_count, started, total, count, intervals = 0, None, 0.0, 0, []
        closes, stopped = [], False
        for day, kind, r in sorted(moments, key=lambda m: (m[0], m[1])):
            cohort = subjects[r.subject_id].cohort if r.subject_id in subjects else None
            if stopped:
                break
            if kind == 0:
                open_count += 1
                self.history.add(day, E.REVIEW_OPENED, patient_id=r.subject_id, cohort=cohort)
                if open_count == 1:
                    started, count = day, count + 1
                    self.history.add(day, E.PAUSE_STARTED, patient_id=r.subject_id, cohort=cohort)
            else:
                open_count -= 1
                self.history.add(day, E.REVIEW_COMPLETED, patient_id=r.subject_id, cohort=cohort, detail=r.outcome)
                closes.append((day, r.outcome))
                if r.outcome == "stop":
                    stopped = True
                elif open_count == 0:
                    total += day - started
                    intervals.append((started, day))
                    self.history.add(day, E.PAUSE_ENDED, value=total)
                    started = None
        if started is not None:
            intervals.append((started, math.inf))
        open_reviews = [
            ReviewState(self.day(r.opened_on), r.subject_id,
                        subjects[r.subject_id].cohort if r.subject_id in subjects else None)
            for r in reviews if r.closed_on is None and not stopped
        ]  # fmt: skip
        pause = {"started": started, "total": total, "count": count, "intervals": intervals}
        return pause, open_reviews, closes

    # -- cohorts and gates -------------------------------------------------------------------

    def _cohorts(self, subjects: list[_Subject], closes: list[tuple[float, str]], pause: dict):
        """Replay the gate: each cohort's slots (its size, repeats, replacements), when it was
        fully enrolled, when its gate passed (every slot settled, no review open) and the next
        opened."""
        scenario, restart = self.scenario, self.restart
        intervals = pause["intervals"]
        members: dict[int, list[_Subject]] = defaultdict(list)
        for s in subjects:
            members[s.cohort].append(s)
        stop_day = next((d for d, outcome in closes if outcome == "stop" and d < restart), None)
        progress = [CohortProgress() for _ in scenario.cohorts]
        opened_on: dict[int, float] = {}
        open_day, open_cohort, last = 0.0, None, len(scenario.cohorts) - 1
        repeats_used = 0
        for k, spec in enumerate(scenario.cohorts):
            if stop_day is not None and open_day > stop_day:
                open_cohort = k
                break
            opened_on[k] = open_day
            self.history.add(open_day, E.COHORT_OPENED, cohort=k + 1)
            gate, repeats = self._gate(members[k], spec.size, open_day, closes, intervals, stop_day)
            for n, (day, _) in enumerate(repeats, start=1):
                repeats_used += 1
                if repeats_used > scenario.safety.max_cohort_repeats:
                    stop_day = day if stop_day is None else min(stop_day, day)
                    break
                self.history.add(day, E.COHORT_REPEATED, cohort=k + 1, value=n)
            progress[k] = self._progress(members[k], spec.size, open_day, repeats, k == last)
            if gate is None or gate >= restart:
                open_cohort = k
                break
            self.history.add(gate, E.GATE_PASSED, cohort=k + 1)
            open_day = gate
        recruitment = self._recruitment(members[last], scenario.cohorts[last].size, opened_on.get(last), closes)
        if stop_day is not None:
            self.history.add(stop_day, E.TRIAL_STOPPED, detail="safety review decided to stop")
        self._deviations(subjects, opened_on)
        return progress, open_cohort, recruitment, stop_day

    def _gate(self, members: list[_Subject], size: int, open_day: float, closes, intervals, stop_day):
        """The gate's day (None if not passed by the restart) and the repeats decided while the
        cohort was open, as (day, outcome)."""
        replaced = sum(1 for s in members if s.replaced_day is not None and s.replaced_day < self.restart)
        repeats: list[tuple[float, str]] = []
        while True:
            slots = size * (1 + len(repeats)) + replaced
            settled = [s.settle_day for s in members if s.settle_day is not None and s.settle_day < self.restart]
            gate = None
            if len(settled) >= slots and len(members) >= slots:
                gate = max([open_day, *settled])
                for start, end in intervals:  # a review open at that moment holds the gate until it decides
                    if start <= gate < end:
                        gate = end
            horizon = gate if gate is not None else self.restart
            found = [(d, o) for d, o in closes if o == "repeat_cohort" and open_day <= d <= horizon]
            if len(found) == len(repeats):
                break
            repeats = found
        if gate is not None and (math.isinf(gate) or (stop_day is not None and gate >= stop_day)):
            gate = None
        return gate, repeats

    def _progress(self, members: list[_Subject], size: int, open_day: float, repeats, is_last: bool) -> CohortProgress:
        restart = self.restart
        enrolled = sorted(self.day(s.row.enrolled_on) for s in members)
        additions = [(open_day, size)] + [(d, size) for d, _ in repeats if d < restart]
        additions += [(s.replaced_day, 1) for s in members if s.replaced_day is not None and s.replaced_day < restart]
        total, filled = 0, 0
        events = sorted([(d, 0, n) for d, n in additions] + [(d, 1, 1) for d in enrolled])
        cohort = members[0].cohort + 1 if members else None
        for day, kind, n in events:
            if kind == 0:
                total += n
            else:
                filled += 1
                if filled == total and cohort is not None:
                    self.history.add(day, E.COHORT_ENROLLED, cohort=cohort, value=filled)
        firsts = [self.day(s.infusions[0].infused_on) for s in members if s.infusions]
        return CohortProgress(
            slots_total=total,
            slots_filled=filled,
            settled=sum(1 for s in members if s.settle_day is not None and s.settle_day < restart),
            repeats=len([d for d, _ in repeats if d < restart]),
            last_first_infusion_day=max(firsts) if firsts else None,
        )

    def _recruitment(self, members, size, opened, closes) -> tuple[bool, float | None]:
        """Whether recruitment is closed at the restart (the last cohort full) and when it last reopened."""
        if opened is None:
            return False, None
        restart = self.restart
        changes = [(opened, 0, size)] + [
            (d, 0, size) for d, o in closes if o == "repeat_cohort" and opened <= d < restart
        ]
        changes += [(s.replaced_day, 0, 1) for s in members if s.replaced_day is not None and s.replaced_day < restart]
        changes += [(self.day(s.row.enrolled_on), 1, 1) for s in members]
        total = filled = 0
        closed, reopened = False, None
        for day, kind, n in sorted(changes):
            if kind == 0:
                total += n
                if closed:
                    closed, reopened = False, day
                    self.history.add(day, E.RECRUITMENT_REOPENED)
            else:
                filled += 1
                if filled >= total and not closed:
                    closed = True
                    self.history.add(day, E.RECRUITMENT_CLOSED)
        return closed, reopened

    def _deviations(self, subjects: list[_Subject], opened_on: dict[int, float]) -> None:
        for s in subjects:
            opened = opened_on.get(s.cohort)
            first = self.day(s.infusions[0].infused_on) if s.infusions else None
            if first is not None and (opened is None or first < opened):
                gate = f"passed on {self.date(opened)}" if opened is not None else "had not passed"
                self.actuals.warnings.append(s.line.at(
                    "cohort", f"protocol deviation: subject {s.row.subject_id} of cohort {s.cohort + 1} was dosed on "
                    f"{self.date(first)}, before cohort {s.cohort}'s gate ({gate})"))  # fmt: skip

    def date(self, day: float) -> dt.date:
        return self.scenario.start_date + dt.timedelta(days=int(day))

    # -- lots, completion --------------------------------------------------------------------

    def _lots(self, subjects: list[_Subject]) -> tuple[tuple[LotState, ...] | None, int]:
        if self.scenario.product is None:
            return None, 0
        if not self.actuals.has("lots.csv"):
            product, used = self.scenario.product, 0
            for s in subjects:
                weight = s.row.body_weight_kg or self.scenario.population.body_weight_kg.mean
                per_dose = product.vials_per_dose(weight, self.scenario.cohorts[s.cohort].dose_cells_per_kg)
                used += sum(i.vials or per_dose for i in s.infusions)
            return None, used
        states = []
        for row in self.actuals.rows("lots.csv"):
            states.append(self._lot(row))
        return tuple(states), 0

    def _lot(self, row: LotRow) -> LotState:
        d = self.day
        vials = row.vials
        expired = row.vials_expired
        expiry = d(row.expires_on)
        if expired is None:
            expired = 0
            if vials is not None and row.released_on is not None and expiry is not None and expiry < self.restart:
                expired = max(0, vials - row.vials_used - row.vials_discarded)
        detail = f"lot {row.lot_id}"
        if not row.initial_stock and row.ordered_on is not None:
            self.history.add(d(row.ordered_on), E.LOT_ORDERED, detail=detail)
        if row.started_on is not None and not row.initial_stock:
            self.history.add(d(row.started_on), E.LOT_STARTED, detail=detail)
        if row.filled_on is not None and not row.initial_stock:
            self.history.add(d(row.filled_on), E.LOT_FILLED, detail=detail, value=vials)
        if row.failed_on is not None:
            self.history.add(d(row.failed_on), E.LOT_FAILED, detail=detail, value=vials)
        if row.released_on is not None:
            shown = f"{detail} (initial stock)" if row.initial_stock else detail
            self.history.add(d(row.released_on), E.LOT_RELEASED, detail=shown, value=vials)
        if expired and expiry is not None and expiry < self.restart:
            self.history.add(expiry, E.VIALS_EXPIRED, detail=f"{detail} (in stock)", value=expired)
        ordered = d(row.ordered_on) if row.ordered_on is not None else d(row.filled_on) or 0.0
        return LotState(
            lot_id=row.lot_id, ordered_day=ordered, initial_stock=row.initial_stock,
            started_day=_nan(d(row.started_on)), filled_day=_nan(d(row.filled_on)),
            released_day=_nan(d(row.released_on)), failed_day=_nan(d(row.failed_on)), expiry_day=_nan(expiry),
            vials=vials, used=row.vials_used, wasted=row.vials_discarded, expired=expired,
        )  # fmt: skip

    def _completion(self, subjects: list[_Subject], open_cohort: int | None, stop_day: float | None) -> bool:
        if open_cohort is not None or stop_day is not None or any(s.row.status == "ongoing" for s in subjects):
            return False
        end = max((self.day(s.row.status_on) for s in subjects), default=0.0)
        self.history.add(end, E.TRIAL_COMPLETED)
        return True


def _nan(day: float | None) -> float:
    return math.nan if day is None else day
