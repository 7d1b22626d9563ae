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
from ctdild_sim.sim.timing import LateTimeout, end_of_day
from ctdild_sim.supply.inventory import DoseRequest, lots_detail

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.trace import InfusionRecord, SubjectRecord
    from ctdild_sim.scenario.trial import Scenario

DAYS_PER_YEAR = 365.25


@dataclass(slots=True)
class Patient:
    """An enrolled subject and what has happened to them so far."""

    patient_id: int
    site: str
    body_weight_kg: float  # the dose is per kg: as screened, or as recorded
    record: Candidate | None  # as screened; None for a recorded subject whose facts nothing reads (not drawn)
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
    recorded: SubjectRecord | None = None  # what the records hold of this subject (None: enrolled by the engine)
    rescreen_since: float = math.nan  # a recorded rescreen under way at the restart (waiting for the first dose)

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


def death_hazard(scenario: Scenario, candidate: Candidate) -> float:
    """A subject's death hazard per year: the scenario's one hazard, else their ILD profile's."""
    if scenario.retention.death_hazard_per_year is not None:
        return scenario.retention.death_hazard_per_year
    assert scenario.population is not None, "a scenario without a population has one death hazard (validated)"
    return scenario.population.ild_profiles[candidate.ild_profile].death_hazard_per_year


