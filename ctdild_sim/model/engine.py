"""One replicate of the trial: build the components, run simpy, return the records.

``Trial`` is the shared context the components are wired through (environment, scenario,
streams, event log, beds, the gate, the safety review, screening, recruitment). A replicate ends
when the last subject has finished follow-up after the last cohort's gate (last patient last
visit), when the trial is stopped, or at the scenario's horizon.

A replicate can also be driven by a trial's records (``trace.Trace``): the same components run
from day 0, each taking its recorded outcome up to the restart (the day after the as-of date) and
drawing from then on, with the same per-replicate, per-component streams. The log's rows before the
restart are the records' history (``observe`` makes it once for a forecast), marked observed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass, field

import simpy

from ctdild_sim.model.candidates import Candidate, CandidateFactory, PlainCandidateFactory
from ctdild_sim.model.cohorts import CohortGate, CohortState
from ctdild_sim.model.eligibility import screening_rule
from ctdild_sim.model.patient import Journey, Patient, draw_exit_times
from ctdild_sim.model.referrals import RateProfile, Recruitment, start_sites
from ctdild_sim.model.safety import SafetyReview
from ctdild_sim.model.screening import Screening
from ctdild_sim.model.trace import Observed, SubjectRecord, Trace
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.budget import BudgetExceeded, ReplicateBudget
from ctdild_sim.sim.capacity import Capacity
from ctdild_sim.sim.events import Event, EventLog, EventName, LeanEventLog
from ctdild_sim.sim.streams import ReplicateStreams
from ctdild_sim.supply.chain import Supply, UnlimitedSupply
from ctdild_sim.supply.inventory import Allocation, Lot
from ctdild_sim.supply.lot_state import snapshot


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
    observed_rows: int = 0  # the first rows of ``events`` are the records' history (before the restart)
    restart_day: float = 0.0  # the day a replicate's records end and draws take over (0: a plan)
    drawn: dict[str, float] = field(default_factory=dict)  # what the replicate drew once (DRAWN columns)
    counts: dict[str, int] | None = None  # every event's count, when ``events`` holds some kinds only


class Trial:
    """The components of one replicate, wired together."""

    def __init__(
        self,
        scenario: Scenario,
        streams: ReplicateStreams,
        trace: Trace | None = None,
        eligible_share: float | None = None,
        keep: frozenset[str] | None = None,
    ):
        """``trace``: a trial's records, which drive the components up to its restart day;
        ``eligible_share``: a forecast's drawn share of candidates passing screening (the
        population model's own share when None); ``keep``: log only these events' rows, and count
        the rest (a replicate whose records are not kept)."""
        self.scenario = scenario
        self.streams = streams
        self.trace = trace
        self.restart_day = trace.restart_day if trace is not None else 0.0
        self.warnings: list[str] = []  # where the records contradict the protocol (they win), and why
        self.drawn: dict[str, float] = {}  # what this replicate draws once, by its metrics column
        self.env = simpy.Environment(initial_time=0.0)
        self.budget = budget = ReplicateBudget.for_scenario(scenario, trace)
        self.log = (
            EventLog(self.env, budget.rows, budget.rows_exceeded)
            if keep is None
            else LeanEventLog(self.env, keep, budget.rows, budget.rows_exceeded)
        )
        self.stopped = self.env.event()
        self.completed = self.env.event()
        self.beds = Capacity(self.env, scenario.dosing.beds)
        # the screening rule, and the same rule when only its verdict is read
        self.failed_criteria, self.passes = screening_rule(scenario)
        self.candidates = candidate_factory(scenario, streams, budget)
        share = scenario.screening.pass_probability if eligible_share is None else eligible_share
        if share is not None:
            self.candidates.aim(share, self.passes)
        if trace is not None:
            self.candidates.continue_from(trace.next_candidate_id)
        self.supply = Supply(self, scenario.product) if scenario.product else UnlimitedSupply(self)
        self.referral_profile = RateProfile(scenario.referral_trend) if scenario.referral_trend else None
        self.recruitment = Recruitment(self)
        self.safety = SafetyReview(self)
        self.gate = CohortGate(self)
        self.screening = Screening(self)
        self.patients: list[Patient] = []
        self.active_patients = 0
        start_sites(self)
        if trace is not None:
            self.safety.replay_reviews(trace.reviews)
            self.env.process(self._take_over())
        self.env.process(self._watch_completion())

    @property
    def recording(self) -> bool:
        """Whether the records still drive the trial (before the restart day), not draws."""
        return self.env.now < self.restart_day

    def deviation(self, source: str, column: str, text: str) -> None:
        """A record that contradicts the protocol: it is kept, and reported (``FILE:ROW:COLUMN``)."""
        self.warnings.append(f"{source}:{column}: protocol deviation: {text}")

    def date(self, day: float) -> dt.date:
        """The calendar date of a day of the simulation (days count from the scenario's start)."""
        return self.scenario.start_date + dt.timedelta(days=math.floor(day))

    def subject_record(self, candidate_id: int) -> SubjectRecord | None:
        return self.trace.subjects.get(candidate_id) if self.trace is not None else None

    def _take_over(self):
        """The restart: from here on the components draw. The lots are set to their recorded
        counts, waiting candidates fill open slots, and the stock policy reviews the stock."""
        yield self.env.timeout(self.restart_day)
        self.supply.take_over()
        self.screening.fill_slots()

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
            observed_rows=self._observed_rows(),
            restart_day=self.restart_day,
            drawn=self.drawn,
            counts=self.log.counts,
        )

    def _observed_rows(self) -> int:
        """The rows logged before the restart: the records' history (the log is in time order)."""
        rows, restart = self.log.rows, self.restart_day
        return bisect.bisect_left(rows, restart, key=_day) if restart > 0 else 0

    def observe(self) -> Observed:
        """Run the records up to the restart and return what they leave (``observe``)."""
        trace = self.trace
        assert trace is not None, "a trial without records has nothing to observe"
        if self.restart_day > 0:
            self.env.run(until=self.restart_day)
        self.supply.reconcile()
        missing = self.supply.inventory.unrecorded_vials if isinstance(self.supply, Supply) else 0
        if missing:
            where = "the scenario's initial stock (no lots.csv)" if trace.lots is None else "the recorded lots"
            self.warnings.append(
                f"{missing} of the vials the recorded infusions used could not come from {where}, "
                "earliest expiry first; the forecast counts no stock beyond it"
            )
        history = self.log.rows
        if self.stopped.triggered:  # a stopped trial ends there, as a replicate does (records hold days: its day)
            stop = next(e.day for e in history if e.event == EventName.TRIAL_STOPPED)
            history = [e for e in history if e.day < math.floor(stop) + 1]
        return Observed(
            restart_day=self.restart_day,
            history=tuple(history),
            lots=tuple(snapshot(lot) for lot in self.supply.lots),
            lots_recorded=trace.lots is not None,
            warnings=tuple(self.warnings),
            stopped=self.stopped.triggered,
            completed=self.completed.triggered,
        )

    def enrol(
        self,
        candidate: Candidate | None,
        site: str,
        candidate_id: int,
        cohort: CohortState,
        waited: float,
        record: SubjectRecord | None = None,
    ) -> Patient:
        """Enrol a screened candidate into ``cohort``: a subject starts their journey. A subject the
        records hold (``record``) keeps their recorded weight and leaves when the records say."""
        if record is None:
            assert candidate is not None, "a candidate the engine enrols was screened by it"
            death, withdrawal = draw_exit_times(self, candidate)
            weight = candidate.body_weight_kg
        else:
            candidate = self._facts_of(record, site)
            # not recorded: the population's mean, not a draw (nothing drawn happens before the restart)
            weight = record.body_weight_kg or mean_weight(self.scenario)
            death, withdrawal = self._recorded_exit(record, candidate)
        patient = Patient(candidate_id, site, weight, candidate, cohort, self.env.now, waited, death, withdrawal)
        patient.recorded = record
        patient.screen_passed_day = self.env.now - waited
        patient.vials_per_dose = self.supply.vials_per_dose(weight, cohort.spec.dose_cells_per_kg)
        self.patients.append(patient)
        self.active_patients += 1
        self.log.record(EventName.ENROLLED, site=site, patient_id=candidate_id, cohort=cohort.number, value=waited)
        self.gate.slot_filled(cohort)
        if record is not None:
            self.safety.observe_recorded(patient)
        self.env.process(Journey(self, patient).run())
        return patient

    def _facts_of(self, record: SubjectRecord, site: str) -> Candidate | None:
        """A recorded subject's screening facts, drawn from the population conditioned on having
        passed screening when anything reads them (the death hazard of a subject still on study at
        the restart); None otherwise (the records do not hold them: the patients table leaves them
        blank)."""
        if record.ongoing:
            return self.candidates.draw_matching(site, record.candidate_id, True, self.passes)
        return None

    def _recorded_exit(self, record: SubjectRecord, candidate: Candidate | None) -> tuple[float, float]:
        """Days from enrolment to death and to withdrawal of a recorded subject: as recorded for one
        who left, never for one who completed, and drawn from the restart for one still on study
        (constant hazards: the time already survived does not matter)."""
        enrolled = self.env.now
        if record.status in ("died", "withdrawn", "lost"):
            left = record.left_day - enrolled
            return (left, math.inf) if record.status == "died" else (math.inf, left)
        if record.status == "completed" or candidate is None:
            return math.inf, math.inf
        death, withdrawal = draw_exit_times(self, candidate)
        elapsed = self.restart_day - enrolled
        return elapsed + death, elapsed + withdrawal

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


