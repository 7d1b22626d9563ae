"""Adverse events, the trial-wide safety pause, and the safety review that ends it.

A triggering AE (one whose kind ``triggers_review``, or a death when the scenario says deaths do)
pauses the whole trial: no enrolment and no infusion until every open review has reported. Each
review takes a drawn time and decides, with the scenario's probabilities, to resume, to repeat
the dose level (the open cohort takes another ``size`` subjects), or to stop the trial.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import simpy

from ctdild_sim.scenario.distributions import Fixed, Uniform
from ctdild_sim.scenario.trial import AdverseEventType
from ctdild_sim.sim.events import EventName
from ctdild_sim.sim.memo import IdentityMemo

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.patient import Patient
    from ctdild_sim.model.trace import AdverseEventRecord, ReviewRecord, SubjectRecord


class SafetyPause:
    """Whether dosing and enrolment are paused; processes ``yield pause.cleared`` to wait it out."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.active = False
        self.started_at = 0.0
        self.total_days = 0.0
        self.count = 0
        self._cleared = env.event().succeed()

    @property
    def cleared(self) -> simpy.Event:
        """An event that has fired, or fires, when no pause is in force."""
        return self._cleared

    def start(self) -> None:
        if not self.active:
            self.active = True
            self.count += 1
            self.started_at = self.env.now
            self._cleared = self.env.event()

    def end(self) -> None:
        if self.active:
            self.active = False
            self.total_days += self.env.now - self.started_at
            self._cleared.succeed()