def draw_exit_times(trial: Trial, candidate: Candidate) -> tuple[float, float]:
    """Days from enrolment to death and to withdrawal (inf when the hazard is 0); both always drawn."""
    rng = trial.streams.retention
    death_rate = death_hazard(trial.scenario, candidate)
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

    def run(self):
        """The protocol from enrolment. A subject the records hold goes through their recorded
        admissions, infusions and discharges (and leaves, or completes, when the records say);
        from the restart on, the rest of their protocol is drawn, and a wait already under way
        then continues for what is left of it, drawn conditioned on the time it has lasted."""
        p, trial, dosing = self.p, self.trial, self.trial.scenario.dosing
        rng = trial.streams.dosing
        record = p.recorded
        under_way = False  # whether the next wait was under way at the restart
        if record is not None:
            for k, infusion in enumerate(record.infusions):
                if not (yield from self._recorded_infusion(k, infusion)):
                    return self._leave()
            if record.status == "completed":
                yield from self._hold_and_follow_up(completed_day=record.status_day)
                return self._complete()
            if trial.recording and p.infusions_given < p.planned_infusions:  # the next one is the engine's
                if not (yield from self._wait(trial.restart_day - self.env.now)):
                    return self._leave()
                under_way = True
        if not math.isnan(p.rescreen_since) and not (yield from self._rescreened()):
            return self._leave()
        given = p.infusions_given
        claims = [self._claim() for _ in range(p.planned_infusions - given)] if self.supply.reserve_at_enrolment else []
        for k in range(given, p.planned_infusions):
            now = self.env.now
            if k == 0:
                first = dosing.enrolment_to_first_infusion_days
                wait = first.remaining(rng, now - p.enrolled_day) if under_way else first.sample(rng)
            elif under_way:
                wait = dosing.repeat_interval_days.remaining(rng, now - p.last_infusion_day)
            else:
                wait = max(0.0, p.last_infusion_day + dosing.repeat_interval_days.sample(rng) - now)
            under_way = False
            if not (yield from self._wait(wait)):
                return self._leave()
            if not (yield from self._infusion(k, claims[k - given] if claims else None)):
                return self._leave()
        if not (yield from self._hold_and_follow_up()):
            return self._leave()
        # still on study as the records end: completes from the restart
        if record is not None and trial.recording and not (yield from self._wait(trial.restart_day - self.env.now)):
            return self._leave()
        self._complete()

    def _rescreened(self):
        """The rest of a rescreen the records hold as under way at the restart (the subject's screen
        expired while they waited for their first dose); False if the subject left first."""
        p, trial = self.p, self.trial
        elapsed = self.env.now - p.rescreen_since
        days = trial.scenario.screening.duration_days.remaining(trial.streams.screening, elapsed)
        if not (yield from self._wait(days)):
            return False
        p.screen_passed_day = self.env.now
        self._record(EventName.SCREEN_PASSED, detail="rescreened while waiting for product")
        return True

    def _complete(self) -> None:
        p = self.p
        p.status = "completed"
        p.end_day = self.env.now
        self._record(EventName.FOLLOW_UP_COMPLETED)
        self.trial.patient_done(p)

    def _record(self, event: EventName, detail: str = "", value: float = math.nan) -> None:
        p = self.p
        self.trial.log.record(
            event, site=p.site, patient_id=p.patient_id, cohort=p.cohort_number, detail=detail, value=value
        )

    def _wait(self, days: float):
        """Wait ``days`` unless the subject leaves first; True when the wait ran out.

        The leaving day is drawn at enrolment (or recorded), so a wait of known length needs one
        timeout only. A recorded step on the day a recorded subject left came before it: no record
        is dated after a subject left, and records hold days, not hours.
        """
        env = self.env
        end = env.now + days
        if end < self.leave_day or (end == self.leave_day and self.p.recorded is not None):
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
                self._record(
                    EventName.VIALS_WASTED,
                    detail=f"thaw window exceeded: {lots_detail(vials)}",
                    value=float(p.vials_per_dose),
                )
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
        self._record(EventName.ADMITTED, value=float(k + 1))
        self._infused(k)
        trial.safety.after_infusion(p, k)
        return (yield from self._stay(trial.scenario.dosing.length_of_stay_days.sample(trial.streams.dosing)))

    def _recorded_infusion(self, k: int, infusion: InfusionRecord):
        """The k-th infusion (0-based) as the records hold it: admitted, infused and discharged on
        their days, the vials from the recorded lot. A stay still under way at the restart lasts
        what is left of it. False if the subject left first."""
        p, trial, env = self.p, self.trial, self.env
        if not (yield from self._wait(infusion.admitted_day - env.now)):
            return False
        if infusion.discarded:  # thawed for it, not infused in time (the records give no hour: on admission)
            wasted = self.supply.take_recorded(p.patient_id, infusion.lot_id, infusion.discarded, infused=False)
            if self.supply.limited:
                detail = lots_detail(wasted)
                self._record(EventName.VIALS_THAWED, detail=detail, value=float(infusion.discarded))
                self._record(
                    EventName.VIALS_WASTED, detail=f"thaw window exceeded: {detail}", value=float(infusion.discarded)
                )
        sentinel = p.cohort.sentinel if k == 0 and trial.scenario.dosing.stagger_days > 0 else None
        if sentinel is not None:
            if sentinel.in_use:
                trial.deviation(
                    infusion.source,
                    "admitted_on",
                    f"subject {p.patient_id}'s first infusion on {trial.date(env.now)} came less than "
                    f"{trial.scenario.dosing.stagger_days:g} days (dosing.stagger_days) after the previous "
                    f"first infusion of cohort {p.cohort_number}",
                )
            sentinel.take_now()
        beds = trial.beds
        beds.take_now()  # the records say the subject had a bed
        if beds.in_use > beds.capacity:  # more in hospital than beds, unless someone leaves that day
            end_of_day(env).callbacks.append(lambda _: self._check_beds(infusion))
        self._record(EventName.ADMITTED, value=float(k + 1))
        if trial.safety.pause.active:  # dosed in a pause, unless it ends that day
            end_of_day(env).callbacks.append(lambda _: self._check_pause(k, infusion))
        if infusion.infused_day > env.now and not (yield from self._wait(infusion.infused_day - env.now)):
            trial.beds.give_back()
            return False
        taken = self.supply.take_recorded(p.patient_id, infusion.lot_id, infusion.vials or p.vials_per_dose, True)
        if self.supply.limited:
            self._record(EventName.VIALS_THAWED, detail=lots_detail(taken), value=float(sum(n for _, n in taken)))
        self._infused(k)
        if sentinel is not None:
            env.timeout(trial.scenario.dosing.stagger_days).callbacks.append(lambda _: sentinel.give_back())
        trial.safety.after_recorded_infusion(p, k)
        if infusion.discharged_day is not None:
            return (yield from self._stay(infusion.discharged_day - env.now))
        elapsed = trial.restart_day - infusion.admitted_day  # still in hospital at the restart
        rest = trial.scenario.dosing.length_of_stay_days.remaining(trial.streams.dosing, elapsed)
        return (yield from self._stay(trial.restart_day - env.now + rest))

    def _check_beds(self, infusion: InfusionRecord) -> None:
        """At the end of a recorded admission's day: more subjects in hospital than beds?"""
        beds, trial = self.trial.beds, self.trial
        if beds.in_use > beds.capacity:
            trial.deviation(
                infusion.source,
                "admitted_on",
                f"subject {self.p.patient_id} was admitted on {trial.date(infusion.admitted_day)}, and "
                f"{beds.in_use} subjects were in hospital that day; the scenario has {beds.capacity} "
                "bed(s) (dosing.beds)",
            )

    def _check_pause(self, k: int, infusion: InfusionRecord) -> None:
        """At the end of a recorded admission's day: was the trial paused for all of it?"""
        pause, trial, day = self.trial.safety.pause, self.trial, infusion.admitted_day
        if pause.active and pause.started_at < math.floor(day):
            trial.deviation(
                infusion.source,
                "admitted_on",
                f"subject {self.p.patient_id} was admitted for infusion {k + 1} on {trial.date(day)}, "
                f"during the safety pause that began on {trial.date(pause.started_at)}",
            )

    def _infused(self, k: int) -> None:
        """The k-th infusion given now: logged and counted, its AEs drawn by the caller."""
        p = self.p
        dose = p.cohort.spec.dose_cells_per_kg
        cells = 0.0 if dose is None else p.body_weight_kg * dose  # a dose not given in cells counts none
        self._record(EventName.INFUSED, detail=f"infusion {k + 1} of {p.planned_infusions}", value=cells)
        p.infusions_given += 1
        p.cells_infused += cells
        if k == 0:
            p.first_infusion_day = self.env.now
        p.last_infusion_day = self.env.now

    def _stay(self, days: float):
        """The rest of an infusion stay; the bed is given back; False if the subject left."""
        stayed = yield from self._wait(days)
        self.trial.beds.give_back()
        if stayed:
            self._record(EventName.DISCHARGED)
        return stayed

    def _hold_and_follow_up(self, completed_day: float | None = None):
        """The safety hold and the visits, all counted from the last infusion. A subject the records
        say ``completed_day`` completed then: the visits due later were not needed, and one whose
        visits ended earlier completes on the recorded day all the same."""
        p, trial = self.p, self.trial
        hold, follow_up = trial.scenario.safety.hold_days, trial.scenario.follow_up
        visits = list(follow_up.visit_days)
        if follow_up.last_visit_delay_days is not None and completed_day is None:  # its window, drawn
            earliest = visits[-2] if len(visits) > 1 else 0.0
            visits[-1] = max(earliest, visits[-1] + follow_up.last_visit_delay_days.sample(trial.streams.dosing))
        schedule = [(hold, 0, "hold")] + [(d, 1, "visit") for d in visits]
        for offset, _, kind in sorted(schedule):
            if completed_day is not None and kind == "visit" and p.last_infusion_day + offset > completed_day:
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
        if completed_day is not None and completed_day > self.env.now:
            yield self.env.timeout(completed_day - self.env.now)
        return True

    def _leave(self) -> None:
        """The subject died, withdrew or was lost: give back claimed product, settle them for the
        gate, replace if needed, report."""
        p, trial = self.p, self.trial
        for req in self.open_requests:
            self.supply.cancel(req)
        self.open_requests.clear()
        if p.recorded is not None and self.env.now >= p.recorded.left_day:
            self.exit_reason = p.recorded.status  # as recorded: withdrawn, died or lost
            if self.exit_reason == "lost" and not p.infusions_given:  # as the engine loses a subject
                self._record(EventName.SCREEN_EXPIRED, detail="waiting for product")
        p.status = self.exit_reason or ("died" if p.death_after_days <= p.withdrawal_after_days else "withdrawn")
        died = p.status == "died"
        p.end_day = self.env.now
        event = {"died": EventName.DIED, "withdrawn": EventName.WITHDRAWN, "lost": EventName.LOST}[p.status]
        self._record(event, detail=f"after {p.infusions_given} infusion(s)", value=float(p.infusions_given))
        if not p.hold_completed:
            if trial.scenario.retention.replace_non_evaluable:
                trial.log.record(EventName.REPLACEMENT_ADDED, patient_id=p.patient_id, cohort=p.cohort_number)
                trial.gate.add_slots(p.cohort, 1)
            p.cohort.settle()
        if died and trial.scenario.safety.death_triggers_review:
            if trial.recording:  # the records say which reviews opened
                trial.safety.check_recorded_review(p, "death")
            else:
                trial.safety.trigger(p, "death")
        trial.patient_done(p)
