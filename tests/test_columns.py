"""How columns are labelled and formatted for people: the format functions on known values, and
every table the tool shows going through the one registry."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from ctdild_sim.views.columns import (
    COLUMNS,
    FORMATS,
    Kind,
    fmt_belief,
    fmt_cells,
    fmt_date,
    fmt_days,
    fmt_mean,
    fmt_number,
    fmt_percentile,
    fmt_probability,
    fmt_share,
    fmt_signed,
    fmt_span,
    mc_error,
    not_reached,
    present,
    shown_columns,
)

RAW = re.compile(r"\b(None|nan|NaN|NaT|inf)\b")
"""What a raw table shows where a person should read a word."""


def test_dates():
    assert fmt_date(dt.date(2026, 5, 30)) == "2026-05-30"
    assert fmt_date(pd.Timestamp("2026-05-30 13:00")) == "2026-05-30"
    assert fmt_date(None) == fmt_date(float("nan")) == fmt_date(pd.NaT) == ""


def test_not_reached_says_how_many_never_reach_it():
    assert not_reached(0.84) == "not reached (16.0% never reach it)"
    assert not_reached(None) == "not reached"


def test_percentages():
    assert fmt_share(0.1234) == "12.3%"
    assert fmt_share(0.0) == "0%" and fmt_share(1.0) == "100%"
    assert fmt_share(0.0004) == "0.04%"
    assert fmt_share(float("nan")) == ""


def test_probabilities_carry_their_monte_carlo_error():
    # 95%: 1.96 * sqrt(0.2 * 0.8 / 400) = 0.0392
    assert mc_error(0.2, 400) == pytest.approx(0.0392)
    assert fmt_probability(0.2, 400) == "20.0% ± 3.9%"
    assert fmt_probability(0.2) == "20.0%"
    assert fmt_probability(0.0, 300) == "0% (≤ 1.0%)"  # rule of three: 3/300
    assert fmt_probability(1.0, 300) == "100% (≥ 99.0%)"


def test_durations_counts_and_numbers_are_rounded_sensibly():
    assert fmt_days(54.2559) == "54" and fmt_days(3.25) == "3.2" and fmt_days(4.0) == "4"
    assert fmt_days(1234.6) == "1,235" and fmt_days(math.inf) == "never"
    assert fmt_mean(0.3133) == "0.31" and fmt_mean(39.52) == "39.5"
    assert fmt_number(1.5) == "1.5" and fmt_number(12345.6) == "12,346"
    assert fmt_cells(1.92e9) == "1.92 × 10⁹" and fmt_cells(2.5e-4) == "2.50 × 10⁻⁴"
    assert fmt_percentile(53.6) == "P54"


def test_differences_and_beliefs_in_their_units():
    assert fmt_signed(-47.2, "days") == "-47 days" and fmt_signed(0.0, "days") == "0 days"
    assert fmt_signed(2.5, "days") == "+2.5 days" and fmt_signed(0.012, "probability") == "+1.2%"
    assert fmt_signed(math.inf, "days") == "+never" and fmt_signed(math.nan, "days") == "not reached in either"
    assert fmt_span(-92.0, 25.0, "days") == "-92 days to +25 days"
    assert fmt_span(-math.inf, math.inf, "days") == "unbounded"
    assert fmt_belief(1.0, 0.718, 1.33, "/month") == "1 [0.718, 1.33]/month"
    assert fmt_belief(0.269, 0.168, 0.382, "share") == "26.9% [16.8%, 38.2%]"
    assert fmt_belief(14.8, 12.5, 17.3, "days") == "14.8 [12.5, 17.3] days"


def test_a_milestone_table_reads_as_a_trial_manager_would_say_it():
    frame = pd.DataFrame(
        {
            "milestone": ["lplv_day", "first_infusion_day"],
            "label": ["Last patient last visit", "First infusion"],
            "reached": [0.84, 1.0],
            "p10_day": [754.6, 54.2],
            "p50_day": [1351.9, 137.4],
            "p90_day": [np.inf, 308.8],
            "p10_date": [dt.date(2026, 9, 13), dt.date(2024, 10, 13)],
            "p50_date": [dt.date(2028, 5, 2), dt.date(2025, 1, 4)],
            "p90_date": [None, dt.date(2025, 6, 24)],
        }
    )
    shown = present(frame)
    assert list(shown.columns) == ["Milestone", "Reached in", "P10", "P50", "P90"]  # keys and days left out
    assert shown.iloc[0].tolist() == [
        "Last patient last visit",
        "84.0%",
        "2026-09-13",
        "2028-05-02",
        "not reached (16.0% never reach it)",
    ]
    assert not RAW.search(shown.to_string())


def test_probabilities_in_a_table_get_the_error_of_its_replicates():
    frame = pd.DataFrame(
        {
            "scenario": ["base"],
            "replicates": [300],
            "p_stopped_early": [0.12],
            "p_lplv_reached": [0.84],
            "lplv_p50_day": [np.inf],
            "lplv_p50_date": [None],
        }
    )
    row = present(frame).iloc[0]
    assert row["P(stopped early)"] == "12.0% ± 3.7%"
    assert row["LPLV P50"] == "not reached (16.0% never reach it)"


def test_an_unknown_column_is_an_error_not_a_raw_header():
    with pytest.raises(KeyError):
        present(pd.DataFrame({"mystery_column": [1]}))


def test_every_table_the_dashboard_shows_is_in_the_registry(tmp_path):
    from test_dashboard_figures import _views

    from ctdild_sim.runs.results import save_run
    from ctdild_sim.runs.runner import run_scenario
    from ctdild_sim.scenario.loading import load_scenario
    from ctdild_sim.views.scenario import scenario_view
    from dashboard.data import load_runs

    from conftest import BASE_SCENARIO, SCENARIOS

    ids = []
    for path in (BASE_SCENARIO, SCENARIOS / "nct06574581_long_review.yaml"):
        scenario = load_scenario(path)
        tables = run_scenario(scenario, 12, 5, keep_events=4)
        ids.append(
            save_run(
                tmp_path,
                tables.with_summaries(scenario),
                scenario=scenario,
                scenario_file=path,
                scenario_text=path.read_text(),
                seed=5,
                replicates=12,
                options={},
                command=["t"],
                started=dt.datetime.now(dt.UTC),
            ).name
        )
    runs = load_runs(tmp_path, ids)
    views = [page(runs, 0) if name == "timeline" else page(runs) for name, page in _views().items()]
    views.append(scenario_view(runs[0].scenario, "x"))
    seen = 0
    for view in views:
        for title, frame in view.tables:
            shown = present(frame)
            seen += 1
            assert len(shown) == len(frame), title
            for column in shown_columns(frame) if title not in ("Paired differences",) else []:
                assert column in COLUMNS
            assert not RAW.search(shown.to_string()), (title, RAW.search(shown.to_string()))
    assert seen >= 12


def test_identifiers_read_as_words():
    from ctdild_sim.views.columns import fmt_name

    assert fmt_name("I2_ild_pathway") == "I2 ILD pathway"
    assert fmt_name("E5_immune_deficiency_or_infection") == "E5 immune deficiency or infection"
    assert fmt_name("E4_liver_function") == "E4 liver function" and fmt_name(None) == ""
    shown = present(pd.DataFrame({"criterion": ["I1_ctd_diagnosis"], "share_of_screened": [0.3]}))
    assert shown.iloc[0, 0] == "I1 CTD diagnosis"


KIND_EXAMPLES = {
    "text": ("base", "base"),
    "key": ("x", "x"),
    "date": (dt.date(2026, 5, 30), "2026-05-30"),
    "day": (137.4, "137"),
    "days": (3.25, "3.2"),
    "probability": (0.1234, "12.3%"),
    "share": (0.5, "50.0%"),
    "percentile": (53.6, "P54"),
    "count": (1234.0, "1,234"),
    "mean": (0.3133, "0.31"),
    "number": (12345.6, "12,346"),
    "cells": (1.92e9, "1.92 × 10⁹"),
    "vials": (12.0, "12"),
    "money": (1580723.5, "1,580,724"),
    "bool": (True, "yes"),
    "name": ("I2_ild_pathway", "I2 ILD pathway"),
}
"""A value of each column kind and how a person reads it."""


@pytest.mark.parametrize("kind", sorted(KIND_EXAMPLES))
def test_every_column_kind_formats_a_value_and_shows_nothing_for_a_missing_one(kind):
    assert set(KIND_EXAMPLES) == set(get_args(Kind))  # every kind has an example here
    value, shown = KIND_EXAMPLES[kind]
    assert FORMATS[kind](value) == shown
    for absent in (None, math.nan, pd.NaT):
        assert FORMATS[kind](absent) == ""
    if kind == "key":
        return  # a machine key: never shown in a table
    # and a column of that kind in a table reads the same (a date column: with its day column beside)
    name = next(n for n, c in COLUMNS.items() if c.kind == kind)
    assert present(pd.DataFrame({name: [value]})).iloc[0, 0] == shown


def test_parameter_paths_and_values_read_as_words_and_numbers():
    from ctdild_sim.views.columns import fmt_path, fmt_quantity

    assert fmt_path("population.family_support") == "Family support (population)"
    assert fmt_path("sites.0.referral_rate_per_month") == "Referral rate per month (site 1)"
    assert fmt_path("screening.duration_days.median") == "Duration days: median (screening)"
    assert fmt_quantity(0.9563) == "0.956" and fmt_quantity(-0.00765) == "-0.00765"
    assert fmt_quantity(8.7e-05) == "8.70 × 10⁻⁵" and fmt_quantity(1250.0) == "1,250" and fmt_quantity(0.5) == "0.5"
    assert fmt_signed(8.7e-05, "") == "+8.70 × 10⁻⁵"  # never "+8.7e-05"


def test_a_probability_near_zero_gets_an_interval_that_stays_within_zero_and_one():
    # 4% of 50: "± 5.4%" would pass below 0; the Wilson interval does not
    assert fmt_probability(0.04, 50) == "4.0% (95% 1.1% to 13.5%)"
    assert fmt_probability(0.99, 100) == "99.0% (95% 94.6% to 99.8%)"
    assert fmt_probability(0.035, 200) == "3.5% ± 2.5%"  # within [0, 1]: as before