class SafetyReview:
    """Runs one review per triggering AE; the pause lasts while any review is open."""

    OUTCOMES = ("resume", "repeat_cohort", "stop")

    def __init__(self, trial: Trial):
        self.trial = trial
        self.rng: np.random.Generator = trial.streams.safety
        self.spec = trial.scenario.safety
        self.pause = SafetyPause(trial.env)
        self.open_reviews = 0
        self.adverse_events = adverse_event_draws(self.spec.adverse_events)
        outcomes = self.spec.review_outcomes
        self._outcome_cdf = np.cumsum([outcomes.resume, outcomes.repeat_cohort, outcomes.stop])

    def after_infusion(self, patient: Patient, infusion_index: int) -> None:
        """Draw every AE kind for one infusion; each AE that occurs is observed after its onset."""
        for ae, occurs, onset in self.adverse_events.for_infusion(self.rng, patient.cohort_index, infusion_index):
            if occurs:
                self.trial.env.process(self._observe(patient, ae.name, ae.triggers_review, onset))

    def after_recorded_infusion(self, patient: Patient, infusion_index: int) -> None:
        """An infusion the records hold, given now: its recorded AEs come on their days (the
        records hold what each led to), and each other AE kind may still come after the restart,
        with probability p S(t) / (1 - p + p S(t)) for an onset not come after t days (S: the
        onset's survival, t: the days from the infusion to the restart), its onset then drawn
        conditioned on being later than t."""
        record, trial = patient.recorded, self.trial
        assert record is not None, "an infusion the records hold is a recorded subject's"
        now = trial.env.now
        later = [i.infused_day for i in record.infusions[infusion_index + 1 :]]
        before = later[0] if later else math.inf
        seen = set()
        for event in record.adverse_events:
            if now <= event.day < before:  # an AE belongs to the last infusion before it
                seen.add(event.name)
                self._observe_recorded(patient, event)
        elapsed = trial.restart_day - now
        for kind in self.spec.adverse_events:
            if kind.name in seen:
                continue
            p = kind.probability_for(patient.cohort_index, infusion_index)
            still = p * kind.onset_days.survival(elapsed)
            if still > 0 and self.rng.random() < still / (1.0 - p + still):
                onset = elapsed + kind.onset_days.remaining(self.rng, elapsed)
                trial.env.process(self._observe(patient, kind.name, kind.triggers_review, onset))

    def observe_recorded(self, patient: Patient) -> None:
        """The recorded AEs of a subject that follow no infusion of theirs (before their first)."""
        record = patient.recorded
        if record is None:
            return
        first = record.infusions[0].infused_day if record.infusions else math.inf
        for event in record.adverse_events:
            if event.day < first:
                self._observe_recorded(patient, event)

    def _observe(self, patient: Patient, name: str, triggers: bool, onset: float):
        """An AE comes at its onset, unless the subject died first (the dead have no adverse events:
        a death is recorded as itself, and the records refuse an AE after it)."""
        yield self.trial.env.timeout(onset)
        if patient.status == "died":
            return
        self._log_adverse_event(patient, name, triggers)
        if triggers:
            self.trigger(patient, name)

    def _observe_recorded(self, patient: Patient, event: AdverseEventRecord) -> None:
        """A recorded AE, logged on its day; whether it opened a review is in the records
        (``replay_reviews``)."""
        env = self.trial.env
        env.timeout(max(0.0, event.day - env.now)).callbacks.append(lambda _: self._recorded_ae(patient, event))

    def _recorded_ae(self, patient: Patient, event: AdverseEventRecord) -> None:
        trial, name = self.trial, event.name
        self._log_adverse_event(patient, name, event.triggers_review)
        kind = next(ae for ae in self.spec.adverse_events if ae.name == name)
        if kind.triggers_review and not event.triggers_review:
            trial.deviation(
                event.source,
                "triggers_review",
                f"subject {patient.patient_id}'s {name} on {trial.date(event.day)} opened no safety "
                "review; the protocol opens one for it (safety.adverse_events: "
                "triggers_review)",
            )

    def _log_adverse_event(self, patient: Patient, name: str, triggers: bool) -> None:
        self.trial.log.record(
            EventName.ADVERSE_EVENT,
            site=patient.site,
            patient_id=patient.patient_id,
            cohort=patient.cohort_number,
            detail=name + (" (triggers review)" if triggers else ""),
            value=1.0 if triggers else 0.0,
        )

    def check_recorded_review(self, patient: Patient, reason: str) -> None:
        """A recorded death that the protocol says opens a review: do the records hold one?"""
        trial, day = self.trial, math.floor(self.trial.env.now)
        reviews = trial.trace.reviews if trial.trace is not None else ()
        if not any(r.patient_id == patient.patient_id and math.floor(r.opened_day) == day for r in reviews):
            trial.deviation(
                patient.recorded.source if patient.recorded else "",
                "status",
                f"subject {patient.patient_id}'s {reason} on {trial.date(day)} opened no safety review; "
                "the protocol opens one (safety.death_triggers_review)",
            )

    def trigger(self, patient: Patient, reason: str) -> None:
        """A triggering AE: pause now and open a review."""
        if self.trial.stopped.triggered:
            return
        self._open(patient.site, patient.patient_id, patient.cohort_number, reason)
        self.trial.env.process(self._review(patient.patient_id, patient.cohort_number))

    def _open(self, site: str | None, patient_id: int | None, cohort: int | None, reason: str) -> None:
        self.open_reviews += 1
        self.trial.log.record(EventName.REVIEW_OPENED, site=site, patient_id=patient_id, cohort=cohort, detail=reason)
        if not self.pause.active:
            self.pause.start()
            self.trial.log.record(EventName.PAUSE_STARTED, patient_id=patient_id, cohort=cohort, detail=reason)

    def replay_reviews(self, reviews: tuple[ReviewRecord, ...]) -> None:
        """The reviews a trial's records hold, each opened, and decided, on its recorded days."""
        for review in reviews:
            self.trial.env.process(self._recorded_review(review))

    def _recorded_review(self, review: ReviewRecord):
        """A recorded review: it pauses the trial from its opening; one still open at the restart
        lasts what is left of it (drawn conditioned on the time it has lasted), then decides as
        the engine does."""
        trial = self.trial
        yield trial.env.timeout(max(0.0, review.opened_day - trial.env.now))
        if trial.stopped.triggered:
            return
        subject = trial.subject_record(review.patient_id) if review.patient_id is not None else None
        cohort = subject.cohort + 1 if subject is not None else None
        reason = _recorded_reason(review, subject)
        site = next((p.site for p in trial.patients if p.patient_id == review.patient_id), None)
        self._open(site, review.patient_id, cohort, reason)
        if review.closed_day is not None:
            days = review.closed_day - trial.env.now
        else:
            elapsed = trial.restart_day - review.opened_day
            days = trial.restart_day - trial.env.now + self.spec.review_days.remaining(self.rng, elapsed)
        trial.env.process(self._review(review.patient_id, cohort, days, review.outcome, review.source))

    def _review(
        self,
        patient_id: int | None,
        cohort: int | None,
        days: float | None = None,
        outcome: str | None = None,
        source: str = "",
    ):
        """A review for its drawn (or recorded) days, then its drawn (or recorded) decision."""
        yield self.trial.env.timeout(self.spec.review_days.sample(self.rng) if days is None else days)
        if outcome is None:
            index = int(np.searchsorted(self._outcome_cdf, self.rng.random(), side="right"))
            outcome = self.OUTCOMES[min(index, len(self.OUTCOMES) - 1)]
        trial = self.trial
        if trial.stopped.triggered:
            return
        trial.log.record(EventName.REVIEW_COMPLETED, patient_id=patient_id, cohort=cohort, detail=outcome)
        self.open_reviews -= 1
        if outcome == "stop":
            trial.stop("safety review decided to stop")
            return
        if outcome == "repeat_cohort":
            gate, open_cohort = trial.gate, trial.gate.open_cohort
            beyond = open_cohort is not None and open_cohort.repeats >= self.spec.max_cohort_repeats
            # a repeat beyond the limit stops the trial, unless the records say it went on all the same
            goes_on = trial.recording and trial.trace is not None and trial.trace.last_day > trial.env.now
            if not gate.repeat_open_cohort(beyond_limit=goes_on):
                trial.stop("safety review asked for a repeat beyond max_cohort_repeats")
                return
            if beyond and open_cohort is not None:
                trial.deviation(
                    source,
                    "outcome",
                    f"the review decided on {trial.date(trial.env.now)} repeated "
                    f"cohort {open_cohort.number} beyond safety.max_cohort_repeats "
                    f"({self.spec.max_cohort_repeats}); the protocol stops the trial, the records "
                    "go on",
                )
        if self.open_reviews == 0:
            self.pause.end()
            trial.log.record(EventName.PAUSE_ENDED, value=self.pause.total_days)


