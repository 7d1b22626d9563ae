"""Summaries across replicates, on small known tables."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from ctdild_sim.analysis.metrics import milestone_columns
from ctdild_sim.analysis.summary import (
    censored_quantiles,
    milestone_summary,
    phase_durations,
    probability_done_by,
    screen_failure_summary,
)
from ctdild_sim.model.eligibility import CRITERION_NAMES

from conftest import make_scenario


def test_censored_quantiles_match_numpy_without_censoring():
    x = np.arange(1.0, 101.0)
    assert censored_quantiles(x) == [np.quantile(x, q, method="inverted_cdf") for q in (0.1, 0.5, 0.9)]
    assert censored_quantiles(x) == [10.0, 50.0, 90.0]


def test_never_reached_counts_as_infinity():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, np.nan, np.nan])
    p10, p50, p90 = censored_quantiles(x)
    assert (p10, p50) == (1.0, 5.0)
    assert p90 == math.inf  # 20% never got there


def known_metrics() -> pd.DataFrame:
    rows = []
    for i in range(10):
        row = {c: float(100 * (j + 1) + i) for j, c in enumerate(milestone_columns(3))}
        row.update(pause_days=float(i), n_screened=10, n_screen_failed=4)
        row.update({f"sf_{c}": 0 for c in CRITERION_NAMES})
        row["sf_I2_ild_pathway"] = 3
        row["sf_E1_no_consent"] = 1
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.loc[9, "lplv_day"] = np.nan
    return frame


def test_milestone_summary_dates():
    scenario = make_scenario()
    table = milestone_summary(known_metrics(), scenario).set_index("milestone")
    first = table.loc["first_infusion_day"]
    assert (first["p10_day"], first["p50_day"], first["p90_day"]) == (100.0, 104.0, 108.0)
    assert first["p50_date"] == dt.date(2024, 8, 20) + dt.timedelta(days=104)
    assert table.loc["lplv_day", "reached"] == pytest.approx(0.9)
    # one replicate in ten never finished: P90 is still the 9th of 10 values ...
    assert table.loc["lplv_day", "p90_date"] == dt.date(2024, 8, 20) + dt.timedelta(days=1008)
    metrics = known_metrics()
    metrics.loc[8, "lplv_day"] = np.nan
    # ... two in ten never finished: P90 is "not reached"
    table = milestone_summary(metrics, scenario).set_index("milestone")
    assert table.loc["lplv_day", "p90_day"] == math.inf
    assert table.loc["lplv_day", "p90_date"] is None


def test_probability_done_by_counts_the_whole_day():
    scenario = make_scenario()
    metrics = known_metrics()  # lplv days 1000..1008 and one never
    date = scenario.start_date + dt.timedelta(days=1004)
    assert probability_done_by(metrics, scenario, date) == pytest.approx(0.5)


def test_screen_failure_shares():
    table = screen_failure_summary(known_metrics()).set_index("criterion")
    assert table.loc["I2_ild_pathway", "share_of_screened"] == pytest.approx(0.3)
    assert table.loc["E1_no_consent", "mean_per_replicate"] == pytest.approx(1.0)
    assert table.index[0] == "I2_ild_pathway"


def test_phase_durations():
    scenario = make_scenario()
    table = phase_durations(known_metrics(), scenario).set_index("phase")
    recruiting = table.loc["Cohort 1: recruiting (opened to fully enrolled)"]
    assert recruiting["p50_days"] == 204.0  # cohort1_enrolled_day = 200 + i, opened on day 0
    hold = table.loc["Cohort 1: dosing and hold (enrolled to gate)"]
    assert hold["p10_days"] == hold["p90_days"] == 100.0
    assert table.loc["Follow-up after the last gate", "replicates"] == 9


def test_screen_failure_texts_follow_the_scenarios_thresholds():
    from ctdild_sim.scenario.eligibility import Eligibility

    table = screen_failure_summary(known_metrics(), Eligibility(max_age_years=75)).set_index("criterion")
    assert table.loc["I1_age", "text"] == "Aged 20 to 75 years"
    assert screen_failure_summary(known_metrics()).set_index("criterion").loc["I1_age", "text"] == "Aged 20 to 80 years"
