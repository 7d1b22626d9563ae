"""Learning the assumptions from a trial's records: each update against its closed form, the prior
when there is no data, concentration on the truth when there is a lot, and calibration."""

from __future__ import annotations

import csv
import datetime as dt
import math
import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import integrate, stats

from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.synthetic import actuals_from_replicate
from ctdild_sim.cli import main
from ctdild_sim.learning.beliefs import GRID, BetaBelief, DirichletBelief, GammaBelief, ScaleBelief
from ctdild_sim.learning.evidence import gather
from ctdild_sim.learning.posterior import Posterior, learn, population_facts
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.runs.runner import simulate_metrics
from ctdild_sim.scenario.distributions import Exponential, LogNormal
from ctdild_sim.scenario.loading import _deep_merge, load_scenario
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.calibration import calibration, coverage_table, rank
from ctdild_sim.studies.forecast import forecast

from conftest import BASE_SCENARIO, EXAMPLE, FORECAST_EXAMPLE, ROOT

AS_OF = dt.date(2026, 11, 25)
BASE = load_scenario(BASE_SCENARIO)


# -- the updates against their closed forms --------------------------------------------------------


def test_gamma_poisson_update():
    # Gamma(shape 4, rate 4/1.5 months) with 23 referrals in 26.1 months: Gamma(27, 2.667 + 26.1)
    prior = GammaBelief(4.0, 4.0 / 1.5)
    post = prior.update(23, 26.1)
    exact = stats.gamma(27.0, scale=1 / (4.0 / 1.5 + 26.1))
    assert post.mean == pytest.approx(exact.mean())
    assert post.interval() == pytest.approx((exact.ppf(0.05), exact.ppf(0.95)))
    assert prior.p_no_events(10.0) == pytest.approx(stats.nbinom(4.0, (4 / 1.5) / (4 / 1.5 + 10.0)).pmf(0))
    draws = np.array([post.draw(np.random.default_rng(i)) for i in range(4000)])
    assert abs(draws.mean() - exact.mean()) < 4 * exact.std() / math.sqrt(len(draws))


def test_beta_binomial_update():
    prior = BetaBelief.from_mean(0.255, 20)
    post = prior.update(7, 25)
    exact = stats.beta(0.255 * 20 + 7, 0.745 * 20 + 18)
    assert post.mean == pytest.approx(exact.mean()) and post.interval() == pytest.approx(exact.interval(0.9))
    # the posterior predictive of k successes in n more trials is beta-binomial
    assert stats.betabinom(10, post.a, post.b).mean() == pytest.approx(10 * post.mean)


def test_dirichlet_multinomial_update():
    prior = DirichletBelief.from_means((0.8, 0.15, 0.05), 5)
    post = prior.update((3, 1, 0))
    alphas = np.array([4.0 + 3, 0.75 + 1, 0.25])
    assert post.means == pytest.approx(tuple(alphas / alphas.sum()))
    marginal = stats.beta(alphas[1], alphas.sum() - alphas[1])
    assert post.intervals()[1] == pytest.approx(marginal.interval(0.9))
    draws = np.array([post.draw(np.random.default_rng(i)) for i in range(3000)])
    assert np.allclose(draws.mean(axis=0), alphas / alphas.sum(), atol=4 * 0.3 / math.sqrt(3000))


def test_scale_update_of_a_lognormal_matches_the_normal_conjugate():
    # X = f X0 with X0 lognormal (median 100, sigma s): log X ~ N(log 100 + log f, s^2). With log f ~ N(0, t^2)
    # and n observations known to half a day (negligible at ~100 days), log f's posterior is normal with
    # precision 1/t^2 + n/s^2 and mean (sum(log x - log 100)/s^2) / precision.
    base = LogNormal(dist="lognormal", median=100.0, p90=200.0)
    s, t = base.sigma, 0.3
    x = np.round(np.random.default_rng(5).lognormal(math.log(130.0), s, 40))
    post = ScaleBelief.prior(t).update(base, [(d - 0.5, d + 0.5) for d in x], [])
    precision = 1 / t**2 + len(x) / s**2
    mean = np.log(x / 100.0).sum() / s**2 / precision
    log_mean = float(np.dot(post.weights, GRID))
    log_sd = math.sqrt(float(np.dot(post.weights, (GRID - log_mean) ** 2)))
    assert log_mean == pytest.approx(mean, abs=0.01)
    assert log_sd == pytest.approx(1 / math.sqrt(precision), rel=0.05)


