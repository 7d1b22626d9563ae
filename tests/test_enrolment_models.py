"""Enrolment models that can drift: the engine's referral trend, each model's fit against a closed
form or a direct likelihood maximum, and the choice between them on drifting and steady data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctdild_sim.learning.enrolment import Referrals, Shape, choose, fit
from ctdild_sim.learning.posterior import learn
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.model.referrals import DAYS_PER_MONTH, RateProfile
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.scenario.trial import ReferralTrend, Scenario
from ctdild_sim.sim.events import EventName

from conftest import ROOT

PILOT = load_scenario(ROOT / "scenarios" / "cdiscpilot01.yaml")
MONTH = DAYS_PER_MONTH


# -- the engine's trend ---------------------------------------------------------------------------


def test_a_rate_profile_integrates_and_inverts_piece_by_piece():
    profile = RateProfile(ReferralTrend(start_months=[0, 1, 2], factors=[1.0, 0.0, 2.0]))
    assert profile.integral(0, MONTH) == pytest.approx(MONTH)
    assert profile.integral(0.5 * MONTH, 2.5 * MONTH) == pytest.approx(0.5 * MONTH + 0 + 2 * 0.5 * MONTH)
    # at 1 a day: work 10 from day 0 ends on day 10; work of a month and a day crosses the pause
    assert profile.after(0.0, 1.0, 10.0) == pytest.approx(10.0)
    assert profile.after(0.0, 1.0, MONTH + 2.0) == pytest.approx(2 * MONTH + 1.0)
    stopped = RateProfile(ReferralTrend(start_months=[0, 1], factors=[1.0, 0.0]))
    assert stopped.after(0.0, 1.0, MONTH + 1.0) == math.inf


def test_the_engine_refers_under_the_trend():
    """With no referrals from month 6 to 12 and twice the rate after, the referral counts per window
    are Poisson with the trend's mean (4 standard errors), none in the pause."""
    data = PILOT.model_dump()
    data["referral_trend"] = {"start_months": [0, 6, 12], "factors": [1.0, 0.0, 2.0]}
    for site in data["sites"]:
        site.update(activation_days={"dist": "fixed", "value": 0}, referral_rate_cv=0.0)
    data.update(horizon_days=18 * MONTH, cohorts=[{**data["cohorts"][0], "size": 10_000}])
    scenario = Scenario.model_validate(data)
    before = paused = after = 0
    replicates = 6
    for r in range(replicates):
        for e in run_replicate(scenario, 3, r).events:
            if e.event == EventName.REFERRED:
                before += e.day < 6 * MONTH
                paused += 6 * MONTH <= e.day < 12 * MONTH
                after += 12 * MONTH <= e.day < 18 * MONTH
    rate = sum(s.referral_rate_per_month for s in PILOT.sites) * replicates  # referrals a month, all replicates
    assert paused == 0
    for seen, mean in ((before, 6 * rate), (after, 12 * rate)):
        assert abs(seen - mean) < 4 * math.sqrt(mean)


def test_a_flat_trend_gives_the_homogeneous_referrals():
    flat = PILOT.model_copy(update={"referral_trend": ReferralTrend(start_months=[0], factors=[1.0])})
    days = [e.day for e in run_replicate(PILOT, 1, 0).events if e.event == EventName.REFERRED]
    flat_days = [e.day for e in run_replicate(flat, 1, 0).events if e.event == EventName.REFERRED]
    assert flat_days == pytest.approx(days, abs=1e-6)


# -- fits ----------------------------------------------------------------------------------------


def simulate(rng, shape, months=24.0, sites=10, rate_month=1.0, cv=0.8, start=None) -> Referrals:
    """Referrals of ``sites`` sites active from day 0 (or ``start``) for ``months``, each with a
    Gamma-drawn level, under the factor ``shape(day)`` (thinning)."""
    end = months * MONTH
    days, spells = {}, {}
    fmax = max(max(shape(t) for t in np.arange(0, end, 1.0)), 1e-12)
    for s in range(sites):
        level = (rng.gamma(1 / cv**2, rate_month * cv**2) if cv else rate_month) / MONTH
        first = 0.0 if start is None else start[s]
        t, out = first, []
        while True:
            t += rng.exponential(1 / (level * fmax))
            if t >= end:
                break
            if rng.random() < shape(t) / fmax:
                out.append(t)
        days[f"site{s}"], spells[f"site{s}"] = out, [(first, end)]
    return Referrals(spells, days, end)


def test_the_homogeneous_fit_is_each_sites_referrals_over_its_days():
    history = simulate(np.random.default_rng(1), lambda t: 1.0, sites=4, start=[0, 30, 100, 200])
    made = fit("homogeneous", history, 6 * MONTH)
    for site, spells in history.spells.items():
        active = sum(b - a for a, b in spells)
        assert made.levels[site] == pytest.approx(len(history.days[site]) / active)


