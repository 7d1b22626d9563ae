"""One replicate of the trial: build the components, run simpy, return the records.

``Trial`` is the shared context the components are wired through (environment, scenario,
streams, event log, beds, the gate, the safety review, screening, recruitment). A replicate ends
when the last subject has finished follow-up after the last cohort's gate (last patient last
visit), when the trial is stopped, or at the scenario's horizon.

A replicate can also start from a trial's state on a date (``state.TrialState``): the clock
starts at the restart day, the log starts with the observed history, each component takes up
where the records leave off (``restart``), and the same engine runs forward with the same
per-replicate, per-component streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from ctdild_sim.model.candidates import Candidate, CandidateFactory
from ctdild_sim.model.cohorts import CohortGate, CohortState
from ctdild_sim.model.eligibility import failed_criteria_for, passes_for
from ctdild_sim.model.patient import Journey, Patient, draw_exit_times
from ctdild_sim.model.referrals import Recruitment, start_sites
from ctdild_sim.model.restart import restore
from ctdild_sim.model.safety import SafetyReview
from ctdild_sim.model.screening import Screening
from ctdild_sim.model.state import TrialState
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.budget import BudgetExceeded, ReplicateBudget
from ctdild_sim.sim.capacity import Capacity
from ctdild_sim.sim.events import Event, EventLog, EventName, LeanEventLog
from ctdild_sim.sim.streams import ReplicateStreams
from ctdild_sim.supply.chain import Supply, UnlimitedSupply
from ctdild_sim.supply.inventory import Allocation, Lot


@dataclass(frozen=True)
class ReplicateResult:
    """Everything one replicate produced."""

    replicate: int
    events: list[Event]
    patients: list[Patient]
    screenings: list[tuple[int, str, float, float, tuple[str, ...]]]
    end_day: float
    outcome: str  # "completed", "stopped" or "horizon"
    lots: list[Lot]
    allocations: list[Allocation]
    observed_rows: int = 0  # the first rows of ``events`` are a restarted trial's observed history
    restart_day: float = 0.0  # the day a restarted replicate started from (0: the study's start)
    drawn: dict[str, float] = field(default_factory=dict)  # what the replicate drew once (DRAWN columns)
    counts: dict[str, int] | None = None  # every event's count, when ``events`` holds some kinds only


class Trial:
    """The components of one replicate, wired together."""

    def __init__(
        self,
        scenario: Scenario,
        streams: ReplicateStreams,
        state: TrialState | None = None,
        eligible_share: float | None = None,
        keep: frozenset[str] | None = None,
    ):
        """``eligible_share``: a forecast's drawn share of candidates passing screening (the
        population model's own share when None); ``keep``: log only these events' rows, and count
        the rest (a replicate whose records are not kept)."""
        self.scenario = scenario
        self.streams = streams
        self.state = state
        self.drawn: dict[str, float] = {}  # what this replicate draws once, by its metrics column
        self.env = simpy.Environment(initial_time=state.restart_day if state is not None else 0.0)
        self.budget = budget = ReplicateBudget.for_scenario(scenario)
        self.log = (
            EventLog(self.env, budget.rows, budget.rows_exceeded)
            if keep is None
            else LeanEventLog(self.env, keep, budget.rows, budget.rows_exceeded)
        )
        self.stopped = self.env.event()
        self.completed = self.env.event()
        self.beds = Capacity(self.env, scenario.dosing.beds)
        self.failed_criteria = failed_criteria_for(scenario.eligibility)  # the scenario's thresholds
        self.passes = passes_for(scenario.eligibility)  # the same rule, when only its verdict is read
        self.candidates = CandidateFactory(
            scenario.population, streams.candidates, budget.candidates, lambda: budget.candidates_exceeded(scenario)
        )
        if eligible_share is not None:
            self.candidates.aim(eligible_share, self.passes)
        if state is None:
            self.supply = Supply(self, scenario.product) if scenario.product else UnlimitedSupply(self)
        else:
            self.log.add_history(state.history)
            self.candidates.continue_from(state.next_candidate_id)
            self.supply = (
                Supply(self, scenario.product, state.lots, state.vials_used_unassigned)
                if scenario.product
                else UnlimitedSupply(self)
            )
        self.recruitment = Recruitment(self, closed=state.recruitment_closed if state is not None else False)
        self.safety = SafetyReview(self)
        self.gate = CohortGate(self, state)
        self.screening = Screening(self, state.screening_history if state is not None else ())
        self.patients: list[Patient] = []
        self.active_patients = 0
        start_sites(self, state)
        if state is not None:
            restore(self, state)
        self.env.process(self._watch_completion())

    def run(self, replicate: int) -> ReplicateResult:
        """Run until last patient last visit, a stop or the horizon, and return the records."""
        env = self.env
        horizon = env.timeout(max(0.0, self.scenario.horizon_days - env.now))
        env.run(until=env.any_of([self.completed, self.stopped, horizon]))
        if self.completed.triggered:
            outcome = "completed"
        elif self.stopped.triggered:
            outcome = "stopped"
        else:
            outcome = "horizon"
            self.log.record(EventName.HORIZON_REACHED)
        self.supply.close()
        return ReplicateResult(
            replicate=replicate,
            events=self.log.rows,
            patients=self.patients,
            screenings=self.screening.results,
            end_day=float(env.now),
            outcome=outcome,
            lots=self.supply.lots,
            allocations=self.supply.inventory.audit if isinstance(self.supply, Supply) else [],
            observed_rows=len(self.state.history) if self.state is not None else 0,
            restart_day=self.state.restart_day if self.state is not None else 0.0,
            drawn=self.drawn,
            counts=self.log.counts,
        )

    def enrol(self, candidate: Candidate, cohort: CohortState, waited: float) -> None:
        death, withdrawal = draw_exit_times(self, candidate)
        patient = Patient(candidate.candidate_id, candidate.site, candidate.body_weight_kg, candidate, cohort,
                          self.env.now, waited, death, withdrawal)  # fmt: skip
        patient.screen_passed_day = self.env.now - waited
        patient.vials_per_dose = self.supply.vials_per_dose(candidate.body_weight_kg, cohort.spec.dose_cells_per_kg)
        self.patients.append(patient)
        self.active_patients += 1
        self.log.record(
            EventName.ENROLLED,
            site=candidate.site,
            patient_id=candidate.candidate_id,
            cohort=cohort.number,
            value=waited,
        )
        self.gate.slot_filled(cohort)
        self.env.process(Journey(self, patient).run())

    def patient_done(self, patient: Patient) -> None:
        self.active_patients -= 1
        self._check_completion()

    def stop(self, reason: str) -> None:
        if not self.stopped.triggered:
            self.log.record(EventName.TRIAL_STOPPED, detail=reason)
            self.stopped.succeed()

    def _watch_completion(self):
        yield self.gate.dosing_complete
        self._check_completion()

    def _check_completion(self) -> None:
        done = self.gate.dosing_complete.processed and self.active_patients == 0
        if done and not self.completed.triggered and not self.stopped.triggered:  # a stopped trial never completes
            self.log.record(EventName.TRIAL_COMPLETED)
            self.completed.succeed()


def run_replicate(
    scenario: Scenario,
    seed: int,
    replicate: int,
    state: TrialState | None = None,
    eligible_share: float | None = None,
    keep: frozenset[str] | None = None,
) -> ReplicateResult:
    """Simulate one replicate with the streams of (seed, replicate), from the study's start or
    from a trial's ``state`` on a date (``eligible_share`` and ``keep``: see ``Trial``)."""
    try:
        streams = ReplicateStreams.for_replicate(seed, replicate)
        return Trial(scenario, streams, state, eligible_share, keep).run(replicate)
    except BudgetExceeded as exc:
        raise BudgetExceeded(exc.field, f"replicate {replicate}: {exc.message}") from None