def candidate_factory(
    scenario: Scenario, streams: ReplicateStreams, budget: ReplicateBudget
) -> CandidateFactory | PlainCandidateFactory:
    """Who is referred: drawn from the population, or (a trial screened by a pass probability
    alone) candidates carrying their verdict only."""
    on_limit = lambda: budget.candidates_exceeded(scenario)  # noqa: E731
    if scenario.population is None:
        share = scenario.screening.pass_probability
        assert share is not None, "a scenario without a population has a pass probability (validated)"
        return PlainCandidateFactory(share, streams.candidates, budget.candidates, on_limit)
    return CandidateFactory(scenario.population, streams.candidates, budget.candidates, on_limit)


def mean_weight(scenario: Scenario) -> float:
    """The population's mean body weight (unknown, NaN, in a trial without one: nothing is dosed per kg)."""
    return math.nan if scenario.population is None else scenario.population.body_weight_kg.mean


def _day(row: Event) -> float:
    return row.day


def observe(scenario: Scenario, trace: Trace) -> Observed:
    """What a trial's records leave at their restart day, as the engine makes it of them: the
    history every replicate of a forecast starts with, the lots, and the protocol deviations.
    Nothing drawn happens before the restart, so any streams give the same history."""
    return Trial(scenario, ReplicateStreams.for_replicate(0, 0), trace).observe()


def run_replicate(
    scenario: Scenario,
    seed: int,
    replicate: int,
    trace: Trace | None = None,
    eligible_share: float | None = None,
    keep: frozenset[str] | None = None,
) -> ReplicateResult:
    """Simulate one replicate with the streams of (seed, replicate), as planned or driven by a
    trial's records up to their restart day (``trace``; ``eligible_share`` and ``keep``: see ``Trial``)."""
    try:
        streams = ReplicateStreams.for_replicate(seed, replicate)
        return Trial(scenario, streams, trace, eligible_share, keep).run(replicate)
    except BudgetExceeded as exc:
        raise BudgetExceeded(exc.field, f"replicate {replicate}: {exc.message}") from None
