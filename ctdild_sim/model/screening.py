"""Screening, the waiting list of screened candidates, and enrolment into open slots.

Screening takes a drawn time (labs, imaging, the PI and social-worker interviews) and then
evaluates every criterion of the listing. A candidate who passes waits for a cohort slot; a
passed screen is valid for ``window_days`` (its last moment included), after which the candidate
is rescreened (up to ``max_rescreens`` times) or lost. Enrolment takes the first valid candidate for each open slot,
and never while a safety pause is in force. A trial's records give their candidates' screenings
and enrolments as they happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.sim.events import EventName
from ctdild_sim.sim.timing import LateTimeout

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.patient import Patient
    from ctdild_sim.model.trace import CandidateRecord, ScreeningRecord


@dataclass(slots=True, eq=False)
class ScreenedCandidate:
    """A candidate with a passed screen, waiting for a slot. ``candidate`` (the screening facts) is
    None for a candidate the records screened until something reads them; ``superseded``: the
    records hold a later screening of theirs."""

    candidate: Candidate | None
    site: str
    candidate_id: int
    passed_day: float
    rescreens: int
    superseded: bool = False


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

    def __init__(self, trial: Trial):
        self.trial = trial
        self.spec = trial.scenario.screening
        self.rng = trial.streams.screening
        self.waiting = WaitingList()
        self.results: list[tuple[int, str, float, float, tuple[str, ...]]] = []
        self._fill_after_pause = False

    def screen(
        self, candidate: Candidate, rescreens: int = 0, started: float | None = None, days: float | None = None
    ) -> None:
        """Start one screening of one candidate; the decision comes when it ends. A screening the
        records hold as under way passes the day it ``started`` and the ``days`` it has left.

        Screening and expiry are timeouts with a callback rather than processes: thousands of them
        run per replicate and need no state between their start and their end.
        """
        env = self.trial.env
        started = env.now if started is None else started
        done = env.timeout(self.spec.duration_days.sample(self.rng) if days is None else days)
        done.callbacks.append(lambda _: self._decide(candidate, rescreens, started))

    def screen_recorded(self, candidate: CandidateRecord) -> None:
        """A referred candidate the records hold: their screenings as recorded (``_recorded``). Most
        candidates are screened once and fail: their decision is a timeout with a callback."""
        screenings = candidate.screenings
        only = screenings[0] if len(screenings) == 1 else None
        if only is not None and only.decided_day is not None and only.outcome != "passed":
            env = self.trial.env
            env.timeout(max(0.0, only.decided_day - env.now)).callbacks.append(
                lambda _: self._recorded_decision(candidate, only)
            )
        else:
            self.trial.env.process(self._recorded(candidate))

    def _recorded_decision(self, c: CandidateRecord, s: ScreeningRecord) -> None:
        """A recorded screening that did not pass, decided now."""
        if s.outcome == "withdrew":
            self.trial.log.record(
                EventName.CANDIDATE_LOST, site=c.site, patient_id=c.candidate_id, detail="withdrew during screening"
            )
            return
        self.results.append((c.candidate_id, c.site, s.started_day, self.trial.env.now, s.criteria))
        self._log_failed(c.site, c.candidate_id, s.criteria)

    def _recorded(self, c: CandidateRecord):
        """simpy process: a candidate's recorded screenings, decisions and enrolment. A screening
        still under way at the restart continues for what is left of it (drawn conditioned on the
        time it has lasted) and decides as the engine does; a passed screen the records neither
        follow with a rescreen nor with an enrolment waits for a slot like any other."""
        trial, env = self.trial, self.trial.env
        entry: ScreenedCandidate | None = None
        last = len(c.screenings) - 1
        for k, s in enumerate(c.screenings):
            if entry is not None:  # a rescreen ends the wait of the passed screen before it
                # late in its moment: a rescreen started as the screen expired comes after the expiry
                yield LateTimeout(env, max(0.0, s.started_day - env.now))
                self.waiting.remove(entry)
                entry = None
            if s.decided_day is None:
                yield env.timeout(max(0.0, trial.restart_day - env.now))
                days = self.spec.duration_days.remaining(self.rng, trial.restart_day - s.started_day)
                self.screen(trial.candidates.draw(c.site, c.candidate_id), k, s.started_day, days)
                return
            yield env.timeout(max(0.0, s.decided_day - env.now))
            if s.outcome != "passed":
                self._recorded_decision(c, s)
                return
            self.results.append((c.candidate_id, c.site, s.started_day, s.decided_day, ()))
            trial.log.record(EventName.SCREEN_PASSED, site=c.site, patient_id=c.candidate_id, value=float(k))
            entry = ScreenedCandidate(None, c.site, c.candidate_id, s.decided_day, k, superseded=k < last)
            self._wait(entry, math.ceil(self.spec.window_days))  # records count the window in whole days
            if s.enrolled_day is not None:
                yield env.timeout(max(0.0, s.enrolled_day - env.now))
                self.waiting.remove(entry)
                record = trial.subject_record(c.candidate_id)
                assert record is not None, "the records enrol a candidate as a subject they hold"
                patient = trial.gate.enrol_recorded(entry, record)
                yield from self._rescreens_of_subject(patient, c.screenings[k + 1 :])
                return

    def _rescreens_of_subject(self, patient: Patient, rescreens: tuple[ScreeningRecord, ...]):
        """A subject's screen expired while they waited for their first dose, and they were
        rescreened, as the records hold it (``patient.Journey`` takes up one under way at the restart)."""
        env, trial = self.trial.env, self.trial
        for s in rescreens:
            yield env.timeout(max(0.0, s.started_day - env.now))
            if patient.status != "ongoing":
                return
            trial.log.record(
                EventName.SCREEN_EXPIRED,
                site=patient.site,
                patient_id=patient.patient_id,
                cohort=patient.cohort_number,
                detail="waiting for product",
            )
            if s.decided_day is None:
                patient.rescreen_since = s.started_day
                return
            yield env.timeout(max(0.0, s.decided_day - env.now))
            if patient.status != "ongoing":
                return
            patient.screen_passed_day = env.now
            trial.log.record(
                EventName.SCREEN_PASSED,
                site=patient.site,
                patient_id=patient.patient_id,
                cohort=patient.cohort_number,
                detail="rescreened while waiting for product",
            )

    def wait_for_slot(self, candidate: Candidate, passed_day: float, rescreens: int) -> None:
        """A candidate with a screen passed on ``passed_day`` waits for a slot until it expires."""
        self._wait(ScreenedCandidate(candidate, candidate.site, candidate.candidate_id, passed_day, rescreens))

    def _wait(self, entry: ScreenedCandidate, window: float | None = None) -> None:
        self.waiting.add(entry)
        # the window is inclusive: a slot opening at its very end still takes the candidate
        days = self.spec.window_days if window is None else window
        end = max(0.0, entry.passed_day + days - self.trial.env.now)
        LateTimeout(self.trial.env, end).callbacks.append(lambda _: self._expire(entry))

    def _decide(self, candidate: Candidate, rescreens: int, started: float) -> None:
        env, log = self.trial.env, self.trial.log
        failed = self.trial.failed_criteria(candidate)
        self.results.append((candidate.candidate_id, candidate.site, started, env.now, failed))
        if failed:
            self._log_failed(candidate.site, candidate.candidate_id, failed)
            return
        log.record(
            EventName.SCREEN_PASSED, site=candidate.site, patient_id=candidate.candidate_id, value=float(rescreens)
        )
        self.wait_for_slot(candidate, env.now, rescreens)
        self.fill_slots()

    def _log_failed(self, site: str, candidate_id: int, failed: tuple[str, ...]) -> None:
        self.trial.log.record(
            EventName.SCREEN_FAILED,
            site=site,
            patient_id=candidate_id,
            detail=",".join(failed),
            value=float(len(failed)),
        )

    def _expire(self, entry: ScreenedCandidate) -> None:
        if not self.waiting.remove(entry):
            return  # enrolled (or rescreened) in time
        trial = self.trial
        trial.log.record(
            EventName.SCREEN_EXPIRED, site=entry.site, patient_id=entry.candidate_id, value=float(entry.rescreens)
        )
        if entry.superseded:
            return  # the records hold the rescreen that follows
        if not trial.recording and self.spec.on_expiry == "rescreen" and entry.rescreens < self.spec.max_rescreens:
            self.screen(self.facts(entry), entry.rescreens + 1)
        else:  # as the protocol says, or as the records say (they hold no rescreen)
            trial.log.record(
                EventName.CANDIDATE_LOST, site=entry.site, patient_id=entry.candidate_id, detail="screen expired"
            )

    def facts(self, entry: ScreenedCandidate) -> Candidate:
        """A waiting candidate's screening facts; for one the records screened, drawn once from the
        population conditioned on having passed screening."""
        if entry.candidate is None:
            entry.candidate = self.trial.candidates.draw_matching(
                entry.site, entry.candidate_id, True, self.trial.passes
            )
        return entry.candidate

    def fill_slots(self) -> None:
        """Enrol waiting candidates into the open slots, first come first served; during a safety
        pause nobody is enrolled, and the slots are filled when it ends. While the records drive
        the trial they say who is enrolled, and when."""
        trial = self.trial
        if trial.recording:
            return
        pause = trial.safety.pause
        if pause.active:
            if not self._fill_after_pause:
                self._fill_after_pause = True
                pause.cleared.callbacks.append(self._pause_ended)
            return
        slots = trial.gate.open_slots
        while slots and self.waiting:
            entry = self.waiting.pop_first()
            cohort = trial.gate.cohorts[slots.popleft()]
            trial.enrol(self.facts(entry), entry.site, entry.candidate_id, cohort, trial.env.now - entry.passed_day)

    def _pause_ended(self, _: simpy.Event) -> None:
        self._fill_after_pause = False
        self.fill_slots()