def test_scale_update_with_censored_durations_matches_numerical_integration():
    # an exponential duration, 6 observed and 4 still running: the grid posterior's mean of f against
    # prior x likelihood integrated directly
    base = Exponential(dist="exponential", mean=10.0)
    within = [(d - 0.5, d + 0.5) for d in (12.0, 30.0, 8.0, 25.0, 17.0, 40.0)]
    beyond = [20.0, 35.0, 5.0, 50.0]
    post = ScaleBelief.prior(0.8).update(base, within, beyond)

    def density(log_f: float) -> float:
        f = math.exp(log_f)
        like = math.prod(base.survival(a / f) - base.survival(b / f) for a, b in within)
        like *= math.prod(base.survival(e / f) for e in beyond)
        return stats.norm.pdf(log_f, 0, 0.8) * like

    z = integrate.quad(density, -4, 4, limit=200)[0]
    exact = integrate.quad(lambda g: math.exp(g) * density(g), -4, 4, limit=200)[0] / z
    assert post.mean == pytest.approx(exact, rel=0.002)


# -- no data, and a lot of it ----------------------------------------------------------------------


def test_no_records_give_the_prior(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "sites.csv").write_text("site,activated_on\n")  # nothing recorded yet
    records = read_records(empty, BASE, BASE.start_date)
    learned, prior = learn(BASE, records.trace, records.observed), learn(BASE)
    assert learned.learned and not prior.learned
    for a, b in zip(learned.assumptions, prior.assumptions, strict=True):
        assert a.key == b.key
        assert a.posterior == pytest.approx(b.prior) and b.posterior == pytest.approx(b.prior), a.key


def _records(truth: Scenario, replicate: int, as_of: dt.date, folder: Path):
    folder.mkdir(parents=True)
    for name, frame in actuals_from_replicate(run_replicate(truth, 3, replicate), truth, as_of).items():
        frame.to_csv(folder / name, index=False)
    return folder


def test_with_a_lot_of_data_the_posterior_lands_on_the_truth(tmp_path):
    # the truth refers 4 candidates a month (the scenario guesses 1.5) and half as many consent; forty
    # cohorts of three keep recruitment open for years
    dump = BASE.model_dump(by_alias=True)
    cohorts = [{"name": f"c{k}", "size": 3, "infusions": 1, "dose_cells_per_kg": 1e6} for k in range(40)]
    guess = Scenario.model_validate(
        _deep_merge(dump, {"cohorts": cohorts, "product": None, "safety": {"adverse_events": []}})
    )
    truth = guess.model_copy(
        update={
            "sites": [guess.sites[0].model_copy(update={"referral_rate_per_month": 4.0, "referral_rate_cv": 0.0})],
            "population": guess.population.model_copy(update={"consents": 0.45}),
        }
    )
    as_of = guess.start_date + dt.timedelta(days=1500)
    folder = _records(truth, 0, as_of, tmp_path / "records")
    records = read_records(folder, guess, as_of)
    posterior = {a.key: a for a in learn(guess, records.trace, records.observed).assumptions}
    rate = posterior["sites.CMUH.referral_rate_per_month"]
    mean, low, high = rate.posterior
    sd = (high - low) / (2 * 1.645)
    assert abs(mean - 4.0) < 3 * sd and sd < 0.3, rate
    share = posterior["population (share passing screening)"]
    true_share = population_facts(truth.population)[0]
    mean, low, high = share.posterior
    assert abs(mean - true_share) < 3 * (high - low) / (2 * 1.645) and high - low < 0.1, (share, true_share)


# -- forecasts ---------------------------------------------------------------------------------------


def test_no_learning_forecasts_with_the_scenario_as_written(tmp_path):
    plain = forecast(BASE, EXAMPLE, AS_OF, 30, 5, learning=False, workers=1)
    assert plain.posterior is None
    records = read_records(EXAMPLE, BASE, AS_OF)
    same = simulate_metrics(BASE, 30, 5, trace=records.trace, workers=1)
    assert plain.tables.metrics["lplv_day"].equals(same["lplv_day"])
    learned = forecast(BASE, EXAMPLE, AS_OF, 30, 5, workers=1)
    assert not learned.tables.metrics["lplv_day"].equals(same["lplv_day"])
    assert "assumptions" in dict(learned.output_tables()) and "assumptions" not in dict(plain.output_tables())


