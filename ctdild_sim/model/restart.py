"""Taking up a trial where its records leave off: the parts of a restart that no single component
owns (``engine.Trial`` calls ``restore`` once its components exist).

Subjects still on study get a record drawn from the population conditioned on having passed
screening (their recorded body weight kept), their remaining time to death or withdrawal drawn
afresh (the hazards are constant, so time already survived does not matter), and their journey
resumed where they are. Subjects off study get no record: nothing of theirs is drawn again, and
the records do not hold their screening facts (the patients table leaves them blank).
Candidates in screening continue for what is left of it, with facts drawn from the population;
candidates waiting with a passed screen keep its window from the day it passed. AEs not yet
observed after past infusions may still come (``SafetyReview.still_to_come``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.model.patient import Journey, Patient, draw_exit_times
from ctdild_sim.model.state import SubjectState, TrialState

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial


def restore(trial: Trial, state: TrialState) -> None:
    """Put a restarted trial's subjects, candidates, reviews and AEs still to come in place."""
    if state.stopped:
        trial.stopped.succeed()
    if state.completed:
        trial.completed.succeed()
    trial.safety.restore(state)
    trial.beds.in_use += sum(1 for s in state.subjects if s.ongoing and s.in_hospital_since is not None)
    patients = {}
    for subject in sorted(state.subjects, key=lambda s: (s.enrolled_day, s.candidate_id)):
        patient = patients[subject.candidate_id] = _patient(trial, subject)
        trial.patients.append(patient)
        if subject.ongoing:
            trial.active_patients += 1
            trial.env.process(Journey(trial, patient).run(resume=subject))
    screening, now = trial.screening, trial.env.now
    for s in state.screening:
        days = trial.scenario.screening.duration_days.remaining(screening.rng, now - s.started_day)
        screening.screen(trial.candidates.draw(s.site, s.candidate_id), s.rescreens, s.started_day, days)
    for w in sorted(state.waiting, key=lambda w: (w.passed_day, w.candidate_id)):
        screening.wait_for_slot(eligible_candidate(trial, w.site, w.candidate_id), w.passed_day, w.rescreens)
    _adverse_events_to_come(trial, state, patients)
    screening.fill_slots()


def eligible_candidate(trial: Trial, site: str, candidate_id: int) -> Candidate:
    """A record for a candidate known to have passed screening: drawn until one passes every
    criterion (the population conditioned on eligibility); the last one drawn if none does."""
    return trial.candidates.draw_matching(site, candidate_id, True, trial.passes)


def _patient(trial: Trial, subject: SubjectState) -> Patient:
    """A subject on study gets a record (its ILD profile sets their death hazard); one off study
    only if their weight was not recorded (their past doses were per kg)."""
    cohort = trial.gate.cohorts[subject.cohort]
    weight, record = subject.body_weight_kg, None
    if subject.ongoing or weight is None:
        record = eligible_candidate(trial, subject.site, subject.candidate_id)
        weight = record.body_weight_kg if weight is None else weight
    elapsed = trial.env.now - subject.enrolled_day
    death, withdrawal = draw_exit_times(trial, record) if subject.ongoing and record is not None else (0.0, 0.0)
    patient = Patient(
        subject.candidate_id, subject.site, weight, record, cohort, subject.enrolled_day,
        subject.enrolled_day - subject.screen_passed_day, elapsed + death, elapsed + withdrawal,
    )  # fmt: skip
    patient.screen_passed_day = subject.screen_passed_day
    patient.vials_per_dose = trial.supply.vials_per_dose(weight, cohort.spec.dose_cells_per_kg)
    given = subject.infusion_days
    patient.infusions_given = len(given)
    if given:
        patient.first_infusion_day, patient.last_infusion_day = given[0], given[-1]
    patient.cells_infused = len(given) * weight * cohort.spec.dose_cells_per_kg
    patient.hold_completed = subject.hold_completed
    patient.status, patient.end_day = subject.status, subject.end_day
    return patient


def _adverse_events_to_come(trial: Trial, state: TrialState, patients: dict[int, Patient]) -> None:
    """Each observed AE belongs to the subject's last infusion before it; every other (infusion,
    AE kind) may still bring one."""
    seen: dict[tuple[int, int], set[str]] = defaultdict(set)
    infusions = {s.candidate_id: s.infusion_days for s in state.subjects}
    for ae in state.adverse_events:
        days = infusions.get(ae.patient_id, ())
        before = [k for k, day in enumerate(days) if day <= ae.day]
        if before:
            seen[(ae.patient_id, before[-1])].add(ae.name)
    for subject in state.subjects:
        patient = patients[subject.candidate_id]
        for k, day in enumerate(subject.infusion_days):
            trial.safety.still_to_come(patient, k, day, seen[(subject.candidate_id, k)])
