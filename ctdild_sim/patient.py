"""One enrolled subject's journey through the protocol.

enrolment -> admission for the first infusion (after sentinel spacing, outside any safety pause,
when a bed is free) -> repeat infusions at the scenario's interval -> the safety hold after the
last infusion, which settles the subject for the cohort gate -> follow-up visits. Death or
withdrawal can end the journey at any point; a subject who leaves before the hold is complete is
not evaluable and, if the scenario says so, is replaced in the same cohort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.candidates import Candidate
from ctdild_sim.cohorts import CohortState
from ctdild_sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.engine import Trial

DAYS_PER_YEAR = 365.25


@dataclass(slots=True)
class Patient:
    """An enrolled subject and what has happened to them so far."""

    candidate: Candidate
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
    hold_completed: bool = False
    status: str = "ongoing"
    end_day: float = math.nan
    leave: simpy.Event | None = field(default=None, repr=False)

    @property
    def patient_id(self) -> int:
        return self.candidate.candidate_id

    @property
    def site(self) -> str:
        return self.candidate.site

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
        self.p = patient
        after = patient.leaves_after_days
        patient.leave = self.env.timeout(after) if math.isfinite(after) else self.env.event()

    def run(self):
        p, trial, dosing = self.p, self.trial, self.trial.scenario.dosing
        rng = trial.streams.dosing
        if not (
            yield from self._until(self.env.timeout(dosing.enrolment_to_first_infusion_days.sample(rng)))
        ):
            return self._leave()
        for k in range(p.planned_infusions):
            if k > 0:
                interval = dosing.repeat_interval_days.sample(rng)
                gap = max(0.0, p.last_infusion_day + interval - self.env.now)
                if not (yield from self._until(self.env.timeout(gap))):
                    return self._leave()
            if not (yield from self._infusion(k)):
                return self._leave()
        if not (yield from self._hold_and_follow_up()):
            return self._leave()
        p.status = "completed"
        p.end_day = self.env.now
        trial.log.record(
            EventName.FOLLOW_UP_COMPLETED, site=p.site, patient_id=p.patient_id, cohort=p.cohort_number
        )
        trial.patient_done(p)

    def _until(self, event: simpy.Event):
        """Wait for ``event`` unless the subject leaves first; True when the event came first."""
        yield event | self.p.leave
        return not self.p.leave.processed

    def _acquire(self, resource: simpy.Resource):
        """Request ``resource``; the granted request, or None if the subject left while waiting."""
        request = resource.request()
        if (yield from self._until(request)):
            return request
        if request.triggered:
            resource.release(request)
        else:
            request.cancel()
        return None

    def _infusion(self, k: int):
        """Admit and infuse the k-th dose (0-based); False if the subject left first."""
        p, trial = self.p, self.trial
        stagger = trial.scenario.dosing.stagger_days
        sentinel = None
        if k == 0 and stagger > 0:
            sentinel = yield from self._acquire(p.cohort.sentinel)
            if sentinel is None:
                return False
        bed = None
        while bed is None:
            if trial.safety.pause.active and not (yield from self._until(trial.safety.pause.cleared)):
                break
            asked = self.env.now
            bed = yield from self._acquire(trial.beds)
            if bed is None:
                break
            p.bed_wait_days += self.env.now - asked
            if trial.safety.pause.active:  # a pause began while the subject waited for a bed
                trial.beds.release(bed)
                bed = None
        if bed is None:
            if sentinel is not None:
                p.cohort.sentinel.release(sentinel)
            return False
        if sentinel is not None:
            self.env.process(self._release_after(p.cohort.sentinel, sentinel, stagger))
        cells = p.candidate.body_weight_kg * p.cohort.spec.dose_cells_per_kg
        trial.log.record(
            EventName.ADMITTED,
            site=p.site,
            patient_id=p.patient_id,
            cohort=p.cohort_number,
            value=float(k + 1),
        )
        trial.log.record(
            EventName.INFUSED,
            site=p.site,
            patient_id=p.patient_id,
            cohort=p.cohort_number,
            detail=f"infusion {k + 1} of {p.planned_infusions}",
            value=cells,
        )
        p.infusions_given += 1
        p.cells_infused += cells
        if k == 0:
            p.first_infusion_day = self.env.now
        p.last_infusion_day = self.env.now
        trial.safety.after_infusion(p, k)
        stayed = yield from self._until(
            self.env.timeout(trial.scenario.dosing.length_of_stay_days.sample(trial.streams.dosing))
        )
        trial.beds.release(bed)
        if stayed:
            trial.log.record(
                EventName.DISCHARGED, site=p.site, patient_id=p.patient_id, cohort=p.cohort_number
            )
        return stayed

    def _release_after(self, resource: simpy.Resource, request: simpy.Event, days: float):
        yield self.env.timeout(days)
        resource.release(request)

    def _hold_and_follow_up(self):
        """The safety hold and the visits, all counted from the last infusion."""
        p, trial = self.p, self.trial
        hold = trial.scenario.safety.hold_days
        schedule = [(hold, 0, "hold")] + [(d, 1, "visit") for d in trial.scenario.follow_up.visit_days]
        for _n, (offset, _, kind) in enumerate(sorted(schedule)):
            due = max(0.0, p.last_infusion_day + offset - self.env.now)
            if not (yield from self._until(self.env.timeout(due))):
                return False
            if kind == "hold":
                p.hold_completed = True
                trial.log.record(
                    EventName.HOLD_COMPLETED, site=p.site, patient_id=p.patient_id, cohort=p.cohort_number
                )
                p.cohort.settle()
            else:
                trial.log.record(
                    EventName.VISIT,
                    site=p.site,
                    patient_id=p.patient_id,
                    cohort=p.cohort_number,
                    detail=f"day {offset:g}",
                    value=offset,
                )
        return True

    def _leave(self) -> None:
        """The subject died or withdrew: settle them for the gate, replace if needed, report."""
        p, trial = self.p, self.trial
        died = p.death_after_days <= p.withdrawal_after_days
        p.status = "died" if died else "withdrawn"
        p.end_day = self.env.now
        trial.log.record(
            EventName.DIED if died else EventName.WITHDRAWN,
            site=p.site,
            patient_id=p.patient_id,
            cohort=p.cohort_number,
            detail=f"after {p.infusions_given} infusion(s)",
            value=float(p.infusions_given),
        )
        if not p.hold_completed:
            if trial.scenario.retention.replace_non_evaluable:
                trial.log.record(EventName.REPLACEMENT_ADDED, patient_id=p.patient_id, cohort=p.cohort_number)
                trial.gate.add_slots(p.cohort, 1)
            p.cohort.settle()
        if died and trial.scenario.safety.death_triggers_review:
            trial.safety.trigger(p, "death")
        trial.patient_done(p)