def test_forecast_replicates_draw_their_parameters_reproducibly():
    records = read_records(EXAMPLE, BASE, AS_OF)
    posterior = learn(BASE, records.trace, records.observed)
    one = simulate_metrics(BASE, 24, 9, trace=records.trace, posterior=posterior, workers=1)
    two = simulate_metrics(BASE, 24, 9, trace=records.trace, posterior=posterior, workers=2, chunk_size=5)
    assert one.equals(two)


def test_the_forecast_command_prints_prior_against_posterior(tmp_path):
    args = [
        *FORECAST_EXAMPLE,
        "-n",
        "20",
        "--no-lot-plan",
        "--no-store",
        "--quiet",
    ]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "with assumptions learned from the records" in " ".join(result.stdout.split())
    assert "assumptions, prior against posterior" in result.stdout
    assert "Referral rate, CMUH" in result.stdout and "Share of candidates" in result.stdout
    table = pd.read_csv(tmp_path / "out" / "assumptions.csv").set_index("label")
    assert table.loc["Referral rate, CMUH", "data"] == "25 referrals in 26.2 active months"
    assert table.loc["Share of candidates passing screening", "data"].startswith("7 of 25 candidates passed")
    plain = CliRunner().invoke(main, [*args, "--no-learning"])
    assert plain.exit_code == 0 and "with the scenario's assumptions" in " ".join(plain.stdout.split())


def test_a_forecast_neither_stored_nor_exported_builds_no_records_and_reports_the_same(tmp_path):
    args = [
        "forecast",
        str(BASE_SCENARIO),
        "--actuals",
        str(EXAMPLE),
        "-n",
        "12",
        "--no-lot-plan",
        "--no-store",
        "--quiet",
        "--keep-events",
        "5",
    ]
    seen: list[int] = []
    from ctdild_sim.runs import runner

    def spy(*a, **k):
        seen.append(k.get("keep_events"))
        return simulate(*a, **k)

    simulate = runner.run_scenario
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ctdild_sim.studies.forecast.run_scenario", spy)
        alone = CliRunner().invoke(main, args)
        exported = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert alone.exit_code == exported.exit_code == 0, alone.output + exported.output
    assert seen[0] == 0 and seen[2] == 5  # the forecast's own run: no records unless they go somewhere
    assert exported.stdout.startswith(alone.stdout.rstrip("\n"))  # the same report (the export's lines after it)
    assert pd.read_parquet(tmp_path / "out" / "events.parquet")["replicate"].nunique() == 5


# -- calibration ---------------------------------------------------------------------------------------


def test_ranks_break_ties_at_random():
    rng = np.random.default_rng(0)
    assert rank(np.array([1.0, 2.0, 3.0, 4.0]), 2.5, rng) == 0.5
    ranks = [rank(np.array([np.nan] * 10), np.nan, rng) for _ in range(2000)]
    assert abs(np.mean(ranks) - 0.5) < 4 * math.sqrt(1 / 12 / 2000)


@pytest.mark.slow
def test_a_small_calibration_check():
    # the full check (200 trials, three cut days, with and without learning) is benchmarks/calibration.py
    trials = 40
    results = calibration(BASE, trials, [540.0], 40, 3, workers=2)
    table = coverage_table(results).set_index("measure")
    row = table.loc["last patient last visit (day)"]
    assert row["trials"] >= 30
    for level in (50, 80):
        p, n = level / 100, row["trials"]
        assert abs(row[f"in{level}"] - p) < 4 * math.sqrt(p * (1 - p) / n), (level, row[f"in{level}"])
    ranks = results["lplv_day_rank"].to_numpy()
    assert stats.kstest(ranks, "uniform").pvalue > 0.001


