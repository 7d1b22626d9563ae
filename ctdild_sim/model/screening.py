"""Screening, the waiting list of screened candidates, and enrolment into open slots.

Screening takes a drawn time (labs, imaging, the PI and social-worker interviews) and then
evaluates every criterion of the listing. A candidate who passes waits for a cohort slot; a
passed screen is valid for ``window_days`` (its last moment included), after which the candidate
is rescreened (up to ``max_rescreens`` times) or lost. Enrolment takes the first valid candidate for each open slot,
and never while a safety pause is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.sim.events import EventName
from ctdild_sim.sim.timing import LateTimeout

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial


@dataclass(slots=True, eq=False)
class ScreenedCandidate:
    candidate: Candidate
    passed_day: float
    rescreens: int


class WaitingList:
    """Candidates with a valid passed screen, first come first served (a dict keeps arrival order
    and removes an expired entry in constant time)."""

    def __init__(self) -> None:
        self._entries: dict[ScreenedCandidate, None] = {}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, entry: ScreenedCandidate) -> None:
        self._entries[entry] = None

    def pop_first(self) -> ScreenedCandidate:
        entry = next(iter(self._entries))
        del self._entries[entry]
        return entry

    def remove(self, entry: ScreenedCandidate) -> bool:
        return self._entries.pop(entry, False) is None


class Screening:
    """Screens referred candidates and enrols screened ones into the slots the gate offers."""

    def __init__(self, trial: Trial, history: tuple = ()):
        """``history``: screenings a trial's records hold (a restart), as rows of ``results``."""
        self.trial = trial
        self.spec = trial.scenario.screening
        self.rng = trial.streams.screening
        self.waiting = WaitingList()
        self.results: list[tuple[int, str, float, float, tuple[str, ...]]] = list(history)
        self._fill_after_pause = False

    def screen(
        self, candidate: Candidate, rescreens: int = 0, started: float | None = None, days: float | None = None
    ) -> None:
        """Start one screening of one candidate; the decision comes when it ends. A restart passes
        the day the screening under way ``started`` and the ``days`` it has left.

        Screening and expiry are timeouts with a callback rather than processes: thousands of them
        run per replicate and need no state between their start and their end.
        """
        env = self.trial.env
        started = env.now if started is None else started
        done = env.timeout(self.spec.duration_days.sample(self.rng) if days is None else days)
        done.callbacks.append(lambda _: self._decide(candidate, rescreens, started))

    def wait_for_slot(self, candidate: Candidate, passed_day: float, rescreens: int) -> None:
        """A candidate with a screen passed on ``passed_day`` waits for a slot until it expires."""
        entry = ScreenedCandidate(candidate, passed_day, rescreens)
        self.waiting.add(entry)
        # the window is inclusive: a slot opening at its very end still takes the candidate
        end = max(0.0, passed_day + self.spec.window_days - self.trial.env.now)
        LateTimeout(self.trial.env, end).callbacks.append(lambda _: self._expire(entry))

    def _decide(self, candidate: Candidate, rescreens: int, started: float) -> None:
        env, log = self.trial.env, self.trial.log
        failed = self.trial.failed_criteria(candidate)
        self.results.append((candidate.candidate_id, candidate.site, started, env.now, failed))
        if failed:
            log.record(
                EventName.SCREEN_FAILED,
                site=candidate.site,
                patient_id=candidate.candidate_id,
                detail=",".join(failed),
                value=float(len(failed)),
            )
            return
        log.record(
            EventName.SCREEN_PASSED, site=candidate.site, patient_id=candidate.candidate_id, value=float(rescreens)
        )
        self.wait_for_slot(candidate, env.now, rescreens)
        self.fill_slots()

    def _expire(self, entry: ScreenedCandidate) -> None:
        if not self.waiting.remove(entry):
            return  # enrolled in time
        c = entry.candidate
        self.trial.log.record(
            EventName.SCREEN_EXPIRED, site=c.site, patient_id=c.candidate_id, value=float(entry.rescreens)
        )
        if self.spec.on_expiry == "rescreen" and entry.rescreens < self.spec.max_rescreens:
            self.screen(c, entry.rescreens + 1)
        else:
            self.trial.log.record(
                EventName.CANDIDATE_LOST, site=c.site, patient_id=c.candidate_id, detail="screen expired"
            )

    def fill_slots(self) -> None:
        """Enrol waiting candidates into the open slots, first come first served; during a safety
        pause nobody is enrolled, and the slots are filled when it ends."""
        trial = self.trial
        pause = trial.safety.pause
        if pause.active:
            if not self._fill_after_pause:
                self._fill_after_pause = True
                pause.cleared.callbacks.append(self._pause_ended)
            return
        slots = trial.gate.open_slots
        while slots and self.waiting:
            entry = self.waiting.pop_first()
            trial.enrol(entry.candidate, trial.gate.cohorts[slots.popleft()], waited=trial.env.now - entry.passed_day)

    def _pause_ended(self, _: simpy.Event) -> None:
        self._fill_after_pause = False
        self.fill_slots()
