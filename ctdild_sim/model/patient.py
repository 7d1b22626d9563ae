"""One enrolled subject's journey through the protocol.

enrolment -> admission for the first infusion (after sentinel spacing, outside any safety pause,
once the dose is in stock and a bed is free; the thawed vials must be infused within the thaw
window) -> repeat infusions at the scenario's interval -> the safety hold after the last infusion,
which settles the subject for the cohort gate -> follow-up visits. Death or withdrawal can end the
journey at any point, and so can a screen that expires while the subject waits for their first
dose; a subject who leaves before the hold is complete is not evaluable and, if the scenario says
so, is replaced in the same cohort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.model.cohorts import CohortState
from ctdild_sim.sim.capacity import Capacity
from ctdild_sim.sim.events import EventName
from ctdild_sim.sim.timing import LateTimeout
from ctdild_sim.supply.inventory import DoseRequest, lots_detail

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.state import SubjectState

DAYS_PER_YEAR = 365.25


@dataclass(slots=True)
class Patient:
    """An enrolled subject and what has happened to them so far."""

    patient_id: int
    site: str
    body_weight_kg: float  # the dose is per kg: as screened, or as recorded for a restored subject
    record: Candidate | None  # as screened; None for a restored subject off study (``restart``: not drawn)
    cohort: CohortState
    enrolled_day: float
    waited_for_slot_days: float
    death_after_days: float
    withdrawal_after_days: float
    infusions_given: int = 0
    first_infusion_day: float = math.nan
    last_infusion_day: float = math.nan
    cells_infused: float = 0.0
    bed_wait_days: float = 0.0
    screen_passed_day: float = math.nan
    vials_per_dose: int = 0
    product_wait_days: float = 0.0
    hold_completed: bool = False
    status: str = "ongoing"
    end_day: float = math.nan

    @property
    def cohort_index(self) -> int:
        return self.cohort.index

    @property
    def cohort_number(self) -> int:
        return self.cohort.number

    @property
    def planned_infusions(self) -> int:
        return self.cohort.spec.infusions

    @property
    def leaves_after_days(self) -> float:
        return min(self.death_after_days, self.withdrawal_after_days)


def draw_exit_times(trial: Trial, candidate: Candidate) -> tuple[float, float]:
    """Days from enrolment to death and to withdrawal (inf when the hazard is 0); both always drawn."""
    rng = trial.streams.retention
    death_rate = trial.scenario.population.ild_profiles[candidate.ild_profile].death_hazard_per_year
    withdrawal_rate = trial.scenario.retention.withdrawal_hazard_per_year
    e1, e2 = rng.standard_exponential(2)
    death = e1 * DAYS_PER_YEAR / death_rate if death_rate > 0 else math.inf
    withdrawal = e2 * DAYS_PER_YEAR / withdrawal_rate if withdrawal_rate > 0 else math.inf
    return float(death), float(withdrawal)


class Journey:
    """simpy process of one subject; ``run`` reads like the protocol."""

    def __init__(self, trial: Trial, patient: Patient):
        self.trial = trial
        self.env = trial.env
        self.supply = trial.supply
        self.p = patient
        self.open_requests: list[DoseRequest] = []
        self.exit_reason: str | None = None
        self.leave_day = patient.enrolled_day + patient.leaves_after_days  # inf if never
        self._leaving: simpy.Event | None = None

    def run(self, resume: SubjectState | None = None):
        """The protocol from enrolment; or, for a trial restarted from its records, from where the
        subject is in it (``resume``): still in hospital after an infusion, waiting for the next
        one, or in the hold and follow-up. A wait already under way continues for what is left of
        it, drawn conditioned on the time it has already lasted."""
        p, trial, dosing = self.p, self.trial, self.trial.scenario.dosing
        rng = trial.streams.dosing
        given = p.infusions_given
        claims = [self._claim() for _ in range(p.planned_infusions - given)] if self.supply.reserve_at_enrolment else []
        now = self.env.now
        if resume is None:
            first_wait = dosing.enrolment_to_first_infusion_days.sample(rng)
        elif resume.in_hospital_since is not None:
            stay = dosing.length_of_stay_days.remaining(rng, now - resume.in_hospital_since)
            if not (yield from self._stay(stay)):
                return self._leave()
            first_wait = None
        elif given == 0:
            first_wait = dosing.enrolment_to_first_infusion_days.remaining(rng, now - p.enrolled_day)
        else:
            first_wait = None
        if first_wait is not None and not (yield from self._wait(first_wait)):
            return self._leave()
        for k in range(given, p.planned_infusions):
            if k > 0:
                if resume is not None and k == given and resume.in_hospital_since is None:
                    gap = dosing.repeat_interval_days.remaining(rng, now - p.last_infusion_day)
                else:
                    interval = dosing.repeat_interval_days.sample(rng)
                    gap = max(0.0, p.last_infusion_day + interval - self.env.now)
                if not (yield from self._wait(gap)):
                    return self._leave()
            if not (yield from self._infusion(k, claims[k - given] if claims else None)):
                return self._leave()
        if not (yield from self._hold_and_follow_up(after=now if resume is not None else -math.inf)):
            return self._leave()
        p.status = "completed"
        p.end_day = self.env.now
        self._record(EventName.FOLLOW_UP_COMPLETED)
        trial.patient_done(p)

    def _record(self, event: EventName, detail: str = "", value: float = math.nan) -> None:
        p = self.p
        self.trial.log.record(
            event, site=p.site, patient_id=p.patient_id, cohort=p.cohort_number, detail=detail, value=value
        )

    def _wait(self, days: float):
        """Wait ``days`` unless the subject leaves first; True when the wait ran out.

        The leaving day is drawn at enrolment, so a wait of known length needs one timeout only.
        """
        env = self.env
        if env.now + days < self.leave_day:
            yield env.timeout(days)
            return True
        yield env.timeout(self.leave_day - env.now)
        return False

    def _until(self, event: simpy.Event):
        """Wait for ``event`` unless the subject leaves first; True when the event came first."""
        if event.processed:
            return True
        if self._leaving is None:
            days = self.leave_day - self.env.now
            self._leaving = self.env.timeout(days) if math.isfinite(days) else self.env.event()
        yield event | self._leaving
        return not self._leaving.processed

    def _take(self, place: Capacity):
        """Take a bed or the sentinel slot; False if the subject left while waiting for it."""
        grant = place.take()
        if grant is None or (yield from self._until(grant)):
            return True
        place.withdraw(grant)
        return False

    def _claim(self) -> DoseRequest:
        req = self.supply.request(self.p.patient_id, self.p.vials_per_dose)
        self.open_requests.append(req)
        return req

    def _await_product(self, req: DoseRequest, first: bool):
        """Wait until the dose is in stock; False if the subject left (or was lost) meanwhile.

        Before the first dose the passed screen keeps ageing: when it expires the subject is
        rescreened or lost, as the product section says.
        """
        if req.served:
            return True
        env = self.env
        started = env.now
        self._record(EventName.PRODUCT_WAIT_STARTED, value=float(req.vials))
        req.waiter = env.event()
        while True:
            expires = self.p.screen_passed_day + self.trial.scenario.screening.window_days
            if first and expires < self.leave_day:  # the window is inclusive: stock arriving at its end serves
                screen_valid = yield from self._until(req.waiter | LateTimeout(env, max(0.0, expires - env.now)))
            else:
                screen_valid = yield from self._until(req.waiter)
            if not screen_valid:
                return False
            if req.served:
                self.p.product_wait_days += env.now - started
                self._record(EventName.PRODUCT_WAIT_ENDED, value=env.now - started)
                return True
            self._record(EventName.SCREEN_EXPIRED, detail="waiting for product")
            product = self.trial.scenario.product  # a limited supply has one
            if product is not None and product.on_screen_expiry == "lost":
                self.p.product_wait_days += env.now - started
                self.exit_reason = "lost"
                return False
            if not (
                yield from self._wait(self.trial.scenario.screening.duration_days.sample(self.trial.streams.screening))
            ):
                return False
            self.p.screen_passed_day = env.now
            self._record(EventName.SCREEN_PASSED, detail="rescreened while waiting for product")

    def _infusion(self, k: int, claim: DoseRequest | None):
        """Admit and infuse the k-th dose (0-based); False if the subject left first."""
        p, trial, beds, pause = self.p, self.trial, self.trial.beds, self.trial.safety.pause
        stagger = trial.scenario.dosing.stagger_days
        sentinel = p.cohort.sentinel if k == 0 and stagger > 0 else None
        if sentinel is not None and not (yield from self._take(sentinel)):
            return False
        in_bed = False
        while not in_bed:
            if pause.active and not (yield from self._until(pause.cleared)):
                break
            claim = claim or self._claim()
            if not (yield from self._await_product(claim, first=k == 0)):
                break
            asked = self.env.now
            if not (yield from self._take(beds)):
                break
            if self.env.now > asked:
                p.bed_wait_days += self.env.now - asked
                self._record(EventName.BED_WAIT_ENDED, value=self.env.now - asked)
            if pause.active:  # a pause began while the subject waited for a bed
                beds.give_back()
                continue
            vials = self.supply.take(claim)
            self.open_requests.remove(claim)
            claim = None
            if vials is None:  # the claimed vials expired before the infusion: claim again
                beds.give_back()
                continue
            if self.supply.limited:
                self._record(EventName.VIALS_THAWED, detail=lots_detail(vials), value=float(p.vials_per_dose))
            if not self.supply.thaw_in_time():
                self.supply.finish(vials, infused=False)
                self._record(EventName.VIALS_WASTED, detail=f"thaw window exceeded: {lots_detail(vials)}",
                             value=float(p.vials_per_dose))  # fmt: skip
                beds.give_back()
                continue
            self.supply.finish(vials, infused=True)
            in_bed = True
        if sentinel is not None:
            if in_bed:  # the next first infusion of the cohort may start ``stagger`` days later
                self.env.timeout(stagger).callbacks.append(lambda _: sentinel.give_back())
            else:
                sentinel.give_back()
        if not in_bed:
            return False
        cells = p.body_weight_kg * p.cohort.spec.dose_cells_per_kg
        self._record(EventName.ADMITTED, value=float(k + 1))
        self._record(EventName.INFUSED, detail=f"infusion {k + 1} of {p.planned_infusions}", value=cells)
        p.infusions_given += 1
        p.cells_infused += cells
        if k == 0:
            p.first_infusion_day = self.env.now
        p.last_infusion_day = self.env.now
        trial.safety.after_infusion(p, k)
        return (yield from self._stay(trial.scenario.dosing.length_of_stay_days.sample(trial.streams.dosing)))

    def _stay(self, days: float):
        """The rest of an infusion stay; the bed is given back; False if the subject left."""
        stayed = yield from self._wait(days)
        self.trial.beds.give_back()
        if stayed:
            self._record(EventName.DISCHARGED)
        return stayed

    def _hold_and_follow_up(self, after: float = -math.inf):
        """The safety hold and the visits, all counted from the last infusion; those before
        ``after`` (a restart: the records hold them) are not waited for again."""
        p, trial = self.p, self.trial
        hold = trial.scenario.safety.hold_days
        schedule = [(hold, 0, "hold")] + [(d, 1, "visit") for d in trial.scenario.follow_up.visit_days]
        for offset, _, kind in sorted(schedule):
            if p.last_infusion_day + offset < after:
                continue
            due = max(0.0, p.last_infusion_day + offset - self.env.now)
            if not (yield from self._wait(due)):
                return False
            if kind == "hold":
                p.hold_completed = True
                self._record(EventName.HOLD_COMPLETED)
                p.cohort.settle()
            else:
                self._record(EventName.VISIT, detail=f"day {offset:g}", value=offset)
        return True

    def _leave(self) -> None:
        """The subject died, withdrew or was lost: give back claimed product, settle them for the
        gate, replace if needed, report."""
        p, trial = self.p, self.trial
        for req in self.open_requests:
            self.supply.cancel(req)
        self.open_requests.clear()
        died = self.exit_reason is None and p.death_after_days <= p.withdrawal_after_days
        p.status = self.exit_reason or ("died" if died else "withdrawn")
        p.end_day = self.env.now
        event = {"died": EventName.DIED, "withdrawn": EventName.WITHDRAWN, "lost": EventName.LOST}[p.status]
        self._record(event, detail=f"after {p.infusions_given} infusion(s)", value=float(p.infusions_given))
        if not p.hold_completed:
            if trial.scenario.retention.replace_non_evaluable:
                trial.log.record(EventName.REPLACEMENT_ADDED, patient_id=p.patient_id, cohort=p.cohort_number)
                trial.gate.add_slots(p.cohort, 1)
            p.cohort.settle()
        if died and trial.scenario.safety.death_triggers_review:
            trial.safety.trigger(p, "death")
        trial.patient_done(p)