@pytest.mark.slow
def test_a_small_calibration_under_drift():
    """The calibration study under a drift (the pilot's design, rates halving over two years): the
    truths are simulated under the drift (each trial's last patient comes later than the same
    trial's without it), the forecasts are made under each model asked for, on the same records,
    and the automatic choice says what it chose. The figures themselves: benchmarks/calibration.py."""
    from ctdild_sim.learning.enrolment import MODELS
    from ctdild_sim.studies.calibration import DRIFTS

    pilot = load_scenario(ROOT / "scenarios" / "cdiscpilot01.yaml")
    models = ("homogeneous", "auto")
    drifted = calibration(pilot, 3, [300.0], 30, 5, drift=DRIFTS["halving"][1], models=models, workers=1)
    steady = calibration(pilot, 3, [300.0], 30, 5, models=("homogeneous",), workers=1)
    assert len(drifted) == 2 * len(steady) == 6 and set(drifted["model"]) == set(models)
    later = drifted[drifted["model"] == "homogeneous"]["lpi_day_truth"].to_numpy()
    assert (np.nan_to_num(later, nan=np.inf) > steady["lpi_day_truth"].to_numpy()).all()  # NaN: not by the horizon
    assert set(drifted[drifted["model"] == "auto"]["chosen"]) <= set(MODELS)
    table = coverage_table(drifted, by=("model", "cut_day"))
    assert set(table["measure"]) == {"last patient in (day)", "last patient last visit (day)"}
    assert (table["trials"] == 3).all()


def test_drawn_values_go_in_with_one_copy_along_each_path_and_overlaps_are_refused():
    from ctdild_sim.learning.posterior import replace_all

    scenario = load_scenario(BASE_SCENARIO)
    changed = replace_all(
        scenario,
        {
            ("screening", "window_days"): 41.0,
            ("screening", "max_rescreens"): 7,
            ("safety", "adverse_events", 0, "probability"): 0.5,
        },
    )
    assert (changed.screening.window_days, changed.screening.max_rescreens) == (41.0, 7)
    assert changed.safety.adverse_events[0].probability == 0.5
    assert changed.safety.adverse_events[1:] == scenario.safety.adverse_events[1:]
    assert scenario.screening.window_days != 41.0 and scenario.safety.adverse_events[0].probability != 0.5  # untouched
    assert changed.dosing is scenario.dosing  # off the paths: shared, not copied
    with pytest.raises(ValueError, match="overlap"):
        replace_all(scenario, {("screening",): scenario.screening, ("screening", "window_days"): 41.0})


def test_a_remembered_draw_is_the_draw_another_policy_would_make():
    """The lot plan's policies draw the same parameters for a replicate: a worker remembers the
    draw and puts the next policy in it, which must be exactly the draw that policy makes."""
    from ctdild_sim.learning import draws
    from ctdild_sim.learning.posterior import Assumption, Target
    from ctdild_sim.studies.lot_plan import with_reorder_policy

    records = read_records(EXAMPLE, BASE, AS_OF)
    posterior = learn(BASE, records.trace, records.observed)
    first, second = with_reorder_policy(BASE, 16, 110.0), with_reorder_policy(BASE, 7, 60.0)
    key = draws.draw_key(first, posterior)
    assert key == draws.draw_key(second, posterior)  # the policy is not part of what a draw depends on
    other = BASE.model_copy(update={"screening": BASE.screening.model_copy(update={"window_days": 40.0})})
    assert draws.draw_key(with_reorder_policy(other, 16, 110.0), posterior) != key
    draws._MEMORY.clear()
    for r in range(6):
        draws.draw(posterior, first, 5, r, key)  # remembered
        remembered = draws.draw(posterior, second, 5, r, key)
        afresh = draws.draw(posterior, second, 5, r)
        assert remembered == afresh and remembered[0].product.policy == second.product.policy
    assert len(draws._MEMORY) == 6
    with pytest.MonkeyPatch.context() as patch:  # a full memory keeps what it has and adds nothing
        patch.setattr(draws, "MEMORY_SIZE", 6)
        assert draws.draw(posterior, second, 5, 99, key) == draws.draw(posterior, second, 5, 99)
        assert len(draws._MEMORY) == 6
    fresh = simulate_metrics(second, 6, 5, trace=records.trace, posterior=posterior)
    draws._MEMORY.clear()
    pd.testing.assert_frame_equal(fresh, simulate_metrics(second, 6, 5, trace=records.trace, posterior=posterior))
    # a posterior that learned something about the policy itself draws afresh every time
    about_policy = Assumption(
        "p", "p", "", "", (0, 0, 0), (0, 0, 0), "", Target(None, ("product", "policy", "reorder_point_vials"))
    )
    assert draws.draw_key(first, Posterior((about_policy,), True)) is None


