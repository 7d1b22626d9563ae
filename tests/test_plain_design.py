"""A plain parallel trial: one group, no gate or hold, no cell product, screening by a pass
probability (``scenarios/cdiscpilot01.yaml`` is one)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.learning.posterior import learn
from ctdild_sim.model.eligibility import NOT_ELIGIBLE
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.scenario.trial import Scenario

from conftest import DETERMINISTIC, fixed, per_month


def plain(**changes) -> Scenario:
    """One site referring every 30 days from day 10, everyone passing a 5-day screening, three
    subjects dosed on enrolment and seen 182 days later; nobody leaves."""
    data = {
        **{k: v for k, v in DETERMINISTIC.items() if k not in ("population", "product")},
        "name": "plain",
        "sites": [
            {
                "name": "101",
                "activation_days": fixed(10),
                "referral_rate_per_month": per_month(30),
                "referral_rate_cv": 0.0,
                "referral_process": "regular",
            }
        ],
        "screening": {
            "duration_days": fixed(5),
            "window_days": 30,
            "on_expiry": "lost",
            "max_rescreens": 0,
            "pass_probability": 1.0,
        },
        "cohorts": [{"name": "randomised", "size": 3, "infusions": 1}],
        "dosing": {
            "enrolment_to_first_infusion_days": fixed(0),
            "repeat_interval_days": fixed(0),
            "stagger_days": 0,
            "beds": 100,
            "length_of_stay_days": fixed(0),
        },
        "safety": {**DETERMINISTIC["safety"], "hold_days": 0, "adverse_events": []},
        "retention": {"withdrawal_hazard_per_year": 0.0, "death_hazard_per_year": 0.0, "replace_non_evaluable": False},
        "follow_up": {"visit_days": [14, 182]},
    }
    for path, value in changes.items():
        *head, last = path.split(".")
        node = data
        for key in head:
            node[key] = dict(node[key])
            node = node[key]
        node[last] = value
    return Scenario.model_validate(data)


def test_a_plain_trial_by_hand():
    # Referrals on 40, 70 and 100 (every 30 days after activation on day 10), screening 5 days:
    # enrolled and dosed on 45, 75 and 105; the last visit 182 days after the last dose: 287.
    scenario = plain()
    result = run_replicate(scenario, 1, 0)
    m = replicate_metrics(result, scenario)
    assert result.outcome == "completed"
    assert m["first_infusion_day"] == pytest.approx(45)
    assert m["lpi_day"] == pytest.approx(105)
    assert m["lplv_day"] == pytest.approx(287)
    assert m["n_enrolled"] == 3


def test_the_last_visit_comes_in_its_window():
    """A last visit 5 days late (a fixed window) moves the last visit of the hand-worked trial from
    day 287 to 292; one 200 days early comes no earlier than the visit before it (day 14 + 105)."""
    late = plain(**{"follow_up.last_visit_delay_days": fixed(5)})
    assert replicate_metrics(run_replicate(late, 1, 0), late)["lplv_day"] == pytest.approx(292)
    early = plain(**{"follow_up.last_visit_delay_days": {"dist": "normal", "mean": -200, "sd": 0.001}})
    assert replicate_metrics(run_replicate(early, 1, 0), early)["lplv_day"] == pytest.approx(105 + 14, abs=0.01)


def test_the_pass_probability_is_the_share_passing():
    """Screenings pass at the planned share, within 4 Monte Carlo standard errors, and a failure
    names no modelled criterion."""
    p = 0.3
    fast = {**plain().sites[0].model_dump(), "referral_rate_per_month": per_month(0.5)}
    scenario = plain(
        **{"screening.pass_probability": p, "cohorts": [{"name": "g", "size": 150, "infusions": 1}], "sites": [fast]}
    )
    passed = failed = 0
    for replicate in range(6):
        for *_, criteria in run_replicate(scenario, 7, replicate).screenings:
            if criteria:
                assert criteria == (NOT_ELIGIBLE,)
                failed += 1
            else:
                passed += 1
    n = passed + failed
    assert n > 2000
    assert abs(passed / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_one_death_hazard_for_every_subject():
    """Deaths over person-years on study give back the scenario's one hazard (4 standard errors)."""
    hazard = 2.0
    scenario = plain(
        **{
            "retention.death_hazard_per_year": hazard,
            "cohorts": [{"name": "g", "size": 400, "infusions": 1}],
            "sites": [{**plain().sites[0].model_dump(), "referral_rate_per_month": per_month(0.5)}],
        }
    )
    deaths, years = 0, 0.0
    for replicate in range(3):
        result = run_replicate(scenario, 3, replicate)
        for p in result.patients:
            deaths += p.status == "died"
            years += (p.end_day - p.enrolled_day) / 365.25
    assert deaths > 300
    assert abs(deaths / years - hazard) < 4 * math.sqrt(deaths) / years


def test_what_a_plain_trial_learns():
    """The prior of the share passing is the planned pass probability; the death hazard is a
    factor on the scenario's one hazard, drawn into ``retention``."""
    scenario = plain(**{"retention.death_hazard_per_year": 0.1, "screening.pass_probability": 0.8})
    posterior = learn(scenario)
    by_key = {a.key: a for a in posterior.assumptions}
    assert by_key["population (share passing screening)"].prior[0] == pytest.approx(0.8)
    assert "retention.death_hazard_per_year" in by_key
    drawn, share = posterior.draw(scenario, np.random.default_rng(1))
    assert drawn.retention.death_hazard_per_year != 0.1 and drawn.retention.death_hazard_per_year > 0
    assert 0 < share < 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"screening.pass_probability": None}, "population: required unless screening.pass_probability"),
        ({"retention.death_hazard_per_year": None}, "retention.death_hazard_per_year: required without"),
        ({"product": DETERMINISTIC.get("product") or {"vial_cells": 1}}, "product"),
        ({"cohorts": [{"name": "g", "size": 3, "infusions": 1, "dose_cells_per_kg": 1e6}]}, "a dose per kg needs"),
    ],
)
def test_a_plain_trial_says_what_it_lacks(change, message):
    with pytest.raises(ValidationError, match=message):
        plain(**change)
