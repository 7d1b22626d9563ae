"""Dose cohorts and the gate between them.

The listing's design: cohort 1 (3 subjects, one infusion), then, "if no adverse events after 4
weeks", cohort 2 (4 subjects, two infusions), then, "if no adverse events after 4 weeks of the
last infusion", cohort 3 (3 subjects, three infusions). The gate reads that as: the next cohort
opens only when every subject of the current one has been observed for the hold after their
last infusion (or has left and been replaced, or left without replacement) and no safety review
is open. Enrolment slots are a queue of cohort numbers: the gate adds a cohort's slots when it
opens (or repeats, or replaces a subject), and screening fills them with waiting candidates.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.scenario.trial import Cohort
from ctdild_sim.sim.capacity import Capacity
from ctdild_sim.sim.events import EventName
from ctdild_sim.sim.timing import end_of_day

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.patient import Patient
    from ctdild_sim.model.screening import ScreenedCandidate
    from ctdild_sim.model.trace import SubjectRecord


class CohortState:
    """Progress of one cohort: slots offered and filled, subjects settled for the gate."""

    def __init__(self, env: simpy.Environment, index: int, spec: Cohort):
        self.env = env
        self.index = index
        self.spec = spec
        self.slots_total = 0
        self.slots_filled = 0
        self.settled = 0
        self.repeats = 0
        self.owed = 0  # slots recorded subjects took before the gate offered them (a deviation)
        self.opened_day: float | None = None
        self.sentinel = Capacity(env, 1)
        self._all_settled: simpy.Event | None = None

    @property
    def number(self) -> int:
        return self.index + 1

    def all_settled(self) -> simpy.Event:
        """Fires when every slot offered so far belongs to a subject settled for the gate."""
        self._all_settled = self.env.event()
        self._check()
        return self._all_settled

    def settle(self) -> None:
        """A subject completed the hold, or left in a way that needs no further wait."""
        self.settled += 1
        self._check()

    def _check(self) -> None:
        waiter = self._all_settled
        # >=: recorded subjects enrolled beyond the slots (a deviation) may settle before it opens
        if waiter is not None and not waiter.triggered and self.settled >= self.slots_total:
            waiter.succeed()


class CohortGate:
    """Opens the cohorts in order, each only after the previous one has passed its gate."""

    def __init__(self, trial: Trial):
        self.trial = trial
        env = trial.env
        self.cohorts = [CohortState(env, i, spec) for i, spec in enumerate(trial.scenario.cohorts)]
        self.open_slots: deque[int] = deque()  # cohort index of each slot not yet filled
        self.open_cohort: CohortState | None = None
        self.dosing_complete = env.event()
        env.process(self._run())

    def _run(self):
        trial = self.trial
        for cohort in self.cohorts:
            self.open_cohort = cohort
            cohort.opened_day = trial.env.now
            trial.log.record(EventName.COHORT_OPENED, cohort=cohort.number)
            trial.supply.on_cohort_opened(cohort)
            self.add_slots(cohort, cohort.spec.size)
            while True:
                yield cohort.all_settled()
                if not trial.safety.pause.active:
                    break
                yield trial.safety.pause.cleared
            trial.log.record(EventName.GATE_PASSED, cohort=cohort.number)
        self.open_cohort = None
        self.dosing_complete.succeed()

    def add_slots(self, cohort: CohortState, n: int) -> None:
        """Offer ``n`` more enrolment slots in a cohort (opening, repeat, replacement)."""
        cohort.slots_total += n
        taken = min(cohort.owed, n)  # already taken by recorded subjects enrolled ahead of the gate
        cohort.owed -= taken
        self.open_slots.extend([cohort.index] * (n - taken))
        if cohort.index == len(self.cohorts) - 1:
            self.trial.recruitment.reopen()
        if taken:
            self._check_full(cohort)
        self.trial.screening.fill_slots()

    def slot_filled(self, cohort: CohortState) -> None:
        cohort.slots_filled += 1
        self._check_full(cohort)

    def enrol_recorded(self, entry: ScreenedCandidate, record: SubjectRecord) -> Patient:
        """The records enrol a subject into their cohort, today. The protocol enrols only into a
        slot the gate has offered and never during a safety pause; a record that does otherwise is
        kept, and reported at the end of the day (by then, a gate passed the same day has offered
        its slots: records hold days, not hours)."""
        trial = self.trial
        cohort = self.cohorts[record.cohort]
        day = trial.env.now
        had_slot = cohort.index in self.open_slots
        if had_slot:
            self.open_slots.remove(cohort.index)
        else:
            cohort.owed += 1  # the subject takes the cohort's next slot
        patient = trial.enrol(None, entry.site, entry.candidate_id, cohort, day - entry.passed_day, record)
        if not had_slot or trial.safety.pause.active:
            end_of_day(trial.env).callbacks.append(lambda _: self._check_enrolment(cohort, record, day))
        return patient

    def _check_enrolment(self, cohort: CohortState, record: SubjectRecord, day: float) -> None:
        trial, when = self.trial, self.trial.date(day)
        who = f"subject {record.candidate_id} was enrolled into cohort {cohort.number} on {when}"
        if cohort.owed > 0:
            if cohort.opened_day is None:
                trial.deviation(record.source, "cohort", f"{who}, before cohort {cohort.index}'s gate passed")
            else:
                trial.deviation(
                    record.source,
                    "cohort",
                    f"{who}, which had no free slot (its size, repeats and replacements were taken)",
                )
        pause = trial.safety.pause
        if pause.active and pause.started_at < math.floor(day):
            trial.deviation(
                record.source,
                "enrolled_on",
                f"{who}, during the safety pause that began on {trial.date(pause.started_at)}",
            )

    def _check_full(self, cohort: CohortState) -> None:
        if cohort.slots_filled == cohort.slots_total:
            self.trial.log.record(EventName.COHORT_ENROLLED, cohort=cohort.number, value=float(cohort.slots_filled))
            if cohort.index == len(self.cohorts) - 1:
                self.trial.recruitment.close()

    def repeat_open_cohort(self, beyond_limit: bool = False) -> bool:
        """Repeat the dose level under test; False when the repeat limit forbids it (unless the
        records say it was repeated all the same: ``beyond_limit``)."""
        cohort = self.open_cohort
        if cohort is None:
            return True  # every cohort has passed its gate: nothing left to repeat
        if cohort.repeats >= self.trial.scenario.safety.max_cohort_repeats and not beyond_limit:
            return False
        cohort.repeats += 1
        self.trial.log.record(EventName.COHORT_REPEATED, cohort=cohort.number, value=float(cohort.repeats))
        self.add_slots(cohort, cohort.spec.size)
        return True