def test_a_posterior_travels_without_its_sums_and_keeps_its_fingerprint():
    """A search sends the posterior with each task: the sums a draw caches stay behind (they
    doubled its pickle), and its fingerprint (what the draw memory keys on) travels with it."""
    records = read_records(EXAMPLE, BASE, AS_OF)
    posterior = learn(BASE, records.trace, records.observed)
    sent = pickle.dumps(posterior)
    drawn = posterior.draw(BASE, np.random.default_rng(4))
    scales = [a.target.belief for a in posterior.assumptions if isinstance(a.target.belief, ScaleBelief)]
    assert scales and all("cdf" in vars(belief) for belief in scales)  # summed by the draw
    assert pickle.dumps(posterior) == sent
    received = pickle.loads(sent)
    assert received.digest == posterior.digest == learn(BASE, records.trace, records.observed).digest
    assert received.draw(BASE, np.random.default_rng(4)) == drawn
    assert learn(BASE).digest != posterior.digest  # the prior: other beliefs


def test_a_scenarios_draw_key_is_the_same_after_it_was_simulated():
    """A simulation reads (and so caches) a lognormal's sigma on the scenario's models: the key is
    of the scenario's values, so a search in one process reuses its first candidate's draws."""
    from ctdild_sim.learning import draws
    from ctdild_sim.studies.lot_plan import with_reorder_policy

    scenario = load_scenario(BASE_SCENARIO)
    lab = type(scenario.population.got_u_per_l).model_validate(scenario.population.got_u_per_l.model_dump())
    records = read_records(EXAMPLE, scenario, AS_OF)  # a model of its own above: nothing cached on it yet
    posterior = learn(scenario, records.trace, records.observed)
    first = with_reorder_policy(
        scenario.model_copy(update={"population": scenario.population.model_copy(update={"got_u_per_l": lab})}),
        16,
        110.0,
    )
    key = draws.draw_key(first, posterior)
    assert "sigma" not in vars(lab) and lab.sigma > 0 and "sigma" in vars(lab)  # now cached, as a draw caches it
    assert draws.draw_key(first, posterior) == key
    assert draws.draw_key(with_reorder_policy(first, 7, 60.0), posterior) == key


# -- every record counts ----------------------------------------------------------------------------


def _csv(folder: Path, name: str) -> list[dict]:
    path = folder / name
    return list(csv.DictReader(path.open(newline=""))) if path.exists() else []


def _counts_from_the_files(folder: Path) -> dict:
    """The records' counts, made straight from the CSV files (not through the engine)."""
    screening = _csv(folder, "screening.csv")
    first: dict[str, dict] = {}
    for row in sorted(screening, key=lambda r: r["screening_started_on"] or r["referred_on"]):
        first.setdefault(row["candidate_id"], row)
    lots = [r for r in _csv(folder, "lots.csv") if r["initial_stock"].lower() != "true"]
    subjects = _csv(folder, "subjects.csv")
    return {
        "referrals": Counter(row["site"] for row in first.values()),
        "screened": (
            sum(r["outcome"] == "passed" for r in first.values()),
            sum(r["outcome"] == "failed" for r in first.values()),
        ),
        "adverse_events": Counter(r["name"] for r in _csv(folder, "adverse_events.csv")),
        "infusions": len(_csv(folder, "infusions.csv")),
        "lot_qc": (sum(bool(r["failed_on"]) for r in lots), sum(bool(r["released_on"]) for r in lots)),
        "withdrawals": sum(r["status"] == "withdrawn" for r in subjects),
        "deaths": sum(r["status"] == "died" for r in subjects),
        "review_outcomes": Counter(r["outcome"] for r in _csv(folder, "reviews.csv") if r["outcome"]),
        "screening_durations": sum(1 for r in screening if r["outcome"] != "withdrew"),
        "stays": len(_csv(folder, "infusions.csv")),
        "reviews": len(_csv(folder, "reviews.csv")),
        "yields": sum(1 for r in lots if r["vials"]),
    }


def _counts_learned(scenario: Scenario, folder: Path, as_of: dt.date) -> dict:
    records = read_records(folder, scenario, as_of)
    e = gather(scenario, records.trace, records.observed)
    return {
        "referrals": Counter({site: n for site, (n, _) in e.referrals.items() if n}),
        "screened": e.screened,
        "adverse_events": Counter({kind: n for kind, (n, _) in e.adverse_events.items() if n}),
        "infusions": e.infusions,
        "lot_qc": e.lot_qc,
        "withdrawals": e.withdrawals[0],
        "deaths": e.deaths[0],
        "review_outcomes": Counter(e.review_outcomes),
        "screening_durations": len(e.durations["screening.duration_days"]),
        "stays": len(e.durations["dosing.length_of_stay_days"]),
        "reviews": len(e.durations["safety.review_days"]),
        "yields": len(e.yields),
    }


