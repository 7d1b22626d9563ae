"""What would it take: the solver against closed-form answers, and its messages."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from scipy import stats

from ctdild_sim.cli import main
from ctdild_sim.model.referrals import DAYS_PER_MONTH
from ctdild_sim.studies.lot_plan import wilson_interval
from ctdild_sim.studies.solve import SolveError, parse_target, solve

from conftest import BASE_SCENARIO, fixed, make_scenario

LONG_FOLLOW_UP = {"follow_up": {"visit_days": [7, 28, 84, 168]}}


def test_the_hold_that_meets_a_date_on_a_deterministic_trial():
    # LPLV is day 368 with the 28-day hold and moves 2 days a day of hold (cohorts 2 and 3 wait for it):
    # by day 382 (met while LPLV < 383) the hold may be up to 35.5 days
    scenario = make_scenario(**LONG_FOLLOW_UP)
    date = scenario.start_date + dt.timedelta(days=382)
    target = parse_target(f"P(lplv_by {date}) >= 0.5", scenario)
    solution = solve(scenario, "safety.hold_days", target, 4, 1, (20, 50), workers=1)
    assert not solution.upwards and solution.met_low and not solution.met_high
    assert solution.value == pytest.approx(35.5, abs=0.01 * 30)
    # no uncertainty in a deterministic trial: every bound crosses where the estimate does
    assert solution.sure_from == solution.possible_from == solution.value


@pytest.mark.slow
def test_the_referral_rate_that_fills_cohort_1_by_a_date_matches_the_gamma_closed_form():
    # Poisson referrals at a known rate (cv 0), everyone eligible, a fixed 14-day screening, the site
    # active on day 10: cohort 1 (3 subjects) is enrolled on day 24 + the 3rd referral's time,
    # Gamma(3, rate). P(enrolled by day 60) = 0.5 at rate = median of Gamma(3, 1) / 37 per day.
    site = {
        "name": "S",
        "activation_days": fixed(10),
        "referral_rate_per_month": 1.0,
        "referral_rate_cv": 0.0,
        "referral_process": "poisson",
    }
    scenario = make_scenario(sites=[site])
    date = scenario.start_date + dt.timedelta(days=60)
    target = parse_target(f"P(cohort1_enrolled_by {date}) >= 0.5", scenario)
    solution = solve(scenario, "sites.0.referral_rate_per_month", target, 400, 7, (0.5, 6.0), workers=1)
    exact = stats.gamma.ppf(0.5, 3) / 37 * DAYS_PER_MONTH
    assert solution.upwards and solution.possible_from <= exact <= solution.sure_from, (solution, exact)
    assert abs(solution.value - exact) / exact < 0.15


def test_a_target_out_of_reach_is_said_plainly():
    scenario = make_scenario(**LONG_FOLLOW_UP)
    target = parse_target(f"P(lplv_by {scenario.start_date + dt.timedelta(days=100)}) >= 0.5", scenario)
    solution = solve(scenario, "safety.hold_days", target, 4, 1, (20, 50), workers=1)
    assert solution.value is None and not solution.met_low and not solution.met_high


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("P(lplv_by 2027-12-31) > 0.8", "write P(MILESTONE_by YYYY-MM-DD) >= p"),
        ("P(lplv_by 2027-13-31) >= 0.8", "is not a date"),
        ("P(lpvl_by 2027-12-31) >= 0.8", "MILESTONE one of first_infusion"),
        ("P(lplv_by 2027-12-31) >= 1.5", "between 0 and 1"),
        ("P(product_wait 2027-01-01) <= 0.05", "takes no date"),
    ],
)
def test_bad_targets_say_what_is_accepted(text, problem):
    with pytest.raises(SolveError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_target(text, make_scenario())


def test_percent_targets_and_wilson_bounds():
    assert parse_target("P(product_wait) <= 5%", make_scenario()).p == pytest.approx(0.05)
    low, high = wilson_interval(8, 200)  # the interval the solver reports
    assert low == pytest.approx(0.0204, abs=1e-3) and high == pytest.approx(0.0770, abs=1e-3)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--lever", "sites.0.referral_rate", "--target", "P(lplv_by 2028-01-01) >= 0.5"],
            "no such field (did you mean",
        ),
        (["--lever", "screening.duration_days", "--target", "P(lplv_by 2028-01-01) >= 0.5"], "is a section"),
        (["--lever", "safety.hold_days", "--target", "P(nothing) >= 0.5"], "P(MILESTONE_by YYYY-MM-DD)"),
        (
            ["--lever", "safety.hold_days", "--target", "P(lplv_by 2028-01-01) >= 0.5", "--range", "5", "5"],
            "give two different finite values",
        ),
        (
            ["--lever", "safety.hold_days", "--target", "P(lplv_by 2028-01-01) >= 0.5", "--range", "-10", "5"],
            "is not a valid scenario",
        ),
    ],
)
def test_the_cli_refuses_bad_levers_and_targets(tmp_path, args, problem):
    result = CliRunner().invoke(
        main, ["solve", str(BASE_SCENARIO), *args, "-n", "4", "-j", "1", "--quiet", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert problem in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_cli_prints_the_answer_and_its_uncertainty(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "solve",
            str(BASE_SCENARIO),
            "--lever",
            "sites.0.referral_rate_per_month",
            "--target",
            "P(lplv_by 2028-06-30) >= 0.5",
            "-n",
            "40",
            "-j",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Which sites.0.referral_rate_per_month meets P(lplv_by 2028-06-30) >= 0.5?: " in text
    assert "or more (P there" in text and "Uncertainty:" in text
    assert (tmp_path / "out" / "solve_evaluations.csv").exists()
