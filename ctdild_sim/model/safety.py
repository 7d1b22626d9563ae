"""Adverse events, the trial-wide safety pause, and the safety review that ends it.

A triggering AE (one whose kind ``triggers_review``, or a death when the scenario says deaths do)
pauses the whole trial: no enrolment and no infusion until every open review has reported. Each
review takes a drawn time and decides, with the scenario's probabilities, to resume, to repeat
the dose level (the open cohort takes another ``size`` subjects), or to stop the trial.
"""

from __future__ import annotations

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
    from ctdild_sim.model.state import TrialState


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

    def still_to_come(self, patient: Patient, infusion_index: int, infusion_day: float, seen: set[str]) -> None:
        """For an infusion given before a restart: draw each AE kind not ``seen`` after it that may
        still be observed. An AE of probability p whose onset has not come after t days is still
        to come with probability p S(t) / (1 - p + p S(t)) (S: the onset's survival); its onset is
        then drawn conditioned on being later than t."""
        elapsed = self.trial.env.now - infusion_day
        for ae in self.spec.adverse_events:
            if ae.name in seen:
                continue
            p = ae.probability_for(patient.cohort_index, infusion_index)
            later = p * ae.onset_days.survival(elapsed)
            if later > 0 and self.rng.random() < later / (1.0 - p + later):
                onset = ae.onset_days.remaining(self.rng, elapsed)
                self.trial.env.process(self._observe(patient, ae.name, ae.triggers_review, onset))

    def _observe(self, patient: Patient, name: str, triggers: bool, onset: float):
        yield self.trial.env.timeout(onset)
        self.trial.log.record(
            EventName.ADVERSE_EVENT,
            site=patient.site,
            patient_id=patient.patient_id,
            cohort=patient.cohort_number,
            detail=name + (" (triggers review)" if triggers else ""),
            value=1.0 if triggers else 0.0,
        )
        if triggers:
            self.trigger(patient, name)

    def trigger(self, patient: Patient, reason: str) -> None:
        """A triggering AE: pause now and open a review."""
        if self.trial.stopped.triggered:
            return
        self.open_reviews += 1
        self.trial.log.record(
            EventName.REVIEW_OPENED,
            site=patient.site,
            patient_id=patient.patient_id,
            cohort=patient.cohort_number,
            detail=reason,
        )
        if not self.pause.active:
            self.pause.start()
            self.trial.log.record(
                EventName.PAUSE_STARTED,
                patient_id=patient.patient_id,
                cohort=patient.cohort_number,
                detail=reason,
            )
        self.trial.env.process(self._review(patient.patient_id, patient.cohort_number))

    def restore(self, state: TrialState) -> None:
        """A trial under way (a restart): its pause, and each open review for what is left of it."""
        pause = self.pause
        pause.total_days, pause.count = state.pause_total_days, state.pause_count
        if state.pause_started_day is not None:
            pause.active, pause.started_at, pause._cleared = True, state.pause_started_day, self.trial.env.event()
        for review in state.open_reviews:
            self.open_reviews += 1
            days = self.spec.review_days.remaining(self.rng, self.trial.env.now - review.opened_day)
            self.trial.env.process(self._review(review.patient_id, review.cohort, days))

    def _review(self, patient_id: int | None, cohort: int | None, days: float | None = None):
        yield self.trial.env.timeout(self.spec.review_days.sample(self.rng) if days is None else days)
        index = int(np.searchsorted(self._outcome_cdf, self.rng.random(), side="right"))
        outcome = self.OUTCOMES[min(index, len(self.OUTCOMES) - 1)]
        if self.trial.stopped.triggered:
            return
        self.trial.log.record(EventName.REVIEW_COMPLETED, patient_id=patient_id, cohort=cohort, detail=outcome)
        self.open_reviews -= 1
        if outcome == "stop":
            self.trial.stop("safety review decided to stop")
            return
        if outcome == "repeat_cohort" and not self.trial.gate.repeat_open_cohort():
            self.trial.stop("safety review asked for a repeat beyond max_cohort_repeats")
            return
        if self.open_reviews == 0:
            self.pause.end()
            self.trial.log.record(EventName.PAUSE_ENDED, value=self.pause.total_days)


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
        self._onsets = [(ae.onset_days.low, ae.onset_days.high - ae.onset_days.low, True)
                        if isinstance(ae.onset_days, Uniform) else (float(ae.onset_days.mean), 0.0, False)
                        for ae in kinds]  # fmt: skip

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
            probabilities = self._probabilities[cohort, infusion] = [ae.probability_for(cohort, infusion)
                                                                     for ae in self.kinds]  # fmt: skip
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