def test_the_piecewise_fit_is_the_two_way_poisson_maximum():
    """With every site active throughout (exposures proportional), the two-way model's maximum is in
    closed form: a piece's factor is its referrals over its length, relative to the last piece's,
    and a site's level its referrals over its exposure under those factors."""
    history = simulate(np.random.default_rng(2), lambda t: 2.0 if t < 12 * MONTH else 1.0, months=24, sites=5)
    made = fit("piecewise", history, 6 * MONTH, shrink=0.0)
    starts = [0.0, 6 * MONTH, 12 * MONTH, 18 * MONTH]
    assert made.shape.starts == pytest.approx(starts)
    counts = [
        sum(1 for ds in history.days.values() for d in ds if a <= d < b)
        for a, b in zip(starts, [*starts[1:], 24 * MONTH], strict=True)
    ]
    expected = [c / counts[-1] for c in counts]  # equal pieces: rates against the last
    assert [made.shape.at(a + 1) for a in starts] == pytest.approx(expected, rel=1e-6)
    for site, ds in history.days.items():
        assert made.levels[site] == pytest.approx(len(ds) / made.exposure(history.spells[site]), rel=1e-9)


def test_the_ramp_decay_fit_is_the_likelihoods_maximum_and_finds_the_truth():
    tau, gamma = 4 * MONTH, math.log(2) / (12 * MONTH)
    truth = Shape(tau=tau, gamma=gamma)
    history = simulate(np.random.default_rng(3), truth.at, months=36, sites=30, rate_month=3.0, cv=0.0)
    made = fit("ramp_decay", history, 6 * MONTH)
    # a direct maximum: no (tau, gamma) on a fine grid has a higher profile likelihood
    from ctdild_sim.learning.enrolment import _profiled

    grid = max(
        _profiled(Shape(tau=t, gamma=g), history)[1]
        for t in np.geomspace(0.3 * tau, 3 * tau, 41)
        for g in np.linspace(0, 3 * gamma, 41)
    )
    assert made.loglik >= grid - 1e-6
    # and over eight such trials the estimates centre on the truth (4 standard errors of their mean)
    fits = [
        fit("ramp_decay", simulate(np.random.default_rng(s), truth.at, 36, 30, 3.0, 0.0), 6 * MONTH).shape
        for s in range(10, 18)
    ]
    for estimates, true in (([f.tau for f in fits], tau), ([f.gamma for f in fits], gamma)):
        assert abs(np.mean(estimates) - true) < 4 * np.std(estimates, ddof=1) / math.sqrt(len(estimates))


# -- the choice ------------------------------------------------------------------------------------

CHOICES = 40
"""Simulated histories per truth: two years of ten sites' referrals (about 240)."""


def _choices(shape, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    picked: dict[str, int] = {}
    for _ in range(CHOICES):
        model = choose(PILOT, simulate(rng, shape)).model
        picked[model] = picked.get(model, 0) + 1
    return picked


@pytest.mark.slow
def test_the_choice_keeps_the_homogeneous_model_on_steady_referrals():
    """Measured: 40 of 40 steady histories keep the homogeneous model (29 of 30 on other seeds);
    at least 34 (85%) must."""
    assert _choices(lambda t: 1.0, 11).get("homogeneous", 0) >= 34


@pytest.mark.slow
def test_the_choice_takes_a_drifting_model_on_drifting_referrals():
    """Rates halving every year: measured 36 of 40 (90%) choose a drifting model (25 ramp_decay, 11
    piecewise); at least 32 (80%) must."""
    picked = _choices(lambda t: 0.5 ** (t / (12 * MONTH)), 12)
    assert picked.get("piecewise", 0) + picked.get("ramp_decay", 0) >= 32


def test_a_drifting_forecast_carries_its_trend_and_says_why():
    """Forced, the ramp_decay model's shape goes into every drawn scenario from the restart; the
    reason is given; a posterior without records (a plan) keeps the scenario's own trend."""
    import datetime as dt

    from ctdild_sim.actuals.records import read_records

    base = load_scenario(ROOT / "scenarios" / "nct06574581.yaml")
    records = read_records(ROOT / "scenarios" / "actuals" / "nct06574581-2026-11-25", base, dt.date(2026, 11, 25))
    posterior = learn(base, records.trace, records.observed, "ramp_decay")
    assert posterior.enrolment.model == "ramp_decay" and "--enrolment-model" in posterior.enrolment.reason
    drawn, _ = posterior.draw(base, np.random.default_rng(1))
    trend = drawn.referral_trend
    assert trend is not None and trend.start_months[1] == pytest.approx(records.restart_day / MONTH)
    assert trend.factors[1] == pytest.approx(
        posterior.enrolment.fit.shape.integral(records.restart_day, records.restart_day + MONTH) / MONTH
    )
    homogeneous = learn(base, records.trace, records.observed, "homogeneous")
    assert homogeneous.draw(base, np.random.default_rng(1))[0].referral_trend is None
    assert learn(base).enrolment is None


def test_a_stated_trend_is_kept_unless_a_model_is_forced():
    """A scenario that states its referral trend (a planned pause) keeps it in the forecast, its
    levels learned over the exposure it weights; --enrolment-model replaces it with a fitted one."""
    import datetime as dt

    from ctdild_sim.actuals.records import read_records

    base = load_scenario(ROOT / "scenarios" / "nct06574581.yaml")
    planned = base.model_copy(update={"referral_trend": ReferralTrend(start_months=[0, 30], factors=[1.0, 0.0])})
    records = read_records(ROOT / "scenarios" / "actuals" / "nct06574581-2026-11-25", planned, dt.date(2026, 11, 25))
    kept = learn(planned, records.trace, records.observed)
    assert kept.enrolment.model == "stated"
    assert kept.draw(planned, np.random.default_rng(1))[0].referral_trend == planned.referral_trend
    forced = learn(planned, records.trace, records.observed, "homogeneous")
    assert forced.draw(planned, np.random.default_rng(1))[0].referral_trend is None
