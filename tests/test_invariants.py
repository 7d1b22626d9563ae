"""Protocol invariants that must hold in every replicate, whatever the seed and the switches.

Hypothesis draws the seed and the protocol switches; the scenario is the shipped base scenario
made harsher (frequent triggering AEs, deaths, withdrawals, one bed) so pauses, repeats,
replacements and stops all occur often.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdild_sim.model.engine import run_replicate
from ctdild_sim.scenario.loading import _deep_merge
from ctdild_sim.scenario.trial import Scenario

from conftest import BASE_SCENARIO

BASE = yaml.safe_load(BASE_SCENARIO.read_text())


def harsh(replace: bool, stagger: float, outcomes: tuple[float, float, float]) -> Scenario:
    resume, repeat, stop = outcomes
    data = _deep_merge(
        copy.deepcopy(BASE),
        {
            "sites": [
                {
                    "name": "S",
                    "activation_days": {"dist": "fixed", "value": 0},
                    "referral_rate_per_month": 4.0,
                    "referral_rate_cv": 0.3,
                }
            ],
            "dosing": {"stagger_days": stagger, "beds": 1},
            "safety": {
                "adverse_events": [
                    {
                        "name": "fever",
                        "probability": 0.3,
                        "triggers_review": False,
                        "onset_days": {"dist": "uniform", "low": 0, "high": 2},
                    },
                    {
                        "name": "serious",
                        "probability": 0.15,
                        "triggers_review": True,
                        "onset_days": {"dist": "uniform", "low": 0, "high": 40},
                    },
                ],
                "review_outcomes": {"resume": resume, "repeat_cohort": repeat, "stop": stop},
            },
            "retention": {"withdrawal_hazard_per_year": 0.8, "replace_non_evaluable": replace},
            "horizon_days": 4000,
        },
    )
    return Scenario.model_validate(data)


SCENARIOS = {
    (replace, stagger, outcomes): harsh(replace, stagger, outcomes)
    for replace in (True, False)
    for stagger in (0.0, 5.0)
    for outcomes in ((0.85, 0.15, 0.0), (0.6, 0.3, 0.1), (1.0, 0.0, 0.0))
}

cases = st.tuples(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(sorted(SCENARIOS)),
)


def replicate(case):
    seed, r, key = case
    scenario = SCENARIOS[key]
    return scenario, run_replicate(scenario, seed, r)


common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(cases)
def test_log_is_in_time_order(case):
    _, result = replicate(case)
    days = [e.day for e in result.events]
    assert days == sorted(days)
    assert result.end_day >= days[-1]


@common
@given(cases)
def test_no_dosing_of_a_cohort_before_the_previous_gate(case):
    _, result = replicate(case)
    gates_passed: set[int] = set()
    opened: set[int] = set()
    for e in result.events:
        if e.event == "gate_passed":
            gates_passed.add(e.cohort)
        elif e.event == "cohort_opened":
            assert e.cohort == 1 or (e.cohort - 1) in gates_passed
            opened.add(e.cohort)
        elif e.event in ("enrolled", "admitted", "infused"):
            assert e.cohort in opened
            assert e.cohort == 1 or (e.cohort - 1) in gates_passed


@common
@given(cases)
def test_no_dosing_or_enrolment_during_a_pause(case):
    _, result = replicate(case)
    paused = False
    for e in result.events:
        if e.event == "pause_started":
            assert not paused
            paused = True
        elif e.event == "pause_ended":
            assert paused
            paused = False
        elif e.event in ("enrolled", "admitted", "infused"):
            assert not paused, e


@common
@given(cases)
def test_infusion_counts(case):
    scenario, result = replicate(case)
    infused = Counter(e.patient_id for e in result.events if e.event == "infused")
    for p in result.patients:
        assert infused[p.patient_id] == p.infusions_given <= p.planned_infusions
        assert p.planned_infusions == scenario.cohorts[p.cohort_index].infusions
        if p.status == "completed":
            assert p.infusions_given == p.planned_infusions
        assert p.cells_infused == pytest.approx(
            p.infusions_given * p.body_weight_kg * scenario.cohorts[p.cohort_index].dose_cells_per_kg
        )
    if result.outcome == "completed":
        assert all(p.status in ("completed", "died", "withdrawn") for p in result.patients)


@common
@given(cases)
def test_cohort_sizes(case):
    scenario, result = replicate(case)
    (replace, _, _) = case[2]
    repeats = Counter(e.cohort for e in result.events if e.event == "cohort_repeated")
    enrolled = Counter(p.cohort_number for p in result.patients)
    evaluable = Counter(p.cohort_number for p in result.patients if p.hold_completed)
    for k, cohort in enumerate(scenario.cohorts, start=1):
        planned = cohort.size * (1 + repeats[k])
        assert enrolled[k] <= planned + (len(result.patients) if replace else 0)
        gate_passed = any(e.event == "gate_passed" and e.cohort == k for e in result.events)
        if not gate_passed:
            continue
        if replace:
            assert evaluable[k] == planned
        else:
            assert enrolled[k] == planned
    if not replace and result.outcome == "completed" and not repeats:
        assert [enrolled[k] for k in (1, 2, 3)] == [3, 4, 3]


@common
@given(cases)
def test_end_matches_outcome(case):
    _, result = replicate(case)
    bookkeeping = {"vials_expired"}  # end-of-run write-off of claimed vials in expired lots
    names = [e.event for e in result.events if e.event not in bookkeeping]
    if result.outcome == "completed":
        assert names[-1] == "trial_completed"
        assert all(p.status != "ongoing" for p in result.patients)
    elif result.outcome == "stopped":
        assert names.count("trial_stopped") == 1
    else:
        assert names[-1] == "horizon_reached"
