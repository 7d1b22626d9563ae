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

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.scenario.trial import Cohort
from ctdild_sim.sim.capacity import Capacity
from ctdild_sim.sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.state import TrialState


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
        if waiter is not None and not waiter.triggered and self.settled == self.slots_total:
            waiter.succeed()


class CohortGate:
    """Opens the cohorts in order, each only after the previous one has passed its gate."""

    def __init__(self, trial: Trial, state: TrialState | None = None):
        """``state``: a trial under way (a restart): its cohorts' slots, and the open one."""
        self.trial = trial
        env = trial.env
        self.cohorts = [CohortState(env, i, spec) for i, spec in enumerate(trial.scenario.cohorts)]
        self.open_slots: deque[int] = deque()  # cohort index of each slot not yet filled
        self.open_cohort: CohortState | None = None
        self.dosing_complete = env.event()
        if state is None:
            env.process(self._run())
        elif state.open_cohort is None:
            self._restore(state)
            self.dosing_complete.succeed()
        else:
            self._restore(state)
            env.process(self._run(state.open_cohort))

    def _restore(self, state: TrialState) -> None:
        env, stagger = self.trial.env, self.trial.scenario.dosing.stagger_days
        for cohort, progress in zip(self.cohorts, state.cohorts, strict=False):
            cohort.slots_total, cohort.slots_filled = progress.slots_total, progress.slots_filled
            cohort.settled, cohort.repeats = progress.settled, progress.repeats
            last = progress.last_first_infusion_day
            if stagger > 0 and last is not None and last + stagger > env.now:  # the sentinel spacing still runs
                cohort.sentinel.in_use = 1
                env.timeout(last + stagger - env.now).callbacks.append(_give_back(cohort))
        if state.open_cohort is not None:
            cohort = self.cohorts[state.open_cohort]
            self.open_cohort = cohort
            self.open_slots.extend([cohort.index] * (cohort.slots_total - cohort.slots_filled))

    def _run(self, resume_at: int | None = None):
        """Open the cohorts in order; a restart takes up ``resume_at``, already open."""
        trial = self.trial
        for cohort in self.cohorts[resume_at or 0 :]:
            self.open_cohort = cohort
            if cohort.index != resume_at:
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
        self.open_slots.extend([cohort.index] * n)
        if cohort.index == len(self.cohorts) - 1:
            self.trial.recruitment.reopen()
        self.trial.screening.fill_slots()

    def slot_filled(self, cohort: CohortState) -> None:
        cohort.slots_filled += 1
        if cohort.slots_filled == cohort.slots_total:
            self.trial.log.record(EventName.COHORT_ENROLLED, cohort=cohort.number, value=float(cohort.slots_filled))
            if cohort.index == len(self.cohorts) - 1:
                self.trial.recruitment.close()

    def repeat_open_cohort(self) -> bool:
        """Repeat the dose level under test; False when the repeat limit forbids it."""
        cohort = self.open_cohort
        if cohort is None:
            return True  # every cohort has passed its gate: nothing left to repeat
        if cohort.repeats >= self.trial.scenario.safety.max_cohort_repeats:
            return False
        cohort.repeats += 1
        self.trial.log.record(EventName.COHORT_REPEATED, cohort=cohort.number, value=float(cohort.repeats))
        self.add_slots(cohort, cohort.spec.size)
        return True


def _give_back(cohort: CohortState) -> Callable[[simpy.Event], None]:
    """A callback that frees ``cohort``'s sentinel slot (the spacing after its last first infusion)."""
    return lambda _: cohort.sentinel.give_back()