def test_the_learning_evidence_counts_every_record_of_the_files(tmp_path):
    """The evidence of every learned assumption against counts made straight from the CSV files:
    the shipped example, and records of trials drawn from the prior (AEs, deaths, withdrawals,
    failed lots and repeats among them)."""
    folders = [(EXAMPLE, AS_OF)]
    prior = learn(BASE)
    for i in (1, 4, 6, 9, 14):
        rng = np.random.default_rng(np.random.SeedSequence(20240820, spawn_key=(0xCA1B, i)))
        drawn, share = prior.draw(BASE, rng)
        as_of = BASE.start_date + dt.timedelta(days=900)
        result = run_replicate(drawn, 20240820 + 5_000_011, i, eligible_share=share)
        folder = tmp_path / str(i)
        folder.mkdir()
        for name, frame in actuals_from_replicate(result, BASE, as_of).items():
            frame.to_csv(folder / name, index=False)
        folders.append((folder, as_of))
    seen = Counter()
    for folder, as_of in folders:
        expected = _counts_from_the_files(folder)
        assert _counts_learned(BASE, folder, as_of) == expected, folder
        seen.update({k: 1 for k, v in expected.items() if v and v != (0, 0)})
    assert seen["withdrawals"] and seen["deaths"] and seen["adverse_events"] and seen["review_outcomes"]


def test_the_records_move_the_posterior_only_not_the_plan_or_the_prior():
    """What was planned and the prior are the scenario's whatever the records say (the lot yield's
    once showed the filled lots' mean, 1.05e9 cells, as planned, and its prior centred on it)."""
    records = read_records(EXAMPLE, BASE, AS_OF)
    learned, prior = learn(BASE, records.trace, records.observed), learn(BASE)
    for a, b in zip(learned.assumptions, prior.assumptions, strict=True):
        assert (a.key, a.planned, a.prior) == (b.key, b.planned, b.prior), a.key
    yields = next(a for a in learned.assumptions if a.key == "product.lots.yield_cells")
    assert BASE.product.lots.yield_cells.mean == pytest.approx(1.92e9, rel=0.003)
    assert yields.planned == "mean 1.92 × 10⁹ cells"  # the notation of the tables' cells, not 1.92e+09
    assert yields.data == "3 lots filled (mean 1.05 × 10⁹ cells)"
    assert yields.prior[1] < BASE.product.lots.yield_cells.mean < yields.prior[2]


def test_the_example_assumptions_count_its_adverse_events():
    """The shipped records hold 2 transient fevers and 1 serious AE in 11 infusions: the assumptions
    table says so, and the posterior fever rate moves towards 2/11 (it fell to 6.5% when the records'
    AEs were ignored)."""
    table = forecast(BASE, EXAMPLE, AS_OF, 4, 5, workers=1).posterior.table().set_index("label")
    fever = table.loc["AE per infusion, transient fever"]
    assert fever["data"].startswith("2 in 11 infusions")
    assert table.loc["AE per infusion, serious possibly related", "data"].startswith("1 in 11 infusions")
    assert fever["posterior_mean"] > fever["prior_mean"]  # 2/11 observed against 10% planned


def test_more_adverse_events_in_the_file_move_the_posterior(tmp_path):
    folder = tmp_path / "records"
    shutil.copytree(EXAMPLE, folder)
    with (folder / "adverse_events.csv").open("a") as handle:
        for k in range(30):
            handle.write(f"13,2025-10-{20 + k % 10},transient_fever,false\n")
    before = learn(BASE, *_trace_and_observed(EXAMPLE)).table().set_index("label")
    after = learn(BASE, *_trace_and_observed(folder)).table().set_index("label")
    label = "AE per infusion, transient fever"
    assert after.loc[label, "data"].startswith("32 in 11 infusions")
    assert after.loc[label, "posterior_mean"] > before.loc[label, "posterior_mean"] + 0.3


def _trace_and_observed(folder: Path):
    records = read_records(folder, BASE, AS_OF)
    return records.trace, records.observed
