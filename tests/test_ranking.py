"""Uncertainty ranking from one run: what replicates draw once is recorded, and first-order indices
recover a synthetic model's known shares within their intervals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.analysis.ranking import bins_for, drawn_inputs, first_order_index, index_with_interval, ranking
from ctdild_sim.cli import main
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.model.referrals import DRAWN
from ctdild_sim.runs.results import save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario

from conftest import SCENARIOS

TWO_SITES = SCENARIOS / "nct06574581_two_sites.yaml"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_order_indices_of_an_additive_model(seed):
    # Y = 2 X1 + X2 + N(0, 0.5^2), X ~ U(0, 1): Var = 4/12 + 1/12 + 1/4 = 2/3, so the first-order
    # indices are 1/2, 1/8 and 0 (X3 does not enter Y)
    rng = np.random.default_rng(seed)
    n = 2000
    x = rng.random((n, 3))
    y = 2 * x[:, 0] + x[:, 1] + rng.normal(0, 0.5, n)
    weights = rng.dirichlet(np.ones(n), 200) * n
    for column, truth in zip(range(3), (0.5, 0.125, 0.0), strict=True):
        index, low, high = index_with_interval(x[:, column], y, bins_for(n), weights)
        assert low <= truth <= high, (column, index, low, high)
        assert abs(index - truth) < 0.05
    assert abs(first_order_index(x[:, 2], y, bins_for(n))) < 0.02  # an input that does not matter: near zero


def test_equal_weights_give_the_unweighted_index():
    rng = np.random.default_rng(5)
    x, y = rng.random(500), rng.random(500)
    assert first_order_index(x, y, 12, np.ones(500)) == pytest.approx(first_order_index(x, y, 12))


def test_each_site_records_its_drawn_rate_and_activation():
    scenario = load_scenario(TWO_SITES)
    result = run_replicate(scenario, 7, 0)
    metrics = replicate_metrics(result, scenario)
    for event in (e for e in result.events if e.event == "site_activated"):
        assert metrics[f"{DRAWN}{event.site} referral_rate_per_month"] == pytest.approx(event.value)
        assert metrics[f"{DRAWN}{event.site} activation_days"] == pytest.approx(event.day)


def test_a_run_ranks_the_referral_rate_first_for_the_timeline(tmp_path):
    scenario = load_scenario(TWO_SITES)
    tables = run_scenario(scenario, 400, 11, workers=1, keep_events=0)
    assert len(drawn_inputs(tables.metrics)) == 4
    table = ranking(tables.metrics, scenario, 11, resamples=100)
    lplv = table[table["outcome"] == "lplv_day"]
    assert lplv["input"].iloc[0] == "CMUH referral_rate_per_month" and lplv["index_low"].iloc[0] > 0.1
    assert (table["index_low"] <= table["index"]).all() and (table["index"] <= table["index_high"]).all()
    run = save_run(
        tmp_path,
        tables.with_summaries(scenario),
        scenario=scenario,
        scenario_file=TWO_SITES,
        scenario_text=TWO_SITES.read_text(),
        seed=11,
        replicates=400,
        options={},
        command=["t"],
        started=dt.datetime.now(dt.UTC),
    ).name
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["rank", run, "--results", str(tmp_path), "--out", str(out), "--resamples", "50"])
    assert result.exit_code == 0, result.output
    assert "Share of variance explained" in result.output and "CMUH referral rate per month" in result.output
    assert len(pd.read_csv(out / "ranking.csv")) == len(table)
    missing = CliRunner().invoke(main, ["rank", "no-such-run", "--results", str(tmp_path)])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_a_forecast_records_what_each_replicate_drew_from_the_posterior():
    from ctdild_sim.studies.forecast import forecast

    base = load_scenario(SCENARIOS / "nct06574581.yaml")
    made = forecast(base, SCENARIOS / "actuals" / "nct06574581-2026-11-25", dt.date(2026, 11, 25), 30, 3, workers=1)
    metrics = dict(made.output_tables())["metrics"]
    inputs = drawn_inputs(metrics)
    assert f"{DRAWN}Share of candidates passing screening" in inputs and f"{DRAWN}Safety review" in inputs
    assert metrics[f"{DRAWN}Share of candidates passing screening"].between(0, 1).all()
    # a learned site rate is the replicate's own rate: recorded once, as the site's
    assert sum("referral" in name.lower() for name in inputs) == 1