def _recorded_reason(review: ReviewRecord, subject: SubjectRecord | None) -> str:
    """What opened a recorded review: the subject's triggering AE or death that day, as far as the
    records say."""
    if subject is None:
        return ""
    day = math.floor(review.opened_day)
    for ae in subject.adverse_events:
        if ae.triggers_review and math.floor(ae.day) == day:
            return ae.name
    if subject.status == "died" and subject.status_day is not None and math.floor(subject.status_day) == day:
        return "death"
    return ""


class AdverseEventDraws:
    """Each AE kind's occurrence and onset after one infusion, drawn kind after kind, the onset
    even when the AE does not occur (so the stream stays aligned between scenarios). When every
    onset is uniform or fixed, the infusion's uniforms come from one call of the generator and
    the onsets are the arithmetic of ``Uniform.sample`` (the same values: consecutive uniforms are
    the same however the calls split them), instead of two calls of Python methods a kind."""

    def __init__(self, kinds: list[AdverseEventType]) -> None:
        self.kinds = kinds
        self.uniform_onsets = all(isinstance(ae.onset_days, Uniform | Fixed) for ae in kinds)
        self.draws_per_infusion = sum(2 if isinstance(ae.onset_days, Uniform) else 1 for ae in kinds)
        # read once: each kind's probability at a (cohort, infusion), and its onset's bounds
        self._probabilities: dict[tuple[int, int], list[float]] = {}
        self._onsets = [
            (ae.onset_days.low, ae.onset_days.high - ae.onset_days.low, True)
            if isinstance(ae.onset_days, Uniform)
            else (float(ae.onset_days.mean), 0.0, False)
            for ae in kinds
        ]

    def for_infusion(
        self, rng: np.random.Generator, cohort: int, infusion: int
    ) -> list[tuple[AdverseEventType, bool, float]]:
        """(kind, whether it occurs, days to its onset) for every kind, in the scenario's order."""
        drawn: list[tuple[AdverseEventType, bool, float]] = []
        if not self.uniform_onsets:
            for ae in self.kinds:
                occurs = rng.random() < ae.probability_for(cohort, infusion)
                drawn.append((ae, occurs, ae.onset_days.sample(rng)))
            return drawn
        u: list[float] = rng.random(self.draws_per_infusion).tolist()
        probabilities = self._probabilities.get((cohort, infusion))
        if probabilities is None:
            probabilities = self._probabilities[cohort, infusion] = [
                ae.probability_for(cohort, infusion) for ae in self.kinds
            ]
        k = 0
        for ae, p, (low, width, uniform) in zip(self.kinds, probabilities, self._onsets, strict=True):
            if uniform:
                drawn.append((ae, u[k] < p, low + width * u[k + 1]))
                k += 2
            else:  # a fixed onset draws nothing
                drawn.append((ae, u[k] < p, low))
                k += 1
        return drawn


adverse_event_draws: IdentityMemo[list[AdverseEventType], AdverseEventDraws] = IdentityMemo(AdverseEventDraws)
"""The draws of a list of AE kinds (the same objects), made once: a replicate builds its safety
review afresh."""
